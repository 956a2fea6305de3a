"""Storage, receipt and return: media received with their handover receipt or registered from vendor stock,
checked out of and into locked storage, and returned to the municipality.  Pure.
"""

from __future__ import annotations

from custody.ledger.lifecycle.disposal import _settle_disposal
from custody.ledger.lifecycle.fields import _d, _s
from custody.ledger.lifecycle.kernel import (
    EventLike,
    Handler,
    _holds_my_number,
    _move_ok,
    _new_medium,
    _Out,
    _serial_ok,
    _touch,
)
from custody.ledger.lifecycle.people import _check_person_ref
from custody.ledger.lifecycle.state import LedgerState
from custody.ledger.lifecycle.takeout import _close_takeout
from custody.ledger.media import CHECKED_OUT, IN_STORAGE, RECEIVED, REGISTERED, RETURNED, transition
from custody.ledger.rule_texts import Text
from custody.ledger.violation import WARNING

# --- texts (English, Japanese): ledger/rule_texts.py for the conventions ---

SEAL_BROKEN: Text = ("The seal of medium {m} was not intact at check-in", "媒体 {m} の入庫時に封印が破損していました")
DO_REPORT_IF_ACCESSED: Text = (
    "If data may have been accessed, report an incident (custody incident).",
    "データに触れられた可能性があれば事故として報告してください(custody incident)。",
)


def _h_received(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    if not _move_ok(st, out, transition(e.type, "medium"), media_id):
        return
    _serial_ok(st, out, _s(e.body, "serial"), media_id)
    if not commit:
        return
    received = e.type == "media.received"
    _new_medium(st, e, RECEIVED if received else REGISTERED, media_id, my_number=_holds_my_number(e.body))
    receipt = _d(e.body, "receipt")
    if received and _s(receipt, "number"):
        raw = receipt.get("items")
        items = [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []
        declared = sum(i["quantity"] for i in items if isinstance(i.get("quantity"), int))
        records: dict[str, int] = {}
        for i in items:
            if isinstance(i.get("name"), str) and isinstance(i.get("records"), int):
                records[i["name"]] = records.get(i["name"], 0) + i["records"]
        entry = st.receipts.setdefault(_s(receipt, "number"), {"declared": 0, "records": {}, "media": [],
                                                                "seq": e.seq})
        if declared >= entry["declared"]:
            entry["declared"], entry["records"] = declared, records
        entry["media"].append(media_id)


def _h_checked_out(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    _check_person_ref(st, e, out, e.body.get("person"), ("The person", "担当者"))
    if _move_ok(st, out, transition(e.type, "medium"), media_id) and commit:
        _touch(st.media[media_id], e.seq, CHECKED_OUT)


def _h_checked_in(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    _check_person_ref(st, e, out, e.body.get("person"), ("The person", "担当者"))
    if not _move_ok(st, out, transition(e.type, "medium"), media_id):
        return
    if e.body.get("seals_intact") is False:
        out.add("C14", WARNING, SEAL_BROKEN, media=media_id, todo=DO_REPORT_IF_ACCESSED, blocking=False,
                m=media_id)
    if commit:
        _touch(st.media[media_id], e.seq, IN_STORAGE)


def _h_returned(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    if not _move_ok(st, out, transition(e.type, "medium"), media_id) or not commit:
        return
    m = st.media[media_id]
    if m.takeout_seq is not None and m.takeout_seq in st.takeouts:
        _close_takeout(st, st.takeouts[m.takeout_seq], media_id, e.seq)
    _settle_disposal(st, m, "returned")
    _touch(m, e.seq, RETURNED)
    m.final_seq = e.seq


#: The entry types this family handles.
HANDLERS: dict[str, Handler] = {
    "media.received": _h_received,
    "media.registered": _h_received,
    "media.checked_out": _h_checked_out,
    "media.checked_in": _h_checked_in,
    "media.returned": _h_returned,
}
