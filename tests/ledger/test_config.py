"""The ledger's settings file (custody.toml): damaged files are a StoreError naming the file, never a crash."""

from __future__ import annotations

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
