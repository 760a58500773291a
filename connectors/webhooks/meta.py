"""Meta Graph webhooks (Facebook Page ``feed``, Instagram ``comments`` and ``mentions``) as
contract events.

A delivery holds entries, one per page or Instagram account, each with changes of one field.
The brand is the one ``[webhooks] meta_pages`` assigns to the entry's account; entries of other
accounts are counted, not published. Only additions are events: edits and removals would count
an item twice or never, so they are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from brandpulse.contract import Author, Event, Kind

MILLISECONDS_THRESHOLD: Final = 100_000_000_000
"""An epoch value above this is in milliseconds (some Meta products send those)."""
FEED_POSTS: Final = frozenset({"post", "status", "photo", "video"})
"""``feed`` items that are a new post on the page's timeline."""


class MetaPayloadError(ValueError):
    """The body is signed but not shaped like a Meta webhook delivery."""


class Sender(msgspec.Struct, frozen=True):
    id: str
    name: str | None = None
    username: str | None = None


class Change(msgspec.Struct, frozen=True):
    field: str
    value: dict[str, Any]


class Entry(msgspec.Struct, frozen=True):
    id: str
    time: int | float = 0
    changes: list[Change] = []


class Delivery(msgspec.Struct, frozen=True):
    object: str
    entry: list[Entry] = []


class FeedValue(msgspec.Struct, frozen=True):
    item: str
    verb: str = "add"
    sender: Sender | None = msgspec.field(default=None, name="from")
    post_id: str | None = None
    comment_id: str | None = None
    parent_id: str | None = None
    created_time: int | float | str | None = None
    message: str | None = None


class IgMedia(msgspec.Struct, frozen=True):
    id: str


class IgComment(msgspec.Struct, frozen=True):
    id: str
    media: IgMedia
    sender: Sender | None = msgspec.field(default=None, name="from")
    parent_id: str | None = None
    text: str | None = None


class IgMention(msgspec.Struct, frozen=True):
    media_id: str
    comment_id: str | None = None


@dataclass(frozen=True)
class MentionRef:
    """What the Graph API needs to find an Instagram mention's text, which the webhook leaves
    out: the mentioned account (the entry's id), the media, and the comment if it is in one."""

    account: str
    media_id: str
    comment_id: str | None = None


@dataclass
class Mapped:
    """What a delivery amounts to: events, and the entries of accounts no brand owns."""

    events: list[Event] = field(default_factory=list)
    unknown_accounts: list[str] = field(default_factory=list)
    mentions: dict[int, MentionRef] = field(default_factory=dict)
    """Index in ``events`` of each Instagram mention -> what to look up for its text."""


def map_delivery(body: bytes, accounts: dict[str, str]) -> Mapped:
    """The events of a delivery; ``accounts`` maps page and Instagram account ids to brands."""
    try:
        delivery = msgspec.json.decode(body, type=Delivery)
        mapped = Mapped()
        for entry in delivery.entry:
            brand = accounts.get(entry.id)
            if brand is None:
                mapped.unknown_accounts.append(entry.id)
                continue
            for change in entry.changes:
                _add_change(mapped, delivery.object, entry, change, brand)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MetaPayloadError(str(exc)) from None
    return mapped


def _add_change(
    mapped: Mapped, kind_of_object: str, entry: Entry, change: Change, brand: str
) -> None:
    event: Event | None = None
    if kind_of_object == "page" and change.field == "feed":
        event = _feed_event(msgspec.convert(change.value, FeedValue), entry, brand)
    elif kind_of_object == "instagram" and change.field == "comments":
        event = _ig_comment(msgspec.convert(change.value, IgComment), entry, brand)
    elif kind_of_object == "instagram" and change.field == "mentions":
        mention = msgspec.convert(change.value, IgMention)
        ref = MentionRef(entry.id, mention.media_id, mention.comment_id)
        mapped.mentions[len(mapped.events)] = ref
        event = _ig_mention(mention, entry, brand)
    if event is not None:
        mapped.events.append(event)


def _feed_event(value: FeedValue, entry: Entry, brand: str) -> Event | None:
    """A page feed change: a comment or reply, a post (by the page) or visitor post (a
    mention), or a reaction. Other items (likes of the page, ratings, ...) are not events."""
    if value.verb != "add" or value.post_id is None:
        return None
    author = _author(value.sender, entry.id)
    when = _time(value.created_time, entry.time)
    common: dict[str, Any] = {"platform": "facebook", "brand": brand, "time": when}
    if value.item == "comment" and value.comment_id is not None:
        parent = value.parent_id or value.post_id
        kind: Kind = "comment" if parent == value.post_id else "reply"
        return Event(
            v=1,
            id=value.comment_id,
            kind=kind,
            author=author,
            thread_id=value.post_id,
            parent_id=parent,
            text=value.message,
            **common,
        )
    if value.item in FEED_POSTS:
        kind = "post" if author is not None and author.is_brand else "mention"
        return Event(
            v=1,
            id=value.post_id,
            kind=kind,
            author=author,
            thread_id=value.post_id,
            text=value.message,
            **common,
        )
    if value.item == "reaction" and author is not None:
        target = value.comment_id or value.post_id
        return Event(
            v=1,
            id=f"{target}/reaction/{author.id}",
            kind="reaction",
            author=author,
            thread_id=value.post_id,
            parent_id=target,
            **common,
        )
    return None


def _ig_comment(value: IgComment, entry: Entry, brand: str) -> Event:
    """A comment on the account's media; one with ``parent_id`` answers another comment."""
    return Event(
        v=1,
        id=value.id,
        platform="instagram",
        brand=brand,
        kind="reply" if value.parent_id else "comment",
        time=_time(None, entry.time),
        author=_author(value.sender, entry.id),
        thread_id=value.media.id,
        parent_id=value.parent_id or value.media.id,
        text=value.text,
    )


def _ig_mention(value: IgMention, entry: Entry, brand: str) -> Event:
    """The account was @-mentioned in a caption (``media_id``) or a comment (``comment_id``);
    the webhook carries ids only, the text needs a Graph API call (``graph.MentionLookup``)."""
    return Event(
        v=1,
        id=value.comment_id or value.media_id,
        platform="instagram",
        brand=brand,
        kind="mention",
        time=_time(None, entry.time),
        thread_id=value.media_id,
    )


def _author(sender: Sender | None, account_id: str) -> Author | None:
    if sender is None:
        return None
    return Author(id=sender.id, handle=sender.username, is_brand=sender.id == account_id)


def _time(created: int | float | str | None, fallback: int | float) -> datetime:
    """``created_time`` (epoch seconds or ISO 8601, both occur), else the entry's time."""
    if isinstance(created, str):
        try:
            parsed = datetime.fromisoformat(created)
        except ValueError:
            raise MetaPayloadError(f"created_time {created!r} is not a time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    epoch = float(fallback if created is None else created)
    if epoch > MILLISECONDS_THRESHOLD:
        epoch /= 1000
    return datetime.fromtimestamp(epoch, UTC)
