"""Authenticated GETs against ``oauth.reddit.com``: bearer token, user agent, budget.

Every response (errors included) updates the shared ``Quota``. A 401 means the token expired or
was revoked: it is replaced and the request sent once more; a second 401 is an ``auth`` failure.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Final

from connectors.reddit.auth import Tokens
from connectors.reddit.quota import Quota
from connectors.runtime import HTTP_FAILURES, http_failure, read_body, redact_url

MAX_BODY_BYTES: Final = 8 * 1024 * 1024


class Api:
    def __init__(
        self, base: str, tokens: Tokens, quota: Quota, user_agent: str, timeout: float
    ) -> None:
        self.base = base.rstrip("/")
        self.tokens = tokens
        self.quota = quota
        self._user_agent = user_agent
        self._timeout = timeout

    def get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> bytes:
        query = urllib.parse.urlencode(list(params))
        url = f"{self.base}{path}" + (f"?{query}" if query else "")
        for attempt in range(2):
            try:
                return self._get(url, self.tokens.bearer())
            except urllib.error.HTTPError as exc:
                wait = self.quota.update(exc.headers)
                if exc.code == http.HTTPStatus.UNAUTHORIZED and attempt == 0:
                    self.tokens.invalidate()
                    continue
                failure = http_failure(exc, redact_url(url), self._timeout)
                failure.wait = max((w for w in (failure.wait, wait) if w is not None), default=None)
                raise failure from None
            except HTTP_FAILURES as exc:
                raise http_failure(exc, redact_url(url), self._timeout) from None
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _get(self, url: str, token: str) -> bytes:
        request = urllib.request.Request(
            url, headers={"Authorization": f"bearer {token}", "User-Agent": self._user_agent}
        )
        with urllib.request.urlopen(request, timeout=self._timeout) as response:
            self.quota.update(response.headers)
            return read_body(response, redact_url(url), MAX_BODY_BYTES)
