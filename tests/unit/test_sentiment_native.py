"""The Rust scorer gives the Python scorer's results to the bit, and scores the usual posts itself.

Live and replayed numbers must agree whichever scorer a machine has, so equality here is exact:
the same float, the same label. Texts are built from what the rules react to (lexicon words,
modifiers, phrases, emoticons, emoji, handles, URLs, hashtags, e-mail addresses, ALL CAPS,
punctuation) and from any character the Rust side covers, so that every rule and every scanner
is exercised; ``handles`` is asserted first, or a test could pass by falling back to Python.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from brandpulse.sentiment import Sentiment, default_scorer, python_scorer
from brandpulse.sentiment.lexicon import SUPPORTED, Rules, load_rules
from brandpulse.sentiment.native import COVERED, char_table
from brandpulse.sentiment.text import clean, tokenize
from connectors.synthetic.texts import CARE_REPLIES, MENTIONS, POSTS

try:
    from brandpulse_native import NativeScorer
except ImportError:
    pytest.fail("brandpulse-native is not installed: `make setup` builds it (needs cargo)")


def _native() -> NativeScorer:
    scorer = default_scorer()
    assert isinstance(scorer, NativeScorer), "the default scorer is the native one when installed"
    return scorer


NATIVE = _native()
PYTHON = python_scorer()
BENCH_DATA = Path(__file__).resolve().parents[2] / "bench" / "data"


def _rule_words() -> list[str]:
    words: set[str] = set()
    for lang in SUPPORTED:
        rules = load_rules(lang)
        words |= rules.context_words | rules.emphatic_never | rules.emphatic_so
        words |= set(rules.boosters)
        for (before, last), phrases in rules.phrases.items():
            words |= {before, last}
            for words_before, _ in phrases:
                words |= set(words_before)
    return sorted(words)


# "&" starts an HTML entity, which the Python scorer handles; it is left out here.
LEXICON = sorted({w for lang in SUPPORTED for w in load_rules(lang).valence if "&" not in w})
COVERED_CHARS = st.sampled_from(sorted(chr(code) for code, *_ in char_table() if code != 0x26))
SPECIAL = [
    "@happy_user", "@x@great.social", "@a.b-c", "happy@great.example", "a+b@c.d", "x@",
    "https://great.example/love", "http://", "www.best.example", "www.", "#NeverAgain",
    "#HTTPServer", "#top_service", "#LIEFERCHAOS", "#ÄrgerÜberAlles", "#CaféBar", "#ABc", "#2024",
    "#", "o_O", "0.0", "o.op", ":-)", ":'(", ">:(", ":((", "<3", "</3", "<334", "\\o/", "^_^",
    "^^", "-_-", ">.<", ":D", ":-p", ";P", ":o)", "XD", "can't", "geht's", "e-mail",
    "Corona-Chaos", "Lieferverzögerung", "Scheißservice", "nie wieder", "kind of", "!", "!!!",
    "?", "???", "?!", "...", ",", "\u2019", "\u00a0", "\t", "\n", "\x1c", "ß", "SS", "ÄÖÜ",
    "😡", "👍🏽", "❤️", "✨",
]  # fmt: skip
"""Handles, URLs, hashtags, e-mail addresses, emoticons, compounds, odd blanks: each scanner's cases."""
FRAGMENTS = st.one_of(
    st.sampled_from(LEXICON),
    st.sampled_from(_rule_words()),
    st.sampled_from(LEXICON).map(str.upper),
    st.sampled_from(LEXICON).map(str.capitalize),
    st.sampled_from(SPECIAL),
    st.text(COVERED_CHARS, min_size=1, max_size=12),
)
SEPARATORS = st.sampled_from(["", " ", "  ", "\n", " , ", ". ", "! "])
LANGUAGES = st.sampled_from([None, "en", "de", "fr"])


@st.composite
def posts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(FRAGMENTS, SEPARATORS), max_size=25))
    return "".join(fragment + separator for fragment, separator in parts)


def _same(text: str, lang: str | None) -> None:
    native, python = NATIVE.score(text, lang), PYTHON.score(text, lang)
    assert type(native) is Sentiment
    assert (native.score, native.label) == (python.score, python.label), (text, lang)


@settings(max_examples=3000, deadline=None)
@given(posts(), LANGUAGES)
@example("Not bad. Great!", "en")
@example("gefällt mir nicht so gut", "de")
@example("I haven't been this SORE, but the staff was VERY nice :)", None)
@example("a@b+c@d great", "en")
@example("#HTTPServer #ÄrgerÜberAlles #CaféBar LOVE", None)
@example("GREAT GREAT", "en")
@example("net abbreche keins", "de")
@example("net$:abbreche keins", None)
def test_native_and_python_agree_on_covered_texts(text: str, lang: str | None) -> None:
    assert NATIVE.handles(text) == (len(text.encode()) <= 4096)
    # The tokens first: a scanner's slip shows here even where no lexicon word is touched.
    assert NATIVE.tokens(text) == tokenize(clean(text).lower())
    _same(text, lang)


def _sentiment_words(rules: Rules) -> list[str]:
    """A negative and a positive lexicon word that are nothing else (no modifier, no phrase end)."""
    plain = sorted(
        w
        for w, v in rules.valence.items()
        if v and w.isalpha() and w not in rules.context_words and w not in rules.phrase_ends
    )
    return [
        next(w for w in plain if rules.valence[w] < 0),
        next(w for w in plain if rules.valence[w] > 0),
    ]


@pytest.mark.parametrize("lang", SUPPORTED)
def test_every_pair_of_rule_words_around_a_sentiment_word_gives_the_same_result(lang: str) -> None:
    """Each rule looks up to three tokens around a word; random posts rarely put two rule words there.

    "net abbreche keins" (a negator before the word, and one that may only follow it) was such a
    text: hypothesis found the Rust side taking any negator after the word for one that may follow.
    """
    rules = load_rules(lang)
    context = sorted(w for w in rules.context_words | set(rules.boosters) if " " not in w)
    for word in _sentiment_words(rules):
        for first in context:
            for second in context:
                for text in (
                    f"{first} {word} {second}",
                    f"{first} {second} {word}",
                    f"{word} {first} {second}",
                ):
                    _same(text, lang)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200), LANGUAGES)
@example("Спасибо, great service", "en")
@example("Tom &amp; Jerry love it", "en")
@example("İstanbul love", "en")
def test_texts_the_native_side_does_not_cover_are_scored_by_python(
    text: str, lang: str | None
) -> None:
    _same(text, lang)


@pytest.mark.parametrize(
    ("text", "handled"),
    [
        ("Spasibo, great service", True),
        ("Спасибо, great service", False),
        ("Tom &amp; Jerry", False),
        ("İstanbul", False),
        ("love " * 1000, False),
    ],
)
def test_what_the_native_side_hands_to_python(text: str, handled: bool) -> None:
    assert NATIVE.handles(text) is handled


def test_every_corpus_and_synthetic_text_gives_the_same_result() -> None:
    texts = [
        json.loads(line)["text"]
        for name in ("en_posts", "de_posts", "de_posts_blind")
        for line in (BENCH_DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    for by_sentiment in MENTIONS.values():
        for templates in by_sentiment.values():
            texts += [t.format(brand="Acme", handle="acme_help") for t in templates]
    for by_language in (POSTS, CARE_REPLIES):
        for templates in by_language.values():
            texts += [t.format(brand="Acme", handle="acme_help") for t in templates]
    handled = [text for text in texts if NATIVE.handles(text)]
    assert len(handled) >= 0.95 * len(texts)
    for text in texts:
        for lang in (None, "en", "de"):
            _same(text, lang)


def test_the_character_table_holds_python_answers_only_for_covered_characters() -> None:
    table = {chr(code): (flags, lower, upper) for code, flags, lower, upper in char_table()}
    assert table["ß"] == (1 | 2 | 16, "ß", "SS")
    assert table["A"] == (1 | 2 | 8, "a", "A")
    assert table["3"][0] == 1 | 32
    assert table[" "][0] == 4
    assert "İ" not in table  # lower() is two characters, one of them not covered
    assert "\u01c5" not in table  # title case
    assert all(any(a <= ord(c) <= b for a, b in COVERED) for c in table)
