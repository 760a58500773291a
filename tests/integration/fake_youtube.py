"""A local YouTube Data API v3: ``commentThreads``, ``comments`` and ``channels`` list calls
answered with resources shaped like the API reference's, the key checked, pages chained with
opaque ``pageToken``s, a project quota that runs out (403 ``quotaExceeded``), and scripted
failures with Google's error bodies."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

from tests.integration.harness import FakeHandler, serving

KEY = "AIzaSy-test-key-0123456789"
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
INLINED_REPLIES = 5
"""Replies a thread carries in its ``replies`` part; more need ``comments.list``."""
COSTS = {"commentThreads": 1, "comments": 1, "channels": 1}


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def error_body(code: int, reason: str, message: str, domain: str = "youtube.api") -> Any:
    """An error answer as Google's APIs give it."""
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }


ERRORS = {
    "quotaExceeded": (
        403,
        "youtube.quota",
        'The request cannot be completed because you have exceeded your <a href="/youtube/v3/'
        'getting-started#quota">quota</a>.',
    ),
    "rateLimitExceeded": (403, "usageLimits", "Rate limit exceeded."),
    "videoNotFound": (
        404,
        "youtube.commentThread",
        'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list#'
        'videoId">videoId</a></code> parameter could not be found.',
    ),
    "keyInvalid": (400, "usageLimits", "API key not valid. Please pass a valid API key."),
    "backendError": (500, "global", "Backend Error"),
}


@dataclass
class Account:
    channel_id: str
    name: str

    def author(self) -> dict[str, Any]:
        return {
            "authorDisplayName": self.name,
            "authorProfileImageUrl": f"https://yt3.ggpht.com/{self.channel_id}=s48",
            "authorChannelUrl": f"http://www.youtube.com/{self.name}",
            "authorChannelId": {"value": self.channel_id},
        }


@dataclass
class Fault:
    """The next request ``matches`` accepts is answered with an error instead."""

    reason: str
    matches: Callable[[str, dict[str, str]], bool] = lambda path, query: True
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    at: float
    path: str
    query: dict[str, str]
    status: int = 200


@dataclass
class FakeYouTube:
    url: str = ""
    videos: dict[str, str] = field(default_factory=dict)
    """Video id -> the channel that uploaded it."""
    threads: list[dict[str, Any]] = field(default_factory=list)
    """Oldest first."""
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    subscribers: dict[str, int] = field(default_factory=dict)
    page_limit: int = 100
    """The most items a page holds (the API may send fewer than ``maxResults``)."""
    quota: int | None = None
    """Units the project has left today; None: unlimited."""
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: int = 0

    def _now(self) -> str:
        self.clock += 1
        return stamp(T0 + timedelta(seconds=self.clock))

    def comment(self, video: str, text: str, by: Account, likes: int = 0) -> str:
        """A new top-level comment (a thread) on ``video``; returns its id."""
        with self.lock:
            thread_id = f"Ugz{len(self.threads):08d}x4AaABAg"
            at = self._now()
            top = {
                "kind": "youtube#comment",
                "etag": f"e{thread_id}",
                "id": thread_id,
                "snippet": {
                    "channelId": self.videos[video],
                    "videoId": video,
                    "textDisplay": text.replace("&", "&amp;"),
                    "textOriginal": text,
                    **by.author(),
                    "canRate": True,
                    "viewerRating": "none",
                    "likeCount": likes,
                    "publishedAt": at,
                    "updatedAt": at,
                },
            }
            self.threads.append(
                {
                    "kind": "youtube#commentThread",
                    "etag": f"t{thread_id}",
                    "id": thread_id,
                    "snippet": {
                        "channelId": self.videos[video],
                        "videoId": video,
                        "topLevelComment": top,
                        "canReply": True,
                        "totalReplyCount": 0,
                        "isPublic": True,
                    },
                }
            )
            self.replies[thread_id] = []
            return thread_id

    def reply(self, thread_id: str, text: str, by: Account) -> str:
        with self.lock:
            thread = next(t for t in self.threads if t["id"] == thread_id)
            replies = self.replies[thread_id]
            reply_id = f"{thread_id}.9r{len(replies):06d}"
            at = self._now()
            replies.append(
                {
                    "kind": "youtube#comment",
                    "etag": f"e{reply_id}",
                    "id": reply_id,
                    "snippet": {
                        "channelId": thread["snippet"]["channelId"],
                        "videoId": thread["snippet"]["videoId"],
                        "textDisplay": text,
                        "textOriginal": text,
                        "parentId": thread_id,
                        **by.author(),
                        "canRate": True,
                        "viewerRating": "none",
                        "likeCount": 0,
                        "publishedAt": at,
                        "updatedAt": at,
                    },
                }
            )
            thread["snippet"]["totalReplyCount"] = len(replies)
            return reply_id

    def ids(self) -> set[str]:
        """Every comment id: top-level and replies."""
        with self.lock:
            return {t["id"] for t in self.threads} | {
                r["id"] for rs in self.replies.values() for r in rs
            }

    def calls(self, path: str = "") -> list[Request]:
        return [r for r in self.requests if r.path.endswith(path)]

    # --- answering -------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        resource = path.rsplit("/", 1)[-1]
        if query.get("key") != KEY:
            return self._error("keyInvalid")
        with self.lock:
            for fault in self.faults:
                if fault.matches(resource, query):
                    self.faults.remove(fault)
                    return self._error(fault.reason, fault.status, fault.headers)
            if self.quota is not None:
                if self.quota < COSTS.get(resource, 1):
                    return self._error("quotaExceeded")
                self.quota -= COSTS.get(resource, 1)
            handlers = {
                "commentThreads": self._threads,
                "comments": self._comments,
                "channels": self._channels,
            }
            if resource not in handlers:
                return 404, error_body(404, "notFound", "Not Found", "global"), {}
            return handlers[resource](query)

    def _error(
        self, reason: str, status: int | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        code, domain, message = ERRORS.get(reason, (status or 400, "global", reason))
        code = status or code
        return code, error_body(code, reason, message, domain), headers or {}

    def _threads(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if "videoId" in query:
            if query["videoId"] not in self.videos:
                return self._error("videoNotFound")
            chosen = [t for t in self.threads if t["snippet"]["videoId"] == query["videoId"]]
        else:
            channel = query["allThreadsRelatedToChannelId"]
            chosen = [t for t in self.threads if t["snippet"]["channelId"] == channel]
        chosen = sorted(
            chosen,
            key=lambda t: t["snippet"]["topLevelComment"]["snippet"]["publishedAt"],
            reverse=True,
        )  # order=time: newest first
        items, token = self._page(chosen, query)
        parts = query.get("part", "").split(",")
        shaped = [self._thread(t, parts) for t in items]
        return 200, self._list("youtube#commentThreadListResponse", shaped, token), {}

    def _thread(self, thread: dict[str, Any], parts: list[str]) -> dict[str, Any]:
        shaped = {k: v for k, v in thread.items() if k != "snippet" or "snippet" in parts}
        replies = self.replies[thread["id"]]
        if "replies" in parts and replies:
            shaped["replies"] = {"comments": replies[:INLINED_REPLIES]}
        copy: dict[str, Any] = json.loads(json.dumps(shaped))  # later replies change the thread
        return copy

    def _comments(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        replies = self.replies.get(query["parentId"], [])
        items, token = self._page(replies, query)
        return 200, self._list("youtube#commentListResponse", items, token), {}

    def _channels(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        items = [
            {
                "kind": "youtube#channel",
                "etag": f"c{channel}",
                "id": channel,
                "statistics": {
                    "viewCount": "123456",
                    "subscriberCount": str(self.subscribers[channel]),
                    "hiddenSubscriberCount": False,
                    "videoCount": str(sum(c == channel for c in self.videos.values())),
                },
            }
            for channel in query["id"].split(",")
            if channel in self.subscribers
        ]
        return 200, self._list("youtube#channelListResponse", items, ""), {}

    def _page(
        self, items: list[dict[str, Any]], query: dict[str, str]
    ) -> tuple[list[dict[str, Any]], str]:
        """One page after the item the token names (a position, not an offset, so items added
        meanwhile at the top do not shift it), and the token of the next page."""
        size = min(int(query.get("maxResults", "20")), self.page_limit)
        start = 0
        if token := query.get("pageToken"):
            after = base64.urlsafe_b64decode(token.encode()).decode()
            start = next(i for i, item in enumerate(items) if item["id"] == after) + 1
        page = items[start : start + size]
        more = start + size < len(items)
        token = base64.urlsafe_b64encode(page[-1]["id"].encode()).decode() if more else ""
        return page, token

    def _list(self, kind: str, items: list[Any], token: str) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind, "etag": "list-etag"}
        if token:
            body["nextPageToken"] = token
        body["pageInfo"] = {"totalResults": len(items), "resultsPerPage": len(items)}
        body["items"] = items
        return body


@contextmanager
def fake_youtube() -> Iterator[FakeYouTube]:
    fake = FakeYouTube()

    class Handler(FakeHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            request = Request(time.monotonic(), parts.path, query)
            status, body, headers = fake.answer(parts.path, query)
            request.status = status
            fake.requests.append(request)
            self.answer_json(status, body, headers)

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        fake.url = f"http://127.0.0.1:{server.server_address[1]}/youtube/v3"
        yield fake
