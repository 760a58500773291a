"""Holds events until the watermark passes them, then releases them in event-time order.

Applying events in (time, platform, id) order, whatever order they arrived in, is what makes
every result independent of arrival order within the allowed lateness. An event older than the
watermark when it arrives is late: the caller counts it and leaves it out of the analytics.

Most streams arrive nearly in order, so the buffer keeps two stores. An event strictly newer than
every event before it is queued in arrival order (``newer`` and ``older``), which is then also
time order, at the cost of an append; any other event (out of order, or at an event time already
seen) goes to ``heap``. Release merges the two by the full (time, platform, id, arrival) key, so
events with equal times are still applied in (platform, id) order, whichever store holds them.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from typing import TypeAlias

import msgspec

from brandpulse.contract import Event

Entry: TypeAlias = tuple[float, str, str, int, Event]
"""A heap entry, (event time, platform, id, arrival number, event): entries sort in the order
events apply. The arrival number is unique, so comparisons never reach the events themselves."""
Timed: TypeAlias = tuple[float, Event]
"""(event time, event), as events are released."""


class ReorderBuffer(msgspec.Struct):
    lateness: float
    newest: float | None = None
    heap: list[Entry] = msgspec.field(default_factory=list)
    """Events that arrived out of order or at an event time already seen: a min-heap."""
    newer: list[Event] = msgspec.field(default_factory=list)
    """Events newer than all before them, as they arrived (so in order), the newest last."""
    newer_times: list[float] = msgspec.field(default_factory=list)
    """The event times of ``newer``."""
    older: list[Event] = msgspec.field(default_factory=list)
    """Earlier such events, all before those in ``newer``, the oldest last.

    ``newer`` and ``older`` are a queue in two lists: release pops the oldest off the end of
    ``older`` and, once that is empty, turns ``newer`` around into it. Each event is moved once,
    and let go of as soon as it is released. Times are kept in lists of their own rather than
    paired with their events: a tuple per held event would be one more object for the garbage
    collector to count, and to promote, since held events outlive its youngest generation.
    """
    older_times: list[float] = msgspec.field(default_factory=list)
    """The event times of ``older``."""
    sequence: int = 0
    """Arrival number of the newest event in the heap: the last tie-break among them."""

    @property
    def watermark(self) -> float | None:
        """Event time up to which all events are known: the newest seen minus the lateness."""
        return None if self.newest is None else self.newest - self.lateness

    def push(self, event: Event, when: float) -> bool:
        """Hold ``event``; False (and not held) when it is later than the allowed lateness."""
        newest = self.newest
        if newest is not None and when < newest - self.lateness:
            return False
        if newest is None or when > newest:
            self.newest = when
            self.newer.append(event)
            self.newer_times.append(when)
            return True
        self.sequence += 1
        heapq.heappush(self.heap, (when, event.platform, event.id, self.sequence, event))
        return True

    def release(self) -> list[Timed]:
        """Take the held events at or before the watermark, in the order they apply."""
        if self.newest is None:
            return []
        return self.release_until(self.newest - self.lateness)

    def release_until(self, watermark: float) -> list[Timed]:
        """Take the held events at or before ``watermark``, in the order they apply."""
        if self.heap and self.heap[0][0] <= watermark:
            return self._merge(watermark)
        return self._take_in_order(watermark)

    def admit(self, event: Event, when: float) -> Sequence[Timed] | None:
        """``push`` then ``release``, in one call: how the stream feeds events, one by one.

        None when ``event`` is late (and not held). An event newer than all before it, the
        usual case, is held and released from here; any other takes ``push`` and ``release``
        (as does every event if the lateness is negative, when a newer one can still be late).
        Most events release nothing: the oldest held one is still within the lateness.
        """
        newest = self.newest
        if newest is not None and (when <= newest or when < newest - self.lateness):
            return self.release() if self.push(event, when) else None
        self.newest = when
        self.newer.append(event)
        self.newer_times.append(when)
        watermark = when - self.lateness
        if self.heap and self.heap[0][0] <= watermark:
            return self._merge(watermark)
        if self.older_times and self.older_times[-1] > watermark:
            return ()
        return self._take_in_order(watermark)

    def held(self) -> Iterator[Timed]:
        """Every held event with its time, in no particular order, and still held: for what is
        derived from the held events and not kept with them (made again after a restore)."""
        for entry in self.heap:
            yield entry[0], entry[4]
        yield from zip(self.older_times, self.older, strict=True)
        yield from zip(self.newer_times, self.newer, strict=True)

    def drain(self) -> list[Timed]:
        """Everything held, oldest first: for the end of a finite input."""
        return self._merge(math.inf)

    def _merge(self, watermark: float) -> list[Timed]:
        """The held events up to ``watermark`` when the heap holds some: the earlier head first."""
        heap, older, older_times = self.heap, self.older, self.older_times
        released: list[Timed] = []
        while older_times or self._turn():
            when = older_times[-1]
            if when > watermark:
                break
            if heap and _before(heap[0], when, older[-1]):
                entry = heapq.heappop(heap)
                released.append((entry[0], entry[4]))
            else:
                older_times.pop()
                released.append((when, older.pop()))
        while heap and heap[0][0] <= watermark:
            entry = heapq.heappop(heap)
            released.append((entry[0], entry[4]))
        return released

    def _take_in_order(self, watermark: float) -> list[Timed]:
        """``release`` when the heap holds none of the events to release."""
        released: list[Timed] = []
        older, older_times = self.older, self.older_times
        while older_times or self._turn():
            if older_times[-1] > watermark:
                break
            released.append((older_times.pop(), older.pop()))
        return released

    def _turn(self) -> bool:
        """Move ``newer``, reversed, into the empty ``older``; False when ``newer`` is empty."""
        if not self.newer:
            return False
        self.older.extend(reversed(self.newer))
        self.older_times.extend(reversed(self.newer_times))
        self.newer.clear()
        self.newer_times.clear()
        return True


def _before(entry: Entry, when: float, event: Event) -> bool:
    """Whether the heap's ``entry`` applies before ``event``, held in order at ``when``.

    On equal (time, platform, id) the event held in order goes first: it arrived first, since an
    event is held in order only when no earlier arrival had its time.
    """
    if entry[0] != when:
        return entry[0] < when
    return (entry[1], entry[2]) < (event.platform, event.id)
