"""Spike detectors per (platform, signal) of one brand, and the alerts their transitions make."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from brandpulse.analytics.records import AlertRecord, Evidence
from brandpulse.spikes import DetectorSettings, SpikeDetector, Transition


class EarlyAlert(msgspec.Struct, kw_only=True, frozen=True):
    """An alert known to open before its minute closes, judged on the minute's admitted count.

    Exact: the minute's final count can only be larger, and opening is monotone in the count
    (see ``SpikeDetector.opening_count``), so the close-time record with this ``id`` follows
    (its severity this one's or higher). Only for paging: never part of the recorded output.
    """

    id: str
    brand: str
    platform: str
    signal: str
    severity: str
    at: datetime
    """The end of the minute: when the close-time record says the alert opened."""
    observed: float
    """The count admitted when judged: a lower bound of the minute's count."""
    expected: float

    def as_record(self) -> AlertRecord:
        """The firing record it foretells, as far as it is known (no evidence yet)."""
        return AlertRecord(
            id=self.id,
            brand=self.brand,
            platform=self.platform,
            signal=self.signal,
            state="firing",
            severity=self.severity,
            at=self.at,
            opened_at=self.at,
            observed=self.observed,
            expected=self.expected,
            summary=_summary(self.brand, self.platform, self.signal, self.observed, self.expected),
        )


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

    def opening_count(self, platform: str, signal: str, bucket_start: float) -> int | None:
        """The count with which the series' next bucket would open an alert (see
        ``SpikeDetector.opening_count``); None if it cannot, or the series has no detector."""
        detector = self.detectors.get(f"{platform}/{signal}")
        return None if detector is None else detector.opening_count(bucket_start)

    def early(
        self, brand: str, platform: str, signal: str, bucket_start: float, observed: float
    ) -> EarlyAlert:
        """The early warning of the alert that ``observed`` (at least ``opening_count``) in the
        series' next bucket opens; its id is the one ``record`` will give the opening."""
        detector = self.detectors[f"{platform}/{signal}"]
        severity, expected = detector.opening_severity(bucket_start, observed)
        end = bucket_start + self.settings.bucket_seconds
        return EarlyAlert(
            id=_alert_id(brand, platform, signal, end),
            brand=brand,
            platform=platform,
            signal=signal,
            severity=severity,
            at=datetime.fromtimestamp(end, UTC),
            observed=observed,
            expected=expected,
        )

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
            id=_alert_id(brand, platform, signal, opened.timestamp()),
            brand=brand,
            platform=platform,
            signal=signal,
            state="resolved" if transition.kind == "close" else "firing",
            severity=transition.severity,
            at=at,
            opened_at=opened,
            observed=transition.observed,
            expected=transition.expected,
            summary=_summary(brand, platform, signal, transition.observed, transition.expected),
            evidence=evidence,
        )
        if record.state == "firing":
            self.firing[key] = record
        else:
            self.firing.pop(key, None)
        return record

    def to_state(self) -> SpikeState:
        return SpikeState({key: d.to_state() for key, d in self.detectors.items()}, self.firing)


def _alert_id(brand: str, platform: str, signal: str, opened: float) -> str:
    """One id for an alert, from its opening to its close, and for its early warning."""
    return f"{brand}:{platform}:{signal}:{int(opened)}"


def _summary(brand: str, platform: str, signal: str, observed: float, expected: float) -> str:
    return (
        f"{brand} on {platform}: {signal.replace('_', ' ')} at "
        f"{observed:g} per minute against {expected:.1f} expected"
    )
