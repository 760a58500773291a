"""A local Reddit for tests: the OAuth2 token endpoint and the listing endpoints, as Reddit
documents and serves them.

The token endpoint checks HTTP Basic auth (client id and secret) and the grant; tokens expire
after ``token_lifetime`` and can be revoked. Listings are ``Listing`` objects of ``t3``/``t1``
things, newest first, paged with ``after``/``before`` like Reddit (``data.after`` names the
last item when older ones exist, ``data.before`` the first when newer ones exist; an unknown
anchor gives an empty page). Every API response carries ``X-Ratelimit-Used``,
``X-Ratelimit-Remaining`` (a decimal) and ``X-Ratelimit-Reset`` (seconds), and failures can be
scripted: 429s, a spent budget, 500s and connections dropped halfway through a body.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

from tests.integration.harness import FakeHandler, serving

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC).timestamp()
WINDOW = 600
"""Requests per window, like Reddit's 600 per 10 minutes for an OAuth client."""


@dataclass
class Request:
    at: float
    """``time.monotonic()`` when it arrived."""
    method: str
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]


@dataclass
class FakeReddit:
    url: str = ""
    things: list[dict[str, Any]] = field(default_factory=list)
    """Every post and comment, oldest first, as ``{"kind": ..., "data": ...}``."""
    subscribers: dict[str, int] = field(default_factory=dict)
    token_lifetime: float = 3600.0
    tokens: dict[str, float] = field(default_factory=dict)
    """Valid tokens and when (monotonic) each expires."""
    grants: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    limited: int = 0
    """The next so many API requests get 429 with a spent budget."""
    spent: int = 0
    """The next so many API answers succeed but say the budget is spent."""
    reset: int = 2
    """``X-Ratelimit-Reset`` of a spent budget, in seconds."""
    failing: int = 0
    """The next so many API requests get 500."""
    dropping: int = 0
    """The next so many API answers are cut off halfway through the body."""
    fault_when: Callable[[dict[str, str]], bool] = lambda query: True
    """Which requests (by query) the scripted 500s and dropped answers hit."""
    visible: int | None = None
    """Listings show only the first so many things (None: all), to publish many at once."""
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, sub: str, author: str, title: str, selftext: str = "", **extra: Any) -> str:
        """Add a self post; returns its fullname."""
        with self.lock:
            n = len(self.things) + 1
            base36 = _base36(n + 100_000)
            data = {
                "id": base36,
                "name": f"t3_{base36}",
                "title": title,
                "selftext": selftext,
                "author": author,
                "author_fullname": f"t2_{author.lower()}",
                "subreddit": sub,
                "subreddit_name_prefixed": f"r/{sub}",
                "created_utc": T0 + n,
                "created": T0 + n,
                "permalink": f"/r/{sub}/comments/{base36}/{_slug(title)}/",
                "url": f"https://www.reddit.com/r/{sub}/comments/{base36}/",
                "score": 3,
                "ups": 3,
                "num_comments": 0,
                "over_18": False,
                "is_self": True,
                "stickied": False,
                **extra,
            }
            self.things.append({"kind": "t3", "data": data})
            return str(data["name"])

    def comment(self, parent: str, author: str, body: str, **extra: Any) -> str:
        """Add a comment answering ``parent`` (a post's or a comment's fullname)."""
        with self.lock:
            n = len(self.things) + 1
            base36 = _base36(n + 500_000)
            above = next(t["data"] for t in self.things if t["data"]["name"] == parent)
            post = above if parent.startswith("t3_") else self._by_name(above["link_id"])
            data = {
                "id": base36,
                "name": f"t1_{base36}",
                "body": body,
                "author": author,
                "author_fullname": f"t2_{author.lower()}",
                "link_id": post["name"],
                "parent_id": parent,
                "link_author": post["author"],
                "link_title": post["title"],
                "subreddit": post["subreddit"],
                "created_utc": T0 + n,
                "created": T0 + n,
                "permalink": f"{post['permalink']}{base36}/",
                "score": 1,
                "ups": 1,
                "replies": "",
                "stickied": False,
                **extra,
            }
            post["num_comments"] += 1
            self.things.append({"kind": "t1", "data": data})
            return str(data["name"])

    def _by_name(self, name: str) -> dict[str, Any]:
        return next(t["data"] for t in self.things if t["data"]["name"] == name)

    def data(self, name: str) -> dict[str, Any]:
        with self.lock:
            return self._by_name(name)

    def api_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path != "/api/v1/access_token"]

    def select(self, path: str, query: dict[str, str]) -> list[dict[str, Any]] | None:
        """The things a listing path serves, oldest first; None for an unknown path."""
        parts = path.strip("/").split("/")
        if parts == ["search"]:
            return self._search(None, query)
        if len(parts) != 3 or parts[0] != "r":
            return None
        subs = {s.lower() for s in parts[1].split("+")}
        if parts[2] == "search":
            return self._search(
                subs if query.get("restrict_sr") in ("1", "true", "on") else None, query
            )
        kind = {"new": "t3", "comments": "t1"}.get(parts[2])
        if kind is None:
            return None
        with self.lock:
            return [
                t
                for t in self.things[: self.visible]
                if t["kind"] == kind and t["data"]["subreddit"].lower() in subs
            ]

    def _search(self, subs: set[str] | None, query: dict[str, str]) -> list[dict[str, Any]]:
        term = query.get("q", "").lower()
        with self.lock:
            return [
                t
                for t in self.things[: self.visible]
                if t["kind"] == "t3"
                and (subs is None or t["data"]["subreddit"].lower() in subs)
                and term in f"{t['data']['title']} {t['data']['selftext']}".lower()
            ]

    def budget(self, spent: bool) -> dict[str, str]:
        with self.lock:
            self.used += 1
            remaining = 0 if spent else max(0, WINDOW - self.used)
            reset = self.reset if spent else WINDOW - int(time.time()) % WINDOW
        return {
            "X-Ratelimit-Used": str(self.used),
            "X-Ratelimit-Remaining": f"{remaining:.1f}",
            "X-Ratelimit-Reset": str(reset),
        }


def listing(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """One page of ``items`` (oldest first) the way Reddit pages: newest first, ``limit`` at
    most 100, ``after`` pages older and ``before`` newer than the named item."""
    newest_first = list(reversed(items))
    names = [t["data"]["name"] for t in newest_first]
    limit = max(1, min(100, int(query.get("limit", "25"))))
    if "after" in query:
        start = names.index(query["after"]) + 1 if query["after"] in names else len(names)
        end = min(len(names), start + limit)
    elif "before" in query:
        end = names.index(query["before"]) if query["before"] in names else 0
        start = max(0, end - limit)
    else:
        start, end = 0, min(len(names), limit)
    page = newest_first[start:end]
    return {
        "kind": "Listing",
        "data": {
            "after": names[end - 1] if page and end < len(names) else None,
            "before": names[start] if page and start > 0 else None,
            "dist": len(page),
            "modhash": None,
            "geo_filter": "",
            "children": page,
        },
    }


@contextmanager
def fake_reddit() -> Iterator[FakeReddit]:
    fake = FakeReddit()

    class Handler(FakeHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            form = dict(urllib.parse.parse_qsl(self.request_body().decode()))
            if self.path != "/api/v1/access_token":
                self.answer_json(404, {"message": "Not Found", "error": 404})
                return
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                self._log(401, {})
                self.answer_json(401, {"message": "Unauthorized", "error": 401})
                return
            grant = form.get("grant_type", "")
            fake.grants.append(grant)
            self._log(200, {"grant_type": grant})
            if grant != "client_credentials":
                self.answer_json(200, {"error": "unsupported_grant_type"})
                return
            token = f"token-{len(fake.grants)}"
            fake.tokens[token] = time.monotonic() + fake.token_lifetime
            body = {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(fake.token_lifetime),
                "scope": "*",
            }
            self.answer_json(200, body)

        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            auth = self.headers.get("Authorization", "")
            token = auth[len("bearer ") :] if auth.lower().startswith("bearer ") else ""
            if fake.tokens.get(token, 0.0) <= time.monotonic():
                status, body = 401, {"message": "Unauthorized", "error": 401}
                headers = {"WWW-Authenticate": 'Bearer realm="reddit", error="invalid_token"'}
                self._answer(parts.path, query, status, body, headers)
            elif fake.limited:
                fake.limited -= 1
                body = {"message": "Too Many Requests", "error": 429}
                self._answer(parts.path, query, 429, body, fake.budget(spent=True))
            elif fake.failing and fake.fault_when(query):
                fake.failing -= 1
                body = {"message": "Internal Server Error", "error": 500}
                self._answer(parts.path, query, 500, body, fake.budget(spent=False))
            else:
                self._serve(parts.path, query)

        def _serve(self, path: str, query: dict[str, str]) -> None:
            if path.endswith("/about") and path.count("/") == 3:
                sub = path.split("/")[2]
                data = {"name": f"t5_{sub.lower()}", "display_name": sub}
                data["subscribers"] = fake.subscribers.get(sub, 0)  # type: ignore[assignment]
                body: dict[str, Any] = {"kind": "t5", "data": data}
            elif (items := fake.select(path, query)) is not None:
                body = listing(items, query)
            else:
                body = {"message": "Not Found", "error": 404}
            spent = fake.spent > 0
            fake.spent -= spent
            status = 404 if body.get("error") == 404 else 200
            self._answer(path, query, status, body, fake.budget(spent))

        def _answer(
            self,
            path: str,
            query: dict[str, str],
            status: int,
            body: dict[str, Any],
            headers: dict[str, str],
        ) -> None:
            self._log(status, query, path)
            if status == 200 and fake.dropping and fake.fault_when(query):
                fake.dropping -= 1
                self.answer(200, json.dumps(body).encode(), headers, cut=True)
                return
            self.answer_json(status, body, headers)

        def _log(self, status: int, query: dict[str, str], path: str | None = None) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(
                Request(time.monotonic(), self.command, path or self.path, query, status, headers)
            )

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        fake.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield fake


def _slug(title: str) -> str:
    return re.sub(r"\W+", "_", title.lower()).strip("_")[:40]


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, rest = divmod(n, 36)
        out = digits[rest] + out
    return out or "0"
