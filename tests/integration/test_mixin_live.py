"""The boards and rules against the real stack: every query returns data, and a burst pages.

One worker is fed 25 hours of synthetic history (a day of it for the 24 h windows and growth,
an hour of it for the spike detector's warm-up), a few dead letters and a late event, and then a
negative burst, paced, until the stream's spike alert fires. The page arrives both ways: pushed
by the worker, and from the Prometheus rule over the worker's gauge (scrape, evaluation,
Alertmanager). Both alerts share a name and so an Alertmanager group: the rule's alert is
delivered with the group's next notification, one ``group_interval`` after the push.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from brandpulse.analytics.brand import SPIKE_SIGNALS
from brandpulse.config import Config
from brandpulse.contract import Event, encode_event
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.publisher import Publisher
from connectors.synthetic.generator import Plan, SyntheticStream
from dashboards import generate
from dashboards.cli import BOARDS_DIR
from dashboards.mixin.rules import ALERTS, RECORDS
from tests.integration.harness import (
    Notification,
    StackEnv,
    eventually,
    prometheus_query,
    running_worker,
    scrape,
    total,
    webhook_receiver,
)

START = datetime.fromisoformat("2026-04-01T06:00:00Z").timestamp()
BURST_START = 25 * 3600
SETTINGS = {
    "BRANDPULSE_SPIKES__WARMUP_SECONDS": "3600",
    "BRANDPULSE_SPIKES__LEVEL_WINDOW_SECONDS": "7200",
    "BRANDPULSE_SPIKES__COOLDOWN_SECONDS": "600",
    "BRANDPULSE_SYNTHETIC__RATE": "2",
    "BRANDPULSE_SYNTHETIC__SCENARIO": "negative-burst",
    "BRANDPULSE_SYNTHETIC__SCENARIO_BRAND": "acme",
    "BRANDPULSE_SYNTHETIC__SCENARIO_START": str(BURST_START),
    "BRANDPULSE_SYNTHETIC__SCENARIO_DURATION": "1800",
}
VARIABLES = {"$brand": "acme", "$platform": ".*", "$__rate_interval": "1m"}
STREAM_SIGNALS = {*SPIKE_SIGNALS, "sla_breach"}


def fill(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def board_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and annotation of the generated boards."""
    found = []
    for path in sorted(BOARDS_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            found += [
                (f"{path.stem}: {panel['title']}", t["expr"]) for t in panel.get("targets", [])
            ]
        found += [
            (f"{path.stem}: {a['name']}", a["expr"]) for a in board["annotations"].get("list", [])
        ]
    return found


def board_variables() -> list[tuple[str, str, str]]:
    """(where, label, series selector) of every ``label_values(selector, label)`` variable."""
    found = []
    for path in sorted(BOARDS_DIR.glob("*.json")):
        for variable in json.loads(path.read_text())["templating"]["list"]:
            selector, label = re.fullmatch(
                r"label_values\((.+), (\w+)\)", variable["query"]
            ).groups()  # type: ignore[union-attr]
            found.append((f"{path.stem}: ${variable['name']}", label, selector))
    return found


def rule_queries() -> list[tuple[str, str]]:
    """Recording rules as they are, alerts by the series they watch (a condition that does not
    hold, such as ``up == 0`` on a healthy worker, rightly returns nothing)."""
    records = [(f"record {r.name} {r.labels}", r.expr) for r in RECORDS]
    watched = [(f"alert {a.name}", a.query) for a in ALERTS if not _is_stream_alert(a.query)]
    return records + watched


def _is_stream_alert(query: str) -> bool:
    return "brandpulse_alert_active" in query


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r'(?<![\w:"])((?:[a-z_]+:)+[a-z_0-9]+|brandpulse_[a-z_0-9]+)', expr))


def label_values(port: int, label: str, selector: str) -> list[str]:
    query = urllib.parse.urlencode({"match[]": fill(selector)})
    url = f"http://127.0.0.1:{port}/api/v1/label/{label}/values?{query}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return list(json.load(response)["data"])


def history_and_burst(config: Config) -> tuple[list[Event], list[list[Event]]]:
    """Events before the burst, and the burst and its aftermath in one-minute chunks."""
    plan = Plan.from_config(config, datetime.fromtimestamp(START, UTC))
    events = itertools.takewhile(
        lambda e: e.time.timestamp() < START + BURST_START + 1800, SyntheticStream(plan)
    )
    history: list[Event] = []
    minutes: dict[int, list[Event]] = {}
    for event in events:
        offset = event.time.timestamp() - START
        if offset < BURST_START:
            history.append(event)
        else:
            minutes.setdefault(int(offset // 60), []).append(event)
    return history, [minutes[m] for m in sorted(minutes)]


@contextmanager
def connector(config: Config) -> Iterator[Publisher]:
    """A publisher with its metrics endpoint, as the synthetic connector runs one."""
    stats = ConnectorStats("synthetic")
    server = serve_metrics(stats, "127.0.0.1", config.synthetic.metrics_port)
    try:
        with Publisher(config, "brandpulse-synthetic", stats) as publisher:
            yield publisher
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def publish_raw(config: Config, lines: list[bytes]) -> None:
    """Lines as one message each, bypassing the connector's validation: dead letters to be."""
    from brandpulse.kafka_io import make_producer

    producer = make_producer(config.bootstrap, "test-raw")
    for line in lines:
        producer.send(config.kafka.raw_topic, key=b"acme", value=line)
    producer.flush()
    producer.close()


def active_alerts(config: Config, name: str) -> list[dict[str, Any]]:
    url = f"{config.alertmanager_url}/api/v2/alerts?active=true&silenced=false&inhibited=false"
    with urllib.request.urlopen(url, timeout=5) as response:
        return [a for a in json.load(response) if a["labels"]["alertname"] == name]


def test_every_query_returns_data_and_a_negative_burst_pages_both_ways(
    isolated: StackEnv, logs: Path
) -> None:
    stack = StackEnv(isolated.env, {**isolated.extra, **SETTINGS})
    config = stack.config
    port = config.stack.prometheus_port
    history, burst = history_and_burst(config)
    late = next(e for e in history if e.brand == "acme")  # replayed a day late
    with (
        webhook_receiver(config.alerting.webhook_url) as received,
        running_worker(stack, logs) as worker,
        connector(config) as publisher,
    ):
        for event in history:
            publisher.publish(event)
        publisher.flush()
        publish_raw(config, [b"{not json", b'{"v": 9}', encode_event(late)])
        processed = eventually(
            lambda: scrape(worker),
            lambda s: total(s, "brandpulse_events_total") > len(history),
            timeout=120,
        )
        assert total(processed, "brandpulse_events_total") == len(history) + 1  # + the late one
        eventually(lambda: active_alerts(config, "BrandpulseWorkerDown"), lambda a: not a, 90)

        burst_started = time.time()
        for chunk in burst:
            for event in chunk:
                publisher.publish(event)
            publisher.flush()
            time.sleep(0.3)
            if total(scrape(worker), "brandpulse_alert_active", brand="acme"):
                break
        fired = time.time()
        assert total(scrape(worker), "brandpulse_alert_active", brand="acme"), "no spike fired"

        pushed = _delivery(received, "brandpulse-stream", timeout=60)
        ruled = _delivery(received, "prometheus", timeout=150)
        print(
            f"\nburst -> stream alert {fired - burst_started:.1f} s; -> pushed alert delivered "
            f"{pushed.received - burst_started:.1f} s ({pushed.body['receiver']}); -> Prometheus "
            f"rule alert delivered {ruled.received - burst_started:.1f} s (scrape and evaluation "
            f"every {config.stack.scrape_interval}, then the group's next notification)"
        )
        assert pushed.body["receiver"] in {"brand-team", "oncall-pager"}

        _check_every_query(port)


def _delivery(received: list[Notification], source: str, timeout: float) -> Notification:
    """The first notification of a firing negative-mention spike raised by ``source``."""
    found = eventually(
        lambda: [n for n in received if _pages(n.body, source)], bool, timeout=timeout
    )
    assert found, f"no {source} page reached the webhook; got {[n.body for n in received]}"
    return found[0]


def _pages(body: dict[str, Any], source: str) -> bool:
    return any(
        a["labels"]["alertname"] == "BrandpulseNegativeMentionSpike"
        and a["labels"].get("source") == source
        and a["status"] == "firing"
        for a in body["alerts"]
    )


def _check_every_query(port: int) -> None:
    queries = board_queries() + rule_queries()
    empty = eventually(
        lambda: [(w, q) for w, q in queries if not prometheus_query(port, fill(q))],
        lambda missing: not missing,
        timeout=60,
        step=2,
    )
    raw = {n: prometheus_query(port, n) for _, q in empty for n in metric_names(q)}
    assert not empty, (
        "queries without data:\n"
        + "\n".join(f"{w}: {q}" for w, q in empty)
        + (f"\nthe series they read: {raw}")
    )
    for where, label, selector in board_variables():
        assert label_values(port, label, selector), where
    known = set(prometheus_query_names(port))
    names = {n for _, q in queries for n in metric_names(q)}
    names |= {n for a in ALERTS for n in metric_names(a.expr)}
    assert names - known == set(), f"metrics nobody exports: {names - known}"


def prometheus_query_names(port: int) -> list[str]:
    url = f"http://127.0.0.1:{port}/api/v1/label/__name__/values"
    with urllib.request.urlopen(url, timeout=10) as response:
        return list(json.load(response)["data"])


def test_stream_alert_rules_watch_signals_the_stream_raises() -> None:
    rules = yaml.safe_load(generate.RULES_FILE.read_text())["groups"][1]["rules"]
    signals = {
        m for r in rules for m in re.findall(r'brandpulse_alert_active\{signal="(\w+)"', r["expr"])
    }
    assert signals == STREAM_SIGNALS
