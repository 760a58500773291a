"""Metrics of the analytics: the newest window of every series, care figures and alerts.

Read from the core's state at scrape time. Values are exported as event-time facts (counts,
ratios, timestamps), never as ages against the wall clock, so live and replayed state export the
same numbers; ages are for PromQL (``time() - ..._timestamp_seconds``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from brandpulse.analytics.brand import BrandAnalytics
from brandpulse.analytics.records import WindowRecord
from brandpulse.analytics.signals import COUNTED_SIGNALS
from streams.metrics import histogram_buckets

SERIES: Final = ["brand", "platform", "window"]
RATIOS: Final = {
    "brandpulse_engagement_ratio": ("engagement_rate", "Interactions in the window per follower."),
    "brandpulse_net_sentiment_ratio": (
        "net_sentiment",
        "(positive - negative) / (positive + negative) texts in the window.",
    ),
    "brandpulse_negative_share_ratio": (
        "negative_share",
        "Share of the public's texts in the window that are negative.",
    ),
    "brandpulse_sentiment_mean": ("mean_sentiment", "Mean sentiment score (-1..1) in the window."),
}
GROWTH: Final = {
    "followers": "follower_growth",
    "mentions": "mention_growth",
    "interactions": "interaction_growth",
    "orders": "order_growth",
    "visits": "visit_growth",
}


def _gauge(name: str, text: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, labels=labels)


class AnalyticsCollector(Collector):
    def __init__(self, brands: Callable[[], list[BrandAnalytics]]) -> None:
        self.brands = brands

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        brands = sorted(self.brands(), key=lambda b: b.brand.name)
        records = [r for b in brands for _, r in sorted(b.latest.items())]
        yield from self._windows(records)
        yield from self._care(brands)
        yield from self._alerts_and_time(brands)

    def _windows(self, records: list[WindowRecord]) -> Iterator[GaugeMetricFamily]:
        counts = _gauge(
            "brandpulse_window_events",
            "Events of a signal in the sliding window ending at the newest closed minute.",
            [*SERIES, "signal"],
        )
        growth = _gauge(
            "brandpulse_growth_ratio",
            "Growth against one window earlier: (now - before) / before.",
            [*SERIES, "signal"],
        )
        ratios = {name: _gauge(name, text, SERIES) for name, (_, text) in RATIOS.items()}
        followers = _gauge(
            "brandpulse_followers", "Followers at the newest snapshot.", ["brand", "platform"]
        )
        for record in records:
            labels = [record.brand, record.platform, record.window]
            for signal in COUNTED_SIGNALS:
                counts.add_metric([*labels, signal], getattr(record, signal))
            for signal, field in GROWTH.items():
                _add(growth, [*labels, signal], getattr(record, field))
            for name, (field, _) in RATIOS.items():
                _add(ratios[name], labels, getattr(record, field))
            if record.window == "1m":
                _add(followers, [record.brand, record.platform], record.followers)
        yield counts
        yield growth
        yield from ratios.values()
        yield followers

    def _care(
        self, brands: list[BrandAnalytics]
    ) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        response = HistogramMetricFamily(
            "brandpulse_first_response_seconds",
            "Seconds from an inbound item to the brand's first reply in its thread.",
            labels=["brand", "platform"],
        )
        waiting = _gauge(
            "brandpulse_care_open_items",
            "Inbound items waiting for an answer.",
            ["brand", "platform"],
        )
        oldest = _gauge(
            "brandpulse_care_oldest_open_timestamp_seconds",
            "Event time of the oldest unanswered item.",
            ["brand", "platform"],
        )
        breaches = CounterMetricFamily(
            "brandpulse_care_sla_breaches",
            "Items that waited longer than the first-response SLA.",
            labels=["brand", "platform"],
        )
        for brand in brands:
            name, state = brand.brand.name, brand.state
            for platform, histogram in sorted(state.first_response.items()):
                response.add_metric([name, platform], histogram_buckets(histogram), histogram.sum)
            open_items = {
                platform: summary
                for tracked in state.platforms.values()
                for platform, summary in tracked.response.waiting().items()
            }
            for platform, (count, since, _) in sorted(open_items.items()):
                waiting.add_metric([name, platform], count)
                oldest.add_metric([name, platform], since)
            # Zero where items were answered but none breached: a counter exists from the start.
            for platform in sorted({*state.first_response, *state.breaches}):
                breaches.add_metric([name, platform], state.breaches.get(platform, 0))
        yield from (response, waiting, oldest, breaches)

    def _alerts_and_time(
        self, brands: list[BrandAnalytics]
    ) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        active = _gauge(
            "brandpulse_alert_active",
            "1 while an alert raised in the stream fires.",
            ["brand", "platform", "signal", "severity"],
        )
        late = CounterMetricFamily(
            "brandpulse_late_events",
            "Events older than the allowed lateness when they arrived; "
            "counted, left out of the windows.",
            labels=["brand", "platform"],
        )
        watermark = _gauge(
            "brandpulse_watermark_timestamp_seconds",
            "Event time up to which a brand's windows are complete.",
            ["brand"],
        )
        rivals = _gauge(
            "brandpulse_competitor_info",
            "1 for each brand with competitors, paired with itself and each competitor: the "
            "groups share of voice is computed over.",
            ["brand", "competitor"],
        )
        for brand in brands:
            name, state = brand.brand.name, brand.state
            for alert in [*brand.spikes.firing.values(), *state.sla_alerts.values()]:
                active.add_metric([name, alert.platform, alert.signal, alert.severity], 1)
            for platform, count in sorted(state.late.items()):
                late.add_metric([name, platform], count)
            _add(watermark, [name], brand.watermark())
            competitors = brand.brand.competitors
            for competitor in sorted({name, *competitors}) if competitors else ():
                rivals.add_metric([name, competitor], 1)
        yield from (active, late, watermark, rivals)


def _add(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, value)
