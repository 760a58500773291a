"""``brandpulse audit``: replay a range, read what the live worker recorded, compare, report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import msgspec

from brandpulse.analytics.records import AlertRecord, WindowRecord
from brandpulse.audit.compare import Audit, Outputs, R, compare, in_range
from brandpulse.audit.live import read_live
from brandpulse.audit.report import render_html, summary_json
from brandpulse.config import Config
from brandpulse.replay import ReplaySummary, TimeRange, replay
from brandpulse.replay_sources import archive_source, kafka_source
from brandpulse.sentiment import default_scorer

EXIT_DIFFER: Final = 4
"""Live and replay disagree (1, 2 and 3 stay failures, usage errors and an unreachable Kafka)."""
CLOSING_MARGIN: Final = timedelta(minutes=2)
"""A minute's records go out once the watermark is a minute past its end (see
``analytics.brand``); with the allowed lateness on top, events this far past ``--end`` close
every platform's minutes before it, as the live worker closed them. The ``all`` minutes wait for
the slowest active platform, which is either past them or idle ``idle_after`` later."""


@dataclass(frozen=True)
class AuditOptions:
    span: TimeRange
    """The audited range, and the warm-up the replay reads before it."""
    out: Path
    archive: Path | None
    """Replay from this archive instead of the raw topic."""
    brand: str | None
    tolerance: float
    """Seconds two paired alerts may be apart and still agree."""


def run_audit(config: Config, options: AuditOptions) -> int:
    """Write ``audit.json``, ``audit.html`` and the replay (``replay/``) to ``options.out``,
    print a short summary, and return 0 if live and replay agree, ``EXIT_DIFFER`` if not."""
    span, folder = options.span, options.out / "replay"
    summary = _replay(config, options, folder)
    live = read_live(config, span.start, span.end, options.brand)
    replayed = Outputs(
        _replayed(folder / "alerts.jsonl", AlertRecord, options),
        _replayed(folder / "windows.jsonl", WindowRecord, options),
    )
    audit = compare(live.outputs, replayed, options.tolerance)
    about = _about(options, live.described, summary, folder)
    document = summary_json(audit, about)
    (options.out / "audit.json").write_text(json.dumps(document, indent=2) + "\n")
    (options.out / "audit.html").write_text(render_html(audit, document))
    print(_short(audit, options.out))
    return 0 if audit.agrees else EXIT_DIFFER


def _replay(config: Config, options: AuditOptions, folder: Path) -> ReplaySummary:
    """The replay reads past ``--end`` by the lateness, ``idle_after`` and ``CLOSING_MARGIN``,
    so that its last minutes in the range are closed as the live ones are (``all`` ones too,
    however slow a platform); the audit cuts at ``--end``."""
    span = options.span
    settings = config.analytics
    lateness = timedelta(seconds=settings.longest_lateness() + settings.idle_after)
    reading = TimeRange(span.start, span.end + lateness + CLOSING_MARGIN, span.warmup)
    if options.archive is None:
        source = kafka_source(config, reading)
    else:
        source = archive_source(options.archive, reading)
    return replay(config, source, folder, default_scorer(), span=reading, brand=options.brand)


def _replayed(path: Path, kind: type[R], options: AuditOptions) -> list[R]:
    decoder = msgspec.json.Decoder(kind)
    records = [decoder.decode(line) for line in path.read_bytes().splitlines()]
    return in_range(records, options.span.start, options.span.end, options.brand)


def _about(
    options: AuditOptions, live: dict[str, Any], summary: ReplaySummary, folder: Path
) -> dict[str, Any]:
    """What was compared and where it came from; the replay's full configuration stays in
    ``replay/summary.json`` (its SHA-256 is here)."""
    span = options.span
    replayed = {k: v for k, v in asdict(summary).items() if k != "config"}
    return {
        "range": {
            "start": span.start.isoformat(),
            "end": span.end.isoformat(),
            "warmup_seconds": span.warmup.total_seconds(),
            "brand": options.brand,
        },
        "live": live,
        "provenance": {"replay_folder": str(folder), **replayed},
    }


def _short(audit: Audit, out: Path) -> str:
    alerts, windows = audit.alerts, audit.windows
    differing = sum(not p.agrees(audit.tolerance) for p in alerts.matched)
    verdict = "live and replay agree" if audit.agrees else "live and replay DIFFER"
    return "\n".join(
        [
            f"audit: {verdict}",
            f"alerts: {len(alerts.matched)} matched ({differing} with timing or severity "
            f"differences), {len(alerts.missing)} missing in replay, "
            f"{len(alerts.extra)} extra in replay",
            f"windows: {windows.live} live, {windows.replay} replayed, "
            f"{len(windows.differing)} differ, {len(windows.missing)} missing in replay, "
            f"{len(windows.extra)} extra in replay",
            f"report: {out / 'audit.html'}, {out / 'audit.json'}",
        ]
    )
