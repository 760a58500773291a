//! `brandpulse.sentiment.text.TOKEN.findall`, as a scanner over a lower-cased text.
//!
//! The expression is `KAOMOJI|WORD|EMOTICON|EMOJI|CLAUSE_BREAK`; at each position the first
//! alternative that matches wins, and the scan goes on after it (or one character further).

use crate::chars::{Chars, DECIMAL};

/// Start and end (character positions) of each token.
pub fn tokenize(chars: &Chars, cs: &[char]) -> Vec<(usize, usize)> {
    let mut tokens = Vec::with_capacity(cs.len() / 4 + 1);
    let mut i = 0;
    while i < cs.len() {
        match token_at(chars, cs, i) {
            Some(end) => {
                tokens.push((i, end));
                i = end;
            }
            None => i += 1,
        }
    }
    tokens
}

fn at(cs: &[char], i: usize) -> Option<char> {
    cs.get(i).copied()
}

/// Whether the character at `i` is one of `set` (a `matches!` pattern: no string search).
macro_rules! is {
    ($cs:expr, $i:expr, $($set:tt)+) => {
        matches!(at($cs, $i), Some($($set)+))
    };
}

fn run(cs: &[char], from: usize, inside: impl Fn(char) -> bool) -> usize {
    cs[from..]
        .iter()
        .position(|&c| !inside(c))
        .map_or(cs.len(), |n| from + n)
}

fn token_at(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    let c = cs[i];
    if c.is_whitespace() && c.is_ascii() {
        return None; // the common case, and no alternative starts with a blank
    }
    kaomoji(chars, cs, i)
        .or_else(|| word(chars, cs, i))
        .or_else(|| {
            is!(
                cs,
                i,
                '<' | '>' | '}' | ']' | ':' | ';' | '=' | '\\' | '^' | '-'
            )
            .then(|| emoticon(chars, cs, i))
            .flatten()
        })
        .or_else(|| is_emoji(cs[i]).then_some(i + 1))
        .or_else(|| is_clause_break(cs[i]).then(|| run(cs, i, is_clause_break)))
}

/// `[.,;:!?]`: a run of these stops negation.
pub fn is_clause_break(c: char) -> bool {
    matches!(c, '.' | ',' | ';' | ':' | '!' | '?')
}

/// Not followed by a letter or digit: `(?![^\W_])`.
fn ends_word(chars: &Chars, cs: &[char], end: usize) -> bool {
    !at(cs, end).is_some_and(|c| chars.is_alnum(c))
}

/// `[o0][._][o0](?![^\W_])`
fn kaomoji(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    let found = is!(cs, i, 'o' | '0') && is!(cs, i + 1, '.' | '_') && is!(cs, i + 2, 'o' | '0');
    (found && ends_word(chars, cs, i + 3)).then_some(i + 3)
}

/// `[^\W_]+(?:['-][^\W_]+)*`
fn word(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    let alnum = |c: char| chars.is_alnum(c);
    if !alnum(cs[i]) {
        return None;
    }
    let mut end = run(cs, i, alnum);
    while is!(cs, end, '\'' | '-') && at(cs, end + 1).is_some_and(alnum) {
        end = run(cs, end + 1, alnum);
    }
    Some(end)
}

/// The emoticon alternatives, in their order. Each optional character below is taken when
/// present: without it, the character after it in the expression would have to match the
/// optional one, and no such pair overlaps.
fn emoticon(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    face(cs, i)
        .or_else(|| letter_face(chars, cs, i))
        .or_else(|| heart(chars, cs, i))
        .or_else(|| literal(cs, i, "\\o/"))
        .or_else(|| caret_face(cs, i))
        .or_else(|| unimpressed(cs, i))
        .or_else(|| squint(cs, i))
}

/// `[<>}\]]?[:;=]['\-^o]?[()\[\]{}|\\/*@$<>&]+`: :) :-( ;] >:( :'(
fn face(cs: &[char], i: usize) -> Option<usize> {
    let mut j = i + usize::from(is!(cs, i, '<' | '>' | '}' | ']'));
    if !is!(cs, j, ':' | ';' | '=') {
        return None;
    }
    j += 1;
    j += usize::from(is!(cs, j, '\'' | '-' | '^' | 'o'));
    let mouth = |c: char| {
        matches!(
            c,
            '(' | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '|'
                | '\\'
                | '/'
                | '*'
                | '@'
                | '$'
                | '<'
                | '>'
                | '&'
        )
    };
    let end = run(cs, j, mouth);
    (end > j).then_some(end)
}

/// `[:;=]-?[dpo3csl](?![^\W_])`: :D ;P :-p :o :3 :s :l
fn letter_face(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    if !is!(cs, i, ':' | ';' | '=') {
        return None;
    }
    let j = i + 1 + usize::from(at(cs, i + 1) == Some('-'));
    let letter = is!(cs, j, 'd' | 'p' | 'o' | '3' | 'c' | 's' | 'l');
    (letter && ends_word(chars, cs, j + 1)).then_some(j + 1)
}

/// `<\\?/?3+(?!\d)`: <3 </3 <333. A shorter run of 3s is followed by a 3, a digit.
fn heart(chars: &Chars, cs: &[char], i: usize) -> Option<usize> {
    if at(cs, i) != Some('<') {
        return None;
    }
    let mut j = i + 1;
    j += usize::from(at(cs, j) == Some('\\'));
    j += usize::from(at(cs, j) == Some('/'));
    let end = run(cs, j, |c| c == '3');
    let digit_after = at(cs, end).is_some_and(|c| chars.has(c, DECIMAL));
    (end > j && !digit_after).then_some(end)
}

/// `\^[_.]?\^`: ^^ ^_^ ^.^
fn caret_face(cs: &[char], i: usize) -> Option<usize> {
    if at(cs, i) != Some('^') {
        return None;
    }
    let j = i + 1 + usize::from(is!(cs, i + 1, '_' | '.'));
    (at(cs, j) == Some('^')).then_some(j + 1)
}

/// `-_+-`: -_-
fn unimpressed(cs: &[char], i: usize) -> Option<usize> {
    if at(cs, i) != Some('-') {
        return None;
    }
    let end = run(cs, i + 1, |c| c == '_');
    (end > i + 1 && at(cs, end) == Some('-')).then_some(end + 1)
}

/// `>[._]<`: >.< >_<
fn squint(cs: &[char], i: usize) -> Option<usize> {
    let found = at(cs, i) == Some('>') && is!(cs, i + 1, '.' | '_') && at(cs, i + 2) == Some('<');
    found.then_some(i + 3)
}

fn literal(cs: &[char], i: usize, text: &str) -> Option<usize> {
    let mut j = i;
    for c in text.chars() {
        if at(cs, j) != Some(c) {
            return None;
        }
        j += 1;
    }
    Some(j)
}

/// One pictograph of the ranges in `text._EMOJI`.
fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1F3FA | 0x1F400..=0x1FAFF | 0x2190..=0x21FF | 0x2300..=0x23FF
        | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x203C | 0x2049)
}
