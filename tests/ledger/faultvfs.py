"""An apsw VFS for tests: fail a chosen I/O call, and record what a power loss would leave on disk.

SQLite is tested by failing every I/O call of an operation in turn ("ioerr"
tests) and by cutting the power at every sync point ("crash" tests, with
unsynced sectors written, torn or lost).  This module brings that discipline
to the ledger store: ``FaultVFS`` inherits every method from SQLite's own
``unix`` VFS (docs/dependency-notes.md, apsw) and

* fails the n-th ``xRead``, ``xWrite``, ``xSync``, ``xLock``, ``xTruncate`` or
  ``xFileControl`` call (of any file, or of one file) after ``arm()`` with the
  SQLite error chosen (``SQLITE_IOERR_*``, ``SQLITE_FULL``, ``SQLITE_BUSY``),
  once or -- a disk that stays full, a lock that is never released -- for every
  later call too, and reports the OS error behind it (``xGetLastError``);
* with ``record=True``, keeps each file's content as of its last ``xSync`` and
  the writes made since, and at every sync point lists the states a power
  loss there could leave (``CrashImage``): every unsynced write lost, the last
  one torn after a prefix, or a random subset of unsynced sectors written
  (the disk reorders writes between two syncs); a file deleted without
  syncing its directory may come back.

It is registered as SQLite's default VFS while in use (``fault_vfs()``), so the
product opens its store through it unchanged -- the CLI included -- and
unregistered afterwards; the ledger is then reopened through the plain ``unix``
VFS.  The WAL index (``-shm``) is never recorded: SQLite rebuilds it from the
WAL when the first connection opens after every process has gone, as after a
power loss.

SQLite's busy handler sleeps through ``xSleep`` of the connection's VFS; this
one returns at once and reports the time as slept, so a persistent
``SQLITE_BUSY`` exhausts the store's 60-second busy timeout in no real time.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import apsw

METHODS = ("xRead", "xWrite", "xSync", "xLock", "xTruncate", "xFileControl")
SECTOR = 512

# File controls never counted nor failed: SQLite asks SQLITE_FCNTL_LOCK_TIMEOUT only whether the VFS can block
# on a lock (around every WAL lock) and ignores the answer; only apsw would still raise an exception from it.
UNCOUNTED_FILE_CONTROLS = frozenset({apsw.SQLITE_FCNTL_LOCK_TIMEOUT})

# What SQLite itself says for each primary result code (sqlite3_errstr), so that a fault reads as a real one.
_TEXTS = {apsw.SQLITE_IOERR: "disk I/O error", apsw.SQLITE_FULL: "database or disk is full",
          apsw.SQLITE_BUSY: "database is locked"}


class Fault(NamedTuple):
    """The ``n``-th call of ``method`` after ``arm()`` fails with the SQLite result ``code``."""

    method: str
    n: int
    code: int
    persistent: bool = False  # every later call of ``method`` fails too
    file: str | None = None  # count only the calls on the file of this name (e.g. "ledger.db-wal")
    errno: int = 0  # the OS error SQLite reads back (xGetLastError, Connection.system_errno), e.g. ENOSPC

    def describe(self) -> str:
        name = apsw.mapping_result_codes.get(self.code) or apsw.mapping_extended_result_codes.get(self.code)
        on = f" on {self.file}" if self.file else ""
        return f"{self.method}{on} #{self.n} -> {name}{' (persistent)' if self.persistent else ''}"


@dataclass(frozen=True)
class CrashImage:
    """The files as a power loss at one point would leave them (None: the file does not exist)."""

    label: str
    files: dict[str, bytes | None]
    acked: int  # what the test had marked as acknowledged at that point (``FaultVFS.acked``)

    def write_to(self, directory: Path) -> None:
        for name, data in self.files.items():
            path = directory / name
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)


# One unsynced change: ("w", offset, data) or ("t", size, b"").
_Op = tuple[str, int, bytes]


@dataclass
class _Tracked:
    durable: bytearray | None  # content at the last xSync; None: not on disk after a power loss
    pending: list[_Op] = field(default_factory=list)


def _apply(image: bytearray, op: _Op) -> None:
    kind, where, data = op
    if kind == "t":
        del image[where:]
        return
    if len(image) < where:
        image.extend(bytes(where - len(image)))
    image[where : where + len(data)] = data


class FaultVFS(apsw.VFS):
    """See the module documentation.  Use through ``fault_vfs()``."""

    def __init__(self, name: str = "custody-fault", *, record: bool = False, seed: int = 2026) -> None:
        super().__init__(name, "unix", makedefault=True)
        self.record = record
        self.rng = random.Random(seed)
        self.fault: Fault | None = None
        self.calls: dict[str, int] = dict.fromkeys(METHODS, 0)
        self.calls_by_file: dict[str, int] = {}  # "xWrite ledger.db-wal": count
        self.fired: list[str] = []
        self.last_errno = 0
        self.slept_us = 0
        self.acked = 0
        self.images: list[CrashImage] = []
        self.syncs = 0
        self._tracked: dict[str, _Tracked] = {}
        self._undeleted: dict[str, bytes] = {}  # deleted without syncing the directory: a power loss may undo it
        self.open_files: set[FaultFile] = set()

    # --- faults ---

    def arm(self, fault: Fault | None) -> None:
        """Start counting calls afresh; ``fault`` (None: none) fires at its call."""
        self.fault = fault
        self.calls = dict.fromkeys(METHODS, 0)
        self.calls_by_file = {}
        self.fired = []

    def check(self, method: str, where: str) -> None:
        """Count one call of ``method`` on the file ``where``; raise the armed fault when it is due."""
        self.calls[method] += 1
        key = f"{method} {where}"
        self.calls_by_file[key] = self.calls_by_file.get(key, 0) + 1
        fault = self.fault
        if fault is None or fault.method != method or (fault.file is not None and fault.file != where):
            return
        count = self.calls[method] if fault.file is None else self.calls_by_file[key]
        if count == fault.n or (fault.persistent and count > fault.n):
            self.fired.append(f"{method} #{count} on {where}")
            self.last_errno = fault.errno
            exc = apsw.exception_for(fault.code)
            exc.args = (_TEXTS.get(fault.code & 0xFF, "injected fault"),)
            raise exc

    # --- power loss ---

    def track(self, filename: str) -> None:
        if not self.record or filename in self._tracked:
            return
        try:
            content: bytearray | None = bytearray(Path(filename).read_bytes())
        except FileNotFoundError:
            content = None  # created now: not on disk after a power loss until its first sync
        self._tracked[filename] = _Tracked(content)

    def pending(self, filename: str, op: _Op) -> None:
        tracked = self._tracked.get(filename)
        if tracked is not None:
            tracked.pending.append(op)

    def synced(self, filename: str) -> None:
        """Before the sync of ``filename`` completes: the states a power loss now could leave; then apply."""
        tracked = self._tracked.get(filename)
        if tracked is None:
            return
        self.syncs += 1
        where = f"sync {self.syncs} ({Path(filename).name})"
        self.images.append(self._image(f"{where}: unsynced writes lost"))
        writes = [op for op in tracked.pending if op[0] == "w"]
        if writes:
            last = writes[-1]
            cuts = sorted({min(SECTOR, len(last[2]) // 2), len(last[2]) // 2} - {0})
            for cut in cuts:
                self.images.append(self._image(f"{where}: last write torn after {cut} bytes", torn=(filename, cut)))
            for _trial in range(2):
                self.images.append(self._image(f"{where}: unsynced sectors written at random", scatter=True))
        image = tracked.durable if tracked.durable is not None else bytearray()
        for op in tracked.pending:
            _apply(image, op)
        tracked.durable, tracked.pending = image, []
        self._undeleted.pop(filename, None)  # SQLite syncs a new file's directory with its first sync

    def deleted(self, filename: str, syncdir: bool) -> None:
        tracked = self._tracked.get(filename)
        if tracked is None:
            return
        if not syncdir and tracked.durable is not None:
            self._undeleted[filename] = bytes(tracked.durable)
        tracked.durable, tracked.pending = None, []

    def crash_now(self, label: str = "power lost after the operation") -> list[CrashImage]:
        """The files if the power failed now; a second state when a deletion may not have reached the disk.

        SQLite deletes the WAL on close, after copying it into the database, without syncing the directory:
        after a power loss it may be back, with the content it had when it was last synced.
        """
        images = [self._image(label)]
        if self._undeleted:
            names = ", ".join(Path(f).name for f in self._undeleted)
            images.append(self._image(f"{label}, {names} deleted but back", undeleted=True))
        return images

    def _image(self, label: str, *, torn: tuple[str, int] | None = None, scatter: bool = False,
               undeleted: bool = False) -> CrashImage:
        files: dict[str, bytes | None] = {}
        for filename, tracked in self._tracked.items():
            image = None if tracked.durable is None else bytearray(tracked.durable)
            if undeleted and image is None and filename in self._undeleted:
                image = bytearray(self._undeleted[filename])
            ops = tracked.pending
            if torn is not None and torn[0] == filename:
                image = image if image is not None else bytearray()
                last_write = max(i for i, op in enumerate(ops) if op[0] == "w")
                for i, op in enumerate(ops[: last_write + 1]):
                    if i == last_write:
                        op = ("w", op[1], op[2][: torn[1]])
                    _apply(image, op)
            elif scatter and ops:
                image = image if image is not None else bytearray()
                for op in ops:
                    if op[0] == "t":
                        if self.rng.random() < 0.5:
                            _apply(image, op)
                        continue
                    for start in range(0, len(op[2]), SECTOR):
                        if self.rng.random() < 0.5:
                            _apply(image, ("w", op[1] + start, op[2][start : start + SECTOR]))
            files[Path(filename).name] = None if image is None else bytes(image)
        return CrashImage(label, files, self.acked)

    # --- the VFS ---

    def xOpen(self, name: str | apsw.URIFilename | None, flags: list[int]) -> FaultFile:
        filename = name.filename() if isinstance(name, apsw.URIFilename) else name
        if filename is not None:
            self.track(filename)
        return FaultFile(self, filename, name, flags)

    def xDelete(self, filename: str, syncdir: bool) -> None:
        super().xDelete(filename, syncdir)
        self.deleted(filename, syncdir)

    def xGetLastError(self) -> tuple[int, str | None]:
        return self.last_errno, None

    def xSleep(self, microseconds: int) -> int:
        self.slept_us += microseconds
        return microseconds


class FaultFile(apsw.VFSFile):
    def __init__(self, vfs: FaultVFS, filename: str | None, name: str | apsw.URIFilename | None,
                 flags: list[int]) -> None:
        super().__init__("unix", name, flags)
        self.vfs = vfs
        self.filename = filename
        self.where = Path(filename).name if filename else "a temporary file"
        vfs.open_files.add(self)

    def xRead(self, amount: int, offset: int) -> bytes:
        self.vfs.check("xRead", self.where)
        return bytes(super().xRead(amount, offset))

    def xWrite(self, data: bytes, offset: int) -> None:
        self.vfs.check("xWrite", self.where)
        super().xWrite(data, offset)
        if self.filename is not None:
            self.vfs.pending(self.filename, ("w", offset, bytes(data)))

    def xTruncate(self, newsize: int) -> None:
        self.vfs.check("xTruncate", self.where)
        super().xTruncate(newsize)
        if self.filename is not None:
            self.vfs.pending(self.filename, ("t", newsize, b""))

    def xSync(self, flags: int) -> None:
        self.vfs.check("xSync", self.where)
        if self.filename is not None:
            self.vfs.synced(self.filename)
        super().xSync(flags)

    def xLock(self, level: int) -> None:
        self.vfs.check("xLock", self.where)
        super().xLock(level)

    def xFileControl(self, op: int, ptr: int) -> bool:
        if op not in UNCOUNTED_FILE_CONTROLS:
            self.vfs.check("xFileControl", self.where)
        return bool(super().xFileControl(op, ptr))

    def xClose(self) -> None:
        self.vfs.open_files.discard(self)
        super().xClose()


@contextmanager
def fault_vfs(*, record: bool = False, seed: int = 2026) -> Iterator[FaultVFS]:
    """``FaultVFS`` as SQLite's default VFS for the block; every file it opened must be closed by its end."""
    vfs = FaultVFS(record=record, seed=seed)
    try:
        yield vfs
    finally:
        vfs.arm(None)
        leaked = [f.where for f in vfs.open_files]
        vfs.unregister()
        if leaked:
            raise AssertionError(f"files still open through the fault VFS: {leaked}")


def copy_ledger(source: Path, target: Path) -> Path:
    """A copy of a closed ledger directory (every file but the WAL index)."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and not path.name.endswith("-shm"):
            (target / path.name).write_bytes(path.read_bytes())
            os.chmod(target / path.name, path.stat().st_mode & 0o777)
    return target
