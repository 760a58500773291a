"""The count a series normally has in a bucket, and how much it normally varies.

Counts are compared after the Anscombe transform, ``2 * sqrt(count + 3/8)``: it turns Poisson
counts of any size into values of unit variance, so one threshold fits a brand with three
mentions a minute and one with three hundred, and a jump from 0 to 3 mentions is a small
deviation rather than an infinite ratio. In that space a bucket is expected at

    level (median of recent deseasonalised values) + time-of-day offset (interpolated slots)

and the noise scale is an exponential average of absolute residuals, never below the unit
variance of pure Poisson noise. A median ignores bursts shorter than half its window, yet
follows a lasting shift after half a window, so a new normal stops alerting by itself. Each
time-of-day slot is a weighted mean of how far the buckets near its centre sat from the level;
slots and scale learn from values clipped at a few noise scales, so that a burst cannot teach
them that bursts are normal, and while young they average plainly instead of decaying, so a
new series is usable after hours rather than days.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, insort
from dataclasses import dataclass

import msgspec

from brandpulse.spikes.settings import DAY, DetectorSettings

POISSON_SIGMA = 1.0
"""The noise scale of Anscombe-transformed Poisson counts: no series is assumed quieter."""
CLIP = 3.0
"""Values teach the profile and the scale at most this many noise scales from expected."""
MEAN_ABSOLUTE_TO_SIGMA = math.sqrt(math.pi / 2)
"""Standard deviation over mean absolute deviation, for normal noise."""


def anscombe(count: float) -> float:
    return 2.0 * math.sqrt(count + 0.375)


def inverse_anscombe(value: float) -> float:
    return max(0.0, (value / 2.0) ** 2 - 0.375)


class BaselineState(msgspec.Struct, forbid_unknown_fields=True):
    """A baseline's snapshot, as plain data."""

    recent: list[float]
    """Ring buffer of recent deseasonalised values, oldest at ``oldest`` once full."""
    oldest: int
    profile: list[float]
    """Time-of-day offsets, one per slot, each for the slot's centre."""
    profile_weight: list[float]
    """How much each slot has learned so far: a young slot averages, an old one forgets."""
    scale: float
    scale_weight: float


@dataclass(frozen=True, slots=True)
class Expectation:
    """The baseline's estimate for one bucket, and where it sits between two profile slots."""

    value: float
    sigma: float
    level: float
    offset: float
    slot: int
    weight: float
    """Share of the slot after ``slot`` in the interpolated offset."""


class SeasonalBaseline:
    """Robust level, time-of-day profile and noise scale of one series."""

    __slots__ = (
        "_oldest",
        "_ordered",
        "_profile",
        "_profile_weight",
        "_recent",
        "_scale",
        "_scale_weight",
        "_settings",
    )

    def __init__(self, settings: DetectorSettings, state: BaselineState | None = None) -> None:
        slots = settings.season_slots
        state = state or BaselineState([], 0, [0.0] * slots, [0.0] * slots, POISSON_SIGMA, 0.0)
        if (
            len(state.profile) != slots
            or len(state.profile_weight) != slots
            or len(state.recent) > settings.level_buckets
            or not 0 <= state.oldest < max(1, len(state.recent))
        ):
            raise ValueError("baseline state does not match the settings")
        self._settings = settings
        self._recent = array("d", state.recent)
        self._ordered = array("d", sorted(state.recent))
        self._oldest = state.oldest
        self._profile = list(state.profile)
        self._profile_weight = list(state.profile_weight)
        self._scale = state.scale
        self._scale_weight = state.scale_weight

    def snapshot(self) -> BaselineState:
        return BaselineState(
            self._recent.tolist(),
            self._oldest,
            list(self._profile),
            list(self._profile_weight),
            self._scale,
            self._scale_weight,
        )

    def expect(self, bucket_start: float) -> Expectation:
        """The transformed value expected for the bucket starting at ``bucket_start``."""
        slots = self._settings.season_slots
        middle = bucket_start + self._settings.bucket_seconds / 2
        position = (middle % DAY) / DAY * slots - 0.5  # slot i's offset holds at i + 0.5
        slot = math.floor(position)
        weight = position - slot
        slot %= slots
        offset = (1.0 - weight) * self._profile[slot] + weight * self._profile[(slot + 1) % slots]
        ordered = self._ordered
        level = ordered[len(ordered) // 2] if ordered else 0.0
        sigma = max(self._scale, POISSON_SIGMA)
        return Expectation(level + offset, sigma, level, offset, slot, weight)

    def learn(self, expectation: Expectation, value: float, *, shape: bool) -> None:
        """Add the bucket's transformed ``value`` to the level; to profile and scale if ``shape``.

        The first bucket has no level to compare with, so it only seeds the level.
        """
        if shape and self._ordered:
            self._learn_shape(expectation, value)
        self._remember(value - expectation.offset)

    def _learn_shape(self, expectation: Expectation, value: float) -> None:
        limit = CLIP * expectation.sigma
        slot, weight = expectation.slot, expectation.weight
        above_level = value - expectation.level
        self._learn_slot(slot, above_level, 1.0 - weight, limit)
        self._learn_slot((slot + 1) % self._settings.season_slots, above_level, weight, limit)
        deviation = min(limit, abs(value - expectation.value))
        self._scale_weight += 1.0
        rate = max(self._settings.scale_rate, 1.0 / self._scale_weight)
        self._scale += rate * (MEAN_ABSOLUTE_TO_SIGMA * deviation - self._scale)

    def _learn_slot(self, slot: int, target: float, share: float, limit: float) -> None:
        """Move the slot towards ``target`` by its ``share`` of the bucket: a weighted mean."""
        if share <= 0.0:
            return
        self._profile_weight[slot] += share
        rate = max(self._settings.season_rate * share, share / self._profile_weight[slot])
        self._profile[slot] += rate * min(limit, max(-limit, target - self._profile[slot]))

    def _remember(self, deseasonalised: float) -> None:
        recent, ordered = self._recent, self._ordered
        if len(recent) < self._settings.level_buckets:
            recent.append(deseasonalised)
        else:
            del ordered[bisect_left(ordered, recent[self._oldest])]
            recent[self._oldest] = deseasonalised
            self._oldest = (self._oldest + 1) % len(recent)
        insort(ordered, deseasonalised)
