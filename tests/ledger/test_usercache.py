"""The per-user cache (ledger.usercache): best effort, private, and pruned of old versions' entries."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from custody.ledger import usercache


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "custody"


def test_write_then_read(home: Path) -> None:
    assert usercache.read("a/b.bin") is None
    usercache.write("a/b.bin", b"data")
    assert usercache.read("a/b.bin") == b"data"
    assert stat.S_IMODE(home.stat().st_mode) & 0o077 == 0
    assert [p.name for p in (home / "a").iterdir()] == ["b.bin"]  # no temporary file left


def test_no_usable_directory_is_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    usercache.write("x.json", b"{}")
    assert usercache.read("x.json") is None


def test_without_a_home_there_is_no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)
    assert usercache.cache_dir() is None
    usercache.write("x.json", b"{}")
    assert usercache.read("x.json") is None


def test_prune_removes_stale_entries_of_other_versions(home: Path) -> None:
    for name in ("schemas-old/x.marshal", "schemas-recent/x.marshal", "schemas-current/x.marshal", "i18n-ja-1.json"):
        usercache.write(name, b"x")
    stale = time.time() - usercache.STALE_SECONDS - 60
    for name in ("schemas-old", "schemas-current", "i18n-ja-1.json"):
        os.utime(home / name, (stale, stale))
    usercache.prune("schemas-*", keep="schemas-current")
    assert sorted(p.name for p in home.iterdir()) == ["i18n-ja-1.json", "schemas-current", "schemas-recent"]


def test_entries_no_version_makes_any_more_go_when_an_entry_is_made(home: Path) -> None:
    """Before jsonschema_rs, custody kept generated schema acceptors here (``schemas-<digest>/``)."""
    for name in ("schemas-old/events+media.checked_in.marshal", "schemas-recent/events+media.checked_in.marshal"):
        usercache.write(name, b"code")
    stale = time.time() - usercache.STALE_SECONDS - 60
    os.utime(home / "schemas-old", (stale, stale))
    usercache.write("i18n-ja-2.json", b"{}")
    # a version still in use within the week keeps its entry
    assert sorted(p.name for p in home.iterdir()) == ["i18n-ja-2.json", "schemas-recent"]
