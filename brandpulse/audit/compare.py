"""Live against replayed output: alerts paired, window records diffed, per-brand totals.

Pure functions over decoded records, so the rules of the audit are tested without Kafka.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, TypeVar

from brandpulse.analytics.records import ALL_PLATFORMS, AlertRecord, WindowRecord

HORIZON: Final = timedelta(hours=1)
"""Alerts of one series and state further apart than this (or than the tolerance, if larger)
are not paired: an alert an hour off is another alert, so it shows as missing and extra."""
TOTALS: Final = ("mentions", "negative_mentions", "interactions")
"""The per-brand sums over the range, taken from the one-minute all-platform windows."""

R = TypeVar("R", AlertRecord, WindowRecord)


def record_time(record: AlertRecord | WindowRecord) -> datetime:
    """The event time that places a record in a range: a window's end, an alert's ``at``."""
    return record.end if isinstance(record, WindowRecord) else record.at


def in_range(records: Iterable[R], start: datetime, end: datetime, brand: str | None) -> list[R]:
    """The records with event time in ``[start, end)`` (of ``brand``, if given)."""
    return [
        r for r in records if start <= record_time(r) < end and (brand is None or r.brand == brand)
    ]


def unique(messages: Iterable[tuple[bytes | None, bytes]]) -> tuple[list[bytes], int]:
    """The values of the distinct (key, value) messages in first-seen order, and the number of
    repeats dropped: a worker that crashed after sending records but before its snapshot sends
    them again, identical and under the same keys, and they must not count twice."""
    seen: set[tuple[bytes | None, bytes]] = set()
    values: list[bytes] = []
    repeats = 0
    for message in messages:
        if message in seen:
            repeats += 1
        else:
            seen.add(message)
            values.append(message[1])
    return values, repeats


def minute_series(windows: Iterable[WindowRecord], brand: str) -> list[WindowRecord]:
    """A brand's one-minute windows over all platforms, by end time: the series that is
    charted and summed (longer windows overlap, so summing them would count events twice)."""
    return sorted(
        (
            w
            for w in windows
            if w.brand == brand and w.window == "1m" and w.platform == ALL_PLATFORMS
        ),
        key=lambda w: w.end,
    )


@dataclass(frozen=True)
class Outputs:
    """One side's records in the audited range: what the live worker sent, or the replay."""

    alerts: list[AlertRecord]
    windows: list[WindowRecord]


@dataclass(frozen=True)
class AlertPair:
    live: AlertRecord
    replay: AlertRecord

    @property
    def delta_seconds(self) -> float:
        """How much later the replay put the alert (negative: earlier)."""
        return (self.replay.at - self.live.at).total_seconds()

    def agrees(self, tolerance: float) -> bool:
        return abs(self.delta_seconds) <= tolerance and self.live.severity == self.replay.severity


@dataclass(frozen=True)
class AlertComparison:
    matched: list[AlertPair]
    missing: list[AlertRecord]
    """Live alert records the replay did not produce."""
    extra: list[AlertRecord]
    """Replayed alert records the live worker did not send."""


def match_alerts(
    live: Sequence[AlertRecord], replay: Sequence[AlertRecord], tolerance: float
) -> AlertComparison:
    """Pair alert records of the same brand, platform, signal and state, nearest ``at`` first
    (on a tie, the same id first); pairs further apart than the horizon are not made."""
    horizon = max(HORIZON.total_seconds(), tolerance)
    groups: dict[tuple[str, str, str, str], tuple[list[AlertRecord], list[AlertRecord]]] = {}
    for side, records in enumerate((live, replay)):
        for record in records:
            groups.setdefault(_series(record), ([], []))[side].append(record)
    matched: list[AlertPair] = []
    missing: list[AlertRecord] = []
    extra: list[AlertRecord] = []
    for lives, replays in groups.values():
        pairs = _nearest_pairs(lives, replays, horizon)
        matched += [AlertPair(lives[i], replays[j]) for i, j in pairs]
        paired_live, paired_replay = {i for i, _ in pairs}, {j for _, j in pairs}
        missing += [a for i, a in enumerate(lives) if i not in paired_live]
        extra += [a for j, a in enumerate(replays) if j not in paired_replay]
    return AlertComparison(
        sorted(matched, key=lambda p: (p.live.at, p.live.id)),
        sorted(missing, key=_order),
        sorted(extra, key=_order),
    )


def _series(alert: AlertRecord) -> tuple[str, str, str, str]:
    return alert.brand, alert.platform, alert.signal, alert.state


def _order(alert: AlertRecord) -> tuple[datetime, str]:
    return alert.at, alert.id


def _nearest_pairs(
    live: list[AlertRecord], replay: list[AlertRecord], horizon: float
) -> list[tuple[int, int]]:
    """Greedy pairing by time gap: the closest pair is taken first, then the next closest of
    the records left, so one shifted alert does not push its neighbours out of their pairs."""
    candidates = sorted(
        (abs((r.at - a.at).total_seconds()), a.id != r.id, i, j)
        for i, a in enumerate(live)
        for j, r in enumerate(replay)
    )
    pairs: list[tuple[int, int]] = []
    used_live: set[int] = set()
    used_replay: set[int] = set()
    for gap, _, i, j in candidates:
        if gap > horizon:
            break
        if i not in used_live and j not in used_replay:
            used_live.add(i)
            used_replay.add(j)
            pairs.append((i, j))
    return pairs


@dataclass(frozen=True)
class WindowComparison:
    live: int
    replay: int
    differing: list[str]
    """Keys of window records both sides hold with different content."""
    missing: list[str]
    """Keys only the live worker sent."""
    extra: list[str]
    """Keys only the replay wrote."""

    @property
    def agrees(self) -> bool:
        return not (self.differing or self.missing or self.extra)


def compare_windows(
    live: Iterable[WindowRecord], replay: Iterable[WindowRecord]
) -> WindowComparison:
    """Window records side by side by key (``brand/platform/window/end``)."""
    live_by = {w.key: w for w in live}
    replay_by = {w.key: w for w in replay}
    both = live_by.keys() & replay_by.keys()
    return WindowComparison(
        live=len(live_by),
        replay=len(replay_by),
        differing=sorted(k for k in both if live_by[k] != replay_by[k]),
        missing=sorted(live_by.keys() - replay_by.keys()),
        extra=sorted(replay_by.keys() - live_by.keys()),
    )


@dataclass(frozen=True)
class Total:
    brand: str
    figure: str
    live: int
    replay: int

    @property
    def difference(self) -> int:
        """Replay minus live."""
        return self.replay - self.live


def brand_totals(live: Sequence[WindowRecord], replay: Sequence[WindowRecord]) -> list[Total]:
    """Per brand seen on either side, each of ``TOTALS`` summed over the one-minute series."""
    brands = sorted({w.brand for w in (*live, *replay)})
    return [
        Total(brand, figure, _sum(live, brand, figure), _sum(replay, brand, figure))
        for brand in brands
        for figure in TOTALS
    ]


def _sum(windows: Sequence[WindowRecord], brand: str, figure: str) -> int:
    return sum(int(getattr(w, figure)) for w in minute_series(windows, brand))


@dataclass(frozen=True)
class Audit:
    """Everything the report shows: both sides' records and how they compare."""

    live: Outputs
    replay: Outputs
    tolerance: float
    alerts: AlertComparison
    windows: WindowComparison
    totals: list[Total]

    @property
    def agrees(self) -> bool:
        """Live and replay agree: every alert paired within the tolerance and with the same
        severity, and the same window records (hence the same totals) on both sides."""
        alerts = self.alerts
        return (
            not alerts.missing
            and not alerts.extra
            and all(p.agrees(self.tolerance) for p in alerts.matched)
            and self.windows.agrees
        )

    @property
    def brands(self) -> list[str]:
        return sorted({t.brand for t in self.totals} | {a.brand for a in self.all_alerts})

    @property
    def all_alerts(self) -> list[AlertRecord]:
        return [*self.live.alerts, *self.replay.alerts]


def compare(live: Outputs, replay: Outputs, tolerance: float = 0.0) -> Audit:
    return Audit(
        live=live,
        replay=replay,
        tolerance=tolerance,
        alerts=match_alerts(live.alerts, replay.alerts, tolerance),
        windows=compare_windows(live.windows, replay.windows),
        totals=brand_totals(live.windows, replay.windows),
    )
