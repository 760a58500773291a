"""The event contract: what passes, what is refused, and the exact words of every refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from brandpulse.contract import (
    MAX_EVENT_BYTES,
    Author,
    Event,
    InvalidEvent,
    Reason,
    decode_event,
    encode_event,
)


def valid(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "v": 1,
        "id": "1789",
        "platform": "x",
        "brand": "acme",
        "kind": "mention",
        "time": "2026-11-25T14:03:07.250+01:00",
        "author": {"id": "42", "handle": "jo", "followers": 120},
        "thread_id": "1789",
        "text": "@acme where is my parcel?",
        "lang": "en",
        "metrics": {"likes": 3},
    }
    event.update(changes)
    return {key: value for key, value in event.items() if value is not ...}


def refusal(event: dict[str, Any] | bytes) -> tuple[Reason, str]:
    line = event if isinstance(event, bytes) else json.dumps(event).encode()
    with pytest.raises(InvalidEvent) as caught:
        decode_event(line)
    return caught.value.reason, caught.value.detail


def test_a_full_event_decodes_to_its_fields() -> None:
    event = decode_event(json.dumps(valid()).encode())
    assert event.id == "1789"
    assert event.platform == "x"
    assert event.brand == "acme"
    assert event.kind == "mention"
    assert event.time == datetime(2026, 11, 25, 13, 3, 7, 250000, tzinfo=UTC)
    assert event.author == Author(id="42", handle="jo", followers=120)
    assert event.metrics == {"likes": 3}


def test_minimal_event_needs_only_the_required_fields() -> None:
    line = b'{"v":1,"id":"p1","platform":"reddit","brand":"acme","kind":"post","time":"2026-01-01T00:00:00Z"}'
    event = decode_event(line)
    assert event.author is None
    assert event.text is None
    assert event.metrics == {}


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    assert decode_event(json.dumps(valid(sentiment_hint="x")).encode()).id == "1789"


def test_encoding_round_trips() -> None:
    event = decode_event(json.dumps(valid()).encode())
    assert decode_event(encode_event(event)) == event


def test_follower_count_carries_followers() -> None:
    event = decode_event(
        json.dumps(valid(kind="follower_count", metrics={"followers": 5})).encode()
    )
    assert event.metrics["followers"] == 5


@pytest.mark.parametrize(
    ("event", "reason", "detail"),
    [
        (
            valid(v=2),
            Reason.UNSUPPORTED_VERSION,
            "unsupported contract version, this reader knows v1: Invalid enum value 2 - at `$.v`",
        ),
        (valid(v=...), Reason.INVALID_EVENT, "Object missing required field `v`"),
        (valid(id=...), Reason.INVALID_EVENT, "Object missing required field `id`"),
        (valid(id=""), Reason.INVALID_EVENT, "Expected `str` of length >= 1 - at `$.id`"),
        (
            valid(platform="myspace"),
            Reason.INVALID_EVENT,
            "Invalid enum value 'myspace' - at `$.platform`",
        ),
        (
            valid(brand="ACME"),
            Reason.INVALID_EVENT,
            "Expected `str` matching regex '^[a-z0-9][a-z0-9_-]{0,62}$' - at `$.brand`",
        ),
        (valid(kind="like"), Reason.INVALID_EVENT, "Invalid enum value 'like' - at `$.kind`"),
        (
            valid(time="2026-11-25T14:03:07"),
            Reason.INVALID_EVENT,
            "Expected `datetime` with a timezone component - at `$.time`",
        ),
        (
            valid(time="yesterday"),
            Reason.INVALID_EVENT,
            "Invalid RFC3339 encoded datetime - at `$.time`",
        ),
        (
            valid(time=1764079387),
            Reason.INVALID_EVENT,
            "Expected `datetime`, got `int` - at `$.time`",
        ),
        (
            valid(author={"handle": "jo"}),
            Reason.INVALID_EVENT,
            "Object missing required field `id` - at `$.author`",
        ),
        (
            valid(author={"id": 42}),
            Reason.INVALID_EVENT,
            "Expected `str`, got `int` - at `$.author.id`",
        ),
        (
            valid(author={"id": "42", "followers": -1}),
            Reason.INVALID_EVENT,
            "Expected `int` >= 0 - at `$.author.followers`",
        ),
        (
            valid(author={"id": "42", "is_brand": "yes"}),
            Reason.INVALID_EVENT,
            "Expected `bool`, got `str` - at `$.author.is_brand`",
        ),
        (
            valid(lang="english"),
            Reason.INVALID_EVENT,
            "Expected `str` matching regex '^[a-z]{2}$' - at `$.lang`",
        ),
        (valid(text=7), Reason.INVALID_EVENT, "Expected `str | null`, got `int` - at `$.text`"),
        (
            valid(metrics={"likes": 1.5}),
            Reason.INVALID_EVENT,
            "Expected `int`, got `float` - at `$.metrics[...]`",
        ),
        (
            valid(metrics={"likes": -3}),
            Reason.INVALID_EVENT,
            "Expected `int` >= 0 - at `$.metrics[...]`",
        ),
        (
            valid(kind="reply", parent_id=...),
            Reason.INVALID_EVENT,
            "a `reply` event must name what it answers - at `$.parent_id`",
        ),
        (
            valid(kind="reaction"),
            Reason.INVALID_EVENT,
            "a `reaction` event must name what it answers - at `$.parent_id`",
        ),
        (
            valid(kind="follower_count", metrics={}),
            Reason.INVALID_EVENT,
            "a `follower_count` event must carry `followers` - at `$.metrics`",
        ),
        (
            valid(kind="visit"),
            Reason.INVALID_EVENT,
            "kind `visit` on platform `x`: site and shop events are `visit` on `web`, "
            "`order` on `shop` - at `$.kind`",
        ),
        (
            valid(platform="shop", kind="mention"),
            Reason.INVALID_EVENT,
            "kind `mention` on platform `shop`: site and shop events are `visit` on `web`, "
            "`order` on `shop` - at `$.kind`",
        ),
        (
            valid(platform="web", kind="order"),
            Reason.INVALID_EVENT,
            "kind `order` on platform `web`: site and shop events are `visit` on `web`, "
            "`order` on `shop` - at `$.kind`",
        ),
    ],
)
def test_invalid_events_are_refused_with_a_precise_message(
    event: dict[str, Any], reason: Reason, detail: str
) -> None:
    assert refusal(event) == (reason, detail)


@pytest.mark.parametrize(
    ("line", "reason", "detail"),
    [
        (b'{"v":1,"id":', Reason.INVALID_JSON, "not JSON: Input data was truncated"),
        (b"hello", Reason.INVALID_JSON, "not JSON: JSON is malformed: invalid character (byte 0)"),
        (b"[1, 2]", Reason.INVALID_EVENT, "Expected `object`, got `array`"),
        (b'{"v":1,"id":"\xff"}', Reason.INVALID_UTF8, "not UTF-8: byte 0xff at offset 13"),
        (
            b'{"text":"' + b"a" * MAX_EVENT_BYTES + b'"}',
            Reason.TOO_LARGE,
            f"event is {MAX_EVENT_BYTES + 11} bytes, the limit is {MAX_EVENT_BYTES}",
        ),
    ],
)
def test_lines_that_are_not_events(line: bytes, reason: Reason, detail: str) -> None:
    assert refusal(line) == (reason, detail)


def test_event_struct_is_immutable() -> None:
    event = Event(
        v=1, id="a", platform="x", brand="acme", kind="post", time=datetime(2026, 1, 1, tzinfo=UTC)
    )
    with pytest.raises(AttributeError):
        event.id = "b"  # type: ignore[misc]
