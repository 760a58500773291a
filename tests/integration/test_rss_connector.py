"""The RSS connector against a local feed server and the real Kafka: mapping, conditional GET,
rate limits, dropped connections, and exactly once across SIGKILL."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from brandpulse.contract import Author, Event
from brandpulse.errors import BrandpulseError
from connectors.metrics import ConnectorStats
from connectors.publisher import Publisher
from connectors.runtime import CheckpointStore, Poll, Runner, event_key, state_dir
from connectors.runtime.ledger import TopicLedger
from tests.integration.harness import (
    ConnectorCommand,
    FakeHandler,
    StackEnv,
    assert_exactly_once,
    eventually,
    free_port,
    kill_repeatedly,
    serving,
    topic_events,
    total,
)

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@dataclass
class FeedServer:
    """An RSS 2.0 feed that grows on demand, with ETag/Last-Modified and scripted failures."""

    url: str = ""
    items: list[tuple[str, str]] = field(default_factory=list)
    """(guid, title) pairs, oldest first."""
    script: list[str] = field(default_factory=list)
    """What the next requests get instead of the feed: "429" or "drop"."""
    requests: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, guid: str, title: str) -> None:
        with self.lock:
            self.items.append((guid, title))

    def document(self) -> tuple[bytes, str]:
        with self.lock:
            items = list(self.items)
        entries = "".join(
            f"<item><title>{title}</title><link>https://news.example/{guid}</link>"
            f"<description>&lt;p&gt;Full story of {guid}&lt;/p&gt;</description>"
            f"<dc:creator>Reporter {n % 3}</dc:creator>"
            f"<pubDate>{format_datetime(T0 + timedelta(minutes=n), usegmt=True)}</pubDate>"
            f'<guid isPermaLink="false">{guid}</guid></item>'
            for n, (guid, title) in enumerate(items)
        )
        body = (
            '<?xml version="1.0"?><rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Local News</title>'
            f"<link>https://news.example/</link><language>de-AT</language>{entries}"
            "</channel></rss>"
        ).encode()
        return body, f'"{hashlib.sha1(body).hexdigest()[:16]}"'


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    feed = FeedServer()

    class Handler(FakeHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            feed.requests.append((time.monotonic(), dict(self.headers)))
            action = feed.script.pop(0) if feed.script else ""
            body, etag = feed.document()
            if action == "429":
                self.answer(429, b"slow down", {"Retry-After": "2"})
            elif action == "drop":
                self.answer(200, body, cut=True)
            elif self.headers.get("If-None-Match") == etag:
                self.answer(304, b"", {"ETag": etag})
            else:
                modified = "Thu, 20 Nov 2026 08:00:00 GMT"
                self.answer(200, body, {"ETag": etag, "Last-Modified": modified})

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        feed.url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
        yield feed


def rss_env(
    isolated: StackEnv, tmp_path: Path, feed: FeedServer, interval: float = 0.2
) -> ConnectorCommand:
    metrics_port = free_port()
    settings = (
        f'[rss]\nfeeds = [{{ url = "{feed.url}", interval = {interval} }}]\n'
        f"metrics_port = {metrics_port}\nretry_initial = 0.2\ntimeout = 5.0\n"
        '[[brands]]\nname = "acme"\nkeywords = ["acme"]\n'
        '[[brands]]\nname = "globex"\nkeywords = ["globex", "globex corp"]\n'
    )
    return ConnectorCommand.configured("rss", isolated, tmp_path, settings, metrics_port)


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    with feed_server() as server:
        yield server


def test_feed_items_reach_kafka_once_through_304_429_and_a_dropped_connection(
    isolated: StackEnv, tmp_path: Path, feed: FeedServer
) -> None:
    rss = rss_env(isolated, tmp_path, feed)
    feed.add("n-1", "ACME opens a plant")
    feed.add("n-2", "Weather: sunny")
    feed.add("n-3", "Globex Corp and Acme merge")

    first = rss.once()
    assert first.returncode == 0, first.stderr
    assert "rss: 3 events published" in first.stderr
    events = sorted(rss.events(), key=lambda e: (e.id, e.brand))
    assert events == [
        Event(
            v=1,
            id="n-1",
            platform="blog",
            brand="acme",
            kind="mention",
            time=T0,
            author=Author(id="Reporter 0"),
            text="ACME opens a plant\n\nFull story of n-1",
            lang="de",
            url="https://news.example/n-1",
        ),
        *(
            Event(
                v=1,
                id="n-3",
                platform="blog",
                brand=brand,
                kind="mention",
                time=T0 + timedelta(minutes=2),
                author=Author(id="Reporter 2"),
                text="Globex Corp and Acme merge\n\nFull story of n-3",
                lang="de",
                url="https://news.example/n-3",
            )
            for brand in ("acme", "globex")
        ),
    ]

    unchanged = rss.once()
    assert unchanged.returncode == 0, unchanged.stderr
    assert "rss: 0 events published" in unchanged.stderr and "not modified" in unchanged.stderr
    conditional = feed.requests[-1][1]
    assert conditional["If-None-Match"] == feed.document()[1]
    assert conditional["If-Modified-Since"] == "Thu, 20 Nov 2026 08:00:00 GMT"

    feed.add("n-4", "globex recalls a toaster")
    feed.script.append("429")
    before = len(feed.requests)
    limited = rss.once()
    assert limited.returncode == 0, limited.stderr
    # The 429, then the poll after Retry-After (a loaded machine may add a retry after a
    # timeout; the wait is what is checked here).
    polls = feed.requests[before:]
    assert len(polls) >= 2, limited.stderr
    (refused, _), (accepted, _) = polls[:2]
    assert accepted - refused >= 2.0, f"Retry-After: 2 is honoured: {limited.stderr}"
    assert "rss: 1 events published" in limited.stderr

    feed.add("n-5", "acme answers")
    feed.script.append("drop")
    dropped = rss.once()
    assert dropped.returncode == 0, dropped.stderr
    assert (
        "connection dropped after" in dropped.stderr and "rss: 1 events published" in dropped.stderr
    )

    keys = Counter((e.id, e.brand) for e in rss.events())
    assert keys == Counter(
        [("n-1", "acme"), ("n-3", "acme"), ("n-3", "globex"), ("n-4", "globex"), ("n-5", "acme")]
    )


def test_an_interrupted_publish_is_reconciled_against_the_topic(
    isolated: StackEnv, tmp_path: Path
) -> None:
    """The crash window the checkpoint alone cannot cover: acked, but not yet checkpointed."""
    config = rss_env(isolated, tmp_path, FeedServer(url="http://unused/")).config
    store = CheckpointStore(state_dir(config, "test"))
    events = [
        Event(v=1, id=f"e{n}", platform="blog", brand="acme", kind="mention", time=T0)
        for n in range(6)
    ]

    class CrashAfterFlush(CheckpointStore):
        def save(self, checkpoint: Any) -> None:
            if checkpoint.pending is None and checkpoint.seen:
                raise BrandpulseError("killed after the acks, before the checkpoint")
            super().save(checkpoint)

    def run(store: CheckpointStore, poll: Poll) -> int:
        with (
            Publisher(config, "brandpulse-test", ConnectorStats("test")) as publisher,
            TopicLedger(config.bootstrap, config.kafka.raw_topic, "test") as ledger,
        ):
            runner = Runner(config, publisher, ledger, store)
            runner.reconcile()
            return runner.commit(poll)

    with pytest.raises(BrandpulseError, match="killed after the acks"):
        run(CrashAfterFlush(store.path.parent), Poll(events[:4]))
    assert store.load().pending is not None
    assert run(store, Poll(events)) == 2
    assert Counter(event_key(e) for e in topic_events(config)) == Counter(map(event_key, events))


def test_sigkill_at_random_moments_leaves_every_item_on_the_topic_exactly_once(
    isolated: StackEnv, tmp_path: Path, feed: FeedServer
) -> None:
    rss = rss_env(isolated, tmp_path, feed, interval=0.05)
    log = tmp_path / "rss.log"

    def grow(n: int) -> None:
        brand = ("acme", "globex", "nobody")[n % 3]
        feed.add(f"k-{n}", f"{brand} news {n}")

    kill_repeatedly(lambda: rss.start(log), 10, (1.0, 2.5), grow)

    expected = {(guid, title.split()[0]) for guid, title in feed.items if "nobody" not in title}
    with rss.running(log):
        eventually(rss.events, lambda evs: len(evs) >= len(expected), timeout=40, step=0.5)
        assert total(rss.metrics(), "brandpulse_connector_up", connector="rss") == 1
    assert_exactly_once(Counter((e.id, e.brand) for e in rss.events()), expected, log)
    assert "stopped after publishing" in log.read_text()
    print(f"{len(expected)} events; recoveries: {log.read_text().count('recovered an')}")
