"""``brandpulse webhooks`` as a process against the real Kafka: signed deliveries land on the
topics before the 200, retries publish once, bad requests are refused and publish nothing."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from brandpulse.config import Config, load_config
from connectors.runtime.ledger import TopicLedger
from connectors.webhooks.signatures import base64_signature, hex_signature
from tests.integration.harness import (
    StackEnv,
    eventually,
    free_port,
    scrape,
    serving,
    topic_events,
    total,
)
from tests.unit.test_webhooks import (
    FEED_COMMENT,
    IG,
    IG_MENTION,
    MENTIONED_COMMENT,
    PAGE,
    SHOPIFY_ORDER,
    TOKEN,
    FakeGraph,
    delivery,
)

SECRETS = {
    "META_APP_SECRET": "app-secret",
    "META_VERIFY_TOKEN": "verify-me",
    "SHOPIFY_WEBHOOK_SECRET": "shop-secret",
    "BRANDPULSE_WEBHOOK_SECRET": "generic-secret",
}
MAX_BODY = 65536


@dataclass
class Receiver:
    stack: StackEnv
    config_file: Path
    port: int
    metrics_port: int
    process: subprocess.Popen[bytes]

    @property
    def config(self) -> Config:
        return load_config(self.config_file, env=self.stack.all)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def meta(self, body: bytes, signature: str | None = None) -> int:
        sig = hex_signature("app-secret", body) if signature is None else signature
        return self.request("POST", "/meta", body, {"X-Hub-Signature-256": sig})[0]

    def generic(self, payload: object, secret: str = "generic-secret") -> int:
        body = json.dumps(payload).encode()
        headers = {"X-Brandpulse-Signature": hex_signature(secret, body)}
        return self.request("POST", "/hooks/generic", body, headers)[0]

    def shopify(self, body: bytes, signature: str) -> int:
        headers = {
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "acme.myshopify.com",
        }
        return self.request("POST", "/shopify", body, headers)[0]


@contextmanager
def receiver(isolated: StackEnv, tmp_path: Path, graph_url: str = "") -> Iterator[Receiver]:
    """The receiver running; with ``graph_url``, it looks mentions up there with ``TOKEN``."""
    port, metrics_port = free_port(), free_port()
    config_file = tmp_path / "webhooks.toml"
    graph = f'graph_url = "{graph_url}"\n' if graph_url else ""
    config_file.write_text(
        f"[webhooks]\nport = {port}\nmetrics_port = {metrics_port}\nmax_body_bytes = {MAX_BODY}\n"
        + graph
        + f'meta_pages = {{ "{PAGE}" = "acme", "{IG}" = "globex" }}\n'
        'shopify_shops = { "acme.myshopify.com" = "acme" }\n'
        '[[brands]]\nname = "acme"\n[[brands]]\nname = "globex"\n'
    )
    stack = StackEnv(
        isolated.env,
        {
            **isolated.extra,
            **SECRETS,
            **({"META_PAGE_ACCESS_TOKEN": TOKEN} if graph_url else {}),
            "BRANDPULSE_STACK__STATE_DIR": str(tmp_path),
        },
    )
    log = tmp_path / "webhooks.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "brandpulse.cli", "--config", str(config_file), "webhooks"],
            env={**stack.process_env(), "BRANDPULSE_CONFIG": str(config_file)},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    hooks = Receiver(stack, config_file, port, metrics_port, process)
    challenge = "/meta?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42"

    def answers() -> bool:
        try:
            return hooks.request("GET", challenge) == (200, b"42")
        except OSError:
            return process.poll() is not None

    try:
        up = eventually(answers, bool, timeout=60)
        assert up and process.poll() is None, log.read_text()
        yield hooks
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def hooks(isolated: StackEnv, tmp_path: Path) -> Iterator[Receiver]:
    with receiver(isolated, tmp_path) as running:
        yield running


def stop(hooks: Receiver) -> None:
    hooks.process.send_signal(signal.SIGTERM)
    assert hooks.process.wait(30) == 0


def test_signed_deliveries_are_on_kafka_before_the_200_and_retries_publish_once(
    hooks: Receiver,
) -> None:
    comment = delivery("page", PAGE, "feed", FEED_COMMENT)
    with TopicLedger(hooks.config.bootstrap, hooks.config.kafka.raw_topic, "test") as ledger:
        assert sum(ledger.end_offsets().values()) == 0
        assert hooks.meta(comment) == 200
        assert sum(ledger.end_offsets().values()) == 1  # acknowledged before the answer
        assert hooks.meta(comment) == 200  # Meta's retry of the same delivery
        assert hooks.meta(delivery("instagram", IG, "mentions", IG_MENTION)) == 200
        assert sum(ledger.end_offsets().values()) == 2
    events = eventually(lambda: topic_events(hooks.config), lambda evs: len(evs) >= 2, 20)
    assert sorted((e.platform, e.brand, e.kind, e.id, e.parent_id) for e in events) == [
        ("facebook", "acme", "comment", "44444444_555555555", "44444444_444444444"),
        ("instagram", "globex", "mention", "17887498072083521", None),
    ]
    assert [e.text for e in events if e.platform == "facebook"] == ["Example comment"]

    order = json.dumps(SHOPIFY_ORDER).encode()
    assert hooks.shopify(order, base64_signature("shop-secret", order)) == 200
    assert hooks.shopify(order, base64_signature("shop-secret", order)) == 200  # a retry
    visit = {"brand": "globex", "kind": "visit", "id": "v-1", "time": "2026-11-25T14:03:07Z"}
    assert hooks.generic(visit) == 200
    events = eventually(lambda: topic_events(hooks.config), lambda evs: len(evs) >= 4, 20)
    commerce = [e for e in events if e.platform in ("shop", "web")]
    assert sorted((e.platform, e.brand, e.kind, e.id) for e in commerce) == [
        ("shop", "acme", "order", "shopify:820982911946154508"),
        ("web", "globex", "visit", "generic:v-1"),
    ]
    assert len(topic_events(hooks.config)) == 4  # the retried order is not on Kafka twice
    metrics = scrape(f"http://127.0.0.1:{hooks.metrics_port}/metrics")
    published = "brandpulse_connector_events_published_total"
    assert total(metrics, published, connector="webhooks", platform="facebook") == 1
    assert total(metrics, published, connector="webhooks", platform="shop") == 1
    assert total(metrics, published, connector="webhooks", platform="web") == 1
    stop(hooks)


def test_bad_signatures_tokens_and_sizes_are_refused_and_publish_nothing(
    hooks: Receiver,
) -> None:
    body = delivery("page", PAGE, "feed", FEED_COMMENT)
    valid = hex_signature("app-secret", body)
    assert hooks.request("POST", "/meta", body)[0] == 401  # no signature
    assert hooks.meta(body, hex_signature("wrong-secret", body)) == 401
    assert hooks.meta(body, valid[:-6]) == 401  # truncated
    assert hooks.meta(body, "sha1=" + valid.removeprefix("sha256=")) == 401
    wrong_token = "/meta?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=42"
    assert hooks.request("GET", wrong_token) == (403, b"Forbidden\n")
    oversized = json.dumps({"object": "page", "entry": [], "pad": "x" * MAX_BODY}).encode()
    assert hooks.meta(oversized) == 413
    order = json.dumps(SHOPIFY_ORDER).encode()
    assert hooks.shopify(order, base64_signature("shop-secret", order)[:-4]) == 401
    visit = {"brand": "acme", "kind": "visit", "id": "bad", "time": "2026-11-25T14:03:07Z"}
    assert hooks.generic(visit, secret="wrong") == 401

    marker = delivery("instagram", IG, "mentions", IG_MENTION)
    assert hooks.meta(marker) == 200
    assert hooks.generic({**visit, "id": "marker"}) == 200
    ids = sorted(e.id for e in topic_events(hooks.config))
    assert ids == ["17887498072083521", "generic:marker"]

    metrics = scrape(f"http://127.0.0.1:{hooks.metrics_port}/metrics")
    errors = "brandpulse_connector_errors_total"
    assert total(metrics, errors, connector="webhooks", kind="bad_signature") == 6
    assert total(metrics, errors, connector="webhooks", kind="bad_token") == 1
    assert total(metrics, errors, connector="webhooks", kind="too_large") == 1
    stop(hooks)


def test_a_signed_instagram_mention_lands_on_kafka_with_the_text_graph_gave(
    isolated: StackEnv, tmp_path: Path
) -> None:
    graph = FakeGraph()
    with serving(graph), receiver(isolated, tmp_path, graph.url) as hooks:
        assert hooks.meta(delivery("instagram", IG, "mentions", IG_MENTION)) == 200
        (event,) = eventually(lambda: topic_events(hooks.config), bool, 20)
        stop(hooks)
    expected = MENTIONED_COMMENT["mentioned_comment"]
    assert (event.kind, event.id, event.text) == ("mention", expected["id"], expected["text"])
    assert event.author is not None and event.author.handle == expected["username"]
    ((path, query),) = graph.requests
    assert path == f"/v21.0/{IG}" and query["access_token"] == [TOKEN]
    assert TOKEN not in (tmp_path / "webhooks.log").read_text()
