"""The analytics' building blocks: windows, the reorder buffer, first-response tracking."""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from brandpulse.analytics import signals
from brandpulse.analytics.evidence import EvidenceLog, _most_negative, _most_reached
from brandpulse.analytics.records import Evidence
from brandpulse.analytics.reorder import ReorderBuffer
from brandpulse.analytics.response import Deadlines, ResponseTracker
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


class HeapReorder:
    """The reorder buffer as first written, every event in one heap: the reference."""

    def __init__(self, lateness: float) -> None:
        self.lateness = lateness
        self.newest: float | None = None
        self.heap: list[tuple[float, str, str, int, Event]] = []
        self.arrivals = 0

    def admit(self, item: Event, when: float) -> list[tuple[float, Event]] | None:
        if self.newest is not None and when < self.newest - self.lateness:
            return None
        self.arrivals += 1
        heapq.heappush(self.heap, (when, item.platform, item.id, self.arrivals, item))
        self.newest = when if self.newest is None else max(self.newest, when)
        return self.release(self.newest - self.lateness)

    def release(self, watermark: float) -> list[tuple[float, Event]]:
        released = []
        while self.heap and self.heap[0][0] <= watermark:
            entry = heapq.heappop(self.heap)
            released.append((entry[0], entry[4]))
        return released


def texts(
    released: Sequence[tuple[float, Event]] | None,
) -> list[tuple[float, str | None]] | None:
    return None if released is None else [(when, e.text) for when, e in released]


# (seconds, platform, id) arrivals: few distinct values, so equal times and duplicates abound.
ARRIVALS = st.lists(
    st.tuples(st.integers(0, 40), st.sampled_from(["x", "reddit"]), st.sampled_from("abcd")),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ARRIVALS, st.sampled_from([0.0, 3.0, 10.0, -2.0]), st.integers(0, 60))
def test_held_events_come_out_as_from_one_heap_keyed_time_platform_id_arrival(
    arrivals: list[tuple[int, str, str]], lateness: float, snapshot_at: int
) -> None:
    """In-order arrivals take a fast path, the rest a heap; together they must release
    exactly what one heap would, equal keys in arrival order, across a snapshot too."""
    reference, buffer = HeapReorder(lateness), ReorderBuffer(lateness)
    expected, got = [], []
    for n, (seconds, platform, id) in enumerate(arrivals):
        if n == snapshot_at:
            buffer = msgspec.msgpack.decode(msgspec.msgpack.encode(buffer), type=ReorderBuffer)
        item = msgspec.structs.replace(event(seconds, id=id), platform=platform, text=f"#{n}")
        expected.append(texts(reference.admit(item, seconds)))
        if n % 2:
            got.append(texts(buffer.admit(item, seconds)))
        else:
            got.append(texts(buffer.release()) if buffer.push(item, seconds) else None)
    expected.append(texts(reference.release(float("inf"))))
    got.append(texts(buffer.drain()))
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.integers(0, 8), st.sampled_from("abc")),
            st.tuples(st.just("take"), st.integers(0, 8), st.just("")),
            st.tuples(st.just("first"), st.just(0), st.sampled_from(["", "a", "ab", "abc"])),
        ),
        max_size=80,
    )
)
def test_deadlines_are_taken_as_from_a_heap_of_time_id_pairs(
    steps: list[tuple[str, int, str]],
) -> None:
    """``first(pending)`` also takes the leading deadlines of items not pending."""
    deadlines = Deadlines()
    heap: list[tuple[float, str]] = []
    for step, at, ids in steps:
        if step == "add":
            deadlines.add(float(at), ids)
            heapq.heappush(heap, (float(at), ids))
        elif step == "first":
            while heap and heap[0][1] not in ids:
                heapq.heappop(heap)
            assert deadlines.first(ids) == (heap[0][0] if heap else float("inf"))
        else:
            expected = []
            while heap and heap[0][0] <= at:
                expected.append(heapq.heappop(heap)[1])
            assert deadlines.take(float(at)) == expected
        assert len(deadlines.times) - deadlines.start == len(heap)
        deadlines = msgspec.msgpack.decode(msgspec.msgpack.encode(deadlines), type=Deadlines)


def reference_add(log: EvidenceLog, minute: int, item: Evidence) -> None:
    """The plain rule ``offer`` must follow: insert on each count, keep the first ``keep``."""
    for kept_by, key in ((log.negative, _most_negative), (log.reached, _most_reached)):
        kept = kept_by.setdefault(item.platform, {}).setdefault(minute, [])
        if len(kept) < log.keep or key(item) < key(kept[-1]):
            insort(kept, item, key=key)
            del kept[log.keep :]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(["x", "reddit"]),
            st.sampled_from("abcdefgh"),
            st.sampled_from([-0.5, 0.0, 0.5]),
            st.integers(0, 3),
        ),
        max_size=40,
    ),
    st.integers(1, 3),
)
def test_offering_a_mention_keeps_what_adding_its_evidence_keeps(
    mentions: list[tuple[int, str, str, float, int]], keep: int
) -> None:
    offered, added = EvidenceLog(keep), EvidenceLog(keep)
    for minute, platform, id, score, followers in mentions:
        item = msgspec.structs.replace(
            event(minute * 60, id=id), platform=platform, author=Author(id="a", followers=followers)
        )
        offered.offer(minute, item, score)
        reference_add(
            added,
            minute,
            Evidence(id=id, platform=platform, text=item.text, score=score, reach=followers),
        )
    assert offered == added


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
