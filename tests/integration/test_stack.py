"""`brandpulse stack up|down|status` on its own ports and state folder, as documented."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from brandpulse.stack.procs import port_free
from tests.integration.harness import StackEnv, brandpulse, stack_env


def test_up_twice_status_and_down(tmp_path: Path) -> None:
    stack = stack_env(tmp_path / "state")
    config = stack.config
    first = brandpulse(stack, "stack", "up")
    assert first.returncode == 0, first.stderr
    try:
        for name in ("kafka", "prometheus", "alertmanager"):
            assert f"{name}: started (pid " in first.stderr
        again = brandpulse(stack, "stack", "up")
        assert again.returncode == 0, again.stderr
        for name in ("kafka", "prometheus", "alertmanager"):
            assert f"{name}: already running (pid " in again.stderr

        status = brandpulse(stack, "stack", "status")
        assert status.returncode == 0, status.stdout
        rows = {line.split()[0]: line.split() for line in status.stdout.splitlines()[1:]}
        assert {name: row[1] for name, row in rows.items()} == {
            "kafka": "healthy",
            "prometheus": "healthy",
            "alertmanager": "healthy",
        }
        pids = [int(row[2]) for row in rows.values()]
        state = Path(config.stack.state_dir)
        for name in rows:
            assert (state / "logs" / f"{name}.log").exists()
            assert (state / "run" / f"{name}.pid").exists()
    finally:
        down = brandpulse(stack, "stack", "down")
    assert down.returncode == 0, down.stderr
    for name in ("kafka", "prometheus", "alertmanager"):
        assert f"{name}: stopped (pid " in down.stderr
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        )
    for port in (
        config.stack.kafka_port,
        config.stack.prometheus_port,
        config.stack.alertmanager_port,
    ):
        assert port_free(port)
    after = brandpulse(stack, "stack", "status")
    assert after.returncode == 3
    assert [line.split()[1] for line in after.stdout.splitlines()[1:]] == ["stopped"] * 3
    assert "kafka: not running" in brandpulse(stack, "stack", "down").stderr


def test_a_taken_port_is_named_and_nothing_is_left_running(tmp_path: Path) -> None:
    stack = stack_env(tmp_path / "state")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", stack.config.stack.kafka_port))
        blocker.listen()
        result = brandpulse(stack, "stack", "up")
    assert result.returncode == 1
    port = stack.config.stack.kafka_port
    assert result.stderr.strip() == (
        f"brandpulse: kafka: port {port} is taken by another process; stop it or choose "
        "another port (BRANDPULSE_STACK__KAFKA_PORT)"
    )


def test_missing_java_is_explained(tmp_path: Path) -> None:
    stack = stack_env(tmp_path / "state")
    bare = StackEnv({**stack.env}, {})
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env_path = os.environ.get("PATH", "")
    os.environ["PATH"] = str(empty_bin)
    try:
        result = brandpulse(bare, "stack", "up")
    finally:
        os.environ["PATH"] = env_path
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == (
        "brandpulse: `java` not found on PATH: Kafka needs a Java 17+ runtime "
        "(apt-get install openjdk-17-jre-headless)"
    )
    assert sys.executable
