"""Types of the Rust sentiment scorer (see src/lib.rs and brandpulse/sentiment/native.py)."""

from collections.abc import Mapping

from brandpulse.sentiment.interface import Scorer, Sentiment
from brandpulse.sentiment.lexicon import Rules

class NativeScorer:
    def __init__(
        self,
        *,
        rules: Mapping[str, Rules],
        english: str,
        chars: list[tuple[int, int, str, str]],
        cues: Mapping[str, int],
        fallback: Scorer,
        sentiment: type[Sentiment],
        neutral: Sentiment,
    ) -> None: ...
    def score(self, text: str, lang: str | None = None) -> Sentiment: ...
    def tokens(self, text: str) -> list[str]: ...
    def handles(self, text: str) -> bool: ...
