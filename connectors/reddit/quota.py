"""Reddit's request budget, as every API response describes it.

Each response carries ``X-Ratelimit-Used`` (requests spent in the current window),
``X-Ratelimit-Remaining`` (a decimal such as ``598.0``) and ``X-Ratelimit-Reset`` (whole
seconds until the window ends; never a Unix time). The budget belongs to the OAuth client, not
to one listing, so one ``Quota`` paces every request the connector makes: when the remaining
requests fall to the reserve, nothing is sent until the window resets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.runtime.retry import Headers, rate_limit_wait


def budget_wait(headers: Headers, reserve: float, now: float) -> float | None:
    """Seconds to pause according to a response's headers, or None to go on.

    A ``Retry-After`` (a 429 may carry one) wins; otherwise a remaining budget at or below
    ``reserve`` waits for the reset. Missing or malformed headers ask for nothing.
    """
    if (after := rate_limit_wait(headers, now)) is not None:
        return after
    remaining, reset = headers.get("X-Ratelimit-Remaining"), headers.get("X-Ratelimit-Reset")
    try:
        left, seconds = float(remaining or ""), float(reset or "")
    except ValueError:
        return None
    return max(0.0, seconds) if left <= reserve else None


@dataclass
class Quota:
    """When the next request may be sent (``ready_at``, on ``clock``)."""

    reserve: float = 0.0
    clock: Callable[[], float] = time.monotonic
    ready_at: float = 0.0
    used: int | None = field(default=None)
    """The last ``X-Ratelimit-Used`` seen, for the log."""

    def update(self, headers: Headers) -> float | None:
        """Take in a response's headers; returns the pause they ask for, if any."""
        used = headers.get("X-Ratelimit-Used")
        if used is not None and used.strip().isdigit():
            self.used = int(used)
        wait = budget_wait(headers, self.reserve, time.time())
        if wait is not None:
            self.ready_at = max(self.ready_at, self.clock() + wait)
        return wait

    def paused(self) -> bool:
        return self.ready_at > self.clock()
