"""All configured brands together: routes events to their brand and snapshots brand state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from brandpulse.analytics.brand import BrandAnalytics, BrandState, Output, SentimentScorer
from brandpulse.analytics.settings import AnalyticsSettings
from brandpulse.analytics.spike_alerts import SpikeAlerts, SpikeState
from brandpulse.config import BrandConfig
from brandpulse.contract import Event
from brandpulse.spikes import DetectorSettings


class BrandSnapshot(msgspec.Struct):
    state: BrandState
    spikes: SpikeState


class Analytics:
    def __init__(
        self,
        brands: Sequence[BrandConfig],
        settings: AnalyticsSettings,
        detector: DetectorSettings,
        scorer: SentimentScorer,
        *,
        early: bool = True,
    ) -> None:
        self.settings = settings
        self.early = early
        """Whether brands warn of spike alerts before their minute closes (``Output.early``)."""
        self.detector = detector
        self.scorer = scorer
        self.configs = {brand.name: brand for brand in brands}
        self.brands: dict[str, BrandAnalytics] = {}
        self._readmitted = Output()
        """Early warnings found due when brands were restored: they go out with the next
        ``process`` (see ``BrandAnalytics.readmit``)."""

    def brand(self, name: str) -> BrandAnalytics:
        found = self.brands.get(name)
        if found is None:
            found = self.brands[name] = BrandAnalytics(
                self.configs[name],
                self.settings,
                self.scorer,
                SpikeAlerts(self.detector),
                early=self.early,
            )
        return found

    def process(self, events: Iterable[Event], out: Output | None = None) -> Output:
        out = out or Output()
        if self._readmitted.early:
            out.early += self._readmitted.early
            self._readmitted.early = []
        brands = self.brands
        for event in events:
            analytics = brands.get(event.brand)
            if analytics is None:
                analytics = self.brand(event.brand)
            analytics.process(event, out)
        return out

    def drain(self) -> Output:
        out = Output()
        for name in sorted(self.brands):
            self.brands[name].drain(out)
        return out

    def save(self, names: Iterable[str]) -> dict[str, BrandSnapshot]:
        """The state of the named brands, ready to be encoded with msgspec."""
        return {
            name: BrandSnapshot(self.brands[name].state, self.brands[name].spikes.to_state())
            for name in sorted(names)
            if name in self.brands
        }

    def load(self, saved: dict[str, BrandSnapshot]) -> None:
        """Replace the state of the brands in ``saved`` (brands no longer configured are left)."""
        for name, brand in saved.items():
            if name in self.configs:
                self.brands[name] = BrandAnalytics(
                    self.configs[name],
                    self.settings,
                    self.scorer,
                    SpikeAlerts(self.detector, brand.spikes),
                    brand.state,
                    early=self.early,
                )
                self.brands[name].readmit(self._readmitted)

    def forget(self, names: Iterable[str]) -> None:
        for name in names:
            self.brands.pop(name, None)
