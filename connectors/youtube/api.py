"""GETs against the YouTube Data API v3, each paid from the quota budget before it is sent.

The API key travels as the ``key`` query parameter, so a URL is only ever logged through
``redact_url``. A failure is a ``SourceError`` whose ``kind`` says what to do about it, read
from Google's error body (``{"error": {"code", "message", "errors": [{"reason", ...}]}}``):

- ``quota_exceeded`` (403 ``quotaExceeded``/``dailyLimitExceeded``): nothing until midnight
  Pacific; also raised, without a call, when the budget cannot pay for one.
- ``rate_limited`` (429, 403 ``rateLimitExceeded``/``userRateLimitExceeded``): back off.
- ``auth`` (401, ``keyInvalid``, ``accessNotConfigured``, ``API_KEY_INVALID``, ...): the key
  or its project is wrong.
- ``unavailable`` (any other 400, 403, 404: ``videoNotFound``, ``commentsDisabled``,
  ``forbidden``): one video or channel cannot be read; that stream backs off, the others carry
  on.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Final

import msgspec

from connectors.runtime import HTTP_FAILURES, SourceError, http_failure, read_body, redact_url
from connectors.youtube.quota import COSTS, QuotaBudget

MAX_BODY_BYTES: Final = 8 * 1024 * 1024
MAX_ERROR_BYTES: Final = 64 * 1024
USER_AGENT: Final = "brandpulse-youtube/0.1"
QUOTA_REASONS: Final = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS: Final = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
AUTH_REASONS: Final = frozenset(
    {"keyInvalid", "keyExpired", "accessNotConfigured", "ipRefererBlocked", "SERVICE_DISABLED"}
)
"""Reasons that say the key (or its project) is wrong, whatever was asked for; so do the
``API_KEY_...`` reasons of the ``details`` Google adds to a 400 ``badRequest``."""


class ErrorDetail(msgspec.Struct, frozen=True):
    reason: str = ""
    domain: str = ""
    message: str = ""


class ErrorInfo(msgspec.Struct, frozen=True):
    reason: str = ""


class ErrorBody(msgspec.Struct, frozen=True):
    code: int = 0
    message: str = ""
    errors: list[ErrorDetail] = []
    details: list[ErrorInfo] = []

    def reason(self) -> str:
        """The most telling reason: a key problem named in ``details``, else the first
        error's."""
        for info in self.details:
            if info.reason.startswith("API_KEY_") or info.reason in AUTH_REASONS:
                return info.reason
        return self.errors[0].reason if self.errors else ""


class ErrorEnvelope(msgspec.Struct, frozen=True):
    error: ErrorBody = ErrorBody()


class ApiError(SourceError):
    """A failed call, with the HTTP status (0: none) and Google's reason (empty: none)."""

    def __init__(
        self, kind: str, detail: str, wait: float | None = None, status: int = 0, reason: str = ""
    ) -> None:
        super().__init__(kind, detail, wait)
        self.status = status
        self.reason = reason


class Api:
    """One API key and one budget; ``base`` is ``https://www.googleapis.com/youtube/v3``."""

    def __init__(self, base: str, key: str, timeout: float, budget: QuotaBudget) -> None:
        self.base = base.rstrip("/")
        self._key = key
        self.timeout = timeout
        self.budget = budget
        self.spent = 0
        """Units this process charged: what a read cost is the difference across it."""

    def get(self, resource: str, params: Sequence[tuple[str, str]]) -> bytes:
        """The body of ``GET {base}/{resource}``; its units are charged first."""
        units = COSTS[resource]
        if not self.budget.charge(units):
            raise ApiError(
                "quota_exceeded",
                f"{resource}.list needs {units} units and the daily budget has "
                f"{self.budget.remaining} of {self.budget.daily} left",
            )
        self.spent += units
        query = urllib.parse.urlencode([*params, ("key", self._key)])
        url = f"{self.base}/{resource}?{query}"
        where = redact_url(url)
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return read_body(response, where, MAX_BODY_BYTES)
        except urllib.error.HTTPError as exc:
            raise self._refused(exc, where) from None
        except HTTP_FAILURES as exc:
            raise http_failure(exc, where, self.timeout) from None

    def _refused(self, exc: urllib.error.HTTPError, where: str) -> ApiError:
        base = http_failure(exc, where, self.timeout)
        try:
            body = msgspec.json.decode(exc.read(MAX_ERROR_BYTES), type=ErrorEnvelope).error
        except (msgspec.DecodeError, *HTTP_FAILURES):
            body = ErrorBody()
        reason = body.reason()
        kind = _kind(exc.code, reason, base.kind)
        if kind == "quota_exceeded":
            self.budget.exhaust()
        detail = f"{base.detail}" + (f" ({reason}: {body.message})" if reason else "")
        return ApiError(kind, detail, base.wait, exc.code, reason)


def _kind(status: int, reason: str, default: str) -> str:
    if reason in QUOTA_REASONS:
        return "quota_exceeded"
    if status == http.HTTPStatus.TOO_MANY_REQUESTS or reason in RATE_REASONS:
        return "rate_limited"
    if (
        status == http.HTTPStatus.UNAUTHORIZED
        or reason in AUTH_REASONS
        or reason.startswith("API_KEY_")
    ):
        return "auth"
    if status in (400, 403, 404):
        return "unavailable"
    return default
