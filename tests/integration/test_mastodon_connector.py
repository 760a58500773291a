"""The Mastodon connector against a local fake instance and the real Kafka: field mapping,
a 429 with an ISO 8601 reset, a dropped stream caught up over REST, and exactly once across
SIGKILL."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from brandpulse.contract import Author, Event
from tests.integration.harness import (
    ConnectorCommand,
    FakeHandler,
    StackEnv,
    assert_exactly_once,
    brandpulse,
    eventually,
    free_port,
    kill_repeatedly,
    serving,
    total,
)

TOKEN = "test-token"
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def account(id: str, acct: str, followers: int = 10) -> dict[str, Any]:
    return {"id": id, "acct": acct, "username": acct, "followers_count": followers}


def status(id: int, text: str, by: dict[str, Any], reply_to: int | None = None) -> dict[str, Any]:
    return {
        "id": str(id),
        "created_at": (T0 + timedelta(seconds=id)).isoformat().replace("+00:00", "Z"),
        "content": f"<p>{text}</p>",
        "spoiler_text": "",
        "language": "en",
        "uri": f"https://fake.example/statuses/{id}",
        "url": f"https://fake.example/@{by['acct']}/{id}",
        "account": by,
        "in_reply_to_id": str(reply_to) if reply_to else None,
        "in_reply_to_account_id": "1" if reply_to else None,
        "replies_count": 0,
        "reblogs_count": 1,
        "favourites_count": 2,
        "visibility": "public",
    }


BRAND = account("1", "acme", 5000)
FAN = account("42", "jo@else.example", 120)


@dataclass
class FakeMastodon:
    """A Mastodon instance with one hashtag, notifications and one brand account: REST pages
    with ``min_id``, SSE streams that push what is added, and scripted failures."""

    url: str = ""
    tag: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    own: list[dict[str, Any]] = field(default_factory=list)
    limited: int = 0
    """How many next REST requests get 429 with an exhausted quota resetting in 2 s."""
    drop: bool = False
    """Close the open stream once."""
    refuse_streams: int = 0
    streams_opened: int = 0
    requests: list[tuple[float, str, str]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    closed: bool = False

    def add(self, item: dict[str, Any], to: str = "tag") -> None:
        with self.changed:
            getattr(self, to).append(item)
            self.changed.notify_all()

    def page(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> list[Any]:
        limit = int(query.get("limit", ["20"])[0])
        with self.changed:
            if "min_id" in query:
                since = int(query["min_id"][0])
                chosen = [i for i in items if int(i["id"]) > since][:limit]
            else:
                chosen = items[-limit:]
        return list(reversed(chosen))


@contextmanager
def fake_mastodon() -> Iterator[FakeMastodon]:
    fake = FakeMastodon()

    class Handler(FakeHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            fake.requests.append((time.monotonic(), parts.path, parts.query))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.answer_json(401, {"error": "The access token is invalid"})
            elif parts.path.startswith("/api/v1/streaming/"):
                self._stream(fake.notifications if "notification" in parts.path else fake.tag)
            elif fake.limited:
                fake.limited -= 1
                reset = datetime.now(UTC) + timedelta(seconds=2)
                headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0"}
                headers["X-RateLimit-Reset"] = reset.isoformat().replace("+00:00", "Z")
                self.answer_json(429, {"error": "Too many requests"}, headers)
            else:
                self.answer_json(200, self._rest(parts.path, query))

        def _rest(self, path: str, query: dict[str, list[str]]) -> Any:
            pages = {
                "/api/v1/timelines/tag/acme": fake.tag,
                "/api/v1/notifications": fake.notifications,
                "/api/v1/accounts/1/statuses": fake.own,
            }
            if path == "/api/v1/accounts/1":
                return BRAND
            return fake.page(pages[path], query)

        def _stream(self, items: list[dict[str, Any]]) -> None:
            if fake.refuse_streams:
                fake.refuse_streams -= 1
                self.answer_json(503, {"error": "streaming is down"})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            with fake.changed:
                sent = len(items)
                fake.streams_opened += 1
            name = "notification" if items is fake.notifications else "update"
            while not fake.closed:
                with fake.changed:
                    fake.changed.wait(0.3)
                    new, sent = items[sent:], len(items)
                    dropped, fake.drop = fake.drop, False
                if dropped:
                    return
                chunk = "".join(f"event: {name}\ndata: {json.dumps(i)}\n\n" for i in new)
                try:
                    self.wfile.write((chunk + ":thump\n").encode())
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return  # the connector was killed

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        fake.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield fake
        finally:
            fake.closed = True


def mastodon_env(
    isolated: StackEnv, tmp_path: Path, fake: FakeMastodon, *, full: bool, token: str = TOKEN
) -> ConnectorCommand:
    metrics_port = free_port()
    brand = '{ brand = "acme", hashtags = ["acme"]' + (', account_id = "1" }' if full else " }")
    settings = (
        f'[mastodon]\ninstance = "{fake.url}"\nbrands = [{brand}]\n'
        + ('notifications_brand = "acme"\n' if full else "")
        + f"metrics_port = {metrics_port}\npoll_interval = 30.0\nretry_initial = 0.2\n"
        "timeout = 5.0\nstream_timeout = 5.0\n"
        '[[brands]]\nname = "acme"\nkeywords = ["acme"]\naccounts = { mastodon = ["acme"] }\n'
    )
    env = {"MASTODON_ACCESS_TOKEN": token}
    return ConnectorCommand.configured(
        "mastodon", isolated, tmp_path, settings, metrics_port, env=env
    )


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with fake_mastodon() as server:
        yield server


def test_statuses_and_notifications_are_mapped_on_the_topic_after_a_429(
    isolated: StackEnv, tmp_path: Path, fake: FakeMastodon
) -> None:
    mastodon = mastodon_env(isolated, tmp_path, fake, full=True)
    fake.add(status(1001, "my <b>#acme</b> toaster &amp; me", FAN))
    answer = status(1002, "@jo sorry, DM us", BRAND, reply_to=1001)
    fake.add(answer)
    fake.add(answer, "own")
    fake.add(status(1003, "@acme thanks!", FAN, reply_to=1002) | {"in_reply_to_account_id": "1"})
    at = "2026-11-25T10:00:00.000Z"
    for n, kind, item in (
        (2001, "reblog", answer),
        (2002, "favourite", answer),
        (2003, "mention", status(1003, "@acme thanks!", FAN, reply_to=1002)),
        (2004, "follow", None),
    ):
        note = {"id": str(n), "type": kind, "created_at": at, "account": FAN, "status": item}
        fake.add(note, "notifications")
    fake.limited = 1

    result = mastodon.once()
    assert result.returncode == 0, result.stderr
    assert "mastodon: 6 events published" in result.stderr, result.stderr
    events = {e.id: e for e in mastodon.events()}
    fan = Author(id="42", handle="jo@else.example", followers=120)
    assert events["1001"] == Event(
        v=1,
        id="1001",
        platform="mastodon",
        brand="acme",
        kind="mention",
        time=T0 + timedelta(seconds=1001),
        author=fan,
        text="my #acme toaster & me",
        lang="en",
        url="https://fake.example/@jo@else.example/1001",
        metrics={"replies": 0, "shares": 1, "likes": 2},
    )
    brand_reply = events["1002"]
    assert (brand_reply.kind, brand_reply.parent_id, brand_reply.author) == (
        "reply",
        "1001",
        Author(id="1", handle="acme", is_brand=True, followers=5000),
    )
    assert (events["1003"].kind, events["1003"].parent_id) == ("reply", "1002")
    share, like = events["notification:2001"], events["notification:2002"]
    assert (share.kind, share.parent_id, share.author, share.time) == (
        "share",
        "1002",
        fan,
        datetime(2026, 11, 25, 10, tzinfo=UTC),
    )
    assert (like.kind, like.parent_id) == ("reaction", "1002")
    (followers,) = [e for e in events.values() if e.kind == "follower_count"]
    assert followers.metrics == {"followers": 5000} and followers.id.startswith("followers:1:")

    (refused, path, _), *later = fake.requests
    retried = next(moment for moment, again, _ in later if again == path)
    assert retried - refused >= 1.5, "X-RateLimit-Reset (ISO 8601, 2 s ahead) is honoured"
    notes = [query for _, p, query in fake.requests if p == "/api/v1/notifications"]
    assert "types%5B%5D=mention" in notes[0] and "types%5B%5D=reblog" in notes[0]
    assert all(p.startswith("/api/v1/") and "streaming" not in p for _, p, _ in fake.requests)


def test_a_dropped_stream_is_caught_up_over_rest_with_no_gap_and_no_duplicate(
    isolated: StackEnv, tmp_path: Path, fake: FakeMastodon
) -> None:
    mastodon = mastodon_env(isolated, tmp_path, fake, full=False)
    fake.add(status(1000, "acme before the start", FAN))
    with mastodon.running(tmp_path / "mastodon.log"):
        assert eventually(lambda: fake.streams_opened, lambda n: n >= 1, timeout=20)
        time.sleep(0.5)
        for n in range(1001, 1011):
            fake.add(status(n, f"acme {n}", FAN))
            time.sleep(0.05)
        got = eventually(mastodon.events, lambda evs: len(evs) >= 10, timeout=10)
        assert {e.id for e in got} >= {str(n) for n in range(1001, 1011)}, "streamed, not polled"
        fake.refuse_streams, fake.drop = 2, True
        for n in range(1011, 1031):
            fake.add(status(n, f"acme {n}", FAN))
            time.sleep(0.05)
        expected = {str(n) for n in range(1000, 1031)}
        eventually(mastodon.events, lambda evs: {e.id for e in evs} >= expected, timeout=15)
        samples = mastodon.metrics()
        assert total(samples, "brandpulse_connector_errors_total", kind="stream_dropped") >= 1
        assert total(samples, "brandpulse_connector_up", connector="mastodon") == 1
    counts = Counter(e.id for e in mastodon.events())
    assert set(counts) == expected and max(counts.values()) == 1, counts
    assert fake.streams_opened >= 2
    log = (tmp_path / "mastodon.log").read_text()
    assert "stream dropped, catching up over REST" in log and "stopped after publishing" in log


def test_sigkill_while_statuses_arrive_leaves_each_on_the_topic_exactly_once(
    isolated: StackEnv, tmp_path: Path, fake: FakeMastodon
) -> None:
    mastodon = mastodon_env(isolated, tmp_path, fake, full=False)
    fake.add(status(1000, "acme first", FAN))
    log = tmp_path / "mastodon.log"
    # A first start reads only the newest page (no backlog): one run sets the cursor first, so
    # that a slow start on a busy machine cannot be killed before it has one.
    with mastodon.running(log):
        eventually(mastodon.events, bool, timeout=30)
    kill_repeatedly(
        lambda: mastodon.start(log),
        4,
        (1.5, 3.0),
        lambda n: fake.add(status(1001 + n, f"acme {1001 + n}", FAN)),
    )

    expected = {item["id"] for item in fake.tag}
    with mastodon.running(log):
        eventually(mastodon.events, lambda evs: {e.id for e in evs} >= expected, timeout=30)
    assert_exactly_once(Counter(e.id for e in mastodon.events()), expected, log)
    print(f"{len(expected)} statuses; streams opened: {fake.streams_opened}")


def test_missing_token_or_instance_exits_2_naming_it(
    isolated: StackEnv, tmp_path: Path, fake: FakeMastodon
) -> None:
    no_token = mastodon_env(isolated, tmp_path, fake, full=True, token="").once()
    assert no_token.returncode == 2
    assert "MASTODON_ACCESS_TOKEN is not set" in no_token.stderr and TOKEN not in no_token.stderr
    no_instance = brandpulse(isolated, "mastodon", "--once")
    assert no_instance.returncode == 2 and "no Mastodon instance" in no_instance.stderr
    assert fake.requests == []
