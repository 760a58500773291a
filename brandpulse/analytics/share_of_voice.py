"""Share of voice: a brand's mentions among its own and its configured competitors'.

Brands may live on different workers, so share of voice is computed where every brand's window
records meet: here, over the records of a replay, and in Prometheus for the live system.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from brandpulse.analytics.records import ALL_PLATFORMS, WindowRecord
from brandpulse.config import BrandConfig


class ShareOfVoice(msgspec.Struct, kw_only=True):
    brand: str
    window: str
    end: datetime
    mentions: int
    group_mentions: int
    """Mentions of the brand and its competitors together."""
    share: float | None


class MentionTally:
    """Collects the all-platform mention counts of window records as they are produced."""

    def __init__(self) -> None:
        self.mentions: dict[tuple[datetime, str, str], int] = {}

    def add(self, records: Iterable[WindowRecord]) -> None:
        for record in records:
            if record.platform == ALL_PLATFORMS:
                self.mentions[record.end, record.window, record.brand] = record.mentions

    def shares(self, brands: Sequence[BrandConfig]) -> list[ShareOfVoice]:
        """One record per brand with competitors, window and end, in (end, window, brand) order."""
        result = []
        rivals = {b.name: b.competitors for b in brands if b.competitors}
        for (end, window, brand), mentions in sorted(self.mentions.items()):
            if brand not in rivals:
                continue
            group = mentions + sum(self.mentions.get((end, window, r), 0) for r in rivals[brand])
            result.append(
                ShareOfVoice(
                    brand=brand,
                    window=window,
                    end=end,
                    mentions=mentions,
                    group_mentions=group,
                    share=mentions / group if group else None,
                )
            )
        return result
