"""Background processes that survive the command which started them, tracked by pid files.

A pid file records the pid and the process's start time from /proc, so ``stop`` never signals a
process that merely reused the pid: it stops exactly what ``start`` started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from brandpulse.errors import BrandpulseError


@dataclass(frozen=True)
class Tracked:
    pid: int
    started: str


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces; fields after it are space separated.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return fields[19]


def running(pid_file: Path) -> Tracked | None:
    """The process a pid file names, if it is still the same live process."""
    try:
        data = json.loads(pid_file.read_text())
        tracked = Tracked(int(data["pid"]), str(data["started"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    return tracked if _start_time(tracked.pid) == tracked.started else None


def start(argv: Sequence[str], *, pid_file: Path, log_file: Path, cwd: Path) -> Tracked:
    """Start ``argv`` detached, in its own session, with output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = _start_time(process.pid) or ""
    pid_file.write_text(json.dumps({"pid": process.pid, "started": started, "argv": list(argv)}))
    return Tracked(process.pid, started)


def stop(pid_file: Path, timeout: float = 30.0) -> bool:
    """Stop the tracked process (SIGTERM, then SIGKILL after ``timeout``); False if none ran."""
    tracked = running(pid_file)
    pid_file.unlink(missing_ok=True)
    if tracked is None:
        return False
    os.kill(tracked.pid, signal.SIGTERM)
    if not _wait(lambda: _start_time(tracked.pid) != tracked.started, timeout):
        os.kill(tracked.pid, signal.SIGKILL)
        _wait(lambda: _start_time(tracked.pid) != tracked.started, 10.0)
    return True


def wait_until(check: Callable[[], bool], *, timeout: float, alive: Callable[[], bool]) -> bool:
    """Poll ``check`` until it holds; give up early when ``alive`` says the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        if not alive():
            return False
        time.sleep(0.25)
    return False


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def log_tail(log_file: Path, lines: int = 15) -> str:
    try:
        text = log_file.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:])


def require_binary(name: str, *alternatives: str, hint: str) -> str:
    """The path of the first of ``name`` and ``alternatives`` on PATH, else a clear error."""
    for candidate in (name, *alternatives):
        path = shutil.which(candidate)
        if path:
            return path
    raise BrandpulseError(f"`{name}` not found on PATH: {hint}")
