"""Copies (C5, C6; special terms 第10): every copy is a new medium made under a valid prior copy approval
and settled as its approval says.  Pure.
"""

from __future__ import annotations

from typing import Any

from custody.ledger.lifecycle.approvals import _add_cover, _approval, _use_approval, _uses
from custody.ledger.lifecycle.defaults import contents, flagged_items, merged, person_ref
from custody.ledger.lifecycle.fields import _ms, _s
from custody.ledger.lifecycle.kernel import (
    EventLike,
    Handler,
    RuleCode,
    _holds_my_number,
    _move_ok,
    _new_medium,
    _Out,
    _serial_ok,
    _touch,
)
from custody.ledger.lifecycle.state import LedgerState
from custody.ledger.media import CHECKED_OUT, COPY, Medium, transition
from custody.ledger.rule_texts import RuleText, fill
from custody.ledger.violation import ERROR

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

COPY_OPEN = RuleText("Copy {m} (of {source}) has no final disposition{due}")
DUE = RuleText(" (due {due})")
DO_SETTLE_COPY = RuleText("Erase, dispose of or return the copy as its approval says, and record it.")
NO_COPY_PERMIT = RuleText("The contract does not allow copies")
DO_NO_COPIES = RuleText("Copies are not allowed in this contract.")


def _h_copy(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    source_id, target_id = _s(body, "source_media_id"), _s(body, "media_id")
    if not st.permits.get("copy"):
        out.add("C5", ERROR, NO_COPY_PERMIT, todo=DO_NO_COPIES)
    source_ok = _move_ok(st, out, transition(e.type, "source"), source_id)
    target_ok = _move_ok(st, out, transition(e.type, "target"), target_id)
    if target_ok:
        _serial_ok(st, out, _s(body, "serial"), target_id)
    approval = _approval(st, e, "copy", out, source_id or None)
    if approval is not None:
        from custody.ledger.approval import coverage_problems  # loaded by _approval already

        out.extend(coverage_problems(approval, kind="copy", media_ids=[source_id], at=e.at,
                                     uses_so_far=_uses(st, approval.id), target_media_id=target_id))
    if not commit or not target_ok:
        return
    source = st.media.get(source_id)
    my_number = _holds_my_number(body) or (source is not None and source.my_number)
    _new_medium(st, e, COPY, target_id, my_number=my_number, state=CHECKED_OUT, source=source_id,
                approval_id=approval.id if approval else None)
    if source_ok and source is not None:
        _touch(source, e.seq, None)
    if approval is not None:
        _use_approval(st, approval, e.seq)
        _add_cover(st, target_id, approval.body)


def end_copy(st: LedgerState, out: _Out, m: Medium, when: int, *, closing: bool, blocks: bool) -> None:
    """C6 at the end: a copy not settled at close or past its approval's disposal date."""
    plan = st.approval_body(m.approval_id) if m.approval_id else None
    due = plan.disposal.by if plan is not None and plan.disposal is not None else ""
    due_ms = _ms(due) if due else None
    if closing or (due_ms is not None and when > due_ms):
        out.add("C6", ERROR, COPY_OPEN, media=m.id, todo=DO_SETTLE_COPY, blocking=blocks,
                m=m.id, source=m.source or "-", due=fill(DUE, {"due": due}) if due else "")


#: The entry types this family handles.
HANDLERS: dict[str, Handler] = {
    "copy.made": _h_copy,
}


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C5", RuleText("copy without a valid prior approval"), "copies"),
    RuleCode("C6", RuleText("copy not tracked to a final disposition"), "③"),
)


# --- bodies: what the CLI records (ledger/lifecycle/defaults.py) ---


def body_for_copy_made(state: LedgerState, *, signer: str, approval_note: str, source: str, media_id: str,
                       kind: str | None, serial: str, items: list[dict[str, Any]], storage_place: str | None,
                       cabinet: str | None, custodian: str | None, copied_by: str | None,
                       **options: Any) -> dict[str, Any]:
    """copy.made: the source medium's kind, contents and storage unless others are given, kept and copied by
    the signer unless others are named (``label``, ``make``, ..., ``manifest_sha256``, ``attachments``)."""
    from custody.ledger.lifecycle.applications import require_medium  # off the path of the other commands

    src = require_medium(state, source)
    held = contents(flagged_items(state, items), None, None, None, state) or src.record.get("contents")
    storage = merged(dict(src.record.get("storage") or {}), {"place": storage_place, "cabinet": cabinet})
    return merged({
        "approval": approval_note, "source_media_id": source, "media_id": media_id, "kind": kind or src.kind,
        "serial": serial, "contents": held, "storage": storage,
        "custodian": person_ref(state, custodian) or signer,
        "copied_by": person_ref(state, copied_by) or signer,
    }, options)
