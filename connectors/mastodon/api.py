"""HTTP against a Mastodon instance: authenticated JSON GETs and the opening of a stream.

Every failure becomes an ``SourceError`` whose ``kind`` labels the error metric and whose ``wait``
is what the server asked for (``Retry-After`` or an exhausted ``X-RateLimit-*`` quota).
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Final

from connectors.runtime import HTTP_FAILURES, http_failure, rate_limit_wait, read_body, redact_url

MAX_BODY_BYTES: Final = 8 * 1024 * 1024
USER_AGENT: Final = "brandpulse-mastodon/0.1"


class Api:
    """One instance and one token; ``base`` is the instance URL, ``streaming`` where streams
    are served (the same host unless the instance says otherwise)."""

    def __init__(self, base: str, streaming: str, token: str, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.streaming = (streaming or base).rstrip("/")
        self._token = token
        self.timeout = timeout

    def get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> tuple[bytes, float | None]:
        """The body of a GET and the seconds the rate limit asks to pause (if it does)."""
        with self._open(self.base, path, params, self.timeout) as response:
            body = read_body(response, path, MAX_BODY_BYTES)
            return body, rate_limit_wait(response.headers, time.time())

    def stream(
        self, path: str, params: Sequence[tuple[str, str]], timeout: float
    ) -> http.client.HTTPResponse:
        """An open ``text/event-stream`` response; a read silent for ``timeout`` raises."""
        return self._open(self.streaming, path, params, timeout)

    def _open(
        self, base: str, path: str, params: Sequence[tuple[str, str]], timeout: float
    ) -> http.client.HTTPResponse:
        query = urllib.parse.urlencode(list(params))
        url = f"{base}{path}" + (f"?{query}" if query else "")
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {self._token}", "User-Agent": USER_AGENT}
        )
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=timeout)
        except HTTP_FAILURES as exc:
            raise http_failure(exc, redact_url(url), timeout) from None
        return response
