"""One streaming API subscription, read in a background thread and queued for the poll loop.

The run loop publishes only what ``poll`` returns, so the thread never publishes: it queues
each event with the number of the connection it came on (``generation``). The source goes live
on a connection only after a REST catch-up that started while that connection was already open,
and consumes only that connection's events; whatever a dropped connection missed is caught up
over REST before the next connection's events count. That is what makes the stream gap-free.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from connectors.mastodon.api import Api
from connectors.mastodon.sse import SseEvent, parse_sse
from connectors.metrics import ConnectorStats
from connectors.runtime import Backoff, SourceError

log = logging.getLogger("brandpulse.mastodon")


@dataclass(frozen=True)
class Connection:
    generation: int
    opened: float
    """``clock()`` when the server accepted the subscription."""


class LiveStream:
    """Keeps one subscription open, reconnecting with backoff; ``connection`` is None while
    there is none."""

    def __init__(
        self,
        api: Api,
        path: str,
        params: Sequence[tuple[str, str]],
        *,
        timeout: float,
        backoff: Backoff,
        stats: ConnectorStats,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.connection: Connection | None = None
        self.events: deque[tuple[int, SseEvent]] = deque()
        self._api, self._params, self._timeout = api, params, timeout
        self._backoff, self._stats, self._clock = backoff, stats, clock
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name=f"stream {path}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while True:  # a daemon thread: it ends with the process
            wait: float | None = None
            try:
                self._follow()
                detail = "the server closed the stream"
            except SourceError as exc:
                self._stats.errors[exc.kind] += 1
                detail, wait = str(exc), exc.wait
            self.connection = None
            self._stats.errors["stream_dropped"] += 1
            delay = max(self._backoff.next_delay(), wait or 0.0)
            log.warning("stream %s: %s; reconnecting in %.1f s", self.path, detail, delay)
            time.sleep(delay)

    def _follow(self) -> None:
        with self._api.stream(self.path, self._params, self._timeout) as response:
            self._generation += 1
            self.connection = Connection(self._generation, self._clock())
            log.info("stream %s: connected", self.path)
            try:
                for event in parse_sse(response):
                    self._backoff.reset()
                    if event is not None:
                        self.events.append((self._generation, event))
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                raise SourceError("timeout", f"silent or broken stream: {exc!r}") from None
