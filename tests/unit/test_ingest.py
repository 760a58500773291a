"""The worker's core: validation, counting, rejections, independent of how events are batched."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from brandpulse.config import Config
from brandpulse.contract import InvalidEvent, Reason, decode_many, encode_event
from brandpulse.framing import iter_lines
from brandpulse.ingest import Ingestor, accept_event, accept_lines
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


_PIECES = st.sampled_from(
    [
        b"",
        b"   ",
        b"{oops",
        b'{"v":3}',
        b"[1]",
        b"\xff\xfe",
        b"}{",
        b'{"a":1} {"b":2}',
    ]
)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """Valid lines mixed with what per-line decoding refuses but a JSON stream might take:
    objects spread over lines, two on one line, blank lines, CRLF endings."""
    good = synthetic_lines(8, seed=draw(st.integers(1, 3)))
    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 12))):
        choice = draw(st.integers(0, 5))
        line = good[draw(st.integers(0, len(good) - 1))]
        if choice == 0:
            line = draw(_PIECES)
        elif choice == 1:
            cut = draw(st.integers(1, len(line) - 1))
            line = line[:cut] + b"\n" + line[cut:]
        elif choice == 2:
            line = line + draw(st.sampled_from([b"", b" ", b"\t"])) + line
        elif choice == 3:
            line += b"\r"
        lines.append(line)
    return b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\r\n"]))


@settings(max_examples=300, deadline=None)
@given(payloads())
def test_a_payload_decoded_at_once_gives_what_line_by_line_gives(payload: bytes) -> None:
    by_line: list[object] = []
    for number, line in iter_lines(payload):
        try:
            by_line.append(accept_event(line, BRANDS))
        except InvalidEvent as exc:
            by_line.append((number, exc.reason, exc.detail))
    accepted, rejected = accept_lines(payload, BRANDS)
    assert sorted(map(repr, by_line)) == sorted(
        [repr(e) for e in accepted] + [repr((r.line, r.reason, r.detail)) for r in rejected]
    )
    assert [e for e in by_line if not isinstance(e, tuple)] == accepted


def test_a_valid_payload_takes_the_one_call_path_and_any_flaw_the_line_path() -> None:
    lines = synthetic_lines(20)
    assert decode_many(b"\n".join(lines)) is not None
    for flawed in (
        [*lines[:3], lines[3] + lines[4]],  # two objects on one line
        [*lines[:3], lines[3][:10], lines[3][10:]],  # one object over two lines
        [*lines[:3], b"", *lines[3:]],  # a blank line
        [line.replace(b'"parent_id":', b'"parent":') for line in lines],  # a rule across fields
    ):
        assert decode_many(b"\n".join(flawed)) is None
