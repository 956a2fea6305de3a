"""The workflow service's state cache (custody.ledger.workflow): used when current, advanced over entries written by
others, rebuilt whenever it cannot be trusted, and always equal to a full replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custody.ledger import workflow
from custody.ledger.ledger import Ledger
from custody.ledger.lifecycle import advance, new_state
from custody.ledger.workflow import CACHE_NAME, act, current_state, projection, rebuild_cache
from tests.helpers import new_ledger
from tests.world import person_body, received_body, signer


def _scratch(ledger: Ledger) -> dict[str, Any]:
    state = new_state(ledger.origin)
    for entry in ledger.store.entries():
        advance(state, entry)
    return state.to_json()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    ledger, parties, _log = new_ledger(tmp_path)
    act(ledger, "personnel.registered", person_body("op-tanaka"), parties.responsible)
    act(ledger, "media.received", received_body("M-1", "SN-1", my_number=False), parties.responsible)
    ledger.responsible = parties.responsible  # type: ignore[attr-defined]
    return ledger


def test_every_act_leaves_a_current_cache(ledger: Ledger) -> None:
    cached = ledger.store.load_state(CACHE_NAME)
    assert cached is not None and cached[0] == ledger.store.size
    proj = projection(ledger)
    assert proj.replayed == 0 and proj.size == ledger.store.size
    assert proj.state.to_json() == _scratch(ledger)


def test_entries_written_by_others_are_replayed(ledger: Ledger) -> None:
    ledger.append("note.recorded", {"text": "written without the service"}, ledger.responsible)  # type: ignore[attr-defined]
    act(ledger, "media.checked_out", {"media_id": "M-1", "person": "op-tanaka", "purpose": "x"}, signer("op-tanaka"))
    assert ledger.store.load_state(CACHE_NAME)[0] == ledger.store.size  # type: ignore[index]
    ledger.append("note.recorded", {"text": "again"}, ledger.responsible)  # type: ignore[attr-defined]
    proj = projection(ledger, save=False)
    assert proj.replayed == 1
    assert proj.state.to_json() == _scratch(ledger)
    assert projection(ledger).replayed == 1  # saved back this time
    assert projection(ledger).replayed == 0


@pytest.mark.parametrize("spoil", ["fingerprint", "garbage", "not_an_object", "too_long", "other_chain", "origin",
                                   "format"])
def test_a_cache_that_cannot_be_trusted_is_rebuilt(ledger: Ledger, spoil: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    size, data = ledger.store.load_state(CACHE_NAME)  # type: ignore[misc]
    doc = json.loads(data)
    if spoil == "fingerprint":
        workflow.rules_fingerprint.cache_clear()
        monkeypatch.setattr(workflow, "_RULE_MODULES", (*workflow._RULE_MODULES, "custody.ledger.canonical"))
    elif spoil == "garbage":
        ledger.store.save_state(CACHE_NAME, size, b"\xff not json")
    elif spoil == "not_an_object":
        ledger.store.save_state(CACHE_NAME, size, b"[1, 2]")
    elif spoil == "too_long":
        doc["size"] = size + 5
        ledger.store.save_state(CACHE_NAME, size + 5, json.dumps(doc).encode())
    elif spoil == "other_chain":
        doc["last_leaf_hash"] = "00" * 32
        doc["lifecycle"]["media"] = []  # a state that is not this ledger's
        ledger.store.save_state(CACHE_NAME, size, json.dumps(doc).encode())
    elif spoil == "origin":
        doc["origin"] = "elsewhere.example/custody"
        ledger.store.save_state(CACHE_NAME, size, json.dumps(doc).encode())
    else:
        doc["format"] = "custody/workflow-cache/v0"
        ledger.store.save_state(CACHE_NAME, size, json.dumps(doc).encode())
    try:
        proj = projection(ledger)
        assert proj.replayed == ledger.store.size  # from the first entry
        assert proj.state.to_json() == _scratch(ledger)
        assert current_state(ledger).state_of("M-1") == "in_storage"
        assert projection(ledger).replayed == 0
    finally:
        workflow.rules_fingerprint.cache_clear()


def test_rebuild_and_read_only(ledger: Ledger, tmp_path: Path) -> None:
    proj = rebuild_cache(ledger)
    assert proj.replayed == ledger.store.size
    ledger.append("note.recorded", {"text": "x"}, ledger.responsible)  # type: ignore[attr-defined]
    ledger.close()
    with Ledger.open(tmp_path / "ledger", readonly=True) as ro:
        assert projection(ro).replayed == 1  # the read-only store is not written, and nothing fails
        assert projection(ro).replayed == 1


def test_a_registered_key_is_checked(ledger: Ledger) -> None:
    from custody.ledger.errors import RuleRefusal

    impostor = signer("op-impostor")
    renamed = type(impostor)("op-tanaka", impostor._key)  # same name, another key
    with pytest.raises(RuleRefusal) as refused:
        act(ledger, "media.checked_out", {"media_id": "M-1", "person": "op-tanaka", "purpose": "x"}, renamed)
    assert refused.value.code == "C9" and "not a registered key of op-tanaka" in refused.value.message
