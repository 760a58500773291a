"""The archive's manifest: what every segment holds, and the one record of where archiving is.

The manifest is the only source of truth for resuming: a partition continues after the last
offset of its last listed segment. Files that are not listed (a ``.partial`` segment, or one
renamed just before a crash) are not part of the archive. The manifest is replaced atomically
(write a temporary file, fsync, rename, fsync the folder), so a crash leaves either the old or
the new one, never a mix.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final, Literal

import msgspec

from brandpulse.durable import replace_atomically
from brandpulse.errors import BrandpulseError

FORMAT: Final = 1
MANIFEST_NAME: Final = "manifest.json"


class SegmentInfo(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One immutable segment file: a run of one partition's messages.

    ``start_offset`` is the first offset the segment accounts for: the offset after the
    partition's previous segment (or where archiving of the partition began). Kafka may skip
    offsets (transaction markers, compaction), so ``first_offset`` can be larger; the archive
    has no gap as long as each segment starts right after the one before.
    Kafka timestamps are the minimum and maximum, not the first and last: producers set them,
    so they need not grow with the offset.
    """

    name: str
    partition: int
    start_offset: int
    first_offset: int
    last_offset: int
    messages: int
    events: int
    """Valid events of configured brands, as the worker would count them (``accept_lines``)."""
    rejected_lines: int
    min_event_time: datetime | None
    max_event_time: datetime | None
    min_timestamp_ms: int
    max_timestamp_ms: int
    bytes: int
    sha256: str


class Manifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    format: Literal[1] = FORMAT
    topic: str
    segments: tuple[SegmentInfo, ...] = ()

    def next_offsets(self) -> dict[int, int]:
        """Per partition, the offset after the last archived message."""
        offsets: dict[int, int] = {}
        for segment in self.segments:
            offsets[segment.partition] = max(
                offsets.get(segment.partition, 0), segment.last_offset + 1
            )
        return offsets

    def with_segment(self, segment: SegmentInfo) -> Manifest:
        return msgspec.structs.replace(self, segments=(*self.segments, segment))


_decoder: Final = msgspec.json.Decoder(Manifest)


def read_manifest(folder: Path) -> Manifest:
    """The folder's manifest; an error that says why when there is none or it is unreadable."""
    manifest = load_manifest(folder)
    if manifest is None:
        raise BrandpulseError(f"{folder} holds no archive: {MANIFEST_NAME} is missing")
    return manifest


def load_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, or None in a folder that has none yet."""
    path = folder / MANIFEST_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BrandpulseError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise BrandpulseError(f"{path} is not a brandpulse archive manifest: {exc}") from None


def save_manifest(folder: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically and durably."""
    replace_atomically(
        folder / MANIFEST_NAME, msgspec.json.format(msgspec.json.encode(manifest)) + b"\n"
    )
