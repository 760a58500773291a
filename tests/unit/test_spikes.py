"""The spike detector: when alerts open, escalate and close, and that snapshots restore exactly."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bench.nab_series import poisson
from brandpulse.spikes import DetectorSettings, SpikeDetector, Transition

MINUTE = 60
FIVE_MINUTES = 300
DAY = 86_400
DEFAULTS = DetectorSettings()
"""One-minute buckets, 12 hours of warm-up, 2 hours of cooldown, warning from 4.5."""
STEADY = 20.0
"""A series that always has exactly this count scores bursts deterministically: its noise scale
settles on the Poisson floor, so 36 scores about 3 (between the thresholds), 60 about 6.5
(warning) and 200 about 19 (critical)."""


def run(
    counts: Sequence[float], settings: DetectorSettings = DEFAULTS, start: float = 0.0
) -> list[tuple[int, Transition]]:
    detector = SpikeDetector(settings)
    step = settings.bucket_seconds
    return [
        (index, transition)
        for index, count in enumerate(counts)
        if (transition := detector.update(start + index * step, count))
    ]


def noisy(mean: float, buckets: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [float(poisson(rng, mean)) for _ in range(buckets)]


def steady(buckets: int = DAY // MINUTE) -> list[float]:
    return [STEADY] * buckets


def kinds(transitions: list[tuple[int, Transition]]) -> list[tuple[int, str, str]]:
    return [(index, t.kind, t.severity) for index, t in transitions]


def business_hours(bucket_start: float) -> float:
    """5 mentions per bucket at night, 100 from 9:00 to 20:00, ramping over an hour."""
    hour = bucket_start % DAY / 3600
    return 5 + 95 * (min(1, max(0, hour - 8)) - min(1, max(0, hour - 20)))


def test_no_alert_on_a_flat_noisy_series() -> None:
    assert run(noisy(20, 3 * DAY // MINUTE)) == []


def test_no_alert_on_a_daily_cycle_but_every_morning_without_the_profile() -> None:
    rng = random.Random(3)
    counts = [float(poisson(rng, business_hours(i * FIVE_MINUTES))) for i in range(7 * 288)]
    five_minutes = dataclasses.replace(DEFAULTS, bucket_seconds=FIVE_MINUTES)
    assert run(counts, five_minutes) == []
    without_profile = dataclasses.replace(five_minutes, season_slots=1)
    assert len([t for _, t in run(counts, without_profile) if t.kind == "open"]) >= 5


def test_a_clear_burst_opens_an_alert_with_what_it_saw() -> None:
    counts = [*noisy(20, DAY // MINUTE), 200.0, 20.0]
    transitions = run(counts, start=1_700_000_000.0)
    assert kinds(transitions) == [(1440, "open", "critical"), (1441, "close", "critical")]
    opened = transitions[0][1]
    assert opened.at == 1_700_000_000.0 + 1441 * MINUTE  # the end of the burst's bucket
    assert opened.observed == 200.0
    assert opened.expected == pytest.approx(20, rel=0.15)
    assert opened.score >= 9.0


def test_a_burst_in_five_minute_buckets_opens_too() -> None:
    five_minutes = dataclasses.replace(DEFAULTS, bucket_seconds=FIVE_MINUTES)
    counts = [*noisy(100, 2 * 288), 160.0]
    assert kinds(run(counts, five_minutes)) == [(576, "open", "warning")]


def test_nothing_before_the_warm_up_is_over() -> None:
    early = [*steady(60), 200.0]
    assert run(early) == []
    assert kinds(run(early, dataclasses.replace(DEFAULTS, warmup_seconds=30 * MINUTE))) == [
        (60, "open", "critical")
    ]


def test_a_few_mentions_on_a_quiet_series_are_not_a_spike() -> None:
    quiet = dataclasses.replace(DEFAULTS, min_volume=0.0)
    assert run([*noisy(0.3, DAY // MINUTE), 3.0, 4.0], quiet) == []


def test_no_alert_below_the_minimum_volume() -> None:
    strict = dataclasses.replace(DEFAULTS, min_volume=20.0)
    counts = noisy(2, DAY // MINUTE)
    assert run([*counts, 19.0], strict) == []
    assert kinds(run([*counts, 40.0], strict)) == [(1440, "open", "critical")]


def test_hysteresis_keeps_an_alert_open_between_the_thresholds() -> None:
    counts = [*steady(), 60.0, 36.0, 36.0, 36.0, 36.0, STEADY]
    assert kinds(run(counts)) == [(1440, "open", "warning"), (1445, "close", "warning")]


def test_an_alert_closes_once_the_series_is_back_to_normal() -> None:
    transitions = run([*steady(), 60.0, 60.0, STEADY])
    closed = transitions[-1][1]
    assert (closed.kind, closed.observed) == ("close", STEADY)
    assert closed.expected == pytest.approx(STEADY)
    assert closed.score < DEFAULTS.close_threshold


def test_no_new_alert_during_the_cooldown() -> None:
    half_hour = [STEADY] * 30
    counts = [*steady(), 60.0, STEADY, *half_hour, 60.0, STEADY, *half_hour * 4, 60.0]
    transitions = run(counts)
    assert kinds(transitions) == [
        (1440, "open", "warning"),
        (1441, "close", "warning"),
        (1594, "open", "warning"),
    ]
    assert transitions[2][1].at - transitions[1][1].at >= DEFAULTS.cooldown_seconds


def test_severity_escalates_with_an_update_and_never_flaps_down() -> None:
    counts = [*steady(), 60.0, 200.0, 300.0, 60.0, STEADY]
    assert kinds(run(counts)) == [
        (1440, "open", "warning"),
        (1441, "update", "critical"),
        (1444, "close", "critical"),
    ]


def test_missing_buckets_count_as_zero_mentions() -> None:
    counts = noisy(20, DAY // MINUTE)
    skipping, explicit = SpikeDetector(DEFAULTS), SpikeDetector(DEFAULTS)
    for index, count in enumerate(counts):
        arrives = index % 7 != 3  # a seventh of the buckets never arrive
        explicit.update(index * MINUTE, count if arrives else 0.0)
        if arrives:
            skipping.update(index * MINUTE, count)
    assert skipping.to_state() == explicit.to_state()


def test_a_gap_during_an_alert_closes_it_at_the_first_missing_bucket() -> None:
    detector = SpikeDetector(DEFAULTS)
    for index, count in enumerate([*steady(), 200.0]):
        detector.update(index * MINUTE, count)
    assert detector.is_open
    transitions = detector.feed(1450 * MINUTE, STEADY)
    assert [(t.kind, t.at, t.observed) for t in transitions] == [("close", 1442 * MINUTE, 0.0)]
    assert not detector.is_open


def test_buckets_must_arrive_in_order_with_sane_counts() -> None:
    detector = SpikeDetector(DEFAULTS)
    detector.update(600.0, 1.0)
    with pytest.raises(ValueError, match="does not come after"):
        detector.update(600.0, 1.0)
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            detector.update(660.0, bad)
    with pytest.raises(ValueError, match="finite"):
        detector.update(math.inf, 1.0)


def test_the_same_input_gives_the_same_transitions_and_state() -> None:
    counts = [*noisy(15, 2 * DAY // MINUTE, seed=5), 150.0, 15.0, 90.0]
    first, second = SpikeDetector(DEFAULTS), SpikeDetector(DEFAULTS)
    for index, count in enumerate(counts):
        assert first.update(index * MINUTE, count) == second.update(index * MINUTE, count)
    assert first.to_state() == second.to_state()


def test_state_is_a_few_kilobytes() -> None:
    detector = SpikeDetector(DEFAULTS)
    for index, count in enumerate(noisy(50, DAY // MINUTE)):
        detector.update(index * MINUTE, count)
    assert len(detector.to_state()) < 5_000


QUICK = dataclasses.replace(
    DEFAULTS,
    bucket_seconds=FIVE_MINUTES,
    warmup_seconds=1_800,
    cooldown_seconds=900,
    level_window_seconds=7_200,
)
"""Short enough that a few hundred buckets open, escalate and close alerts."""


def timed(buckets: list[tuple[int, int]]) -> list[tuple[float, float]]:
    """(bucket start, count) from (buckets since the previous one, count)."""
    feed, start = [], 0.0
    for gap, count in buckets:
        start += gap * QUICK.bucket_seconds
        feed.append((start, float(count)))
    return feed


ALERT_IN_THE_MIDDLE = [(1, 20)] * 40 + [(1, 60), (1, 400), (1, 300), (3, 20)] + [(1, 20)] * 20


@settings(max_examples=80, deadline=None)
@given(
    buckets=st.lists(st.tuples(st.integers(1, 3), st.integers(0, 400)), min_size=1, max_size=300),
    split_share=st.floats(0.0, 1.0),
)
@example(buckets=ALERT_IN_THE_MIDDLE, split_share=42 / 64)  # restored with an alert open
def test_a_restored_snapshot_behaves_exactly_like_the_original(
    buckets: list[tuple[int, int]], split_share: float
) -> None:
    """Crash recovery: stop anywhere, restore from the snapshot, and nothing differs."""
    feed = timed(buckets)
    split = round(split_share * len(feed))
    original = SpikeDetector(QUICK)
    expected = [original.feed(start, count) for start, count in feed]
    interrupted = SpikeDetector(QUICK)
    got = [interrupted.feed(start, count) for start, count in feed[:split]]
    restored = SpikeDetector.from_state(QUICK, interrupted.to_state())
    assert restored.is_open == interrupted.is_open
    got += [restored.feed(start, count) for start, count in feed[split:]]
    assert got == expected
    assert restored.to_state() == original.to_state()


def test_the_snapshot_example_splits_while_an_alert_is_open() -> None:
    feed = timed(ALERT_IN_THE_MIDDLE)
    detector = SpikeDetector(QUICK)
    before = [t.kind for start, count in feed[:42] for t in detector.feed(start, count)]
    assert (before, detector.is_open) == (["open", "update"], True)
    after = [t.kind for start, count in feed[42:] for t in detector.feed(start, count)]
    assert after == ["close"]


def test_a_snapshot_for_other_settings_or_no_snapshot_is_refused() -> None:
    detector = SpikeDetector(DEFAULTS)
    for index, count in enumerate(steady()):
        detector.update(index * MINUTE, count)
    fewer_slots = dataclasses.replace(DEFAULTS, season_slots=12)
    with pytest.raises(ValueError, match="does not match"):
        SpikeDetector.from_state(fewer_slots, detector.to_state())
    with pytest.raises(ValueError, match="not a detector snapshot"):
        SpikeDetector.from_state(DEFAULTS, b"\x93garbage")


def test_settings_refuse_thresholds_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="close_threshold"):
        DetectorSettings(open_threshold=2.0, close_threshold=3.0)
    with pytest.raises(ValueError, match="ascending"):
        DetectorSettings(severities=(("critical", 9.0), ("warning", 4.5)))


@settings(max_examples=150, deadline=None)
@given(
    buckets=st.lists(st.tuples(st.integers(1, 2), st.integers(0, 400)), min_size=0, max_size=120),
    gap=st.integers(1, 3),
    count=st.integers(0, 600),
)
@example(buckets=ALERT_IN_THE_MIDDLE[:40], gap=1, count=60)  # warmed up, nothing open
def test_the_opening_count_says_exactly_which_counts_open_the_next_bucket(
    buckets: list[tuple[int, int]], gap: int, count: int
) -> None:
    """Early paging rests on this: a bucket opens iff its count reaches ``opening_count``, and
    asking changes nothing (the detector still behaves like its snapshot)."""
    detector = SpikeDetector(QUICK)
    for start, observed in timed(buckets):
        detector.feed(start, observed)
    state = detector.to_state()
    last = timed(buckets)[-1][0] if buckets else 0.0
    bucket_start = last + gap * QUICK.bucket_seconds
    needed = detector.opening_count(bucket_start)
    lowest = detector.opening_severity(bucket_start, needed)[0] if needed is not None else None
    assert detector.to_state() == state
    if gap > 1 and buckets:
        assert needed is None  # missing buckets would be fed first: no early judgement
        return
    copy = SpikeDetector.from_state(QUICK, state)
    transition = copy.update(bucket_start, float(count))
    opened = transition is not None and transition.kind == "open"
    assert opened == (needed is not None and count >= needed)
    if transition is not None and opened and lowest is not None:
        opening = detector.opening_severity(bucket_start, float(count))
        assert opening == (transition.severity, transition.expected)
        assert QUICK.rank(transition.severity) >= QUICK.rank(lowest)  # more only escalates


def test_the_opening_count_of_a_warmed_up_steady_series() -> None:
    detector = SpikeDetector(DEFAULTS)
    for index, count in enumerate(steady()):
        detector.update(index * MINUTE, count)
    start = len(steady()) * MINUTE
    needed = detector.opening_count(start)
    assert needed is not None and 36 < needed < 60  # 36 scores about 3, 60 about 6.5
    assert detector.opening_severity(start, needed)[0] == "warning"
    assert detector.opening_severity(start, 200)[0] == "critical"
    assert detector.opening_count(start + MINUTE) is None  # not the next bucket
    detector.update(start, 200.0)  # opens
    assert detector.opening_count(start + MINUTE) is None  # already open
