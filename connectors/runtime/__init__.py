"""What every connector shares: checkpoints, deduplication, retries, rate limits, shutdown.

Exactly once to Kafka, across crashes
-------------------------------------
Each event has a deterministic key, ``platform:brand:platform-id`` (``event_key``); the
checkpoint remembers the keys of the newest published events (``SeenIds``) next to the
sources' cursors. A poll's new events are committed in three steps (``Runner.commit``):

1. **Intent.** The raw topic's current end offsets and the keys about to be sent are saved in
   the checkpoint (``Pending``) *before* the first send.
2. **Publish.** The events are sent and ``flush()`` waits for every ack (acks=all, idempotent
   producer, so a retried batch is not written twice).
3. **Commit.** The keys join the seen set, the new cursors replace the old, and the intent is
   cleared, in one atomic checkpoint write (temporary file, fsync, rename, fsync of the folder).

A process killed at any moment leaves one of two checkpoints. Without an intent, nothing of
the interrupted poll was sent (step 1 precedes every send) or all of it was committed (step 3):
the next poll reads from the saved cursors and the seen set drops what was already published.
With an intent, some of its events may be on Kafka and the checkpoint cannot say which; so at
start (``Runner.reconcile``) the connector reads the topic from the recorded offsets to its
current end, marks the intent's keys found there as seen and drops the intent. Everything the
dead process wrote lies after those offsets, because they were read before it sent anything;
the keys not found are sent again by the next poll, the found ones never are. So each event
lands exactly once, whatever the moment of the crash.

Two assumptions hold this up: the dead process's last produce request reached the broker
before the restarted one reads the end offsets (the kernel sends a killed process's buffered
bytes at once, a restart takes a second or more), and an item is still within the seen set's
capacity when a source shows it again (``SEEN_CAPACITY`` keys, far more than a feed's length).

Writing a connector
-------------------
Implement ``Source`` (``next_due``, ``poll``, ``done``): return events and new cursors, never
publish or persist. Use ``backoff_factory`` (a ``Backoff`` per stream) and ``rate_limit_wait``
to schedule retries per stream, ``ONCE_ATTEMPTS`` to end a one-shot run's retries,
``connectors.runtime.streaming`` to follow a long-lived subscription, ``require_env`` for
credentials and ``redact_url`` for log lines, and hand the source to ``run_connector``.
"""

from connectors.runtime.checkpoint import Checkpoint, CheckpointStore, Cursors, SeenIds
from connectors.runtime.credentials import MissingCredential, redact_url, require_env
from connectors.runtime.failures import HTTP_FAILURES, SourceError, http_failure, read_body
from connectors.runtime.ledger import event_key
from connectors.runtime.loop import Poll, Runner, Source, run_connector, state_dir
from connectors.runtime.retry import (
    ONCE_ATTEMPTS,
    Backoff,
    backoff_factory,
    rate_limit_wait,
    retry_after,
)

__all__ = [
    "HTTP_FAILURES",
    "ONCE_ATTEMPTS",
    "Backoff",
    "Checkpoint",
    "CheckpointStore",
    "Cursors",
    "MissingCredential",
    "Poll",
    "Runner",
    "SeenIds",
    "Source",
    "SourceError",
    "backoff_factory",
    "event_key",
    "http_failure",
    "rate_limit_wait",
    "read_body",
    "redact_url",
    "require_env",
    "retry_after",
    "run_connector",
    "state_dir",
]
