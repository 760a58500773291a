"""Mastodon: entity mapping field by field, SSE parsing, rate-limit resets, and when the source
trusts the stream (only after a REST catch-up that began with the connection open)."""

from __future__ import annotations

import json
from collections import deque
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from brandpulse.config import BrandConfig, Config, MastodonBrandConfig, MastodonConfig
from brandpulse.contract import Author, Event, decode_event, encode_event
from brandpulse.errors import UsageError
from connectors.mastodon.api import Api
from connectors.mastodon.connector import timelines
from connectors.mastodon.mapping import (
    BrandAccount,
    Notification,
    Status,
    follower_event,
    newest_id,
    notification_event,
    status_event,
)
from connectors.mastodon.source import MastodonSource, Timeline, TimelineState
from connectors.mastodon.sse import SseEvent, parse_sse
from connectors.mastodon.stream import LiveStream
from connectors.metrics import ConnectorStats
from connectors.rss.mapping import BrandMatcher
from connectors.runtime import rate_limit_wait
from connectors.runtime.streaming import Connection

ACME = BrandAccount("acme", "1", frozenset({"acme"}))
T = "2026-11-25T14:03:07.250Z"
TIME = datetime(2026, 11, 25, 14, 3, 7, 250000, tzinfo=UTC)


def account(
    id: str = "42", acct: str = "jo@social.example", followers: int = 120
) -> dict[str, Any]:
    return {
        "id": id,
        "username": acct.split("@", maxsplit=1)[0],
        "acct": acct,
        "followers_count": followers,
        "display_name": "Jo",
        "url": f"https://social.example/@{acct}",
    }


def status(id: str = "103270115826048975", **fields: Any) -> dict[str, Any]:
    """A Status shaped like the API docs' example (extra fields included, to be ignored)."""
    return {
        "id": id,
        "created_at": T,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://mastodon.social/users/jo/statuses/{id}",
        "url": f"https://mastodon.social/@jo/{id}",
        "replies_count": 2,
        "reblogs_count": 3,
        "favourites_count": 5,
        "content": '<p>Loving my new <a href="https://x/tags/acme" '
        'class="mention hashtag">#<span>acme</span></a> toaster &amp; more<br>really</p>',
        "account": account(),
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "reblog": None,
        "application": None,
        **fields,
    }


def decode_status(payload: dict[str, Any]) -> Status:
    return msgspec.json.decode(json.dumps(payload), type=Status)


def decode_notification(payload: dict[str, Any]) -> Notification:
    return msgspec.json.decode(json.dumps(payload), type=Notification)


def valid(event: Event | None) -> Event:
    assert event is not None
    return decode_event(encode_event(event))  # what the worker would accept


def test_a_status_on_a_brand_hashtag_is_a_mention_field_by_field() -> None:
    assert valid(status_event(decode_status(status()), ACME)) == Event(
        v=1,
        id="103270115826048975",
        platform="mastodon",
        brand="acme",
        kind="mention",
        time=TIME,
        author=Author(id="42", handle="jo@social.example", followers=120),
        text="Loving my new # acme toaster & more really",
        lang="en",
        url="https://mastodon.social/@jo/103270115826048975",
        metrics={"replies": 2, "shares": 3, "likes": 5},
    )


def test_replies_to_the_brand_and_the_brands_own_statuses() -> None:
    reply = valid(
        status_event(decode_status(status(in_reply_to_id="9", in_reply_to_account_id="1")), ACME)
    )
    assert (reply.kind, reply.parent_id, reply.author and reply.author.is_brand) == (
        "reply",
        "9",
        False,
    )
    elsewhere = valid(
        status_event(decode_status(status(in_reply_to_id="9", in_reply_to_account_id="7")), ACME)
    )
    assert (elsewhere.kind, elsewhere.parent_id) == ("mention", "9")
    own = status(account=account("1", "acme", 5000))
    post = valid(status_event(decode_status(own), ACME))
    assert (post.kind, post.author) == (
        "post",
        Author(id="1", handle="acme", is_brand=True, followers=5000),
    )
    answer = valid(status_event(decode_status({**own, "in_reply_to_id": "8"}), ACME))
    assert (answer.kind, answer.parent_id) == ("reply", "8")
    by_handle = BrandAccount("acme", "", frozenset({"acme"}))
    assert valid(status_event(decode_status(own), by_handle)).kind == "post"


def test_content_warning_comes_first_and_language_and_url_fall_back() -> None:
    event = valid(
        status_event(
            decode_status(
                status(
                    spoiler_text="rant",
                    content="<p>a &lt;b&gt;</p><p>c</p>",
                    language="pt-BR",
                    url=None,
                )
            ),
            ACME,
        )
    )
    assert (event.text, event.lang, event.url) == (
        "rant\n\na <b> c",
        "pt",
        "https://mastodon.social/users/jo/statuses/103270115826048975",
    )
    assert valid(status_event(decode_status(status(language=None)), ACME)).lang is None


def test_the_public_timeline_keeps_only_statuses_with_the_brands_keywords() -> None:
    matcher = BrandMatcher.of(BrandConfig(name="acme", keywords=["acme"]))
    public = BrandAccount("acme", "1", frozenset(), matcher)
    assert status_event(decode_status(status(content="<p>ACME rocks</p>")), public) is not None
    assert status_event(decode_status(status(content="<p>acmeville</p>")), public) is None


def notification(type: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": "34975861",
        "type": type,
        "created_at": "2026-11-25T15:00:00.000Z",
        "account": account("77", "fan"),
        "status": status("555", account=account("1", "acme")),
        **fields,
    }


def test_notifications_field_by_field() -> None:
    boost = valid(notification_event(decode_notification(notification("reblog")), ACME))
    assert boost == Event(
        v=1,
        id="notification:34975861",
        platform="mastodon",
        brand="acme",
        kind="share",
        time=datetime(2026, 11, 25, 15, tzinfo=UTC),
        author=Author(id="77", handle="fan", followers=120),
        parent_id="555",
    )
    like = valid(notification_event(decode_notification(notification("favourite")), ACME))
    assert (like.kind, like.parent_id, like.id) == ("reaction", "555", "notification:34975861")
    mention = notification(
        "mention", status=status("556", in_reply_to_id="555", in_reply_to_account_id="1")
    )
    reply = valid(notification_event(decode_notification(mention), ACME))
    assert (reply.id, reply.kind, reply.parent_id) == ("556", "reply", "555")
    plain = valid(
        notification_event(decode_notification(notification("mention", status=status("557"))), ACME)
    )
    assert (plain.id, plain.kind) == ("557", "mention")
    assert (
        notification_event(decode_notification(notification("follow", status=None)), ACME) is None
    )
    assert notification_event(decode_notification(notification("poll")), ACME) is None


def test_follower_counts() -> None:
    event = valid(follower_event(decode_status(status()).account, "acme", TIME))
    assert (event.kind, event.metrics, event.id) == (
        "follower_count",
        {"followers": 120},
        "followers:42:1795615387",
    )


def test_ids_compare_as_numbers() -> None:
    assert newest_id(["99", "100", "7"]) == "100"
    assert newest_id([], "5") == "5"
    assert newest_id(["4"], "5") == "5"
    assert newest_id([]) is None


def test_sse_parsing_names_multiline_data_heartbeats_and_crlf() -> None:
    raw = (
        b":thump\n",
        b"event: update\n",
        b'data: {"a":\n',
        b"data: 1}\n",
        b"\n",
        b"event:notification\r\n",
        b"data:x\r\n",
        b"\r\n",
        b"event: ignored\n",
        b"\n",
        b"data: plain\n",
        b"id: 7\n",
        b"\n",
        b"event: update\n",
        b"data: cut",
    )
    assert list(parse_sse(raw)) == [
        None,
        SseEvent("update", '{"a":\n1}'),
        SseEvent("notification", "x"),
        SseEvent("message", "plain"),
    ]


def test_mastodon_rate_limit_reset_is_iso_8601() -> None:
    now = TIME.timestamp()
    headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2026-11-25T14:05:00.750Z",
    }
    assert rate_limit_wait(headers, now) == pytest.approx(113.5)
    assert rate_limit_wait({**headers, "X-RateLimit-Remaining": "12"}, now) is None
    assert rate_limit_wait({**headers, "X-RateLimit-Reset": "2026-11-25T14:05:00"}, now) is None
    assert rate_limit_wait({**headers, "X-RateLimit-Reset": "soon"}, now) is None


class FakeApi(Api):
    """Pages of a timeline: statuses with ids above ``min_id``, oldest first, 40 at most."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__("http://fake", "", "token", 1.0)
        self.ids = ids

    def get(self, path: str, params: Any = ()) -> tuple[bytes, float | None]:
        since = int(dict(params).get("min_id", 0))
        newer = [i for i in self.ids if i > since][:40] if since else self.ids[-40:]
        return json.dumps([status(str(i)) for i in reversed(newer)]).encode(), None


class FakeStream(LiveStream):
    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.events = deque()

    def push(self, generation: int, id: int) -> None:
        self.events.append((generation, SseEvent("update", json.dumps(status(str(id))))))


def test_stream_events_count_only_after_a_catch_up_that_began_on_their_connection() -> None:
    now = [100.0]
    api = FakeApi([1, 2, 3])
    source = MastodonSource(
        MastodonConfig(), api, [], [], ConnectorStats("t"), once=True, clock=lambda: now[0]
    )
    source._once = False  # built one-shot so that it starts no stream threads; then made live
    stream = FakeStream()
    tag = Timeline("acme/tag/acme", ACME, "/tag", stream_path="/stream")
    source.timelines = [TimelineState(tag, source._backoff(), stream)]
    state = source.timelines[0]

    first = source.poll({})
    assert [e.id for e in first.events] == ["1", "2", "3"] and state.live is None, "no stream yet"
    assert first.cursors == {"acme/tag/acme": {"min_id": "3"}}

    now[0] += 1
    stream.connection = Connection(1, now[0])
    stream.push(1, 5)
    api.ids += [4, 5]
    assert source.next_due() <= now[0], "a new connection asks for a catch-up at once"
    now[0] += 1
    caught = source.poll(first.cursors)
    assert state.live == 1 and [e.id for e in caught.events] == ["4", "5", "5"]

    stream.push(1, 6)
    stream.connection = Connection(2, now[0] + 1)  # dropped and reconnected: 7 was missed
    stream.push(2, 8)
    api.ids += [6, 7, 8]
    drained = source.poll({"acme/tag/acme": {"min_id": "5"}})
    assert [e.id for e in drained.events] == ["6"] and state.live is None
    assert drained.cursors == {"acme/tag/acme": {"min_id": "6"}}, "8 must not move the cursor yet"
    now[0] += 2
    resumed = source.poll(drained.cursors)
    assert [e.id for e in resumed.events] == ["7", "8", "8"] and state.live == 2


def test_configuration_errors_name_what_to_fix() -> None:
    config = Config(
        mastodon=MastodonConfig(instance="http://x", brands=[MastodonBrandConfig(brand="nope")])
    )
    with pytest.raises(UsageError, match="nope"):
        timelines(config)
    with pytest.raises(UsageError, match="nothing to follow"):
        timelines(Config(mastodon=MastodonConfig(instance="http://x")))
    entry = MastodonBrandConfig(brand="acme", account_id="1", hashtags=["#acme"], public=True)
    found = timelines(Config(mastodon=MastodonConfig(brands=[entry], notifications_brand="acme")))
    assert [(t.key, t.path, t.stream_path) for t in found] == [
        ("acme/tag/acme", "/api/v1/timelines/tag/acme", "/api/v1/streaming/hashtag"),
        ("acme/public", "/api/v1/timelines/public", "/api/v1/streaming/public"),
        ("acme/account", "/api/v1/accounts/1/statuses", None),
        ("acme/notifications", "/api/v1/notifications", "/api/v1/streaming/user/notification"),
    ]
    assert found[-1].brand.account_id == "1" and found[1].brand.matcher is not None
