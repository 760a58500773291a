"""Sentiment of social media texts, English and German, in microseconds per text.

    >>> from brandpulse.sentiment import default_scorer
    >>> default_scorer().score("Kein guter Service 😡", lang="de").label
    'negative'

``default_scorer()`` is the lexicon scorer (see ``scorer.py`` and LEXICONS.md), in Rust when
``brandpulse-native`` is installed (``native.py``), else in Python (``python_scorer()``): both
give the same results. Anything with the ``Scorer`` protocol's ``score`` method can stand in.
No Kafka or Faust in here: the stream worker calls it per event, the CLI per JSON line.
"""

from brandpulse.sentiment.default import default_scorer
from brandpulse.sentiment.interface import (
    LABELS,
    NEGATIVE_FROM,
    POSITIVE_FROM,
    Scorer,
    Sentiment,
    label_for,
)
from brandpulse.sentiment.language import detect_language
from brandpulse.sentiment.scorer import LexiconScorer, python_scorer

__all__ = [
    "LABELS",
    "NEGATIVE_FROM",
    "POSITIVE_FROM",
    "LexiconScorer",
    "Scorer",
    "Sentiment",
    "default_scorer",
    "detect_language",
    "label_for",
    "python_scorer",
]
