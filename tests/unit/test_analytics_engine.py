"""The analytics core end to end: windows, sentiment, spikes and care on synthetic traffic,
independent of batching, arrival order within the lateness, and snapshots."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

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


def run_with_late(events: list[Event]) -> tuple[list[bytes], dict[str, dict[str, int]]]:
    analytics = engine()
    produced = lines(analytics.process(events))
    return produced, {name: brand.state.late for name, brand in analytics.brands.items()}


def by_series(records: list[bytes]) -> dict[tuple[str, str, bool], list[bytes]]:
    """Records grouped by brand, platform and kind (window or alert), each in its order."""
    grouped: dict[tuple[str, str, bool], list[bytes]] = {}
    for record in records:
        decoded = msgspec.json.decode(record)
        key = (decoded["brand"], decoded["platform"], "window" in decoded)
        grouped.setdefault(key, []).append(record)
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
    analytics = engine()
    out = analytics.process(events)
    # The shop's one order leaves its watermark behind (and "all", which waits for the shop):
    # the end of the input closes their minutes.
    out.windows += analytics.drain().windows

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
    # Each series' records come out in the same order; how platforms (each closing its minutes
    # at its own watermark) and brands interleave follows arrival.
    assert by_series(run(shuffled)) == by_series(run(events))


PLATFORM_DELAYS = st.dictionaries(
    st.sampled_from(["x", "bluesky", "mastodon", "reddit", "youtube", "rss", "web", "shop"]),
    st.floats(0, 40),
)


@settings(max_examples=10, deadline=None)
@given(PLATFORM_DELAYS, st.integers(0, 2**32))
def test_output_does_not_depend_on_how_platforms_interleave(
    delays: dict[str, float], seed: int
) -> None:
    """Each platform's events keep their own order (shuffled within the lateness), but one
    platform's may come in up to 40 s behind another's: records, alerts and late counts stay."""
    rng = random.Random(seed)
    events = stream(2500)
    arriving = sorted(
        events,
        key=lambda e: e.time.timestamp() + delays.get(e.platform, 0.0) + rng.uniform(0, 15),
    )
    produced, late = run_with_late(arriving)
    expected, expected_late = run_with_late(events)
    assert by_series(produced) == by_series(expected)
    assert late == expected_late


@settings(max_examples=8, deadline=None)
@given(PLATFORM_DELAYS)
def test_all_counts_are_the_sums_of_the_platform_counts(delays: dict[str, float]) -> None:
    events = stream(1500)
    arriving = sorted(events, key=lambda e: e.time.timestamp() + delays.get(e.platform, 0.0))
    analytics = engine()
    out = analytics.process(arriving)
    drained = analytics.drain()
    records = [*out.windows, *drained.windows]
    series: dict[tuple[str, str, datetime], list[WindowRecord]] = {}
    totals: dict[tuple[str, str, datetime], WindowRecord] = {}
    for record in records:
        key = (record.brand, record.window, record.end)
        if record.platform == "all":
            assert key not in totals
            totals[key] = record
        else:
            series.setdefault(key, []).append(record)
    assert totals
    assert set(series) <= set(totals)
    counted = ["mentions", "posts", "interactions", "negative_mentions", "positive", "neutral"]
    counted += ["negative", "orders", "visits"]
    for key, total in totals.items():
        parts = series.get(key, [])  # a platform with empty windows writes no record
        for name in counted:
            assert getattr(total, name) == sum(getattr(p, name) for p in parts), (key, name)
        followers = [p.followers for p in parts if p.followers is not None]
        assert total.followers == (sum(followers) if followers else None)
    ends = {r.end for r in records if r.platform == "all" and r.window == "1m"}
    newest = max(e.time for e in events).replace(second=0, microsecond=0)
    assert max(ends) == newest + timedelta(minutes=1)  # drained: every minute closed
    assert len(ends) == len({e.time.replace(second=0, microsecond=0) for e in events})


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


def polled_next_to_streamed(poll: int, seconds: int = 1800) -> list[Event]:
    """X streams in (a mention a second, seen 1 s later), a blog item every 5 s is seen at the
    next poll, 5 s after it: up to ``poll`` + 5 s old. The connector's first poll, as X starts,
    finds one item (without it, "all" would start with X alone, and the first poll's items from
    minutes "all" closed meanwhile would be late, as a silent platform's are when it wakes)."""
    rng = random.Random(1)
    arrivals: list[tuple[float, Event]] = [(START.timestamp(), _mention("blog", "b", START))]
    for second in range(seconds):
        at = START.timestamp() + second + rng.random()
        arrivals.append((at + 1, _mention("x", f"x{second}", at)))
        if second % 5 == 0:
            seen = START.timestamp() + (second // poll + 1) * poll + 5
            arrivals.append((seen, _mention("blog", f"b{second}", at)))
    return [event for _, event in sorted(arrivals, key=lambda a: a[0])]  # a poll's oldest first


def test_a_polled_platform_next_to_a_streaming_one_is_not_late() -> None:
    """Each platform has its own clock: items of a feed polled every 15, 60 or 300 s (RSS's
    default) are all on time next to X, however old they are when they arrive, and every one
    of them counts in "all"."""
    for poll in (15, 60, 300):
        events = polled_next_to_streamed(poll)
        analytics = engine()
        out = analytics.process(events)
        out.windows += analytics.drain().windows
        assert analytics.brands["acme"].state.late == {}, poll
        minutes = [r for r in out.windows if (r.platform, r.window) == ("all", "1m")]
        assert sum(r.mentions for r in minutes) == len(events), poll
        blog = [r for r in out.windows if (r.platform, r.window) == ("blog", "1m")]
        assert sum(r.mentions for r in blog) == 361, poll


def test_a_streaming_platform_is_not_held_back_by_a_slower_one_but_all_is() -> None:
    """X's minutes close at X's watermark, a feed polled every 300 s closes its own later, and
    "all" waits for the feed (active: heard from within ``idle_after``)."""
    events = polled_next_to_streamed(300)
    analytics = engine()
    ends: dict[str, datetime] = {}
    x_newest = blog_newest = START
    for event in events:
        if event.time > START + timedelta(seconds=1000):
            break  # X has reached 1000 s; the blog's last poll (905 s) had items up to 900 s
        for record in analytics.process([event]).windows:
            ends[record.platform] = max(ends.get(record.platform, START), record.end)
        if event.platform == "x":
            x_newest = max(x_newest, event.time)
        else:
            blog_newest = max(blog_newest, event.time)
    lateness = timedelta(seconds=60)

    def closed_up_to(newest: datetime) -> datetime:
        """The end of the last minute a watermark of ``newest`` - lateness has passed."""
        return (newest - lateness).replace(second=0, microsecond=0)

    assert ends["x"] == closed_up_to(x_newest) == START + timedelta(seconds=900)
    assert ends["blog"] == closed_up_to(blog_newest) == START + timedelta(seconds=780)
    assert ends["all"] == ends["blog"]


def _closed_through(analytics: Analytics, events: list[Event]) -> dict[str, datetime]:
    """Per platform, the end of the last 1-minute record ``events`` closed."""
    ends: dict[str, datetime] = {}
    for record in analytics.process(events).windows:
        if record.window == "1m":
            ends[record.platform] = max(ends.get(record.platform, START), record.end)
    return ends


def _with_lateness(**lateness: float) -> Analytics:
    config = Config()
    settings = msgspec.structs.replace(config.analytics, platform_lateness=lateness)
    return Analytics(config.brands, settings, QUICK, default_scorer())


def test_a_platform_with_a_shorter_lateness_closes_its_minutes_sooner() -> None:
    """``platform_lateness``: X (15 s) closes each minute 15 s after its end, Mastodon keeps
    the default 60 s; an X mention 20 s behind the newest is late, a Mastodon one is not. A
    restored state takes the lateness of the config it is restored under."""
    events = [
        _mention(platform, f"{platform}{second}", START.timestamp() + second)
        for second in range(300)
        for platform in ("x", "mastodon")
    ]
    analytics = _with_lateness(x=15.0)
    ends = _closed_through(analytics, events)
    assert ends["x"] == START + timedelta(seconds=240)  # newest 299 s - 15 s
    assert ends["mastodon"] == START + timedelta(seconds=180)  # newest 299 s - 60 s
    older = [_mention(p, f"{p}-old", START.timestamp() + 279) for p in ("x", "mastodon")]
    assert analytics.process(older).late == 1
    assert analytics.brands["acme"].state.late == {"x": 1}

    default = engine()
    default.process(events)
    restored = _with_lateness(x=15.0)
    restored.load(
        msgspec.msgpack.decode(
            msgspec.msgpack.encode(default.save(default.brands)), type=dict[str, BrandSnapshot]
        )
    )
    more = [_mention("x", "x320", START.timestamp() + 320)]
    assert _closed_through(restored, more)["x"] == START + timedelta(seconds=300)  # 320 - 15


def test_a_silent_platform_stops_holding_all_back_and_its_old_items_are_late() -> None:
    """A blog heard from in the first 5 minutes, then silent: once it is ``idle_after`` (900 s)
    behind X, "all" moves on with X alone. When the blog wakes up with items from minutes
    "all" has closed, they are late; its newer items count."""
    at = START.timestamp()
    events = [_mention("x", f"x{second}", at + second) for second in range(2400)]
    blog = [_mention("blog", f"b{second}", at + second) for second in range(0, 300, 5)]
    for number, event in enumerate(blog):  # each blog item next to the X item of its second
        events.insert(events.index(next(e for e in events if e.time >= event.time)), event)
        assert number < len(blog)
    analytics = engine()
    out = analytics.process(events)
    state = analytics.brands["acme"].state
    last_all = max(r.end for r in out.windows if r.platform == "all")
    # X's watermark is at 2339 s: "all" has closed the minute that ended at 2280 s, far past
    # where the silent blog (watermark 235 s) would have held it.
    assert last_all == START + timedelta(seconds=2280)
    blog_last = max(r.end for r in out.windows if r.platform == "blog")
    assert blog_last == last_all  # brought along, its held items applied
    minutes = [r for r in out.windows if (r.platform, r.window) == ("all", "1m")]
    assert sum(r.mentions for r in minutes if r.end <= START + timedelta(seconds=300)) == 360
    assert state.late == {}

    waking = [_mention("blog", f"w{second}", at + second) for second in range(2000, 2400, 10)]
    out = analytics.process(waking)
    floor = last_all.timestamp()
    old = sum(1 for e in waking if e.time.timestamp() < floor)
    assert 0 < old < len(waking)
    assert out.late == old
    assert state.late == {"blog": old}
    drained = analytics.drain()
    blog_minutes = [r for r in drained.windows if (r.platform, r.window) == ("blog", "1m")]
    assert sum(r.mentions for r in blog_minutes) == len(waking) - old


def _mention(platform: str, id: str, at: float | datetime) -> Event:
    return Event(
        v=1,
        id=id,
        platform=platform,  # type: ignore[arg-type]
        brand="acme",
        kind="mention",
        time=at if isinstance(at, datetime) else datetime.fromtimestamp(at, UTC),
        text="acme",
    )
