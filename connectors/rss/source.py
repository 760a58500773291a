"""Polling feeds over HTTP: conditional GET, a schedule and a backoff per feed."""

from __future__ import annotations

import http.client
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from brandpulse.config import FeedConfig, RssConfig
from brandpulse.contract import Event
from brandpulse.errors import BrandpulseError
from connectors.metrics import ConnectorStats
from connectors.rss.feed import FeedError, parse_feed
from connectors.rss.mapping import BrandMatcher, item_events
from connectors.runtime import (
    HTTP_FAILURES,
    ONCE_ATTEMPTS,
    Backoff,
    Poll,
    SourceError,
    backoff_factory,
    http_failure,
    rate_limit_wait,
    read_body,
    redact_url,
)

MAX_FEED_BYTES: Final = 16 * 1024 * 1024
log = logging.getLogger("brandpulse.rss")


@dataclass
class Fetched:
    status: int
    body: bytes
    cursor: dict[str, str]
    wait: float | None
    """Seconds the server asks us to pause (an exhausted quota), if it does."""


@dataclass
class FeedState:
    config: FeedConfig
    backoff: Backoff
    due: float = 0.0
    succeeded: bool = False
    last_error: str = ""


class RssSource:
    """The feeds of ``[rss]``: each is polled on its own interval, and retried on its own."""

    name = "rss"

    def __init__(
        self,
        config: RssConfig,
        brands: list[BrandMatcher],
        stats: ConnectorStats,
        *,
        once: bool = False,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if not config.feeds:
            raise BrandpulseError("no feeds to poll: add them to [rss] feeds in the config file")
        self._config = config
        self._brands = brands
        self._stats = stats
        self._once = once
        self._clock = clock
        backoff = backoff_factory(config, rng)
        self.feeds = [FeedState(feed, backoff()) for feed in config.feeds]

    def next_due(self) -> float:
        return min(feed.due for feed in self._pending())

    def done(self) -> bool:
        return self._once and not self._pending()

    def failed(self) -> list[FeedState]:
        return [feed for feed in self.feeds if not feed.succeeded]

    def poll(self, cursors: Mapping[str, Mapping[str, str]]) -> Poll:
        result = Poll()
        for feed in self._pending():
            if feed.due <= self._clock():
                self._poll_feed(feed, cursors.get(feed.config.url, {}), result)
        result.healthy = not any(feed.backoff.failures for feed in self.feeds)
        return result

    def _pending(self) -> list[FeedState]:
        if not self._once:
            return self.feeds
        return [f for f in self.feeds if not f.succeeded and f.backoff.failures < ONCE_ATTEMPTS]

    def _poll_feed(self, feed: FeedState, cursor: Mapping[str, str], result: Poll) -> None:
        url = feed.config.url
        try:
            fetched = fetch(url, cursor, self._config)
            events = self._events(url, fetched)
        except SourceError as exc:
            self._failed(feed, exc)
            return
        feed.backoff.reset()
        feed.succeeded = True
        feed.due = self._clock() + max(feed.config.interval, fetched.wait or 0.0)
        result.events.extend(events)
        result.cursors[url] = fetched.cursor
        log.info("%s: %s, %d matching", redact_url(url), _status_text(fetched.status), len(events))

    def _events(self, url: str, fetched: Fetched) -> list[Event]:
        if fetched.status == http.HTTPStatus.NOT_MODIFIED:
            return []
        try:
            feed = parse_feed(fetched.body)
        except FeedError as exc:
            raise SourceError("parse", str(exc)) from None
        now = datetime.now(UTC)
        events = [e for item in feed.items for e in item_events(item, feed, url, self._brands, now)]
        # Feeds list the newest first; published oldest first, a poll's items are never behind
        # the newer ones of the same poll by more than the allowed lateness (the analytics keep
        # a watermark per platform, from its newest event).
        return sorted(events, key=lambda e: (e.time, e.id))

    def _failed(self, feed: FeedState, exc: SourceError) -> None:
        self._stats.errors[exc.kind] += 1
        delay = feed.backoff.next_delay()
        if exc.wait is not None:
            delay = max(delay, exc.wait)  # a server answering "retry after 0" gets no busy loop
        feed.due = self._clock() + delay
        feed.last_error = str(exc)
        log.warning("%s: %s; retrying in %.1f s", redact_url(feed.config.url), exc, delay)


def fetch(url: str, cursor: Mapping[str, str], config: RssConfig) -> Fetched:
    """One conditional GET; raises ``SourceError`` for anything but 200 and 304."""
    headers = {
        "User-Agent": config.user_agent,
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
    }
    if "etag" in cursor:
        headers["If-None-Match"] = cursor["etag"]
    if "last_modified" in cursor:
        headers["If-Modified-Since"] = cursor["last_modified"]
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:
            return Fetched(
                response.status,
                read_body(response, redact_url(url), MAX_FEED_BYTES),
                _cursor(response.headers),
                rate_limit_wait(response.headers, time.time()),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == http.HTTPStatus.NOT_MODIFIED:
            return Fetched(exc.code, b"", dict(cursor), rate_limit_wait(exc.headers, time.time()))
        raise http_failure(exc, redact_url(url), config.timeout) from None
    except HTTP_FAILURES as exc:
        raise http_failure(exc, redact_url(url), config.timeout) from None


def _cursor(headers: http.client.HTTPMessage) -> dict[str, str]:
    pairs = (("etag", headers.get("ETag")), ("last_modified", headers.get("Last-Modified")))
    return {key: value for key, value in pairs if value}


def _status_text(status: int) -> str:
    return "not modified" if status == http.HTTPStatus.NOT_MODIFIED else f"HTTP {status}"
