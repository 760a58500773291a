"""Graceful stops for long-running commands (connectors, webhooks, the archiver).

SIGTERM and SIGINT only set an event: the command's loop checks it between units of work (a
poll and its commit, a request, a message), so no unit is cut in half and buffers are flushed
and state saved on the way out.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Make SIGTERM and SIGINT set ``stop`` for the ``with`` block (a no-op outside the main
    thread, where Python cannot install handlers: tests run loops there and set ``stop``)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, finishing the work in progress", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
