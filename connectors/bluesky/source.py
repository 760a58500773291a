"""The Bluesky source: the Jetstream subscription drained into events, and follower counts.

The cursor is the newest ``time_us`` drained. Every poll maps all the messages queued so far
and returns their events with that cursor, so the cursor the run loop commits never passes an
event that was not published with it. A restart (or a crash) resumes from the committed
cursor, rewound a few seconds; the seen set drops what the overlap repeats. A first run has no
cursor: it starts from the current time and commits that at once, so even a crash before the
first event resumes from there.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import msgspec

from brandpulse.config import BlueskyConfig
from brandpulse.contract import Event
from connectors.bluesky.appview import AppView
from connectors.bluesky.jetstream import Jetstream, Subscription
from connectors.bluesky.mapping import (
    COLLECTIONS,
    BrandAccount,
    JetstreamEvent,
    created_item,
    follower_event,
    follows,
    item_events,
)
from connectors.metrics import ConnectorStats
from connectors.runtime import ONCE_ATTEMPTS, Backoff, Poll, SourceError, backoff_factory

CURSOR: Final = "jetstream"
"""The cursor's name in the checkpoint; its one field is ``time_us``."""
STREAM_TICK: Final = 0.25
"""Seconds between drains of the queue: the latency the connector adds."""
CURSOR_SAVE_SECONDS: Final = 5.0
"""A cursor moved only by messages that concern no brand is saved this often, not per poll:
the whole network's likes move it all the time, and a replay of a few seconds costs nothing."""
MAX_DRAIN: Final = 20_000
"""Messages per poll: a long replay is committed in parts, each with its cursor."""
FOLLOW_REFRESH_SECONDS: Final = 60.0
"""A new follow of a brand brings its next follower count forward, to no sooner than this
after the last one (and not while a failed count waits for its retry)."""
log = logging.getLogger("brandpulse.bluesky")


@dataclass
class Followers:
    account: BrandAccount
    backoff: Backoff
    due: float = 0.0
    last: float = float("-inf")
    polled: bool = False
    last_error: str = ""


class BlueskySource:
    name = "bluesky"

    def __init__(
        self,
        config: BlueskyConfig,
        brands: Sequence[BrandAccount],
        appview: AppView,
        stats: ConnectorStats,
        *,
        once: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._config, self._brands, self._appview, self._stats = config, brands, appview, stats
        self._once, self._clock, self._wall = once, clock, wall
        self._backoff = backoff_factory(config, rng)
        self.followers = [Followers(b, self._backoff()) for b in brands if b.did]
        self.stream: Jetstream | None = None
        self._started = False
        self._newest: int | None = None
        """The newest ``time_us`` drained."""
        self._saved: int | None = None
        self._saved_at = float("-inf")

    def next_due(self) -> float:
        dues = [f.due for f in self._followers()]
        if self._streaming():
            dues.append(self._clock() + STREAM_TICK)
        return min(dues, default=self._clock() + STREAM_TICK)

    def done(self) -> bool:
        return self._once and self._started and not self._streaming() and not self._followers()

    def failed(self) -> list[str]:
        """Why a one-shot run could not read everything (empty when it could)."""
        failures = [f.last_error for f in self.followers if not f.polled and f.last_error]
        stream = self.stream
        if stream is not None and stream.gave_up:
            failures.insert(0, stream.last_error)
        return failures

    def close(self) -> None:
        if self.stream is not None:
            self.stream.stop()

    def poll(self, cursors: Mapping[str, Mapping[str, str]]) -> Poll:
        result = Poll()
        if not self._started:
            self._start(cursors.get(CURSOR, {}).get("time_us"), result)
        if self.stream is not None:
            self._drain(self.stream, result)
        for followers in self._followers():
            if followers.due <= self._clock():
                result.events.extend(self._count(followers))
        result.healthy = self._healthy()
        return result

    def _start(self, saved: str | None, result: Poll) -> None:
        """Subscribe from the checkpoint's cursor; without one, from now (saved at once). A
        one-shot run without a cursor has nothing to replay and reads follower counts only."""
        self._started = True
        now = int(self._wall() * 1_000_000)
        cursor = int(saved) if saved and saved.isdigit() else None
        if cursor is None:
            if self._once:
                log.info("no cursor yet: a one-shot run reads only follower counts")
                return
            cursor = now
            result.cursors[CURSOR] = {"time_us": str(cursor)}
        self._newest = self._saved = cursor
        subscription = Subscription(
            self._config.jetstream_url, COLLECTIONS, tuple(self._config.wanted_dids)
        )
        self.stream = Jetstream(
            subscription,
            timeout=self._config.stream_timeout,
            open_timeout=self._config.timeout,
            rewind=self._config.cursor_rewind,
            backoff=self._backoff(),
            stats=self._stats,
            until=now if self._once else None,
            attempts=ONCE_ATTEMPTS if self._once else None,
        )
        self.stream.start(cursor)

    def _streaming(self) -> bool:
        """Whether the stream has (or may yet have) messages to drain."""
        stream = self.stream
        return stream is not None and (not stream.finished or bool(stream.events))

    def _followers(self) -> list[Followers]:
        if not self._once:
            return self.followers
        return [f for f in self.followers if not f.polled and f.backoff.failures < ONCE_ATTEMPTS]

    def _healthy(self) -> bool:
        stream = self.stream
        if stream is not None and not stream.connected and not stream.finished:
            return False
        return not any(f.backoff.failures for f in self.followers)

    def _drain(self, stream: Jetstream, result: Poll) -> None:
        for _ in range(min(len(stream.events), MAX_DRAIN)):
            event = stream.events.popleft()
            self._newest = max(self._newest or 0, event.time_us)
            self._take(event, result)
        moved = self._newest is not None and self._newest != self._saved
        timely = self._clock() - self._saved_at >= CURSOR_SAVE_SECONDS
        if moved and (result.events or timely or self._once):
            result.cursors[CURSOR] = {"time_us": str(self._newest)}
            self._saved, self._saved_at = self._newest, self._clock()

    def _take(self, event: JetstreamEvent, result: Poll) -> None:
        try:
            item = created_item(event)
        except msgspec.DecodeError as exc:
            self._stats.errors["parse"] += 1
            log.warning("unreadable record of %s at %d: %s", event.did, event.time_us, exc)
            return
        if item is None:
            return
        result.events.extend(item_events(item, self._brands))
        for followers in self.followers:
            if follows(item, followers.account) and not followers.backoff.failures:
                sooner = followers.last + FOLLOW_REFRESH_SECONDS
                followers.due = min(followers.due, max(self._clock(), sooner))

    def _count(self, followers: Followers) -> list[Event]:
        account = followers.account
        try:
            profile, wait = self._appview.profile(account.did)
        except SourceError as exc:
            self._stats.errors[exc.kind] += 1
            delay = max(followers.backoff.next_delay(), exc.wait or 0.0)
            followers.due = self._clock() + delay
            followers.last_error = f"followers of {account.brand}: {exc}"
            log.warning("%s; retrying in %.1f s", followers.last_error, delay)
            return []
        followers.backoff.reset()
        followers.polled = True
        followers.last = self._clock()
        followers.due = followers.last + max(self._config.follower_interval, wait or 0.0)
        return [follower_event(profile, account.brand, datetime.fromtimestamp(self._wall(), UTC))]
