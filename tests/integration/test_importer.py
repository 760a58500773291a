"""The JSON-lines importer on a hostile file: nothing lost, every reject explained."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

from brandpulse.config import Config
from brandpulse.contract import encode_event
from brandpulse.deadletter import decode_dead_letter
from connectors.synthetic.generator import Plan, SyntheticStream
from tests.integration.harness import (
    StackEnv,
    brandpulse,
    eventually,
    read_topic,
    running_worker,
    scrape,
    total,
)

GOOD = {
    "v": 1,
    "id": "e1",
    "platform": "mastodon",
    "brand": "acme",
    "kind": "mention",
    "time": "2026-02-01T10:00:00Z",
    "text": "Toll, @acme!",
    "lang": "de",
}


def hostile_file(path: Path) -> tuple[int, dict[int, str]]:
    """Write valid events with bad lines among them; return the valid count and the bad lines."""
    valid = [
        encode_event(e)
        for e in itertools.islice(
            SyntheticStream(Plan.from_config(Config(), datetime(2026, 2, 1, tzinfo=UTC))), 300
        )
    ]
    bad = {
        "invalid_json": b'{"v":1,"id":"x",',
        "invalid_event": json.dumps({k: v for k, v in GOOD.items() if k != "brand"}).encode(),
        "wrong_type": json.dumps({**GOOD, "time": 12345}).encode(),
        "invalid_utf8": b'{"v":1,"id":"\xc3\x28","text":"bad bytes"}',
        "too_large": b'{"v":1,"text":"' + b"z" * (5 * 1024 * 1024) + b'"}',
        "unknown_brand": json.dumps({**GOOD, "brand": "initech"}).encode(),
    }
    lines = list(valid)
    positions: dict[int, str] = {}
    for offset, line in enumerate(bad.values()):
        lines.insert(40 * (offset + 1), line)
    for number, line in enumerate(lines, start=1):
        for name, candidate in bad.items():
            if line is candidate:
                positions[number] = name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return len(valid), positions


def test_import_publishes_valid_lines_and_dead_letters_each_bad_one(
    isolated: StackEnv, logs: Path, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    valid, bad = hostile_file(path)
    config = isolated.config
    with running_worker(isolated, logs) as url:
        result = brandpulse(isolated, "import", str(path))
        assert result.returncode == 0, result.stderr
        for number, name in bad.items():
            assert f"{path}:{number}: " in result.stderr, name
        samples = eventually(
            lambda: scrape(url), lambda s: total(s, "brandpulse_events_total") >= valid
        )
        assert total(samples, "brandpulse_events_total") == valid

    letters = {
        int(d.source.rsplit(":", 1)[1]): d
        for d in (
            decode_dead_letter(r.value)
            for r in read_topic(config.bootstrap, config.kafka.dead_letter_topic, len(bad))
        )
    }
    assert set(letters) == set(bad)
    assert valid + len(letters) == path.read_bytes().count(b"\n")
    reasons = {bad[number]: letter.reason for number, letter in letters.items()}
    assert reasons == {
        "invalid_json": "invalid_json",
        "invalid_event": "invalid_event",
        "wrong_type": "invalid_event",
        "invalid_utf8": "invalid_utf8",
        "too_large": "too_large",
        "unknown_brand": "unknown_brand",
    }
    by_name = {bad[number]: letter for number, letter in letters.items()}
    assert by_name["invalid_event"].detail == "Object missing required field `brand`"
    assert by_name["wrong_type"].detail == "Expected `datetime`, got `int` - at `$.time`"
    assert by_name["invalid_utf8"].raw_base64 is not None
    big = by_name["too_large"]
    assert big.raw_bytes == 5 * 1024 * 1024 + 17
    assert big.raw is not None and len(big.raw) == big.raw_bytes and not big.raw_truncated
    assert big.raw_sha256 == hashlib.sha256(big.raw.encode()).hexdigest()
    assert all(letter.stage == "import" for letter in letters.values())
    summary = result.stderr.strip().splitlines()[-1]
    assert f"{valid:,} events published, {len(bad)} dead-lettered" in summary


def test_dry_run_validates_without_kafka(isolated: StackEnv, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(GOOD) + "\nnope\n")
    result = brandpulse(isolated, "import", "--dry-run", "--strict", str(path))
    assert result.returncode == 1
    assert f"{path}:2: invalid_json: not JSON: " in result.stderr
