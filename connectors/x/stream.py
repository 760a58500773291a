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
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import ClassVar, Final

from connectors.metrics import ConnectorStats
from connectors.runtime import SourceError
from connectors.runtime.streaming import CLOSED, NumberedStream
from connectors.x.api import XApi
from connectors.x.backoff import XBackoff

STREAM_PATH: Final = "/2/tweets/search/stream"
log = logging.getLogger("brandpulse.x")


class FilteredStream(NumberedStream):
    """Keeps the stream open on X's reconnection schedule."""

    RECONNECTING: ClassVar[str] = "%s: %s; reconnecting in %.2f s"
    """X's delays step by 250 ms, so they are logged to the hundredth."""

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
        super().__init__("stream", thread="x filtered stream", stats=stats, log=log, clock=clock)
        self.lines: deque[tuple[int, bytes]] = deque()
        self._api, self._params, self._stall_timeout = api, params, stall_timeout
        self._backoff = backoff

    def _delay(self, error: SourceError) -> float:
        return self._backoff.next_delay(error)

    def _follow(self) -> None:
        """Read the stream; a close by X is a ``stream_closed`` failure, counted and backed off
        as a network error (X's schedule)."""
        with self._api.stream(STREAM_PATH, self._params, self._stall_timeout) as response:
            generation = self._connected()
            try:
                for line in response:
                    self._backoff.reset()
                    if line.strip():  # else a keep-alive
                        self.lines.append((generation, line))
            except TimeoutError:
                raise SourceError(
                    "stalled", f"no data or keep-alive for {self._stall_timeout} s"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                raise SourceError("connection", f"broken stream: {exc!r}") from None
        raise SourceError("stream_closed", CLOSED)
