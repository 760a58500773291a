//! Python's own character properties, for the characters the native scorer handles.
//!
//! Python and Rust disagree at the edges of Unicode (versions, what counts as a letter, what
//! `\w` means), and the native scorer must give Python's results to the bit. So Python hands
//! over a table of what `str.isalnum()`, `str.lower()` and the others say of each character
//! the scorer may see; a text with any other character is scored by the Python scorer.

use rustc_hash::FxHashMap;

pub const ALNUM: u8 = 1;
pub const ALPHA: u8 = 2;
pub const SPACE: u8 = 4;
pub const UPPER: u8 = 8;
pub const LOWER: u8 = 16;
pub const DECIMAL: u8 = 32;

const DENSE: usize = 0x250;

pub struct CharInfo {
    pub flags: u8,
    /// `c.lower()`: always one character here (the table leaves out "İ", the one exception).
    pub lower: char,
    pub upper: Box<str>,
}

/// One row per character: code point, flags, `c.lower()`, `c.upper()`.
pub type Row = (u32, u8, String, String);

pub struct Chars {
    dense: Vec<Option<CharInfo>>,
    sparse: FxHashMap<char, CharInfo>,
}

impl Chars {
    pub fn new(rows: Vec<Row>) -> Self {
        let mut dense: Vec<Option<CharInfo>> = (0..DENSE).map(|_| None).collect();
        let mut sparse = FxHashMap::default();
        for (code, flags, lower, upper) in rows {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let mut lowers = lower.chars();
            let (Some(lower), None) = (lowers.next(), lowers.next()) else {
                continue;
            };
            let info = CharInfo {
                flags,
                lower,
                upper: upper.into(),
            };
            if (code as usize) < DENSE {
                dense[code as usize] = Some(info);
            } else {
                sparse.insert(c, info);
            }
        }
        Chars { dense, sparse }
    }

    #[inline]
    pub fn get(&self, c: char) -> Option<&CharInfo> {
        let code = c as usize;
        if code < DENSE {
            self.dense[code].as_ref()
        } else {
            self.sparse.get(&c)
        }
    }

    /// Whether every character of the text is in the table.
    pub fn covers(&self, text: &str) -> bool {
        text.chars().all(|c| self.get(c).is_some())
    }

    #[inline]
    pub fn has(&self, c: char, flag: u8) -> bool {
        self.get(c).is_some_and(|info| info.flags & flag != 0)
    }

    #[inline]
    pub fn is_alnum(&self, c: char) -> bool {
        self.has(c, ALNUM)
    }

    /// `\w` of Python's `re`: alphanumeric or "_".
    #[inline]
    pub fn is_word(&self, c: char) -> bool {
        c == '_' || self.is_alnum(c)
    }

    #[inline]
    pub fn lower(&self, c: char) -> char {
        self.info(c).lower
    }

    pub fn upper(&self, text: &str) -> String {
        text.chars().map(|c| &*self.info(c).upper).collect()
    }

    /// `str.isupper()` (the table holds no title-case characters).
    pub fn is_upper(&self, text: &[char]) -> bool {
        self.cased_only(text, UPPER, LOWER)
    }

    /// `str.islower()`.
    pub fn is_lower(&self, text: &[char]) -> bool {
        self.cased_only(text, LOWER, UPPER)
    }

    fn cased_only(&self, text: &[char], wanted: u8, other: u8) -> bool {
        let mut cased = false;
        for &c in text {
            let flags = self.info(c).flags;
            if flags & other != 0 {
                return false;
            }
            cased |= flags & wanted != 0;
        }
        cased
    }

    #[inline]
    fn info(&self, c: char) -> &CharInfo {
        self.get(c).expect("text checked with covers()")
    }
}
