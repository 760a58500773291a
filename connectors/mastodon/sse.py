"""Server-sent events (the WHATWG ``text/event-stream`` format), as Mastodon's streaming API
sends them: ``event:`` and ``data:`` lines, a blank line ending each event, and comment lines
(``:thump``) as heartbeats."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SseEvent:
    name: str
    data: str


def parse_sse(lines: Iterable[bytes]) -> Iterator[SseEvent | None]:
    """Events of a stream of raw lines; None for each heartbeat (a comment), so a reader can
    tell a live idle stream from a dead one. Several ``data:`` lines join with newlines; an
    event without data is no event (the spec says so), and its name does not carry over."""
    name = ""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                yield SseEvent(name or "message", "\n".join(data))
            name, data = "", []
            continue
        if line.startswith(":"):
            yield None
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
