//! brandpulse's sentiment scorer in Rust, for `brandpulse.sentiment.native`.
//!
//! It gives the Python scorer's results to the bit (a hypothesis test compares them on
//! generated texts) at a fraction of the cost. Texts it was not built for (characters outside
//! the table Python hands over, HTML entities, very long texts) go to the Python scorer.

mod chars;
mod clean;
mod rules;
mod score;
mod tokens;

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use rustc_hash::FxHashMap;

use crate::chars::{Chars, Row};
use crate::rules::Rules;
use crate::score::Scorer;

/// Longer texts go to Python: the e-mail scanner is quadratic in the length of a word.
const LONGEST_TEXT: usize = 4096;
const POSITIVE_FROM: f64 = 0.12;
const NEGATIVE_FROM: f64 = -0.05;

#[pyclass(frozen, module = "brandpulse_native")]
struct NativeScorer {
    scorer: Scorer,
    fallback: Py<PyAny>,
    neutral: Py<PyAny>,
    sentiment: Py<PyAny>,
    tuple_new: Py<PyAny>,
    labels: [Py<PyString>; 3],
}

#[pymethods]
impl NativeScorer {
    /// `rules`: language -> `Rules`; `chars`: (code point, flags, lower, upper) rows;
    /// `cues`: word -> +1 (German) or -1 (English); `fallback`: the Python scorer;
    /// `sentiment`: the `Sentiment` class; `neutral`: the neutral `Sentiment`.
    #[new]
    #[allow(clippy::too_many_arguments)] // keyword-only, named on the Python side
    #[pyo3(signature = (*, rules, english, chars, cues, fallback, sentiment, neutral))]
    fn new(
        py: Python<'_>,
        rules: FxHashMap<String, Rules>,
        english: String,
        chars: Vec<Row>,
        cues: FxHashMap<String, i64>,
        fallback: Py<PyAny>,
        sentiment: Py<PyAny>,
        neutral: Py<PyAny>,
    ) -> PyResult<Self> {
        if !rules.contains_key(&english) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "no rules for {english:?}"
            )));
        }
        let scorer = Scorer {
            chars: Chars::new(chars),
            rules,
            english,
            cues,
        };
        let labels =
            ["negative", "neutral", "positive"].map(|label| PyString::intern(py, label).unbind());
        let tuple_new = py.get_type::<PyTuple>().getattr("__new__")?.unbind();
        Ok(NativeScorer {
            scorer,
            fallback,
            neutral,
            sentiment,
            tuple_new,
            labels,
        })
    }

    /// The `Sentiment` of a text; `lang=None` means guess the language.
    #[pyo3(signature = (text, lang=None))]
    fn score(
        &self,
        py: Python<'_>,
        text: &Bound<'_, PyString>,
        lang: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let Some(content) = text.to_str().ok().filter(|t| self.handles(t)) else {
            return self.fallback.call_method1(py, "score", (text, lang));
        };
        let Some(score) = self.scorer.score(content, lang) else {
            return Ok(self.neutral.clone_ref(py));
        };
        let label = if score >= POSITIVE_FROM {
            &self.labels[2]
        } else if score <= NEGATIVE_FROM {
            &self.labels[0]
        } else {
            &self.labels[1]
        };
        self.tuple_new.call1(py, (&self.sentiment, (score, label)))
    }

    /// The cleaned, lower-cased tokens of a text it handles, as scoring sees them.
    fn tokens(&self, text: &str) -> PyResult<Vec<String>> {
        if !self.handles(text) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "a text scored by Python",
            ));
        }
        Ok(self.scorer.tokens(text))
    }

    /// Whether the text is scored here rather than handed to the Python scorer.
    fn handles(&self, text: &str) -> bool {
        text.len() <= LONGEST_TEXT && !text.contains('&') && self.scorer.chars.covers(text)
    }
}

#[pymodule]
fn brandpulse_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<NativeScorer>()
}
