"""How a failed HTTP request to a platform becomes a ``SourceError``, the same for every source.

The ``kind`` labels ``brandpulse_connector_errors_total``; ``wait`` is what the server asked
for (``Retry-After``, or an exhausted ``X-RateLimit-*`` quota), which the source's backoff
honours before its own schedule.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
from typing import Final

from connectors.runtime.retry import rate_limit_wait

HTTP_FAILURES: Final = (urllib.error.URLError, http.client.HTTPException, OSError)
"""What ``urlopen`` and reading its response raise (HTTPError and TimeoutError included)."""
_KINDS: Final = {429: "rate_limited", 401: "auth", 403: "auth"}


class SourceError(Exception):
    def __init__(self, kind: str, detail: str, wait: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.wait = wait


def http_failure(exc: BaseException, where: str, timeout: float) -> SourceError:
    """The ``SourceError`` for one of ``HTTP_FAILURES`` raised while requesting ``where``
    (a URL already stripped of credentials)."""
    if isinstance(exc, urllib.error.HTTPError):
        wait = rate_limit_wait(exc.headers, time.time())
        kind = _KINDS.get(exc.code, "http")
        return SourceError(kind, f"{where}: HTTP {exc.code} {exc.reason}", wait)
    if isinstance(exc, TimeoutError):
        return SourceError("timeout", f"{where}: no answer within {timeout} s")
    return SourceError("connection", f"{where}: connection failed: {exc!r}")


def read_body(response: http.client.HTTPResponse, where: str, limit: int) -> bytes:
    """The whole body of ``response``, at most ``limit`` bytes.

    ``read(n)`` returns a short body instead of raising when the server hangs up, so a body
    shorter than its ``Content-Length`` is a dropped ``connection``; a read that stalls past the
    socket timeout is a ``timeout``, another failed read a ``connection``, a larger body
    ``too_large``.
    """
    try:
        body = response.read(limit + 1)
    except TimeoutError:
        raise SourceError("timeout", f"{where}: the answer stalled") from None
    except HTTP_FAILURES as exc:
        raise SourceError("connection", f"{where}: reading the answer failed: {exc!r}") from None
    if len(body) > limit:
        raise SourceError("too_large", f"{where}: answer larger than {limit} bytes")
    expected = response.headers.get("Content-Length", "")
    if expected.isdigit() and len(body) < int(expected):
        raise SourceError(
            "connection", f"{where}: connection dropped after {len(body)} of {expected} bytes"
        )
    return body
