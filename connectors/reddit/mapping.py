"""From Reddit's things (``t3`` posts, ``t1`` comments, ``t5`` subreddits) to contract events.

Event ids are Reddit fullnames (``t3_1h2x9ab``, ``t1_lz8k2mq``): comments name their parent by
fullname (``parent_id``, ``link_id``), so a brand's reply points at the event it answers and
first-response time can pair them. Payloads are decoded into structs with just the mapped
fields; the listings are asked for with ``raw_json=1``, so text comes without HTML escapes.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import msgspec

from brandpulse.contract import Author, Event, Kind
from connectors.rss.mapping import BrandMatcher
from connectors.runtime.followers import follower_snapshot

WEB_URL: Final = "https://www.reddit.com"
MAX_TEXT_CHARS: Final = 100_000
DELETED: Final = "[deleted]"


class Post(msgspec.Struct, frozen=True):
    """A ``t3`` (link or self post)."""

    name: str
    created_utc: float
    title: str = ""
    selftext: str = ""
    author: str = DELETED
    author_fullname: str | None = None
    permalink: str = ""
    score: int = 0
    num_comments: int = 0


class Comment(msgspec.Struct, frozen=True):
    """A ``t1``; listings of comments also name the post's author (``link_author``)."""

    name: str
    created_utc: float
    link_id: str
    parent_id: str
    body: str = ""
    author: str = DELETED
    author_fullname: str | None = None
    permalink: str = ""
    score: int = 0
    link_author: str = ""


class Thing(msgspec.Struct, frozen=True):
    kind: str
    data: msgspec.Raw


class ListingData(msgspec.Struct, frozen=True):
    children: list[Thing] = []
    after: str | None = None
    before: str | None = None


class Listing(msgspec.Struct, frozen=True):
    data: ListingData
    kind: str = "Listing"


class Subreddit(msgspec.Struct, frozen=True):
    """The ``data`` of ``/r/{sub}/about`` (a ``t5``)."""

    name: str
    display_name: str
    subscribers: int | None = 0


class About(msgspec.Struct, frozen=True):
    data: Subreddit
    kind: str = "t5"


def things(listing: Listing) -> list[Post | Comment]:
    """The posts and comments of a listing page, newest first as served; other kinds (``more``)
    are skipped."""
    found: list[Post | Comment] = []
    for thing in listing.data.children:
        if thing.kind == "t3":
            found.append(msgspec.json.decode(thing.data, type=Post))
        elif thing.kind == "t1":
            found.append(msgspec.json.decode(thing.data, type=Comment))
    return found


@dataclass(frozen=True)
class BrandView:
    """Who the brand is on Reddit (its usernames, lower case) and, for listings where only
    mentions of it count, its keywords."""

    brand: str
    handles: frozenset[str] = frozenset()
    matcher: BrandMatcher | None = None

    def owns(self, author: str) -> bool:
        return author.lower() in self.handles


def item_event(item: Post | Comment, brand: BrandView, own: Container[str]) -> Event | None:
    """The brand's posts are ``post`` and its comments ``reply`` (to their parent); comments in
    a brand post's thread or answering a brand comment (fullname in ``own``) are ``comment``;
    anything else is a ``mention``, or None when the brand's keywords are required and absent."""
    text = _text(item)
    mine = brand.owns(item.author)
    kind: Kind = "mention"
    if isinstance(item, Post):
        kind = "post" if mine else "mention"
    elif mine:
        kind = "reply"
    elif item.parent_id in own or item.link_id in own or brand.owns(item.link_author):
        kind = "comment"
    if kind == "mention" and brand.matcher is not None and not brand.matcher.pattern.search(text):
        return None
    metrics = {"score": max(0, item.score)}
    if isinstance(item, Post):
        metrics["replies"] = max(0, item.num_comments)
    return Event(
        v=1,
        id=item.name,
        platform="reddit",
        brand=brand.brand,
        kind=kind,
        time=created(item),
        author=_author(item, is_brand=mine),
        parent_id=item.parent_id if isinstance(item, Comment) else None,
        text=text or None,
        url=WEB_URL + item.permalink if item.permalink.startswith("/") else None,
        metrics=metrics,
    )


def follower_event(subreddit: Subreddit, brand: str, fetched: datetime) -> Event:
    """A snapshot of the brand subreddit's subscribers (``follower_snapshot``)."""
    author = Author(id=subreddit.name, handle=f"r/{subreddit.display_name}", is_brand=True)
    return follower_snapshot(
        "reddit",
        brand,
        fetched,
        account=subreddit.name,
        author=author,
        followers=subreddit.subscribers or 0,
        name="subscribers",
    )


def created(item: Post | Comment) -> datetime:
    return datetime.fromtimestamp(item.created_utc, UTC)


def _author(item: Post | Comment, *, is_brand: bool) -> Author | None:
    if not item.author or item.author == DELETED:
        return None
    return Author(id=item.author_fullname or item.author, handle=item.author, is_brand=is_brand)


def _text(item: Post | Comment) -> str:
    if isinstance(item, Comment):
        return item.body[:MAX_TEXT_CHARS]
    parts = (item.title.strip(), item.selftext.strip())
    return "\n\n".join(part for part in parts if part)[:MAX_TEXT_CHARS]
