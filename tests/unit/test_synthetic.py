"""The synthetic generator: reproducible, realistic, ordered, and it injects its scenarios."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime

from brandpulse.config import Config
from brandpulse.contract import KINDS, Event, decode_event, encode_event
from connectors.synthetic.generator import Plan, SyntheticStream

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def events(count: int, **changes: object) -> list[Event]:
    base = Plan.from_config(Config(), START)
    plan = Plan(**{**base.__dict__, **changes})
    return list(itertools.islice(SyntheticStream(plan), count))


def test_same_seed_same_events_and_another_seed_differs() -> None:
    assert events(500) == events(500)
    assert events(500) != events(500, seed=7)


def test_every_event_satisfies_the_contract() -> None:
    for event in events(3000):
        assert decode_event(encode_event(event)) == event


def test_events_come_in_event_time_order_at_the_configured_rate() -> None:
    stream = events(5000, rate=100.0)
    times = [e.time for e in stream]
    assert times == sorted(times)
    span = (times[-1] - times[0]).total_seconds()
    assert 40 <= span <= 50  # 5000 events at 100/s, plus follower snapshots and answers


def test_the_mix_has_every_kind_both_languages_and_every_brand() -> None:
    stream = events(5000)
    assert set(Counter(e.kind for e in stream)) == set(KINDS)
    assert {e.lang for e in stream if e.text} == {"en", "de"}
    assert {e.brand for e in stream} == {"acme", "globex", "kaffeehaus"}
    assert any(e.author and e.author.is_brand and e.kind == "reply" for e in stream)


def test_answers_and_reactions_point_at_existing_items() -> None:
    stream = events(5000)
    seen: set[str] = set()
    for event in stream:
        if event.parent_id is not None:
            assert event.parent_id in seen
        seen.add(event.id)


def negative_mentions(stream: list[Event], brand: str, start: float, end: float) -> int:
    origin = START.timestamp()
    return sum(
        1
        for e in stream
        if e.brand == brand
        and e.kind == "mention"
        and e.text
        and start <= e.time.timestamp() - origin < end
        and e.author
        and not e.author.is_brand
    )


def test_negative_burst_multiplies_mentions_of_one_brand_in_its_window() -> None:
    changes = {
        "rate": 20.0,
        "scenario": "negative-burst",
        "scenario_brand": "globex",
        "scenario_start": 100.0,
        "scenario_duration": 100.0,
    }
    burst = events(8000, **changes)
    calm = events(8000, rate=20.0)
    assert negative_mentions(burst, "globex", 100, 200) > 3 * negative_mentions(
        calm, "globex", 100, 200
    )
    others = negative_mentions(burst, "acme", 100, 200)
    assert 0.75 < others / negative_mentions(calm, "acme", 100, 200) < 1.33


def answered_quickly(stream: list[Event], brand: str, within: float) -> float:
    """Share of the brand's inbound mentions in the first 2,000 s answered within ``within``."""
    origin = START.timestamp()
    mentions = {
        e.id: e.time
        for e in stream
        if e.brand == brand and e.kind == "mention" and e.time.timestamp() - origin < 2000
    }
    quick = {
        e.parent_id
        for e in stream
        if e.kind == "reply"
        and e.author
        and e.author.is_brand
        and e.parent_id in mentions
        and (e.time - mentions[e.parent_id]).total_seconds() <= within
    }
    return len(quick) / len(mentions)


def test_slow_care_scenario_delays_the_brand_answers() -> None:
    changes = {
        "rate": 5.0,
        "scenario": "slow-care",
        "scenario_brand": "acme",
        "scenario_start": 0.0,
        "scenario_duration": 10_000.0,
    }
    slow = answered_quickly(events(20_000, **changes), "acme", within=900)
    normal = answered_quickly(events(20_000, rate=5.0), "acme", within=900)
    assert normal > 0.3
    assert slow < normal / 4
