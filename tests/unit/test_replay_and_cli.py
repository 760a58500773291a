"""`brandpulse replay` and `brandpulse sentiment` as a user runs them (no services needed)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from brandpulse.config import Config
from brandpulse.contract import encode_event
from connectors.synthetic.generator import Plan, SyntheticStream

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brandpulse.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )


def events_file(path: Path, count: int) -> Path:
    plan = Plan.from_config(Config(), datetime(2026, 6, 1, 9, tzinfo=UTC))
    lines = [encode_event(e) for e in itertools.islice(SyntheticStream(plan), count)]
    lines.insert(100, b"{not json")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_replay_writes_the_same_bytes_every_time(tmp_path: Path) -> None:
    source = events_file(tmp_path / "events.jsonl", 20_000)
    outputs = []
    for name in ("a", "b"):
        result = cli("replay", "--input", str(source), "--out", str(tmp_path / name), "--drain")
        assert result.returncode == 0, result.stderr
        outputs.append({f.name: f.read_bytes() for f in sorted((tmp_path / name).iterdir())})
    assert outputs[0] == outputs[1]
    files = outputs[0]
    assert set(files) == {
        "windows.jsonl",
        "alerts.jsonl",
        "share_of_voice.jsonl",
        "rejected.jsonl",
        "summary.json",
    }
    summary = json.loads(files["summary.json"])
    assert summary["lines"] == 20_001
    assert summary["events"] == 20_000
    assert summary["rejected"] == 1
    assert json.loads(files["rejected.jsonl"]) == {
        "line": 101,
        "reason": "invalid_json",
        "detail": "not JSON: JSON is malformed: object keys must be strings (byte 1)",
    }
    assert summary["windows"] == files["windows.jsonl"].count(b"\n")
    assert "20,000 events" in result.stderr


def test_share_of_voice_of_rivals_adds_up_to_one(tmp_path: Path) -> None:
    source = events_file(tmp_path / "events.jsonl", 20_000)
    assert cli("replay", "--input", str(source), "--out", str(tmp_path / "out")).returncode == 0
    shares = [json.loads(line) for line in (tmp_path / "out" / "share_of_voice.jsonl").open()]
    assert {s["brand"] for s in shares} == {"acme", "globex"}  # kaffeehaus has no competitors
    pairs: dict[tuple[str, str], float] = {}
    for share in shares:
        if share["share"] is not None:
            key = (share["end"], share["window"])
            pairs[key] = pairs.get(key, 0.0) + share["share"]
    assert pairs and all(abs(total - 1.0) < 1e-9 for total in pairs.values())


def test_replay_names_a_missing_input(tmp_path: Path) -> None:
    result = cli("replay", "--input", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path))
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"brandpulse: cannot read {tmp_path / 'nope.jsonl'}: "
        "No such file or directory"
    )


def test_sentiment_command_scores_lines_and_flags_bad_ones() -> None:
    stdin = (
        "\n".join(
            [
                json.dumps({"text": "I love this, great service!", "lang": "en"}),
                json.dumps(
                    {"text": "Lieferung seit Wochen nicht da, total enttäuscht", "lang": "de"}
                ),
                "oops",
            ]
        )
        + "\n"
    )
    result = cli("sentiment", stdin=stdin)
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["label"] == "positive" and out[0]["score"] > 0
    assert out[1]["label"] == "negative" and out[1]["score"] < 0
    assert out[2]["line"] == 3 and "error" in out[2]
