"""Throughput and latency of the worker against Faust and aiokafka baselines, in one run.

All consumers read the same messages from the same broker, each in its own process pinned to
one core (``taskset``), timed from its first message. Figures are reported as ratios against the
no-op Faust agent on one event per message, measured in the same run, because absolute numbers
on a shared machine are noise.

    brandpulse stack up && python -m bench.throughput [--events N] [--single N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka.admin import NewTopic

from brandpulse.config import Config, load_config
from brandpulse.contract import encode_event
from brandpulse.framing import BatchBuilder
from brandpulse.kafka_io import admin_client, make_producer
from connectors.synthetic.generator import Plan, SyntheticStream

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    name: str
    messages: int
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


def synthetic_lines(config: Config, count: int) -> list[bytes]:
    plan = Plan.from_config(config, datetime.now(UTC) - timedelta(hours=1))
    return [encode_event(e) for e in itertools.islice(SyntheticStream(plan), count)]


def batched(lines: Sequence[bytes], config: Config) -> list[tuple[bytes, bytes]]:
    builder = BatchBuilder()
    brands = sorted(config.brand_names)
    messages = []
    for number, line in enumerate(lines):
        brand = brands[number % len(brands)]  # the key only places the message; values are real
        if (batch := builder.add(brand, line)) is not None:
            messages.append((brand.encode(), batch))
    messages += [(brand.encode(), batch) for brand, batch in builder.drain()]
    return messages


def produce(config: Config, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
    with admin_client(config.bootstrap) as admin:
        admin.create_topics([NewTopic(topic, config.kafka.partitions, 1)])
    producer = make_producer(config.bootstrap, "bench", linger_ms=50, batch_size=1 << 20)
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def pinned(argv: list[str], core: int) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if shutil.which("taskset") else argv


def baseline(kind: str, config: Config, topic: str, messages: int, core: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result.json"
        argv = [
            sys.executable,
            "-m",
            "bench.consumers",
            kind,
            "--bootstrap",
            config.bootstrap,
            "--topic",
            topic,
            "--expect",
            str(messages),
            "--result",
            str(result),
        ]
        subprocess.run(pinned(argv, core), capture_output=True, timeout=900, check=True)
        return float(json.loads(result.read_text())["seconds"])


def events_counted(url: str) -> float:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return -1.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("brandpulse_events_total{")
    )


@contextmanager
def worker(config: Config, topic: str, port: int, core: int) -> Iterator[str]:
    env = {
        **os.environ,
        "BRANDPULSE_KAFKA__RAW_TOPIC": topic,
        "BRANDPULSE_KAFKA__BOOTSTRAP": config.bootstrap,
        "BRANDPULSE_WORKER__APP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        "BRANDPULSE_WORKER__WEB_PORT": str(port),
    }
    argv = pinned([sys.executable, "-m", "brandpulse.cli", "worker", "--loglevel", "warning"], core)
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        while events_counted(url) < 0:
            if process.poll() is not None:
                raise SystemExit("the worker exited; run it by hand to see why")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def worker_throughput(config: Config, topic: str, events: int, port: int, core: int) -> float:
    """Seconds the worker took from its first counted event to the last.

    /metrics is polled only every 250 ms: a scrape renders every analytics series, and polling
    faster would measure the scrapes rather than the stream.
    """
    with worker(config, topic, port, core) as url:
        started = first = 0.0
        while (seen := events_counted(url)) < events:
            if seen > 0 and not started:
                started, first = time.perf_counter(), seen
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
    return elapsed * events / (events - first)  # scale for the events counted before the clock


def latency(config: Config, topic: str, samples: int, port: int, core: int) -> list[float]:
    """Seconds from sending one event to seeing it counted on /metrics."""
    line = synthetic_lines(config, 1)[0]
    produce(config, topic, [(b"acme", line)])
    producer = make_producer(config.bootstrap, "bench-latency", linger_ms=0)
    found: list[float] = []
    with worker(config, topic, port, core) as url:
        while events_counted(url) < 1:
            time.sleep(0.05)
        for number in range(2, samples + 2):
            started = time.perf_counter()
            producer.send(topic, key=b"acme", value=line)
            producer.flush()
            while events_counted(url) < number:
                time.sleep(0.001)
            found.append(time.perf_counter() - started)
    producer.close()
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500_000, help="events in batched messages")
    parser.add_argument("--single", type=int, default=50_000, help="one-event messages")
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--core", type=int, default=1, help="CPU core the consumers run on")
    parser.add_argument("--port", type=int, default=16066, help="the bench worker's web port")
    args = parser.parse_args(argv)
    config = load_config()
    tag = uuid.uuid4().hex[:8]
    lines = synthetic_lines(config, args.events)
    many = batched(lines, config)
    one = [(b"acme", line) for line in lines[: args.single]]
    topics = {"batched": f"bench-{tag}.batched", "single": f"bench-{tag}.single"}
    print(
        f"producing {len(lines):,} events in {len(many):,} messages, and {len(one):,} "
        "one-event messages ...",
        file=sys.stderr,
    )
    produce(config, topics["batched"], many)
    produce(config, topics["single"], one)

    results: list[Result] = []

    def record(name: str, messages: int, events: int, seconds: float) -> None:
        results.append(Result(name, messages, events, seconds))
        print(f"  {name}: {events / seconds:,.0f} events/s", file=sys.stderr)

    for kind, label in (("raw", "raw aiokafka consumer"), ("noop", "no-op Faust agent")):
        record(
            f"{label}, 1 event/message",
            len(one),
            len(one),
            baseline(kind, config, topics["single"], len(one), args.core),
        )
        record(
            f"{label}, batched",
            len(many),
            len(lines),
            baseline(kind, config, topics["batched"], len(many), args.core),
        )
    record(
        "brandpulse worker, 1 event/message",
        len(one),
        len(one),
        worker_throughput(config, topics["single"], len(one), args.port, args.core),
    )
    record(
        "brandpulse worker, batched",
        len(many),
        len(lines),
        worker_throughput(config, topics["batched"], len(lines), args.port, args.core),
    )
    delays = latency(config, f"bench-{tag}.latency", args.latency_samples, args.port, args.core)
    report(results, delays, args)


def report(results: list[Result], delays: list[float], args: argparse.Namespace) -> None:
    base = results[2].events_per_second  # no-op Faust agent, one event per message
    print(
        f"\n{'consumer (one core)':44} {'messages':>9} {'events':>9} {'events/s':>10} "
        f"{'x no-op Faust':>13}"
    )
    for result in results:
        print(
            f"{result.name:44} {result.messages:>9,} {result.events:>9,} "
            f"{result.events_per_second:>10,.0f} {result.events_per_second / base:>13.1f}"
        )
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    print(
        f"\nproduce -> metric visible, {len(delays)} samples: p50 {p50 * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms (mean {statistics.mean(delays) * 1000:.1f} ms)"
    )
    RESULTS.mkdir(exist_ok=True)
    out: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": vars(args),
        "results": [asdict(r) | {"events_per_second": r.events_per_second} for r in results],
        "latency_seconds": {"p50": p50, "p99": p99, "samples": len(delays)},
    }
    path = RESULTS / f"throughput-{out['when'].replace(':', '')}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
