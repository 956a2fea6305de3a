"""Erasure and disposal (C7, C8; special terms 第11): a disposal approval per medium, carried out by its
approved method with a witness, a photo showing the serial, a certificate or the reason for none; My Number
media destroyed physically.  Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custody.ledger import rule_texts as txt
from custody.ledger.lifecycle.approvals import _approval, _use_approval
from custody.ledger.lifecycle.attestations import waived
from custody.ledger.lifecycle.defaults import (
    attester,
    merged,
    person,
    person_ref,
    sanitization,
    verification,
    work_place,
)
from custody.ledger.lifecycle.defaults import responsible as default_responsible
from custody.ledger.lifecycle.fields import _d, _ms, _norm_org, _s, _same
from custody.ledger.lifecycle.kernel import EventLike, Handler, RuleCode, _late, _move_ok, _Out, _touch, _verified
from custody.ledger.lifecycle.state import Disposal, LedgerState
from custody.ledger.media import COPY, DISPOSAL_APPROVED, DISPOSED, ERASED, FINAL, TAKEN_OUT, Medium, transition
from custody.ledger.rule_texts import RuleText
from custody.ledger.violation import ERROR, WARNING

if TYPE_CHECKING:
    from custody.ledger.attestation import Attestation

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

DISPOSAL_OVERDUE = RuleText("Disposal of {m} approved under {id} has no disposal record (deadline {deadline})")
NEED_DISPOSAL_RECORD = RuleText("media.disposed with the certificate")
DO_RECORD_DISPOSAL = RuleText(
    "Record the disposal with its evidence (custody dispose record), or report what happened."
)
WHAT_DISPOSAL = RuleText("Disposal record")
ERASURE_NOT_VERIFIED = RuleText("The erasure of {m} was not verified as successful")
MY_NUMBER_ERASURE = RuleText("Erasing My Number data from {m} needs the municipality's prior approval (第11-2)")
NEED_DISPOSAL_APPROVAL = RuleText("a disposal approval covering this medium")
DO_APPLY_DISPOSAL = RuleText(
    "Apply (custody dispose request), record the approval (custody dispose approved), then act."
)
SERIAL_MISMATCH_APPROVAL = RuleText("Approval {id} names serial {serial} for {m}; the register has {registered}")
DO_CORRECT_APPROVAL = RuleText("Ask the municipality to correct the approval; disposal is per serial.")
DISPOSAL_PENDING = RuleText("Medium {m} already has a disposal approval ({other})")
DO_CARRY_OUT = RuleText("Carry out the approved disposal first.")
NO_DISPOSAL_APPROVAL = RuleText("Medium {m} has no disposal approval to carry out")
WRONG_APPROVAL_CITED = RuleText("The disposal cites approval {given}; medium {m} was approved under {id}")
DO_CITE_APPROVAL = RuleText("Cite the approval recorded for this medium.")
WRONG_METHOD = RuleText("Disposed by {category}/{technique}; approval {id} allows {approved}/{approved_t}")
NEED_APPROVED_METHOD = RuleText("disposal by the approved method")
DO_APPROVED_METHOD = RuleText("Dispose by the approved method, or ask for a new approval.")
NOT_DESTROYED = RuleText("My Number data on {m} must be destroyed physically (第11-4), not {category}")
NEED_DESTROY = RuleText("NIST SP 800-88 category destroy")
DO_DESTROY = RuleText("Destroy the medium physically.")
SERIAL_MISMATCH_RECORD = RuleText("The disposal record names serial {given}; medium {m} has serial {serial}")
DO_PER_SERIAL = RuleText("One record per serial: check the medium.")
WITNESS_REQUIRED = RuleText("Approval {id} requires a witness (立会者), and none is recorded")
NEED_WITNESS = RuleText("the witness: name, organisation, title")
DO_WITNESS = RuleText("Dispose in the presence of the witness and record them.")
NO_WITNESS_REASON = RuleText("My Number data on {m} was disposed without a witness (reason recorded)")
WITNESS_OR_REASON = RuleText("Disposal of My Number data ({m}) needs a witness or the reason there was none")
NEED_WITNESS_OR_REASON = RuleText("witness or no_witness_reason")
NO_SERIAL_PHOTO = RuleText("No photo shows the serial of {m}")
NEED_SERIAL_PHOTO = RuleText("a photo with the serial visible")
NO_CERTIFICATE = RuleText("No certificate (or reason for none) for the disposal of {m}")
NEED_CERTIFICATE = RuleText("the certificate attachment, or no_certificate_reason")
DISPOSAL_NOT_VERIFIED = RuleText("The disposal of {m} was not verified as successful")
DO_COMPLETE_RECORD = RuleText("Complete the disposal record before recording it.")
DISPOSAL_NOT_YET_VALID = RuleText("Disposal approval {id} is not valid yet")
DO_WAIT_PERIOD = RuleText("Wait for the approved period.")
WITNESS_NOT_MUNICIPALITY = RuleText(
    "The witness of the disposal of {m} ({name}, {org}) is not the municipality's staff ({municipality})"
)
NEED_MUNICIPALITY_WITNESS = RuleText("a witness from the municipality, or the reason there was none")


def _pending_disposal(st: LedgerState, m: Medium) -> Disposal | None:
    d = st.disposals.get(m.disposal_id) if m.disposal_id is not None else None
    return d if d is not None and d.media.get(m.id) == "pending" else None


def _settle_disposal(st: LedgerState, m: Medium, status: str) -> None:
    d = _pending_disposal(st, m)
    if d is not None:
        d.media[m.id] = status
    m.disposal_id = None


def _h_erased(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    media_id = _s(body, "media_id")
    if not _move_ok(st, out, transition(e.type, "medium"), media_id):
        return
    m = st.media[media_id]
    if not _verified(body):
        out.add("C7", ERROR, ERASURE_NOT_VERIFIED, media=media_id, todo=txt.DO_ERASE_AGAIN, m=media_id)
        return
    disposal = _pending_disposal(st, m)
    plan = st.approval_body(m.approval_id) if m.origin == COPY and m.approval_id else None
    planned = plan is not None and plan.disposal is not None and plan.disposal.method == "erase"
    if m.my_number and disposal is None and not planned:
        out.add("C7", ERROR, MY_NUMBER_ERASURE, media=media_id, missing=NEED_DISPOSAL_APPROVAL,
                todo=DO_APPLY_DISPOSAL, m=media_id)
    if not commit:
        return
    _touch(m, e.seq, ERASED)
    m.erased_seq = e.seq
    if disposal is not None and disposal.category == _s(_d(body, "method"), "category"):
        _settle_disposal(st, m, "done")


def _h_disposal_approved(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    approval = _approval(st, e, "dispose", out)
    if approval is None:
        return
    body, application = approval.body, approval.body.application
    if body.id in st.approvals:
        out.add("C7", ERROR, txt.APPROVAL_RECORDED, todo=txt.DO_RECORD_ONCE, id=body.id)
        return
    if application is None:
        return
    row = transition(e.type, "media")
    ok = []
    for media_id in body.media:
        if not _move_ok(st, out, row, media_id):
            continue
        m = st.media[media_id]
        serial = application.serial_of(media_id)
        if st.closed is not None and m.settled:
            out.add("C1", ERROR, txt.CLOSED_NO_MORE, media=media_id, todo=txt.DO_NOTHING_REMAINS, type=e.type,
                    seq=st.closed["seq"])
        elif m.serial and serial != m.serial:
            out.add("C7", ERROR, SERIAL_MISMATCH_APPROVAL, media=media_id, todo=DO_CORRECT_APPROVAL,
                    id=body.id, serial=serial, m=media_id, registered=m.serial)
        elif _pending_disposal(st, m) is not None:
            out.add("C7", ERROR, DISPOSAL_PENDING, media=media_id, todo=DO_CARRY_OUT, m=media_id,
                    other=m.disposal_id)
        else:
            ok.append(media_id)
    if not commit:
        return
    deadline = body.deadline
    st.disposals[body.id] = Disposal(body.id, e.seq, application.category, application.technique,
                                     application.witness_required, body.valid_from_ms, deadline,
                                     _ms(deadline) or body.valid_until_ms, dict.fromkeys(ok, "pending"))
    _use_approval(st, approval, e.seq)
    for media_id in ok:
        m = st.media[media_id]
        _touch(m, e.seq, DISPOSAL_APPROVED)
        m.disposal_id = body.id


def disposable(st: LedgerState, out: _Out, media_id: str) -> tuple[Medium, Disposal] | None:
    """The medium and the pending disposal approval a disposal record of ``media_id`` carries out; None (with
    the violation: C7 no approval, or the transition's C7 / C12 / C14 / C15) when no record of it may be made.
    The command line asks it first, since a record's defaults (method, place) come from the approval."""
    m = st.media.get(media_id)
    disposal = _pending_disposal(st, m) if m is not None else None
    if m is not None and m.state not in FINAL and m.state != TAKEN_OUT and disposal is None:
        out.add("C7", ERROR, NO_DISPOSAL_APPROVAL, media=media_id, missing=txt.NEED_DISPOSAL_11_2,
                todo=DO_APPLY_DISPOSAL, m=media_id)
        return None
    if not _move_ok(st, out, transition("media.disposed", "medium"), media_id) or m is None or disposal is None:
        return None
    return m, disposal


def _h_disposed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    media_id = _s(body, "media_id")
    found = disposable(st, out, media_id)
    if found is None:
        return
    m, disposal = found
    method = _d(body, "method")
    category, technique = _s(method, "category"), _s(method, "technique")
    if _s(body, "approval_id") != disposal.id:
        out.add("C7", ERROR, WRONG_APPROVAL_CITED, media=media_id, todo=DO_CITE_APPROVAL,
                given=_s(body, "approval_id") or "-", m=media_id, id=disposal.id)
    if category != disposal.category or (disposal.technique and not _same(technique, disposal.technique)):
        out.add("C7", ERROR, WRONG_METHOD, media=media_id, missing=NEED_APPROVED_METHOD,
                todo=DO_APPROVED_METHOD, category=category or "-", technique=technique or "-", id=disposal.id,
                approved=disposal.category, approved_t=disposal.technique or "-")
    destroy_rule(out, m, category)
    if _s(body, "serial") != m.serial:
        out.add("C7", ERROR, SERIAL_MISMATCH_RECORD, media=media_id, todo=DO_PER_SERIAL,
                given=_s(body, "serial") or "-", m=media_id, serial=m.serial)
    _check_evidence(st, out, body, media_id, disposal)
    when = _ms(e.at)
    if when is not None and when < disposal.valid_from_ms:
        out.add("C7", ERROR, DISPOSAL_NOT_YET_VALID, media=media_id, todo=DO_WAIT_PERIOD, id=disposal.id)
    _late(out, e, disposal.deadline, disposal.deadline_ms, media_id, "C8", WHAT_DISPOSAL)
    if commit:
        _settle_disposal(st, m, "done")
        _touch(m, e.seq, DISPOSED)
        m.final_seq = e.seq


def _check_evidence(st: LedgerState, out: _Out, body: dict[str, Any], media_id: str, disposal: Disposal) -> None:
    """Witness, a photo showing the serial, a certificate or the reason for none, a passed verification (C7)."""
    witness = _d(body, "witness")
    municipality = _s(_d(st.genesis or {}, "municipality"), "name")
    if waived(st, body, media_id):
        pass  # the municipality signed a waiver of witnessing (C24 checks its signature)
    elif _s(witness, "name") and (disposal.witness_required or st.my_number) and municipality and not _of_municipality(
        _s(witness, "organisation"), municipality
    ):
        if st.my_number and not disposal.witness_required and _s(body, "no_witness_reason"):
            out.add("C7", WARNING, NO_WITNESS_REASON, media=media_id, blocking=False, m=media_id)
        else:
            out.add("C7", ERROR, WITNESS_NOT_MUNICIPALITY, media=media_id, missing=NEED_MUNICIPALITY_WITNESS,
                    todo=DO_WITNESS, m=media_id, name=_s(witness, "name"),
                    org=_s(witness, "organisation") or "-", municipality=municipality)
    elif not _s(witness, "name"):
        if disposal.witness_required:
            out.add("C7", ERROR, WITNESS_REQUIRED, media=media_id, missing=NEED_WITNESS, todo=DO_WITNESS,
                    id=disposal.id)
        elif st.my_number and _s(body, "no_witness_reason"):
            out.add("C7", WARNING, NO_WITNESS_REASON, media=media_id, blocking=False, m=media_id)
        elif st.my_number:
            out.add("C7", ERROR, WITNESS_OR_REASON, media=media_id, missing=NEED_WITNESS_OR_REASON,
                    todo=DO_WITNESS, m=media_id)
    photos = body.get("photos")
    if not (isinstance(photos, list) and any(isinstance(p, dict) and p.get("serial_visible") is True for p in photos)):
        out.add("C7", ERROR, NO_SERIAL_PHOTO, media=media_id, missing=NEED_SERIAL_PHOTO,
                todo=DO_COMPLETE_RECORD, m=media_id)
    if not _s(_d(body, "certificate"), "attachment") and not _s(body, "no_certificate_reason"):
        out.add("C7", ERROR, NO_CERTIFICATE, media=media_id, missing=NEED_CERTIFICATE,
                todo=DO_COMPLETE_RECORD, m=media_id)
    if not _verified(body):
        out.add("C7", ERROR, DISPOSAL_NOT_VERIFIED, media=media_id, todo=DO_COMPLETE_RECORD, m=media_id)


def _of_municipality(organisation: str, municipality: str) -> bool:
    """Whether a person's organisation is the municipality (例市, 例市 市民課, 例市役所 ...)."""
    org, name = _norm_org(organisation), _norm_org(municipality)
    return bool(org and name) and (org == name or org.startswith(name) or name in org)


def end_overdue_disposals(st: LedgerState, out: _Out, when: int, *, closing: bool, blocks: bool,
                          reported: set[str]) -> None:
    """C8 at the end: an approved disposal not carried out by its deadline, or at close."""
    for disposal in st.disposals.values():
        if not closing and when <= disposal.deadline_ms:
            continue
        for media_id, status in disposal.media.items():
            if status == "pending" and media_id not in reported:
                reported.add(media_id)
                out.add("C8", ERROR, DISPOSAL_OVERDUE, media=media_id, missing=NEED_DISPOSAL_RECORD,
                        todo=DO_RECORD_DISPOSAL, blocking=blocks, m=media_id, id=disposal.id,
                        deadline=disposal.deadline)


#: The entry types this family handles.
HANDLERS: dict[str, Handler] = {
    "media.erased": _h_erased,
    "disposal.approved": _h_disposal_approved,
    "media.disposed": _h_disposed,
}


def destroy_rule(out: _Out, m: Medium, category: str) -> None:
    """C7: My Number data is destroyed physically (第11-4) -- checked on the disposal record and, before it, on the
    disposal application (``lifecycle.applications``)."""
    if m.my_number and category != "destroy":
        out.add("C7", ERROR, NOT_DESTROYED, media=m.id, missing=NEED_DESTROY, todo=DO_DESTROY,
                m=m.id, category=category or "-")


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C7", RuleText("disposal without approval, other method, witness or evidence"), "③"),
    RuleCode("C8", RuleText("disposal evidence overdue"), "③"),
)


# --- bodies: what the CLI records (ledger/lifecycle/defaults.py) ---


def body_for_media_erased(state: LedgerState, *, signer: str, media_id: str, category: str, technique: str,
                          tool: str | None, tool_version: str | None, verification_method: str,
                          verification_result: str, verifier: str | None, operator: str | None,
                          responsible: str | None, attestation: tuple[str, Attestation] | None,
                          **options: Any) -> dict[str, Any]:
    """media.erased: erased and verified by the signer unless others are named, under the contract's
    responsible person; the municipality's witness attestation (or waiver) names the witness."""
    body = merged({
        "media_id": media_id, "method": sanitization(category, technique, tool, tool_version),
        "verification": verification(state, verification_method, verification_result, verifier, signer),
        "operator": person_ref(state, operator) or signer,
    }, options)
    body["responsible"] = person(state, responsible) if responsible else default_responsible(state)
    _witnessed_by(body, attestation, "erasure_witness")
    return body


def _witnessed_by(body: dict[str, Any], attestation: tuple[str, Attestation] | None, kind: str) -> None:
    if attestation is not None:
        note, att = attestation
        body["attestation"] = note
        if att.kind == kind:
            body["witness"] = attester(att)


def body_for_disposal_approved(approval_note: str, **options: Any) -> dict[str, Any]:
    """disposal.approved: the municipality's approval note as signed (``application_scan``, ``remarks``, ...)."""
    return merged({"approval": approval_note}, options)


def body_for_media_disposed(state: LedgerState, o: dict[str, Any], *, base: dict[str, Any], signer: str, at: str,
                            attestation: tuple[str, Attestation] | None) -> dict[str, Any]:
    """media.disposed: the disposal record (廃棄記録) of one medium.  What the operator leaves out comes from the
    register (serial, make, kind, origin) and the pending approval (its id, method and place), done now
    (``at``) by the signer under the contract's responsible person, verified visually: a complete body, of
    which the rules then say what is missing.  RuleRefusal when no record of the medium may be made."""
    from custody.ledger.lifecycle.applications import disposal_to_record, require_medium  # it imports this module

    explicit = {
        "media_id": o["media_id"], "approval_id": o["approval_id"], "certificate_number": o["certificate_number"],
        "serial": o["serial"], "method": sanitization(o["category"], o["technique"], o["tool"], o["tool_version"]),
        "start": o["start"], "end": o["end"], "place": o["place"],
        "operator": person(state, o["operator"], o["operator_organisation"], o["operator_title"]),
        "responsible": person(state, o["responsible"]),
        "witness": merged({}, {"name": o["witness"], "organisation": o["witness_organisation"],
                               "title": o["witness_title"]}) if o["witness"] else None,
        "no_witness_reason": o["no_witness_reason"],
        "verification": merged({}, {"method": o["verification_method"],
                                    "result": o["verification_result"] if o["verification_method"] else None,
                                    "verifier": person_ref(state, o["verifier"])}),
        "validation": merged({}, {"accepted_by": person_ref(state, o["validated_by"]), "at": o["validated_at"]}),
        "remains_destination": o["remains_destination"], "photos": o["photos"] or None,
        "certificate": o["certificate"], "no_certificate_reason": o["no_certificate_reason"],
        "backup": merged({}, {"made": o["backup_made"], "where": o["backup_where"]}),
        "remarks": o["remarks"], "attachments": o["attachments"],
    }
    body = merged(base, explicit)
    media_id = str(body["media_id"])
    m = require_medium(state, media_id)
    disposal = disposal_to_record(state, media_id)
    body.setdefault("approval_id", m.disposal_id or "-")
    body.setdefault("serial", m.serial)
    for field in ("make", "model", "property_number"):
        if isinstance(m.record.get(field), str):
            body.setdefault(field, m.record[field])
    # Codes, never translated words: the signed evidence must not depend on --lang (ledger/vocabulary.py).
    body.setdefault("media_type", m.kind)
    body.setdefault("source", m.origin)
    method = body.setdefault("method", {})
    method.setdefault("category", disposal.category)
    method.setdefault("technique", disposal.technique)
    approved = state.approval_body(disposal.id)
    if approved is not None and approved.application is not None:
        body.setdefault("place", approved.application.place)
    body.setdefault("place", work_place(state) or "-")
    body.setdefault("end", at)
    body.setdefault("start", body["end"])
    body.setdefault("operator", person(state, signer))
    body.setdefault("responsible", default_responsible(state))
    checked = body.setdefault("verification", {})
    checked.setdefault("method", "visual_inspection")
    checked.setdefault("result", o["verification_result"])
    checked.setdefault("verifier", signer)
    body.setdefault("photos", [])
    if "backup" in body and "made" not in body["backup"]:
        body["backup"]["made"] = bool(body["backup"].get("where"))
    _witnessed_by(body, attestation, "disposal_witness")
    return body
