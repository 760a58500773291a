"""From feed items to contract events: which brands an item mentions, and the field mapping."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from brandpulse.config import BrandConfig
from brandpulse.contract import MAX_ID_CHARS, Author, Event
from connectors.rss.feed import Feed, Item
from connectors.runtime.text import bounded_id, language_code

MAX_TEXT_CHARS: Final = 100_000


@dataclass(frozen=True)
class BrandMatcher:
    """One brand's keywords as a single case-insensitive pattern.

    Word boundaries are look-arounds rather than ``\\b``, so a keyword that begins or ends with
    a non-word character (``@acme``, ``c++``) still matches as a whole word.
    """

    brand: str
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, brand: BrandConfig) -> BrandMatcher | None:
        keywords = sorted({k.strip() for k in brand.keywords if k.strip()}, key=len, reverse=True)
        if not keywords:
            return None
        alternatives = "|".join(map(re.escape, keywords))
        return cls(brand.name, re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE))


def matchers(brands: Iterable[BrandConfig]) -> list[BrandMatcher]:
    return [m for m in map(BrandMatcher.of, brands) if m is not None]


def item_events(
    item: Item, feed: Feed, feed_url: str, brands: list[BrandMatcher], fetched: datetime
) -> list[Event]:
    """One ``mention`` per brand whose keywords appear in the title or summary.

    Items without a publication time get the time they were fetched; items without a guid or id
    are identified by their link, else by a hash of the feed and the title, so a re-fetch maps to
    the same id and is deduplicated.
    """
    text = "\n\n".join(part for part in (item.title, item.summary) if part)
    mentioned = [m.brand for m in brands if m.pattern.search(text)]
    if not mentioned:
        return []
    return [
        Event(
            v=1,
            id=bounded_id(item.id or item.link or f"{feed_url}\n{item.title}"),
            platform="blog",
            brand=brand,
            kind="mention",
            time=item.published or fetched,
            author=Author(id=item.author[:MAX_ID_CHARS]) if item.author else None,
            text=text[:MAX_TEXT_CHARS] or None,
            lang=language_code(feed.language),
            url=item.link,
        )
        for brand in mentioned
    ]
