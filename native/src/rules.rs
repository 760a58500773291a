//! A language's rules, read from the Python scorer's own `Rules` (so the lexicons are loaded
//! once, by Python, and the two scorers cannot drift apart), and the German compound reading.

use std::sync::Mutex;

use pyo3::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

pub type Set = FxHashSet<String>;
pub type Phrase = (Vec<String>, f64);

pub const MODIFIER: u8 = 1;
pub const CONTRAST: u8 = 2;
pub const NEGATOR: u8 = 4;
pub const NEGATOR_AFTER: u8 = 8;
pub const PHRASE_END: u8 = 16;

/// What the rules say of one word, found with one lookup.
#[derive(Clone, Copy, Default)]
pub struct Word {
    pub valence: Option<f64>,
    pub roles: u8,
}

/// Words remembered as compounds, and as not, before starting over: bounds memory.
const MEMO_LIMIT: usize = 100_000;

pub struct Rules {
    words: FxHashMap<String, Word>,
    phrases: FxHashMap<String, FxHashMap<String, Vec<Phrase>>>,
    pub boosters: FxHashMap<String, f64>,
    pub short_negators: Set,
    pub emphatic_never: Set,
    pub emphatic_so: Set,
    compounds: Option<Compounds>,
    analysed: Mutex<FxHashMap<String, Option<f64>>>,
}

/// The attributes of `brandpulse.sentiment.lexicon.Rules` the scorer reads.
#[derive(FromPyObject)]
struct PyRules {
    valence: FxHashMap<String, f64>,
    #[pyo3(from_py_with = by_last_word)]
    phrases: FxHashMap<String, FxHashMap<String, Vec<Phrase>>>,
    boosters: FxHashMap<String, f64>,
    negators: Set,
    negators_after: Set,
    contrasts: Set,
    short_negators: Set,
    emphatic_never: Set,
    emphatic_so: Set,
    compounds: Option<Compounds>,
    modifiers: Set,
}

impl<'a, 'py> FromPyObject<'a, 'py> for Rules {
    type Error = PyErr;

    fn extract(rules: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let rules: PyRules = rules.extract()?;
        let mut words: FxHashMap<String, Word> = FxHashMap::default();
        for (word, &valence) in &rules.valence {
            words.entry(word.clone()).or_default().valence = Some(valence);
        }
        let roles = [
            (&rules.modifiers, MODIFIER),
            (&rules.contrasts, CONTRAST),
            (&rules.negators, NEGATOR),
            (&rules.negators_after, NEGATOR_AFTER),
        ];
        for (set, role) in roles {
            for word in set {
                words.entry(word.clone()).or_default().roles |= role;
            }
        }
        for word in rules.phrases.keys() {
            words.entry(word.clone()).or_default().roles |= PHRASE_END;
        }
        Ok(Rules {
            words,
            phrases: rules.phrases,
            boosters: rules.boosters,
            short_negators: rules.short_negators,
            emphatic_never: rules.emphatic_never,
            emphatic_so: rules.emphatic_so,
            compounds: rules.compounds,
            analysed: Mutex::default(),
        })
    }
}

impl Rules {
    /// The phrases ending in `previous word`, longest first.
    pub fn phrases(&self, previous: &str, word: &str) -> Option<&Vec<Phrase>> {
        self.phrases
            .get(word)
            .and_then(|before| before.get(previous))
    }

    /// The word's valence and roles; the valence also for a (German) compound of known words.
    pub fn word(&self, word: &str) -> Word {
        if let Some(&found) = self.words.get(word) {
            return found;
        }
        let Some(compounds) = &self.compounds else {
            return Word::default();
        };
        let mut analysed = self.analysed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&valence) = analysed.get(word) {
            return Word { valence, roles: 0 };
        }
        if analysed.len() >= MEMO_LIMIT {
            analysed.clear();
        }
        let valence = compounds.valence(word).filter(|&v| v != 0.0);
        analysed.insert(word.to_owned(), valence);
        Word { valence, roles: 0 }
    }
}

/// `Rules.phrases` (keyed by the last two words) keyed by the last word, then the one before:
/// a pair of borrowed words can then be looked up without building a key.
fn by_last_word(
    phrases: &Bound<'_, PyAny>,
) -> PyResult<FxHashMap<String, FxHashMap<String, Vec<Phrase>>>> {
    let pairs: FxHashMap<(String, String), Vec<Phrase>> = phrases.extract()?;
    let mut nested: FxHashMap<String, FxHashMap<String, Vec<Phrase>>> = FxHashMap::default();
    for ((previous, last), found) in pairs {
        nested.entry(last).or_default().insert(previous, found);
    }
    Ok(nested)
}

/// `brandpulse.sentiment.german.Compounds`, by its private attributes.
#[derive(FromPyObject)]
pub struct Compounds {
    #[pyo3(attribute("_heads"))]
    heads: FxHashMap<String, f64>,
    #[pyo3(attribute("_prefixes"))]
    prefixes: Vec<(String, f64)>,
    #[pyo3(attribute("_words"))]
    words: FxHashMap<String, f64>,
    #[pyo3(attribute("_min_head"))]
    min_head: usize,
}

const MIN_COMPOUND: usize = 8;

impl Compounds {
    /// `Compounds.__call__`: a long or hyphenated word read as a compound.
    fn valence(&self, word: &str) -> Option<f64> {
        if word.contains('-') {
            let first = word.split('-').next().unwrap_or("");
            let last = word.rsplit('-').next().unwrap_or("");
            return match self.words.get(last) {
                Some(&value) if value != 0.0 => Some(value),
                _ => self.words.get(first).copied(),
            };
        }
        let starts: Vec<usize> = word.char_indices().map(|(at, _)| at).collect();
        if starts.len() < MIN_COMPOUND {
            return None;
        }
        let glued = (3..=starts.len().saturating_sub(self.min_head))
            .find_map(|s| self.heads.get(&word[starts[s]..]));
        if let Some(&value) = glued {
            return Some(value);
        }
        let length = starts.len();
        self.prefixes
            .iter()
            .find(|(prefix, _)| {
                word.starts_with(prefix.as_str()) && length >= prefix.chars().count() + 4
            })
            .map(|&(_, value)| value)
    }
}
