"""Files that survive a crash whole: the worker's snapshots, connector checkpoints, the archive.

A file is replaced by writing a temporary file next to it, fsyncing it, renaming it over the old
one and fsyncing the folder (a rename lives in the folder, not in the file): after a crash at any
moment the path holds either the old content or the new, never a mix.
"""

from __future__ import annotations

import os
from pathlib import Path


def replace_atomically(path: Path, data: bytes) -> None:
    """Make ``data`` the content of ``path``, atomically and durably."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make renames in ``folder`` durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
