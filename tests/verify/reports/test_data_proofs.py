"""Proofs in the report data when the checkpoint does not match the bundle (verify/reports/data.py):
each tree root is computed once per checkpoint, and a mismatch is still told apart per entry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custody.ledger.bundle import Bundle
from custody.verify.reports.data import CheckpointView, ReportData, _proofs
from custody.verify.reports.produce import gather
from tests.verify.reports.scenario import Built, build_many


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, ReportData]:
    built = build_many(tmp_path_factory.mktemp("small"), 6, batch=3)
    with Bundle(built.bundle) as bundle:
        data = gather(bundle, built.trust, "ja", workers=1)
    assert data.result.ok and len(data.proofs) == 3
    return built, data


def _with_checkpoint(built: Built, data: ReportData, checkpoint: CheckpointView) -> ReportData:
    again = replace(data, proofs={}, cosigned_checkpoint=checkpoint, final_checkpoint=checkpoint)
    with Bundle(built.bundle) as bundle:
        _proofs(bundle, built.trust, again)
    return again


def test_checkpoint_beyond_the_bundle_is_a_short_bundle(small: tuple[Built, ReportData]) -> None:
    built, data = small
    cp = data.cosigned_checkpoint
    assert cp is not None
    again = _with_checkpoint(built, data, replace(cp, size=data.size + 5))
    assert {p.problem for p in again.proofs.values()} == {"short_bundle"}
    assert all(not p.verified and p.text == b"" for p in again.proofs.values())
    # the bundle's own proofs are judged on their own: still verified
    assert {p.bundle_proof for p in again.proofs.values()} == {"verified"}


def test_wrong_root_is_told_for_every_entry(small: tuple[Built, ReportData]) -> None:
    built, data = small
    cp = data.cosigned_checkpoint
    assert cp is not None
    again = _with_checkpoint(built, data, replace(cp, root_hash=bytes(32)))
    assert {p.problem for p in again.proofs.values()} == {"root_differs"}
    assert all(p.text for p in again.proofs.values())  # the proof is still printed


def test_same_proofs_when_built_again(small: tuple[Built, ReportData]) -> None:
    built, data = small
    assert data.cosigned_checkpoint is not None
    again = _with_checkpoint(built, data, data.cosigned_checkpoint)
    assert again.proofs == data.proofs
