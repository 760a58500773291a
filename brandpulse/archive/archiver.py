"""The archive as a state machine: messages in, closed segments and a manifest out, crash-safe.

No Kafka here: the sink feeds it what it consumes. A message first lands in its partition's
open segment (a ``.partial`` file). A segment closes when a message of a later hour arrives,
when it has been open ``max_open_seconds``, or when archiving stops cleanly; closing makes the
file immutable and only then lists it in the manifest. Whatever a crash leaves unlisted is
deleted at the next start and read again from Kafka, so the archive never has a gap or a
duplicate, whenever the process dies.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple

from brandpulse.archive.manifest import Manifest, load_manifest, save_manifest
from brandpulse.archive.segments import (
    PARTIAL_SUFFIX,
    SUFFIX,
    ArchivedMessage,
    SegmentHeader,
    SegmentWriter,
    hour_of,
)
from brandpulse.errors import BrandpulseError

LOCK_NAME = ".lock"


class Archiver:
    """Writes one topic's messages into ``folder``; use it as a context manager.

    Leaving the ``with`` block normally closes every open segment; leaving it with an exception
    drops them instead (a half-written record must never become part of an immutable segment).
    Call ``resume_from`` for each partition before adding its messages.
    """

    def __init__(
        self,
        folder: Path,
        topic: str,
        brands: Iterable[str],
        *,
        max_open_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self._max_open_seconds = max_open_seconds
        self.segments_closed = 0
        self._clock = clock
        self._brands = tuple(sorted(brands))
        self._topic = topic
        self._lock = _lock(folder)
        try:
            self.manifest = _manifest_for(folder, topic)
            self.removed = _remove_uncommitted(folder, self.manifest)
        except BaseException:
            self._lock.close()
            raise
        self._next = self.manifest.next_offsets()
        self._open: dict[int, tuple[SegmentWriter, float]] = {}

    def resume_from(self, partition: int, earliest: int, end: int) -> Resume:
        """Where to read ``partition`` from: after its last archived message.

        ``earliest`` and ``end`` are the oldest offset Kafka still holds and the offset after its
        newest. A partition not archived yet starts at ``earliest``; so does one whose next
        offset Kafka has already deleted, and its segment then records where it really started,
        so ``verify`` reports the gap.
        """
        archived = self._next.get(partition)
        if archived is not None and archived > end:
            raise BrandpulseError(
                f"{self.folder} holds partition {partition} up to offset {archived - 1}, but "
                f"{self._topic} ends at offset {end - 1}: was the topic deleted and created again? "
                "Archive it into a new --dir"
            )
        start = earliest if archived is None else max(archived, earliest)
        self._next[partition] = start
        return Resume(start, 0 if archived is None else start - archived)

    def add(self, message: ArchivedMessage) -> None:
        partition = message.partition
        if message.offset < self._next[partition]:
            raise BrandpulseError(
                f"partition {partition} offset {message.offset} is already archived "
                f"(next is {self._next[partition]})"
            )
        current = self._open.get(partition)
        if current is not None and hour_of(message.timestamp_ms) > current[0].hour:
            self._close(partition)
            current = None
        if current is None:
            header = SegmentHeader(topic=self._topic, partition=partition, brands=self._brands)
            writer = SegmentWriter(self.folder, header, self._next[partition], message)
            self._open[partition] = (writer, self._clock())
        else:
            current[0].append(message)
        self._next[partition] = message.offset + 1

    def close_expired(self) -> None:
        """Close segments open longer than ``max_open_seconds`` (an idle stream's last data)."""
        now = self._clock()
        for partition, (_, opened) in list(self._open.items()):
            if now - opened >= self._max_open_seconds:
                self._close(partition)

    def close_all(self) -> None:
        for partition in list(self._open):
            self._close(partition)

    def _close(self, partition: int) -> None:
        writer, _ = self._open.pop(partition)
        segment = writer.finish()
        manifest = self.manifest.with_segment(segment)
        save_manifest(self.folder, manifest)
        self.manifest = manifest
        self.segments_closed += 1

    def __enter__(self) -> Archiver:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc is None:
                self.close_all()
            else:
                for writer, _ in self._open.values():
                    writer.discard()
                self._open.clear()
        finally:
            self._lock.close()


class Resume(NamedTuple):
    offset: int
    lost: int
    """Offsets Kafka deleted before they were archived (retention outran the archiver)."""


def _manifest_for(folder: Path, topic: str) -> Manifest:
    """The folder's manifest; a new folder gets an empty one, so it reads as an empty archive."""
    manifest = load_manifest(folder)
    if manifest is None:
        manifest = Manifest(topic=topic)
        save_manifest(folder, manifest)
    if manifest.topic != topic:
        raise BrandpulseError(
            f"{folder} archives topic {manifest.topic!r}, not {topic!r}: "
            "give each topic its own --dir"
        )
    return manifest


def _lock(folder: Path) -> IO[bytes]:
    """Hold the folder's lock: two archivers writing one folder would corrupt it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / LOCK_NAME).open("ab")
    except FileExistsError:
        raise BrandpulseError(f"cannot use archive folder {folder}: it is a file") from None
    except OSError as exc:
        raise BrandpulseError(f"cannot use archive folder {folder}: {exc.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise BrandpulseError(f"another `brandpulse archive run` is writing to {folder}") from None
    return handle


def _remove_uncommitted(folder: Path, manifest: Manifest) -> list[str]:
    """Delete what a crash left behind: ``.partial`` files and segments not in the manifest."""
    listed = {segment.name for segment in manifest.segments}
    removed = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(PARTIAL_SUFFIX) or (
            path.name.endswith(SUFFIX) and path.name not in listed
        ):
            path.unlink()
            removed.append(path.name)
    return removed
