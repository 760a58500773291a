"""Recording rules and alerts, as data: the rules file and the boards are generated from these.

Spike and SLA alerts come from the stream's own detectors (``brandpulse_alert_active``), not
from a second detector in PromQL: one detector means the page, the alerts topic and a replay
all agree. The worker also pushes these alerts to Alertmanager itself, within seconds; the rule
path is the fallback that still pages if that push fails. Both carry the same alert name, so
Alertmanager groups them into one notification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from brandpulse.analytics.windows import WINDOWS
from dashboards.mixin import CONNECTOR_JOB, RUNBOOK_URL, WORKER_JOB


@dataclass(frozen=True)
class Record:
    name: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    name: str
    query: str
    """The series the alert watches: a test checks that it returns data from a live worker."""
    condition: str
    """What makes it fire, appended to ``query``."""
    severity: str | None
    """None: the series carries its own ``severity`` label (the stream's alerts do)."""
    summary: str
    description: str
    runbook: str
    """The anchor of the alert's section in docs/runbook.md."""
    for_: str = "0s"

    @property
    def expr(self) -> str:
        return f"{self.query} {self.condition}"

    def rule(self) -> dict[str, Any]:
        labels = {"source": "prometheus"}
        if self.severity is not None:
            labels["severity"] = self.severity
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": labels,
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{RUNBOOK_URL}#{self.runbook}",
            },
        }


MENTIONS_ALL: Final = 'brandpulse_window_events{platform="all", signal="mentions", window="%s"}'


def share_of_voice(window: str) -> Record:
    """A brand's mentions over its own and its competitors' (``brandpulse_competitor_info``
    pairs each brand with itself and with each competitor), on all platforms."""
    mentions = MENTIONS_ALL % window
    by_competitor = (
        f'sum by (competitor) (label_replace({mentions}, "competitor", "$1", "brand", "(.+)"))'
    )
    group = (
        "sum by (brand) (max by (brand, competitor) (brandpulse_competitor_info)"
        f" * on (competitor) group_left () {by_competitor})"
    )
    return Record(
        "brand:brandpulse_share_of_voice:ratio",
        f"sum by (brand) ({mentions}) / {group}",
        {"window": window},
    )


def quantile(q: float, metric: str, by: str, rate: str) -> str:
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket[{rate}])))"


RECORDS: Final = [
    *(share_of_voice(window) for window in WINDOWS),
    Record(
        "brand_platform:brandpulse_events:rate5m",
        "sum by (brand, platform) (rate(brandpulse_events_total[5m]))",
    ),
    Record(
        "connector_platform:brandpulse_connector_events_published:rate5m",
        "sum by (connector, platform) (rate(brandpulse_connector_events_published_total[5m]))",
    ),
    *(
        Record(
            f"brand_platform:brandpulse_first_response_seconds:p{int(q * 100)}_1h",
            quantile(q, "brandpulse_first_response_seconds", "brand, platform", "1h"),
        )
        for q in (0.5, 0.9)
    ),
    *(
        Record(
            f"platform:brandpulse_processing_lag_seconds:p{int(q * 100)}_5m",
            quantile(q, "brandpulse_processing_lag_seconds", "platform", "5m"),
        )
        for q in (0.5, 0.99)
    ),
    Record(
        "stage_reason:brandpulse_dead_letters:rate10m",
        "sum by (stage, reason) (rate(brandpulse_dead_letters_total[10m]))",
    ),
]

CONSUMER_LAG_MESSAGES: Final = 1000
"""Messages behind the end of the raw topic, summed over partitions (a message holds up to
500 events), before on-call hears of it."""
SILENT_SECONDS: Final = 900
DEAD_LETTERS_PER_10M: Final = 50
LATE_SHARE: Final = 0.05
"""Share of a platform's events arriving too late to count, over half an hour, worth a look."""


def stream_alert(name: str, signal: str, summary: str, description: str, runbook: str) -> Alert:
    return Alert(
        name,
        f'max by (brand, platform, severity) (brandpulse_alert_active{{signal="{signal}"}})',
        "> 0",
        None,
        summary,
        description,
        runbook,
    )


ALERTS: Final = [
    stream_alert(
        "BrandpulseNegativeMentionSpike",
        "negative_mentions",
        "Negative mentions of {{ $labels.brand }} on {{ $labels.platform }} are spiking",
        "The stream's spike detector sees far more negative mentions than this brand's usual "
        "volume for this time of day. Evidence (the most negative posts) is on the alerts topic "
        "and in the notification the worker pushed.",
        "negative-mention-spike",
    ),
    stream_alert(
        "BrandpulseMentionSpike",
        "mentions",
        "Mentions of {{ $labels.brand }} on {{ $labels.platform }} are spiking",
        "Mention volume is far above this brand's usual volume for this time of day.",
        "mention-spike",
    ),
    stream_alert(
        "BrandpulseFirstResponseSlaBreach",
        "sla_breach",
        "{{ $labels.brand }} care on {{ $labels.platform }} is missing its first-response SLA",
        "Inbound questions or complaints waited longer than the configured SLA for a first "
        "answer from the brand's accounts.",
        "first-response-sla-breach",
    ),
    Alert(
        "BrandpulseWorkerDown",
        f'up{{job="{WORKER_JOB}"}}',
        "== 0",
        "critical",
        "brandpulse worker {{ $labels.instance }} is down",
        "Prometheus cannot scrape the worker: no analytics, no stream alerts. Spike and SLA "
        "alerts are inhibited while it is down, since their data is stale.",
        "worker-down",
        for_="1m",
    ),
    Alert(
        "BrandpulseConsumerLagHigh",
        "sum(brandpulse_consumer_lag_messages)",
        f"> {CONSUMER_LAG_MESSAGES}",
        "warning",
        "brandpulse workers are {{ $value }} messages behind the raw topic",
        "The workers do not keep up with what the connectors publish: boards and alerts lag "
        "behind reality.",
        "consumer-lag-high",
        for_="5m",
    ),
    Alert(
        "BrandpulseDeadLettersRising",
        "sum by (stage, reason) (increase(brandpulse_dead_letters_total[10m]))",
        f"> {DEAD_LETTERS_PER_10M}",
        "warning",
        "{{ $value }} records dead-lettered in 10 minutes ({{ $labels.stage }}, "
        "{{ $labels.reason }})",
        "Input is being rejected: a connector or producer sends what the event contract "
        "does not accept. Nothing is lost; the records wait on the dead-letter topic.",
        "dead-letters-rising",
        for_="5m",
    ),
    Alert(
        "BrandpulseLateEventsHigh",
        "sum by (brand, platform) (increase(brandpulse_late_events_total[30m]))"
        " / sum by (brand, platform) (increase(brandpulse_events_total[30m]))",
        f"> {LATE_SHARE}",
        "warning",
        "{{ $value | humanizePercentage }} of {{ $labels.brand }}'s {{ $labels.platform }} "
        "events arrive too late to count",
        "These events arrive more than analytics.allowed_lateness behind their platform's "
        "newest event, or in a minute the brand's all-platform figures already closed: they "
        "are counted as events but left out of windows, sentiment and spikes. Usually a source "
        "running behind another of the same platform, or a platform waking up with old items "
        "after a silence longer than analytics.idle_after.",
        "late-events-high",
        for_="10m",
    ),
    Alert(
        "BrandpulseConnectorSilent",
        "time() - max by (connector) (brandpulse_connector_last_publish_timestamp_seconds)",
        f"> {SILENT_SECONDS} and on (connector) time()"
        f" - max by (connector) (brandpulse_connector_start_time_seconds) > {SILENT_SECONDS}",
        "warning",
        "Connector {{ $labels.connector }} has published nothing for 15 minutes",
        "The connector runs but hears nothing: credentials, rate limits or the platform may "
        f'be failing. Also check up{{job="{CONNECTOR_JOB}"}}.',
        "connector-silent",
        for_="1m",
    ),
]


def rule_groups() -> dict[str, Any]:
    """The rules file's content."""
    return {
        "groups": [
            {
                "name": "brandpulse.records",
                "rules": [
                    {"record": r.name, "expr": r.expr, **({"labels": r.labels} if r.labels else {})}
                    for r in RECORDS
                ],
            },
            {"name": "brandpulse.alerts", "rules": [alert.rule() for alert in ALERTS]},
        ]
    }
