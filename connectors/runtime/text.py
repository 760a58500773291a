"""Text helpers every connector needs: HTML to plain text, language tags to ISO 639-1, ids
within the contract's length.

Platforms hand out markup (feed summaries, Mastodon's status ``content``), BCP 47 tags
(``de-AT``) and ids of any length; the contract wants plain text, two-letter codes and
identifiers of at most 256 characters.
"""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from typing import Final

from brandpulse.contract import MAX_ID_CHARS

_SPACE: Final = re.compile(r"\s+")


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """Text of an HTML fragment, character references resolved and whitespace collapsed."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return _SPACE.sub(" ", " ".join(parser.parts)).strip()


def language_code(tag: str | None) -> str | None:
    """The ISO 639-1 code of a language tag (``en-us`` -> ``en``); None for anything else."""
    primary = (tag or "").split("-")[0].strip().lower()
    return primary if len(primary) == 2 and primary.isascii() and primary.isalpha() else None


def bounded_id(raw: str) -> str:
    """``raw`` if it fits the contract's identifier limit, else its SHA-256 (``sha256:<hex>``):
    the same raw id always maps to the same identifier."""
    if len(raw) <= MAX_ID_CHARS:
        return raw
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
