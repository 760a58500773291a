"""The YouTube source: the comment threads of channels and videos, walked newest first, and the
brand channels' subscriber counts, all paid from one daily quota budget.

``commentThreads.list`` with ``order=time`` lists threads newest first, and there is no "since"
parameter: a stream is read by walking pages back from the newest thread until one is older
than the stream's cursor (the newest comment time read before) less ``reply_window``, so new
replies in recent threads are found too. The cursor moves only when a walk is complete; a walk
broken off (an error, the quota, ``MAX_PAGES``) saves its page token and resumes there, its
comments published so far being deduplicated by id when the walk reads them again. So a walk
interrupted at any page leaves neither a gap nor a duplicate.

Replies beyond those the thread inlines are fetched with ``comments.list`` (1 unit a page), only
when the thread's ``totalReplyCount`` grew beyond what was fetched before.

Pacing: after a read that cost ``u`` units, a stream waits ``poll_interval``, or longer when
``u`` times the number of streams would use more than the fair share of the units left until
midnight Pacific; when the budget cannot pay for a call, everything pauses until the reset.
"""

from __future__ import annotations

import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

import msgspec

from brandpulse.config import YouTubeConfig
from brandpulse.contract import Event
from connectors.metrics import ConnectorStats
from connectors.runtime import ONCE_ATTEMPTS, Backoff, Poll, SourceError, backoff_factory
from connectors.youtube.api import Api, ApiError
from connectors.youtube.mapping import (
    BrandChannel,
    ChannelPage,
    Comment,
    CommentPage,
    CommentThread,
    ThreadPage,
    subscriber_event,
    thread_events,
)
from connectors.youtube.quota import CURSOR_KEY, next_reset

PAGE_SIZE: Final = 100
"""The largest page ``commentThreads.list`` and ``comments.list`` give."""
MAX_PAGES: Final = 10
"""Thread pages per stream and poll: a long walk is committed in parts, each with its place."""
MAX_REPLY_PAGES: Final = 20
CHANNELS_PER_CALL: Final = 50
"""``channels.list`` takes up to 50 ids at once."""
REMEMBERED_THREADS: Final = 20_000
log = logging.getLogger("brandpulse.youtube")
T = TypeVar("T")


@dataclass(frozen=True)
class Stream:
    """The comment threads of one channel (``allThreadsRelatedToChannelId``) or one video."""

    key: str
    """The cursor's name in the checkpoint."""
    brand: BrandChannel
    filter: tuple[str, str]


@dataclass
class StreamState:
    stream: Stream
    backoff: Backoff
    due: float = 0.0
    caught_up: bool = False
    throttled: bool = False
    last_error: str = ""


@dataclass
class Subscribers:
    channels: dict[str, str]
    """Channel id -> brand."""
    backoff: Backoff
    due: float = 0.0
    polled: bool = False
    last_error: str = ""


@dataclass(frozen=True)
class Position:
    """A stream's place, as saved in the checkpoint."""

    newest: datetime | None = None
    """The newest comment time of the last complete walk (None: never read)."""
    walk_newest: datetime | None = None
    """The newest comment time of a walk broken off (None: no walk in progress)."""
    page_token: str = ""
    """The page the walk in progress reads next."""

    @classmethod
    def of(cls, cursor: Mapping[str, str]) -> Position:
        def moment(name: str) -> datetime | None:
            return datetime.fromisoformat(cursor[name]) if cursor.get(name) else None

        return cls(moment("newest"), moment("walk_newest"), cursor.get("page_token", ""))

    def cursor(self) -> dict[str, str]:
        found = {"newest": self.newest, "walk_newest": self.walk_newest}
        cursor = {name: moment.isoformat() for name, moment in found.items() if moment}
        if self.walk_newest is not None:
            cursor["page_token"] = self.page_token
        return cursor


@dataclass
class Walk:
    """What one poll of a stream read."""

    events: list[Event] = field(default_factory=list)
    newest: datetime | None = None
    token: str = ""
    complete: bool = False


class YouTubeSource:
    name = "youtube"

    def __init__(
        self,
        config: YouTubeConfig,
        api: Api,
        streams: list[Stream],
        channels: dict[str, str],
        stats: ConnectorStats,
        *,
        once: bool = False,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._config, self._api, self._stats = config, api, stats
        self._once, self._clock = once, clock
        self._backoff = backoff_factory(config, rng)
        self.streams = [StreamState(s, self._backoff()) for s in streams]
        self.subscribers = Subscribers(channels, self._backoff()) if channels else None
        self.paused_until = 0.0
        self.exhausted = False
        """A one-shot run found the budget spent: it ends."""
        self._restored = False
        self._replies: OrderedDict[str, int] = OrderedDict()
        """Thread id -> the ``totalReplyCount`` its fetched replies cover."""

    def next_due(self) -> float:
        dues = [s.due for s in self._streams()]
        if (subscribers := self._subscribers()) is not None:
            dues.append(subscribers.due)
        return max(min(dues, default=self._clock()), self.paused_until)

    def done(self) -> bool:
        return self._once and (
            self.exhausted or (not self._streams() and self._subscribers() is None)
        )

    def failed(self) -> list[str]:
        failed = [s.last_error for s in self.streams if not s.caught_up]
        if self.subscribers is not None and not self.subscribers.polled:
            failed.append(self.subscribers.last_error or "subscriber counts: not read")
        return failed

    def poll(self, cursors: Mapping[str, Mapping[str, str]]) -> Poll:
        if not self._restored:
            self._api.budget.restore(cursors.get(CURSOR_KEY, {}))
            self._restored = True
        result = Poll()
        for state in self._streams():
            if state.due <= self._clock() and self.paused_until <= self._clock():
                self._read(state, cursors.get(state.stream.key, {}), result)
        subscribers = self._subscribers()
        if subscribers is not None and max(subscribers.due, self.paused_until) <= self._clock():
            result.events.extend(self._count(subscribers))
        if (quota := self._api.budget.cursor()) != cursors.get(CURSOR_KEY):
            result.cursors[CURSOR_KEY] = quota
        backoffs = [s.backoff for s in self.streams]
        backoffs += [self.subscribers.backoff] if self.subscribers else []
        result.healthy = not any(b.failures for b in backoffs)
        return result

    def _streams(self) -> list[StreamState]:
        if not self._once:
            return self.streams
        if self.exhausted:
            return []
        return [s for s in self.streams if not s.caught_up and s.backoff.failures < ONCE_ATTEMPTS]

    def _subscribers(self) -> Subscribers | None:
        found = self.subscribers
        if found is None or not self._once:
            return found
        if self.exhausted or found.polled or found.backoff.failures >= ONCE_ATTEMPTS:
            return None
        return found

    def _read(self, state: StreamState, cursor: Mapping[str, str], result: Poll) -> None:
        stream, spent = state.stream, self._api.spent
        position = Position.of(cursor)
        walk = Walk(newest=position.walk_newest, token=position.page_token)
        failure: SourceError | None = None
        try:
            self._walk(stream, position, walk)
        except SourceError as exc:
            failure = exc
        result.events.extend(walk.events)
        moved = Position(position.newest, walk.newest, walk.token)
        if walk.complete:
            moved = Position(max(filter(None, (position.newest, walk.newest)), default=None))
        if moved != position:
            result.cursors[stream.key] = moved.cursor()
        if failure is not None:
            self._failed(state, failure)
            return
        state.backoff.reset()
        if walk.complete:
            state.caught_up = True
            state.due = self._clock() + self._interval(state, self._api.spent - spent)
        else:
            state.due = self._clock()  # more pages to read: go on at once
        more = "" if walk.complete else f", {MAX_PAGES} pages read, more to come"
        log.info("%s: %d comments read%s", stream.key, len(walk.events), more)

    def _walk(self, stream: Stream, position: Position, walk: Walk) -> None:
        """Read pages from the walk's place until a thread is older than the bound (without a
        cursor: the newest page only), or until ``MAX_PAGES``."""
        bound = None
        if position.newest is not None:
            bound = position.newest - timedelta(seconds=self._config.reply_window)
        for _ in range(MAX_PAGES):
            page = self._threads(stream, walk.token)
            events: list[Event] = []
            fetched: dict[str, int] = {}
            for thread in page.items:
                more = self._more_replies(thread)
                if more is not None:
                    fetched[thread.id] = thread.snippet.total_reply_count
                events += thread_events(thread, stream.brand, more)
            walk.events += events
            self._remember(fetched)  # only now: a page broken off is read again whole
            times = [t.activity() for t in page.items]
            walk.newest = max(filter(None, (walk.newest, *times)), default=None)
            older = bound is None or any(moment < bound for moment in times)
            if older or not page.next_page_token:
                walk.complete = True
                return
            walk.token = page.next_page_token

    def _threads(self, stream: Stream, token: str) -> ThreadPage:
        params = [
            ("part", "snippet,replies"),
            stream.filter,
            ("order", "time"),
            ("maxResults", str(PAGE_SIZE)),
        ]
        token_param = [("pageToken", token)] if token else []
        return self._get("commentThreads", [*params, *token_param], ThreadPage)

    def _more_replies(self, thread: CommentThread) -> list[Comment] | None:
        """The thread's replies from ``comments.list``, when it has more than it inlines and
        more than were fetched before; else None."""
        total = thread.snippet.total_reply_count
        if total <= len(thread.replies.comments) or self._replies.get(thread.id, -1) >= total:
            return None
        replies: list[Comment] = []
        token = ""
        for _ in range(MAX_REPLY_PAGES):
            params = [("part", "snippet"), ("parentId", thread.id), ("maxResults", str(PAGE_SIZE))]
            token_param = [("pageToken", token)] if token else []
            page = self._get("comments", [*params, *token_param], CommentPage)
            replies += page.items
            token = page.next_page_token
            if not token:
                break
        return replies

    def _remember(self, fetched: Mapping[str, int]) -> None:
        """Note up to which reply count threads' replies were fetched (and published)."""
        for thread_id, total in fetched.items():
            self._replies[thread_id] = total
            self._replies.move_to_end(thread_id)
        while len(self._replies) > REMEMBERED_THREADS:
            self._replies.popitem(last=False)

    def _get(self, resource: str, params: list[tuple[str, str]], kind: type[T]) -> T:
        body = self._api.get(resource, params)
        try:
            return msgspec.json.decode(body, type=kind)
        except msgspec.DecodeError as exc:
            raise SourceError("parse", f"{resource}: unexpected answer: {exc}") from None

    def _interval(self, state: StreamState | None, units: int, base: float | None = None) -> float:
        """Seconds to the next read of a stream whose last read cost ``units``: the configured
        interval, or longer if that would spend more than the stream's share of the units
        left until midnight Pacific; never past the reset, when the budget is whole again."""
        base = self._config.poll_interval if base is None else base
        budget = self._api.budget
        shares = len(self.streams) + (self.subscribers is not None)
        fair = min(units * shares * budget.pace(), budget.seconds_to_reset() + 1.0)
        interval = max(base, fair)
        throttled = interval > base
        if state is not None and throttled != state.throttled:
            state.throttled = throttled
            if throttled:
                log.warning(
                    "%s: quota: throttling, next read in %.0f s instead of %.0f s, so that the "
                    "%d units left of %d last until midnight Pacific Time (in %.0f s)",
                    state.stream.key,
                    interval,
                    base,
                    budget.remaining,
                    budget.daily,
                    budget.seconds_to_reset(),
                )
            else:
                log.info("%s: quota: no longer throttled", state.stream.key)
        return interval

    def _failed(self, state: StreamState | Subscribers, exc: SourceError) -> None:
        name = state.stream.key if isinstance(state, StreamState) else "subscriber counts"
        state.last_error = f"{name}: {exc}"
        if exc.kind == "quota_exceeded":
            self._pause(exc)
            return
        self._stats.errors[exc.kind] += 1
        delay = max(state.backoff.next_delay(), exc.wait or 0.0)
        state.due = self._clock() + delay
        log.warning("%s: %s; retrying in %.1f s", name, exc, delay)

    def _pause(self, exc: SourceError) -> None:
        """No call until midnight Pacific: the budget is spent, or Google says the quota is."""
        budget = self._api.budget
        if isinstance(exc, ApiError) and exc.status:  # Google's word, not the budget's
            self._stats.errors["quota_exceeded"] += 1
        wait = budget.seconds_to_reset() + 1.0
        self.paused_until = self._clock() + wait
        self.exhausted = self._once
        reset = next_reset(datetime.now(UTC)).isoformat().replace("+00:00", "Z")
        log.warning(
            "quota: %s; used %d of %d units today; no calls until midnight Pacific Time "
            "(%s, in %.0f s)",
            exc,
            budget.used,
            budget.daily,
            reset,
            wait,
        )

    def _count(self, subscribers: Subscribers) -> list[Event]:
        spent, events = self._api.spent, []
        fetched = datetime.now(UTC)
        ids = list(subscribers.channels)
        try:
            for start in range(0, len(ids), CHANNELS_PER_CALL):
                chunk = ",".join(ids[start : start + CHANNELS_PER_CALL])
                page = self._get("channels", [("part", "statistics"), ("id", chunk)], ChannelPage)
                for channel in page.items:
                    brand = subscribers.channels.get(channel.id)
                    event = subscriber_event(channel, brand, fetched) if brand else None
                    events += [event] if event else []
        except SourceError as exc:
            self._failed(subscribers, exc)
            return []
        subscribers.backoff.reset()
        subscribers.polled = True
        units = self._api.spent - spent
        interval = self._interval(None, units, self._config.subscriber_interval)
        subscribers.due = self._clock() + interval
        log.info("subscriber counts: %d channels", len(events))
        return events
