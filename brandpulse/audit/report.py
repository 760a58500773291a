"""The audit's outputs: a JSON summary for machines and one self-contained HTML page for people.

The page carries its charts as inline SVG and its style inline, and links to nothing: it is
meant to be attached to a ticket or archived next to the replay and still open offline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any, Final

from brandpulse.analytics.records import AlertRecord, WindowRecord
from brandpulse.audit.compare import AlertPair, Audit, minute_series

WIDTH: Final = 960
HEIGHT: Final = 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 36
LABEL_ROWS: Final = 18
SERIES: Final = (("mentions", "#2b6cb0"), ("negative_mentions", "#c53030"))
MARKER_COLOURS: Final = {
    "matched": "#2f855a",
    "differs": "#b7791f",
    "missing in replay": "#c53030",
    "extra in replay": "#6b46c1",
}
STYLE: Final = """
body { font-family: sans-serif; margin: 2em; color: #1a202c; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #cbd5e0; padding: 0.25em 0.6em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.agree { color: #2f855a; } .differ { color: #c53030; }
svg { border: 1px solid #e2e8f0; margin: 0.5em 0 1.5em; }
pre { background: #f7fafc; padding: 1em; overflow-x: auto; }
"""


def summary_json(audit: Audit, about: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable audit: verdict, counts, every unpaired or paired alert, the window
    keys that differ, the totals, and ``about`` (range, what was read, replay provenance)."""
    alerts, windows, tolerance = audit.alerts, audit.windows, audit.tolerance
    return {
        "verdict": _verdict(audit),
        "tolerance_seconds": tolerance,
        "counts": {
            "live_alerts": len(audit.live.alerts),
            "replay_alerts": len(audit.replay.alerts),
            "matched": len(alerts.matched),
            "matched_with_differences": sum(not p.agrees(tolerance) for p in alerts.matched),
            "missing_in_replay": len(alerts.missing),
            "extra_in_replay": len(alerts.extra),
            "live_windows": windows.live,
            "replay_windows": windows.replay,
            "differing_windows": len(windows.differing),
            "windows_missing_in_replay": len(windows.missing),
            "windows_extra_in_replay": len(windows.extra),
        },
        "alerts": {
            "matched": [_pair(p, tolerance) for p in alerts.matched],
            "missing_in_replay": [_alert(a) for a in alerts.missing],
            "extra_in_replay": [_alert(a) for a in alerts.extra],
        },
        "windows": {
            "differing": windows.differing,
            "missing_in_replay": windows.missing,
            "extra_in_replay": windows.extra,
        },
        "totals": [
            {
                "brand": t.brand,
                "figure": t.figure,
                "live": t.live,
                "replay": t.replay,
                "difference": t.difference,
            }
            for t in audit.totals
        ],
        **about,
    }


def _verdict(audit: Audit) -> str:
    return "agree" if audit.agrees else "differ"


def _alert(alert: AlertRecord) -> dict[str, Any]:
    return {
        "id": alert.id,
        "brand": alert.brand,
        "platform": alert.platform,
        "signal": alert.signal,
        "state": alert.state,
        "severity": alert.severity,
        "at": alert.at.isoformat(),
    }


def _pair(pair: AlertPair, tolerance: float) -> dict[str, Any]:
    live, replay = pair.live, pair.replay
    return {
        **{k: v for k, v in _alert(live).items() if k not in ("id", "severity", "at")},
        "live_id": live.id,
        "replay_id": replay.id,
        "live_at": live.at.isoformat(),
        "replay_at": replay.at.isoformat(),
        "delta_seconds": pair.delta_seconds,
        "live_severity": live.severity,
        "replay_severity": replay.severity,
        "agrees": pair.agrees(tolerance),
    }


def render_html(audit: Audit, summary: dict[str, Any]) -> str:
    """The report page, from the audit and its ``summary_json``."""
    verdict = summary["verdict"]
    title = f"brandpulse audit {summary['range']['start']} to {summary['range']['end']}"
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="{verdict}"><strong>Live and replay '
        f"{'agree' if verdict == 'agree' else 'differ'}.</strong></p>",
        _counts_table(summary["counts"]),
        "<h2>Charts</h2>",
        "<p>One-minute windows over all platforms: replay solid, live dashed where it differs; "
        "vertical lines are alerts.</p>",
        *(_brand_chart(audit, brand) for brand in audit.brands),
        "<h2>Alerts</h2>",
        _alerts_table(summary["alerts"]),
        "<h2>Per-brand totals</h2>",
        _totals_table(summary["totals"]),
        "<h2>Provenance</h2>",
        f"<pre>{escape(json.dumps(summary['provenance'], indent=2))}</pre>",
    ]
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n"
        "</body></html>\n"
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>\n" for row in rows)
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><tr>{header}</tr>\n{cells}</table>"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f'<td class="n">{value:.7g}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="n">{value}</td>'
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _counts_table(counts: dict[str, int]) -> str:
    return _table(["", "count"], [(name.replace("_", " "), n) for name, n in counts.items()])


def _alerts_table(alerts: dict[str, list[dict[str, Any]]]) -> str:
    head = ["status", "brand", "platform", "signal", "state", "live at", "replay at", "Δ s"]
    head += ["live severity", "replay severity"]
    rows: list[tuple[object, ...]] = [
        (
            "matched" if p["agrees"] else "differs",
            *_series(p),
            p["live_at"],
            p["replay_at"],
            p["delta_seconds"],
            p["live_severity"],
            p["replay_severity"],
        )
        for p in alerts["matched"]
    ]
    rows += [
        ("missing in replay", *_series(a), a["at"], None, None, a["severity"], None)
        for a in alerts["missing_in_replay"]
    ]
    rows += [
        ("extra in replay", *_series(a), None, a["at"], None, None, a["severity"])
        for a in alerts["extra_in_replay"]
    ]
    return _table(head, rows) if rows else "<p>No alerts on either side.</p>"


def _series(alert: dict[str, Any]) -> tuple[str, str, str, str]:
    return alert["brand"], alert["platform"], alert["signal"], alert["state"]


def _totals_table(totals: list[dict[str, Any]]) -> str:
    rows = [(t["brand"], t["figure"], t["live"], t["replay"], t["difference"]) for t in totals]
    return _table(["brand", "figure", "live", "replay", "replay - live"], rows)


@dataclass(frozen=True)
class Marker:
    alert: AlertRecord
    kind: str
    """A key of ``MARKER_COLOURS``."""

    @property
    def label(self) -> str:
        alert = self.alert
        return f"{alert.platform} {alert.signal} {alert.state} {alert.severity}"


def _markers(audit: Audit, brand: str) -> list[Marker]:
    """The brand's alerts as chart markers: a pair at the replay's time, coloured by whether it
    agrees; an unpaired record at its own time."""
    alerts, tolerance = audit.alerts, audit.tolerance
    markers = [
        Marker(p.replay, "matched" if p.agrees(tolerance) else "differs") for p in alerts.matched
    ]
    markers += [Marker(a, "missing in replay") for a in alerts.missing]
    markers += [Marker(a, "extra in replay") for a in alerts.extra]
    return sorted((m for m in markers if m.alert.brand == brand), key=lambda m: m.alert.at)


def _brand_chart(audit: Audit, brand: str) -> str:
    replay = minute_series(audit.replay.windows, brand)
    live = minute_series(audit.live.windows, brand)
    markers = _markers(audit, brand)
    times = [w.end for w in (*replay, *live)] + [m.alert.at for m in markers]
    if not times:
        return f"<h3>{escape(brand)}</h3><p>No windows or alerts in the range.</p>"
    plot = _Plot(min(times), max(times), max([1, *(w.mentions for w in (*replay, *live))]))
    lines = [plot.line(replay, figure, colour, dashed=False) for figure, colour in SERIES]
    if _points(live) != _points(replay):
        lines += [plot.line(live, figure, colour, dashed=True) for figure, colour in SERIES]
    return (
        f"<h3>{escape(brand)}</h3>\n"
        f'<svg width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(brand)} mentions">\n'
        + plot.axes()
        + "".join(lines)
        + "".join(plot.marker(m, row) for row, m in enumerate(markers))
        + plot.legend()
        + "</svg>"
    )


def _points(series: Sequence[WindowRecord]) -> list[tuple[datetime, int, int]]:
    return [(w.end, w.mentions, w.negative_mentions) for w in series]


@dataclass(frozen=True)
class _Plot:
    """Maps event time and counts to SVG coordinates inside the margins."""

    first: datetime
    last: datetime
    top: int

    def x(self, when: datetime) -> float:
        span = max((self.last - self.first).total_seconds(), 1.0)
        share = (when - self.first).total_seconds() / span
        return LEFT + share * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return HEIGHT - BOTTOM - value / self.top * (HEIGHT - TOP - BOTTOM)

    def line(self, series: Sequence[WindowRecord], figure: str, colour: str, dashed: bool) -> str:
        points = " ".join(f"{self.x(w.end):.1f},{self.y(getattr(w, figure)):.1f}" for w in series)
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        side = "live" if dashed else "replay"
        return (
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} '
            f'points="{points}"><title>{side} {figure}</title></polyline>\n'
        )

    def marker(self, marker: Marker, row: int) -> str:
        """A vertical line with its label on line ``row`` (of those that fit), so that alerts
        of the same minute (one per platform and signal) stay readable."""
        x, colour = self.x(marker.alert.at), MARKER_COLOURS[marker.kind]
        text = f"{marker.kind}: {marker.alert.id} {marker.label} at {marker.alert.at.isoformat()}"
        return (
            f'<g><title>{escape(text)}</title><line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" '
            f'y2="{HEIGHT - BOTTOM}" stroke="{colour}" stroke-width="1.5"/>'
            f'<text x="{x + 3:.1f}" y="{TOP + 10 + 11 * (row % LABEL_ROWS)}" font-size="10" '
            f'fill="{colour}">'
            f"{escape(marker.label)}</text></g>\n"
        )

    def axes(self) -> str:
        bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
        ticks = [
            f'<text x="{LEFT - 6}" y="{self.y(v) + 4:.1f}" font-size="11" text-anchor="end">'
            f"{v:.7g}</text>"
            for v in (0, self.top / 2, self.top)
        ]
        ticks += [
            f'<text x="{self.x(when):.1f}" y="{bottom + 16}" font-size="11" text-anchor="{anchor}">'
            f"{when.strftime('%Y-%m-%d %H:%M')}</text>"
            for when, anchor in ((self.first, "start"), (self.last, "end"))
        ]
        return (
            f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#718096"/>'
            f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#718096"/>\n'
            + "".join(ticks)
            + "\n"
        )

    def legend(self) -> str:
        items = [(f"{figure.replace('_', ' ')} / min", colour) for figure, colour in SERIES]
        items += list(MARKER_COLOURS.items())
        return "".join(
            f'<text x="{LEFT + 150 * i}" y="16" font-size="11" fill="{colour}">'
            f"{escape(name)}</text>"
            for i, (name, colour) in enumerate(items)
        )
