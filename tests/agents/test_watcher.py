"""VolumeWatcher with real watchdog observers on real directories (and real tmpfs mounts as root)."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from custody.agents import watcher as watcher_module
from custody.agents.watcher import FileRecord, VolumeWatcher, WatcherConfig
from tests.agents.conftest import WAIT, wait_until

FAST = WatcherConfig(batch_interval=0.2, settle=0.2, reconcile_interval=0.5, baseline_grace=0.0)


class Batches:
    def __init__(self) -> None:
        self.items: list[tuple[float, list[FileRecord], bool]] = []
        self.lock = threading.Lock()

    def __call__(self, watcher: VolumeWatcher, files: list[FileRecord], truncated: bool) -> None:
        with self.lock:
            self.items.append((time.monotonic(), list(files), truncated))

    @property
    def files(self) -> list[FileRecord]:
        with self.lock:
            return [f for _, files, _ in self.items for f in files]

    def by_path(self) -> dict[str, list[FileRecord]]:
        out: dict[str, list[FileRecord]] = {}
        for record in self.files:
            out.setdefault(record.path, []).append(record)
        return out

    def wait(self, predicate: Callable[[Batches], bool], timeout: float = WAIT) -> None:
        wait_until(lambda: predicate(self), timeout=timeout,
                   what=lambda: f"the batches did not come; files so far: {[f.path for f in self.files]}")


class ManualClock:
    """Stands in for the ``time`` module inside custody.agents.watcher: the watcher's monotonic clock moves
    only when the test moves it, so settle windows are counted in the watcher's time, not in how fast the
    machine runs the test.  ``sleep`` (the watcher's stop() waiting out the batch interval) moves it too."""

    def __init__(self) -> None:
        self._now = time.monotonic()
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float, watcher: VolumeWatcher | None = None) -> None:
        with self._lock:
            self._now += seconds
        if watcher is not None:
            watcher.enable_flush()  # wakes the worker to look at the new time (flushing is already enabled)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        time.sleep(min(seconds, 0.01))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)  # time_ns and the rest: the real thing


@pytest.fixture
def manual_clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """Watchers started after this (request it before ``watch``) run on a ManualClock."""
    clock = ManualClock()
    monkeypatch.setattr(watcher_module, "time", clock)
    return clock


def walks_pass(watcher: VolumeWatcher, walks: int) -> None:
    """Have the watcher make ``walks`` snapshot walks that all begin after this call, and wait for them.

    A walk may be under way when this is called: the first one that ends may have begun before, the
    next cannot have.  A request made while a walk runs gets a walk of its own after it."""
    def walked(count: int) -> Callable[[], bool]:
        return lambda: watcher.stats.reconciles >= count

    start = watcher.stats.reconciles
    for n in range(1, walks + 2):
        watcher.request_reconcile()
        wait_until(walked(start + n), what=f"the watcher did not make the snapshot walk {n} of {walks + 1} asked for")


def heard_after(watcher: VolumeWatcher, events: int) -> Callable[[], bool]:
    """True once the watcher has handled an event beyond the first ``events``."""
    return lambda: watcher.stats.events > events


def quiesce(watcher: VolumeWatcher, clock: ManualClock | None = None) -> None:
    """Wait until the watcher has nothing more to record from the tree as it is now.

    Instead of sleeping "long enough": two snapshot walks that began after the call (they queue whatever
    changed), then nothing queued, settling or waiting to be handed over; then one more walk (the worker
    walks after it has processed what it took, so nothing is half done) and again nothing queued.  With a
    ManualClock the watcher's time moves on while the test waits, so that settle windows and the batch
    interval pass.  A record that was still to come is in the batches afterwards."""

    def idle() -> bool:
        if clock is not None:
            clock.advance(0.05, watcher)
        return watcher.pending == 0

    walks_pass(watcher, 2)
    wait_until(idle, what=lambda: f"the watcher still has {watcher.pending} path(s) or record(s) queued")
    walks_pass(watcher, 1)
    wait_until(idle, what=lambda: f"the watcher still has {watcher.pending} path(s) or record(s) queued")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Callable[..., tuple[VolumeWatcher, Batches, Path]]]:
    started: list[VolumeWatcher] = []

    def make(config: WatcherConfig = FAST, root: Path | None = None) -> tuple[VolumeWatcher, Batches, Path]:
        folder = root if root is not None else tmp_path / "volume"
        folder.mkdir(parents=True, exist_ok=True)
        batches = Batches()
        watcher = VolumeWatcher(folder, batches, volume_id="test", config=config)
        watcher.start()
        started.append(watcher)
        assert watcher._baseline_done.wait(WAIT), "the baseline walk did not finish"
        return watcher, batches, folder

    yield make
    for watcher in started:
        watcher.stop()


def test_records_written_files_with_hashes(watch: Callable[..., tuple[VolumeWatcher, Batches, Path]]) -> None:
    # No periodic walk while the files are written: the observer alone finds them (found_by_reconcile == 0
    # does not depend on the observer thread keeping ahead of a walk on a busy machine).
    watcher, batches, root = watch(replace(FAST, reconcile_interval=3600))
    assert watcher.stats.observer == "inotify"
    contents = {
        "a.txt": b"alpha",
        "sub/dir/b.bin": os.urandom(300_000),
        "住民/台帳.csv": "氏名,住所\n".encode(),
        "empty": b"",
    }
    for rel, data in contents.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "link").symlink_to("a.txt")
    os.mkfifo(root / "fifo")
    batches.wait(lambda b: len(b.files) >= len(contents))
    quiesce(watcher)  # nothing more: no symlink, no fifo
    got = {f.path: f for f in batches.files}
    assert set(got) == set(contents)  # no symlink, no fifo, no directories
    for rel, data in contents.items():
        assert got[rel] == FileRecord(rel, len(data), sha(data))
    assert watcher.stats.found_by_reconcile == 0


def test_not_utf8_name_is_recorded_with_exact_bytes(watch: Callable[..., tuple[VolumeWatcher, Batches, Path]]) -> None:
    _, batches, root = watch()
    raw = os.fsencode(root) + b"/bad\xffname.txt"
    with open(raw, "wb") as fh:
        fh.write(b"x")
    batches.wait(lambda b: len(b.files) == 1)
    body = batches.files[0].body()
    assert body["path"] == "bad\ufffdname.txt"
    assert body["path_b64"] == "YmFk/25hbWUudHh0"


def test_one_record_per_content_version(watch: Callable[..., tuple[VolumeWatcher, Batches, Path]]) -> None:
    watcher, batches, root = watch()
    target = root / "doc.txt"
    target.write_bytes(b"version A")
    batches.wait(lambda b: len(b.files) == 1)
    target.write_bytes(b"version A")  # same content rewritten: same version
    os.utime(target)  # touched
    quiesce(watcher)  # events, settle and walks: nothing more to record
    assert len(batches.files) == 1
    target.write_bytes(b"version B")
    batches.wait(lambda b: len(b.files) == 2)
    target.write_bytes(b"version A")  # back to A: a new write of the path
    batches.wait(lambda b: len(b.files) == 3)
    quiesce(watcher)
    assert [f.sha256 for f in batches.by_path()["doc.txt"]] == [sha(b"version A"), sha(b"version B"), sha(b"version A")]
    assert watcher.stats.unchanged >= 1


def test_rename_records_the_new_path(watch: Callable[..., tuple[VolumeWatcher, Batches, Path]]) -> None:
    watcher, batches, root = watch()
    (root / "draft.tmp").write_bytes(b"final text")
    batches.wait(lambda b: len(b.files) == 1)
    os.rename(root / "draft.tmp", root / "final.txt")
    batches.wait(lambda b: "final.txt" in b.by_path())
    quiesce(watcher)
    assert sorted(batches.by_path()) == ["draft.tmp", "final.txt"]


def test_moved_in_directory_tree(watch: Callable[..., tuple[VolumeWatcher, Batches, Path]], tmp_path: Path) -> None:
    _, batches, root = watch()
    outside = tmp_path / "outside"
    (outside / "deep/er").mkdir(parents=True)
    for i in range(20):
        (outside / "deep/er" / f"f{i}").write_bytes(b"%d" % i)
    os.rename(outside, root / "moved")
    batches.wait(lambda b: len(b.files) == 20)
    assert {f.path for f in batches.files} == {f"moved/deep/er/f{i}" for i in range(20)}


def test_baseline_files_are_not_recorded(tmp_path: Path, watch: Callable[..., tuple[VolumeWatcher, Batches, Path]]) -> None:
    root = tmp_path / "volume"
    root.mkdir()
    (root / "old.txt").write_bytes(b"was here before")
    written_ns = (root / "old.txt").stat().st_ctime_ns
    # The watch begins strictly after the file's ctime (baseline_grace is 0): wait for the wall clock to pass it.
    wait_until(lambda: time.time_ns() > written_ns, what="the wall clock did not pass the file's ctime")
    watcher, batches, _ = watch(FAST, root)
    (root / "new.txt").write_bytes(b"written while watched")
    batches.wait(lambda b: len(b.files) == 1)
    quiesce(watcher)
    assert [f.path for f in batches.files] == ["new.txt"]
    (root / "old.txt").write_bytes(b"changed while watched")
    batches.wait(lambda b: len(b.files) == 2)


def test_files_changed_just_before_the_watch_are_recorded(
    tmp_path: Path, watch: Callable[..., tuple[VolumeWatcher, Batches, Path]]
) -> None:
    """The window between the mount and the watch: ctime within baseline_grace counts as observed."""
    root = tmp_path / "volume"
    root.mkdir()
    (root / "raced.txt").write_bytes(b"written between mount and watch")
    cfg = WatcherConfig(batch_interval=0.2, settle=0.2, reconcile_interval=0.5, baseline_grace=5.0)
    _, batches, _ = watch(cfg, root)
    batches.wait(lambda b: len(b.files) == 1)
    assert batches.files[0].path == "raced.txt"


def test_a_file_the_baseline_meets_before_its_first_write_is_recorded_once(
    tmp_path: Path, manual_clock: ManualClock, watch: Callable[..., tuple[VolumeWatcher, Batches, Path]],
) -> None:
    """The baseline walk meets a file created (within baseline_grace) but not yet written: it settles first.

    The baseline sent such files to be hashed at once: the empty file was recorded, then the written one
    (the 10,000-file burst test, under load).  The watcher's clock stands still until the file is written:
    the write comes within the settle window however slow the machine is.
    """
    root = tmp_path / "volume"
    root.mkdir()
    fd = os.open(root / "held.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        cfg = WatcherConfig(batch_interval=0.2, settle=2.0, reconcile_interval=60, baseline_grace=5.0)
        watcher, batches, _ = watch(cfg, root)
        # The worker has gone round its loop (it walks after processing what it took): a file the baseline
        # had sent to be hashed at once would be hashed, empty, by now.
        walks_pass(watcher, 1)
        os.write(fd, b"resident rows")
    finally:
        os.close(fd)
    wait_until(lambda: watcher.stats.recorded >= 1, what="the closed file was not recorded")
    manual_clock.advance(0.5, watcher)  # the batch interval and linger pass
    batches.wait(lambda b: len(b.files) >= 1)
    manual_clock.advance(3.0, watcher)  # past the settle window
    quiesce(watcher, manual_clock)  # nothing more to record
    assert [(f.path, f.sha256) for f in batches.files] == [("held.txt", sha(b"resident rows"))]


def test_snapshot_reconciliation_alone_finds_everything(
    watch: Callable[..., tuple[VolumeWatcher, Batches, Path]],
) -> None:
    """No observer at all (what a lost inotify queue amounts to): the snapshot walk records every file."""
    cfg = WatcherConfig(batch_interval=0.2, settle=0.2, reconcile_interval=0.3, baseline_grace=0.0, observe=False)
    watcher, batches, root = watch(cfg)
    assert watcher.stats.observer == "reconcile-only"
    for i in range(200):
        (root / f"r{i:03}.dat").write_bytes(b"reconciled %d" % i)
    batches.wait(lambda b: len(b.files) == 200)
    assert watcher.stats.found_by_reconcile == 200
    assert {f.sha256 for f in batches.files} == {sha(b"reconciled %d" % i) for i in range(200)}


def test_a_file_the_walk_meets_before_its_first_write_is_recorded_once(
    manual_clock: ManualClock, watch: Callable[..., tuple[VolumeWatcher, Batches, Path]],
) -> None:
    """A writer held back between creating a file and writing it: the snapshot walk sees it empty.

    What the walk finds settles before it is hashed, as an event's hint does; hashed at once, the empty
    file was recorded, then the written one (found under load in the 10,000-file burst test).  The
    watcher's clock stands still until the file is written: the write comes within the settle window
    however slow the machine is.
    """
    cfg = WatcherConfig(batch_interval=0.2, settle=2.0, reconcile_interval=0.2, baseline_grace=0.0, observe=False)
    watcher, batches, root = watch(cfg)
    path = root / "held.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        walks_pass(watcher, 1)  # a whole walk after the create
        os.write(fd, b"resident rows")
    finally:
        os.close(fd)
    manual_clock.advance(2.5, watcher)  # the settle window passes: the file is hashed, written
    wait_until(lambda: watcher.stats.recorded >= 1, what="the settled file was not recorded")
    manual_clock.advance(0.5, watcher)  # the batch interval and linger pass
    batches.wait(lambda b: len(b.files) >= 1)
    quiesce(watcher, manual_clock)  # further walks and settles: nothing more to record
    assert [(f.path, f.sha256) for f in batches.files] == [("held.txt", sha(b"resident rows"))]


def test_polling_observer(watch: Callable[..., tuple[VolumeWatcher, Batches, Path]]) -> None:
    """PollingObserver (network and FUSE filesystems): no close events, files wait to settle."""
    cfg = WatcherConfig(batch_interval=0.2, settle=0.3, reconcile_interval=3600, baseline_grace=0.0,
                        polling=True, polling_interval=0.2)
    watcher, batches, root = watch(cfg)
    assert watcher.stats.observer == "polling"
    for i in range(10):
        (root / f"p{i}").write_bytes(b"polled %d" % i)
    batches.wait(lambda b: len(b.files) == 10)
    assert watcher.stats.found_by_reconcile == 0


def test_file_written_slowly_is_hashed_once_complete(
    manual_clock: ManualClock, watch: Callable[..., tuple[VolumeWatcher, Batches, Path]],
) -> None:
    """Written over 0.6 s of the watcher's time, 0.1 s between writes: modified events keep it waiting
    (settle is 0.2 s); it is hashed once, complete.  The watcher's clock moves only between writes, each
    write's event handled first: the gaps are 0.1 s however slow the machine is."""
    watcher, batches, root = watch()
    with open(root / "slow.bin", "wb") as fh:
        for _ in range(6):
            seen = watcher.stats.events
            fh.write(b"x" * 1000)
            fh.flush()
            wait_until(heard_after(watcher, seen), what="the watcher heard no event for a write")
            manual_clock.advance(0.1, watcher)
    wait_until(lambda: watcher.stats.recorded >= 1, what="the closed file was not recorded")
    manual_clock.advance(0.5, watcher)  # the batch interval and linger pass
    batches.wait(lambda b: len(b.files) >= 1)
    quiesce(watcher, manual_clock)
    assert batches.files == [FileRecord("slow.bin", 6000, sha(b"x" * 6000))]


def test_batches_are_rate_limited_and_split(watch: Callable[..., tuple[VolumeWatcher, Batches, Path]]) -> None:
    cfg = WatcherConfig(batch_interval=1.0, batch_limit=100, settle=0.2, reconcile_interval=1.0, baseline_grace=0.0)
    _, batches, root = watch(cfg)
    for i in range(350):
        (root / f"b{i:03}").write_bytes(b"%d" % i)
    batches.wait(lambda b: len(b.files) == 350, timeout=60)
    times = [t for t, _, _ in batches.items]
    sizes = [len(files) for _, files, _ in batches.items]
    flags = [truncated for _, _, truncated in batches.items]
    # On a quiet machine this is [100, 100, 100, 50]; under load the first
    # flush may come before all 350 writes are seen, so check the rules, not
    # one split: never more than the limit, split rather than dropped, a
    # truncated batch is a full one, the last is not truncated.
    assert sum(sizes) == 350 and max(sizes) <= 100 and len(sizes) >= 4, sizes
    assert all(size == 100 for size, cut in zip(sizes, flags, strict=True) if cut), (sizes, flags)
    assert flags[-1] is False, flags
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.99, gaps


def test_stop_hands_over_everything(tmp_path: Path) -> None:
    """stop() hands over every pending record, split by the batch limit.

    ``linger`` is long so that only the limit or stop() hands a batch over:
    with the default 0.1 s, a loaded machine that takes longer than that to
    write the 120 files saw an early batch of one ([1, 50, 50, 19]).
    """
    root = tmp_path / "volume"
    root.mkdir()
    batches = Batches()
    cfg = WatcherConfig(batch_interval=0.3, batch_limit=50, linger=60.0, settle=5.0, reconcile_interval=60,
                        baseline_grace=0.0)
    watcher = VolumeWatcher(root, batches, config=cfg)
    watcher.start()
    assert watcher._baseline_done.wait(WAIT), "the baseline walk did not finish"
    for i in range(120):
        (root / f"s{i}").write_bytes(b"%d" % i)
    watcher.stop()
    watcher.stop()  # idempotent
    assert len(batches.files) == 120
    assert [len(files) for _, files, _ in batches.items] == [50, 50, 20]


def test_stop_on_an_unmounted_volume(tmp_path: Path, tmpfs_mounter: Callable[[str], Path]) -> None:
    """A file still open for writing when the volume disappears: recorded without a hash, as 'unmounted'."""
    root = tmpfs_mounter("yanked")
    batches = Batches()
    # Nothing settles and no walk comes while the test runs, however slow: only stop() hands the file over.
    watcher = VolumeWatcher(root, batches, config=WatcherConfig(settle=3600, reconcile_interval=3600))
    watcher.start()
    assert watcher._baseline_done.wait(WAIT), "the baseline walk did not finish"
    fh = open(root / "half.bin", "wb")  # noqa: SIM115 - kept open across the unmount on purpose
    try:
        fh.write(b"partial")
        fh.flush()
        wait_until(lambda: watcher.pending == 1, what="the watcher did not hear of the file being written")
        subprocess.run(["umount", "-l", str(root)], check=True)
        watcher.stop(unmounted=True)
    finally:
        fh.close()
    assert batches.files == [FileRecord("half.bin", None, None, "unmounted")]


def test_nested_mount_is_left_to_its_own_watcher(
    watch: Callable[..., tuple[VolumeWatcher, Batches, Path]], tmpfs_mounter: Callable[[str], Path], tmp_path: Path
) -> None:
    outer_root = tmp_path / "media"
    inner = tmpfs_mounter("inner")  # tmp_path/media/inner, a different device
    watcher, batches, _ = watch(FAST, outer_root)
    (inner / "on-inner.txt").write_bytes(b"inner")
    (outer_root / "on-outer.txt").write_bytes(b"outer")
    batches.wait(lambda b: len(b.files) >= 1)
    quiesce(watcher)
    assert [f.path for f in batches.files] == ["on-outer.txt"]


def test_watchdog_overflow_warning_triggers_a_reconcile(
    watch: Callable[..., tuple[VolumeWatcher, Batches, Path]],
) -> None:
    """watchdog logs 'Inotify queue overflowed; reconciling recursive watches below %r' and drops the
    events; the watcher hears that warning and walks the tree at once instead of at the next interval."""
    import logging

    cfg = WatcherConfig(batch_interval=0.2, settle=0.2, reconcile_interval=600, baseline_grace=0.0, observe=False)
    watcher, batches, root = watch(cfg)
    for i in range(30):
        (root / f"lost{i}").write_bytes(b"%d" % i)
    time.sleep(0.3)  # a chance for something to record them: nothing may (kept: nothing to wait for here)
    assert batches.files == []  # no observer, next walk in 10 minutes
    assert watcher.stats.reconciles == 0 and watcher.pending == 0
    logging.getLogger("watchdog.observers.inotify").warning(
        "Inotify queue overflowed; reconciling recursive watches below %r", os.fsencode(root)
    )
    batches.wait(lambda b: len(b.files) == 30)
    assert watcher.stats.overflows == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file; unreadable files need an unprivileged user")
def test_unreadable_file_is_recorded_without_hash(watch: Callable[..., tuple[VolumeWatcher, Batches, Path]]) -> None:
    _, batches, root = watch()
    path = root / "secret.bin"
    path.write_bytes(b"cannot read me")
    path.chmod(0)
    os.utime(path)  # an event after the chmod, so the hash is tried while unreadable
    batches.wait(lambda b: any(f.error == "permission" for f in b.files))
    assert [f for f in batches.files if f.error] == [FileRecord("secret.bin", 14, None, "permission")]
