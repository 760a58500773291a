"""Alertmanager with brandpulse's routing, started the way the local stack starts it.

A critical spike pushed as the worker pushes it reaches the on-call receiver's webhook within
seconds, and a worker that is down holds back the spike alerts it makes stale. Each test runs its
own Alertmanager (no cluster, no Kafka) that notifies a webhook server in the test.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from brandpulse.analytics.records import AlertRecord
from brandpulse.config import load_config
from brandpulse.stack.services import services
from streams.alertmanager import alertmanager_alert
from tests.integration.harness import REPO, eventually, free_port

States = dict[tuple[str, str], tuple[str, list[str]]]
"""(state, fingerprints of the inhibiting alerts) by alert name and source."""
PAGE_WITHIN_SECONDS = 5.0
"""The in-stream push path exists to page within seconds; Alertmanager must not undo that."""


@dataclass(frozen=True)
class Notification:
    arrived: float
    """``time.monotonic()`` when the webhook received it."""
    body: dict[str, Any]

    def alertnames(self) -> set[str]:
        return {alert["labels"]["alertname"] for alert in self.body["alerts"]}


@dataclass
class Webhook:
    """The notifications Alertmanager POSTed to ``url``, in arrival order."""

    url: str
    received: list[Notification]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    received: list[Notification] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(Notification(time.monotonic(), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: pytest shows the notifications themselves when a test fails."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Webhook(f"http://127.0.0.1:{server.server_port}/alerts", received)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def alertmanager(webhook: Webhook, tmp_path: Path) -> Iterator[str]:
    """The base URL of an Alertmanager that the stack's own code configured and started."""
    config = load_config(
        REPO / "brandpulse.toml",
        env={
            "BRANDPULSE_ALERTING__WEBHOOK_URL": webhook.url,
            "BRANDPULSE_STACK__ALERTMANAGER_PORT": str(free_port()),
        },
    )
    (service,) = [s for s in services(config) if s.name == "alertmanager"]
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            service.prepare(tmp_path), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        up = eventually(lambda: service.healthy() or process.poll() is not None, bool, 30)
        assert up and process.poll() is None, f"Alertmanager did not start:\n{log.read_text()}"
        yield service.address
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stream_spike(brand: str) -> dict[str, Any]:
    """A critical negative-mention spike exactly as the worker pushes it."""
    now = datetime.now(UTC)
    record = AlertRecord(
        id=f"{brand}/x/negative_mentions/1",
        brand=brand,
        platform="x",
        signal="negative_mentions",
        state="firing",
        severity="critical",
        at=now,
        opened_at=now,
        observed=42,
        expected=3,
        summary=f"Negative mentions of {brand} on x are spiking",
    )
    return alertmanager_alert(record)


def prometheus_alert(alertname: str, **labels: str) -> dict[str, Any]:
    """An alert as Prometheus sends it, firing since now."""
    return {
        "labels": {"alertname": alertname, "source": "prometheus", **labels},
        "annotations": {"summary": alertname},
        "startsAt": datetime.now(UTC).isoformat(),
    }


def post(alertmanager: str, *alerts: dict[str, Any]) -> float:
    """Push alerts to the v2 API; returns ``time.monotonic()`` from just before the request."""
    request = urllib.request.Request(
        f"{alertmanager}/api/v2/alerts",
        data=json.dumps(list(alerts)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    return started


def alerts_in(alertmanager: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{alertmanager}/api/v2/alerts", timeout=5) as response:
        alerts: list[dict[str, Any]] = json.load(response)
    return alerts


def states(alertmanager: str, brand: str) -> States:
    """What Alertmanager says about the alerts of one brand."""
    return {
        (a["labels"]["alertname"], a["labels"]["source"]): (
            a["status"]["state"],
            a["status"]["inhibitedBy"],
        )
        for a in alerts_in(alertmanager)
        if a["labels"].get("brand") == brand
    }


def notification_of(webhook: Webhook, alertname: str) -> Notification:
    found = eventually(
        lambda: [n for n in webhook.received if alertname in n.alertnames()], bool, timeout=30
    )
    assert found, f"no notification about {alertname}: {webhook.received}"
    return found[0]


def test_a_critical_spike_pages_the_oncall_receiver_within_seconds(
    alertmanager: str, webhook: Webhook
) -> None:
    spike = stream_spike("acme")
    posted = post(alertmanager, spike)
    page = notification_of(webhook, "BrandpulseNegativeMentionSpike")
    seconds = page.arrived - posted
    print(f"critical spike: POST to webhook delivery in {seconds:.3f} s")
    assert page.body["receiver"] == "oncall-pager"
    assert page.body["status"] == "firing"
    assert page.body["groupLabels"] == {
        "alertname": "BrandpulseNegativeMentionSpike",
        "brand": "acme",
        "platform": "x",
    }
    assert [alert["labels"] for alert in page.body["alerts"]] == [spike["labels"]]
    assert seconds < PAGE_WITHIN_SECONDS


def test_a_worker_down_holds_back_the_spike_alerts_it_makes_stale(
    alertmanager: str, webhook: Webhook
) -> None:
    worker_down = prometheus_alert(
        "BrandpulseWorkerDown", severity="critical", job="brandpulse-worker", instance="worker:6066"
    )
    post(alertmanager, worker_down)
    assert notification_of(webhook, "BrandpulseWorkerDown").body["receiver"] == "ops"

    spikes = [
        stream_spike("globex"),
        prometheus_alert(
            "BrandpulseNegativeMentionSpike", brand="globex", platform="x", severity="critical"
        ),
    ]
    # Not a target of the inhibition and routed just as fast: once it is delivered, the spikes'
    # group, created by the same request, has been flushed too.
    control = prometheus_alert("RoutingControl", brand="globex", platform="x", severity="critical")
    post(alertmanager, *spikes, control)
    assert notification_of(webhook, "RoutingControl").body["receiver"] == "oncall-pager"
    time.sleep(1)
    assert not [n for n in webhook.received if "BrandpulseNegativeMentionSpike" in n.alertnames()]

    fingerprint = next(
        a["fingerprint"]
        for a in alerts_in(alertmanager)
        if a["labels"]["alertname"] == "BrandpulseWorkerDown"
    )
    assert states(alertmanager, "globex") == {
        ("BrandpulseNegativeMentionSpike", "brandpulse-stream"): ("suppressed", [fingerprint]),
        ("BrandpulseNegativeMentionSpike", "prometheus"): ("suppressed", [fingerprint]),
        ("RoutingControl", "prometheus"): ("active", []),
    }

    post(alertmanager, {**worker_down, "endsAt": datetime.now(UTC).isoformat()})
    back: States = {
        ("BrandpulseNegativeMentionSpike", "brandpulse-stream"): ("active", []),
        ("BrandpulseNegativeMentionSpike", "prometheus"): ("active", []),
        ("RoutingControl", "prometheus"): ("active", []),
    }
    assert eventually(lambda: states(alertmanager, "globex"), back.__eq__, timeout=10) == back
