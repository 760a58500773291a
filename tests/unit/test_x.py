"""X: post mapping field by field, rule building and diffing, X's backoff schedule and rate-limit
reset, snowflake arithmetic, and when the source trusts the stream (only after a recent-search
round that began with the connection open) and moves a rule's cursor (only when its search
reached it)."""

from __future__ import annotations

import http.client
import io
import json
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
import pytest

from brandpulse.config import BrandConfig, XBrandConfig, XConfig
from brandpulse.contract import Author, Event, decode_event, encode_event
from brandpulse.errors import UsageError
from connectors.metrics import ConnectorStats
from connectors.runtime import SourceError
from connectors.runtime.streaming import Connection
from connectors.x import source as source_module
from connectors.x.api import Answer, XApi, x_rate_limit_wait
from connectors.x.backoff import XBackoff
from connectors.x.mapping import (
    Includes,
    Post,
    User,
    XBrand,
    follower_event,
    id_at,
    id_before,
    newer_id,
    post_event,
)
from connectors.x.rules import Rule, ServerRule, build_rule, configured_rules, rule_diff, sync_rules
from connectors.x.source import XSource
from connectors.x.stream import FilteredStream

T = "2026-11-25T14:03:07.250Z"
TIME = datetime(2026, 11, 25, 14, 3, 7, 250000, tzinfo=UTC)
BRAND_USER = {
    "id": "1",
    "username": "Acme",
    "name": "Acme",
    "public_metrics": {"followers_count": 9},
}
FAN = {"id": "42", "username": "jo", "name": "Jo", "public_metrics": {"followers_count": 120}}


def acme() -> XBrand:
    return XBrand("acme", frozenset({"acme", "acme_help"}), {"1"})


def tweet(id: str = "1861000000000000001", **fields: Any) -> dict[str, Any]:
    """A Post shaped like the API reference's example, with every field the connector asks for."""
    return {
        "id": id,
        "text": "@acme my toaster broke",
        "edit_history_tweet_ids": [id],
        "created_at": T,
        "author_id": "42",
        "conversation_id": id,
        "lang": "en",
        "public_metrics": {
            "retweet_count": 2,
            "reply_count": 3,
            "like_count": 7,
            "quote_count": 1,
            "bookmark_count": 0,
            "impression_count": 99,
        },
        "entities": {"mentions": [{"start": 0, "end": 5, "username": "acme", "id": "1"}]},
        **fields,
    }


def mapped(data: dict[str, Any], users: Sequence[dict[str, Any]] = (FAN,), **more: Any) -> Event:
    includes = msgspec.convert({"users": list(users), **more}, Includes)
    event = post_event(msgspec.convert(data, Post), includes, acme())
    assert decode_event(encode_event(event)) == event, "a valid contract event"
    return event


def test_a_fans_post_is_a_mention_mapped_field_by_field() -> None:
    assert mapped(tweet()) == Event(
        v=1,
        id="1861000000000000001",
        platform="x",
        brand="acme",
        kind="mention",
        time=TIME,
        author=Author(id="42", handle="jo", followers=120),
        thread_id="1861000000000000001",
        text="@acme my toaster broke",
        lang="en",
        url="https://x.com/jo/status/1861000000000000001",
        metrics={"replies": 3, "shares": 3, "likes": 7},
    )


def test_the_brands_posts_are_posts_replies_or_shares() -> None:
    own = {"author_id": "1", "conversation_id": "5"}
    post = mapped(tweet(**own), [BRAND_USER])
    assert (post.kind, post.parent_id, post.thread_id) == ("post", None, "5")
    assert post.author == Author(id="1", handle="Acme", is_brand=True, followers=9)
    answer = mapped(tweet(**own, referenced_tweets=[{"type": "replied_to", "id": "5"}]))
    assert (answer.kind, answer.parent_id) == ("reply", "5")
    shared = mapped(tweet(**own, referenced_tweets=[{"type": "retweeted", "id": "7"}]))
    assert (shared.kind, shared.parent_id) == ("share", "7")


def test_a_reply_to_the_brand_is_a_comment_and_to_anyone_else_a_mention() -> None:
    to_brand = [{"type": "replied_to", "id": "5"}]
    comment = mapped(tweet(referenced_tweets=to_brand, in_reply_to_user_id="1"))
    assert (comment.kind, comment.parent_id) == ("comment", "5")
    parent = tweet("5", author_id="1")
    by_include = mapped(tweet(referenced_tweets=to_brand), tweets=[parent])
    assert by_include.kind == "comment", "the replied-to post's author, when the id is missing"
    elsewhere = mapped(tweet(referenced_tweets=to_brand, in_reply_to_user_id="77"))
    assert (elsewhere.kind, elsewhere.parent_id) == ("mention", "5")


def test_retweets_and_quotes_by_others_are_shares() -> None:
    for kind in ("retweeted", "quoted"):
        event = mapped(tweet(referenced_tweets=[{"type": kind, "id": "9"}]))
        assert (event.kind, event.parent_id) == ("share", "9")


def test_missing_author_language_and_metrics_degrade_gracefully() -> None:
    data = tweet(lang="und", text="")
    del data["public_metrics"]
    event = mapped(data, users=[])
    assert event.author == Author(id="42")
    assert (event.lang, event.text, event.metrics) == (None, None, {})
    assert event.url == f"https://x.com/i/web/status/{data['id']}"


def test_brand_ids_are_learnt_from_included_users_by_handle() -> None:
    brand = XBrand("acme", frozenset({"acme"}))
    brand.learn([msgspec.convert(BRAND_USER, User), msgspec.convert(FAN, User)])
    assert brand.user_ids == {"1"}


def test_follower_count_event() -> None:
    event = follower_event(msgspec.convert(BRAND_USER, User), "acme", TIME)
    assert event.kind == "follower_count" and event.metrics == {"followers": 9}
    assert event.id == f"followers:1:{int(TIME.timestamp())}"
    assert event.author == Author(id="1", handle="Acme", is_brand=True, followers=9)


def test_snowflake_arithmetic() -> None:
    assert (
        newer_id("9", "10") == "10" and newer_id(None, "3") == "3" and newer_id(None, None) is None
    )
    post_id = "1861000000000000001"
    assert int(post_id) - int(id_before(post_id, 30)) == 30_000 << 22
    moment = TIME.timestamp()
    assert (int(id_at(moment)) >> 22) + 1_288_834_974_657 == int(moment * 1000)


def test_rules_are_built_from_keywords_and_handles_or_given() -> None:
    brand = BrandConfig(
        name="acme", keywords=["acme", "acme corp", 'say "hi"'], accounts={"x": ["@acme"]}
    )
    assert build_rule(brand, 512) == Rule(
        'acme OR "acme corp" OR "say \\"hi\\"" OR @acme OR from:acme OR to:acme', "acme"
    )
    assert build_rule(brand, 512, "acme lang:en") == Rule("acme lang:en", "acme")
    with pytest.raises(UsageError, match="over the limit of 20"):
        build_rule(brand, 20)
    with pytest.raises(UsageError, match="no keywords or X handles"):
        build_rule(BrandConfig(name="bare"), 512)


def test_configured_rules_follow_x_brands_or_every_brand_with_something_to_match() -> None:
    brands = [
        BrandConfig(name="acme", keywords=["acme"]),
        BrandConfig(name="globex", accounts={"x": ["globex"]}),
        BrandConfig(name="silent"),
    ]
    assert [r.tag for r in configured_rules(brands, XConfig())] == ["acme", "globex"]
    chosen = XConfig(brands=[XBrandConfig(brand="globex", rule="globex -is:retweet")])
    assert configured_rules(brands, chosen) == [Rule("globex -is:retweet", "globex")]
    with pytest.raises(UsageError, match="not configured: \\['nope'\\]"):
        configured_rules(brands, XConfig(brands=[XBrandConfig(brand="nope")]))


def test_rule_diff_deletes_what_is_not_wanted_and_adds_what_is_missing() -> None:
    wanted = [Rule("acme", "acme"), Rule("globex", "globex"), Rule("kh", "kh")]
    server = [
        ServerRule("1", "acme", "acme"),
        ServerRule("2", "acme", "acme"),  # a duplicate
        ServerRule("3", "globex", "old-tag"),
        ServerRule("4", "cats", "cats"),
    ]
    assert rule_diff(server, wanted) == (["2", "3", "4"], [Rule("globex", "globex"), wanted[2]])
    assert rule_diff([ServerRule("1", "acme", "acme")], wanted[:1]) == ([], [])


class RecordingApi(XApi):
    """Answers from a script, recording each call."""

    def __init__(self, answers: list[Any]) -> None:
        super().__init__("http://unused", "token", 1.0)
        self.answers = answers
        self.calls: list[tuple[str, str, Any]] = []

    def get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Answer:
        self.calls.append(("GET", path, dict(params)))
        return self._next()

    def post(self, path: str, payload: object) -> Answer:
        self.calls.append(("POST", path, payload))
        return self._next()

    def _next(self) -> Answer:
        answer = self.answers.pop(0)
        if isinstance(answer, SourceError):
            raise answer
        return Answer(json.dumps(answer).encode(), None)


def test_sync_rules_deletes_first_then_adds_and_checks_the_summary() -> None:
    listed = {"data": [{"id": "4", "value": "cats", "tag": "cats"}], "meta": {"result_count": 1}}
    deleted = {"meta": {"summary": {"deleted": 1, "not_deleted": 0}}}
    added = {"data": [{"id": "5", "value": "acme", "tag": "acme"}], "meta": {"summary": {"created": 1, "not_created": 0, "valid": 1, "invalid": 0}}}  # fmt: skip
    api = RecordingApi([listed, deleted, added])
    assert sync_rules(api, [Rule("acme", "acme")]) == (1, 1)
    assert [c[2] for c in api.calls[1:]] == [
        {"delete": {"ids": ["4"]}},
        {"add": [{"value": "acme", "tag": "acme"}]},
    ]
    refused = {"meta": {"summary": {"created": 0, "not_created": 1, "valid": 0, "invalid": 1}}, "errors": [{"title": "UnprocessableEntity", "detail": "bad operator"}]}  # fmt: skip
    with pytest.raises(SourceError, match="adding rules failed: UnprocessableEntity: bad operator"):
        sync_rules(RecordingApi([{"meta": {"result_count": 0}}, refused]), [Rule("a:", "a")])


def test_backoff_follows_xs_schedule_per_kind_and_honours_the_server() -> None:
    backoff = XBackoff(XConfig())
    network = [backoff.next_delay(SourceError("connection", "x")) for _ in range(66)]
    assert network[:3] == [0.25, 0.5, 0.75] and network[63] == 16.0 and network[65] == 16.0
    http = [backoff.next_delay(SourceError("http", "503")) for _ in range(8)]
    assert http == [5, 10, 20, 40, 80, 160, 320, 320]
    limited = [backoff.next_delay(SourceError("rate_limited", "429")) for _ in range(3)]
    assert limited == [60, 120, 240]
    assert backoff.next_delay(SourceError("rate_limited", "429", wait=900.0)) == 900.0
    assert backoff.failures == 66 + 8 + 4
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay(SourceError("stalled", "silent")) == 0.25


def test_x_rate_limit_reset_is_a_unix_time_waited_for_when_the_quota_is_spent() -> None:
    now = 1_764_000_000.0
    spent = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(now) + 42)}
    assert x_rate_limit_wait(spent, now) == 42.0
    left = {"x-rate-limit-remaining": "3", "x-rate-limit-reset": str(int(now) + 42)}
    assert x_rate_limit_wait(left, now) is None
    assert x_rate_limit_wait(left, now, limited=True) == 42.0
    assert x_rate_limit_wait({"x-rate-limit-reset": "soon"}, now, limited=True) is None
    assert x_rate_limit_wait({"x-rate-limit-reset": str(int(now) - 5)}, now, limited=True) == 0


BASE = int(id_at(time.time()))


def sid(n: int) -> str:
    """A post id of about now (a cursor older than a week would be moved into the week)."""
    return str(BASE + n)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class QuietStream:
    """Stands in for ``FilteredStream``: the test sets its connection and queues lines."""

    def __init__(self, *_: Any, **__: Any) -> None:
        self.connection: Connection | None = None
        self.lines: deque[tuple[int, bytes]] = deque()

    def start(self) -> None:
        pass


def page(*ids: str, next_token: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"result_count": len(ids)}
    if ids:
        meta["newest_id"] = max(ids, key=int)
    if next_token:
        meta["next_token"] = next_token
    return {"data": [tweet(i) for i in ids], "includes": {"users": [FAN]}, "meta": meta}


def line(id: str, tag: str = "acme") -> bytes:
    item = {"data": tweet(id), "includes": {"users": [FAN]}, "matching_rules": [{"id": "9", "tag": tag}]}  # fmt: skip
    return json.dumps(item).encode() + b"\r\n"


def live_source(
    monkeypatch: pytest.MonkeyPatch, answers: list[Any], **config: Any
) -> tuple[XSource, RecordingApi, Clock]:
    monkeypatch.setattr(source_module, "FilteredStream", QuietStream)
    api, clock = RecordingApi(answers), Clock()
    settings = XConfig(first_lookback=0, catchup_overlap=0, **config)
    source = XSource(
        settings, api, [(Rule("acme", "acme"), XBrand("acme"))], ConnectorStats("x"), clock=clock
    )
    return source, api, clock


def test_a_cursor_older_than_recent_search_reaches_is_moved_into_its_week(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """X answers 400 to a ``since_id`` over seven days old, every time: searching from there
    would fail for good after a week's outage. The search starts inside the week instead."""
    rules = {"data": [{"id": "9", "value": "acme", "tag": "acme"}], "meta": {"result_count": 1}}
    source, api, _ = live_source(monkeypatch, [rules, page(), page()])
    stale = id_at(time.time() - 8 * 86400)
    fresh = id_at(time.time() - 3600)
    started = time.time()
    source.poll({"rule/acme": {"since_id": stale}})
    since = int(api.calls[-1][2]["since_id"])
    assert int(id_at(started - 7 * 86400)) < since <= int(id_at(time.time() - 7 * 86400 + 60))
    assert "older than recent search reaches" in caplog.text
    source, api, _ = live_source(monkeypatch, [rules, page()])
    source.poll({"rule/acme": {"since_id": fresh}})
    assert api.calls[-1][2]["since_id"] == fresh, "a cursor inside the week is kept"


def test_stream_lines_count_only_after_a_round_that_began_with_the_connection_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = {"data": [{"id": "9", "value": "acme", "tag": "acme"}], "meta": {"result_count": 1}}
    source, api, clock = live_source(monkeypatch, [rules, page(sid(100)), page(sid(101), sid(100))])
    first = source.poll({})
    assert [e.id for e in first.events] == [sid(100)] and first.cursors == {
        "rule/acme": {"since_id": sid(100)}
    }
    stream = source.stream
    assert isinstance(stream, QuietStream) and source.live is None, "no connection yet"
    clock.now += 1
    stream.connection = Connection(1, clock.now)
    stream.lines.append((1, line(sid(101))))
    second = source.poll(first.cursors)
    assert [e.id for e in second.events] == [sid(100), sid(101)], "a new round, then live"
    assert api.calls[-1][2]["since_id"] == sid(100) and source.live == 1
    assert [e.id for e in source.poll(second.cursors).events] == [sid(101)], "the line, drained"
    stream.lines.append((1, line(sid(102))))
    stream.connection = None
    api.answers.append(page())
    dropped = source.poll(second.cursors)
    assert [e.id for e in dropped.events] == [sid(102)] and source.live is None
    assert dropped.cursors == {"rule/acme": {"since_id": sid(102)}}, "a search cannot move it back"
    assert api.calls[-1][2]["since_id"] == sid(101), "the drop is caught up at once"


def test_a_rules_cursor_moves_only_once_its_search_reached_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = [{"meta": {"result_count": 0}}, {"meta": {"summary": {"created": 1}}}]
    answers += [page(sid(300), sid(299), next_token="p2"), page(sid(298)), page()]
    source, api, _ = live_source(monkeypatch, answers, search_max_pages=1)
    cursors = {"rule/acme": {"since_id": sid(200)}}
    first = source.poll(cursors)
    assert [e.id for e in first.events] == [sid(299), sid(300)] and first.cursors == {}
    second = source.poll(cursors)
    assert api.calls[-1][2]["next_token"] == "p2" and api.calls[-1][2]["since_id"] == sid(200)
    assert [e.id for e in second.events] == [sid(298)]
    assert second.cursors == {"rule/acme": {"since_id": sid(300)}}


class StreamApi(XApi):
    """Opens the scripted connections in turn: lines to read to their end, or a failure."""

    def __init__(self, connections: list[bytes | SourceError]) -> None:
        super().__init__("http://unused", "token", 1.0)
        self.connections = connections

    def stream(
        self, path: str, params: Sequence[tuple[str, str]], timeout: float
    ) -> http.client.HTTPResponse:
        connection = self.connections.pop(0)
        if isinstance(connection, SourceError):
            raise connection
        return cast(http.client.HTTPResponse, io.BytesIO(connection))


class Stop(Exception):
    """Ends a reconnect loop run in the test's own thread."""


class ScriptedStream(FilteredStream):
    """The filtered stream's reconnect loop, waiting for nothing and ending when the script
    has run out."""

    def __init__(self, api: StreamApi, stats: ConnectorStats) -> None:
        super().__init__(api, [], stall_timeout=1.0, backoff=XBackoff(XConfig()), stats=stats)
        self.api = api

    def _sleep(self, delay: float) -> None:
        if not self.api.connections:
            raise Stop


def test_the_stream_counts_a_close_as_stream_closed_and_reconnects_on_xs_schedule(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stats = ConnectorStats("x")
    api = StreamApi([line("1") + b"\r\n", SourceError("rate_limited", "HTTP 429", wait=90.0)])
    stream = ScriptedStream(api, stats)
    with pytest.raises(Stop):
        stream._run()
    assert [(n, json.loads(raw)["data"]["id"]) for n, raw in stream.lines] == [(1, "1")]
    assert stream.connection is None
    assert stats.errors == {"stream_closed": 1, "rate_limited": 1, "stream_dropped": 2}
    assert "stream: the server closed the stream; reconnecting in 0.25 s" in caplog.text
    assert "stream: HTTP 429; reconnecting in 90.00 s" in caplog.text
