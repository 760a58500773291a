"""First-response time: how long the brand's care team takes to answer people.

An inbound mention, comment or reply from someone other than the brand that asks for an answer
(a question or a complaint; the caller decides) starts a clock; the brand's first reply in that
thread stops the clocks of every item in it that was waiting. Praise nobody answers is not a
failure of the care team, so it starts no clock. Items
waiting longer than the SLA are breaches (each counted once); items never answered are let go
after ``max_open_seconds``, so memory stays bounded.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Container
from typing import Final

import msgspec

from brandpulse.contract import Event

INBOUND_KINDS: Final = frozenset({"mention", "comment", "reply"})
ANSWER_KINDS: Final = frozenset({"reply", "comment"})


class OpenItem(msgspec.Struct, array_like=True):
    id: str
    platform: str
    thread: str
    since: float
    text: str | None
    reach: int
    breached: bool = False


class Answered(msgspec.Struct, array_like=True):
    item: OpenItem
    seconds: float


class Deadlines(msgspec.Struct, array_like=True):
    """(time, item id) deadlines, taken earliest first (ties by id, like a heap of the pairs).

    Items are opened in event-time order, so a new deadline nearly always sorts last: keeping
    the lists sorted then costs an append (an insert for the rare exception), and taking the
    due ones is a bisection, where a heap would sift through one level per doubling of its
    size for each. Times and ids are kept in two lists rather than as pairs: a tuple per item
    would be one more object for the garbage collector to count. Taken deadlines stay before
    ``start`` until they are half the lists.
    """

    times: list[float] = msgspec.field(default_factory=list)
    ids: list[str] = msgspec.field(default_factory=list)
    start: int = 0

    def add(self, at: float, item_id: str) -> None:
        times, ids = self.times, self.ids
        if times and (at < times[-1] or (at == times[-1] and item_id < ids[-1])):
            index = bisect_left(times, at, self.start)
            while index < len(times) and times[index] == at and ids[index] <= item_id:
                index += 1
            times.insert(index, at)
            ids.insert(index, item_id)
        else:
            times.append(at)
            ids.append(item_id)

    def first(self, pending: Container[str]) -> float:
        """The earliest deadline of an item in ``pending``; infinity when there is none.

        Deadlines of other items (answered ones: most) are taken on the way, as ``take`` would
        take and their owner ignore them; left in place, each would be a wake-up for nothing.
        """
        start, ids = self.start, self.ids
        while start < len(ids) and ids[start] not in pending:
            start += 1
        self._drop_to(start)
        return self.times[self.start] if self.start < len(self.times) else math.inf

    def take(self, until: float) -> list[str]:
        """Take the deadlines up to ``until``; their item ids, earliest first."""
        end = bisect_right(self.times, until, self.start)
        taken = self.ids[self.start : end]
        self._drop_to(end)
        return taken

    def _drop_to(self, end: int) -> None:
        """Mark the deadlines before ``end`` taken; free them once they are half the lists."""
        if end * 2 >= len(self.times):
            del self.times[:end]
            del self.ids[:end]
            end = 0
        self.start = end


class ResponseTracker(msgspec.Struct):
    sla_seconds: float
    max_open_seconds: float
    items: dict[str, OpenItem] = msgspec.field(default_factory=dict)
    threads: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    """Thread -> ids of its open items, oldest first. Tuples rather than lists: a tuple of
    strings is soon left alone by the garbage collector, and threads are many and short-lived."""
    due: Deadlines = msgspec.field(default_factory=Deadlines)
    """When the SLA of each item runs out; those of answered items are left to lapse."""
    expiry: Deadlines = msgspec.field(default_factory=Deadlines)
    breached_open: dict[str, int] = msgspec.field(default_factory=dict)
    """Per platform: items past the SLA and still unanswered."""

    def observe(
        self, event: Event, when: float, from_brand: bool, needs_answer: bool
    ) -> list[Answered]:
        """Open a clock for an inbound item that needs an answer, or stop clocks for an answer."""
        if from_brand:
            return self.answer(event, when) if event.kind in ANSWER_KINDS else []
        if needs_answer and event.kind in INBOUND_KINDS:
            self.ask(event, when)
        return []

    def ask(self, event: Event, when: float) -> float | None:
        """Start the clock of an inbound item that needs an answer, unless it already runs.

        Returns the first time the new clock needs a look (``next_due`` can only have come down
        to it), or None when the item was already waiting.
        """
        item_id, items = event.id, self.items
        if item_id in items:
            return None
        thread = event.thread_id or item_id
        author = event.author
        reach = (author.followers or 0) if author else 0
        items[item_id] = OpenItem(item_id, event.platform, thread, when, event.text, reach)
        self.threads[thread] = (*self.threads.get(thread, ()), item_id)
        due, expiry = when + self.sla_seconds, when + self.max_open_seconds
        self.due.add(due, item_id)
        self.expiry.add(expiry, item_id)
        return min(due, expiry)

    def answer(self, event: Event, when: float) -> list[Answered]:
        """Stop the clocks waiting in the thread of the brand's reply ``event``, and its parent's.

        Most brand replies find nothing waiting; they cost two dictionary lookups.
        """
        items = self.items
        parent = items.get(event.parent_id or "")
        thread = event.thread_id or (parent.thread if parent else event.parent_id)
        waiting = self.threads.get(thread or "", ())
        if parent is not None and parent.id not in waiting:
            waiting = (*waiting, parent.id)
        answered: list[Answered] = []
        for item_id in waiting:
            item = items[item_id]
            if item.since <= when:
                self._close(item)
                answered.append(Answered(item, when - item.since))
        return answered

    def next_due(self) -> float:
        """The earliest event time at which ``overdue`` has something to do."""
        return min(self.due.first(self.items), self.expiry.first(self.items))

    def overdue(self, watermark: float) -> tuple[list[OpenItem], list[OpenItem]]:
        """Items whose SLA ran out by ``watermark`` (each reported once), and expired items."""
        breached: list[OpenItem] = []
        expired: list[OpenItem] = []
        for item_id in self.due.take(watermark):
            item = self.items.get(item_id)
            if item is not None and not item.breached:
                item.breached = True
                self.breached_open[item.platform] = self.breached_open.get(item.platform, 0) + 1
                breached.append(item)
        for item_id in self.expiry.take(watermark):
            item = self.items.get(item_id)
            if item is not None:
                self._close(item)
                expired.append(item)
        return breached, expired

    def waiting(self) -> dict[str, tuple[int, float, int]]:
        """Per platform: open items, the start of the oldest, and how many are past the SLA."""
        summary: dict[str, tuple[int, float, int]] = {}
        for item in self.items.values():
            count, oldest, late = summary.get(item.platform, (0, item.since, 0))
            summary[item.platform] = (count + 1, min(oldest, item.since), late + item.breached)
        return summary

    def oldest_breached(self, platform: str, count: int) -> list[OpenItem]:
        late = [i for i in self.items.values() if i.platform == platform and i.breached]
        return sorted(late, key=lambda i: (i.since, i.id))[:count]

    def _close(self, item: OpenItem) -> None:
        del self.items[item.id]
        if item.breached:
            self.breached_open[item.platform] -= 1
        siblings = self.threads[item.thread]
        if len(siblings) == 1:
            del self.threads[item.thread]
        else:
            index = siblings.index(item.id)
            self.threads[item.thread] = siblings[:index] + siblings[index + 1 :]
