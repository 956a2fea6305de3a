"""Shared test fixtures: where the conformance vectors live (tests/vectors, README there)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# No test depends on timing: hypothesis never fails an example for taking long (a busy CI machine is
# slow, not wrong).  A test's own @settings(max_examples=...) inherits this profile's deadline.
settings.register_profile("custody", deadline=None)
settings.load_profile("custody")

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"

# A folder for what test processes make once and share (tests/verify/builders.py's ledger templates), removed
# when the run ends: processes that a test kills, or that end without running their atexit handlers, leave
# their share in it rather than in the system's temporary folder.
SHARED_TMP = "CUSTODY_TEST_SHARED_TMP"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and SHARED_TMP not in os.environ:  # the controller, not an xdist worker
        os.environ[SHARED_TMP] = tempfile.mkdtemp(prefix="custody-tests-")
        config.stash[_OWN_SHARED_TMP] = os.environ[SHARED_TMP]


def pytest_unconfigure(config: pytest.Config) -> None:
    own = config.stash.get(_OWN_SHARED_TMP, None)
    if own is not None:
        shutil.rmtree(own, ignore_errors=True)
        os.environ.pop(SHARED_TMP, None)


_OWN_SHARED_TMP = pytest.StashKey[str]()


def load_vector(relative: str) -> Any:
    return json.loads((VECTORS / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    if not VECTORS.is_dir():
        pytest.fail(f"conformance vectors not found at {VECTORS}")
    return VECTORS


@pytest.fixture(autouse=True, scope="session")
def _own_key_agent_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test meets the key agent of whoever runs the tests (custody unlock): the session has its own
    socket folder, which tests of the agent replace with one of their own."""
    runtime = tmp_path_factory.mktemp("xdg-runtime")
    runtime.chmod(0o700)
    previous = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    yield
    if previous is None:
        os.environ.pop("XDG_RUNTIME_DIR", None)
    else:
        os.environ["XDG_RUNTIME_DIR"] = previous


@pytest.fixture(autouse=True, scope="session")
def _scrypt_once_per_input() -> Iterator[None]:
    """Each test process derives a key file's AES key once per (passphrase, salt, cost).

    The workflow tests copy a ledger and its key files from a template, so the same key file, with the same
    salt and passphrase, is opened hundreds of times; scrypt at the 2^15 floor (ledger.keyenvelope.MIN_N) is
    ~0.1 s of CPU each time, most of what an in-process command costs.  scrypt is a pure function: a cached
    result is the very bytes a new derivation gives, and AES-GCM still opens (or refuses) every envelope.  A
    wrong passphrase, another salt or another cost is another input, derived anew; new keys get new salts.
    Subprocesses (Custody.process, agents, witnesses) derive their own as ever."""
    from custody.ledger import keyenvelope

    original = keyenvelope._derive
    keyenvelope._derive = functools.cache(original)
    yield
    keyenvelope._derive = original


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    """Tests read messages in English unless they choose Japanese themselves."""
    from custody.ledger import i18n

    previous = i18n._language
    i18n.set_language("en")
    yield
    i18n._language = previous


class SmallDisk:
    """A real, small tmpfs: ``leave(n)`` fills it so that about ``n`` bytes stay free; ``free()`` empties it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._fill = root / ".fill"

    def available(self) -> int:
        return shutil.disk_usage(self.root).free

    def leave(self, n_bytes: int) -> None:
        self.free()
        with self._fill.open("wb") as fh:
            fh.write(b"\0" * max(0, self.available() - n_bytes))
        assert self.available() <= n_bytes + 4096  # tmpfs counts whole pages

    def free(self) -> None:
        self._fill.unlink(missing_ok=True)

    def contents(self) -> list[str]:
        """What is on the disk besides the filler, as paths relative to it (directories end in /)."""
        return sorted(
            p.relative_to(self.root).as_posix() + ("/" if p.is_dir() else "")
            for p in self.root.rglob("*")
            if p != self._fill
        )


def cannot_mount() -> str | None:
    """None when real mounts work here, else why not."""
    if os.geteuid() != 0:
        return "not running as root: real tmpfs/loop mounts need CAP_SYS_ADMIN"
    return None


def mount_tmpfs(target: Path, size: str, source: str) -> None:
    """Mount a real tmpfs of ``size`` at ``target`` (made if missing); skip the test where that is not permitted."""
    reason = cannot_mount()
    if reason:
        pytest.skip(reason)
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", source, str(target)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"mount -t tmpfs not permitted here: {result.stderr.strip()}")


def unmount_lazily(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A real full disk: a 4 MiB tmpfs mounted under tmp_path (skipped where mounting is not permitted)."""
    target = tmp_path / "small-disk"
    mount_tmpfs(target, "4m", "custody-small")
    try:
        yield SmallDisk(target)
    finally:
        unmount_lazily(target)
