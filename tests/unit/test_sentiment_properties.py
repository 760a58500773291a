"""Properties of the sentiment scorer that must hold for any text at all."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from brandpulse.sentiment import LABELS, default_scorer, label_for

SCORER = default_scorer()
# Words, modifiers, emoji and punctuation the scorer reacts to, so that generated texts are
# not just neutral noise.
VOCABULARY = [
    "good", "bad", "not", "never", "very", "slightly", "but", "love", "hate", "no", "GREAT",
    "TERRIBLE", "kind", "of", "gut", "schlecht", "nicht", "kein", "sehr", "etwas", "aber",
    "zufrieden", "enttäuscht", "nie", "wieder", "so", "😡", "👍", "❤️", ":(", ":-)", "<3", "!",
    "??", ",", ".", "#fail", "#NeverAgain",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(VOCABULARY), max_size=30).map(" ".join),
)
languages = st.sampled_from([None, "en", "de", "fr"])
separators = st.sampled_from([" ", "\n", " , "])
urls_and_handles = st.sampled_from(
    [
        "@happy_user",
        "@terrible_airline",
        "@love@great.social",
        "https://great.example/love",
        "http://awful.example/hate?x=1",
        "www.best.example",
        "happy@great.example",
    ]
)


@settings(max_examples=400)
@given(texts, languages)
@example("!" * 50 + "LOVE " * 50 + "😍" * 50, None)
@example("HATE " * 100 + "😡" * 100 + "?" * 20, "en")
def test_score_is_within_bounds_and_the_label_matches_it(text: str, lang: str | None) -> None:
    result = SCORER.score(text, lang)
    assert -1.0 <= result.score <= 1.0
    assert result.label in LABELS
    assert result.label == label_for(result.score)


@given(texts, languages)
def test_scoring_is_deterministic(text: str, lang: str | None) -> None:
    assert SCORER.score(text, lang) == SCORER.score(text, lang)


@given(texts, languages, urls_and_handles, separators, st.booleans())
@example("great", None, "@terrible_airline", " ", True)
@example("nicht gut", "de", "https://great.example/love", " ", False)
@example("love.@x", None, "happy@great.example", " ", False)
@example("@", None, "happy@great.example", " ", False)
def test_a_url_or_handle_does_not_change_the_score(
    text: str, lang: str | None, addition: str, separator: str, in_front: bool
) -> None:
    base = f"{separator}{text}" if in_front else f"{text}{separator}"
    longer = f"{addition}{base}" if in_front else f"{base}{addition}"
    assert SCORER.score(longer, lang) == SCORER.score(base, lang)
