"""The ledger's settings file (custody.toml): damaged files are a StoreError naming the file, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.ledger.config import CONFIG_NAME, LedgerConfig
from custody.ledger.errors import StoreError

GOOD = 'origin = "city.example.lg.jp/ledger/2026-017"\n[checkpoint]\nevery_entries = 10\n'


def test_a_good_file_reads() -> None:
    config = LedgerConfig.from_toml(GOOD)
    assert config.origin == "city.example.lg.jp/ledger/2026-017"
    assert config.checkpoint_every_entries == 10


@pytest.mark.parametrize("text", [
    "",  # no origin
    "origin = ",  # not TOML
    'origin = "x"\ncheckpoint = 3\n',  # a table expected
    'origin = "x"\n[checkpoint]\nevery_entries = "many"\n',
    'origin = "x"\n[checkpoint]\nevery_entries = ' + "9" * 5000 + "\n",  # beyond int()'s digit limit
    "origin = " + "[" * 5000 + "]" * 5000 + "\n",  # nested beyond the parser's recursion
])
def test_damaged_files_are_a_store_error(text: str) -> None:
    with pytest.raises(StoreError, match=CONFIG_NAME):
        LedgerConfig.from_toml(text)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "custody"


def test_a_file_read_once_is_read_from_the_user_cache_after(cache: Path) -> None:
    """Every command reads custody.toml; its values are kept in the user cache under the text's digest
    (issue 19: tomllib's imports are a tenth of what a signing command does besides starting Python)."""
    folder = cache
    first = LedgerConfig.from_toml(GOOD)
    entries = list(folder.glob("config-*.json"))
    assert len(entries) == 1
    # The entry is what the next read returns (an altered entry shows it was read, not the file parsed).
    entries[0].write_text('{"origin": "from-the-cache", "checkpoint_every_entries": 7, "checkpoint_every_minutes": 60,'
                          ' "witness_url": "", "heartbeat_seconds": 60, "allowed_gap_seconds": 300}')
    assert LedgerConfig.from_toml(GOOD) == LedgerConfig("from-the-cache", 7)
    # Another text is another entry, parsed.
    other = GOOD.replace("every_entries = 10", "every_entries = 11")
    assert LedgerConfig.from_toml(other).checkpoint_every_entries == 11
    assert len(list(folder.glob("config-*.json"))) == 2
    assert first.checkpoint_every_entries == 10


@pytest.mark.parametrize("entry", [
    b"", b"not json", b"\xff", b"[]", b'{"origin": "x"}',
    (b'{"origin": 1, "checkpoint_every_entries": 7, "checkpoint_every_minutes": 60, "witness_url": "",'
    b' "heartbeat_seconds": 60, "allowed_gap_seconds": 300}'),
    (b'{"origin": "x", "checkpoint_every_entries": true, "checkpoint_every_minutes": 60, "witness_url": "",'
    b' "heartbeat_seconds": 60, "allowed_gap_seconds": 300}'),
    (b'{"origin": "x", "checkpoint_every_entries": 7, "checkpoint_every_minutes": 60, "witness_url": "",'
    b' "heartbeat_seconds": 60, "allowed_gap_seconds": 300, "more": 1}'),
])
def test_a_damaged_cache_entry_is_parsed_again(cache: Path, entry: bytes) -> None:
    LedgerConfig.from_toml(GOOD)
    (written,) = cache.glob("config-*.json")
    written.write_bytes(entry)
    assert LedgerConfig.from_toml(GOOD) == LedgerConfig("city.example.lg.jp/ledger/2026-017", 10)


def test_a_damaged_file_is_never_cached(cache: Path) -> None:
    for _ in range(2):
        with pytest.raises(StoreError, match=CONFIG_NAME):
            LedgerConfig.from_toml("origin = ")
    assert not list(cache.glob("config-*.json"))
