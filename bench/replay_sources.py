"""Replay throughput from Kafka and from the archive, next to the file replay of the same events.

    brandpulse stack up && python -m bench.replay_sources [--events 1000000] [--core 1]

Writes synthetic events ending now (Kafka's time-based retention would delete messages whose
timestamps are months old) to a file and publishes them to a fresh raw topic the way the
connectors do (batches of one brand, message timestamp = the batch's first event time), archives
the topic with ``brandpulse archive``'s sink, then times on one core (this process is pinned to
``--core``; Kafka should run on the other): the file replay (the baseline), the replay of the same
range from Kafka and from the archive. The Kafka and archive outputs must be identical.
"""

from __future__ import annotations

import argparse
import filecmp
import itertools
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from brandpulse.archive.sink import run_archive
from brandpulse.config import Config, load_config
from brandpulse.contract import decode_event, encode_event
from brandpulse.framing import BatchBuilder
from brandpulse.kafka_io import ensure_topics, make_producer
from brandpulse.replay import FileSource, ReplaySource, TimeRange, replay
from brandpulse.replay_sources import archive_source, kafka_source
from brandpulse.sentiment import default_scorer
from connectors.synthetic.generator import Plan, SyntheticStream

OUTPUTS = ("windows.jsonl", "alerts.jsonl", "share_of_voice.jsonl")


def write_events(config: Config, path: Path, count: int) -> None:
    seconds = count / config.synthetic.rate
    plan = Plan.from_config(config, datetime.now(UTC) - timedelta(seconds=seconds))
    with path.open("wb") as handle:
        for event in itertools.islice(SyntheticStream(plan), count):
            handle.write(encode_event(event) + b"\n")


def publish(config: Config, path: Path) -> tuple[datetime, datetime]:
    """The file's events on the raw topic; returns the first and last event time."""
    ensure_topics(config)
    producer = make_producer(config.bootstrap, "bench-replay", linger_ms=20)
    builder = BatchBuilder()
    first: dict[str, int] = {}
    times: list[datetime] = []

    def send(brand: str, batch: bytes) -> None:
        producer.send(
            config.kafka.raw_topic, key=brand.encode(), value=batch, timestamp_ms=first.pop(brand)
        )

    with path.open("rb") as handle:
        for line in handle:
            event = decode_event(line.rstrip(b"\n"))
            times.append(event.time)
            first.setdefault(event.brand, int(event.time.timestamp() * 1000))
            if (batch := builder.add(event.brand, line.rstrip(b"\n"))) is not None:
                send(event.brand, batch)
    for brand, batch in builder.drain():
        send(brand, batch)
    producer.flush()
    producer.close()
    return min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--core", type=int, default=1, help="CPU core the replays run on")
    args = parser.parse_args()
    topic = f"bench-replay-{uuid.uuid4().hex[:8]}"
    config = load_config(env={**os.environ, "BRANDPULSE_KAFKA__RAW_TOPIC": topic})
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        path = folder / "events.jsonl"
        write_events(config, path, args.events)
        start, end = publish(config, path)
        span = TimeRange(start, end + timedelta(seconds=1), timedelta(0))
        run_archive(config, folder / "archive", until_caught_up=True, max_open_seconds=3600)
        os.sched_setaffinity(0, {args.core})
        sources: dict[str, Callable[[], ReplaySource]] = {
            "file": lambda: FileSource(path),
            "kafka": lambda: kafka_source(config, span),
            "archive": lambda: archive_source(folder / "archive", span),
        }
        # A first file replay, not timed, warms the scorer's token cache for all three alike.
        replay(config, FileSource(path), folder / "warm-up", default_scorer(), span=span)
        seconds, events = {}, {}
        for name, make in sources.items():
            started = time.perf_counter()
            summary = replay(config, make(), folder / name, default_scorer(), span=span)
            seconds[name] = time.perf_counter() - started
            events[name] = summary.events
        same = all(
            filecmp.cmp(folder / "kafka" / out, folder / "archive" / out, shallow=False)
            for out in OUTPUTS
        )
    print(f"\nreplay on one core, {datetime.now(UTC):%F}")
    rate = {name: events[name] / took for name, took in seconds.items()}
    for name in seconds:
        print(
            f"{name:24} {events[name]:>10,} events {rate[name]:>12,.0f}/s "
            f"{rate[name] / rate['file']:>6.2f}x file"
        )
    print(f"kafka and archive outputs identical: {same}")


if __name__ == "__main__":
    main()
