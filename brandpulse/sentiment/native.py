"""The lexicon scorer in Rust (``native/``, package ``brandpulse-native``), when it is installed.

It reads the same ``Rules`` the Python scorer reads and gives the same ``Sentiment`` to the
bit (``tests/unit/test_sentiment_native.py`` compares both on generated texts), four to ten
times faster: sentiment is a third of what a replay costs per event. Where the two could
disagree, the Rust side does not guess: Python hands it a table of what its own string methods
say of every character the Rust side may see, and a text with any other character, an HTML
entity, or over 4 KiB is scored by the Python scorer it holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Final

from brandpulse.sentiment.interface import Sentiment
from brandpulse.sentiment.language import cues
from brandpulse.sentiment.lexicon import Rules
from brandpulse.sentiment.scorer import NEUTRAL, LexiconScorer

if TYPE_CHECKING:
    from brandpulse_native import NativeScorer

log = logging.getLogger(__name__)

# Latin letters with their accents, punctuation, arrows, symbols, CJK punctuation, emoji and
# the variation selectors that follow emoji: what English and German posts are made of.
COVERED: Final = (
    (0x0000, 0x024F),
    (0x2000, 0x20CF),
    (0x2190, 0x2BFF),
    (0x3000, 0x303F),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
    (0xFE00, 0xFE0F),
    (0x1F000, 0x1FAFF),
)
FLAGS: Final = (str.isalnum, str.isalpha, str.isspace, str.isupper, str.islower, str.isdecimal)
"""In the order of the flag bits in ``native/src/chars.rs``."""


def native_scorer(rules: Mapping[str, Rules], fallback: LexiconScorer) -> NativeScorer | None:
    """The Rust scorer for these rules, or ``None`` if ``brandpulse-native`` is not installed."""
    try:
        from brandpulse_native import NativeScorer  # noqa: PLC0415
    except ImportError:
        log.info("brandpulse-native is not installed: scoring sentiment in Python")
        return None
    return NativeScorer(
        rules=rules,
        english="en",
        chars=list(char_table()),
        cues=cues(),
        fallback=fallback,
        sentiment=Sentiment,
        neutral=NEUTRAL,
    )


def char_table() -> Iterator[tuple[int, int, str, str]]:
    """(code point, flags, lower, upper) of each covered character whose case mappings stay
    covered and that is not title case (``str.isupper`` would need a flag for it)."""
    chars = [chr(code) for first, last in COVERED for code in range(first, last + 1)]
    covered = set(chars)
    for char in chars:
        if 0xD800 <= ord(char) <= 0xDFFF or (char.istitle() and not char.isupper()):
            continue
        lower, upper = char.lower(), char.upper()
        if covered.issuperset(lower) and covered.issuperset(upper):
            flags = sum(1 << bit for bit, test in enumerate(FLAGS) if test(char))
            yield ord(char), flags, lower, upper
