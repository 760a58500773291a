"""Everything brandpulse computes for one brand, driven by that brand's events in event time.

A brand's events live in one Kafka partition (they are keyed by brand), so one brand is always
handled by one worker, and this object is the unit of state, of snapshots and of replay.
Events pass through the reorder buffer; once the watermark passes them they are applied in
event-time order, and every minute the watermark leaves behind is closed: windows move on,
window records are emitted, spike detectors see the minute's counts, and SLA clocks run out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol

import msgspec

from brandpulse.analytics import signals
from brandpulse.analytics.evidence import EvidenceLog
from brandpulse.analytics.records import ALL_PLATFORMS, AlertRecord, Evidence, WindowRecord
from brandpulse.analytics.reorder import ReorderBuffer
from brandpulse.analytics.response import Answered, ResponseTracker
from brandpulse.analytics.settings import AnalyticsSettings
from brandpulse.analytics.spike_alerts import SpikeAlerts
from brandpulse.analytics.windows import MINUTE, WINDOWS, SeriesWindows
from brandpulse.config import BrandConfig
from brandpulse.contract import Event
from brandpulse.histogram import Histogram

SPIKE_SIGNALS: Final = ("mentions", "negative_mentions")
FIRST_RESPONSE_BUCKETS: Final = (
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    43200.0,
    86400.0,
)


class SentimentScorer(Protocol):
    def score(self, text: str, lang: str | None = None) -> tuple[float, str]: ...


@dataclass
class Output:
    """What processing produced; the runtime sends it on and the replay writes it down."""

    windows: list[WindowRecord] = field(default_factory=list)
    alerts: list[AlertRecord] = field(default_factory=list)
    late: int = 0


class BrandState(msgspec.Struct):
    """All of a brand's state that is not a spike detector; snapshotted as it is."""

    reorder: ReorderBuffer
    response: ResponseTracker
    evidence: EvidenceLog
    series: dict[str, SeriesWindows] = msgspec.field(default_factory=dict)
    closed_minute: int | None = None
    late: dict[str, int] = msgspec.field(default_factory=dict)
    first_response: dict[str, Histogram] = msgspec.field(default_factory=dict)
    breaches: dict[str, int] = msgspec.field(default_factory=dict)
    sla_alerts: dict[str, AlertRecord] = msgspec.field(default_factory=dict)


class BrandAnalytics:
    def __init__(
        self,
        brand: BrandConfig,
        settings: AnalyticsSettings,
        scorer: SentimentScorer,
        spikes: SpikeAlerts,
        state: BrandState | None = None,
    ) -> None:
        self.brand = brand
        self.settings = settings
        self.scorer = scorer
        self.spikes = spikes
        self.handles = {
            platform: {h.lower().lstrip("@") for h in handles}
            for platform, handles in brand.accounts.items()
        }
        self.state = state or BrandState(
            reorder=ReorderBuffer(settings.allowed_lateness),
            response=ResponseTracker(settings.sla_seconds, settings.max_open_seconds),
            evidence=EvidenceLog(settings.evidence_items),
        )
        self.latest: dict[tuple[str, str], WindowRecord] = {}
        """The newest record per (platform, window), for the metrics exporter."""
        self._next_check = -math.inf
        """Watermark at which time-driven work (a minute to close, an SLA to run out) is due."""

    # -- events in ----------------------------------------------------------------------------

    def process(self, event: Event, out: Output) -> None:
        state = self.state
        reorder = state.reorder
        if not reorder.push(event, event.time.timestamp()):
            state.late[event.platform] = state.late.get(event.platform, 0) + 1
            out.late += 1
            return
        watermark = reorder.newest - reorder.lateness  # type: ignore[operator]  # set by push
        if reorder.heap[0][0] <= watermark:
            for when, ready in reorder.release():
                self._apply(when, ready, out)
            self._next_check = min(self._next_check, self._due())
        if watermark >= self._next_check:
            self._advance(watermark, out)

    def drain(self, out: Output) -> None:
        """At the end of a finite input: apply what is held and close every minute with events."""
        state = self.state
        for when, ready in state.reorder.drain():
            self._apply(when, ready, out)
        if state.reorder.newest is not None:
            self._advance(state.reorder.newest + MINUTE, out)

    def is_brand(self, event: Event) -> bool:
        author = event.author
        if author is None:
            return event.kind == "post"
        return author.is_brand or (author.handle or "").lower().lstrip("@") in self.handles.get(
            event.platform, ()
        )

    def _apply(self, when: float, event: Event, out: Output) -> None:
        state = self.state
        minute = int(when // MINUTE)
        if state.closed_minute is None:
            state.closed_minute = minute - 1
        series = state.series.get(event.platform)
        if series is None:
            series = state.series[event.platform] = SeriesWindows()
        if event.kind == "follower_count":
            series.record_followers(minute, event.metrics["followers"])
            return
        from_brand = self.is_brand(event)
        sentiment = None
        if signals.is_voice(event, from_brand) and event.text:
            sentiment = self.scorer.score(event.text, event.lang)
        signals.add_event(series.bucket(minute), event, from_brand, sentiment)
        if sentiment is not None and event.kind == "mention":
            state.evidence.add(minute, _evidence(event, sentiment[0]))
        needs_answer = sentiment is not None and (
            sentiment[1] == "negative" or "?" in (event.text or "")
        )
        for answered in state.response.observe(event, when, from_brand, needs_answer):
            self._answered(answered, out)

    def _answered(self, answered: Answered, out: Output) -> None:
        platform = answered.item.platform
        histogram = self.state.first_response.get(platform)
        if histogram is None:
            histogram = self.state.first_response[platform] = Histogram.with_bounds(
                FIRST_RESPONSE_BUCKETS
            )
        histogram.observe(answered.seconds)
        if answered.item.breached:
            self._sla_check(platform, answered.item.since + answered.seconds, out)

    # -- time moves on ------------------------------------------------------------------------

    def _due(self) -> float:
        closed = self.state.closed_minute
        next_minute = math.inf if closed is None else (closed + 2) * MINUTE
        return min(next_minute, self.state.response.next_due())

    def _advance(self, watermark: float, out: Output) -> None:
        state = self.state
        breached, expired = state.response.overdue(watermark)
        for item in breached:
            state.breaches[item.platform] = state.breaches.get(item.platform, 0) + 1
            self._sla_check(item.platform, item.since + self.settings.sla_seconds, out)
        for platform in sorted({item.platform for item in expired if item.breached}):
            self._sla_check(platform, watermark, out)
        last = int(watermark // MINUTE) - 1
        while state.closed_minute is not None and state.closed_minute < last:
            self._close_minute(state.closed_minute + 1, out)
        self._next_check = self._due()

    def _close_minute(self, minute: int, out: Output) -> None:
        state = self.state
        state.closed_minute = minute
        end = minute + 1
        totals = signals.empty()
        for platform, series in sorted(state.series.items()):
            bucket = series.buckets.get(minute) or signals.empty()
            totals = [a + b for a, b in zip(totals, bucket, strict=True)]
            series.close(minute)
            self._detect(platform, minute, bucket, out)
            if not series.is_idle() or series.follower_minutes:
                self._emit(platform, end, [series], out)
        if state.series:
            self._detect(ALL_PLATFORMS, minute, totals, out)
            self._emit(ALL_PLATFORMS, end, list(state.series.values()), out)
        state.evidence.forget(minute - self.settings.evidence_minutes)

    def _detect(self, platform: str, minute: int, bucket: list[int], out: Output) -> None:
        for signal in SPIKE_SIGNALS:
            observed = bucket[signals.COUNTED_SIGNALS[signal]]
            transition = self.spikes.update(platform, signal, minute * MINUTE, observed)
            if transition is None:
                continue
            first = minute - self.settings.evidence_minutes + 1
            evidence = self.state.evidence.pick(
                None if platform == ALL_PLATFORMS else platform, first, minute
            )
            out.alerts.append(
                self.spikes.record(self.brand.name, platform, signal, transition, evidence)
            )

    def _emit(self, platform: str, end: int, series: list[SeriesWindows], out: Output) -> None:
        for window, length in WINDOWS.items():
            record = _window_record(
                self.brand.name, platform, end, series, window=window, length=length
            )
            self.latest[platform, window] = record
            out.windows.append(record)

    def _sla_check(self, platform: str, at: float, out: Output) -> None:
        """Open, or resolve, the platform's SLA alert from the number of breached open items."""
        state = self.state
        breached = state.response.breached_open.get(platform, 0)
        firing = state.sla_alerts.get(platform)
        if breached and firing is None:
            oldest = state.response.oldest_breached(platform, self.settings.evidence_items)
            evidence = [
                Evidence(id=i.id, platform=i.platform, text=i.text, score=None, reach=i.reach)
                for i in oldest
            ]
            alert = _sla_alert(self.brand.name, platform, at, breached=breached, oldest=evidence)
            state.sla_alerts[platform] = alert
            out.alerts.append(alert)
        elif not breached and firing is not None:
            del state.sla_alerts[platform]
            out.alerts.append(
                msgspec.structs.replace(firing, state="resolved", at=_time(at), observed=0.0)
            )


def _evidence(event: Event, score: float) -> Evidence:
    reach = (event.author.followers or 0) if event.author else 0
    return Evidence(id=event.id, platform=event.platform, text=event.text, score=score, reach=reach)


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _sla_alert(
    brand: str, platform: str, at: float, breached: int, oldest: list[Evidence]
) -> AlertRecord:
    return AlertRecord(
        id=f"{brand}:{platform}:sla_breach:{int(at)}",
        brand=brand,
        platform=platform,
        signal="sla_breach",
        state="firing",
        severity="warning",
        at=_time(at),
        opened_at=_time(at),
        observed=float(breached),
        expected=0.0,
        summary=f"{brand} on {platform}: {breached} item(s) unanswered past the first-response SLA",
        evidence=oldest,
    )


def _ratio(numerator: float, denominator: float | None) -> float | None:
    return numerator / denominator if denominator else None


def _growth(now: float | None, before: float | None) -> float | None:
    return (now - before) / before if now is not None and before else None


def _followers(series: list[SeriesWindows], minute: int) -> int | None:
    known = [f for s in series if (f := s.followers_before(minute)) is not None]
    return sum(known) if known else None


def _window_record(
    brand: str, platform: str, end: int, series: list[SeriesWindows], *, window: str, length: int
) -> WindowRecord:
    now = [sum(values) for values in zip(*(s.current[window] for s in series), strict=True)]
    before = [sum(values) for values in zip(*(s.previous[window] for s in series), strict=True)]
    followers = _followers(series, end)
    positive, neutral, negative = now[signals.POSITIVE], now[signals.NEUTRAL], now[signals.NEGATIVE]
    voices = positive + neutral + negative
    seconds = length * MINUTE
    return WindowRecord(
        brand=brand,
        platform=platform,
        window=window,
        end=_time(end * MINUTE),
        mentions=now[signals.MENTIONS],
        posts=now[signals.POSTS],
        interactions=now[signals.INTERACTIONS],
        negative_mentions=now[signals.NEGATIVE_MENTIONS],
        positive=positive,
        neutral=neutral,
        negative=negative,
        mention_rate=now[signals.MENTIONS] / seconds,
        interaction_rate=now[signals.INTERACTIONS] / seconds,
        mean_sentiment=_ratio(now[signals.SCORE_UNITS] / signals.SCORE_SCALE, voices),
        net_sentiment=_ratio(positive - negative, positive + negative),
        negative_share=_ratio(negative, voices),
        followers=followers,
        engagement_rate=_ratio(now[signals.INTERACTIONS], followers),
        follower_growth=_growth(followers, _followers(series, end - length)),
        mention_growth=_growth(now[signals.MENTIONS], before[signals.MENTIONS]),
        interaction_growth=_growth(now[signals.INTERACTIONS], before[signals.INTERACTIONS]),
    )
