"""One series' spike alert: when it opens, escalates and closes, and its snapshot.

The detector scores every closed bucket against the series' own baseline and runs a small state
machine on the score. An alert opens on a score of at least ``open_threshold`` with at least
``min_volume`` mentions, once warmed up and out of the cooldown. While it is open its severity
only escalates, each escalation an ``update``: a page that flaps between warning and critical
helps nobody. It closes on the first bucket back to normal, scoring below ``close_threshold`` or
counting below ``min_volume``; the gap between the two thresholds is the hysteresis that keeps
a series hovering at the threshold from flapping.

While an alert is open the baseline's time-of-day profile and noise scale stop learning, so a
long spike cannot become the norm through them; its median level keeps learning, which is what
ends an alert on a lasting shift to a new normal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import msgspec

from brandpulse.spikes.baseline import (
    BaselineState,
    Expectation,
    SeasonalBaseline,
    anscombe,
    inverse_anscombe,
)
from brandpulse.spikes.settings import DetectorSettings

Kind = Literal["open", "update", "close"]


@dataclass(frozen=True)
class Transition:
    """A change of the alert, caused by the bucket that ends at ``at`` (event time)."""

    kind: Kind
    at: float
    observed: float
    expected: float
    severity: str
    score: float


class DetectorState(msgspec.Struct, forbid_unknown_fields=True):
    """A detector's snapshot, as plain data."""

    baseline: BaselineState
    seen: int
    last_start: float | None
    severity: str | None
    """The open alert's severity; ``None`` while no alert is open."""
    quiet_until: float | None
    """End of the cooldown after the last close: no alert opens on a bucket ending before it."""


class SpikeDetector:
    """Streaming spike detection for one (brand, platform, signal) series of bucket counts."""

    __slots__ = ("_baseline", "_last_start", "_quiet_until", "_seen", "_settings", "_severity")

    def __init__(self, settings: DetectorSettings, state: DetectorState | None = None) -> None:
        self._settings = settings
        self._baseline = SeasonalBaseline(settings, state.baseline if state else None)
        self._seen = state.seen if state else 0
        self._last_start = state.last_start if state else None
        self._severity = state.severity if state else None
        self._quiet_until = state.quiet_until if state else None
        if self._severity is not None and self._severity not in dict(settings.severities):
            raise ValueError(f"severity {self._severity!r} is not in the settings")

    @property
    def is_open(self) -> bool:
        return self._severity is not None

    def update(self, bucket_start: float, observed: float) -> Transition | None:
        """Feed the next closed bucket; the alert's transition, if it changed.

        Missing buckets since the previous one count as zero mentions. Should they close the
        alert and this bucket reopen it, only the reopening is returned; ``feed`` returns both.
        """
        transitions = self.feed(bucket_start, observed)
        return transitions[-1] if transitions else None

    def opening_count(self, bucket_start: float) -> int | None:
        """The smallest whole count with which the bucket starting at ``bucket_start`` would open
        an alert, given the state now; None if no count would.

        None too unless ``bucket_start`` is the bucket right after the last one fed (or none
        was fed): buckets missing in between would be fed as zeros first and change the state.
        Whether a bucket opens is monotone in its count (``anscombe`` and the score grow with
        it, every other condition does not depend on it), so a caller that knows the bucket's
        final count can only be larger may say early that it will open. Changes no state.
        """
        expectation = self._next_expectation(bucket_start)
        if expectation is None:
            return None
        settings = self._settings
        # The exact threshold in floats, then nudged so that ``_opens`` (the very comparisons
        # ``_decide`` makes) agrees: rounding must not make the answer off by one.
        target = settings.open_threshold * expectation.sigma + expectation.value
        needed = inverse_anscombe(max(target, 0.0))  # below 0 every count reaches it
        count = max(0, math.ceil(max(needed, settings.min_volume)))
        while not self._opens(expectation, count):
            count += 1
        while count > 0 and self._opens(expectation, count - 1):
            count -= 1
        return count

    def opening_severity(self, bucket_start: float, observed: float) -> tuple[str, float]:
        """The severity an alert opened by ``observed`` in the bucket at ``bucket_start`` (the
        next one, see ``opening_count``) would have, and the count the baseline expected."""
        expectation = self._baseline.expect(bucket_start)
        score = _score(anscombe(observed), expectation)
        return self._settings.severity_of(score), inverse_anscombe(expectation.value)

    def _next_expectation(self, bucket_start: float) -> Expectation | None:
        """The baseline's expectation of ``bucket_start`` if it is the next bucket and an alert
        can open on it (warmed up, none open, not cooling down at its end)."""
        settings = self._settings
        step = settings.bucket_seconds
        last = self._last_start
        if last is not None and round((bucket_start - last) / step) != 1:
            return None
        if self._severity is not None or self._seen < settings.warmup_buckets:
            return None
        if self._quiet_until is not None and bucket_start + step < self._quiet_until:
            return None
        return self._baseline.expect(bucket_start)

    def _opens(self, expectation: Expectation, observed: float) -> bool:
        """Whether ``_decide`` opens on ``observed`` with no alert open and no cooldown."""
        settings = self._settings
        score = _score(anscombe(observed), expectation)
        return not (observed < settings.min_volume or score < settings.open_threshold)

    def feed(self, bucket_start: float, observed: float) -> list[Transition]:
        """Feed the next closed bucket; every transition it caused, gap buckets included."""
        if not (math.isfinite(observed) and observed >= 0 and math.isfinite(bucket_start)):
            raise ValueError(
                f"need a finite bucket start and count >= 0: {bucket_start}, {observed}"
            )
        # Floats, as a snapshot restores them: state saved before and after a restore is equal.
        bucket_start, observed = float(bucket_start), float(observed)
        steps = [(start, 0.0) for start in self._missing_before(bucket_start)]
        steps.append((bucket_start, observed))
        return [transition for start, count in steps if (transition := self._step(start, count))]

    def to_state(self) -> bytes:
        """An exact snapshot: ``from_state`` gives a detector that behaves identically."""
        state = DetectorState(
            self._baseline.snapshot(),
            self._seen,
            self._last_start,
            self._severity,
            self._quiet_until,
        )
        return msgspec.msgpack.encode(state)

    @classmethod
    def from_state(cls, settings: DetectorSettings, data: bytes) -> SpikeDetector:
        """Restore a snapshot taken with the same settings; ``ValueError`` if it cannot be."""
        try:
            state = msgspec.msgpack.decode(data, type=DetectorState)
        except msgspec.DecodeError as error:
            raise ValueError(f"not a detector snapshot: {error}") from error
        return cls(settings, state)

    def _missing_before(self, bucket_start: float) -> list[float]:
        last = self._last_start
        if last is None:
            return []
        step = self._settings.bucket_seconds
        buckets_later = round((bucket_start - last) / step)
        if buckets_later < 1:
            raise ValueError(f"bucket {bucket_start} does not come after bucket {last}")
        return [last + step * missing for missing in range(1, buckets_later)]

    def _step(self, bucket_start: float, observed: float) -> Transition | None:
        value = anscombe(observed)
        expectation = self._baseline.expect(bucket_start)
        transition = None
        if self._seen >= self._settings.warmup_buckets:
            at = bucket_start + self._settings.bucket_seconds
            transition = self._decide(at, observed, expectation, value)
        self._baseline.learn(expectation, value, shape=not self.is_open)
        self._seen += 1
        self._last_start = bucket_start
        return transition

    def _decide(
        self, at: float, observed: float, expectation: Expectation, value: float
    ) -> Transition | None:
        settings = self._settings
        score = _score(value, expectation)
        severity = settings.severity_of(score)
        kind: Kind
        if self._severity is None:
            cooling = self._quiet_until is not None and at < self._quiet_until
            if cooling or observed < settings.min_volume or score < settings.open_threshold:
                return None
            kind, self._severity = "open", severity
        elif observed < settings.min_volume or score < settings.close_threshold:
            kind, severity, self._severity = "close", self._severity, None
            self._quiet_until = at + settings.cooldown_seconds
        elif settings.rank(severity) > settings.rank(self._severity):
            kind, self._severity = "update", severity
        else:
            return None
        expected = inverse_anscombe(expectation.value)
        return Transition(kind, at, observed, expected, severity, score)


def _score(value: float, expectation: Expectation) -> float:
    """A transformed count's robust z-score; one expression, so early judgements match."""
    return (value - expectation.value) / expectation.sigma
