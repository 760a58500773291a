"""Baseline consumers for the throughput benchmark, each run in its own pinned process.

``raw``: an aiokafka consumer that only reads. ``noop``: a Faust agent that does nothing with
each message. Both read a topic from the start and write one JSON object to ``--result`` when
they have seen ``--expect`` messages, timed from the first message (startup and rebalancing
excluded). A file, because Faust takes over stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer


def report(path: Path, messages: int, started: float) -> None:
    seconds = time.perf_counter() - started
    path.write_text(json.dumps({"messages": messages, "seconds": seconds}))


async def raw(bootstrap: str, topic: str, expect: int, result: Path) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen, started = 0, 0.0
    try:
        while seen < expect:
            batches = await consumer.getmany(timeout_ms=1000, max_records=20_000)
            if batches and not seen:
                started = time.perf_counter()
            seen += sum(len(records) for records in batches.values())
    finally:
        await consumer.stop()
    report(result, seen, started)


def noop(bootstrap: str, topic: str, expect: int, result: Path) -> None:
    app = faust.App(
        f"bench-noop-{os.getpid()}",
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        datadir=tempfile.mkdtemp(prefix="bench-noop-"),
        consumer_auto_offset_reset="earliest",
    )
    source = app.topic(topic, key_serializer="raw", value_serializer="raw")
    state: dict[str, Any] = {"seen": 0, "started": 0.0}

    @app.agent(source)
    async def count(stream: Any) -> None:
        async for _ in stream:
            if not state["seen"]:
                state["started"] = time.perf_counter()
            state["seen"] += 1
            if state["seen"] >= expect:
                report(result, state["seen"], state["started"])
                os._exit(0)

    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn"]
    app.main()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["raw", "noop"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    if args.kind == "raw":
        asyncio.run(raw(args.bootstrap, args.topic, args.expect, args.result))
    else:
        noop(args.bootstrap, args.topic, args.expect, args.result)


if __name__ == "__main__":
    main()
