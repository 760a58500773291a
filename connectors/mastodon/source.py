"""The Mastodon source: timelines caught up over REST and followed over the streaming API,
and the brand accounts' follower counts.

A timeline's cursor is the newest id read (``min_id``). REST pages forward from it, so a
restart, a crash or a dropped stream resumes with no gap; the run loop's seen set drops what a
page and the stream both delivered. See ``connectors.mastodon.stream`` for when stream events
are trusted to advance the cursor.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import msgspec

from brandpulse.config import MastodonConfig
from brandpulse.contract import Event
from connectors.mastodon.api import Api
from connectors.mastodon.mapping import (
    Account,
    BrandAccount,
    Notification,
    Status,
    follower_event,
    newest_id,
    notification_event,
    status_event,
)
from connectors.mastodon.sse import SseEvent
from connectors.mastodon.stream import LiveStream
from connectors.metrics import ConnectorStats
from connectors.runtime import ONCE_ATTEMPTS, Backoff, Poll, SourceError, backoff_factory

PAGE_SIZE: Final = 40
"""Mastodon's largest page of statuses and notifications."""
MAX_PAGES: Final = 10
"""Pages per catch-up pass: a long backlog is committed in parts, each with its cursor."""
STREAM_TICK: Final = 0.25
"""Seconds between looks at the streams (queued events, a new connection): the latency the
stream adds."""
log = logging.getLogger("brandpulse.mastodon")


@dataclass(frozen=True)
class Timeline:
    """One stream of statuses or notifications: where to page it, where to stream it."""

    key: str
    """The cursor's name in the checkpoint."""
    brand: BrandAccount
    path: str
    params: tuple[tuple[str, str], ...] = ()
    stream_path: str | None = None
    stream_params: tuple[tuple[str, str], ...] = ()
    notifications: bool = False


@dataclass
class TimelineState:
    timeline: Timeline
    backoff: Backoff
    stream: LiveStream | None = None
    due: float = 0.0
    live: int | None = None
    """The stream connection whose events are consumed; None while catching up over REST."""
    pass_started: float = -1.0
    caught_up: bool = False
    last_error: str = ""


@dataclass
class Followers:
    brand: str
    account_id: str
    backoff: Backoff
    due: float = 0.0
    polled: bool = False


@dataclass
class Read:
    """What a timeline gave in one poll: its events, and the ids its cursor moves over."""

    events: list[Event] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    follows: bool = False


class MastodonSource:
    name = "mastodon"

    def __init__(
        self,
        config: MastodonConfig,
        api: Api,
        timelines: list[Timeline],
        followers: list[tuple[str, str]],
        stats: ConnectorStats,
        *,
        once: bool = False,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._config, self._api, self._stats = config, api, stats
        self._once, self._clock = once, clock
        self._backoff = backoff_factory(config, rng)
        self.timelines = [TimelineState(t, self._backoff()) for t in timelines]
        self.followers = [Followers(b, a, self._backoff()) for b, a in followers]
        if not once:
            for state in self.timelines:
                state.stream = self._stream(state.timeline)

    def _stream(self, timeline: Timeline) -> LiveStream | None:
        if timeline.stream_path is None:
            return None
        stream = LiveStream(
            self._api,
            timeline.stream_path,
            timeline.stream_params,
            timeout=self._config.stream_timeout,
            backoff=self._backoff(),
            stats=self._stats,
            clock=self._clock,
        )
        stream.start()
        return stream

    def next_due(self) -> float:
        dues = [self._timeline_due(s) for s in self._timelines()]
        dues += [f.due for f in self._followers()]
        if any(s.stream is not None for s in self.timelines):
            dues.append(self._clock() + STREAM_TICK)  # queued events, or a reconnected stream
        return min(dues, default=self._clock() + STREAM_TICK)

    def done(self) -> bool:
        return self._once and not self._timelines() and not self._followers()

    def failed(self) -> list[str]:
        return [s.last_error for s in self.timelines if not s.caught_up]

    def poll(self, cursors: Mapping[str, Mapping[str, str]]) -> Poll:
        result = Poll()
        for state in self._timelines():
            cursor = cursors.get(state.timeline.key, {}).get("min_id")
            read = self._read(state, cursor)
            result.events.extend(read.events)
            if (moved := newest_id(read.ids, cursor)) != cursor and moved is not None:
                result.cursors[state.timeline.key] = {"min_id": moved}
            if read.follows:
                for followers in self.followers:
                    followers.due = self._clock()
        for followers in self._followers():
            if followers.due <= self._clock():
                result.events.extend(self._count(followers))
        backoffs = [s.backoff for s in self.timelines] + [f.backoff for f in self.followers]
        result.healthy = not any(b.failures for b in backoffs)
        return result

    def _timelines(self) -> list[TimelineState]:
        if not self._once:
            return self.timelines
        return [s for s in self.timelines if not s.caught_up and s.backoff.failures < ONCE_ATTEMPTS]

    def _followers(self) -> list[Followers]:
        if not self._once:
            return self.followers
        return [f for f in self.followers if not f.polled and f.backoff.failures < ONCE_ATTEMPTS]

    def _timeline_due(self, state: TimelineState) -> float:
        """A stream that (re)connected after the last catch-up began needs one more catch-up
        before its events count: do it at once."""
        connection = state.stream.connection if state.stream else None
        if state.live is None and connection and connection.opened > state.pass_started:
            return min(state.due, self._clock())
        return state.due

    def _read(self, state: TimelineState, cursor: str | None) -> Read:
        read = Read()
        if self._timeline_due(state) <= self._clock():
            try:
                self._catch_up(state, cursor, read)
            except SourceError as exc:
                self._failed(state, exc)
        if state.live is not None:
            self._drain(state, read)
        return read

    def _catch_up(self, state: TimelineState, cursor: str | None, read: Read) -> None:
        """Page forward from the cursor (without one: just the newest page). Going live needs a
        complete pass that started while the stream's connection was already open."""
        started, timeline = self._clock(), state.timeline
        state.pass_started = started
        complete, wait = False, None
        for _ in range(MAX_PAGES):
            since = newest_id(read.ids, cursor)
            params = [*timeline.params, ("limit", str(PAGE_SIZE))]
            body, wait = self._api.get(
                timeline.path, params + ([("min_id", since)] if since else [])
            )
            size = self._take(timeline, body, read)
            if since is None or size < PAGE_SIZE:
                complete = True
                break
        state.backoff.reset()
        state.due = self._clock() + (self._config.poll_interval if complete else 0.0)
        state.due = max(state.due, self._clock() + (wait or 0.0))
        state.caught_up = state.caught_up or complete
        connection = state.stream.connection if state.stream else None
        if complete and connection and connection.opened <= started:
            state.live = connection.generation
        log.info("%s: %d new items over REST", timeline.key, len(read.ids))

    def _take(self, timeline: Timeline, body: bytes, read: Read) -> int:
        items: Sequence[Status | Notification]
        try:
            if timeline.notifications:
                items = msgspec.json.decode(body, type=list[Notification])
            else:
                items = msgspec.json.decode(body, type=list[Status])
        except msgspec.DecodeError as exc:
            raise SourceError("parse", f"{timeline.path}: unexpected answer: {exc}") from None
        for item in reversed(items):  # pages are newest first; publish in the order posted
            self._add(timeline, item, read)
        return len(items)

    def _add(self, timeline: Timeline, item: Status | Notification, read: Read) -> None:
        read.ids.append(item.id)
        if isinstance(item, Notification):
            event = notification_event(item, timeline.brand)
            read.follows = read.follows or item.type == "follow"
        else:
            event = status_event(item, timeline.brand)
        if event is not None:
            read.events.append(event)

    def _drain(self, state: TimelineState, read: Read) -> None:
        """Consume the queued events of the live connection (and older ones); stop at a newer
        connection's, which wait for the catch-up that follows a drop."""
        stream, live = state.stream, state.live
        assert stream is not None and live is not None
        while stream.events and stream.events[0][0] <= live:
            self._streamed(state.timeline, stream.events.popleft()[1], read)
        connection = stream.connection
        if connection is None or connection.generation != live:
            state.live = None
            log.info("%s: stream dropped, catching up over REST", state.timeline.key)

    def _streamed(self, timeline: Timeline, event: SseEvent, read: Read) -> None:
        kind = {"notification": Notification, "update": Status}.get(event.name)
        if kind is None or (kind is Notification) != timeline.notifications:
            return
        try:
            item: Status | Notification = msgspec.json.decode(event.data, type=kind)
        except msgspec.DecodeError as exc:
            self._stats.errors["parse"] += 1
            log.warning("%s: unreadable %s event: %s", timeline.key, event.name, exc)
            return
        self._add(timeline, item, read)

    def _failed(self, state: TimelineState | Followers, exc: SourceError) -> None:
        self._stats.errors[exc.kind] += 1
        delay = max(state.backoff.next_delay(), exc.wait or 0.0)
        state.due = self._clock() + delay
        name = state.timeline.key if isinstance(state, TimelineState) else state.brand
        if isinstance(state, TimelineState):
            state.last_error = f"{name}: {exc}"
        log.warning("%s: %s; retrying in %.1f s", name, exc, delay)

    def _count(self, followers: Followers) -> list[Event]:
        try:
            body, wait = self._api.get(f"/api/v1/accounts/{followers.account_id}")
            account = msgspec.json.decode(body, type=Account)
        except msgspec.DecodeError as exc:
            self._failed(followers, SourceError("parse", f"unexpected account: {exc}"))
            return []
        except SourceError as exc:
            self._failed(followers, exc)
            return []
        followers.backoff.reset()
        followers.polled = True
        interval = max(self._config.follower_interval, wait or 0.0)
        followers.due = self._clock() + interval
        return [follower_event(account, followers.brand, datetime.now(UTC))]
