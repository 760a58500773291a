"""Holds events until the watermark passes them, then releases them in event-time order.

Applying events in (time, platform, id) order, whatever order they arrived in, is what makes
every result independent of arrival order within the allowed lateness. An event older than the
watermark when it arrives is late: the caller counts it and leaves it out of the analytics.
"""

from __future__ import annotations

import heapq

import msgspec

from brandpulse.contract import Event


class ReorderBuffer(msgspec.Struct):
    lateness: float
    newest: float | None = None
    heap: list[tuple[float, str, str, int, Event]] = msgspec.field(default_factory=list)
    sequence: int = 0

    @property
    def watermark(self) -> float | None:
        """Event time up to which all events are known: the newest seen minus the lateness."""
        return None if self.newest is None else self.newest - self.lateness

    def push(self, event: Event, when: float) -> bool:
        """Hold ``event``; False (and not held) when it is later than the allowed lateness."""
        watermark = self.watermark
        if watermark is not None and when < watermark:
            return False
        self.sequence += 1
        heapq.heappush(self.heap, (when, event.platform, event.id, self.sequence, event))
        if self.newest is None or when > self.newest:
            self.newest = when
        return True

    def release(self) -> list[tuple[float, Event]]:
        """The held events at or before the watermark, oldest first."""
        watermark = self.watermark
        released: list[tuple[float, Event]] = []
        while self.heap and watermark is not None and self.heap[0][0] <= watermark:
            when, _, _, _, event = heapq.heappop(self.heap)
            released.append((when, event))
        return released

    def drain(self) -> list[tuple[float, Event]]:
        """Everything held, oldest first: for the end of a finite input."""
        released = [(item[0], item[4]) for item in sorted(self.heap)]
        self.heap.clear()
        return released
