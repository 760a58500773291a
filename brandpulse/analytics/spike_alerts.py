"""Spike detectors per (platform, signal) of one brand, and the alerts their transitions make."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from brandpulse.analytics.records import AlertRecord, Evidence
from brandpulse.spikes import DetectorSettings, SpikeDetector, Transition


class SpikeState(msgspec.Struct):
    detectors: dict[str, bytes] = msgspec.field(default_factory=dict)
    firing: dict[str, AlertRecord] = msgspec.field(default_factory=dict)


class SpikeAlerts:
    def __init__(self, settings: DetectorSettings, state: SpikeState | None = None) -> None:
        self.settings = settings
        state = state or SpikeState()
        self.detectors = {
            key: SpikeDetector.from_state(settings, data) for key, data in state.detectors.items()
        }
        self.firing = state.firing

    def update(
        self, platform: str, signal: str, bucket_start: float, observed: float
    ) -> Transition | None:
        key = f"{platform}/{signal}"
        detector = self.detectors.get(key)
        if detector is None:
            detector = self.detectors[key] = SpikeDetector(self.settings)
        return detector.update(bucket_start, observed)

    def record(
        self,
        brand: str,
        platform: str,
        signal: str,
        transition: Transition,
        evidence: list[Evidence],
    ) -> AlertRecord:
        """The alert record of a transition; remembers which alerts are firing."""
        key = f"{platform}/{signal}"
        at = datetime.fromtimestamp(transition.at, UTC)
        opened = self.firing[key].opened_at if key in self.firing else at
        record = AlertRecord(
            id=f"{brand}:{platform}:{signal}:{int(opened.timestamp())}",
            brand=brand,
            platform=platform,
            signal=signal,
            state="resolved" if transition.kind == "close" else "firing",
            severity=transition.severity,
            at=at,
            opened_at=opened,
            observed=transition.observed,
            expected=transition.expected,
            summary=f"{brand} on {platform}: {signal.replace('_', ' ')} at "
            f"{transition.observed:g} per minute against {transition.expected:.1f} expected",
            evidence=evidence,
        )
        if record.state == "firing":
            self.firing[key] = record
        else:
            self.firing.pop(key, None)
        return record

    def to_state(self) -> SpikeState:
        return SpikeState({key: d.to_state() for key, d in self.detectors.items()}, self.firing)
