"""The JSON-lines importer: every line of a file becomes an event or a dead letter.

Nothing is dropped silently: ``published + dead-lettered + blank == lines read``. A line too long
to keep whole (over ``MAX_RAW_BYTES``) is still read to its end, and its dead letter carries the
first part together with the full length and SHA-256.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, NamedTuple, Protocol

from brandpulse.config import Config
from brandpulse.contract import Event, InvalidEvent, too_large
from brandpulse.deadletter import MAX_RAW_BYTES, DeadLetter, make_dead_letter
from brandpulse.errors import BrandpulseError
from brandpulse.ingest import accept_event
from connectors.progress import Progress
from connectors.publisher import Publisher

CHUNK: Final = 1024 * 1024
BLOCK_BYTES: Final = 256 * 1024
"""Read at a time by ``read_blocks``: well under an event's size limit, so blocks are decoded
in one call (see ``brandpulse.contract.decode_many``)."""
REPORTED_LINES: Final = 20
"""Invalid lines named on stderr one by one; the rest are summed up (all are dead-lettered)."""


class Line(NamedTuple):
    """A tuple, not a dataclass: replay reads millions of these."""

    number: int
    data: bytes
    """The line without its line break; only the first ``MAX_RAW_BYTES`` of a longer one."""
    total_bytes: int
    sha256: str | None
    """Set only for a line longer than ``data``: the digest of the whole line."""


class Readable(Protocol):
    """What the readers need of a binary file."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


def read_lines(handle: Readable, keep: int = MAX_RAW_BYTES) -> Iterator[Line]:
    """Yield each line of a binary file; memory stays bounded by ``keep`` however long a line."""
    number = 0
    while True:
        data = handle.readline(keep + 1)
        if not data:
            return
        number += 1
        if data.endswith(b"\n") or len(data) <= keep:
            yield Line(number, data.rstrip(b"\r\n"), len(data.rstrip(b"\r\n")), None)
            continue
        yield _long_line(number, data, handle, keep)


class Block(NamedTuple):
    """Whole lines of a file, read together so that they can be decoded together."""

    first: int
    """The number of the first line (1-based)."""
    data: bytes
    lines: int
    """How many lines ``data`` holds (``line_count``): counted once, where it is read."""


def read_blocks(
    handle: Readable, size: int = BLOCK_BYTES, keep: int = MAX_RAW_BYTES
) -> Iterator[Block | Line]:
    """The file as blocks of about ``size`` bytes of whole lines, except that a line longer
    than ``keep`` comes alone as a cut ``Line``, so memory stays bounded as in ``read_lines``."""
    number, carry = 1, b""
    while chunk := handle.read(size):
        data = carry + chunk
        end = data.rfind(b"\n") + 1
        carry = data[end:]
        if end:
            lines = data.count(b"\n", 0, end)
            yield Block(number, data[:end], lines)
            number += lines
        if len(carry) > keep:
            yield _long_line(number, carry, handle, keep)
            number, carry = number + 1, b""
    if carry:
        yield Block(number, carry, 1)


def _long_line(number: int, start: bytes, handle: Readable, keep: int) -> Line:
    """A line that began with ``start`` (no line break yet, longer than ``keep``), read on to
    its end: kept are its first ``keep`` bytes, its full length and its digest."""
    digest = hashlib.sha256(start)
    total = len(start)
    data = start
    while not data.endswith(b"\n"):
        data = handle.readline(CHUNK)
        if not data:
            break
        rest = data.rstrip(b"\r\n")
        digest.update(rest)
        total += len(rest)
    return Line(number, start[:keep], total, digest.hexdigest())


@dataclass
class ImportResult:
    lines: int = 0
    published: int = 0
    dead_lettered: int = 0
    blank: int = 0


class LineImporter:
    """Turns lines into events or dead letters; the publisher (or a dry run) receives them."""

    def __init__(self, config: Config, source: str, publisher: Publisher | None) -> None:
        self.brands = config.brand_names
        self.source = source
        self.publisher = publisher
        self.result = ImportResult()
        self.progress = Progress(f"import {source}")

    def feed(self, line: Line) -> None:
        self.result.lines += 1
        if line.sha256 is None and not line.data.strip():
            self.result.blank += 1
            return
        try:
            if line.sha256 is not None:
                raise too_large(line.total_bytes)
            event = accept_event(line.data, self.brands)
        except InvalidEvent as exc:
            self._reject(line, exc)
            return
        self._publish(event)

    def _publish(self, event: Event) -> None:
        if self.publisher is not None:
            self.publisher.publish(event)
        self.result.published += 1
        self.progress.count(published=1)

    def _reject(self, line: Line, exc: InvalidEvent) -> None:
        letter = self._letter(line, exc)
        if self.publisher is not None:
            self.publisher.dead_letter(letter)
        self.result.dead_lettered += 1
        self.progress.count(dead_letter_reason=exc.reason)
        if self.result.dead_lettered <= REPORTED_LINES:
            print(f"{self.source}:{line.number}: {exc.reason}: {exc.detail}", file=sys.stderr)
        elif self.result.dead_lettered == REPORTED_LINES + 1:
            print(f"{self.source}: more invalid lines; see the summary", file=sys.stderr)

    def _letter(self, line: Line, exc: InvalidEvent) -> DeadLetter:
        return make_dead_letter(
            exc.reason,
            exc.detail,
            stage="import",
            source=f"{self.source}:{line.number}",
            raw=line.data,
            total_bytes=line.total_bytes,
            sha256=line.sha256,
        )


def import_file(config: Config, path: Path, *, dry_run: bool = False) -> ImportResult:
    """Publish a JSON-lines file (``-`` for stdin); ``dry_run`` validates without Kafka."""
    try:
        handle = sys.stdin.buffer if str(path) == "-" else path.open("rb")
    except OSError as exc:
        raise BrandpulseError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        if dry_run:
            return _run(LineImporter(config, str(path), None), handle)
        with Publisher(config, client_id="brandpulse-import") as publisher:
            return _run(LineImporter(config, str(path), publisher), handle)


def _run(importer: LineImporter, handle: BinaryIO) -> ImportResult:
    for line in read_lines(handle):
        importer.feed(line)
    importer.progress.finish()
    return importer.result
