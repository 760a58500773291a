"""Publishing to Kafka for every connector: events in per-brand batches, dead letters alone."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Final

from brandpulse.config import Config
from brandpulse.contract import Event, encode_event
from brandpulse.deadletter import DeadLetter, encode_dead_letter
from brandpulse.errors import BrandpulseError
from brandpulse.framing import BatchBuilder
from brandpulse.kafka_io import ensure_topics, make_producer
from connectors.metrics import ConnectorStats

LINGER_SECONDS: Final = 0.2
"""A batch that is not full is sent after this long, so slow sources still arrive quickly."""


class Publisher:
    """Sends events keyed by brand, so each brand's events stay ordered in one partition."""

    def __init__(self, config: Config, client_id: str, stats: ConnectorStats | None = None) -> None:
        ensure_topics(config)
        self.stats = stats or ConnectorStats(client_id.removeprefix("brandpulse-"))
        self._producer = make_producer(config.bootstrap, client_id)
        self._raw_topic = config.kafka.raw_topic
        self._dead_letter_topic = config.kafka.dead_letter_topic
        self._batches = BatchBuilder()
        self._failures: list[BaseException] = []
        self._last_drain = time.monotonic()

    def publish(self, event: Event) -> None:
        self.stats.published[event.platform] += 1
        self.stats.last_publish = time.time()
        batch = self._batches.add(event.brand, encode_event(event))
        if batch is not None:
            self._send(self._raw_topic, event.brand, batch)
        self.poll()

    def dead_letter(self, letter: DeadLetter) -> None:
        self.stats.dead_letters[letter.reason] += 1
        self._send(self._dead_letter_topic, letter.source, encode_dead_letter(letter))

    def poll(self) -> None:
        """Send batches that waited longer than the linger time; call it while idle too."""
        if time.monotonic() - self._last_drain >= LINGER_SECONDS:
            self._drain()

    def flush(self, timeout: float = 60.0) -> None:
        """Send everything buffered and wait for the broker's acks; raise if any failed."""
        self._drain()
        self._producer.flush(timeout=timeout)
        if self._failures:
            failures, self._failures = self._failures, []
            self.stats.errors["kafka_write"] += len(failures)
            raise BrandpulseError(
                f"{len(failures)} Kafka writes failed; the first: {failures[0]!r}"
            )

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._producer.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _drain(self) -> None:
        for brand, batch in self._batches.drain():
            self._send(self._raw_topic, brand, batch)
        self._last_drain = time.monotonic()

    def _send(self, topic: str, key: str, value: bytes) -> None:
        future: Any = self._producer.send(topic, key=key.encode(), value=value)
        future.add_errback(self._failures.append)
