"""German word forms, generated once from the lemmas of the German lexicon.

German inflects adjectives, nouns and verbs ("enttäuscht", "enttäuschende", "enttäuschten"),
and posts often spell umlauts as "ae"/"oe"/"ue". Expanding each lemma into its forms when the
lexicon is loaded keeps scoring a plain dictionary lookup. The rules over-generate a little
(a few forms that are not words); that is harmless, because nobody writes them.

A long word that is still unknown is tried as a compound ("Lieferverzögerung",
"Scheißservice") by ``Compounds``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import filterfalse
from typing import Final

_ADJECTIVE_ENDINGS: Final = ("", "e", "en", "er", "es", "em")
_NOUN_ENDINGS: Final = ("", "e", "en", "n", "s", "es")
_WEAK_VERB_ENDINGS: Final = ("e", "st", "t", "en", "te", "test", "ten", "tet")
_INSEPARABLE: Final = ("be", "emp", "ent", "er", "ge", "miss", "ver", "zer", "über", "hinter")
_SEPARABLE: Final = (  # longest first, so "zurück" wins over "zu"
    "zusammen", "zurück", "fest", "nach", "auf", "aus", "bei", "ein", "los", "mit", "vor", "weg",
    "ab", "an", "zu",
)  # fmt: skip
_SUPERLATIVE_WITH_E: Final = ("s", "ß", "z", "x", "t", "d", "sch")
_ASCII_UMLAUTS: Final = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_MEMO_LIMIT: Final = 100_000
"""Words remembered as compounds, and as not, before starting over: bounds memory."""
_MIN_COMPOUND: Final = 8
"""Shorter words are too often something else ("Atoll" is not "toll")."""


def forms(lemma: str, word_class: str) -> Iterator[str]:
    """The forms of a lemma of class ``adj``, ``noun``, ``verb`` or ``word`` (as is)."""
    if word_class == "adj":
        yield from _adjective(lemma)
    elif word_class == "noun":
        yield from (lemma + ending for ending in _NOUN_ENDINGS)
    elif word_class == "verb":
        yield from _weak_verb(lemma)
    else:
        yield lemma


def ascii_spelling(word: str) -> str:
    """The spelling without umlauts and ß, as typed on keyboards that lack them."""
    return word.translate(_ASCII_UMLAUTS)


def _adjective(lemma: str) -> Iterator[str]:
    stem = lemma[:-1] if lemma.endswith("e") else lemma
    # dunkel -> dunkle, teuer -> teure: the e before a final l or r drops when inflected.
    stems = {stem, stem[:-2] + stem[-1]} if stem.endswith(("el", "uer", "aer")) else {stem}
    # nett -> nettest-, but enttäuschend -> enttäuschendst-: both are made when unsure
    superlatives = (
        ("st", "est") if stem.endswith(("s", "ß", "z", "x", "t", "d", "sch")) else ("st",)
    )
    yield lemma
    for base in stems:
        for ending in _ADJECTIVE_ENDINGS:
            yield base + ending
            yield base + "er" + ending
            yield from (base + superlative + ending for superlative in superlatives)


def _weak_verb(infinitive: str) -> Iterator[str]:
    stem = infinitive[:-2] if infinitive.endswith("en") else infinitive[:-1]
    joint = "e" if stem.endswith(("t", "d")) else ""
    yield infinitive
    for ending in _WEAK_VERB_ENDINGS:
        yield stem + (joint if ending[0] in "st" else "") + ending
    yield from _adjective(infinitive + "d")  # present participle: enttäuschend(e)
    yield from _adjective(_participle(stem, joint))  # past participle: enttäuscht(e)


def _participle(stem: str, joint: str) -> str:
    if stem.endswith("ier") or stem.startswith(_INSEPARABLE):
        return f"{stem}{joint}t"
    for prefix in _SEPARABLE:
        if stem.startswith(prefix) and len(stem) > len(prefix) + 2:
            return f"{prefix}ge{stem[len(prefix) :]}{joint}t"
    return f"ge{stem}{joint}t"


class Compounds:
    """The lexicon, plus any unknown long or hyphenated word read as a compound of its parts.

    German glues words together: the last part decides the meaning ("Lieferverzögerung" is a
    "Verzögerung", "Corona-Chaos" is "Chaos"), and a few first parts colour anything
    ("Scheiß-", "Spitzen-", "Top-Service"). Only nouns are taken as last parts of glued words,
    since adjectives hide in too many words ("vielleicht" is not "leicht"). Compounds found are
    added to a copy of the lexicon and other words remembered, so a word is analysed once and
    looking words up stays one dictionary lookup.
    """

    __slots__ = ("_analysed", "_heads", "_known", "_lexicon", "_min_head", "_prefixes", "_words")

    def __init__(
        self,
        nouns: Mapping[str, float],
        prefixes: Mapping[str, float],
        words: Mapping[str, float],
        lexicon: Mapping[str, float] | None = None,
        min_head: int = 5,
    ) -> None:
        self._heads = {word: v for word, v in nouns.items() if len(word) >= min_head and v}
        self._prefixes = tuple(sorted(prefixes.items(), key=lambda item: -len(item[0])))
        self._words = words
        self._min_head = min_head
        self._lexicon = dict(words if lexicon is None else lexicon)
        self._known = dict(self._lexicon)
        # The words of _known and those found not to be compounds: one test for both.
        self._analysed = set(self._lexicon)

    def __call__(self, word: str) -> float | None:
        """The valence of one word read as a compound, if it is a long or hyphenated one."""
        if "-" in word:
            return self._hyphenated(word)
        return self._glued(word) if len(word) >= _MIN_COMPOUND else None

    def lookup(self, words: list[str]) -> dict[str, float]:
        """The lexicon with the compounds among ``words`` added (and any found before)."""
        if not self._analysed.issuperset(words):  # most texts: every word seen before
            self._analyse(words)
        return self._known

    def _analyse(self, words: list[str]) -> None:
        """Adds the compounds among ``words`` to ``_known``, and all of them to ``_analysed``."""
        if len(self._analysed) >= len(self._lexicon) + _MEMO_LIMIT:
            self._known = dict(self._lexicon)
            self._analysed = set(self._lexicon)
        known, analysed = self._known, self._analysed
        for word in filterfalse(analysed.__contains__, words):
            valence = self(word)
            if valence:
                known[word] = valence
            analysed.add(word)

    def _hyphenated(self, word: str) -> float | None:
        parts = word.split("-")
        return self._words.get(parts[-1]) or self._words.get(parts[0])

    def _glued(self, word: str) -> float | None:
        heads = self._heads
        for start in range(3, len(word) - self._min_head + 1):
            valence = heads.get(word[start:])
            if valence is not None:
                return valence
        for prefix, valence in self._prefixes:
            if word.startswith(prefix) and len(word) >= len(prefix) + 4:
                return valence
        return None
