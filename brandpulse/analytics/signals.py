"""What an event counts towards, in one minute bucket of one (brand, platform) series.

Counts are integers, sentiment included (scores are summed in units of 1/10,000), so totals do
not depend on the order in which events are added.
"""

from __future__ import annotations

from typing import Final

from brandpulse.contract import Event

MENTIONS: Final = 0
POSTS: Final = 1
INTERACTIONS: Final = 2
NEGATIVE_MENTIONS: Final = 3
POSITIVE: Final = 4
NEUTRAL: Final = 5
NEGATIVE: Final = 6
SCORE_UNITS: Final = 7
"""Sum of sentiment scores of the public's texts, in units of ``1 / SCORE_SCALE``."""
SIZE: Final = 8
SCORE_SCALE: Final = 10_000

COUNTED_SIGNALS: Final = {
    "mentions": MENTIONS,
    "posts": POSTS,
    "interactions": INTERACTIONS,
    "negative_mentions": NEGATIVE_MENTIONS,
}
"""The counts exposed per window, by the name they carry in records and metric labels."""
INTERACTION_KINDS: Final = frozenset({"comment", "reply", "reaction", "share"})
VOICE_KINDS: Final = frozenset({"mention", "comment", "reply"})
"""The public's texts whose sentiment describes how people feel about the brand."""
LABEL_INDEX: Final = {"positive": POSITIVE, "neutral": NEUTRAL, "negative": NEGATIVE}

Buckets = list[int]


def empty() -> Buckets:
    return [0] * SIZE


def add_event(
    bucket: Buckets, event: Event, from_brand: bool, sentiment: tuple[float, str] | None
) -> None:
    """Count one event; ``sentiment`` is given for the public's texts only."""
    kind = event.kind
    if kind == "post":
        bucket[POSTS] += 1
    elif from_brand:
        return
    elif kind == "mention":
        bucket[MENTIONS] += 1
        if sentiment is not None and sentiment[1] == "negative":
            bucket[NEGATIVE_MENTIONS] += 1
    elif kind in INTERACTION_KINDS:
        bucket[INTERACTIONS] += 1
    if sentiment is not None:
        score, label = sentiment
        bucket[LABEL_INDEX[label]] += 1
        bucket[SCORE_UNITS] += round(score * SCORE_SCALE)


def is_voice(event: Event, from_brand: bool) -> bool:
    return not from_brand and event.kind in VOICE_KINDS and bool(event.text)
