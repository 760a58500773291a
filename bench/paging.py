"""Seconds from the event that makes the stream's spike detector fire to the page arriving.

    brandpulse stack up && python -m bench.paging [--trials 20]

Runs a worker (on its own topics) against the local stack, listens at the configured
``[alerting] webhook_url`` as the on-call receiver would, and repeats: a stretch of ordinary
synthetic traffic, a minute with a burst of negative mentions on one (brand, platform) series,
then the event that closes that minute (its time is the minute's end plus the allowed lateness,
so the watermark reaches the end and the minute is judged). Timed from handing that event to
Kafka until the webhook receives the pushed alert: Kafka, the worker, the detector, the push to
Alertmanager's v2 API and its routing (critical pages have group_wait 0 s). Every trial uses a
new series, so each page is the first of its Alertmanager group.

    brandpulse stack up && python -m bench.paging --paced

measures what that leaves out, the event-time floor: a minute is judged once it is over plus
``analytics.allowed_lateness``, and an early warning once the minute before it is. Event times
are wall-clock times here: after an hour of history, synthetic traffic and bursts of negative
mentions are published as they happen, the bursts starting 0, 15, 30 and 45 s into a minute on
four series at once. Two workers read the same topic, one with early warnings and one without
(``alerting.early_warnings``), each pushing to its own recorder of Alertmanager's v2 API, so
both are timed on the same events: seconds from a burst's first mention to the first push of
its alert. Alertmanager's own hop to on-call is the figure of the default mode.
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
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import msgspec

from brandpulse.config import Config, load_config
from brandpulse.contract import PLATFORMS, Author, Event, encode_event
from brandpulse.framing import BatchBuilder
from brandpulse.kafka_io import ensure_topics, make_producer
from connectors.synthetic.generator import Plan, SyntheticStream
from tests.integration.harness import (
    Notification,
    eventually,
    free_port,
    scrape,
    total,
    webhook_receiver,
)

QUICK = {
    "BRANDPULSE_SPIKES__WARMUP_SECONDS": "3600",
    "BRANDPULSE_SPIKES__LEVEL_WINDOW_SECONDS": "7200",
    "BRANDPULSE_SPIKES__COOLDOWN_SECONDS": "600",
    "BRANDPULSE_SYNTHETIC__RATE": "5",
}
GAP = timedelta(minutes=25)
BURST = 300
ANGRY = "Absolutely furious, worst service ever, never again! #fail"
OFFSETS = (0, 15, 30, 45)
"""Seconds into a minute at which the paced bursts start, one series each."""
SOCIAL = ("x", "mastodon", "bluesky", "reddit")
TICK = 0.05
"""Seconds between publishing rounds in the paced mode."""


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


def consumed(url: str, sent: int) -> None:
    """Wait until the worker at ``url`` has taken in ``sent`` events."""
    eventually(lambda: total(scrape(url), "brandpulse_events_total"), lambda n: n >= sent)


def trial_seconds(
    feed: Feed, url: str, received: list[Notification], deciding: Event, alert_id: str
) -> float | None:
    """Wait for the worker to take in what was sent, then time the deciding event's page."""
    consumed(url, feed.sent)
    sent = time.time()
    feed.send([deciding])
    pages = eventually(lambda: paged(received, alert_id), bool, timeout=30, step=0.005)
    return pages[0].received - sent if pages else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument(
        "--paced",
        action="store_true",
        help="bursts in real time: seconds from a burst's start to the push, with and without "
        "early warnings",
    )
    args = parser.parse_args()
    if args.paced:
        paced()
    else:
        instant(args.trials)


def instant(trials: int) -> None:
    env = settings()
    config = load_config(env=env)
    series = list(itertools.product([b.name for b in config.brands], PLATFORMS))[:trials]
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


class Paced:
    """Publishes the synthetic stream and scheduled bursts as their event times come to pass."""

    def __init__(self, feed: Feed, events: Iterator[Event]) -> None:
        self.feed = feed
        self.events = events
        self.pending: list[Event] = []
        """Bursts' mentions not yet due, oldest last."""
        self.next = next(events)

    def schedule(self, burst_events: list[Event]) -> None:
        self.pending = sorted([*self.pending, *burst_events], key=lambda e: e.time, reverse=True)

    def publish_due(self) -> None:
        now = datetime.now(UTC)
        due: list[Event] = []
        while self.next.time <= now:
            due.append(self.next)
            self.next = next(self.events)
        while self.pending and self.pending[-1].time <= now:
            due.append(self.pending.pop())
        if due:
            self.feed.send(due)


def paced() -> None:
    """Both workers on the same events, bursts at ``OFFSETS`` into one minute."""
    env = settings()
    config = load_config(env=env)
    brands = [b.name for b in config.brands]
    series = [(brands[n % len(brands)], SOCIAL[n % len(SOCIAL)]) for n in range(len(OFFSETS))]
    now = datetime.now(UTC)
    stream = Paced(Feed(config), iter(SyntheticStream(Plan.from_config(config, now - GAP * 3))))
    results = Path(__file__).resolve().parent / "results"
    with ExitStack() as stack:
        pushed: dict[bool, list[Notification]] = {}
        urls: list[str] = []
        for early in (True, False):
            port = free_port()
            pushed[early] = stack.enter_context(webhook_receiver(f"http://127.0.0.1:{port}/"))
            worker_env = {
                **env,
                "BRANDPULSE_WORKER__APP_ID": f"{env['BRANDPULSE_WORKER__APP_ID']}-{early}",
                "BRANDPULSE_WORKER__WEB_PORT": str(free_port()),
                "BRANDPULSE_ALERTING__ALERTMANAGER_URL": f"http://127.0.0.1:{port}",
                "BRANDPULSE_ALERTING__EARLY_WARNINGS": str(early).lower(),
            }
            log = results / f"paging-worker-{'early' if early else 'late'}.log"
            urls.append(stack.enter_context(worker(worker_env, log)))
        stream.publish_due()
        for url in urls:
            consumed(url, stream.feed.sent)
        first = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=2)
        starts = [first + timedelta(seconds=o) for o in OFFSETS]
        for trial, ((brand, platform), start) in enumerate(zip(series, starts, strict=True)):
            stream.schedule(burst(brand, platform, start, trial))
        print(
            f"bursts start at {first:%H:%M:%S} + {OFFSETS} s; waiting for pushes", file=sys.stderr
        )
        deadline = first + timedelta(minutes=5)
        while datetime.now(UTC) < deadline and not all(
            first_push(pushed[early], f"{b}:{p}:") for early in pushed for b, p in series
        ):
            stream.publish_due()
            time.sleep(TICK)
    paced_report(series, starts, pushed)


def first_push(received: list[Notification], alert_id: str) -> float | None:
    """When the first push of an alert whose id starts with ``alert_id`` arrived."""
    alerts: Iterator[tuple[float, list[dict[str, Any]]]] = (
        (n.received, cast(list[dict[str, Any]], n.body)) for n in received
    )  # a push's body is the v2 API's list of alerts
    times = [
        at
        for at, pushed in alerts
        for a in pushed
        if a["annotations"].get("alert_id", "").startswith(alert_id)
    ]
    return min(times, default=None)


def paced_report(
    series: list[tuple[str, str]], starts: list[datetime], pushed: dict[bool, list[Notification]]
) -> None:
    print("\nburst start   series                 early warnings   without   (seconds to push)")
    delays: dict[bool, list[float]] = {True: [], False: []}
    for (brand, platform), start in zip(series, starts, strict=True):
        row = []
        for early in (True, False):
            at = first_push(pushed[early], f"{brand}:{platform}:")
            if at is not None:
                delays[early].append(at - start.timestamp())
            row.append("-" if at is None else f"{at - start.timestamp():.1f}")
        print(f"{start:%H:%M:%S}      {brand + '/' + platform:<22} {row[0]:>14} {row[1]:>9}")
    if not delays[True] or not delays[False]:
        raise SystemExit("a burst was not pushed: see bench/results/paging-worker-*.log")
    mean = {early: statistics.mean(d) for early, d in delays.items()}
    print(
        f"\nmean: {mean[True]:.1f} s with early warnings, {mean[False]:.1f} s without "
        f"({mean[True] / mean[False]:.2f}x)"
    )


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
