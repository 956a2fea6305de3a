"""What an application may ask for and what a command acts on: refused before anything is written or signed.

An application (custody takeout|copy|dispose request) is written before the
municipality approves it, and some commands pick the media or the takeout
they act on from the state: these checks refuse, with the same rule codes
and texts as the lifecycle's own, what the rules would refuse later anyway
(a medium that is not in the register, disposed, returned or lost; a copy
whose new id is taken; My Number media not to be destroyed physically; a
takeout that cannot be told).  Pure: the command line only calls them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from custody.ledger.lifecycle.defaults import media_data_items, work_place
from custody.ledger.lifecycle.disposal import destroy_rule, disposable
from custody.ledger.lifecycle.kernel import (
    DO_RECORD_MEDIUM,
    NEED_IN_REGISTER,
    NOT_IN_REGISTER,
    _Out,
)
from custody.ledger.lifecycle.state import Disposal, LedgerState
from custody.ledger.media import FINAL, LOST, Medium
from custody.ledger.rule_texts import RuleText, state_text
from custody.ledger.violation import ERROR, refusal

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

NOTHING_TO_APPLY_FOR = RuleText("Medium {m} is {state}; nothing more can be applied for.")
DO_CHECK_MEDIA_ID = RuleText("Check the media id (custody media list).")
COPY_ID_TAKEN = RuleText("Media id {m} is already in the register; a copy needs a new id.")
DO_NEW_COPY_ID = RuleText("Choose a new media id for the copy.")
WHICH_TAKEOUT = RuleText("Which takeout? Give --takeout SEQ (open takeouts: {seqs}).")
NOTHING_OUT = RuleText("No medium of the takeout at seq {seq} is still out.")
DO_LIST_TAKEOUTS = RuleText("custody status lists the open takeouts.")


def require_medium(state: LedgerState, media_id: str) -> Medium:
    """The registered medium ``media_id``; RuleRefusal C15 (exit 6) when the register has none."""
    m = state.medium(media_id)
    if m is None:
        out = _Out(None)
        out.add("C15", ERROR, NOT_IN_REGISTER, media=media_id, missing=NEED_IN_REGISTER, todo=DO_RECORD_MEDIUM,
                m=media_id)
        _refuse(out)
    return m


def refuse_application(state: LedgerState, kind: str, media_ids: Sequence[str], *, targets: Sequence[str] = (),
                       category: str | None = None) -> None:
    """Refuse (RuleRefusal, exit 6) an application that no approval could make valid.

    Every medium applied for is in the register and still in custody (C15; C12 disposed or returned, C14 lost);
    a copy's new ids are new (C5); My Number media are applied for destruction (``kind`` ``dispose``, C7).
    """
    out = _Out(None)
    for media_id in media_ids:
        m = require_medium(state, media_id)
        if m.state in FINAL:
            out.add("C14" if m.state == LOST else "C12", ERROR, NOTHING_TO_APPLY_FOR, media=media_id,
                    todo=DO_CHECK_MEDIA_ID, m=media_id, state=state_text(m.state))
            _refuse(out)
    for target in targets:
        found = state.medium(target)
        if found is not None:
            out.add("C5", ERROR, COPY_ID_TAKEN, media=target, todo=DO_NEW_COPY_ID, m=target)
            _refuse(out)
    if kind == "dispose":
        for media_id in media_ids:
            destroy_rule(out, require_medium(state, media_id), category or "")
            if out.items:
                _refuse(out)


def disposal_to_record(state: LedgerState, media_id: str) -> Disposal:
    """The pending disposal approval a disposal record of ``media_id`` carries out (its method and place are the
    record's defaults); RuleRefusal (C7, C12, C14, C15) when the rules would refuse any record of it."""
    out = _Out(None)
    found = disposable(state, out, media_id)
    if found is None:
        _refuse(out)
    return found[1]


def takeout_target(state: LedgerState, takeout_seq: int | None, media_ids: Sequence[str]) -> tuple[int, list[str]]:
    """The takeout an act closes (by seq, else the one the media are out on, else the only open one) and its
    media (default: all still out); RuleRefusal C4 when it cannot be told or nothing is out."""
    out = _Out(None)
    if takeout_seq is None:
        seqs = {m.takeout_seq for i in media_ids if (m := state.medium(i)) is not None and m.takeout_seq is not None}
        if len(seqs) == 1:
            takeout_seq = seqs.pop()
        elif not media_ids and len(state.open_takeouts()) == 1:
            takeout_seq = state.open_takeouts()[0].seq
        else:
            out.add("C4", ERROR, WHICH_TAKEOUT, todo=DO_LIST_TAKEOUTS,
                    seqs=", ".join(str(t.seq) for t in state.open_takeouts()) or "-")
            _refuse(out)
    chosen = list(media_ids)
    if not chosen:
        takeout = state.takeouts.get(takeout_seq)
        chosen = list(takeout.open) if takeout is not None else []
        if not chosen:
            out.add("C4", ERROR, NOTHING_OUT, todo=DO_LIST_TAKEOUTS, seq=takeout_seq)
            _refuse(out)
    return takeout_seq, chosen


def _refuse(out: _Out) -> NoReturn:
    """The RuleRefusal of the blocking violations ``out`` holds (one at least)."""
    problem = refusal(out.items)
    assert problem is not None
    raise problem


# --- applications: what the CLI writes for the municipality's approver (ledger/lifecycle/defaults.py) ---
#
# ``given`` is the application's fields from the options and a file; what no approval could make valid is
# refused (RuleRefusal) before anything is written.


def request_for_takeout(state: LedgerState, given: dict[str, Any], *, at: str) -> dict[str, Any]:
    """A takeout application leaving now (``at``) from the work location with the media's data items."""
    fields = dict(given)
    media = list(fields.get("media") or [])
    refuse_application(state, "takeout", media)
    fields.setdefault("origin_place", work_place(state) or "-")
    fields.setdefault("data_items", media_data_items(state, media))
    fields.setdefault("planned_out", at)
    return fields


def request_for_copy(state: LedgerState, given: dict[str, Any]) -> dict[str, Any]:
    """A copy application for one copy of the media's data items unless told."""
    fields = dict(given)
    media = list(fields.get("media") or [])
    refuse_application(state, "copy", media, targets=list(fields.get("target_media") or []))
    fields.setdefault("copies", 1)
    fields.setdefault("data_items", media_data_items(state, media))
    return fields


def disposal_items(state: LedgerState, media_ids: Sequence[str]) -> list[dict[str, Any]]:
    """One line of a disposal application per medium (its first data item, else its label or id)."""
    items = []
    for media_id in media_ids:
        m = require_medium(state, media_id)
        held = m.record.get("contents", {}).get("items", [])
        name = held[0]["name"] if isinstance(held, list) and held else (m.record.get("label") or m.id)
        items.append({"name": name, "media_name": m.kind, "media_id": m.id, "serial": m.serial, "quantity": 1})
    return items


def request_for_dispose(state: LedgerState, given: dict[str, Any], *, at: str) -> dict[str, Any]:
    """A disposal application (廃棄申請) at the work location, witnessed, planned today (``at``), at the end of
    use, unless told."""
    fields = dict(given)
    application = fields.setdefault("application", {})
    listed = [i.get("media_id") for i in application.get("items", []) if isinstance(i, dict)]
    application.setdefault("place", work_place(state) or "-")
    application.setdefault("witness_required", True)
    application.setdefault("planned_date", at[:10])
    fields.setdefault("purpose", "end_of_use")  # a code (ledger/vocabulary.py PURPOSES)
    method = application.get("method", {})
    refuse_application(state, "dispose", [m for m in listed if isinstance(m, str)],
                       category=method.get("category") if isinstance(method, dict) else None)
    return fields


def unwitnessed_my_number(state: LedgerState, fields: dict[str, Any]) -> bool:
    """Whether a disposal application waives the witness on a My Number contract: allowed, but its record then
    needs the reason (C7), which the operator is told before the application is handed over."""
    application = fields.get("application")
    return bool(state.my_number and isinstance(application, dict) and application.get("witness_required") is False)


def request_for_subcontract(given: dict[str, Any]) -> dict[str, Any]:
    """A subcontract application for a subcontractor (not a sub-subcontractor) unless told, whose purpose is
    its scope of work unless told."""
    fields = dict(given)
    fields.setdefault("subcontractor", {}).setdefault("tier", "subcontractor")
    if "purpose" not in fields and isinstance(fields["subcontractor"].get("scope"), str):
        fields["purpose"] = fields["subcontractor"]["scope"]
    return fields
