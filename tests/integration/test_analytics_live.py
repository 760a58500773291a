"""The analytics in the live worker: alerts leave three ways, and a killed worker loses nothing.

Event times start in the past and events are published unpaced, so hours of event time pass in
seconds; detector warm-up is shortened through the environment, as a user could.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from brandpulse.analytics.engine import Analytics
from brandpulse.analytics.records import encode_record
from brandpulse.config import Config
from brandpulse.contract import Event, encode_event
from brandpulse.framing import BatchBuilder
from brandpulse.kafka_io import ensure_topics, make_producer
from brandpulse.sentiment import default_scorer
from connectors.synthetic.generator import Plan, SyntheticStream
from tests.integration.harness import (
    StackEnv,
    eventually,
    read_topic,
    running_worker,
    scrape,
    total,
    webhook_receiver,
    worker_process,
)

START = "2026-04-01T06:00:00Z"
QUICK_SPIKES = {
    "BRANDPULSE_SPIKES__WARMUP_SECONDS": "3600",
    "BRANDPULSE_SPIKES__LEVEL_WINDOW_SECONDS": "7200",
    "BRANDPULSE_SPIKES__COOLDOWN_SECONDS": "600",
    "BRANDPULSE_SYNTHETIC__RATE": "5",
}


def with_env(stack: StackEnv, **extra: str) -> StackEnv:
    return StackEnv(stack.env, {**stack.extra, **QUICK_SPIKES, **extra})


def synthetic(config: Config, count: int) -> list[Event]:
    plan = Plan.from_config(config, datetime.fromisoformat(START))
    return list(itertools.islice(SyntheticStream(plan), count))


def publish(config: Config, events: list[Event]) -> None:
    """Publish as the connectors do: batched per brand, keyed by brand, in stream order."""
    ensure_topics(config)
    producer = make_producer(config.bootstrap, "test")
    builder = BatchBuilder(max_events=200)
    for event in events:
        if (batch := builder.add(event.brand, encode_event(event))) is not None:
            producer.send(config.kafka.raw_topic, key=event.brand.encode(), value=batch)
    for brand, batch in builder.drain():
        producer.send(config.kafka.raw_topic, key=brand.encode(), value=batch)
    producer.flush()
    producer.close()


def offline(config: Config, events: list[Event]) -> tuple[set[bytes], set[bytes]]:
    analytics = Analytics(config.brands, config.analytics, config.spikes, default_scorer())
    out = analytics.process(events)
    return {encode_record(r) for r in out.windows}, {encode_record(a) for a in out.alerts}


def topic_values(config: Config, topic: str, at_least: int) -> list[bytes]:
    return [record.value for record in read_topic(config.bootstrap, topic, at_least)]


def alertmanager_alerts(config: Config) -> list[dict[str, Any]]:
    url = f"{config.alertmanager_url}/api/v2/alerts"
    with urllib.request.urlopen(url, timeout=5) as response:
        alerts: list[dict[str, Any]] = json.load(response)
    return alerts


def _pushed(body: dict[str, Any], brand: str) -> bool:
    return any(
        a["labels"].get("brand") == brand and a["labels"].get("source") == "brandpulse-stream"
        for a in body["alerts"]
    )


def test_negative_burst_alert_reaches_topic_gauge_and_alertmanager(
    isolated: StackEnv, logs: Path
) -> None:
    stack = with_env(
        isolated,
        BRANDPULSE_SYNTHETIC__SCENARIO="negative-burst",
        BRANDPULSE_SYNTHETIC__SCENARIO_BRAND="globex",
        BRANDPULSE_SYNTHETIC__SCENARIO_START="7200",
        BRANDPULSE_SYNTHETIC__SCENARIO_DURATION="3600",
    )
    config = stack.config
    end = datetime.fromisoformat(START).timestamp() + 7200 + 1200
    events = list(
        itertools.takewhile(lambda e: e.time.timestamp() < end, synthetic(config, 200_000))
    )
    with (
        webhook_receiver(config.alerting.webhook_url) as received,
        running_worker(stack, logs) as url,
    ):
        started = time.time()
        publish(config, events)
        samples = eventually(
            lambda: scrape(url),
            lambda s: total(s, "brandpulse_events_total") >= len(events),
            timeout=90,
        )
        assert total(samples, "brandpulse_events_total") == len(events)
        active = {"brand": "globex", "platform": "all", "signal": "negative_mentions"}
        assert total(samples, "brandpulse_alert_active", **active) == 1
        assert total(samples, "brandpulse_alert_active", brand="acme") == 0
        assert total(samples, "brandpulse_alert_active", brand="kaffeehaus") == 0
        paged = eventually(
            lambda: [a for a in alertmanager_alerts(config) if a["labels"].get("brand")],
            lambda found: any(a["labels"]["brand"] == "globex" for a in found),
            timeout=30,
        )
        delivered = eventually(
            lambda: [n for n in received if _pushed(n.body, "globex")], bool, timeout=60
        )
        assert delivered, f"the pushed alert reached no webhook: {[n.body for n in received]}"
        final = scrape(url)
        print(
            f"\npublish start -> pushed alert delivered to the webhook: "
            f"{delivered[0].received - started:.1f} s (receiver {delivered[0].body['receiver']})"
        )
    labels = [a["labels"] for a in paged if a["labels"].get("source") == "brandpulse-stream"]
    assert {"alertname": "BrandpulseNegativeMentionSpike", "brand": "globex"}.items() <= next(
        lab for lab in labels if lab["signal"] == "negative_mentions"
    ).items()
    assert {lab["brand"] for lab in labels} == {"globex"}
    records = [json.loads(v) for v in topic_values(config, config.kafka.alerts_topic, 1)]
    assert {r["brand"] for r in records} == {"globex"}
    firing = next(r for r in records if r["signal"] == "negative_mentions")
    assert firing["state"] == "firing" and firing["evidence"]
    assert datetime.fromisoformat(firing["at"]).timestamp() >= (
        datetime.fromisoformat(START).timestamp() + 7200
    )
    # Early warnings: exactly one per alert that opened, of a platform or of all (none
    # elsewhere), each pushed before its minute closed.
    opened: dict[tuple[str, str], int] = {}
    for r in records:
        if r["state"] == "firing" and r["at"] == r["opened_at"]:
            key = (r["platform"], r["signal"])
            opened[key] = opened.get(key, 0) + 1
    assert any(p != "all" for p, _ in opened), "the burst opened no platform's alert"
    early = {
        (pushed["platform"], pushed["signal"]): int(value)
        for (name, pairs), value in final.items()
        if name == "brandpulse_early_alerts_total" and (pushed := dict(pairs))["brand"] == "globex"
    }
    assert early == opened
    assert total(final, "brandpulse_early_alerts_total") == sum(opened.values()), "other brands"


def test_killed_worker_restarts_with_exact_counts_and_the_same_records(
    isolated: StackEnv, logs: Path
) -> None:
    stack = with_env(
        isolated,
        BRANDPULSE_WORKER__SNAPSHOT_INTERVAL="2",
        BRANDPULSE_SYNTHETIC__SCENARIO="negative-burst",
        BRANDPULSE_SYNTHETIC__SCENARIO_BRAND="acme",
        BRANDPULSE_SYNTHETIC__SCENARIO_START="5400",
        BRANDPULSE_SYNTHETIC__SCENARIO_DURATION="600",
    )
    config = stack.config
    events = synthetic(config, 54_000)
    parts = [events[:18_000], events[18_000:36_000], events[36_000:]]
    url = f"http://127.0.0.1:{config.worker.web_port}/metrics"
    log = logs / "worker.log"

    def counted() -> float:
        return total(scrape(url), "brandpulse_events_total")

    with worker_process(stack, log) as first:
        eventually(lambda: bool(scrape(url)), bool, 90)
        publish(config, parts[0])
        assert eventually(counted, lambda n: n >= 18_000) == 18_000
        time.sleep(3.5)  # a snapshot holds part one
        publish(config, parts[1])
        assert eventually(counted, lambda n: n >= 36_000) == 36_000
        os.kill(first.pid, signal.SIGKILL)  # part two is applied, most likely not snapshotted
        first.wait(10)

    with worker_process(stack, log) as second:
        eventually(lambda: bool(scrape(url)), bool, 90)
        publish(config, parts[2])
        assert eventually(counted, lambda n: n >= len(events), timeout=90) == len(events)
        time.sleep(2)
        assert counted() == len(events)
        assert second.poll() is None
    assert "restored snapshot at offset" in log.read_text()

    want_windows, want_alerts = offline(config, events)
    assert want_alerts, "the scenario should raise alerts"
    windows = topic_values(config, config.kafka.windows_topic, len(want_windows))
    alerts = topic_values(config, config.kafka.alerts_topic, len(want_alerts))
    assert set(windows) == want_windows
    assert set(alerts) == want_alerts
    assert msgspec.json.decode(alerts[0])["brand"] == "acme"
