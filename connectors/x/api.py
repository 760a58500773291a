"""HTTP against the X API v2: bearer-authenticated JSON GETs and POSTs, and the opening of the
filtered stream.

Every failure becomes a ``SourceError``. X announces its quotas in ``x-rate-limit-*`` headers
(not the ``X-RateLimit-*`` spelling the shared helper knows), ``x-rate-limit-reset`` being a Unix
time in seconds; a 429, or an answer that used up the quota, waits until then.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from connectors.runtime import HTTP_FAILURES, SourceError, http_failure, read_body, redact_url
from connectors.runtime.retry import Headers

MAX_BODY_BYTES: Final = 8 * 1024 * 1024
MAX_ERROR_BYTES: Final = 4096
USER_AGENT: Final = "brandpulse-x/0.1"


@dataclass(frozen=True)
class Answer:
    body: bytes
    wait: float | None
    """Seconds until the quota resets when this answer used it up; None otherwise."""


def x_rate_limit_wait(headers: Headers, now: float, *, limited: bool = False) -> float | None:
    """Seconds until ``x-rate-limit-reset`` (a Unix time) when the quota is exhausted (or the
    request was refused with 429: ``limited``); None when there is nothing to wait for."""
    remaining, reset = headers.get("x-rate-limit-remaining"), headers.get("x-rate-limit-reset")
    if reset is None or not (limited or (remaining or "").strip() == "0"):
        return None
    try:
        return max(0.0, float(reset) - now)
    except ValueError:
        return None


class XApi:
    """One API host and one app-only bearer token."""

    def __init__(self, base: str, token: str, timeout: float) -> None:
        self.base = base.rstrip("/")
        self._token = token
        self.timeout = timeout

    def get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Answer:
        return self._read(self._open(path, params, None, self.timeout), path)

    def post(self, path: str, payload: object) -> Answer:
        return self._read(self._open(path, (), json.dumps(payload).encode(), self.timeout), path)

    def stream(
        self, path: str, params: Sequence[tuple[str, str]], timeout: float
    ) -> http.client.HTTPResponse:
        """The open stream; a read silent for ``timeout`` raises ``TimeoutError``."""
        return self._open(path, params, None, timeout)

    def _read(self, response: http.client.HTTPResponse, path: str) -> Answer:
        with response:
            body = read_body(response, path, MAX_BODY_BYTES)
            return Answer(body, x_rate_limit_wait(response.headers, time.time()))

    def _open(
        self, path: str, params: Sequence[tuple[str, str]], data: bytes | None, timeout: float
    ) -> http.client.HTTPResponse:
        query = urllib.parse.urlencode(list(params))
        url = f"{self.base}{path}" + (f"?{query}" if query else "")
        headers = {"Authorization": f"Bearer {self._token}", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=timeout)
        except HTTP_FAILURES as exc:
            raise _failure(exc, redact_url(url), timeout) from None
        return response


def _failure(exc: BaseException, where: str, timeout: float) -> SourceError:
    """``http_failure``, with X's own rate-limit headers and the problem X names in the body
    (``{"title": ..., "detail": ...}``) added to the message."""
    error = http_failure(exc, where, timeout)
    if isinstance(exc, urllib.error.HTTPError):
        limited = exc.code == 429
        wait = x_rate_limit_wait(exc.headers, time.time(), limited=limited)
        error.wait = wait if wait is not None else error.wait
        if problem := _problem(exc):
            error = SourceError(error.kind, f"{error.detail}: {problem}", error.wait)
    return error


def _problem(exc: urllib.error.HTTPError) -> str:
    try:
        document = json.loads(exc.read(MAX_ERROR_BYTES))
    except (OSError, ValueError, http.client.HTTPException):
        return ""
    if not isinstance(document, dict):
        return ""
    parts = [document.get("title"), document.get("detail")]
    return " - ".join(str(p) for p in parts if p)
