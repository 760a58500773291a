"""The Faust app: consumes the raw topic, runs the core, dead-letters what it rejects.

A thin shell: every decision is made by ``brandpulse.ingest``; this module moves bytes between
Kafka and the core and serves ``/metrics`` from Faust's own web server, on the same event loop
as the agent, so a scrape never reads totals while they change.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST

from brandpulse.config import Config
from brandpulse.deadletter import dead_letter_labels, encode_dead_letter, make_dead_letter
from brandpulse.ingest import Ingestor, Rejection
from brandpulse.kafka_io import MAX_REQUEST_BYTES, ensure_topics
from streams.metrics import WorkerHealth, render, worker_registry


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
    )
    raw = bytes_topic(app, config.kafka.raw_topic)
    dead_letters = bytes_topic(app, config.kafka.dead_letter_topic)
    ingestor = Ingestor(config.brand_names)
    health = WorkerHealth(
        assigned_partitions=lambda: sum(
            1 for partition in app.consumer.assignment() if partition.topic == raw.get_topic_name()
        )
    )
    dead_letter_counts: Counter[tuple[str, str]] = Counter()
    registry = worker_registry(ingestor.stats, dead_letter_counts, health)

    async def dead_letter(rejection: Rejection, message: Any) -> None:
        letter = make_dead_letter(
            rejection.reason,
            rejection.detail,
            stage="worker",
            raw=rejection.raw,
            source=f"{message.topic}/{message.partition}@{message.offset}:{rejection.line}",
        )
        sent = await dead_letters.send(key=letter.source.encode(), value=encode_dead_letter(letter))
        await sent  # the dead letter is on Kafka before the message counts as processed

    @app.agent(raw, name="ingest")
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            _, rejected = ingestor.ingest(event.value, time.time())
            health.last_message = time.time()
            for rejection in rejected:
                await dead_letter(rejection, event.message)

    @app.agent(dead_letters, name="dead-letters")
    async def count_dead_letters(stream: faust.StreamT[bytes]) -> None:
        """Counts every record on the dead-letter topic, whoever wrote it (importer, worker)."""
        async for record in stream:
            dead_letter_counts[dead_letter_labels(record)] += 1

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
