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
from brandpulse.contract import Event


def _most_negative(item: Evidence) -> tuple[float, str]:
    return (item.score if item.score is not None else 0.0, item.id)


def _most_reached(item: Evidence) -> tuple[int, str]:
    return (-item.reach, item.id)


def _insert(
    kept: list[Evidence], item: Evidence, limit: int, key: Callable[[Evidence], Any]
) -> None:
    """Put ``item`` in its place in ``kept``, and drop what that pushes past ``limit``."""
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

    def offer(self, minute: int, event: Event, score: float) -> None:
        """Keep a scored mention if it is among its minute's most negative or most reached.

        Most mentions of a busy minute are weaker than its weakest kept item on both counts;
        comparing their keys first spares building a record for each of them.
        """
        platform, item_id, keep = event.platform, event.id, self.keep
        author = event.author
        reach = (author.followers or 0) if author else 0
        minutes = self.negative.get(platform)
        negative = minutes.get(minute) if minutes is not None else None
        if negative is None:
            negative = self._start_minute(platform, minute)
        reached = self.reached[platform][minute]
        if len(negative) < keep:
            to_negative = True
        else:
            weakest = negative[-1]
            weakest_score = weakest.score if weakest.score is not None else 0.0
            to_negative = (score, item_id) < (weakest_score, weakest.id)
        if len(reached) < keep:
            to_reached = True
        else:
            weakest = reached[-1]
            to_reached = (-reach, item_id) < (-weakest.reach, weakest.id)
        if not (to_negative or to_reached):
            return
        item = Evidence(id=item_id, platform=platform, text=event.text, score=score, reach=reach)
        if to_negative:
            _insert(negative, item, keep, _most_negative)
        if to_reached:
            _insert(reached, item, keep, _most_reached)

    def _start_minute(self, platform: str, minute: int) -> list[Evidence]:
        """Make room for ``minute`` of ``platform``; the (empty) negative list.

        Both logs always hold the same minutes, so ``offer`` looks up one and indexes the other.
        """
        self.reached.setdefault(platform, {}).setdefault(minute, [])
        return self.negative.setdefault(platform, {}).setdefault(minute, [])

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
