"""Everything brandpulse computes for one brand, driven by that brand's events in event time.

A brand's events live in one Kafka partition (they are keyed by brand), so one brand is always
handled by one worker, and this object is the unit of state, of snapshots and of replay.

Each platform of the brand keeps its own clock: its events pass through its own reorder buffer,
and its watermark is its newest event time minus the allowed lateness. Once a platform's
watermark passes its events they are applied in event-time order, and every minute it leaves
behind is closed for that platform: its windows move on, its window records are emitted, its
spike detectors see the minute's counts, and its SLA clocks run out. The brand's figures over
all platforms (``all``) move with the slowest platform that is still active (heard from within
``idle_after`` of the brand's newest event): an ``all`` minute closes once every active
platform's watermark has passed it, and platforms that fell silent are then brought along.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol, cast

import msgspec

from brandpulse.analytics import signals
from brandpulse.analytics.evidence import EvidenceLog
from brandpulse.analytics.records import ALL_PLATFORMS, AlertRecord, Evidence, WindowRecord
from brandpulse.analytics.reorder import ReorderBuffer
from brandpulse.analytics.response import ANSWER_KINDS, Answered, ResponseTracker
from brandpulse.analytics.settings import AnalyticsSettings
from brandpulse.analytics.spike_alerts import EarlyAlert, SpikeAlerts
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
    early: list[EarlyAlert] = field(default_factory=list)
    """Spike alerts known to open before their minute closes: for paging only, not records."""


class PlatformState(msgspec.Struct):
    """One platform of a brand: its clock (reorder buffer), its series and its care items.

    ``closed_minute`` is the platform's last closed minute. First-response items are tracked
    per platform, their clocks running with the platform's own watermark (and, while it is
    silent, with the brand's ``all`` one): a platform's SLA alerts then depend on its own
    events only, however they interleave with other platforms'.
    """

    reorder: ReorderBuffer
    response: ResponseTracker
    series: SeriesWindows = msgspec.field(default_factory=SeriesWindows)
    closed_minute: int | None = None


class BrandState(msgspec.Struct):
    """All of a brand's state that is not a spike detector; snapshotted as it is."""

    evidence: EvidenceLog
    platforms: dict[str, PlatformState] = msgspec.field(default_factory=dict)
    total: SeriesWindows = msgspec.field(default_factory=SeriesWindows)
    """The ``all`` series, fed with the sums of the platforms' buckets as ``all`` closes."""
    closed_minute: int | None = None
    """The last minute closed for ``all`` (None: none yet)."""
    late: dict[str, int] = msgspec.field(default_factory=dict)
    first_response: dict[str, Histogram] = msgspec.field(default_factory=dict)
    breaches: dict[str, int] = msgspec.field(default_factory=dict)
    sla_alerts: dict[str, AlertRecord] = msgspec.field(default_factory=dict)


class _Early:
    """What early warnings of one series (a platform's, or ``all``) need between closes.

    Not state: counted again from the state after a restore (``BrandAnalytics.readmit``).
    """

    __slots__ = ("admitted", "need", "platform")

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.admitted: dict[int, list[int]] = {}
        """Per minute after the series' closed one: the public's mentions admitted (held or
        applied), and the negative ones among them. Admitted events are never dropped, so
        these are lower bounds of the counts the minutes close with."""
        self.need: list[float] = [math.inf] * len(SPIKE_SIGNALS)
        """Per spike signal, the count with which the minute after the closed one opens an
        alert (``inf``: it cannot, or its early warning went out)."""


class _Lane:
    """What ``process`` and ``_apply`` need of one platform, found with one lookup: its state,
    reorder buffer, series and care tracker, the brand's handles there (None: no accounts),
    the bucket of the minute being filled, and the watermarks at which work is due.

    Not state: made again from it after a restore. The bucket is kept from one event to the
    next until a minute closes, closing being the only time buckets are dropped.
    """

    __slots__ = (
        "all_check",
        "bucket",
        "early",
        "handles",
        "minute",
        "next_check",
        "own_due",
        "platform",
        "reorder",
        "response",
        "series",
        "state",
    )

    def __init__(self, platform: str, state: PlatformState, handles: set[str] | None) -> None:
        self.platform = platform
        self.state = state
        self.reorder = state.reorder
        self.response = state.response
        self.series = state.series
        self.handles = handles
        self.minute: int | None = None
        self.bucket: list[int] = []
        self.own_due = -math.inf
        """The platform's watermark at which one of its minutes closes or an SLA clock runs."""
        self.all_check = -math.inf
        """The platform's watermark at which ``all`` may move on (see ``_advance_all``)."""
        self.next_check = -math.inf
        """The smaller of the two: one comparison per event."""
        self.early = _Early(platform)


class BrandAnalytics:
    def __init__(
        self,
        brand: BrandConfig,
        settings: AnalyticsSettings,
        scorer: SentimentScorer,
        spikes: SpikeAlerts,
        state: BrandState | None = None,
        *,
        early: bool = True,
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
        self.state = state or BrandState(evidence=EvidenceLog(settings.evidence_items))
        for platform, platform_state in self.state.platforms.items():
            platform_state.reorder.lateness = settings.lateness(platform)  # config changed since?
        self.latest: dict[tuple[str, str], WindowRecord] = {}
        """The newest record per (platform, window), for the metrics exporter."""
        self._lanes: dict[str, _Lane] = {}
        self._floor = self._all_floor()
        """Events before this are late on every platform: their ``all`` minute is closed."""
        self._early = early
        """Whether to warn of spike alerts before their minute closes (``Output.early``)."""
        self._scored: dict[int, tuple[float, str]] = {}
        """Sentiment of mentions scored at admission, by ``id`` of the held event, so that
        ``_apply_voice`` scores each text once (after a restore, held mentions are scored again
        by ``readmit``)."""
        self._all = _Early(ALL_PLATFORMS)
        if early and self.state.closed_minute is not None:
            self._all.need = self._opening_counts(ALL_PLATFORMS, self.state.closed_minute + 1)

    # -- events in ----------------------------------------------------------------------------

    def process(self, event: Event, out: Output) -> None:
        when = (event.time - EPOCH).total_seconds()
        lane = self._lanes.get(event.platform)
        if lane is None:
            lane = self._new_lane(event.platform, when)
        if when < self._floor:
            self._late(event, out)
            return
        reorder = lane.reorder
        released = reorder.admit(event, when)
        if released is None:
            self._late(event, out)
            return
        if self._early and event.kind == "mention":
            self._admit_mention(lane, when, event, out)
        for at, ready in released:
            self._apply(lane, at, ready, out)
        watermark = reorder.newest - reorder.lateness  # type: ignore[operator]  # set by admit
        if watermark >= lane.next_check:
            self._advance(lane, watermark, out)

    def drain(self, out: Output) -> None:
        """At the end of a finite input: apply what is held and close every minute with events,
        on every platform (up to the brand's newest minute) and for ``all``."""
        platforms = self.state.platforms
        newest: float | None = None
        for platform in sorted(platforms):
            lane = self._lane(platform)
            for when, ready in lane.reorder.drain():
                self._apply(lane, when, ready, out)
            seen = lane.reorder.newest
            if seen is not None and (newest is None or seen > newest):
                newest = seen
        if newest is None:
            return
        final = newest + MINUTE
        for platform in sorted(platforms):
            self._advance_platform(self._lane(platform), final, out)
        self._close_all_through(math.floor(final) // MINUTE - 1, out)
        for lane in self._lanes.values():
            lane.all_check = lane.next_check = -math.inf

    def is_brand(self, event: Event) -> bool:
        """Whether the brand itself did ``event``: flagged so, or one of its handles (a post
        without an author is the brand's too). ``_apply``, run for every event, applies the
        same rule inline."""
        author = event.author
        if author is None:
            return event.kind == "post"
        if author.is_brand:
            return True
        handles = self.handles.get(event.platform)
        return handles is not None and (author.handle or "").lower().lstrip("@") in handles

    def watermark(self) -> float | None:
        """Event time up to which the brand's ``all`` figures are complete: the slowest active
        platform's watermark, or the end of the last closed ``all`` minute if that is later."""
        marks = self._watermarks()
        if not marks:
            return None
        top = max(marks.values())
        idle_after = self.settings.idle_after
        slowest = min(w for w in marks.values() if w + idle_after >= top)
        return max(slowest, self._floor)

    def _late(self, event: Event, out: Output) -> None:
        late = self.state.late
        late[event.platform] = late.get(event.platform, 0) + 1
        out.late += 1

    def _admit_mention(self, lane: _Lane, when: float, event: Event, out: Output) -> None:
        """Count an admitted mention for its minute's early warnings, of its platform and of
        ``all``, as ``_apply`` and ``_apply_voice`` will count it: the public's only, negative
        by its text's label. (A platform's closed minute is never before ``all``'s.)"""
        if self.is_brand(event):
            return
        minute = math.floor(when) // MINUTE
        closed = lane.state.closed_minute
        if closed is None or minute <= closed:
            return
        negative = 0
        text = event.text
        if text:
            scored = self._scored[id(event)] = self._score(text, event.lang)
            negative = int(scored[1] == "negative")
        self._count(lane.early, closed, minute, [1, negative], out)
        everything = cast(int, self.state.closed_minute)  # set, and not after ``closed``
        self._count(self._all, everything, minute, [1, negative], out)

    def _count(
        self, early: _Early, closed: int, minute: int, counts: list[int], out: Output
    ) -> None:
        """Add ``counts`` (per spike signal) to the series' admitted ones of ``minute``."""
        admitted = early.admitted.get(minute)
        if admitted is None:
            admitted = early.admitted[minute] = list(counts)
        else:
            for index, count in enumerate(counts):
                admitted[index] += count
        if minute == closed + 1:
            self._check_early(early, minute, admitted, out)

    def _check_early(self, early: _Early, minute: int, counts: list[int], out: Output) -> None:
        """Warn once per spike signal whose admitted count of ``minute`` (the series' next to
        close) reached the count that opens its alert."""
        need = early.need
        for index, signal in enumerate(SPIKE_SIGNALS):
            if counts[index] >= need[index]:
                need[index] = math.inf
                out.early.append(
                    self.spikes.early(
                        self.brand.name, early.platform, signal, minute * MINUTE, counts[index]
                    )
                )

    def _advance_early(self, early: _Early, minute: int, out: Output) -> None:
        """The series closed ``minute``: its detectors' state for the next one is final now."""
        early.admitted.pop(minute, None)
        early.need = self._opening_counts(early.platform, minute + 1)
        counts = early.admitted.get(minute + 1)
        if counts is not None:
            self._check_early(early, minute + 1, counts, out)

    def _apply(self, lane: _Lane, when: float, event: Event, out: Output) -> None:
        """Count ``event`` in its minute, score the public's texts, and track answers.

        This runs for every event, so it reads each field once and calls out only for what
        few events need (``is_brand`` is inlined: a handle is only normalized when the
        platform has brand accounts and the author is not flagged as the brand).
        """
        minute = math.floor(when) // MINUTE  # int(when // MINUTE), without a float modulo
        kind = event.kind
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
            if kind in ANSWER_KINDS and (answered := lane.response.answer(event, when)):
                self._record_answers(answered, out)
            return
        if kind == "mention":
            bucket[signals.MENTIONS] += 1
        elif kind in signals.INTERACTION_KINDS:
            bucket[signals.INTERACTIONS] += 1
        text = event.text
        if text and kind in signals.VOICE_KINDS:
            self._apply_voice(lane, when, minute, event, text)

    def _apply_voice(self, lane: _Lane, when: float, minute: int, event: Event, text: str) -> None:
        """A text of the public's: its sentiment, its evidence, and the answer it may need.

        Sentiment counts are integers (scores in units of ``1 / SCORE_SCALE``), so totals do
        not depend on the order events are added in.
        """
        mention = event.kind == "mention"
        scored = self._scored.pop(id(event), None) if mention else None
        score, label = scored if scored is not None else self._score(text, event.lang)
        bucket = lane.bucket
        if mention and label == "negative":
            bucket[signals.NEGATIVE_MENTIONS] += 1
        bucket[signals.LABEL_INDEX[label]] += 1
        bucket[signals.SCORE_UNITS] += round(score * signals.SCORE_SCALE)
        if mention:
            self.state.evidence.offer(minute, event, score)
        if label == "negative" or "?" in text:
            deadline = lane.response.ask(event, when)
            if deadline is not None:
                lane.own_due = min(lane.own_due, deadline)
                lane.next_check = min(lane.next_check, deadline)

    def _new_lane(self, platform: str, when: float) -> _Lane:
        """The lane of a platform's first event since this object was made (or restored).

        The platform's state is made on its first event ever, which also starts its clock of
        minutes to close (the minute before it counts as closed, or the last ``all`` minute
        closed if that is later). A new lane checks everything on its first event.
        """
        state = self.state
        if platform not in state.platforms:
            closed = math.floor(when) // MINUTE - 1
            if state.closed_minute is None or (
                state.total.closed is None and closed < state.closed_minute
            ):
                state.closed_minute = closed  # ``all`` starts with the earliest platform
            else:
                closed = max(closed, state.closed_minute)
            settings = self.settings
            state.platforms[platform] = PlatformState(
                reorder=ReorderBuffer(settings.lateness(platform)),
                response=ResponseTracker(settings.sla_seconds, settings.max_open_seconds),
                closed_minute=closed,
            )
        return self._lane(platform)

    def _lane(self, platform: str) -> _Lane:
        """The platform's lane, made from its state the first time it is asked for."""
        lane = self._lanes.get(platform)
        if lane is None:
            state = self.state.platforms[platform]
            lane = self._lanes[platform] = _Lane(
                platform, state, self.handles.get(platform) or None
            )
            if self._early and state.closed_minute is not None:
                lane.early.need = self._opening_counts(platform, state.closed_minute + 1)
        return lane

    def readmit(self, out: Output) -> None:
        """After a restore: count again what each platform, and ``all``, admitted after its
        closed minute, as it was counted as it came, and warn into ``out`` of the alerts whose
        counts reached their opening counts already. Without this the counts of the open
        minutes would start from nothing, and a burst that began before a crash be warned of
        late, or not at all.

        What was applied is in the buckets of the open minutes (the public's mentions, and the
        negative ones by label, exactly as ``_admit_mention`` counts them); what is still held
        is admitted again.
        """
        everything = self.state.closed_minute
        if not self._early or everything is None:
            return
        for platform in sorted(self.state.platforms):
            lane = self._lane(platform)
            closed = lane.state.closed_minute
            if closed is None:
                continue
            for minute in sorted(lane.series.buckets):
                bucket = lane.series.buckets[minute]
                counts = [bucket[signals.COUNTED_SIGNALS[s]] for s in SPIKE_SIGNALS]
                if minute > closed:
                    self._count(lane.early, closed, minute, counts, out)
                if minute > everything:
                    self._count(self._all, everything, minute, counts, out)
            for when, event in lane.reorder.held():
                if event.kind == "mention":
                    self._admit_mention(lane, when, event, out)

    def _opening_counts(self, platform: str, minute: int) -> list[float]:
        """Per spike signal, the count with which the platform's ``minute`` opens an alert."""
        spikes = self.spikes
        need: list[float] = []
        for signal in SPIKE_SIGNALS:
            count = spikes.opening_count(platform, signal, minute * MINUTE)
            need.append(math.inf if count is None else count)
        return need

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

    def _advance(self, lane: _Lane, watermark: float, out: Output) -> None:
        """The platform's ``watermark`` reached a point where work is due: its own minutes and
        SLA clocks, and maybe ``all``."""
        self._advance_platform(lane, watermark, out)
        if watermark >= lane.all_check:
            self._advance_all(out)
        lane.next_check = min(lane.own_due, lane.all_check)

    def _advance_platform(self, lane: _Lane, watermark: float, out: Output) -> None:
        """Run the platform's SLA clocks, and close its minutes, that ``watermark`` has passed."""
        response = lane.response
        due = response.next_due()
        if due <= watermark:
            self._run_clocks(lane, watermark, out)
            due = response.next_due()
        self._close_platform_through(lane, math.floor(watermark) // MINUTE - 1, out)
        closed = lane.state.closed_minute
        minute_due = math.inf if closed is None else (closed + 2) * MINUTE
        lane.own_due = min(minute_due, due)
        lane.next_check = min(lane.own_due, lane.all_check)

    def _close_platform_through(self, lane: _Lane, last: int, out: Output) -> None:
        state = lane.state
        while state.closed_minute is not None and state.closed_minute < last:
            self._close_minute(lane, state.closed_minute + 1, out)

    def _watermarks(self) -> dict[str, float]:
        """Each platform's watermark (platforms with no event held or applied yet have none)."""
        return {
            platform: state.reorder.newest - state.reorder.lateness
            for platform, state in self.state.platforms.items()
            if state.reorder.newest is not None
        }

    def _advance_all(self, out: Output) -> None:
        """Close the ``all`` minutes that every active platform's watermark has passed, and
        tell each lane at which of its watermarks to look again.

        A platform is active while its watermark is within ``idle_after`` of the newest one.
        ``all`` can move on only when an active platform behind its next minute (a blocker)
        passes it, or when the slowest blocker falls idle: the newest watermark gets more than
        ``idle_after`` past it. Every lane's ``all_check`` is the first of those it can cause.
        """
        state = self.state
        marks = self._watermarks()
        if not marks:
            return
        idle_after = self.settings.idle_after
        top = max(marks.values())
        active = {p: w for p, w in marks.items() if w + idle_after >= top}
        slowest = min(active.values())
        closed = state.closed_minute
        if closed is None:  # no platform has state: cannot be, there are watermarks
            return
        last = math.floor(slowest) // MINUTE - 1
        if last > closed:
            self._close_all_through(last, out)
            closed = last
        due = (closed + 2) * MINUTE
        blockers = [w for w in active.values() if w < due]
        idle = math.nextafter(min(blockers) + idle_after, math.inf) if blockers else math.inf
        for platform, lane in self._lanes.items():
            mark = active.get(platform)
            blocking = mark is not None and mark < due
            lane.all_check = min(due, idle) if blocking else idle
            lane.next_check = min(lane.own_due, lane.all_check)

    def _close_all_through(self, last: int, out: Output) -> None:
        """Close ``all`` minutes up to ``last``: first bring every platform behind (a silent
        one) up to there, applying what it holds before the end of ``last``."""
        state = self.state
        closed = state.closed_minute
        if closed is None or last <= closed:
            return
        floor = (last + 1) * MINUTE
        before = math.nextafter(float(floor), -math.inf)
        for platform in sorted(state.platforms):
            platform_state = state.platforms[platform]
            if platform_state.closed_minute is not None and platform_state.closed_minute >= last:
                continue
            lane = self._lane(platform)
            for when, ready in lane.reorder.release_until(before):
                self._apply(lane, when, ready, out)
            if lane.response.next_due() <= before:
                self._run_clocks(lane, before, out)
            self._close_platform_through(lane, last, out)
            lane.own_due = -math.inf  # look again on its next event
        for minute in range(closed + 1, last + 1):
            self._close_all_minute(minute, out)
        self._floor = float(floor)

    def _all_floor(self) -> float:
        """The end of the last closed ``all`` minute; before ``all`` has closed one, none."""
        state = self.state
        if state.closed_minute is None or state.total.closed is None:
            return -math.inf
        return float((state.closed_minute + 1) * MINUTE)

    def _run_clocks(self, lane: _Lane, watermark: float, out: Output) -> None:
        """Count the SLA breaches and let go of the expired items that ``watermark`` passed."""
        state = self.state
        breached, expired = lane.response.overdue(watermark)
        for item in breached:
            state.breaches[item.platform] = state.breaches.get(item.platform, 0) + 1
            self._sla_check(item.platform, item.since + self.settings.sla_seconds, out)
        for platform in sorted({item.platform for item in expired if item.breached}):
            self._sla_check(platform, watermark, out)

    def _close_minute(self, lane: _Lane, minute: int, out: Output) -> None:
        """Close ``minute`` of one platform: its windows, records and spike detectors."""
        lane.state.closed_minute = minute
        lane.minute = None  # the lane's bucket may be dropped now
        series = lane.series
        bucket = series.buckets.get(minute) or signals.empty()
        series.close(minute)
        self._detect(lane.platform, minute, bucket, out)
        if self._early:
            self._advance_early(lane.early, minute, out)
        if not series.is_idle() or series.follower_minutes:
            end = minute + 1
            self._emit(lane.platform, end, _time(end * MINUTE), series, out, followed=[series])

    def _close_all_minute(self, minute: int, out: Output) -> None:
        """Close ``minute`` for ``all``: the sum of the platforms' buckets of that minute (each
        platform has closed it already) moves the ``all`` windows and spike detectors."""
        state = self.state
        state.closed_minute = minute
        platforms = [state.platforms[p].series for p in sorted(state.platforms)]
        totals = signals.empty()
        for series in platforms:
            bucket = series.buckets.get(minute)
            if bucket is not None:
                totals = [a + b for a, b in zip(totals, bucket, strict=True)]
        total = state.total
        if any(totals):
            total.buckets[minute] = totals
        total.close(minute)
        if platforms:
            end = minute + 1
            self._detect(ALL_PLATFORMS, minute, totals, out)
            if self._early:
                self._advance_early(self._all, minute, out)
            self._emit(ALL_PLATFORMS, end, _time(end * MINUTE), total, out, followed=platforms)
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
        self,
        platform: str,
        end: int,
        at: datetime,
        series: SeriesWindows,
        out: Output,
        *,
        followed: list[SeriesWindows],
    ) -> None:
        """The records of every window of ``series`` ending at minute ``end`` (time ``at``),
        with the followers of the ``followed`` series (summed)."""
        followers = _followers(followed, end)
        for window, length in WINDOWS.items():
            record = _window_record(
                self.brand.name,
                platform,
                at,
                now=series.current[window],
                before=series.previous[window],
                followers=followers,
                followers_before=_followers(followed, end - length),
                window=window,
                length=length,
            )
            self.latest[platform, window] = record
            out.windows.append(record)

    def _sla_check(self, platform: str, at: float, out: Output) -> None:
        """Open, or resolve, the platform's SLA alert from the number of breached open items."""
        state = self.state
        response = state.platforms[platform].response
        breached = response.breached_open.get(platform, 0)
        firing = state.sla_alerts.get(platform)
        if breached and firing is None:
            oldest = response.oldest_breached(platform, self.settings.evidence_items)
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
