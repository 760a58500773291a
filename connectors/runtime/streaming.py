"""Long-lived subscriptions (Jetstream, Mastodon's streaming API, X's filtered stream), each read
in a daemon thread and reopened whenever it drops.

Every streaming source reconnects the same way, and its dashboards and alerts read the same
counters, so the loop lives here once: follow the stream until it ends; count a failure under
its kind (``brandpulse_connector_errors_total``) and every drop as ``stream_dropped``; wait
what the subclass's backoff says (which honours what the server asked for); log; reconnect.
A subclass says how to follow one connection and how long to wait, and may say when to stop.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final

from connectors.metrics import ConnectorStats
from connectors.runtime.failures import SourceError

CLOSED: Final = "the server closed the stream"


class ReconnectingStream(ABC):
    """The reconnect loop of one subscription, named ``label`` in log lines.

    A close by the server is no error: the loop hands ``_delay`` a ``stream_closed`` error it
    does not count. A source whose backoff treats a close as a failure (X) raises that error
    from ``_follow`` instead, and the loop counts it like any other.
    """

    RECONNECTING: ClassVar[str] = "%s: %s; reconnecting in %.1f s"
    """The warning for a drop: label, what ended the connection, the delay."""

    def __init__(
        self, label: str, *, thread: str, stats: ConnectorStats, log: logging.Logger
    ) -> None:
        self._label, self._stats, self._log = label, stats, log
        self._thread = threading.Thread(target=self._run, name=thread, daemon=True)

    @abstractmethod
    def _follow(self) -> None:
        """Open one connection and read it until it ends; ``SourceError`` for a failure."""

    @abstractmethod
    def _disconnected(self) -> None:
        """Forget the connection that just ended."""

    @abstractmethod
    def _delay(self, error: SourceError) -> float:
        """Seconds to wait before reconnecting after ``error``."""

    def _stopped(self) -> bool:
        """True when the subscription is over (never for a live daemon thread)."""
        return False

    def _give_up(self, detail: str) -> bool:
        """Called for each drop before the wait; True ends the loop instead of reconnecting."""
        return False

    def _sleep(self, delay: float) -> None:
        time.sleep(delay)

    def _run(self) -> None:
        while not self._stopped():
            try:
                self._follow()
                error = SourceError("stream_closed", CLOSED)
            except SourceError as exc:
                self._stats.errors[exc.kind] += 1
                error = exc
            self._disconnected()
            if self._stopped():
                return
            self._stats.errors["stream_dropped"] += 1
            delay = self._delay(error)
            if self._give_up(error.detail):
                return
            self._log.warning(self.RECONNECTING, self._label, error.detail, delay)
            self._sleep(delay)


@dataclass(frozen=True)
class Connection:
    generation: int
    opened: float
    """``clock()`` when the server accepted the connection."""


class NumberedStream(ReconnectingStream):
    """A subscription whose connections are numbered (``generation``, from 1).

    Items are queued with the number of the connection they came on, and ``connection`` (None
    while there is none) says which is open and since when: a source trusts a connection's
    items only after a REST catch-up that began while it was already open, and catches up over
    REST again after each drop. That is what makes the stream gap-free.
    """

    def __init__(
        self,
        label: str,
        *,
        thread: str,
        stats: ConnectorStats,
        log: logging.Logger,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(label, thread=thread, stats=stats, log=log)
        self.connection: Connection | None = None
        self._clock = clock
        self._generation = 0

    def start(self) -> None:
        self._thread.start()

    def _connected(self) -> int:
        """Number the connection the server just accepted; its ``generation``."""
        self._generation += 1
        self.connection = Connection(self._generation, self._clock())
        self._log.info("%s: connected", self._label)
        return self._generation

    def _disconnected(self) -> None:
        self.connection = None
