"""The run loop every connector shares: wait, poll the source, publish exactly once, checkpoint.

See the package docstring for why what reaches Kafka is exactly once across crashes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from brandpulse.config import Config
from brandpulse.contract import Event, event_timestamp
from brandpulse.stopping import stop_on_signals
from connectors.metrics import ConnectorStats
from connectors.publisher import Publisher
from connectors.runtime.checkpoint import Checkpoint, CheckpointStore, Cursors, Pending, SeenIds
from connectors.runtime.ledger import TopicLedger, event_key

IDLE_STEP_SECONDS: Final = 0.2
"""Longest sleep between checks of the stop flag and the producer's linger timer."""
log = logging.getLogger("brandpulse.connectors")


@dataclass
class Poll:
    """What one poll of a source brought: events and the new positions of the streams read."""

    events: list[Event] = field(default_factory=list)
    cursors: Cursors = field(default_factory=dict)
    healthy: bool = True
    """False when a stream failed and is being retried later."""


class Source(Protocol):
    """A platform, seen by the run loop: it never publishes or persists anything itself."""

    name: str

    def next_due(self) -> float:
        """The ``time.monotonic()`` at which ``poll`` has work to do."""
        ...

    def poll(self, cursors: Mapping[str, Mapping[str, str]]) -> Poll:
        """Read every stream that is due, starting from its cursor."""
        ...

    def done(self) -> bool:
        """True when a one-shot run has nothing left to do (never for a live run)."""
        ...


def state_dir(config: Config, name: str) -> Path:
    return Path(config.stack.state_dir) / "connectors" / name


class Runner:
    """Owns the checkpoint and the producer; ``commit`` is the only way events reach Kafka."""

    def __init__(
        self,
        config: Config,
        publisher: Publisher,
        ledger: TopicLedger,
        store: CheckpointStore,
    ) -> None:
        self.publisher = publisher
        self.stats: ConnectorStats = publisher.stats
        self._ledger = ledger
        self._store = store
        self._topic = config.kafka.raw_topic
        self.checkpoint = store.load()
        self._seen = SeenIds(self.checkpoint.seen)

    def reconcile(self) -> int:
        """Settle an intent left by a crash: the keys found on the topic count as published,
        the others will be published again by the next poll. Returns how many were found."""
        pending = self.checkpoint.pending
        if pending is None:
            return 0
        landed = self._ledger.keys_since(pending.offsets) if pending.topic == self._topic else set()
        found = [key for key in pending.keys if key in landed]
        self._seen.add(found)
        self._save(self.checkpoint.cursors, pending=None)
        log.info(
            "%s: recovered an interrupted publish: %d of %d events had reached Kafka",
            self.stats.connector,
            len(found),
            len(pending.keys),
        )
        return len(found)

    def commit(self, poll: Poll) -> int:
        """Publish the events not seen before, then save the cursors; returns how many."""
        fresh = {event_key(e): e for e in poll.events if event_key(e) not in self._seen}
        cursors = {**self.checkpoint.cursors, **poll.cursors}
        if fresh:
            intent = Pending(self._topic, self._ledger.end_offsets(), list(fresh))
            self._save(self.checkpoint.cursors, pending=intent)
            for event in fresh.values():
                self.publisher.publish(event)
            self.publisher.flush()
            self._seen.add(fresh)
            newest = max(event_timestamp(e) for e in fresh.values())
            self.stats.last_event_time = max(self.stats.last_event_time, newest)
        if fresh or cursors != self.checkpoint.cursors:
            self._save(cursors, pending=None)
        self.stats.up = poll.healthy
        return len(fresh)

    def _save(self, cursors: Cursors, pending: Pending | None) -> None:
        self.checkpoint = Checkpoint(cursors, self._seen.to_list(), pending)
        self._store.save(self.checkpoint)


def run_connector(
    source: Source,
    config: Config,
    stats: ConnectorStats,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Run ``source`` until it is done or SIGTERM/SIGINT (or ``stop``) ends it; returns the
    number of events published. Shutting down waits for the poll in progress, flushes the
    producer and saves the checkpoint."""
    stop = stop or threading.Event()
    published = 0
    store = CheckpointStore(state_dir(config, source.name))
    client_id = f"brandpulse-{source.name}"
    with (
        Publisher(config, client_id=client_id, stats=stats) as publisher,
        TopicLedger(config.bootstrap, config.kafka.raw_topic, client_id) as ledger,
        stop_on_signals(stop),
    ):
        runner = Runner(config, publisher, ledger, store)
        runner.reconcile()
        while not stop.is_set() and not source.done():
            _wait_until(source.next_due(), stop, publisher, clock)
            if stop.is_set():
                break
            published += runner.commit(source.poll(runner.checkpoint.cursors))
    log.info("%s: stopped after publishing %d events", source.name, published)
    return published


def _wait_until(
    moment: float, stop: threading.Event, publisher: Publisher, clock: Callable[[], float]
) -> None:
    while (remaining := moment - clock()) > 0 and not stop.is_set():
        stop.wait(min(remaining, IDLE_STEP_SECONDS))
        publisher.poll()
