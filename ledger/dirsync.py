"""Durable names: after creating or renaming a file, fsync the directory that holds it.

POSIX makes a file's data durable with fsync on the file, but its *name* (a
new file, a rename into place) only with fsync on the directory.  Where a
directory cannot be opened or synced (Windows, some network filesystems) this
is a no-op: the file's own data was synced already.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    """Make the entries just created or renamed in ``directory`` durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["fsync_directory"]
