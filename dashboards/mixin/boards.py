"""The Grafana boards, written as data and built with grafana-foundation-sdk.

Every panel says what it shows (description), in which unit, with thresholds where a value
can be bad, and reads the recording rules of ``dashboards.mixin.rules`` where a query is heavy.
Every board has ``brand`` and ``platform`` variables (``platform="all"`` is the brand's total
over all platforms, as the worker exports it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.builders.common import VizLegendOptions
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import DataSourceRef, LegendDisplayMode, LegendPlacement

from dashboards.mixin import CONNECTOR_JOB, DATASOURCE_UID, WORKER_JOB

DATASOURCE: Final = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
SERIES: Final = 'brand=~"$brand", platform=~"$platform"'
"""The label filter of every brand panel."""
GREEN, AMBER, RED = "green", "orange", "red"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class PanelSpec:
    title: str
    description: str
    unit: str
    queries: Sequence[Query]
    kind: Literal["timeseries", "stat"] = "timeseries"
    thresholds: Sequence[tuple[float | None, str]] = ((None, GREEN),)
    """(from value, colour) steps; the first starts at minus infinity."""
    limits: tuple[float | None, float | None] = (None, None)
    span: int = 12


@dataclass(frozen=True)
class BoardSpec:
    uid: str
    title: str
    description: str
    rows: Sequence[tuple[str, Sequence[PanelSpec]]]
    annotations: Sequence[tuple[str, str]] = field(default_factory=tuple)
    """(name, expr): series drawn on every panel while they are non-zero."""


def window_events(signal: str, window: str) -> str:
    return (
        f'sum by (brand, platform) (brandpulse_window_events{{{SERIES}, signal="{signal}", '
        f'window="{window}"}})'
    )


def by_series(metric: str, extra: str = "") -> str:
    return f"max by (brand, platform) ({metric}{{{SERIES}{extra}}})"


def growth(signal: str, window: str) -> str:
    return by_series("brandpulse_growth_ratio", f', signal="{signal}", window="{window}"')


LEGEND: Final = "{{brand}} / {{platform}}"
RATIO_THRESHOLDS: Final = ((None, GREEN), (0.25, AMBER), (0.4, RED))
"""Negative share: a quarter of the texts negative is worth a look, 40 % is trouble."""

BRAND_OVERVIEW: Final = BoardSpec(
    "brandpulse-brand-overview",
    "brandpulse / Brand overview",
    "What the public says about the brand, how much, and how it feels, per platform.",
    [
        (
            "Volume",
            [
                PanelSpec(
                    "Mentions (1 h window)",
                    "Mentions of the brand by the public in the sliding hour, in event time.",
                    "short",
                    [Query(window_events("mentions", "1h"), LEGEND)],
                    span=8,
                ),
                PanelSpec(
                    "Interactions (1 h window)",
                    "Comments, replies, reactions and shares on the brand's posts in the hour.",
                    "short",
                    [Query(window_events("interactions", "1h"), LEGEND)],
                    span=8,
                ),
                PanelSpec(
                    "Negative mentions (1 h window)",
                    "Mentions scored negative; the spike detector watches this series.",
                    "short",
                    [Query(window_events("negative_mentions", "1h"), LEGEND)],
                    thresholds=((None, GREEN), (50, AMBER), (200, RED)),
                    span=8,
                ),
            ],
        ),
        (
            "Growth and engagement",
            [
                PanelSpec(
                    "Engagement rate (24 h)",
                    "Interactions in the last 24 h per follower.",
                    "percentunit",
                    [Query(by_series("brandpulse_engagement_ratio", ', window="24h"'), LEGEND)],
                    span=8,
                ),
                PanelSpec(
                    "Follower growth (24 h)",
                    "Followers now against 24 h earlier, from follower-count snapshots.",
                    "percentunit",
                    [Query(growth("followers", "24h"), LEGEND)],
                    thresholds=((None, RED), (0, GREEN)),
                    span=8,
                ),
                PanelSpec(
                    "Mention growth (1 h)",
                    "Mentions in the last hour against the hour before.",
                    "percentunit",
                    [Query(growth("mentions", "1h"), LEGEND)],
                    span=8,
                ),
            ],
        ),
        (
            "Site and shop",
            [
                PanelSpec(
                    "Site visits (1 h window)",
                    "Visits of the brand's site in the sliding hour (platform web, from the "
                    "generic webhook), next to the social volume above.",
                    "short",
                    [Query(window_events("visits", "1h"), LEGEND)],
                    span=6,
                ),
                PanelSpec(
                    "Orders (1 h window)",
                    "Orders in the brand's shop in the sliding hour (platform shop, from the "
                    "Shopify or generic webhook).",
                    "short",
                    [Query(window_events("orders", "1h"), LEGEND)],
                    span=6,
                ),
                PanelSpec(
                    "Visit growth (1 h)",
                    "Site visits in the last hour against the hour before.",
                    "percentunit",
                    [Query(growth("visits", "1h"), LEGEND)],
                    span=6,
                ),
                PanelSpec(
                    "Order growth (1 h)",
                    "Orders in the last hour against the hour before.",
                    "percentunit",
                    [Query(growth("orders", "1h"), LEGEND)],
                    span=6,
                ),
            ],
        ),
        (
            "Sentiment and share of voice",
            [
                PanelSpec(
                    "Net sentiment (1 h)",
                    "(positive - negative) / (positive + negative) texts of the public, -1..1.",
                    "percentunit",
                    [Query(by_series("brandpulse_net_sentiment_ratio", ', window="1h"'), LEGEND)],
                    thresholds=((None, RED), (-0.2, AMBER), (0.2, GREEN)),
                    limits=(-1, 1),
                    span=8,
                ),
                PanelSpec(
                    "Negative share (1 h)",
                    "Share of the public's texts in the hour that are negative.",
                    "percentunit",
                    [Query(by_series("brandpulse_negative_share_ratio", ', window="1h"'), LEGEND)],
                    thresholds=RATIO_THRESHOLDS,
                    limits=(0, 1),
                    span=8,
                ),
                PanelSpec(
                    "Share of voice (24 h)",
                    "The brand's mentions among its own and its configured competitors' "
                    "(all platforms; brands without competitors have none).",
                    "percentunit",
                    [
                        Query(
                            'brand:brandpulse_share_of_voice:ratio{brand=~"$brand", window="24h"}',
                            "{{brand}}",
                        )
                    ],
                    limits=(0, 1),
                    span=8,
                ),
            ],
        ),
        (
            "Alerts",
            [
                PanelSpec(
                    "Active stream alerts",
                    "Spike and SLA alerts the stream raised that still fire, by severity.",
                    "short",
                    [
                        Query(
                            f"sum by (brand, platform, signal, severity) "
                            f"(brandpulse_alert_active{{{SERIES}}})",
                            "{{brand}} / {{platform}} {{signal}} ({{severity}})",
                        )
                    ],
                    kind="stat",
                    thresholds=((None, GREEN), (1, RED)),
                    span=16,
                ),
                PanelSpec(
                    "Early warnings (24 h)",
                    "Spike alerts pushed to Alertmanager before their minute closed, judged on "
                    "the mentions admitted so far (README: Early warnings).",
                    "short",
                    [
                        Query(
                            f"sum by (brand, platform, signal) "
                            f"(increase(brandpulse_early_alerts_total{{{SERIES}}}[24h]))",
                            "{{brand}} / {{platform}} {{signal}}",
                        )
                    ],
                    kind="stat",
                    span=8,
                ),
            ],
        ),
    ],
    annotations=[
        (
            "Stream alerts",
            'max by (brand, platform, signal) (brandpulse_alert_active{brand=~"$brand"})',
        )
    ],
)

CUSTOMER_CARE: Final = BoardSpec(
    "brandpulse-customer-care",
    "brandpulse / Customer care",
    "How fast the brand answers the public: first-response time, waiting items, SLA breaches.",
    [
        (
            "First response",
            [
                PanelSpec(
                    "First-response time, median and p90 (1 h)",
                    "Seconds from an inbound question or complaint to the brand's first reply "
                    "in its thread, over answers in the last hour.",
                    "s",
                    [
                        Query(
                            f"brand_platform:brandpulse_first_response_seconds:p{q}_1h{{{SERIES}}}",
                            f"p{q} {LEGEND}",
                        )
                        for q in (50, 90)
                    ],
                    thresholds=((None, GREEN), (900, AMBER), (3600, RED)),
                    span=24,
                ),
            ],
        ),
        (
            "Waiting",
            [
                PanelSpec(
                    "Open items",
                    "Inbound items still waiting for a first answer.",
                    "short",
                    [Query(by_series("brandpulse_care_open_items"), LEGEND)],
                    span=8,
                ),
                PanelSpec(
                    "Oldest open item, age",
                    "How long the oldest unanswered item has waited (wall clock).",
                    "s",
                    [
                        Query(
                            f"time() - min by (brand, platform) "
                            f"(brandpulse_care_oldest_open_timestamp_seconds{{{SERIES}}})",
                            LEGEND,
                        )
                    ],
                    thresholds=((None, GREEN), (900, AMBER), (3600, RED)),
                    span=8,
                ),
                PanelSpec(
                    "SLA breaches (1 h)",
                    "Items that waited longer than the first-response SLA, in the last hour.",
                    "short",
                    [
                        Query(
                            f"sum by (brand, platform) "
                            f"(increase(brandpulse_care_sla_breaches_total{{{SERIES}}}[1h]))",
                            LEGEND,
                        )
                    ],
                    thresholds=((None, GREEN), (1, RED)),
                    span=8,
                ),
            ],
        ),
    ],
)

PIPELINE_HEALTH: Final = BoardSpec(
    "brandpulse-pipeline-health",
    "brandpulse / Pipeline health",
    "Whether brandpulse hears everything and keeps up: connectors, workers, lag, dead letters.",
    [
        (
            "Throughput",
            [
                PanelSpec(
                    "Events published by connector",
                    "Events per second each connector hands to Kafka, by platform.",
                    "ops",
                    [
                        Query(
                            "sum by (connector, platform) (connector_platform:"
                            'brandpulse_connector_events_published:rate5m{platform=~"$platform"})',
                            "{{connector}} / {{platform}}",
                        )
                    ],
                ),
                PanelSpec(
                    "Events processed",
                    "Valid events per second the workers process, by brand and platform.",
                    "ops",
                    [Query(f"brand_platform:brandpulse_events:rate5m{{{SERIES}}}", LEGEND)],
                ),
            ],
        ),
        (
            "Keeping up",
            [
                PanelSpec(
                    "Consumer lag",
                    "Messages of the raw topic not yet processed (a message holds up to 500 "
                    "events).",
                    "short",
                    [
                        Query(
                            "sum by (partition) (brandpulse_consumer_lag_messages)",
                            "p{{partition}}",
                        )
                    ],
                    thresholds=((None, GREEN), (100, AMBER), (1000, RED)),
                    span=8,
                ),
                PanelSpec(
                    "Processing lag p50 / p99",
                    "Seconds from an event's time to its processing (connector delay included).",
                    "s",
                    [
                        Query(
                            f"platform:brandpulse_processing_lag_seconds:p{q}_5m"
                            '{platform=~"$platform"}',
                            f"p{q} {{{{platform}}}}",
                        )
                        for q in (50, 99)
                    ],
                    thresholds=((None, GREEN), (30, AMBER), (300, RED)),
                    span=8,
                ),
                PanelSpec(
                    "Late events",
                    "Events later than the allowed lateness, per second: counted, left out of the "
                    "windows.",
                    "ops",
                    [
                        Query(
                            f"sum by (brand, platform) "
                            f"(rate(brandpulse_late_events_total{{{SERIES}}}[$__rate_interval]))",
                            LEGEND,
                        )
                    ],
                    span=8,
                ),
            ],
        ),
        (
            "Failures",
            [
                PanelSpec(
                    "Dead letters by reason",
                    "Records per second sent to the dead-letter topic, by stage and reason.",
                    "ops",
                    [
                        Query(
                            "stage_reason:brandpulse_dead_letters:rate10m > 0",
                            "{{stage}} {{reason}}",
                        )
                    ],
                    span=12,
                ),
                PanelSpec(
                    "Up",
                    "Whether Prometheus can scrape each worker and connector (1 up, 0 down).",
                    "short",
                    [Query(f'up{{job=~"{WORKER_JOB}|{CONNECTOR_JOB}"}}', "{{job}} {{instance}}")],
                    kind="stat",
                    thresholds=((None, RED), (1, GREEN)),
                    span=12,
                ),
            ],
        ),
    ],
)

BOARDS: Final = (BRAND_OVERVIEW, CUSTOMER_CARE, PIPELINE_HEALTH)


def build_board(spec: BoardSpec) -> str:
    """The board as Grafana dashboard JSON."""
    board = (
        db.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(["brandpulse", "generated"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(_variable("brand", "label_values(brandpulse_window_events, brand)"))
        .with_variable(
            _variable(
                "platform", 'label_values(brandpulse_window_events{brand=~"$brand"}, platform)'
            )
        )
    )
    for name, expr in spec.annotations:
        board = board.annotation(
            db.AnnotationQuery()
            .name(name)
            .datasource(DATASOURCE)
            .enable(True)
            .icon_color(RED)
            .expr(expr)
            .step("60s")
            .title_format("{{signal}} alert")
            .text_format("{{brand}} / {{platform}}")
        )
    for title, panels in spec.rows:
        board = board.with_row(db.Row(title))
        for panel in panels:
            board = board.with_panel(_panel(panel))
    return JSONEncoder(sort_keys=True, indent=2).encode(board.build()) + "\n"


def _variable(name: str, query: str) -> db.QueryVariable:
    return (
        db.QueryVariable(name)
        .label(name.capitalize())
        .datasource(DATASOURCE)
        .query(query)
        .definition(query)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )


def _panel(spec: PanelSpec) -> Builder[model.Panel]:
    panel: Any = stat.Panel() if spec.kind == "stat" else timeseries.Panel()
    panel = (
        panel.title(spec.title)
        .description(spec.description)
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .height(8)
        .span(spec.span)
        .thresholds(
            db.ThresholdsConfig()
            .mode(model.ThresholdsMode.ABSOLUTE)
            .steps([model.Threshold(value=value, color=color) for value, color in spec.thresholds])
        )
    )
    low, high = spec.limits
    if low is not None:
        panel = panel.min(low)
    if high is not None:
        panel = panel.max(high)
    if spec.kind == "timeseries":
        panel = panel.legend(
            VizLegendOptions()
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    for index, query in enumerate(spec.queries):
        panel = panel.with_target(
            prometheus.Dataquery()
            .expr(query.expr)
            .legend_format(query.legend)
            .ref_id(chr(ord("A") + index))
        )
    return panel  # type: ignore[no-any-return]
