"""The worker's first step, as plain Python: validate a message's events and tally them.

No Kafka or Faust here: the Faust agent hands over message payloads and sends what comes back
as rejected to the dead-letter topic; the metrics exporter reads ``IngestStats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import msgspec

from brandpulse.contract import (
    Event,
    InvalidEvent,
    Reason,
    decode_event,
    decode_many,
    event_timestamp,
)
from brandpulse.framing import iter_lines
from brandpulse.histogram import Histogram

LAG_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
"""Seconds from event time to processing: live traffic sits low, replays and backlogs high."""


def accept_event(line: bytes, brands: frozenset[str]) -> Event:
    """Decode an event line and check that its brand is one we monitor.

    Unknown brands are refused so that a stray producer cannot grow metric label sets without
    bound; they go to the dead-letter topic like any other invalid input.
    """
    event = decode_event(line)
    if event.brand not in brands:
        raise InvalidEvent(
            Reason.UNKNOWN_BRAND, f"brand {event.brand!r} is not configured - at `$.brand`"
        )
    return event


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event line that did not pass, with its 1-based line number in the message."""

    reason: Reason
    detail: str
    line: int
    raw: bytes


def accept_lines(
    payload: bytes, brands: frozenset[str], lines: int | None = None
) -> tuple[list[Event], list[Rejection]]:
    """The events of a JSON-lines payload, and the lines refused with their 1-based numbers.

    A payload whose lines are all valid events of configured brands (nearly all of them) is
    decoded in one call; otherwise each line is decoded on its own, to say which and why.
    ``lines``: the payload's ``line_count``, when the caller has it already.
    """
    events = decode_many(payload, lines)
    if events is not None and all(event.brand in brands for event in events):
        return events, []
    accepted: list[Event] = []
    rejected: list[Rejection] = []
    for number, line in iter_lines(payload):
        try:
            accepted.append(accept_event(line, brands))
        except InvalidEvent as exc:
            rejected.append(Rejection(exc.reason, exc.detail, number, line))
    return accepted, rejected


class IngestStats(msgspec.Struct):
    """Running totals; the exporter turns them into metrics, snapshots carry them over restarts.

    Keys join labels with ``/`` (which no brand, platform or kind contains), so the totals can be
    snapshotted as they are: ``events["acme/x/mention"]``, ``newest_event_time["acme/x"]``.
    """

    events: dict[str, int] = msgspec.field(default_factory=dict)
    lag: dict[str, Histogram] = msgspec.field(default_factory=dict)
    newest_event_time: dict[str, float] = msgspec.field(default_factory=dict)
    messages: int = 0


class Ingestor:
    """Validates events against the contract and the configured brands, and counts them."""

    def __init__(self, brands: frozenset[str], stats: IngestStats | None = None) -> None:
        self.brands = brands
        self.stats = stats or IngestStats()

    def ingest(self, payload: bytes, now: float) -> tuple[list[Event], list[Rejection]]:
        """Process one message; ``now`` (wall clock) only feeds the processing-lag metric."""
        self.stats.messages += 1
        accepted, rejected = accept_lines(payload, self.brands)
        for event in accepted:
            self._tally(event, now)
        return accepted, rejected

    def _tally(self, event: Event, now: float) -> None:
        stats = self.stats
        key = f"{event.brand}/{event.platform}/{event.kind}"
        stats.events[key] = stats.events.get(key, 0) + 1
        when = event_timestamp(event)
        series = f"{event.brand}/{event.platform}"
        if when > stats.newest_event_time.get(series, float("-inf")):
            stats.newest_event_time[series] = when
        histogram = stats.lag.get(event.platform)
        if histogram is None:
            histogram = stats.lag[event.platform] = Histogram.with_bounds(LAG_BUCKETS)
        histogram.observe(max(0.0, now - when))


def merge_stats(parts: list[IngestStats]) -> IngestStats:
    """The totals of several partitions as one, for export."""
    merged = IngestStats(messages=sum(part.messages for part in parts))
    for part in parts:
        for key, count in part.events.items():
            merged.events[key] = merged.events.get(key, 0) + count
        for key, when in part.newest_event_time.items():
            merged.newest_event_time[key] = max(when, merged.newest_event_time.get(key, when))
        for platform, histogram in part.lag.items():
            total = merged.lag.get(platform)
            if total is None:
                total = merged.lag[platform] = Histogram.with_bounds(histogram.bounds)
            total.add(histogram)
    return merged
