"""The lexicon scorer: VADER's rules, made fast, cleaner about tokens, and bilingual.

Like VADER (Hutto & Gilbert, 2014), a text's score is the sum of its words' valences, each
changed by the up to three tokens before it (boosters such as "very"/"sehr", dampeners such as
"slightly"/"etwas", negators such as "not"/"kein"), by ALL CAPS, by "but"/"aber" (what comes
after counts more), and by "!" and "??"; the sum is squashed into [-1, 1]. The constants are
VADER's, which were measured with human raters. Unlike VADER, negation stops at a clause break
or a "but" ("Not bad. Great!"), never reaches emoji, and in German may follow the word
("gefällt mir nicht"); phrases count as a whole ("can't wait", "nie wieder"); a word that is
both praise and booster boosts the next word ("super langsam"); and URLs, @handles and
hashtags are handled by ``brandpulse.sentiment.text``.

Speed comes from looking at every token once with one dictionary lookup, and doing the
context work only for the few tokens that carry sentiment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from itertools import compress
from typing import Final

from brandpulse.sentiment.interface import Sentiment, label_for
from brandpulse.sentiment.language import guess_language
from brandpulse.sentiment.lexicon import SUPPORTED, Phrase, Rules, load_rules
from brandpulse.sentiment.text import CLAUSE_BREAK_CHARS, clean, shouted, tokenize

NEGATION: Final = -0.74
EMPHATIC_NEGATION: Final = 1.25
CAPS_BOOST: Final = 0.733
MODIFIER_DECAY: Final = (1.0, 0.95, 0.9)
"""Weight of a booster one, two and three tokens before the word."""
EXCLAMATION: Final = 0.292
MAX_EXCLAMATIONS: Final = 4
QUESTION: Final = 0.18
MANY_QUESTIONS: Final = 0.96
BEFORE_CONTRAST: Final = 0.5
AFTER_CONTRAST: Final = 1.5
SQUASH: Final = 15.0
"""``sum / sqrt(sum² + SQUASH)`` maps the sum into (-1, 1); VADER's alpha."""
NEGATOR_AFTER_REACH: Final = 3
FORWARD_NEGATION_REACH: Final = 2
"""A negator this close before a sentiment word belongs to it ("gefällt mir nicht so gut")."""

NEUTRAL: Final = Sentiment(0.0, "neutral")
Hit = tuple[int, float]
"""Where a sentiment-bearing phrase starts, and its valence before context."""


class LexiconScorer:
    """Scores with one ``Rules`` per language; ``rules`` must hold English ("en")."""

    __slots__ = ("_english", "_rules")

    def __init__(self, rules: Mapping[str, Rules]) -> None:
        self._rules = dict(rules)
        self._english = self._rules["en"]

    def score(self, text: str, lang: str | None = None) -> Sentiment:
        """Languages without rules are scored with the English ones; ``None`` means guess."""
        text = clean(text)
        lowered = text.lower()
        words = tokenize(lowered)
        if not words:
            return NEUTRAL
        if lang is None:
            lang = guess_language(words, lowered)
        rules = self._rules.get(lang, self._english)
        hits = _hits(rules, words)
        if not hits:
            return NEUTRAL
        total = _sum(rules, words, hits, text)
        if not total:
            return NEUTRAL
        emphasis = _punctuation_emphasis(text)
        total += emphasis if total > 0 else -emphasis
        score = total / math.sqrt(total * total + SQUASH)
        return Sentiment(score, label_for(score))


@cache
def default_scorer() -> LexiconScorer:
    """The lexicon scorer for English and German, built once per process."""
    return LexiconScorer({lang: load_rules(lang) for lang in SUPPORTED})


def _hits(rules: Rules, words: list[str]) -> dict[int, Hit]:
    """Position of the last token of each sentiment-bearing word or phrase -> its ``Hit``."""
    valence = rules.valence if rules.compounds is None else rules.compounds.lookup(words)
    hits: dict[int, Hit] = {}
    # compress/map run in C: Python only sees the few tokens that are in the lexicon.
    for end in compress(range(len(words)), map(valence.__contains__, words)):
        word = words[end]
        hit = (end, valence[word])
        phrases = rules.phrases.get((words[end - 1], word)) if end else None
        if phrases is not None:
            hit = _phrase(phrases, words, hit)
            for inside in range(hit[0], end):
                hits.pop(inside, None)  # "kind" of "kind of" is not kind
        if hit[1]:
            hits[end] = hit
    return hits


def _phrase(phrases: tuple[Phrase, ...], words: list[str], alone: Hit) -> Hit:
    """The longest phrase ending where the word ``alone`` stands, else the word alone."""
    end = alone[0]
    for before, valence in phrases:
        start = end - len(before)
        if start >= 0 and tuple(words[start:end]) == before:
            return start, valence
    return alone


def _sum(rules: Rules, words: list[str], hits: dict[int, Hit], text: str) -> float:
    contrast = _first_contrast(rules.contrasts, words)
    # ALL CAPS emphasises only when not everything is in caps: then there is no text to look in.
    caps = "" if text.isupper() else text
    modified = not rules.modifiers.isdisjoint(words)
    total = 0.0
    for end, (start, valence) in hits.items():
        value = valence
        if caps and words[end].upper() in caps and shouted(words[end], caps):
            value += CAPS_BOOST if value > 0 else -CAPS_BOOST
        if modified and words[end][0].isalpha():  # emoji and emoticons are not negated
            value = _modified(rules, words, caps, hits, start=start, end=end, valence=value)
        if contrast is not None and end != contrast:
            value *= BEFORE_CONTRAST if end < contrast else AFTER_CONTRAST
        total += value
    return total


def _modified(
    rules: Rules,
    words: list[str],
    caps: str,
    hits: dict[int, Hit],
    *,
    start: int,
    end: int,
    valence: float,
) -> float:
    """The valence after the boosters, dampeners and negators around the word."""
    negators, boosters = rules.negators, rules.boosters
    own = words[end]
    if start == end and (own in negators or own in boosters):
        if end + 1 in hits:
            return 0.0  # "no good", "super schnell": the word modifies the next one instead
        if own in negators and end + 1 < len(words) and words[end + 1][0] in CLAUSE_BREAK_CHARS:
            return 0.0  # "no, I haven't": an answer, not a complaint
    emphatic = start > 0 and words[start - 1] in rules.emphatic_so
    for distance, decay in enumerate(MODIFIER_DECAY, 1):
        position = start - distance
        if position < 0:
            break
        word = words[position]
        if word[0] in CLAUSE_BREAK_CHARS or word in rules.contrasts:
            break
        if word in boosters and (distance == 1 or position not in hits):
            boost = boosters[word] * decay
            if caps and shouted(word, caps):
                boost += CAPS_BOOST
            valence += boost if valence > 0 else -boost
        if word in negators:
            valence *= _negation(rules, word, distance, emphatic=emphatic)
    if rules.negators_after and _negated_after(rules.negators_after, words, hits, end):
        valence *= NEGATION
    return valence


def _negation(rules: Rules, negator: str, distance: int, *, emphatic: bool) -> float:
    """The factor a negator some tokens before the word applies to its valence.

    "never so good", "haven't been this sore", "noch nie so enttäuscht" emphasise rather than
    negate (VADER's rule); "no" reaches two tokens only ("no call, tired" is still tired).
    """
    if emphatic and distance > 1 and (distance == 3 or negator in rules.emphatic_never):
        return EMPHATIC_NEGATION
    if distance == 3 and negator in rules.short_negators:
        return 1.0
    return NEGATION


def _negated_after(
    negators: frozenset[str], words: list[str], hits: dict[int, Hit], end: int
) -> bool:
    """A negator shortly after the word negates it, unless it stands before another one."""
    for position in range(end + 1, min(end + 1 + NEGATOR_AFTER_REACH, len(words))):
        word = words[position]
        if position in hits or word[0] in CLAUSE_BREAK_CHARS:
            return False
        if word in negators:
            return not _sentiment_follows(words, hits, position)
    return False


def _sentiment_follows(words: list[str], hits: dict[int, Hit], position: int) -> bool:
    for after in range(position + 1, min(position + 1 + FORWARD_NEGATION_REACH, len(words))):
        if after in hits:
            return True
        if words[after][0] in CLAUSE_BREAK_CHARS:
            return False
    return False


def _first_contrast(contrasts: frozenset[str], words: list[str]) -> int | None:
    if contrasts.isdisjoint(words):
        return None
    return min(words.index(word) for word in contrasts.intersection(words))


def _punctuation_emphasis(text: str) -> float:
    questions = text.count("?")
    if questions < 2:
        question_emphasis = 0.0
    else:
        question_emphasis = questions * QUESTION if questions <= 3 else MANY_QUESTIONS
    return min(text.count("!"), MAX_EXCLAMATIONS) * EXCLAMATION + question_emphasis
