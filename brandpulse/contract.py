"""The event contract: one normalized social event, shared by connectors and streams.

Version 1 of the contract. Every event is one JSON object; on Kafka, a message carries one or
more events as UTF-8 JSON lines (see ``brandpulse.framing``). Unknown fields are ignored, so a
producer may add fields without breaking consumers; anything that changes the meaning of an
existing field bumps ``v``.

Decoding is done by msgspec in C (about 1.5 µs an event), which is why the schema is declared as
msgspec structs rather than checked by hand: the hot path of the worker is this decoder.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal, get_args

import msgspec

SCHEMA_VERSION: Final = 1
MAX_EVENT_BYTES: Final = 1024 * 1024
"""An event line longer than this is rejected as ``too_large`` before it is parsed."""

KINDS_WITH_PARENT: Final = frozenset({"comment", "reply", "reaction", "share"})
"""Kinds that answer or react to another item, so they must name it in ``parent_id``."""

Platform = Literal[
    "x", "facebook", "instagram", "mastodon", "bluesky", "reddit", "youtube", "blog", "web", "shop"
]
Kind = Literal[
    "post", "mention", "comment", "reply", "reaction", "share", "follower_count", "visit", "order"
]
PLATFORMS: Final[tuple[str, ...]] = get_args(Platform)
KINDS: Final[tuple[str, ...]] = get_args(Kind)
COMMERCE_KIND: Final = {"web": "visit", "shop": "order"}
"""The brand's own site and shop are platforms too, each with its one kind of event: visits
and orders count next to social activity, on the same windows and boards."""
COMMERCE_KINDS: Final = frozenset(COMMERCE_KIND.values())
BRAND_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,62}$"
LANGUAGE_PATTERN: Final = r"^[a-z]{2}$"
BrandName = Annotated[str, msgspec.Meta(pattern=BRAND_PATTERN)]
MAX_ID_CHARS: Final = 256
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]
EventTime = Annotated[datetime, msgspec.Meta(tz=True)]


class Author(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """Who wrote or did the thing; ``is_brand`` marks the brand's own accounts."""

    id: Identifier
    handle: str | None = None
    is_brand: bool = False
    followers: Count | None = None


class Event(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One normalized social event (contract version 1).

    ``gc=False`` (here and on ``Author``): an event refers to nothing that could refer back to
    it, so the cyclic garbage collector need not track the millions a replay decodes.
    """

    v: Literal[1]
    id: Identifier
    platform: Platform
    brand: str
    """Matches ``BRAND_PATTERN``: checked by ``rule_error`` (see there why not here)."""
    kind: Kind
    time: EventTime
    author: Author | None = None
    thread_id: Identifier | None = None
    parent_id: Identifier | None = None
    text: Text | None = None
    lang: str | None = None
    """An ISO 639-1 code, matching ``LANGUAGE_PATTERN``: checked by ``rule_error``."""
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
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_TWO_ON_A_LINE: Final = re.compile(rb"\}[ \t\r]*\{")
_matches_brand: Final = functools.lru_cache(maxsize=4096)(re.compile(BRAND_PATTERN).search)
_matches_language: Final = functools.lru_cache(maxsize=4096)(re.compile(LANGUAGE_PATTERN).search)


def decode_event(line: bytes) -> Event:
    """Parse and validate one JSON line; raise ``InvalidEvent`` with a precise message."""
    if len(line) > MAX_EVENT_BYTES:
        raise too_large(len(line))
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
    error = rule_error(event)
    if error is not None:
        raise InvalidEvent(Reason.INVALID_EVENT, error)
    return event


def too_large(size: int) -> InvalidEvent:
    """The error for a line of ``size`` bytes, longer than an event may be."""
    return InvalidEvent(Reason.TOO_LARGE, f"event is {size} bytes, the limit is {MAX_EVENT_BYTES}")


def _utf8_error(line: bytes) -> str:
    """Where the line stops being UTF-8 (msgspec only reports offsets inside one string)."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8: byte {line[exc.start]:#04x} at offset {exc.start}"
    return "not UTF-8"


def rule_error(event: Event) -> str | None:
    """What breaks a rule the schema does not check, if anything: rules across fields, and the
    patterns of ``brand`` and ``lang``.

    msgspec checks a pattern by calling Python's ``re`` for every event, which cost about 1 µs
    of the 2.3 µs an event took to decode; streams repeat a handful of brands and languages,
    so a cache of the verdicts answers in a lookup. The message is the one msgspec gives.
    """
    if not _matches_brand(event.brand):
        return f"Expected `str` matching regex {BRAND_PATTERN!r} - at `$.brand`"
    if event.lang is not None and not _matches_language(event.lang):
        return f"Expected `str` matching regex {LANGUAGE_PATTERN!r} - at `$.lang`"
    commerce = COMMERCE_KIND.get(event.platform)
    if (commerce is not None or event.kind in COMMERCE_KINDS) and commerce != event.kind:
        return _commerce_error(event.platform, event.kind)
    if event.kind in KINDS_WITH_PARENT and event.parent_id is None:
        return f"a `{event.kind}` event must name what it answers - at `$.parent_id`"
    if event.kind == "follower_count" and "followers" not in event.metrics:
        return "a `follower_count` event must carry `followers` - at `$.metrics`"
    return None


def _commerce_error(platform: str, kind: str) -> str:
    pairs = ", ".join(f"`{k}` on `{p}`" for p, k in COMMERCE_KIND.items())
    return f"kind `{kind}` on platform `{platform}`: site and shop events are {pairs} - at `$.kind`"


def decode_many(payload: bytes, lines: int | None = None) -> list[Event] | None:
    """All events of a JSON-lines payload in one C call, or None when a line is not exactly one
    valid event and each line must be decoded on its own to say which and why.

    msgspec reads a payload as a stream of JSON values, so it would accept an object spread over
    lines or two objects on one line. Neither can happen when the payload has as many lines as
    values and no line holds the end of one object and the start of the next. ``lines``:
    the payload's ``line_count``, when the caller has it already.
    """
    if len(payload) > MAX_EVENT_BYTES or _TWO_ON_A_LINE.search(payload):
        return None
    try:
        events = _decoder.decode_lines(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if lines is None:
        lines = line_count(payload)
    if len(events) != lines or any(map(rule_error, events)):
        return None
    return events


def line_count(payload: bytes) -> int:
    """Lines of a payload of JSON lines, the last one with or without its line break."""
    return payload.count(b"\n") + (not payload.endswith(b"\n"))


def encode_event(event: Event) -> bytes:
    """The canonical JSON form of an event, without a trailing newline."""
    return _encoder.encode(event)


def event_timestamp(event: Event) -> float:
    """Event time as seconds since the Unix epoch (``datetime.timestamp()`` computes the same
    difference for an aware time, about 100 ns slower: it runs once or twice per event)."""
    return (event.time - EPOCH).total_seconds()
