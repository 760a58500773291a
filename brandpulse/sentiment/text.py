"""Turning a social media post into tokens: words, emoticons, emoji and clause breaks.

URLs and @handles are removed before tokenizing, because their parts ("great.example",
"@happy_user") are names, not opinions. Hashtags lose their "#" and CamelCase tags are split
("#NeverAgain" -> "Never Again"), because the words inside them carry the sentiment.

One regular expression, run in C, does the tokenizing: per-token Python work is what makes
scorers slow, so the scorer only looks at the few tokens that are in its lexicon. Even in C, a
match per token costs more than the rest of scoring, and posts repeat their words ("thanks!",
"we're", "😊"): ``ChunkTokens`` remembers the tokens of each whitespace-separated chunk.
"""

from __future__ import annotations

import html
import re
from typing import Final

# Separate expressions, each starting with a literal, so that re skips ahead in C.
_HANDLE: Final = re.compile(r"@\w+(?:[.-]\w+)*(?:@\w+(?:[.-]\w+)*)?")  # also @x@instance.social
_EMAIL: Final = re.compile(r"[\w.+-]*[^\W_]@[\w.-]+")  # slow to search: run only if needed
_URL: Final = re.compile(r"https?://\S+|www\.\S+")
_HASHTAG: Final = re.compile(r"#(\w+)")
_CAMEL_PART: Final = re.compile(r"[A-ZÄÖÜ]+(?![a-zäöüß])|[A-ZÄÖÜ]?[a-zäöüß]+|[^\W_]+")

_WORD: Final = r"[^\W_]+(?:['-][^\W_]+)*"  # don't, geht's, and hyphenated compounds whole
_KAOMOJI: Final = r"[o0][._][o0](?![^\W_])"  # o_O, O.o; before words, which would take the o
_EMOTICON: Final = (  # on lower-cased text, so :D is :d
    r"[<>}\]]?[:;=]['\-^o]?[()\[\]{}|\\/*@$<>&]+"  # :) :-( ;] >:( :'(
    r"|[:;=]-?[dpo3csl](?![^\W_])"  # :D ;P :-p :o :3 :s :l
    r"|<\\?/?3+(?!\d)|\\o/|\^[_.]?\^|-_+-|>[._]<"  # <3 </3 \o/ ^^ -_- >.<
)
_EMOJI: Final = (
    r"[\U0001F000-\U0001F3FA\U0001F400-\U0001FAFF\u2190-\u21FF\u2300-\u23FF\u2600-\u27BF"
    r"\u2B00-\u2BFF\u3030\u303D\u3297\u3299\u203C\u2049]"  # one pictograph; skin tones skipped
)
_CLAUSE_BREAK: Final = r"[.,;:!?]+"
_EMOTICON_START: Final = r"(?=[<>}\]:;=\\^-])"  # lets re reject most positions at once
TOKEN: Final = re.compile(
    f"{_KAOMOJI}|{_WORD}|{_EMOTICON_START}(?:{_EMOTICON})|{_EMOJI}|{_CLAUSE_BREAK}"
)
"""Tokens of a lower-cased text in order; a clause break (a run of ``.,;:!?``) stops negation."""

CLAUSE_BREAK_CHARS: Final = frozenset(".,;:!?")

_MEMO_LIMIT: Final = 100_000
"""Chunks remembered with their tokens before starting over: bounds memory."""
_LONGEST_REMEMBERED: Final = 40
"""Longer chunks (links that are not URLs, runs of emoji) rarely repeat: not remembered."""


def _hashtag_words(match: re.Match[str]) -> str:
    tag = match.group(1)
    if tag.islower() or tag.isupper():
        return f" {tag.replace('_', ' ')} "
    return f" {' '.join(_CAMEL_PART.findall(tag))} "


def clean(text: str) -> str:
    """The text without URLs, handles and HTML entities, with hashtags as plain words."""
    if "&" in text:
        text = html.unescape(text)  # APIs deliver "&amp;" and "&gt;"
    if "\u2019" in text:  # typographic apostrophe
        text = text.replace("\u2019", "'")
    if "@" in text:
        if _has_email(text):
            text = _EMAIL.sub(" ", text)
        text = _HANDLE.sub(" ", text)
    if "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "#" in text:
        text = _HASHTAG.sub(_hashtag_words, text)
    return text


def _has_email(text: str) -> bool:
    """Whether an "@" follows a letter or digit, as in an e-mail address (a handle follows none)."""
    at = text.find("@", 1)
    while at > 0:
        if text[at - 1].isalnum():
            return True
        at = text.find("@", at + 1)
    return False


def tokenize(lowered: str) -> list[str]:
    """The tokens of a cleaned, lower-cased text."""
    return TOKEN.findall(lowered)


class ChunkTokens(dict[str, tuple[str, ...]]):
    """A whitespace-separated chunk of a cleaned text, as it is -> its lower-cased tokens.

    A text's tokens are its chunks' tokens, in order: no token spans whitespace (``TOKEN``
    matches none, and its look-aheads see whitespace as they see the end of a text), and
    lower-casing neither makes nor removes whitespace nor looks across it (as for a final "Σ").
    So ``tokenize(text.lower())`` is a lookup per chunk here, and a match only for a chunk not
    seen before.
    """

    __slots__ = ()

    def __missing__(self, chunk: str) -> tuple[str, ...]:
        lowered = chunk.lower()
        # A plain word is one token (``TOKEN`` matches letters and digits greedily), and
        # isalnum() is much cheaper than a match: most chunks first seen are plain words.
        tokens = (lowered,) if lowered.isalnum() else tuple(TOKEN.findall(lowered))
        if len(chunk) <= _LONGEST_REMEMBERED:
            if len(self) >= _MEMO_LIMIT:
                self.clear()
            self[chunk] = tokens
        return tokens


def shouted(word: str, text: str) -> bool:
    """Whether a lower-cased word appears in ALL CAPS as a whole token in the text.

    Asked only for the few words that carry sentiment, so tokenizing never keeps the case.
    As in VADER, ":D" and "XD" count as shouted; emoji, having no case, never do.
    """
    upper = word.upper()
    if upper == word:
        return False
    start = text.find(upper)
    while start >= 0:
        end = start + len(upper)
        if (start == 0 or not text[start - 1].isalnum()) and (
            end == len(text) or not text[end].isalnum()
        ):
            return True
        start = text.find(upper, start + 1)
    return False
