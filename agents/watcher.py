"""Record the files written to one mounted volume: path, size, SHA-256.

One ``VolumeWatcher`` per mounted volume, started after the mount is present
(a watch placed before the mount sees nothing of it, docs/dependency-notes.md).  Two sources
feed one queue of paths to look at:

* a watchdog observer (inotify, or ``PollingObserver`` where inotify does not
  report: network and FUSE filesystems).  ``FileClosedEvent`` means "written
  and closed: hash now"; created, modified and moved events are hints that
  wait until the file has been quiet for ``settle`` seconds;
* a periodic snapshot walk of the tree (``reconcile_interval``), comparing
  (size, mtime_ns, inode) with what was last seen; what changed settles as
  an event's hint does (``_settle_found``).  It catches what the
  observer missed: inotify queue overflow (watchdog 7 drops those events;
  this module also hooks watchdog's overflow warning to reconcile at once),
  files written before the watches were in place, renames, and filesystems
  without inotify.

A file is hashed once its stat is stable across the read (same size, mtime and
inode before and after hashing; otherwise it goes back to the queue), and it
is recorded once per content version: the same path with the same SHA-256 as
last recorded is not recorded again, whatever the events.

Records are handed to ``on_batch`` at most once per ``batch_interval`` (1 s)
per volume, at most ``batch_limit`` files at a time; a longer burst is split
into several batches (``truncated=True`` on all but the last), never dropped.

Files present when the watch starts are the baseline: their stat is noted,
not hashed, and they are not recorded unless they change later -- except files
whose ctime falls within ``baseline_grace`` seconds before the watch began,
which are treated as written under observation (the window between the mount
and the watch).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from custody.agents.errors import AgentError
from custody.agents.jsonsafe import text_fields
from custody.ledger.i18n import _

log = logging.getLogger(__name__)

_EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
]
_PROCESS_CHUNK = 256
_FINAL_ROUNDS = 5
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS |= getattr(os, "O_CLOEXEC", 0)

Signature = tuple[int, int, int]  # size, mtime_ns, inode


@dataclass(frozen=True)
class FileRecord:
    """One file as recorded: relative POSIX path, size, SHA-256 (None when it could not be read)."""

    path: str
    size: int | None
    sha256: str | None
    error: str | None = None  # "permission", "io", "unmounted", "changing"

    def body(self) -> dict[str, object]:
        out = text_fields("path", self.path)
        out["size"] = self.size
        out["sha256"] = self.sha256
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class WatcherConfig:
    batch_interval: float = 1.0
    batch_limit: int = 1000
    linger: float = 0.1
    settle: float = 0.5
    reconcile_interval: float = 10.0
    reconcile_backoff: float = 10.0
    baseline_grace: float = 2.0
    polling: bool = False
    polling_interval: float = 2.0
    observe: bool = True  # False: snapshots only (no observer at all)
    hash_chunk: int = 1 << 20

    def __post_init__(self) -> None:
        if self.batch_limit < 1 or self.batch_interval < 0 or self.settle < 0:
            raise AgentError(_("The batch limit must be at least 1 and intervals must not be negative"))


@dataclass
class WatcherStats:
    events: int = 0
    recorded: int = 0
    hashed: int = 0
    hashed_bytes: int = 0
    unchanged: int = 0
    requeued: int = 0
    vanished: int = 0
    unreadable: int = 0
    found_by_reconcile: int = 0
    reconciles: int = 0
    last_reconcile_seconds: float = 0.0
    overflows: int = 0
    batches: int = 0
    baseline_files: int = 0
    observer: str = ""

    def body(self) -> dict[str, object]:
        return {
            "events": self.events,
            "recorded": self.recorded,
            "vanished": self.vanished,
            "unreadable": self.unreadable,
            "found_by_reconcile": self.found_by_reconcile,
            "reconciles": self.reconciles,
            "overflows": self.overflows,
            "batches": self.batches,
            "baseline_files": self.baseline_files,
            "observer": self.observer,
        }


@dataclass
class _Version:
    signature: Signature
    ctime_ns: int
    sha256: str | None
    hashed: bool


BatchCallback = Callable[["VolumeWatcher", list[FileRecord], bool], None]


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: VolumeWatcher) -> None:
        self._watcher = weakref.ref(watcher)

    def dispatch(self, event: FileSystemEvent) -> None:
        watcher = self._watcher()
        if watcher is not None:
            watcher._on_event(event)


class _OverflowHook(logging.Handler):
    """Turns watchdog's "Inotify queue overflowed" warning into an immediate reconcile."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.watchers: weakref.WeakSet[VolumeWatcher] = weakref.WeakSet()

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" not in str(record.msg).lower():
            return
        path = record.args[0] if isinstance(record.args, tuple) and record.args else None
        for watcher in list(self.watchers):
            if path is None or os.fsdecode(path) == watcher.root_str:  # type: ignore[arg-type]
                watcher.stats.overflows += 1
                watcher.request_reconcile()


_overflow_hook = _OverflowHook()
logging.getLogger("watchdog.observers.inotify").addHandler(_overflow_hook)


class VolumeWatcher:
    """Observe one mounted volume and hand over batches of written files."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        on_batch: BatchCallback,
        *,
        volume_id: str = "",
        config: WatcherConfig | None = None,
        flush_enabled: bool = True,
    ) -> None:
        self.root = Path(root)
        self.root_str = os.fspath(self.root)
        self.volume_id = volume_id
        self.config = config if config is not None else WatcherConfig()
        self.on_batch = on_batch
        self.stats = WatcherStats()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._waiting: dict[str, float] = {}  # path -> monotonic time of the last hint
        self._ready: dict[str, None] = {}  # paths to hash now (closed, or quiet long enough)
        self._from_reconcile: set[str] = set()
        self._versions: dict[str, _Version] = {}
        self._pending: list[FileRecord] = []
        self._pending_since = 0.0
        self._last_emit = -1e18
        self._flush_enabled = flush_enabled
        self._reconcile_requested = False
        self._next_reconcile = 0.0
        self._stopping = False
        self._unmounted = False
        self._started = False
        self._dev = -1
        self._watch_start_ns = 0
        self._observer: BaseObserver | None = None
        self._worker: threading.Thread | None = None
        self._baseline_done = threading.Event()

    # --- lifecycle ---

    def start(self) -> None:
        """Schedule the observer on the (already mounted) root, then take the baseline in the worker."""
        if self._started:
            raise AgentError(_("The file watcher is already started"))
        self._started = True
        self._dev = os.stat(self.root).st_dev
        self._watch_start_ns = time.time_ns()
        self._start_observer()
        _overflow_hook.watchers.add(self)
        self._worker = threading.Thread(target=self._run, name=f"custody-watch:{self.root_str}", daemon=True)
        self._worker.start()

    def _start_observer(self) -> None:
        kinds: list[str] = ["polling"] if self.config.polling else ["inotify", "polling"]
        if not self.config.observe:
            kinds = []
        for kind in kinds:
            observer: BaseObserver = (
                PollingObserver(timeout=self.config.polling_interval) if kind == "polling" else Observer()
            )
            try:
                observer.schedule(_Handler(self), self.root_str, recursive=True, event_filter=_EVENT_FILTER)
                observer.start()
            except OSError as exc:  # e.g. ENOSPC: out of inotify watches
                log.warning("%s observer failed on %s: %s", kind, self.root_str, exc)
                with contextlib.suppress(Exception):
                    observer.stop()
                continue
            self._observer = observer
            self.stats.observer = kind
            return
        self.stats.observer = "reconcile-only"

    def enable_flush(self) -> None:
        """Allow batches to be handed over (the agent does this once ``volume.attached`` is out)."""
        with self._wake:
            self._flush_enabled = True
            self._wake.notify()

    def request_reconcile(self) -> None:
        with self._wake:
            self._reconcile_requested = True
            self._wake.notify()

    def stop(self, *, unmounted: bool = False, timeout: float | None = None) -> None:
        """Stop observing, hash what is queued, hand over every pending record, then return.

        ``unmounted``: the volume is gone, so queued files cannot be read; they are
        recorded with ``sha256: null`` and ``error: "unmounted"``.  Idempotent.
        """
        with self._wake:
            if not self._stopping:
                self._stopping = True
                self._unmounted = unmounted
                self._flush_enabled = True
            self._wake.notify()
        observer, self._observer = self._observer, None
        if observer is not None:
            with contextlib.suppress(Exception):
                observer.stop()
                observer.join(5)
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)
        _overflow_hook.watchers.discard(self)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._ready) + len(self._waiting)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or pending (tests, measurements)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._baseline_done.is_set() and self.pending == 0:
                return True
            time.sleep(0.02)
        return False

    # --- events ---

    def _on_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileMovedEvent):
            path, closed = os.fsdecode(event.dest_path), True
        else:
            path, closed = os.fsdecode(event.src_path), isinstance(event, FileClosedEvent)
        if not path:
            return
        with self._wake:
            self.stats.events += 1
            self._from_reconcile.discard(path)
            if closed:
                self._waiting.pop(path, None)
                if path not in self._ready:
                    self._ready[path] = None
                    self._wake.notify()
            else:
                if path in self._ready:
                    del self._ready[path]  # reopened for writing: wait again
                if not self._waiting:
                    self._wake.notify()  # the worker may be asleep with nothing to settle
                self._waiting[path] = time.monotonic()

    # --- the worker ---

    def _run(self) -> None:
        try:
            self._baseline()
        except OSError as exc:
            log.warning("baseline walk of %s failed: %s", self.root_str, exc)
        self._baseline_done.set()
        self._next_reconcile = time.monotonic() + self.config.reconcile_interval
        settle_tick = max(0.02, self.config.settle / 4)
        next_settle_scan = 0.0
        while True:
            with self._wake:
                if self._stopping:
                    break
                now = time.monotonic()
                if now >= next_settle_scan:
                    self._promote_settled(now)
                    next_settle_scan = now + settle_tick
                batch = self._take_ready(_PROCESS_CHUNK)
                if not batch and not self._reconcile_due(now) and not self._flush_due(now):
                    self._wake.wait(self._sleep_time(now, next_settle_scan))
                    continue
            for path in batch:
                self._process(path)
            if self._reconcile_due(time.monotonic()):
                self._reconcile()
            self._flush(force=False)
        self._finish()

    def _take_ready(self, limit: int) -> list[str]:
        out: list[str] = []
        for path in self._ready:
            out.append(path)
            if len(out) >= limit:
                break
        for path in out:
            del self._ready[path]
        return out

    def _promote_settled(self, now: float) -> None:
        if not self._waiting:
            return
        limit = now - self.config.settle
        settled = [p for p, last in self._waiting.items() if last <= limit]
        for path in settled:
            del self._waiting[path]
            self._ready[path] = None

    def _reconcile_due(self, now: float) -> bool:
        return self._reconcile_requested or now >= self._next_reconcile

    def _flush_due(self, now: float) -> bool:
        if not self._pending or not self._flush_enabled:
            return False
        if now < self._last_emit + self.config.batch_interval:
            return False
        if len(self._pending) >= self.config.batch_limit:
            return True
        return now - self._pending_since >= self.config.linger

    def _sleep_time(self, now: float, next_settle_scan: float) -> float:
        deadlines = [self._next_reconcile]
        if self._waiting:
            deadlines.append(next_settle_scan)
        if self._pending and self._flush_enabled:
            deadlines.append(
                max(self._last_emit + self.config.batch_interval, self._pending_since + self.config.linger)
            )
        return min(max(0.005, min(deadlines) - now), 5.0)

    def _relative(self, path: str) -> str | None:
        try:
            rel = os.path.relpath(path, self.root_str)
        except ValueError:
            return None
        if rel == "." or rel.startswith(".."):
            return None
        return rel.replace(os.sep, "/")

    def _root_present(self) -> bool:
        try:
            return os.stat(self.root_str).st_dev == self._dev
        except OSError:
            return False

    def _add_record(self, record: FileRecord) -> None:
        with self._lock:
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.append(record)
            self.stats.recorded += 1

    def _requeue(self, path: str) -> None:
        with self._lock:
            self.stats.requeued += 1
            if path not in self._ready:
                self._waiting[path] = time.monotonic()

    def _process(self, path: str) -> None:
        rel = self._relative(path)
        if rel is None:
            return
        with self._lock:
            found_by_reconcile = path in self._from_reconcile
            self._from_reconcile.discard(path)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            self._gone(rel)
            return
        except OSError:
            self._unreadable(rel, None, "io")
            return
        if not stat.S_ISREG(st.st_mode):
            return
        if st.st_dev != self._dev:
            if not self._root_present():
                self._gone(rel)
            return  # a nested mount: its own watcher records it
        signature: Signature = (st.st_size, st.st_mtime_ns, st.st_ino)
        version = self._versions.get(rel)
        if version is not None:
            if version.hashed and version.signature == signature:
                return
            if (
                not version.hashed
                and version.signature == signature
                and version.ctime_ns == st.st_ctime_ns
                and version.ctime_ns < self._watch_start_ns - int(self.config.baseline_grace * 1e9)
            ):
                return  # untouched since before the watch
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            self._gone(rel)
            return
        except PermissionError:
            self._versions[rel] = _Version(signature, st.st_ctime_ns, None, True)
            self._unreadable(rel, st.st_size, "permission")
            return
        except OSError:
            self._unreadable(rel, st.st_size, "io")
            return
        try:
            before = os.fstat(fd)
            digest = hashlib.sha256()
            total = 0
            while chunk := os.read(fd, self.config.hash_chunk):
                digest.update(chunk)
                total += len(chunk)
            after = os.fstat(fd)
        except OSError:
            self._unreadable(rel, st.st_size, "io")
            return
        finally:
            os.close(fd)
        self.stats.hashed += 1
        self.stats.hashed_bytes += total
        if (
            (before.st_size, before.st_mtime_ns, before.st_ino) != signature
            or (after.st_size, after.st_mtime_ns, after.st_ino) != signature
            or total != st.st_size
        ):
            self._requeue(path)  # still being written
            return
        sha = digest.hexdigest()
        if version is not None and version.sha256 == sha:
            self.stats.unchanged += 1
            self._versions[rel] = _Version(signature, st.st_ctime_ns, sha, True)
            return
        self._versions[rel] = _Version(signature, st.st_ctime_ns, sha, True)
        if found_by_reconcile:
            self.stats.found_by_reconcile += 1
        self._add_record(FileRecord(rel, st.st_size, sha))

    def _gone(self, rel: str) -> None:
        if self._unmounted or not self._root_present():
            last = self._versions.get(rel)
            self._add_record(FileRecord(rel, last.signature[0] if last else None, None, "unmounted"))
        else:
            self.stats.vanished += 1

    def _unreadable(self, rel: str, size: int | None, reason: str) -> None:
        self.stats.unreadable += 1
        self._add_record(FileRecord(rel, size, None, reason))

    # --- snapshots ---

    def _walk(self) -> dict[str, tuple[Signature, int]]:
        """Regular files below the root on the same device: rel -> (signature, ctime_ns)."""
        out: dict[str, tuple[Signature, int]] = {}
        stack = [self.root_str]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if st.st_dev != self._dev:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                elif stat.S_ISREG(st.st_mode):
                    rel = self._relative(entry.path)
                    if rel is not None:
                        out[rel] = ((st.st_size, st.st_mtime_ns, st.st_ino), st.st_ctime_ns)
        return out

    def _baseline(self) -> None:
        grace_ns = int(self.config.baseline_grace * 1e9)
        snapshot = self._walk()
        fresh: list[str] = []
        for rel, (signature, ctime_ns) in snapshot.items():
            self._versions[rel] = _Version(signature, ctime_ns, None, False)
            if ctime_ns >= self._watch_start_ns - grace_ns:
                fresh.append(rel)
        self.stats.baseline_files = len(snapshot)
        self._settle_found(fresh, from_reconcile=False)

    def _settle_found(self, rels: list[str], *, from_reconcile: bool) -> None:
        """Paths a walk found new or changed settle like paths an event named, unless already queued.

        Never hashed at once: a file the walk meets between its creation and its first write (a writer the
        scheduler held back) is empty and stable, and was recorded empty, then again with its content when
        its events arrived (seen under load in the 10,000-file burst test, from the baseline walk).  The
        walks run on the worker that settles them: no wake-up is needed.
        """
        with self._lock:
            now = time.monotonic()
            for rel in rels:
                path = os.path.join(self.root_str, rel)
                if path in self._ready or path in self._waiting:
                    continue
                if from_reconcile:
                    self._from_reconcile.add(path)
                self._waiting[path] = now

    def _reconcile(self) -> None:
        started = time.monotonic()
        with self._lock:
            self._reconcile_requested = False
        if not self._root_present():
            self._next_reconcile = started + self.config.reconcile_interval
            return
        snapshot = self._walk()
        changed = [
            rel
            for rel, (signature, _ctime) in snapshot.items()
            if (version := self._versions.get(rel)) is None or version.signature != signature
        ]
        self._settle_found(changed, from_reconcile=True)
        duration = time.monotonic() - started
        self.stats.reconciles += 1
        self.stats.last_reconcile_seconds = duration
        interval = max(self.config.reconcile_interval, self.config.reconcile_backoff * duration)
        self._next_reconcile = time.monotonic() + interval

    # --- batches ---

    def _flush(self, *, force: bool) -> bool:
        """Hand over one batch if allowed now; True if one was handed over."""
        with self._lock:
            now = time.monotonic()
            if not self._pending or not self._flush_enabled:
                return False
            if now < self._last_emit + self.config.batch_interval:
                return False
            if not force and not self._flush_due(now):
                return False
            batch = self._pending[: self.config.batch_limit]
            # Truncated: the limit cut this batch and the burst goes on in a later entry.
            truncated = len(self._pending) > len(batch) or (
                len(batch) == self.config.batch_limit and bool(self._ready or self._waiting)
            )
        try:
            self.on_batch(self, batch, truncated)
        except Exception:  # keep the records and try again at the next interval
            log.exception("handing over a batch of %d files from %s failed", len(batch), self.root_str)
            with self._lock:
                self._last_emit = time.monotonic()
            return False
        with self._lock:
            del self._pending[: len(batch)]
            self._last_emit = time.monotonic()
            self._pending_since = self._last_emit
            self.stats.batches += 1
        return True

    def _finish(self) -> None:
        """After stop(): final reconcile, hash everything queued, hand over every record."""
        if not self._unmounted and self._root_present():
            self._reconcile()
        for _round in range(_FINAL_ROUNDS):
            with self._lock:
                self._ready.update(dict.fromkeys(self._waiting))
                self._waiting.clear()
                batch = self._take_ready(len(self._ready))
            if not batch:
                break
            for path in batch:
                self._process(path)
        with self._lock:
            still_changing = list(self._ready) + list(self._waiting)
            self._ready.clear()
            self._waiting.clear()
        for path in still_changing:  # written to even as the watch stopped: no stable content to hash
            rel = self._relative(path)
            if rel is not None:
                try:
                    size: int | None = os.lstat(path).st_size
                except OSError:
                    size = None
                self._unreadable(rel, size, "changing")
        failures = 0
        while True:
            with self._lock:
                if not self._pending:
                    return
                wait = self._last_emit + self.config.batch_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
                continue
            if not self._flush(force=True):
                failures += 1
                if failures >= 3:
                    log.error(
                        "%d file records from %s could not be handed over", len(self._pending), self.root_str
                    )
                    return
