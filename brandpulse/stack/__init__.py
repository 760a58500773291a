"""The local stack: Kafka, Prometheus and Alertmanager on loopback, without containers.

State (configs, data, logs, pid files) lives below ``stack.state_dir``; ``up`` is idempotent and
``down`` stops only the processes that ``up`` started.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from brandpulse.config import Config
from brandpulse.errors import BrandpulseError
from brandpulse.stack import procs
from brandpulse.stack.services import Service, services


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str
    """``healthy``, ``starting`` (running but not answering yet) or ``stopped``."""
    pid: int | None
    address: str


class Stack:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.root = Path(config.stack.state_dir).resolve()
        self.services = services(config)

    def _pid_file(self, service: Service) -> Path:
        return self.root / "run" / f"{service.name}.pid"

    def _log_file(self, service: Service) -> Path:
        return self.root / "logs" / f"{service.name}.log"

    def up(self) -> None:
        for service in self.services:
            self._up(service)

    def _up(self, service: Service) -> None:
        pid_file = self._pid_file(service)
        tracked = procs.running(pid_file)
        if tracked is not None:
            self._await_health(service, tracked.pid)
            _say(f"{service.name}: already running (pid {tracked.pid}) at {service.address}")
            return
        if not procs.port_free(service.port):
            raise BrandpulseError(
                f"{service.name}: port {service.port} is taken by another process; stop it or "
                f"choose another port (BRANDPULSE_STACK__{service.name.upper()}_PORT)"
            )
        home = self.root / service.name
        home.mkdir(parents=True, exist_ok=True)
        argv = service.prepare(home)
        tracked = procs.start(argv, pid_file=pid_file, log_file=self._log_file(service), cwd=home)
        self._await_health(service, tracked.pid)
        _say(f"{service.name}: started (pid {tracked.pid}) at {service.address}")

    def _await_health(self, service: Service, pid: int) -> None:
        pid_file = self._pid_file(service)
        if procs.wait_until(
            service.healthy,
            timeout=self.config.stack.start_timeout,
            alive=lambda: procs.running(pid_file) is not None,
        ):
            return
        died = procs.running(pid_file) is None
        procs.stop(pid_file)
        what = (
            "exited" if died else f"did not answer within {self.config.stack.start_timeout:.0f} s"
        )
        raise BrandpulseError(
            f"{service.name} (pid {pid}) {what}; last lines of {self._log_file(service)}:\n"
            f"{procs.log_tail(self._log_file(service))}"
        )

    def down(self) -> None:
        for service in reversed(self.services):
            pid_file = self._pid_file(service)
            tracked = procs.running(pid_file)
            if procs.stop(pid_file):
                _say(f"{service.name}: stopped (pid {tracked.pid if tracked else '?'})")
            else:
                _say(f"{service.name}: not running")

    def status(self) -> list[ServiceStatus]:
        result = []
        for service in self.services:
            tracked = procs.running(self._pid_file(service))
            if tracked is None:
                result.append(ServiceStatus(service.name, "stopped", None, service.address))
                continue
            state = "healthy" if service.healthy() else "starting"
            result.append(ServiceStatus(service.name, state, tracked.pid, service.address))
        return result


def format_status(statuses: list[ServiceStatus]) -> str:
    rows = [("SERVICE", "STATE", "PID", "ADDRESS")]
    rows += [(s.name, s.state, str(s.pid or "-"), s.address) for s in statuses]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
