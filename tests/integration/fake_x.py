"""A local fake of the X API v2 endpoints the connector uses, speaking the documented shapes:
stream rules (GET/POST with ``meta.summary``), the filtered stream (newline-delimited JSON in a
chunked response, ``\\r\\n`` keep-alives), recent search (newest first, ``since_id``,
``next_token``), user lookup by username, bearer auth and ``x-rate-limit-*`` headers."""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

from tests.integration.harness import FakeHandler, serving

TOKEN = "test-bearer-token"
TWITTER_EPOCH_MS = 1_288_834_974_657
_sequence = itertools.count(1)


def snowflake(at: datetime) -> str:
    """A post id as X makes them: milliseconds since X's epoch, shifted left 22 bits, plus a
    sequence number (so ids grow in creation order)."""
    ms = int(at.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((ms << 22) | (next(_sequence) & 0x3FFFFF))


def x_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user(id: str, username: str, followers: int = 10) -> dict[str, Any]:
    return {
        "id": id,
        "name": username.title(),
        "username": username,
        "public_metrics": {
            "followers_count": followers,
            "following_count": 3,
            "tweet_count": 120,
            "listed_count": 1,
            "like_count": 7,
        },
    }


def post(
    text: str,
    author: dict[str, Any],
    *,
    at: datetime | None = None,
    replying_to: dict[str, Any] | None = None,
    referencing: tuple[str, dict[str, Any]] | None = None,
    lang: str = "en",
) -> dict[str, Any]:
    """A stream or search item without ``matching_rules``: ``data`` (a Post with the fields the
    connector asks for) and ``includes`` (its author, the posts it references)."""
    at = at or datetime.now(UTC)
    id = snowflake(at)
    data: dict[str, Any] = {
        "id": id,
        "text": text,
        "edit_history_tweet_ids": [id],
        "created_at": x_time(at),
        "author_id": author["id"],
        "conversation_id": id,
        "lang": lang,
        "public_metrics": {
            "retweet_count": 2,
            "reply_count": 1,
            "like_count": 5,
            "quote_count": 1,
            "bookmark_count": 0,
            "impression_count": 80,
        },
        "entities": {"mentions": [{"start": 0, "end": 5, "username": "acme", "id": "1"}]},
    }
    includes: dict[str, Any] = {"users": [author], "tweets": []}
    references = []
    if replying_to is not None:
        parent = replying_to["data"]
        data["conversation_id"] = parent["conversation_id"]
        data["in_reply_to_user_id"] = parent["author_id"]
        references.append({"type": "replied_to", "id": parent["id"]})
        includes["tweets"].append(parent)
    if referencing is not None:
        kind, other = referencing
        references.append({"type": kind, "id": other["data"]["id"]})
        includes["tweets"].append(other["data"])
    if references:
        data["referenced_tweets"] = references
    return {"data": data, "includes": includes}


@dataclass
class Request:
    at: float
    """``time.monotonic()`` when it arrived."""
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = None


@dataclass
class FakeX:
    url: str = ""
    rules: list[dict[str, str]] = field(default_factory=list)
    searches: dict[str, str] = field(default_factory=dict)
    """Search query -> the tag of the posts it finds (the fake's whole query language)."""
    posts: list[tuple[dict[str, Any], frozenset[str]]] = field(default_factory=list)
    """Each post with the brand tags whose rules it matches."""
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    stream_limited: int = 0
    """How many next stream connections get 429, with a reset 2-3 s ahead."""
    refuse_streams: int = 0
    """How many next stream connections get 503."""
    drop: bool = False
    """End the open stream once (a clean close of the chunked response)."""
    stall: bool = False
    """The open stream goes silent (no posts, no keep-alives) until a new one opens."""
    keepalive: float = 0.5
    streams_opened: int = 0
    requests: list[Request] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    closed: bool = False
    _rule_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1_600_000_000))

    def add(self, item: dict[str, Any], *tags: str) -> dict[str, Any]:
        with self.changed:
            self.posts.append((item, frozenset(tags)))
            self.changed.notify_all()
        return item

    def made(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def rule(self, value: str, tag: str) -> dict[str, str]:
        return {"id": str(next(self._rule_ids)), "value": value, "tag": tag}

    def matching(self, tags: frozenset[str]) -> list[dict[str, str]]:
        return [{"id": r["id"], "tag": r["tag"]} for r in self.rules if r["tag"] in tags]

    def search(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        tag = self.searches.get(query.get("query", [""])[0])
        if tag is None:
            return 400, _problem("Invalid Request", "One or more parameters are invalid.")
        limit = int(query.get("max_results", ["10"])[0])
        since = int(query.get("since_id", ["0"])[0])
        week_ago = datetime.now(UTC) - timedelta(days=7)
        if since and since < (int(week_ago.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22:
            return 400, _problem(
                "Invalid Request",
                f"Invalid 'since_id':'{since}'. 'since_id' must be a tweet id created after "
                f"{x_time(week_ago)}.",
            )
        start = int(query.get("next_token", ["0"])[0])
        with self.changed:
            found = [p for p, tags in self.posts if tag in tags and int(p["data"]["id"]) > since]
        found.reverse()  # newest first
        page = found[start : start + limit]
        if not page:
            return 200, {"meta": {"result_count": 0}}
        meta: dict[str, Any] = {
            "newest_id": page[0]["data"]["id"],
            "oldest_id": page[-1]["data"]["id"],
            "result_count": len(page),
        }
        if start + limit < len(found):
            meta["next_token"] = str(start + limit)
        return 200, {
            "data": [p["data"] for p in page],
            "includes": _merged([p["includes"] for p in page]),
            "meta": meta,
        }

    def change_rules(self, body: dict[str, Any]) -> dict[str, Any]:
        sent = x_time(datetime.now(UTC))
        with self.changed:
            if "delete" in body:
                ids = set(body["delete"]["ids"])
                known = {r["id"] for r in self.rules} & ids
                self.rules = [r for r in self.rules if r["id"] not in ids]
                summary = {"deleted": len(known), "not_deleted": len(ids - known)}
                return {"meta": {"sent": sent, "summary": summary}}
            created, errors = [], []
            for wanted in body["add"]:
                twin = next((r for r in self.rules if r["value"] == wanted["value"]), None)
                if twin is not None:
                    errors.append({"value": wanted["value"], "id": twin["id"], "title": "DuplicateRule", "type": "https://api.twitter.com/2/problems/duplicate-rules"})  # fmt: skip
                    continue
                rule = self.rule(wanted["value"], wanted.get("tag", ""))
                self.rules.append(rule)
                created.append(rule)
        summary = {"created": len(created), "not_created": len(errors)}
        summary |= {"valid": len(created), "invalid": 0}
        answer: dict[str, Any] = {"meta": {"sent": sent, "summary": summary}}
        if created:
            answer["data"] = [
                {"value": r["value"], "tag": r["tag"], "id": r["id"]} for r in created
            ]
        if errors:
            answer["errors"] = errors
        return answer


def _problem(title: str, detail: str, status: int = 400) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status}


def _merged(includes: list[dict[str, Any]]) -> dict[str, Any]:
    users = {u["id"]: u for i in includes for u in i["users"]}
    tweets = {t["id"]: t for i in includes for t in i["tweets"]}
    merged: dict[str, Any] = {"users": list(users.values())}
    if tweets:
        merged["tweets"] = list(tweets.values())
    return merged


def _quota(remaining: int = 449) -> dict[str, str]:
    reset = math.ceil(time.time()) + 900
    return {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(reset),
    }


@contextmanager
def fake_x() -> Iterator[FakeX]:
    fake = FakeX()

    class Handler(FakeHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._handle("GET", None)

        def do_POST(self) -> None:
            self._handle("POST", json.loads(self.request_body() or b"null"))

        def _handle(self, method: str, body: Any) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            fake.requests.append(Request(time.monotonic(), method, parts.path, query, body))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._json(401, _problem("Unauthorized", "Unauthorized", 401))
            elif parts.path == "/2/tweets/search/stream" and method == "GET":
                self._stream()
            elif parts.path == "/2/tweets/search/stream/rules":
                self._rules(method, body)
            elif parts.path == "/2/tweets/search/recent":
                self._json(*fake.search(query))
            elif parts.path.startswith("/2/users/by/username/"):
                name = urllib.parse.unquote(parts.path.rsplit("/", 1)[1])
                found = fake.users.get(name.lower())
                missing = _problem("Not Found Error", f"Could not find user with username: [{name}].")  # fmt: skip
                self._json(200, {"data": found} if found else {"errors": [missing]})
            else:
                self._json(404, _problem("Not Found", "no such endpoint", 404))

        def _rules(self, method: str, body: Any) -> None:
            if method == "POST":
                self._json(200, fake.change_rules(body))
                return
            with fake.changed:
                rules = [dict(r) for r in fake.rules]
            meta = {"sent": x_time(datetime.now(UTC)), "result_count": len(rules)}
            self._json(200, {"data": rules, "meta": meta} if rules else {"meta": meta})

        def _json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
            every = {**_quota(), **(headers or {}), "Content-Type": "application/json"}
            self.answer_json(code, body, every)

        def _stream(self) -> None:
            if fake.stream_limited:
                fake.stream_limited -= 1
                reset = {"x-rate-limit-remaining": "0"}
                reset["x-rate-limit-reset"] = str(math.ceil(time.time()) + 2)
                self._json(429, _problem("Too Many Requests", "Too Many Requests", 429), reset)
                return
            if fake.refuse_streams:
                fake.refuse_streams -= 1
                self._json(503, _problem("Service Unavailable", "Service Unavailable", 503))
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            with fake.changed:
                sent = len(fake.posts)
                fake.streams_opened += 1
                generation = fake.streams_opened
                fake.stall = False
            self.close_connection = True
            try:
                self._follow(generation, sent)
            except (BrokenPipeError, ConnectionResetError):
                return  # the connector went away

        def _follow(self, generation: int, sent: int) -> None:
            while not fake.closed and fake.streams_opened == generation:
                with fake.changed:
                    fake.changed.wait(fake.keepalive)
                    new, sent = fake.posts[sent:], len(fake.posts)
                    dropped, fake.drop = fake.drop, False
                    stalled = fake.stall
                if dropped:
                    self._chunk(b"")
                    return
                if stalled:
                    continue
                lines = [
                    json.dumps(item | {"matching_rules": fake.matching(tags)}) + "\r\n"
                    for item, tags in new
                    if fake.matching(tags)
                ]
                self._chunk(("".join(lines) or "\r\n").encode())

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        fake.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield fake
        finally:
            fake.closed = True
