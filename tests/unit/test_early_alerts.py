"""Early warnings of spike alerts: judged on a minute's admitted count before it closes, exact
(each is followed by the firing record it names), and invisible in the recorded output."""

from __future__ import annotations

import dataclasses
import itertools
import random
import tempfile
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from brandpulse.analytics.brand import Output
from brandpulse.analytics.engine import Analytics
from brandpulse.analytics.records import AlertRecord, WindowRecord, encode_record
from brandpulse.analytics.spike_alerts import EarlyAlert
from brandpulse.config import Config
from brandpulse.contract import Event
from brandpulse.ingest import IngestStats
from brandpulse.sentiment import default_scorer
from brandpulse.spikes import DetectorSettings
from connectors.synthetic.generator import Plan, SyntheticStream
from streams.alertmanager import alertmanager_alert, early_alertmanager_alert
from streams.metrics import WorkerCollector, WorkerHealth, render, worker_registry
from streams.snapshots import PartitionSnapshot, SnapshotStore

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
QUICK = DetectorSettings(warmup_seconds=3600, level_window_seconds=7200, cooldown_seconds=600)
TINY = DetectorSettings(warmup_seconds=600, level_window_seconds=1200, cooldown_seconds=300)
"""Warmed up after ten minutes, so that random streams of an hour open alerts."""


def burst(seconds: float, *, rate: float = 5.0, **changes: Any) -> list[Event]:
    """The synthetic events of the first ``seconds``, with a negative burst on one brand."""
    base = Plan.from_config(Config(), START)
    plan = dataclasses.replace(base, rate=rate, scenario="negative-burst", **changes)
    end = START.timestamp() + seconds
    return list(itertools.takewhile(lambda e: e.time.timestamp() < end, SyntheticStream(plan)))


def engine(detector: DetectorSettings = QUICK, *, early: bool = True) -> Analytics:
    config = Config()
    return Analytics(config.brands, config.analytics, detector, default_scorer(), early=early)


def recorded(out: Output) -> list[bytes]:
    records: list[WindowRecord | AlertRecord] = [*out.windows, *out.alerts]
    return [encode_record(r) for r in records]


def mention(id: str, at: float, text: str) -> Event:
    return Event(
        v=1,
        id=id,
        platform="x",
        brand="acme",
        kind="mention",
        time=datetime.fromtimestamp(START.timestamp() + at, UTC),
        text=text,
    )


BURST_MINUTE = 70
"""A paced burst of negative mentions in this minute, after 70 minutes of 10 calm ones each."""


def delayed_burst() -> list[Event]:
    """Calm mentions on time; the burst's arrive 58 s late (as polled ones may), one a second."""
    arrivals: list[tuple[float, Event]] = []
    for minute in range(BURST_MINUTE + 3):
        for j in range(10):
            at = minute * 60.0 + 6 * j
            arrivals.append((at, mention(f"calm-{minute}-{j}", at, "acme store opens at nine")))
    for j in range(60):
        at = BURST_MINUTE * 60.0 + j
        worst = mention(f"burst-{j}", at + 0.5, "acme is terrible, awful, the worst service ever")
        arrivals.append((at + 58.5, worst))
    return [event for _, event in sorted(arrivals, key=lambda pair: pair[0])]


def test_a_paced_negative_burst_pages_on_the_event_that_reaches_the_opening_count() -> None:
    events = delayed_burst()
    analytics = engine()
    early: list[tuple[int, EarlyAlert]] = []
    firing: dict[str, tuple[int, AlertRecord]] = {}
    for index, event in enumerate(events):
        out = analytics.process([event])
        early += [(index, warning) for warning in out.early]
        firing.update((a.id, (index, a)) for a in out.alerts if a.state == "firing")
    negative = [(i, w) for i, w in early if w.signal == "negative_mentions"]
    assert {w.platform for _, w in negative} == {"x", "all"}  # all: the sum of one platform
    negative = [(i, w) for i, w in negative if w.platform == "x"]
    assert len(negative) == 1, early
    index, warning = negative[0]
    end = START.timestamp() + (BURST_MINUTE + 1) * 60
    assert warning.id == f"acme:x:negative_mentions:{int(end)}"
    assert warning.at.timestamp() == end
    # Judged at admission, on a late burst mention that made the count reach the opening count
    # (the 2 burst mentions held when minute 69 closed were not enough) ...
    assert events[index].id.startswith("burst-")
    admitted = sum(e.id.startswith("burst-") for e in events[: index + 1])
    assert 2 < warning.observed == admitted < 60
    # ... well before the minute closed, and its close fires the alert the warning named.
    closed_at, alert = firing[warning.id]
    assert closed_at > index
    assert events[closed_at].time.timestamp() - events[index].time.timestamp() >= 10
    assert alert.opened_at == warning.at and alert.observed == 60
    assert alert.expected == warning.expected
    assert QUICK.rank(alert.severity) >= QUICK.rank(warning.severity)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    brand=st.sampled_from(["acme", "globex"]),
    scenario=st.tuples(st.floats(900.0, 2400.0), st.floats(30.0, 900.0)),
    delays=st.integers(0, 55),
    batch=st.integers(1, 500),
)
def test_every_early_warning_is_followed_by_its_alert(
    seed: int, brand: str, scenario: tuple[float, float], delays: int, batch: int
) -> None:
    """Never a page for a minute that does not open, and never an alert opening without one:
    whatever the traffic, arrival order within the lateness and batching, the early warnings'
    ids are those of the alerts that open (after the drain at the latest), and the recorded
    output is the same as without early warnings."""
    events = burst(
        3600,
        rate=2.0,
        seed=seed,
        scenario_brand=brand,
        scenario_start=scenario[0],
        scenario_duration=scenario[1],
    )
    rng = random.Random(seed)
    arrival = sorted(events, key=lambda e: e.time.timestamp() + rng.uniform(0, delays))
    with_early, without = engine(TINY), engine(TINY, early=False)
    early: list[EarlyAlert] = []
    records: list[bytes] = []
    alerts: list[AlertRecord] = []
    plain: list[bytes] = []
    for position in range(0, len(arrival), batch):
        chunk = arrival[position : position + batch]
        out = with_early.process(chunk)
        early += out.early
        records += recorded(out)
        alerts += out.alerts
        plain += recorded(without.process(chunk))
        assert not without.process([]).early
    drained = with_early.drain()
    records += recorded(drained)
    alerts += drained.alerts
    plain += recorded(without.drain())
    assert records == plain
    opened = {a.id: a for a in alerts if a.state == "firing" and a.opened_at == a.at}
    for warning in early:
        assert warning.id in opened, warning
        assert TINY.rank(opened[warning.id].severity) >= TINY.rank(warning.severity)
    assert len({w.id for w in early}) == len(early)  # once per (platform, signal, minute)
    # And no alert opens unannounced, of a platform or of all: a minute's count is all admitted
    # by the time it closes, so it reached the opening count before (or as) the minute closed.
    assert {w.id for w in early} == set(opened)


def test_early_warnings_leave_the_records_as_they_were() -> None:
    events = burst(
        5400 + 900, scenario_brand="acme", scenario_start=5400.0, scenario_duration=300.0
    )
    with_early, without = engine(), engine(early=False)
    out = with_early.process(events)
    assert out.early
    assert recorded(out) == recorded(without.process(events))
    assert recorded(with_early.drain()) == recorded(without.drain())
    assert msgspec.msgpack.encode(with_early.save(with_early.brands)) == msgspec.msgpack.encode(
        without.save(without.brands)
    )


def test_the_worker_pages_an_early_warning_as_the_alert_it_foretells() -> None:
    """Pushed with the labels of its firing record (one alert, one page for Alertmanager), and
    counted in ``brandpulse_early_alerts_total``."""
    analytics = engine()
    early: list[EarlyAlert] = []
    firing: dict[str, AlertRecord] = {}
    for event in delayed_burst():
        out = analytics.process([event])
        early += out.early
        firing.update((a.id, a) for a in out.alerts if a.state == "firing")
    warning = next(w for w in early if w.signal == "negative_mentions")
    pushed = early_alertmanager_alert(warning)
    # Same severity, same alert: the close-time push differs only in what it observed.
    later = alertmanager_alert(
        msgspec.structs.replace(firing[warning.id], severity=warning.severity)
    )
    assert pushed["labels"] == later["labels"]
    assert pushed["startsAt"] == later["startsAt"]
    assert pushed["annotations"]["alert_id"] == warning.id
    assert "admitted" in pushed["annotations"]["early"]
    counts = Counter({(warning.brand, warning.platform, warning.signal): 1})
    registry = worker_registry(WorkerCollector(IngestStats, Counter(), WorkerHealth(), counts))
    exposed = render(registry).decode()
    assert (
        'brandpulse_early_alerts_total{brand="acme",platform="x",signal="negative_mentions"} 1.0'
        in exposed
    )


def feed(
    analytics: Analytics, events: Sequence[Event], start: int = 0, *, drain: bool = True
) -> tuple[dict[str, int], list[bytes]]:
    """Feed ``events`` one by one (and drain): where, in events fed counting from ``start``,
    each early warning's id first went out, and the records."""
    first: dict[str, int] = {}
    records: list[bytes] = []

    def take(index: int, out: Output) -> None:
        records.extend(recorded(out))
        for warning in out.early:
            first.setdefault(warning.id, index)

    for index, event in enumerate(events, start):
        take(index, analytics.process([event]))
    if drain:
        take(start + len(events), analytics.drain())
    return first, records


def restarted(analytics: Analytics, detector: DetectorSettings) -> Analytics:
    """A new engine, restored as the worker restores one: from a snapshot file, so that it
    shares no object with ``analytics``."""
    snapshot = PartitionSnapshot(0, IngestStats(), analytics.save(analytics.brands))
    with tempfile.TemporaryDirectory() as folder:
        store = SnapshotStore(Path(folder))
        store.save("events", 0, snapshot)
        loaded = store.load("events", 0)
    assert loaded is not None
    restored = engine(detector)
    restored.load(loaded.brands)
    # What a restored engine would save is what was saved, to the byte.
    assert msgspec.msgpack.encode(restored.save(restored.brands)) == msgspec.msgpack.encode(
        snapshot.brands
    )
    return restored


def assert_restart_keeps_warnings(
    events: Sequence[Event],
    cut: int,
    detector: DetectorSettings,
    whole: tuple[dict[str, int], list[bytes]],
) -> None:
    """Cut after ``cut`` events and restart: the same warnings as the uninterrupted run's
    (``whole``, as ``feed`` gave them), none later, and the same records."""
    warnings, expected = whole
    analytics = engine(detector)
    first, records = feed(analytics, events[:cut], drain=False)
    after, more = feed(restarted(analytics, detector), events[cut:], cut)
    for id, index in after.items():
        first[id] = min(first.get(id, index), index)
    assert set(first) == set(warnings), cut
    late = {id: (first[id], at) for id, at in warnings.items() if first[id] > at}
    assert not late, (cut, late)
    assert records + more == expected


def test_a_restart_mid_burst_pages_on_the_same_events() -> None:
    """The burst's mentions held (the late ones) or applied when the snapshot was taken count
    towards its minute's early warnings after the restore, as they did before it: cut at every
    event from the burst's first to the last warning, each goes out on the event it would have."""
    events = delayed_burst()
    whole = feed(engine(), events)
    # Mentions and negative mentions, each on its own event, of X and of all (X alone).
    assert sorted(whole[0]) == sorted(
        f"acme:{platform}:{signal}:{int(START.timestamp()) + (BURST_MINUTE + 1) * 60}"
        for platform in ("x", "all")
        for signal in ("mentions", "negative_mentions")
    )
    burst_start = next(i for i, e in enumerate(events) if e.id.startswith("burst-"))
    for cut in range(burst_start, max(whole[0].values()) + 2):
        assert_restart_keeps_warnings(events, cut, QUICK, whole)


@settings(max_examples=12, deadline=None, phases=tuple(set(Phase) - {Phase.shrink}))
@given(
    seed=st.integers(0, 10_000),
    brand=st.sampled_from(["acme", "globex"]),
    start=st.floats(900.0, 1500.0),
    delays=st.integers(0, 55),
    data=st.data(),
)
def test_a_restart_neither_loses_nor_delays_an_early_warning(
    seed: int, brand: str, start: float, delays: int, data: st.DataObject
) -> None:
    """Whatever the traffic and the arrival order within the lateness, a worker restarted
    from a snapshot shortly before an early warning was due still sends it, no later.

    Not shrunk: a smaller seed is no simpler a stream, and each try runs it twice."""
    events = burst(
        2400,
        rate=2.0,
        seed=seed,
        scenario_brand=brand,
        scenario_start=start,
        scenario_duration=300.0,
    )
    rng = random.Random(seed)
    arrival = sorted(events, key=lambda e: e.time.timestamp() + rng.uniform(0, delays))
    whole = feed(engine(TINY), arrival)
    assume(whole[0])
    due = whole[0][data.draw(st.sampled_from(sorted(whole[0])), label="warning")]
    cut = max(0, due - data.draw(st.integers(0, 200), label="events before it"))
    assert_restart_keeps_warnings(arrival, cut, TINY, whole)
