"""The worker's core: validation, counting, rejections, independent of how events are batched."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from brandpulse.config import Config
from brandpulse.contract import Reason, encode_event
from brandpulse.ingest import Ingestor
from connectors.synthetic.generator import Plan, SyntheticStream

BRANDS = frozenset({"acme", "globex", "kaffeehaus"})
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def synthetic_lines(count: int, seed: int = 1) -> list[bytes]:
    plan = Plan.from_config(Config(), START)
    plan = Plan(**{**plan.__dict__, "seed": seed})
    return [encode_event(e) for e in itertools.islice(SyntheticStream(plan), count)]


def test_valid_events_are_counted_by_brand_platform_and_kind() -> None:
    ingestor = Ingestor(BRANDS)
    accepted, rejected = ingestor.ingest(b"\n".join(synthetic_lines(300)), now=START.timestamp())
    assert rejected == []
    assert len(accepted) == 300
    assert sum(ingestor.stats.events.values()) == 300
    by_kind = {
        kind: sum(n for key, n in ingestor.stats.events.items() if key.endswith(f"/{kind}"))
        for kind in ("mention", "post")
    }
    assert by_kind == {kind: sum(1 for e in accepted if e.kind == kind) for kind in by_kind}


def test_rejections_carry_line_number_reason_and_raw_bytes() -> None:
    good = synthetic_lines(1)[0]
    stranger = good.replace(b'"brand":"', b'"brand":"zz', 1)
    payload = b"\n".join([good, b"{oops", stranger, b'{"v":3}'])
    accepted, rejected = Ingestor(BRANDS).ingest(payload, now=0.0)
    assert len(accepted) == 1
    assert [(r.line, r.reason) for r in rejected] == [
        (2, Reason.INVALID_JSON),
        (3, Reason.UNKNOWN_BRAND),
        (4, Reason.UNSUPPORTED_VERSION),
    ]
    assert rejected[0].raw == b"{oops"
    assert rejected[1].detail.startswith("brand 'zz")


def test_processing_lag_is_now_minus_event_time() -> None:
    ingestor = Ingestor(BRANDS)
    line = synthetic_lines(1)[0]
    accepted, _ = ingestor.ingest(line, now=START.timestamp() + 7.0)
    histogram = ingestor.stats.lag[accepted[0].platform]
    assert histogram.sum == 7.0
    assert (
        ingestor.stats.newest_event_time[f"{accepted[0].brand}/{accepted[0].platform}"]
        == START.timestamp()
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=30))
def test_totals_do_not_depend_on_how_events_are_split_into_messages(sizes: list[int]) -> None:
    lines = synthetic_lines(sum(sizes), seed=len(sizes))
    lines[len(lines) // 2] = b"not json"
    whole = Ingestor(BRANDS)
    whole.ingest(b"\n".join(lines), now=START.timestamp())
    split = Ingestor(BRANDS)
    position = 0
    for size in sizes:
        split.ingest(b"\n".join(lines[position : position + size]), now=START.timestamp())
        position += size
    assert split.stats.events == whole.stats.events
    assert split.stats.newest_event_time == whole.stats.newest_event_time
