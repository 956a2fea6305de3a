"""The operators' everyday commands: people, keys, media, takeouts, copies, disposal, incidents, closing.

Each recording command only parses its options, reads the files they name, calls the lifecycle family's
``body_for_<act>`` (custody.ledger.lifecycle: the body, its defaults from the contract, codes and the
operator's own words only) and appends through :func:`custody.ledger.workflow.act`, the one pre-write
check: the lifecycle model checks the act under the ledger's write lock and refuses it (exit 6: the rule
code, what is missing, what to do) before anything is written.  Facts that already broke a rule are recorded
with ``custody incident``.  The options every recording command ends with, and its session, are
:mod:`custody.cli.acting`'s; the applications and the municipality's approvals are
:mod:`custody.cli.approvecmd`'s, the reading commands :mod:`custody.cli.readcmd`'s (this module's command
tree names them all).

Where a body is large (the handover receipt, the disposal record) ``--from-file FILE.json|toml`` gives a
body whose fields the explicit options override.  Heavy modules (the lifecycle model, JSON Schema) are
imported inside the commands, so that ``custody --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from custody.cli.acting import (
    Session,
    approval_option,
    attach_option,
    attestation_option,
    body_file,
    choices,
    from_file_option,
    given,
    item_option,
    media_id_option,
    media_ids_option,
    need,
    no_witness_reason_option,
    now,
    opt,
    parse_items,
    parse_receipt_items,
    print_violation,
    recording,
    remarks_option,
    required_help,
    required_media_id_option,
    responsible_option,
    seal_option,
    tool_option,
    tool_version_option,
    verification_result_option,
    verifier_option,
    vkey_from,
)
from custody.cli.approvecmd import (
    approve_copy,
    approve_dispose,
    approve_subcontract,
    approve_takeout,
    copy_request,
    dispose_request,
    subcontract_request,
    takeout_request,
)
from custody.cli.common import CommandTree, out, print_json, register_tree
from custody.cli.readcmd import media_list, media_show, person_list, status
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _

if TYPE_CHECKING:
    from custody.cli.receipt_import import ImportRow
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


# --- people ---


def person_option(detail: str) -> Any:
    """The option of a person's ``detail``, as ``person add`` and ``person change`` both take it."""
    if detail == "tier":
        return opt(None, "--tier", help_text=_("vendor, subcontractor or sub-subcontractor."), callback=choices(TIERS))
    if detail == "role":
        return opt(None, "--role", help_text=_("operator (作業従事者), responsible (作業責任者) or agent."),
                   callback=choices(ROLES))
    flag, text = {
        "name": ("--name", _("Full name.")), "title": ("--title", _("Title.")), "contact": ("--contact", _("Contact.")),
        "employment": ("--employment", _("regular, dispatched, contract, part_time or other.")),
        "pledge_date": ("--pledge-date", _("Date of the confidentiality pledge (誓約書).")),
        "training_date": ("--training-date", _("Date of the privacy training.")),
        "subcontract_id": ("--subcontract-id", _("For subcontractor staff: the recorded subcontract approval id.")),
    }[detail]
    return opt(None, flag, help_text=text)


@recording
def person_add(
    s: Session,
    vkey: str | None = opt(None, "--vkey", help_text=_("The person's vkey (custody key new prints it).")),
    vkey_from_file: str | None = opt(None, "--vkey-from", help_text=_("Read the vkey from a key file or a vkey file.")),
    name: str | None = person_option("name"),
    organisation: str | None = opt(None, "--organisation", help_text=_("Organisation (default: the vendor).")),
    title: str | None = person_option("title"),
    contact: str | None = person_option("contact"),
    tier: str | None = person_option("tier"),
    role: str | None = person_option("role"),
    employment: str | None = person_option("employment"),
    pledge_date: str | None = person_option("pledge_date"),
    training_date: str | None = person_option("training_date"),
    subcontract_id: str | None = person_option("subcontract_id"),
    host: str | None = opt(None, "--host", help_text=_("For an agent key: the machine it runs on.")),
    reported_at: str | None = opt(None, "--reported-at", help_text=_(
        "When the municipality was told of this person (required before a person added after the work began acts).")),
    remarks: str | None = remarks_option(),
    from_file: str | None = from_file_option(),
) -> None:
    from custody.ledger.lifecycle.people import body_for_personnel_registered

    fields = given(from_file, {
        "vkey": vkey_from(vkey, vkey_from_file), "name": name, "organisation": organisation, "title": title,
        "contact": contact, "tier": tier, "role": role, "employment": employment, "pledge_date": pledge_date,
        "training_date": training_date, "subcontract_id": subcontract_id, "host": host, "remarks": remarks,
        "reported_at": reported_at,
    })
    body = body_for_personnel_registered(s.state, fields)
    need(body.get("vkey"), "--vkey / --vkey-from")
    s.act("personnel.registered", body, key_name=str(body["vkey"]).split("+", 1)[0])


@recording
def person_change(
    s: Session,
    key_name: str = typer.Argument(..., help=_("The person's key name.")),
    name: str | None = person_option("name"),
    organisation: str | None = opt(None, "--organisation", help_text=_("Organisation.")),
    title: str | None = person_option("title"),
    contact: str | None = person_option("contact"),
    tier: str | None = person_option("tier"),
    role: str | None = person_option("role"),
    employment: str | None = person_option("employment"),
    pledge_date: str | None = person_option("pledge_date"),
    training_date: str | None = person_option("training_date"),
    subcontract_id: str | None = person_option("subcontract_id"),
    reason: str | None = opt(None, "--reason", help_text=_("Reason for the change.")),
    approval_reference: str | None = opt(
        None, "--approval-reference",
        help_text=_("The municipality's approval of a change of responsible person (第6-3)."),
    ),
    reported_at: str | None = opt(None, "--reported-at",
                                   help_text=_("When the change was reported to the municipality.")),
) -> None:
    from custody.ledger.lifecycle.defaults import merged
    from custody.ledger.lifecycle.people import body_for_personnel_changed

    changes = merged({}, {
        "name": name, "organisation": organisation, "title": title, "contact": contact, "tier": tier, "role": role,
        "employment": employment, "pledge_date": pledge_date, "training_date": training_date,
        "subcontract_id": subcontract_id,
    })
    if not changes and reported_at is None:
        raise UsageError(_("Nothing to change: give at least one of the options."))
    s.act("personnel.changed", body_for_personnel_changed(
        key_name, changes, reason=reason, approval_reference=approval_reference, reported_at=reported_at))


@recording
def person_remove(
    s: Session,
    key_name: str = typer.Argument(..., help=_("The person's key name.")),
    reason: str | None = opt(None, "--reason", help_text=_("Reason for the removal.")),
) -> None:
    from custody.ledger.lifecycle.people import body_for_personnel_removed

    s.act("personnel.removed", body_for_personnel_removed(key_name, reason))


@recording
def person_exit_check(
    s: Session,
    key_name: str = typer.Argument(..., help=_("The leaver's key name.")),
    checked_at: str | None = opt(None, "--checked-at", help_text=_("When the check was made (default: now).")),
    returned: list[str] = opt([], "--returned", help_text=_("What the leaver handed back, e.g. 入館証 (repeatable).")),
    access_revoked: bool = opt(False, "--access-revoked",
                                help_text=_("The leaver's accounts and access rights are removed.")),
    no_data_kept: bool = opt(False, "--no-data-kept", help_text=_("The leaver keeps no data (checked).")),
    remarks: str | None = remarks_option(),
) -> None:
    from custody.ledger.lifecycle.staff import body_for_personnel_exit_checked

    s.act("personnel.exit_checked", body_for_personnel_exit_checked(
        key_name, at=now(), checked_at=checked_at, access_revoked=access_revoked, no_data_kept=no_data_kept,
        returned=returned, remarks=remarks))


@recording
def person_statement(
    s: Session,
    statement: str = opt(..., "--statement", help_text=_("The statement in words.")),
    no_data_kept: bool = opt(False, "--no-data-kept",
                              help_text=_("State that you keep none of the municipality's data (required).")),
    scope: list[str] = opt([], "--scope", help_text=_(
        "What you checked: work_pcs, development_machines, servers, backups, mail, paper, personal_devices, "
        "other (repeatable).")),
    remarks: str | None = remarks_option(),
) -> None:
    if not no_data_kept:
        raise UsageError(_("A statement says that you keep no data: give --no-data-kept."))
    from custody.ledger.lifecycle.staff import body_for_personnel_statement

    s.act("personnel.statement", body_for_personnel_statement(
        signer=s.me, statement=statement, scope=scope, remarks=remarks))


# --- subcontract, keys ---


@recording
def subcontract_record(
    s: Session,
    approval: str = approval_option(),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.people import body_for_subcontract_approved

    note = s.approval(approval, "subcontract")[0]
    s.act("subcontract.approved", body_for_subcontract_approved(note, remarks=remarks, attachments=s.files(attach)))


@recording
def key_rotate(
    s: Session,
    new_key: str | None = opt(None, "--new-key", help_text=_("The new key file (custody key new, same name).")),
    new_vkey: str | None = opt(None, "--new-vkey", help_text=_("The new vkey (instead of --new-key).")),
    key_name: str | None = opt(None, "--key-name", help_text=_("Whose key (default: the signer's own).")),
    reason: str | None = opt(None, "--reason", help_text=_("Reason.")),
) -> None:
    vkey = need(vkey_from(new_vkey, new_key), "--new-key / --new-vkey")
    from custody.ledger.lifecycle.people import body_for_key_rotated

    s.act("key.rotated", body_for_key_rotated(signer=s.me, key_name=key_name, new_vkey=vkey, reason=reason))


@recording
def key_revoke(
    s: Session,
    key_name: str = opt(..., "--key-name", help_text=_("Whose key.")),
    vkey: str | None = opt(None, "--vkey", help_text=_("The vkey of the key to revoke.")),
    revoked_key: str | None = opt(None, "--revoked-key", help_text=_("The key file (or vkey file) to revoke.")),
    reason: str = opt(..., "--reason", help_text=_("Reason (lost, compromised, ...).")),
) -> None:
    target = need(vkey_from(vkey, revoked_key), "--vkey / --revoked-key")
    from custody.ledger.lifecycle.people import body_for_key_revoked

    s.act("key.revoked", body_for_key_revoked(key_name=key_name, vkey=target, reason=reason))


# --- media: receive, register ---


@recording
def media_receive(
    s: Session,
    media_id: str | None = opt(None, "--media-id", "-m",
                                help_text=required_help(_("Media id (媒体番号), e.g. M-001."))),
    kind: str | None = opt(None, "--kind", callback=choices(MEDIA_KINDS),
                            help_text=required_help(_("usb, hdd, ssd, sd, optical, tape, paper or other."))),
    label: str | None = opt(None, "--label", help_text=_("Label written on the medium.")),
    make: str | None = opt(None, "--make", help_text=_("Maker.")),
    model: str | None = opt(None, "--model", help_text=_("Model.")),
    serial: str | None = opt(None, "--serial",
                              help_text=required_help(_("Serial number (for paper: the document number)."))),
    capacity: str | None = opt(None, "--capacity", help_text=_("Capacity, e.g. 32 GB.")),
    hardware_encryption: bool | None = opt(None, "--hardware-encryption/--no-hardware-encryption",
                                            help_text=_("Whether the medium encrypts in hardware.")),
    property_number: str | None = opt(None, "--property-number", help_text=_("Property (asset) number.")),
    volume_uuid: str | None = opt(None, "--volume-uuid",
                                   help_text=_("Filesystem UUID, so that the agent recognises the volume.")),
    volume_label: str | None = opt(None, "--volume-label", help_text=_("Filesystem label.")),
    items: list[str] = item_option(),
    records: int | None = opt(None, "--records", help_text=_("Total record count (default: the items' sum).")),
    my_number: bool | None = opt(None, "--my-number/--no-my-number",
                                  help_text=_("Whether it holds My Number data (default: from the contract).")),
    classification: str | None = opt(None, "--classification", help_text=_("Classification, e.g. 機密性3.")),
    storage_place: str | None = opt(None, "--storage-place",
                                     help_text=_("Locked storage place (default: the work location).")),
    cabinet: str | None = opt(None, "--cabinet", help_text=_("Cabinet (保管庫).")),
    work_location: str | None = opt(None, "--work-location", help_text=_("Work location id.")),
    custodian: str | None = opt(None, "--custodian", help_text=_("Custodian's key name (default: the signer).")),
    receipt_number: str | None = opt(None, "--receipt-number",
                                      help_text=required_help(_("Handover receipt (預り証) number."))),
    receipt_at: str | None = opt(None, "--receipt-at", help_text=_("Date-time of the handover (default: now).")),
    receipt_place: str | None = opt(None, "--receipt-place", help_text=_("Place of the handover.")),
    means: str | None = opt(None, "--means", help_text=_("by_hand, transport, online, mail or other."),
                             callback=choices(MEANS)),
    from_org: str | None = opt(None, "--from-org", help_text=_("Handed over by: organisation.")),
    from_person: str | None = opt(None, "--from-person", help_text=_("Handed over by: person.")),
    to_org: str | None = opt(None, "--to-org", help_text=_("Received by: organisation (default: the vendor).")),
    to_person: str | None = opt(None, "--to-person", help_text=_("Received by: person (default: the signer).")),
    receipt_item: list[str] = opt([], "--receipt-item", help_text=_(
        "Receipt line NAME:MEDIA_NAME:QUANTITY:RECORDS (repeatable; default: this medium's items).")),
    seal: list[str] = seal_option(),
    encrypted: bool | None = opt(None, "--encrypted/--not-encrypted",
                                  help_text=_("Whether the data was handed over encrypted.")),
    return_due: str | None = opt(None, "--return-due", help_text=_("When the medium must be returned.")),
    receipt_scan: str | None = opt(None, "--receipt-scan", help_text=_("Scan of the signed receipt.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    from_file: str | None = from_file_option(),
    from_csv: str | None = opt(None, "--from-csv", "--from-xlsx", help_text=_(
        "A whole handover receipt: one medium per row of a CSV or XLSX file (columns: docs/receipt-import.md). "
        "Every row is checked first; nothing is recorded unless all are valid. The other options give the "
        "values of empty cells.")),
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

        # The options' own values first: a bad --item or --receipt-item is the option's fault, said once, not
        # blamed on each row of the file.
        parse_items(fields["items"])
        parse_receipt_items(fields["receipt_item"])
        rows = read_rows(Path(from_csv))  # every cell checked before the key is opened
        _receive_many(s, Path(from_csv), rows, fields)
        return
    missing = [option for option, value in (("--media-id", media_id), ("--kind", kind), ("--serial", serial),
                                            ("--receipt-number", receipt_number)) if value is None]
    if missing and from_file is None:  # before the key is opened
        raise UsageError(_("Missing option(s): {options}.").format(options=", ".join(missing)),
                         hint=_("Give them, or a body with --from-file, or many media with --from-csv."))
    body = _receive_body(s, fields, body_file(from_file))
    s.act("media.received", body, media_id=body.get("media_id"))


def _receive_body(s: Session, f: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The body of one media.received entry from the options' values ``f`` (the command's, or one row's)."""
    from custody.ledger.lifecycle.storage import body_for_media_received

    o = {**f, "items": parse_items(f["items"]), "receipt_items": parse_receipt_items(f["receipt_item"]),
         "attachments": s.files(f["attach"]), "receipt_scan": s.file(f["receipt_scan"])}
    return body_for_media_received(s.state, o, base=base, signer=s.me, at=now())


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


def _receive_many(s: Session, path: Path, rows: list[ImportRow], fields: dict[str, Any]) -> None:
    """Record every row of a receipt file in one transaction, or none (custody.cli.receipt_import)."""
    from custody.cli.receipt_import import ImportRowsError, RowProblem, header_of
    from custody.ledger.errors import BatchRefusal, CustodyError, RuleRefusal, SchemaError
    from custody.ledger.lifecycle.storage import whole_receipts
    from custody.ledger.workflow import act_many

    bodies: list[dict[str, Any]] = []
    problems: list[RowProblem] = []
    for row in rows:
        try:
            bodies.append(_receive_body(s, {**fields, **row.values}, {}))
        except CustodyError as exc:  # a value the options' parsers refuse (an item, a receipt line)
            problems.append(RowProblem(row.row, "", exc.message))
            bodies.append({})
    if problems:
        raise ImportRowsError(path, problems)
    if not fields["receipt_item"]:
        whole_receipts(bodies)
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

    def report() -> None:
        if s.json_out:
            print_json({"recorded": [{"seq": e.seq, "media_id": b.get("media_id"), "leaf_hash": e.leaf_hash.hex()}
                                     for e, b in zip(entries, bodies, strict=True)],
                        "warnings": [v.to_json() for v in warnings]})
        else:
            out.line(_("Recorded {n} media as entries {first}-{last} (media.received).").format(
                n=len(entries), first=entries[0].seq, last=entries[-1].seq))
        for v in warnings:
            print_violation(v)

    s.after(entries[-1], warnings, report=report)


@recording
def media_register(
    s: Session,
    media_id: str | None = media_id_option(),
    kind: str | None = opt(None, "--kind", help_text=_("usb, hdd, ssd, sd, optical, tape, paper or other."),
                            callback=choices(MEDIA_KINDS)),
    label: str | None = opt(None, "--label", help_text=_("Label written on the medium.")),
    make: str | None = opt(None, "--make", help_text=_("Maker.")),
    model: str | None = opt(None, "--model", help_text=_("Model.")),
    serial: str | None = opt(None, "--serial", help_text=_("Serial number (for paper: the document number).")),
    capacity: str | None = opt(None, "--capacity", help_text=_("Capacity, e.g. 32 GB.")),
    hardware_encryption: bool | None = opt(None, "--hardware-encryption/--no-hardware-encryption",
                                            help_text=_("Whether the medium encrypts in hardware.")),
    property_number: str | None = opt(None, "--property-number", help_text=_("Property (asset) number.")),
    volume_uuid: str | None = opt(None, "--volume-uuid",
                                   help_text=_("Filesystem UUID, so that the agent recognises the volume.")),
    volume_label: str | None = opt(None, "--volume-label", help_text=_("Filesystem label.")),
    items: list[str] = item_option(),
    records: int | None = opt(None, "--records", help_text=_("Total record count (default: the items' sum).")),
    my_number: bool | None = opt(None, "--my-number/--no-my-number",
                                  help_text=_("Whether it holds My Number data.")),
    classification: str | None = opt(None, "--classification", help_text=_("Classification, e.g. 機密性3.")),
    storage_place: str | None = opt(None, "--storage-place",
                                     help_text=_("Locked storage place (default: the work location).")),
    cabinet: str | None = opt(None, "--cabinet", help_text=_("Cabinet (保管庫).")),
    work_location: str | None = opt(None, "--work-location", help_text=_("Work location id.")),
    custodian: str | None = opt(None, "--custodian", help_text=_("Custodian's key name (default: the signer).")),
    source: str | None = opt(None, "--source", help_text=_("Where it came from (default: vendor stock).")),
    purpose: str | None = opt(None, "--purpose", help_text=_("What it is used for.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    from_file: str | None = from_file_option(),
) -> None:
    from custody.ledger.lifecycle.storage import body_for_media_registered

    o = {
        "media_id": media_id, "kind": kind, "label": label, "make": make, "model": model, "serial": serial,
        "capacity": capacity, "hardware_encryption": hardware_encryption, "property_number": property_number,
        "volume_uuid": volume_uuid, "volume_label": volume_label, "items": parse_items(items), "records": records,
        "my_number": my_number, "classification": classification, "storage_place": storage_place,
        "cabinet": cabinet, "work_location": work_location, "custodian": custodian, "source": source,
        "purpose": purpose, "remarks": remarks, "attachments": s.files(attach),
    }
    body = body_for_media_registered(s.state, o, base=body_file(from_file), signer=s.me)
    s.act("media.registered", body, media_id=body.get("media_id"))


# --- media: checkout, checkin ---


@recording
def media_checkout(
    s: Session,
    media_id: str = required_media_id_option(),
    purpose: str = opt(..., "--purpose", help_text=_("What the medium is taken out of storage for.")),
    person: str | None = opt(None, "--person", help_text=_("Who takes it (key name; default: the signer).")),
    workstation: str | None = opt(None, "--workstation", help_text=_("Workstation it is used on.")),
    seal: list[str] = seal_option(),
    remarks: str | None = remarks_option(),
) -> None:
    from custody.ledger.lifecycle.storage import body_for_media_checked_out

    s.act("media.checked_out", body_for_media_checked_out(
        signer=s.me, media_id=media_id, purpose=purpose, person=person, workstation=workstation,
        seals=seal or None, remarks=remarks), media_id=media_id)


@recording
def media_checkin(
    s: Session,
    media_id: str = required_media_id_option(),
    person: str | None = opt(None, "--person", help_text=_("Who puts it back (key name; default: the signer).")),
    seal: list[str] = seal_option(),
    seals_intact: bool = opt(True, "--seals-intact/--seals-broken", help_text=_("Whether the seals were intact.")),
    manifest_sha256: str | None = opt(None, "--manifest-sha256", help_text=_("SHA-256 of the file manifest.")),
    remarks: str | None = remarks_option(),
) -> None:
    from custody.ledger.lifecycle.storage import body_for_media_checked_in

    s.act("media.checked_in", body_for_media_checked_in(
        signer=s.me, media_id=media_id, person=person, seals_intact=seals_intact, seals=seal or None,
        manifest_sha256=manifest_sha256, remarks=remarks), media_id=media_id)


# --- takeout ---


@recording
def takeout_depart(
    s: Session,
    approval: str = approval_option(),
    media_ids: list[str] = opt([], "--media-id", "-m",
                                help_text=_("Media id (repeatable; default: the approval's media).")),
    destination: str | None = opt(None, "--destination", help_text=_("Where the media go (default: approved).")),
    transport: str = opt(..., "--transport", help_text=_("How they travel (must be the approved method).")),
    carriers: list[str] = opt(..., "--carrier", help_text=_("Carrier (key name), repeatable: approved carriers.")),
    encryption_method: str = opt(..., "--encryption-method", help_text=_("software, hardware or none.")),
    encryption_algorithm: str | None = opt(None, "--encryption-algorithm", help_text=_("e.g. AES-256-XTS.")),
    encryption_verified_by: str | None = opt(None, "--encryption-verified-by",
                                              help_text=_("Who verified the encryption (key name).")),
    password_channel: str | None = opt(None, "--password-channel", help_text=_("How the password travels.")),
    purpose: str | None = opt(None, "--purpose", help_text=_("Purpose of the takeout.")),
    planned_return: str | None = opt(None, "--planned-return", help_text=_("Planned return (date-time).")),
    seal: list[str] = seal_option(),
    items: list[str] = item_option(),
    records: int | None = opt(None, "--records", help_text=_("Total record count taken out.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.takeout import body_for_takeout_departed

    note, opened = s.approval(approval, "takeout")
    body = body_for_takeout_departed(
        s.state, approval_note=note, approval=opened, media_ids=media_ids, destination=destination,
        transport=transport, carriers=carriers, encryption_method=encryption_method,
        encryption_algorithm=encryption_algorithm, encryption_verified_by=encryption_verified_by,
        password_channel=password_channel, items=parse_items(items), seals=seal, purpose=purpose,
        planned_return=planned_return, records=records, remarks=remarks, attachments=s.files(attach))
    s.act("takeout.departed", body, approval_id=opened.id, media_ids=body["media_ids"])


@recording
def takeout_return(
    s: Session,
    takeout_seq: int | None = opt(None, "--takeout", help_text=_("Seq of the takeout.departed entry.")),
    media_ids: list[str] = opt([], "--media-id", "-m", help_text=_("Media id (default: all still out).")),
    count_out: int | None = opt(None, "--count-out", help_text=_("Count taken out.")),
    count_in: int | None = opt(None, "--count-in", help_text=_("Count brought back.")),
    count_match: bool = opt(True, "--count-match/--count-mismatch", help_text=_("Whether the counts match.")),
    seals_intact: bool = opt(True, "--seals-intact/--seals-broken", help_text=_("Whether the seals were intact.")),
    checked_by: str | None = opt(None, "--checked-by", help_text=_("Who checked (default: the signer).")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.takeout import body_for_takeout_returned

    body = body_for_takeout_returned(
        s.state, signer=s.me, takeout_seq=takeout_seq, media_ids=media_ids, count_match=count_match,
        seals_intact=seals_intact, checked_by=checked_by, count_out=count_out, count_in=count_in, remarks=remarks,
        attachments=s.files(attach))
    s.act("takeout.returned", body, media_ids=body["media_ids"])


@recording
def takeout_erased(
    s: Session,
    takeout_seq: int | None = opt(None, "--takeout", help_text=_("Seq of the takeout.departed entry.")),
    media_ids: list[str] = opt([], "--media-id", "-m", help_text=_("Media id (default: all still out).")),
    erased_by: str | None = opt(None, "--erased-by", help_text=_("Who erased (default: the signer).")),
    category: str = opt("purge", "--category", help_text=_("NIST SP 800-88 category: clear or purge.")),
    technique: str = opt(..., "--technique", help_text=_("Technique, e.g. cryptographic erase.")),
    tool: str | None = tool_option(),
    tool_version: str | None = tool_version_option(),
    verification_method: str = opt(..., "--verification-method", help_text=_("How the erasure was verified.")),
    verification_result: str = verification_result_option(),
    verifier: str | None = verifier_option(),
    place: str | None = opt(None, "--place", help_text=_("Where.")),
    certificate: str | None = opt(None, "--certificate", help_text=_("Erasure certificate file.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.takeout import body_for_takeout_erased

    body = body_for_takeout_erased(
        s.state, signer=s.me, takeout_seq=takeout_seq, media_ids=media_ids, erased_by=erased_by,
        category=category, technique=technique, tool=tool, tool_version=tool_version,
        verification_method=verification_method, verification_result=verification_result, verifier=verifier,
        place=place, certificate=s.file(certificate), remarks=remarks, attachments=s.files(attach))
    s.act("takeout.erased_at_destination", body, media_ids=body["media_ids"])


# --- copy ---


@recording
def copy_make(
    s: Session,
    approval: str = approval_option(),
    source: str = opt(..., "--source", help_text=_("Media id of the source medium.")),
    media_id: str = opt(..., "--media-id", "-m", help_text=_("The copy's new media id.")),
    kind: str | None = opt(None, "--kind", help_text=_("usb, hdd, ssd, sd, optical, tape, paper or other.")),
    label: str | None = opt(None, "--label", help_text=_("Label written on the medium.")),
    make: str | None = opt(None, "--make", help_text=_("Maker.")),
    model: str | None = opt(None, "--model", help_text=_("Model.")),
    serial: str = opt(..., "--serial", help_text=_("Serial number of the copy's medium.")),
    capacity: str | None = opt(None, "--capacity", help_text=_("Capacity, e.g. 32 GB.")),
    hardware_encryption: bool | None = opt(None, "--hardware-encryption/--no-hardware-encryption",
                                            help_text=_("Whether the medium encrypts in hardware.")),
    property_number: str | None = opt(None, "--property-number", help_text=_("Property (asset) number.")),
    volume_uuid: str | None = opt(None, "--volume-uuid",
                                   help_text=_("Filesystem UUID, so that the agent recognises the volume.")),
    volume_label: str | None = opt(None, "--volume-label", help_text=_("Filesystem label.")),
    items: list[str] = item_option(),
    storage_place: str | None = opt(None, "--storage-place", help_text=_("Locked storage place.")),
    cabinet: str | None = opt(None, "--cabinet", help_text=_("Cabinet (保管庫).")),
    custodian: str | None = opt(None, "--custodian", help_text=_("Custodian's key name (default: the signer).")),
    manifest_sha256: str | None = opt(None, "--manifest-sha256", help_text=_("SHA-256 of the file manifest.")),
    copied_by: str | None = opt(None, "--copied-by", help_text=_("Who copied (default: the signer).")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.copies import body_for_copy_made

    note, _opened = s.approval(approval, "copy")
    body = body_for_copy_made(
        s.state, signer=s.me, approval_note=note, source=source, media_id=media_id, kind=kind, serial=serial,
        items=parse_items(items), storage_place=storage_place, cabinet=cabinet, custodian=custodian,
        copied_by=copied_by, label=label, make=make, model=model, capacity=capacity,
        hardware_encryption=hardware_encryption, property_number=property_number, volume_uuid=volume_uuid,
        volume_label=volume_label, manifest_sha256=manifest_sha256, remarks=remarks, attachments=s.files(attach))
    s.act("copy.made", body, media_id=media_id, source_media_id=source)


# --- erase ---


@recording
def media_erase(
    s: Session,
    media_id: str = required_media_id_option(),
    category: str = opt(..., "--category", help_text=_("NIST SP 800-88 category: clear or purge.")),
    technique: str = opt(..., "--technique", help_text=_("Technique, e.g. overwrite, cryptographic erase.")),
    tool: str | None = tool_option(),
    tool_version: str | None = tool_version_option(),
    verification_method: str = opt(..., "--verification-method", help_text=_("How the erasure was verified.")),
    verification_result: str = verification_result_option(),
    verifier: str | None = verifier_option(),
    operator: str | None = opt(None, "--operator", help_text=_("Who erased (default: the signer).")),
    start: str | None = opt(None, "--start", help_text=_("Start (date-time).")),
    end: str | None = opt(None, "--end", help_text=_("End (date-time).")),
    place: str | None = opt(None, "--place", help_text=_("Where.")),
    approval_id: str | None = opt(None, "--approval-id",
                                   help_text=_("The disposal approval this erasure carries out, if any.")),
    certificate: str | None = opt(None, "--certificate", help_text=_("Erasure certificate file.")),
    responsible: str | None = responsible_option(),
    witness_attestation: str | None = attestation_option("--witness-attestation", _(
        "The municipality's signed witness attestation (or waiver) of this erasure (custody attest witness).")),
    no_witness_reason: str | None = no_witness_reason_option(),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.disposal import body_for_media_erased

    body = body_for_media_erased(
        s.state, signer=s.me, media_id=media_id, category=category, technique=technique, tool=tool,
        tool_version=tool_version, verification_method=verification_method,
        verification_result=verification_result, verifier=verifier, operator=operator, responsible=responsible,
        start=start, end=end, place=place, approval_id=approval_id, certificate=s.file(certificate),
        no_witness_reason=no_witness_reason, remarks=remarks, attachments=s.files(attach),
        attestation=s.attestation(witness_attestation, ("erasure_witness", "waiver"), media_id))
    s.act("media.erased", body, media_id=media_id)


# --- dispose ---


@recording
def dispose_approved(
    s: Session,
    approval: str = approval_option(),
    application_scan: str | None = opt(None, "--application-scan",
                                         help_text=_("Scan of the signed disposal application.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.disposal import body_for_disposal_approved

    note = s.approval(approval, "dispose")[0]
    s.act("disposal.approved", body_for_disposal_approved(
        note, application_scan=s.file(application_scan), remarks=remarks, attachments=s.files(attach)))


@recording
def dispose_record(
    s: Session,
    media_id: str | None = media_id_option(),
    approval_id: str | None = opt(None, "--approval-id",
                                   help_text=_("The disposal approval (default: the medium's pending one).")),
    certificate_number: str | None = opt(None, "--certificate-number", help_text=_("Certificate number.")),
    serial: str | None = opt(None, "--serial", help_text=_("Serial number read on the medium.")),
    category: str | None = opt(None, "--category",
                                help_text=_("NIST SP 800-88 category: destroy or purge (default: approved).")),
    technique: str | None = opt(None, "--technique", help_text=_("Technique (default: approved).")),
    tool: str | None = tool_option(),
    tool_version: str | None = tool_version_option(),
    start: str | None = opt(None, "--start", help_text=_("Start (date-time).")),
    end: str | None = opt(None, "--end", help_text=_("End (date-time; default: now).")),
    place: str | None = opt(None, "--place", help_text=_("Place (default: approved).")),
    operator: str | None = opt(None, "--operator", help_text=_("Operator (key name or name; default: the signer).")),
    operator_organisation: str | None = opt(None, "--operator-organisation", help_text=_("Operator's organisation.")),
    operator_title: str | None = opt(None, "--operator-title", help_text=_("Operator's title.")),
    responsible: str | None = responsible_option(),
    witness: str | None = opt(None, "--witness", help_text=_("Witness (立会者): name.")),
    witness_organisation: str | None = opt(None, "--witness-organisation", help_text=_("Witness's organisation.")),
    witness_title: str | None = opt(None, "--witness-title", help_text=_("Witness's title.")),
    witness_attestation: str | None = attestation_option("--witness-attestation", _(
        "The municipality's signed witness attestation (or waiver) of this disposal (custody attest witness).")),
    no_witness_reason: str | None = no_witness_reason_option(),
    verification_method: str | None = opt(None, "--verification-method", help_text=_("How it was verified.")),
    verification_result: str = verification_result_option(),
    verifier: str | None = verifier_option(),
    validated_by: str | None = opt(None, "--validated-by", help_text=_("Who accepted the result (validation).")),
    validated_at: str | None = opt(None, "--validated-at", help_text=_("When it was accepted.")),
    remains_destination: str | None = opt(None, "--remains-destination", help_text=_("Where the remains went.")),
    photo: list[str] = opt([], "--photo", help_text=_("Photo on which the serial is readable (repeatable).")),
    other_photo: list[str] = opt([], "--other-photo", help_text=_("Other photo (serial not readable).")),
    certificate: str | None = opt(None, "--certificate", help_text=_("Certificate from the destruction company.")),
    no_certificate_reason: str | None = opt(None, "--no-certificate-reason",
                                             help_text=_("Why there is no certificate.")),
    backup_made: bool | None = opt(None, "--backup-made/--no-backup",
                                    help_text=_("Whether the data was backed up first.")),
    backup_where: str | None = opt(None, "--backup-where", help_text=_("Where the backup is.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
    from_file: str | None = from_file_option(),
) -> None:
    from custody.ledger.lifecycle.disposal import body_for_media_disposed

    photos: list[dict[str, Any] | None] = [
        s.file(p, serial_visible=True, **({"media_id": media_id} if media_id else {})) for p in photo
    ]
    photos += [s.file(p, serial_visible=False) for p in other_photo]
    o = {
        "media_id": media_id, "approval_id": approval_id, "certificate_number": certificate_number,
        "serial": serial, "category": category, "technique": technique, "tool": tool, "tool_version": tool_version,
        "start": start, "end": end, "place": place, "operator": operator,
        "operator_organisation": operator_organisation, "operator_title": operator_title,
        "responsible": responsible, "witness": witness, "witness_organisation": witness_organisation,
        "witness_title": witness_title, "no_witness_reason": no_witness_reason,
        "verification_method": verification_method, "verification_result": verification_result,
        "verifier": verifier, "validated_by": validated_by, "validated_at": validated_at,
        "remains_destination": remains_destination, "photos": photos, "certificate": s.file(certificate),
        "no_certificate_reason": no_certificate_reason, "backup_made": backup_made, "backup_where": backup_where,
        "remarks": remarks, "attachments": s.files(attach),
    }
    base = body_file(from_file)
    mid = str(need(media_id if media_id is not None else base.get("media_id"), "--media-id"))
    body = body_for_media_disposed(
        s.state, o, base=base, signer=s.me, at=now(),
        attestation=s.attestation(witness_attestation, ("disposal_witness", "waiver"), mid))
    s.act("media.disposed", body, media_id=mid)


# --- return ---


@recording
def media_return(
    s: Session,
    media_id: str = required_media_id_option(),
    receipt_number: str = opt(..., "--receipt-number", help_text=_("Number of the return receipt.")),
    receipt_at: str | None = opt(None, "--receipt-at", help_text=_("Date-time of the handover (default: now).")),
    receipt_place: str | None = opt(None, "--receipt-place", help_text=_("Place of the handover.")),
    means: str = opt("by_hand", "--means", help_text=_("by_hand, transport, online, mail or other.")),
    from_org: str | None = opt(None, "--from-org", help_text=_("Handed back by: organisation (default: vendor).")),
    from_person: str | None = opt(None, "--from-person", help_text=_("Handed back by: person (default: signer).")),
    to_org: str | None = opt(None, "--to-org", help_text=_("Received by: organisation (default: municipality).")),
    to_person: str | None = opt(None, "--to-person", help_text=_(
        "Received by: the municipality's person (default: the receiver named in --receipt).")),
    receipt_attestation: str | None = attestation_option("--receipt", _(
        "The return receipt signed by the municipality's receiver (custody attest receipt).")),
    seal: list[str] = seal_option(),
    erased_before_return: bool | None = opt(None, "--erased-before-return/--not-erased",
                                             help_text=_("Whether the data was erased before the return.")),
    receipt_scan: str | None = opt(None, "--receipt-scan", help_text=_("Scan of the signed receipt.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.storage import body_for_media_returned

    signed = s.attestation(receipt_attestation, ("return_receipt",), media_id)
    if to_person is None and signed is None:
        need(None, "--to-person")
    o = {
        "media_id": media_id, "receipt_number": receipt_number, "receipt_at": receipt_at,
        "receipt_place": receipt_place, "means": means, "from_org": from_org, "from_person": from_person,
        "to_org": to_org, "to_person": to_person, "seal": seal, "receipt_scan": s.file(receipt_scan),
        "erased_before_return": erased_before_return, "remarks": remarks, "attachments": s.files(attach),
    }
    s.act("media.returned", body_for_media_returned(s.state, o, signer=s.me, at=now(), receipt=signed),
          media_id=media_id)


# --- incident, periodic report, close ---


@recording
def incident(
    s: Session,
    kind: str = opt(..., "--kind", help_text=_("lost, stolen, leak, suspicion, found or other.")),
    situation: str = opt(..., "--situation", help_text=_("What happened.")),
    media_ids: list[str] = media_ids_option(),
    detected_at: str | None = opt(None, "--detected-at", help_text=_("When it was detected (default: now).")),
    notified_at: str | None = opt(None, "--notified-at", help_text=_("When the municipality was notified.")),
    items: list[str] = item_option(),
    records: int | None = opt(None, "--records", help_text=_("Records concerned.")),
    encrypted: bool | None = opt(None, "--encrypted/--not-encrypted", help_text=_("Whether the data was encrypted.")),
    place: str | None = opt(None, "--place", help_text=_("Where.")),
    police_filed: bool | None = opt(None, "--police-report/--no-police-report",
                                     help_text=_("Whether it was reported to the police.")),
    police_at: str | None = opt(None, "--police-at", help_text=_("When it was reported to the police.")),
    police_reference: str | None = opt(None, "--police-reference", help_text=_("Police reference.")),
    incident_status: str | None = opt(None, "--status", help_text=_("open, contained or closed.")),
    measures: str | None = opt(None, "--measures", help_text=_("Measures taken.")),
    detail_of: int | None = opt(None, "--detail-of", help_text=_(
        "For the detailed report of an incident: the seq of its first report.")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.closing import body_for_incident_reported

    s.act("incident.reported", body_for_incident_reported(
        s.state, at=now(), kind=kind, situation=situation, detected_at=detected_at, items=parse_items(items),
        police_filed=police_filed, police_at=police_at, police_reference=police_reference, notified_at=notified_at,
        media_ids=media_ids or None, records=records, encrypted=encrypted, place=place, status=incident_status,
        measures=measures, remarks=remarks, attachments=s.files(attach), detail_of=detail_of))


@recording
def periodic_record(
    s: Session,
    period_from: str = opt(..., "--from", help_text=_("First day of the period reported (YYYY-MM-DD).")),
    period_to: str = opt(..., "--to", help_text=_("Last day of the period reported (YYYY-MM-DD).")),
    summary: str = opt(..., "--summary", help_text=_("What was reported: the work, the media, incidents.")),
    to_person: str = opt(..., "--to-person", help_text=_("Reported to: the municipality's person.")),
    to_org: str | None = opt(None, "--to-org", help_text=_("Reported to: organisation (default: municipality).")),
    submitted_at: str | None = opt(None, "--submitted-at", help_text=_("When it was submitted (default: now).")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.reporting import body_for_report_periodic

    s.act("report.periodic", body_for_report_periodic(
        s.state, at=now(), period_from=period_from, period_to=period_to, summary=summary, to_person=to_person,
        to_org=to_org, submitted_at=submitted_at, remarks=remarks, attachments=s.files(attach)))


@recording
def close(
    s: Session,
    no_data_remains: bool = opt(False, "--no-data-remains",
                                 help_text=_("State that no data remains anywhere (required).")),
    scope: list[str] = opt([], "--scope", help_text=_(
        "What was checked: work_pcs, development_machines, servers, backups, mail, paper, other (repeatable).")),
    statement: str | None = opt(None, "--statement", help_text=_("The completion statement in words.")),
    completed_at: str | None = opt(None, "--completed-at", help_text=_("When the work was completed.")),
    inspector: str | None = opt(None, "--inspector", help_text=_("The municipality's inspector: name.")),
    inspector_organisation: str | None = opt(None, "--inspector-organisation",
                                              help_text=_("The inspector's organisation.")),
    check_method: str | None = opt(None, "--check-method", help_text=_("How the municipality checked.")),
    check_date: str | None = opt(None, "--check-date", help_text=_("Date of the check (YYYY-MM-DD).")),
    check_result: str | None = opt(None, "--check-result", help_text=_("Result of the check.")),
    completion: str | None = attestation_option("--completion", _(
        "The completion check (履行確認) signed by the municipality (custody attest completion).")),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    if not no_data_remains:
        raise UsageError(_("Closing states that no data remains: give --no-data-remains after checking."))
    from custody.ledger.lifecycle.closing import body_for_contract_closed

    s.act("contract.closed", body_for_contract_closed(
        scope=scope, statement=statement, inspector=inspector, inspector_organisation=inspector_organisation,
        check_method=check_method, check_date=check_date, check_result=check_result, completed_at=completed_at,
        remarks=remarks, attachments=s.files(attach),
        completion=s.attestation(completion, ("completion_check",), None)))



__all__ = ["register"]
