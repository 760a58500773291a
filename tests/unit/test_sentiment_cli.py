"""``score_lines``: one output line per input line, in order, with precise errors."""

from __future__ import annotations

import io
import json
from typing import Any

from brandpulse.sentiment import Sentiment, default_scorer
from brandpulse.sentiment.cli import score_lines


class FixedScorer:
    """Returns a set score and records what it was asked, to check what reaches the scorer."""

    def __init__(self, score: float) -> None:
        self.value = score
        self.calls: list[tuple[str, str | None]] = []

    def score(self, text: str, lang: str | None = None) -> Sentiment:
        self.calls.append((text, lang))
        return Sentiment(self.value, "positive")


def run(lines: list[bytes] | list[str], scorer: Any = None) -> tuple[int, list[dict[str, Any]]]:
    out = io.StringIO()
    errors = score_lines(lines, out, scorer or default_scorer())
    return errors, [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_line_is_scored_in_order_with_score_rounded_to_four_places() -> None:
    scorer = default_scorer()
    texts = ["Great service, thank you!", "Total enttäuscht 😡", "Opening hours on Sunday?"]
    errors, results = run([json.dumps({"text": text}) for text in texts])
    assert errors == 0
    expected = [scorer.score(text) for text in texts]
    assert results == [
        {"score": round(sentiment.score, 4), "label": sentiment.label} for sentiment in expected
    ]
    assert [result["label"] for result in results] == ["positive", "negative", "neutral"]


def test_lang_is_passed_to_the_scorer_and_may_be_missing_or_null() -> None:
    scorer = FixedScorer(0.123456)
    lines = [
        b'{"text": "gut", "lang": "de"}',
        b'{"text": "good"}',
        b'{"text": "good", "lang": null}',
    ]
    errors, results = run(lines, scorer)
    assert errors == 0
    assert scorer.calls == [("gut", "de"), ("good", None), ("good", None)]
    assert results == [{"score": 0.1235, "label": "positive"}] * 3


def test_negative_zero_is_written_as_zero() -> None:
    _, results = run(['{"text": "x"}'], FixedScorer(-0.00001))
    assert json.dumps(results[0]["score"]) == "0.0"


def test_invalid_lines_get_an_error_line_and_keep_the_output_aligned() -> None:
    lines = [
        b'{"text": "great"}',
        b'{"text": ',
        b"[1, 2]",
        b'{"lang": "en"}',
        b'{"text": 42}',
        b'{"text": "ok", "lang": 7}',
        b"\xff\xfe",
        b"",
        b'{"text": "bad"}',
    ]
    errors, results = run(lines)
    assert errors == 7
    assert len(results) == len(lines)
    assert results[0]["label"] == "positive"
    assert results[-1]["label"] == "negative"
    assert results[1:-1] == [
        {"error": "invalid JSON: Expecting value at column 10", "line": 2},
        {"error": "expected a JSON object, got array", "line": 3},
        {"error": 'missing "text"', "line": 4},
        {"error": '"text" must be a string, got number', "line": 5},
        {"error": '"lang" must be a string or null, got number', "line": 6},
        {"error": "invalid UTF-8 at byte 0", "line": 7},
        {"error": "invalid JSON: Expecting value at column 1", "line": 8},
    ]


def test_text_and_str_lines_with_line_breaks_are_accepted() -> None:
    errors, results = run(['{"text": "good"}\n', '{"text": "bad"}\r\n'])
    assert errors == 0
    assert [result["label"] for result in results] == ["positive", "negative"]


def test_null_text_is_an_error_not_an_empty_text() -> None:
    errors, results = run(['{"text": null}', '{"text": ""}'])
    assert errors == 1
    assert results == [
        {"error": '"text" must be a string, got null', "line": 1},
        {"score": 0.0, "label": "neutral"},
    ]
