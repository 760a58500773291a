"""``brandpulse archive verify``: is every segment what the manifest says, and is nothing missing?

Each listed segment's SHA-256 and size are recomputed; a segment whose checksum holds is then
read again and recounted with the same ``SegmentTally`` that counted it while archiving. Per
partition, each segment must start right after the one before (a gap means messages are
missing, an overlap that some are archived twice). Segment files the manifest does not list are
reported too: an audit should know about every file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import msgspec

from brandpulse.archive.manifest import Manifest, SegmentInfo, read_manifest
from brandpulse.archive.segments import (
    SUFFIX,
    CorruptSegment,
    SegmentTally,
    file_sha256,
    read_segment,
)


@dataclass(frozen=True)
class VerifyReport:
    folder: Path
    manifest: Manifest
    problems: dict[str, list[str]]
    """What is wrong, per segment (file) name."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """One line per bad segment, naming it and everything wrong with it."""
        return [f"{name}: {'; '.join(found)}" for name, found in sorted(self.problems.items())]

    def summary(self) -> str:
        segments = self.manifest.segments
        counts = (
            f"{len(segments):,} segments, {len({s.partition for s in segments}):,} partitions, "
            f"{sum(s.messages for s in segments):,} messages, {sum(s.events for s in segments):,}"
            f" events of topic {self.manifest.topic}"
        )
        if self.ok:
            return f"archive {self.folder}: OK, {counts}"
        return f"archive {self.folder}: {len(self.problems):,} bad segments ({counts})"


def verify_archive(folder: Path) -> VerifyReport:
    manifest = read_manifest(folder)
    problems: defaultdict[str, list[str]] = defaultdict(list)
    for segment in manifest.segments:
        problems[segment.name].extend(_segment_problems(folder, manifest.topic, segment))
    for name, problem in _continuity_problems(manifest.segments):
        problems[name].append(problem)
    listed = {segment.name for segment in manifest.segments}
    for path in folder.glob(f"*{SUFFIX}"):
        if path.name not in listed:
            problems[path.name].append("segment file not listed in the manifest")
    bad = {name: found for name, found in problems.items() if found}
    return VerifyReport(folder, manifest, bad)


def _segment_problems(folder: Path, topic: str, segment: SegmentInfo) -> list[str]:
    path = folder / segment.name
    try:
        sha256, size = file_sha256(path)
    except FileNotFoundError:
        return ["file is missing"]
    except OSError as exc:
        return [f"cannot read the file: {exc.strerror}"]
    if sha256 != segment.sha256 or size != segment.bytes:
        return [
            f"checksum mismatch, the file is corrupt or was changed: SHA-256 {sha256} "
            f"({size:,} bytes), the manifest says {segment.sha256} ({segment.bytes:,} bytes)"
        ]
    try:
        recount = _recount(path, topic, segment)
    except CorruptSegment as exc:
        return [str(exc)]
    return [
        f"{name}: the manifest says {expected}, the file holds {found}"
        for name, expected in msgspec.structs.asdict(segment).items()
        if (found := getattr(recount, name)) != expected
    ]


def _recount(path: Path, topic: str, segment: SegmentInfo) -> SegmentInfo:
    header, messages = read_segment(path)
    if (header.topic, header.partition) != (topic, segment.partition):
        raise CorruptSegment(
            path,
            f"it holds {header.topic} partition {header.partition}, "
            f"the manifest says {topic} partition {segment.partition}",
        )
    tally = SegmentTally(header.partition, segment.start_offset, frozenset(header.brands))
    for message in messages:
        tally.add(message)
    return tally.info(segment.name, segment.sha256, segment.bytes)


def _continuity_problems(segments: tuple[SegmentInfo, ...]) -> Iterator[tuple[str, str]]:
    """Gaps and overlaps between consecutive segments of a partition, named by the later one."""
    by_partition: defaultdict[int, list[SegmentInfo]] = defaultdict(list)
    for segment in segments:
        by_partition[segment.partition].append(segment)
    for run in by_partition.values():
        run.sort(key=lambda segment: (segment.start_offset, segment.first_offset))
        for before, after in pairwise(run):
            problem = _between(before, after)
            if problem is not None:
                yield after.name, problem


def _between(before: SegmentInfo, after: SegmentInfo) -> str | None:
    expected = before.last_offset + 1
    partition = after.partition
    if after.start_offset > expected:
        missing = f"{expected}..{after.start_offset - 1}"
        return f"gap: offsets {missing} of partition {partition} are missing after {before.name}"
    if after.start_offset < expected:
        twice = f"{after.start_offset}..{before.last_offset}"
        return f"overlap: offsets {twice} of partition {partition} are also in {before.name}"
    return None
