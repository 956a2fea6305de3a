"""Storage, receipt and return: media received with their handover receipt or registered from vendor stock,
checked out of and into locked storage, and returned to the municipality.  Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from custody.ledger.lifecycle.defaults import (
    contents,
    first_item_name,
    flagged_items,
    merged,
    municipality_name,
    person_name,
    person_ref,
    vendor_name,
    work_place,
)
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
from custody.ledger.rule_texts import RuleText
from custody.ledger.violation import WARNING

if TYPE_CHECKING:
    from custody.ledger.attestation import Attestation

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

#: Who a check-out or check-in names as its person (C9 when not registered).
THE_PERSON = RuleText("The person")
SEAL_BROKEN = RuleText("The seal of medium {m} was not intact at check-in")
DO_REPORT_IF_ACCESSED = RuleText("If data may have been accessed, report an incident (custody incident).")


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
    _check_person_ref(st, e, out, e.body.get("person"), THE_PERSON)
    if _move_ok(st, out, transition(e.type, "medium"), media_id) and commit:
        _touch(st.media[media_id], e.seq, CHECKED_OUT)


def _h_checked_in(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    _check_person_ref(st, e, out, e.body.get("person"), THE_PERSON)
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


# --- bodies: what the CLI records (ledger/lifecycle/defaults.py) ---
#
# ``o`` holds the operator's options by name, parsed (``items``: data items as name and records;
# ``receipt_items``: receipt lines) and with the files they name already read into attachment references
# (``attachments``, ``receipt_scan``); ``base`` is a body given as a file, which the options override.


def medium_fields(state: LedgerState, o: Mapping[str, Any]) -> dict[str, Any]:
    """A medium's own fields from the options (None where not given)."""
    return {
        "media_id": o["media_id"], "kind": o["kind"], "label": o["label"], "make": o["make"], "model": o["model"],
        "serial": o["serial"], "capacity": o["capacity"], "hardware_encryption": o["hardware_encryption"],
        "property_number": o["property_number"], "volume_uuid": o["volume_uuid"], "volume_label": o["volume_label"],
        "contents": contents(flagged_items(state, o["items"]), o["records"], o["my_number"], o["classification"],
                             state),
        "storage": {"place": o["storage_place"], "cabinet": o["cabinet"], "work_location": o["work_location"]},
        "custodian": person_ref(state, o["custodian"]),
    }


def _medium_defaults(state: LedgerState, body: dict[str, Any], signer: str, *, empty_contents: bool = False) -> None:
    body.setdefault("custodian", signer)
    storage = body.setdefault("storage", {})
    if "place" not in storage and work_place(state):
        storage["place"] = work_place(state)
    if empty_contents:
        body.setdefault("contents", {"items": [], "records": 0, "my_number": False})


def _default_receipt_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """One receipt line per data item of this medium; the medium is counted once (on the first line)."""
    kind = str(body.get("kind", "other"))
    items = body.get("contents", {}).get("items", []) or [{"name": body.get("label") or body.get("media_id", "-")}]
    lines = []
    for n, item in enumerate(items):
        line: dict[str, Any] = {"name": item["name"], "media_name": kind, "quantity": 1 if n == 0 else 0}
        if isinstance(body.get("media_id"), str):
            line["media_id"] = body["media_id"]
        if isinstance(item.get("records"), int):
            line["records"] = item["records"]
        lines.append(line)
    return lines


def body_for_media_received(state: LedgerState, o: Mapping[str, Any], *, base: Mapping[str, Any], signer: str,
                            at: str) -> dict[str, Any]:
    """media.received: the medium and its handover receipt (預り証), handed over now (``at``) by hand from the
    municipality to the vendor's signer, one receipt line per data item unless the lines are given."""
    explicit = medium_fields(state, o)
    explicit.update(remarks=o["remarks"], attachments=o["attachments"], receipt={
        "number": o["receipt_number"], "at": o["receipt_at"], "place": o["receipt_place"], "means": o["means"],
        "from": {"organisation": o["from_org"], "person": o["from_person"]},
        "to": {"organisation": o["to_org"], "person": o["to_person"]},
        "items": o["receipt_items"] or None, "seals": o["seal"] or None, "encrypted": o["encrypted"],
        "return_due": o["return_due"], "scan": o["receipt_scan"],
    })
    body = merged(base, explicit)
    _medium_defaults(state, body, signer)
    body.setdefault("contents", {"items": [], "records": 0, "my_number": bool(state.my_number)})
    receipt = body.setdefault("receipt", {})
    receipt.setdefault("at", at)
    receipt.setdefault("means", "by_hand")
    receipt.setdefault("place", municipality_name(state) or "-")
    handed_from = receipt.setdefault("from", {})
    handed_from.setdefault("organisation", municipality_name(state) or "-")
    to = receipt.setdefault("to", {})
    to.setdefault("organisation", vendor_name(state) or "-")
    if "person" not in to:
        to["person"] = person_name(state, signer)
    receipt.setdefault("items", _default_receipt_items(body))
    return body


def whole_receipts(bodies: list[dict[str, Any]]) -> None:
    """The first entry of each receipt number carries the receipt's every line (all its media), as the paper
    預り証 does; the lifecycle keeps the largest declaration of a receipt (C15 compares it with the media)."""
    first: dict[str, dict[str, Any]] = {}
    lines: dict[str, list[dict[str, Any]]] = {}
    for body in bodies:
        receipt = body.get("receipt", {})
        number = receipt.get("number")
        if not isinstance(number, str):
            continue
        first.setdefault(number, body)
        lines.setdefault(number, []).extend(receipt.get("items", []))
    for number, body in first.items():
        if len(lines[number]) <= 1000:  # schemas: receipt.items maxItems
            body["receipt"]["items"] = lines[number]


def body_for_media_registered(state: LedgerState, o: Mapping[str, Any], *, base: Mapping[str, Any],
                              signer: str) -> dict[str, Any]:
    """media.registered: a vendor medium from vendor stock, empty unless data items are given."""
    explicit = medium_fields(state, {
        **o, "my_number": o["my_number"] if o["my_number"] is not None else (False if not o["items"] else None)})
    explicit.update(source=o["source"], purpose=o["purpose"], remarks=o["remarks"], attachments=o["attachments"])
    body = merged(base, explicit)
    _medium_defaults(state, body, signer, empty_contents=True)
    body.setdefault("source", "vendor_stock")  # a code (ledger/vocabulary.py SOURCES), never a translated word
    return body


def body_for_media_checked_out(*, signer: str, media_id: str, purpose: str, person: str | None,
                               **options: Any) -> dict[str, Any]:
    """media.checked_out by the signer unless another person is named (``workstation``, ``seals``, ``remarks``)."""
    return merged({"media_id": media_id, "person": person or signer, "purpose": purpose}, options)


def body_for_media_checked_in(*, signer: str, media_id: str, person: str | None, seals_intact: bool,
                              **options: Any) -> dict[str, Any]:
    """media.checked_in by the signer unless another person is named (``seals``, ``manifest_sha256``, ...)."""
    return merged({"media_id": media_id, "person": person or signer, "seals_intact": seals_intact}, options)


def body_for_media_returned(state: LedgerState, o: Mapping[str, Any], *, signer: str, at: str,
                            receipt: tuple[str, Attestation] | None) -> dict[str, Any]:
    """media.returned: handed back now (``at``) by the vendor's signer to the municipality's receiver (the one
    named, else the one who signed the return receipt ``receipt``), one receipt line for the medium."""
    media_id = o["media_id"]
    m = state.medium(media_id)
    receiver = o["to_person"] or (receipt[1].body.attester.name if receipt is not None else None)
    handed_back = merged({
        "number": o["receipt_number"], "at": o["receipt_at"] or at,
        "place": o["receipt_place"] or municipality_name(state) or "-", "means": o["means"],
        "from": {"organisation": o["from_org"] or vendor_name(state) or "-",
                 "person": o["from_person"] or person_name(state, signer)},
        "to": {"organisation": o["to_org"] or municipality_name(state) or "-", "person": receiver},
        "items": [{"name": first_item_name(state, media_id, media_id),
                   "media_name": m.kind if m is not None else "other", "media_id": media_id, "quantity": 1}],
    }, {"seals": o["seal"] or None, "scan": o["receipt_scan"]})
    body = merged({"media_id": media_id, "receipt": handed_back}, {
        "erased_before_return": o["erased_before_return"], "remarks": o["remarks"], "attachments": o["attachments"],
    })
    if receipt is not None:
        body["attestation"] = receipt[0]
    return body
