"""The analytics' building blocks: windows, the reorder buffer, first-response tracking."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from brandpulse.analytics import signals
from brandpulse.analytics.reorder import ReorderBuffer
from brandpulse.analytics.response import ResponseTracker
from brandpulse.analytics.windows import WINDOWS, SeriesWindows
from brandpulse.contract import Author, Event


def event(
    seconds: float,
    kind: str = "mention",
    *,
    id: str = "e",
    brand_author: bool = False,
    parent: str | None = None,
    thread: str | None = None,
) -> Event:
    return Event(
        v=1,
        id=id,
        platform="x",
        brand="acme",
        kind=kind,  # type: ignore[arg-type]
        time=datetime.fromtimestamp(seconds, UTC),
        author=Author(id="a", is_brand=brand_author),
        parent_id=parent,
        thread_id=thread,
        text="hello",
    )


def mentions_in(series: SeriesWindows, window: str) -> int:
    return series.current[window][signals.MENTIONS]


def test_window_sums_move_with_closed_minutes() -> None:
    series = SeriesWindows()
    for minute, count in ((0, 3), (1, 2), (4, 1), (5, 7)):
        series.bucket(minute)[signals.MENTIONS] = count
    expected_5m = {0: 3, 1: 5, 2: 5, 3: 5, 4: 6, 5: 10, 6: 8, 7: 8}
    for minute in range(8):
        series.close(minute)
        assert mentions_in(series, "1m") == series.buckets.get(minute, signals.empty())[0]
        assert mentions_in(series, "5m") == expected_5m[minute]
        assert mentions_in(series, "1h") == sum(
            c for m, c in ((0, 3), (1, 2), (4, 1), (5, 7)) if m <= minute
        )
    assert series.previous["5m"][signals.MENTIONS] == 5  # minutes -2..2, before window 3..7


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.integers(0, 3000), st.integers(1, 5), max_size=40))
def test_running_sums_equal_sums_recomputed_from_buckets(counts: dict[int, int]) -> None:
    series = SeriesWindows()
    for minute, count in counts.items():
        series.bucket(minute)[signals.MENTIONS] = count
    last = max(counts, default=0) + 3000
    for minute in range(last + 1):
        series.close(minute)
        if minute % 97 == 0 or minute == last:
            for name, length in WINDOWS.items():
                now = sum(c for m, c in counts.items() if minute - length < m <= minute)
                before = sum(
                    c for m, c in counts.items() if minute - 2 * length < m <= minute - length
                )
                assert series.current[name][signals.MENTIONS] == now
                assert series.previous[name][signals.MENTIONS] == before
    assert len(series.buckets) <= 2 * max(WINDOWS.values())


def test_followers_before_a_minute_is_the_latest_earlier_snapshot() -> None:
    series = SeriesWindows()
    series.record_followers(10, 100)
    series.record_followers(10, 105)
    series.record_followers(20, 120)
    assert series.followers_before(10) is None
    assert series.followers_before(11) == 105
    assert series.followers_before(25) == 120


def test_reorder_buffer_releases_in_event_time_order_and_refuses_late_events() -> None:
    buffer = ReorderBuffer(lateness=10)
    for seconds, id in ((100, "a"), (95, "b"), (112, "c")):
        assert buffer.push(event(seconds, id=id), seconds)
    assert [e.id for _, e in buffer.release()] == ["b", "a"]  # watermark 102
    assert not buffer.push(event(101, id="late"), 101)
    assert buffer.push(event(103, id="d"), 103)
    assert [e.id for _, e in buffer.drain()] == ["d", "c"]


@given(st.permutations(list(range(20))))
def test_release_order_does_not_depend_on_arrival_order_within_lateness(order: list[int]) -> None:
    def run(arrival: list[int]) -> list[str]:
        buffer = ReorderBuffer(lateness=100)
        released = []
        for i in arrival:
            buffer.push(event(1000 + i, id=f"e{i}"), 1000 + i)
            released += [e.id for _, e in buffer.release()]
        return released + [e.id for _, e in buffer.drain()]

    assert run(order) == run(sorted(order))


def test_first_brand_reply_in_a_thread_answers_everything_waiting_there() -> None:
    tracker = ResponseTracker(sla_seconds=600, max_open_seconds=86400)
    tracker.observe(event(0, id="m1"), 0, from_brand=False, needs_answer=True)
    tracker.observe(
        event(30, "reply", id="r1", parent="m1", thread="m1"),
        30,
        from_brand=False,
        needs_answer=True,
    )
    tracker.observe(event(50, id="m2"), 50, from_brand=False, needs_answer=True)
    answered = tracker.observe(
        event(120, "reply", id="b1", parent="r1", thread="m1", brand_author=True),
        120,
        from_brand=True,
        needs_answer=False,
    )
    assert sorted((a.item.id, a.seconds) for a in answered) == [("m1", 120.0), ("r1", 90.0)]
    assert tracker.waiting() == {"x": (1, 50.0, 0)}
    again = tracker.observe(
        event(130, "reply", id="b2", parent="m1", thread="m1", brand_author=True),
        130,
        from_brand=True,
        needs_answer=False,
    )
    assert again == []


def test_items_that_need_no_answer_start_no_clock() -> None:
    tracker = ResponseTracker(sla_seconds=600, max_open_seconds=3600)
    tracker.observe(event(0, id="praise"), 0, from_brand=False, needs_answer=False)
    assert tracker.items == {}
    assert tracker.overdue(10_000) == ([], [])


def test_items_past_the_sla_are_breaches_once_and_expire_later() -> None:
    tracker = ResponseTracker(sla_seconds=600, max_open_seconds=3600)
    tracker.observe(event(0, id="m1"), 0, from_brand=False, needs_answer=True)
    tracker.observe(event(100, id="m2"), 100, from_brand=False, needs_answer=True)
    assert tracker.overdue(599) == ([], [])
    assert [i.id for i in tracker.overdue(650)[0]] == ["m1"]
    assert tracker.overdue(660) == ([], [])
    assert tracker.breached_open == {"x": 1}
    assert [i.id for i in tracker.overdue(700)[0]] == ["m2"]
    assert [i.id for i in tracker.overdue(3650)[1]] == ["m1"]
    assert tracker.waiting() == {"x": (1, 100.0, 1)}
    assert [i.id for i in tracker.overdue(3700)[1]] == ["m2"]
    assert tracker.items == {}
    assert tracker.breached_open == {"x": 0}
