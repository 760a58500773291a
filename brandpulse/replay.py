"""Offline replay: the analytics core over a JSON-lines file, written to an output folder.

The same code the worker runs, fed from a file: ``windows.jsonl`` (window records),
``alerts.jsonl`` (alert records with their event time), ``share_of_voice.jsonl`` (each brand's
share of its competitor group's mentions), ``rejected.jsonl`` (lines that are not valid events,
with line number and reason) and ``summary.json``. The output holds nothing that
depends on the wall clock, so the same file and config give the same bytes.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from brandpulse.analytics.brand import Output, SentimentScorer
from brandpulse.analytics.engine import Analytics
from brandpulse.analytics.records import encode_record
from brandpulse.analytics.share_of_voice import MentionTally
from brandpulse.config import BrandConfig, Config
from brandpulse.contract import Event, Reason, too_large
from brandpulse.errors import BrandpulseError
from brandpulse.ingest import accept_lines
from connectors.jsonl import Line, read_blocks


@dataclass
class ReplaySummary:
    input: str
    lines: int = 0
    events: int = 0
    rejected: int = 0
    late: int = 0
    windows: int = 0
    alerts: int = 0


class ReplayWriter:
    """Appends records to the output files; counts what it wrote."""

    def __init__(self, folder: Path, stack: ExitStack, summary: ReplaySummary) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.summary = summary
        self.tally = MentionTally()
        self.windows = stack.enter_context((folder / "windows.jsonl").open("wb"))
        self.alerts = stack.enter_context((folder / "alerts.jsonl").open("wb"))
        self.rejected = stack.enter_context((folder / "rejected.jsonl").open("wb"))

    def write(self, out: Output) -> None:
        self.summary.windows += len(out.windows)
        self.summary.alerts += len(out.alerts)
        self.summary.late += out.late
        self.tally.add(out.windows)
        _write_lines(self.windows, [encode_record(r) for r in out.windows])
        _write_lines(self.alerts, [encode_record(r) for r in out.alerts])

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
    analytics = Analytics(config.brands, config.analytics, config.spikes, scorer)
    summary = ReplaySummary(input=str(source))
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise BrandpulseError(f"cannot read {source}: {exc.strerror}") from None
    progress = ProgressBar(f"replay {source.name}", source.stat().st_size)
    with handle, ExitStack() as stack:
        writer = ReplayWriter(folder, stack, summary)
        for events in _events(handle, config.brand_names, writer, progress):
            summary.events += len(events)
            writer.write(analytics.process(events))
        if drain:
            writer.write(analytics.drain())
        writer.write_shares(config.brands)
    progress.done(summary)
    (folder / "summary.json").write_text(json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def _events(
    handle: BinaryIO, brands: frozenset[str], writer: ReplayWriter, progress: ProgressBar
) -> Iterator[list[Event]]:
    """The file's events a block at a time; what is not an event goes to ``rejected.jsonl``."""
    for block in read_blocks(handle):
        progress.show(handle.tell(), writer.summary.events)
        if isinstance(block, Line):
            writer.summary.lines += 1
            error = too_large(block.total_bytes)
            writer.reject(block.number, error.reason, error.detail)
            continue
        writer.summary.lines += block.data.count(b"\n") + (not block.data.endswith(b"\n"))
        events, rejected = accept_lines(block.data, brands)
        for rejection in rejected:
            writer.reject(block.first + rejection.line - 1, rejection.reason, rejection.detail)
        yield events


class ProgressBar:
    """A progress bar on stderr: redrawn in place on a terminal, a line every 10 s elsewhere."""

    def __init__(self, label: str, total_bytes: int) -> None:
        self.label = label
        self.total = max(total_bytes, 1)
        self.started = self.last = time.monotonic()
        self.interval = 0.2 if sys.stderr.isatty() else 10.0
        self.end = "" if sys.stderr.isatty() else "\n"

    def show(self, done_bytes: int, events: int) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        share = min(done_bytes / self.total, 1.0)
        bar = "#" * int(share * 30)
        rate = events / max(now - self.started, 1e-9)
        sys.stderr.write(
            f"\r{self.label} [{bar:<30}] {share:6.1%} {events:,} events ({rate:,.0f}/s)"
        )
        sys.stderr.flush()

    def done(self, summary: ReplaySummary) -> None:
        elapsed = time.monotonic() - self.started
        sys.stderr.write(
            f"\r{self.label}: {summary.events:,} events ({summary.events / max(elapsed, 1e-9):,.0f}"
            f"/s), {summary.rejected:,} rejected, {summary.late:,} late, {summary.windows:,} "
            f"window records, {summary.alerts:,} alert records in {elapsed:.1f} s\n"
        )
