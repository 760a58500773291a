"""``brandpulse webhooks``: the HTTP server, and the Kafka side that makes a 200 mean "stored".

Social events go through the connector runtime's ``Runner`` (the same three-step commit as the
polling connectors): each delivery is one commit, so its events are deduplicated against the
persisted seen-ids by ``platform:brand:id`` and Meta's retries of a delivery publish nothing new,
across restarts too. Commerce records have no contract key, so they keep their own persisted
seen set (``commerce/checkpoint.json``), saved after the flush: a crash between the two can
repeat a record once, which its ``id`` lets a reader drop.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from brandpulse.config import Config
from brandpulse.contract import Event
from brandpulse.errors import BrandpulseError, UsageError
from brandpulse.kafka_io import admin_client, make_producer
from brandpulse.stopping import stop_on_signals
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.publisher import Publisher
from connectors.runtime import Checkpoint, CheckpointStore, Poll, Runner, SeenIds, state_dir
from connectors.runtime.ledger import TopicLedger
from connectors.webhooks.app import (
    GENERIC_SECRET,
    META_APP_SECRET,
    META_VERIFY_TOKEN,
    SHOPIFY_WEBHOOK_SECRET,
    DeliveryFailed,
    Response,
    Secrets,
    Webhooks,
)
from connectors.webhooks.commerce import CommerceRecord, encode_record

NAME: Final = "webhooks"
FLUSH_TIMEOUT_SECONDS: Final = 10.0
"""Meta and Shopify give up on an answer after a few seconds; a 503 in time beats a timeout."""
REQUEST_TIMEOUT_SECONDS: Final = 30.0
"""A client that stalls mid-request is dropped, so it cannot hold a thread (or the shutdown)."""
_QUERY: Final = re.compile(r"\?\S*")
log = logging.getLogger("brandpulse.webhooks")


class KafkaSink:
    """Publishes accepted deliveries one at a time (a lock), each acknowledged before return."""

    def __init__(self, config: Config, runner: Runner, producer: Any) -> None:
        self._runner = runner
        self._producer = producer
        self._stats = runner.stats
        self._topic = config.webhooks.commerce_topic
        self._commerce_store = CheckpointStore(state_dir(config, NAME) / "commerce")
        self._commerce_seen = SeenIds(self._commerce_store.load().seen)
        self._lock = threading.Lock()

    def publish_events(self, events: list[Event]) -> int:
        with self._lock:
            try:
                if self._runner.checkpoint.pending is not None:
                    self._runner.reconcile()  # settle a failed commit before the retry
                return self._runner.commit(Poll(events))
            except (BrandpulseError, KafkaError) as exc:
                raise DeliveryFailed(f"Kafka write failed: {exc!r}") from exc

    def publish_commerce(self, records: list[CommerceRecord]) -> int:
        with self._lock:
            fresh = {r.key: r for r in records if r.key not in self._commerce_seen}
            try:
                futures = [
                    self._producer.send(self._topic, key=r.brand.encode(), value=encode_record(r))
                    for r in fresh.values()
                ]
                self._producer.flush(timeout=FLUSH_TIMEOUT_SECONDS)
                for future in futures:
                    future.get(timeout=0)
            except KafkaError as exc:
                self._stats.errors["kafka_write"] += 1
                raise DeliveryFailed(f"Kafka write failed: {exc!r}") from exc
            self._commerce_seen.add(fresh)
            self._commerce_store.save(Checkpoint(seen=self._commerce_seen.to_list()))
            for record in fresh.values():
                self._stats.published[record.source] += 1
                self._stats.last_publish = time.time()
            return len(fresh)


@contextmanager
def kafka_sink(config: Config, stats: ConnectorStats) -> Iterator[KafkaSink]:
    client_id = f"brandpulse-{NAME}"
    _ensure_topic(config)
    with (
        Publisher(config, client_id=client_id, stats=stats) as publisher,
        TopicLedger(config.bootstrap, config.kafka.raw_topic, client_id) as ledger,
    ):
        runner = Runner(config, publisher, ledger, CheckpointStore(state_dir(config, NAME)))
        runner.reconcile()
        producer = make_producer(config.bootstrap, f"{client_id}-commerce")
        try:
            yield KafkaSink(config, runner, producer)
        finally:
            producer.close()


def _ensure_topic(config: Config) -> None:
    kafka = config.kafka
    topic = NewTopic(config.webhooks.commerce_topic, kafka.partitions, kafka.replication_factor)
    with admin_client(config.bootstrap) as admin:
        if topic.name in set(admin.list_topics()):
            return
        try:
            admin.create_topics([topic])
        except TopicAlreadyExistsError:
            pass
        except KafkaError as exc:
            raise BrandpulseError(f"cannot create topic {topic.name}: {exc}") from exc


class WebhookServer(ThreadingHTTPServer):
    """Non-daemon request threads, joined on close: a request being answered when SIGTERM
    arrives still gets its write to Kafka and its status."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], app: Webhooks) -> None:
        super().__init__(address, WebhookHandler)
        self.app = app


class WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookServer
    timeout = REQUEST_TIMEOUT_SECONDS

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        self._answer(self.server.app.get(url.path, urllib.parse.parse_qs(url.query)))

    def do_POST(self) -> None:
        app = self.server.app
        refusal = app.check_length(self.headers.get("Content-Length"))
        if refusal is not None:
            self.close_connection = True  # the unread body must not be taken for a request
            self._answer(refusal)
            return
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(app.post(urllib.parse.urlsplit(self.path).path, self.headers, body))

    def _answer(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Access log without query strings: Meta's handshake carries the verify token there."""
        log.info("%s %s", self.address_string(), _QUERY.sub("?...", format % args))


def run_webhooks(
    config: Config, env: Mapping[str, str] | None = None, stop: threading.Event | None = None
) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop``); requests in progress finish first."""
    secrets = Secrets.from_env(os.environ if env is None else env)
    paths = _check(config, secrets)
    stop = stop or threading.Event()
    stats = ConnectorStats(NAME)
    settings = config.webhooks
    serve_metrics(stats, settings.metrics_host, settings.metrics_port)
    with kafka_sink(config, stats) as sink, stop_on_signals(stop):
        app = Webhooks(settings, config.brand_names, secrets, sink, stats)
        server = _bind(settings.host, settings.port, app)
        thread = threading.Thread(target=server.serve_forever, name="webhooks", daemon=True)
        thread.start()
        log.info("listening on http://%s:%d%s", settings.host, settings.port, ", ".join(paths))
        while not stop.wait(0.5):
            pass
        server.shutdown()
        server.server_close()
    log.info("stopped")


def _check(config: Config, secrets: Secrets) -> list[str]:
    """The enabled paths, after logging the disabled ones; a usage error when none is, or when
    an account maps to a brand that is not configured."""
    settings = config.webhooks
    unknown = {*settings.meta_pages.values(), *settings.shopify_shops.values()}
    unknown -= config.brand_names
    if unknown:
        raise UsageError(f"[webhooks] maps accounts to brands not configured: {sorted(unknown)}")
    enabled = []
    for path, missing in secrets.missing().items():
        if missing:
            log.warning("%s is off: set %s to enable it", path, " and ".join(missing))
        else:
            enabled.append(path)
    if not enabled:
        raise UsageError(
            "no webhook secret is set: export "
            f"{META_APP_SECRET} and {META_VERIFY_TOKEN}, {SHOPIFY_WEBHOOK_SECRET} "
            f"or {GENERIC_SECRET}"
        )
    return enabled


def _bind(host: str, port: int, app: Webhooks) -> WebhookServer:
    try:
        return WebhookServer((host, port), app)
    except OSError as exc:
        raise BrandpulseError(
            f"cannot listen on {host}:{port}: {exc.strerror} (set [webhooks] port)"
        ) from None
