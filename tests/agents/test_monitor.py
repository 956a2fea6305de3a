"""VolumeMonitor on a mount-table file the test rewrites, and on the real /proc/self/mountinfo."""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.agents.errors import AgentError, MountTableError
from custody.agents.monitor import VolumeMonitor
from custody.agents.mountinfo import MountFilter, MountRecord
from tests.agents.conftest import WAIT, MountTableFile, umount, wait_until

Event = tuple[str, MountRecord, bool]


class _CountedStop(threading.Event):
    """The monitor's stop event, counting the waits its stat and psutil loops make at the top of each round."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.rounds += 1
        return super().wait(timeout)


def _counted(monitor: VolumeMonitor) -> _CountedStop:
    """Count the monitor's rounds (before start()): the handle to wait for "it looked, and reported nothing"."""
    stop = _CountedStop()
    monitor._stop = stop
    return stop


def _rounds_pass(stop: _CountedStop, rounds: int) -> None:
    """Wait until the monitor thread has gone through ``rounds`` whole rounds that began after this call.

    A round that began after now looks at the table as it is now; once the next round has begun it is over,
    callbacks included.  So whatever the table as it stands would make the monitor report has been reported
    (instead of a fixed sleep, which on a slow machine may pass before the monitor has looked at all)."""
    target = stop.rounds + rounds + 1
    wait_until(lambda: stop.rounds >= target, what=f"the monitor thread did not go round {rounds} more time(s)")


def _collector() -> tuple[queue.Queue[Event], Callable[[MountRecord, bool], None], Callable[[MountRecord], None]]:
    events: queue.Queue[Event] = queue.Queue()

    def on_attach(record: MountRecord, initial: bool) -> None:
        events.put(("attach", record, initial))

    def on_detach(record: MountRecord) -> None:
        events.put(("detach", record, False))

    return events, on_attach, on_detach


def _next(events: queue.Queue[Event], timeout: float = WAIT) -> Event:
    try:
        return events.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no monitor callback within {timeout:g} s") from None


def test_file_mode_attach_and_detach(tmp_path: Path, mount_table: MountTableFile) -> None:
    media = tmp_path / "media"
    (media / "present").mkdir(parents=True)
    (media / "usb").mkdir()
    present = mount_table.attach(media / "present")
    events, on_attach, on_detach = _collector()
    monitor = VolumeMonitor(on_attach, on_detach, mount_table=mount_table.path,
                            mount_filter=MountFilter(roots=(str(media),)), stat_interval=0.05)
    assert monitor.mode == "stat"
    rounds = _counted(monitor)
    monitor.start()
    try:
        assert events.get_nowait() == ("attach", present, True)  # reported from start(), synchronously
        usb = mount_table.attach(media / "usb", source="/dev/sdy1", minor=33)
        assert _next(events) == ("attach", usb, False)
        mount_table.detach(present)
        assert _next(events) == ("detach", present, False)
        # Not candidates: outside the roots, or a pseudo filesystem.
        mount_table.attach(tmp_path / "elsewhere", fs_type="ext4")
        mount_table.attach(media / "proc", fs_type="proc")
        mount_table.detach(usb)
        assert _next(events) == ("detach", usb, False)
        _rounds_pass(rounds, 5)  # the final table, looked at again: nothing else to report
        assert events.empty()
        assert [r.mount_point for r in monitor.current()] == []
    finally:
        monitor.stop()
        monitor.stop()  # idempotent
    assert not monitor.running


def test_file_mode_survives_malformed_lines_and_a_missing_table(tmp_path: Path, mount_table: MountTableFile) -> None:
    media = tmp_path / "media"
    (media / "a").mkdir(parents=True)
    events, on_attach, on_detach = _collector()
    monitor = VolumeMonitor(on_attach, on_detach, mount_table=mount_table.path,
                            mount_filter=MountFilter(roots=(str(media),)), stat_interval=0.05)
    rounds = _counted(monitor)
    monitor.start()
    try:
        a = mount_table.attach(media / "a")
        assert _next(events)[0:2] == ("attach", a)
        reads = monitor.wakeups  # counts the reads of a changed table; the attach above was one
        mount_table.write(extra="this is not a mountinfo line\n1 2 3 - x\n")
        wait_until(lambda: monitor.wakeups > reads, what="the monitor did not read the rewritten table")
        _rounds_pass(rounds, 5)
        assert events.empty()  # same mounts; bad lines skipped
        mount_table.path.unlink()  # unreadable for a while: keep the last known state
        _rounds_pass(rounds, 5)  # each round finds the table missing
        assert events.empty()
        mount_table.write()
        mount_table.detach(a)
        assert _next(events)[0:2] == ("detach", a)
    finally:
        monitor.stop()


def test_callback_failure_does_not_stop_the_monitor(tmp_path: Path, mount_table: MountTableFile) -> None:
    media = tmp_path / "media"
    seen: queue.Queue[str] = queue.Queue()

    def on_attach(record: MountRecord, initial: bool) -> None:
        seen.put(record.mount_point)
        raise RuntimeError("boom")

    monitor = VolumeMonitor(on_attach, lambda r: None, mount_table=mount_table.path,
                            mount_filter=MountFilter(roots=(str(media),)), stat_interval=0.05)
    monitor.start()
    try:
        mount_table.attach(media / "one")
        assert seen.get(timeout=WAIT) == str(media / "one")
        mount_table.attach(media / "two", minor=18)
        assert seen.get(timeout=WAIT) == str(media / "two")
    finally:
        monitor.stop()


def test_bad_configuration(tmp_path: Path) -> None:
    with pytest.raises(AgentError):
        VolumeMonitor(lambda r, i: None, lambda r: None, mode="inotify")
    monitor = VolumeMonitor(lambda r, i: None, lambda r: None, mount_table=tmp_path / "absent", mode="stat")
    with pytest.raises(MountTableError):
        monitor.start()
    poller = VolumeMonitor(lambda r, i: None, lambda r: None, mount_table="/proc/self/nonexistent")
    assert poller.mode == "poll"
    with pytest.raises(MountTableError):
        poller.start()


def test_proc_mountinfo_poll_sees_real_tmpfs(tmp_path: Path, tmpfs_mounter: Callable[[str], Path]) -> None:
    """A real tmpfs mount wakes poll() on /proc/self/mountinfo.  The timeout fallback is an hour, far beyond
    the test's wait, and ``wakeups`` counts only polls that returned an event: so the callback arriving at
    all, with a wake-up counted, shows the wake-up came from the kernel (whatever the machine's speed)."""
    media = tmp_path / "media"
    media.mkdir()
    events, on_attach, on_detach = _collector()
    monitor = VolumeMonitor(on_attach, on_detach, mount_filter=MountFilter(roots=(str(media),)), poll_timeout=3600)
    assert monitor.mode == "poll"
    monitor.start()
    try:
        target = tmpfs_mounter("stick")
        kind, record, initial = _next(events)
        assert (kind, record.mount_point, record.fs_type, initial) == ("attach", str(target), "tmpfs", False)
        assert record.source == "custody-stick"
        assert monitor.wakeups >= 1
        umount(target)
        kind, record, _ = _next(events)
        assert (kind, record.mount_point) == ("detach", str(target))
    finally:
        monitor.stop()


def test_psutil_mode_sees_real_tmpfs(tmp_path: Path, tmpfs_mounter: Callable[[str], Path]) -> None:
    """The macOS/Windows code path (psutil.disk_partitions polling), exercised on Linux."""
    media = tmp_path / "media"
    media.mkdir()
    events, on_attach, on_detach = _collector()
    monitor = VolumeMonitor(on_attach, on_detach, mode="psutil", mount_filter=MountFilter(roots=(str(media),)),
                            partitions_interval=0.1)
    monitor.start()
    try:
        target = tmpfs_mounter("psutil")
        kind, record, _ = _next(events)
        assert (kind, record.mount_point, record.fs_type) == ("attach", str(target), "tmpfs")
        assert record.major == 0 and record.minor > 0  # filled from os.stat on Linux
        subprocess.run(["umount", str(target)], check=True)
        assert _next(events)[0] == "detach"
    finally:
        monitor.stop()
