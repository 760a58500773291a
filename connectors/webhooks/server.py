"""``brandpulse webhooks``: the HTTP server, and the Kafka side that makes a 200 mean "stored".

Every delivery, social events and orders and visits alike, goes through the connector
runtime's ``Runner`` (the same three-step commit as the polling connectors): each delivery is one
commit, so its events are deduplicated against the persisted seen-ids by ``platform:brand:id``
and a platform's retries of a delivery publish nothing new, across restarts too.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from kafka.errors import KafkaError

from brandpulse.config import Config
from brandpulse.contract import Event
from brandpulse.errors import BrandpulseError, UsageError
from brandpulse.stopping import stop_on_signals
from connectors.metrics import ConnectorStats, serve_metrics
from connectors.publisher import Publisher
from connectors.runtime import CheckpointStore, Poll, Runner, redact_url, state_dir
from connectors.runtime.ledger import TopicLedger
from connectors.webhooks.app import (
    GENERIC_SECRET,
    META_APP_SECRET,
    META_PATH,
    META_VERIFY_TOKEN,
    SHOPIFY_WEBHOOK_SECRET,
    DeliveryFailed,
    Response,
    Secrets,
    Webhooks,
)
from connectors.webhooks.graph import META_PAGE_ACCESS_TOKEN

NAME: Final = "webhooks"
FLUSH_TIMEOUT_SECONDS: Final = 10.0
"""Meta and Shopify give up on an answer after a few seconds; a 503 in time beats a timeout."""
REQUEST_TIMEOUT_SECONDS: Final = 30.0
"""A client that stalls mid-request is dropped, so it cannot hold a thread (or the shutdown)."""
_QUERY: Final = re.compile(r"\?\S*")
log = logging.getLogger("brandpulse.webhooks")


class KafkaSink:
    """Publishes accepted deliveries one at a time (a lock), each acknowledged before return."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._lock = threading.Lock()

    def publish_events(self, events: list[Event]) -> int:
        with self._lock:
            try:
                if self._runner.checkpoint.pending is not None:
                    self._runner.reconcile()  # settle a failed commit before the retry
                return self._runner.commit(Poll(events))
            except (BrandpulseError, KafkaError) as exc:
                raise DeliveryFailed(f"Kafka write failed: {exc!r}") from exc


@contextmanager
def kafka_sink(config: Config, stats: ConnectorStats) -> Iterator[KafkaSink]:
    client_id = f"brandpulse-{NAME}"
    with (
        Publisher(config, client_id=client_id, stats=stats) as publisher,
        TopicLedger(config.bootstrap, config.kafka.raw_topic, client_id) as ledger,
    ):
        runner = Runner(config, publisher, ledger, CheckpointStore(state_dir(config, NAME)))
        runner.reconcile()
        yield KafkaSink(runner)


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
    if secrets.meta_page_token:
        log.info("Instagram mentions get their text from %s", redact_url(settings.graph_url))
    elif META_PATH in enabled:
        log.info("Instagram mentions are published without text: set %s", META_PAGE_ACCESS_TOKEN)
    return enabled


def _bind(host: str, port: int, app: Webhooks) -> WebhookServer:
    try:
        return WebhookServer((host, port), app)
    except OSError as exc:
        raise BrandpulseError(
            f"cannot listen on {host}:{port}: {exc.strerror} (set [webhooks] port)"
        ) from None
