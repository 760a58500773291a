"""The metrics exporter: reads the core's running totals when Prometheus scrapes.

The core counts in plain dicts on the hot path; turning them into metric families happens only
per scrape, so the cost of metrics does not grow with the event rate.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from brandpulse import __version__
from brandpulse.contract import Reason
from brandpulse.deadletter import STAGES
from brandpulse.histogram import Histogram
from brandpulse.ingest import IngestStats


@dataclass
class WorkerHealth:
    """What the runtime knows about itself, as opposed to what it computed."""

    started: float = field(default_factory=time.time)
    last_message: float = 0.0
    assigned_partitions: Callable[[], int] = lambda: 0
    push_failures: Callable[[], int] = lambda: 0
    consumer_lag: Callable[[], dict[int, int]] = dict
    """Messages between the worker's position and the end of each assigned raw partition."""


class WorkerCollector(Collector):
    def __init__(
        self,
        stats: Callable[[], IngestStats],
        dead_letters: Counter[tuple[str, str]],
        health: WorkerHealth,
        early_alerts: Counter[tuple[str, str, str]] | None = None,
    ) -> None:
        self.stats = stats
        self.dead_letters = dead_letters
        self.health = health
        self.early_alerts: Counter[tuple[str, str, str]] = (
            Counter() if early_alerts is None else early_alerts
        )

    def collect(self) -> Iterator[Metric]:
        yield from self._events()
        yield from self._health()

    def _events(self) -> Iterator[Metric]:
        stats = self.stats()
        events = CounterMetricFamily(
            "brandpulse_events", "Valid events processed.", labels=["brand", "platform", "kind"]
        )
        for key, count in sorted(stats.events.items()):
            events.add_metric(key.split("/"), count)
        yield events
        dead = CounterMetricFamily(
            "brandpulse_dead_letters",
            "Records on the dead-letter topic, by the stage that rejected them and why.",
            labels=["stage", "reason"],
        )
        known = {(stage, reason.value): 0 for stage in STAGES for reason in Reason}
        for (stage, reason), count in sorted((known | dict(self.dead_letters)).items()):
            dead.add_metric([stage, reason], count)
        yield dead
        lag = HistogramMetricFamily(
            "brandpulse_processing_lag_seconds",
            "Seconds from an event's time to its processing by the worker.",
            labels=["platform"],
        )
        for platform, histogram in sorted(stats.lag.items()):
            lag.add_metric([platform], histogram_buckets(histogram), histogram.sum)
        yield lag
        newest = GaugeMetricFamily(
            "brandpulse_last_event_timestamp_seconds",
            "Event time of the newest event processed, by brand and platform.",
            labels=["brand", "platform"],
        )
        for key, when in sorted(stats.newest_event_time.items()):
            newest.add_metric(key.split("/"), when)
        yield newest

    def _health(self) -> Iterator[Metric]:
        health = self.health
        yield CounterMetricFamily(
            "brandpulse_worker_messages", "Kafka messages consumed.", value=self.stats().messages
        )
        yield CounterMetricFamily(
            "brandpulse_alertmanager_push_failures",
            "Pushes of alerts to Alertmanager that failed (they are retried on the next resend).",
            value=health.push_failures(),
        )
        early = CounterMetricFamily(
            "brandpulse_early_alerts",
            "Spike alerts paged before their minute closed, judged on its admitted count.",
            labels=["brand", "platform", "signal"],
        )
        for key, count in sorted(self.early_alerts.items()):
            early.add_metric(list(key), count)
        yield early
        yield GaugeMetricFamily(
            "brandpulse_worker_start_time_seconds",
            "When the worker started, in seconds since the epoch.",
            value=health.started,
        )
        yield GaugeMetricFamily(
            "brandpulse_worker_last_message_timestamp_seconds",
            "Wall-clock time the worker last handled a message (0 before the first).",
            value=health.last_message,
        )
        yield GaugeMetricFamily(
            "brandpulse_worker_assigned_partitions",
            "Partitions of the raw topic assigned to this worker.",
            value=health.assigned_partitions(),
        )
        lag = GaugeMetricFamily(
            "brandpulse_consumer_lag_messages",
            "Messages of the raw topic not yet processed, by assigned partition.",
            labels=["partition"],
        )
        for partition, behind in sorted(health.consumer_lag().items()):
            lag.add_metric([str(partition)], behind)
        yield lag
        info = InfoMetricFamily("brandpulse_build", "The running brandpulse version.")
        info.add_metric([], {"version": __version__})
        yield info


def histogram_buckets(histogram: Histogram) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs in the form prometheus_client's families take."""
    return [
        ("+Inf" if math.isinf(bound) else repr(bound), count)
        for bound, count in histogram.cumulative()
    ]


def worker_registry(*collectors: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    registry.register(ProcessCollector(registry=None))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
