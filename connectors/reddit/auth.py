"""OAuth2 access tokens for the Reddit API: app-only (``client_credentials``) or, with a
username and password, the ``password`` grant of a script app.

The token is requested from the token endpoint with HTTP Basic auth (the app's client id and
secret), cached, and requested again shortly before ``expires_in`` runs out, or at once when
the API answers 401 (``invalidate``). No token or secret ever reaches a log line.
"""

from __future__ import annotations

import base64
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import msgspec

from connectors.runtime import HTTP_FAILURES, SourceError, http_failure, redact_url

REFRESH_MARGIN: Final = 60.0
"""Seconds before expiry at which a token is replaced (at most a tenth of its lifetime)."""
MAX_TOKEN_BYTES: Final = 64 * 1024
log = logging.getLogger("brandpulse.reddit")


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str = field(repr=False)
    username: str = ""
    password: str = field(default="", repr=False)

    def grant(self) -> list[tuple[str, str]]:
        """The form fields of the token request: the password grant when a user is given."""
        if self.username and self.password:
            return [
                ("grant_type", "password"),
                ("username", self.username),
                ("password", self.password),
            ]
        return [("grant_type", "client_credentials")]

    def basic(self) -> str:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


class TokenAnswer(msgspec.Struct, frozen=True):
    """The token endpoint's JSON; a refused grant comes back as 200 with ``error`` set."""

    access_token: str = ""
    token_type: str = "bearer"
    expires_in: float = 3600.0
    error: str = ""


class Tokens:
    """The current access token, fetched when missing, expiring or invalidated."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        user_agent: str,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._credentials = credentials
        self._user_agent = user_agent
        self._timeout = timeout
        self._clock = clock
        self._token = ""
        self._renew_at = 0.0
        self.fetched = 0
        """Tokens obtained so far (the log and tests read it)."""

    def bearer(self) -> str:
        if not self._token or self._clock() >= self._renew_at:
            self._fetch()
        return self._token

    def invalidate(self) -> None:
        self._token = ""

    def _fetch(self) -> None:
        data = urllib.parse.urlencode(self._credentials.grant()).encode()
        request = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Authorization": self._credentials.basic(),
                "User-Agent": self._user_agent,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        where = redact_url(self.url)
        started = self._clock()
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                body = response.read(MAX_TOKEN_BYTES)
        except urllib.error.HTTPError as exc:
            failure = http_failure(exc, where, self._timeout)
            if exc.code == 401:
                failure.detail += " (check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET)"
            raise SourceError("auth", failure.detail, failure.wait) from None
        except HTTP_FAILURES as exc:
            raise http_failure(exc, where, self._timeout) from None
        answer = _decode(body, where)
        self._token = answer.access_token
        lifetime = max(0.0, answer.expires_in)
        self._renew_at = started + lifetime - min(REFRESH_MARGIN, lifetime / 10)
        self.fetched += 1
        log.info(
            "new access token (%s grant), valid for %.0f s",
            self._credentials.grant()[0][1],
            lifetime,
        )


def _decode(body: bytes, where: str) -> TokenAnswer:
    try:
        answer = msgspec.json.decode(body, type=TokenAnswer)
    except msgspec.DecodeError as exc:
        raise SourceError("auth", f"{where}: unexpected token answer: {exc}") from None
    if answer.error or not answer.access_token:
        reason = answer.error or "no access_token"
        raise SourceError("auth", f"{where}: token refused: {reason}")
    return answer
