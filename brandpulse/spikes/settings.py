"""What a spike detector is told, in seconds rather than buckets.

Every duration is given in seconds so that one set of settings means the same thing whether the
worker closes buckets every minute or every five; the detector converts them to bucket counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

HOUR = 3_600.0
DAY = 86_400.0


@dataclass(frozen=True)
class DetectorSettings:
    """Thresholds, timings and baseline lengths of one series' detector.

    Scores are robust z-scores of the bucket's count against its expected count, both
    variance-stabilised (see ``baseline``): about how many standard deviations of the series'
    normal noise the count is above what that brand usually has at that time of day.

    The defaults were tuned for the NAB standard profile on generated series (``bench/nab.py``
    says how); the score barely moves for the timings and baseline lengths within a factor of
    two, so they also follow what a brand team would want to be paged for.
    """

    bucket_seconds: int = 60
    min_volume: float = 5.0
    """No alert opens while the bucket's count is below this, whatever its score."""
    open_threshold: float = 4.5
    close_threshold: float = 2.0
    """Hysteresis: an open alert closes on the first bucket scoring below this (or counting
    below ``min_volume``)."""
    cooldown_seconds: float = 2 * HOUR
    """After a close, no alert opens for this long, so one noisy episode pages once."""
    severities: tuple[tuple[str, float], ...] = (("warning", 4.5), ("critical", 9.0))
    """Names and the score from which each applies, ascending; the first also applies below."""
    level_window_seconds: float = 6 * HOUR
    """The level is the median of this much recent, deseasonalised history."""
    season_slots: int = 24
    season_half_life_seconds: float = 3 * DAY
    scale_half_life_seconds: float = DAY
    warmup_seconds: float = 12 * HOUR
    """No alert before this much history has been seen."""

    def __post_init__(self) -> None:
        if self.bucket_seconds <= 0:
            raise ValueError("bucket_seconds must be positive")
        if not 0 < self.close_threshold < self.open_threshold:
            raise ValueError("need 0 < close_threshold < open_threshold")
        thresholds = [threshold for _, threshold in self.severities]
        if not thresholds or thresholds != sorted(set(thresholds)):
            raise ValueError("severities must be non-empty with strictly ascending thresholds")
        if self.season_slots < 1 or self.min_volume < 0 or self.cooldown_seconds < 0:
            raise ValueError("season_slots must be >= 1, min_volume and cooldown_seconds >= 0")

    def buckets(self, seconds: float) -> int:
        """How many buckets cover ``seconds`` (at least one)."""
        return max(1, math.ceil(seconds / self.bucket_seconds))

    @cached_property
    def level_buckets(self) -> int:
        return self.buckets(self.level_window_seconds)

    @cached_property
    def warmup_buckets(self) -> int:
        return self.buckets(self.warmup_seconds)

    @cached_property
    def season_rate(self) -> float:
        """Learning rate of one time-of-day slot per bucket it covers, from its half-life."""
        return half_life_rate(
            self.season_half_life_seconds / (self.bucket_seconds * self.season_slots)
        )

    @cached_property
    def scale_rate(self) -> float:
        return half_life_rate(self.scale_half_life_seconds / self.bucket_seconds)

    def severity_of(self, score: float) -> str:
        """The highest severity whose threshold ``score`` reaches, else the lowest one."""
        reached = [name for name, threshold in self.severities if score >= threshold]
        return reached[-1] if reached else self.severities[0][0]

    def rank(self, severity: str) -> int:
        return [name for name, _ in self.severities].index(severity)


def half_life_rate(half_life_steps: float) -> float:
    """The exponential-average weight of a new value so that old ones halve in this many steps."""
    return 1.0 - math.exp(-math.log(2.0) / max(half_life_steps, 1.0))
