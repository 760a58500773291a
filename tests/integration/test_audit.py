"""`brandpulse audit` against a real worker's records on a real Kafka.

The live worker applies a negative-burst scenario from its first event on. The audit's replay
reads the raw topic by Kafka timestamp, so events are published stamped with their event time
(as in test_replay_sources), and its warm-up reaches back to the first event: the replayed
detectors learn from the same history as the live ones and must raise the same alerts.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration.harness import (
    StackEnv,
    brandpulse,
    eventually,
    running_worker,
    scrape,
    total,
)
from tests.integration.test_analytics_live import offline, topic_values, with_env
from tests.integration.test_replay_sources import publish, synthetic

BURST_AT = timedelta(hours=2)
LENGTH = BURST_AT + timedelta(minutes=20)


def audit(
    stack: StackEnv, out: Path, start: datetime, end: datetime, warmup: timedelta, *more: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = brandpulse(
        stack,
        "audit",
        *("--start", start.isoformat(), "--end", end.isoformat()),
        *("--warmup", str(warmup.total_seconds()), "--out", str(out)),
        *more,
    )
    assert result.returncode in (0, 4), result.stderr
    assert (out / "audit.html").read_text().startswith("<!DOCTYPE html>")
    return result, json.loads((out / "audit.json").read_text())


def test_audit_agrees_with_the_live_worker_and_spots_a_changed_threshold(
    isolated: StackEnv, logs: Path, tmp_path: Path
) -> None:
    stack = with_env(
        isolated,
        BRANDPULSE_SYNTHETIC__SCENARIO="negative-burst",
        BRANDPULSE_SYNTHETIC__SCENARIO_BRAND="globex",
        BRANDPULSE_SYNTHETIC__SCENARIO_START=str(BURST_AT.total_seconds()),
        BRANDPULSE_SYNTHETIC__SCENARIO_DURATION="3600",
    )
    config = stack.config
    first = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    events = [e for e in synthetic(config, first, 80_000) if e.time < first + LENGTH]
    want_windows, want_alerts = offline(config, events)
    assert want_alerts, "the scenario should raise alerts"
    with running_worker(stack, logs) as url:
        publish(config, events)
        counted = eventually(
            lambda: total(scrape(url), "brandpulse_events_total"),
            lambda n: n >= len(events),
            timeout=90,
        )
        assert counted == len(events)
        assert len(topic_values(config, config.kafka.alerts_topic, len(want_alerts))) >= len(
            want_alerts
        )
        assert len(topic_values(config, config.kafka.windows_topic, len(want_windows))) >= len(
            want_windows
        )

    start, end = first + BURST_AT - timedelta(minutes=30), first + LENGTH
    warmup = start - first
    agreed, report = audit(stack, tmp_path / "same", start, end, warmup)
    assert agreed.returncode == 0, agreed.stdout + agreed.stderr
    assert "live and replay agree" in agreed.stdout
    counts = report["counts"]
    assert report["verdict"] == "agree"
    assert counts["matched"] == counts["live_alerts"] == counts["replay_alerts"] >= 1
    assert counts["missing_in_replay"] == counts["extra_in_replay"] == 0
    assert counts["live_windows"] == counts["replay_windows"] > 0
    assert all(pair["delta_seconds"] == 0 for pair in report["alerts"]["matched"])
    assert {pair["brand"] for pair in report["alerts"]["matched"]} == {"globex"}
    assert all(t["difference"] == 0 for t in report["totals"])
    assert (tmp_path / "same" / "replay" / "summary.json").exists()

    archive = tmp_path / "archive"
    archived = brandpulse(stack, "archive", "run", "--dir", str(archive), "--until-caught-up")
    assert archived.returncode == 0, archived.stderr
    from_archive, archived_report = audit(
        stack, tmp_path / "archived", start, end, warmup, "--from-archive", str(archive)
    )
    assert from_archive.returncode == 0, from_archive.stdout + from_archive.stderr
    assert archived_report["counts"] == counts
    assert archived_report["provenance"]["source"]["archive"] == str(archive)

    deaf = with_env(stack, BRANDPULSE_SPIKES__OPEN_THRESHOLD="1000")
    differed, changed = audit(deaf, tmp_path / "deaf", start, end, warmup)
    assert differed.returncode == 4, differed.stdout + differed.stderr
    assert "DIFFER" in differed.stdout
    assert changed["verdict"] == "differ"
    missing = changed["alerts"]["missing_in_replay"]
    live_ids = {p["live_id"] for p in report["alerts"]["matched"]}
    assert {a["id"] for a in missing} == live_ids
    assert changed["counts"]["replay_alerts"] == 0
    assert changed["counts"]["differing_windows"] == 0
