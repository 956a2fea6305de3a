"""schemas/events/*.schema.json (one per event body), approval and request schemas: realistic examples pass,
missing required fields and wrong types fail with the field named (table-driven)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from custody.agents.interfaces import MediaMatch, VolumeInfo
from custody.agents.watcher import FileRecord
from custody.ledger import i18n
from custody.ledger import validation as schemas
from custody.ledger.bundle import attachment_refs
from custody.ledger.errors import SchemaError
from custody.ledger.events import EVENT_TYPES, body_schema_name, validate_body
from tests.world import (
    SHA,
    SHA2,
    approval_body,
    approve,
    closed_body,
    departed_body,
    disposed_body,
    erased_body,
    genesis_body,
    medium_fields,
    person_body,
    received_body,
    registered_body,
    return_check,
    returned_body,
    statement_body,
    verification,
)

AT = "2026-04-01T10:00:00.000+09:00"
INFO = VolumeInfo(volume_id="uuid:1234-ABCD", mount_point="/media/usb0", filesystem="vfat", device="/dev/sdb1",
                  uuid="1234-ABCD", label="KIOXIA", serial="SN-001", vendor="KIOXIA", model="TransMemory",
                  bus="usb", removable=True, sources=("udev",))
MATCH = MediaMatch(media_id="M-001", state="checked_out", write_covered=True, approval="K-1", matched_by="serial")


def agent_bodies() -> dict[str, dict[str, Any]]:
    """Bodies shaped exactly as agents/agent.py builds them."""
    summary = {"volume_id": INFO.volume_id, "mount_point": INFO.mount_point, "files_recorded": 3}
    files = [FileRecord("out/a.csv", 120, SHA).body(), FileRecord("out/b.csv", None, None, "changing").body()]
    return {
        "agent.started": {
            "host": "ws-01", "version": "0.1.0", "pid": 4242, "platform": "linux", "observed_at": AT,
            "config": {"monitor_mode": "mountinfo", "mount_table": None, "heartbeat_interval_ms": 60000,
                       "allowed_gap_ms": 120000, "batch_interval_ms": 1000, "batch_limit": 1000,
                       "on_alert": None, "seen_again_states": ["disposed", "returned"]},
        },
        "agent.heartbeat": {"observed_at": AT, "sequence": 7, "interval_ms": 60000, "uptime_seconds": 420,
                            "volumes": [summary], "undelivered": 0},
        "agent.stopped": {"reason": "stop", "observed_at": AT, "uptime_seconds": 3600, "volumes": [summary],
                          "emitted": 80, "alerts": 0, "undelivered": 0},
        "volume.attached": {**INFO.body_fields(), **MATCH.body_fields(), "present_at_start": False,
                            "observed_at": AT, "identified_by": list(INFO.sources)},
        "volume.detached": {**INFO.body_fields(), "media_id": "M-001", "observed_at": AT, "attached_at": AT,
                            "files_recorded": 3, "batches": 1},
        "files.written": {"volume_id": INFO.volume_id, "uuid": INFO.uuid, "label": INFO.label,
                          "serial": INFO.serial, "mount_point": INFO.mount_point, "media_id": "M-001",
                          "write_covered": True, "approval": "K-1", "observed_at": AT, "batch": 1, "count": 2,
                          "truncated": False, "files": files},
        "observation.gap": {"code": "C13", "last_heartbeat": AT, "detected_at": AT, "gap_seconds": 7200,
                            "allowed_seconds": 120, "reason": "restart"},
        "alert.raised": {"code": "C10", "message": "Unregistered removable medium attached: KIOXIA",
                         **INFO.body_fields(), "media_id": None, "media_state": None, "observed_at": AT},
    }


def _attestation_note() -> str:
    from custody.ledger.attestation import sign_attestation
    from tests.world import ORIGIN, signer

    return sign_attestation(ORIGIN, {
        "kind": "instruction", "id": "N-1", "media": [], "concerns": {"seq": 12, "hash": "ab" * 32},
        "seen": "事故報告を受けた", "acted_at": "2026-10-01T10:00:00+09:00", "attested_at": "2026-10-01T10:00:00+09:00",
        "place": "例市役所", "instructions": ["再発防止策を報告すること"],
        "attester": {"name": "鈴木 次郎", "title": "市民課長", "organisation": "例市", "role": "instructor"},
    }, signer("city-approver")).decode()


def examples() -> dict[str, dict[str, Any]]:
    person = {"name": "佐藤 一郎", "organisation": "株式会社サンプル", "title": "作業責任者"}
    return {
        "contract.opened": genesis_body(),
        "personnel.registered": person_body("op-tanaka"),
        "personnel.changed": {"key_name": "op-tanaka", "changes": {"training_date": "2026-09-01"},
                              "reason": "年次研修の受講", "reported_at": AT},
        "personnel.removed": {"key_name": "op-tanaka", "reason": "異動"},
        "subcontract.approved": {"approval": approve("subcontract", "SC-1", [])},
        "key.rotated": {"key_name": "op-tanaka", "new_vkey": person_body("op-tanaka")["vkey"], "reason": "定期更新"},
        "key.revoked": {"key_name": "op-tanaka", "vkey": person_body("op-tanaka")["vkey"], "reason": "鍵の紛失"},
        "media.received": received_body(),
        "media.registered": registered_body(),
        "media.checked_out": {"media_id": "M-001", "person": "op-tanaka", "purpose": "データ移行作業",
                              "workstation": "ws-01", "seals": ["S-0001"]},
        "media.checked_in": {"media_id": "M-001", "person": "op-tanaka", "seals": ["S-0002"], "seals_intact": True,
                             "manifest_sha256": SHA},
        "takeout.departed": departed_body(approve("takeout", "T-1", ["M-001"]), ["M-001"]),
        "takeout.returned": {"takeout_seq": 12, "media_ids": ["M-001"], "check": return_check()},
        "takeout.erased_at_destination": {
            "takeout_seq": 12, "media_ids": ["M-001"], "erased_by": person,
            "method": {"category": "purge", "technique": "cryptographic erase",
                       "tool": {"name": "sedutil", "version": "1.20"}},
            "verification": verification(), "place": "例市役所 情報政策課",
            "certificate": {"attachment": SHA, "name": "erasure.pdf"},
        },
        "copy.made": {"approval": approve("copy", "K-1", ["M-001"]), "source_media_id": "M-001",
                      **medium_fields("C-001", "CSN-001"), "manifest_sha256": SHA, "copied_by": "op-tanaka"},
        "media.erased": erased_body("C-001"),
        "disposal.approved": {"approval": approve("dispose", "D-1", ["M-001"]),
                              "application_scan": {"attachment": SHA, "name": "application.pdf"}},
        "media.disposed": disposed_body("M-001", "SN-001"),
        "media.returned": returned_body("M-001"),
        "incident.reported": {
            "kind": "lost", "detected_at": AT, "notified_at": AT, "media_ids": ["M-001"],
            "items": [{"name": "住民基本台帳", "records": 1200}], "records": 1200, "encrypted": True,
            "place": "移動中の電車内", "situation": "運搬中に鞄ごと紛失", "police_report": {"filed": True, "at": AT},
            "status": "open", "measures": "捜索中",
        },
        "inspection.recorded": {
            "date": "2026-10-01", "type": "on_site", "inspector": {"name": "山田 花子", "organisation": "例市"},
            "checks": [{"party": "株式会社サンプル", "item": "return_disposal", "in_contract": True,
                        "complied": True, "evidence": "廃棄証明書を確認"}],
            "findings": ["指摘事項なし"], "corrective_actions": [],
        },
        "attestation.recorded": {"attestation": _attestation_note()},
        "personnel.exit_checked": {"key_name": "op-tanaka", "checked_at": AT, "returned": ["入館証", "保管庫の鍵"],
                                   "access_revoked": True, "no_data_kept": True},
        "personnel.statement": statement_body("op-tanaka"),
        "report.periodic": {
            "period": {"from": "2026-04-01", "to": "2026-04-30"}, "submitted_at": AT,
            "submitted_to": {"organisation": "例市 市民課", "person": "山田 花子"},
            "summary": "媒体2件を保管中。事故なし。", "media": {"received": 2, "open": 2},
            "checkpoint": {"size": 12, "root": SHA}, "incidents": 0,
        },
        "contract.closed": closed_body(),
        "note.recorded": {"text": "作業開始", "attachments": [{"attachment": SHA, "name": "photo.jpg", "size": 10}]},
        **agent_bodies(),
    }


EXAMPLES = examples()


def test_attestation_note_fields_take_only_attestations() -> None:
    for event in ("media.disposed", "media.erased", "media.returned", "contract.closed", "inspection.recorded",
                  "attestation.recorded"):
        body = {**copy.deepcopy(EXAMPLES[event]), "attestation": "custody/approval/v1\n" + "x" * 40}
        with pytest.raises(SchemaError) as caught:
            validate_body(event, body)
        assert caught.value.field == "attestation"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    before = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


def error_for(event: str, body: object) -> SchemaError:
    with pytest.raises(SchemaError) as info:
        validate_body(event, body)
    return info.value


def test_every_event_has_a_schema_and_an_example() -> None:
    assert set(EXAMPLES) == set(EVENT_TYPES)
    for event in EVENT_TYPES:
        name = body_schema_name(event)
        assert name == f"events/{event}"
        assert name in schemas.names()
        assert schemas.load_schema(name)["$id"] == schemas.schema_id(name)
    assert {n for n in schemas.names() if n.startswith("events/")} == {f"events/{e}" for e in EVENT_TYPES}


def test_unknown_event_type() -> None:
    with pytest.raises(SchemaError) as info:
        body_schema_name("media.teleported")
    assert info.value.field == "type"


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_example_passes(event: str) -> None:
    validate_body(event, EXAMPLES[event])


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_body_must_be_an_object(event: str) -> None:
    assert error_for(event, []).field == ""


def _required() -> Iterator[Any]:
    for event in EVENT_TYPES:
        for field in schemas.load_schema(body_schema_name(event))["required"]:
            yield pytest.param(event, field, id=f"{event}-{field}")


@pytest.mark.parametrize(("event", "field"), list(_required()))
def test_missing_required_field(event: str, field: str) -> None:
    body = copy.deepcopy(EXAMPLES[event])
    del body[field]
    err = error_for(event, body)
    assert err.field == field
    assert "required" in err.message


WRONG: list[tuple[str, str, Any, str]] = [
    # (event, dotted path to change, bad value, field named)
    ("media.received", "media_id", "M 001", "media_id"),
    ("media.received", "kind", "floppy", "kind"),
    ("media.received", "serial", 12345, "serial"),
    ("media.received", "contents.records", -1, "contents.records"),
    ("media.received", "contents.my_number", "yes", "contents.my_number"),
    ("media.received", "receipt.means", "pigeon", "receipt.means"),
    ("media.received", "receipt.at", "2026-04-01 10:00", "receipt.at"),
    ("media.received", "receipt.items", [], "receipt.items"),
    ("media.received", "receipt.from.person", "", "receipt.from.person"),
    ("media.received", "resident_name", "山田太郎", "resident_name"),
    ("media.registered", "hardware_encryption", "AES", "hardware_encryption"),
    ("media.checked_out", "seals", "S-1", "seals"),
    ("media.checked_in", "manifest_sha256", "ABC", "manifest_sha256"),
    ("takeout.departed", "media_ids", [], "media_ids"),
    ("takeout.departed", "media_ids", ["M-001", "M-001"], "media_ids"),
    ("takeout.departed", "approval", "not a note", "approval"),
    ("takeout.departed", "encryption.method", "rot13", "encryption.method"),
    ("takeout.departed", "carriers", [], "carriers"),
    ("takeout.returned", "takeout_seq", "12", "takeout_seq"),
    ("takeout.returned", "check.count_match", 1, "check.count_match"),
    ("takeout.erased_at_destination", "method.category", "destroy", "method.category"),
    ("copy.made", "source_media_id", None, "source_media_id"),
    ("media.erased", "method.category", "shred", "method.category"),
    ("media.erased", "verification.result", "ok", "verification.result"),
    ("media.disposed", "method.category", "clear", "method.category"),
    ("media.disposed", "photos", [{"attachment": SHA, "name": "p.jpg"}], "photos[0].serial_visible"),
    ("media.disposed", "certificate.attachment", "not-a-hash", "certificate.attachment"),
    ("media.disposed", "witness.name", 7, "witness.name"),
    ("media.disposed", "start", "yesterday", "start"),
    ("media.returned", "receipt.number", "", "receipt.number"),
    ("incident.reported", "kind", "misplaced", "kind"),
    ("incident.reported", "records", 1.5, "records"),
    ("inspection.recorded", "type", "phone", "type"),
    ("inspection.recorded", "checks", [{"party": "x", "item": "other"}], "checks[0].complied"),
    ("contract.closed", "statement.no_data_remains", False, "statement.no_data_remains"),
    ("contract.closed", "statement.scope", [], "statement.scope"),
    ("personnel.registered", "tier", "contractor", "tier"),
    ("personnel.registered", "role", "admin", "role"),
    ("personnel.registered", "pledge_date", "2026-3-1", "pledge_date"),
    ("personnel.registered", "vkey", "not-a-vkey", "vkey"),
    ("personnel.changed", "changes.vkey", "x", "changes.vkey"),
    ("contract.opened", "my_number", "true", "my_number"),
    ("contract.opened", "period.end", "2027-02-30", "period.end"),
    ("contract.opened", "permits.copy", None, "permits.copy"),
    ("note.recorded", "attachments", [{"attachment": SHA}], "attachments[0].name"),
    ("agent.heartbeat", "sequence", -1, "sequence"),
    ("files.written", "files", [{"path": "a", "size": 1}], "files[0].sha256"),
    ("files.written", "files", [{"path": "a", "size": 1, "sha256": "xyz"}], "files[0].sha256"),
    ("volume.attached", "media_id", 5, "media_id"),
    ("observation.gap", "code", "C12", "code"),
    ("alert.raised", "code", "C16", "code"),
]


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        body = body[part]
    body[last] = value


@pytest.mark.parametrize(("event", "path", "value", "field"), WRONG, ids=[f"{w[0]}-{w[1]}" for w in WRONG])
def test_wrong_value(event: str, path: str, value: Any, field: str) -> None:
    body = copy.deepcopy(EXAMPLES[event])
    _set(body, path, value)
    assert error_for(event, body).field == field


CONDITIONAL: list[tuple[str, dict[str, Any], str]] = [
    # conditional requirements: (event, changes, field named)
    ("personnel.registered", {"tier": "subcontractor"}, "subcontract_id"),
    ("personnel.registered", {"pledge_date": None}, "pledge_date"),
    ("personnel.changed", {"changes": {"tier": "sub-subcontractor"}}, "changes.subcontract_id"),
]


@pytest.mark.parametrize(("event", "changes", "field"), CONDITIONAL)
def test_conditional_requirements(event: str, changes: dict[str, Any], field: str) -> None:
    body = copy.deepcopy(EXAMPLES[event])
    for key, value in changes.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    assert error_for(event, body).field == field


def test_agent_registration_needs_no_pledge() -> None:
    validate_body("personnel.registered", person_body("agent-ws01", role="agent"))


def test_closed_bodies_reject_unknown_fields_open_ones_accept_them() -> None:
    for event in ("media.received", "takeout.departed", "media.disposed", "contract.closed"):
        assert error_for(event, {**EXAMPLES[event], "extra": 1}).field == "extra"
    for event in ("contract.opened", "agent.heartbeat", "files.written", "volume.attached"):
        validate_body(event, {**EXAMPLES[event], "future_field": 1})


def test_attachments_are_found_by_the_bundle_exporter() -> None:
    assert set(attachment_refs(EXAMPLES["media.disposed"])) == {SHA, SHA2}
    assert set(attachment_refs(EXAMPLES["disposal.approved"])) == {SHA}


def test_japanese_error_message() -> None:
    i18n.set_language("ja")
    body = copy.deepcopy(EXAMPLES["media.received"])
    del body["serial"]
    err = error_for("media.received", body)
    assert err.field == "serial" and "必須" in err.message


APPROVAL_WRONG: list[tuple[str, str, Any, str]] = [
    ("takeout", "kind", "borrow", "kind"),
    ("takeout", "max_uses", 0, "max_uses"),
    ("takeout", "approver.title", None, "approver.title"),
    ("takeout", "carriers", None, "carriers"),
    ("copy", "copies", None, "copies"),
    ("copy", "disposal.method", "keep", "disposal.method"),
    ("dispose", "application.items", [], "application.items"),
    ("dispose", "application.method.category", "burn", "application.method.category"),
    ("dispose", "application.witness_required", None, "application.witness_required"),
    ("subcontract", "subcontractor.safeguards", None, "subcontractor.safeguards"),
    ("subcontract", "subcontractor.tier", "vendor", "subcontractor.tier"),
]


@pytest.mark.parametrize(("kind", "path", "value", "field"), APPROVAL_WRONG,
                         ids=[f"{w[0]}-{w[1]}" for w in APPROVAL_WRONG])
def test_approval_schema(kind: str, path: str, value: Any, field: str) -> None:
    body = approval_body(kind, "A-1", ["M-001"] if kind != "subcontract" else [])
    schemas.validate("approval", body)
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    with pytest.raises(SchemaError) as info:
        schemas.validate("approval", body)
    assert info.value.field == field


def test_no_schema_has_room_for_resident_data() -> None:
    """Item names, counts and hashes only: no property that would hold a resident's data."""
    forbidden = {"resident", "residents", "birth_date", "individual_number", "my_number_value", "kojin_bango",
                 "phone", "email", "records_data", "content", "contents_text", "payload"}

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    yield from value
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for name in schemas.names():
        assert not forbidden & set(walk(schemas.load_schema(name))), name


def test_a_change_with_nothing_changed_needs_its_report_time() -> None:
    """``changes`` may be empty only when the body records when the change was reported (C23)."""
    body = {"key_name": "op-tanaka", "changes": {}}
    error_for("personnel.changed", body)
    validate_body("personnel.changed", {**body, "reported_at": AT})


def test_a_huge_unexpected_field_is_named_short() -> None:
    """A refused body names the offending field, and a field is a key of the input, of any length: it is cut
    short (fuzz: a message of 70,888 characters before)."""
    with pytest.raises(SchemaError) as caught:
        validate_body("note.recorded", {"text": "x", "k" * 70_000: 1})
    assert len(str(caught.value)) < 400
