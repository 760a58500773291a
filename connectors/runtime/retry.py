"""When to try again: exponential backoff with full jitter, and what rate-limit headers say.

Full jitter (a delay drawn uniformly below an exponentially growing ceiling) spreads the retries
of many clients hit by the same outage, instead of having them return in lock step. A floor of a
tenth of the initial delay keeps an unlucky draw from turning into a busy loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Final, Protocol

EPOCH_THRESHOLD: Final = 1_000_000_000.0
"""A reset header value above this is a Unix time; below it, a number of seconds from now."""
ONCE_ATTEMPTS: Final = 5
"""A one-shot run gives up on a resource (a feed, a stream, a count) after this many failed
attempts in a row, so that it ends even while a platform is down."""


class Headers(Protocol):
    def get(self, name: str, /) -> str | None: ...


class Backoff:
    """Retry delays for one failing resource: ``next_delay`` per failure, ``reset`` on success."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.maximum = maximum
        self.failures = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        """The largest delay the next failure may get."""
        return float(min(self.maximum, self.initial * 2.0**self.failures))

    def next_delay(self) -> float:
        delay = max(self.initial / 10, self._rng.uniform(0, self.ceiling()))
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


class RetrySettings(Protocol):
    """A connector's config section: the bounds of its retry delays."""

    retry_initial: float
    retry_max: float


def backoff_factory(
    settings: RetrySettings, rng: random.Random | None = None
) -> Callable[[], Backoff]:
    """Makes a ``Backoff`` per resource of a source, so each is retried on its own schedule, with
    the section's bounds; all draw from one ``rng``, so that a test's seeded one decides every
    delay."""
    shared = rng or random.Random()
    return lambda: Backoff(settings.retry_initial, settings.retry_max, shared)


def retry_after(value: str, now: float) -> float | None:
    """Seconds to wait according to a ``Retry-After`` value (delay-seconds or an HTTP date,
    RFC 9110 10.2.3), counted from ``now`` (Unix time); None when the value is neither."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, moment.timestamp() - now)


def rate_limit_wait(headers: Headers, now: float) -> float | None:
    """Seconds the server asks us to wait before the next request, if it asks.

    ``Retry-After`` wins; otherwise an exhausted quota (``X-RateLimit-Remaining: 0``, or
    Reddit's ``0.0``, or the IETF draft's ``RateLimit-Remaining: 0``) waits for its
    ``...-Reset``, which platforms give as a Unix time, as seconds from now, or (Mastodon) as an
    ISO 8601 time.
    """
    after = headers.get("Retry-After")
    if after is not None and (wait := retry_after(after, now)) is not None:
        return wait
    for prefix in ("X-RateLimit-", "RateLimit-"):
        remaining, reset = headers.get(prefix + "Remaining"), headers.get(prefix + "Reset")
        if remaining is None or reset is None or not _spent(remaining):
            continue
        if (wait := _reset_wait(reset, now)) is not None:
            return wait
    return None


def _spent(remaining: str) -> bool:
    try:
        return float(remaining) <= 0
    except ValueError:
        return False


def _reset_wait(reset: str, now: float) -> float | None:
    """Seconds until a ``...-Reset`` value: a Unix time, seconds from now, or an ISO 8601 time
    with an offset (Mastodon's ``2026-11-25T14:05:00.000Z``); None for anything else."""
    try:
        value = float(reset)
    except ValueError:
        try:
            moment = datetime.fromisoformat(reset.strip())
        except ValueError:
            return None
        if moment.tzinfo is None:
            return None
        return max(0.0, moment.timestamp() - now)
    return max(0.0, value - now if value > EPOCH_THRESHOLD else value)
