"""Times that must agree (C17; special terms 第11-2): "prior" approval is judged against the act's own
recorded start, not the time the entry was written, and the times an entry states may not contradict each
other or the entry's own time.  Pure.

* erasure and disposal (``media.erased``, ``media.disposed``): ``end`` before ``start``, or either later than
  the entry itself (an act recorded before it ended), is refused at write; a start before the disposal
  approval was signed or became valid is a fact, recorded and reported;
* incidents (``incident.reported``): detected after the entry was written, or the municipality notified
  before the incident was detected, is refused at write (each with the same 5 minutes for two clocks).
"""

from __future__ import annotations

from custody.ledger.lifecycle.fields import _ms, _s
from custody.ledger.lifecycle.kernel import EventLike, RuleCode, _Out
from custody.ledger.lifecycle.state import LedgerState
from custody.ledger.rule_texts import RuleText
from custody.ledger.violation import ERROR

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

END_BEFORE_START = RuleText("The {what} of {m} ends ({end}) before it starts ({start})")
AFTER_ENTRY = RuleText("The {what} of {m} is recorded at {at}, but its {field} is later ({value})")
DO_FIX_TIMES = RuleText("Record the act once it is over, with the times read from the clock (--start, --end).")
BEFORE_APPROVAL = RuleText("The {what} of {m} started at {start}, before approval {id} was in force ({approved})")
NEED_PRIOR = RuleText("the municipality's approval before the act starts (special terms 第11-2)")
DO_REPORT_EARLY = RuleText(
    "An act carried out before its approval cannot be undone: report it to the municipality (custody incident)."
)
INCIDENT_TIMES = RuleText("The incident is said to be {field} at {value}, which contradicts {other} ({other_value})")
DO_FIX_INCIDENT_TIMES = RuleText("Check --detected-at and --notified-at.")

#: A stated time may run this far ahead of the entry's own time (two clocks on one site).
SLACK_MS = 5 * 60_000

_WHAT: dict[str, RuleText] = {"media.erased": RuleText("erasure"), "media.disposed": RuleText("disposal")}
_FIELDS: dict[str, RuleText] = {
    "start": RuleText("start"), "end": RuleText("end"),
    "detected_at": RuleText("detected"), "notified_at": RuleText("notified"),
    "at": RuleText("recorded"),
}


def _act(st: LedgerState, e: EventLike, out: _Out) -> None:
    media_id, what = _s(e.body, "media_id"), _WHAT[e.type]
    start_s, end_s = _s(e.body, "start"), _s(e.body, "end")
    start, end, at = _ms(start_s), _ms(end_s), _ms(e.at)
    if start is not None and end is not None and end < start:
        out.add("C17", ERROR, END_BEFORE_START, media=media_id or None, todo=DO_FIX_TIMES, what=what,
                m=media_id or "-", start=start_s, end=end_s)
    for field, value, ms in (("start", start_s, start), ("end", end_s, end)):
        if ms is not None and at is not None and ms > at + SLACK_MS:
            out.add("C17", ERROR, AFTER_ENTRY, media=media_id or None, todo=DO_FIX_TIMES, what=what,
                    m=media_id or "-", at=e.at, field=_FIELDS[field], value=value)
            break
    disposal = st.disposals.get(_s(e.body, "approval_id"))
    if disposal is None or start is None:
        return
    body = st.approval_body(disposal.id)
    approved_ms = max(disposal.valid_from_ms, body.approved_at_ms if body is not None else 0)
    if start < approved_ms:
        shown = body.approved_at if body is not None and body.approved_at_ms == approved_ms else "-"
        out.add("C17", ERROR, BEFORE_APPROVAL, media=media_id or None, missing=NEED_PRIOR, todo=DO_REPORT_EARLY,
                blocking=False, what=what, m=media_id or "-", start=start_s, id=disposal.id,
                approved=shown if shown != "-" else _iso_of(st, disposal.id))


def _iso_of(st: LedgerState, approval_id: str) -> str:
    use = st.approvals.get(approval_id)
    return _s(use.body, "valid_from") if use is not None else "-"


def _incident(e: EventLike, out: _Out) -> None:
    detected_s, notified_s = _s(e.body, "detected_at"), _s(e.body, "notified_at")
    detected, notified, at = _ms(detected_s), _ms(notified_s), _ms(e.at)
    if detected is not None and at is not None and detected > at + SLACK_MS:
        out.add("C17", ERROR, INCIDENT_TIMES, todo=DO_FIX_INCIDENT_TIMES, field=_FIELDS["detected_at"],
                value=detected_s, other=_FIELDS["at"], other_value=e.at)
    elif detected is not None and notified is not None and notified < detected - SLACK_MS:
        out.add("C17", ERROR, INCIDENT_TIMES, todo=DO_FIX_INCIDENT_TIMES, field=_FIELDS["notified_at"],
                value=notified_s, other=_FIELDS["detected_at"], other_value=detected_s)


def watches(event_type: str) -> bool:
    """Whether ``watch`` has anything to judge in an entry of this type."""
    return event_type in _WHAT or event_type == "incident.reported"


def watch(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """C17 on the entries that state their own times."""
    if e.type in _WHAT:
        _act(st, e, out)
    elif e.type == "incident.reported":
        _incident(e, out)


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C17", RuleText("act started before its approval, or contradictory times"), "③"),
)
