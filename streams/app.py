"""The Faust app: the runtime around brandpulse's core.

The ``ingest`` agent hands each message to the core (validation, counting, analytics) and sends
what comes back: window records and alerts to their topics, alerts to Alertmanager, rejects to
the dead-letter topic. ``/metrics`` is served by Faust's web server on the same event loop, so a
scrape never reads state while it changes. See ``streams.snapshots`` for how results stay exact
across crashes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, cast

import faust
from prometheus_client import CONTENT_TYPE_LATEST

from brandpulse.analytics.brand import Output
from brandpulse.analytics.engine import Analytics
from brandpulse.analytics.records import encode_record
from brandpulse.config import Config
from brandpulse.deadletter import dead_letter_labels, encode_dead_letter, make_dead_letter
from brandpulse.ingest import Rejection, merge_stats
from brandpulse.kafka_io import MAX_REQUEST_BYTES, ensure_topics
from brandpulse.sentiment import default_scorer
from streams.alertmanager import AlertmanagerPusher
from streams.analytics_metrics import AnalyticsCollector
from streams.metrics import WorkerCollector, WorkerHealth, render, worker_registry
from streams.snapshots import PartitionSnapshot, PartitionState, SnapshotStore

log = logging.getLogger(__name__)


class Runtime:
    """The worker's moving parts, shared by its agents, timers and pages."""

    def __init__(self, config: Config, app: faust.App) -> None:
        self.config = config
        self.app = app
        self.brands = config.brand_names
        self.analytics = Analytics(
            config.brands,
            config.analytics,
            config.spikes,
            default_scorer(),
            early=config.alerting.early_warnings,
        )
        self.partitions: dict[int, PartitionState] = {}
        self.store = SnapshotStore(Path(app.conf.datadir) / "snapshots")
        self.lock = asyncio.Lock()
        self.last_snapshot = time.monotonic()
        self.pusher = AlertmanagerPusher(config.alertmanager_url) if config.alerting.push else None
        self.raw = bytes_topic(app, config.kafka.raw_topic)
        self.dead_letters = bytes_topic(app, config.kafka.dead_letter_topic)
        self.windows = bytes_topic(app, config.kafka.windows_topic)
        self.alerts = bytes_topic(app, config.kafka.alerts_topic)
        self.dead_letter_counts: Counter[tuple[str, str]] = Counter()
        self.early_alerts: Counter[tuple[str, str, str]] = Counter()
        """Early warnings pushed, by brand, platform and signal."""
        self.tasks: set[asyncio.Future[Any]] = set()
        self.health = WorkerHealth(
            assigned_partitions=lambda: sum(
                1 for tp in app.consumer.assignment() if tp.topic == self.raw.get_topic_name()
            ),
            push_failures=lambda: self.pusher.failures if self.pusher else 0,
            consumer_lag=self.consumer_lag,
        )

    def consumer_lag(self) -> dict[int, int]:
        """Per raw partition with messages handled since the assignment: the broker's end offset
        minus the next offset to process (others have no backlog the fetcher has reached)."""
        lag = {}
        topic = self.raw.get_topic_name()
        for tp in self.app.consumer.assignment():
            state = self.partitions.get(tp.partition) if tp.topic == topic else None
            end = self.app.consumer.highwater(tp) if state is not None else None
            if state is not None and end is not None:
                lag[tp.partition] = max(0, end - (state.applied + 1))
        return lag

    def partition(self, number: int) -> PartitionState:
        """The partition's state, restored from its snapshot the first time it is seen."""
        state = self.partitions.get(number)
        if state is None:
            snapshot = self.store.load(self.raw.get_topic_name(), number)
            if snapshot is not None:
                self.analytics.load(snapshot.brands)
                log.info("partition %s: restored snapshot at offset %s", number, snapshot.offset)
            state = self.partitions[number] = PartitionState(number, self.brands, snapshot)
        return state

    async def handle(self, event: Any) -> None:
        message = event.message
        state = self.partition(message.partition)
        if message.offset <= state.applied:
            event.ack()  # already part of the restored snapshot
            return
        now = time.time()
        accepted, rejected = state.ingestor.ingest(event.value, now)
        out = self.analytics.process(accepted)
        state.brands.update(e.brand for e in accepted)
        state.applied = message.offset
        state.pending.append(event)
        self.health.last_message = now
        for rejection in rejected:
            await self.dead_letter(rejection, message)
        await self.send(out)

    async def send(self, out: Output) -> None:
        for record in out.windows:
            await self.windows.send(key=record.key.encode(), value=encode_record(record))
        for alert in out.alerts:
            await self.alerts.send(key=alert.id.encode(), value=encode_record(alert))
        if out.alerts and self.pusher is not None:
            self.background(self.pusher.push(out.alerts))
        if out.early:  # paging only: the alerts topic keeps the close-time records
            self.early_alerts.update((e.brand, e.platform, e.signal) for e in out.early)
            if self.pusher is not None:
                self.background(self.pusher.push_early(out.early))

    def background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` beside the stream: a slow Alertmanager must not hold up processing."""
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def dead_letter(self, rejection: Rejection, message: Any) -> None:
        letter = make_dead_letter(
            rejection.reason,
            rejection.detail,
            stage="worker",
            raw=rejection.raw,
            source=f"{message.topic}/{message.partition}@{message.offset}:{rejection.line}",
        )
        await self.dead_letters.send(key=letter.source.encode(), value=encode_dead_letter(letter))

    async def snapshot(self, partitions: list[int] | None = None) -> None:
        """Flush what was sent, save each partition's state, then ack what the snapshot holds."""
        chosen = [
            self.partitions[p]
            for p in (partitions or list(self.partitions))
            if p in self.partitions
        ]
        dirty = [state for state in chosen if state.pending]
        if dirty:
            await self.app.producer.flush()
        for state in dirty:
            snapshot = PartitionSnapshot(
                state.applied, state.ingestor.stats, self.analytics.save(state.brands)
            )
            self.store.save(self.raw.get_topic_name(), state.partition, snapshot)
            for event in state.pending:
                event.ack()
            state.pending.clear()
        self.last_snapshot = time.monotonic()

    async def snapshot_if_due(self) -> None:
        if time.monotonic() - self.last_snapshot >= self.config.worker.snapshot_interval:
            await self.snapshot()

    async def release(self, partitions: list[int]) -> None:
        """Snapshot partitions being taken away, then forget them (another worker takes over)."""
        async with self.lock:
            await self.snapshot(partitions)
            for number in partitions:
                state = self.partitions.pop(number, None)
                if state is not None:
                    self.analytics.forget(state.brands)

    async def resend_firing(self) -> None:
        if self.pusher is None:
            return
        firing = [
            alert
            for brand in self.analytics.brands.values()
            for alert in [*brand.spikes.firing.values(), *brand.state.sla_alerts.values()]
        ]
        await self.pusher.push(firing)


def create_app(config: Config) -> faust.App:
    worker = config.worker
    datadir = Path(config.stack.state_dir) / "faust" / worker.app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        worker.app_id,
        broker=[f"kafka://{host}" for host in config.bootstrap.split(",")],
        store="memory://",
        datadir=str(datadir),
        autodiscover=False,
        web_host=worker.web_host,
        web_bind=worker.web_host,
        web_port=worker.web_port,
        consumer_auto_offset_reset="earliest",
        topic_partitions=config.kafka.partitions,
        topic_replication_factor=config.kafka.replication_factor,
        producer_max_request_size=MAX_REQUEST_BYTES,
        # Acks wait for the next snapshot; a rebalance must not wait for them (see snapshots).
        stream_wait_empty=False,
    )
    runtime = Runtime(config, app)
    registry = worker_registry(
        WorkerCollector(
            lambda: merge_stats([p.ingestor.stats for p in runtime.partitions.values()]),
            runtime.dead_letter_counts,
            runtime.health,
            runtime.early_alerts,
        ),
        AnalyticsCollector(lambda: list(runtime.analytics.brands.values())),
    )

    @app.agent(runtime.raw, name="ingest")
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        async for event in cast(faust.Stream[bytes], stream).noack().events():
            async with runtime.lock:
                await runtime.handle(event)
                await runtime.snapshot_if_due()

    @app.agent(runtime.dead_letters, name="dead-letters")
    async def count_dead_letters(stream: faust.StreamT[bytes]) -> None:
        """Counts every record on the dead-letter topic, whoever wrote it (importer, worker)."""
        async for record in stream:
            runtime.dead_letter_counts[dead_letter_labels(record)] += 1

    @app.timer(interval=1.0)
    async def snapshot_when_idle() -> None:
        async with runtime.lock:
            await runtime.snapshot_if_due()

    @app.timer(interval=config.alerting.resend_interval)
    async def resend_alerts() -> None:
        await runtime.resend_firing()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # Faust passes signal=
    async def on_revoked(app: faust.App, revoked: set[Any], **_: Any) -> None:
        await runtime.release(
            sorted(tp.partition for tp in revoked if tp.topic == runtime.raw.get_topic_name())
        )

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(render(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return app


def bytes_topic(app: faust.App, name: str) -> faust.TopicT:
    """A topic read and written as plain bytes: decoding is the core's job, not Faust's."""
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def run_worker(config: Config, loglevel: str = "info") -> None:
    """Run the worker in the foreground until SIGINT or SIGTERM."""
    ensure_topics(config)
    app = create_app(config)
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
