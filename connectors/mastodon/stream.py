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
import time
from collections import deque
from collections.abc import Callable, Sequence

from connectors.mastodon.api import Api
from connectors.mastodon.sse import SseEvent, parse_sse
from connectors.metrics import ConnectorStats
from connectors.runtime import Backoff, SourceError
from connectors.runtime.streaming import NumberedStream

log = logging.getLogger("brandpulse.mastodon")


class LiveStream(NumberedStream):
    """Keeps one subscription open, reconnecting with the runtime's jittered backoff."""

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
        label = f"stream {path}"
        super().__init__(label, thread=label, stats=stats, log=log, clock=clock)
        self.path = path
        self.events: deque[tuple[int, SseEvent]] = deque()
        self._api, self._params, self._timeout, self._backoff = api, params, timeout, backoff

    def _delay(self, error: SourceError) -> float:
        return max(self._backoff.next_delay(), error.wait or 0.0)

    def _follow(self) -> None:
        with self._api.stream(self.path, self._params, self._timeout) as response:
            generation = self._connected()
            try:
                for event in parse_sse(response):
                    self._backoff.reset()
                    if event is not None:
                        self.events.append((generation, event))
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                raise SourceError("timeout", f"silent or broken stream: {exc!r}") from None
