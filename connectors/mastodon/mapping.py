"""From Mastodon's API entities (Status, Account, Notification) to contract events.

Payloads are decoded into msgspec structs holding only the fields we map; unknown fields are
ignored, so newer servers with more fields still decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import msgspec

from brandpulse.contract import Author, Event, Kind
from connectors.rss.mapping import BrandMatcher
from connectors.runtime.followers import follower_snapshot
from connectors.runtime.text import language_code, plain_text

MAX_TEXT_CHARS: Final = 100_000
NOTIFICATION_TYPES: Final = ("mention", "reblog", "favourite", "follow")
"""The types the connector asks for; a ``follow`` only prompts a new follower count."""


class Account(msgspec.Struct, frozen=True):
    id: str
    acct: str
    followers_count: int = 0


class Status(msgspec.Struct, frozen=True):
    id: str
    created_at: datetime
    account: Account
    content: str = ""
    spoiler_text: str = ""
    uri: str = ""
    url: str | None = None
    language: str | None = None
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    replies_count: int = 0
    reblogs_count: int = 0
    favourites_count: int = 0


class Notification(msgspec.Struct, frozen=True):
    id: str
    type: str
    created_at: datetime
    account: Account
    status: Status | None = None


@dataclass(frozen=True)
class BrandAccount:
    """Who the brand is on the instance: its account id (may be empty) and its handles."""

    brand: str
    account_id: str = ""
    handles: frozenset[str] = frozenset()
    matcher: BrandMatcher | None = None
    """Keywords a public-timeline status must contain; None: every status counts."""

    def owns(self, account: Account) -> bool:
        return account.id == self.account_id or account.acct.lower() in self.handles


def status_event(status: Status, brand: BrandAccount) -> Event | None:
    """The brand's own statuses are ``post`` or ``reply``; a reply to the brand is a ``reply``;
    anything else is a ``mention``. None when the brand's keywords are required and absent."""
    text = _text(status)
    if brand.matcher is not None and not brand.matcher.pattern.search(text):
        return None
    own = brand.owns(status.account)
    answers_brand = bool(brand.account_id) and status.in_reply_to_account_id == brand.account_id
    kind: Kind = "mention"
    if own or answers_brand:
        kind = "reply" if status.in_reply_to_id else "post"
    return Event(
        v=1,
        id=status.id,
        platform="mastodon",
        brand=brand.brand,
        kind=kind,
        time=status.created_at,
        author=_author(status.account, is_brand=own),
        parent_id=status.in_reply_to_id,
        text=text or None,
        lang=language_code(status.language),
        url=status.url or status.uri or None,
        metrics={
            "replies": max(0, status.replies_count),
            "shares": max(0, status.reblogs_count),
            "likes": max(0, status.favourites_count),
        },
    )


def notification_event(notification: Notification, brand: BrandAccount) -> Event | None:
    """A mention is the status itself (the same id as on a timeline, so it is published once);
    a boost is a ``share`` and a favourite a ``reaction`` of the brand's status. Follows and
    other types give no event."""
    status = notification.status
    if status is None:
        return None
    if notification.type == "mention":
        return status_event(status, BrandAccount(brand.brand, brand.account_id, brand.handles))
    kinds: dict[str, Kind] = {"reblog": "share", "favourite": "reaction"}
    if notification.type not in kinds:
        return None
    return Event(
        v=1,
        id=f"notification:{notification.id}",
        platform="mastodon",
        brand=brand.brand,
        kind=kinds[notification.type],
        time=notification.created_at,
        author=_author(notification.account, is_brand=brand.owns(notification.account)),
        parent_id=status.id,
    )


def _author(account: Account, *, is_brand: bool) -> Author:
    return Author(
        id=account.id,
        handle=account.acct,
        is_brand=is_brand,
        followers=max(0, account.followers_count),
    )


def _text(status: Status) -> str:
    """The content without HTML; a content warning, when there is one, comes first."""
    parts = (plain_text(status.spoiler_text), plain_text(status.content))
    return "\n\n".join(part for part in parts if part)[:MAX_TEXT_CHARS]


def follower_event(account: Account, brand: str, fetched: datetime) -> Event:
    """A snapshot of the brand account's followers (``follower_snapshot``)."""
    author = _author(account, is_brand=True)
    return follower_snapshot(
        "mastodon",
        brand,
        fetched,
        account=account.id,
        author=author,
        followers=account.followers_count,
    )


def newest_id(ids: list[str], current: str | None = None) -> str | None:
    """The newest of Mastodon ids (decimal strings growing with time; compared by length, then
    text, which is numeric order without converting)."""
    candidates = [*ids, *([current] if current else [])]
    return max(candidates, key=lambda i: (len(i), i), default=None)
