"""A tiny English-or-German guess, for events that come without a ``lang``.

Posts are short, so a statistical detector has little to go on and costs more than scoring.
Frequent function words, the words that only one of the two lexicons knows ("zufrieden",
"awesome") and the letters ä, ö, ü, ß decide well enough between the two languages the scorer
has lexicons for. Any other language comes out as "en" (unless it looks German), and is then
scored with the English lexicon: emoji, emoticons and English loan words still count.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from brandpulse.sentiment.lexicon import Rules, load_rules
from brandpulse.sentiment.text import clean, tokenize

_UMLAUT_WEIGHT: Final = 2


def guess_language(words: list[str], lowered: str) -> str:
    """ "de" if the tokens and the text (both lower-cased) look German, else "en"."""
    german = sum(filter(None, map(cues().get, words)))  # +1 per German cue, -1 per English one
    if "ä" in lowered or "ö" in lowered or "ü" in lowered or "ß" in lowered:
        german += _UMLAUT_WEIGHT
    return "de" if german > 0 else "en"


def detect_language(text: str) -> str:
    """ "de" or "en" for a post; "en" when unsure."""
    lowered = clean(text).lower()
    return guess_language(tokenize(lowered), lowered)


@cache
def cues() -> dict[str, int]:
    """Each language's cue words and the words only its lexicon has: German +1, English -1."""
    english, german = load_rules("en"), load_rules("de")
    english_words, german_words = _sentiment_words(english), _sentiment_words(german)
    cues = dict.fromkeys(english.language_cues | (english_words - german_words), -1)
    cues.update(dict.fromkeys(german.language_cues | (german_words - english_words), 1))
    return cues


def _sentiment_words(rules: Rules) -> set[str]:
    """The lexicon's words, without the last words of phrases ("service" of "top service")."""
    return {word for word, valence in rules.valence.items() if valence}
