"""A local Jetstream (WebSocket) and public AppView (HTTP) speaking the documented protocols.

Jetstream: ``/subscribe?wantedCollections=...&wantedDids=...&cursor=<time_us>``; commit events
are filtered by collection, every kind by DID; with a cursor the stored events with
``time_us >= cursor`` are replayed first, without one only new events are sent. Events and
records are shaped like Jetstream's and the lexicons' documented examples. Failures are
scripted: refused handshakes, a dropped connection. The AppView answers
``app.bsky.actor.getProfile`` like ``public.api.bsky.app``, with scripted 429s.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from tests.integration.harness import FakeHandler, serving

CID = "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi"


def created(moment: datetime) -> str:
    """``createdAt`` as Bluesky clients write it (milliseconds, ``Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def post_uri(did: str, rkey: str) -> str:
    return f"at://{did}/app.bsky.feed.post/{rkey}"


def post_record(
    text: str,
    at: datetime,
    *,
    mention: str | None = None,
    reply_to: str | None = None,
    root: str | None = None,
    langs: tuple[str, ...] = ("en",),
) -> dict[str, Any]:
    """An ``app.bsky.feed.post`` record; ``mention`` adds a mention facet of that DID over the
    first ``@...`` word of the text, ``reply_to`` a reply reference (root: ``root`` or it)."""
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": created(at)}
    record |= {"langs": list(langs), "text": text}
    if mention is not None:
        start = text.encode().index(b"@")
        end = start + len(text.encode()[start:].split(b" ")[0])
        feature = {"$type": "app.bsky.richtext.facet#mention", "did": mention}
        index = {"byteEnd": end, "byteStart": start}
        record["facets"] = [
            {"$type": "app.bsky.richtext.facet", "features": [feature], "index": index}
        ]
    if reply_to is not None:
        record["reply"] = {
            "parent": {"cid": CID, "uri": reply_to},
            "root": {"cid": CID, "uri": root or reply_to},
        }
    return record


def subject_record(collection: str, uri: str, at: datetime) -> dict[str, Any]:
    """An ``app.bsky.feed.like`` or ``app.bsky.feed.repost`` record of the post at ``uri``."""
    return {"$type": collection, "createdAt": created(at), "subject": {"cid": CID, "uri": uri}}


def follow_record(did: str, at: datetime) -> dict[str, Any]:
    return {"$type": "app.bsky.graph.follow", "createdAt": created(at), "subject": did}


@dataclass
class FakeJetstream:
    url: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, list[str]]] = field(default_factory=list)
    """The query of every accepted subscription, in order."""
    refuse: int = 0
    """How many next handshakes get 503."""
    drop: bool = False
    """Close the open connections once, before sending what is pending."""
    sent: list[tuple[int, int]] = field(default_factory=list)
    """(connection number, time_us) of every message sent."""
    changed: threading.Condition = field(default_factory=threading.Condition)
    closed: bool = False

    def add_commit(
        self,
        did: str,
        collection: str,
        rkey: str,
        record: dict[str, Any] | None = None,
        operation: str = "create",
    ) -> dict[str, Any]:
        commit: dict[str, Any] = {"rev": "3l3qo2vutsw2b", "operation": operation}
        commit |= {"collection": collection, "rkey": rkey}
        if record is not None:
            commit |= {"record": record, "cid": CID}
        return self.add({"did": did, "kind": "commit", "commit": commit})

    def add(self, event: dict[str, Any]) -> dict[str, Any]:
        """Store ``event`` with the next ``time_us`` (the wall clock, strictly increasing)."""
        with self.changed:
            newest = self.events[-1]["time_us"] if self.events else 0
            event = {
                "did": event["did"],
                "time_us": max(time.time_ns() // 1000, newest + 1),
            } | event
            self.events.append(event)
            self.changed.notify_all()
        return event

    def wanted(self, event: dict[str, Any], query: dict[str, list[str]]) -> bool:
        """Jetstream's filters: ``wantedCollections`` applies to commits, ``wantedDids`` to all."""
        dids, collections = query.get("wantedDids"), query.get("wantedCollections")
        if dids and event["did"] not in dids:
            return False
        return (
            event["kind"] != "commit"
            or not collections
            or event["commit"]["collection"] in collections
        )

    def start_index(self, query: dict[str, list[str]]) -> int:
        with self.changed:
            if "cursor" not in query:
                return len(self.events)
            cursor = int(query["cursor"][0])
            return next(
                (n for n, e in enumerate(self.events) if e["time_us"] >= cursor), len(self.events)
            )

    def serve_connection(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(connection.request.path).query)
        with self.changed:
            self.subscriptions.append(query)
            number = len(self.subscriptions)
        position = self.start_index(query)
        while not self.closed:
            with self.changed:
                if position == len(self.events) and not self.drop:
                    self.changed.wait(0.3)
                pending, position = self.events[position:], len(self.events)
                dropped, self.drop = self.drop, False
            if dropped:
                connection.close(1011, "jetstream is restarting")
                return
            try:
                for event in pending:
                    if self.wanted(event, query):
                        connection.send(json.dumps(event))
                        self.sent.append((number, event["time_us"]))
            except ConnectionClosed:
                return

    def handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0] != "/subscribe":
            return connection.respond(404, "not found\n")
        if self.refuse:
            self.refuse -= 1
            return connection.respond(503, "jetstream is down\n")
        return None


@contextmanager
def fake_jetstream() -> Iterator[FakeJetstream]:
    fake = FakeJetstream()
    server: Server = serve(
        fake.serve_connection, "127.0.0.1", 0, process_request=fake.handshake, compression=None
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/subscribe"
    try:
        yield fake
    finally:
        fake.closed = True
        server.shutdown()


@dataclass
class FakeAppView:
    url: str = ""
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    limited: int = 0
    """How many next requests get 429 with an exhausted quota resetting in 2 s."""
    requests: list[tuple[float, str]] = field(default_factory=list)
    """(monotonic time, actor) of every request."""

    def add_profile(self, did: str, handle: str, followers: int) -> None:
        """A ``ProfileViewDetailed`` as getProfile returns it (extra fields to be ignored)."""
        self.profiles[did] = {
            "did": did,
            "handle": handle,
            "displayName": handle.split(".", maxsplit=1)[0].title(),
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/{CID}@jpeg",
            "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
            "labels": [],
            "createdAt": "2023-04-12T09:00:00.000Z",
            "description": "Official account",
            "indexedAt": "2024-01-20T05:32:07.963Z",
            "followersCount": followers,
            "followsCount": 12,
            "postsCount": 345,
        }


@contextmanager
def fake_appview() -> Iterator[FakeAppView]:
    fake = FakeAppView()

    class Handler(FakeHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            actor = urllib.parse.parse_qs(parts.query).get("actor", [""])[0]
            fake.requests.append((time.monotonic(), actor))
            if parts.path != "/xrpc/app.bsky.actor.getProfile":
                self.answer_json(404, {"error": "XRPCNotSupported", "message": "XRPCNotSupported"})
            elif fake.limited:
                fake.limited -= 1
                headers = {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0"}
                headers |= {
                    "RateLimit-Reset": str(int(time.time()) + 3),
                    "RateLimit-Policy": "3000;w=300",
                }
                self.answer_json(
                    429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers
                )
            elif actor in fake.profiles:
                self.answer_json(200, fake.profiles[actor])
            else:
                self.answer_json(400, {"error": "InvalidRequest", "message": "Profile not found"})

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        fake.url = f"http://127.0.0.1:{server.server_address[1]}/xrpc"
        yield fake
