"""The filtered stream connection, read in a background thread and queued for the poll loop.

The stream is newline-delimited JSON over one long chunked HTTP response, with a bare ``\\r\\n``
keep-alive every 20 s or so. The thread never publishes: it queues each line with the number of
the connection it came on (``generation``), and the source decides when a connection's lines
count (after the recent-search catch-up that follows every new connection). A connection silent
for ``stall_timeout`` is given up and reopened on X's backoff schedule.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from connectors.metrics import ConnectorStats
from connectors.runtime import SourceError
from connectors.x.api import XApi
from connectors.x.backoff import XBackoff

STREAM_PATH: Final = "/2/tweets/search/stream"
log = logging.getLogger("brandpulse.x")


@dataclass(frozen=True)
class Connection:
    generation: int
    opened: float
    """``clock()`` when the server accepted the connection."""


class FilteredStream:
    """Keeps the stream open; ``connection`` is None while there is none."""

    def __init__(
        self,
        api: XApi,
        params: Sequence[tuple[str, str]],
        *,
        stall_timeout: float,
        backoff: XBackoff,
        stats: ConnectorStats,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection: Connection | None = None
        self.lines: deque[tuple[int, bytes]] = deque()
        self._api, self._params, self._stall_timeout = api, params, stall_timeout
        self._backoff, self._stats, self._clock = backoff, stats, clock
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name="x filtered stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while True:  # a daemon thread: it ends with the process
            try:
                self._follow()
                error = SourceError("stream_closed", "the server closed the stream")
            except SourceError as exc:
                error = exc
            self.connection = None
            self._stats.errors[error.kind] += 1
            self._stats.errors["stream_dropped"] += 1
            delay = self._backoff.next_delay(error)
            log.warning("stream: %s; reconnecting in %.2f s", error.detail, delay)
            time.sleep(delay)

    def _follow(self) -> None:
        with self._api.stream(STREAM_PATH, self._params, self._stall_timeout) as response:
            self._generation += 1
            self.connection = Connection(self._generation, self._clock())
            log.info("stream: connected")
            try:
                for line in response:
                    self._backoff.reset()
                    if line.strip():  # else a keep-alive
                        self.lines.append((self._generation, line))
            except TimeoutError:
                raise SourceError(
                    "stalled", f"no data or keep-alive for {self._stall_timeout} s"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                raise SourceError("connection", f"broken stream: {exc!r}") from None
