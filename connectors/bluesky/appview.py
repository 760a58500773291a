"""The public AppView's ``app.bsky.actor.getProfile``: where follower counts come from.

No credentials: the public AppView answers unauthenticated reads. Every failure becomes a
``SourceError``; a 429 (or an exhausted ``RateLimit-Remaining``) carries the wait the server
asked for (``Retry-After``, or ``RateLimit-Reset`` as a Unix time), which the source honours.
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from typing import Final

import msgspec

from connectors.bluesky.mapping import Profile
from connectors.runtime import (
    HTTP_FAILURES,
    SourceError,
    http_failure,
    rate_limit_wait,
    read_body,
    redact_url,
)

MAX_BODY_BYTES: Final = 1024 * 1024
USER_AGENT: Final = "brandpulse-bluesky/0.1"


class AppView:
    def __init__(self, base: str, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout

    def profile(self, actor: str) -> tuple[Profile, float | None]:
        """The actor's profile and the seconds the rate limit asks to pause (if it does)."""
        query = urllib.parse.urlencode({"actor": actor})
        url = f"{self.base}/app.bsky.actor.getProfile?{query}"
        where = redact_url(url)
        request = urllib.request.Request(
            url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = read_body(response, where, MAX_BODY_BYTES)
                wait = rate_limit_wait(response.headers, time.time())
        except HTTP_FAILURES as exc:
            raise http_failure(exc, where, self.timeout) from None
        try:
            return msgspec.json.decode(body, type=Profile), wait
        except msgspec.DecodeError as exc:
            raise SourceError("parse", f"{where}: unexpected answer: {exc}") from None
