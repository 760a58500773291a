"""Replay sources beyond files: a range of the raw Kafka topic, and the raw-topic archive.

Both yield raw-topic messages (``ArchivedMessage``) and merge partitions the same way: by Kafka
timestamp, the lower partition first on a tie (see ``iter_archive``), so a Kafka replay and a
replay of its archive apply the events in the same order and write the same bytes. Kafka is
imported here, not in ``brandpulse.replay``: the analytics core stays free of it, and the CLI
imports this module only for ``--from-kafka`` and ``--from-archive``.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from kafka import TopicPartition
from kafka.errors import KafkaError

from brandpulse.archive import ArchivedMessage, iter_archive
from brandpulse.archive.manifest import read_manifest
from brandpulse.config import Config
from brandpulse.contract import line_count
from brandpulse.errors import BrandpulseError
from brandpulse.kafka_io import groupless_consumer
from brandpulse.replay import TimeRange
from connectors.jsonl import Block, Line

POLL_MS: Final = 500
BUFFERED_MESSAGES: Final = 2000
"""Messages read ahead per partition before it is paused (a message holds up to 500 events)."""
STALL_SECONDS: Final = 30.0
"""Give up when Kafka returns nothing this long while a partition's range is not yet read."""


@dataclass
class PartitionReach:
    """What was read from one partition: where it started, the earliest timestamp, how many."""

    partition: int
    first_offset: int
    earliest_ms: int
    messages: int = 0

    def described(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "first_offset": self.first_offset,
            "earliest_timestamp": _iso(self.earliest_ms),
            "messages": self.messages,
        }


class MessageSource:
    """Raw-topic messages as payload blocks, lines numbered on across messages."""

    def __init__(
        self, input: str, total: int, messages: Iterable[ArchivedMessage], described: dict[str, Any]
    ) -> None:
        self.input = input
        self.label = f"replay {input}"
        self.total = total
        self.described = described
        self._messages = messages
        self.reached: dict[int, PartitionReach] = {}

    def blocks(self) -> Generator[tuple[int, Block | Line]]:
        line = 1
        for read, message in enumerate(self._messages, 1):
            self._count(message)
            if message.value:
                lines = line_count(message.value)
                yield read, Block(line, message.value, lines)
                line += lines

    def _count(self, message: ArchivedMessage) -> None:
        reach = self.reached.setdefault(
            message.partition,
            PartitionReach(message.partition, message.offset, message.timestamp_ms),
        )
        reach.earliest_ms = min(reach.earliest_ms, message.timestamp_ms)
        reach.messages += 1

    def provenance(self) -> dict[str, Any]:
        read = [self.reached[p].described() for p in sorted(self.reached)]
        return {**self.described, "read": read}

    def reach(self) -> str:
        parts = [
            f"partition {r.partition} from offset {r.first_offset} ({_iso(r.earliest_ms)})"
            for _, r in sorted(self.reached.items())
        ]
        return "; read " + ", ".join(parts) if parts else "; read no messages"


def _iso(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat()


def archive_source(folder: Path, span: TimeRange) -> MessageSource:
    """The archived messages with a Kafka timestamp in the span (warm-up included)."""
    manifest = read_manifest(folder)
    if not manifest.segments:
        raise BrandpulseError(f"the archive in {folder} is empty")
    start_ms, end_ms = span.read_ms
    _check_reaches(
        f"the archive in {folder}", max(s.max_timestamp_ms for s in manifest.segments), span
    )
    used = [
        s
        for s in manifest.segments
        if s.max_timestamp_ms >= start_ms and s.min_timestamp_ms < end_ms
    ]
    described = {
        "archive": str(folder),
        "topic": manifest.topic,
        "segments": [
            {
                "name": s.name,
                "partition": s.partition,
                "first_offset": s.first_offset,
                "last_offset": s.last_offset,
                "sha256": s.sha256,
            }
            for s in used
        ],
    }
    messages = iter_archive(folder, start_ms=start_ms, end_ms=end_ms)
    return MessageSource(str(folder), sum(s.messages for s in used), messages, described)


def _check_reaches(what: str, last_ms: int, span: TimeRange) -> None:
    """A range that starts after the last message is a mistake, not an empty result."""
    if last_ms < span.start.timestamp() * 1000:
        raise BrandpulseError(
            f"{what} ends before --start {span.start.isoformat()}: its last message is at "
            f"{_iso(last_ms)}"
        )


@dataclass(frozen=True)
class OffsetRange:
    partition: int
    start: int
    stop: int
    """Exclusive: the first offset at or after the range's end, or the end of the partition."""


def kafka_source(config: Config, span: TimeRange) -> MessageSource:
    """The raw topic's messages from the warm-up start to the end of the span, by offsets.

    The offsets are looked up with ``offsets_for_times``; reading uses ``group_id=None`` and
    manual assignment, so nothing is committed and the live worker's group is never touched.
    """
    topic = config.kafka.raw_topic
    with _consumer(config.bootstrap) as consumer:
        ranges, last_ms = _offset_ranges(consumer, config, span)
    if last_ms < 0:
        raise BrandpulseError(f"topic {topic} at {config.bootstrap} holds no messages")
    _check_reaches(f"topic {topic}", last_ms, span)
    described = {
        "topic": topic,
        "bootstrap": config.bootstrap,
        "offsets": [vars(r) for r in ranges],
    }
    total = sum(r.stop - r.start for r in ranges)
    return MessageSource(topic, total, _merged(config.bootstrap, topic, ranges), described)


def _offset_ranges(consumer: Any, config: Config, span: TimeRange) -> tuple[list[OffsetRange], int]:
    """Per partition, the offsets to read; and the topic's last Kafka timestamp (-1: empty)."""
    topic = config.kafka.raw_topic
    numbers = consumer.partitions_for_topic(topic)
    if not numbers:
        raise BrandpulseError(f"topic {topic} does not exist at {config.bootstrap}")
    partitions = [TopicPartition(topic, n) for n in sorted(numbers)]
    start_ms, end_ms = span.read_ms
    ends = consumer.end_offsets(partitions)
    starts = consumer.offsets_for_times(dict.fromkeys(partitions, start_ms))
    stops = consumer.offsets_for_times(dict.fromkeys(partitions, end_ms))
    ranges = [
        OffsetRange(
            p.partition,
            starts[p].offset if starts[p] else ends[p],
            stops[p].offset if stops[p] else ends[p],
        )
        for p in partitions
    ]
    return ranges, _last_timestamp(consumer, partitions, ends)


def _last_timestamp(consumer: Any, partitions: list[Any], ends: dict[Any, int]) -> int:
    """The newest Kafka timestamp among the partitions' last messages (-1 if all are empty)."""
    beginnings = consumer.beginning_offsets(partitions)
    last = -1
    for partition in partitions:
        if ends[partition] > beginnings[partition]:
            tail = _read(consumer, partition, ends[partition] - 1, ends[partition])
            last = max([last, *(message.timestamp_ms for message in tail)])
    return last


def _merged(bootstrap: str, topic: str, ranges: list[OffsetRange]) -> Iterator[ArchivedMessage]:
    """The ranges' messages merged as ``iter_archive`` merges them, through one consumer."""
    with _consumer(bootstrap) as consumer:
        reader = _SharedReader(consumer, topic, ranges)
        streams = [reader.messages(partition) for partition in reader.partitions]
        yield from heapq.merge(*streams, key=lambda message: message.timestamp_ms)


class _SharedReader:
    """Every partition of a replay through one consumer (and one network thread, which on a
    single core would otherwise take turns with the replay once per partition).

    A poll brings records of whichever partitions Kafka answers for; the merge asks for one
    partition at a time, so the others' records wait in their buffers, and a partition with
    ``BUFFERED_MESSAGES`` waiting (or read to its stop) is paused, which bounds the memory.
    """

    def __init__(self, consumer: Any, topic: str, ranges: list[OffsetRange]) -> None:
        self._consumer = consumer
        self._stops = {
            TopicPartition(topic, r.partition): r.stop for r in ranges if r.start < r.stop
        }
        self._buffers: dict[Any, deque[ArchivedMessage]] = {p: deque() for p in self._stops}
        consumer.assign(list(self._stops))
        for r in ranges:
            if r.start < r.stop:
                consumer.seek(TopicPartition(topic, r.partition), r.start)

    @property
    def partitions(self) -> list[Any]:
        return list(self._stops)

    def messages(self, partition: Any) -> Iterator[ArchivedMessage]:
        """The partition's messages of the range, in offset order."""
        buffer = self._buffers[partition]
        heard = time.monotonic()
        while True:
            if buffer:
                yield buffer.popleft()
                continue
            if self._consumer.position(partition) >= self._stops[partition]:
                return
            if self._poll(partition):
                heard = time.monotonic()
            elif time.monotonic() - heard > STALL_SECONDS:
                raise BrandpulseError(
                    f"Kafka sent nothing for {STALL_SECONDS:.0f} s while reading partition "
                    f"{partition.partition} at offset {self._consumer.position(partition)} "
                    f"(until {self._stops[partition]})"
                )

    def _poll(self, wanted: Any) -> bool:
        """Fetch once; whether records of ``wanted`` came."""
        self._consumer.resume(wanted)
        try:
            batches = self._consumer.poll(timeout_ms=POLL_MS)
        except KafkaError as exc:
            raise BrandpulseError(f"reading from Kafka failed: {exc}") from None
        for partition, records in batches.items():
            stop, buffer = self._stops[partition], self._buffers[partition]
            buffer.extend(
                ArchivedMessage(r.partition, r.offset, r.timestamp, r.key, r.value)
                for r in records
                if r.offset < stop
            )
            full = len(buffer) >= BUFFERED_MESSAGES
            if full or self._consumer.position(partition) >= stop:
                self._consumer.pause(partition)
        return bool(self._buffers[wanted])


def _read(consumer: Any, partition: Any, start: int, stop: int) -> Iterator[ArchivedMessage]:
    """Offsets ``[start, stop)`` of one partition, in offset order."""
    consumer.assign([partition])
    consumer.seek(partition, start)
    heard = time.monotonic()
    while consumer.position(partition) < stop:
        try:
            batches = consumer.poll(timeout_ms=POLL_MS)
        except KafkaError as exc:
            raise BrandpulseError(f"reading from Kafka failed: {exc}") from None
        records = batches.get(partition, [])
        if records:
            heard = time.monotonic()
        elif time.monotonic() - heard > STALL_SECONDS:
            raise BrandpulseError(
                f"Kafka sent nothing for {STALL_SECONDS:.0f} s while reading partition "
                f"{partition.partition} at offset {consumer.position(partition)} (until {stop})"
            )
        for record in records:
            if record.offset < stop:
                yield ArchivedMessage(
                    record.partition, record.offset, record.timestamp, record.key, record.value
                )


def _consumer(bootstrap: str) -> AbstractContextManager[Any]:
    return groupless_consumer(bootstrap, "brandpulse-replay")
