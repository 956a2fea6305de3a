"""Random command sequences through the workflow service (custody.ledger.workflow), as the CLI runs them.

Hypothesis drives receipts, checkouts, takeouts (approved or with a reused approval), copies,
erasures, disposal approvals and records, returns, incidents and closing on a few media, in any
order.  Whatever the order:

* a refused act raises ``RuleRefusal`` and leaves the ledger exactly as it was (size and root);
* nothing illegal is ever written: replaying the ledger from its first entry with the lifecycle
  model finds no blocking violation at any entry;
* the cached state the service keeps (``current_state``) is the state a full replay gives.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from custody.ledger.approval import sign_approval
from custody.ledger.errors import RuleRefusal
from custody.ledger.ledger import Ledger
from custody.ledger.lifecycle import apply, new_state
from custody.ledger.media import STATES
from custody.ledger.note import Signer
from custody.ledger.workflow import act, current_state
from tests.helpers import new_ledger
from tests.world import (
    approval_body,
    closed_body,
    departed_body,
    disposed_body,
    erased_body,
    medium_fields,
    person_body,
    receipt,
    received_body,
    return_check,
    returned_body,
    signer,
)

MEDIA = ["M-1", "M-2", "M-3"]
COPIES = ["C-1", "C-2"]
media = st.sampled_from(MEDIA)
any_media = st.sampled_from(MEDIA + COPIES)


class Workflow(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="custody-sm-"))
        self.ledger, self.parties, _log = new_ledger(self.tmp)
        self.operator = signer("op-tanaka")
        act(self.ledger, "personnel.registered", person_body("op-tanaka"), self.parties.responsible)
        self.n = 0
        self.approvals: dict[str, str] = {}  # media id -> a takeout approval note already used once
        self.refusals = 0
        self.written = 0

    def teardown(self) -> None:
        self.ledger.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- plumbing ---

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"

    def approve(self, kind: str, media_ids: list[str], **over: Any) -> str:
        body = approval_body(kind, self.fresh(kind[0].upper()), media_ids, **over)
        return sign_approval(self.ledger.origin, body, self.parties.approver).decode("utf-8")

    def snapshot(self) -> tuple[int, bytes]:
        return self.ledger.store.size, self.ledger.store.root()

    def do(self, type_: str, body: dict[str, Any], who: Signer | None = None) -> bool:
        before = self.snapshot()
        try:
            act(self.ledger, type_, body, who or self.operator)
        except RuleRefusal:
            assert self.snapshot() == before, f"a refused {type_} changed the ledger"
            self.refusals += 1
            return False
        assert self.snapshot()[0] == before[0] + 1
        self.written += 1
        return True

    def state(self) -> Any:
        return current_state(self.ledger)

    def pick(self, data: st.DataObject, states: tuple[str, ...], pool: list[str] | None = None) -> str:
        """A medium in one of ``states`` most of the time (when there is one), else any."""
        pool = pool or MEDIA + COPIES
        fitting = [m for m in pool if self.state().state_of(m) in states]
        if fitting and data.draw(st.integers(0, 4), label="fit") > 0:
            return data.draw(st.sampled_from(fitting), label="medium")
        return data.draw(st.sampled_from(pool), label="medium")

    # --- the acts ---

    @rule(m=media)
    def receive(self, m: str) -> None:
        self.do("media.received", received_body(m, f"SN-{m.split('-')[1]}", my_number=False,
                                                 receipt=receipt(self.fresh("R"))), self.parties.responsible)

    @rule(data=st.data())
    def checkout(self, data: st.DataObject) -> None:
        m = self.pick(data, ("in_storage",))
        self.do("media.checked_out", {"media_id": m, "person": "op-tanaka", "purpose": "作業"})

    @rule(data=st.data())
    def checkin(self, data: st.DataObject) -> None:
        m = self.pick(data, ("checked_out",))
        self.do("media.checked_in", {"media_id": m, "person": "op-tanaka", "seals_intact": True})

    @rule(data=st.data(), reuse=st.booleans())
    def depart(self, data: st.DataObject, reuse: bool) -> None:
        m = self.pick(data, ("in_storage", "checked_out"), MEDIA)
        note = self.approvals.get(m) if reuse else None
        note = note or self.approve("takeout", [m])
        if self.do("takeout.departed", departed_body(note, [m])):
            self.approvals[m] = note

    @rule(data=st.data(), erase=st.booleans())
    def back(self, data: st.DataObject, erase: bool) -> None:
        m = self.pick(data, ("taken_out",), MEDIA)
        medium = self.state().medium(m)
        seq = medium.takeout_seq if medium is not None and medium.takeout_seq is not None else 1
        if erase:
            self.do("takeout.erased_at_destination", {
                "takeout_seq": seq, "media_ids": [m], "erased_by": "op-tanaka",
                "method": {"category": "purge", "technique": "crypto erase"},
                "verification": {"method": "read-back", "result": "pass", "verifier": "resp-sato"}})
        else:
            self.do("takeout.returned", {"takeout_seq": seq, "media_ids": [m], "check": return_check()})

    @rule(data=st.data(), copy_id=st.sampled_from(COPIES))
    def copy(self, data: st.DataObject, copy_id: str) -> None:
        source = self.pick(data, ("in_storage", "checked_out"), MEDIA)
        note = self.approve("copy", [source])
        self.do("copy.made", {"approval": note, "source_media_id": source,
                              **medium_fields(copy_id, f"SN-{copy_id}", my_number=False)})

    @rule(data=st.data())
    def erase(self, data: st.DataObject) -> None:
        m = self.pick(data, ("in_storage", "checked_out", "disposal_approved"))
        self.do("media.erased", erased_body(m))

    @rule(data=st.data())
    def approve_disposal(self, data: st.DataObject) -> None:
        m = self.pick(data, ("in_storage", "checked_out", "erased"), MEDIA)
        self.do("disposal.approved", {"approval": self.approve("dispose", [m])}, self.parties.responsible)

    @rule(data=st.data())
    def dispose(self, data: st.DataObject) -> None:
        m = self.pick(data, ("disposal_approved",))
        medium = self.state().medium(m)
        approval_id = medium.disposal_id if medium is not None and medium.disposal_id else "D-0"
        serial = medium.serial if medium is not None else "SN-0"
        self.do("media.disposed", disposed_body(m, serial, approval_id), self.parties.responsible)

    @rule(data=st.data())
    def give_back(self, data: st.DataObject) -> None:
        m = self.pick(data, ("in_storage", "checked_out", "erased", "taken_out"))
        self.do("media.returned", returned_body(m), self.parties.responsible)

    @rule(m=any_media, kind=st.sampled_from(["lost", "found", "suspicion", "suspicion", "other"]))
    def incident(self, m: str, kind: str) -> None:
        assert self.do("incident.reported", {"kind": kind, "detected_at": "2026-04-01T10:00:00+09:00",
                                             "media_ids": [m], "situation": "点検で判明"}), "an incident was refused"

    @precondition(lambda self: self.written > 12)
    @rule()
    def close(self) -> None:
        self.do("contract.closed", closed_body(), self.parties.responsible)

    # --- what must always hold ---

    @invariant()
    def nothing_illegal_was_written(self) -> None:
        replayed = new_state(self.ledger.origin)
        for entry in self.ledger.store.entries():
            blocking = [v for v in apply(replayed, entry) if v.blocks]
            assert not blocking, (entry.seq, entry.type, [(v.code, v.message_en) for v in blocking])
        cached = self.state()
        assert cached.to_json() == replayed.to_json()
        assert all(m.state in STATES for m in cached.media.values())


Workflow.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestWorkflow = Workflow.TestCase


def test_a_refusal_changes_nothing_even_the_cache(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    with ledger:
        act(ledger, "personnel.registered", person_body("op-tanaka"), parties.responsible)
        before = (ledger.store.size, ledger.store.root(), ledger.store.load_state("workflow"))
        with pytest.raises(RuleRefusal) as refused:
            act(ledger, "media.checked_out", {"media_id": "M-9", "person": "op-tanaka", "purpose": "x"},
                signer("op-tanaka"))
        assert refused.value.code == "C15"
        assert (ledger.store.size, ledger.store.root(), ledger.store.load_state("workflow")) == before
    assert Ledger.open(tmp_path / "ledger").store.size == before[0]
