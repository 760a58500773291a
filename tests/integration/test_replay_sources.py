"""`brandpulse replay --from-kafka` and `--from-archive` against a real Kafka.

Synthetic events are published with Kafka timestamps equal to their event times, in batches
that never straddle a minute, so a range of whole minutes holds the same events whether it is
cut by Kafka timestamp or by event time. A replay of the topic must then match a replay of
the same events from a file, and a replay of the topic's archive must match it byte for byte.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandpulse import replay_sources
from brandpulse.config import Config
from brandpulse.contract import Event, encode_event
from brandpulse.kafka_io import ensure_topics, make_producer
from brandpulse.replay import TimeRange
from connectors.synthetic.generator import Plan, SyntheticStream
from tests.integration.harness import StackEnv, brandpulse, stack_env

OUTPUTS = ("windows.jsonl", "alerts.jsonl", "share_of_voice.jsonl", "rejected.jsonl")


def recent_minute() -> datetime:
    """An hour ago, on a whole minute: recent enough for Kafka's retention."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(hours=1)


def synthetic(config: Config, start: datetime, count: int) -> list[Event]:
    plan = Plan.from_config(config, start)
    return list(itertools.islice(SyntheticStream(plan), count))


def publish(config: Config, events: list[Event]) -> None:
    """Per brand, in stream order, batches of one minute's events stamped with the first's time."""
    ensure_topics(config)
    producer = make_producer(config.bootstrap, "test-replay")
    batches: dict[str, list[Event]] = {}

    def send(batch: list[Event]) -> None:
        value = b"\n".join(encode_event(e) for e in batch)
        stamp = int(batch[0].time.timestamp() * 1000)
        key = batch[0].brand.encode()
        producer.send(config.kafka.raw_topic, key=key, value=value, timestamp_ms=stamp)

    for event in events:
        batch = batches.setdefault(event.brand, [])
        if batch and (len(batch) >= 100 or _minute(batch[0]) != _minute(event)):
            send(batch)
            batch = batches[event.brand] = []
        batch.append(event)
    for batch in batches.values():
        send(batch)
    producer.flush()
    producer.close()


def _minute(event: Event) -> datetime:
    return event.time.replace(second=0, microsecond=0)


def replay(stack: StackEnv, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return brandpulse(stack, "replay", "--out", str(out), *args)


def span(start: datetime, end: datetime, warmup: int) -> tuple[str, ...]:
    return ("--start", start.isoformat(), "--end", end.isoformat(), "--warmup", str(warmup))


def outputs(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


def summary(folder: Path) -> dict[str, object]:
    return dict(json.loads((folder / "summary.json").read_text()))


def test_kafka_archive_and_file_replays_agree(isolated: StackEnv, tmp_path: Path) -> None:
    config = isolated.config
    start = recent_minute()
    events = synthetic(config, start, 20_000)  # about six minutes of event time
    publish(config, events)
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(encode_event(e) + b"\n" for e in events))
    middle = span(start + timedelta(minutes=3), start + timedelta(minutes=5), warmup=120)

    kafka = replay(isolated, tmp_path / "kafka", "--from-kafka", *middle)
    assert kafka.returncode == 0, kafka.stderr
    file = replay(isolated, tmp_path / "file", "--input", str(source), *middle)
    assert file.returncode == 0, file.stderr
    windows = (tmp_path / "kafka" / "windows.jsonl").read_bytes().splitlines()
    assert windows
    assert sorted(windows) == sorted(
        (tmp_path / "file" / "windows.jsonl").read_bytes().splitlines()
    )
    counts = ("events", "warmup_events", "windows", "alerts")
    kafka_summary, file_summary = summary(tmp_path / "kafka"), summary(tmp_path / "file")
    assert [kafka_summary[c] for c in counts] == [file_summary[c] for c in counts]
    assert 0 < int(str(kafka_summary["warmup_events"])) < int(str(kafka_summary["events"]))
    read_from = (start + timedelta(minutes=1)).isoformat()
    kafka_source = kafka_summary["source"]
    assert isinstance(kafka_source, dict) and kafka_source["topic"] == config.kafka.raw_topic
    assert all(r["earliest_timestamp"] >= read_from for r in kafka_source["read"])
    assert "read partition " in kafka.stderr

    archive = tmp_path / "archive"
    archived = brandpulse(isolated, "archive", "run", "--dir", str(archive), "--until-caught-up")
    assert archived.returncode == 0, archived.stderr
    from_archive = replay(
        isolated, tmp_path / "archive-replay", "--from-archive", str(archive), *middle
    )
    assert from_archive.returncode == 0, from_archive.stderr
    assert outputs(tmp_path / "archive-replay") == outputs(tmp_path / "kafka")
    archive_summary = summary(tmp_path / "archive-replay")
    assert [archive_summary[c] for c in counts] == [kafka_summary[c] for c in counts]
    archive_source = archive_summary["source"]
    assert isinstance(archive_source, dict) and archive_source["segments"]
    assert archive_source["read"] == kafka_source["read"]

    segment = archive / archive_source["segments"][0]["name"]
    data = segment.read_bytes()
    segment.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    corrupt = replay(isolated, tmp_path / "corrupt", "--from-archive", str(archive), *middle)
    assert corrupt.returncode == 1
    assert f"archive segment {segment} is corrupt" in corrupt.stderr


def test_one_consumer_reads_every_partition_whatever_it_buffers(
    isolated: StackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions read ahead wait in buffers and are paused when full: with a buffer of one
    message the replay reads the same messages, in the same merged order, as with a large one."""
    config = isolated.config
    start = recent_minute()
    publish(config, synthetic(config, start, 5_000))
    span = TimeRange(start, start + timedelta(minutes=30), timedelta(0))

    def read(buffered: int) -> tuple[list[bytes], int]:
        monkeypatch.setattr(replay_sources, "BUFFERED_MESSAGES", buffered)
        source = replay_sources.kafka_source(config, span)
        blocks = [block.data for _, block in source.blocks()]
        return blocks, sum(r["messages"] for r in source.provenance()["read"])

    blocks, messages = read(2000)
    assert len(blocks) == messages == source_messages(config)
    assert read(1) == (blocks, messages)


def source_messages(config: Config) -> int:
    """Messages on the raw topic, from its end offsets."""
    from kafka import TopicPartition

    from brandpulse.kafka_io import groupless_consumer

    with groupless_consumer(config.bootstrap, "test-count") as consumer:
        topic = config.kafka.raw_topic
        partitions = [TopicPartition(topic, n) for n in consumer.partitions_for_topic(topic)]
        return sum(consumer.end_offsets(partitions).values())


def test_bad_ranges_are_refused_or_reported(isolated: StackEnv, tmp_path: Path) -> None:
    config = isolated.config
    start = recent_minute()
    events = synthetic(config, start, 2_000)
    publish(config, events)
    last = max(e.time for e in events)

    backwards = replay(isolated, tmp_path / "o", "--from-kafka", *span(start, start, 0))
    assert backwards.returncode == 2
    assert "is not after --start" in backwards.stderr

    before = span(start - timedelta(hours=2), start - timedelta(hours=1), 0)
    empty = replay(isolated, tmp_path / "empty", "--from-kafka", *before)
    assert empty.returncode == 0, empty.stderr
    assert "no events between" in empty.stderr
    assert summary(tmp_path / "empty")["events"] == 0
    assert (tmp_path / "empty" / "windows.jsonl").read_bytes() == b""

    after = span(last + timedelta(hours=1), last + timedelta(hours=2), 0)
    beyond = replay(isolated, tmp_path / "beyond", "--from-kafka", *after)
    assert beyond.returncode == 1
    topic = config.kafka.raw_topic
    assert f"topic {topic} ends before --start" in beyond.stderr
    assert "its last message is at " in beyond.stderr
    archive = tmp_path / "archive"
    archived = brandpulse(isolated, "archive", "run", "--dir", str(archive), "--until-caught-up")
    assert archived.returncode == 0, archived.stderr
    beyond = replay(isolated, tmp_path / "beyond", "--from-archive", str(archive), *after)
    assert beyond.returncode == 1
    assert f"the archive in {archive} ends before --start" in beyond.stderr

    unknown = replay(
        isolated, tmp_path / "o", "--from-kafka", *span(start, last, 0), "--brand", "x"
    )
    assert unknown.returncode == 2 and "--brand 'x' is not configured" in unknown.stderr


def test_unreachable_kafka_exits_3(tmp_path: Path) -> None:
    nowhere = stack_env(tmp_path)  # ports nothing listens on
    start = recent_minute()
    result = replay(
        nowhere, tmp_path / "o", "--from-kafka", *span(start, start + timedelta(hours=1), 0)
    )
    assert result.returncode == 3, result.stderr
    assert "cannot reach Kafka at 127.0.0.1:" in result.stderr
