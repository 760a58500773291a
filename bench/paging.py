"""Seconds from the event that makes the stream's spike detector fire to the page arriving.

    brandpulse stack up && python -m bench.paging [--trials 20]

Runs a worker (on its own topics) against the local stack, listens at the configured
``[alerting] webhook_url`` as the on-call receiver would, and repeats: a stretch of ordinary
synthetic traffic, a minute with a burst of negative mentions on one (brand, platform) series,
then the event that closes that minute (its time is the minute's end plus the allowed lateness,
so the watermark reaches the end and the minute is judged). Timed from handing that event to
Kafka until the webhook receives the pushed alert: Kafka, the worker, the detector, the push to
Alertmanager's v2 API and its routing (critical pages have group_wait 0 s). Every trial uses a
new series, so each page is the first of its Alertmanager group. Not measured: the event-time
floor under a real, paced burst (a minute is judged once it is over, plus the allowed lateness).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from brandpulse.config import Config, load_config
from brandpulse.contract import PLATFORMS, Author, Event, encode_event
from brandpulse.framing import BatchBuilder
from brandpulse.kafka_io import ensure_topics, make_producer
from connectors.synthetic.generator import Plan, SyntheticStream
from tests.integration.harness import Notification, eventually, scrape, total, webhook_receiver

QUICK = {
    "BRANDPULSE_SPIKES__WARMUP_SECONDS": "3600",
    "BRANDPULSE_SPIKES__LEVEL_WINDOW_SECONDS": "7200",
    "BRANDPULSE_SPIKES__COOLDOWN_SECONDS": "600",
    "BRANDPULSE_SYNTHETIC__RATE": "5",
}
GAP = timedelta(minutes=25)
BURST = 300
ANGRY = "Absolutely furious, worst service ever, never again! #fail"


def settings() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        **QUICK,
        "BRANDPULSE_KAFKA__RAW_TOPIC": f"bench-paging-{tag}.events",
        "BRANDPULSE_KAFKA__DEAD_LETTER_TOPIC": f"bench-paging-{tag}.deadletter",
        "BRANDPULSE_KAFKA__WINDOWS_TOPIC": f"bench-paging-{tag}.windows",
        "BRANDPULSE_KAFKA__ALERTS_TOPIC": f"bench-paging-{tag}.alerts",
        "BRANDPULSE_WORKER__APP_ID": f"bench-paging-{tag}",
    }


class Feed:
    """Publishes events as the connectors do, and knows how many it published."""

    def __init__(self, config: Config) -> None:
        ensure_topics(config)
        self.topic = config.kafka.raw_topic
        self.producer = make_producer(config.bootstrap, "bench-paging")
        self.sent = 0

    def send(self, events: list[Event]) -> None:
        builder = BatchBuilder()
        for event in events:
            if (batch := builder.add(event.brand, encode_event(event))) is not None:
                self.producer.send(self.topic, key=event.brand.encode(), value=batch)
        for brand, batch in builder.drain():
            self.producer.send(self.topic, key=brand.encode(), value=batch)
        self.producer.flush()
        self.sent += len(events)


def until(events: Iterator[Event], end: datetime) -> list[Event]:
    """The stream's next events before ``end`` (the first one after it is dropped)."""
    return list(itertools.takewhile(lambda e: e.time < end, events))


def angry(brand: str, platform: str, at: datetime, name: str) -> Event:
    return Event(
        v=1,
        id=name,
        platform=platform,  # type: ignore[arg-type]
        brand=brand,
        kind="mention",
        time=at,
        author=Author(id=f"{name}-author", followers=10),
        text=ANGRY,
        lang="en",
    )


def burst(brand: str, platform: str, minute: datetime, trial: int) -> list[Event]:
    step = timedelta(seconds=50 / BURST)
    return [angry(brand, platform, minute + n * step, f"bench-{trial}-{n}") for n in range(BURST)]


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[str]:
    config = load_config(env=env)
    url = f"http://127.0.0.1:{config.worker.web_port}/metrics"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "brandpulse.cli", "worker"],
            env=env,
            stdout=handle,
            stderr=handle,
        )
    try:
        if not eventually(lambda: bool(scrape(url)), bool, timeout=90):
            raise SystemExit(f"the worker did not start; see {log}")
        yield url
    finally:
        process.terminate()
        process.wait(30)


def paged(received: list[Notification], alert_id: str) -> list[Notification]:
    return [
        n
        for n in received
        for a in n.body["alerts"]
        if a["status"] == "firing" and a["annotations"].get("alert_id", "").startswith(alert_id)
    ]


def trial_seconds(
    feed: Feed, url: str, received: list[Notification], deciding: Event, alert_id: str
) -> float | None:
    """Wait for the worker to take in what was sent, then time the deciding event's page."""
    eventually(lambda: total(scrape(url), "brandpulse_events_total"), lambda n: n >= feed.sent)
    sent = time.time()
    feed.send([deciding])
    pages = eventually(lambda: paged(received, alert_id), bool, timeout=30, step=0.005)
    return pages[0].received - sent if pages else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    env = settings()
    config = load_config(env=env)
    series = list(itertools.product([b.name for b in config.brands], PLATFORMS))[: args.trials]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(hours=1) - GAP * len(series)
    events = iter(SyntheticStream(Plan.from_config(config, start)))
    lateness = timedelta(seconds=config.analytics.allowed_lateness)
    feed = Feed(config)
    seconds: list[float] = []
    log = Path(__file__).resolve().parent / "results" / "paging-worker.log"
    with webhook_receiver(config.alerting.webhook_url) as received, worker(env, log) as url:
        quiet = start + timedelta(hours=1)
        for trial, (brand, platform) in enumerate(series):
            minute = quiet + timedelta(minutes=20)
            feed.send(until(events, minute))
            feed.send(burst(brand, platform, minute, trial))
            closing = minute + timedelta(minutes=1) + lateness  # the watermark reaches its end
            deciding = msgspec.structs.replace(
                angry(brand, platform, closing, f"bench-{trial}-closing"), kind="post"
            )
            took = trial_seconds(feed, url, received, deciding, f"{brand}:{platform}:")
            print(f"trial {trial}: {brand}/{platform}: {took} s", file=sys.stderr)
            if took is not None:
                seconds.append(took)
            quiet += GAP
            until(events, quiet)
    report(seconds, len(series))


def report(seconds: list[float], trials: int) -> None:
    if not seconds:
        raise SystemExit("no burst paged: is the stack's Alertmanager sending to webhook_url?")
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(
        f"\n{len(seconds)} of {trials} bursts paged; seconds from the deciding event to the "
        f"page: p50 {statistics.median(seconds):.3f}, p99 {p99:.3f}, max {ordered[-1]:.3f}"
    )


if __name__ == "__main__":
    main()
