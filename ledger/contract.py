"""The contract file (TOML) and the genesis entry body it yields.

``custody init DIR --contract FILE`` turns the contract file into the body of
``contract.opened`` (docs/spec-events.md, Contract and people; docs/spec.md §11): the
contract's identity and period, the work locations, the data items and
whether My Number data (特定個人情報) is involved, what may be approved, the
municipality's approver, witness (cosigning) and attester vkeys, the inspection interval and the vendor's responsible
person (作業責任者).  The municipality pins this entry's hash at contract
start, so everything that later decides who may approve or witness is here.
Pure: bytes in, a dict out.
"""

from __future__ import annotations

import re
from typing import Any

from custody.ledger.errors import NoteFormatError, SchemaError
from custody.ledger.i18n import _
from custody.ledger.note import ALG_COSIGNATURE_V1, ALG_ED25519, Verifier, check_key_name

# Matched with fullmatch: "$" would also accept a final newline ("2026-04-01\n").
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _need(table: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    name = f"{where}{key}"
    if key not in table:
        raise SchemaError(_("contract file: '{field}' is missing").format(field=name), field=name)
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SchemaError(_("contract file: '{field}' has the wrong type").format(field=name), field=name)
    if isinstance(value, str) and not value.strip():
        raise SchemaError(_("contract file: '{field}' is empty").format(field=name), field=name)
    return value


def _date(table: dict[str, Any], key: str, where: str) -> str:
    value: Any = table.get(key)
    text = value.isoformat() if hasattr(value, "isoformat") else value
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        name = f"{where}{key}"
        raise SchemaError(_("contract file: '{field}' must be a date YYYY-MM-DD").format(field=name), field=name)
    return text


def _given(table: dict[str, Any], keys: tuple[str, ...], where: str) -> dict[str, str]:
    """The optional text fields of ``keys`` that ``table`` has and that are not empty."""
    out = {}
    for key in keys:
        if key in table:
            value = _optional_text(table, key, where)
            if value:
                out[key] = value
    return out


def _optional_text(table: dict[str, Any], key: str, where: str) -> str:
    """An optional text field: absent is empty, anything but a string is refused (not turned into its repr)."""
    value = table.get(key, "")
    if not isinstance(value, str):
        name = f"{where}{key}"
        raise SchemaError(_("contract file: '{field}' has the wrong type").format(field=name), field=name)
    return value


def _flag(table: dict[str, Any], key: str, where: str) -> bool:
    """An optional yes/no field: a TOML boolean or absent (false).  A string such as "false" or "no"
    is refused: bool() would make it true, and a permit granted by a typo is no permit."""
    value = table.get(key, False)
    if not isinstance(value, bool):
        name = f"{where}{key}"
        raise SchemaError(_("contract file: '{field}' must be true or false").format(field=name), field=name)
    return value


def _vkeys(values: Any, where: str, alg: int) -> list[str]:
    if not isinstance(values, list) or not values:
        raise SchemaError(_("contract file: '{field}' must list at least one vkey").format(field=where), field=where)
    out = []
    for value in values:
        try:
            verifier = Verifier.from_vkey(str(value))
        except NoteFormatError as exc:
            raise SchemaError(_("contract file: '{field}': {why}").format(field=where, why=exc), field=where) from None
        if verifier.alg != alg:
            raise SchemaError(
                _("contract file: '{field}': {name} has the wrong key type").format(field=where, name=verifier.name),
                field=where,
            )
        out.append(verifier.vkey)
    return out


#: The municipality's attester roles a contract may pin (docs/spec.md §9.6), in the contract file's
#: ``[municipality.attesters]`` table.
ATTESTER_ROLES = ("witness", "receiver", "inspector", "completion", "instructor")


def _attesters(table: Any) -> dict[str, list[str]]:
    """``[municipality.attesters]``: role -> the vkeys of the municipality's people who attest in that role
    (optional: a contract without it pins none, and every act that needs the municipality's signature is a
    finding, C24)."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise SchemaError(_("contract file: 'municipality.attesters' must be a table"), field="municipality.attesters")
    out = {}
    for role, values in table.items():
        if role not in ATTESTER_ROLES:
            raise SchemaError(
                _("contract file: 'municipality.attesters.{role}' is not a role ({roles})").format(
                    role=role, roles=", ".join(ATTESTER_ROLES)), field="municipality.attesters")
        out[role] = _vkeys(values, f"municipality.attesters.{role}", ALG_ED25519)
    return out


def parse_contract(data: bytes, *, responsible_vkey: str) -> tuple[str, dict[str, Any]]:
    """Return (origin, contract.opened body) from the contract file's bytes.

    The body lacks only ``log_vkey``: the log key is named after the origin,
    so the caller adds it once the origin is known.
    """
    import tomllib  # here: every command imports this module (custody.ledger.ledger), few parse a contract

    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except RecursionError:
        # tomllib recurses once per level of nested arrays and inline tables.
        raise SchemaError(_("contract file is nested too deeply"), field="") from None
    except ValueError as exc:
        # TOMLDecodeError and UnicodeDecodeError, and tomllib's own ValueError for an integer longer than
        # Python converts (4300 digits, sys.get_int_max_str_digits): malformed input, exit 3 (docs/spec.md §13).
        raise SchemaError(_("contract file is not valid TOML: {why}").format(why=exc), field="") from None
    contract = _need(doc, "contract", "", dict)
    origin = _need(contract, "origin", "contract.")
    if any(c.isspace() or c == "+" for c in origin):
        raise SchemaError(_("contract file: 'contract.origin' must not contain spaces or '+'"), field="origin")
    try:
        # The origin names the log key (docs/spec.md §6): a C2SP key name, so no control characters either.
        check_key_name(origin)
    except NoteFormatError as exc:
        raise SchemaError(
            _("contract file: '{field}': {why}").format(field="contract.origin", why=exc), field="origin"
        ) from None
    contract_id = _need(contract, "id", "contract.")
    if not _ID.fullmatch(contract_id):
        raise SchemaError(_("contract file: 'contract.id' may use letters, digits, '.', '_' and '-'"), field="id")

    municipality = _need(doc, "municipality", "", dict)
    vendor = _need(doc, "vendor", "", dict)
    responsible = _need(doc, "responsible", "", dict)
    locations = _need(doc, "work_locations", "", list)
    items = _need(doc, "data_items", "", list)
    permits = doc.get("permits", {})
    if not isinstance(permits, dict):
        raise SchemaError(_("contract file: 'permits' must be a table"), field="permits")

    work_locations = []
    for i, loc in enumerate(locations):
        if not isinstance(loc, dict):
            raise SchemaError(
                _("contract file: {field} must be a table").format(field=f"work_locations[{i}]"), field="work_locations"
            )
        work_locations.append(
            {
                "id": _need(loc, "id", f"work_locations[{i}]."),
                "name": _need(loc, "name", f"work_locations[{i}]."),
                "address": _optional_text(loc, "address", f"work_locations[{i}]."),
            }
        )
    data_items = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise SchemaError(
                _("contract file: {field} must be a table").format(field=f"data_items[{i}]"), field="data_items"
            )
        records = item.get("records", 0)
        if not isinstance(records, int) or isinstance(records, bool) or records < 0:
            raise SchemaError(
                _("contract file: {field} must be a count").format(field=f"data_items[{i}].records"),
                field="data_items",
            )
        data_items.append(
            {
                "name": _need(item, "name", f"data_items[{i}]."),
                "records": records,
                "my_number": _flag(item, "my_number", f"data_items[{i}]."),
                "classification": _optional_text(item, "classification", f"data_items[{i}]."),
            }
        )
    if "vkey" in responsible:
        declared = _need(responsible, "vkey", "responsible.")
        try:
            same = Verifier.from_vkey(declared).vkey == responsible_vkey
        except NoteFormatError as exc:
            raise SchemaError(
                _("contract file: '{field}': {why}").format(field="responsible.vkey", why=exc), field="responsible.vkey"
            ) from None
        if not same:
            raise SchemaError(
                _("contract file: the responsible person's vkey differs from the key signing the genesis entry"),
                field="responsible.vkey",
            )
    my_number = _flag(contract, "my_number", "contract.") or any(i["my_number"] for i in data_items)
    body: dict[str, Any] = {
        "contract_id": contract_id,
        "title": _need(contract, "title", "contract."),
        "municipality": {
            "name": _need(municipality, "name", "municipality."),
            "department": _optional_text(municipality, "department", "municipality."),
            # Optional, written only when given (older contracts keep their bytes): the documents' 宛名.
            **_given(municipality, ("addressee",), "municipality."),
        },
        "vendor": {
            "name": _need(vendor, "name", "vendor."),
            "address": _optional_text(vendor, "address", "vendor."),
            # Optional: the representative named in the documents' issuer block (docs/reports.md, Official form).
            **_given(vendor, ("representative", "representative_title"), "vendor."),
        },
        "period": {
            "start": _date(contract, "start", "contract."),
            "end": _date(contract, "end", "contract."),
        },
        "work_locations": work_locations,
        "data_items": data_items,
        "my_number": my_number,
        "permits": {
            "takeout": _flag(permits, "takeout", "permits."),
            "copy": _flag(permits, "copy", "permits."),
            "subcontracting": _flag(permits, "subcontracting", "permits."),
        },
        "approver_vkeys": _vkeys(municipality.get("approver_vkeys"), "municipality.approver_vkeys", ALG_ED25519),
        "witness_vkeys": _vkeys(
            municipality.get("witness_vkeys"), "municipality.witness_vkeys", ALG_COSIGNATURE_V1
        ),
        "responsible": {
            "name": _need(responsible, "name", "responsible."),
            "organisation": _need(responsible, "organisation", "responsible."),
            "title": _optional_text(responsible, "title", "responsible."),
            "vkey": responsible_vkey,
            "pledge_date": _date(responsible, "pledge_date", "responsible."),
            "training_date": _date(responsible, "training_date", "responsible."),
        },
    }
    attesters = _attesters(municipality.get("attesters"))
    if attesters:
        body["attester_vkeys"] = attesters
    interval = contract.get("inspection_interval_months")
    if interval is not None:
        if not isinstance(interval, int) or isinstance(interval, bool) or not 1 <= interval <= 120:
            raise SchemaError(_("contract file: 'contract.inspection_interval_months' must be 1 to 120"),
                              field="contract.inspection_interval_months")
        body["inspection_interval_months"] = interval
    reporting = doc.get("reporting", {})
    if not isinstance(reporting, dict):
        raise SchemaError(_("contract file: 'reporting' must be a table"), field="reporting")
    duties = {}
    for key in ("incident_hours", "incident_detail_days", "periodic_days"):
        if key in reporting:
            value = reporting[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SchemaError(_("contract file: {field} must be a count").format(field=f"reporting.{key}"),
                                  field=f"reporting.{key}")
            duties[key] = value
    if duties:
        body["reporting"] = duties  # the contract's reporting duties (C21, C22); the rules' defaults otherwise
    if body["period"]["end"] < body["period"]["start"]:
        raise SchemaError(_("contract file: the period ends before it starts"), field="contract.end")
    return origin, body
