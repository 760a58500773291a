"""The event contract: one normalized social event, shared by connectors and streams.

Version 1 of the contract. Every event is one JSON object; on Kafka, a message carries one or
more events as UTF-8 JSON lines (see ``brandpulse.framing``). Unknown fields are ignored, so a
producer may add fields without breaking consumers; anything that changes the meaning of an
existing field bumps ``v``.

Decoding is done by msgspec in C (about 1 µs an event), which is why the schema is declared as
msgspec structs rather than checked by hand: the hot path of the worker is this decoder.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal, get_args

import msgspec

SCHEMA_VERSION: Final = 1
MAX_EVENT_BYTES: Final = 1024 * 1024
"""An event line longer than this is rejected as ``too_large`` before it is parsed."""

KINDS_WITH_PARENT: Final = frozenset({"comment", "reply", "reaction", "share"})
"""Kinds that answer or react to another item, so they must name it in ``parent_id``."""

Platform = Literal["x", "facebook", "instagram", "mastodon", "bluesky", "reddit", "youtube", "blog"]
Kind = Literal["post", "mention", "comment", "reply", "reaction", "share", "follower_count"]
PLATFORMS: Final[tuple[str, ...]] = get_args(Platform)
KINDS: Final[tuple[str, ...]] = get_args(Kind)
BrandName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$")]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]
EventTime = Annotated[datetime, msgspec.Meta(tz=True)]


class Author(msgspec.Struct, frozen=True, omit_defaults=True):
    """Who wrote or did the thing; ``is_brand`` marks the brand's own accounts."""

    id: Identifier
    handle: str | None = None
    is_brand: bool = False
    followers: Count | None = None


class Event(msgspec.Struct, frozen=True, omit_defaults=True):
    """One normalized social event (contract version 1)."""

    v: Literal[1]
    id: Identifier
    platform: Platform
    brand: BrandName
    kind: Kind
    time: EventTime
    author: Author | None = None
    thread_id: Identifier | None = None
    parent_id: Identifier | None = None
    text: Text | None = None
    lang: Language | None = None
    url: str | None = None
    metrics: dict[str, Count] = {}


class Reason(StrEnum):
    """Why a record was dead-lettered: a small, fixed set, so it can be a metric label."""

    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    INVALID_EVENT = "invalid_event"
    UNSUPPORTED_VERSION = "unsupported_version"
    TOO_LARGE = "too_large"
    UNKNOWN_BRAND = "unknown_brand"


class InvalidEvent(ValueError):
    """A line that is not a valid event; ``reason`` is a ``Reason`` and the message says why."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


_decoder: Final = msgspec.json.Decoder(Event)
_encoder: Final = msgspec.json.Encoder()


def decode_event(line: bytes) -> Event:
    """Parse and validate one JSON line; raise ``InvalidEvent`` with a precise message."""
    if len(line) > MAX_EVENT_BYTES:
        raise InvalidEvent(
            Reason.TOO_LARGE, f"event is {len(line)} bytes, the limit is {MAX_EVENT_BYTES}"
        )
    try:
        event = _decoder.decode(line)
    except UnicodeDecodeError:
        raise InvalidEvent(Reason.INVALID_UTF8, _utf8_error(line)) from None
    except msgspec.ValidationError as exc:
        detail = str(exc)
        reason = Reason.UNSUPPORTED_VERSION if detail.endswith("at `$.v`") else Reason.INVALID_EVENT
        if reason is Reason.UNSUPPORTED_VERSION:
            detail = f"unsupported contract version, this reader knows v{SCHEMA_VERSION}: {detail}"
        raise InvalidEvent(reason, detail) from None
    except msgspec.DecodeError as exc:
        raise InvalidEvent(Reason.INVALID_JSON, f"not JSON: {exc}") from None
    _check_relations(event)
    return event


def _utf8_error(line: bytes) -> str:
    """Where the line stops being UTF-8 (msgspec only reports offsets inside one string)."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8: byte {line[exc.start]:#04x} at offset {exc.start}"
    return "not UTF-8"


def _check_relations(event: Event) -> None:
    """Rules that span fields, which the schema alone cannot say."""
    if event.kind in KINDS_WITH_PARENT and event.parent_id is None:
        raise InvalidEvent(
            Reason.INVALID_EVENT,
            f"a `{event.kind}` event must name what it answers - at `$.parent_id`",
        )
    if event.kind == "follower_count" and "followers" not in event.metrics:
        raise InvalidEvent(
            Reason.INVALID_EVENT,
            "a `follower_count` event must carry `followers` - at `$.metrics`",
        )


def encode_event(event: Event) -> bytes:
    """The canonical JSON form of an event, without a trailing newline."""
    return _encoder.encode(event)


def event_timestamp(event: Event) -> float:
    """Event time as seconds since the Unix epoch."""
    return event.time.timestamp()
