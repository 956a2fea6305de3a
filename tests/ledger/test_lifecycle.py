"""custody.ledger.lifecycle: the media transition table, people (C9), approvals in acts (C2 C3 C5 C7), the agent
(C10-C13), incidents (C14), closing, and the end-of-ledger rules of finish() (C1 C4 C6 C8 C11 C13 C15).

Every medium state is reached through real, valid entries (tests/world.py), never by poking the state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from custody.ledger import lifecycle
from custody.ledger.lifecycle import Event, check, finish, precheck, refuse
from custody.ledger.media import ABSENT, STATES, TRANSITIONS, Transition, blocking_code
from custody.ledger.violation import Violation
from tests.world import (
    SHA,
    World,
    approve,
    closed_body,
    codes,
    departed_body,
    disposed_body,
    erased_body,
    errors,
    iso,
    medium_fields,
    person_body,
    receipt,
    received_body,
    registered_body,
    return_check,
    returned_body,
    verification,
    volume,
)

MEDIA_ROWS = [t for t in TRANSITIONS if t.event != "incident.reported"]
FROM_STATES = [ABSENT, *STATES]


def legacy(found: list[Violation]) -> list[Violation]:
    """Without the C20 and C24 warnings a contract that pins no attester key gets (the world's contract pins
    none: tests/ledger/test_lifecycle_attestations.py tests those rules)."""
    return [v for v in found if not (v.code in ("C20", "C24") and v.severity == "warning")]


def blocking_codes(found: list[Violation]) -> list[str]:
    return sorted({v.code for v in found if v.blocks})


def act(w: World, row: Transition, media_id: str) -> tuple[str, dict[str, Any], str]:
    """A valid entry acting on ``media_id`` in ``row``'s role: (type, body, actor)."""
    serial = f"NEW-{w.fresh('S')}"
    operator = "op-tanaka"
    if row.event == "media.received":
        return row.event, received_body(media_id, serial, receipt=receipt(w.fresh("R"))), "resp-sato"
    if row.event == "media.registered":
        return row.event, registered_body(media_id, serial), "resp-sato"
    if row.event in ("media.checked_out", "media.checked_in"):
        return row.event, {"media_id": media_id, "person": operator, "purpose": "作業"}, operator
    if row.event == "takeout.departed":
        note = approve("takeout", w.fresh("T"), [media_id])
        return row.event, departed_body(note, [media_id]), operator
    if row.event in ("takeout.returned", "takeout.erased_at_destination"):
        seq = w.takeout_of.get(media_id, w.takeout_of["OTHER"])
        body: dict[str, Any] = {"takeout_seq": seq, "media_ids": [media_id]}
        if row.event == "takeout.returned":
            body["check"] = return_check()
        else:
            body.update(erased_by=operator, verification=verification(),
                        method={"category": "purge", "technique": "cryptographic erase"})
        return row.event, body, operator
    if row.event == "copy.made":
        source, target = (media_id, w.fresh("C")) if row.role == "source" else ("SRC", media_id)
        note = approve("copy", w.fresh("K"), [source])
        return row.event, {"approval": note, "source_media_id": source, **medium_fields(target, serial)}, operator
    if row.event == "media.erased":
        return row.event, erased_body(media_id), operator
    if row.event == "disposal.approved":
        note = approve("dispose", w.fresh("D"), [media_id], serials={media_id: w.serial_of[media_id]})
        return row.event, {"approval": note}, "resp-sato"
    if row.event == "media.disposed":
        m = w.state.media.get(media_id)
        approval_id = m.disposal_id if m is not None and m.disposal_id else "D-none"
        return row.event, disposed_body(media_id, w.serial_of[media_id], approval_id), "resp-sato"
    if row.event == "media.returned":
        return row.event, returned_body(media_id), "resp-sato"
    raise AssertionError(row)


def prepared(state: str, row: Transition | None = None) -> World:
    w = World(my_number=False)
    w.put("SRC", "in_storage")
    w.put("OTHER", "taken_out")
    # media.disposed from erased: the approved destruction of an erased medium
    w.put("M-X", state, pending_disposal=row is not None and row.event == "media.disposed")
    return w


@pytest.mark.parametrize("state", FROM_STATES)
@pytest.mark.parametrize("row", MEDIA_ROWS, ids=lambda r: f"{r.event}:{r.role}")
def test_transition_table(row: Transition, state: str) -> None:
    """Every (event, from-state): allowed -> no error and the table's next state; else the table's code, blocking."""
    w = prepared(state, row)
    kind, body, actor = act(w, row, "M-X")
    expected = blocking_code(row, state)
    before = w.state.to_json()
    found = w.try_(kind, body, actor)
    assert w.state.to_json() == before  # check() changes nothing
    if expected is None:
        assert errors(found) == [], [(v.code, v.message_en) for v in found]
        w.ok(kind, body, actor)
        assert w.state.state_of("M-X") == (row.to or state)
    else:
        assert expected in blocking_codes(found), [(v.code, v.message_en) for v in found]


def test_table_covers_every_media_event() -> None:
    from custody.ledger.events import MEDIA_TYPES

    assert {t.event for t in MEDIA_ROWS} == set(MEDIA_TYPES)
    assert {t.variant for t in TRANSITIONS if t.event == "incident.reported"} == {"lost", "stolen", "found"}
    assert lifecycle.transitions_for("copy.made") == [t for t in TRANSITIONS if t.event == "copy.made"]


@pytest.mark.parametrize(
    ("state", "code"),
    [("disposed", "C12"), ("returned", "C12"), ("lost", "C14"), ("absent", "C15"), ("taken_out", "C15")],
)
def test_final_states_override_row_codes(state: str, code: str) -> None:
    row = next(t for t in TRANSITIONS if t.event == "media.checked_out")
    assert blocking_code(row, state) == code


def test_messages_in_both_languages() -> None:
    w = prepared("disposed")
    found = w.try_("media.checked_out", {"media_id": "M-X", "person": "op-tanaka", "purpose": "x"}, "op-tanaka")
    v = next(v for v in found if v.code == "C12")
    assert "M-X" in v.message_en and "M-X" in v.message_ja
    assert "廃棄済み" in v.message_ja and "disposed" in v.message_en
    assert v.todo_en and v.todo_ja and v.media_id == "M-X" and v.seq == w.seq
    refusal = lifecycle.refusal(found)
    assert refusal is not None and refusal.code == "C12" and refusal.exit_code == 6


# --- incidents (C14) ---


def test_lost_medium_then_found() -> None:
    w = World()
    w.receive()
    found = w.do("incident.reported", {"kind": "lost", "detected_at": iso(w.now), "media_ids": ["M-001"],
                                       "situation": "所在不明"})
    v = next(v for v in found if v.code == "C14")
    assert (v.severity, v.blocking, v.media_id) == ("error", False, "M-001")
    assert v.missing_en  # the municipality was not notified
    assert w.state.state_of("M-001") == "lost"
    assert "C14" in blocking_codes(w.try_("media.checked_out", {"media_id": "M-001", "person": "op-tanaka",
                                                                "purpose": "x"}, "op-tanaka"))
    found = w.do("incident.reported", {"kind": "found", "detected_at": iso(w.now), "media_ids": ["M-001"],
                                       "situation": "別の棚で発見", "notified_at": iso(w.now)})
    assert [(v.code, v.severity) for v in found] == [("C14", "info")]
    assert w.state.state_of("M-001") == "in_storage"


@pytest.mark.parametrize(("kind", "severity"), [("leak", "error"), ("stolen", "error"), ("suspicion", "warning"),
                                                ("other", "warning")])
def test_incident_severity_never_blocks(kind: str, severity: str) -> None:
    w = World()
    found = w.do("incident.reported", {"kind": kind, "detected_at": iso(w.now), "situation": "x",
                                       "notified_at": iso(w.now)})
    assert [(v.code, v.severity, v.blocks) for v in found] == [("C14", severity, False)]


def test_lost_on_takeout_closes_it_and_counts_as_lost() -> None:
    w = World()
    w.receive()
    seq = w.depart(["M-001"])
    w.do("incident.reported", {"kind": "lost", "detected_at": iso(w.now), "media_ids": ["M-001"],
                               "situation": "電車内で紛失", "notified_at": iso(w.now)})
    assert w.state.takeouts[seq].open == []
    assert w.state.counts()["lost"] == 1
    w.ok("incident.reported", {"kind": "lost", "detected_at": iso(w.now), "detail_of": seq + 1,
                               "situation": "詳細報告: 車内に置き忘れ、届出済み"})
    w.close()
    assert codes(legacy(finish(w.state))) == []


def test_broken_seal_at_checkin_is_a_warning() -> None:
    w = World()
    w.receive()
    w.checkout()
    found = w.do("media.checked_in", {"media_id": "M-001", "person": "op-tanaka", "seals_intact": False},
                 actor="op-tanaka")
    assert [(v.code, v.severity) for v in found] == [("C14", "warning")]


def test_serial_of_disposed_medium_registered_again() -> None:
    """Kanagawa: a disk certified destroyed comes back as a 'new' medium."""
    w = World(my_number=False)
    w.put("M-X", "disposed")
    found = w.try_("media.registered", registered_body("V-009", "SN-M-X"))
    assert "C12" in blocking_codes(found)
    found = w.try_("media.registered", registered_body("V-009", "OTHER-SERIAL"))
    assert found == []


def test_duplicate_serial_of_live_medium() -> None:
    w = World()
    w.receive()
    assert "C15" in blocking_codes(w.try_("media.registered", registered_body("V-001", "SN-001")))


# --- people (C9) ---


def checkout_as(w: World, actor: str) -> list[Violation]:
    return w.try_("media.checked_out", {"media_id": "M-001", "person": actor, "purpose": "作業"}, actor)


def test_unregistered_actor() -> None:
    w = World()
    w.receive()
    found = checkout_as(w, "intruder")
    assert blocking_codes(found) == ["C9"]
    assert "intruder" in found[0].message_en


def test_removed_actor() -> None:
    w = World()
    w.receive()
    w.ok("personnel.exit_checked", {"key_name": "op-tanaka", "checked_at": iso(w.now), "access_revoked": True,
                                    "no_data_kept": True})
    w.ok("personnel.removed", {"key_name": "op-tanaka", "reason": "退職"})
    assert "C9" in blocking_codes(checkout_as(w, "op-tanaka"))
    # registered again: may act again
    w.ok("personnel.registered", person_body("op-tanaka"))
    assert checkout_as(w, "op-tanaka") == []


def subcontract_world(**over: Any) -> World:
    w = World()
    w.receive()
    w.ok("subcontract.approved", {"approval": approve("subcontract", "SC-1", [], **over)})
    return w


def test_subcontractor_needs_an_approval_to_be_registered() -> None:
    w = World()
    body = person_body("sub-yamada", tier="subcontractor", organisation="株式会社下請", subcontract_id="SC-1")
    assert "C9" in blocking_codes(w.try_("personnel.registered", body))
    w.ok("subcontract.approved", {"approval": approve("subcontract", "SC-1", [])})
    assert w.try_("personnel.registered", body) == []


def test_subcontractor_acts_only_while_the_approval_is_valid() -> None:
    w = subcontract_world(valid_until="2026-04-01T12:00:00+09:00")
    w.ok("personnel.registered", person_body("sub-yamada", tier="subcontractor", organisation="株式会社下請",
                                             subcontract_id="SC-1"))
    assert checkout_as(w, "sub-yamada") == []
    w.now += timedelta(days=1)
    found = checkout_as(w, "sub-yamada")
    assert blocking_codes(found) == ["C9"]
    assert "subcontractor" in found[0].message_en and "再委託先" in found[0].message_ja


def test_sub_subcontractor_needs_its_own_tier_approval() -> None:
    """Amagasaki: a third-tier company nobody approved; a subcontractor approval does not cover it."""
    w = subcontract_world()
    body = person_body("subsub-kato", tier="sub-subcontractor", organisation="株式会社孫請", subcontract_id="SC-1")
    assert "C9" in blocking_codes(w.try_("personnel.registered", body))


def test_subcontracting_not_permitted_by_the_contract() -> None:
    w = World(subcontracting=False)
    found = w.try_("subcontract.approved", {"approval": approve("subcontract", "SC-1", [])})
    assert "C9" in blocking_codes(found)


def test_only_the_responsible_person_registers_people() -> None:
    w = World()
    assert "C9" in blocking_codes(w.try_("personnel.registered", person_body("op-new"), actor="op-tanaka"))


def test_vendor_tier_from_another_company() -> None:
    """Winny: a subcontractor's employee registered as if vendor staff: refused, and each act reported."""
    w = World()
    w.receive()
    body = person_body("op-x", organisation="株式会社よそ")
    assert blocking_codes(w.try_("personnel.registered", body)) == ["C9"]
    assert w.try_("personnel.registered", person_body("op-y", organisation="(株)サンプル")) == []
    assert w.try_("personnel.registered", {**body, "employment": "dispatched"}) == []  # 派遣 (第7)
    w.do("personnel.registered", body)  # the verifier keeps going
    found = checkout_as(w, "op-x")
    assert blocking_codes(found) == ["C9"] and "株式会社よそ" in found[0].message_en


def test_subcontractor_under_another_companys_approval() -> None:
    w = subcontract_world()
    body = person_body("x-mura", tier="subcontractor", organisation="株式会社無承認", subcontract_id="SC-1")
    assert blocking_codes(w.try_("personnel.registered", body)) == ["C9"]
    w.do("personnel.registered", body)
    found = checkout_as(w, "x-mura")
    assert blocking_codes(found) == ["C9"] and "株式会社下請" in found[0].message_en


def test_agent_key_cannot_record_human_acts_and_people_cannot_fake_observations() -> None:
    w = World()
    w.receive()
    assert "C9" in blocking_codes(checkout_as(w, "agent-ws01"))
    found = w.try_("agent.heartbeat", {"observed_at": iso(w.now), "sequence": 1, "interval_ms": 60000})
    assert "C9" in blocking_codes(found)


def test_key_changes_by_owner_or_responsible_only() -> None:
    w = World()
    w.ok("personnel.registered", person_body("op-suzuki"))
    rotate = {"key_name": "op-tanaka", "new_vkey": person_body("op-tanaka")["vkey"]}
    assert w.try_("key.rotated", rotate, actor="op-tanaka") == []
    assert w.try_("key.rotated", rotate, actor="resp-sato") == []
    assert "C9" in blocking_codes(w.try_("key.rotated", rotate, actor="op-suzuki"))


def test_unregistered_carrier() -> None:
    w = World()
    w.receive()
    note = approve("takeout", "T-1", ["M-001"], carriers=["op-tanaka", "ghost"])
    found = w.try_("takeout.departed", departed_body(note, ["M-001"], carriers=["op-tanaka", "ghost"]), "op-tanaka")
    assert blocking_codes(found) == ["C9"]


# --- takeouts (C2 C3 C4) ---


def depart_try(w: World, note: str, **over: Any) -> list[Violation]:
    return w.try_("takeout.departed", departed_body(note, ["M-001"], **over), "op-tanaka")


def takeout_world(**permits: bool) -> World:
    w = World(**permits)
    w.receive()
    w.checkout()
    return w


TAKEOUT_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("no approval", {}, {"approval": ""}, "C2"),
    ("other destination", {}, {"destination": "作業員の自宅"}, "C2"),
    ("other medium", {"media": ["M-999"]}, {}, "C2"),
    ("expired", {"valid_until": "2026-04-01T09:00:00+09:00", "valid_from": "2026-03-01T00:00:00+09:00"}, {}, "C2"),
    ("not yet valid", {"valid_from": "2026-05-01T00:00:00+09:00", "approved_at": "2026-04-30T00:00:00+09:00"}, {},
     "C2"),
    ("approved after the act", {"approved_at": "2026-04-20T00:00:00+09:00"}, {}, "C2"),
    ("wrong transport", {}, {"transport": "courier"}, "C2"),
    ("unapproved carrier", {}, {"carriers": ["resp-sato"]}, "C2"),
    ("no encryption", {}, {"encryption": {"method": "none"}}, "C3"),
    ("no algorithm", {}, {"encryption": {"method": "software"}}, "C3"),
    ("weak algorithm", {}, {"encryption": {"method": "software", "algorithm": "AES-128"}}, "C3"),
]


@pytest.mark.parametrize(("name", "approval", "body", "code"), TAKEOUT_CASES, ids=[c[0] for c in TAKEOUT_CASES])
def test_takeout_refused(name: str, approval: dict[str, Any], body: dict[str, Any], code: str) -> None:
    w = takeout_world()
    note = approve("takeout", "T-1", ["M-001"], **approval)
    body = {"approval": note, **body}
    found = w.try_("takeout.departed", departed_body(body.pop("approval"), ["M-001"], **body), "op-tanaka")
    assert code in blocking_codes(found), [(v.code, v.message_en) for v in found]


def test_takeout_approval_signed_by_the_vendor() -> None:
    from tests.world import RESPONSIBLE

    w = takeout_world()
    found = depart_try(w, approve("takeout", "T-1", ["M-001"], by=RESPONSIBLE))
    assert blocking_codes(found) == ["C2"]
    assert "resp-sato" in found[0].message_en


def test_takeout_reused_beyond_max_uses() -> None:
    w = takeout_world()
    note = approve("takeout", "T-1", ["M-001"], max_uses=1)
    seq = w.seq
    w.ok("takeout.departed", departed_body(note, ["M-001"]), actor="op-tanaka")
    w.ok("takeout.returned", {"takeout_seq": seq, "media_ids": ["M-001"], "check": return_check()})
    assert "C2" in blocking_codes(depart_try(w, note))


def test_same_approval_number_different_content() -> None:
    w = takeout_world()
    w.ok("takeout.departed", departed_body(approve("takeout", "T-1", ["M-001"], max_uses=3), ["M-001"]),
         actor="op-tanaka")
    w.receive("M-002", "SN-002", receipt=receipt("R-2"))
    found = w.try_("takeout.departed", departed_body(approve("takeout", "T-1", ["M-002"]), ["M-002"]), "op-tanaka")
    assert "C2" in blocking_codes(found)


def test_takeout_not_permitted_by_contract() -> None:
    w = takeout_world(takeout=False)
    assert "C2" in blocking_codes(depart_try(w, approve("takeout", "T-1", ["M-001"])))


def test_paper_takeout_without_encryption_when_not_required() -> None:
    w = World()
    w.ok("media.received", received_body("P-001", "DOC-1", kind="paper"))
    note = approve("takeout", "T-1", ["P-001"], encryption_required=False)
    found = w.try_("takeout.departed", departed_body(note, ["P-001"], encryption={"method": "not_applicable"}),
                   "op-tanaka")
    assert found == []
    # but a USB stick always needs encryption, whatever the approval says (technical standard 3(4)②)
    w.receive()
    note = approve("takeout", "T-2", ["M-001"], encryption_required=False)
    assert "C3" in blocking_codes(w.try_("takeout.departed", departed_body(note, ["M-001"],
                                                                           encryption={"method": "none"}), "op-tanaka"))


def test_takeout_returned_late_is_recorded_not_refused() -> None:
    w = takeout_world()
    seq = w.depart(["M-001"])  # planned return 2026-04-10 17:00
    w.now = w.now + timedelta(days=20)
    found = w.do("takeout.returned", {"takeout_seq": seq, "media_ids": ["M-001"], "check": return_check()})
    assert [(v.code, v.severity, v.blocks) for v in found] == [("C4", "error", False)]
    assert w.state.state_of("M-001") == "in_storage"


def test_return_check_failure_is_a_warning() -> None:
    w = takeout_world()
    seq = w.depart(["M-001"])
    found = w.do("takeout.returned", {"takeout_seq": seq, "media_ids": ["M-001"],
                                      "check": {**return_check(), "seals_intact": False}})
    assert [(v.code, v.severity) for v in found] == [("C4", "warning")]


def test_return_of_unknown_takeout_or_medium_not_on_it() -> None:
    w = takeout_world()
    seq = w.depart(["M-001"])
    assert "C4" in blocking_codes(w.try_("takeout.returned", {"takeout_seq": 999, "media_ids": ["M-001"],
                                                              "check": return_check()}))
    w.receive("M-002", "SN-002", receipt=receipt("R-2"))
    w.depart(["M-002"], "T-2")
    assert "C4" in blocking_codes(w.try_("takeout.returned", {"takeout_seq": seq, "media_ids": ["M-002"],
                                                              "check": return_check()}))


def test_erasure_at_destination_must_be_verified() -> None:
    w = takeout_world()
    seq = w.depart(["M-001"])
    body = {"takeout_seq": seq, "media_ids": ["M-001"], "erased_by": "op-tanaka",
            "method": {"category": "purge", "technique": "cryptographic erase"},
            "verification": {**verification(), "result": "fail"}}
    assert blocking_codes(w.try_("takeout.erased_at_destination", body)) == ["C4"]
    body["verification"] = verification()
    w.ok("takeout.erased_at_destination", body)
    assert w.state.state_of("M-001") == "erased"
    assert w.state.takeouts[seq].open == []


# --- copies (C5) ---


def copy_body(note: str, source: str = "M-001", target: str = "C-001", serial: str = "CSN-1") -> dict[str, Any]:
    return {"approval": note, "source_media_id": source, **medium_fields(target, serial)}


COPY_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("no approval", {}, {"approval": ""}, "C5"),
    ("takeout approval", {"kind": "takeout"}, {}, "C5"),
    ("other source", {"media": ["M-999"]}, {}, "C5"),
    ("target not named", {"target_media": ["C-777"]}, {}, "C5"),
    ("expired", {"valid_from": "2026-01-01T00:00:00+09:00", "valid_until": "2026-02-01T00:00:00+09:00",
                 "approved_at": "2025-12-01T00:00:00+09:00"}, {}, "C5"),
    ("target id not new", {}, {"media_id": "M-001", "serial": "CSN-X"}, "C5"),
]


@pytest.mark.parametrize(("name", "approval", "body", "code"), COPY_CASES, ids=[c[0] for c in COPY_CASES])
def test_copy_refused(name: str, approval: dict[str, Any], body: dict[str, Any], code: str) -> None:
    w = World()
    w.receive()
    kind = approval.pop("kind", "copy")
    note = approve(kind, "K-1", ["M-001"], **approval)
    found = w.try_("copy.made", {**copy_body(note), **body}, "op-tanaka")
    assert code in blocking_codes(found), [(v.code, v.message_en) for v in found]


def test_copies_limited_by_copies_and_max_uses() -> None:
    w = World()
    w.receive()
    note = approve("copy", "K-1", ["M-001"], copies=2, max_uses=5)
    w.ok("copy.made", copy_body(note, target="C-001", serial="CSN-1"), actor="op-tanaka")
    w.ok("copy.made", copy_body(note, target="C-002", serial="CSN-2"), actor="op-tanaka")
    assert "C5" in blocking_codes(w.try_("copy.made", copy_body(note, target="C-003", serial="CSN-3"), "op-tanaka"))
    copy = w.state.media["C-001"]
    assert (copy.origin, copy.source, copy.approval_id, copy.my_number, copy.state) == (
        "copy", "M-001", "K-1", True, "checked_out")


def test_copy_not_permitted_by_contract() -> None:
    w = World(copy=False)
    w.receive()
    assert "C5" in blocking_codes(w.try_("copy.made", copy_body(approve("copy", "K-1", ["M-001"])), "op-tanaka"))


# --- erasure and disposal (C7 C8), My Number ---


def test_my_number_erasure_needs_approval_unless_the_copy_plan_says_erase() -> None:
    w = World()
    w.receive()
    assert "C7" in blocking_codes(w.try_("media.erased", erased_body("M-001"), "op-tanaka"))
    w.copy()  # copy approval with disposal plan "erase"
    assert legacy(w.try_("media.erased", erased_body("C-001"), "op-tanaka")) == []
    w.copy(target="C-002", serial="CSN-2", approval_id="K-2", disposal={"method": "destroy"})
    assert "C7" in blocking_codes(w.try_("media.erased", erased_body("C-002"), "op-tanaka"))


def test_unverified_erasure_refused() -> None:
    w = World(my_number=False)
    w.register()
    body = erased_body("V-001")
    body["verification"]["result"] = "fail"
    assert blocking_codes(w.try_("media.erased", body, "op-tanaka")) == ["C7"]


def disposal_world(**approval: Any) -> World:
    w = World()
    w.receive()
    w.approve_disposal(["M-001"], **approval)
    return w


DISPOSAL_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("method other than approved", {}, {"method": {"category": "purge", "technique": "shred"}}, "C7"),
    ("technique other than approved", {}, {"method": {"category": "destroy", "technique": "drill"}}, "C7"),
    ("My Number not destroyed", {"application": "purge"}, {"method": {"category": "purge", "technique": "shred"}},
     "C7"),
    ("witness required", {}, {"witness": None}, "C7"),
    ("no witness nor reason (My Number)", {"witness_required": False}, {"witness": None}, "C7"),
    ("no photo", {}, {"photos": []}, "C7"),
    ("photo without serial", {}, {"photos": [{"attachment": SHA, "name": "p.jpg", "serial_visible": False}]}, "C7"),
    ("no certificate nor reason", {}, {"certificate": None}, "C7"),
    ("other serial", {}, {"serial": "SN-OTHER"}, "C7"),
    ("other approval cited", {}, {"approval_id": "D-9"}, "C7"),
    ("verification failed", {}, {"verification": {"method": "look", "result": "fail", "verifier": "resp-sato"}},
     "C7"),
]


def _approval_over(spec: dict[str, Any]) -> dict[str, Any]:
    over: dict[str, Any] = {}
    if spec.get("application") == "purge" or "witness_required" in spec:
        from tests.world import approval_body

        application = approval_body("dispose", "D-1", ["M-001"])["application"]
        if spec.get("application") == "purge":
            application["method"]["category"] = "purge"
        if "witness_required" in spec:
            application["witness_required"] = spec["witness_required"]
        over["application"] = application
    return over


@pytest.mark.parametrize(("name", "approval", "body", "code"), DISPOSAL_CASES, ids=[c[0] for c in DISPOSAL_CASES])
def test_disposal_refused(name: str, approval: dict[str, Any], body: dict[str, Any], code: str) -> None:
    w = disposal_world(**_approval_over(approval))
    record = disposed_body("M-001", "SN-001")
    for key, value in body.items():
        if value is None:
            record.pop(key)
        else:
            record[key] = value
    found = w.try_("media.disposed", record)
    assert code in blocking_codes(found), [(v.code, v.message_en) for v in found]


def test_disposal_without_witness_with_reason_is_a_warning() -> None:
    w = disposal_world(**_approval_over({"witness_required": False}))
    record = disposed_body("M-001", "SN-001", no_witness_reason="委託者が立会いを求めなかったため")
    record.pop("witness")
    assert [(v.code, v.severity, v.blocks) for v in legacy(w.try_("media.disposed", record))] == [("C7", "warning", False)]


def test_disposal_with_certificate_reason_instead_of_certificate() -> None:
    w = disposal_world()
    record = disposed_body("M-001", "SN-001", no_certificate_reason="自社で破砕し、委託者職員が立ち会った")
    record.pop("certificate")
    assert legacy(w.try_("media.disposed", record)) == []
    w.ok("media.disposed", record)
    assert w.state.state_of("M-001") == "disposed"
    assert w.state.disposals["D-1"].media == {"M-001": "done"}


def test_disposal_without_approval() -> None:
    w = World()
    w.receive()
    found = legacy(w.try_("media.disposed", disposed_body("M-001", "SN-001")))
    assert blocking_codes(found) == ["C7"]
    assert "第11-2" in found[0].missing_ja


def test_disposal_approval_with_other_serial() -> None:
    """Kanagawa: the approval names a serial the register does not have for that medium."""
    w = World()
    w.receive()
    note = approve("dispose", "D-1", ["M-001"], serials={"M-001": "SN-XYZ"})
    found = w.try_("disposal.approved", {"approval": note})
    assert blocking_codes(found) == ["C7"]


def test_disposal_before_validity_and_after_deadline() -> None:
    w = disposal_world(valid_from="2026-04-05T00:00:00+09:00", evidence_due="2026-04-20T00:00:00+09:00")
    assert "C7" in blocking_codes(w.try_("media.disposed", disposed_body("M-001", "SN-001")))
    w.now += timedelta(days=30)
    found = legacy(w.do("media.disposed", disposed_body("M-001", "SN-001")))
    # The record's own start (04-01) is also before the approval's validity (C17, a fact: recorded).
    assert [(v.code, v.blocks) for v in found] == [("C8", False), ("C17", False)]


def test_non_my_number_disposal_may_purge_without_witness() -> None:
    w = World(my_number=False)
    w.receive(my_number=False)
    application = _approval_over({"application": "purge", "witness_required": False})
    w.approve_disposal(["M-001"], **application)
    record = disposed_body("M-001", "SN-001", method={"category": "purge", "technique": "shred"})
    record.pop("witness")
    assert w.try_("media.disposed", record) == []


def test_purge_approval_carried_out_by_erasure() -> None:
    w = World()
    w.receive()
    w.approve_disposal(["M-001"], **_approval_over({"application": "purge"}))
    w.ok("media.erased", erased_body("M-001", "purge"), actor="op-tanaka")
    assert w.state.disposals["D-1"].media == {"M-001": "done"}
    w.ok("media.returned", returned_body("M-001"))
    w.close()
    assert legacy(finish(w.state)) == []


# --- the agent (C10 C11 C12 C13) ---


def agent_world(allowed_ms: int = 86_400_000, **kw: Any) -> World:
    w = World(**kw)
    w.agent_start(allowed_ms)
    return w


def attach(w: World, media_id: str | None, serial: str | None) -> list[Violation]:
    return w.do("volume.attached", volume(media_id, serial, w.now + timedelta(seconds=30)), actor="agent-ws01")


def files(w: World, media_id: str | None, serial: str | None, n: int = 2) -> list[Violation]:
    body = {**volume(media_id, serial, w.now + timedelta(seconds=30)), "batch": 1, "count": n, "truncated": False,
            "files": [{"path": f"out/{i}.csv", "size": 10, "sha256": SHA} for i in range(n)]}
    return w.do("files.written", body, actor="agent-ws01")


def test_unregistered_volume_attached_and_written() -> None:
    w = agent_world()
    found = attach(w, None, "UNKNOWN-1")
    assert [(v.code, v.severity, v.blocks) for v in found] == [("C10", "error", False)]
    found = files(w, None, "UNKNOWN-1")
    assert [(v.code, v.severity, v.blocks) for v in found] == [("C11", "error", False)]


def test_registered_medium_recognised_by_serial_even_without_media_id() -> None:
    w = agent_world()
    w.receive()
    w.checkout()
    assert attach(w, None, "SN-001") == []
    assert w.state.observed["M-001"]["attached"] == 1


def test_attached_while_in_storage_is_a_warning() -> None:
    w = agent_world()
    w.receive()
    assert [(v.code, v.severity) for v in attach(w, "M-001", "SN-001")] == [("C10", "warning")]


@pytest.mark.parametrize("state", ["disposed", "returned"])
def test_disposed_or_returned_medium_seen_again(state: str) -> None:
    w = World(my_number=False)
    w.agent_start()
    w.put("M-X", state)
    found = attach(w, None, "SN-M-X")
    assert [(v.code, v.blocks, v.media_id) for v in found] == [("C12", False, "M-X")]
    assert "C12" in codes(files(w, "M-X", "SN-M-X"))


def test_uncovered_writes_reported_at_finish() -> None:
    w = agent_world()
    w.register()
    w.ok("media.checked_out", {"media_id": "V-001", "person": "op-tanaka", "purpose": "x"}, actor="op-tanaka")
    assert files(w, "V-001", "VSN-001") == []  # not refused: C11 comes from finish()
    found = finish(w.state)
    assert [(v.code, v.media_id) for v in found] == [("C11", "V-001")]
    assert found[0].seq == w.seq - 1


def test_writes_covered_by_a_copy_approval() -> None:
    w = agent_world()
    w.receive()
    w.copy()
    assert files(w, "C-001", "CSN-001") == []
    assert w.state.pending_writes == {}
    assert w.state.write_covered("C-001", iso(w.now)) == "K-1"


def test_writes_covered_by_a_takeout_approval_recorded_later() -> None:
    """The data is written onto the medium, then it departs under an approval valid at the time of writing."""
    w = agent_world()
    w.receive()
    w.checkout()
    files(w, "M-001", "SN-001")
    assert "M-001" in w.state.pending_writes
    w.depart(["M-001"])
    assert w.state.pending_writes == {}
    assert codes(finish(w.state)) == []


def test_writes_not_covered_by_a_later_approval_given_after_them() -> None:
    w = agent_world()
    w.receive()
    w.checkout()
    w.now = w.now.replace(month=4, day=1)
    files(w, "M-001", "SN-001")
    w.now += timedelta(days=2)
    note = approve("takeout", "T-1", ["M-001"], approved_at=iso(w.now), valid_from=iso(w.now))
    w.ok("takeout.departed", departed_body(note, ["M-001"]), actor="op-tanaka")
    assert "M-001" in w.state.pending_writes


def heartbeat(w: World, minutes: float) -> list[Violation]:
    w.now += timedelta(minutes=minutes)
    return w.do("agent.heartbeat", {"observed_at": iso(w.now), "sequence": 1, "interval_ms": 60000},
                actor="agent-ws01", at=w.now)


def test_silence_longer_than_allowed_is_c13() -> None:
    w = agent_world(120_000)
    assert heartbeat(w, 1) == []
    assert heartbeat(w, 2) == []
    found = heartbeat(w, 10)
    assert [(v.code, v.severity, v.blocks) for v in found] == [("C13", "warning", False)]


def test_reported_gap_is_c13_once_and_clean_stop_is_not_a_gap() -> None:
    w = agent_world(120_000)
    w.now += timedelta(hours=2)
    found = w.do("observation.gap", {"code": "C13", "last_heartbeat": iso(w.now - timedelta(hours=2)),
                                     "detected_at": iso(w.now), "gap_seconds": 7200, "allowed_seconds": 120},
                 actor="agent-ws01", at=w.now)
    assert codes(found) == ["C13"]
    assert heartbeat(w, 1) == []
    w.ok("agent.stopped", {"observed_at": iso(w.now), "reason": "stop"}, actor="agent-ws01", at=w.now)
    w.now += timedelta(hours=12)
    w.ok("agent.started", {"host": "ws-01", "observed_at": iso(w.now)}, actor="agent-ws01", at=w.now)
    assert heartbeat(w, 1) == []


def test_agent_silent_at_finish() -> None:
    w = agent_world(120_000)
    heartbeat(w, 1)
    later = iso(w.now + timedelta(hours=1))
    assert codes(finish(w.state, now_or_close=later)) == ["C13"]


def test_alert_recorded_not_reported_again() -> None:
    w = agent_world()
    found = w.do("alert.raised", {"code": "C10", "message": "Unregistered removable medium attached: USB",
                                  "observed_at": iso(w.now)}, actor="agent-ws01")
    assert found == []
    assert w.state.alerts == {"C10": 1}


# --- closing (C1) and finish() ---


def settled_world() -> World:
    w = World()
    w.receive()
    w.approve_disposal(["M-001"])
    w.dispose()
    return w


def test_precheck_blocks_closing_while_media_remain_and_check_does_not() -> None:
    w = World()
    w.receive()
    closing = w.event("contract.closed", closed_body())
    assert legacy(check(w.state, closing)) == []
    found = precheck(w.state, closing)
    assert [(v.code, v.blocks, v.media_id) for v in found if v.code == "C1"] == [("C1", True, "M-001")]
    with pytest.raises(Exception) as info:
        refuse(w.state, closing)
    assert getattr(info.value, "code", None) in ("C1", "C15")
    w2 = settled_world()
    w2.statements()
    refuse(w2.state, w2.event("contract.closed", closed_body()))


def test_acts_after_close() -> None:
    w = World()
    w.receive()
    w.register()
    w.ok("media.returned", returned_body("M-001"))
    w.close()
    assert "C1" in blocking_codes(w.try_("media.checked_out", {"media_id": "V-001", "person": "op-tanaka",
                                                               "purpose": "x"}, "op-tanaka"))
    assert "C1" in blocking_codes(w.try_("contract.closed", closed_body()))
    found = w.do("media.erased", erased_body("V-001"), actor="op-tanaka")
    assert [(v.code, v.severity) for v in found] == [("C1", "warning")]


def test_finish_c1_only_after_close_or_period_end() -> None:
    w = World()
    w.receive()
    assert finish(w.state) == []
    # After the period: the media not settled, and nobody's no-data statement (C23).
    assert codes(legacy(finish(w.state, now_or_close="2027-04-01T09:00:00+09:00"))) == ["C1", "C15", "C23"]
    w.close()
    found = finish(w.state)
    assert [(v.code, v.media_id, v.seq) for v in found if v.code == "C1"] == [("C1", "M-001", None)]


def test_finish_c4_takeout_overdue() -> None:
    w = World()
    w.receive()
    w.depart(["M-001"])  # planned return 2026-04-10 17:00
    assert finish(w.state, now_or_close="2026-04-10T16:00:00+09:00") == []
    found = finish(w.state, now_or_close="2026-04-11T09:00:00+09:00")
    assert [(v.code, v.media_id) for v in found] == [("C4", "M-001")]


def test_finish_c6_copy_not_disposed() -> None:
    w = World()
    w.receive()
    w.copy()  # the copy approval says: erase by 2026-06-30
    assert finish(w.state, now_or_close="2026-06-01T00:00:00+09:00") == []
    assert [(v.code, v.media_id) for v in finish(w.state, now_or_close="2026-07-01T00:00:00+09:00")] == [
        ("C6", "C-001")]
    w.ok("media.erased", erased_body("C-001"), actor="op-tanaka")
    assert finish(w.state, now_or_close="2026-07-01T00:00:00+09:00") == []


def test_finish_c8_disposal_evidence_overdue() -> None:
    w = disposal_world(evidence_due="2026-05-10T00:00:00+09:00")
    assert finish(w.state, now_or_close="2026-05-09T00:00:00+09:00") == []
    found = finish(w.state, now_or_close="2026-05-11T00:00:00+09:00")
    assert [(v.code, v.media_id) for v in found] == [("C8", "M-001")]


def test_finish_c15_receipt_quantity_and_records() -> None:
    w = World()
    w.receive("M-001", "SN-001", receipt=receipt("R-9", quantity=2, records=2400))
    w.ok("media.returned", returned_body("M-001"))
    w.close()
    found = legacy(finish(w.state))
    assert [v.code for v in found] == ["C15", "C15"]
    assert "R-9" in found[0].message_en and "2" in found[0].message_en
    assert found[0].seq is not None
    w2 = World()
    w2.receive("M-001", "SN-001", receipt=receipt("R-9", quantity=2, records=2400), records=1200)
    w2.receive("M-002", "SN-002", receipt=receipt("R-9", quantity=2, records=2400), records=1200)
    for media_id in ("M-001", "M-002"):
        w2.ok("media.returned", returned_body(media_id))
    w2.close()
    assert legacy(finish(w2.state)) == []


def test_counts_reconcile() -> None:
    w = World(my_number=False)
    w.receive()
    w.register()
    w.copy(source="M-001")
    w.ok("media.erased", erased_body("C-001"), actor="op-tanaka")
    w.ok("media.erased", erased_body("V-001"), actor="op-tanaka")
    w.ok("media.returned", returned_body("M-001"))
    c = w.state.counts()
    assert c == {"received": 1, "registered": 1, "copies": 1, "returned": 1, "disposed": 0, "erased": 2,
                 "lost": 0, "open": 0}
    w.close()
    assert legacy(finish(w.state)) == []


def test_full_scenario_is_clean() -> None:
    """A whole compliant job: receive, check out, copy, take out, return, erase, dispose, return, close."""
    w = agent_world()
    w.receive()
    w.register()
    w.checkout()
    w.copy(source="M-001", target="C-001", serial="VSN-COPY")
    assert files(w, "C-001", "VSN-COPY") == []
    seq = w.depart(["C-001"], "T-1", carriers=["op-tanaka"])
    w.ok("takeout.erased_at_destination", {"takeout_seq": seq, "media_ids": ["C-001"], "erased_by": "op-tanaka",
                                           "method": {"category": "purge", "technique": "cryptographic erase"},
                                           "verification": verification()})
    w.checkin()
    w.approve_disposal(["M-001"])
    w.dispose()
    w.ok("media.erased", erased_body("V-001"), actor="op-tanaka")
    w.ok("agent.stopped", {"observed_at": iso(w.now), "reason": "stop"}, actor="agent-ws01")
    w.close()
    assert [v for v in legacy(w.log) if v.severity != "info"] == []
    assert legacy(finish(w.state)) == []
    assert w.state.approvals["T-1"].uses == 1 and w.state.approvals["K-1"].seqs


def test_amagasaki() -> None:
    """Third-tier unapproved subcontractor copies to two USB sticks and carries them out: every step flagged."""
    w = agent_world()
    w.receive()
    w.ok("subcontract.approved", {"approval": approve("subcontract", "SC-1", [])})
    # the sub-subcontractor was never approved; registering them is refused, so they act unregistered
    assert "C9" in blocking_codes(w.try_("personnel.registered", person_body(
        "subsub-x", tier="sub-subcontractor", organisation="孫請", subcontract_id="SC-1")))
    found = attach(w, None, "STICK-A") + files(w, None, "STICK-A") + attach(w, None, "STICK-B")
    assert codes(found) == ["C10", "C11"]
    checkout = w.try_("media.checked_out", {"media_id": "M-001", "person": "subsub-x", "purpose": "x"}, "subsub-x")
    assert "C9" in blocking_codes(checkout)


def test_refuse_validates_the_body_first() -> None:
    from custody.ledger.errors import SchemaError

    w = World()
    with pytest.raises(SchemaError) as info:
        refuse(w.state, Event(w.seq, "media.received", iso(w.now), "resp-sato", {"media_id": "M-1"}))
    assert info.value.field


def test_witness_required_by_the_approval_even_without_my_number() -> None:
    """The approval's witness_required binds whatever the data; a reason does not replace the witness."""
    w = World(my_number=False)
    w.receive(my_number=False)
    w.approve_disposal(["M-001"])  # witness_required: true
    record = disposed_body("M-001", "SN-001", no_witness_reason="都合がつかなかった")
    record.pop("witness")
    found = w.try_("media.disposed", record)
    assert blocking_codes(found) == ["C7"]
    assert "witness" in found[0].message_en


def test_my_number_disposal_witnessed_by_the_vendor_itself() -> None:
    """docs/fields.md: My Number disposals are witnessed by the municipality's staff (or the reason there was none)."""
    w = disposal_world()
    vendor_witness = {"name": "佐藤 一郎", "organisation": "株式会社サンプル", "title": "作業責任者"}
    found = w.try_("media.disposed", disposed_body("M-001", "SN-001", witness=vendor_witness))
    assert blocking_codes(found) == ["C7"] and "municipality" in found[0].message_en
    staff = {"name": "山田 花子", "organisation": "例市 市民課", "title": "主査"}
    assert legacy(w.try_("media.disposed", disposed_body("M-001", "SN-001", witness=staff))) == []


def test_loss_reported_after_the_takeout_deadline_is_also_c4() -> None:
    """Amagasaki: the sticks were neither back nor erased at the deadline; the loss came the next morning."""
    w = takeout_world()
    w.depart(["M-001"])  # planned return 2026-04-10 17:00
    w.now = w.now.replace(day=11)
    found = w.do("incident.reported", {"kind": "lost", "detected_at": iso(w.now), "media_ids": ["M-001"],
                                       "situation": "帰路で紛失", "notified_at": iso(w.now)})
    assert [(v.code, v.severity, v.blocks) for v in found] == [("C14", "error", False), ("C4", "error", False)]


def test_finish_is_judged_no_earlier_than_the_last_entry() -> None:
    """A vendor that stops recording does not stop the clock: the verifier passes a trusted later time."""
    w = World()
    w.receive()
    w.depart(["M-001"])
    assert finish(w.state) == []  # judged at the last entry
    assert codes(finish(w.state, now_or_close="2026-05-20T10:00:00+09:00")) == ["C4"]
    assert finish(w.state, now_or_close="2026-01-01T00:00:00+09:00") == []  # an earlier time changes nothing


def test_a_label_alone_never_identifies_a_medium() -> None:
    w = agent_world()
    w.ok("media.received", {**received_body(), "volume_label": "USB"})
    w.checkout()
    found = attach(w, None, "STRANGER")  # labelled "USB" like M-001, but another device
    assert codes(found) == ["C10"]
    assert w.state.match_volume(serial="SN-001") is w.state.media["M-001"]
    assert w.state.match_volume(uuid="uuid-SN-001") is w.state.media["M-001"]


def test_receipt_mismatch_is_reported_but_does_not_block_closing() -> None:
    w = World()
    w.receive("M-001", "SN-001", receipt=receipt("R-9", quantity=2, records=2400))
    w.ok("media.returned", returned_body("M-001"))
    w.statements()
    found = legacy(precheck(w.state, w.event("contract.closed", closed_body())))
    assert [(v.code, v.blocks) for v in found] == [("C15", False), ("C15", False)]
