"""RSS 2.0 and Atom 1.0 documents, parsed with the standard library and nothing trusted.

A feed is input from anyone on the internet. ElementTree (expat) does not fetch external
entities, but a document type may still declare entities that expand a few bytes into gigabytes,
and no feed needs one: a document with a DOCTYPE or ENTITY declaration is rejected unread.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

from brandpulse.errors import BrandpulseError
from connectors.runtime.text import plain_text

ATOM: Final = "{http://www.w3.org/2005/Atom}"
DUBLIN_CORE: Final = "{http://purl.org/dc/elements/1.1/}"
XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
_DECLARATION: Final = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class FeedError(BrandpulseError):
    """The document is not a feed we read (malformed, unsafe, or neither RSS nor Atom)."""


@dataclass(frozen=True)
class Item:
    id: str | None
    """The guid (RSS) or id (Atom); None when the feed gives neither."""
    title: str
    summary: str
    """Plain text: HTML tags are stripped and character references resolved."""
    link: str | None
    author: str | None
    published: datetime | None


@dataclass(frozen=True)
class Feed:
    language: str | None
    items: list[Item]


def parse_feed(document: bytes) -> Feed:
    if _DECLARATION.search(document):
        raise FeedError("the feed declares a document type or entities, which feeds never need")
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise FeedError(f"not well-formed XML: {exc}") from None
    if root.tag == "rss":
        return _rss(root)
    if root.tag == f"{ATOM}feed":
        return _atom(root)
    raise FeedError(f"neither RSS 2.0 nor Atom 1.0: the root element is <{root.tag}>")


def _rss(root: ET.Element) -> Feed:
    channel = root.find("channel")
    if channel is None:
        raise FeedError("an RSS document without <channel>")
    items = [
        Item(
            id=_text(item, "guid") or None,
            title=plain_text(_text(item, "title")),
            summary=plain_text(_text(item, "description")),
            link=_text(item, "link") or None,
            author=_text(item, "author") or _text(item, f"{DUBLIN_CORE}creator") or None,
            published=_rfc822(_text(item, "pubDate")),
        )
        for item in channel.iterfind("item")
    ]
    return Feed(_text(channel, "language") or None, items)


def _atom(root: ET.Element) -> Feed:
    items = [
        Item(
            id=_text(entry, f"{ATOM}id") or None,
            title=plain_text(_text(entry, f"{ATOM}title")),
            summary=plain_text(_text(entry, f"{ATOM}summary") or _text(entry, f"{ATOM}content")),
            link=_atom_link(entry),
            author=_text(entry, f"{ATOM}author/{ATOM}name")
            or _text(root, f"{ATOM}author/{ATOM}name")
            or None,
            published=_rfc3339(_text(entry, f"{ATOM}published") or _text(entry, f"{ATOM}updated")),
        )
        for entry in root.iterfind(f"{ATOM}entry")
    ]
    return Feed(root.get(XML_LANG), items)


def _atom_link(entry: ET.Element) -> str | None:
    """The entry's alternate link (RFC 4287 4.2.7.2: a link without ``rel`` is alternate)."""
    for link in entry.iterfind(f"{ATOM}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href")
    return None


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return "".join(found.itertext()).strip() if found is not None else ""


def _rfc822(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _rfc3339(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
