"""Dead-letter records: what was rejected, why, where it came from, and the input itself.

A dead letter keeps the raw bytes (as text when they are UTF-8, else base64) so that nothing read
is lost: an operator can fix and re-import it. Only input beyond ``MAX_RAW_BYTES`` is cut, and then
its full length and SHA-256 still identify it.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Final

import msgspec

from brandpulse.contract import Reason

MAX_RAW_BYTES: Final = 8 * 1024 * 1024
"""Raw input kept in a dead letter; the dead-letter topic is created to hold records this big."""


STAGES: Final = ("import", "worker")
"""Where input can be rejected; connectors add theirs as they come."""
OTHER: Final = "other"


class DeadLetter(msgspec.Struct, frozen=True, omit_defaults=True):
    """One rejected record as written to the dead-letter topic (JSON)."""

    v: int
    reason: str
    detail: str
    stage: str
    source: str
    rejected_at: datetime
    raw_bytes: int
    raw_sha256: str
    raw: str | None = None
    raw_base64: str | None = None
    raw_truncated: bool = False


def make_dead_letter(
    reason: Reason,
    detail: str,
    *,
    stage: str,
    source: str,
    raw: bytes,
    total_bytes: int | None = None,
    sha256: str | None = None,
) -> DeadLetter:
    """Build a dead letter; ``total_bytes``/``sha256`` describe input longer than ``raw``."""
    kept = raw[:MAX_RAW_BYTES]
    try:
        text, b64 = kept.decode("utf-8"), None
    except UnicodeDecodeError:
        text, b64 = None, base64.b64encode(kept).decode("ascii")
    size = len(raw) if total_bytes is None else total_bytes
    return DeadLetter(
        v=1,
        reason=str(reason),
        detail=detail,
        stage=stage,
        source=source,
        rejected_at=datetime.now(UTC),
        raw_bytes=size,
        raw_sha256=sha256 or hashlib.sha256(raw).hexdigest(),
        raw=text,
        raw_base64=b64,
        raw_truncated=size > len(kept),
    )


_encoder: Final = msgspec.json.Encoder()
_decoder: Final = msgspec.json.Decoder(DeadLetter)


def encode_dead_letter(letter: DeadLetter) -> bytes:
    return _encoder.encode(letter)


def decode_dead_letter(data: bytes) -> DeadLetter:
    return _decoder.decode(data)


class _Labels(msgspec.Struct):
    stage: str = OTHER
    reason: str = OTHER


_labels_decoder: Final = msgspec.json.Decoder(_Labels)
_REASONS: Final = frozenset(Reason)


def dead_letter_labels(data: bytes) -> tuple[str, str]:
    """``(stage, reason)`` of a dead-letter record, as metric labels of bounded cardinality.

    Anyone may write to the dead-letter topic, so values outside the known sets become ``other``.
    """
    try:
        labels = _labels_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return OTHER, OTHER
    stage = labels.stage if labels.stage in STAGES else OTHER
    reason = labels.reason if labels.reason in _REASONS else OTHER
    return stage, reason
