"""What an entry body takes from the contract and the register when the operator gives nothing.

The families' ``body_for_<act>`` functions build the body of the entry an act records from the options the
operator gave (already parsed, files already read) and these defaults: the contract's names, places and
responsible person, registered people expanded to person objects, data items flagged as My Number from the
contract.  Bodies hold codes and the operator's own words only, never a word of the interface language, so
that the same act signs the same evidence under every ``--lang`` (docs/spec-events.md).  Pure: no files,
no clock (the caller passes the time the entry will carry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from custody.ledger.lifecycle.state import LedgerState

if TYPE_CHECKING:
    from custody.ledger.attestation import Attestation


def merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: nested objects merge, None values in ``over`` are ignored, and an object
    left empty by them is left out."""
    result = dict(base)
    for k, v in over.items():
        if v is None:
            continue
        if isinstance(v, dict) and isinstance(result.get(k), dict):
            result[k] = merged(result[k], v)
        elif isinstance(v, dict):
            cleaned = merged({}, v)
            if cleaned:
                result[k] = cleaned
        else:
            result[k] = v
    return result


def person_ref(state: LedgerState | None, value: str | None) -> Any:
    """A registered person's key name, else a person described by name."""
    if value is None:
        return None
    if state is not None and value in state.people:
        return value
    return {"name": value}


def person(state: LedgerState | None, value: str | None, organisation: str | None = None,
           title: str | None = None) -> dict[str, Any] | None:
    """A person object; a registered key name is expanded to the person's name and organisation."""
    if value is None:
        return None
    doc: dict[str, Any] = {"name": value}
    if state is not None and value in state.people:
        p = state.people[value]
        doc = {"name": p.name or value, "key_name": value}
        if p.organisation:
            doc["organisation"] = p.organisation
    if organisation:
        doc["organisation"] = organisation
    if title:
        doc["title"] = title
    return doc


def person_name(state: LedgerState, key_name: str) -> str:
    """A registered person's name, else the key name itself."""
    p = state.people.get(key_name)
    return p.name if p is not None and p.name else key_name


def responsible(state: LedgerState) -> dict[str, Any]:
    """The contract's responsible person (作業責任者) as a person object."""
    genesis = state.genesis or {}
    r = genesis.get("responsible", {})
    doc: dict[str, Any] = {"name": r.get("name") or "-"}
    for k in ("organisation", "title"):
        if r.get(k):
            doc[k] = r[k]
    key_name = str(r.get("vkey", "")).split("+", 1)[0]
    if key_name:
        doc["key_name"] = key_name
    return doc


def vendor_name(state: LedgerState) -> str:
    vendor = (state.genesis or {}).get("vendor", {})
    return str(vendor.get("name", "")) if isinstance(vendor, dict) else ""


def municipality_name(state: LedgerState) -> str:
    m = (state.genesis or {}).get("municipality", {})
    if not isinstance(m, dict):
        return ""
    return " ".join(str(v) for v in (m.get("name"), m.get("department")) if v)


def work_place(state: LedgerState) -> str:
    """The name of the contract's first work location."""
    locations = (state.genesis or {}).get("work_locations", [])
    if isinstance(locations, list) and locations and isinstance(locations[0], dict):
        return str(locations[0].get("name", ""))
    return ""


def flagged_items(state: LedgerState | None, items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Data items (``name``, ``records``) with their My Number flag from the contract's data items."""
    flags: dict[str, bool] = {}
    if state is not None and state.genesis is not None:
        for item in state.genesis.get("data_items", []):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                flags[item["name"]] = item.get("my_number") is True
    found = []
    for item in items:
        doc = dict(item)
        if doc.get("name") in flags:
            doc["my_number"] = flags[doc["name"]]
        found.append(doc)
    return found


def contents(items: list[dict[str, Any]], records: int | None, my_number: bool | None,
             classification: str | None, state: LedgerState | None) -> dict[str, Any] | None:
    """A medium's contents from its data items; None when nothing was given about them."""
    if not items and records is None and my_number is None and classification is None:
        return None
    if my_number is None:
        flagged = [i["my_number"] for i in items if "my_number" in i]
        my_number = any(flagged) if flagged else bool(state is not None and state.my_number and items)
    doc: dict[str, Any] = {
        "items": items, "records": records if records is not None else sum(i["records"] for i in items),
        "my_number": my_number,
    }
    if classification:
        doc["classification"] = classification
    return doc


def media_data_items(state: LedgerState, media_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The data items the media hold, records summed per item name."""
    totals: dict[str, dict[str, Any]] = {}
    for media_id in media_ids:
        m = state.medium(media_id)
        items = m.record.get("contents", {}).get("items", []) if m is not None else []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            entry = totals.setdefault(item["name"], {"name": item["name"], "records": 0})
            entry["records"] += int(item.get("records", 0))
            if item.get("my_number") is True:
                entry["my_number"] = True
    return list(totals.values())


def first_item_name(state: LedgerState, media_id: str, fallback: str) -> str:
    """The name of the first data item medium ``media_id`` holds, else ``fallback``."""
    m = state.medium(media_id)
    items = m.record.get("contents", {}).get("items", []) if m is not None else []
    return str(items[0]["name"]) if isinstance(items, list) and items else fallback


def sanitization(category: str | None, technique: str | None, tool: str | None,
                 tool_version: str | None) -> dict[str, Any]:
    """An erasure's method (NIST SP 800-88 category, technique, tool)."""
    return merged({}, {"category": category, "technique": technique,
                       "tool": {"name": tool, "version": tool_version} if tool else None})


def verification(state: LedgerState, method: str | None, result: str, verifier: str | None, signer: str,
                 at: str | None = None) -> dict[str, Any]:
    """How an erasure was verified; the verifier defaults to the signer."""
    return merged({"result": result}, {"method": method, "verifier": person_ref(state, verifier) or signer,
                                       "at": at})


def attester(att: Attestation) -> dict[str, Any]:
    """The attesting person of a municipality's attestation as a person object of an entry body."""
    a = att.body.attester
    return {"name": a.name, "organisation": a.organisation, "title": a.title}
