"""`brandpulse run`, the README's first command, end to end on the test stack."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.harness import StackEnv, brandpulse


def test_run_starts_worker_and_synthetic_traffic_then_stops_cleanly(isolated: StackEnv) -> None:
    result = brandpulse(isolated, "run", "--duration", "4", "--rate", "20", timeout=180)
    assert result.returncode == 0, result.stderr
    config = isolated.config
    for name in ("kafka", "prometheus", "alertmanager"):
        assert f"{name}: already running" in result.stderr
    assert f"worker metrics  http://127.0.0.1:{config.worker.web_port}/metrics" in result.stderr
    summary = re.search(r"synthetic: (\d+) events published, 0 dead-lettered in", result.stderr)
    assert summary, result.stderr
    # 4 s at 20/s, site visits and orders at a fifth of that, follower snapshots and answers
    assert 96 <= int(summary.group(1)) <= 110
    assert "worker stopped; the stack keeps running" in result.stderr
    log = Path(config.stack.state_dir) / "logs" / "worker.log"
    assert "Worker ready" in log.read_text()
