"""An entry recorded, then its automatic checkpoint failing: the command says that the entry was recorded.

A workflow command appends its entry, then signs the automatic checkpoint when
one is due (``Ledger.checkpoint_after``).  Anything that fails there -- the
log key's passphrase, the disk (tests/ledger/test_io_faults.py) -- used to
read as a plain error, as if nothing had happened, and the person repeated the
command: the entry twice.  Now the report of the entry comes first, then exit 4
with ``CheckpointPendingError``'s message.
"""

from __future__ import annotations

import json
from dataclasses import replace

from custody.ledger.config import LedgerConfig
from custody.ledger.ledger import Ledger
from tests.cli.workflow_world import CliWorld


def _checkpoint_every_entry(w: CliWorld) -> None:
    path = w.ledger / "custody.toml"
    config = LedgerConfig.from_toml(path.read_text(encoding="utf-8"))
    path.write_text(replace(config, checkpoint_every_entries=1).to_toml(), encoding="utf-8")


def _checkpoint_sizes(w: CliWorld) -> list[int]:
    with Ledger.open(w.ledger, readonly=True) as ledger:
        return [size for size, _note in ledger.store.checkpoints()]


def test_a_wrong_log_passphrase_after_the_entry_says_it_was_recorded(w: CliWorld) -> None:
    _checkpoint_every_entry(w)
    size, checkpoints = w.size(), _checkpoint_sizes(w)
    run = w.run("media", "receive", "--media-id", "M-001", "--kind", "usb", "--serial", "SN-1", "--item",
                "印鑑登録原票:300", "--receipt-number", "R-1", "--from-person", "山田 花子", "--cabinet", "施錠保管庫A",
                "--no-my-number", "--json", env={"CUSTODY_LOG_PASSPHRASE": "not the log key's passphrase"})
    assert run.code == 4, run.stderr
    assert json.loads(run.stdout)["seq"] == size  # the usual report of the entry, first
    message = " ".join(run.stderr.split())
    assert (f"custody: error: entry {size} was recorded, but the automatic checkpoint after it could not be "
            "signed: ") in message, run.stderr
    assert "do not repeat the command" in message and "custody checkpoint" in message, run.stderr
    assert w.size() == size + 1 and _checkpoint_sizes(w) == checkpoints
    assert w.state_of("M-001") == "in_storage"
    # With the right passphrase the next entry's checkpoint covers both.
    w.ok("media", "checkout", "--media-id", "M-001", "--purpose", "データ移行作業", "--seal", "S-0001")
    assert _checkpoint_sizes(w) == [*checkpoints, size + 2]
