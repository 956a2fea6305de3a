"""The municipality's own acts (docs/spec.md §9.6; docs/spec-rules.md C20, C24): attestations signed by a key the
contract pins for the attester's role, embedded in the entry of the act (``media.disposed``, ``media.erased``,
``media.returned``, ``contract.closed``, ``inspection.recorded``) or recorded as ``attestation.recorded``
(instructions, incident acknowledgements, change approvals).

* **C24** -- where the special terms require the municipality's act, the entry carries its signed attestation:
  erasure and disposal of My Number media (or a disposal whose approval requires a witness) a witness
  attestation or a signed waiver, and the responsible person (第11-3/5); a return the receipt; the close the
  completion check (履行確認); an inspection the inspector's signature; a new responsible person a prior change
  approval.  Every embedded attestation must verify against the pinned keys of its role, be for this origin and
  for the act's media, and be used once.  A name typed into a vendor entry is never a witness.  In a contract
  that pins no attester key (made before attestations existed) a missing attestation is a warning: the vendor
  could not have had one.
* **C20** -- inspections (3(7), 第13): at least one in every interval of the contract period (the contract's
  ``inspection_interval_months``, default 12; an interval counts once it has ended, or at close), every approved
  subcontractor covered by some inspection's checks by the close, every corrective action found closed by its due
  date.  Closing is refused while this is not so, in a contract that pins inspectors.

Pure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from custody.ledger.lifecycle.fields import _d, _norm_org, _s
from custody.ledger.lifecycle.kernel import EventLike, Handler, RuleCode, _Out
from custody.ledger.lifecycle.state import LedgerState
from custody.ledger.rule_texts import RuleText, fill
from custody.ledger.violation import ERROR, WARNING, violation

if TYPE_CHECKING:  # opened where an entry carries an attestation: every command runs these rules, few open one
    from custody.ledger.attestation import Attestation, AttestationProblem

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

NO_WITNESS_ATTESTATION = RuleText(
    "The {act} of My Number medium {m} carries no witness attestation signed by the municipality, nor a signed waiver "
    "(第11-3/5){typed}"
)
WITNESS_REQUIRED_ATTESTATION = RuleText(
    "Approval {id} requires a witness: the disposal of {m} carries no witness attestation signed by the "
    "municipality{typed}"
)
TYPED_NAME = RuleText("; a name typed into the record ({name}) is not a witness")
NEED_WITNESS_ATTESTATION = RuleText("the witness attestation (or waiver) signed by the municipality's witness")
DO_WITNESS_ATTESTATION = RuleText(
    "Have the municipality's witness sign it (custody attest witness|waiver) and give it with --witness-attestation "
    "FILE."
)
NO_RESPONSIBLE = RuleText("The {act} of My Number medium {m} names no responsible person (第11-5)")
NEED_RESPONSIBLE = RuleText("the responsible person (責任者)")
DO_RESPONSIBLE = RuleText("Name the responsible person (--responsible).")
NO_RECEIPT = RuleText("The return of {m} carries no receipt signed by the municipality's receiver")
NEED_RECEIPT = RuleText("the return receipt signed by the municipality")
DO_RECEIPT = RuleText(
    "Have the municipality's receiver sign the receipt (custody attest receipt) and give it with --receipt FILE."
)
NO_COMPLETION = RuleText("The close carries no completion check (履行確認) signed by the municipality")
NEED_COMPLETION = RuleText("the completion check signed by the municipality")
DO_COMPLETION = RuleText(
    "Have the municipality's checker sign the completion check (custody attest completion) and give it with "
    "--completion FILE."
)
NO_INSPECTION_SIGNATURE = RuleText(
    "The inspection record carries no inspection attestation signed by the municipality's inspector"
)
NEED_INSPECTION_SIGNATURE = RuleText("the inspection attestation signed by the inspector")
DO_INSPECTION_SIGNATURE = RuleText("Record the inspector's signed file (custody inspection record --attestation FILE).")
INSPECTION_DIFFERS = RuleText("The inspection record's {field} differs from the signed attestation {id}")
DO_FROM_ATTESTATION = RuleText("Record the inspection from the signed file only.")
ATTESTATION_REUSED = RuleText("Attestation {id} was already recorded (seq {seq}); each act has its own")
DO_OWN_ATTESTATION = RuleText("Ask for an attestation of this act.")
APPROVAL_DIFFERS = RuleText("Attestation {id} concerns approval {given}; the record carries out {approval}")
NO_CHANGE_APPROVAL = RuleText(
    "{name} becomes the responsible person with no prior change approval signed by the municipality"
)
NEED_CHANGE_APPROVAL = RuleText("the municipality's signed change approval naming the new responsible person")
DO_CHANGE_APPROVAL = RuleText(
    "Ask the municipality to approve the change (custody attest change) and record it first (custody attestation "
    "record)."
)
NO_INSPECTION = RuleText(
    "No inspection by the municipality between {start} and {end} (at least every {months} months, 3(7))"
)
NEED_INSPECTION = RuleText("an inspection recorded in every interval")
DO_INSPECTION = RuleText(
    "Ask the municipality to inspect (custody attest inspection) and record it (custody inspection record)."
)
SUBCONTRACTOR_NOT_INSPECTED = RuleText("Subcontractor {name} (approval {id}) was never covered by an inspection (第13)")
NEED_SUBCONTRACTOR_CHECK = RuleText("an inspection with checks of the subcontractor")
ACTION_OVERDUE = RuleText("Corrective action {id} for {party} was due {due} and is not found closed")
ACTION_CLOSED_LATE = RuleText("Corrective action {id} was due {due} and was closed on {closed}")
NEED_ACTION_CLOSED = RuleText("a re-check that finds the action carried out")
DO_RECHECK = RuleText("Carry out the action; the municipality's next inspection records it closed (closed_actions).")
UNKNOWN_ACTION = RuleText("Inspection {id} closes corrective action {action}, which no earlier inspection set")
DO_CHECK_ACTION = RuleText("Check the action's number.")

NO_ATTESTATION = RuleText("The entry carries no attestation")
DO_ATTESTATION_FILE = RuleText("Record the municipality's signed file (custody attestation record FILE).")

ACT_ERASURE = RuleText("erasure")
ACT_DISPOSAL = RuleText("disposal")

_WITNESS_KINDS = {"media.erased": ("erasure_witness", "waiver"), "media.disposed": ("disposal_witness", "waiver")}


NOT_TEXT = RuleText("The attestation is not text")
NOT_UTF8 = RuleText("The attestation is not valid UTF-8")


# --- reading an embedded attestation ---


def pinned_keys(st: LedgerState) -> dict[str, list[str]]:
    """Role -> the vkeys the contract pins for it; the approvers also give instructions (docs/spec.md §9.6)."""
    keys = {role: list(v) for role, v in st.attester_vkeys.items()}
    keys["instructor"] = list(dict.fromkeys([*keys.get("instructor", []), *st.approver_vkeys]))
    return keys


def opted_in(st: LedgerState, role: str) -> bool:
    """Whether the contract pins keys for ``role``: then a missing attestation blocks and is an error."""
    return bool(pinned_keys(st).get(role))


def open_embedded(st: LedgerState, note: object, *, kinds: tuple[str, ...], media_id: str | None
                  ) -> Attestation | AttestationProblem:
    """Open an attestation note against the contract's pinned keys.

    A note is checked once (its signature, origin and body; ``_checked``) whatever it is asked for: the same
    witness attestation is looked at as a witness, as a possible waiver, and again by the reports.  Only a note
    that fails, or does not fit ``kinds`` and ``media_id``, is opened again for the violation that says why."""
    from custody.ledger.attestation import AttestationProblem, open_attestation

    if isinstance(note, str):
        opened = _checked(st, note)
        if opened is not None and opened.kind in kinds and (media_id is None or media_id in opened.body.media):
            return opened
    key = (str(note), ",".join(kinds), media_id or "")
    cached: Attestation | AttestationProblem | None = st._attestation_cache.get(key)
    if cached is not None:
        return cached
    if not isinstance(note, str):
        result: Attestation | AttestationProblem = AttestationProblem([violation(
            "C24", ERROR, fill(NOT_TEXT, {}), media_id=media_id)])
    else:
        try:
            result = open_attestation(note.encode("utf-8"), origin=st.origin, pinned=pinned_keys(st), kinds=kinds,
                                      media_id=media_id,
                                      vendor_keys=frozenset(st.people))
        except AttestationProblem as exc:
            result = exc
        except UnicodeEncodeError:
            result = AttestationProblem([violation(
                "C24", ERROR, fill(NOT_UTF8, {}),
                media_id=media_id)])
    if len(st._attestation_cache) >= 256:
        st._attestation_cache.clear()
    st._attestation_cache[key] = result
    return result


#: Notes whose check is kept (``_checked``): a contract's attestations, one per witnessed or received act, with
#: room to spare; beyond it the cache starts again (each note is then checked once more, never wrongly).
_CHECKED_NOTES = 4096


def _checked(st: LedgerState, note: str) -> Attestation | None:
    """The note opened against the pinned keys for whatever kind and media it names; None if it does not open
    (the caller opens it again for the violation).  The pinned keys come from the genesis and do not change."""
    from custody.ledger.attestation import AttestationProblem, open_attestation

    cache: dict[str, Attestation | None] = st._checked_notes
    if note in cache:
        return cache[note]
    try:
        opened: Attestation | None = open_attestation(note.encode("utf-8"), origin=st.origin,
                                                      pinned=pinned_keys(st))
    except (AttestationProblem, UnicodeEncodeError):
        opened = None
    if len(cache) >= _CHECKED_NOTES:
        cache.clear()
    cache[note] = opened
    return opened


def _embedded(st: LedgerState, e: EventLike, out: _Out, kinds: tuple[str, ...], media_id: str | None
              ) -> tuple[bool, Attestation | None]:
    """(present, the opened attestation): an invalid one adds its violations and is (True, None)."""
    if "attestation" not in e.body:
        return False, None
    from custody.ledger.attestation import AttestationProblem

    opened = open_embedded(st, e.body["attestation"], kinds=kinds, media_id=media_id)
    if isinstance(opened, AttestationProblem):
        out.extend(opened.violations)
        return True, None
    used = st.attested["used"].get(opened.digest)
    if used is not None and used != e.seq:
        out.add("C24", ERROR, ATTESTATION_REUSED, media=media_id, todo=DO_OWN_ATTESTATION, id=opened.id, seq=used)
        return True, None
    return True, opened


def waived(st: LedgerState, body: dict[str, Any], media_id: str) -> bool:
    """Whether a disposal or erasure record carries a valid municipality-signed waiver of witnessing for
    ``media_id`` (第11-3: the municipality may forgo witnessing): then no witness is required (C7)."""
    if "attestation" not in body:
        return False
    from custody.ledger.attestation import AttestationProblem

    note = body["attestation"]
    checked = _checked(st, note) if isinstance(note, str) else None
    if checked is not None:
        # A note that opens (the usual witness attestation, asked here whether it is a waiver) is a waiver for
        # this medium exactly when open_attestation with kinds=("waiver",) and media_id would return it: same
        # kind from the same line, same keys, origin and body; only the kind and the media are left to compare.
        # Not opened again only to build the violation that says it is not a waiver, which nothing reads.
        return checked.kind == "waiver" and media_id in checked.body.media
    opened = open_embedded(st, note, kinds=("waiver",), media_id=media_id)
    return not isinstance(opened, AttestationProblem)


def _use(st: LedgerState, att: Attestation, seq: int) -> None:
    st.attested["used"][att.digest] = seq


def _missing(st: LedgerState, out: _Out, role: str, message: RuleText, missing: RuleText, todo: RuleText, *,
             media: str | None, **values: object) -> None:
    pinned = opted_in(st, role)
    out.add("C24", ERROR if pinned else WARNING, message, media=media, missing=missing, todo=todo,
            blocking=pinned, fields=dict(values))


# --- the acts that need the municipality's signature (C24) ---


def _witnessed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """Erasure or disposal: a witness attestation or a waiver where My Number data or the approval requires it,
    and the responsible person for My Number media (第11-3/5)."""
    body = e.body
    media_id = _s(body, "media_id")
    m = st.media.get(media_id)
    if m is None:
        return
    act = ACT_ERASURE if e.type == "media.erased" else ACT_DISPOSAL
    present, att = _embedded(st, e, out, _WITNESS_KINDS[e.type], media_id)
    disposal = st.disposals.get(_s(body, "approval_id")) if e.type == "media.disposed" else None
    required_by_approval = disposal is not None and disposal.witness_required
    if att is not None and _s(body, "approval_id") and att.body.approval_id and \
            att.body.approval_id != _s(body, "approval_id"):
        out.add("C24", ERROR, APPROVAL_DIFFERS, media=media_id, todo=DO_OWN_ATTESTATION, id=att.id,
                given=att.body.approval_id, approval=_s(body, "approval_id"))
    if not present and (m.my_number or required_by_approval):
        name = _s(_d(body, "witness"), "name")
        typed: object = ("", "") if not name else fill(TYPED_NAME, {"name": name})
        if m.my_number:
            _missing(st, out, "witness", NO_WITNESS_ATTESTATION, NEED_WITNESS_ATTESTATION, DO_WITNESS_ATTESTATION,
                     media=media_id, act=act, m=media_id, typed=typed)
        else:
            assert disposal is not None
            _missing(st, out, "witness", WITNESS_REQUIRED_ATTESTATION, NEED_WITNESS_ATTESTATION,
                     DO_WITNESS_ATTESTATION, media=media_id, id=disposal.id, m=media_id, typed=typed)
    if m.my_number and not _s(_d(body, "responsible"), "name"):
        # the erasure record had no field for it before attestations: a warning in such contracts
        _missing(st, out, "witness", NO_RESPONSIBLE, NEED_RESPONSIBLE, DO_RESPONSIBLE, media=media_id, act=act,
                 m=media_id)
    if commit and att is not None:
        _use(st, att, e.seq)


def _returned(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    present, att = _embedded(st, e, out, ("return_receipt",), media_id)
    if not present:
        _missing(st, out, "receiver", NO_RECEIPT, NEED_RECEIPT, DO_RECEIPT, media=media_id or None, m=media_id)
    if commit and att is not None:
        _use(st, att, e.seq)


def _closed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    present, att = _embedded(st, e, out, ("completion_check",), None)
    if not present:
        _missing(st, out, "completion", NO_COMPLETION, NEED_COMPLETION, DO_COMPLETION, media=None)
    if commit and att is not None:
        _use(st, att, e.seq)


def _inspection(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    present, att = _embedded(st, e, out, ("inspection",), None)
    if not present:
        _missing(st, out, "inspector", NO_INSPECTION_SIGNATURE, NEED_INSPECTION_SIGNATURE, DO_INSPECTION_SIGNATURE,
                 media=None)
    if present and att is None:
        return
    parties: list[str] = []
    actions: list[dict[str, Any]] = []
    closes: list[tuple[str, str]] = []
    day = _s(body, "date")
    if att is not None:
        inspection = att.body.inspection
        assert inspection is not None
        for field, given, signed in (("date", day, att.body.acted_at[:10]), ("type", _s(body, "type"),
                                                                              inspection.method)):
            if given != signed:
                out.add("C24", ERROR, INSPECTION_DIFFERS, todo=DO_FROM_ATTESTATION, field=field, id=att.id)
        parties = list(inspection.parties)
        actions = [{"id": a.id, "party": a.party, "due": a.due, "seq": e.seq, "closed_on": None}
                   for a in inspection.corrective_actions]
        closes = list(inspection.closed_actions)
        day = att.body.acted_at[:10]
        for action_id, _closed_on in closes:
            if action_id not in st.attested["actions"] and action_id not in {a["id"] for a in actions}:
                out.add("C20", ERROR, UNKNOWN_ACTION, todo=DO_CHECK_ACTION, id=att.id, action=action_id)
        for action_id, closed_on in closes:
            known = st.attested["actions"].get(action_id)
            if known is not None and known["closed_on"] is None and closed_on > known["due"]:
                out.add("C20", ERROR, ACTION_CLOSED_LATE, blocking=False, id=action_id, due=known["due"],
                        closed=closed_on)
    elif not opted_in(st, "inspector"):
        # A contract that pins no inspector: the vendor's record of the inspection is all there is (C24 warns).
        checks = body.get("checks")
        parties = [c["party"] for c in checks if isinstance(c, dict) and isinstance(c.get("party"), str)] \
            if isinstance(checks, list) else []
    else:
        return
    if not commit:
        return
    if att is not None:
        _use(st, att, e.seq)
    st.attested["inspections"].append({"seq": e.seq, "date": day, "parties": list(dict.fromkeys(parties)),
                                       "signed": att is not None})
    for action in actions:
        st.attested["actions"][action["id"]] = action
    for action_id, closed_on in closes:
        known = st.attested["actions"].get(action_id)
        if known is not None and known["closed_on"] is None:
            known["closed_on"] = closed_on


def _attestation_recorded(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    present, att = _embedded(st, e, out, ("instruction", "incident_acknowledgement", "change_approval"), None)
    if not present:
        out.add("C24", ERROR, NO_ATTESTATION, todo=DO_ATTESTATION_FILE)
    if not commit or att is None:
        return
    _use(st, att, e.seq)
    row: dict[str, Any] = {"seq": e.seq, "kind": att.kind, "id": att.id, "media": list(att.body.media)}
    if att.body.change is not None:
        row.update(subject=att.body.change[0], to=att.body.change[2])
        if att.body.change[0] == "work_location":
            # An approved new work location is in force from this entry on (C19, ledger/lifecycle/places.py);
            # the earlier locations stay, for the media still kept there (special terms 第5-3).
            st.duties.setdefault("locations", []).append(
                {"id": "", "name": att.body.change[2], "address": "", "approved_seq": e.seq})
    st.attested["acts"].append(row)


def _new_responsible(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """A person becoming the responsible person after the genesis needs a prior signed change approval."""
    if e.type == "personnel.registered":
        if _s(e.body, "role") != "responsible":
            return
        names = {_s(e.body, "name"), _s(e.body, "vkey").split("+", 1)[0]}
    else:
        if _s(_d(e.body, "changes"), "role") != "responsible":
            return
        key_name = _s(e.body, "key_name")
        person = st.people.get(key_name)
        names = {key_name, _s(_d(e.body, "changes"), "name"), person.name if person is not None else ""}
    names.discard("")
    approved = any(a.get("subject") == "responsible_person" and _norm_org(str(a.get("to", ""))) in
                   {_norm_org(n) for n in names} for a in st.attested["acts"])
    if not approved:
        _missing(st, out, "instructor", NO_CHANGE_APPROVAL, NEED_CHANGE_APPROVAL, DO_CHANGE_APPROVAL, media=None,
                 name=sorted(names)[0] if names else "-")


#: What runs beside each family's own handler for an entry type (ledger/lifecycle/engine.py calls it first,
#: on the state before the entry).
CHECKS: dict[str, Handler] = {
    "media.erased": _witnessed,
    "media.disposed": _witnessed,
    "media.returned": _returned,
    "contract.closed": _closed,
    "inspection.recorded": _inspection,
    "attestation.recorded": _attestation_recorded,
    "personnel.registered": _new_responsible,
    "personnel.changed": _new_responsible,
}


# --- inspections over time (C20) ---


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for dd in (day.day, 30, 29, 28):
        try:
            return date(year, month, dd)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def end_inspections(st: LedgerState, out: _Out, when: int, *, closing: bool, blocks: bool) -> None:
    """C20 as of ``when``: every interval of the period that has ended (all, at close) holds an inspection;
    every approved subcontractor was inspected (at close); no corrective action is past its due date open."""
    period = _d(st.genesis or {}, "period")
    start_s, end_s = _s(period, "start"), _s(period, "end")
    signed_only = opted_in(st, "inspector")
    blocking = blocks and signed_only
    severity = ERROR if signed_only else WARNING
    inspections = [i for i in st.attested["inspections"] if i["signed"] or not signed_only]
    today = _day_of(when)
    if start_s and end_s and today is not None:
        start, end = date.fromisoformat(start_s), date.fromisoformat(end_s)
        months = st.inspection_interval_months
        lo = start
        while lo <= end:
            hi = min(_add_months(lo, months), end + _ONE_DAY) - _ONE_DAY
            if hi >= today and not closing:
                break
            if not any(lo.isoformat() <= i["date"] <= hi.isoformat() for i in inspections):
                out.add("C20", severity, NO_INSPECTION, missing=NEED_INSPECTION, todo=DO_INSPECTION,
                        blocking=blocking, start=lo.isoformat(), end=hi.isoformat(), months=months)
            if closing and hi >= today:
                break
            lo = hi + _ONE_DAY
    if closing:
        covered = {_norm_org(p) for i in inspections for p in i["parties"]}
        for sub in st.subcontracts.values():
            if _norm_org(sub.name) not in covered:
                out.add("C20", severity, SUBCONTRACTOR_NOT_INSPECTED, missing=NEED_SUBCONTRACTOR_CHECK,
                        todo=DO_INSPECTION, blocking=blocking, name=sub.name, id=sub.id)
    for action in st.attested["actions"].values():
        if action["closed_on"] is None and today is not None and (closing or action["due"] < today.isoformat()):
            out.add("C20", ERROR, ACTION_OVERDUE, missing=NEED_ACTION_CLOSED, todo=DO_RECHECK, blocking=blocks,
                    id=action["id"], party=action["party"], due=action["due"], at_seq=action["seq"])


_ONE_DAY = timedelta(days=1)


def _day_of(ms: int) -> date | None:
    """The JST calendar day of a moment (the contract's dates are Japanese calendar days)."""
    return (datetime.fromtimestamp(ms / 1000, UTC) + timedelta(hours=9)).date()


#: The entry types this family handles on its own (the others are checked through CHECKS).
HANDLERS: dict[str, Handler] = {"attestation.recorded": lambda st, e, out, commit: None}

#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C20", RuleText("inspections: interval, subcontractors covered, corrective actions by their due date"),
             "inspections"),
    RuleCode("C24", RuleText("the municipality's own act missing or not signed by its pinned key"), "③"),
)


def body_for_attestation_recorded(signed: tuple[str, Attestation], *, remarks: str | None,
                                  attachments: list[dict[str, Any]] | None) -> dict[str, Any]:
    """attestation.recorded: the municipality's signed instruction, acknowledgement or change approval."""
    body: dict[str, Any] = {"attestation": signed[0]}
    if remarks:
        body["remarks"] = remarks
    if attachments:
        body["attachments"] = attachments
    return body
