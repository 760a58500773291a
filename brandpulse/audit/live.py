"""What the live worker recorded: its windows and alerts topics, read whole outside any group.

The only module of the audit that talks to Kafka. Records are keyed by id (alerts) or by
``brand/platform/window/end`` (windows), not by time, so each topic is read from its beginning
to the end offsets seen at the start, and the range is cut by event time afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from kafka import TopicPartition
from kafka.errors import KafkaError

from brandpulse.analytics.records import AlertRecord, WindowRecord
from brandpulse.audit.compare import Outputs, R, in_range, unique
from brandpulse.config import Config
from brandpulse.errors import BrandpulseError
from brandpulse.kafka_io import groupless_consumer
from brandpulse.replay_sources import POLL_MS, STALL_SECONDS

Message = tuple[bytes | None, bytes]


@dataclass(frozen=True)
class LiveRead:
    outputs: Outputs
    """The records with event time in the range, duplicates dropped."""
    described: dict[str, Any]
    """Per topic: messages read and identical repeats dropped (for the report's provenance)."""


def read_live(config: Config, start: datetime, end: datetime, brand: str | None) -> LiveRead:
    """The live window and alert records of ``[start, end)`` (of ``brand``, if given)."""
    kafka = config.kafka
    described: dict[str, Any] = {"bootstrap": config.bootstrap}
    decoded: list[list[Any]] = []
    for topic, kind in ((kafka.alerts_topic, AlertRecord), (kafka.windows_topic, WindowRecord)):
        messages = _messages(config.bootstrap, topic)
        values, repeats = unique(messages)
        described[topic] = {"messages": len(messages), "duplicates_dropped": repeats}
        decoded.append(in_range(_decode(values, kind, topic), start, end, brand))
    alerts, windows = decoded
    return LiveRead(Outputs(alerts, windows), described)


def _decode(values: list[bytes], kind: type[R], topic: str) -> list[R]:
    decoder = msgspec.json.Decoder(kind)
    try:
        return [decoder.decode(value) for value in values]
    except msgspec.DecodeError as exc:
        raise BrandpulseError(
            f"topic {topic} holds a record that is not a {kind.__name__}: {exc}"
        ) from None


def _messages(bootstrap: str, topic: str) -> list[Message]:
    """Every (key, value) of the topic up to the end offsets at the start; tombstones skipped."""
    with groupless_consumer(bootstrap, "brandpulse-audit") as consumer:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            raise BrandpulseError(f"topic {topic} does not exist at {bootstrap}: has a worker run?")
        partitions = [TopicPartition(topic, n) for n in sorted(numbers)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        messages: list[Message] = []
        heard = time.monotonic()
        while any(consumer.position(p) < ends[p] for p in partitions):
            if time.monotonic() - heard > STALL_SECONDS:
                raise BrandpulseError(f"Kafka sent nothing for {STALL_SECONDS:.0f} s on {topic}")
            try:
                batches = consumer.poll(timeout_ms=POLL_MS)
            except KafkaError as exc:
                raise BrandpulseError(f"reading {topic} from Kafka failed: {exc}") from None
            for partition, records in batches.items():
                heard = time.monotonic()
                messages += [
                    (r.key, r.value)
                    for r in records
                    if r.offset < ends[partition] and r.value is not None
                ]
        return messages
