"""Sliding event-time windows over one-minute buckets, kept as running sums.

Each closed minute moves every window one minute on: the new bucket is added and the bucket that
fell out is subtracted, so the cost per minute does not grow with the window (24 h is as cheap
as 1 min). The previous window, needed for growth rates, is kept the same way; buckets are
therefore retained for twice the longest window.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Final

import msgspec

from brandpulse.analytics import signals

MINUTE: Final = 60
WINDOWS: Final = {"1m": 1, "5m": 5, "1h": 60, "24h": 1440}
"""Window names and their length in minutes."""
RETAINED_MINUTES: Final = 2 * max(WINDOWS.values())


class SeriesWindows(msgspec.Struct):
    """Buckets, running window sums and follower snapshots of one (brand, platform) series.

    ``closed`` is the last minute folded into the sums; buckets after it are still filling.
    """

    buckets: dict[int, list[int]] = msgspec.field(default_factory=dict)
    current: dict[str, list[int]] = msgspec.field(
        default_factory=lambda: {name: signals.empty() for name in WINDOWS}
    )
    previous: dict[str, list[int]] = msgspec.field(
        default_factory=lambda: {name: signals.empty() for name in WINDOWS}
    )
    closed: int | None = None
    follower_minutes: list[int] = msgspec.field(default_factory=list)
    follower_counts: list[int] = msgspec.field(default_factory=list)

    def bucket(self, minute: int) -> list[int]:
        found = self.buckets.get(minute)
        if found is None:
            found = self.buckets[minute] = signals.empty()
        return found

    def record_followers(self, minute: int, followers: int) -> None:
        """Snapshots arrive in event-time order; the last one of a minute stands for it."""
        if self.follower_minutes and self.follower_minutes[-1] == minute:
            self.follower_counts[-1] = followers
            return
        self.follower_minutes.append(minute)
        self.follower_counts.append(followers)

    def followers_before(self, minute: int) -> int | None:
        """The latest snapshot taken before ``minute`` began, if any."""
        index = bisect_right(self.follower_minutes, minute - 1)
        return self.follower_counts[index - 1] if index else None

    def close(self, minute: int) -> None:
        """Fold ``minute`` into every window; minutes must be closed one after another."""
        if self.closed is not None and minute != self.closed + 1:
            raise ValueError(f"minute {minute} closed after {self.closed}")
        buckets = self.buckets
        entering = buckets.get(minute)
        for name, length in WINDOWS.items():
            halfway = buckets.get(minute - length)
            _shift(self.current[name], entering, halfway)
            _shift(self.previous[name], halfway, buckets.get(minute - 2 * length))
        self.closed = minute
        self._forget(minute - RETAINED_MINUTES)

    def is_idle(self) -> bool:
        """True when no window holds anything: nothing left to report until new events."""
        return not any(any(v) for v in self.current.values()) and not any(
            any(v) for v in self.previous.values()
        )

    def _forget(self, before: int) -> None:
        self.buckets.pop(before, None)
        keep = bisect_right(self.follower_minutes, before) - 1
        if keep > 0:
            del self.follower_minutes[:keep]
            del self.follower_counts[:keep]


def _shift(total: list[int], entering: list[int] | None, leaving: list[int] | None) -> None:
    """Add the bucket entering the window to its running sums, subtract the one leaving it."""
    if entering is not None and leaving is not None:
        total[:] = [t + e - v for t, e, v in zip(total, entering, leaving, strict=True)]
    elif entering is not None:
        total[:] = [t + e for t, e in zip(total, entering, strict=True)]
    elif leaving is not None:
        total[:] = [t - v for t, v in zip(total, leaving, strict=True)]
