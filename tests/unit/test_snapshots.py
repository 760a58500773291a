"""Snapshot files: written atomically, read back exactly, and a foreign one is not fatal."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from brandpulse.ingest import IngestStats
from streams.snapshots import SNAPSHOT_FORMAT, PartitionSnapshot, SnapshotStore


def test_a_saved_snapshot_loads_back_equal(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snapshot = PartitionSnapshot(41, IngestStats(events={"acme/x/mention": 3}, messages=2), {})
    store.save("events", 0, snapshot)
    assert store.load("events", 0) == snapshot
    assert store.load("events", 1) is None
    assert [p.name for p in tmp_path.iterdir()] == ["events-0.snapshot"]


def test_an_unreadable_snapshot_is_ignored(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    (tmp_path / "events-2.snapshot").write_bytes(b"\x93written by some other version")
    assert store.load("events", 2) is None


def test_a_snapshot_of_another_format_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SnapshotStore(tmp_path)
    store.save("events", 3, PartitionSnapshot(7, IngestStats(), {}, format=SNAPSHOT_FORMAT + 1))
    with caplog.at_level(logging.WARNING):
        assert store.load("events", 3) is None
    assert f"of format {SNAPSHOT_FORMAT + 1}" in caplog.text
