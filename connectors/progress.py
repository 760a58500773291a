"""Progress lines on stderr for long-running connectors, at most one a second."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TextIO


class Progress:
    def __init__(self, label: str, *, interval: float = 1.0, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.interval = interval
        self.stream = stream
        self.published = 0
        self.dead_lettered: Counter[str] = Counter()
        self._started = self._last = time.monotonic()

    def count(self, published: int = 0, dead_letter_reason: str | None = None) -> None:
        self.published += published
        if dead_letter_reason is not None:
            self.dead_lettered[dead_letter_reason] += 1
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._write(f"{self.summary()} ({self.rate():,.0f} events/s)")

    def rate(self) -> float:
        return self.published / max(time.monotonic() - self._started, 1e-9)

    def summary(self) -> str:
        dead = sum(self.dead_lettered.values())
        text = f"{self.label}: {self.published:,} events published, {dead:,} dead-lettered"
        if dead:
            text += (
                " (" + ", ".join(f"{r} {n}" for r, n in sorted(self.dead_lettered.items())) + ")"
            )
        return text

    def finish(self) -> None:
        elapsed = time.monotonic() - self._started
        self._write(f"{self.summary()} in {elapsed:.1f} s ({self.rate():,.0f} events/s)")

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
