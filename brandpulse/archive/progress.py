"""Progress of a long archive run on stderr: every second on a terminal, every 10 s in logs."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.interval = 1.0 if stream.isatty() else 10.0
        self.messages = 0
        self._started = self._last = time.monotonic()

    def count(self, messages: int, segments: int) -> None:
        """Add ``messages``; print a line when the interval has passed."""
        self.messages += messages
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._write(f"{self._totals(segments)} ({self._rate(now):,.0f} messages/s)")

    def finish(self, segments: int, why: str) -> None:
        now = time.monotonic()
        self._write(
            f"{self._totals(segments)} in {now - self._started:.1f} s "
            f"({self._rate(now):,.0f} messages/s); {why}"
        )

    def _totals(self, segments: int) -> str:
        return f"{self.label}: {self.messages:,} messages archived, {segments:,} segments closed"

    def _rate(self, now: float) -> float:
        return self.messages / max(now - self._started, 1e-9)

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
