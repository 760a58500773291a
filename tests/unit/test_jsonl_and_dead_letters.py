"""Reading JSON-lines input: every line accounted for, memory bounded, long lines fingerprinted."""

from __future__ import annotations

import hashlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from brandpulse.contract import Reason, line_count
from brandpulse.deadletter import (
    dead_letter_labels,
    decode_dead_letter,
    encode_dead_letter,
    make_dead_letter,
)
from connectors.jsonl import Line, read_blocks, read_lines


def test_lines_are_numbered_and_stripped_of_line_breaks() -> None:
    lines = list(read_lines(io.BytesIO(b"a\r\nbb\n\nlast")))
    assert [(line.number, line.data, line.sha256) for line in lines] == [
        (1, b"a", None),
        (2, b"bb", None),
        (3, b"", None),
        (4, b"last", None),
    ]


def test_a_line_longer_than_kept_is_cut_but_measured_and_hashed() -> None:
    long_line = b"x" * 100
    lines = list(read_lines(io.BytesIO(b"a\n" + long_line + b"\nb\n"), keep=10))
    assert [line.number for line in lines] == [1, 2, 3]
    cut = lines[1]
    assert cut.data == b"x" * 10
    assert cut.total_bytes == 100
    assert cut.sha256 == hashlib.sha256(long_line).hexdigest()
    assert lines[2].data == b"b"


def test_dead_letter_keeps_text_or_base64_and_round_trips() -> None:
    text = make_dead_letter(Reason.INVALID_JSON, "bad", stage="import", source="f:1", raw=b"{x")
    assert (text.raw, text.raw_base64, text.raw_bytes) == ("{x", None, 2)
    binary = make_dead_letter(Reason.INVALID_UTF8, "bad", stage="import", source="f:2", raw=b"\xff")
    assert (binary.raw, binary.raw_base64) == (None, "/w==")
    assert decode_dead_letter(encode_dead_letter(binary)) == binary


def test_dead_letter_of_a_cut_line_says_it_is_cut() -> None:
    letter = make_dead_letter(
        Reason.TOO_LARGE,
        "big",
        stage="import",
        source="f:3",
        raw=b"abc",
        total_bytes=10,
        sha256="00",
    )
    assert letter.raw_truncated
    assert (letter.raw_bytes, letter.raw_sha256) == (10, "00")


def test_dead_letter_labels_stay_within_known_values() -> None:
    letter = make_dead_letter(Reason.TOO_LARGE, "big", stage="worker", source="t/0@1:1", raw=b"")
    assert dead_letter_labels(encode_dead_letter(letter)) == ("worker", "too_large")
    assert dead_letter_labels(b'{"stage":"mars","reason":"cosmic rays"}') == ("other", "other")
    assert dead_letter_labels(b"\xff not json") == ("other", "other")


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=12),
    end=st.sampled_from([b"", b"\n", b"\r\n"]),
    size=st.integers(1, 32),
)
def test_blocks_hold_every_line_once_in_order_and_stay_bounded(
    lines: list[bytes], end: bytes, size: int
) -> None:
    keep = 16
    content = b"\n".join(lines) + end if lines else b""
    seen: list[tuple[int, bytes]] = []
    for item in read_blocks(io.BytesIO(content), size=size, keep=keep):
        if isinstance(item, Line):
            assert item.sha256 is not None
            seen.append((item.number, item.data))
            continue
        assert len(item.data) <= size + keep
        parts = item.data.split(b"\n")
        if item.data.endswith(b"\n"):
            parts.pop()
        assert item.lines == len(parts) == line_count(item.data)
        seen.extend((item.first + offset, part) for offset, part in enumerate(parts))
    expected = list(read_lines(io.BytesIO(content), keep=keep))
    assert [number for number, _ in seen] == [line.number for line in expected]
    for (_, data), line in zip(seen, expected, strict=True):
        if line.sha256 is None:
            assert data.rstrip(b"\r") == line.data
        else:  # cut by both, or whole in a block
            assert data[:keep] == line.data
