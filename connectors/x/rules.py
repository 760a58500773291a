"""The filtered stream's rules: one per brand, tagged with the brand's name, and kept equal to
the configuration on the server.

A rule the server holds but the configuration does not (another value, another tag, or a
duplicate) is deleted; a configured rule the server lacks is added. Deleting comes first, so an
app near its rule limit can still swap rules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import msgspec

from brandpulse.config import BrandConfig, XConfig
from brandpulse.errors import UsageError
from connectors.runtime import SourceError
from connectors.x.api import XApi
from connectors.x.mapping import Problem

RULES_PATH: Final = "/2/tweets/search/stream/rules"
_BARE: Final = re.compile(r"^[\w$#@.'-]+$")
"""A keyword X reads as one token, unquoted."""
log = logging.getLogger("brandpulse.x")


@dataclass(frozen=True)
class Rule:
    value: str
    tag: str


class ServerRule(msgspec.Struct, frozen=True):
    id: str
    value: str
    tag: str = ""


class Summary(msgspec.Struct, frozen=True):
    created: int = 0
    not_created: int = 0
    valid: int = 0
    invalid: int = 0
    deleted: int = 0
    not_deleted: int = 0


class RulesMeta(msgspec.Struct, frozen=True):
    result_count: int = 0
    summary: Summary = msgspec.field(default_factory=Summary)


class RulesAnswer(msgspec.Struct, frozen=True):
    """What both GET and POST of the rules endpoint answer."""

    data: list[ServerRule] = []
    meta: RulesMeta = msgspec.field(default_factory=RulesMeta)
    errors: list[Problem] = []


def build_rule(brand: BrandConfig, max_length: int, value: str = "") -> Rule:
    """``value``, or the brand's keywords (quoted when X would split them) and, per X handle,
    ``@handle OR from:handle OR to:handle``: mentions, the brand's own posts, replies to it."""
    if not value:
        terms = [_keyword(k) for k in brand.keywords if k.strip()]
        for handle in (h.strip().lstrip("@") for h in brand.accounts.get("x", [])):
            if handle:
                terms += [f"@{handle}", f"from:{handle}", f"to:{handle}"]
        value = " OR ".join(dict.fromkeys(terms))
    if not value:
        raise UsageError(f"brand {brand.name} has no keywords or X handles to build a rule from")
    if len(value) > max_length:
        raise UsageError(
            f"the X rule of brand {brand.name} is {len(value)} characters, over the limit of "
            f"{max_length} ([x] max_rule_length): give it a shorter rule in [x] brands"
        )
    return Rule(value, brand.name)


def _keyword(keyword: str) -> str:
    keyword = keyword.strip()
    return keyword if _BARE.match(keyword) else '"' + keyword.replace('"', '\\"') + '"'


def configured_rules(brands: Iterable[BrandConfig], config: XConfig) -> list[Rule]:
    """The rules of ``[x] brands``, or (when that is empty) of every brand with keywords or X
    handles."""
    known = {brand.name: brand for brand in brands}
    unknown = sorted({entry.brand for entry in config.brands} - set(known))
    if unknown:
        raise UsageError(f"[x] names brands that are not configured: {unknown}")
    if config.brands:
        return [build_rule(known[e.brand], config.max_rule_length, e.rule) for e in config.brands]
    wanted = [b for b in known.values() if b.keywords or b.accounts.get("x")]
    if not wanted:
        raise UsageError("nothing to follow on X: give brands keywords or accounts.x handles")
    return [build_rule(brand, config.max_rule_length) for brand in wanted]


def rule_diff(server: list[ServerRule], wanted: list[Rule]) -> tuple[list[str], list[Rule]]:
    """The ids of server rules to delete and the rules to add, so that the server holds exactly
    ``wanted`` (each once)."""
    missing = list(dict.fromkeys(wanted))
    stale: list[str] = []
    for rule in server:
        found = Rule(rule.value, rule.tag)
        if found in missing:
            missing.remove(found)
        else:
            stale.append(rule.id)
    return stale, missing


def sync_rules(api: XApi, wanted: list[Rule]) -> tuple[int, int]:
    """Make the server's rules ``wanted``; returns how many were deleted and added."""
    current = _decode(api.get(RULES_PATH).body, "listing")
    stale, missing = rule_diff(current.data, wanted)
    if stale:
        answer = _decode(api.post(RULES_PATH, {"delete": {"ids": stale}}).body, "deleting")
        if answer.meta.summary.not_deleted or answer.errors:
            raise SourceError("rules", f"deleting rules failed: {_problems(answer)}")
    if missing:
        body = {"add": [{"value": r.value, "tag": r.tag} for r in missing]}
        answer = _decode(api.post(RULES_PATH, body).body, "adding")
        summary = answer.meta.summary
        if summary.not_created or summary.invalid or answer.errors:
            raise SourceError("rules", f"adding rules failed: {_problems(answer)}")
    log.info("stream rules synced: %d deleted, %d added", len(stale), len(missing))
    return len(stale), len(missing)


def _decode(body: bytes, doing: str) -> RulesAnswer:
    try:
        return msgspec.json.decode(body, type=RulesAnswer)
    except msgspec.DecodeError as exc:
        raise SourceError("parse", f"{doing} stream rules: unexpected answer: {exc}") from None


def _problems(answer: RulesAnswer) -> str:
    found = [f"{p.title}: {p.detail}" if p.detail else p.title for p in answer.errors]
    return "; ".join(found) or f"summary {msgspec.json.encode(answer.meta.summary).decode()}"
