"""The archive's pure part: segments, manifest, crash safety, verify and the reader."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandpulse.archive import ArchivedMessage, CorruptSegment, iter_archive
from brandpulse.archive.archiver import Archiver
from brandpulse.archive.manifest import (
    MANIFEST_NAME,
    Manifest,
    read_manifest,
    save_manifest,
)
from brandpulse.archive.segments import (
    HOUR_MS,
    MAGIC,
    SegmentHeader,
    SegmentWriter,
    file_sha256,
    read_segment,
)
from brandpulse.archive.verify import verify_archive
from brandpulse.contract import Event, encode_event
from brandpulse.errors import BrandpulseError

REPO = Path(__file__).resolve().parents[2]
TOPIC = "brandpulse.events"
BRANDS = frozenset({"acme", "globex"})
T0 = datetime(2026, 2, 1, 10, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


def event(brand: str, when: datetime, number: int = 0) -> bytes:
    return encode_event(
        Event(v=1, id=f"e{number}", platform="x", brand=brand, kind="mention", time=when)
    )


def message(
    partition: int, offset: int, timestamp_ms: int, value: bytes | None, key: bytes | None = b"k"
) -> ArchivedMessage:
    return ArchivedMessage(partition, offset, timestamp_ms, key, value)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def open_archiver(folder: Path, clock: Clock | None = None, max_open: float = 60.0) -> Archiver:
    return Archiver(folder, TOPIC, BRANDS, max_open_seconds=max_open, clock=clock or Clock())


def archive(folder: Path, messages: Iterable[ArchivedMessage]) -> Manifest:
    """Archive ``messages`` (partitions start at offset 0) and close every segment."""
    with open_archiver(folder) as archiver:
        resumed: set[int] = set()
        for item in messages:
            if item.partition not in resumed:
                archiver.resume_from(item.partition, 0, 10**9)
                resumed.add(item.partition)
            archiver.add(item)
    return read_manifest(folder)


def hours(partition: int, counts: list[int]) -> list[ArchivedMessage]:
    """``counts[h]`` messages in hour h after T0, one valid event each, offsets from 0."""
    messages: list[ArchivedMessage] = []
    for hour, count in enumerate(counts):
        for i in range(count):
            when = T0 + timedelta(hours=hour, seconds=i)
            offset = len(messages)
            value = event("acme", when, offset)
            messages.append(message(partition, offset, int(when.timestamp() * 1000), value))
    return messages


def flip_byte(path: Path, position: int = -20) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


# Segments


def test_a_segment_holds_messages_exactly_and_describes_them(tmp_path: Path) -> None:
    good = event("acme", T0 + timedelta(minutes=5), 1)
    early = event("globex", T0 - timedelta(minutes=3), 2)
    messages = [
        message(4, 17, T0_MS + 1000, good + b"\n" + early),
        message(4, 18, T0_MS + 500, b"{broken\n" + event("initech", T0, 3), key=None),
        message(4, 20, T0_MS + 2000, None),
        message(4, 21, T0_MS + 3000, b"\x00\xff binary", key=b""),
    ]
    header = SegmentHeader(topic=TOPIC, partition=4, brands=tuple(sorted(BRANDS)))
    writer = SegmentWriter(tmp_path, header, 15, messages[0])
    for item in messages[1:]:
        writer.append(item)
    info = writer.finish()

    assert [p.name for p in tmp_path.iterdir()] == [info.name]
    assert info.name == "p004-2026-02-01T10Z-000000000017.seg.gz"
    path = tmp_path / info.name
    assert gzip.decompress(path.read_bytes()).startswith(MAGIC)
    read_header, read_messages = read_segment(path)
    assert read_header == header
    assert list(read_messages) == messages
    assert file_sha256(path) == (info.sha256, info.bytes)
    assert (info.partition, info.start_offset, info.first_offset, info.last_offset) == (
        4,
        15,
        17,
        21,
    )
    assert (info.messages, info.events, info.rejected_lines) == (4, 2, 3)
    assert (info.min_event_time, info.max_event_time) == (
        T0 - timedelta(minutes=3),
        T0 + timedelta(minutes=5),
    )
    assert (info.min_timestamp_ms, info.max_timestamp_ms) == (T0_MS + 500, T0_MS + 3000)


def test_the_same_messages_give_the_same_segment_bytes(tmp_path: Path) -> None:
    first = archive(tmp_path / "a", hours(0, [5]))
    second = archive(tmp_path / "b", hours(0, [5]))
    assert first.segments[0].sha256 == second.segments[0].sha256


# Rolling over


def test_a_segment_closes_when_a_later_hour_arrives_and_keeps_late_messages(
    tmp_path: Path,
) -> None:
    messages = [
        message(0, 0, T0_MS + 10, b""),
        message(0, 1, T0_MS + HOUR_MS + 10, b""),
        message(0, 2, T0_MS + 20, b""),  # an earlier hour: stays in the open segment
        message(0, 3, T0_MS + 3 * HOUR_MS, b""),
    ]
    manifest = archive(tmp_path, messages)
    assert [(s.first_offset, s.last_offset) for s in manifest.segments] == [(0, 0), (1, 2), (3, 3)]
    assert [s.start_offset for s in manifest.segments] == [0, 1, 3]
    assert manifest.segments[1].min_timestamp_ms == T0_MS + 20
    assert manifest.next_offsets() == {0: 4}


def test_a_segment_closes_after_max_open_time_and_only_closed_ones_are_listed(
    tmp_path: Path,
) -> None:
    clock = Clock()
    with open_archiver(tmp_path, clock, max_open=30) as archiver:
        archiver.resume_from(0, 0, 100)
        archiver.add(message(0, 0, T0_MS, b""))
        clock.now = 29
        archiver.close_expired()
        assert read_manifest(tmp_path).segments == ()
        clock.now = 30
        archiver.close_expired()
        assert [s.last_offset for s in read_manifest(tmp_path).segments] == [0]
        archiver.add(message(0, 1, T0_MS + 1, b""))
    names = [s.name for s in read_manifest(tmp_path).segments]
    assert names == [
        "p000-2026-02-01T10Z-000000000000.seg.gz",
        "p000-2026-02-01T10Z-000000000001.seg.gz",
    ]
    assert sorted(p.name for p in tmp_path.glob("*.gz")) == names


def test_an_offset_already_archived_is_refused(tmp_path: Path) -> None:
    archive(tmp_path, hours(0, [3]))
    with open_archiver(tmp_path) as archiver:
        assert archiver.resume_from(0, 0, 3).offset == 3
        with pytest.raises(BrandpulseError, match="offset 2 is already archived"):
            archiver.add(message(0, 2, T0_MS, b""))


def test_resuming_skips_what_kafka_deleted_and_refuses_a_recreated_topic(tmp_path: Path) -> None:
    archive(tmp_path, hours(0, [3]))
    with open_archiver(tmp_path) as archiver:
        assert archiver.resume_from(0, 0, 10) == (3, 0)
        assert archiver.resume_from(1, 5, 10) == (5, 0)
    with open_archiver(tmp_path) as archiver:
        assert archiver.resume_from(0, 8, 10) == (8, 5)
        archiver.add(message(0, 8, T0_MS, b""))
    assert "gap: offsets 3..7 of partition 0" in verify_archive(tmp_path).lines()[0]
    with (
        open_archiver(tmp_path) as archiver,
        pytest.raises(BrandpulseError, match="created again"),
    ):
        archiver.resume_from(0, 0, 2)


# Crash safety


def test_leftovers_of_a_crash_are_removed_and_resume_follows_the_manifest(tmp_path: Path) -> None:
    manifest = archive(tmp_path, hours(0, [2, 2]))
    (tmp_path / "p000-2026-02-01T12Z-000000000004.seg.gz.partial").write_bytes(b"half")
    (tmp_path / "p001-2026-02-01T10Z-000000000000.seg.gz").write_bytes(b"unlisted")
    (tmp_path / (MANIFEST_NAME + ".tmp")).write_bytes(b'{"half')
    with open_archiver(tmp_path) as archiver:
        assert archiver.removed == [
            "p000-2026-02-01T12Z-000000000004.seg.gz.partial",
            "p001-2026-02-01T10Z-000000000000.seg.gz",
        ]
        assert archiver.manifest == manifest
        assert archiver.resume_from(0, 0, 10).offset == 4
    assert verify_archive(tmp_path).ok


def test_a_crash_between_segment_rename_and_manifest_save_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = hours(0, [2, 2, 2])

    def save_then_crash(folder: Path, manifest: Manifest) -> None:
        if len(manifest.segments) == 2:
            raise OSError("power cut")
        save_manifest(folder, manifest)

    monkeypatch.setattr("brandpulse.archive.archiver.save_manifest", save_then_crash)
    with pytest.raises(OSError, match="power cut"), open_archiver(tmp_path) as archiver:
        archiver.resume_from(0, 0, 10)
        for item in messages:
            archiver.add(item)
    monkeypatch.undo()
    assert [s.last_offset for s in read_manifest(tmp_path).segments] == [1]
    assert len(list(tmp_path.glob("*.seg.gz"))) == 2  # the second one is renamed, not listed

    with open_archiver(tmp_path) as archiver:
        assert archiver.removed == ["p000-2026-02-01T11Z-000000000002.seg.gz"]
        start = archiver.resume_from(0, 0, 10).offset
        for item in messages[start:]:
            archiver.add(item)
    assert list(iter_archive(tmp_path)) == messages
    assert verify_archive(tmp_path).ok


def test_a_failed_manifest_save_leaves_the_old_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = archive(tmp_path, hours(0, [1]))
    bigger = archive(tmp_path / "other", hours(0, [1, 1]))

    def fail(self: Path, target: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save_manifest(tmp_path, bigger)
    monkeypatch.undo()
    assert read_manifest(tmp_path) == manifest


def test_two_archivers_never_share_a_folder(tmp_path: Path) -> None:
    with open_archiver(tmp_path), pytest.raises(BrandpulseError, match="another"):
        open_archiver(tmp_path)


def test_a_folder_of_another_topic_is_refused(tmp_path: Path) -> None:
    archive(tmp_path, hours(0, [1]))
    with pytest.raises(
        BrandpulseError, match=re.escape("archives topic 'brandpulse.events', not 'other'")
    ):
        Archiver(tmp_path, "other", BRANDS, max_open_seconds=1)


# Verify


def test_verify_passes_a_sound_archive(tmp_path: Path) -> None:
    archive(tmp_path, [*hours(0, [3, 2]), *hours(1, [4])])
    report = verify_archive(tmp_path)
    assert report.ok, report.lines()
    assert report.summary() == (
        f"archive {tmp_path}: OK, 3 segments, 2 partitions, 9 messages, 9 events of topic {TOPIC}"
    )


def test_verify_names_a_segment_with_a_flipped_byte(tmp_path: Path) -> None:
    manifest = archive(tmp_path, hours(0, [3, 3]))
    bad = manifest.segments[1].name
    flip_byte(tmp_path / bad)
    report = verify_archive(tmp_path)
    assert not report.ok
    [line] = report.lines()
    assert line.startswith(f"{bad}: checksum mismatch")


def test_verify_names_a_segment_whose_counts_are_wrong(tmp_path: Path) -> None:
    manifest = archive(tmp_path, hours(0, [3, 3]))
    first, second = manifest.segments
    wrong = msgspec.structs.replace(second, events=second.events + 1)
    save_manifest(tmp_path, msgspec.structs.replace(manifest, segments=(first, wrong)))
    assert verify_archive(tmp_path).lines() == [
        f"{second.name}: events: the manifest says 4, the file holds 3"
    ]


def test_verify_reports_gaps_overlaps_and_unlisted_files(tmp_path: Path) -> None:
    manifest = archive(tmp_path, hours(0, [2, 2, 2, 2]))
    one, two, three, four = manifest.segments
    (tmp_path / two.name).unlink()
    overlapping = msgspec.structs.replace(four, start_offset=5)
    save_manifest(tmp_path, msgspec.structs.replace(manifest, segments=(one, three, overlapping)))
    (tmp_path / "p009-2026-02-01T10Z-000000000000.seg.gz").write_bytes(b"")
    assert verify_archive(tmp_path).lines() == [
        f"{three.name}: gap: offsets 2..3 of partition 0 are missing after {one.name}",
        f"{four.name}: overlap: offsets 5..5 of partition 0 are also in {three.name}",
        "p009-2026-02-01T10Z-000000000000.seg.gz: segment file not listed in the manifest",
    ]


def test_verify_needs_an_archive(tmp_path: Path) -> None:
    with pytest.raises(
        BrandpulseError, match=re.escape("holds no archive: manifest.json is missing")
    ):
        verify_archive(tmp_path)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brandpulse.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_archive_verify_command_exit_status_and_output(tmp_path: Path) -> None:
    manifest = archive(tmp_path, hours(2, [2, 2]))
    good = cli("archive", "verify", "--dir", str(tmp_path))
    assert good.returncode == 0, good.stderr
    assert good.stdout.splitlines() == [verify_archive(tmp_path).summary()]

    flip_byte(tmp_path / manifest.segments[0].name)
    bad = cli("archive", "verify", "--dir", str(tmp_path))
    assert bad.returncode == 1
    first, summary = bad.stdout.splitlines()
    assert first.startswith(f"{manifest.segments[0].name}: checksum mismatch")
    assert summary.startswith(f"archive {tmp_path}: 1 bad segments")

    missing = cli("archive", "verify", "--dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert "holds no archive" in missing.stderr
    assert "Traceback" not in missing.stderr


# Reader


def test_the_reader_refuses_a_corrupt_segment_before_using_it(tmp_path: Path) -> None:
    messages = hours(0, [3, 3])
    manifest = archive(tmp_path, messages)
    bad = manifest.segments[1].name
    flip_byte(tmp_path / bad, position=len(MAGIC) + 40)
    seen: list[ArchivedMessage] = []
    with pytest.raises(CorruptSegment) as caught:
        seen.extend(iter_archive(tmp_path))
    assert str(caught.value).startswith(f"archive segment {tmp_path / bad} is corrupt: its SHA-256")
    assert seen == messages[:3]
    # a range that does not touch the corrupt segment reads fine
    assert list(iter_archive(tmp_path, end_ms=T0_MS + HOUR_MS)) == messages[:3]


def test_the_reader_merges_partitions_by_timestamp(tmp_path: Path) -> None:
    a = [message(0, 0, 30, b"a0"), message(0, 1, 10, b"a1"), message(0, 2, 40, b"a2")]
    b = [message(1, 0, 20, b"b0"), message(1, 1, 30, b"b1")]
    archive(tmp_path, [*a, *b])
    assert [m.value for m in iter_archive(tmp_path)] == [b"b0", b"a0", b"a1", b"b1", b"a2"]
    assert [m.value for m in iter_archive(tmp_path, start_ms=20, end_ms=40)] == [
        b"b0",
        b"a0",
        b"b1",
    ]


sent = st.lists(
    st.tuples(
        st.integers(0, 2),  # partition
        st.integers(0, 4 * HOUR_MS),  # timestamp after T0
        st.sampled_from([b"", b"{broken", event("acme", T0), None]),
        st.booleans(),  # let the max open time pass after this message
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sent, st.integers(0, 5 * HOUR_MS), st.integers(0, 5 * HOUR_MS))
def test_messages_read_back_identical_and_in_order_however_segments_split_them(
    plan: list[tuple[int, int, bytes | None, bool]], start: int, end: int
) -> None:
    clock = Clock()
    offsets = {0: 7, 1: 0, 2: 3}
    messages = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with open_archiver(folder, clock, max_open=1) as archiver:
            for partition, offset in offsets.items():
                archiver.resume_from(partition, offset, 10**6)
            for partition, after, value, expire in plan:
                item = message(partition, offsets[partition], T0_MS + after, value)
                offsets[partition] += 1
                archiver.add(item)
                messages.append(item)
                if expire:
                    clock.now += 1
                    archiver.close_expired()
        read = list(iter_archive(folder))
        assert by_partition(read) == by_partition(messages)
        assert len(read) == len(messages)
        low, high = T0_MS + min(start, end), T0_MS + max(start, end)
        assert by_partition(iter_archive(folder, start_ms=low, end_ms=high)) == by_partition(
            m for m in messages if low <= m.timestamp_ms < high
        )
        assert verify_archive(folder).ok


def by_partition(messages: Iterable[ArchivedMessage]) -> dict[int, list[ArchivedMessage]]:
    """Each partition's messages in the order given."""
    split: dict[int, list[ArchivedMessage]] = {}
    for item in messages:
        split.setdefault(item.partition, []).append(item)
    return split
