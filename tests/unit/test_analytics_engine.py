"""The analytics core end to end: windows, sentiment, spikes and care on synthetic traffic,
independent of batching, arrival order within the lateness, and snapshots."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from brandpulse.analytics.brand import Output
from brandpulse.analytics.engine import Analytics, BrandSnapshot
from brandpulse.analytics.records import AlertRecord, WindowRecord, encode_record
from brandpulse.config import Config
from brandpulse.contract import Event
from brandpulse.sentiment import default_scorer
from brandpulse.spikes import DetectorSettings
from connectors.synthetic.generator import Plan, SyntheticStream

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
QUICK = DetectorSettings(warmup_seconds=3600, level_window_seconds=7200, cooldown_seconds=600)


def stream(count: int, **changes: object) -> list[Event]:
    plan = Plan(**{**Plan.from_config(Config(), START).__dict__, "rate": 5.0, **changes})
    return list(itertools.islice(SyntheticStream(plan), count))


def stream_for(seconds: float, **changes: object) -> list[Event]:
    """The synthetic events of the first ``seconds`` of event time."""
    plan = Plan(**{**Plan.from_config(Config(), START).__dict__, "rate": 5.0, **changes})
    end = START.timestamp() + seconds
    return list(itertools.takewhile(lambda e: e.time.timestamp() < end, SyntheticStream(plan)))


def engine(sla: float = 1800.0) -> Analytics:
    config = Config()
    analytics = msgspec.structs.replace(config.analytics, sla_seconds=sla)
    return Analytics(config.brands, analytics, QUICK, default_scorer())


def lines(out: Output) -> list[bytes]:
    records: list[WindowRecord | AlertRecord] = [*out.windows, *out.alerts]
    return [encode_record(r) for r in records]


def run(events: list[Event], sizes: list[int] | None = None) -> list[bytes]:
    analytics = engine()
    produced: list[bytes] = []
    position = 0
    for size in itertools.cycle(sizes or [len(events) or 1]):
        if position >= len(events):
            break
        produced += lines(analytics.process(events[position : position + size]))
        position += size
    return produced


def by_brand(records: list[bytes]) -> dict[str, list[bytes]]:
    grouped: dict[str, list[bytes]] = {}
    for record in records:
        grouped.setdefault(msgspec.json.decode(record)["brand"], []).append(record)
    return grouped


def test_minutes_close_behind_the_watermark_with_all_windows_and_platforms() -> None:
    out = engine().process(stream(2000))
    assert not out.late
    ends = sorted({r.end for r in out.windows})
    assert ends[0] == datetime(2026, 3, 2, 8, 1, tzinfo=UTC)
    newest = max(e.time for e in stream(2000))
    assert (newest - ends[-1]).total_seconds() <= 60 + 60  # the lateness, and the open minute
    first = [r for r in out.windows if r.end == ends[0] and r.brand == "acme"]
    assert {r.window for r in first} == {"1m", "5m", "1h", "24h"}
    assert "all" in {r.platform for r in first}


def test_window_counts_match_the_events_they_cover() -> None:
    events = stream(3000)
    out = engine().process(events)
    record = next(
        r
        for r in reversed(out.windows)
        if r.brand == "globex" and r.platform == "all" and r.window == "5m"
    )
    end = record.end.timestamp()
    covered = [e for e in events if e.brand == "globex" and end - 300 <= e.time.timestamp() < end]
    brand_handles = {"globex", "globex_team"}
    public = [
        e
        for e in covered
        if not (e.author and (e.author.is_brand or e.author.handle in brand_handles))
    ]
    assert record.mentions == sum(1 for e in public if e.kind == "mention")
    assert record.interactions == sum(
        1 for e in public if e.kind in {"comment", "reply", "reaction", "share"}
    )
    assert record.posts == sum(1 for e in covered if e.kind == "post")
    assert record.mention_rate == record.mentions / 300
    assert record.orders == sum(1 for e in covered if e.kind == "order")
    assert record.visits == sum(1 for e in covered if e.kind == "visit")
    assert record.visits > record.orders > 0


def test_orders_and_visits_count_on_their_platforms_with_growth() -> None:
    visit = Event(v=1, id="v", platform="web", brand="acme", kind="visit", time=START)
    order = Event(v=1, id="o", platform="shop", brand="acme", kind="order", time=START)
    at = START.timestamp()

    def shifted(event: Event, seconds: float, number: int) -> Event:
        when = datetime.fromtimestamp(at + seconds, UTC)
        return msgspec.structs.replace(event, id=f"{event.id}{number}", time=when)

    # minute 0: 2 visits, 1 order; minute 1: 3 visits; then time moves on
    events = [shifted(visit, 1, 1), shifted(visit, 2, 2), shifted(order, 3, 1)]
    events += [shifted(visit, 61 + n, 3 + n) for n in range(3)]
    events.append(shifted(visit, 400, 9))
    out = engine().process(events)

    def one_minute(platform: str, end_minute: int) -> WindowRecord:
        end = datetime.fromtimestamp(at + 60 * end_minute, UTC)
        return next(
            r for r in out.windows if (r.platform, r.window, r.end) == (platform, "1m", end)
        )

    assert (one_minute("web", 1).visits, one_minute("web", 1).orders) == (2, 0)
    assert (one_minute("shop", 1).orders, one_minute("all", 1).orders) == (1, 1)
    assert one_minute("all", 1).visits == 2
    assert one_minute("web", 2).visits == 3
    assert one_minute("web", 2).visit_growth == 0.5  # 3 against 2
    assert one_minute("shop", 2).order_growth == -1.0
    assert one_minute("all", 2).mentions == 0  # a visit is no social activity


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=8))
def test_output_does_not_depend_on_batch_sizes(sizes: list[int]) -> None:
    events = stream(2500)
    assert run(events, sizes) == run(events)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32))
def test_output_does_not_depend_on_arrival_order_within_the_lateness(seed: int) -> None:
    rng = random.Random(seed)
    events = stream(2500)
    shuffled = sorted(events, key=lambda e: e.time.timestamp() + rng.uniform(0, 50))
    # Each brand's records come out in the same order; how brands interleave follows arrival.
    assert by_brand(run(shuffled)) == by_brand(run(events))


def test_events_later_than_the_lateness_are_counted_not_applied() -> None:
    events = stream(1500)
    analytics = engine()
    analytics.process(events)
    out = analytics.process([msgspec.structs.replace(events[0], id="very-late")])
    assert out.late == 1
    assert analytics.brands[events[0].brand].state.late == {events[0].platform: 1}


def test_snapshot_and_restore_continue_exactly() -> None:
    events = stream(4000)
    whole = run(events)
    first = engine()
    before = lines(first.process(events[:1700]))
    encoded = msgspec.msgpack.encode(first.save(first.brands))
    second = engine()
    second.load(msgspec.msgpack.decode(encoded, type=dict[str, BrandSnapshot]))
    assert before + lines(second.process(events[1700:])) == whole


def test_negative_burst_raises_an_alert_for_that_brand_only_with_evidence() -> None:
    events = stream_for(
        5400 + 1800,
        scenario="negative-burst",
        scenario_brand="globex",
        scenario_start=5400.0,
        scenario_duration=900.0,
    )
    out = engine().process(events)
    firing = [a for a in out.alerts if a.state == "firing"]
    assert firing, "no alert"
    assert {a.brand for a in out.alerts} == {"globex"}
    alert = next(a for a in firing if a.signal == "negative_mentions")
    burst_start = START.timestamp() + 5400
    assert burst_start <= alert.at.timestamp() <= burst_start + 300
    assert alert.observed > alert.expected
    assert alert.evidence and all(e.score is not None and e.score < 0 for e in alert.evidence[:1])
    assert any(a.state == "resolved" and a.signal == "negative_mentions" for a in out.alerts)


def test_slow_care_gives_long_first_responses_and_sla_breaches() -> None:
    events = stream_for(
        4 * 3600,
        scenario="slow-care",
        scenario_brand="acme",
        scenario_start=0.0,
        scenario_duration=10 * 3600.0,
    )
    analytics = engine(sla=3600.0)
    out = analytics.process(events)
    acme, globex = analytics.brands["acme"].state, analytics.brands["globex"].state
    slow = sum(h.count for h in acme.first_response.values())
    assert slow > 0
    slow_mean = sum(h.sum for h in acme.first_response.values()) / slow
    quick = sum(h.count for h in globex.first_response.values())
    quick_mean = sum(h.sum for h in globex.first_response.values()) / quick
    assert slow_mean > 5 * quick_mean
    assert sum(acme.breaches.values()) > 20
    assert sum(globex.breaches.values()) == 0
    sla = [a for a in out.alerts if a.signal == "sla_breach"]
    assert sla and {a.brand for a in sla} == {"acme"}
    assert all(isinstance(a, AlertRecord) for a in sla)
    assert all(isinstance(r, WindowRecord) for r in out.windows)


def test_a_polled_platform_next_to_a_streaming_one_is_late_beyond_the_lateness() -> None:
    """The brand's clock is its newest event on any platform: X streams in, a feed polled every
    ``poll`` seconds delivers items up to ``poll`` old. Items older than the lateness are late
    (what ``BrandpulseLateEventsHigh`` reports)."""
    rng = random.Random(1)

    def late_share(poll: int) -> float:
        arrivals: list[tuple[float, Event]] = []
        for second in range(1800):
            at = START.timestamp() + second + rng.random()
            arrivals.append((at + 1, _mention("x", f"x{second}", at)))
            if second % 5 == 0:  # a blog item every 5 s, seen at the next poll, 5 s later
                seen = START.timestamp() + (second // poll + 1) * poll + 5
                arrivals.append((seen, _mention("blog", f"b{second}", at)))
        analytics = engine()
        analytics.process([event for _, event in sorted(arrivals, key=lambda a: a[0])])
        late = analytics.brands["acme"].state.late
        assert "x" not in late
        return late.get("blog", 0) / 360

    assert late_share(15) == 0.0
    assert 0.0 < late_share(60) < 0.2
    assert late_share(300) > 0.7


def _mention(platform: str, id: str, at: float) -> Event:
    return Event(
        v=1,
        id=id,
        platform=platform,  # type: ignore[arg-type]
        brand="acme",
        kind="mention",
        time=datetime.fromtimestamp(at, UTC),
        text="acme",
    )
