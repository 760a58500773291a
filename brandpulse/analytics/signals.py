"""What an event counts towards, in one minute bucket of one (brand, platform) series.

A post counts in ``POSTS`` whoever wrote it, and so do an order (``ORDERS``) and a visit of the
brand's site (``VISITS``); a mention (in ``MENTIONS``) or an interaction (in
``INTERACTIONS``) counts only when it comes from the public, and so does the sentiment of the
public's texts. The counting itself is ``BrandAnalytics._apply``, the hottest code there is.
Counts are integers, sentiment included (scores are summed in units of 1/10,000), so totals do
not depend on the order in which events are added.
"""

from __future__ import annotations

from typing import Final

MENTIONS: Final = 0
POSTS: Final = 1
INTERACTIONS: Final = 2
NEGATIVE_MENTIONS: Final = 3
POSITIVE: Final = 4
NEUTRAL: Final = 5
NEGATIVE: Final = 6
SCORE_UNITS: Final = 7
"""Sum of sentiment scores of the public's texts, in units of ``1 / SCORE_SCALE``."""
ORDERS: Final = 8
VISITS: Final = 9
SIZE: Final = 10
SCORE_SCALE: Final = 10_000

COUNTED_SIGNALS: Final = {
    "mentions": MENTIONS,
    "posts": POSTS,
    "interactions": INTERACTIONS,
    "negative_mentions": NEGATIVE_MENTIONS,
    "orders": ORDERS,
    "visits": VISITS,
}
"""The counts exposed per window, by the name they carry in records and metric labels."""
INTERACTION_KINDS: Final = frozenset({"comment", "reply", "reaction", "share"})
VOICE_KINDS: Final = frozenset({"mention", "comment", "reply"})
"""The public's texts whose sentiment describes how people feel about the brand."""
COMMERCE_INDEX: Final = {"order": ORDERS, "visit": VISITS}
"""Orders and visits count whoever made them, like posts."""
LABEL_INDEX: Final = {"positive": POSITIVE, "neutral": NEUTRAL, "negative": NEGATIVE}

Buckets = list[int]


def empty() -> Buckets:
    return [0] * SIZE
