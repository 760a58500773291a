"""Scoring JSON lines for ``brandpulse sentiment``: one output line per input line, in order.

Input lines are ``{"text": ..., "lang": ...}`` (``lang`` optional); output lines are
``{"score": ..., "label": ...}``, or ``{"error": ..., "line": N}`` for a line that cannot be
scored, so that output line N always answers input line N.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from brandpulse.sentiment.interface import Scorer

SCORE_DIGITS = 4


class InvalidLine(ValueError):
    """An input line that cannot be scored; the message says why."""


def score_lines(lines: Iterable[bytes | str], out: TextIO, scorer: Scorer) -> int:
    """Writes one result line per input line to ``out``; returns how many lines were invalid."""
    errors = 0
    for number, line in enumerate(lines, 1):
        try:
            text, lang = parse_line(line)
        except InvalidLine as exc:
            errors += 1
            result: dict[str, Any] = {"error": str(exc), "line": number}
        else:
            sentiment = scorer.score(text, lang)
            result = {"score": round(sentiment.score, SCORE_DIGITS) + 0.0, "label": sentiment.label}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return errors


def parse_line(line: bytes | str) -> tuple[str, str | None]:
    """The text and language of one input line, or ``InvalidLine`` saying what is wrong."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidLine(f"invalid UTF-8 at byte {exc.start}") from None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidLine(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(row, dict):
        raise InvalidLine(f"expected a JSON object, got {_json_type(row)}")
    if "text" not in row:
        raise InvalidLine('missing "text"')
    text, lang = row["text"], row.get("lang")
    if not isinstance(text, str):
        raise InvalidLine(f'"text" must be a string, got {_json_type(text)}')
    if lang is not None and not isinstance(lang, str):
        raise InvalidLine(f'"lang" must be a string or null, got {_json_type(lang)}')
    return text, lang


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number"}
    if value is None:
        return "null"
    return names.get(type(value), "number")
