"""ledger.lifecycle.attestations: C24 (the municipality's signed act where required) and C20 (inspections)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from custody.ledger.attestation import sign_attestation
from custody.ledger.lifecycle import finish, precheck
from custody.ledger.note import Signer
from custody.ledger.violation import Violation
from tests.world import (
    JST,
    ORIGIN,
    World,
    approve,
    closed_body,
    codes,
    disposed_body,
    erased_body,
    errors,
    person_body,
    received_body,
    returned_body,
    signer,
)

WITNESS = signer("city-witness")
RECEIVER = signer("city-receiver")
INSPECTOR = signer("city-inspector")
CHECKER = signer("city-checker")
OTHER_CITY = signer("other-city-witness")
PINNED = {"witness": [WITNESS.verifier().vkey], "receiver": [RECEIVER.verifier().vkey],
          "inspector": [INSPECTOR.verifier().vkey], "completion": [CHECKER.verifier().vkey]}
ROLE_OF = {"disposal_witness": "witness", "erasure_witness": "witness", "waiver": "witness",
           "return_receipt": "receiver", "inspection": "inspector", "completion_check": "completion",
           "change_approval": "instructor", "instruction": "instructor"}
_count = iter(range(1, 10_000))


def attestation(kind: str, media: list[str], *, by: Signer | None = None, origin: str = ORIGIN,
                acted_at: str = "2026-04-01T12:00:00+09:00", **extra: Any) -> str:
    role = ROLE_OF[kind]
    signer_ = by or {"witness": WITNESS, "receiver": RECEIVER, "inspector": INSPECTOR, "completion": CHECKER,
                     "instructor": signer("city-approver")}[role]
    body = {"kind": kind, "id": f"A-{next(_count)}", "media": media, "concerns": {}, "seen": "確認した",
            "acted_at": acted_at, "attested_at": acted_at, "place": "例市役所",
            "attester": {"name": "山田 花子", "title": "主査", "organisation": "例市", "role": role}, **extra}
    return sign_attestation(origin, body, signer_).decode()


def inspection(parties: list[str], *, acted_at: str = "2026-04-01T12:00:00+09:00", **extra: Any) -> str:
    part = {"method": "on_site", "checks": [{"party": p, "item": "register", "complied": True} for p in parties],
            **extra}
    return attestation("inspection", [], acted_at=acted_at, inspection=part)


def inspection_entry(note: str, day: str = "2026-04-01", method: str = "on_site") -> dict[str, Any]:
    return {"date": day, "type": method, "inspector": {"name": "山田 花子", "organisation": "例市"},
            "attestation": note}


class PinnedWorld(World):
    attesters = PINNED


def world(*, my_number: bool = True) -> World:
    return PinnedWorld(my_number=my_number)


def c24(found: list[Violation]) -> list[Violation]:
    return [v for v in found if v.code == "C24"]


def disposal_ready(w: World) -> None:
    w.receive("M-001", "SN-001")
    w.approve_disposal(["M-001"], "D-1")


# --- C24: witnessed disposal and erasure of My Number media ---


def test_my_number_disposal_without_signed_witness_is_refused() -> None:
    w = world()
    disposal_ready(w)
    found = c24(w.try_("media.disposed", disposed_body("M-001", "SN-001")))
    assert found and found[0].blocks and found[0].media_id == "M-001"
    assert "a name typed into the record (山田 花子) is not a witness" in found[0].message_en
    assert "記録に書かれた氏名" in found[0].message_ja


@pytest.mark.parametrize("kind", ["disposal_witness", "waiver"])
def test_my_number_disposal_with_signed_witness_or_waiver(kind: str) -> None:
    w = world()
    disposal_ready(w)
    note = attestation(kind, ["M-001"], reason="委託者の指示により立会いを省略") if kind == "waiver" else attestation(
        kind, ["M-001"])
    w.ok("media.disposed", disposed_body("M-001", "SN-001", attestation=note))
    assert not c24(w.log)


@pytest.mark.parametrize(("by", "says"), [
    (OTHER_CITY, "not signed by a municipality key pinned for the witness"),
    (signer("op-tanaka"), "the vendor's key op-tanaka"),
    (RECEIVER, "pins for another role"),
])
def test_witness_signed_by_the_wrong_key_is_caught(by: Signer, says: str) -> None:
    w = world()
    disposal_ready(w)
    found = c24(w.try_("media.disposed", disposed_body(
        "M-001", "SN-001", attestation=attestation("disposal_witness", ["M-001"], by=by))))
    assert found and found[0].blocks and says in found[0].message_en


def test_forged_and_foreign_witness_attestations_are_caught() -> None:
    w = world()
    disposal_ready(w)
    forged = attestation("disposal_witness", ["M-001"]).replace("確認した", "見ていない")
    assert "altered or forged" in c24(w.try_("media.disposed", disposed_body("M-001", "SN-001",
                                                                              attestation=forged)))[0].message_en
    foreign = attestation("disposal_witness", ["M-001"], origin="other.example/custody/1")
    assert "another ledger" in c24(w.try_("media.disposed", disposed_body("M-001", "SN-001",
                                                                         attestation=foreign)))[0].message_en
    other_medium = attestation("disposal_witness", ["M-009"])
    assert "not medium M-001" in c24(w.try_("media.disposed", disposed_body(
        "M-001", "SN-001", attestation=other_medium)))[0].message_en


def test_one_attestation_serves_one_act() -> None:
    w = world()
    w.receive("M-001", "SN-001")
    w.receive("M-002", "SN-002")
    w.approve_disposal(["M-001", "M-002"], "D-1", serials={"M-001": "SN-001", "M-002": "SN-002"})
    note = attestation("disposal_witness", ["M-001", "M-002"])
    w.ok("media.disposed", disposed_body("M-001", "SN-001", attestation=note))
    found = c24(w.try_("media.disposed", disposed_body("M-002", "SN-002", attestation=note)))
    assert found and "already recorded" in found[0].message_en


def test_witness_attestation_must_concern_the_approval_carried_out() -> None:
    w = world()
    disposal_ready(w)
    note = attestation("disposal_witness", ["M-001"], concerns={"approval_id": "D-9"})
    found = c24(w.try_("media.disposed", disposed_body("M-001", "SN-001", attestation=note)))
    assert found and "concerns approval D-9" in found[0].message_en


def test_witness_required_by_the_approval_without_my_number() -> None:
    w = world(my_number=False)
    w.receive("M-001", "SN-001", my_number=False)
    w.approve_disposal(["M-001"], "D-1")
    found = c24(w.try_("media.disposed", disposed_body("M-001", "SN-001")))
    assert found and "requires a witness" in found[0].message_en


def test_my_number_erasure_needs_responsible_and_signed_witness() -> None:
    w = world()
    w.receive("M-001", "SN-001")
    w.copy("M-001", "C-001", "CSN-001")
    found = c24(w.try_("media.erased", erased_body("C-001")))
    assert {("witness" in v.message_en, "responsible" in v.message_en) for v in found} == {
        (True, False), (False, True)}
    body = {**erased_body("C-001"), "responsible": {"name": "佐藤 一郎"},
            "attestation": attestation("erasure_witness", ["C-001"])}
    assert not c24(w.try_("media.erased", body))


def test_non_my_number_erasure_needs_nothing() -> None:
    w = world(my_number=False)
    w.register("V-001", "VSN-001")
    assert not c24(w.try_("media.erased", erased_body("V-001")))


# --- C24: return receipt, completion check, change of responsible person ---


def test_return_needs_the_receivers_signed_receipt() -> None:
    w = world()
    w.receive("M-001", "SN-001")
    found = c24(w.try_("media.returned", returned_body("M-001")))
    assert found and found[0].blocks and found[0].media_id == "M-001"
    w.ok("media.returned", {**returned_body("M-001"), "attestation": attestation("return_receipt", ["M-001"])})
    assert not c24(w.log)


def test_close_needs_the_completion_check() -> None:
    w = world()
    w.ok("inspection.recorded", inspection_entry(inspection(["株式会社サンプル"])))
    w.statements()
    found = c24(precheck(w.state, w.event("contract.closed", closed_body())))
    assert found and "completion check" in found[0].message_en and found[0].blocks
    w.ok("contract.closed", {**closed_body(), "attestation": attestation("completion_check", [])})
    assert codes(finish(w.state)) == []


def test_new_responsible_person_needs_a_prior_change_approval() -> None:
    w = world()
    found = c24(w.try_("personnel.registered", person_body("resp-kato", role="responsible")))
    assert found and "no prior change approval" in found[0].message_en
    note = attestation("change_approval", [], change={"subject": "responsible_person", "to": "resp-kato さん"})
    w.ok("attestation.recorded", {"attestation": note})
    assert not c24(w.try_("personnel.registered", person_body("resp-kato", role="responsible")))


def test_an_approved_work_location_is_in_force_from_its_approval() -> None:
    """C19: a place the municipality approved as a new work location (a signed change approval) is a work location
    from that entry on; acts there before it are outside, and the contract's own location stays in force."""
    w = world()
    new_place = {"place": "別館 第3作業室", "cabinet": "施錠保管庫B"}
    early = {**received_body("M-001", "SN-001"), "storage": new_place}
    assert codes(w.try_("media.received", early)) == ["C19"]
    disposal_ready(w)  # M-001 kept at the contract's location
    at_new = disposed_body("M-001", "SN-001", place="別館 第3作業室", attestation=attestation("disposal_witness",
                                                                                            ["M-001"]))
    assert [v.media_id for v in w.try_("media.disposed", at_new) if v.code == "C19"] == ["M-001"]
    note = attestation("change_approval", [], change={"subject": "work_location", "from": "本社 第2開発室",
                                                      "to": "別館 第3作業室"})
    w.ok("attestation.recorded", {"attestation": note})
    assert w.state.duties["locations"][-1]["name"] == "別館 第3作業室"
    assert "C19" not in codes(w.try_("media.received", {**received_body("M-002", "SN-002"), "storage": new_place}))
    assert "C19" not in codes(w.try_("media.disposed", at_new))
    assert "C19" not in codes(w.try_("media.received", received_body("M-003", "SN-003")))  # the old one stays
    assert codes(w.try_("media.received", {**received_body("M-004", "SN-004"), "storage": {"place": "担当者の自宅"}})) \
        == ["C19"]


def test_attestation_recorded_takes_only_its_kinds() -> None:
    w = world()
    found = c24(w.try_("attestation.recorded", {"attestation": attestation("disposal_witness", ["M-001"])}))
    assert found and found[0].blocks and "is of the kind disposal witness, not instruction" in found[0].message_en


# --- C20: inspections ---


def test_close_without_inspection_is_refused() -> None:
    w = world()
    found = [v for v in precheck(w.state, w.event("contract.closed", {
        **closed_body(), "attestation": attestation("completion_check", [])})) if v.code == "C20"]
    assert found and found[0].blocks
    assert "No inspection by the municipality between 2026-04-01 and 2027-03-31" in found[0].message_en


def test_inspection_must_cover_every_subcontractor() -> None:
    w = world()
    w.ok("subcontract.approved", {"approval": approve("subcontract", "S-1", [])})
    name = w.state.subcontracts["S-1"].name
    w.ok("inspection.recorded", inspection_entry(inspection(["株式会社サンプル"])))
    close = {**closed_body(), "attestation": attestation("completion_check", [])}
    found = [v for v in precheck(w.state, w.event("contract.closed", close)) if v.code == "C20"]
    assert found and name in found[0].message_en
    w.ok("inspection.recorded", inspection_entry(inspection([name])))
    assert not [v for v in precheck(w.state, w.event("contract.closed", close)) if v.code == "C20"]


def test_interval_counts_each_elapsed_window() -> None:
    w = PinnedWorld()
    w.state.inspection_interval_months = 3
    w.ok("inspection.recorded", inspection_entry(inspection(["株式会社サンプル"])))
    w.do("note.recorded", {"text": "秋"}, at=datetime(2026, 10, 15, 9, 0, tzinfo=JST))
    found = [v for v in finish(w.state) if v.code == "C20"]
    assert [v.message_en.split(" between ")[1].split(" (")[0] for v in found] == ["2026-07-01 and 2026-09-30"]


def test_corrective_action_overdue_closed_late_and_on_time() -> None:
    w = world()
    action = {"id": "CA-1", "what": "台帳の訂正", "party": "株式会社サンプル", "due": "2026-05-01"}
    w.ok("inspection.recorded", inspection_entry(inspection(["株式会社サンプル"], corrective_actions=[action])))
    w.do("note.recorded", {"text": "後日"}, at=datetime(2026, 5, 10, 9, 0, tzinfo=JST))
    assert "Corrective action CA-1" in next(v for v in finish(w.state) if v.code == "C20").message_en
    late = inspection(["株式会社サンプル"], acted_at="2026-05-10T10:00:00+09:00",
                      closed_actions=[{"id": "CA-1", "closed_on": "2026-05-09"}])
    found = w.do("inspection.recorded", inspection_entry(late, day="2026-05-10"))
    assert codes(found) == ["C20"] and not found[0].blocks and "closed on 2026-05-09" in found[0].message_en
    assert not [v for v in finish(w.state) if v.code == "C20"]


def test_inspection_record_must_match_its_signature() -> None:
    w = world()
    found = c24(w.try_("inspection.recorded", inspection_entry(inspection(["株式会社サンプル"]), method="paper")))
    assert found and "type differs" in found[0].message_en


def test_unsigned_inspection_does_not_count_where_inspectors_are_pinned() -> None:
    w = world()
    body = {"date": "2026-04-01", "type": "on_site", "inspector": {"name": "山田 花子"}}
    assert "C24" in errors(w.try_("inspection.recorded", body))


# --- an old contract (no attester pinned): findings, never refusals ---


def test_old_contract_reports_warnings_only() -> None:
    w = World()
    disposal_ready(w)
    found = c24(w.do("media.disposed", disposed_body("M-001", "SN-001")))
    assert found and found[0].severity == "warning" and not found[0].blocks
    w.do("inspection.recorded", {"date": "2026-04-01", "type": "on_site", "inspector": {"name": "山田 花子"},
                                 "checks": [{"party": "株式会社サンプル", "item": "register", "complied": True}]})
    w.do("contract.closed", closed_body())
    assert {(v.code, v.severity) for v in w.log + finish(w.state) if v.code in ("C20", "C24")} == {
        ("C24", "warning")}


def test_snapshot_keeps_what_was_attested() -> None:
    from custody.ledger.lifecycle import LedgerState

    w = world()
    w.ok("inspection.recorded", inspection_entry(inspection(["株式会社サンプル"], corrective_actions=[
        {"id": "CA-1", "what": "x", "party": "株式会社サンプル", "due": "2026-05-01"}])))
    restored = LedgerState.from_json(w.state.to_json())
    assert restored.attested == w.state.attested
    assert restored.attester_vkeys == PINNED
