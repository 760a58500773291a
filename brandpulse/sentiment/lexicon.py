"""Loading the lexicons in ``data/`` into one ``Rules`` object per language.

The data files are plain TSV so that brand teams can read and review them (see LEXICONS.md):

- ``<lang>*.tsv``: ``entry<TAB>valence[<TAB>class]``; valence on VADER's -4..4 scale; an entry
  with spaces is a phrase; class (German only) is ``adj``, ``noun``, ``verb`` or ``word``, and
  says which inflected forms to generate; valence 0 in a later file removes an entry.
- ``<lang>_rules.tsv``: ``word<TAB>role[<TAB>value]``, role one of ``booster``, ``dampener``,
  ``negator``, ``negator_short``, ``negator_after``, ``contrast``, ``emphatic_never``,
  ``emphatic_so``, ``compound_prefix``, ``language_cue`` (see the files' headers).
- ``symbols*.tsv``: emoticons and emoji, shared by all languages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Final

from brandpulse.sentiment.german import Compounds, ascii_spelling, forms

SUPPORTED: Final = ("en", "de")
BOOST: Final = 0.293
"""VADER's mean rating change for "very"-like words, used where a rule gives no value."""

UN_PREFIX: Final = -0.74
"""A German adjective with "un-" in front means roughly its negation (VADER's negation factor)."""

_WORD_FILES: Final = {"en": ("en_vader.tsv", "en.tsv"), "de": ("de.tsv",)}
_SYMBOL_FILES: Final = ("symbols_vader.tsv", "symbols.tsv")
_REPEATABLE_MOUTHS: Final = ")(]["

Phrase = tuple[tuple[str, ...], float]
"""The words before the last word of a phrase, and the phrase's valence."""


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything the scorer knows about one language, in the shape it reads fastest."""

    valence: dict[str, float]
    """Token -> valence; a phrase's last word is here too, with 0.0 if it means nothing alone."""
    phrases: dict[tuple[str, str], tuple[Phrase, ...]]
    """Last two words of a phrase -> the phrases ending with them, longest first."""
    phrase_ends: frozenset[str]
    """The last words of ``phrases``: only these need a look at the word before."""
    boosters: dict[str, float]
    negators: frozenset[str]
    negators_after: frozenset[str]
    """Negators that may follow what they negate, as German "nicht" does ("gefällt mir nicht")."""
    contrasts: frozenset[str]
    """Words such as "but": what follows counts more, and they end a negation's reach."""
    short_negators: frozenset[str]
    """Negators that reach two tokens, not three ("no")."""
    emphatic_never: frozenset[str]
    emphatic_so: frozenset[str]
    """"never so good": a "never" followed by a "so" emphasises instead of negating."""
    compounds: Compounds | None
    """German: looks up unknown long words as compounds; its ``lookup`` replaces ``valence``."""
    modifiers: frozenset[str]
    """Boosters, dampeners and negators: a text without any skips the context rules."""
    context_words: frozenset[str]
    """``modifiers`` and ``contrasts``: in a text without any, every word counts alone."""
    language_cues: frozenset[str]
    """Frequent words that tell this language from the other one ("the", "und", "Rechnung")."""


@cache
def load_rules(lang: str) -> Rules:
    """The rules for a language of ``SUPPORTED``, read from the package data once."""
    rows = list(_rows(_WORD_FILES[lang]))
    words = _expanded(rows, generate_forms=lang == "de")
    roles = _roles(lang)
    prefixes = {word: float(value) for word, role, value in roles if role == "compound_prefix"}
    valence = _symbols() | words
    phrases = _phrases(valence)
    for _, last in phrases:
        valence.setdefault(last, 0.0)
    compounds = None
    if prefixes:  # nouns only: the last part of "vielleicht" is not the adjective "leicht"
        nouns = _expanded([row for row in rows if row[2] == "noun"], generate_forms=True)
        compounds = Compounds(nouns, prefixes, words, valence)
    boosters = {
        word: float(value) if value else (BOOST if role == "booster" else -BOOST)
        for word, role, value in roles
        if role in ("booster", "dampener")
    }
    negators = frozenset(word for word, role, _ in roles if role.startswith("negator"))
    modifiers = negators | frozenset(boosters)
    contrasts = _with_role(roles, "contrast")
    return Rules(
        valence=valence,
        phrases=phrases,
        phrase_ends=frozenset(last for _, last in phrases),
        boosters=boosters,
        negators=negators,
        negators_after=_with_role(roles, "negator_after"),
        contrasts=contrasts,
        short_negators=_with_role(roles, "negator_short"),
        emphatic_never=_with_role(roles, "emphatic_never"),
        emphatic_so=_with_role(roles, "emphatic_so"),
        compounds=compounds,
        modifiers=modifiers,
        context_words=modifiers | contrasts,
        language_cues=_with_role(roles, "language_cue"),
    )


def supported_rules() -> dict[str, Rules]:
    """The rules of every language of ``SUPPORTED``, by language."""
    return {lang: load_rules(lang) for lang in SUPPORTED}


def _lines(name: str) -> Iterator[list[str]]:
    text = files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            yield line.split("\t")


def _rows(names: Iterable[str]) -> Iterator[tuple[str, float, str]]:
    for name in names:
        for fields in _lines(name):
            yield fields[0], float(fields[1]), (fields[2:] or ["word"])[0]


def _expanded(rows: Iterable[tuple[str, float, str]], *, generate_forms: bool) -> dict[str, float]:
    """Lemmas first, so that a listed word always beats a form generated from another lemma."""
    lemmas: dict[str, float] = {}
    classes: dict[str, set[str]] = {}
    for entry, valence, word_class in rows:
        if valence or " " in entry:  # a phrase of valence 0 neutralizes its words ("kind of")
            lemmas[entry] = valence
            classes.setdefault(entry, set()).add(word_class)
        else:
            lemmas.pop(entry, None)
    if not generate_forms:
        return lemmas
    for lemma in [lemma for lemma, found in classes.items() if "adj" in found]:
        if f"un{lemma}" not in lemmas:  # unfreundlich, unpraktisch, ungefährlich
            lemmas[f"un{lemma}"] = lemmas[lemma] * UN_PREFIX
            classes[f"un{lemma}"] = {"adj"}
    words = dict(lemmas)
    for lemma, valence in lemmas.items():
        for word_class in sorted(classes[lemma]):
            for form in forms(lemma, word_class):
                words.setdefault(form, valence)
    for word, valence in list(words.items()):
        words.setdefault(ascii_spelling(word), valence)
    return words


def _roles(lang: str) -> list[tuple[str, str, str]]:
    rows = _lines(f"{lang}_rules.tsv")
    return [(fields[0], fields[1], (fields[2:] or [""])[0]) for fields in rows]


def _with_role(roles: list[tuple[str, str, str]], wanted: str) -> frozenset[str]:
    return frozenset(word for word, role, _ in roles if role == wanted)


def _symbols() -> dict[str, float]:
    """Emoticons and emoji; ":(" also as ":(((", since posts repeat the mouth."""
    symbols = _expanded(_rows(_SYMBOL_FILES), generate_forms=False)
    for symbol, valence in list(symbols.items()):
        if symbol[-1] in _REPEATABLE_MOUTHS:
            for times in range(1, 5):
                symbols.setdefault(symbol + symbol[-1] * times, valence)
    return symbols


def _phrases(valence: dict[str, float]) -> dict[tuple[str, str], tuple[Phrase, ...]]:
    """Moves entries with spaces out of ``valence`` into a table keyed by their last two words."""
    by_end: dict[tuple[str, str], list[Phrase]] = {}
    for entry in [entry for entry in valence if " " in entry]:
        *before, last = entry.split()
        by_end.setdefault((before[-1], last), []).append((tuple(before), valence.pop(entry)))
    return {
        end: tuple(sorted(found, key=lambda phrase: -len(phrase[0])))
        for end, found in by_end.items()
    }
