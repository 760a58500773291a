"""Reading an archive back, for replay: messages exactly as Kafka delivered them."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from brandpulse.archive.manifest import SegmentInfo, read_manifest
from brandpulse.archive.segments import ArchivedMessage, CorruptSegment, file_sha256, read_segment


def iter_archive(
    folder: Path, *, start_ms: int | None = None, end_ms: int | None = None
) -> Iterator[ArchivedMessage]:
    """The archived messages with a Kafka timestamp in ``[start_ms, end_ms)`` (None: unbounded).

    Only segments whose timestamp range overlaps the range are opened. Each partition's
    messages come in offset order. Partitions are interleaved by a merge on Kafka timestamp:
    the next message is the one with the smallest timestamp among the partitions' next
    messages, the lower partition number first on a tie. The order is thus deterministic, and
    since timestamps need not grow within a partition, a partition's own order always wins.

    Each segment's SHA-256 is checked against the manifest before any of its messages is
    yielded; a mismatch raises ``CorruptSegment`` (a ``BrandpulseError``) naming the segment.
    The manifest is read when this is called; segments are checked and read lazily.
    """
    manifest = read_manifest(folder)
    chosen: defaultdict[int, list[SegmentInfo]] = defaultdict(list)
    for segment in manifest.segments:
        if _overlaps(segment.min_timestamp_ms, segment.max_timestamp_ms, start_ms, end_ms):
            chosen[segment.partition].append(segment)
    streams = [
        _partition_messages(folder, sorted(chosen[p], key=_by_offset), start_ms, end_ms)
        for p in sorted(chosen)
    ]
    return heapq.merge(*streams, key=_by_timestamp)


def _by_offset(segment: SegmentInfo) -> int:
    return segment.first_offset


def _by_timestamp(message: ArchivedMessage) -> int:
    return message.timestamp_ms


def _overlaps(low: int, high: int, start_ms: int | None, end_ms: int | None) -> bool:
    """Whether timestamps ``low..high`` (inclusive) meet ``[start_ms, end_ms)``."""
    return (start_ms is None or high >= start_ms) and (end_ms is None or low < end_ms)


def _partition_messages(
    folder: Path, segments: list[SegmentInfo], start_ms: int | None, end_ms: int | None
) -> Iterator[ArchivedMessage]:
    for segment in segments:
        for message in _verified_messages(folder / segment.name, segment):
            if _overlaps(message.timestamp_ms, message.timestamp_ms, start_ms, end_ms):
                yield message


def _verified_messages(path: Path, segment: SegmentInfo) -> Iterator[ArchivedMessage]:
    try:
        sha256, _ = file_sha256(path)
    except OSError as exc:
        raise CorruptSegment(path, f"cannot read it: {exc.strerror}") from None
    if sha256 != segment.sha256:
        raise CorruptSegment(path, f"its SHA-256 is {sha256}, the manifest says {segment.sha256}")
    _, messages = read_segment(path)
    return messages
