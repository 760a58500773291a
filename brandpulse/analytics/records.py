"""What the analytics put out: window aggregates and alerts, as JSON records.

Both are keyed deterministically, so a record written twice (after a restart) is the same record
twice, and live and replayed output can be compared line by line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

import msgspec

ALL_PLATFORMS: Final = "all"
"""The platform label of a brand's figures over all its platforms."""


class WindowRecord(msgspec.Struct, kw_only=True):
    """One sliding window of one brand on one platform (or ``all``), at the minute it ended."""

    brand: str
    platform: str
    window: str
    end: datetime
    mentions: int
    posts: int
    interactions: int
    negative_mentions: int
    positive: int
    neutral: int
    negative: int
    mention_rate: float
    """Mentions per second over the window."""
    interaction_rate: float
    mean_sentiment: float | None
    net_sentiment: float | None
    """(positive - negative) / (positive + negative)."""
    negative_share: float | None
    followers: int | None
    engagement_rate: float | None
    """Interactions in the window per follower."""
    follower_growth: float | None
    """Ratio: (followers now - followers one window ago) / followers one window ago."""
    mention_growth: float | None
    """Ratio against the previous window of the same length."""
    interaction_growth: float | None
    orders: int = 0
    """Orders in the brand's shop (platform ``shop``, and in ``all``)."""
    visits: int = 0
    """Visits of the brand's site (platform ``web``, and in ``all``)."""
    order_growth: float | None = None
    visit_growth: float | None = None

    @property
    def key(self) -> str:
        return f"{self.brand}/{self.platform}/{self.window}/{self.end.isoformat()}"


class Evidence(msgspec.Struct, kw_only=True):
    """An item that shows what an alert is about: among the most negative or most reached."""

    id: str
    platform: str
    text: str | None
    score: float | None
    reach: int


class AlertRecord(msgspec.Struct, kw_only=True):
    """An alert opening, changing severity, or resolving, at an event time."""

    id: str
    brand: str
    platform: str
    signal: str
    state: Literal["firing", "resolved"]
    severity: str
    at: datetime
    opened_at: datetime
    observed: float
    expected: float
    summary: str
    evidence: list[Evidence] = msgspec.field(default_factory=list)


_encoder: Final = msgspec.json.Encoder()


def encode_record(record: WindowRecord | AlertRecord) -> bytes:
    return _encoder.encode(record)
