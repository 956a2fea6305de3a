"""ledger.attestation: the municipality's signed acts -- format, signing, opening against role-pinned keys."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from custody.ledger import canonical
from custody.ledger.attestation import (
    CONTEXT,
    AttestationBody,
    AttestationProblem,
    make_attestation_text,
    open_attestation,
    sign_attestation,
)
from custody.ledger.errors import AttestationError, KeyAgentError, RuleRefusal, SchemaError
from custody.ledger.note import parse_note, sign_note
from custody.ledger.signing_domain import ATTESTATION, LOG_KEY, PERSON_KEY, classify
from tests.world import ORIGIN, signer

WITNESS = signer("city-witness")
RECEIVER = signer("city-receiver")
INSPECTOR = signer("city-inspector")
OTHER_CITY = signer("other-city-witness")
VENDOR = signer("op-tanaka")
PINNED = {"witness": [WITNESS.verifier().vkey], "receiver": [RECEIVER.verifier().vkey],
          "inspector": [INSPECTOR.verifier().vkey]}


def body(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": "disposal_witness", "id": "W-1", "media": ["M-001"], "concerns": {"approval_id": "D-1"},
        "seen": "破砕を確認した", "acted_at": "2026-10-01T10:00:00+09:00", "attested_at": "2026-10-01T10:30:00+09:00",
        "place": "本社 第2開発室",
        "attester": {"name": "山田 花子", "title": "主査", "organisation": "例市 市民課", "role": "witness"},
    }
    doc.update(over)
    return doc


def inspection_body(**over: Any) -> dict[str, Any]:
    return body(kind="inspection", media=[], concerns={}, attester={
        "name": "伊藤 恵", "title": "監査担当", "organisation": "例市", "role": "inspector"},
        inspection={"method": "on_site", "checks": [{"party": "株式会社サンプル", "item": "register", "complied": True}],
                    "corrective_actions": [{"id": "A-1", "what": "台帳の訂正", "party": "株式会社サンプル",
                                            "due": "2026-11-01"}]}, **over)


def test_round_trip_and_text() -> None:
    note = sign_attestation(ORIGIN, body(), WITNESS)
    text = parse_note(note).text
    assert text.startswith(f"{CONTEXT}\n{ORIGIN}\n{{")
    assert text.split("\n")[2].encode() == canonical.dumps(body())
    att = open_attestation(note, origin=ORIGIN, pinned=PINNED, kinds=("disposal_witness",), media_id="M-001")
    assert att.kind == "disposal_witness" and att.id == "W-1"
    assert att.body.attester.name == "山田 花子" and att.body.role == "witness"
    assert att.signed_by == (WITNESS.verifier().vkey,)
    assert att.body.to_json() == body()


def test_inspection_parts_are_typed() -> None:
    att = open_attestation(sign_attestation(ORIGIN, inspection_body(), INSPECTOR), origin=ORIGIN, pinned=PINNED)
    assert att.body.inspection is not None
    assert att.body.inspection.parties == ("株式会社サンプル",)
    assert att.body.inspection.corrective_actions[0].due == "2026-11-01"


# --- every way an attestation is refused: C24, exit 6, never False ---


def _refused(note: bytes, says: str, **kw: Any) -> AttestationProblem:
    args: dict[str, Any] = {"origin": ORIGIN, "pinned": PINNED, "kinds": ("disposal_witness", "waiver"),
                            "media_id": "M-001", **kw}
    with pytest.raises(AttestationProblem) as caught:
        open_attestation(note, **args)
    problem = caught.value
    assert isinstance(problem, AttestationError) and isinstance(problem, RuleRefusal)
    assert problem.exit_code == 6 and problem.code == "C24"
    assert says in problem.violations[0].message_en, problem.violations[0].message_en
    assert problem.violations[0].message_ja and problem.violations[0].todo_ja
    return problem


def test_forged_signature_is_caught() -> None:
    note = sign_attestation(ORIGIN, body(), WITNESS).decode()
    forged = note.replace("破砕を確認した", "溶解を確認した").encode()
    _refused(forged, "does not verify: it was altered or forged")


def test_other_municipalitys_witness_key_is_caught() -> None:
    _refused(sign_attestation(ORIGIN, body(), OTHER_CITY), "not signed by a municipality key pinned for the witness")


def test_vendor_key_posing_as_the_municipality_is_caught() -> None:
    _refused(sign_attestation(ORIGIN, body(), VENDOR), "the vendor's key op-tanaka",
             vendor_keys=frozenset({"op-tanaka"}))


def test_key_pinned_for_another_role_is_caught() -> None:
    _refused(sign_attestation(ORIGIN, body(), RECEIVER), "pins for another role")


def test_no_key_pinned_for_the_role() -> None:
    _refused(sign_attestation(ORIGIN, body(), WITNESS), "pins no municipality key for the witness",
             pinned={"receiver": PINNED["receiver"]})


def test_other_origin_is_caught() -> None:
    _refused(sign_attestation("other.example/custody/1", body(), WITNESS), "another ledger")


def test_other_media_is_caught() -> None:
    _refused(sign_attestation(ORIGIN, body(media=["M-002"]), WITNESS), "not medium M-001")


def test_other_kind_is_caught() -> None:
    note = sign_attestation(ORIGIN, body(kind="return_receipt", attester={**body()["attester"], "role": "receiver"}),
                            RECEIVER)
    _refused(note, "of the kind return receipt, not disposal witness")


def test_not_a_note_and_not_an_attestation() -> None:
    _refused(b"hello", "not a well-formed signed note")
    approval_like = sign_note(f"custody/approval/v1\n{ORIGIN}\n{{}}\n", [WITNESS])
    _refused(approval_like, "not a custody attestation")


def test_non_canonical_body_is_refused() -> None:
    line = canonical.dumps(body()).decode().replace(',"id"', ', "id"')
    note = sign_note(f"{CONTEXT}\n{ORIGIN}\n{line}\n", [WITNESS])
    _refused(note, "malformed")


# --- the body, field by field (table-driven) ---

BAD_FIELDS: list[tuple[str, Any, str]] = [
    ("kind", "dispose", "kind"),
    ("kind", 3, "kind"),
    ("id", "", "id"),
    ("id", "x" * 501, "id"),
    ("id", "a\nb", "id"),
    ("id", 7, "id"),
    ("media", "M-001", "media"),
    ("media", ["M 001"], "media[0]"),
    ("media", ["M-001", "M-001"], "media"),
    ("media", [], "media"),
    ("concerns", "D-1", "concerns"),
    ("concerns", {"seq": 3}, "concerns"),
    ("concerns", {"seq": -1, "hash": "ab" * 32}, "concerns.seq"),
    ("concerns", {"seq": 1, "hash": "AB" * 32}, "concerns.hash"),
    ("concerns", {"other": "x"}, "concerns"),
    ("seen", "", "seen"),
    ("seen", None, "seen"),
    ("seen", "x" * 20001, "seen"),
    ("acted_at", "2026-10-01", "acted_at"),
    ("acted_at", "2026-10-01T11:00:00+09:00", "acted_at"),
    ("attested_at", 1, "attested_at"),
    ("place", "", "place"),
    ("attester", {"name": "山田"}, "attester"),
    ("attester", {"name": "山田", "title": "主査", "organisation": "例市", "role": "inspector"}, "attester.role"),
    ("attester", {"name": "山田", "title": "主査", "organisation": "例市", "role": "mayor"}, "attester.role"),
    ("inspection", {"method": "on_site", "checks": []}, "inspection"),
    ("change", {"subject": "responsible_person", "to": "x"}, "change"),
    ("reason", "理由", "reason"),
    ("instructions", ["指示"], "instructions"),
    ("extra", 1, ""),
]


@pytest.mark.parametrize(("field", "value", "named"), BAD_FIELDS)
def test_bad_field_is_refused_naming_it(field: str, value: Any, named: str) -> None:
    doc = body(**{field: value})
    if value is None:
        del doc[field]
    with pytest.raises(SchemaError) as caught:
        AttestationBody.from_json(doc)
    assert (caught.value.field or "").startswith(named.split("[", maxsplit=1)[0].split(".", maxsplit=1)[0]), caught.value.field


@pytest.mark.parametrize("missing", ["kind", "id", "media", "concerns", "seen", "acted_at", "attested_at", "place",
                                     "attester"])
def test_every_required_field(missing: str) -> None:
    doc = body()
    del doc[missing]
    with pytest.raises(SchemaError):
        AttestationBody.from_json(doc)


BAD_INSPECTIONS: list[tuple[str, Any]] = [
    ("method", "phone"),
    ("checks", [{"party": "x", "item": "other"}]),
    ("checks", [{"party": "x", "item": "lunch", "complied": True}]),
    ("checks", [{"party": "", "item": "other", "complied": True}]),
    ("checks", [{"party": "x", "item": "other", "complied": "yes"}]),
    ("corrective_actions", [{"id": "A-1", "what": "x", "party": "y"}]),
    ("corrective_actions", [{"id": "A-1", "what": "x", "party": "y", "due": "2026-13-01"}]),
    ("corrective_actions", [{"id": "A-1", "what": "x", "party": "y", "due": "2026-11-01"},
                            {"id": "A-1", "what": "z", "party": "y", "due": "2026-11-01"}]),
    ("closed_actions", [{"id": "A-1"}]),
    ("closed_actions", [{"id": "A-1", "closed_on": "yesterday"}]),
    ("findings", "none"),
]


@pytest.mark.parametrize(("field", "value"), BAD_INSPECTIONS)
def test_bad_inspection_part(field: str, value: Any) -> None:
    doc = inspection_body()
    doc["inspection"] = {**doc["inspection"], field: value}
    with pytest.raises(SchemaError):
        AttestationBody.from_json(doc)


def test_each_kind_needs_its_own_part() -> None:
    for kind, role in (("inspection", "inspector"), ("change_approval", "instructor"), ("instruction", "instructor"),
                       ("waiver", "witness")):
        doc = body(kind=kind, attester={**body()["attester"], "role": role})
        with pytest.raises(SchemaError):
            AttestationBody.from_json(doc)


def test_valid_kinds() -> None:
    valid = [
        body(kind="erasure_witness"),
        body(kind="waiver", reason="委託者の指示により立会いを省略"),
        body(kind="return_receipt", attester={**body()["attester"], "role": "receiver"}),
        body(kind="completion_check", media=[], attester={**body()["attester"], "role": "completion"}),
        body(kind="instruction", media=[], instructions=["再発防止策を報告すること"],
             attester={**body()["attester"], "role": "instructor"}),
        body(kind="incident_acknowledgement", media=[], concerns={"seq": 12, "hash": "ab" * 32},
             attester={**body()["attester"], "role": "instructor"}),
        body(kind="change_approval", media=[], change={"subject": "work_location", "from": "本社", "to": "支社"},
             attester={**body()["attester"], "role": "instructor"}),
        inspection_body(),
    ]
    for doc in valid:
        assert AttestationBody.from_json(copy.deepcopy(doc)).kind == doc["kind"]


def test_origin_must_be_an_origin() -> None:
    with pytest.raises(SchemaError):
        make_attestation_text("has space", body())


# --- the key agent signs attestations with a person key, never with the log key ---


def test_key_agent_signing_domain() -> None:
    message = make_attestation_text(ORIGIN, body()).encode()
    found = classify(message, key_name="city-witness", role=PERSON_KEY)
    assert found.domain == ATTESTATION and found.origin == ORIGIN and found.type == "disposal_witness"
    with pytest.raises(KeyAgentError):
        classify(message, key_name=ORIGIN, role=LOG_KEY)
    bad = message.replace(b'"kind":"disposal_witness"', b'"kind":"other"')
    with pytest.raises(KeyAgentError):
        classify(bad, key_name="city-witness", role=PERSON_KEY)



@pytest.mark.parametrize("change", ["origin", "seen", "media"])
def test_messages_quote_what_they_cite_short(change: str) -> None:
    # make fuzz (attestation) saw a 141,284-character message: an outside origin, a schema message citing the
    # value or a listed medium is quoted short, whatever its length.
    huge = "x" * 1_000_000
    origin, doc = ORIGIN, body()
    if change == "origin":
        origin = huge
    elif change == "seen":
        doc["seen"] = huge
    else:
        doc["media"] = [huge]
    note = sign_note(f"{CONTEXT}\n{origin}\n{canonical.dumps(doc).decode()}\n", [WITNESS])
    with pytest.raises(AttestationError) as caught:
        open_attestation(note, origin=ORIGIN, pinned=PINNED, media_id="M-001")
    assert len(caught.value.message) < 2_000
