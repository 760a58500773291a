"""``brandpulse archive run``: the Kafka shell around ``Archiver``.

The raw topic is read with manual partition assignment and no consumer group, and nothing is
committed to Kafka: the manifest alone says where each partition resumes, so the archive and
the resume point can never disagree. Records are read as the worker reads them (uncommitted
isolation), key and value as raw bytes.
"""

from __future__ import annotations

import sys
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Final

from kafka import TopicPartition
from kafka.errors import KafkaError, OffsetOutOfRangeError

from brandpulse.archive.archiver import Archiver
from brandpulse.archive.progress import Progress
from brandpulse.archive.segments import ArchivedMessage
from brandpulse.config import Config
from brandpulse.errors import BrandpulseError
from brandpulse.kafka_io import groupless_consumer
from brandpulse.stopping import stop_on_signals

POLL_MS: Final = 500
"""How long a poll waits for messages; also how soon a stop signal or an expiry is acted on."""


def run_archive(
    config: Config, folder: Path, *, until_caught_up: bool, max_open_seconds: float
) -> None:
    """Archive the raw topic into ``folder`` until a signal, or until caught up if asked.

    ``until_caught_up`` stops at the end offsets seen at start (for cron jobs and tests). The
    folder is checked (and locked) before Kafka is contacted, so local mistakes show at once.
    """
    topic = config.kafka.raw_topic
    progress = Progress(f"archive {topic}")
    stop = threading.Event()
    with (
        stop_on_signals(stop),
        Archiver(folder, topic, config.brand_names, max_open_seconds=max_open_seconds) as archiver,
        _consumer(config.bootstrap) as consumer,
    ):
        if archiver.removed:
            _say(f"removed {len(archiver.removed)} unfinished segment files from {folder}")
        ends = _seek(consumer, archiver, _partitions(consumer, topic, config.bootstrap))
        _copy(consumer, archiver, progress, stop, ends if until_caught_up else None)
    why = "stopped by signal" if stop.is_set() else "caught up"
    progress.finish(archiver.segments_closed, f"{why}; archive in {folder}")


def _consumer(bootstrap: str) -> AbstractContextManager[Any]:
    return groupless_consumer(bootstrap, "brandpulse-archive")


def _partitions(consumer: Any, topic: str, bootstrap: str) -> list[Any]:
    numbers = consumer.partitions_for_topic(topic)
    if not numbers:
        raise BrandpulseError(f"topic {topic} does not exist at {bootstrap}")
    partitions = [TopicPartition(topic, number) for number in sorted(numbers)]
    consumer.assign(partitions)
    return partitions


def _seek(consumer: Any, archiver: Archiver, partitions: list[Any]) -> dict[Any, int]:
    """Position each partition after its last archived message; return the end offsets."""
    earliest = consumer.beginning_offsets(partitions)
    ends: dict[Any, int] = consumer.end_offsets(partitions)
    for partition in partitions:
        resume = archiver.resume_from(partition.partition, earliest[partition], ends[partition])
        if resume.lost:
            _say(
                f"partition {partition.partition}: {resume.lost:,} messages before offset "
                f"{resume.offset} were deleted from Kafka before they were archived; "
                "`brandpulse archive verify` reports the gap"
            )
        consumer.seek(partition, resume.offset)
    return ends


def _copy(
    consumer: Any,
    archiver: Archiver,
    progress: Progress,
    stop: threading.Event,
    ends: dict[Any, int] | None,
) -> None:
    while not stop.is_set():
        if ends is not None and all(consumer.position(p) >= end for p, end in ends.items()):
            return
        try:
            batches = consumer.poll(timeout_ms=POLL_MS)
        except OffsetOutOfRangeError as exc:
            raise BrandpulseError(
                f"Kafka deleted messages before they were archived ({exc}); restart to archive "
                "from the oldest offset Kafka holds, `brandpulse archive verify` names the gap"
            ) from None
        except KafkaError as exc:
            raise BrandpulseError(f"reading from Kafka failed: {exc}") from None
        count = 0
        for records in batches.values():
            for record in records:
                archiver.add(
                    ArchivedMessage(
                        record.partition, record.offset, record.timestamp, record.key, record.value
                    )
                )
            count += len(records)
        archiver.close_expired()
        progress.count(count, archiver.segments_closed)


def _say(line: str) -> None:
    print(f"archive: {line}", file=sys.stderr, flush=True)
