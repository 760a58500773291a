"""Per-partition state snapshots: what makes the worker's results exact after a crash.

The worker acks a Kafka message (so Faust may commit its offset) only once a snapshot that
includes it is on disk. After a crash, Faust re-delivers from the committed offset, which is never
past the last snapshot; the worker restores the snapshot and skips the messages it already
holds. Every message is therefore applied exactly once to the state, with no transactions:
records sent between the snapshot and the crash are sent again, identical and with the same keys.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

import msgspec

from brandpulse.analytics.engine import BrandSnapshot
from brandpulse.durable import replace_atomically
from brandpulse.ingest import Ingestor, IngestStats

SNAPSHOT_FORMAT: Final = 3
"""Bumped whenever the state's layout changes meaning: a worker ignores other formats.
2: minute buckets gained orders and visits. 3: a reorder buffer, watermark and care tracker
per platform, and an ``all`` series of its own."""


class PartitionSnapshot(msgspec.Struct):
    """A partition's state after its message at ``offset`` (-1: before any)."""

    offset: int
    ingest: IngestStats
    brands: dict[str, BrandSnapshot]
    format: int = SNAPSHOT_FORMAT


_decoder = msgspec.msgpack.Decoder(PartitionSnapshot)
log = logging.getLogger(__name__)


class SnapshotStore:
    """One file per partition, replaced atomically (write, fsync, rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, topic: str, partition: int) -> Path:
        return self.folder / f"{topic}-{partition}.snapshot"

    def load(self, topic: str, partition: int) -> PartitionSnapshot | None:
        path = self._path(topic, partition)
        try:
            snapshot = _decoder.decode(path.read_bytes())
        except FileNotFoundError:
            return None
        except msgspec.MsgspecError as exc:
            # A snapshot another version wrote: starting empty beats a worker that cannot start.
            log.warning(
                "ignoring unreadable snapshot %s (%s); partition %s starts empty",
                path,
                exc,
                partition,
            )
            return None
        if snapshot.format != SNAPSHOT_FORMAT:
            log.warning(
                "ignoring snapshot %s of format %s (this worker reads %s); partition %s starts "
                "empty",
                path,
                snapshot.format,
                SNAPSHOT_FORMAT,
                partition,
            )
            return None
        return snapshot

    def save(self, topic: str, partition: int, snapshot: PartitionSnapshot) -> None:
        replace_atomically(self._path(topic, partition), msgspec.msgpack.encode(snapshot))


class PartitionState:
    """What the worker holds for one partition: progress, totals, brands, and unacked events."""

    def __init__(
        self, partition: int, brands: frozenset[str], snapshot: PartitionSnapshot | None
    ) -> None:
        self.partition = partition
        self.applied = snapshot.offset if snapshot else -1
        self.ingestor = Ingestor(brands, snapshot.ingest if snapshot else None)
        self.brands: set[str] = set(snapshot.brands) if snapshot else set()
        self.pending: list[Any] = []
        """Faust events applied since the last snapshot; acked once a snapshot holds them."""
