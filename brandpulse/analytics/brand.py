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
from brandpulse.analytics.response import ANSWER_KINDS, Answered, ResponseTracker
from brandpulse.analytics.settings import AnalyticsSettings
from brandpulse.analytics.spike_alerts import SpikeAlerts
from brandpulse.analytics.windows import MINUTE, WINDOWS, SeriesWindows
from brandpulse.config import BrandConfig
from brandpulse.contract import EPOCH, Event
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


class _Lane:
    """What ``_apply`` needs to know of one platform, found with one lookup: the series, the
    brand's handles there (None: no accounts), and the bucket of the minute being filled.

    Not state: made again from it after a restore. The bucket is kept from one event to the
    next until a minute closes, closing being the only time buckets are dropped.
    """

    __slots__ = ("bucket", "handles", "minute", "series")

    def __init__(self, series: SeriesWindows, handles: set[str] | None) -> None:
        self.series = series
        self.handles = handles
        self.minute: int | None = None
        self.bucket: list[int] = []


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
        self._score = scorer.score
        self.spikes = spikes
        self.handles: dict[str, set[str]] = {
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
        self._lanes: dict[str, _Lane] = {}
        self._reorder = self.state.reorder

    # -- events in ----------------------------------------------------------------------------

    def process(self, event: Event, out: Output) -> None:
        reorder = self._reorder
        released = reorder.admit(event, (event.time - EPOCH).total_seconds())
        if released is None:
            self._late(event, out)
            return
        for when, ready in released:
            self._apply(when, ready, out)
        watermark = reorder.newest - reorder.lateness  # type: ignore[operator]  # set by admit
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
        """Whether the brand itself did ``event``: flagged so, or one of its handles (a post
        without an author is the brand's too). ``_apply`` applies the same rule inline."""
        author = event.author
        if author is None:
            return event.kind == "post"
        if author.is_brand:
            return True
        handles = self.handles.get(event.platform)
        return handles is not None and (author.handle or "").lower().lstrip("@") in handles

    def _late(self, event: Event, out: Output) -> None:
        late = self.state.late
        late[event.platform] = late.get(event.platform, 0) + 1
        out.late += 1

    def _apply(self, when: float, event: Event, out: Output) -> None:
        """Count ``event`` in its minute, score the public's texts, and track answers.

        This runs for every event, so it reads each field once and calls out only for what
        few events need (``is_brand`` is inlined: a handle is only normalized when the
        platform has brand accounts and the author is not flagged as the brand).
        """
        minute = math.floor(when) // MINUTE  # int(when // MINUTE), without a float modulo
        platform, kind = event.platform, event.kind
        lane = self._lanes.get(platform)
        if lane is None:
            lane = self._new_lane(platform, minute)
        if kind == "follower_count":
            lane.series.record_followers(minute, event.metrics["followers"])
            return
        if lane.minute != minute:
            lane.minute, lane.bucket = minute, lane.series.bucket(minute)
        bucket = lane.bucket
        if kind == "post":
            bucket[signals.POSTS] += 1  # whoever wrote it
            return
        if kind in signals.COMMERCE_INDEX:
            bucket[signals.COMMERCE_INDEX[kind]] += 1  # whoever made it
            return
        author, handles = event.author, lane.handles
        if author is not None and (
            author.is_brand
            or (handles is not None and (author.handle or "").lower().lstrip("@") in handles)
        ):
            if kind in ANSWER_KINDS and (answered := self.state.response.answer(event, when)):
                self._record_answers(answered, out)
            return
        if kind == "mention":
            bucket[signals.MENTIONS] += 1
        elif kind in signals.INTERACTION_KINDS:
            bucket[signals.INTERACTIONS] += 1
        text = event.text
        if text and kind in signals.VOICE_KINDS:
            self._apply_voice(when, minute, event, text, bucket)

    def _apply_voice(
        self, when: float, minute: int, event: Event, text: str, bucket: list[int]
    ) -> None:
        """A text of the public's: its sentiment, its evidence, and the answer it may need.

        Sentiment counts are integers (scores in units of ``1 / SCORE_SCALE``), so totals do
        not depend on the order events are added in.
        """
        score, label = self._score(text, event.lang)
        mention = event.kind == "mention"
        if mention and label == "negative":
            bucket[signals.NEGATIVE_MENTIONS] += 1
        bucket[signals.LABEL_INDEX[label]] += 1
        bucket[signals.SCORE_UNITS] += round(score * signals.SCORE_SCALE)
        if mention:
            self.state.evidence.offer(minute, event, score)
        if label == "negative" or "?" in text:
            deadline = self.state.response.ask(event, when)
            if deadline is not None:
                self._next_check = min(self._next_check, deadline)

    def _new_lane(self, platform: str, minute: int) -> _Lane:
        """The lane of a platform's first event since this object was made (or restored).

        The platform's series is made on its first event ever; the very first event also
        starts the clock of minutes to close (the minute before it counts as closed).
        """
        state = self.state
        if state.closed_minute is None:
            state.closed_minute = minute - 1
            self._next_check = min(self._next_check, self._due())
        series = state.series.get(platform)
        if series is None:
            series = state.series[platform] = SeriesWindows()
        lane = self._lanes[platform] = _Lane(series, self.handles.get(platform) or None)
        return lane

    def _record_answers(self, answers: list[Answered], out: Output) -> None:
        """First responses a reply of the brand's gave, and the SLA alerts they may resolve."""
        for answered in answers:
            item = answered.item
            histogram = self.state.first_response.get(item.platform)
            if histogram is None:
                histogram = self._new_histogram(item.platform)
            histogram.observe(answered.seconds)
            if item.breached:
                self._sla_check(item.platform, item.since + answered.seconds, out)

    def _new_histogram(self, platform: str) -> Histogram:
        histogram = Histogram.with_bounds(FIRST_RESPONSE_BUCKETS)
        self.state.first_response[platform] = histogram
        return histogram

    # -- time moves on ------------------------------------------------------------------------

    def _due(self) -> float:
        return min(self._minute_due(), self.state.response.next_due())

    def _minute_due(self) -> float:
        """The watermark that closes the next minute: one minute past its end."""
        closed = self.state.closed_minute
        return math.inf if closed is None else (closed + 2) * MINUTE

    def _advance(self, watermark: float, out: Output) -> None:
        """Run the SLA clocks, and close the minutes, that ``watermark`` has passed."""
        state = self.state
        due = state.response.next_due()
        if due <= watermark:
            self._run_clocks(watermark, out)
            due = state.response.next_due()
        last = math.floor(watermark) // MINUTE - 1
        while state.closed_minute is not None and state.closed_minute < last:
            self._close_minute(state.closed_minute + 1, out)
        self._next_check = min(self._minute_due(), due)

    def _run_clocks(self, watermark: float, out: Output) -> None:
        """Count the SLA breaches and let go of the expired items that ``watermark`` passed."""
        state = self.state
        breached, expired = state.response.overdue(watermark)
        for item in breached:
            state.breaches[item.platform] = state.breaches.get(item.platform, 0) + 1
            self._sla_check(item.platform, item.since + self.settings.sla_seconds, out)
        for platform in sorted({item.platform for item in expired if item.breached}):
            self._sla_check(platform, watermark, out)

    def _close_minute(self, minute: int, out: Output) -> None:
        state = self.state
        state.closed_minute = minute
        for lane in self._lanes.values():
            lane.minute = None  # the buckets of lanes may be dropped now
        end = minute + 1
        at = _time(end * MINUTE)
        totals = signals.empty()
        for platform, series in sorted(state.series.items()):
            bucket = series.buckets.get(minute) or signals.empty()
            totals = [a + b for a, b in zip(totals, bucket, strict=True)]
            series.close(minute)
            self._detect(platform, minute, bucket, out)
            if not series.is_idle() or series.follower_minutes:
                self._emit(platform, end, at, [series], out)
        if state.series:
            self._detect(ALL_PLATFORMS, minute, totals, out)
            self._emit(ALL_PLATFORMS, end, at, list(state.series.values()), out)
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

    def _emit(
        self, platform: str, end: int, at: datetime, series: list[SeriesWindows], out: Output
    ) -> None:
        """The records of every window of ``series`` ending at minute ``end`` (time ``at``)."""
        followers = _followers(series, end)
        for window, length in WINDOWS.items():
            if len(series) == 1:
                now, before = series[0].current[window], series[0].previous[window]
            else:
                now = _totals([s.current[window] for s in series])
                before = _totals([s.previous[window] for s in series])
            record = _window_record(
                self.brand.name,
                platform,
                at,
                now=now,
                before=before,
                followers=followers,
                followers_before=_followers(series, end - length),
                window=window,
                length=length,
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
    if len(series) == 1:
        return series[0].followers_before(minute)
    known = [f for s in series if (f := s.followers_before(minute)) is not None]
    return sum(known) if known else None


def _totals(counts: list[list[int]]) -> list[int]:
    """Sums, signal by signal, of bucket-shaped counts."""
    return [sum(values) for values in zip(*counts, strict=True)]


def _window_record(
    brand: str,
    platform: str,
    at: datetime,
    *,
    now: list[int],
    before: list[int],
    followers: int | None,
    followers_before: int | None,
    window: str,
    length: int,
) -> WindowRecord:
    """The record of ``window`` ending at ``at``, from the counts ``now`` and one window before."""
    positive, neutral, negative = now[signals.POSITIVE], now[signals.NEUTRAL], now[signals.NEGATIVE]
    voices = positive + neutral + negative
    seconds = length * MINUTE
    return WindowRecord(
        brand=brand,
        platform=platform,
        window=window,
        end=at,
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
        follower_growth=_growth(followers, followers_before),
        mention_growth=_growth(now[signals.MENTIONS], before[signals.MENTIONS]),
        interaction_growth=_growth(now[signals.INTERACTIONS], before[signals.INTERACTIONS]),
        orders=now[signals.ORDERS],
        visits=now[signals.VISITS],
        order_growth=_growth(now[signals.ORDERS], before[signals.ORDERS]),
        visit_growth=_growth(now[signals.VISITS], before[signals.VISITS]),
    )
