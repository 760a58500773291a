"""From X API v2 objects (Post, User, and the envelopes of the stream and recent search) to
contract events.

Payloads are decoded into msgspec structs holding only the fields we map; unknown fields are
ignored, so X adding fields breaks nothing. Which brand a post is for comes from the rule that
matched it (its tag is the brand's name), or from the rule searched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import msgspec

from brandpulse.contract import Author, Event, Kind
from connectors.runtime.followers import follower_snapshot
from connectors.runtime.text import language_code

MAX_TEXT_CHARS: Final = 100_000
SHARE_TYPES: Final = frozenset({"retweeted", "quoted"})
TWITTER_EPOCH_MS: Final = 1_288_834_974_657
"""Post ids are snowflakes: milliseconds since this moment, shifted left by 22 bits."""


class Problem(msgspec.Struct, frozen=True):
    title: str = ""
    detail: str = ""
    type: str = ""


class PostMetrics(msgspec.Struct, frozen=True):
    retweet_count: int = 0
    reply_count: int = 0
    like_count: int = 0
    quote_count: int = 0


class Reference(msgspec.Struct, frozen=True):
    type: str
    """``replied_to``, ``quoted`` or ``retweeted``."""
    id: str


class Post(msgspec.Struct, frozen=True):
    id: str
    created_at: datetime
    text: str = ""
    author_id: str = ""
    conversation_id: str | None = None
    in_reply_to_user_id: str | None = None
    referenced_tweets: list[Reference] = []
    lang: str | None = None
    public_metrics: PostMetrics | None = None


class UserMetrics(msgspec.Struct, frozen=True):
    followers_count: int = 0


class User(msgspec.Struct, frozen=True):
    id: str
    username: str
    name: str = ""
    public_metrics: UserMetrics | None = None


class Includes(msgspec.Struct, frozen=True):
    users: list[User] = []
    tweets: list[Post] = []


class MatchingRule(msgspec.Struct, frozen=True):
    id: str
    tag: str = ""


class StreamItem(msgspec.Struct, frozen=True):
    """One line of the filtered stream: a post, or (without ``data``) a problem report such as
    an operational disconnect."""

    data: Post | None = None
    includes: Includes = msgspec.field(default_factory=Includes)
    matching_rules: list[MatchingRule] = []
    errors: list[Problem] = []


class SearchMeta(msgspec.Struct, frozen=True):
    result_count: int = 0
    newest_id: str | None = None
    next_token: str | None = None


class SearchPage(msgspec.Struct, frozen=True):
    """A page of recent search: newest first; ``meta.next_token`` leads to older posts."""

    data: list[Post] = []
    includes: Includes = msgspec.field(default_factory=Includes)
    meta: SearchMeta = msgspec.field(default_factory=SearchMeta)


class UserAnswer(msgspec.Struct, frozen=True):
    data: User | None = None
    errors: list[Problem] = []


@dataclass
class XBrand:
    """Who the brand is on X: its handles (lower case) and the user ids learnt for them, from
    the follower lookups and from authors the API included."""

    name: str
    handles: frozenset[str] = frozenset()
    user_ids: set[str] = field(default_factory=set)

    def learn(self, users: list[User]) -> None:
        self.user_ids.update(u.id for u in users if u.username.lower() in self.handles)

    def owns(self, user_id: str | None) -> bool:
        return user_id is not None and user_id in self.user_ids


def post_event(post: Post, includes: Includes, brand: XBrand) -> Event:
    """The brand's own posts are ``post``, ``reply`` (answering someone) or ``share``; anyone
    else's reply to the brand is a ``comment`` (so the brand's answer stops a first-response
    clock), a retweet or quote a ``share``, anything else a ``mention``. ``parent_id`` is the
    post replied to, else the one shared; ``thread_id`` the conversation."""
    author = next((u for u in includes.users if u.id == post.author_id), None)
    own = brand.owns(post.author_id)
    replied = _referenced(post, frozenset({"replied_to"}))
    shared = _referenced(post, SHARE_TYPES)
    kind: Kind
    if own:
        kind = "reply" if replied else "share" if shared else "post"
    elif replied and brand.owns(_replied_user(post, replied, includes)):
        kind = "comment"
    else:
        kind = "share" if shared and not replied else "mention"
    return Event(
        v=1,
        id=post.id,
        platform="x",
        brand=brand.name,
        kind=kind,
        time=post.created_at,
        author=_author(post.author_id, author, is_brand=own),
        thread_id=post.conversation_id or None,
        parent_id=replied or shared,
        text=post.text[:MAX_TEXT_CHARS] or None,
        lang=language_code(post.lang),
        url=f"https://x.com/{author.username if author else 'i/web'}/status/{post.id}",
        metrics=_metrics(post.public_metrics),
    )


def _referenced(post: Post, types: frozenset[str]) -> str | None:
    return next((r.id for r in post.referenced_tweets if r.type in types), None)


def _replied_user(post: Post, replied: str, includes: Includes) -> str | None:
    """Whom a reply answers: ``in_reply_to_user_id``, else the author of the included post."""
    if post.in_reply_to_user_id:
        return post.in_reply_to_user_id
    return next((p.author_id for p in includes.tweets if p.id == replied), None)


def _author(user_id: str, user: User | None, *, is_brand: bool) -> Author | None:
    if not user_id:
        return None
    if user is None:
        return Author(id=user_id, is_brand=is_brand)
    metrics = user.public_metrics
    followers = max(0, metrics.followers_count) if metrics else None
    return Author(id=user_id, handle=user.username, is_brand=is_brand, followers=followers)


def _metrics(metrics: PostMetrics | None) -> dict[str, int]:
    if metrics is None:
        return {}
    return {
        "replies": max(0, metrics.reply_count),
        "shares": max(0, metrics.retweet_count) + max(0, metrics.quote_count),
        "likes": max(0, metrics.like_count),
    }


def follower_event(user: User, brand: str, fetched: datetime) -> Event:
    """A snapshot of a brand handle's followers (``follower_snapshot``)."""
    metrics = user.public_metrics or UserMetrics()
    author = _author(user.id, user, is_brand=True)
    return follower_snapshot(
        "x", brand, fetched, account=user.id, author=author, followers=metrics.followers_count
    )


def newer_id(a: str | None, b: str | None) -> str | None:
    """The newer of two post ids (snowflakes: a larger number is a later post)."""
    if a is None or b is None:
        return a or b
    return a if int(a) >= int(b) else b


def id_before(post_id: str, seconds: float) -> str:
    """A snowflake id ``seconds`` older than ``post_id``: where a catch-up that should also see
    posts delivered out of order around ``post_id`` starts (``since_id`` excludes itself)."""
    earlier = int(post_id) - (int(seconds * 1000) << 22)
    return str(max(1, earlier))


def id_at(moment: float) -> str:
    """The smallest snowflake id of a post made at ``moment`` (Unix time): ``since_id`` for
    "everything posted after ``moment``"."""
    return str(max(1, int(moment * 1000) - TWITTER_EPOCH_MS) << 22)
