"""From the Data API's resources (commentThread, comment, channel) to contract events.

Payloads are decoded into msgspec structs holding only the fields we map; unknown fields are
ignored, so answers with more parts or newer fields still decode.

A thread is a top-level comment on a video and its replies. Every comment is an event with the
comment's own id; ``thread_id`` is the thread's id (which is its top-level comment's), so the
brand's answer anywhere in a thread stops the first-response clocks of the comments waiting
in it. Comments by others are ``comment``s of their video (top level) or of the comment they
answer (replies); the brand channel's replies are ``reply``s naming the comment answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import msgspec

from brandpulse.contract import Author, Event, Kind
from connectors.runtime.followers import follower_snapshot
from connectors.runtime.text import plain_text

MAX_TEXT_CHARS: Final = 100_000
WATCH_URL: Final = "https://www.youtube.com/watch"


class ChannelRef(msgspec.Struct, frozen=True, rename="camel"):
    value: str = ""


class CommentSnippet(msgspec.Struct, frozen=True, rename="camel"):
    published_at: datetime
    author_display_name: str = ""
    author_channel_id: ChannelRef | None = None
    text_original: str = ""
    text_display: str = ""
    like_count: int = 0
    parent_id: str = ""
    video_id: str = ""


class Comment(msgspec.Struct, frozen=True, rename="camel"):
    id: str
    snippet: CommentSnippet


class ThreadSnippet(msgspec.Struct, frozen=True, rename="camel"):
    top_level_comment: Comment
    channel_id: str = ""
    video_id: str = ""
    total_reply_count: int = 0


class Replies(msgspec.Struct, frozen=True, rename="camel"):
    comments: list[Comment] = []


class CommentThread(msgspec.Struct, frozen=True, rename="camel"):
    id: str
    snippet: ThreadSnippet
    replies: Replies = Replies()

    def activity(self) -> datetime:
        """When the thread last changed, as far as the answer shows: its newest comment."""
        comments = [self.snippet.top_level_comment, *self.replies.comments]
        return max(c.snippet.published_at for c in comments)


class ThreadPage(msgspec.Struct, frozen=True, rename="camel"):
    """A ``youtube#commentThreadListResponse``."""

    items: list[CommentThread] = []
    next_page_token: str = ""


class CommentPage(msgspec.Struct, frozen=True, rename="camel"):
    """A ``youtube#commentListResponse`` (the replies of one thread)."""

    items: list[Comment] = []
    next_page_token: str = ""


class Statistics(msgspec.Struct, frozen=True, rename="camel"):
    subscriber_count: str | None = None
    hidden_subscriber_count: bool = False


class Channel(msgspec.Struct, frozen=True, rename="camel"):
    id: str
    statistics: Statistics = Statistics()


class ChannelPage(msgspec.Struct, frozen=True, rename="camel"):
    items: list[Channel] = []


@dataclass(frozen=True)
class BrandChannel:
    """Who the brand is on YouTube: its channel id (may be empty) and its handles."""

    brand: str
    channel_id: str = ""
    handles: frozenset[str] = frozenset()

    def owns(self, snippet: CommentSnippet) -> bool:
        channel = snippet.author_channel_id.value if snippet.author_channel_id else ""
        if self.channel_id and channel == self.channel_id:
            return True
        return snippet.author_display_name.lower().lstrip("@") in self.handles


def thread_events(
    thread: CommentThread, brand: BrandChannel, more: list[Comment] | None = None
) -> list[Event]:
    """The top-level comment and every reply known (inlined ones and ``more`` fetched with
    ``comments.list``), each once, oldest first."""
    top = thread.snippet.top_level_comment
    replies = {c.id: c for c in [*thread.replies.comments, *(more or [])] if c.id != top.id}
    events = [_top_level(thread, brand)]
    events += [_reply(thread, reply, brand) for reply in replies.values()]
    return sorted(events, key=lambda e: (e.time, e.id))


def _top_level(thread: CommentThread, brand: BrandChannel) -> Event:
    snippet = thread.snippet
    parent = snippet.video_id or snippet.channel_id or None
    replies = snippet.total_reply_count
    return _event(snippet.top_level_comment, thread, brand, "comment", parent, replies=replies)


def _reply(thread: CommentThread, reply: Comment, brand: BrandChannel) -> Event:
    kind: Kind = "reply" if brand.owns(reply.snippet) else "comment"
    return _event(reply, thread, brand, kind, reply.snippet.parent_id or thread.id)


def _event(
    comment: Comment,
    thread: CommentThread,
    brand: BrandChannel,
    kind: Kind,
    parent: str | None,
    *,
    replies: int | None = None,
) -> Event:
    """The event of one comment; ``replies`` is the thread's reply count (top level only)."""
    snippet = comment.snippet
    video = snippet.video_id or thread.snippet.video_id
    metrics = {"likes": max(0, snippet.like_count)}
    if replies is not None:
        metrics["replies"] = max(0, replies)
    text = snippet.text_original or plain_text(snippet.text_display)
    return Event(
        v=1,
        id=comment.id,
        platform="youtube",
        brand=brand.brand,
        kind=kind,
        time=snippet.published_at,
        author=_author(snippet, is_brand=brand.owns(snippet)),
        thread_id=thread.id,
        parent_id=parent,
        text=text[:MAX_TEXT_CHARS] or None,
        url=f"{WATCH_URL}?v={video}&lc={comment.id}" if video else None,
        metrics=metrics,
    )


def _author(snippet: CommentSnippet, *, is_brand: bool) -> Author | None:
    channel = snippet.author_channel_id.value if snippet.author_channel_id else ""
    if not channel:
        return None
    return Author(id=channel, handle=snippet.author_display_name or None, is_brand=is_brand)


def subscriber_event(channel: Channel, brand: str, fetched: datetime) -> Event | None:
    """A snapshot of a brand channel's subscribers (``follower_snapshot``); None when the
    channel hides the count."""
    count = channel.statistics.subscriber_count
    if channel.statistics.hidden_subscriber_count or count is None or not count.isdigit():
        return None
    author = Author(id=channel.id, is_brand=True)
    return follower_snapshot(
        "youtube",
        brand,
        fetched,
        account=channel.id,
        author=author,
        followers=int(count),
        name="subscribers",
    )
