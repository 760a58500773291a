"""The raw-topic archive: immutable, compressed segment files and a manifest, beyond retention.

``brandpulse archive run`` copies the raw topic's messages, byte for byte, into one segment per
partition and hour; ``brandpulse archive verify`` re-checks them; ``iter_archive`` reads them
back for replay. Everything here but ``sink`` is free of Kafka imports.
"""

from brandpulse.archive.reader import iter_archive
from brandpulse.archive.segments import ArchivedMessage, CorruptSegment

__all__ = ["ArchivedMessage", "CorruptSegment", "iter_archive"]
