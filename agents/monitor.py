"""Notice volumes being mounted and unmounted.

Three ways to learn the mount table, chosen by ``mode``:

``poll``
    Linux: ``select.poll()`` on ``/proc/self/mountinfo`` for ``POLLPRI|POLLERR``,
    which the kernel raises on every mount and unmount in this mount namespace;
    a timeout (default 5 s) re-reads anyway, so a missed wake-up costs at most
    that long.
``stat``
    Any file in mountinfo format (tests, the demo, a table exported from
    elsewhere): ``stat()`` every ``stat_interval`` (default 0.2 s) and re-read
    when (mtime, size, inode) change, plus a full re-read every 2 s in case a
    rewrite kept all three.  Write such a file atomically (write, then rename).
``psutil``
    macOS and Windows (and Linux, if asked): ``psutil.disk_partitions()`` every
    ``partitions_interval``.  Windows gives no event for a new volume in
    watchdog (docs/dependency-notes.md), so polling is the documented way there.

On a change, callbacks run in the monitor's thread: ``on_detach(record)`` for
every mount that went away, then ``on_attach(record, initial)`` for every new
one that passes the ``MountFilter``.  Mounts present at ``start()`` are
reported synchronously from ``start()`` with ``initial=True``.  A mount that
appears and disappears between two reads is not seen at all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from custody.agents.errors import AgentError, MountTableError
from custody.agents.mountinfo import MountDiff, MountFilter, MountRecord, diff, parse_mountinfo
from custody.ledger.i18n import _

log = logging.getLogger(__name__)

PROC_MOUNTINFO = Path("/proc/self/mountinfo")
MODES = ("auto", "poll", "stat", "psutil")
_FULL_REREAD = 2.0

AttachCallback = Callable[[MountRecord, bool], None]
DetachCallback = Callable[[MountRecord], None]


def default_filter() -> MountFilter:
    """The platform's default notion of a removable or data volume."""
    if sys.platform == "darwin":  # pragma: no cover - macOS branch
        return MountFilter(roots=("/Volumes",))
    if sys.platform == "win32":  # pragma: no cover - Windows branch
        system_drive = os.environ.get("SYSTEMDRIVE", "C:") + "\\"
        return MountFilter(roots=(), exclude_paths=(system_drive,))
    return MountFilter()


def psutil_records(
    accept: Callable[[MountRecord], bool] | None = None,
    *,
    stat_devices: bool = sys.platform.startswith("linux"),
) -> list[MountRecord]:
    """The mount table from ``psutil.disk_partitions(all=True)`` as ``MountRecord`` values.

    psutil gives no mount ID or device numbers; on Linux the device numbers
    come from ``os.stat(mount point).st_dev`` when ``stat_devices`` (so udev and
    sysfs lookups still work), only for records ``accept`` takes (a dead
    network mount can hang ``stat``).  Elsewhere they are 0.
    """
    import psutil

    out: list[MountRecord] = []
    for part in psutil.disk_partitions(all=True):
        record = MountRecord(
            mount_id=0,
            parent_id=0,
            major=0,
            minor=0,
            root="/",
            mount_point=part.mountpoint,
            mount_options=tuple(part.opts.split(",")) if part.opts else (),
            optional_fields=(),
            fs_type=part.fstype,
            source=part.device,
            super_options=(),
        )
        if stat_devices and (accept is None or accept(record)):
            try:
                st_dev = os.stat(part.mountpoint).st_dev
                record = replace(record, major=os.major(st_dev), minor=os.minor(st_dev))
            except OSError:
                pass
        out.append(record)
    return out


class VolumeMonitor:
    """Watch the mount table and call back on candidate volumes attached and detached."""

    def __init__(
        self,
        on_attach: AttachCallback,
        on_detach: DetachCallback,
        *,
        mount_table: str | os.PathLike[str] | None = None,
        mode: str = "auto",
        mount_filter: MountFilter | None = None,
        poll_timeout: float = 5.0,
        stat_interval: float = 0.2,
        partitions_interval: float = 2.0,
    ) -> None:
        if mode not in MODES:
            raise AgentError(_("Unknown monitor mode: {mode}").format(mode=mode))
        self.on_attach = on_attach
        self.on_detach = on_detach
        self.mount_filter = mount_filter if mount_filter is not None else default_filter()
        self.poll_timeout = poll_timeout
        self.stat_interval = stat_interval
        self.partitions_interval = partitions_interval
        self.mount_table: Path | None = Path(mount_table) if mount_table is not None else None
        self.mode = self._resolve_mode(mode)
        if self.mode in ("poll", "stat") and self.mount_table is None:
            self.mount_table = PROC_MOUNTINFO
        self._current: tuple[MountRecord, ...] = ()
        self._scan_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._file: int | None = None
        self._stat_last: tuple[int, int, int, int] | None = None
        self._seen_problems: set[str] = set()
        self._table_error_logged = False
        self.wakeups = 0
        self.scans = 0
        self.last_change_monotonic: float | None = None

    def _resolve_mode(self, mode: str) -> str:
        if mode != "auto":
            return mode
        if not sys.platform.startswith("linux") and self.mount_table is None:
            return "psutil"
        table = self.mount_table if self.mount_table is not None else PROC_MOUNTINFO
        return "poll" if str(table).startswith("/proc/") else "stat"

    # --- reading ---

    def _read_table(self) -> list[MountRecord]:
        if self.mode == "psutil":
            return psutil_records(self.mount_filter.accepts)
        assert self.mount_table is not None
        try:
            if self._file is not None:
                os.lseek(self._file, 0, os.SEEK_SET)
                chunks = []
                while chunk := os.read(self._file, 1 << 16):
                    chunks.append(chunk)
                data = b"".join(chunks)
            else:
                data = self.mount_table.read_bytes()
        except OSError as exc:
            raise MountTableError(
                _("Cannot read the mount table {path}: {error}").format(path=self.mount_table, error=exc)
            ) from exc
        table = parse_mountinfo(data, warn=False)
        for problem in table.problems:
            if problem.line not in self._seen_problems:
                self._seen_problems.add(problem.line)
                log.warning("mount table line ignored (%s): %r", problem.reason, problem.line)
        return list(table.mounts)

    def current(self) -> tuple[MountRecord, ...]:
        """The candidate volumes as of the last read."""
        with self._scan_lock:
            return self._current

    def rescan(self, records: list[MountRecord] | None = None) -> MountDiff:
        """Re-read the table now, call back for the differences, and return them."""
        with self._scan_lock:
            if records is None:
                try:
                    records = self._read_table()
                except MountTableError as exc:
                    if not self._table_error_logged:
                        log.warning("%s", exc.message)
                        self._table_error_logged = True
                    return MountDiff((), ())
            self._table_error_logged = False
            self.scans += 1
            candidates = tuple(self.mount_filter.select(records))
            change = diff(self._current, candidates)
            self._current = candidates
            if change:
                self.last_change_monotonic = time.monotonic()
            for record in reversed(change.detached):
                self._call(self.on_detach, record)
            for record in change.attached:
                self._call(self.on_attach, record, False)
            return change

    @staticmethod
    def _call(callback: Callable[..., None], *args: object) -> None:
        try:
            callback(*args)
        except Exception:  # a failing callback must not stop the monitor
            log.exception("volume monitor callback failed for %r", args[0])

    # --- lifecycle ---

    def start(self) -> None:
        """Read the table, report the volumes present now (``initial=True``), then watch."""
        if self._thread is not None:
            raise AgentError(_("The volume monitor is already started"))
        self._stop.clear()
        if self.mode == "poll":
            assert self.mount_table is not None
            try:
                self._file = os.open(self.mount_table, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise MountTableError(
                    _("Cannot read the mount table {path}: {error}").format(path=self.mount_table, error=exc)
                ) from exc
        self._wake_r, self._wake_w = os.pipe()
        # Before the first read: a rewrite between the read and the thread's first look is then seen as a change.
        self._stat_last = self._signature() if self.mode == "stat" else None
        with self._scan_lock:
            records = self._read_table()
            self._current = tuple(self.mount_filter.select(records))
            self.scans += 1
            for record in self._current:
                self._call(self.on_attach, record, True)
        target = {"poll": self._run_poll, "stat": self._run_stat, "psutil": self._run_psutil}[self.mode]
        self._thread = threading.Thread(target=target, name="custody-volume-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching (idempotent).  Callbacks in progress finish first."""
        self._stop.set()
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        for fd in (self._wake_r, self._wake_w, self._file):
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_r = self._wake_w = -1
        self._file = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run_poll(self) -> None:
        assert self._file is not None
        poller = select.poll()
        poller.register(self._file, select.POLLPRI | select.POLLERR)
        poller.register(self._wake_r, select.POLLIN)
        timeout_ms = max(1, int(self.poll_timeout * 1000))
        while not self._stop.is_set():
            try:
                events = poller.poll(timeout_ms)
            except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for safety
                continue
            if self._stop.is_set():
                break
            if events:
                self.wakeups += 1
            self.rescan()

    def _signature(self) -> tuple[int, int, int, int] | None:
        assert self.mount_table is not None
        try:
            st = os.stat(self.mount_table)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)

    def _run_stat(self) -> None:
        last = self._stat_last
        last_full = time.monotonic()
        while not self._stop.wait(self.stat_interval):
            now = time.monotonic()
            signature = self._signature()
            if signature == last and now - last_full < _FULL_REREAD:
                continue
            if signature is None:
                last = None
                continue
            try:
                records = self._read_table()
            except MountTableError:
                continue
            if self._signature() != signature:
                continue  # rewritten while being read: take it on the next tick
            if signature != last:
                self.wakeups += 1
            last, last_full = signature, now
            self.rescan(records)

    def _run_psutil(self) -> None:
        while not self._stop.wait(self.partitions_interval):
            try:
                records = psutil_records(self.mount_filter.accepts)
            except Exception:  # psutil raises platform errors; try again next round
                log.exception("psutil.disk_partitions() failed")
                continue
            self.rescan(records)
