"""Credentials come from the environment only, and a missing one stops the connector at start."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping

from brandpulse.errors import BrandpulseError


class MissingCredential(BrandpulseError):
    """A required environment variable is unset or empty; the message names it (and never a
    value, so it is safe to log)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"environment variable {name} is not set: export it where the connector runs "
            "(credentials are read from the environment only, never from the config file)"
        )
        self.name = name


def require_env(name: str, env: Mapping[str, str] | None = None) -> str:
    value = (os.environ if env is None else env).get(name, "")
    if not value:
        raise MissingCredential(name)
    return value


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment, where tokens hide: fit for a log line."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
