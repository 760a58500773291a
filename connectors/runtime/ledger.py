"""Reading back the raw topic: where it ends now, and which events landed since a given point."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Final

from kafka import TopicPartition

from brandpulse.contract import Event, InvalidEvent, decode_event
from brandpulse.errors import BrandpulseError
from brandpulse.framing import iter_lines
from brandpulse.kafka_io import groupless_consumer

READ_TIMEOUT_SECONDS: Final = 60.0


def event_key(event: Event) -> str:
    """What identifies an event across restarts: the platform's id, per brand (one article
    that mentions two brands is two events with the same platform id)."""
    return f"{event.platform}:{event.brand}:{event.id}"


class TopicLedger:
    """A consumer outside any group on one topic, for end offsets and bounded read-backs."""

    def __init__(self, bootstrap: str, topic: str, client_id: str) -> None:
        self.topic = topic
        self._context = groupless_consumer(bootstrap, client_id)
        self._consumer: Any = self._context.__enter__()

    def __enter__(self) -> TopicLedger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._context.__exit__(kind, exc, tb)

    def end_offsets(self) -> dict[int, int]:
        ends = self._consumer.end_offsets(self._partitions())
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    def keys_since(self, offsets: dict[int, int]) -> set[str]:
        """Keys of the valid events written from ``offsets`` up to the current end."""
        ends = {p: o for p, o in self.end_offsets().items() if o > offsets.get(p, 0)}
        keys: set[str] = set()
        if not ends:
            return keys
        partitions = [TopicPartition(self.topic, p) for p in ends]
        self._consumer.assign(partitions)
        for tp in partitions:
            self._consumer.seek(tp, offsets.get(tp.partition, 0))
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        while any(self._consumer.position(tp) < ends[tp.partition] for tp in partitions):
            if time.monotonic() > deadline:
                raise BrandpulseError(f"timed out reading back {self.topic} to reconcile")
            for records in self._consumer.poll(timeout_ms=500).values():
                keys.update(_keys(record.value for record in records))
        return keys

    def _partitions(self) -> list[TopicPartition]:
        partitions = self._consumer.partitions_for_topic(self.topic) or ()
        if not partitions:
            raise BrandpulseError(f"topic {self.topic} has no partitions (does it exist?)")
        return [TopicPartition(self.topic, p) for p in sorted(partitions)]


def _keys(values: Any) -> set[str]:
    keys = set()
    for value in values:
        for _, line in iter_lines(value):
            try:
                keys.add(event_key(decode_event(line)))
            except InvalidEvent:
                continue
    return keys
