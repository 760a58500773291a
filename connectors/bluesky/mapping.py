"""From Jetstream commit events and AppView profiles to contract events.

A Jetstream event is ``{"did", "time_us", "kind", "commit": {"operation", "collection", "rkey",
"record", ...}}``; the record's shape depends on the collection, so it is kept raw and decoded
by the collection's type. Only the fields we map are declared; unknown fields are ignored.

An item's id is its AT URI (``at://did/collection/rkey``): the same on every replay of the
stream, so a rewound cursor's overlap is dropped by the run loop's seen set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import msgspec

from brandpulse.contract import Author, Event, Kind
from connectors.rss.mapping import BrandMatcher
from connectors.runtime.followers import follower_snapshot
from connectors.runtime.text import bounded_id, language_code

POST: Final = "app.bsky.feed.post"
LIKE: Final = "app.bsky.feed.like"
REPOST: Final = "app.bsky.feed.repost"
FOLLOW: Final = "app.bsky.graph.follow"
COLLECTIONS: Final = (POST, LIKE, REPOST, FOLLOW)
MENTION_FEATURE: Final = "app.bsky.richtext.facet#mention"
MAX_TEXT_CHARS: Final = 100_000
WEB: Final = "https://bsky.app"


class Ref(msgspec.Struct, frozen=True):
    """A strong reference to a record (``com.atproto.repo.strongRef``)."""

    uri: str
    cid: str = ""


class ReplyRef(msgspec.Struct, frozen=True):
    root: Ref
    parent: Ref


class Feature(msgspec.Struct, frozen=True):
    type: str = msgspec.field(name="$type", default="")
    did: str = ""


class Facet(msgspec.Struct, frozen=True):
    features: list[Feature] = []


class Quoted(msgspec.Struct, frozen=True):
    """An ``app.bsky.embed.record`` (the quoted post's ``uri``) or the ``record`` of an
    ``app.bsky.embed.recordWithMedia``, which nests one (``record.uri``)."""

    uri: str = ""
    record: Ref | None = None


class Embed(msgspec.Struct, frozen=True):
    record: Quoted | None = None
    """Absent for images, videos and link cards."""


class Post(msgspec.Struct, frozen=True, rename="camel"):
    created_at: str = ""
    text: str = ""
    langs: list[str] = []
    facets: list[Facet] = []
    reply: ReplyRef | None = None
    embed: Embed | None = None

    def quoted(self) -> str:
        """The URI of the post this one quotes; empty when it quotes none."""
        quoted = self.embed.record if self.embed else None
        if quoted is None:
            return ""
        return quoted.uri or (quoted.record.uri if quoted.record else "")


class Subject(msgspec.Struct, frozen=True, rename="camel"):
    """A like or a repost: the post it is of."""

    subject: Ref
    created_at: str = ""


class Follow(msgspec.Struct, frozen=True, rename="camel"):
    subject: str
    """The followed account's DID."""
    created_at: str = ""


class Commit(msgspec.Struct, frozen=True):
    operation: str
    collection: str
    rkey: str
    rev: str = ""
    cid: str = ""
    record: msgspec.Raw = msgspec.Raw()


class JetstreamEvent(msgspec.Struct, frozen=True):
    did: str
    time_us: int
    kind: str
    commit: Commit | None = None


class Profile(msgspec.Struct, frozen=True, rename="camel"):
    """What ``app.bsky.actor.getProfile`` says of an account (``ProfileViewDetailed``)."""

    did: str
    handle: str = ""
    followers_count: int = 0


Record = Post | Subject | Follow
_TYPES: Final[dict[str, type[Post] | type[Subject] | type[Follow]]] = {
    POST: Post,
    LIKE: Subject,
    REPOST: Subject,
    FOLLOW: Follow,
}


@dataclass(frozen=True)
class BrandAccount:
    """What makes an item the brand's: its account's DID, its handles, its keywords."""

    brand: str
    did: str = ""
    handles: tuple[str, ...] = ()
    """Lower case, without ``@``; the first is the account's own (its events' author handle)."""
    matcher: BrandMatcher | None = None
    handle_pattern: re.Pattern[str] | None = None

    @classmethod
    def of(
        cls, brand: str, did: str, handles: Sequence[str], matcher: BrandMatcher | None
    ) -> BrandAccount:
        handles = tuple(dict.fromkeys(h.strip().lower().lstrip("@") for h in handles if h.strip()))
        pattern = None
        if handles:
            alternatives = "|".join(map(re.escape, sorted(handles, key=len, reverse=True)))
            # a handle is a domain name: a trailing full stop ends the sentence, not the handle
            pattern = re.compile(rf"(?<![\w.@])@(?:{alternatives})(?!\.?[\w-])", re.IGNORECASE)
        return cls(brand, did, handles, matcher, pattern)

    def owns(self, uri: str) -> bool:
        """Whether the record at ``uri`` lives in the brand's repository."""
        return bool(self.did) and uri.startswith(f"at://{self.did}/")

    def mentioned_in(self, post: Post) -> bool:
        """A mention facet of the brand's DID, a quote of its post, ``@handle`` in the text,
        or a keyword."""
        if self.owns(post.quoted()):
            return True
        if self.did and any(
            f.type == MENTION_FEATURE and f.did == self.did
            for facet in post.facets
            for f in facet.features
        ):
            return True
        if self.handle_pattern is not None and self.handle_pattern.search(post.text):
            return True
        return self.matcher is not None and self.matcher.pattern.search(post.text) is not None


@dataclass(frozen=True)
class Item:
    """One created record: who, when Jetstream saw it, where it lives."""

    did: str
    time_us: int
    collection: str
    rkey: str
    record: Record

    @property
    def uri(self) -> str:
        return f"at://{self.did}/{self.collection}/{self.rkey}"


def created_item(event: JetstreamEvent) -> Item | None:
    """The record a commit event creates, if it is one of ``COLLECTIONS``; None for updates,
    deletes, identity and account events. Raises ``msgspec.DecodeError`` (a ``ValidationError``
    included) for a record not shaped as its collection's lexicon says."""
    commit = event.commit
    if event.kind != "commit" or commit is None or commit.operation != "create":
        return None
    kind = _TYPES.get(commit.collection)
    if kind is None:
        return None
    record = msgspec.json.decode(commit.record, type=kind)
    return Item(event.did, event.time_us, commit.collection, commit.rkey, record)


def item_events(item: Item, brands: Sequence[BrandAccount]) -> list[Event]:
    """One event per brand the item concerns (a post mentioning two brands is two events)."""
    return [e for brand in brands if (e := item_event(item, brand)) is not None]


def item_event(item: Item, brand: BrandAccount) -> Event | None:
    record = item.record
    if isinstance(record, Post):
        return _post_event(item, record, brand)
    if isinstance(record, Subject) and brand.owns(record.subject.uri) and item.did != brand.did:
        kind: Kind = "share" if item.collection == REPOST else "reaction"
        return _event(
            item, brand, kind, record.created_at, parent_id=bounded_id(record.subject.uri)
        )
    return None


def follows(item: Item, brand: BrandAccount) -> bool:
    """Whether the item is a new follow of the brand's account."""
    return isinstance(item.record, Follow) and bool(brand.did) and item.record.subject == brand.did


def _post_event(item: Item, post: Post, brand: BrandAccount) -> Event | None:
    """The brand's own posts are ``post`` or ``reply``; a reply to one of them is a ``reply``;
    a post that mentions the brand is a ``mention``; anything else is no event."""
    own = bool(brand.did) and item.did == brand.did
    parent = post.reply.parent.uri if post.reply else None
    kind: Kind
    if own or (parent is not None and brand.owns(parent)):
        kind = "reply" if parent else "post"
    elif brand.mentioned_in(post):
        kind = "mention"
    else:
        return None
    return _event(
        item,
        brand,
        kind,
        post.created_at,
        parent_id=bounded_id(parent) if parent else None,
        thread_id=bounded_id(post.reply.root.uri) if post.reply else None,
        text=post.text[:MAX_TEXT_CHARS] or None,
        lang=language_code(post.langs[0]) if post.langs else None,
        url=f"{WEB}/profile/{item.did}/post/{item.rkey}",
    )


def _event(
    item: Item,
    brand: BrandAccount,
    kind: Kind,
    created_at: str,
    *,
    parent_id: str | None,
    thread_id: str | None = None,
    text: str | None = None,
    lang: str | None = None,
    url: str | None = None,
) -> Event:
    own = bool(brand.did) and item.did == brand.did
    handle = brand.handles[0] if own and brand.handles else None
    return Event(
        v=1,
        id=bounded_id(item.uri),
        platform="bluesky",
        brand=brand.brand,
        kind=kind,
        time=item_time(created_at, item.time_us),
        author=Author(id=bounded_id(item.did), handle=handle, is_brand=own),
        thread_id=thread_id,
        parent_id=parent_id,
        text=text,
        lang=lang,
        url=url,
    )


def item_time(created_at: str, time_us: int) -> datetime:
    """The record's ``createdAt``, but never later than when the network saw it (Jetstream's
    ``time_us``): a client's clock may run ahead, the relay's does not (Bluesky's own
    ``sortAt`` takes the same minimum)."""
    seen = datetime.fromtimestamp(time_us / 1_000_000, UTC)
    try:
        claimed = datetime.fromisoformat(created_at)
    except ValueError:
        return seen
    if claimed.tzinfo is None:
        return seen
    return min(claimed.astimezone(UTC), seen)


def follower_event(profile: Profile, brand: str, fetched: datetime) -> Event:
    """A snapshot of the brand account's followers (``follower_snapshot``)."""
    followers = max(0, profile.followers_count)
    author = Author(
        id=bounded_id(profile.did),
        handle=profile.handle or None,
        is_brand=True,
        followers=followers,
    )
    return follower_snapshot(
        "bluesky", brand, fetched, account=profile.did, author=author, followers=followers
    )
