"""Properties of the sentiment scorer that must hold for any text at all."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from brandpulse.sentiment import LABELS, default_scorer, label_for
from brandpulse.sentiment import text as text_module
from brandpulse.sentiment.text import ChunkTokens, tokenize

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


# Characters that lower-case to two ("İ"), by context ("Σ"), or are unusual whitespace.
TRICKY = ["\u0130", "\u03a3", "\xa0", "\u2028", "\x1c", "\t", "o_O"]
tricky_texts = st.lists(st.sampled_from(VOCABULARY + TRICKY), max_size=20).map("".join)


@settings(max_examples=400)
@given(st.one_of(texts, tricky_texts))
@example("ΟΔΟΣ Σ\u2028İstanbul\x1co_O :D x" * 3)
def test_a_texts_tokens_are_its_chunks_tokens(text: str) -> None:
    chunk_tokens = ChunkTokens()
    for _ in range(2):  # worked out, then remembered
        assert _tokens_by_chunk(text, chunk_tokens) == tokenize(text.lower())


def test_chunk_tokens_are_forgotten_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_module, "_MEMO_LIMIT", 3)
    chunk_tokens = ChunkTokens()
    text = "Not bad. GREAT :D #fail x" + "y" * 50
    for _ in range(3):
        assert _tokens_by_chunk(text, chunk_tokens) == tokenize(text.lower())
        assert len(chunk_tokens) <= 3


def _tokens_by_chunk(text: str, chunk_tokens: ChunkTokens) -> list[str]:
    return [token for chunk in text.split() for token in chunk_tokens[chunk]]
