"""A connector's durable state: its cursors, the ids it published lately, and a publish intent.

One JSON file per connector, replaced atomically (write a temporary file, fsync it, rename it
over the old one, fsync the folder): after a crash the file holds either the previous state or
the new one, never a torn mix.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final

import msgspec

from brandpulse.durable import replace_atomically
from brandpulse.errors import BrandpulseError

FILE_NAME: Final = "checkpoint.json"
SEEN_CAPACITY: Final = 20_000
"""Ids remembered for deduplication; far more than any feed or page shows at once."""

Cursors = dict[str, dict[str, str]]
"""Per source stream (a feed URL, a channel), its position fields (ETag, last id, ...)."""


class Pending(msgspec.Struct, frozen=True):
    """Events about to be published: the raw topic's end offsets before the first send, and
    the events' keys. Any of them that reached Kafka sits at or after those offsets."""

    topic: str
    offsets: dict[int, int]
    keys: list[str]


class Checkpoint(msgspec.Struct):
    cursors: Cursors = {}
    seen: list[str] = []
    """Keys of published events, oldest first."""
    pending: Pending | None = None
    version: int = 1


class SeenIds:
    """The keys of the newest ``capacity`` published events, in publishing order."""

    def __init__(self, keys: Iterable[str] = (), capacity: int = SEEN_CAPACITY) -> None:
        self._capacity = capacity
        self._keys: dict[str, None] = {}
        self.add(keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._keys.pop(key, None)
            self._keys[key] = None
        for oldest in list(self._keys)[: max(0, len(self._keys) - self._capacity)]:
            del self._keys[oldest]

    def to_list(self) -> list[str]:
        return list(self._keys)


class CheckpointStore:
    """Loads and atomically saves one connector's ``checkpoint.json`` in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME

    def load(self) -> Checkpoint:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Checkpoint()
        try:
            return msgspec.json.decode(data, type=Checkpoint)
        except msgspec.DecodeError as exc:
            raise BrandpulseError(
                f"checkpoint {self.path} is unreadable ({exc}); move it away to start over "
                "(already published events may then be published again)"
            ) from None

    def save(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(self.path, msgspec.json.encode(checkpoint))
