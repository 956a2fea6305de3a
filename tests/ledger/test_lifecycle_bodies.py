"""custody.ledger.lifecycle's body_for_<act> functions: what a body takes from the register, the approval and the
contract when the operator gives nothing, and that no body depends on the interface language.

The commands that call them are tested end to end in tests/cli; these check the pure functions on a state
reached through real entries (tests/world.py), where the CLI tests cannot see a default apart from the rest.
"""

from __future__ import annotations

from typing import Any

import pytest

from custody.ledger.i18n import using
from custody.ledger.lifecycle.closing import body_for_contract_closed, body_for_incident_reported
from custody.ledger.lifecycle.defaults import merged
from custody.ledger.lifecycle.disposal import body_for_media_disposed
from custody.ledger.lifecycle.reporting import body_for_report_periodic
from custody.ledger.lifecycle.storage import body_for_media_received, body_for_media_registered
from tests.world import World

AT = "2026-04-02T10:00:00.000+09:00"
_MEDIUM = ("media_id", "kind", "label", "make", "model", "serial", "capacity", "hardware_encryption",
           "property_number", "volume_uuid", "volume_label", "records", "my_number", "classification",
           "storage_place", "cabinet", "work_location", "custodian", "remarks", "attachments")
_RECEIPT = ("receipt_number", "receipt_at", "receipt_place", "means", "from_org", "from_person", "to_org",
            "to_person", "encrypted", "return_due", "receipt_scan")
_DISPOSAL = ("media_id", "approval_id", "certificate_number", "serial", "category", "technique", "tool",
             "tool_version", "start", "end", "place", "operator", "operator_organisation", "operator_title",
             "responsible", "witness", "witness_organisation", "witness_title", "no_witness_reason",
             "verification_method", "verifier", "validated_by", "validated_at", "remains_destination",
             "certificate", "no_certificate_reason", "backup_made", "backup_where", "remarks", "attachments")


def _nothing(names: tuple[str, ...], **given: Any) -> dict[str, Any]:
    """The options of a command where the operator gave only ``given``."""
    return {**dict.fromkeys(names), **given}


@pytest.fixture(scope="module")
def world() -> World:
    w = World()
    w.receive("M-001", "SN-001")
    w.approve_disposal(["M-001"], "D-1")
    return w


def test_a_disposal_record_given_only_the_medium_takes_the_rest_from_the_approval_and_the_register(
        world: World) -> None:
    o = _nothing(_DISPOSAL, media_id="M-001", verification_result="pass", photos=[])
    body = body_for_media_disposed(world.state, o, base={}, signer="op-tanaka", at=AT, attestation=None)
    approved = world.state.approval_body("D-1")
    assert approved is not None and approved.application is not None
    m = world.state.medium("M-001")
    assert m is not None
    assert body["approval_id"] == "D-1" and body["serial"] == "SN-001"
    assert body["media_type"] == m.kind and body["source"] == m.origin  # codes, never words
    assert body["method"] == {"category": approved.application.category, "technique": approved.application.technique}
    assert body["place"] == approved.application.place
    assert body["start"] == body["end"] == AT
    assert body["operator"]["key_name"] == "op-tanaka"
    assert body["verification"] == {"method": "visual_inspection", "result": "pass", "verifier": "op-tanaka"}


def test_bodies_hold_the_same_words_in_every_interface_language(world: World) -> None:
    def bodies() -> list[dict[str, Any]]:
        state = world.state
        medium = _nothing(_MEDIUM, items=[{"name": "住民基本台帳", "records": 10}])
        return [
            body_for_media_received(state, {**medium, **_nothing(_RECEIPT), "media_id": "M-009", "kind": "hdd",
                                            "serial": "X", "receipt_number": "R-9", "receipt_items": [],
                                            "seal": []}, base={}, signer="op-tanaka", at=AT),
            body_for_media_registered(state, {**medium, "media_id": "V-009", "source": None, "purpose": None},
                                      base={}, signer="op-tanaka"),
            body_for_media_disposed(state, _nothing(_DISPOSAL, media_id="M-001", verification_result="pass",
                                                    photos=[]), base={}, signer="op-tanaka", at=AT,
                                    attestation=None),
            body_for_incident_reported(state, at=AT, kind="lost", situation="紛失", detected_at=None, items=[],
                                       police_filed=None, police_at=None, police_reference=None),
            body_for_report_periodic(state, at=AT, period_from="2026-04-01", period_to="2026-04-30",
                                     summary="報告", to_person="山田", to_org=None, submitted_at=None),
            body_for_contract_closed(scope=[], statement=None, inspector=None, inspector_organisation=None,
                                     check_method=None, check_date=None, check_result=None, completion=None),
        ]

    with using("ja"):
        japanese = bodies()
    with using("en"):
        english = bodies()
    assert japanese == english
    assert japanese[0]["receipt"]["means"] == "by_hand" and japanese[1]["source"] == "vendor_stock"
    assert japanese[0]["contents"]["items"][0]["my_number"] is True  # flagged from the contract's data items


def test_merged_ignores_what_was_not_given() -> None:
    assert merged({"a": 1, "n": {"x": 1}}, {"a": None, "n": {"y": 2, "z": None}, "e": {"k": None}, "b": 0}) == {
        "a": 1, "n": {"x": 1, "y": 2}, "b": 0}
