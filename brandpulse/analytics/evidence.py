"""The items an alert shows as evidence: the most negative and the most reached of its minutes.

Each minute keeps only its top few per platform on each count, so memory stays small however
busy the brand, and most mentions are turned away by one comparison with the weakest kept.
Ties are broken by item id, so the choice is deterministic.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable
from typing import Any

import msgspec

from brandpulse.analytics.records import Evidence


def _most_negative(item: Evidence) -> tuple[float, str]:
    return (item.score if item.score is not None else 0.0, item.id)


def _most_reached(item: Evidence) -> tuple[int, str]:
    return (-item.reach, item.id)


def _keep(kept: list[Evidence], item: Evidence, limit: int, key: Callable[[Evidence], Any]) -> None:
    if len(kept) >= limit and key(item) >= key(kept[-1]):
        return
    insort(kept, item, key=key)
    del kept[limit:]


def top(items: list[Evidence], limit: int) -> list[Evidence]:
    """The ``limit`` most negative and ``limit`` most reached items, most negative first."""
    chosen = {i.id: i for i in sorted(items, key=_most_negative)[:limit]}
    chosen.update({i.id: i for i in sorted(items, key=_most_reached)[:limit]})
    return sorted(chosen.values(), key=_most_negative)


class EvidenceLog(msgspec.Struct):
    keep: int
    negative: dict[str, dict[int, list[Evidence]]] = msgspec.field(default_factory=dict)
    """Platform -> minute -> the most negative items, most negative first."""
    reached: dict[str, dict[int, list[Evidence]]] = msgspec.field(default_factory=dict)

    def add(self, minute: int, item: Evidence) -> None:
        for log, key in ((self.negative, _most_negative), (self.reached, _most_reached)):
            kept = log.setdefault(item.platform, {}).setdefault(minute, [])
            _keep(kept, item, self.keep, key)

    def pick(self, platform: str | None, first: int, last: int) -> list[Evidence]:
        """Top items of minutes ``first..last`` on ``platform`` (None: every platform)."""
        items: list[Evidence] = []
        for log in (self.negative, self.reached):
            platforms = log if platform is None else {platform: log.get(platform, {})}
            items += [
                item
                for minutes in platforms.values()
                for minute, kept in minutes.items()
                if first <= minute <= last
                for item in kept
            ]
        return top(items, self.keep)

    def forget(self, before: int) -> None:
        for log in (self.negative, self.reached):
            for minutes in log.values():
                for minute in [m for m in minutes if m < before]:
                    del minutes[minute]
