//! `LexiconScorer.score` of `brandpulse/sentiment/scorer.py`, step for step and in the same
//! floating-point order, so that both give the same bits. The Python module explains the
//! rules; the functions here carry the names of their Python twins.

use rustc_hash::FxHashMap;

use crate::chars::{Chars, ALPHA};
use crate::clean::clean;
use crate::rules::{Phrase, Rules, Word, CONTRAST, MODIFIER, NEGATOR, NEGATOR_AFTER, PHRASE_END};
use crate::tokens::{is_clause_break, tokenize};

const NEGATION: f64 = -0.74;
const EMPHATIC_NEGATION: f64 = 1.25;
const CAPS_BOOST: f64 = 0.733;
const MODIFIER_DECAY: [f64; 3] = [1.0, 0.95, 0.9];
const MODIFIER_REACH: usize = 3;
const EXCLAMATION: f64 = 0.292;
const MAX_EXCLAMATIONS: usize = 4;
const QUESTION: f64 = 0.18;
const MANY_QUESTIONS: f64 = 0.96;
const BEFORE_CONTRAST: f64 = 0.5;
const AFTER_CONTRAST: f64 = 1.5;
const SQUASH: f64 = 15.0;
const NEGATOR_AFTER_REACH: usize = 3;
const FORWARD_NEGATION_REACH: usize = 2;
const UMLAUT_WEIGHT: i64 = 2;

pub struct Scorer {
    pub chars: Chars,
    pub rules: FxHashMap<String, Rules>,
    pub english: String,
    pub cues: FxHashMap<String, i64>,
}

/// A text's tokens, with what the rules ask of each.
struct Text<'a> {
    words: Vec<&'a str>,
    infos: Vec<Word>,
    first: Vec<char>,
    /// The cleaned text to look for ALL CAPS in; `None` when it is all in caps.
    caps: Option<&'a str>,
}

type Hit = (usize, f64);

/// A cleaned text lower-cased, as characters and as a string to take the tokens from.
struct Lowered {
    chars: Vec<char>,
    text: String,
    offsets: Vec<usize>,
}

impl Lowered {
    fn new(chars: &Chars, cleaned: &[char]) -> Self {
        let lower: Vec<char> = cleaned.iter().map(|&c| chars.lower(c)).collect();
        let mut text = String::with_capacity(lower.len());
        let mut offsets = Vec::with_capacity(lower.len() + 1);
        for &c in &lower {
            offsets.push(text.len());
            text.push(c);
        }
        offsets.push(text.len());
        Lowered {
            chars: lower,
            text,
            offsets,
        }
    }

    fn words(&self, spans: &[(usize, usize)]) -> Vec<&str> {
        spans
            .iter()
            .map(|&(a, b)| &self.text[self.offsets[a]..self.offsets[b]])
            .collect()
    }
}

impl Text<'_> {
    fn is(&self, position: usize, role: u8) -> bool {
        self.infos[position].roles & role != 0
    }

    fn any(&self, roles: u8) -> bool {
        self.infos.iter().any(|info| info.roles & roles != 0)
    }
}

impl Scorer {
    /// The score, or `None` when 0 (neutral); the text must pass `self.chars.covers`.
    pub fn score(&self, text: &str, lang: Option<&str>) -> Option<f64> {
        let cleaned = clean(&self.chars, text);
        let lowered = Lowered::new(&self.chars, &cleaned);
        let spans = tokenize(&self.chars, &lowered.chars);
        if spans.is_empty() {
            return None;
        }
        let words = lowered.words(&spans);
        let (lowered, lower_chars) = (&lowered.text, &lowered.chars);
        let lang = match lang {
            Some(lang) => lang,
            None => self.guess_language(&words, lowered),
        };
        let rules = self
            .rules
            .get(lang)
            .unwrap_or_else(|| &self.rules[&self.english]);
        let infos: Vec<Word> = words.iter().map(|word| rules.word(word)).collect();
        if infos.iter().all(|info| info.valence.is_none()) {
            return None;
        }
        let cleaned_text: String = cleaned.iter().collect();
        let caps = (!self.chars.is_upper(&cleaned)).then_some(cleaned_text.as_str());
        let first = spans.iter().map(|&(a, _)| lower_chars[a]).collect();
        let text = Text {
            words,
            infos,
            first,
            caps,
        };
        let total = if text.any(MODIFIER | CONTRAST) {
            self.sum(rules, &text, &hits(rules, &text))
        } else {
            self.sum_alone(rules, &text)
        };
        if total == 0.0 {
            return None;
        }
        let emphasis = punctuation_emphasis(&cleaned);
        let total = total + if total > 0.0 { emphasis } else { -emphasis };
        Some(total / (total * total + SQUASH).sqrt())
    }

    /// The tokens scoring sees: Python's `tokenize(clean(text).lower())`.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let lowered = Lowered::new(&self.chars, &clean(&self.chars, text));
        let spans = tokenize(&self.chars, &lowered.chars);
        lowered
            .words(&spans)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn guess_language(&self, words: &[&str], lowered: &str) -> &str {
        let mut german: i64 = words.iter().filter_map(|w| self.cues.get(*w)).sum();
        if lowered.contains(['ä', 'ö', 'ü', 'ß']) {
            german += UMLAUT_WEIGHT;
        }
        if german > 0 {
            "de"
        } else {
            "en"
        }
    }

    fn sum_alone(&self, rules: &Rules, text: &Text) -> f64 {
        let mut total = 0.0;
        for (end, info) in text.infos.iter().enumerate() {
            let Some(mut value) = info.valence else {
                continue;
            };
            let word = text.words[end];
            if end > 0
                && text.is(end, PHRASE_END)
                && rules.phrases(text.words[end - 1], word).is_some()
            {
                return self.sum(rules, text, &hits(rules, text));
            }
            if value != 0.0 {
                if self.shouted(word, text.caps) {
                    value += if value > 0.0 { CAPS_BOOST } else { -CAPS_BOOST };
                }
                total += value;
            }
        }
        total
    }

    fn sum(&self, rules: &Rules, text: &Text, hits: &[Option<Hit>]) -> f64 {
        let words = &text.words;
        let contrast = text
            .infos
            .iter()
            .position(|info| info.roles & CONTRAST != 0);
        let modified = text.any(MODIFIER);
        let negators_after = modified && text.any(NEGATOR_AFTER);
        let mut total = 0.0;
        for (end, hit) in hits.iter().enumerate() {
            let Some((start, valence)) = *hit else {
                continue;
            };
            let mut value = valence;
            let word = words[end];
            if self.shouted(word, text.caps) {
                value += if value > 0.0 { CAPS_BOOST } else { -CAPS_BOOST };
            }
            if modified && self.chars.has(text.first[end], ALPHA) {
                if start == end && text.is(end, MODIFIER) && modifies_next(text, hits, end) {
                    value = 0.0;
                } else {
                    let window = &text.infos[start.saturating_sub(MODIFIER_REACH)..start];
                    if window.iter().any(|info| info.roles & MODIFIER != 0) {
                        value = self.modified_before(rules, text, hits, start, value);
                    }
                    if negators_after && negated_after(text, hits, end) {
                        value *= NEGATION;
                    }
                }
            }
            if let Some(contrast) = contrast {
                if end != contrast {
                    value *= if end < contrast {
                        BEFORE_CONTRAST
                    } else {
                        AFTER_CONTRAST
                    };
                }
            }
            total += value;
        }
        total
    }

    fn modified_before(
        &self,
        rules: &Rules,
        text: &Text,
        hits: &[Option<Hit>],
        start: usize,
        valence: f64,
    ) -> f64 {
        let mut valence = valence;
        for position in (start.saturating_sub(MODIFIER_REACH)..start).rev() {
            let word = text.words[position];
            if is_clause_break(text.first[position]) || text.is(position, CONTRAST) {
                break;
            }
            if let Some(&strength) = rules.boosters.get(word) {
                if position == start - 1 || hits[position].is_none() {
                    let mut boost = strength * MODIFIER_DECAY[start - 1 - position];
                    if self.shouted(word, text.caps) {
                        boost += CAPS_BOOST;
                    }
                    valence += if valence > 0.0 { boost } else { -boost };
                }
            }
            if text.is(position, NEGATOR) {
                let distance = start - position;
                let emphatic = distance > 1 && rules.emphatic_so.contains(text.words[start - 1]);
                valence *= negation(rules, word, distance, emphatic);
            }
        }
        valence
    }

    /// `word.upper() in caps and shouted(word, caps)`.
    fn shouted(&self, word: &str, caps: Option<&str>) -> bool {
        let Some(caps) = caps.filter(|c| !c.is_empty()) else {
            return false;
        };
        let upper = self.chars.upper(word);
        if upper == word {
            return false;
        }
        let alnum_at = |c: Option<char>| c.is_some_and(|c| self.chars.is_alnum(c));
        let mut from = 0;
        while let Some(found) = caps[from..].find(&upper) {
            let start = from + found;
            let end = start + upper.len();
            if !alnum_at(caps[..start].chars().next_back()) && !alnum_at(caps[end..].chars().next())
            {
                return true;
            }
            from = start + caps[start..].chars().next().map_or(1, char::len_utf8);
        }
        false
    }
}

/// Position of the last token of each sentiment-bearing word or phrase -> where it starts and
/// its valence before context.
fn hits(rules: &Rules, text: &Text) -> Vec<Option<Hit>> {
    let words = &text.words;
    let mut hits: Vec<Option<Hit>> = vec![None; words.len()];
    for (end, info) in text.infos.iter().enumerate() {
        let Some(value) = info.valence else { continue };
        let mut hit = (end, value);
        if end > 0 && text.is(end, PHRASE_END) {
            if let Some(phrases) = rules.phrases(words[end - 1], words[end]) {
                hit = phrase(phrases, words, hit);
                hits[hit.0..end].fill(None); // "kind" of "kind of" is not kind
            }
        }
        if hit.1 != 0.0 {
            hits[end] = Some(hit);
        }
    }
    hits
}

fn phrase(phrases: &[Phrase], words: &[&str], alone: Hit) -> Hit {
    let end = alone.0;
    for (before, valence) in phrases {
        if before.len() <= end {
            let start = end - before.len();
            if words[start..end].iter().zip(before).all(|(w, b)| *w == b) {
                return (start, *valence);
            }
        }
    }
    alone
}

fn modifies_next(text: &Text, hits: &[Option<Hit>], end: usize) -> bool {
    if hits.get(end + 1).is_some_and(Option::is_some) {
        return true;
    }
    text.is(end, NEGATOR) && end + 1 < text.words.len() && is_clause_break(text.first[end + 1])
}

fn negation(rules: &Rules, negator: &str, distance: usize, emphatic: bool) -> f64 {
    if emphatic && distance > 1 && (distance == 3 || rules.emphatic_never.contains(negator)) {
        return EMPHATIC_NEGATION;
    }
    if distance == 3 && rules.short_negators.contains(negator) {
        return 1.0;
    }
    NEGATION
}

fn negated_after(text: &Text, hits: &[Option<Hit>], end: usize) -> bool {
    let stop = (end + 1 + NEGATOR_AFTER_REACH).min(text.words.len());
    for position in end + 1..stop {
        if hits[position].is_some() || is_clause_break(text.first[position]) {
            return false;
        }
        if text.is(position, NEGATOR_AFTER) {
            return !sentiment_follows(text, hits, position);
        }
    }
    false
}

#[allow(clippy::needless_range_loop)] // positions index both hits and tokens
fn sentiment_follows(text: &Text, hits: &[Option<Hit>], position: usize) -> bool {
    let stop = (position + 1 + FORWARD_NEGATION_REACH).min(text.words.len());
    for after in position + 1..stop {
        if hits[after].is_some() {
            return true;
        }
        if is_clause_break(text.first[after]) {
            return false;
        }
    }
    false
}

fn punctuation_emphasis(text: &[char]) -> f64 {
    let exclamations = text
        .iter()
        .filter(|&&c| c == '!')
        .count()
        .min(MAX_EXCLAMATIONS);
    let mut emphasis = exclamations as f64 * EXCLAMATION;
    let questions = text.iter().filter(|&&c| c == '?').count();
    if questions > 1 {
        emphasis += if questions <= 3 {
            questions as f64 * QUESTION
        } else {
            MANY_QUESTIONS
        };
    }
    emphasis
}
