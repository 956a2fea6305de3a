"""Fixtures for the agent tests: real directories, real mounts where permitted, an in-memory sink."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from custody.agents.memory import MemorySink
from custody.agents.mountinfo import MountRecord
from custody.ledger.canonical import dumps
from tests.conftest import cannot_mount, mount_tmpfs, unmount_lazily

T = TypeVar("T")

#: How long a test waits for something the code is expected to do before calling it a failure.  Generous on
#: purpose: a slow or busy machine is slow, not wrong; a passing run does not wait any longer for it.
WAIT = 30.0


def wait_until(predicate: Callable[[], T], *, what: str | Callable[[], str], timeout: float = WAIT,
               interval: float = 0.02) -> T:
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout`` seconds.

    The one bounded wait of the agent tests (no test depends on timing): waiting for work is a condition,
    never a sleep.  ``what`` says what did not happen (a callable is asked only on failure, for its state).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            message = what() if callable(what) else what
            raise AssertionError(f"not within {timeout:g} s: {message}")
        time.sleep(interval)


BASE_LINES = (
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
)


class CheckedSink(MemorySink):
    """MemorySink that also checks every body canonicalises (RFC 8785) and notes when it arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[str, float]] = []

    def emit(self, event_type: str, body: dict[str, object]) -> None:
        dumps(body)  # raises on floats, big ints, lone surrogates
        super().emit(event_type, body)
        self.arrivals.append((event_type, time.monotonic()))


@pytest.fixture
def sink() -> CheckedSink:
    return CheckedSink()


class MountTableFile:
    """A mountinfo-format file the test rewrites atomically; directories stand in for volumes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[MountRecord] = []
        self._next_id = 100
        self.write()

    def write(self, extra: str = "") -> None:
        tmp = self.path.with_suffix(".tmp")
        body = BASE_LINES + "".join(r.to_line() + "\n" for r in self.records) + extra
        tmp.write_text(body, encoding="utf-8", errors="surrogateescape")
        os.replace(tmp, self.path)

    def attach(self, mount_point: Path, *, fs_type: str = "vfat", source: str = "/dev/sdz1",
               major: int = 8, minor: int = 17) -> MountRecord:
        self._next_id += 1
        record = MountRecord(self._next_id, 27, major, minor, "/", str(mount_point), ("rw", "relatime"),
                             (), fs_type, source, ("rw",))
        self.records.append(record)
        self.write()
        return record

    def detach(self, record: MountRecord) -> None:
        self.records.remove(record)
        self.write()


@pytest.fixture
def mount_table(tmp_path: Path) -> MountTableFile:
    return MountTableFile(tmp_path / "mountinfo")


@pytest.fixture
def tmpfs_mounter(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """mount(name) -> a real tmpfs mounted under tmp_path/media/name; unmounted at the end."""
    reason = cannot_mount()
    if reason:
        pytest.skip(reason)
    mounted: list[Path] = []

    def mount(name: str, size: str = "64m") -> Path:
        target = tmp_path / "media" / name
        mount_tmpfs(target, size, f"custody-{name}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        unmount_lazily(target)


def umount(target: Path) -> None:
    """Unmount, retrying while the kernel says EBUSY (a watcher may be hashing a file there)."""
    errors: list[str] = []

    def unmounted() -> bool:
        result = subprocess.run(["umount", str(target)], capture_output=True, text=True, check=False)
        errors[:] = [result.stderr.strip()]
        return result.returncode == 0

    wait_until(unmounted, interval=0.1, what=lambda: f"umount {target} kept failing: {errors}")


@pytest.fixture
def ext4_image(tmp_path: Path) -> Callable[[str], tuple[Path, str]]:
    """make(label) -> (image path, filesystem UUID): a real ext4 filesystem in a file."""
    mkfs = shutil.which("mkfs.ext4")
    if mkfs is None:
        pytest.skip("mkfs.ext4 is not installed")

    def make(label: str) -> tuple[Path, str]:
        image = tmp_path / f"disk-{uuid.uuid4().hex[:8]}.img"
        fs_uuid = str(uuid.uuid4())
        with image.open("wb") as fh:
            fh.truncate(8 * 1024 * 1024)
        subprocess.run([mkfs, "-q", "-F", "-L", label, "-U", fs_uuid, str(image)], check=True,
                       capture_output=True)
        return image, fs_uuid

    return make


@pytest.fixture
def loop_mounter(tmp_path: Path) -> Iterator[Callable[[Path, str], Path]]:
    """mount(image, name) -> a real loop mount under tmp_path/media/name."""
    reason = cannot_mount()
    if reason:
        pytest.skip(reason)
    mounted: list[Path] = []

    def mount(image: Path, name: str) -> Path:
        target = tmp_path / "media" / name
        target.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", "-o", "loop", str(image), str(target)], capture_output=True,
                                text=True, check=False)
        if result.returncode != 0:
            pytest.skip(f"loop mount not permitted here: {result.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        unmount_lazily(target)


@pytest.fixture(autouse=True)
def english_messages() -> Iterator[None]:
    """Tests read stderr in English; the Japanese test switches explicitly."""
    from custody.ledger import i18n

    previous = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(previous)
