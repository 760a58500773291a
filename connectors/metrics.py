"""What a connector tells Prometheus about itself: what it published, when, and what failed.

Counted in plain ``Counter``s on the publish path and turned into metric families only when
Prometheus scrapes, as the worker does: a connector publishing 100k events/s pays a dict update
per event, not a labelled-metric lookup.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from brandpulse.errors import BrandpulseError


@dataclass
class ConnectorStats:
    """Running totals of one connector process."""

    connector: str
    published: Counter[str] = field(default_factory=Counter)
    """Events handed to Kafka, by platform."""
    dead_letters: Counter[str] = field(default_factory=Counter)
    """Records dead-lettered, by reason."""
    errors: Counter[str] = field(default_factory=Counter)
    """Failures by kind (``kafka_write``, ...)."""
    last_publish: float = 0.0
    """Wall-clock time of the newest event handed to Kafka (0 before the first)."""
    started: float = field(default_factory=time.time)
    last_event_time: float = 0.0
    """Event time of the newest event published (0 before the first): ``time() - this`` is how
    far behind the source the connector is, which ``last_publish`` cannot tell for slow feeds."""
    up: bool = True
    """False while the source fails and the connector is backing off."""


class ConnectorCollector(Collector):
    def __init__(self, stats: ConnectorStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        stats, name = self.stats, self.stats.connector
        yield _counter(
            "brandpulse_connector_events_published",
            "Events the connector handed to Kafka.",
            "platform",
            name,
            stats.published,
        )
        yield _counter(
            "brandpulse_connector_dead_letters",
            "Input the connector dead-lettered instead of publishing.",
            "reason",
            name,
            stats.dead_letters,
        )
        yield _counter(
            "brandpulse_connector_errors", "Connector failures by kind.", "kind", name, stats.errors
        )
        for metric, text, value in (
            (
                "brandpulse_connector_last_publish_timestamp_seconds",
                "Wall-clock time of the newest event handed to Kafka (0 before the first).",
                stats.last_publish,
            ),
            (
                "brandpulse_connector_start_time_seconds",
                "When the connector started, in seconds since the epoch.",
                stats.started,
            ),
            (
                "brandpulse_connector_last_event_timestamp_seconds",
                "Event time of the newest event published (0 before the first).",
                stats.last_event_time,
            ),
            (
                "brandpulse_connector_up",
                "1 while the connector's source answers, 0 while it is backing off.",
                float(stats.up),
            ),
        ):
            gauge = GaugeMetricFamily(metric, text, labels=["connector"])
            gauge.add_metric([name], value)
            yield gauge


def _counter(
    metric: str, text: str, label: str, connector: str, counts: Counter[str]
) -> CounterMetricFamily:
    family = CounterMetricFamily(metric, text, labels=["connector", label])
    for value, count in sorted(counts.items()):
        family.add_metric([connector, value], count)
    return family


def serve_metrics(
    stats: ConnectorStats, host: str, port: int, extra: Iterable[Collector] = ()
) -> WSGIServer | None:
    """Serve ``/metrics`` from a background thread (port 0: none); returns the server. ``extra``
    collectors (a connector's own gauges) are served next to the usual connector metrics."""
    if port == 0:
        return None
    registry = CollectorRegistry(auto_describe=False)
    for collector in (ConnectorCollector(stats), *extra):
        registry.register(collector)
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise BrandpulseError(
            f"cannot serve {stats.connector} metrics on {host}:{port}: {exc.strerror} "
            "(set metrics_port in the config; 0 turns the endpoint off)"
        ) from None
    return server
