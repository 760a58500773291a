"""Helpers for tests against the real local stack: environments, workers, Kafka and Prometheus."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families

from brandpulse.config import Config, load_config
from brandpulse.contract import Event, decode_event
from brandpulse.framing import iter_lines

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
H = TypeVar("H", bound=Hashable)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
"""A scraped /metrics page: value by sample name and sorted labels."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StackEnv:
    """Environment variables that point brandpulse at the test stack, plus per-test names."""

    env: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)

    def isolated(self) -> StackEnv:
        """The same stack with fresh topics and consumer group, so tests do not see each other."""
        tag = uuid.uuid4().hex[:8]
        return StackEnv(
            self.env,
            {
                "BRANDPULSE_KAFKA__RAW_TOPIC": f"test-{tag}.events",
                "BRANDPULSE_KAFKA__DEAD_LETTER_TOPIC": f"test-{tag}.deadletter",
                "BRANDPULSE_KAFKA__WINDOWS_TOPIC": f"test-{tag}.windows",
                "BRANDPULSE_KAFKA__ALERTS_TOPIC": f"test-{tag}.alerts",
                "BRANDPULSE_WORKER__APP_ID": f"test-{tag}-worker",
            },
        )

    @property
    def all(self) -> dict[str, str]:
        return {**self.env, **self.extra}

    @property
    def config(self) -> Config:
        return load_config(REPO / "brandpulse.toml", env=self.all)

    def process_env(self) -> dict[str, str]:
        return {**os.environ, **self.all, "BRANDPULSE_CONFIG": str(REPO / "brandpulse.toml")}


def stack_env(state_dir: Path) -> StackEnv:
    return StackEnv(
        {
            "BRANDPULSE_STACK__STATE_DIR": str(state_dir),
            "BRANDPULSE_STACK__CACHE_DIR": str(REPO / ".brandpulse" / "cache"),
            "BRANDPULSE_STACK__KAFKA_PORT": str(free_port()),
            "BRANDPULSE_STACK__KAFKA_CONTROLLER_PORT": str(free_port()),
            "BRANDPULSE_STACK__PROMETHEUS_PORT": str(free_port()),
            "BRANDPULSE_STACK__ALERTMANAGER_PORT": str(free_port()),
            "BRANDPULSE_STACK__SCRAPE_INTERVAL": "1s",
            "BRANDPULSE_STACK__KAFKA_HEAP": "512m",
            "BRANDPULSE_WORKER__WEB_PORT": str(free_port()),
            "BRANDPULSE_SYNTHETIC__METRICS_PORT": str(free_port()),
            "BRANDPULSE_ALERTING__WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/alerts",
        }
    )


def brandpulse(
    stack: StackEnv, *args: str, timeout: float = 120, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "brandpulse.cli", *args],
        env=stack.process_env(),
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def eventually(
    probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 60.0, step: float = 0.25
) -> T:
    """Poll ``probe`` until ``done`` holds for its value; return the last value either way."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(step)
        value = probe()
    return value


def scrape(url: str) -> Samples:
    """Samples of a /metrics page keyed by name and sorted labels."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return {}
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        value
        for (sample, pairs), value in samples.items()
        if sample == name and all((k, v) in pairs for k, v in labels.items())
    )


def prometheus_query(port: int, query: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


@contextmanager
def worker_process(stack: StackEnv, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``brandpulse worker`` process writing to ``log``; stopped on the way out."""
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "brandpulse.cli", "worker"],
            env=stack.process_env(),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_worker(stack: StackEnv, log_dir: Path) -> Iterator[str]:
    """A worker process; yields its /metrics URL once it answers."""
    url = f"http://127.0.0.1:{stack.config.worker.web_port}/metrics"
    log = log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
    with worker_process(stack, log) as process:
        up = eventually(lambda: bool(scrape(url)) or process.poll() is not None, bool, 90)
        assert up and process.poll() is None, f"worker did not start:\n{log.read_text()}"
        yield url


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Any]:
    """All records of a topic from the start, waiting until at least ``expected`` are there."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1000,
    )
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            records.extend(consumer)
    finally:
        consumer.close()
    return records


def topic_events(config: Config) -> list[Event]:
    """Every event on the raw topic (read until a second passes without a record)."""
    records = read_topic(config.bootstrap, config.kafka.raw_topic, 1, 10)
    return [decode_event(line) for r in records for _, line in iter_lines(r.value)]


def assert_exactly_once(counts: Counter[H], expected: set[H], log: Path) -> None:
    """Each of ``expected`` counted exactly once, and nothing else: no gap, no duplicate. On
    failure: the tail of ``log``, or the duplicated keys."""
    assert set(counts) == expected, log.read_text()[-3000:]
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]


@dataclass
class ConnectorCommand:
    """How a test runs a connector command (``brandpulse rss``, ``brandpulse reddit``, ...): its
    environment, config file and metrics port."""

    command: str
    stack: StackEnv
    config_file: Path
    metrics_port: int

    @classmethod
    def configured(
        cls,
        command: str,
        isolated: StackEnv,
        state: Path,
        settings: str,
        metrics_port: int,
        *,
        env: Mapping[str, str] | None = None,
    ) -> ConnectorCommand:
        """``settings`` written to ``<state>/<command>.toml``; the stack of ``isolated`` with
        its state in ``state`` and ``env`` (credentials) added."""
        config_file = state / f"{command}.toml"
        config_file.write_text(settings)
        extra = {"BRANDPULSE_STACK__STATE_DIR": str(state), **(env or {})}
        stack = StackEnv(isolated.env, {**isolated.extra, **extra})
        return cls(command, stack, config_file, metrics_port)

    @property
    def config(self) -> Config:
        return self.stack.config

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """The command with ``args``, to its end; ``env`` overrides the environment."""
        stack = StackEnv(self.stack.env, {**self.stack.extra, **env})
        return brandpulse(stack, "--config", str(self.config_file), self.command, *args)

    def once(self, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run("--once", **env)

    def start(self, log: Path) -> subprocess.Popen[bytes]:
        """The command running in the background, writing to ``log``."""
        command = [sys.executable, "-m", "brandpulse.cli", "--config", str(self.config_file)]
        with log.open("ab") as handle:
            return subprocess.Popen(
                [*command, self.command],
                env=self.stack.process_env(),
                stdout=handle,
                stderr=subprocess.STDOUT,
            )

    def stop(self, process: subprocess.Popen[bytes], log: Path) -> None:
        """SIGTERM, which must end the process with status 0 within 30 s."""
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, log.read_text()[-3000:]

    @contextmanager
    def running(self, log: Path) -> Iterator[subprocess.Popen[bytes]]:
        """The command running for the ``with`` block, stopped with ``stop`` on the way out."""
        process = self.start(log)
        try:
            yield process
        finally:
            self.stop(process, log)

    def events(self) -> list[Event]:
        return topic_events(self.config)

    def metrics(self) -> Samples:
        return scrape(f"http://127.0.0.1:{self.metrics_port}/metrics")


class FakeHandler(BaseHTTPRequestHandler):
    """A request handler of a test's fake server: answers with a Content-Length, and quiet."""

    def request_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def answer(
        self,
        status: int,
        data: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        cut: bool = False,
    ) -> None:
        """``data`` with ``headers``; ``cut``: only its first half, then the connection is closed
        (a connection dropped mid-answer)."""
        self.send_response(status)
        for name, value in {**(headers or {}), "Content-Length": str(len(data))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if cut else data)
        if cut:
            self.wfile.flush()
            self.close_connection = True

    def answer_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        """``body`` as JSON (``headers`` may name another Content-Type)."""
        every = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        self.answer(status, json.dumps(body).encode(), every)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Notification:
    received: float
    """Wall-clock time it arrived."""
    body: dict[str, Any]


@contextmanager
def webhook_receiver(url: str) -> Iterator[list[Notification]]:
    """An Alertmanager webhook receiver listening at ``url``; yields what it received so far."""
    received: list[Notification] = []

    class Handler(FakeHandler):
        def do_POST(self) -> None:
            received.append(Notification(time.time(), json.loads(self.request_body())))
            self.answer(200, b"")

    address = urllib.parse.urlsplit(url)
    with serving(
        ThreadingHTTPServer((address.hostname or "127.0.0.1", address.port or 80), Handler)
    ):
        yield received


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """Run ``server`` in a thread for the ``with`` block; shut it down and close it after."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def kill_repeatedly(
    start: Callable[[], subprocess.Popen[bytes]],
    kills: int,
    alive: tuple[float, float],
    grow: Callable[[int], None],
) -> None:
    """SIGKILL what ``start`` starts, ``kills`` times after a random ``alive`` span each, while
    ``grow(n)`` adds item ``n`` to the source every 20 ms: crashes at random moments of work."""
    rng = random.Random()
    stop = threading.Event()

    def growing() -> None:
        for n in itertools.count():
            if stop.is_set():
                return
            grow(n)
            time.sleep(0.02)

    grower = threading.Thread(target=growing, daemon=True)
    grower.start()
    try:
        for _ in range(kills):
            process = start()
            time.sleep(rng.uniform(*alive))
            process.send_signal(signal.SIGKILL)
            process.wait()
    finally:
        stop.set()
        grower.join()
