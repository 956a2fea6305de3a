"""Every media transition of the lifecycle table, valid and invalid, through the operator CLI.

A "zoo" ledger is built once per module through real commands: one medium in
every state of ledger.media (plus one that was never received).  Each case
copies it and runs one command on the medium in the given state.  The expected
outcome comes from the table itself (``custody.ledger.media.blocking_code``): allowed
starting states must succeed and reach the row's target state; every other
state must be refused with exit 6, the row's rule code (C12 for a disposed or
returned medium, C14 for a lost one, C15 for one not in the register), the
media id in the message, and the ledger unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from custody.ledger.media import (
    ABSENT,
    CHECKED_OUT,
    DISPOSAL_APPROVED,
    DISPOSED,
    ERASED,
    IN_STORAGE,
    LOST,
    RETURNED,
    TAKEN_OUT,
    TRANSITIONS,
    Transition,
    blocking_code,
)
from tests.cli.conftest import Custody
from tests.cli.workflow_world import CliWorld, approval_body, now

ZOO = {
    ABSENT: "M-ABSENT",
    IN_STORAGE: "M-IN",
    CHECKED_OUT: "M-OUT",
    TAKEN_OUT: "M-TAKEN",
    ERASED: "M-ERASED",
    DISPOSAL_APPROVED: "M-DAPPR",
    DISPOSED: "M-DISPOSED",
    RETURNED: "M-RETURNED",
    LOST: "M-LOST",
}
ERASED_PENDING = "M-ERASED-PENDING"  # erased, with a disposal approval still to carry out


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliWorld, dict[str, int]]:
    root = tmp_path_factory.mktemp("zoo")
    w = CliWorld.template(root, Custody(root), my_number=False)
    for state, media_id in ZOO.items():
        if state != ABSENT:
            w.receive(media_id)
    for media_id in (ERASED_PENDING, "SRC", "X-TAKEN"):
        w.receive(media_id)
    w.checkout("M-OUT")
    seqs = {"M-TAKEN": w.depart(["M-TAKEN"], "T-ZOO-1"), "X-TAKEN": w.depart(["X-TAKEN"], "T-ZOO-2")}
    w.ok(*w.erase_args("M-ERASED"), as_="op-tanaka")
    w.ok("dispose", "approved", "--approval", str(w.dispose_approval(["M-DAPPR"], "D-ZOO-1")))
    w.dispose("M-DISPOSED", "D-ZOO-2")
    w.ok(*w.return_args("M-RETURNED"))
    w.ok("incident", "--kind", "lost", "--media-id", "M-LOST", "--situation", "保管庫の棚卸しで所在不明",
         "--notified-at", now())
    w.ok("dispose", "approved", "--approval", str(w.dispose_approval([ERASED_PENDING], "D-ZOO-3")))
    w.ok(*w.erase_args(ERASED_PENDING), as_="op-tanaka")
    state = w.state()
    for expected, media_id in ZOO.items():
        assert state.state_of(media_id) == expected, media_id
    assert state.state_of(ERASED_PENDING) == ERASED
    return w, seqs


@pytest.fixture
def world(zoo: tuple[CliWorld, dict[str, int]], tmp_path: Path) -> tuple[CliWorld, dict[str, int]]:
    template, seqs = zoo
    return CliWorld.copy_of(template, tmp_path / "w", Custody(tmp_path)), seqs


def _act(w: CliWorld, row: Transition, state: str, media_id: str, seqs: dict[str, int]) -> tuple[list[str], str]:
    """The command acting on ``media_id`` in ``row``'s role, and who signs it."""
    tag = f"{row.event}-{row.role}-{state}".replace(".", "-").replace("_", "-")
    if row.event == "media.received":
        return ["media", "receive", "--media-id", media_id, "--kind", "usb", "--serial", f"NEW-{tag}",
                "--item", "印鑑登録原票:300", "--receipt-number", f"R-{tag}", "--from-person", "山田 花子",
                "--no-my-number"], "resp-sato"
    if row.event == "media.registered":
        return ["media", "register", "--media-id", media_id, "--kind", "usb", "--serial", f"NEW-{tag}",
                "--purpose", "作業用"], "resp-sato"
    if row.event == "media.checked_out":
        return ["media", "checkout", "--media-id", media_id, "--purpose", "作業"], "op-tanaka"
    if row.event == "media.checked_in":
        return ["media", "checkin", "--media-id", media_id], "op-tanaka"
    if row.event == "takeout.departed":
        approval = w.sign_approval("takeout", approval_body("takeout", f"T-{tag}", [media_id]))
        return w.depart_args(approval, "--media-id", media_id), "op-tanaka"
    if row.event in ("takeout.returned", "takeout.erased_at_destination"):
        seq = seqs["M-TAKEN"] if media_id == "M-TAKEN" else seqs["X-TAKEN"]
        if row.event == "takeout.returned":
            return ["takeout", "return", "--takeout", str(seq), "--media-id", media_id], "op-tanaka"
        return ["takeout", "erased", "--takeout", str(seq), "--media-id", media_id, "--technique", "crypto erase",
                "--verification-method", "read-back"], "op-tanaka"
    if row.event == "copy.made":
        source, target = (media_id, f"C-{tag}") if row.role == "source" else ("SRC", media_id)
        approval = w.sign_approval("copy", approval_body("copy", f"K-{tag}", [source]))
        return w.copy_args(approval, source, target, serial=f"NEW-{tag}"), "op-tanaka"
    if row.event == "media.erased":
        return w.erase_args(media_id), "op-tanaka"
    if row.event == "disposal.approved":
        body = approval_body("dispose", f"D-{tag}", [media_id], application={
            "number": f"A-{tag}", "items": [{"name": "印鑑登録原票", "media_id": media_id,
                                             "serial": f"SN-{media_id}", "quantity": 1}],
            "method": {"category": "destroy", "technique": "shred"}, "planned_date": "2026-12-01",
            "place": "本社 第2開発室", "witness_required": True})
        return ["dispose", "approved", "--approval", str(w.sign_approval("dispose", body))], "resp-sato"
    if row.event == "media.disposed":
        return w.record_args(media_id), "op-tanaka"
    if row.event == "media.returned":
        return w.return_args(media_id), "resp-sato"
    raise AssertionError(row)


CASES = [
    pytest.param(row, state, id=f"{row.event}:{row.role}:{state}")
    for row in TRANSITIONS
    if row.event != "incident.reported"
    for state in ZOO
]


@pytest.mark.parametrize(("row", "state"), CASES)
def test_transition(world: tuple[CliWorld, dict[str, int]], row: Transition, state: str) -> None:
    w, seqs = world
    media_id = ZOO[state]
    if row.event == "media.disposed" and state == ERASED:
        media_id = ERASED_PENDING  # an erased medium with a disposal approval to carry out
    args, signer = _act(w, row, state, media_id, seqs)
    expected = blocking_code(row, state)
    if expected is None:
        before = w.size()
        run = w.ok(*args, "--json", as_=signer)
        assert json.loads(run.stdout)["type"] == row.event
        assert w.size() == before + 1
        if row.to is not None:
            assert w.state_of(media_id) == row.to
    else:
        w.refused(*args, code=expected, says=(media_id,), as_=signer)
        assert w.state_of(media_id) == state


def test_the_table_is_covered() -> None:
    """Every (event, role) of the table except incidents is exercised above, from every state."""
    covered = {(row.event, row.role) for row, _state in (cast("tuple[Any, Any]", p.values) for p in CASES)}
    assert covered == {(t.event, t.role) for t in TRANSITIONS if t.event != "incident.reported"}
