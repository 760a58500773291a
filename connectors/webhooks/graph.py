"""The Graph API lookup that gives an Instagram mention its text.

Meta's ``mentions`` webhook carries ids only, so a mention published as it comes has no text and
no sentiment. With ``META_PAGE_ACCESS_TOKEN`` set, the receiver asks the Graph API for the
mentioning comment (``mentioned_comment``) or caption (``mentioned_media``) of the brand's
Instagram account before it publishes. Meta wants a quick answer to a delivery, so each mention
gets one request with a short timeout (``[webhooks] graph_timeout``), and a lookup that fails is
counted (``brandpulse_connector_errors_total{kind="graph"}``) and logged, never fatal: the
mention is then published without its text, as it is without a token.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Final, TypeVar

import msgspec

from brandpulse.contract import Author, Event
from connectors.metrics import ConnectorStats
from connectors.runtime import HTTP_FAILURES, SourceError, http_failure, read_body, redact_url
from connectors.webhooks.meta import MentionRef

META_PAGE_ACCESS_TOKEN: Final = "META_PAGE_ACCESS_TOKEN"
ERROR_KIND: Final = "graph"
MAX_BODY_BYTES: Final = 256 * 1024
"""One comment or caption (at most 2,200 characters) and a few fields: far below this."""
COMMENT_FIELDS: Final = "timestamp,like_count,text,username,media{id,permalink}"
MEDIA_FIELDS: Final = "caption,timestamp,username,permalink,like_count,comments_count"
USER_AGENT: Final = "brandpulse-webhooks/0.1"
log = logging.getLogger("brandpulse.webhooks")


class CommentMedia(msgspec.Struct, frozen=True):
    id: str | None = None
    permalink: str | None = None


class MentionedComment(msgspec.Struct, frozen=True):
    """The comment in which the account was @-mentioned, and the media it is on."""

    text: str | None = None
    username: str | None = None
    timestamp: str | None = None
    like_count: int | None = None
    media: CommentMedia | None = None


class MentionedMedia(msgspec.Struct, frozen=True):
    """The media whose caption @-mentions the account."""

    caption: str | None = None
    username: str | None = None
    timestamp: str | None = None
    permalink: str | None = None
    like_count: int | None = None
    comments_count: int | None = None


class CommentAnswer(msgspec.Struct, frozen=True):
    """``GET /{ig-user-id}?fields=mentioned_comment...``: ``{"mentioned_comment": {...}, "id"}``."""

    mentioned_comment: MentionedComment


class MediaAnswer(msgspec.Struct, frozen=True):
    """``GET /{ig-user-id}?fields=mentioned_media...``: ``{"mentioned_media": {...}, "id"}``."""

    mentioned_media: MentionedMedia


Answer = TypeVar("Answer", CommentAnswer, MediaAnswer)


class GraphProblem(msgspec.Struct, frozen=True):
    message: str = ""


class GraphError(msgspec.Struct, frozen=True):
    """Graph's error body, ``{"error": {"message": ..., ...}}``: it names a missing permission."""

    error: GraphProblem


class MentionLookup:
    """Looks up Instagram mentions' text with one token; ``with_texts`` never raises for it."""

    def __init__(self, graph_url: str, token: str, timeout: float, stats: ConnectorStats) -> None:
        self._base = graph_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._stats = stats

    def with_texts(self, events: list[Event], mentions: dict[int, MentionRef]) -> list[Event]:
        """``events`` with each mention at an index of ``mentions`` completed if its lookup
        succeeds, and left as it is (the failure counted and logged) if it does not."""
        return [
            self._complete(event, mentions[i]) if i in mentions else event
            for i, event in enumerate(events)
        ]

    def _complete(self, event: Event, mention: MentionRef) -> Event:
        try:
            return self.lookup(event, mention)
        except SourceError as exc:
            self._stats.errors[ERROR_KIND] += 1
            detail = exc.detail.replace(self._token, "<token>")  # should Graph echo it
            log.warning(
                "Instagram mention %s published without its text: Graph lookup failed (%s): %s",
                event.id,
                exc.kind,
                detail,
            )
            return event

    def lookup(self, event: Event, mention: MentionRef) -> Event:
        """``event`` with the text, author, URL, time and likes Graph knows; a ``SourceError``
        when the request fails or its answer is not shaped as documented."""
        if mention.comment_id is not None:
            fields = f"mentioned_comment.comment_id({_id(mention.comment_id)}){{{COMMENT_FIELDS}}}"
            comment = self._get(mention.account, fields, CommentAnswer).mentioned_comment
            media = comment.media or CommentMedia()
            return _completed(
                event,
                text=comment.text,
                username=comment.username,
                url=media.permalink,
                timestamp=comment.timestamp,
                counts={"likes": comment.like_count},
            )
        fields = f"mentioned_media.media_id({_id(mention.media_id)}){{{MEDIA_FIELDS}}}"
        caption = self._get(mention.account, fields, MediaAnswer).mentioned_media
        return _completed(
            event,
            text=caption.caption,
            username=caption.username,
            url=caption.permalink,
            timestamp=caption.timestamp,
            counts={"likes": caption.like_count, "replies": caption.comments_count},
        )

    def _get(self, account: str, fields: str, answer: type[Answer]) -> Answer:
        query = urllib.parse.urlencode({"fields": fields, "access_token": self._token})
        url = f"{self._base}/{_id(account)}?{query}"
        where = redact_url(url)
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                body = read_body(response, where, MAX_BODY_BYTES)
        except HTTP_FAILURES as exc:
            raise _failure(exc, where, self._timeout) from None
        try:
            return msgspec.json.decode(body, type=answer, strict=False)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise SourceError("malformed", f"{where}: unexpected answer: {exc}") from None


def _id(value: str) -> str:
    """A Graph id as it goes into a path or a field expression: digits only, so an id cannot
    change what is asked."""
    if not value.isdigit():
        raise SourceError("bad_id", f"{value!r} is not a Graph id")
    return value


def _failure(exc: BaseException, where: str, timeout: float) -> SourceError:
    """``http_failure``, with the message of Graph's error body (a missing permission, an
    expired token) added."""
    error = http_failure(exc, where, timeout)
    if isinstance(exc, urllib.error.HTTPError):
        try:
            problem = msgspec.json.decode(exc.read(MAX_BODY_BYTES), type=GraphError).error
        except (*HTTP_FAILURES, msgspec.DecodeError, msgspec.ValidationError):
            return error
        if problem.message:
            return SourceError(error.kind, f"{error.detail}: {problem.message}", error.wait)
    return error


def _completed(
    event: Event,
    *,
    text: str | None,
    username: str | None,
    url: str | None,
    timestamp: str | None,
    counts: dict[str, int | None],
) -> Event:
    """``event`` with what the lookup found; what it did not find stays as it was."""
    return msgspec.structs.replace(
        event,
        text=text or event.text,
        author=Author(id=username, handle=username) if username else event.author,
        url=url or event.url,
        time=_time(timestamp) if timestamp else event.time,
        metrics={name: max(0, n) for name, n in counts.items() if n is not None} or event.metrics,
    )


def _time(timestamp: str) -> datetime:
    """Graph's ``2017-05-03T16:09:08+0000`` (an offset without colon, which RFC 3339 parsers
    refuse); without an offset, UTC."""
    try:
        parsed = datetime.fromisoformat(timestamp)
    except ValueError:
        raise SourceError("malformed", f"timestamp {timestamp!r} is not a time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
