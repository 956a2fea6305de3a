"""The operators' and approvers' everyday commands: people, media, takeouts, copies, disposal, approvals.

Every command that records something goes through :func:`custody.ledger.workflow.act`:
the lifecycle model checks the act under the ledger's write lock and refuses
it (exit 6: the rule code, what is missing, what to do) before anything is
written.  Facts that already broke a rule are recorded with ``custody
incident``.  The municipality's side is ``custody approve ...``: it signs an
approval note with an approver key; the vendor's command takes it with
``--approval FILE``.

Body fields are typed options; where a body is large (the handover receipt,
the disposal record) ``--from-file FILE.json|toml`` gives a body whose
fields the explicit options override.  Heavy modules (the lifecycle model,
JSON Schema) are imported inside the commands, so that ``custody --help``
stays quick.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from custody.cli.common import (
    ATTACHMENT_LIMIT,
    DOCUMENT_LIMIT,
    CommandTree,
    err,
    json_option,
    key_option,
    ledger_option,
    load_signer,
    log_passphrase_option,
    option,
    optional_log_signer,
    optional_path,
    out,
    passphrase_file_option,
    print_json,
    read_attachments,
    read_input_file,
    register_tree,
)
from custody.ledger import i18n
from custody.ledger.approval_defaults import (
    DEFAULT_ENCRYPTION_MIN,
    DEFAULT_MAX_USES,
    DEFAULT_VALID_DAYS,
    default_valid_days,
)
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _
from custody.ledger.wareki import japanese_datetime

if TYPE_CHECKING:
    from custody.ledger.approval import Approval
    from custody.ledger.attestation import Attestation
    from custody.ledger.entry import Entry
    from custody.ledger.ledger import Ledger
    from custody.ledger.lifecycle import LedgerState
    from custody.ledger.media import Medium
    from custody.ledger.note import Signer
    from custody.ledger.violation import Violation

MEDIA_KINDS = ("usb", "hdd", "ssd", "sd", "optical", "tape", "paper", "other")
MEANS = ("by_hand", "transport", "online", "mail", "other")
TIERS = ("vendor", "subcontractor", "sub-subcontractor")
ROLES = ("operator", "responsible", "agent")
CLOSE_SCOPE = ("work_pcs", "development_machines", "servers", "backups", "mail", "paper", "other")


# --- registration ---


def _command_tree() -> CommandTree:
    """Every workflow command with its help; built when registering, after the language is chosen."""
    return {
        "person": (_("Register, change and remove people (signed by the responsible person)."), [
            ("add", _("Register a person and their key (personnel.registered)."), person_add),
            ("change", _("Change a registered person's details (personnel.changed)."), person_change),
            ("remove", _("Remove a person; their key stops signing (personnel.removed)."), person_remove),
            ("exit-check", _("Record a leaver's exit check before the removal (personnel.exit_checked)."),
             person_exit_check),
            ("statement", _("Sign your own statement that you keep no data, with your own key (personnel.statement)."),
             person_statement),
            ("list", _("List the registered people."), person_list),
        ]),
        "subcontract": (_("Subcontracting with the municipality's approval (special terms 第8-2)."), [
            ("request", _("Write a subcontract application for the municipality's approver."), subcontract_request),
            ("record", _("Record the municipality's subcontract approval (subcontract.approved)."),
             subcontract_record),
        ]),
        "key": (_("Create and inspect signing keys."), [
            ("rotate", _("Replace a person's key with a new one (key.rotated)."), key_rotate),
            ("revoke", _("Revoke a lost or compromised key (key.revoked)."), key_revoke),
        ]),
        "media": (_("The media register (媒体管理台帳): receipt, storage, erasure, return."), [
            ("receive", _("Record a medium received from the municipality with its handover receipt."),
             media_receive),
            ("register", _("Record a vendor medium brought into use (media.registered)."), media_register),
            ("checkout", _("Take a medium out of locked storage for work (media.checked_out)."), media_checkout),
            ("checkin", _("Put a medium back into locked storage (media.checked_in)."), media_checkin),
            ("erase", _("Record a verified erasure (NIST SP 800-88 clear or purge)."), media_erase),
            ("return", _("Record a medium handed back to the municipality, with the receipt."), media_return),
            ("list", _("Show the media register."), media_list),
            ("show", _("Show one medium and its history."), media_show),
        ]),
        "takeout": (_("Taking media off the work location (持ち出し), with prior approval."), [
            ("request", _("Write a takeout application for the municipality's approver."), takeout_request),
            ("depart", _("Record media leaving under a takeout approval (takeout.departed)."), takeout_depart),
            ("return", _("Record taken-out media back, with the return check."), takeout_return),
            ("erased", _("Record that taken-out data was erased at the destination."), takeout_erased),
        ]),
        "copy": (_("Copies (複製) with prior approval; every copy is a new medium."), [
            ("request", _("Write a copy application for the municipality's approver."), copy_request),
            ("make", _("Record a copy made under a copy approval (copy.made)."), copy_make),
        ]),
        "dispose": (_("Disposal (廃棄) with prior approval, witness and evidence."), [
            ("request", _("Write a disposal application (廃棄申請) for the municipality's approver."), dispose_request),
            ("approved", _("Record the municipality's disposal approval (disposal.approved)."), dispose_approved),
            ("record", _("Record the disposal of one medium, with witness, photos and certificate."), dispose_record),
        ]),
        "approve": (_("Municipality: sign an approval of an application with an approver key."), [
            ("takeout", _("Approve a takeout application."), approve_takeout),
            ("copy", _("Approve a copy application."), approve_copy),
            ("dispose", _("Approve a disposal application."), approve_dispose),
            ("subcontract", _("Approve a subcontract application."), approve_subcontract),
        ]),
        "incident": (None, [
            ("incident", _("Record an incident or its detailed report: lost, stolen, leak, suspicion, found."),
             incident),
        ]),
        "periodic": (_("Periodic reports to the municipality (定期報告, special terms 3(6))."), [
            ("record", _("Record a periodic report made to the municipality (report.periodic)."), periodic_record),
        ]),
        "close": (None, [
            ("close", _("Record the completion statement; refused while any medium is outstanding."), close),
        ]),
        "status": (None, [
            ("status", _("Show the contract, the media register, open takeouts and findings."), status),
        ]),
    }


def register(app: typer.Typer, only: str | None = None) -> None:
    """Add the workflow's commands to ``app``; with ``only``, just that top-level command (start-up time:
    typer converts every registered command's parameters when the application runs)."""
    register_tree(app, _command_tree(), only)


# --- option factories (help text is built after the language is chosen) ---
#
# Path options are declared as text (custody.cli.common.optional_path).


_FILE_OPTIONS = (
    "--approval", "--from-file", "--attach", "--output", "--request", "--vkey-from", "--new-key", "--revoked-key",
    "--receipt-scan", "--application-scan", "--certificate", "--photo", "--other-photo",
)
_METAVARS = {
    **dict.fromkeys(_FILE_OPTIONS, "FILE"),
    **dict.fromkeys(("--media-id", "--target", "--source"), "MEDIA_ID"),
    "--seal": "SEAL", "--item": "NAME:RECORDS", "--receipt-item": "NAME:MEDIA:QUANTITY:RECORDS",
    "--carrier": "KEY_NAME", "--condition": "TEXT", "--scope": "SCOPE", "--state": "STATE", "--takeout": "SEQ",
}


def _opt(default: Any, *names: str, help_text: str, **kw: Any) -> Any:
    if names and names[0] in _METAVARS:
        kw.setdefault("metavar", _METAVARS[names[0]])
    return option(default, *names, help=help_text, **kw)


def _choices(allowed: tuple[str, ...]) -> Any:
    """An option callback that refuses a value outside ``allowed`` while the command line is parsed: before
    the key is opened (a passphrase typed for nothing) and in the language of the rest of the output."""

    def check(value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        for one in values:
            if one is not None and one not in allowed:
                raise typer.BadParameter(_("{value!r} is not allowed; choose one of: {choices}.").format(
                    value=one, choices=", ".join(allowed)))
        return value

    return check


def required_help(text: str) -> str:
    """The help of an option the entry needs but that ``--from-file`` / ``--from-csv`` may give instead."""
    return _("{help} [required unless given by --from-file or --from-csv]").format(help=text)


def media_id_option() -> Any:
    return _opt(None, "--media-id", "-m", help_text=_("Media id (媒体番号), e.g. M-001."))


def media_ids_option() -> Any:
    return _opt([], "--media-id", "-m", help_text=_("Media id (repeatable)."))


def approval_option() -> Any:
    return _opt(..., "--approval", help_text=_("The approval file signed by the municipality (custody approve)."))


def from_file_option() -> Any:
    return _opt(None, "--from-file", help_text=_("Body fields from a JSON or TOML file; explicit options win."))


def remarks_option() -> Any:
    return _opt(None, "--remarks", help_text=_("Remarks."))


def attach_option() -> Any:
    return _opt([], "--attach", help_text=_("Attach a file (repeatable); its SHA-256 goes into the entry."))


def seal_option() -> Any:
    return _opt([], "--seal", help_text=_("Seal number (封印番号), repeatable."))


def output_option() -> Any:
    return _opt(..., "--output", "-o", help_text=_("File to write."))


def request_option() -> Any:
    return _opt(..., "--request", help_text=_("The application file (written by the vendor's request command)."))


def item_option() -> Any:
    return _opt([], "--item", help_text=_("Data item and record count as NAME:RECORDS (repeatable)."))


# --- small helpers ---


def _now() -> str:
    from custody.ledger.timefmt import format_at, system_clock

    return format_at(system_clock())


def _read_bytes(path: str, what: str, limit: int = DOCUMENT_LIMIT) -> bytes:
    return read_input_file(Path(path), what, limit)


def _write_bytes(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UsageError(_("Cannot write {path}: {why}").format(path=path, why=exc.strerror)) from None


def _plain(value: Any) -> Any:
    """TOML values as JSON values (dates and date-times as text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise UsageError(_("Date-times need an offset, e.g. 2026-05-01T10:00:00+09:00 ({value}).").format(
                value=value.isoformat()))
        return value.isoformat()
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    if isinstance(value, float):
        raise UsageError(_("Numbers must be integers ({value}).").format(value=value))
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: a repeated key would silently keep only its last value."""
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise ValueError(_("the key {key!r} appears twice").format(key=key))
        doc[key] = value
    return doc


def _load_doc(path: str, what: str) -> dict[str, Any]:
    """A JSON or TOML document (by extension; JSON otherwise)."""
    data = _read_bytes(path, what)
    try:
        if Path(path).suffix.lower() == ".toml":
            import tomllib

            doc: Any = tomllib.loads(data.decode("utf-8"))
        else:
            doc = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
        if not isinstance(doc, dict):
            raise UsageError(_("{path} must hold one object (a table).").format(path=path))
        # Inside the guard: a document shallow enough for the parser may still be too deep for _plain,
        # which recurses once per level on top of the command's own stack.
        plain: dict[str, Any] = _plain(doc)
    except RecursionError:
        raise UsageError(_("{path} is nested too deeply.").format(path=path)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(_("{path} is not valid JSON or TOML: {why}").format(path=path, why=exc)) from None
    return plain


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: nested objects merge, None values in ``over`` are ignored."""
    result = dict(base)
    for k, v in over.items():
        if v is None:
            continue
        if isinstance(v, dict) and isinstance(result.get(k), dict):
            result[k] = _merge(result[k], v)
        elif isinstance(v, dict):
            cleaned = _merge({}, v)
            if cleaned:
                result[k] = cleaned
        else:
            result[k] = v
    return result


def _body(from_file: str | None, explicit: dict[str, Any]) -> dict[str, Any]:
    base = _load_doc(from_file, _("the body file")) if from_file is not None else {}
    return _merge(base, explicit)


def _items(values: list[str], state: LedgerState | None = None) -> list[dict[str, Any]]:
    """``NAME:RECORDS`` options as data items; My Number flags from the contract's data items."""
    flags: dict[str, bool] = {}
    if state is not None and state.genesis is not None:
        for item in state.genesis.get("data_items", []):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                flags[item["name"]] = item.get("my_number") is True
    out_items = []
    for value in values:
        name, sep, records = value.rpartition(":")
        if not sep or not name or not records.strip().isdigit():
            raise UsageError(
                _("--item takes NAME:RECORDS, e.g. 住民基本台帳:1200 (got {value!r}).").format(value=value))
        parsed: dict[str, Any] = {"name": name, "records": int(records)}
        if name in flags:
            parsed["my_number"] = flags[name]
        out_items.append(parsed)
    return out_items


def _contents(items: list[dict[str, Any]], records: int | None, my_number: bool | None,
              classification: str | None, state: LedgerState | None) -> dict[str, Any] | None:
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


def _person_ref(state: LedgerState | None, value: str | None) -> Any:
    """A registered person's key name, else a person described by name."""
    if value is None:
        return None
    if state is not None and value in state.people:
        return value
    return {"name": value}


def _person(state: LedgerState | None, value: str | None, organisation: str | None = None,
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


def _responsible(state: LedgerState) -> dict[str, Any]:
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


def _vendor_name(state: LedgerState) -> str:
    vendor = (state.genesis or {}).get("vendor", {})
    return str(vendor.get("name", "")) if isinstance(vendor, dict) else ""


def _municipality_name(state: LedgerState) -> str:
    m = (state.genesis or {}).get("municipality", {})
    if not isinstance(m, dict):
        return ""
    return " ".join(str(v) for v in (m.get("name"), m.get("department")) if v)


def _work_place(state: LedgerState) -> str:
    locations = (state.genesis or {}).get("work_locations", [])
    if isinstance(locations, list) and locations and isinstance(locations[0], dict):
        return str(locations[0].get("name", ""))
    return ""


def _medium(state: LedgerState, media_id: str) -> Medium:
    from custody.ledger.lifecycle.applications import require_medium

    return require_medium(state, media_id)


def _need(value: Any, option: str) -> Any:
    if value is None or value in ([], ""):
        raise UsageError(_("Missing option {option}.").format(option=option))
    return value


def _media_data_items(state: LedgerState, media_ids: list[str]) -> list[dict[str, Any]]:
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


class _Session:
    """One command's ledger, signer and (lazily) state."""

    def __init__(self, ledger: Ledger, signer: Signer, log_passphrase_file: str | None) -> None:
        self.ledger = ledger
        self.signer = signer
        self.log_passphrase_file = log_passphrase_file
        self._state: LedgerState | None = None
        self.blobs: list[bytes] = []

    @property
    def state(self) -> LedgerState:
        if self._state is None:
            from custody.ledger.workflow import current_state

            self._state = current_state(self.ledger)
        return self._state

    def files(self, paths: list[str]) -> list[dict[str, Any]] | None:
        if not paths:
            return None
        refs, blobs = read_attachments(paths)
        self.blobs += blobs
        return refs

    def file(self, path: str | None, **extra: Any) -> dict[str, Any] | None:
        if path is None:
            return None
        from custody.ledger.workflow import attachment_ref

        data = _read_bytes(path, _("the attachment"), ATTACHMENT_LIMIT)
        self.blobs.append(data)
        return attachment_ref(data, Path(path).name, **extra)

    def approval(self, path: str, kind: str) -> tuple[str, Approval]:
        """The approval note's text, opened and checked (signature, origin, kind) before anything else.

        A forged note, one signed by a key the contract does not pin (a vendor key), one for another
        ledger or of another kind is refused here (exit 6); the lifecycle model then checks, under the
        write lock, that it covers the act (media, validity window, uses, transport, carriers, encryption).
        """
        from custody.ledger.approval import open_approval

        data = _read_bytes(path, _("the approval"))
        opened = open_approval(data, origin=self.ledger.origin, approver_vkeys=self.state.approver_vkeys, kind=kind,
                               vendor_keys=frozenset(self.state.people))
        return data.decode("utf-8"), opened

    def attestation(self, path: str, kinds: tuple[str, ...], media_id: str | None) -> tuple[str, Attestation]:
        """The municipality's attestation file, opened against the keys the contract pins for its role
        (docs/spec.md §9.6): forged, signed by an unpinned key (another municipality's, a vendor's), for
        another ledger, another kind or other media -- refused here (C24, exit 6) before anything else."""
        from custody.ledger.attestation import AttestationProblem
        from custody.ledger.lifecycle.attestations import open_embedded

        data = _read_bytes(path, _("the attestation"))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(_("{path} is not a UTF-8 text file.").format(path=path)) from None
        opened = open_embedded(self.state, text, kinds=kinds, media_id=media_id)
        if isinstance(opened, AttestationProblem):
            raise opened
        return text, opened

    def act(self, type_: str, body: dict[str, Any], json_out: bool, **extra: Any) -> Entry:
        from custody.ledger.workflow import act

        warnings: list[Violation] = []
        entry = act(self.ledger, type_, body, self.signer, attachments=self.blobs, warnings=warnings)
        # The log key is opened (one more scrypt) only when a checkpoint is due; a failure then says that the
        # entry was recorded (CheckpointPendingError), lest it be recorded twice -- after the usual report.
        try:
            self.ledger.checkpoint_after(
                entry, lambda: optional_log_signer(self.ledger, optional_path(self.log_passphrase_file)))
        finally:
            _report(entry, warnings, json_out, extra)
        return entry


def _session(ledger_dir: str, key: str | None, passphrase_file: str | None) -> tuple[Ledger, Signer]:
    from custody.ledger.ledger import Ledger

    signer = load_signer(optional_path(key), optional_path(passphrase_file))
    return Ledger.open(Path(ledger_dir)), signer


def _print_violation(v: Violation) -> None:
    message, _missing, todo = v.texts()
    label = _(v.severity)
    err.print(f"[yellow]{label} [{v.code}][/] ", end="", markup=True)
    err.print(message, markup=False)
    if todo:
        err.print(f"  {todo}", markup=False)


def _report(entry: Entry, warnings: list[Violation], json_out: bool, extra: dict[str, Any]) -> None:
    if json_out:
        print_json({
            "seq": entry.seq, "type": entry.type, "at": entry.at, "actor": entry.actor,
            "leaf_hash": entry.leaf_hash.hex(), "warnings": [v.to_json() for v in warnings], **extra,
        })
    else:
        out.line(_("Recorded as entry {seq} ({type}).").format(seq=entry.seq, type=entry.type))
    for v in warnings:
        _print_violation(v)


def _run(ledger_dir: str, key: str | None, passphrase_file: str | None, log_passphrase_file: str | None,
         build: Any) -> None:
    """Open the ledger with the signer and call ``build(session)``."""
    ledger, signer = _session(ledger_dir, key, passphrase_file)
    with ledger:
        build(_Session(ledger, signer, log_passphrase_file))


def _attester(att: Attestation) -> dict[str, Any]:
    """The attesting person as a person object of an entry body."""
    a = att.body.attester
    return {"name": a.name, "organisation": a.organisation, "title": a.title}


def attestation_option(name: str, help_text: str) -> Any:
    return _opt(None, name, help_text=help_text, metavar="FILE")


# --- people ---


def _vkey_from(vkey: str | None, vkey_from: str | None) -> str | None:
    """The vkey given, else the one in a vkey file, else the public half of a key file (no passphrase needed)."""
    if vkey is not None or vkey_from is None:
        return vkey
    from custody.ledger.errors import NoteFormatError
    from custody.ledger.keyfile import key_file_info
    from custody.ledger.note import ALG_ED25519, Verifier

    text = _read_bytes(vkey_from, _("the key file")).decode("utf-8", errors="replace").strip()
    try:
        return Verifier.from_vkey(text).vkey
    except NoteFormatError:
        pass
    name, public = key_file_info(Path(vkey_from))
    return Verifier(name, ALG_ED25519, public).vkey


def person_add(
    vkey: str | None = _opt(None, "--vkey", help_text=_("The person's vkey (custody key new prints it).")),
    vkey_from: str | None = _opt(None, "--vkey-from", help_text=_("Read the vkey from a key file or a vkey file.")),
    name: str | None = _opt(None, "--name", help_text=_("Full name.")),
    organisation: str | None = _opt(None, "--organisation", help_text=_("Organisation (default: the vendor).")),
    title: str | None = _opt(None, "--title", help_text=_("Title.")),
    contact: str | None = _opt(None, "--contact", help_text=_("Contact.")),
    tier: str | None = _opt(None, "--tier", help_text=_("vendor, subcontractor or sub-subcontractor."),
                            callback=_choices(TIERS)),
    role: str | None = _opt(None, "--role", help_text=_("operator (作業従事者), responsible (作業責任者) or agent."),
                            callback=_choices(ROLES)),
    employment: str | None = _opt(None, "--employment",
                                  help_text=_("regular, dispatched, contract, part_time or other.")),
    pledge_date: str | None = _opt(None, "--pledge-date", help_text=_("Date of the confidentiality pledge (誓約書).")),
    training_date: str | None = _opt(None, "--training-date", help_text=_("Date of the privacy training.")),
    subcontract_id: str | None = _opt(None, "--subcontract-id",
                                      help_text=_("For subcontractor staff: the recorded subcontract approval id.")),
    host: str | None = _opt(None, "--host", help_text=_("For an agent key: the machine it runs on.")),
    reported_at: str | None = _opt(None, "--reported-at", help_text=_(
        "When the municipality was told of this person (required before a person added after the work began acts).")),
    remarks: str | None = remarks_option(),
    from_file: str | None = from_file_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        body = _body(from_file, {
            "vkey": _vkey_from(vkey, vkey_from), "name": name, "organisation": organisation, "title": title,
            "contact": contact, "tier": tier, "role": role, "employment": employment, "pledge_date": pledge_date,
            "training_date": training_date, "subcontract_id": subcontract_id, "host": host, "remarks": remarks,
            "reported_at": reported_at,
        })
        body.setdefault("tier", "vendor")
        body.setdefault("role", "operator")
        if "organisation" not in body and body["tier"] == "vendor" and _vendor_name(s.state):
            body["organisation"] = _vendor_name(s.state)
        _need(body.get("vkey"), "--vkey / --vkey-from")
        s.act("personnel.registered", body, json_out, key_name=str(body["vkey"]).split("+", 1)[0])

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def person_change(
    key_name: str = typer.Argument(..., help=_("The person's key name.")),
    name: str | None = _opt(None, "--name", help_text=_("Full name.")),
    organisation: str | None = _opt(None, "--organisation", help_text=_("Organisation.")),
    title: str | None = _opt(None, "--title", help_text=_("Title.")),
    contact: str | None = _opt(None, "--contact", help_text=_("Contact.")),
    tier: str | None = _opt(None, "--tier", help_text=_("vendor, subcontractor or sub-subcontractor."),
                            callback=_choices(TIERS)),
    role: str | None = _opt(None, "--role", help_text=_("operator (作業従事者), responsible (作業責任者) or agent."),
                            callback=_choices(ROLES)),
    employment: str | None = _opt(None, "--employment",
                                  help_text=_("regular, dispatched, contract, part_time or other.")),
    pledge_date: str | None = _opt(None, "--pledge-date", help_text=_("Date of the confidentiality pledge (誓約書).")),
    training_date: str | None = _opt(None, "--training-date", help_text=_("Date of the privacy training.")),
    subcontract_id: str | None = _opt(None, "--subcontract-id",
                                      help_text=_("For subcontractor staff: the recorded subcontract approval id.")),
    reason: str | None = _opt(None, "--reason", help_text=_("Reason for the change.")),
    approval_reference: str | None = _opt(
        None, "--approval-reference",
        help_text=_("The municipality's approval of a change of responsible person (第6-3)."),
    ),
    reported_at: str | None = _opt(None, "--reported-at",
                                   help_text=_("When the change was reported to the municipality.")),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    changes = _merge({}, {
        "name": name, "organisation": organisation, "title": title, "contact": contact, "tier": tier, "role": role,
        "employment": employment, "pledge_date": pledge_date, "training_date": training_date,
        "subcontract_id": subcontract_id,
    })
    if not changes and reported_at is None:
        raise UsageError(_("Nothing to change: give at least one of the options."))
    body = _merge({"key_name": key_name, "changes": changes}, {
        "reason": reason, "approval_reference": approval_reference, "reported_at": reported_at,
    })
    _run(ledger_dir, key, passphrase_file, log_passphrase_file,
         lambda s: s.act("personnel.changed", body, json_out))


def person_remove(
    key_name: str = typer.Argument(..., help=_("The person's key name.")),
    reason: str | None = _opt(None, "--reason", help_text=_("Reason for the removal.")),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    body = _merge({"key_name": key_name}, {"reason": reason})
    _run(ledger_dir, key, passphrase_file, log_passphrase_file,
         lambda s: s.act("personnel.removed", body, json_out))


def person_exit_check(
    key_name: str = typer.Argument(..., help=_("The leaver's key name.")),
    checked_at: str | None = _opt(None, "--checked-at", help_text=_("When the check was made (default: now).")),
    returned: list[str] = _opt([], "--returned", help_text=_("What the leaver handed back, e.g. 入館証 (repeatable).")),
    access_revoked: bool = _opt(False, "--access-revoked",
                                help_text=_("The leaver's accounts and access rights are removed.")),
    no_data_kept: bool = _opt(False, "--no-data-kept", help_text=_("The leaver keeps no data (checked).")),
    remarks: str | None = remarks_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    body = _merge({"key_name": key_name, "checked_at": checked_at or _now(), "access_revoked": access_revoked,
                   "no_data_kept": no_data_kept}, {"returned": returned or None, "remarks": remarks})
    _run(ledger_dir, key, passphrase_file, log_passphrase_file,
         lambda s: s.act("personnel.exit_checked", body, json_out))


def person_statement(
    statement: str = _opt(..., "--statement", help_text=_("The statement in words.")),
    no_data_kept: bool = _opt(False, "--no-data-kept",
                              help_text=_("State that you keep none of the municipality's data (required).")),
    scope: list[str] = _opt([], "--scope", help_text=_(
        "What you checked: work_pcs, development_machines, servers, backups, mail, paper, personal_devices, "
        "other (repeatable).")),
    remarks: str | None = remarks_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    if not no_data_kept:
        raise UsageError(_("A statement says that you keep no data: give --no-data-kept."))

    def build(s: _Session) -> None:
        body = _merge({"key_name": s.signer.name, "no_data_kept": True, "statement": statement},
                      {"scope": scope or None, "remarks": remarks})
        s.act("personnel.statement", body, json_out)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def _tier_label(tier: str) -> str:
    from custody.ledger.vocabulary import TIERS, word

    return word(TIERS, tier)


def _role_label(role: str) -> str:
    from custody.ledger.vocabulary import ROLES, word

    return word(ROLES, role)


def person_list(
    ledger_dir: str = ledger_option(),
    json_out: bool = json_option(),
) -> None:
    state = _read_state(ledger_dir)
    rows = [
        {"key_name": p.key_name, "name": p.name, "organisation": p.organisation, "tier": p.tier, "role": p.role,
         "registered_seq": p.registered_seq, "removed_seq": p.removed_seq, "subcontract_id": p.subcontract_id}
        for p in state.people.values()
    ]
    if json_out:
        print_json(rows)
        return
    _people_table(state)


def _print_table(table: Any) -> None:
    """A table at the terminal's width; into a file or a pipe, wide enough not to fold (200 columns)."""
    if out.is_terminal:
        out.print(table)
        return
    import sys

    from rich.console import Console

    Console(file=sys.stdout, width=200, highlight=False).print(table)


def _people_table(state: LedgerState) -> None:
    from rich.table import Table

    table = Table(title=_("People"), show_lines=False)
    for header in (_("Key name"), _("Name"), _("Organisation"), _("Tier"), _("Role"), _("Registered"),
                   _("Removed"), _("Subcontract approval")):
        table.add_column(header, overflow="fold")
    for p in state.people.values():
        table.add_row(p.key_name, p.name, p.organisation, _tier_label(p.tier), _role_label(p.role),
                      str(p.registered_seq), "" if p.removed_seq is None else str(p.removed_seq),
                      p.subcontract_id or "")
    _print_table(table)


# --- subcontract ---


def subcontract_request(
    name: str | None = _opt(None, "--name", help_text=_("The subcontractor's name.")),
    tier: str | None = _opt(None, "--tier", help_text=_("subcontractor or sub-subcontractor."),
                            callback=_choices(TIERS[1:])),
    parent: str | None = _opt(None, "--parent", help_text=_("For a sub-subcontractor: the subcontractor above it.")),
    address: str | None = _opt(None, "--address", help_text=_("Address.")),
    reason: str | None = _opt(None, "--reason", help_text=_("Why the work is subcontracted.")),
    scope: str | None = _opt(None, "--scope", help_text=_("Scope of the work.")),
    data_handled: str | None = _opt(None, "--data-handled", help_text=_("Personal data the subcontractor handles.")),
    safeguards: str | None = _opt(None, "--safeguards", help_text=_("Safeguards required of the subcontractor.")),
    supervision: str | None = _opt(None, "--supervision", help_text=_("How the vendor supervises it.")),
    purpose: str | None = _opt(None, "--purpose", help_text=_("Purpose.")),
    requester: str | None = _opt(None, "--requester", help_text=_("Requester (default: the name in --key).")),
    output: str = output_option(),
    from_file: str | None = from_file_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
) -> None:
    fields = _body(from_file, {
        "requester": _requester(requester, key), "purpose": purpose,
        "subcontractor": {"name": name, "tier": tier, "parent": parent, "address": address, "reason": reason,
                          "scope": scope, "data_handled": data_handled, "safeguards": safeguards,
                          "supervision": supervision},
    })
    fields.setdefault("subcontractor", {}).setdefault("tier", "subcontractor")
    if "purpose" not in fields and isinstance(fields["subcontractor"].get("scope"), str):
        fields["purpose"] = fields["subcontractor"]["scope"]
    _write_request(ledger_dir, "subcontract", fields, output)


def subcontract_record(
    approval: str = approval_option(),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        body = _merge({"approval": s.approval(approval, "subcontract")[0]},
                      {"remarks": remarks, "attachments": s.files(attach)})
        s.act("subcontract.approved", body, json_out)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


# --- keys ---


def key_rotate(
    new_key: str | None = _opt(None, "--new-key", help_text=_("The new key file (custody key new, same name).")),
    new_vkey: str | None = _opt(None, "--new-vkey", help_text=_("The new vkey (instead of --new-key).")),
    key_name: str | None = _opt(None, "--key-name", help_text=_("Whose key (default: the signer's own).")),
    reason: str | None = _opt(None, "--reason", help_text=_("Reason.")),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    vkey = _need(_vkey_from(new_vkey, new_key), "--new-key / --new-vkey")

    def build(s: _Session) -> None:
        body = _merge({"key_name": key_name or s.signer.name, "new_vkey": vkey}, {"reason": reason})
        s.act("key.rotated", body, json_out)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def key_revoke(
    key_name: str = _opt(..., "--key-name", help_text=_("Whose key.")),
    vkey: str | None = _opt(None, "--vkey", help_text=_("The vkey of the key to revoke.")),
    revoked_key: str | None = _opt(None, "--revoked-key", help_text=_("The key file (or vkey file) to revoke.")),
    reason: str = _opt(..., "--reason", help_text=_("Reason (lost, compromised, ...).")),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    target = _need(_vkey_from(vkey, revoked_key), "--vkey / --revoked-key")
    body = {"key_name": key_name, "vkey": target, "reason": reason}
    _run(ledger_dir, key, passphrase_file, log_passphrase_file, lambda s: s.act("key.revoked", body, json_out))


# --- media: receive, register ---


def _medium_fields(
    s: _Session, *, media_id: str | None, kind: str | None, label: str | None, make: str | None,
    model: str | None, serial: str | None, capacity: str | None, hardware_encryption: bool | None,
    property_number: str | None, volume_uuid: str | None, volume_label: str | None, items: list[str],
    records: int | None, my_number: bool | None, classification: str | None, storage_place: str | None,
    cabinet: str | None, work_location: str | None, custodian: str | None,
) -> dict[str, Any]:
    return {
        "media_id": media_id, "kind": kind, "label": label, "make": make, "model": model, "serial": serial,
        "capacity": capacity, "hardware_encryption": hardware_encryption, "property_number": property_number,
        "volume_uuid": volume_uuid, "volume_label": volume_label,
        "contents": _contents(_items(items, s.state), records, my_number, classification, s.state),
        "storage": {"place": storage_place, "cabinet": cabinet, "work_location": work_location},
        "custodian": _person_ref(s.state, custodian),
    }


def _medium_defaults(s: _Session, body: dict[str, Any], *, empty_contents: bool = False) -> None:
    body.setdefault("custodian", s.signer.name)
    storage = body.setdefault("storage", {})
    if "place" not in storage and _work_place(s.state):
        storage["place"] = _work_place(s.state)
    if empty_contents:
        body.setdefault("contents", {"items": [], "records": 0, "my_number": False})


def _receipt_items(values: list[str]) -> list[dict[str, Any]]:
    found = []
    for value in values:
        parts = value.rsplit(":", 3)
        if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
            raise UsageError(_("--receipt-item takes NAME:MEDIA_NAME:QUANTITY:RECORDS (got {value!r}).").format(
                value=value))
        found.append({"name": parts[0], "media_name": parts[1], "quantity": int(parts[2]),
                      "records": int(parts[3])})
    return found


def kind_label(kind: str) -> str:
    """A media kind (code) as a word of the process's language (ledger/vocabulary.py); for display only."""
    from custody.ledger.vocabulary import KINDS, word

    return word(KINDS, kind)


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


def media_receive(
    media_id: str | None = _opt(None, "--media-id", "-m",
                                help_text=required_help(_("Media id (媒体番号), e.g. M-001."))),
    kind: str | None = _opt(None, "--kind", callback=_choices(MEDIA_KINDS),
                            help_text=required_help(_("usb, hdd, ssd, sd, optical, tape, paper or other."))),
    label: str | None = _opt(None, "--label", help_text=_("Label written on the medium.")),
    make: str | None = _opt(None, "--make", help_text=_("Maker.")),
    model: str | None = _opt(None, "--model", help_text=_("Model.")),
    serial: str | None = _opt(None, "--serial",
                              help_text=required_help(_("Serial number (for paper: the document number)."))),
    capacity: str | None = _opt(None, "--capacity", help_text=_("Capacity, e.g. 32 GB.")),
    hardware_encryption: bool | None = _opt(None, "--hardware-encryption/--no-hardware-encryption",
                                            help_text=_("Whether the medium encrypts in hardware.")),
    property_number: str | None = _opt(None, "--property-number", help_text=_("Property (asset) number.")),
    volume_uuid: str | None = _opt(None, "--volume-uuid",
                                   help_text=_("Filesystem UUID, so that the agent recognises the volume.")),
    volume_label: str | None = _opt(None, "--volume-label", help_text=_("Filesystem label.")),
    items: list[str] = item_option(),
    records: int | None = _opt(None, "--records", help_text=_("Total record count (default: the items' sum).")),
    my_number: bool | None = _opt(None, "--my-number/--no-my-number",
                                  help_text=_("Whether it holds My Number data (default: from the contract).")),
    classification: str | None = _opt(None, "--classification", help_text=_("Classification, e.g. 機密性3.")),
    storage_place: str | None = _opt(None, "--storage-place",
                                     help_text=_("Locked storage place (default: the work location).")),
    cabinet: str | None = _opt(None, "--cabinet", help_text=_("Cabinet (保管庫).")),
    work_location: str | None = _opt(None, "--work-location", help_text=_("Work location id.")),
    custodian: str | None = _opt(None, "--custodian", help_text=_("Custodian's key name (default: the signer).")),
    receipt_number: str | None = _opt(None, "--receipt-number",
                                      help_text=required_help(_("Handover receipt (預り証) number."))),
    receipt_at: str | None = _opt(None, "--receipt-at", help_text=_("Date-time of the handover (default: now).")),
    receipt_place: str | None = _opt(None, "--receipt-place", help_text=_("Place of the handover.")),
    means: str | None = _opt(None, "--means", help_text=_("by_hand, transport, online, mail or other."),
                             callback=_choices(MEANS)),
    from_org: str | None = _opt(None, "--from-org", help_text=_("Handed over by: organisation.")),
    from_person: str | None = _opt(None, "--from-person", help_text=_("Handed over by: person.")),
    to_org: str | None = _opt(None, "--to-org", help_text=_("Received by: organisation (default: the vendor).")),
    to_person: str | None = _opt(None, "--to-person", help_text=_("Received by: person (default: the signer).")),
    receipt_item: list[str] = _opt([], "--receipt-item", help_text=_(
        "Receipt line NAME:MEDIA_NAME:QUANTITY:RECORDS (repeatable; default: this medium's items).")),
    seal: list[str] = seal_option(),
    encrypted: bool | None = _opt(None, "--encrypted/--not-encrypted",
                                  help_text=_("Whether the data was handed over encrypted.")),
    return_due: str | None = _opt(None, "--return-due", help_text=_("When the medium must be returned.")),
    receipt_scan: str | None = _opt(None, "--receipt-scan", help_text=_("Scan of the signed receipt.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    from_file: str | None = from_file_option(),
    from_csv: str | None = _opt(None, "--from-csv", "--from-xlsx", help_text=_(
        "A whole handover receipt: one medium per row of a CSV or XLSX file (columns: docs/receipt-import.md). "
        "Every row is checked first; nothing is recorded unless all are valid. The other options give the "
        "values of empty cells.")),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    fields: dict[str, Any] = {
        "media_id": media_id, "kind": kind, "label": label, "make": make, "model": model, "serial": serial,
        "capacity": capacity, "hardware_encryption": hardware_encryption, "property_number": property_number,
        "volume_uuid": volume_uuid, "volume_label": volume_label, "items": items, "records": records,
        "my_number": my_number, "classification": classification, "storage_place": storage_place,
        "cabinet": cabinet, "work_location": work_location, "custodian": custodian,
        "receipt_number": receipt_number, "receipt_at": receipt_at, "receipt_place": receipt_place, "means": means,
        "from_org": from_org, "from_person": from_person, "to_org": to_org, "to_person": to_person,
        "receipt_item": receipt_item, "seal": seal, "encrypted": encrypted, "return_due": return_due,
        "receipt_scan": receipt_scan, "remarks": remarks, "attach": attach,
    }
    if from_csv is not None:
        if from_file is not None:
            raise UsageError(_("--from-csv and --from-file cannot be given together."),
                             hint=_("Put the values of every medium in the file's columns."))
        from custody.cli.receipt_import import read_rows

        rows = read_rows(Path(from_csv))  # every cell checked before the key is opened

        def build_many(s: _Session) -> None:
            _receive_many(s, Path(from_csv), rows, fields, json_out)

        _run(ledger_dir, key, passphrase_file, log_passphrase_file, build_many)
        return
    missing = [option for option, value in (("--media-id", media_id), ("--kind", kind), ("--serial", serial),
                                            ("--receipt-number", receipt_number)) if value is None]
    if missing and from_file is None:  # before the key is opened
        raise UsageError(_("Missing option(s): {options}.").format(options=", ".join(missing)),
                         hint=_("Give them, or a body with --from-file, or many media with --from-csv."))

    def build(s: _Session) -> None:
        body = _receive_body(s, fields, from_file)
        s.act("media.received", body, json_out, media_id=body.get("media_id"))

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def _receive_body(s: _Session, f: dict[str, Any], from_file: str | None) -> dict[str, Any]:
    """The body of one media.received entry from the options' values ``f`` (the command's, or one row's)."""
    explicit = _medium_fields(
        s, media_id=f["media_id"], kind=f["kind"], label=f["label"], make=f["make"], model=f["model"],
        serial=f["serial"], capacity=f["capacity"], hardware_encryption=f["hardware_encryption"],
        property_number=f["property_number"], volume_uuid=f["volume_uuid"], volume_label=f["volume_label"],
        items=f["items"], records=f["records"], my_number=f["my_number"], classification=f["classification"],
        storage_place=f["storage_place"], cabinet=f["cabinet"], work_location=f["work_location"],
        custodian=f["custodian"],
    )
    explicit.update(remarks=f["remarks"], attachments=s.files(f["attach"]), receipt={
        "number": f["receipt_number"], "at": f["receipt_at"], "place": f["receipt_place"], "means": f["means"],
        "from": {"organisation": f["from_org"], "person": f["from_person"]},
        "to": {"organisation": f["to_org"], "person": f["to_person"]},
        "items": _receipt_items(f["receipt_item"]) or None, "seals": f["seal"] or None, "encrypted": f["encrypted"],
        "return_due": f["return_due"], "scan": s.file(f["receipt_scan"]),
    })
    body = _body(from_file, explicit)
    _medium_defaults(s, body)
    body.setdefault("contents", {"items": [], "records": 0, "my_number": bool(s.state.my_number)})
    receipt = body.setdefault("receipt", {})
    receipt.setdefault("at", _now())
    receipt.setdefault("means", "by_hand")
    receipt.setdefault("place", _municipality_name(s.state) or "-")
    handed_from = receipt.setdefault("from", {})
    handed_from.setdefault("organisation", _municipality_name(s.state) or "-")
    to = receipt.setdefault("to", {})
    to.setdefault("organisation", _vendor_name(s.state) or "-")
    if "person" not in to:
        person = s.state.people.get(s.signer.name)
        to["person"] = person.name if person is not None and person.name else s.signer.name
    receipt.setdefault("items", _default_receipt_items(body))
    return body


# Where a refused body's field came from: the first part of its path -> the column (receipt_import.COLUMNS).
_FIELD_COLUMNS = {
    "media_id": "media_id", "kind": "kind", "label": "label", "make": "make", "model": "model", "serial": "serial",
    "capacity": "capacity", "hardware_encryption": "hardware_encryption", "property_number": "property_number",
    "volume_uuid": "volume_uuid", "volume_label": "volume_label", "contents.items": "items",
    "contents.records": "records", "contents.my_number": "my_number", "contents.classification": "classification",
    "contents": "items", "storage.place": "storage_place", "storage.cabinet": "cabinet",
    "storage.work_location": "work_location", "custodian": "custodian", "receipt.number": "receipt_number",
    "receipt.at": "receipt_at", "receipt.place": "receipt_place", "receipt.means": "means",
    "receipt.from.organisation": "from_org", "receipt.from.person": "from_person", "receipt.from": "from_person",
    "receipt.to.organisation": "to_org", "receipt.to.person": "to_person",
    "receipt.to": "to_person", "receipt.seals": "seal", "receipt.encrypted": "encrypted",
    "receipt.return_due": "return_due", "receipt": "receipt_number", "remarks": "remarks",
}


def _column_of_field(path: str) -> str | None:
    parts = [p for p in path.replace("/", ".").split(".") if p and not p.isdigit()]
    while parts:
        key = ".".join(parts)
        if key in _FIELD_COLUMNS:
            return _FIELD_COLUMNS[key]
        parts.pop()
    return None


def _receive_many(s: _Session, path: Path, rows: list[Any], fields: dict[str, Any], json_out: bool) -> None:
    """Record every row of a receipt file in one transaction, or none (custody.cli.receipt_import)."""
    from custody.cli.receipt_import import ImportRowsError, RowProblem, header_of
    from custody.ledger.errors import BatchRefusal, CustodyError, RuleRefusal, SchemaError
    from custody.ledger.workflow import act_many

    bodies: list[dict[str, Any]] = []
    problems: list[RowProblem] = []
    for row in rows:
        merged = {**fields, **row.values}
        try:
            bodies.append(_receive_body(s, merged, None))
        except CustodyError as exc:  # a value the options' parsers refuse (an item, a receipt line)
            problems.append(RowProblem(row.row, "", exc.message))
            bodies.append({})
    if problems:
        raise ImportRowsError(path, problems)
    if not fields["receipt_item"]:
        _whole_receipts(bodies)
    warnings: list[Violation] = []
    try:
        entries = act_many(s.ledger, [("media.received", body) for body in bodies], s.signer,
                           attachments=s.blobs, warnings=warnings)
    except BatchRefusal as refused:
        for index, problem in refused.problems:
            row = rows[index]
            if isinstance(problem, RuleRefusal):
                problems.append(RowProblem(row.row, "", problem.diagnostic().replace("\n", " ")))
                continue
            # check_event raises the schema's error as a UsageError "from None": the SchemaError, which names
            # the field, is still its __context__ (only its display is suppressed).
            cause = problem.__context__
            column = _column_of_field(cause.field if isinstance(cause, SchemaError) else "")
            problems.append(RowProblem(row.row, header_of(row, column) if column else "", problem.message))
        raise ImportRowsError(path, problems, exit_code=refused.exit_code) from None
    last = entries[-1]
    try:
        s.ledger.checkpoint_after(last, lambda: optional_log_signer(s.ledger, optional_path(s.log_passphrase_file)))
    finally:
        if json_out:
            print_json({"recorded": [{"seq": e.seq, "media_id": b.get("media_id"), "leaf_hash": e.leaf_hash.hex()}
                                     for e, b in zip(entries, bodies, strict=True)],
                        "warnings": [v.to_json() for v in warnings]})
        else:
            out.line(_("Recorded {n} media as entries {first}-{last} (media.received).").format(
                n=len(entries), first=entries[0].seq, last=last.seq))
        for v in warnings:
            _print_violation(v)


def _whole_receipts(bodies: list[dict[str, Any]]) -> None:
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


def media_register(
    media_id: str | None = media_id_option(),
    kind: str | None = _opt(None, "--kind", help_text=_("usb, hdd, ssd, sd, optical, tape, paper or other."),
                            callback=_choices(MEDIA_KINDS)),
    label: str | None = _opt(None, "--label", help_text=_("Label written on the medium.")),
    make: str | None = _opt(None, "--make", help_text=_("Maker.")),
    model: str | None = _opt(None, "--model", help_text=_("Model.")),
    serial: str | None = _opt(None, "--serial", help_text=_("Serial number (for paper: the document number).")),
    capacity: str | None = _opt(None, "--capacity", help_text=_("Capacity, e.g. 32 GB.")),
    hardware_encryption: bool | None = _opt(None, "--hardware-encryption/--no-hardware-encryption",
                                            help_text=_("Whether the medium encrypts in hardware.")),
    property_number: str | None = _opt(None, "--property-number", help_text=_("Property (asset) number.")),
    volume_uuid: str | None = _opt(None, "--volume-uuid",
                                   help_text=_("Filesystem UUID, so that the agent recognises the volume.")),
    volume_label: str | None = _opt(None, "--volume-label", help_text=_("Filesystem label.")),
    items: list[str] = item_option(),
    records: int | None = _opt(None, "--records", help_text=_("Total record count (default: the items' sum).")),
    my_number: bool | None = _opt(None, "--my-number/--no-my-number",
                                  help_text=_("Whether it holds My Number data.")),
    classification: str | None = _opt(None, "--classification", help_text=_("Classification, e.g. 機密性3.")),
    storage_place: str | None = _opt(None, "--storage-place",
                                     help_text=_("Locked storage place (default: the work location).")),
    cabinet: str | None = _opt(None, "--cabinet", help_text=_("Cabinet (保管庫).")),
    work_location: str | None = _opt(None, "--work-location", help_text=_("Work location id.")),
    custodian: str | None = _opt(None, "--custodian", help_text=_("Custodian's key name (default: the signer).")),
    source: str | None = _opt(None, "--source", help_text=_("Where it came from (default: vendor stock).")),
    purpose: str | None = _opt(None, "--purpose", help_text=_("What it is used for.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    from_file: str | None = from_file_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        explicit = _medium_fields(
            s, media_id=media_id, kind=kind, label=label, make=make, model=model, serial=serial, capacity=capacity,
            hardware_encryption=hardware_encryption, property_number=property_number, volume_uuid=volume_uuid,
            volume_label=volume_label, items=items, records=records,
            my_number=my_number if my_number is not None else (False if not items else None),
            classification=classification, storage_place=storage_place, cabinet=cabinet,
            work_location=work_location, custodian=custodian,
        )
        explicit.update(source=source, purpose=purpose, remarks=remarks, attachments=s.files(attach))
        body = _body(from_file, explicit)
        _medium_defaults(s, body, empty_contents=True)
        body.setdefault("source", "vendor_stock")  # a code (ledger/vocabulary.py SOURCES), never a translated word
        s.act("media.registered", body, json_out, media_id=body.get("media_id"))

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


# --- media: checkout, checkin ---


def media_checkout(
    media_id: str = _opt(..., "--media-id", "-m", help_text=_("Media id (媒体番号), e.g. M-001.")),
    purpose: str = _opt(..., "--purpose", help_text=_("What the medium is taken out of storage for.")),
    person: str | None = _opt(None, "--person", help_text=_("Who takes it (key name; default: the signer).")),
    workstation: str | None = _opt(None, "--workstation", help_text=_("Workstation it is used on.")),
    seal: list[str] = seal_option(),
    remarks: str | None = remarks_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        body = _merge({"media_id": media_id, "person": person or s.signer.name, "purpose": purpose}, {
            "workstation": workstation, "seals": seal or None, "remarks": remarks,
        })
        s.act("media.checked_out", body, json_out, media_id=media_id)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def media_checkin(
    media_id: str = _opt(..., "--media-id", "-m", help_text=_("Media id (媒体番号), e.g. M-001.")),
    person: str | None = _opt(None, "--person", help_text=_("Who puts it back (key name; default: the signer).")),
    seal: list[str] = seal_option(),
    seals_intact: bool = _opt(True, "--seals-intact/--seals-broken", help_text=_("Whether the seals were intact.")),
    manifest_sha256: str | None = _opt(None, "--manifest-sha256", help_text=_("SHA-256 of the file manifest.")),
    remarks: str | None = remarks_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        body = _merge({"media_id": media_id, "person": person or s.signer.name, "seals_intact": seals_intact}, {
            "seals": seal or None, "manifest_sha256": manifest_sha256, "remarks": remarks,
        })
        s.act("media.checked_in", body, json_out, media_id=media_id)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


# --- requests (applications) ---


def _requester(requester: str | None, key: str | None) -> str | None:
    if requester is not None or key is None:
        return requester
    from custody.ledger.keyfile import key_file_info

    name, _public = key_file_info(Path(key))
    return name


def _read_state(ledger_dir: str) -> LedgerState:
    from custody.ledger.ledger import Ledger
    from custody.ledger.workflow import current_state

    with Ledger.open(Path(ledger_dir)) as ledger:
        return current_state(ledger)


def _write_request(ledger_dir: str, kind: str, fields: dict[str, Any], output: str,
                   state: LedgerState | None = None, origin: str | None = None) -> None:
    from custody.ledger.approval import make_request
    from custody.ledger.errors import SchemaError
    from custody.ledger.ledger import Ledger

    if origin is None:
        with Ledger.open(Path(ledger_dir)) as ledger:
            origin = ledger.origin
    fields = {**fields}
    fields.setdefault("origin", origin)
    fields.setdefault("requested_at", _now())
    _need(fields.get("requester"), "--requester / --key")
    try:
        doc = make_request(kind, fields)
    except SchemaError as exc:
        raise UsageError(
            _("The application is not valid: {why}").format(why=exc.message),
            hint=_("Check the option or the --from-file field '{field}'.").format(field=exc.field or "-"),
        ) from None
    _write_bytes(output, (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    err.print(_("Application written to {path}; hand it to the municipality's approver.").format(path=output),
              markup=False)


def _refuse_application(state: LedgerState, kind: str, media_ids: list[str], *, targets: list[str] | None = None,
                        category: str | None = None) -> None:
    """What no approval could make valid is refused before the application is written (ledger.lifecycle)."""
    from custody.ledger.lifecycle.applications import refuse_application

    refuse_application(state, kind, media_ids, targets=targets or [], category=category)


def takeout_request(
    media_ids: list[str] = media_ids_option(),
    purpose: str | None = _opt(None, "--purpose", help_text=_("Purpose of the takeout.")),
    destination: str | None = _opt(None, "--destination", help_text=_("Where the media go.")),
    transport: str | None = _opt(None, "--transport",
                                 help_text=_("Transport method, e.g. 'by hand in a locked case'.")),
    carriers: list[str] = _opt([], "--carrier", help_text=_("Carrier (registered key name), repeatable.")),
    planned_out: str | None = _opt(None, "--planned-out", help_text=_("Planned departure (date-time).")),
    planned_return: str | None = _opt(None, "--planned-return", help_text=_("Planned return (date-time).")),
    encryption_method: str | None = _opt(None, "--encryption-method", help_text=_("software or hardware.")),
    encryption_algorithm: str | None = _opt(None, "--encryption-algorithm", help_text=_("e.g. AES-256-XTS.")),
    password_channel: str | None = _opt(None, "--password-channel", help_text=_("How the password travels.")),
    erasure_plan: str | None = _opt(None, "--erasure-plan", help_text=_("How the data is erased after use.")),
    origin_place: str | None = _opt(None, "--origin-place",
                                    help_text=_("Where the media leave from (default: the work location).")),
    items: list[str] = item_option(),
    requester: str | None = _opt(None, "--requester", help_text=_("Requester (default: the name in --key).")),
    output: str = output_option(),
    from_file: str | None = from_file_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
) -> None:
    state = _read_state(ledger_dir)
    fields = _body(from_file, {
        "requester": _requester(requester, key), "media": media_ids or None, "purpose": purpose,
        "destination": destination, "transport": transport, "carriers": carriers or None,
        "planned_out": planned_out, "planned_return": planned_return,
        "encryption": {"method": encryption_method, "algorithm": encryption_algorithm,
                       "password_channel": password_channel},
        "erasure_plan": erasure_plan, "origin_place": origin_place, "data_items": _items(items, state) or None,
    })
    media = list(fields.get("media") or [])
    _refuse_application(state, "takeout", media)
    fields.setdefault("origin_place", _work_place(state) or "-")
    fields.setdefault("data_items", _media_data_items(state, media))
    fields.setdefault("planned_out", _now())
    _write_request(ledger_dir, "takeout", fields, output, state, state.origin)


def copy_request(
    media_ids: list[str] = media_ids_option(),
    copies: int | None = _opt(None, "--copies", help_text=_("Number of copies (default: one per --target).")),
    targets: list[str] = _opt([], "--target", help_text=_("Media id of a copy to make (repeatable).")),
    purpose: str | None = _opt(None, "--purpose", help_text=_("Purpose of the copy.")),
    disposal_method: str | None = _opt(None, "--disposal-method",
                                       help_text=_("How the copies end: erase, destroy or return.")),
    disposal_by: str | None = _opt(None, "--disposal-by", help_text=_("By when (date-time).")),
    disposal_description: str | None = _opt(None, "--disposal-description", help_text=_("How, in words.")),
    items: list[str] = item_option(),
    requester: str | None = _opt(None, "--requester", help_text=_("Requester (default: the name in --key).")),
    output: str = output_option(),
    from_file: str | None = from_file_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
) -> None:
    state = _read_state(ledger_dir)
    fields = _body(from_file, {
        "requester": _requester(requester, key), "media": media_ids or None, "purpose": purpose,
        "copies": copies if copies is not None else (len(targets) or None), "target_media": targets or None,
        "disposal": {"method": disposal_method, "by": disposal_by, "description": disposal_description},
        "data_items": _items(items, state) or None,
    })
    media = list(fields.get("media") or [])
    _refuse_application(state, "copy", media, targets=list(fields.get("target_media") or []))
    fields.setdefault("copies", 1)
    fields.setdefault("data_items", _media_data_items(state, media))
    _write_request(ledger_dir, "copy", fields, output, state, state.origin)


def dispose_request(
    media_ids: list[str] = media_ids_option(),
    number: str | None = _opt(None, "--number", help_text=_("Application number (申請番号).")),
    category: str | None = _opt(None, "--category", help_text=_("NIST SP 800-88 category: destroy, purge or clear.")),
    technique: str | None = _opt(None, "--technique", help_text=_("Technique, e.g. shred, degauss, crypto erase.")),
    tool: str | None = _opt(None, "--tool", help_text=_("Tool.")),
    planned_date: str | None = _opt(None, "--planned-date", help_text=_("Planned date (YYYY-MM-DD).")),
    place: str | None = _opt(None, "--place", help_text=_("Place (default: the work location).")),
    operator: str | None = _opt(None, "--operator", help_text=_("Who will do it (key name or name).")),
    witness_required: bool | None = _opt(None, "--witness-required/--no-witness-required",
                                         help_text=_("Whether a witness (立会者) attends (default: yes).")),
    purpose: str | None = _opt(None, "--purpose", help_text=_("Why the media are disposed of.")),
    requester: str | None = _opt(None, "--requester", help_text=_("Requester (default: the name in --key).")),
    output: str = output_option(),
    from_file: str | None = from_file_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
) -> None:
    state = _read_state(ledger_dir)
    items = []
    for media_id in media_ids:
        m = _medium(state, media_id)
        contents = m.record.get("contents", {}).get("items", [])
        name = contents[0]["name"] if isinstance(contents, list) and contents else (m.record.get("label") or m.id)
        items.append({"name": name, "media_name": m.kind, "media_id": m.id, "serial": m.serial,
                      "quantity": 1})
    fields = _body(from_file, {
        "requester": _requester(requester, key), "purpose": purpose,
        "application": {
            "number": number, "items": items or None, "method": {"category": category, "technique": technique},
            "tool": tool, "planned_date": planned_date, "place": place,
            "operator": _person_ref(state, operator), "witness_required": witness_required,
        },
    })
    application = fields.setdefault("application", {})
    listed = [i.get("media_id") for i in application.get("items", []) if isinstance(i, dict)]
    application.setdefault("place", _work_place(state) or "-")
    application.setdefault("witness_required", True)
    application.setdefault("planned_date", _now()[:10])
    fields.setdefault("purpose", "end_of_use")  # a code (ledger/vocabulary.py PURPOSES)
    method = application.get("method", {})
    _refuse_application(state, "dispose", [m for m in listed if isinstance(m, str)],
                        category=method.get("category") if isinstance(method, dict) else None)
    if state.my_number and application.get("witness_required") is False:
        err.print(_("Note: this contract involves My Number data; a disposal without a witness needs the reason "
                    "recorded (custody dispose record --no-witness-reason)."), markup=False)
    _write_request(ledger_dir, "dispose", fields, output, state, state.origin)


# --- municipality: approve ---


def _load_request(path: str, kind: str) -> dict[str, Any]:
    doc = _load_doc(path, _("the application"))
    if doc.get("kind") != kind:
        raise UsageError(_("{path} is a {actual} application, not a {kind} application.").format(
            path=path, actual=doc.get("kind", "?"), kind=kind))
    return doc


def _summary(request: dict[str, Any]) -> None:
    """What the approver is about to sign, on stderr."""
    lines = [
        (_("Application"), str(request.get("kind", ""))),
        (_("Origin"), str(request.get("origin", ""))),
        (_("Requester"), json.dumps(request.get("requester"), ensure_ascii=False)),
        (_("Purpose"), str(request.get("purpose", ""))),
    ]
    if request.get("media"):
        lines.append((_("Media"), ", ".join(request["media"])))
    for key, label in (("destination", _("Destination")), ("transport", _("Transport")),
                       ("planned_return", _("Planned return"))):
        if request.get(key):
            lines.append((label, str(request[key])))
    if request.get("carriers"):
        lines.append((_("Carriers"), ", ".join(request["carriers"])))
    if request.get("encryption"):
        lines.append((_("Encryption"), json.dumps(request["encryption"], ensure_ascii=False)))
    app = request.get("application")
    if isinstance(app, dict):
        lines.append((_("Disposal application"), json.dumps(app, ensure_ascii=False)))
    if isinstance(request.get("subcontractor"), dict):
        lines.append((_("Subcontractor"), json.dumps(request["subcontractor"], ensure_ascii=False)))
    for label, value in lines:
        err.print(f"{label}: {value}", markup=False)


def _approve(
    kind: str, *, request: str, output: str, approval_id: str, valid_from: str | None, valid_until: str | None,
    valid_days: int, max_uses: int, conditions: list[str], approver_name: str | None, approver_title: str | None,
    approver_organisation: str | None, origin: str | None, key: str | None, passphrase_file: str | None,
    json_out: bool, overrides: dict[str, Any],
) -> None:
    from custody.ledger.approval import approval_from_request, sign_approval
    from custody.ledger.errors import FormatError, SchemaError
    from custody.ledger.timefmt import format_at, parse_at

    doc = _load_request(request, kind)
    origin = origin or doc.get("origin")
    if not isinstance(origin, str) or not origin:
        raise UsageError(_("The application names no origin; give --origin."))
    approver = {
        "name": str(_need(approver_name, "--approver-name")), "title": str(_need(approver_title, "--approver-title")),
        "organisation": str(_need(approver_organisation, "--approver-organisation")),
    }
    signer = load_signer(optional_path(key), optional_path(passphrase_file))
    now = datetime.now(UTC).astimezone().replace(microsecond=0)
    start = valid_from or format_at(now)
    try:
        until = valid_until or format_at(parse_at(start) + timedelta(days=valid_days))
    except FormatError as exc:
        raise UsageError(_("--valid-from is not a date-time with an offset: {why}").format(why=exc)) from None
    _summary(doc)
    try:
        body = approval_from_request(
            doc, id=approval_id, valid_from=start, valid_until=until, approver=approver,
            approved_at=format_at(now), max_uses=max_uses, conditions=conditions,
            **{k: v for k, v in overrides.items() if v is not None},
        )
        note = sign_approval(origin, body, signer)
    except SchemaError as exc:
        raise UsageError(
            _("The approval would not be valid: {why}").format(why=exc.message),
            hint=_("Check the application and the options (field '{field}').").format(field=exc.field or "-"),
        ) from None
    _write_bytes(output, note)
    if json_out:
        print_json({"approval": str(output), "id": approval_id, "kind": kind, "origin": origin, "body": body,
                    "signed_by": signer.name})
    else:
        out.print(_("Approval {id} ({kind}) signed by {name}, valid {start} .. {until}, written to {path}.").format(
            id=approval_id, kind=kind, name=signer.name, start=start, until=until, path=output), markup=False)


def approval_id_option() -> Any:
    return _opt(..., "--id", help_text=_("The municipality's approval number."))


def valid_from_option() -> Any:
    return _opt(None, "--valid-from", help_text=_("Valid from (date-time; default: now)."))


def valid_until_option() -> Any:
    return _opt(None, "--valid-until", help_text=_("Valid until (date-time; default: --valid-days from the start)."))


def valid_days_option(default: int = DEFAULT_VALID_DAYS) -> Any:
    return _opt(default, "--valid-days", help_text=_("Validity in days when --valid-until is not given."))


def max_uses_option() -> Any:
    return _opt(DEFAULT_MAX_USES, "--max-uses", help_text=_("How many times the approval may be used."))


def condition_option() -> Any:
    return _opt([], "--condition", help_text=_("A condition of the approval (repeatable)."))


def approver_name_option() -> Any:
    return _opt(None, "--approver-name", envvar="CUSTODY_APPROVER_NAME", help_text=_("Approver's name."))


def approver_title_option() -> Any:
    return _opt(None, "--approver-title", envvar="CUSTODY_APPROVER_TITLE", help_text=_("Approver's title."))


def approver_org_option() -> Any:
    return _opt(None, "--approver-organisation", envvar="CUSTODY_APPROVER_ORGANISATION",
                help_text=_("Approver's organisation."))


def origin_option() -> Any:
    return _opt(None, "--origin", help_text=_("The ledger's origin (default: from the application)."))


def approve_key_option() -> Any:
    return typer.Option(None, "--key", "-k", envvar="CUSTODY_KEY", help=_("The approver's signing key file."))


def approve_takeout(
    request: str = request_option(), output: str = output_option(), approval_id: str = approval_id_option(),
    valid_from: str | None = valid_from_option(), valid_until: str | None = valid_until_option(),
    valid_days: int = valid_days_option(), max_uses: int = max_uses_option(),
    conditions: list[str] = condition_option(),
    encryption_min: str = _opt(DEFAULT_ENCRYPTION_MIN, "--encryption-min",
                               help_text=_("Minimum encryption algorithm.")),
    return_by: str | None = _opt(None, "--return-by",
                                 help_text=_("When the media must be back or erased (default: planned return).")),
    approver_name: str | None = approver_name_option(), approver_title: str | None = approver_title_option(),
    approver_organisation: str | None = approver_org_option(), origin: str | None = origin_option(),
    key: str | None = approve_key_option(), passphrase_file: str | None = passphrase_file_option(),
    json_out: bool = json_option(),
) -> None:
    _approve("takeout", request=request, output=output, approval_id=approval_id, valid_from=valid_from,
             valid_until=valid_until, valid_days=valid_days, max_uses=max_uses, conditions=conditions,
             approver_name=approver_name, approver_title=approver_title,
             approver_organisation=approver_organisation, origin=origin, key=key, passphrase_file=passphrase_file,
             json_out=json_out, overrides={"encryption_min": encryption_min or None, "return_by": return_by})


def approve_copy(
    request: str = request_option(), output: str = output_option(), approval_id: str = approval_id_option(),
    valid_from: str | None = valid_from_option(), valid_until: str | None = valid_until_option(),
    valid_days: int = valid_days_option(), max_uses: int = max_uses_option(),
    conditions: list[str] = condition_option(),
    copies: int | None = _opt(None, "--copies", help_text=_("Copies allowed (default: as applied for).")),
    approver_name: str | None = approver_name_option(), approver_title: str | None = approver_title_option(),
    approver_organisation: str | None = approver_org_option(), origin: str | None = origin_option(),
    key: str | None = approve_key_option(), passphrase_file: str | None = passphrase_file_option(),
    json_out: bool = json_option(),
) -> None:
    _approve("copy", request=request, output=output, approval_id=approval_id, valid_from=valid_from,
             valid_until=valid_until, valid_days=valid_days, max_uses=max_uses, conditions=conditions,
             approver_name=approver_name, approver_title=approver_title,
             approver_organisation=approver_organisation, origin=origin, key=key, passphrase_file=passphrase_file,
             json_out=json_out, overrides={"copies": copies})


def approve_dispose(
    request: str = request_option(), output: str = output_option(), approval_id: str = approval_id_option(),
    valid_from: str | None = valid_from_option(), valid_until: str | None = valid_until_option(),
    valid_days: int = valid_days_option(), max_uses: int = max_uses_option(),
    conditions: list[str] = condition_option(),
    evidence_due: str | None = _opt(None, "--evidence-due",
                                    help_text=_("When the disposal record and certificate are due.")),
    approver_name: str | None = approver_name_option(), approver_title: str | None = approver_title_option(),
    approver_organisation: str | None = approver_org_option(), origin: str | None = origin_option(),
    key: str | None = approve_key_option(), passphrase_file: str | None = passphrase_file_option(),
    json_out: bool = json_option(),
) -> None:
    _approve("dispose", request=request, output=output, approval_id=approval_id, valid_from=valid_from,
             valid_until=valid_until, valid_days=valid_days, max_uses=max_uses, conditions=conditions,
             approver_name=approver_name, approver_title=approver_title,
             approver_organisation=approver_organisation, origin=origin, key=key, passphrase_file=passphrase_file,
             json_out=json_out, overrides={"evidence_due": evidence_due})


def approve_subcontract(
    request: str = request_option(), output: str = output_option(), approval_id: str = approval_id_option(),
    valid_from: str | None = valid_from_option(), valid_until: str | None = valid_until_option(),
    valid_days: int = valid_days_option(default_valid_days("subcontract")),
    max_uses: int = max_uses_option(), conditions: list[str] = condition_option(),
    approver_name: str | None = approver_name_option(), approver_title: str | None = approver_title_option(),
    approver_organisation: str | None = approver_org_option(), origin: str | None = origin_option(),
    key: str | None = approve_key_option(), passphrase_file: str | None = passphrase_file_option(),
    json_out: bool = json_option(),
) -> None:
    _approve("subcontract", request=request, output=output, approval_id=approval_id, valid_from=valid_from,
             valid_until=valid_until, valid_days=valid_days, max_uses=max_uses, conditions=conditions,
             approver_name=approver_name, approver_title=approver_title,
             approver_organisation=approver_organisation, origin=origin, key=key, passphrase_file=passphrase_file,
             json_out=json_out, overrides={})


# --- takeout ---


def takeout_depart(
    approval: str = approval_option(),
    media_ids: list[str] = _opt([], "--media-id", "-m",
                                help_text=_("Media id (repeatable; default: the approval's media).")),
    destination: str | None = _opt(None, "--destination", help_text=_("Where the media go (default: approved).")),
    transport: str = _opt(..., "--transport", help_text=_("How they travel (must be the approved method).")),
    carriers: list[str] = _opt(..., "--carrier", help_text=_("Carrier (key name), repeatable: approved carriers.")),
    encryption_method: str = _opt(..., "--encryption-method", help_text=_("software, hardware or none.")),
    encryption_algorithm: str | None = _opt(None, "--encryption-algorithm", help_text=_("e.g. AES-256-XTS.")),
    encryption_verified_by: str | None = _opt(None, "--encryption-verified-by",
                                              help_text=_("Who verified the encryption (key name).")),
    password_channel: str | None = _opt(None, "--password-channel", help_text=_("How the password travels.")),
    purpose: str | None = _opt(None, "--purpose", help_text=_("Purpose of the takeout.")),
    planned_return: str | None = _opt(None, "--planned-return", help_text=_("Planned return (date-time).")),
    seal: list[str] = seal_option(),
    items: list[str] = item_option(),
    records: int | None = _opt(None, "--records", help_text=_("Total record count taken out.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        note, opened = s.approval(approval, "takeout")
        body = _merge({
            "approval": note, "media_ids": media_ids or list(opened.body.media),
            "destination": destination or opened.body.destination, "transport": transport,
            "carriers": carriers,
            "encryption": _merge({"method": encryption_method}, {
                "algorithm": encryption_algorithm, "verified_by": _person_ref(s.state, encryption_verified_by),
                "password_channel": password_channel}),
        }, {
            "purpose": purpose, "planned_return": planned_return, "seals": seal or None,
            "data_items": _items(items, s.state) or None, "records": records, "remarks": remarks,
            "attachments": s.files(attach),
        })
        s.act("takeout.departed", body, json_out, approval_id=opened.id, media_ids=body["media_ids"])

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def _takeout_target(s: _Session, takeout_seq: int | None, media_ids: list[str]) -> tuple[int, list[str]]:
    from custody.ledger.lifecycle.applications import takeout_target

    return takeout_target(s.state, takeout_seq, media_ids)


def takeout_return(
    takeout_seq: int | None = _opt(None, "--takeout", help_text=_("Seq of the takeout.departed entry.")),
    media_ids: list[str] = _opt([], "--media-id", "-m", help_text=_("Media id (default: all still out).")),
    count_out: int | None = _opt(None, "--count-out", help_text=_("Count taken out.")),
    count_in: int | None = _opt(None, "--count-in", help_text=_("Count brought back.")),
    count_match: bool = _opt(True, "--count-match/--count-mismatch", help_text=_("Whether the counts match.")),
    seals_intact: bool = _opt(True, "--seals-intact/--seals-broken", help_text=_("Whether the seals were intact.")),
    checked_by: str | None = _opt(None, "--checked-by", help_text=_("Who checked (default: the signer).")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        seq, media = _takeout_target(s, takeout_seq, media_ids)
        check = _merge({"count_match": count_match, "seals_intact": seals_intact,
                        "checked_by": _person_ref(s.state, checked_by) or s.signer.name},
                       {"count_out": count_out, "count_in": count_in})
        body = _merge({"takeout_seq": seq, "media_ids": media, "check": check},
                      {"remarks": remarks, "attachments": s.files(attach)})
        s.act("takeout.returned", body, json_out, media_ids=media)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def _sanitization(category: str | None, technique: str | None, tool: str | None,
                  tool_version: str | None) -> dict[str, Any]:
    return _merge({}, {"category": category, "technique": technique,
                       "tool": {"name": tool, "version": tool_version} if tool else None})


def _verification(s: _Session, method: str | None, result: str, verifier: str | None,
                  at: str | None = None) -> dict[str, Any]:
    return _merge({"result": result}, {"method": method, "verifier": _person_ref(s.state, verifier) or s.signer.name,
                                       "at": at})


def takeout_erased(
    takeout_seq: int | None = _opt(None, "--takeout", help_text=_("Seq of the takeout.departed entry.")),
    media_ids: list[str] = _opt([], "--media-id", "-m", help_text=_("Media id (default: all still out).")),
    erased_by: str | None = _opt(None, "--erased-by", help_text=_("Who erased (default: the signer).")),
    category: str = _opt("purge", "--category", help_text=_("NIST SP 800-88 category: clear or purge.")),
    technique: str = _opt(..., "--technique", help_text=_("Technique, e.g. cryptographic erase.")),
    tool: str | None = _opt(None, "--tool", help_text=_("Tool.")),
    tool_version: str | None = _opt(None, "--tool-version", help_text=_("Tool version.")),
    verification_method: str = _opt(..., "--verification-method", help_text=_("How the erasure was verified.")),
    verification_result: str = _opt("pass", "--verification-result", help_text=_("pass or fail.")),
    verifier: str | None = _opt(None, "--verifier", help_text=_("Who verified (default: the signer).")),
    place: str | None = _opt(None, "--place", help_text=_("Where.")),
    certificate: str | None = _opt(None, "--certificate", help_text=_("Erasure certificate file.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        seq, media = _takeout_target(s, takeout_seq, media_ids)
        body = _merge({
            "takeout_seq": seq, "media_ids": media, "erased_by": _person_ref(s.state, erased_by) or s.signer.name,
            "method": _sanitization(category, technique, tool, tool_version),
            "verification": _verification(s, verification_method, verification_result, verifier),
        }, {"place": place, "certificate": s.file(certificate), "remarks": remarks, "attachments": s.files(attach)})
        s.act("takeout.erased_at_destination", body, json_out, media_ids=media)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


# --- copy ---


def copy_make(
    approval: str = approval_option(),
    source: str = _opt(..., "--source", help_text=_("Media id of the source medium.")),
    media_id: str = _opt(..., "--media-id", "-m", help_text=_("The copy's new media id.")),
    kind: str | None = _opt(None, "--kind", help_text=_("usb, hdd, ssd, sd, optical, tape, paper or other.")),
    label: str | None = _opt(None, "--label", help_text=_("Label written on the medium.")),
    make: str | None = _opt(None, "--make", help_text=_("Maker.")),
    model: str | None = _opt(None, "--model", help_text=_("Model.")),
    serial: str = _opt(..., "--serial", help_text=_("Serial number of the copy's medium.")),
    capacity: str | None = _opt(None, "--capacity", help_text=_("Capacity, e.g. 32 GB.")),
    hardware_encryption: bool | None = _opt(None, "--hardware-encryption/--no-hardware-encryption",
                                            help_text=_("Whether the medium encrypts in hardware.")),
    property_number: str | None = _opt(None, "--property-number", help_text=_("Property (asset) number.")),
    volume_uuid: str | None = _opt(None, "--volume-uuid",
                                   help_text=_("Filesystem UUID, so that the agent recognises the volume.")),
    volume_label: str | None = _opt(None, "--volume-label", help_text=_("Filesystem label.")),
    items: list[str] = item_option(),
    storage_place: str | None = _opt(None, "--storage-place", help_text=_("Locked storage place.")),
    cabinet: str | None = _opt(None, "--cabinet", help_text=_("Cabinet (保管庫).")),
    custodian: str | None = _opt(None, "--custodian", help_text=_("Custodian's key name (default: the signer).")),
    manifest_sha256: str | None = _opt(None, "--manifest-sha256", help_text=_("SHA-256 of the file manifest.")),
    copied_by: str | None = _opt(None, "--copied-by", help_text=_("Who copied (default: the signer).")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        note, _opened = s.approval(approval, "copy")
        src = _medium(s.state, source)
        contents = _contents(_items(items, s.state), None, None, None, s.state) or src.record.get("contents")
        storage = _merge(dict(src.record.get("storage") or {}), {"place": storage_place, "cabinet": cabinet})
        body = _merge({
            "approval": note, "source_media_id": source, "media_id": media_id, "kind": kind or src.kind,
            "serial": serial, "contents": contents, "storage": storage,
            "custodian": _person_ref(s.state, custodian) or s.signer.name,
            "copied_by": _person_ref(s.state, copied_by) or s.signer.name,
        }, {
            "label": label, "make": make, "model": model, "capacity": capacity,
            "hardware_encryption": hardware_encryption, "property_number": property_number,
            "volume_uuid": volume_uuid, "volume_label": volume_label, "manifest_sha256": manifest_sha256,
            "remarks": remarks, "attachments": s.files(attach),
        })
        s.act("copy.made", body, json_out, media_id=media_id, source_media_id=source)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


# --- erase ---


def media_erase(
    media_id: str = _opt(..., "--media-id", "-m", help_text=_("Media id (媒体番号), e.g. M-001.")),
    category: str = _opt(..., "--category", help_text=_("NIST SP 800-88 category: clear or purge.")),
    technique: str = _opt(..., "--technique", help_text=_("Technique, e.g. overwrite, cryptographic erase.")),
    tool: str | None = _opt(None, "--tool", help_text=_("Tool.")),
    tool_version: str | None = _opt(None, "--tool-version", help_text=_("Tool version.")),
    verification_method: str = _opt(..., "--verification-method", help_text=_("How the erasure was verified.")),
    verification_result: str = _opt("pass", "--verification-result", help_text=_("pass or fail.")),
    verifier: str | None = _opt(None, "--verifier", help_text=_("Who verified (default: the signer).")),
    operator: str | None = _opt(None, "--operator", help_text=_("Who erased (default: the signer).")),
    start: str | None = _opt(None, "--start", help_text=_("Start (date-time).")),
    end: str | None = _opt(None, "--end", help_text=_("End (date-time).")),
    place: str | None = _opt(None, "--place", help_text=_("Where.")),
    approval_id: str | None = _opt(None, "--approval-id",
                                   help_text=_("The disposal approval this erasure carries out, if any.")),
    certificate: str | None = _opt(None, "--certificate", help_text=_("Erasure certificate file.")),
    responsible: str | None = _opt(None, "--responsible",
                                   help_text=_("Responsible person (default: the contract's 作業責任者).")),
    witness_attestation: str | None = attestation_option("--witness-attestation", _(
        "The municipality's signed witness attestation (or waiver) of this erasure (custody attest witness).")),
    no_witness_reason: str | None = _opt(None, "--no-witness-reason", help_text=_("Why there was no witness.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        body = _merge({
            "media_id": media_id, "method": _sanitization(category, technique, tool, tool_version),
            "verification": _verification(s, verification_method, verification_result, verifier),
            "operator": _person_ref(s.state, operator) or s.signer.name,
        }, {"start": start, "end": end, "place": place, "approval_id": approval_id,
            "certificate": s.file(certificate), "no_witness_reason": no_witness_reason, "remarks": remarks,
            "attachments": s.files(attach)})
        body["responsible"] = _person(s.state, responsible) if responsible else _responsible(s.state)
        if witness_attestation is not None:
            note, att = s.attestation(witness_attestation, ("erasure_witness", "waiver"), media_id)
            body["attestation"] = note
            if att.kind == "erasure_witness":
                body["witness"] = _attester(att)
        s.act("media.erased", body, json_out, media_id=media_id)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


# --- dispose ---


def dispose_approved(
    approval: str = approval_option(),
    application_scan: str | None = _opt(None, "--application-scan",
                                         help_text=_("Scan of the signed disposal application.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        body = _merge({"approval": s.approval(approval, "dispose")[0]}, {
            "application_scan": s.file(application_scan), "remarks": remarks, "attachments": s.files(attach),
        })
        s.act("disposal.approved", body, json_out)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def dispose_record(
    media_id: str | None = media_id_option(),
    approval_id: str | None = _opt(None, "--approval-id",
                                   help_text=_("The disposal approval (default: the medium's pending one).")),
    certificate_number: str | None = _opt(None, "--certificate-number", help_text=_("Certificate number.")),
    serial: str | None = _opt(None, "--serial", help_text=_("Serial number read on the medium.")),
    category: str | None = _opt(None, "--category",
                                help_text=_("NIST SP 800-88 category: destroy or purge (default: approved).")),
    technique: str | None = _opt(None, "--technique", help_text=_("Technique (default: approved).")),
    tool: str | None = _opt(None, "--tool", help_text=_("Tool.")),
    tool_version: str | None = _opt(None, "--tool-version", help_text=_("Tool version.")),
    start: str | None = _opt(None, "--start", help_text=_("Start (date-time).")),
    end: str | None = _opt(None, "--end", help_text=_("End (date-time; default: now).")),
    place: str | None = _opt(None, "--place", help_text=_("Place (default: approved).")),
    operator: str | None = _opt(None, "--operator", help_text=_("Operator (key name or name; default: the signer).")),
    operator_organisation: str | None = _opt(None, "--operator-organisation", help_text=_("Operator's organisation.")),
    operator_title: str | None = _opt(None, "--operator-title", help_text=_("Operator's title.")),
    responsible: str | None = _opt(None, "--responsible",
                                   help_text=_("Responsible person (default: the contract's 作業責任者).")),
    witness: str | None = _opt(None, "--witness", help_text=_("Witness (立会者): name.")),
    witness_organisation: str | None = _opt(None, "--witness-organisation", help_text=_("Witness's organisation.")),
    witness_title: str | None = _opt(None, "--witness-title", help_text=_("Witness's title.")),
    witness_attestation: str | None = attestation_option("--witness-attestation", _(
        "The municipality's signed witness attestation (or waiver) of this disposal (custody attest witness).")),
    no_witness_reason: str | None = _opt(None, "--no-witness-reason", help_text=_("Why there was no witness.")),
    verification_method: str | None = _opt(None, "--verification-method", help_text=_("How it was verified.")),
    verification_result: str = _opt("pass", "--verification-result", help_text=_("pass or fail.")),
    verifier: str | None = _opt(None, "--verifier", help_text=_("Who verified (default: the signer).")),
    validated_by: str | None = _opt(None, "--validated-by", help_text=_("Who accepted the result (validation).")),
    validated_at: str | None = _opt(None, "--validated-at", help_text=_("When it was accepted.")),
    remains_destination: str | None = _opt(None, "--remains-destination", help_text=_("Where the remains went.")),
    photo: list[str] = _opt([], "--photo", help_text=_("Photo on which the serial is readable (repeatable).")),
    other_photo: list[str] = _opt([], "--other-photo", help_text=_("Other photo (serial not readable).")),
    certificate: str | None = _opt(None, "--certificate", help_text=_("Certificate from the destruction company.")),
    no_certificate_reason: str | None = _opt(None, "--no-certificate-reason",
                                             help_text=_("Why there is no certificate.")),
    backup_made: bool | None = _opt(None, "--backup-made/--no-backup",
                                    help_text=_("Whether the data was backed up first.")),
    backup_where: str | None = _opt(None, "--backup-where", help_text=_("Where the backup is.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    from_file: str | None = from_file_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        state = s.state
        photos: list[dict[str, Any] | None] = [
            s.file(p, serial_visible=True, **({"media_id": media_id} if media_id else {})) for p in photo
        ]
        photos += [s.file(p, serial_visible=False) for p in other_photo]
        explicit = {
            "media_id": media_id, "approval_id": approval_id, "certificate_number": certificate_number,
            "serial": serial, "method": _sanitization(category, technique, tool, tool_version),
            "start": start, "end": end, "place": place,
            "operator": _person(state, operator, operator_organisation, operator_title),
            "responsible": _person(state, responsible),
            "witness": _merge({}, {"name": witness, "organisation": witness_organisation, "title": witness_title})
            if witness else None,
            "no_witness_reason": no_witness_reason,
            "verification": _merge({}, {"method": verification_method,
                                        "result": verification_result if verification_method else None,
                                        "verifier": _person_ref(state, verifier)}),
            "validation": _merge({}, {"accepted_by": _person_ref(state, validated_by), "at": validated_at}),
            "remains_destination": remains_destination, "photos": photos or None,
            "certificate": s.file(certificate), "no_certificate_reason": no_certificate_reason,
            "backup": _merge({}, {"made": backup_made, "where": backup_where}),
            "remarks": remarks, "attachments": s.files(attach),
        }
        body = _body(from_file, explicit)
        mid = _need(body.get("media_id"), "--media-id")
        from custody.ledger.lifecycle.applications import disposal_to_record

        m = _medium(state, str(mid))
        disposal = disposal_to_record(state, str(mid))  # refused here when no record of it may be made
        body.setdefault("approval_id", m.disposal_id or "-")
        body.setdefault("serial", m.serial)
        for field in ("make", "model", "property_number"):
            if isinstance(m.record.get(field), str):
                body.setdefault(field, m.record[field])
        # Codes, never translated words: the signed evidence must not depend on --lang (ledger/vocabulary.py).
        body.setdefault("media_type", m.kind)
        body.setdefault("source", m.origin)
        method = body.setdefault("method", {})
        if disposal is not None:
            method.setdefault("category", disposal.category)
            method.setdefault("technique", disposal.technique)
            approved = state.approval_body(disposal.id)
            if approved is not None and approved.application is not None:
                body.setdefault("place", approved.application.place)
        body.setdefault("place", _work_place(state) or "-")  # a complete body: the rules then say what is missing
        body.setdefault("end", _now())
        body.setdefault("start", body["end"])
        body.setdefault("operator", _person(state, s.signer.name))
        body.setdefault("responsible", _responsible(state))
        verification = body.setdefault("verification", {})
        verification.setdefault("method", "visual_inspection")
        verification.setdefault("result", verification_result)
        verification.setdefault("verifier", s.signer.name)
        body.setdefault("photos", [])
        if "backup" in body and "made" not in body["backup"]:
            body["backup"]["made"] = bool(body["backup"].get("where"))
        if witness_attestation is not None:
            note, att = s.attestation(witness_attestation, ("disposal_witness", "waiver"), str(mid))
            body["attestation"] = note
            if att.kind == "disposal_witness":
                body["witness"] = _attester(att)
        s.act("media.disposed", body, json_out, media_id=mid)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


# --- return ---


def media_return(
    media_id: str = _opt(..., "--media-id", "-m", help_text=_("Media id (媒体番号), e.g. M-001.")),
    receipt_number: str = _opt(..., "--receipt-number", help_text=_("Number of the return receipt.")),
    receipt_at: str | None = _opt(None, "--receipt-at", help_text=_("Date-time of the handover (default: now).")),
    receipt_place: str | None = _opt(None, "--receipt-place", help_text=_("Place of the handover.")),
    means: str = _opt("by_hand", "--means", help_text=_("by_hand, transport, online, mail or other.")),
    from_org: str | None = _opt(None, "--from-org", help_text=_("Handed back by: organisation (default: vendor).")),
    from_person: str | None = _opt(None, "--from-person", help_text=_("Handed back by: person (default: signer).")),
    to_org: str | None = _opt(None, "--to-org", help_text=_("Received by: organisation (default: municipality).")),
    to_person: str | None = _opt(None, "--to-person", help_text=_(
        "Received by: the municipality's person (default: the receiver named in --receipt).")),
    receipt_attestation: str | None = attestation_option("--receipt", _(
        "The return receipt signed by the municipality's receiver (custody attest receipt).")),
    seal: list[str] = seal_option(),
    erased_before_return: bool | None = _opt(None, "--erased-before-return/--not-erased",
                                             help_text=_("Whether the data was erased before the return.")),
    receipt_scan: str | None = _opt(None, "--receipt-scan", help_text=_("Scan of the signed receipt.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        state = s.state
        m = state.medium(media_id)
        contents = m.record.get("contents", {}).get("items", []) if m is not None else []
        item_name = contents[0]["name"] if isinstance(contents, list) and contents else media_id
        me = state.people.get(s.signer.name)
        signed = None
        if receipt_attestation is not None:
            signed = s.attestation(receipt_attestation, ("return_receipt",), media_id)
        receiver = to_person or (signed[1].body.attester.name if signed is not None else None)
        receipt = _merge({
            "number": receipt_number, "at": receipt_at or _now(),
            "place": receipt_place or _municipality_name(state) or "-", "means": means,
            "from": {"organisation": from_org or _vendor_name(state) or "-",
                     "person": from_person or (me.name if me is not None and me.name else s.signer.name)},
            "to": {"organisation": to_org or _municipality_name(state) or "-",
                   "person": _need(receiver, "--to-person")},
            "items": [{"name": item_name, "media_name": m.kind if m is not None else "other",
                       "media_id": media_id, "quantity": 1}],
        }, {"seals": seal or None, "scan": s.file(receipt_scan)})
        body = _merge({"media_id": media_id, "receipt": receipt}, {
            "erased_before_return": erased_before_return, "remarks": remarks, "attachments": s.files(attach),
        })
        if signed is not None:
            body["attestation"] = signed[0]
        s.act("media.returned", body, json_out, media_id=media_id)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


# --- incident, close ---


def incident(
    kind: str = _opt(..., "--kind", help_text=_("lost, stolen, leak, suspicion, found or other.")),
    situation: str = _opt(..., "--situation", help_text=_("What happened.")),
    media_ids: list[str] = media_ids_option(),
    detected_at: str | None = _opt(None, "--detected-at", help_text=_("When it was detected (default: now).")),
    notified_at: str | None = _opt(None, "--notified-at", help_text=_("When the municipality was notified.")),
    items: list[str] = item_option(),
    records: int | None = _opt(None, "--records", help_text=_("Records concerned.")),
    encrypted: bool | None = _opt(None, "--encrypted/--not-encrypted", help_text=_("Whether the data was encrypted.")),
    place: str | None = _opt(None, "--place", help_text=_("Where.")),
    police_filed: bool | None = _opt(None, "--police-report/--no-police-report",
                                     help_text=_("Whether it was reported to the police.")),
    police_at: str | None = _opt(None, "--police-at", help_text=_("When it was reported to the police.")),
    police_reference: str | None = _opt(None, "--police-reference", help_text=_("Police reference.")),
    incident_status: str | None = _opt(None, "--status", help_text=_("open, contained or closed.")),
    measures: str | None = _opt(None, "--measures", help_text=_("Measures taken.")),
    detail_of: int | None = _opt(None, "--detail-of", help_text=_(
        "For the detailed report of an incident: the seq of its first report.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        police = None
        if police_filed is not None:
            police = _merge({"filed": police_filed}, {"at": police_at, "reference": police_reference})
        body = _merge({"kind": kind, "detected_at": detected_at or _now(), "situation": situation}, {
            "notified_at": notified_at, "media_ids": media_ids or None, "items": _items(items, s.state) or None,
            "records": records, "encrypted": encrypted, "place": place, "police_report": police,
            "status": incident_status, "measures": measures, "remarks": remarks, "attachments": s.files(attach),
            "detail_of": detail_of,
        })
        s.act("incident.reported", body, json_out)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def periodic_record(
    period_from: str = _opt(..., "--from", help_text=_("First day of the period reported (YYYY-MM-DD).")),
    period_to: str = _opt(..., "--to", help_text=_("Last day of the period reported (YYYY-MM-DD).")),
    summary: str = _opt(..., "--summary", help_text=_("What was reported: the work, the media, incidents.")),
    to_person: str = _opt(..., "--to-person", help_text=_("Reported to: the municipality's person.")),
    to_org: str | None = _opt(None, "--to-org", help_text=_("Reported to: organisation (default: municipality).")),
    submitted_at: str | None = _opt(None, "--submitted-at", help_text=_("When it was submitted (default: now).")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    def build(s: _Session) -> None:
        state = s.state
        counts = state.counts()
        incidents = sum(1 for i in state.incidents if i.get("kind") != "found")
        body = _merge({
            "period": {"from": period_from, "to": period_to},
            "submitted_to": {"organisation": to_org or _municipality_name(state) or "-", "person": to_person},
            "summary": summary, "submitted_at": submitted_at or _now(),
            # The register as reported (ledger/lifecycle/state.py counts) and the ledger's size at the report.
            "media": counts, "checkpoint": {"size": state.last_seq + 1}, "incidents": incidents,
        }, {"remarks": remarks, "attachments": s.files(attach)})
        s.act("report.periodic", body, json_out)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


def close(
    no_data_remains: bool = _opt(False, "--no-data-remains",
                                 help_text=_("State that no data remains anywhere (required).")),
    scope: list[str] = _opt([], "--scope", help_text=_(
        "What was checked: work_pcs, development_machines, servers, backups, mail, paper, other (repeatable).")),
    statement: str | None = _opt(None, "--statement", help_text=_("The completion statement in words.")),
    completed_at: str | None = _opt(None, "--completed-at", help_text=_("When the work was completed.")),
    inspector: str | None = _opt(None, "--inspector", help_text=_("The municipality's inspector: name.")),
    inspector_organisation: str | None = _opt(None, "--inspector-organisation",
                                              help_text=_("The inspector's organisation.")),
    check_method: str | None = _opt(None, "--check-method", help_text=_("How the municipality checked.")),
    check_date: str | None = _opt(None, "--check-date", help_text=_("Date of the check (YYYY-MM-DD).")),
    check_result: str | None = _opt(None, "--check-result", help_text=_("Result of the check.")),
    completion: str | None = attestation_option("--completion", _(
        "The completion check (履行確認) signed by the municipality (custody attest completion).")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    if not no_data_remains:
        raise UsageError(_("Closing states that no data remains: give --no-data-remains after checking."))
    check = None
    if inspector:
        check = _merge({"inspector": _merge({"name": inspector}, {"organisation": inspector_organisation})}, {
            "method": check_method, "date": check_date, "result": check_result})

    def build(s: _Session) -> None:
        body = _merge({"statement": _merge({"no_data_remains": True,
                                            "scope": scope or ["work_pcs", "backups", "mail"]},
                                           {"text": statement})},
                      {"completed_at": completed_at, "municipality_check": check, "remarks": remarks,
                       "attachments": s.files(attach)})
        if completion is not None:
            note, att = s.attestation(completion, ("completion_check",), None)
            body["attestation"] = note
            body.setdefault("municipality_check", {
                "inspector": _attester(att), "method": f"custody/attestation/v1 {att.id}",
                "date": att.body.acted_at[:10], "result": att.body.seen})
        s.act("contract.closed", body, json_out)

    _run(ledger_dir, key, passphrase_file, log_passphrase_file, build)


# --- reading: list, show, status ---


def state_label(state: str) -> str:
    from custody.ledger.vocabulary import STATES, word

    return word(STATES, state)


def _origin_label(m: Medium) -> str:
    from custody.ledger.vocabulary import ORIGINS, pick

    if m.origin == "copy":
        return f"{pick(ORIGINS['copy'])} {m.source or '-'}"
    return pick(ORIGINS.get(m.origin, (m.origin, m.origin)))


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


def _storage(m: Medium) -> str:
    storage = m.record.get("storage") or {}
    if not isinstance(storage, dict):
        return ""
    return " ".join(str(storage[k]) for k in ("place", "cabinet") if storage.get(k))


def _custodian(m: Medium) -> str:
    c = m.record.get("custodian")
    if isinstance(c, dict):
        return str(c.get("name", ""))
    return str(c or "")


def medium_row(m: Medium) -> dict[str, Any]:
    row = m.to_json()
    row.pop("record")
    row.update(state_label=state_label(m.state), origin_label=_origin_label(m), storage=_storage(m),
               custodian=_custodian(m), make=m.record.get("make"), model=m.record.get("model"),
               label=m.record.get("label"), last_seq=m.history[-1] if m.history else m.since_seq)
    return row


def _media_table(state: LedgerState, media: list[Medium]) -> None:
    from rich.table import Table

    table = Table(title=_("Media register"))
    for header in (_("Media id"), _("Kind"), _("Serial"), _("Source"), _("State"), _("My Number"),
                   _("Storage"), _("Custodian"), _("Last entry")):
        table.add_column(header, overflow="fold")
    for m in media:
        table.add_row(m.id, kind_label(m.kind), m.serial, _origin_label(m), state_label(m.state), _yes(m.my_number),
                      _storage(m), _custodian(m), str(m.history[-1] if m.history else m.since_seq))
    _print_table(table)


def media_list(
    state_filter: list[str] = _opt([], "--state", help_text=_("Only media in this state (repeatable).")),
    ledger_dir: str = ledger_option(),
    json_out: bool = json_option(),
) -> None:
    state = _read_state(ledger_dir)
    media = [m for m in state.media.values() if not state_filter or m.state in state_filter]
    if json_out:
        print_json([medium_row(m) for m in media])
        return
    if not media:
        out.print(_("No media in the register."), markup=False)
        return
    _media_table(state, media)


def media_show(
    media_id: str = typer.Argument(..., help=_("Media id (媒体番号), e.g. M-001.")),
    ledger_dir: str = ledger_option(),
    json_out: bool = json_option(),
) -> None:
    from custody.ledger.ledger import Ledger
    from custody.ledger.workflow import current_state

    with Ledger.open(Path(ledger_dir)) as ledger:
        state = current_state(ledger)
        m = _medium(state, media_id)
        history: list[dict[str, str]] = []
        for seq in m.history:
            entry = ledger.store.entry(seq)
            history.append({"seq": str(seq), "type": entry.type, "at": entry.at, "actor": entry.actor})
    if json_out:
        print_json({**medium_row(m), "record": m.record, "entries": history})
        return
    lines = [
        (_("Media id"), m.id), (_("Kind"), kind_label(m.kind)), (_("Serial"), m.serial),
        (_("Source"), _origin_label(m)), (_("State"), state_label(m.state)), (_("My Number"), _yes(m.my_number)),
        (_("Storage"), _storage(m)), (_("Custodian"), _custodian(m)),
    ]
    for key, label in (("make", _("Make")), ("model", _("Model")), ("capacity", _("Capacity")),
                       ("label", _("Label"))):
        if m.record.get(key):
            lines.append((label, str(m.record[key])))
    contents = m.record.get("contents")
    if isinstance(contents, dict):
        items = ", ".join(f"{i.get('name')} ({i.get('records')})" for i in contents.get("items", [])
                          if isinstance(i, dict))
        lines.append((_("Contents"), items or "-"))
    if m.takeout_seq is not None:
        lines.append((_("Open takeout"), str(m.takeout_seq)))
    if m.disposal_id:
        lines.append((_("Disposal approval"), m.disposal_id))
    for label, value in lines:
        out.print(f"{label}: {value}", markup=False)
    from rich.table import Table

    table = Table(title=_("History"))
    for header in (_("seq"), _("Time"), _("Event"), _("Actor")):
        table.add_column(header, overflow="fold")
    japanese = i18n.language() == "ja"
    for h in history:
        # Japanese readers get 和暦 with the zone (令和8年12月6日 21:53:07 (JST)); --json keeps RFC 3339.
        table.add_row(h["seq"], japanese_datetime(h["at"]) if japanese else h["at"], h["type"], h["actor"])
    _print_table(table)


def status(
    ledger_dir: str = ledger_option(),
    json_out: bool = json_option(),
) -> None:
    from custody.ledger.ledger import Ledger
    from custody.ledger.lifecycle import finish
    from custody.ledger.workflow import projection

    with Ledger.open(Path(ledger_dir)) as ledger:
        proj = projection(ledger)
        state = proj.state
        size = ledger.store.size
        origin = ledger.origin
    # What verify would report of the ledger so far: the rules at each entry (the same the verifier replays:
    # C10, C11 on unregistered volumes, C12, a late C8, ...) and the end-of-ledger rules as of now.
    findings = [*proj.findings, *finish(state, now_or_close=_now())]
    genesis = state.genesis or {}
    counts = state.counts()
    takeouts: list[dict[str, Any]] = [
        {"seq": t.seq, "approval_id": t.approval_id, "open": list(t.open), "deadline": t.deadline}
        for t in state.open_takeouts()
    ]
    disposals: list[dict[str, Any]] = [{"id": d.id, "seq": d.seq, "category": d.category, "technique": d.technique,
                  "deadline": d.deadline, "pending": [k for k, v in d.media.items() if v == "pending"]}
                 for d in state.disposals.values() if any(v == "pending" for v in d.media.values())]
    if json_out:
        print_json({
            "origin": origin, "size": size, "contract_id": genesis.get("contract_id"), "title": genesis.get("title"),
            "closed": state.closed, "counts": counts, "media": [medium_row(m) for m in state.media.values()],
            "open_takeouts": takeouts, "pending_disposals": disposals,
            "people": [{"key_name": p.key_name, "name": p.name, "tier": p.tier, "role": p.role,
                        "removed_seq": p.removed_seq} for p in state.people.values()],
            "subcontracts": [{"id": sc.id, "name": sc.name, "tier": sc.tier, "valid_until": sc.valid_until}
                             for sc in state.subcontracts.values()],
            "incidents": state.incidents, "findings": [v.to_json() for v in findings],
        })
        return
    out.print(_("Ledger {origin}: {size} entries").format(origin=origin, size=size), markup=False)
    out.print(_("Contract {id}: {title}").format(id=genesis.get("contract_id", "-"), title=genesis.get("title", "-")),
              markup=False)
    if state.closed is not None:
        out.print(_("Closed at entry {seq} ({at}).").format(seq=state.closed["seq"], at=state.closed["at"]),
                  markup=False)
    out.print(_("Media: received {r} + registered {g} + copies {c} − returned {t} − disposed {d} − erased {e} "
                "− lost {l} = outstanding {o}").format(
        r=counts["received"], g=counts["registered"], c=counts["copies"], t=counts["returned"],
        d=counts["disposed"], e=counts["erased"], l=counts["lost"], o=counts["open"]), markup=False)
    if state.media:
        _media_table(state, list(state.media.values()))
    for t in takeouts:
        out.print(_("Open takeout at entry {seq} (approval {id}): {media}; due {deadline}").format(
            seq=t["seq"], id=t["approval_id"] or "-", media=", ".join(t["open"]), deadline=t["deadline"] or "-"),
            markup=False)
    for d in disposals:
        out.print(_("Disposal approved under {id}, not yet recorded: {media}; due {deadline}").format(
            id=d["id"], media=", ".join(d["pending"]), deadline=d["deadline"]), markup=False)
    _people_table(state)
    if state.incidents:
        out.print(_("Incidents: {n}").format(n=len(state.incidents)), markup=False)
    if findings:
        out.print(_("Findings as of now:"), markup=False)
        for v in findings:
            message, _missing, _todo = v.texts()
            out.print(f"  [{v.code}] {_(v.severity)}: {message}", markup=False)
    else:
        out.print(_("No findings as of now."), markup=False)


__all__ = ["register"]
