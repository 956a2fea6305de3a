"""A rollback after a partial restore of the trust store, through `custody export` and `custody verify`.

The witness cosigned the ledger at 31 entries; the vendor hands over a copy of the ledger as it stood at 12.
With the trust store whole, the cosigned checkpoint of size 31 shows the cut.  With its checkpoint files
lost (a partial restore) the witness's own record -- latest.json, cosigned.jsonl -- still says 31: the
truncated bundle fails (exit 3) with a finding that names 31, and the store's damage is a finding too
(docs/spec.md §11.3, docs/spec-rules.md I5).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from custody.verify.authority import origin_key
from tests.cli.conftest import Custody
from tests.verify.witness_fixtures import World, fork_ledger, make_world


@pytest.fixture(scope="module")
def rolled_back(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, Path, Path]:
    """(the world, a bundle of the ledger at 12 entries, a bundle of the ledger at 31), the witness at 31."""
    tmp = tmp_path_factory.mktemp("rollback")
    world = make_world(tmp / "w")
    custody = Custody(tmp)

    def cosign(size: int, old: int) -> None:
        decision = world.authority.add_checkpoint(world.request(size, old=old), world.witness, 1_790_000_000 + size)
        assert decision.ok and decision.note is not None, decision.reason
        world.ledger.merge_cosignatures(decision.note)

    world.grow(11)
    cosign(1, 0)
    cosign(12, 1)
    old_copy = fork_ledger(world, tmp / "ledger-at-12")
    old_copy.close()
    world.grow(19)
    cosign(31, 12)
    world.ledger.close()
    for name, ledger in (("bundle-12", tmp / "ledger-at-12"), ("bundle-31", world.root / "ledger")):
        run = custody("export", str(tmp / name), "--ledger", str(ledger))
        assert run.code == 0, run.stderr
    return world, tmp / "bundle-12", tmp / "bundle-31"


def verify(custody: Custody, bundle: Path, authority: Path) -> tuple[int, dict[str, Any]]:
    run = custody("verify", str(bundle), "--authority", str(authority), "--json")
    return run.code, json.loads(run.stdout)


def i5(doc: dict[str, Any]) -> list[str]:
    return [f["message"] for f in doc["findings"] if f["code"] == "I5" and f["severity"] == "error"]


def _keep_all(_store: Path) -> None:
    pass


def _lose_checkpoints(store: Path) -> None:
    shutil.rmtree(store / "checkpoints")


def _lose_checkpoints_and_journal(store: Path) -> None:
    shutil.rmtree(store / "checkpoints")
    (store / "cosigned.jsonl").unlink()


def _lose_checkpoints_and_state(store: Path) -> None:
    shutil.rmtree(store / "checkpoints")
    (store / "latest.json").unlink()


RESTORES: list[tuple[str, Callable[[Path], None], bool]] = [
    ("the trust store whole", _keep_all, False),
    ("the checkpoint files lost, latest.json and the journal kept", _lose_checkpoints, True),
    ("only latest.json kept", _lose_checkpoints_and_journal, True),
    ("only the journal kept", _lose_checkpoints_and_state, True),
]


@pytest.mark.parametrize(("what", "restore", "damaged"), RESTORES, ids=[r[0] for r in RESTORES])
def test_a_rollback_to_12_fails_against_the_record_of_31(
    rolled_back: tuple[World, Path, Path], tmp_path: Path, what: str, restore: Callable[[Path], None],
    damaged: bool,
) -> None:
    world, bundle_12, bundle_31 = rolled_back
    authority = tmp_path / "authority"
    shutil.copytree(world.authority.path, authority)
    restore(authority / "logs" / origin_key(world.ledger.origin))
    custody = Custody(tmp_path)

    code, doc = verify(custody, bundle_12, authority)
    assert code == 3 and doc["ok"] is False, (what, doc)
    assert doc["size"] == 12
    messages = i5(doc)
    assert any("cosigned size 31" in m and "only 12 entries" in m for m in messages), (what, messages)
    # The store's own damage is named, so that the municipality restores it (not only this bundle fails).
    assert any("witness's record" in m for m in messages) == damaged, (what, messages)

    # The honest, whole ledger: clean against a whole store; against a damaged one, only the damage is named.
    code, doc = verify(custody, bundle_31, authority)
    if damaged:
        assert code == 3 and all("witness's record" in m for m in i5(doc)), (what, doc)
    else:
        assert code == 0 and doc["ok"] is True and doc["witnessed_size"] == 31, doc


def test_the_record_names_the_restored_part_in_japanese(rolled_back: tuple[World, Path, Path],
                                                         tmp_path: Path) -> None:
    world, bundle_12, _bundle_31 = rolled_back
    authority = tmp_path / "authority"
    shutil.copytree(world.authority.path, authority)
    _lose_checkpoints(authority / "logs" / origin_key(world.ledger.origin))
    run = Custody(tmp_path, lang="ja")("verify", str(bundle_12), "--authority", str(authority), "--json")
    assert run.code == 3
    messages = [f["message"] for f in json.loads(run.stdout)["findings"]]
    assert any("記録 31 件時点まで副署" in m for m in messages), messages
    assert any("信頼ストア内の副署者の記録" in m for m in messages), messages
