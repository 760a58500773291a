//! `brandpulse.sentiment.text.clean`, with its regular expressions as hand-written scanners.
//!
//! Each scanner finds what Python's `re` finds: the leftmost match, alternatives tried in
//! order, greedy repetition with backtracking. The comments give the expression; where
//! backtracking could matter, the scanner's shape says why it cannot change the result.

use crate::chars::Chars;

/// The text without handles, e-mail addresses and URLs, and with hashtags as words.
/// Texts with "&" (HTML entities) are not handled here: the caller leaves them to Python.
pub fn clean(chars: &Chars, text: &str) -> Vec<char> {
    let mut cs: Vec<char> = text
        .chars()
        .map(|c| if c == '\u{2019}' { '\'' } else { c })
        .collect();
    if cs.contains(&'@') {
        if has_email(chars, &cs) {
            cs = replace(&cs, |cs, i| {
                email_at(chars, cs, i).map(|end| (end, vec![' ']))
            });
        }
        cs = replace(&cs, |cs, i| {
            handle_at(chars, cs, i).map(|end| (end, vec![' ']))
        });
    }
    let url = |cs: &[char]| {
        cs.windows(3)
            .any(|w| w == [':', '/', '/'] || w == ['w', 'w', '.'])
    };
    if url(&cs) {
        cs = replace(&cs, |cs, i| {
            url_at(chars, cs, i).map(|end| (end, vec![' ']))
        });
    }
    if cs.contains(&'#') {
        cs = replace(&cs, |cs, i| hashtag_at(chars, cs, i));
    }
    cs
}

/// `re.sub`: at each position, the matcher gives the match's end and its replacement.
fn replace(
    cs: &[char],
    matcher: impl Fn(&[char], usize) -> Option<(usize, Vec<char>)>,
) -> Vec<char> {
    let mut out = Vec::with_capacity(cs.len());
    let mut i = 0;
    while i < cs.len() {
        match matcher(cs, i) {
            Some((end, replacement)) => {
                out.extend(replacement);
                i = end;
            }
            None => {
                out.push(cs[i]);
                i += 1;
            }
        }
    }
    out
}

fn run(cs: &[char], from: usize, inside: impl Fn(char) -> bool) -> usize {
    cs[from..]
        .iter()
        .position(|&c| !inside(c))
        .map_or(cs.len(), |n| from + n)
}

fn at(cs: &[char], i: usize) -> Option<char> {
    cs.get(i).copied()
}

fn has_email(chars: &Chars, cs: &[char]) -> bool {
    (1..cs.len()).any(|i| cs[i] == '@' && chars.is_alnum(cs[i - 1]))
}

/// `[\w.+-]*[^\W_]@[\w.-]+`. The run of `[\w.+-]` holds no "@", so only its last character
/// can stand before the "@", whatever the backtracking.
fn email_at(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    let local = |c: char| chars.is_word(c) || matches!(c, '.' | '+' | '-');
    let domain = |c: char| chars.is_word(c) || matches!(c, '.' | '-');
    if !local(cs[i]) {
        return None;
    }
    let at_sign = run(cs, i, local);
    let ok = at(cs, at_sign) == Some('@')
        && chars.is_alnum(cs[at_sign - 1])
        && at(cs, at_sign + 1).is_some_and(domain);
    ok.then(|| run(cs, at_sign + 1, domain))
}

/// `@\w+(?:[.-]\w+)*(?:@\w+(?:[.-]\w+)*)?`
fn handle_at(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    let end = dotted_name(chars, cs, i)?;
    Some(dotted_name(chars, cs, end).unwrap_or(end))
}

/// `@\w+(?:[.-]\w+)*` at `i`.
fn dotted_name(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    let word = |c: char| chars.is_word(c);
    if at(cs, i) != Some('@') || !at(cs, i + 1).is_some_and(word) {
        return None;
    }
    let mut end = run(cs, i + 1, word);
    while matches!(at(cs, end), Some('.' | '-')) && at(cs, end + 1).is_some_and(word) {
        end = run(cs, end + 1, word);
    }
    Some(end)
}

/// `https?://\S+|www\.\S+`
fn url_at(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    let starts = |prefix: &str| {
        let mut n = 0;
        for p in prefix.chars() {
            if at(cs, i + n) != Some(p) {
                return None;
            }
            n += 1;
        }
        Some(i + n)
    };
    let rest = starts("http://")
        .or_else(|| starts("https://"))
        .or_else(|| starts("www."))?;
    let not_space = |c: char| !chars.has(c, crate::chars::SPACE);
    at(cs, rest)
        .is_some_and(not_space)
        .then(|| run(cs, rest, not_space))
}

/// `#(\w+)`, replaced by the tag's words.
fn hashtag_at(chars: &Chars, cs: &[char], i: usize) -> Option<(usize, Vec<char>)> {
    let word = |c: char| chars.is_word(c);
    if cs[i] != '#' || !at(cs, i + 1).is_some_and(word) {
        return None;
    }
    let end = run(cs, i + 1, word);
    Some((end, hashtag_words(chars, &cs[i + 1..end])))
}

fn hashtag_words(chars: &Chars, tag: &[char]) -> Vec<char> {
    let mut out = vec![' '];
    if chars.is_lower(tag) || chars.is_upper(tag) {
        out.extend(tag.iter().map(|&c| if c == '_' { ' ' } else { c }));
    } else {
        let mut i = 0;
        let mut first = true;
        while i < tag.len() {
            match camel_part(chars, tag, i) {
                Some(end) => {
                    if !first {
                        out.push(' ');
                    }
                    out.extend(&tag[i..end]);
                    first = false;
                    i = end;
                }
                None => i += 1,
            }
        }
    }
    out.push(' ');
    out
}

fn camel_upper(c: char) -> bool {
    c.is_ascii_uppercase() || matches!(c, 'Ä' | 'Ö' | 'Ü')
}

fn camel_lower(c: char) -> bool {
    c.is_ascii_lowercase() || matches!(c, 'ä' | 'ö' | 'ü' | 'ß')
}

/// `[A-ZÄÖÜ]+(?![a-zäöüß])|[A-ZÄÖÜ]?[a-zäöüß]+|[^\W_]+`
fn camel_part(chars: &Chars, tag: &[char], i: usize) -> Option<usize> {
    if camel_upper(tag[i]) {
        let end = run(tag, i, camel_upper);
        if !at(tag, end).is_some_and(camel_lower) {
            return Some(end);
        }
        if end - i >= 2 {
            return Some(end - 1); // backtracks one: "HTTPServer" -> "HTTP", "Server"
        }
        return Some(run(tag, i + 1, camel_lower));
    }
    if camel_lower(tag[i]) {
        return Some(run(tag, i, camel_lower));
    }
    chars
        .is_alnum(tag[i])
        .then(|| run(tag, i, |c| chars.is_alnum(c)))
}
