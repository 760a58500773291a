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

Speed comes from leaving the per-token work to C (``ChunkTokens``' lookups, ``filter`` over
the lexicon, set operations for modifiers), and doing the context work in Python only for the
few tokens that carry sentiment; in most posts no modifier is near them, and their valences
are summed without the context rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from math import sqrt
from typing import Final

from brandpulse.sentiment.interface import Sentiment, label_for
from brandpulse.sentiment.language import guess_language
from brandpulse.sentiment.lexicon import Phrase, Rules, supported_rules
from brandpulse.sentiment.text import CLAUSE_BREAK_CHARS, ChunkTokens, clean, shouted

NEGATION: Final = -0.74
EMPHATIC_NEGATION: Final = 1.25
CAPS_BOOST: Final = 0.733
MODIFIER_DECAY: Final = (1.0, 0.95, 0.9)
"""Weight of a booster one, two and three tokens before the word."""
MODIFIER_REACH: Final = len(MODIFIER_DECAY)
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

    __slots__ = ("_chunk_tokens", "_english", "_rules")

    def __init__(self, rules: Mapping[str, Rules]) -> None:
        self._rules = dict(rules)
        self._english = self._rules["en"]
        self._chunk_tokens = ChunkTokens()

    def score(self, text: str, lang: str | None = None) -> Sentiment:
        """Languages without rules are scored with the English ones; ``None`` means guess."""
        text = clean(text)
        words: list[str] = []  # tokenize(text.lower()), made lookups: see ChunkTokens
        for chunk in text.split():
            words += self._chunk_tokens[chunk]
        if not words:
            return NEUTRAL
        if lang is None:
            lang = guess_language(words, text.lower())
        rules = self._rules.get(lang, self._english)
        valence = rules.valence if rules.compounds is None else rules.compounds.lookup(words)
        if valence.keys().isdisjoint(words):
            return NEUTRAL  # most neutral posts: not one word of the lexicon
        # ALL CAPS emphasises only when not everything is in caps: then there is no text to look in.
        caps = "" if text.isupper() else text
        if rules.context_words.isdisjoint(words):
            total = _sum_alone(rules, valence, words, caps)
        else:
            total = _sum(rules, words, _hits(rules, valence, words), caps)
        if not total:
            return NEUTRAL
        emphasis = _punctuation_emphasis(text)
        total += emphasis if total > 0 else -emphasis
        score = total / sqrt(total * total + SQUASH)
        # tuple.__new__: what Sentiment(score, label) does, without its __new__ in Python
        return tuple.__new__(Sentiment, (score, label_for(score)))


@cache
def python_scorer() -> LexiconScorer:
    """The lexicon scorer for English and German in Python, built once per process."""
    return LexiconScorer(supported_rules())


def _sum_alone(rules: Rules, valence: Mapping[str, float], words: list[str], caps: str) -> float:
    """``_sum`` for a text without modifiers and contrasts, where each word counts alone.

    Most posts are such texts, so this skips collecting the ``_hits`` (and their positions)
    that context rules need, unless a phrase may end in the text: then ``_sum`` counts.
    """
    phrase_ends = rules.phrase_ends
    total = 0.0
    end = -1
    for word in filter(valence.__contains__, words):
        if word in phrase_ends:
            # Only phrase ends need their place. Words come in order, and an earlier place of
            # this word, a phrase end too, was passed already: it is the next one after that.
            end = words.index(word, end + 1)
            if end and (words[end - 1], word) in rules.phrases:
                return _sum(rules, words, _hits(rules, valence, words), caps)
        value = valence[word]
        if value:
            if caps and word.upper() in caps and shouted(word, caps):
                value += CAPS_BOOST if value > 0 else -CAPS_BOOST
            total += value
    return total


def _hits(rules: Rules, valence: Mapping[str, float], words: list[str]) -> dict[int, Hit]:
    """Position of the last token of each sentiment-bearing word or phrase -> its ``Hit``."""
    phrase_ends = rules.phrase_ends
    hits: dict[int, Hit] = {}
    end = -1
    # filter and index run in C: Python only sees the few tokens that are in the lexicon.
    for word in filter(valence.__contains__, words):
        end = words.index(word, end + 1)  # words come in order, each found after the last
        hit = (end, valence[word])
        if end and word in phrase_ends:
            phrases = rules.phrases.get((words[end - 1], word))
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


def _sum(rules: Rules, words: list[str], hits: dict[int, Hit], caps: str) -> float:
    """The sum of the hits' valences in context; ``caps`` is the text to look for ALL CAPS in."""
    contrasts, modifiers = rules.contrasts, rules.modifiers
    contrast = None if contrasts.isdisjoint(words) else _first_contrast(contrasts, words)
    modified = not modifiers.isdisjoint(words)
    # Negators that may follow the word are looked for only if the text has any.
    negators_after = modified and not rules.negators_after.isdisjoint(words)
    total = 0.0
    for end, (start, valence) in hits.items():
        value = valence
        word = words[end]
        if caps and word.upper() in caps and shouted(word, caps):
            value += CAPS_BOOST if value > 0 else -CAPS_BOOST
        if modified and word[0].isalpha():  # emoji and emoticons are not negated
            if start == end and word in modifiers and _modifies_next(rules, words, hits, end):
                value = 0.0
            else:
                # Most words have no modifier before them: a set operation in C tells.
                window = words[start - MODIFIER_REACH if start > MODIFIER_REACH else 0 : start]
                if not modifiers.isdisjoint(window):
                    value = _modified_before(rules, words, caps, hits, start=start, valence=value)
                if negators_after and _negated_after(rules.negators_after, words, hits, end):
                    value *= NEGATION
        if contrast is not None and end != contrast:
            value *= BEFORE_CONTRAST if end < contrast else AFTER_CONTRAST
        total += value
    return total


def _modifies_next(rules: Rules, words: list[str], hits: dict[int, Hit], end: int) -> bool:
    """Whether a modifier that carries sentiment itself is there to modify what follows."""
    if end + 1 in hits:
        return True  # "no good", "super schnell": the word modifies the next one instead
    # "no, I haven't": an answer, not a complaint
    return (
        words[end] in rules.negators
        and end + 1 < len(words)
        and words[end + 1][0] in CLAUSE_BREAK_CHARS
    )


def _modified_before(
    rules: Rules, words: list[str], caps: str, hits: dict[int, Hit], *, start: int, valence: float
) -> float:
    """The valence after the boosters, dampeners and negators up to three tokens before it."""
    negators, boosters, contrasts = rules.negators, rules.boosters, rules.contrasts
    for position in range(start - 1, max(start - MODIFIER_REACH, 0) - 1, -1):
        word = words[position]
        if word[0] in CLAUSE_BREAK_CHARS or word in contrasts:
            break
        if word in boosters and (position == start - 1 or position not in hits):
            boost = boosters[word] * MODIFIER_DECAY[start - 1 - position]
            if caps and word.upper() in caps and shouted(word, caps):
                boost += CAPS_BOOST
            valence += boost if valence > 0 else -boost
        if word in negators:
            distance = start - position
            emphatic = distance > 1 and words[start - 1] in rules.emphatic_so
            valence *= _negation(rules, word, distance, emphatic=emphatic)
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


def _first_contrast(contrasts: frozenset[str], words: list[str]) -> int:
    """Where the first contrast word ("but") stands; ``words`` has one."""
    return min(words.index(word) for word in contrasts.intersection(words))


def _punctuation_emphasis(text: str) -> float:
    emphasis = min(text.count("!"), MAX_EXCLAMATIONS) * EXCLAMATION
    questions = text.count("?")
    if questions > 1:
        emphasis += questions * QUESTION if questions <= 3 else MANY_QUESTIONS
    return emphasis
