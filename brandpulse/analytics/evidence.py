"""The items an alert shows as evidence: the most negative and the most reached of its minutes.

Each minute keeps only its top candidates per platform, so memory stays small however busy the
brand; ties are broken by item id, so the choice is deterministic.
"""

from __future__ import annotations

import msgspec

from brandpulse.analytics.records import Evidence


def _most_negative(item: Evidence) -> tuple[float, str]:
    return (item.score if item.score is not None else 0.0, item.id)


def _most_reached(item: Evidence) -> tuple[int, str]:
    return (-item.reach, item.id)


def _top(items: list[Evidence], keep: int) -> list[Evidence]:
    chosen = {i.id: i for i in sorted(items, key=_most_negative)[:keep]}
    chosen.update({i.id: i for i in sorted(items, key=_most_reached)[:keep]})
    return sorted(chosen.values(), key=_most_negative)


class EvidenceLog(msgspec.Struct):
    keep: int
    minutes: dict[str, dict[int, list[Evidence]]] = msgspec.field(default_factory=dict)
    """Platform -> minute -> candidates."""

    def add(self, minute: int, item: Evidence) -> None:
        candidates = self.minutes.setdefault(item.platform, {}).setdefault(minute, [])
        candidates.append(item)
        if len(candidates) > 2 * self.keep:
            candidates[:] = _top(candidates, self.keep)

    def pick(self, platform: str | None, first: int, last: int) -> list[Evidence]:
        """Top items of minutes ``first..last`` on ``platform`` (None: every platform)."""
        platforms = self.minutes if platform is None else {platform: self.minutes.get(platform, {})}
        items = [
            item
            for minutes in platforms.values()
            for minute, found in minutes.items()
            if first <= minute <= last
            for item in found
        ]
        return _top(items, self.keep)

    def forget(self, before: int) -> None:
        for minutes in self.minutes.values():
            for minute in [m for m in minutes if m < before]:
                del minutes[minute]
