"""One Jetstream subscription, read in a background thread and queued for the poll loop.

The run loop publishes only what ``poll`` returns, so the thread never publishes: it decodes
each message and queues it. Jetstream replays from a ``cursor`` (a Unix time in microseconds,
the ``time_us`` of its events), so a dropped connection is resumed from the newest ``time_us``
received, moved back by ``rewind`` as Jetstream recommends for gapless playback; what the
overlap repeats has the same ids and is dropped by the run loop's seen set.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import msgspec
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)
from websockets.sync.client import ClientConnection, connect

from connectors.bluesky.mapping import JetstreamEvent
from connectors.metrics import ConnectorStats
from connectors.runtime import Backoff, SourceError, rate_limit_wait, redact_url
from connectors.runtime.streaming import ReconnectingStream

USER_AGENT: Final = "brandpulse-bluesky/0.1"
MAX_MESSAGE_BYTES: Final = 2 * 1024 * 1024
"""Jetstream's events are small (a post's record is capped at a few KiB)."""
MAX_QUEUED: Final = 50_000
"""Messages held for the poll loop; beyond this the reader waits (the socket buffers, and
Jetstream drops a consumer that falls too far behind, which the cursor then resumes)."""
_KINDS: Final = {429: "rate_limited", 401: "auth", 403: "auth"}
log = logging.getLogger("brandpulse.bluesky")


@dataclass(frozen=True)
class Subscription:
    """What to ask Jetstream for: ``wantedCollections`` and, optionally, ``wantedDids``."""

    endpoint: str
    collections: Sequence[str]
    dids: Sequence[str] = ()

    def url(self, cursor: int | None) -> str:
        params = [("wantedCollections", c) for c in self.collections]
        params += [("wantedDids", d) for d in self.dids]
        if cursor is not None:
            params.append(("cursor", str(cursor)))
        return f"{self.endpoint}?{urllib.parse.urlencode(params)}"


class Jetstream(ReconnectingStream):
    """Keeps the subscription open, reconnecting from the cursor with backoff.

    With ``until`` (a one-shot run) reading ends at the first event at or after that time, or
    when the stream falls silent (nothing newer to replay), or after ``attempts`` failed
    connections in a row; ``finished`` then turns true.
    """

    def __init__(
        self,
        subscription: Subscription,
        *,
        timeout: float,
        open_timeout: float,
        rewind: float,
        backoff: Backoff,
        stats: ConnectorStats,
        until: int | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__("jetstream", thread="jetstream", stats=stats, log=log)
        self.events: deque[JetstreamEvent] = deque()
        self.connected = False
        self.connections = 0
        self.finished = False
        self.gave_up = False
        self.last_error = ""
        self._subscription, self._timeout, self._open_timeout = subscription, timeout, open_timeout
        self._rewind_us = int(rewind * 1_000_000)
        self._backoff = backoff
        self._until, self._attempts = until, attempts
        self._newest: int | None = None
        self._stop = threading.Event()

    def start(self, cursor: int | None) -> None:
        """Subscribe from ``cursor`` (None: from now on)."""
        self._newest = cursor
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def cursor(self) -> int | None:
        """Where the next connection starts: the newest ``time_us`` received, rewound."""
        return None if self._newest is None else max(0, self._newest - self._rewind_us)

    def _stopped(self) -> bool:
        return self.finished or self._stop.is_set()

    def _disconnected(self) -> None:
        self.connected = False

    def _delay(self, error: SourceError) -> float:
        return max(self._backoff.next_delay(), error.wait or 0.0)

    def _give_up(self, detail: str) -> bool:
        """Note the failure for ``failed``; a one-shot run gives up after ``attempts`` in a row."""
        self.last_error = f"jetstream: {detail}"
        if self._attempts is None or self._backoff.failures < self._attempts:
            return False
        log.warning("jetstream: %s; giving up", detail)
        self.finished = self.gave_up = True
        return True

    def _sleep(self, delay: float) -> None:
        self._stop.wait(delay)

    def _follow(self) -> None:
        cursor = self.cursor()
        with self._open(self._subscription.url(cursor)) as connection:
            self.connected = True
            self.connections += 1
            log.info("jetstream: connected (cursor %s)", cursor)
            try:
                self._read(connection)
            except TimeoutError:
                if self._until is None:
                    raise SourceError(
                        "timeout", f"no message for {self._timeout} s, the stream is dead"
                    ) from None
                self.finished = True  # a one-shot run: nothing newer to replay
            except ConnectionClosedOK:
                return
            except ConnectionClosed as exc:
                raise SourceError("connection", f"connection lost: {exc}") from None

    def _open(self, url: str) -> ClientConnection:
        where = redact_url(url)
        try:
            return connect(
                url,
                open_timeout=self._open_timeout,
                user_agent_header=USER_AGENT,
                max_size=MAX_MESSAGE_BYTES,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            wait = rate_limit_wait(exc.response.headers, time.time())
            raise SourceError(_KINDS.get(status, "http"), f"{where}: HTTP {status}", wait) from None
        except TimeoutError:
            raise SourceError(
                "timeout", f"{where}: no handshake within {self._open_timeout} s"
            ) from None
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            raise SourceError("connection", f"{where}: connection failed: {exc!r}") from None

    def _read(self, connection: ClientConnection) -> None:
        while not self._stop.is_set():
            message = connection.recv(timeout=self._timeout)
            self._backoff.reset()
            if self._take(message):
                self.finished = True
                return
            while len(self.events) >= MAX_QUEUED and not self._stop.is_set():
                self._stop.wait(0.05)

    def _take(self, message: str | bytes) -> bool:
        """Queue one message; True when a one-shot run has reached its end."""
        try:
            event = msgspec.json.decode(message, type=JetstreamEvent)
        except msgspec.DecodeError as exc:
            self._stats.errors["parse"] += 1
            log.warning("jetstream: unreadable message: %s", exc)
            return False
        self.events.append(event)
        self._newest = max(self._newest or 0, event.time_us)
        return self._until is not None and event.time_us >= self._until
