"""The ``follower_count`` event every connector with brand accounts publishes the same way."""

from __future__ import annotations

from datetime import datetime

from brandpulse.contract import Author, Event, Platform
from connectors.runtime.text import bounded_id


def follower_snapshot(
    platform: Platform,
    brand: str,
    fetched: datetime,
    *,
    account: str,
    author: Author | None,
    followers: int,
    name: str = "followers",
) -> Event:
    """A snapshot of a brand account's ``followers``, identified as
    ``<name>:<account>:<unix seconds of fetched>``: one id per second of fetching, so a re-fetch
    after a crash is a new snapshot, never a duplicate of a published one."""
    return Event(
        v=1,
        id=bounded_id(f"{name}:{account}:{int(fetched.timestamp())}"),
        platform=platform,
        brand=brand,
        kind="follower_count",
        time=fetched,
        author=author,
        metrics={"followers": max(0, followers)},
    )
