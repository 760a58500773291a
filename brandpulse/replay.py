"""Offline replay: the analytics core over JSON-lines payloads, written to an output folder.

The same code the worker runs, fed from a file, from a range of the raw Kafka topic or from an
archive of it (``brandpulse.replay_sources``): ``windows.jsonl`` (window records),
``alerts.jsonl`` (alert records with their event time), ``share_of_voice.jsonl`` (each brand's
share of its competitor group's mentions), ``rejected.jsonl`` (lines that are not valid events,
with line number and reason) and ``summary.json`` (counts and provenance: code version, config,
input checksums or offsets). The output holds nothing that depends on the wall clock, so the
same input and config give the same bytes.

Every source is a ``ReplaySource``: payload blocks in, and the rest (decoding, filters,
analytics, writing) is one code path.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol

import msgspec

from brandpulse import __version__
from brandpulse.analytics.brand import Output, SentimentScorer
from brandpulse.analytics.engine import Analytics
from brandpulse.analytics.records import AlertRecord, WindowRecord, encode_record
from brandpulse.analytics.share_of_voice import MentionTally
from brandpulse.config import BrandConfig, Config
from brandpulse.contract import Event, Reason, too_large
from brandpulse.errors import BrandpulseError, UsageError
from brandpulse.ingest import accept_lines
from connectors.jsonl import Block, Line, read_blocks

DEFAULT_WARMUP: Final = timedelta(hours=48)
"""The longest window (24 h) plus the window before it, which its growth figures compare with."""


@dataclass(frozen=True)
class TimeRange:
    """Output windows and alerts with an event time in ``[start, end)``; the analytics also
    see the ``warmup`` before ``start``, so the first windows in the range are complete."""

    start: datetime
    end: datetime
    warmup: timedelta = DEFAULT_WARMUP

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise UsageError(
                f"--end {self.end.isoformat()} is not after --start {self.start.isoformat()}"
            )
        if self.warmup < timedelta(0):
            raise UsageError("--warmup must not be negative")

    @property
    def read_from(self) -> datetime:
        return self.start - self.warmup

    @property
    def read_ms(self) -> tuple[int, int]:
        """``[read_from, end)`` in Kafka timestamp milliseconds."""
        return _ms(self.read_from), _ms(self.end)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class ReplaySource(Protocol):
    """Where the payloads come from; ``blocks`` is read once, the rest is for the summary."""

    input: str
    label: str
    total: int
    """The size of the input in the unit of the positions ``blocks`` yields (progress bar)."""

    def blocks(self) -> Generator[tuple[int, Block | Line]]:
        """JSON-lines payloads with the number of their first line, and the position reached."""
        ...

    def provenance(self) -> dict[str, Any]:
        """What exactly was read, so the output can be traced back to it."""
        ...

    def reach(self) -> str:
        """How far back the reading went, for the last stderr line ("" if nothing to say)."""
        ...


class FileSource:
    """A JSON-lines file, identified in the summary by its size and SHA-256 (of what was read,
    hashed while reading: a second pass over a large file would cost as much as decoding)."""

    def __init__(self, path: Path) -> None:
        try:
            self.total = path.stat().st_size
        except OSError as exc:
            raise BrandpulseError(f"cannot read {path}: {exc.strerror}") from None
        self.path = path
        self.input = str(path)
        self.label = f"replay {path.name}"
        self.digest = hashlib.sha256()

    def blocks(self) -> Generator[tuple[int, Block | Line]]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise BrandpulseError(f"cannot read {self.path}: {exc.strerror}") from None
        with handle:
            for block in read_blocks(_Hashing(handle, self.digest)):
                yield handle.tell(), block

    def provenance(self) -> dict[str, Any]:
        return {"file": self.input, "bytes": self.total, "sha256": self.digest.hexdigest()}

    def reach(self) -> str:
        return ""


class _Hashing:
    """A binary file that feeds everything read from it to a digest."""

    def __init__(self, handle: BinaryIO, digest: Any) -> None:
        self.handle = handle
        self.digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self.handle.readline(size)
        self.digest.update(data)
        return data


@dataclass
class ReplaySummary:
    input: str
    lines: int = 0
    events: int = 0
    """Events applied to the analytics, warm-up included."""
    rejected: int = 0
    late: int = 0
    windows: int = 0
    alerts: int = 0
    warmup_events: int = 0
    """Of ``events``, those before the range's start: they only prime the analytics."""
    other_brands: int = 0
    """Valid events skipped because ``--brand`` named another brand."""
    outside_range: int = 0
    """Valid events skipped because their event time is before the warm-up or after the end."""
    start: str | None = None
    end: str | None = None
    warmup_seconds: float | None = None
    brand: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    version: str = __version__
    config_sha256: str = ""
    config: dict[str, Any] = field(default_factory=dict)


class EventFilter:
    """Keeps the events of the chosen brand and time span (warm-up included); counts the rest."""

    def __init__(self, summary: ReplaySummary, span: TimeRange | None, brand: str | None):
        self.summary = summary
        self.span = span
        self.brand = brand

    def __call__(self, events: list[Event]) -> list[Event]:
        if self.brand is not None:
            kept = [event for event in events if event.brand == self.brand]
            self.summary.other_brands += len(events) - len(kept)
            events = kept
        if self.span is not None:
            low, start, end = self.span.read_from, self.span.start, self.span.end
            kept = [event for event in events if low <= event.time < end]
            self.summary.outside_range += len(events) - len(kept)
            self.summary.warmup_events += sum(event.time < start for event in kept)
            events = kept
        self.summary.events += len(events)
        return events


class ReplayWriter:
    """Appends records to the output files (only those in the span, if any); counts them."""

    def __init__(
        self, folder: Path, stack: ExitStack, summary: ReplaySummary, span: TimeRange | None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.summary = summary
        self.span = span
        self.tally = MentionTally()
        self.windows = stack.enter_context((folder / "windows.jsonl").open("wb"))
        self.alerts = stack.enter_context((folder / "alerts.jsonl").open("wb"))
        self.rejected = stack.enter_context((folder / "rejected.jsonl").open("wb"))

    def write(self, out: Output) -> None:
        windows, alerts = out.windows, out.alerts
        if self.span is not None:
            windows = [w for w in windows if self._in_span(w)]
            alerts = [a for a in alerts if self._in_span(a)]
        self.summary.windows += len(windows)
        self.summary.alerts += len(alerts)
        self.summary.late += out.late
        self.tally.add(windows)
        _write_lines(self.windows, [encode_record(r) for r in windows])
        _write_lines(self.alerts, [encode_record(r) for r in alerts])

    def _in_span(self, record: WindowRecord | AlertRecord) -> bool:
        assert self.span is not None
        when = record.end if isinstance(record, WindowRecord) else record.at
        return self.span.start <= when < self.span.end

    def write_shares(self, brands: Sequence[BrandConfig]) -> None:
        encode = msgspec.json.Encoder().encode
        lines = [encode(share) for share in self.tally.shares(brands)]
        with (self.folder / "share_of_voice.jsonl").open("wb") as handle:
            _write_lines(handle, lines)

    def reject(self, line: int, reason: Reason, detail: str) -> None:
        self.summary.rejected += 1
        record = {"line": line, "reason": str(reason), "detail": detail}
        _write_lines(self.rejected, [json.dumps(record).encode()])


def _write_lines(handle: BinaryIO, lines: list[bytes]) -> None:
    if lines:
        handle.write(b"\n".join(lines) + b"\n")


def replay_file(
    config: Config, source: Path, folder: Path, scorer: SentimentScorer, *, drain: bool = False
) -> ReplaySummary:
    return replay(config, FileSource(source), folder, scorer, drain=drain)


def replay(
    config: Config,
    source: ReplaySource,
    folder: Path,
    scorer: SentimentScorer,
    *,
    drain: bool = False,
    span: TimeRange | None = None,
    brand: str | None = None,
) -> ReplaySummary:
    """Run the analytics over ``source``'s events, in the order read, into ``folder``."""
    if brand is not None and brand not in config.brand_names:
        raise UsageError(f"--brand {brand!r} is not configured")
    # Early warnings only page sooner; the records are the same without them (tested), and a
    # replay writes records: it does not pay for them.
    analytics = Analytics(config.brands, config.analytics, config.spikes, scorer, early=False)
    summary = _new_summary(config, source, span, brand)
    keep = EventFilter(summary, span, brand)
    progress = ProgressBar(source.label, source.total)
    with ExitStack() as stack:
        writer = ReplayWriter(folder, stack, summary, span)
        blocks = stack.enter_context(closing(source.blocks()))
        for events in _events(blocks, config.brand_names, writer, progress):
            writer.write(analytics.process(keep(events)))
        if drain:
            writer.write(analytics.drain())
        writer.write_shares(config.brands)
    summary.source = source.provenance()
    progress.done(summary, source.reach())
    (folder / "summary.json").write_text(json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def _new_summary(
    config: Config, source: ReplaySource, span: TimeRange | None, brand: str | None
) -> ReplaySummary:
    """The summary before reading: what was asked for, and the exact config it ran with."""
    encoded = msgspec.json.encode(config)
    summary = ReplaySummary(
        input=source.input,
        brand=brand,
        config_sha256=hashlib.sha256(encoded).hexdigest(),
        config=msgspec.json.decode(encoded),
    )
    if span is not None:
        summary.start = span.start.isoformat()
        summary.end = span.end.isoformat()
        summary.warmup_seconds = span.warmup.total_seconds()
    return summary


def _events(
    blocks: Iterator[tuple[int, Block | Line]],
    brands: frozenset[str],
    writer: ReplayWriter,
    progress: ProgressBar,
) -> Iterator[list[Event]]:
    """The events a block at a time; what is not an event goes to ``rejected.jsonl``."""
    for position, block in blocks:
        progress.show(position, writer.summary.events)
        if isinstance(block, Line):
            writer.summary.lines += 1
            error = too_large(block.total_bytes)
            writer.reject(block.number, error.reason, error.detail)
            continue
        writer.summary.lines += block.lines
        events, rejected = accept_lines(block.data, brands, block.lines)
        for rejection in rejected:
            writer.reject(block.first + rejection.line - 1, rejection.reason, rejection.detail)
        yield events


class ProgressBar:
    """A progress bar on stderr: redrawn in place on a terminal, a line every 10 s elsewhere."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = max(total, 1)
        self.started = self.last = time.monotonic()
        self.interval = 0.2 if sys.stderr.isatty() else 10.0
        self.end = "" if sys.stderr.isatty() else "\n"

    def show(self, done: int, events: int) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        share = min(done / self.total, 1.0)
        bar = "#" * int(share * 30)
        rate = events / max(now - self.started, 1e-9)
        sys.stderr.write(
            f"\r{self.label} [{bar:<30}] {share:6.1%} {events:,} events ({rate:,.0f}/s)"
        )
        sys.stderr.flush()

    def done(self, summary: ReplaySummary, reach: str = "") -> None:
        elapsed = time.monotonic() - self.started
        sys.stderr.write(
            f"\r{self.label}: {summary.events:,} events ({summary.events / max(elapsed, 1e-9):,.0f}"
            f"/s), {summary.rejected:,} rejected, {summary.late:,} late, {summary.windows:,} "
            f"window records, {summary.alerts:,} alert records in {elapsed:.1f} s{reach}\n"
        )
