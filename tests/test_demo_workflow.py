"""The demo's workflow phase runs without errors on the embedded default and leaves a closed, reconciled ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.cli.demo import Demo
from custody.cli.demo_workflow import workflow_phase
from custody.ledger.ledger import Ledger
from custody.ledger.lifecycle import apply, finish, new_state


def test_workflow_phase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CUSTODY_KDF_N", str(2**15))
    monkeypatch.setenv("CUSTODY_LANG", "ja")
    demo = Demo(tmp_path / "demo")
    demo.setup()
    demo.core()
    workflow_phase(demo)
    printed = capsys.readouterr().out
    assert "$ custody close" in printed
    with Ledger.open(demo.ledger, readonly=True) as ledger:
        state = new_state(ledger.origin)
        types = []
        for entry in ledger.store.entries():
            types.append(entry.type)
            errors = [v for v in apply(state, entry) if v.severity == "error"]
            assert not errors, (entry.seq, entry.type, [v.message_en for v in errors])
        assert not [v for v in finish(state) if v.severity == "error"]
    assert state.closed is not None and state.counts()["open"] == 0
    assert {m.id: m.state for m in state.media.values()} == {"M-001": "disposed", "M-002": "returned",
                                                              "C-001": "erased"}
    for kind in ("subcontract.approved", "media.received", "takeout.departed", "takeout.returned", "copy.made",
                 "media.erased", "disposal.approved", "media.disposed", "media.returned", "contract.closed"):
        assert kind in types
    assert any(p.tier == "subcontractor" for p in state.people.values())
