"""The X source: the filtered stream, caught up with recent search after every gap, and the
brand handles' follower counts.

Each rule's cursor is the newest post id published for its brand (``since_id``). On start, and
whenever the stream (re)connects, every rule is searched from its cursor (a little before it,
see ``catchup_overlap``) to now; the stream's lines count only once such a round that began
while their connection was already open is complete, so nothing falls between the search and the
stream. The run loop's seen set drops what both delivered. A round's pages run newest first, so
a rule's cursor moves only when its search reached the cursor: a crash in between searches again.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import msgspec

from brandpulse.config import XConfig
from brandpulse.contract import Event
from connectors.metrics import ConnectorStats
from connectors.runtime import ONCE_ATTEMPTS, Poll, SourceError
from connectors.x.api import XApi
from connectors.x.backoff import XBackoff
from connectors.x.mapping import (
    Includes,
    Post,
    SearchPage,
    StreamItem,
    UserAnswer,
    XBrand,
    follower_event,
    id_at,
    id_before,
    newer_id,
    post_event,
)
from connectors.x.rules import Rule, sync_rules
from connectors.x.stream import FilteredStream

SEARCH_PATH: Final = "/2/tweets/search/recent"
POST_PARAMS: Final = (
    (
        "tweet.fields",
        "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang,"
        "public_metrics,entities",
    ),
    ("expansions", "author_id,referenced_tweets.id"),
    ("user.fields", "username,public_metrics"),
)
"""What the stream and the search return per post: every field the mapping reads."""
SEARCH_WINDOW: Final = 7 * 86400.0 - 60.0
"""Recent search reaches back seven days and answers 400 to an older ``since_id``; a minute's
margin keeps a cursor at the edge from crossing it while the request travels."""
STREAM_TICK: Final = 0.25
"""Seconds between looks at the stream's queue: the latency the stream adds."""
log = logging.getLogger("brandpulse.x")


@dataclass
class Search:
    """A rule's catch-up in progress: where it stops, the next (older) page, the newest id."""

    since_id: str | None
    next_token: str | None = None
    newest: str | None = None


@dataclass
class RuleState:
    rule: Rule
    brand: XBrand
    backoff: XBackoff
    due: float = 0.0
    search: Search | None = None
    done: bool = False
    """The current round has searched this rule up to now."""
    caught_up: bool = False
    last_error: str = ""

    @property
    def key(self) -> str:
        return f"rule/{self.rule.tag}"


@dataclass
class Handle:
    brand: XBrand
    username: str
    backoff: XBackoff
    due: float = 0.0
    polled: bool = False


@dataclass
class Rules:
    """The stream's rules on the server: synced once before the stream opens."""

    wanted: list[Rule]
    backoff: XBackoff
    synced: bool = False
    due: float = 0.0


@dataclass
class Round:
    """One catch-up of every rule; ``started`` by ``clock()``."""

    started: float
    complete: bool = False


class XSource:
    name = "x"

    def __init__(
        self,
        config: XConfig,
        api: XApi,
        rules: list[tuple[Rule, XBrand]],
        stats: ConnectorStats,
        *,
        once: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config, self._api, self._stats = config, api, stats
        self._once, self._clock = once, clock
        self.rules = [RuleState(rule, brand, XBackoff(config)) for rule, brand in rules]
        self.handles = [
            Handle(brand, handle, XBackoff(config))
            for _, brand in rules  # one rule per brand
            for handle in sorted(brand.handles)
        ]
        self._sync = Rules([r for r, _ in rules], XBackoff(config), synced=once)
        self._stream_backoff = XBackoff(config)
        self.stream: FilteredStream | None = None
        self._round: Round | None = None
        self.live: int | None = None
        """The connection whose lines are consumed; None while catching up."""

    def next_due(self) -> float:
        dues = [h.due for h in self._handles()]
        if not self._sync.synced:
            dues.append(self._sync.due)
        elif self.live is None:
            dues += [r.due for r in self._rules() if not r.done]
        if self.stream is not None:
            dues.append(self._clock() + STREAM_TICK)
        return min(dues, default=self._clock() + STREAM_TICK)

    def done(self) -> bool:
        return self._once and not self._rules() and not self._handles()

    def failed(self) -> list[str]:
        return [r.last_error for r in self.rules if not r.caught_up]

    def poll(self, cursors: Mapping[str, Mapping[str, str]]) -> Poll:
        result = Poll()
        for handle in self._handles():
            if handle.due <= self._clock():
                self._count(handle, result)
        if not self._sync.synced:
            self._sync_rules()
        if self._sync.synced and self.live is not None:
            self._drain(result, cursors)
        if self._sync.synced and self.live is None:
            self._catch_up(result, cursors)
        backoffs = [r.backoff for r in self.rules] + [h.backoff for h in self.handles]
        backoffs += [self._sync.backoff, self._stream_backoff]
        result.healthy = not any(b.failures for b in backoffs)
        return result

    def _rules(self) -> list[RuleState]:
        if not self._once:
            return self.rules
        return [r for r in self.rules if not r.caught_up and r.backoff.failures < ONCE_ATTEMPTS]

    def _handles(self) -> list[Handle]:
        if not self._once:
            return self.handles
        return [h for h in self.handles if not h.polled and h.backoff.failures < ONCE_ATTEMPTS]

    def _sync_rules(self) -> None:
        """Make the server's rules the configured ones, then open the stream."""
        if self._sync.due > self._clock():
            return
        try:
            sync_rules(self._api, self._sync.wanted)
        except SourceError as exc:
            self._sync.due = self._clock() + self._failed("stream rules", self._sync.backoff, exc)
            return
        self._sync.synced = True
        self._sync.backoff.reset()
        params = list(POST_PARAMS)
        if self._config.backfill_minutes > 0:
            params.append(("backfill_minutes", str(self._config.backfill_minutes)))
        self.stream = FilteredStream(
            self._api,
            params,
            stall_timeout=self._config.stall_timeout,
            backoff=self._stream_backoff,
            stats=self._stats,
            clock=self._clock,
        )
        self.stream.start()

    # catching up

    def _catch_up(self, result: Poll, cursors: Mapping[str, Mapping[str, str]]) -> None:
        """Advance the round (a new one if the stream reconnected since this one began); go
        live on the connection once a round that began while it was open is complete."""
        connection = self.stream.connection if self.stream else None
        if self._round is None or (connection and connection.opened > self._round.started):
            self._round = Round(self._clock())
            for state in self.rules:
                state.done, state.search = False, None
        for state in self._rules():
            if not state.done and state.due <= self._clock():
                self._search(state, cursors, result)
        if all(state.done for state in self.rules):
            if not self._round.complete:
                log.info("caught up with recent search")
            self._round.complete = True
            if connection and connection.opened <= self._round.started:
                self.live, self._round = connection.generation, None
                log.info("following the stream live")

    def _search(
        self, state: RuleState, cursors: Mapping[str, Mapping[str, str]], result: Poll
    ) -> None:
        """Page a rule's recent search from its cursor back to it (without a cursor: only the
        newest page), at most ``search_max_pages`` pages per poll."""
        cursor = cursors.get(state.key, {}).get("since_id")
        search = state.search or Search(self._since(cursor))
        wait = None
        try:
            for _ in range(self._config.search_max_pages):
                page, wait = self._page(state.rule, search)
                search.newest = newer_id(search.newest, page.meta.newest_id)
                result.events += self._events(page.data, page.includes, state.brand)
                search.next_token = page.meta.next_token
                if search.since_id is None or search.next_token is None:
                    break
        except SourceError as exc:
            state.due = self._clock() + self._failed(state.key, state.backoff, exc)
            state.last_error = f"{state.rule.tag}: {exc}"
            return
        state.backoff.reset()
        state.due = self._clock() + (wait or 0.0)
        if search.since_id is not None and search.next_token is not None:
            state.search = search  # older pages remain: the next poll continues
            return
        state.search, state.done, state.caught_up = None, True, True
        latest = newer_id(cursor, result.cursors.get(state.key, {}).get("since_id"))
        if (moved := newer_id(latest, search.newest)) != cursor and moved is not None:
            result.cursors[state.key] = {"since_id": moved}

    def _since(self, cursor: str | None) -> str | None:
        """Where a rule's search stops: a little before its cursor, or (without one) the
        ``first_lookback``; None: only the newest page. Never beyond recent search's reach:
        after a week down, what is older is out of reach, and asking for it fails for good."""
        oldest = id_at(time.time() - SEARCH_WINDOW)
        if cursor:
            since = id_before(cursor, self._config.catchup_overlap)
            if int(since) >= int(oldest):
                return since
            log.warning(
                "cursor %s is older than recent search reaches (7 days): posts between it and "
                "%s cannot be fetched; searching from there",
                cursor,
                datetime.fromtimestamp(time.time() - SEARCH_WINDOW, UTC).isoformat(),
            )
            return oldest
        if self._config.first_lookback > 0:
            return newer_id(id_at(time.time() - self._config.first_lookback), oldest)
        return None

    def _page(self, rule: Rule, search: Search) -> tuple[SearchPage, float | None]:
        params = [
            ("query", rule.value),
            ("max_results", str(self._config.search_max_results)),
            *POST_PARAMS,
        ]
        if search.since_id is not None:
            params.append(("since_id", search.since_id))
        if search.next_token is not None:
            params.append(("next_token", search.next_token))
        answer = self._api.get(SEARCH_PATH, params)
        try:
            return msgspec.json.decode(answer.body, type=SearchPage), answer.wait
        except msgspec.DecodeError as exc:
            raise SourceError("parse", f"recent search: unexpected answer: {exc}") from None

    def _events(self, posts: list[Post], includes: Includes, brand: XBrand) -> list[Event]:
        for state in self.rules:
            state.brand.learn(includes.users)
        return [post_event(post, includes, brand) for post in reversed(posts)]

    # the live stream

    def _drain(self, result: Poll, cursors: Mapping[str, Mapping[str, str]]) -> None:
        """Consume the queued lines of the live connection (and older ones); stop at a newer
        connection's, which wait for the catch-up that follows a drop."""
        stream, live = self.stream, self.live
        assert stream is not None and live is not None
        while stream.lines and stream.lines[0][0] <= live:
            self._streamed(stream.lines.popleft()[1], result, cursors)
        connection = stream.connection
        if connection is None or connection.generation != live:
            self.live = None
            log.info("stream dropped, catching up with recent search")

    def _streamed(
        self, line: bytes, result: Poll, cursors: Mapping[str, Mapping[str, str]]
    ) -> None:
        try:
            item = msgspec.json.decode(line, type=StreamItem)
        except msgspec.DecodeError as exc:
            self._stats.errors["parse"] += 1
            log.warning("unreadable stream line: %s", exc)
            return
        if item.data is None:
            for problem in item.errors:
                log.warning("stream: %s: %s", problem.title, problem.detail)
            return
        by_tag = {state.rule.tag: state for state in self.rules}
        for tag in dict.fromkeys(m.tag for m in item.matching_rules):
            state = by_tag.get(tag)
            if state is None:
                continue  # a rule added outside brandpulse, not yet deleted
            result.events += self._events([item.data], item.includes, state.brand)
            cursor = result.cursors.get(state.key) or cursors.get(state.key, {})
            moved = newer_id(cursor.get("since_id"), item.data.id)
            assert moved is not None
            result.cursors[state.key] = {"since_id": moved}

    # followers

    def _count(self, handle: Handle, result: Poll) -> None:
        path = f"/2/users/by/username/{urllib.parse.quote(handle.username, safe='')}"
        try:
            answer = self._api.get(path, [("user.fields", "public_metrics")])
            user = msgspec.json.decode(answer.body, type=UserAnswer).data
            if user is None:
                raise SourceError("not_found", f"no X user @{handle.username}")
        except msgspec.DecodeError as exc:
            error = SourceError("parse", f"@{handle.username}: unexpected answer: {exc}")
            handle.due = self._clock() + self._failed(handle.username, handle.backoff, error)
            return
        except SourceError as exc:
            handle.due = self._clock() + self._failed(handle.username, handle.backoff, exc)
            return
        handle.backoff.reset()
        handle.polled = True
        handle.brand.user_ids.add(user.id)
        handle.due = self._clock() + max(self._config.follower_interval, answer.wait or 0.0)
        result.events.append(follower_event(user, handle.brand.name, datetime.now(UTC)))

    def _failed(self, name: str, backoff: XBackoff, exc: SourceError) -> float:
        self._stats.errors[exc.kind] += 1
        delay = backoff.next_delay(exc)
        log.warning("%s: %s; retrying in %.2f s", name, exc, delay)
        return delay
