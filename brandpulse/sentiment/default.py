"""Which scorer the worker, the replay and the CLI use."""

from __future__ import annotations

from functools import cache

from brandpulse.sentiment.interface import Scorer
from brandpulse.sentiment.lexicon import supported_rules
from brandpulse.sentiment.native import native_scorer
from brandpulse.sentiment.scorer import python_scorer


@cache
def default_scorer() -> Scorer:
    """The Rust lexicon scorer when ``brandpulse-native`` is installed, else the Python one.

    Both give the same results to the bit, so live and replayed numbers agree whichever runs.
    """
    python = python_scorer()
    return native_scorer(supported_rules(), python) or python
