"""Batches of JSON lines and the histogram the lag metric is built on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from brandpulse.framing import BatchBuilder, iter_lines
from brandpulse.histogram import Histogram


def test_iter_lines_numbers_lines_and_skips_blank_ones() -> None:
    assert list(iter_lines(b'{"a":1}\n\n  \n{"b":2}\n')) == [(1, b'{"a":1}'), (4, b'{"b":2}')]


def test_a_batch_is_released_when_full_by_count() -> None:
    builder = BatchBuilder(max_events=2, max_bytes=1000)
    assert builder.add("acme", b"1") is None
    assert builder.add("globex", b"x") is None
    assert builder.add("acme", b"2") == b"1\n2"
    assert len(builder) == 1
    assert list(builder.drain()) == [("globex", b"x")]
    assert len(builder) == 0


def test_a_batch_is_released_when_full_by_bytes() -> None:
    builder = BatchBuilder(max_events=100, max_bytes=10)
    assert builder.add("acme", b"12345") is None
    assert builder.add("acme", b"6789") == b"12345\n6789"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.binary(min_size=1).filter(lambda line: b"\n" not in line and line.strip() != b""),
        )
    ),
    st.integers(1, 7),
    st.integers(1, 60),
)
def test_batching_keeps_every_line_once_and_in_order_per_key(
    items: list[tuple[str, bytes]], max_events: int, max_bytes: int
) -> None:
    builder = BatchBuilder(max_events=max_events, max_bytes=max_bytes)
    batches = [(key, batch) for key, line in items if (batch := builder.add(key, line)) is not None]
    batches += list(builder.drain())
    for key in "abc":
        sent = [line for k, batch in batches if k == key for _, line in iter_lines(batch)]
        assert sent == [line for k, line in items if k == key]


def test_histogram_puts_a_value_on_a_bound_into_that_bucket() -> None:
    histogram = Histogram.with_bounds([1.0, 5.0])
    for value in (0.5, 1.0, 3.0, 5.0, 9.0):
        histogram.observe(value)
    assert histogram.cumulative() == [(1.0, 2), (5.0, 4), (float("inf"), 5)]
    assert histogram.count == 5
    assert histogram.sum == 18.5


@given(st.lists(st.floats(0, 1e6)))
def test_histogram_last_bucket_counts_everything(values: list[float]) -> None:
    histogram = Histogram.with_bounds([0.1, 10.0, 1000.0])
    for value in values:
        histogram.observe(value)
    counts = [count for _, count in histogram.cumulative()]
    assert counts == sorted(counts)
    assert counts[-1] == len(values) == histogram.count
