"""A Prometheus-style histogram as plain data, cheap enough to observe on every event."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

import msgspec


class Histogram(msgspec.Struct, array_like=True):
    """Counts of observations per upper bound (``le``), plus their sum and count.

    ``bisect_left`` puts a value equal to a bound into that bound's bucket, as ``le`` requires.
    A struct, so that worker state holding histograms can be snapshotted as it is.
    """

    bounds: tuple[float, ...]
    counts: list[int]
    sum: float = 0.0
    count: int = 0

    @classmethod
    def with_bounds(cls, bounds: Sequence[float]) -> Histogram:
        ordered = tuple(sorted(bounds))
        return cls(ordered, [0] * (len(ordered) + 1))

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def add(self, other: Histogram) -> None:
        """Fold in the observations of a histogram with the same bounds."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.sum += other.sum
        self.count += other.count

    def cumulative(self) -> list[tuple[float, int]]:
        """``(le, count)`` pairs, the last one for ``+Inf``, as Prometheus exposes them."""
        pairs: list[tuple[float, int]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs
