"""The application papers: the vendor's applications (custody takeout|copy|dispose|subcontract request) and the
municipality's approvals of them (custody approve ...), signed with an approver key.

An application is checked against the register before it is written: what no approval could make valid is
refused (custody.ledger.lifecycle.applications, exit 6).  The approver sees a summary of what they sign.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from custody.cli.acting import (
    choices,
    from_file_option,
    given,
    item_option,
    load_doc,
    media_ids_option,
    need,
    now,
    opt,
    output_option,
    parse_items,
    read_state,
    request_option,
    requester_option,
    write_bytes,
)
from custody.cli.common import (
    Command,
    Shared,
    err,
    json_option,
    key_option,
    ledger_option,
    load_signer,
    optional_path,
    out,
    passphrase_file_option,
    print_json,
    signature_with,
    take,
)
from custody.ledger.approval_defaults import (
    DEFAULT_ENCRYPTION_MIN,
    DEFAULT_MAX_USES,
    DEFAULT_VALID_DAYS,
    default_valid_days,
)
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _

if TYPE_CHECKING:
    from custody.ledger.lifecycle import LedgerState

TIERS = ("vendor", "subcontractor", "sub-subcontractor")


# --- applications ---


def _requester(requester: str | None, key: str | None) -> str | None:
    if requester is not None or key is None:
        return requester
    from custody.ledger.keyfile import key_file_info

    name, _public = key_file_info(Path(key))
    return name


def _write_request(ledger_dir: str, kind: str, fields: dict[str, Any], output: str, origin: str | None = None) -> None:
    from custody.ledger.approval import make_request
    from custody.ledger.errors import SchemaError
    from custody.ledger.ledger import Ledger

    if origin is None:
        with Ledger.open(Path(ledger_dir)) as ledger:
            origin = ledger.origin
    fields = {**fields}
    fields.setdefault("origin", origin)
    fields.setdefault("requested_at", now())
    need(fields.get("requester"), "--requester / --key")
    try:
        doc = make_request(kind, fields)
    except SchemaError as exc:
        raise UsageError(
            _("The application is not valid: {why}").format(why=exc.message),
            hint=_("Check the option or the --from-file field '{field}'.").format(field=exc.field or "-"),
        ) from None
    write_bytes(output, (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    err.print(_("Application written to {path}; hand it to the municipality's approver.").format(path=output),
              markup=False)


class Application:
    """What a ``custody * request`` command gets besides its own options: the options every application ends
    with (--requester, --output, --from-file, --ledger, --key), the ledger's state and the writing."""

    def __init__(self, requester: str | None, output: str, from_file: str | None, ledger_dir: str,
                 key: str | None) -> None:
        self.requester, self.output, self.from_file, self.ledger_dir, self.key = (
            requester, output, from_file, ledger_dir, key)
        self._state: LedgerState | None = None

    @property
    def state(self) -> LedgerState:
        if self._state is None:
            self._state = read_state(self.ledger_dir)
        return self._state

    def given(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The application's fields: ``fields`` and the requester over the --from-file document's."""
        return given(self.from_file, {"requester": _requester(self.requester, self.key), **fields})

    def write(self, kind: str, fields: dict[str, Any]) -> None:
        _write_request(self.ledger_dir, kind, fields, self.output,
                       self._state.origin if self._state is not None else None)


#: The options every application ends with, in Application's order.
_APPLICATION: tuple[Shared, ...] = (
    ("requester", str | None, requester_option), ("output", str, output_option),
    ("from_file", str | None, from_file_option), ("ledger_dir", str, ledger_option), ("key", str | None, key_option),
)


def requesting(command: Callable[..., None]) -> Callable[..., None]:
    """``command(a: Application, **options)`` as a typer command ending with the options every application
    takes, declared here once."""

    def run(**options: Any) -> None:
        command(Application(**take(options, _APPLICATION)), **options)

    return Command(run, command, signature_with(command, after=_APPLICATION))


@requesting
def takeout_request(
    a: Application,
    media_ids: list[str] = media_ids_option(),
    purpose: str | None = opt(None, "--purpose", help_text=_("Purpose of the takeout.")),
    destination: str | None = opt(None, "--destination", help_text=_("Where the media go.")),
    transport: str | None = opt(None, "--transport",
                                 help_text=_("Transport method, e.g. 'by hand in a locked case'.")),
    carriers: list[str] = opt([], "--carrier", help_text=_("Carrier (registered key name), repeatable.")),
    planned_out: str | None = opt(None, "--planned-out", help_text=_("Planned departure (date-time).")),
    planned_return: str | None = opt(None, "--planned-return", help_text=_("Planned return (date-time).")),
    encryption_method: str | None = opt(None, "--encryption-method", help_text=_("software or hardware.")),
    encryption_algorithm: str | None = opt(None, "--encryption-algorithm", help_text=_("e.g. AES-256-XTS.")),
    password_channel: str | None = opt(None, "--password-channel", help_text=_("How the password travels.")),
    erasure_plan: str | None = opt(None, "--erasure-plan", help_text=_("How the data is erased after use.")),
    origin_place: str | None = opt(None, "--origin-place",
                                    help_text=_("Where the media leave from (default: the work location).")),
    items: list[str] = item_option(),
) -> None:
    from custody.ledger.lifecycle import applications
    from custody.ledger.lifecycle.defaults import flagged_items

    state = a.state
    fields = a.given({
        "media": media_ids or None, "purpose": purpose,
        "destination": destination, "transport": transport, "carriers": carriers or None,
        "planned_out": planned_out, "planned_return": planned_return,
        "encryption": {"method": encryption_method, "algorithm": encryption_algorithm,
                       "password_channel": password_channel},
        "erasure_plan": erasure_plan, "origin_place": origin_place,
        "data_items": flagged_items(state, parse_items(items)) or None,
    })
    a.write("takeout", applications.request_for_takeout(state, fields, at=now()))


@requesting
def copy_request(
    a: Application,
    media_ids: list[str] = media_ids_option(),
    copies: int | None = opt(None, "--copies", help_text=_("Number of copies (default: one per --target).")),
    targets: list[str] = opt([], "--target", help_text=_("Media id of a copy to make (repeatable).")),
    purpose: str | None = opt(None, "--purpose", help_text=_("Purpose of the copy.")),
    disposal_method: str | None = opt(None, "--disposal-method",
                                       help_text=_("How the copies end: erase, destroy or return.")),
    disposal_by: str | None = opt(None, "--disposal-by", help_text=_("By when (date-time).")),
    disposal_description: str | None = opt(None, "--disposal-description", help_text=_("How, in words.")),
    items: list[str] = item_option(),
) -> None:
    from custody.ledger.lifecycle import applications
    from custody.ledger.lifecycle.defaults import flagged_items

    state = a.state
    fields = a.given({
        "media": media_ids or None, "purpose": purpose,
        "copies": copies if copies is not None else (len(targets) or None), "target_media": targets or None,
        "disposal": {"method": disposal_method, "by": disposal_by, "description": disposal_description},
        "data_items": flagged_items(state, parse_items(items)) or None,
    })
    a.write("copy", applications.request_for_copy(state, fields))


@requesting
def dispose_request(
    a: Application,
    media_ids: list[str] = media_ids_option(),
    number: str | None = opt(None, "--number", help_text=_("Application number (申請番号).")),
    category: str | None = opt(None, "--category", help_text=_("NIST SP 800-88 category: destroy, purge or clear.")),
    technique: str | None = opt(None, "--technique", help_text=_("Technique, e.g. shred, degauss, crypto erase.")),
    tool: str | None = opt(None, "--tool", help_text=_("Tool.")),
    planned_date: str | None = opt(None, "--planned-date", help_text=_("Planned date (YYYY-MM-DD).")),
    place: str | None = opt(None, "--place", help_text=_("Place (default: the work location).")),
    operator: str | None = opt(None, "--operator", help_text=_("Who will do it (key name or name).")),
    witness_required: bool | None = opt(None, "--witness-required/--no-witness-required",
                                         help_text=_("Whether a witness (立会者) attends (default: yes).")),
    purpose: str | None = opt(None, "--purpose", help_text=_("Why the media are disposed of.")),
) -> None:
    from custody.ledger.lifecycle import applications
    from custody.ledger.lifecycle.defaults import person_ref

    state = a.state
    items = applications.disposal_items(state, media_ids)
    fields = a.given({
        "purpose": purpose,
        "application": {
            "number": number, "items": items or None, "method": {"category": category, "technique": technique},
            "tool": tool, "planned_date": planned_date, "place": place,
            "operator": person_ref(state, operator), "witness_required": witness_required,
        },
    })
    fields = applications.request_for_dispose(state, fields, at=now())
    if applications.unwitnessed_my_number(state, fields):
        err.print(_("Note: this contract involves My Number data; a disposal without a witness needs the reason "
                    "recorded (custody dispose record --no-witness-reason)."), markup=False)
    a.write("dispose", fields)


@requesting
def subcontract_request(
    a: Application,
    name: str | None = opt(None, "--name", help_text=_("The subcontractor's name.")),
    tier: str | None = opt(None, "--tier", help_text=_("subcontractor or sub-subcontractor."),
                            callback=choices(TIERS[1:])),
    parent: str | None = opt(None, "--parent", help_text=_("For a sub-subcontractor: the subcontractor above it.")),
    address: str | None = opt(None, "--address", help_text=_("Address.")),
    reason: str | None = opt(None, "--reason", help_text=_("Why the work is subcontracted.")),
    scope: str | None = opt(None, "--scope", help_text=_("Scope of the work.")),
    data_handled: str | None = opt(None, "--data-handled", help_text=_("Personal data the subcontractor handles.")),
    safeguards: str | None = opt(None, "--safeguards", help_text=_("Safeguards required of the subcontractor.")),
    supervision: str | None = opt(None, "--supervision", help_text=_("How the vendor supervises it.")),
    purpose: str | None = opt(None, "--purpose", help_text=_("Purpose.")),
) -> None:
    from custody.ledger.lifecycle import applications

    fields = a.given({
        "purpose": purpose,
        "subcontractor": {"name": name, "tier": tier, "parent": parent, "address": address, "reason": reason,
                          "scope": scope, "data_handled": data_handled, "safeguards": safeguards,
                          "supervision": supervision},
    })
    a.write("subcontract", applications.request_for_subcontract(fields))


# --- municipality: approve ---


def _load_request(path: str, kind: str) -> dict[str, Any]:
    doc = load_doc(path, _("the application"))
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
        "name": str(need(approver_name, "--approver-name")), "title": str(need(approver_title, "--approver-title")),
        "organisation": str(need(approver_organisation, "--approver-organisation")),
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
    write_bytes(output, note)
    if json_out:
        print_json({"approval": str(output), "id": approval_id, "kind": kind, "origin": origin, "body": body,
                    "signed_by": signer.name})
    else:
        out.print(_("Approval {id} ({kind}) signed by {name}, valid {start} .. {until}, written to {path}.").format(
            id=approval_id, kind=kind, name=signer.name, start=start, until=until, path=output), markup=False)


def approval_id_option() -> Any:
    return opt(..., "--id", help_text=_("The municipality's approval number."))


def valid_from_option() -> Any:
    return opt(None, "--valid-from", help_text=_("Valid from (date-time; default: now)."))


def valid_until_option() -> Any:
    return opt(None, "--valid-until", help_text=_("Valid until (date-time; default: --valid-days from the start)."))


def valid_days_option(default: int = DEFAULT_VALID_DAYS) -> Any:
    return opt(default, "--valid-days", help_text=_("Validity in days when --valid-until is not given."))


def max_uses_option() -> Any:
    return opt(DEFAULT_MAX_USES, "--max-uses", help_text=_("How many times the approval may be used."))


def condition_option() -> Any:
    return opt([], "--condition", help_text=_("A condition of the approval (repeatable)."))


def approver_name_option() -> Any:
    return opt(None, "--approver-name", envvar="CUSTODY_APPROVER_NAME", help_text=_("Approver's name."))


def approver_title_option() -> Any:
    return opt(None, "--approver-title", envvar="CUSTODY_APPROVER_TITLE", help_text=_("Approver's title."))


def approver_org_option() -> Any:
    return opt(None, "--approver-organisation", envvar="CUSTODY_APPROVER_ORGANISATION",
                help_text=_("Approver's organisation."))


def origin_option() -> Any:
    return opt(None, "--origin", help_text=_("The ledger's origin (default: from the application)."))


def approve_key_option() -> Any:
    return typer.Option(None, "--key", "-k", envvar="CUSTODY_KEY", help=_("The approver's signing key file."))


#: The options every approval takes before the kind's own, then after them.
_BEFORE: tuple[Shared, ...] = (
    ("request", str, request_option), ("output", str, output_option), ("approval_id", str, approval_id_option),
    ("valid_from", str | None, valid_from_option), ("valid_until", str | None, valid_until_option),
)
_AFTER: tuple[Shared, ...] = (
    ("approver_name", str | None, approver_name_option), ("approver_title", str | None, approver_title_option),
    ("approver_organisation", str | None, approver_org_option), ("origin", str | None, origin_option),
    ("key", str | None, approve_key_option), ("passphrase_file", str | None, passphrase_file_option),
    ("json_out", bool, json_option),
)


def approving(kind: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., None]]:
    """``custody approve KIND``: the options every approval takes, around the kind's own (its function's
    parameters), which return what they change in the approval (None: as applied for)."""
    before = (*_BEFORE, ("valid_days", int, lambda: valid_days_option(default_valid_days(kind))),
              ("max_uses", int, max_uses_option), ("conditions", list[str], condition_option))

    def wrap(own: Callable[..., dict[str, Any]]) -> Callable[..., None]:
        def run(**options: Any) -> None:
            common = take(options, (*before, *_AFTER))
            _approve(kind, **common, overrides=own(**options))

        return Command(run, own, signature_with(own, before=before, after=_AFTER, first=False))

    return wrap


@approving("takeout")
def approve_takeout(
    encryption_min: str = opt(DEFAULT_ENCRYPTION_MIN, "--encryption-min",
                              help_text=_("Minimum encryption algorithm.")),
    return_by: str | None = opt(None, "--return-by",
                                help_text=_("When the media must be back or erased (default: planned return).")),
) -> dict[str, Any]:
    return {"encryption_min": encryption_min or None, "return_by": return_by}


@approving("copy")
def approve_copy(
    copies: int | None = opt(None, "--copies", help_text=_("Copies allowed (default: as applied for).")),
) -> dict[str, Any]:
    return {"copies": copies}


@approving("dispose")
def approve_dispose(
    evidence_due: str | None = opt(None, "--evidence-due",
                                   help_text=_("When the disposal record and certificate are due.")),
) -> dict[str, Any]:
    return {"evidence_due": evidence_due}


@approving("subcontract")
def approve_subcontract() -> dict[str, Any]:
    return {}
