"""A per-user cache of things custody derives from its own package data.

Every ``custody`` command is a new process, and some of what a process needs
is derived from files shipped with custody that change only with a new
version: the parsed message catalogue (``ledger.i18n``).  Deriving it again
costs tens of milliseconds a command, so it is kept here, under a name that
includes a digest of everything it was derived from: a new version simply
uses a new name, and an old entry is never read again.

The cache is an optimisation only.  A directory that is missing, read-only or
unwritable, or an entry that is damaged, makes the caller derive the value
again, never fail.  The directory is ``$XDG_CACHE_HOME/custody`` (else
``~/.cache/custody``), made private to the user (mode 0700) when custody
makes it: what it holds decides the messages custody prints.  Entries that
other versions made, and that were not written to for a week, are removed
when a new one is made (``prune``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

STALE_SECONDS = 7 * 24 * 3600
# Entries that earlier versions made and no version makes any more: pruned whenever an entry is made.
RETIRED = ("schemas-*",)  # generated schema acceptors (schemas/), until jsonschema_rs replaced them


def stamp(paths: Iterable[Path]) -> str:
    """A digest naming what the files ``paths`` hold, from each one's path, size and modification time (what
    Python's bytecode cache trusts too) rather than its bytes: reading and hashing the catalogue's .po files
    and the rule modules took ~3 ms of every command (issue 19).  A file that cannot be read counts as absent."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            digest.update(f"{path}\0?\n".encode())
            continue
        digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/custody`` (else ``~/.cache/custody``); None when there is no home to put it in."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.path.expanduser("~")
        if home.startswith("~"):  # no HOME and no password-database entry
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "custody"


def read(name: str) -> bytes | None:
    """The cached bytes stored under ``name`` (a relative path), or None."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        return (folder / name).read_bytes()
    except OSError:
        return None


def write(name: str, data: bytes) -> None:
    """Store ``data`` under ``name``, atomically (a reader sees the old entry or the new one); errors are ignored."""
    folder = cache_dir()
    if folder is None:
        return
    target = folder / name
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    for pattern in RETIRED:
        prune(pattern, keep="")


def prune(pattern: str, keep: str) -> None:
    """Remove the entries matching ``pattern`` (a glob), except ``keep``, not written to for ``STALE_SECONDS``.

    Called when an entry is made, never on the way to reading one: old versions' entries (a digest each)
    would otherwise pile up.  Another version still in use finds its entries gone only after a week
    without new ones, and makes them again.
    """
    folder = cache_dir()
    if folder is None:
        return
    now = time.time()
    with contextlib.suppress(OSError):
        for path in folder.glob(pattern):
            if path.name == keep:
                continue
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime < STALE_SECONDS:
                    continue
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink()
