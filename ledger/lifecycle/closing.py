"""Closing and incidents (C1, C14, C15): nothing new after the completion statement, incidents and what
they do to the media, and the media balance and handover receipts at close.  Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custody.ledger import rule_texts as txt
from custody.ledger.lifecycle.defaults import attester, flagged_items, merged
from custody.ledger.lifecycle.disposal import _settle_disposal
from custody.ledger.lifecycle.fields import _d, _ids, _ms, _s
from custody.ledger.lifecycle.kernel import EventLike, Handler, RuleCode, _Out, _touch
from custody.ledger.lifecycle.state import LedgerState
from custody.ledger.lifecycle.takeout import _close_takeout
from custody.ledger.media import IN_STORAGE, LOST, Medium, transition
from custody.ledger.rule_texts import NOTHING, RuleText, state_text
from custody.ledger.violation import ERROR, INFO, WARNING

if TYPE_CHECKING:
    from custody.ledger.attestation import Attestation

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

MEDIUM_OPEN = RuleText("Medium {m} has no final disposition ({state})")
NEED_FINAL = RuleText("return, disposal, or (vendor media) erasure")
DO_SETTLE = RuleText("Return it (custody media return) or dispose of it with approval (custody dispose ...).")
INCIDENT = RuleText("Incident ({kind}): {situation}")
NEED_NOTIFIED = RuleText("the time the municipality was notified")
DO_NOTIFY = RuleText("Report to the municipality at once in writing and follow its instructions (第14).")
CLOSED_STILL_SETTLING = RuleText("The contract was closed at seq {seq}, but media were still being settled ({type})")
DO_PREMATURE = RuleText("The completion statement was premature.")
UNBALANCED = RuleText(
    "Media do not reconcile: received {r} + registered {g} + copies {c} − returned {t} − disposed {d} − erased {e} − "
    "lost {l} = {b}"
)
DO_ACCOUNT = RuleText("Account for every medium (the C1/C4/C6/C8 findings name them).")
RECEIPT_COUNT = RuleText("Receipt {n} lists {d} medium/media; {k} were recorded ({ids})")
RECEIPT_RECORDS = RuleText("Receipt {n}: item {item} declares {d} record(s); the media recorded hold {k}")
DO_RECORD_RECEIPT = RuleText("Record every medium handed over (custody media receive), or correct the receipt.")
LOST_ON_OVERDUE_TAKEOUT = RuleText(
    "Medium {m} was reported lost after its takeout deadline {deadline} (taken out at seq {seq})"
)


#: After contract.closed these start new work (C1, blocking) ...
NOT_AFTER_CLOSE = frozenset(
    {"media.received", "media.registered", "media.checked_out", "takeout.departed", "copy.made"}
)


#: ... and these settle what was left open or found again (C1 warning: the completion statement was premature;
#: a disposal approval for a medium already settled is new work, refused in its handler).
SETTLING_AFTER_CLOSE = frozenset(
    {
        "media.checked_in", "takeout.returned", "takeout.erased_at_destination", "media.erased",
        "disposal.approved", "media.disposed", "media.returned",
    }
)


def _h_incident(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    if isinstance(body.get("detail_of"), int):
        return  # the detailed report of an incident reported before: one finding per cause (C21 follows it)
    kind = _s(body, "kind") or "other"
    media_ids = _ids(body, "media_ids")
    severity = {"lost": ERROR, "stolen": ERROR, "leak": ERROR, "found": INFO}.get(kind, WARNING)
    unreported = not _s(body, "notified_at") and kind != "found"
    out.add("C14", severity, INCIDENT, media=media_ids[0] if media_ids else None,
            missing=NEED_NOTIFIED if unreported else NOTHING, todo=DO_NOTIFY if unreported else NOTHING,
            blocking=False, kind=(kind, txt.INCIDENT_JA.get(kind, kind)), situation=_s(body, "situation")[:200] or "-")
    when = _ms(e.at)
    if kind in ("lost", "stolen") and when is not None:
        for media_id in media_ids:
            m = st.media.get(media_id)
            takeout = st.takeouts.get(m.takeout_seq) if m is not None and m.takeout_seq is not None else None
            if takeout is not None and takeout.deadline_ms is not None and when > takeout.deadline_ms:
                out.add("C4", ERROR, LOST_ON_OVERDUE_TAKEOUT, media=media_id, todo=txt.DO_NOTHING_LATE,
                        blocking=False, m=media_id, deadline=takeout.deadline, seq=takeout.seq)
    if not commit:
        return
    st.incidents.append({"seq": e.seq, "at": e.at, "kind": kind, "media_ids": media_ids})
    if kind in ("lost", "stolen"):
        row = transition("incident.reported", "media", kind)
        for media_id in media_ids:
            m = st.media.get(media_id)
            if m is None or m.state not in row.allowed:
                continue
            if m.takeout_seq is not None and m.takeout_seq in st.takeouts:
                _close_takeout(st, st.takeouts[m.takeout_seq], media_id, e.seq)
            _settle_disposal(st, m, "lost")
            _touch(m, e.seq, LOST)
            m.final_seq = e.seq
    elif kind == "found":
        for media_id in media_ids:
            m = st.media.get(media_id)
            if m is not None and m.state == LOST:
                _touch(m, e.seq, IN_STORAGE)
                m.final_seq = None


def _h_inspection(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    if commit:
        st.inspections.append(e.seq)


def _h_closed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    if st.closed is None and commit:
        st.closed = {"seq": e.seq, "at": e.at}


def _after_close(st: LedgerState, e: EventLike, out: _Out) -> None:
    assert st.closed is not None
    seq = st.closed["seq"]
    if e.type in NOT_AFTER_CLOSE or e.type == "contract.closed":
        out.add("C1", ERROR, txt.CLOSED_NO_MORE, todo=txt.DO_NOTHING_REMAINS, type=e.type, seq=seq)
    elif e.type in SETTLING_AFTER_CLOSE:
        out.add("C1", WARNING, CLOSED_STILL_SETTLING, todo=DO_PREMATURE, blocking=False, type=e.type,
                seq=seq)


def _h_nothing(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    return


def c15(st: LedgerState, out: _Out, blocks: bool) -> None:
    c = st.counts()
    if c["open"] != 0:
        out.add("C15", ERROR, UNBALANCED, todo=DO_ACCOUNT, blocking=blocks, r=c["received"], g=c["registered"],
                c=c["copies"], t=c["returned"], d=c["disposed"], e=c["erased"], l=c["lost"], b=c["open"])
    for number, receipt in sorted(st.receipts.items()):
        # a receipt that does not match is for the municipality to resolve: reported, never blocking the close
        media = receipt["media"]
        first = receipt.get("seq")
        if receipt["declared"] and receipt["declared"] != len(media):
            out.add("C15", ERROR, RECEIPT_COUNT, todo=DO_RECORD_RECEIPT, blocking=False, at_seq=first,
                    n=number, d=receipt["declared"], k=len(media), ids=", ".join(media))
        held: dict[str, int] = {}
        for media_id in media:
            items = _d(st.media[media_id].record, "contents").get("items") if media_id in st.media else None
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(
                        item.get("records"), int):
                    held[item["name"]] = held.get(item["name"], 0) + item["records"]
        for name, declared in sorted(receipt.get("records", {}).items()):
            if held.get(name, 0) != declared:
                out.add("C15", ERROR, RECEIPT_RECORDS, todo=DO_RECORD_RECEIPT, blocking=False, at_seq=first,
                        n=number, item=name, d=declared, k=held.get(name, 0))


def end_medium_open(out: _Out, m: Medium, *, blocks: bool) -> None:
    """C1 at close: a medium (not a copy, not on a takeout or a disposal) with no final disposition."""
    out.add("C1", ERROR, MEDIUM_OPEN, media=m.id, missing=NEED_FINAL, todo=DO_SETTLE,
            blocking=blocks, m=m.id, state=state_text(m.state))


#: The entry types this family handles.
HANDLERS: dict[str, Handler] = {
    "incident.reported": _h_incident,
    "inspection.recorded": _h_inspection,
    "contract.closed": _h_closed,
    "note.recorded": _h_nothing,
}


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C1", RuleText("medium without a final disposition at close"), "③"),
    RuleCode("C14", RuleText("incident"), "incidents"),
    RuleCode("C15", RuleText("counts do not reconcile"), "③"),
)


# --- bodies: what the CLI records (ledger/lifecycle/defaults.py) ---


def body_for_incident_reported(state: LedgerState, *, at: str, kind: str, situation: str,
                               detected_at: str | None, items: list[dict[str, Any]], police_filed: bool | None,
                               police_at: str | None, police_reference: str | None,
                               **options: Any) -> dict[str, Any]:
    """incident.reported: detected now (``at``) unless a time is given; data items flagged from the contract
    (``media_ids``, ``records``, ``encrypted``, ``place``, ``status``, ``measures``, ``detail_of``, ...)."""
    police = None
    if police_filed is not None:
        police = merged({"filed": police_filed}, {"at": police_at, "reference": police_reference})
    return merged({"kind": kind, "detected_at": detected_at or at, "situation": situation},
                  {"items": flagged_items(state, items) or None, "police_report": police, **options})


DEFAULT_CLOSE_SCOPE = ("work_pcs", "backups", "mail")  # what a completion statement covers unless told


def body_for_contract_closed(*, scope: list[str], statement: str | None, inspector: str | None,
                             inspector_organisation: str | None, check_method: str | None, check_date: str | None,
                             check_result: str | None, completion: tuple[str, Attestation] | None,
                             **options: Any) -> dict[str, Any]:
    """contract.closed: the statement that no data remains, with the municipality's completion check as
    given, else as the municipality's signed completion attestation says (``completed_at``, ``remarks``, ...)."""
    check = None
    if inspector:
        check = merged({"inspector": merged({"name": inspector}, {"organisation": inspector_organisation})}, {
            "method": check_method, "date": check_date, "result": check_result})
    body = merged({"statement": merged({"no_data_remains": True, "scope": scope or list(DEFAULT_CLOSE_SCOPE)},
                                       {"text": statement})},
                  {"municipality_check": check, **options})
    if completion is not None:
        note, att = completion
        body["attestation"] = note
        body.setdefault("municipality_check", {
            "inspector": attester(att), "method": f"custody/attestation/v1 {att.id}",
            "date": att.body.acted_at[:10], "result": att.body.seen})
    return body


def body_for_inspection_recorded(signed: tuple[str, Attestation], *, remarks: str | None,
                                 attachments: list[dict[str, Any]] | None) -> dict[str, Any]:
    """inspection.recorded: the inspection as the inspector's signed attestation ``signed`` states it."""
    note, att = signed
    inspection = att.body.inspection
    assert inspection is not None  # an attestation of kind "inspection" always carries one
    body: dict[str, Any] = {
        "date": att.body.acted_at[:10], "type": inspection.method, "inspector": attester(att),
        "checks": [{"party": c.party, "item": c.item, "complied": c.complied,
                    **({"evidence": c.evidence} if c.evidence else {})} for c in inspection.checks],
        "findings": list(inspection.findings),
        "corrective_actions": [{"what": c.what, "who": c.party, "by": c.due} for c in inspection.corrective_actions],
        "attestation": note,
    }
    if inspection.result:
        body["result"] = inspection.result
    return merged(body, {"remarks": remarks or None, "attachments": attachments or None})
