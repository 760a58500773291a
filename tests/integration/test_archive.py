"""`brandpulse archive` against a real Kafka: exact copies, checksums that bite, crash safety."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from brandpulse.archive import CorruptSegment, iter_archive
from brandpulse.archive.manifest import Manifest, load_manifest, read_manifest
from brandpulse.archive.segments import HOUR_MS
from brandpulse.config import Config
from brandpulse.contract import Event, encode_event
from brandpulse.kafka_io import ensure_topics, make_producer
from tests.integration.harness import StackEnv, brandpulse, eventually, free_port, read_topic

BRANDS = ("acme", "globex", "kaffeehaus")
FAST = ("--max-open", "0.3")
"""Close segments often, so kills land among many segment closes and manifest writes."""
Message = tuple[int, int, int, bytes | None, bytes | None]
"""partition, offset, Kafka timestamp (ms), key, value"""


def first_hour_ms() -> int:
    """Four whole hours ago: old enough to span hours, young enough for Kafka's retention."""
    return (int(time.time() * 1000) // HOUR_MS - 4) * HOUR_MS


def payload(brand: str, when: datetime, number: int) -> tuple[bytes, int, int]:
    """A message value of 1-3 events, some with a bad line; returns it, events, bad lines."""
    events = [
        encode_event(
            Event(
                v=1,
                id=f"{number}-{i}",
                platform="x",
                brand=brand,
                kind="mention",
                time=when + timedelta(seconds=i),
                text=f"@{brand} number {number}",
            )
        )
        for i in range(1 + number % 3)
    ]
    bad = [b'{"v":1,"id":'] if number % 5 == 0 else []
    return b"\n".join(events + bad), len(events), len(bad)


class Producer:
    """Sends messages with explicit timestamps and remembers exactly what Kafka stored."""

    def __init__(self, config: Config) -> None:
        ensure_topics(config)
        self.topic = config.kafka.raw_topic
        self._producer = make_producer(config.bootstrap, "test-archive", linger_ms=0)
        self.sent: list[Message] = []
        self.events = self.bad_lines = 0

    def send(self, number: int, timestamp_ms: int) -> None:
        brand = BRANDS[number % len(BRANDS)]
        when = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
        value, events, bad = payload(brand, when, number)
        key = brand.encode()
        meta = self._producer.send(self.topic, key=key, value=value, timestamp_ms=timestamp_ms).get(
            timeout=30
        )
        self.sent.append((meta.partition, meta.offset, timestamp_ms, key, value))
        self.events += events
        self.bad_lines += bad

    def close(self) -> None:
        self._producer.close()


def produce_hours(config: Config, per_hour: int, hours: int) -> Producer:
    producer = Producer(config)
    start = first_hour_ms()
    for number in range(per_hour * hours):
        hour, index = divmod(number, per_hour)
        producer.send(number, start + hour * HOUR_MS + index * 1000)
    producer.close()
    return producer


def archived(folder: Path) -> list[Message]:
    return [(m.partition, m.offset, m.timestamp_ms, m.key, m.value) for m in iter_archive(folder)]


def archive_until_caught_up(stack: StackEnv, folder: Path) -> subprocess.CompletedProcess[str]:
    result = brandpulse(stack, "archive", "run", "--dir", str(folder), "--until-caught-up")
    assert result.returncode == 0, result.stderr
    assert "caught up" in result.stderr
    return result


def test_archive_copies_the_topic_exactly_with_counts_and_checksums(
    isolated: StackEnv, tmp_path: Path
) -> None:
    config = isolated.config
    producer = produce_hours(config, per_hour=40, hours=3)
    folder = tmp_path / "archive"
    archive_until_caught_up(isolated, folder)

    manifest = read_manifest(folder)
    segments = manifest.segments
    assert manifest.topic == config.kafka.raw_topic
    assert sum(s.messages for s in segments) == len(producer.sent)
    assert sum(s.events for s in segments) == producer.events
    assert sum(s.rejected_lines for s in segments) == producer.bad_lines
    hours = Counter((s.partition, s.min_timestamp_ms // HOUR_MS) for s in segments)
    assert hours == Counter({(p, ts // HOUR_MS) for p, _, ts, _, _ in producer.sent})

    verify = brandpulse(isolated, "archive", "verify", "--dir", str(folder))
    assert verify.returncode == 0, verify.stdout
    assert verify.stdout.strip() == (
        f"archive {folder}: OK, {len(segments)} segments, "
        f"{len({p for p, *_ in producer.sent})} partitions, {len(producer.sent)} messages, "
        f"{producer.events} events of topic {config.kafka.raw_topic}"
    )

    from_kafka = [
        (r.partition, r.offset, r.timestamp, r.key, r.value)
        for r in read_topic(config.bootstrap, config.kafka.raw_topic, len(producer.sent))
    ]
    copy = archived(folder)
    assert sorted(copy) == sorted(from_kafka) == sorted(producer.sent)
    assert [m[2] for m in copy] == sorted(m[2] for m in copy), "merged by timestamp"

    archive_until_caught_up(isolated, folder)
    assert read_manifest(folder) == manifest, "a second run with nothing new adds nothing"


def test_a_corrupt_segment_fails_verify_and_is_refused_by_the_reader(
    isolated: StackEnv, tmp_path: Path
) -> None:
    produce_hours(isolated.config, per_hour=6, hours=2)
    folder = tmp_path / "archive"
    archive_until_caught_up(isolated, folder)
    victim = read_manifest(folder).segments[-1].name
    data = bytearray((folder / victim).read_bytes())
    data[len(data) // 2] ^= 0x10
    (folder / victim).write_bytes(bytes(data))

    verify = brandpulse(isolated, "archive", "verify", "--dir", str(folder))
    assert verify.returncode == 1
    lines = verify.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{victim}: checksum mismatch")
    with pytest.raises(CorruptSegment, match=f"{victim} is corrupt"):
        archived(folder)


def test_sigkill_at_any_moment_leaves_no_gap_and_no_duplicate(
    isolated: StackEnv, tmp_path: Path
) -> None:
    config = isolated.config
    folder = tmp_path / "archive"
    producer = Producer(config)
    done = threading.Event()

    def produce() -> None:
        """Until told to stop; timestamps step 20 s and wrap after 4 h, so hours interleave."""
        start, number = first_hour_ms(), 0
        while not done.is_set():
            producer.send(number, start + (number * 20_000) % (4 * HOUR_MS))
            number += 1
            time.sleep(0.002)

    feeder = threading.Thread(target=produce)
    feeder.start()
    try:
        for _ in range(3):
            kill_after_progress(isolated, folder)
    finally:
        done.set()
        feeder.join(30)
        producer.close()
    assert messages_in(load_manifest(folder)) < len(producer.sent)

    archive_until_caught_up(isolated, folder)
    offsets = [(p, o) for p, o, *_ in archived(folder)]
    assert len(offsets) == len(set(offsets)), "no duplicate"
    assert set(offsets) == topic_offsets(config), "no gap"
    assert sorted(archived(folder)) == sorted(producer.sent)
    verify = brandpulse(isolated, "archive", "verify", "--dir", str(folder))
    assert verify.returncode == 0, verify.stdout


def kill_after_progress(stack: StackEnv, folder: Path) -> None:
    """Start `archive run`, SIGKILL it as soon as it has closed another segment."""
    before = messages_in(load_manifest(folder))
    run = subprocess.Popen(
        [sys.executable, "-m", "brandpulse.cli", "archive", "run", "--dir", str(folder), *FAST],
        env=stack.process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    grown = eventually(lambda: messages_in(load_manifest(folder)), lambda n: n > before, 30)
    run.send_signal(signal.SIGKILL)
    _, stderr = run.communicate(timeout=10)
    assert grown > before, f"nothing archived before the kill:\n{stderr.decode()}"


def test_sigterm_closes_the_open_segments_cleanly(isolated: StackEnv, tmp_path: Path) -> None:
    producer = produce_hours(isolated.config, per_hour=30, hours=1)
    folder = tmp_path / "archive"
    run = subprocess.Popen(
        [sys.executable, "-m", "brandpulse.cli", "archive", "run", "--dir", str(folder)],
        env=isolated.process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    partial = eventually(lambda: list(folder.glob("*.partial")), bool, timeout=30)
    assert partial, "the run opened no segment"
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=30)
    assert run.returncode == 0, stderr
    assert "stopped by signal" in stderr
    assert not list(folder.glob("*.partial"))
    closed = {s.name for s in read_manifest(folder).segments}
    assert {p.name.removesuffix(".partial") for p in partial} <= closed

    archive_until_caught_up(isolated, folder)
    assert sorted(archived(folder)) == sorted(producer.sent)


def messages_in(manifest: Manifest | None) -> int:
    return 0 if manifest is None else sum(s.messages for s in manifest.segments)


def topic_offsets(config: Config) -> set[tuple[int, int]]:
    """Every (partition, offset) the raw topic holds."""
    from kafka import KafkaConsumer, TopicPartition

    consumer: Any = KafkaConsumer(bootstrap_servers=config.bootstrap)
    try:
        topic = config.kafka.raw_topic
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        first = consumer.beginning_offsets(partitions)
        ends = consumer.end_offsets(partitions)
    finally:
        consumer.close()
    return {(tp.partition, o) for tp in partitions for o in range(first[tp], ends[tp])}


def test_archive_run_fails_clearly_when_kafka_is_unreachable(
    isolated: StackEnv, tmp_path: Path
) -> None:
    nowhere = StackEnv(
        isolated.env, {**isolated.extra, "BRANDPULSE_KAFKA__BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    )
    result = brandpulse(nowhere, "archive", "run", "--dir", str(tmp_path), "--until-caught-up")
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().endswith(
        f"cannot reach Kafka at {nowhere.config.bootstrap}: start the local stack with "
        "`brandpulse stack up`, or point BRANDPULSE_KAFKA__BOOTSTRAP at your brokers"
    )
    assert "Traceback" not in result.stderr
