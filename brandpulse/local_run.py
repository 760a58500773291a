"""``brandpulse run``: the whole system on one machine, for a first look and for demos."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from brandpulse.config import Config
from brandpulse.errors import BrandpulseError
from brandpulse.stack import Stack
from brandpulse.stack.procs import log_tail, wait_until
from brandpulse.stack.services import http_ok
from connectors.synthetic.connector import run_synthetic

WORKER_START_SECONDS = 90.0
PROGRESS_SECONDS = 10.0


def run_local(config: Config, *, duration: float | None, config_file: str | None) -> int:
    Stack(config).up()
    log_file = Path(config.stack.state_dir) / "logs" / "worker.log"
    worker = _start_worker(config_file, log_file)
    try:
        _await_worker(config, worker, log_file)
        _announce(config, log_file)
        run_synthetic(config, duration=duration, progress_every=PROGRESS_SECONDS)
    finally:
        _stop(worker)
        print(
            "worker stopped; the stack keeps running (`brandpulse stack down` stops it)",
            file=sys.stderr,
        )
    return 0


def _start_worker(config_file: str | None, log_file: Path) -> subprocess.Popen[bytes]:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "brandpulse.cli"]
    if config_file:
        argv += ["--config", config_file]
    with log_file.open("ab") as log:
        return subprocess.Popen(
            [*argv, "worker"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _await_worker(config: Config, worker: subprocess.Popen[bytes], log_file: Path) -> None:
    url = f"http://{config.worker.web_host}:{config.worker.web_port}/metrics"
    if not wait_until(
        lambda: http_ok(url), timeout=WORKER_START_SECONDS, alive=lambda: worker.poll() is None
    ):
        raise BrandpulseError(
            f"the worker did not start; last lines of {log_file}:\n{log_tail(log_file)}"
        )


def _announce(config: Config, log_file: Path) -> None:
    stack, worker = config.stack, config.worker
    print(
        "brandpulse is running (Ctrl-C stops the worker and the synthetic connector)\n"
        f"  worker metrics  http://{worker.web_host}:{worker.web_port}/metrics"
        f"  (log: {log_file})\n"
        f"  Prometheus      http://127.0.0.1:{stack.prometheus_port}"
        "  try: sum by (brand) (rate(brandpulse_events_total[1m]))\n"
        f"  Alertmanager    http://127.0.0.1:{stack.alertmanager_port}\n"
        f"  Kafka           {config.bootstrap}  topic {config.kafka.raw_topic}",
        file=sys.stderr,
        flush=True,
    )


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
