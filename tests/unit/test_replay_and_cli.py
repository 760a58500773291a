"""`brandpulse replay` and `brandpulse sentiment` as a user runs them (no services needed)."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from brandpulse import __version__
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


START, END = "2026-06-01T09:02:00+00:00", "2026-06-01T09:05:00+00:00"
T1, T2 = datetime.fromisoformat(START), datetime.fromisoformat(END)


def at(line: bytes) -> datetime:
    return datetime.fromisoformat(json.loads(line)["time"])


def replay_range(source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli(
        "replay", "--input", str(source), "--out", str(out), "--start", START, "--end", END, *extra
    )


def window_lines(folder: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (folder / "windows.jsonl").open()]


def test_a_range_writes_what_a_full_replay_writes_in_it(tmp_path: Path) -> None:
    """With the warm-up covering the file, only the output is cut to [start, end)."""
    source = events_file(tmp_path / "events.jsonl", 20_000)
    until_end = tmp_path / "until-end.jsonl"
    until_end.write_bytes(
        b"".join(
            line for line in source.open("rb") if not line.startswith(b"{not") and at(line) < T2
        )
    )
    assert cli("replay", "--input", str(until_end), "--out", str(tmp_path / "full")).returncode == 0
    result = replay_range(source, tmp_path / "range")
    assert result.returncode == 0, result.stderr

    expected = [
        w
        for w in window_lines(tmp_path / "full")
        if T1 <= datetime.fromisoformat(str(w["end"])) < T2
    ]
    assert expected and window_lines(tmp_path / "range") == expected
    summary = json.loads((tmp_path / "range" / "summary.json").read_text())
    assert (
        summary["start"] == START and summary["end"] == END and summary["warmup_seconds"] == 172800
    )
    assert summary["warmup_events"] > 0
    assert summary["events"] + summary["outside_range"] == 20_000
    assert summary["windows"] == len(expected)


def test_without_warmup_the_first_windows_miss_the_events_before_the_start(tmp_path: Path) -> None:
    source = events_file(tmp_path / "events.jsonl", 20_000)
    assert replay_range(source, tmp_path / "warm").returncode == 0
    assert replay_range(source, tmp_path / "cold", "--warmup", "0").returncode == 0
    warm, cold = (
        {(w["brand"], w["platform"], w["window"], w["end"]): w["mentions"] for w in window_lines(d)}
        for d in (tmp_path / "warm", tmp_path / "cold")
    )
    assert set(cold) < set(warm)  # the minute ending at the start has no events without warm-up
    assert all(int(str(cold[k])) <= int(str(warm[k])) for k in cold)
    assert any(cold[k] != warm[k] for k in cold if k[2] == "5m")
    summary = json.loads((tmp_path / "cold" / "summary.json").read_text())
    assert summary["warmup_events"] == 0 and summary["outside_range"] > 0


def test_brand_filter_applies_one_brand_and_counts_the_rest(tmp_path: Path) -> None:
    source = events_file(tmp_path / "events.jsonl", 20_000)
    result = cli("replay", "--input", str(source), "--out", str(tmp_path / "o"), "--brand", "acme")
    assert result.returncode == 0, result.stderr
    assert {w["brand"] for w in window_lines(tmp_path / "o")} == {"acme"}
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["brand"] == "acme" and summary["other_brands"] > 0
    assert summary["events"] + summary["other_brands"] == 20_000


def test_summary_carries_provenance(tmp_path: Path) -> None:
    source = events_file(tmp_path / "events.jsonl", 2_000)
    assert cli("replay", "--input", str(source), "--out", str(tmp_path / "o")).returncode == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["source"] == {
        "file": str(source),
        "bytes": source.stat().st_size,
        "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
    }
    assert summary["version"] == __version__
    assert summary["config_sha256"] == hashlib.sha256(msgspec.json.encode(Config())).hexdigest()
    assert msgspec.convert(summary["config"], Config) == Config()


def test_replay_refuses_bad_ranges_and_brands(tmp_path: Path) -> None:
    source = events_file(tmp_path / "events.jsonl", 100)
    out = str(tmp_path / "o")
    backwards = cli("replay", "--input", str(source), "--out", out, "--start", END, "--end", START)
    assert backwards.returncode == 2
    assert backwards.stderr.strip() == f"brandpulse: --end {START} is not after --start {END}"
    half = cli("replay", "--input", str(source), "--out", out, "--start", START)
    assert half.returncode == 2 and "give both --start and --end" in half.stderr
    unknown = cli("replay", "--input", str(source), "--out", out, "--brand", "initech")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "brandpulse: --brand 'initech' is not configured"
    no_zone = cli("replay", "--input", str(source), "--out", out, "--start", "2026-06-01T09:00")
    assert no_zone.returncode == 2 and "give a time zone" in no_zone.stderr


def test_a_range_without_events_says_so_and_exits_0(tmp_path: Path) -> None:
    source = events_file(tmp_path / "events.jsonl", 2_000)
    later = ("--start", "2026-06-02T00:00:00Z", "--end", "2026-06-03T00:00:00Z")
    result = cli("replay", "--input", str(source), "--out", str(tmp_path / "o"), *later)
    assert result.returncode == 0, result.stderr
    assert "brandpulse: no events between 2026-06-02T00:00:00+00:00 and " in result.stderr
    assert (tmp_path / "o" / "windows.jsonl").read_bytes() == b""
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["events"] == summary["warmup_events"] == 2_000


def test_every_connector_command_runs_its_connectors_run_function() -> None:
    import importlib

    from brandpulse.connector_commands import CONNECTORS

    for spec in CONNECTORS:
        module = importlib.import_module(f"connectors.{spec.name}.connector")
        assert callable(getattr(module, f"run_{spec.name}")), spec.name
        help_text = subprocess.run(
            [sys.executable, "-m", "brandpulse.cli", spec.name, "--help"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"STATE_DIR/connectors/{spec.name}/" in help_text and "--once" in help_text
