"""X's reconnection schedule, from its filtered-stream guide: back off linearly for network
errors (250 ms more per attempt, up to 16 s), exponentially for HTTP errors (from 5 s, doubling
up to 320 s) and, from a longer start, for 429s (from one minute, doubling).

Unlike the runtime's ``Backoff`` the delays are not jittered: X asks for this schedule, and a
single stream per app has no herd to spread. Each kind counts its own attempts; any success
starts all three over.
"""

from __future__ import annotations

from typing import Final

from brandpulse.config import XConfig
from connectors.runtime import SourceError

NETWORK_KINDS: Final = frozenset({"connection", "timeout", "stalled", "stream_closed"})
"""Failures below HTTP: refused or broken connections, silence, a stream closed by the peer."""


class XBackoff:
    """Delays for one resource (the stream, a rule's search, a handle's lookup)."""

    def __init__(self, config: XConfig) -> None:
        self._config = config
        self._attempts = {"network": 0, "http": 0, "rate_limited": 0}

    @property
    def failures(self) -> int:
        return sum(self._attempts.values())

    def next_delay(self, error: SourceError) -> float:
        """The wait after ``error``: the schedule's, or longer if the server asked for longer
        (``x-rate-limit-reset``, ``Retry-After``)."""
        config, kind = self._config, _schedule(error)
        attempt = self._attempts[kind]
        self._attempts[kind] = attempt + 1
        if kind == "network":
            delay = min(config.network_backoff_max, config.network_backoff_step * (attempt + 1))
        elif kind == "http":
            delay = min(config.http_backoff_max, config.http_backoff_initial * 2.0**attempt)
        else:
            delay = min(
                config.rate_limit_backoff_max, config.rate_limit_backoff_initial * 2.0**attempt
            )
        return max(delay, error.wait or 0.0)

    def reset(self) -> None:
        self._attempts = dict.fromkeys(self._attempts, 0)


def _schedule(error: SourceError) -> str:
    if error.kind == "rate_limited":
        return "rate_limited"
    return "network" if error.kind in NETWORK_KINDS else "http"
