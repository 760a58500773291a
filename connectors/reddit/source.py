"""The Reddit source: listings read newest first down to the cursor, and subscriber counts.

A listing's cursor is its newest item read (``name``, its fullname, and ``created``, its
``created_utc``). Each read pages from the newest item with ``after`` until it reaches items
older than the cursor minus ``overlap``; the run loop's seen set drops what the overlap reads
again. Anchoring pages with ``before=<cursor>`` instead would save the overlap but fails in
silence: when the anchor item is deleted or removed (common in busy subreddits), Reddit answers
every ``before`` with an empty page, and the listing would look quiet forever.

A read is committed only when complete, so a connection dropped halfway (or a crash) is
read again from the same cursor: no gap, and the seen set makes it no duplicate either.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, TypeVar

import msgspec

from brandpulse.config import RedditConfig
from brandpulse.contract import Event
from connectors.metrics import ConnectorStats
from connectors.reddit.api import Api
from connectors.reddit.mapping import (
    About,
    BrandView,
    Comment,
    Listing,
    Post,
    follower_event,
    item_event,
    things,
)
from connectors.runtime import ONCE_ATTEMPTS, Backoff, Poll, SourceError, backoff_factory

PAGE_SIZE: Final = 100
"""Reddit's largest listing page."""
MAX_PAGES: Final = 10
"""Reddit serves about 1000 items of a listing; older ones cannot be paged to anyway."""
OWN_CAPACITY: Final = 1000
"""Fullnames of the brand's newest posts and comments kept to recognise answers to them."""
T = TypeVar("T")
log = logging.getLogger("brandpulse.reddit")


@dataclass(frozen=True)
class Stream:
    """One listing: new posts or comments of a subreddit, or a search sorted by new."""

    key: str
    """The cursor's name in the checkpoint."""
    brand: BrandView
    path: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Subscribers:
    brand: str
    subreddit: str


@dataclass
class Job:
    """A stream or a subscriber count, with its own schedule and backoff."""

    target: Stream | Subscribers
    backoff: Backoff
    due: float = 0.0
    succeeded: bool = False
    last_error: str = ""

    @property
    def name(self) -> str:
        target = self.target
        return target.key if isinstance(target, Stream) else f"{target.brand}/r/{target.subreddit}"


class QuotaSpent(SourceError):
    """The request budget ran out; the read is resumed after the reset, not counted a failure."""


class OwnItems:
    """Fullnames of the brand's own posts and comments, newest ``capacity`` kept, saved with
    the cursors so a restart still knows what answers the brand."""

    def __init__(self, saved: Mapping[str, str], capacity: int = OWN_CAPACITY) -> None:
        self._items = {name: float(at) for name, at in saved.items()}
        self._capacity = capacity
        self.changed = False

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def add(self, name: str, created_utc: float) -> None:
        if name not in self._items:
            self._items[name] = created_utc
            self.changed = True
        if len(self._items) > self._capacity:
            newest = sorted(self._items.items(), key=lambda pair: pair[1])[-self._capacity :]
            self._items = dict(newest)

    def cursor(self) -> dict[str, str]:
        return {name: repr(at) for name, at in self._items.items()}


class RedditSource:
    name = "reddit"

    def __init__(
        self,
        config: RedditConfig,
        api: Api,
        streams: list[Stream],
        subscribers: list[Subscribers],
        stats: ConnectorStats,
        *,
        once: bool = False,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._config, self._api, self._stats = config, api, stats
        self._once, self._clock = once, clock
        backoff = backoff_factory(config, rng)
        targets: list[Stream | Subscribers] = [*streams, *subscribers]
        self.jobs = [Job(target, backoff()) for target in targets]
        self._own: dict[str, OwnItems] = {}

    def next_due(self) -> float:
        due = min((job.due for job in self._pending()), default=self._clock())
        return max(due, self._api.quota.ready_at)

    def done(self) -> bool:
        return self._once and not self._pending()

    def failed(self) -> list[str]:
        return [job.last_error or job.name for job in self.jobs if not job.succeeded]

    def poll(self, cursors: Mapping[str, Mapping[str, str]]) -> Poll:
        result = Poll()
        for job in self._pending():
            if job.due <= self._clock():
                self._run(job, cursors, result)
        for brand, own in self._own.items():
            if own.changed:
                result.cursors[own_key(brand)] = own.cursor()
                own.changed = False
        result.healthy = not any(job.backoff.failures for job in self.jobs)
        return result

    def _pending(self) -> list[Job]:
        if not self._once:
            return self.jobs
        return [j for j in self.jobs if not j.succeeded and j.backoff.failures < ONCE_ATTEMPTS]

    def _run(self, job: Job, cursors: Mapping[str, Mapping[str, str]], result: Poll) -> None:
        target, interval = job.target, self._config.poll_interval
        try:
            if isinstance(target, Stream):
                self._read(target, cursors, result)
            else:
                result.events.append(self._count(target))
                interval = self._config.follower_interval
        except QuotaSpent:
            job.due = max(job.due, self._api.quota.ready_at)
            log.info("%s: request budget spent, resuming in %.1f s", job.name, self._left())
            return
        except SourceError as exc:
            self._failed(job, exc)
            return
        job.backoff.reset()
        job.succeeded = True
        job.due = max(self._clock() + interval, self._api.quota.ready_at)

    def _read(self, stream: Stream, cursors: Mapping[str, Mapping[str, str]], result: Poll) -> None:
        cursor = cursors.get(stream.key, {})
        newest = float(cursor["created"]) if "created" in cursor else None
        items = self._fetch(stream, None if newest is None else newest - self._config.overlap)
        own = self._own_items(stream.brand.brand, cursors)
        events: list[Event] = []
        for item in reversed(items):  # pages are newest first; publish in the order posted
            if stream.brand.owns(item.author):
                own.add(item.name, item.created_utc)
            if (event := item_event(item, stream.brand, own)) is not None:
                events.append(event)
        result.events.extend(events)
        latest = max(items, key=lambda item: item.created_utc, default=None)
        if latest is not None and (newest is None or latest.created_utc > newest):
            result.cursors[stream.key] = {"name": latest.name, "created": repr(latest.created_utc)}
        if items:
            log.info("%s: %d items read, %d events", stream.key, len(items), len(events))

    def _fetch(self, stream: Stream, since: float | None) -> list[Post | Comment]:
        """The listing's items created at or after ``since``, newest first; without ``since``
        (a first read), its newest page."""
        found: list[Post | Comment] = []
        after: list[tuple[str, str]] = []
        for _ in range(MAX_PAGES):
            if self._api.quota.paused():
                raise QuotaSpent("rate_limited", f"{stream.key}: request budget spent")
            params = [*stream.params, ("limit", str(PAGE_SIZE)), ("raw_json", "1"), *after]
            listing = _decode(self._api.get(stream.path, params), Listing, stream.path)
            page = _things(listing, stream.path)
            fresh = [item for item in page if since is None or item.created_utc >= since]
            found.extend(fresh)
            if since is None or len(fresh) < len(page) or not listing.data.after:
                return found
            after = [("after", listing.data.after)]
        log.warning("%s: more than %d pages new; older items are skipped", stream.key, MAX_PAGES)
        return found

    def _own_items(self, brand: str, cursors: Mapping[str, Mapping[str, str]]) -> OwnItems:
        if brand not in self._own:
            self._own[brand] = OwnItems(cursors.get(own_key(brand), {}))
        return self._own[brand]

    def _count(self, target: Subscribers) -> Event:
        path = f"/r/{target.subreddit}/about"
        if self._api.quota.paused():
            raise QuotaSpent("rate_limited", f"{path}: request budget spent")
        about = _decode(self._api.get(path, [("raw_json", "1")]), About, path)
        return follower_event(about.data, target.brand, datetime.now(UTC))

    def _failed(self, job: Job, exc: SourceError) -> None:
        self._stats.errors[exc.kind] += 1
        delay = max(job.backoff.next_delay(), exc.wait or 0.0)
        job.due = self._clock() + delay
        job.last_error = f"{job.name}: {exc}"
        log.warning("%s: %s; retrying in %.1f s", job.name, exc, delay)

    def _left(self) -> float:
        return max(0.0, self._api.quota.ready_at - self._clock())


def own_key(brand: str) -> str:
    """The checkpoint entry holding the brand's own fullnames (next to the listings' cursors)."""
    return f"{brand}/own"


def _decode(body: bytes, kind: type[T], where: str) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise SourceError("parse", f"{where}: unexpected answer: {exc}") from None


def _things(listing: Listing, where: str) -> list[Post | Comment]:
    try:
        return things(listing)
    except msgspec.DecodeError as exc:
        raise SourceError("parse", f"{where}: unexpected item: {exc}") from None
