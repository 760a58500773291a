"""First-response time: how long the brand's care team takes to answer people.

An inbound mention, comment or reply from someone other than the brand that asks for an answer
(a question or a complaint; the caller decides) starts a clock; the brand's first reply in that
thread stops the clocks of every item in it that was waiting. Praise nobody answers is not a
failure of the care team, so it starts no clock. Items
waiting longer than the SLA are breaches (each counted once); items never answered are let go
after ``max_open_seconds``, so memory stays bounded.
"""

from __future__ import annotations

import heapq
import math
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


class ResponseTracker(msgspec.Struct):
    sla_seconds: float
    max_open_seconds: float
    items: dict[str, OpenItem] = msgspec.field(default_factory=dict)
    threads: dict[str, list[str]] = msgspec.field(default_factory=dict)
    due: list[tuple[float, str]] = msgspec.field(default_factory=list)
    """(time the SLA runs out, item id): a min-heap, entries of answered items left to lapse."""
    expiry: list[tuple[float, str]] = msgspec.field(default_factory=list)
    breached_open: dict[str, int] = msgspec.field(default_factory=dict)
    """Per platform: items past the SLA and still unanswered."""

    def observe(
        self, event: Event, when: float, from_brand: bool, needs_answer: bool
    ) -> list[Answered]:
        """Open a clock for an inbound item that needs an answer, or stop clocks for an answer."""
        if from_brand:
            return self._answer(event, when) if event.kind in ANSWER_KINDS else []
        if needs_answer and event.kind in INBOUND_KINDS and event.id not in self.items:
            self._open(event, when)
        return []

    def _open(self, event: Event, when: float) -> None:
        thread = event.thread_id or event.id
        reach = (event.author.followers or 0) if event.author else 0
        self.items[event.id] = OpenItem(event.id, event.platform, thread, when, event.text, reach)
        self.threads.setdefault(thread, []).append(event.id)
        heapq.heappush(self.due, (when + self.sla_seconds, event.id))
        heapq.heappush(self.expiry, (when + self.max_open_seconds, event.id))

    def _answer(self, event: Event, when: float) -> list[Answered]:
        parent = self.items.get(event.parent_id or "")
        thread = event.thread_id or (parent.thread if parent else event.parent_id)
        waiting = self.threads.get(thread or "", [])
        if parent is not None and parent.id not in waiting:
            waiting = [*waiting, parent.id]
        answered = [self.items[i] for i in waiting if self.items[i].since <= when]
        for item in answered:
            self._close(item)
        return [Answered(item, when - item.since) for item in answered]

    def next_due(self) -> float:
        """The earliest event time at which ``overdue`` has something to do."""
        return min(
            self.due[0][0] if self.due else math.inf, self.expiry[0][0] if self.expiry else math.inf
        )

    def overdue(self, watermark: float) -> tuple[list[OpenItem], list[OpenItem]]:
        """Items whose SLA ran out by ``watermark`` (each reported once), and expired items."""
        breached: list[OpenItem] = []
        expired: list[OpenItem] = []
        while self.due and self.due[0][0] <= watermark:
            _, item_id = heapq.heappop(self.due)
            item = self.items.get(item_id)
            if item is not None and not item.breached:
                item.breached = True
                self.breached_open[item.platform] = self.breached_open.get(item.platform, 0) + 1
                breached.append(item)
        while self.expiry and self.expiry[0][0] <= watermark:
            item = self.items.get(heapq.heappop(self.expiry)[1])
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
        siblings.remove(item.id)
        if not siblings:
            del self.threads[item.thread]
