"""The municipality's own acts (docs/spec.md §9.6): ``custody attest ...`` signs them, the vendor records them.

Municipality (with the attester's key, pinned in the contract for the role; the key agent's when
``custody unlock`` holds it)::

    custody attest witness|receipt|inspection|completion|instruction|incident-ack|change|waiver
        --origin ORIGIN --id NUMBER --name NAME --title TITLE --organisation ORG --place PLACE --seen TEXT
        [--media-id M ...] [--approval-id ID] [--request NO] [--entry SEQ:HASH] [--acted-at TIME]
        --key FILE --output FILE

Vendor (the signed file in the entry of the act: ``custody dispose record|media erase
--witness-attestation``, ``custody media return --receipt``, ``custody close --completion``; or as
an entry of its own)::

    custody inspection record --attestation FILE        inspection.recorded
    custody attestation record --attestation FILE       attestation.recorded (instruction,
                                                         incident acknowledgement, change approval)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import typer

from custody.cli.acting import Session, attach_option, opt, recording, remarks_option, write_bytes
from custody.cli.common import (
    Command,
    CommandTree,
    json_option,
    load_signer,
    optional_path,
    out,
    passphrase_file_option,
    print_json,
    register_tree,
)
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _

ITEMS = ("subcontracting", "work_location", "return_disposal", "copy_limits", "encryption", "register",
         "staff_list", "other")


def _command_tree() -> CommandTree:
    kinds = _kinds()
    return {
        "attest": (_("Municipality: sign its own act (witness, receipt, inspection, ...) with an attester key."), [
            (name, help_text, _attest_command(name, kinds[name])) for name, help_text in (
                ("witness", _("Witness a disposal or an erasure (立会い).")),
                ("receipt", _("Receive returned media (返還の受領).")),
                ("inspection", _("Inspect the vendor and its subcontractors (検査).")),
                ("completion", _("Check the completion at the end of the contract (履行確認).")),
                ("instruction", _("Give an instruction, e.g. after an incident (指示).")),
                ("incident-ack", _("Acknowledge an incident report (事故報告の受理).")),
                ("change", _("Approve a change of responsible person or work location (変更の承認).")),
                ("waiver", _("Waive witnessing where the special terms allow (立会いの免除).")),
            )
        ]),
        "inspection": (_("Inspections by the municipality (監査・検査)."), [
            ("record", _("Record the inspector's signed inspection (inspection.recorded)."), inspection_record),
        ]),
        "attestation": (_("The municipality's other signed acts: instructions, acknowledgements, approvals."), [
            ("record", _("Record a signed instruction, acknowledgement or change approval (attestation.recorded)."),
             attestation_record),
        ]),
    }


def register(app: typer.Typer, only: str | None = None) -> None:
    register_tree(app, _command_tree(), only)


# --- the municipality's side ---


def _now() -> str:
    from custody.ledger.timefmt import format_at

    return format_at(datetime.now(UTC).astimezone().replace(microsecond=0))


def _entry(value: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise UsageError(_("--entry takes SEQ:HASH (the entry's seq and its leaf hash in hex), got {value!r}.").format(
            value=value))
    return {"seq": int(seq), "hash": digest}


def _split(value: str, option: str, parts: int, example: str) -> list[str]:
    fields = value.split(":", parts - 1)
    if len(fields) != parts or not all(fields[:-1]):
        raise UsageError(_("{option} takes {example} (got {value!r}).").format(option=option, example=example,
                                                                              value=value))
    return fields


def _sign(kind: str, role: str, c: dict[str, Any], extra: dict[str, Any]) -> None:
    """Build, sign and write one attestation; ``c`` holds the command's options (the common ones by name)."""
    from custody.ledger.attestation import sign_attestation
    from custody.ledger.errors import SchemaError

    concerns = {k: v for k, v in (("approval_id", c["approval_id"]), ("request", c["request"])) if v}
    concerns.update(_entry(c["entry"]))
    now = _now()
    body: dict[str, Any] = {
        "kind": kind, "id": c["id"], "media": list(dict.fromkeys(c["media_ids"])), "concerns": concerns,
        "seen": c["seen"], "acted_at": c["acted_at"] or now, "attested_at": now, "place": c["place"],
        "attester": {"name": c["name"], "title": c["title"], "organisation": c["organisation"], "role": role},
        **extra,
    }
    signer = load_signer(optional_path(c["key"]), optional_path(c["passphrase_file"]))
    try:
        note = sign_attestation(c["origin"], body, signer)
    except SchemaError as exc:
        raise UsageError(
            _("The attestation would not be valid: {why}").format(why=exc.message),
            hint=_("Check the options (field '{field}').").format(field=exc.field or "-"),
        ) from None
    write_bytes(c["output"], note)
    if c["json_out"]:
        print_json({"attestation": str(c["output"]), "kind": kind, "id": c["id"], "origin": c["origin"], "body": body,
                    "signed_by": signer.name})
    else:
        out.print(_("Attestation {id} ({kind}) signed by {name}, written to {path}; hand it to the vendor.").format(
            id=c["id"], kind=kind, name=signer.name, path=c["output"]), markup=False)


# The options every attestation ends with, in this order: (parameter, type, option).
_COMMON: tuple[tuple[str, Any, Callable[[], Any]], ...] = (
    ("origin", str, lambda: opt(..., "--origin", help_text=_("The ledger's origin (as in the contract)."))),
    ("id", str, lambda: opt(..., "--id", help_text=_("The municipality's number for this attestation."))),
    ("media_ids", list[str],
     lambda: opt([], "--media-id", "-m", help_text=_("Media id the act concerns (repeatable)."))),
    ("approval_id", str | None, lambda: opt(None, "--approval-id", help_text=_("The approval the act concerns."))),
    ("request", str | None,
     lambda: opt(None, "--request", help_text=_("The request or report number the act concerns."))),
    ("entry", str | None,
     lambda: opt(None, "--entry", help_text=_("The ledger entry the act concerns: SEQ:HASH (leaf hash, hex)."))),
    ("seen", str, lambda: opt(..., "--seen", help_text=_("What you saw or checked, in words."))),
    ("acted_at", str | None,
     lambda: opt(None, "--acted-at", help_text=_("When the act took place (date-time; default: now)."))),
    ("place", str, lambda: opt(..., "--place", help_text=_("Where the act took place."))),
    ("name", str, lambda: opt(..., "--name", envvar="CUSTODY_ATTESTER_NAME", help_text=_("Your name."))),
    ("title", str, lambda: opt(..., "--title", envvar="CUSTODY_ATTESTER_TITLE", help_text=_("Your title."))),
    ("organisation", str, lambda: opt(..., "--organisation", envvar="CUSTODY_ATTESTER_ORGANISATION",
                                      help_text=_("Your organisation (the municipality and its department)."))),
    ("output", str,
     lambda: opt(..., "--output", "-o", help_text=_("Where to write the signed attestation."), metavar="FILE")),
    ("key", str | None, lambda: typer.Option(None, "--key", "-k", envvar="CUSTODY_KEY", metavar="FILE",
                                             help=_("Your attester key file (pinned in the contract for this role)."))),
    ("passphrase_file", str | None, passphrase_file_option),
    ("json_out", bool, json_option),
)


@dataclass(frozen=True)
class _Kind:
    """One ``custody attest`` command: the attester's role, its own options (before the common ones) and what
    they add to the attestation: ``body(options)`` -> (the attestation's kind, its own fields)."""

    role: str
    own: tuple[tuple[str, Any, Callable[[], Any]], ...]
    body: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]


def _witness(o: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if o["act"] not in ("disposal", "erasure"):
        raise UsageError(_("--act is disposal or erasure, not {value!r}.").format(value=o["act"]))
    return f"{o['act']}_witness", {}


def _inspection(o: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    parsed_checks = []
    for value in o["checks"]:
        parts = value.split(":", 3)
        party, item, mark = [*parts, "", "", ""][:3]
        if len(parts) < 3 or not party or item not in ITEMS or mark not in ("0", "1"):
            raise UsageError(_("--check takes PARTY:ITEM:0|1[:EVIDENCE] with ITEM one of {items} (got {value!r}).")
                             .format(items=", ".join(ITEMS), value=value))
        check: dict[str, Any] = {"party": party, "item": item, "complied": mark == "0"}
        if len(parts) == 4 and parts[3]:
            check["evidence"] = parts[3]
        parsed_checks.append(check)
    if not parsed_checks:
        raise UsageError(_("An inspection checks at least one party: give --check."))
    inspection: dict[str, Any] = {"method": o["method"], "checks": parsed_checks}
    if o["findings"]:
        inspection["findings"] = o["findings"]
    if o["actions"]:
        inspection["corrective_actions"] = [
            dict(zip(("id", "party", "due", "what"), _split(v, "--action", 4, "ID:PARTY:YYYY-MM-DD:WHAT"),
                     strict=True)) for v in o["actions"]]
    if o["closed"]:
        inspection["closed_actions"] = [
            dict(zip(("id", "closed_on"), _split(v, "--closed-action", 2, "ID:YYYY-MM-DD"), strict=True))
            for v in o["closed"]]
    if o["result"]:
        inspection["result"] = o["result"]
    return "inspection", {"inspection": inspection}


def _instruction(o: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if not o["instructions"]:
        raise UsageError(_("Give at least one --instruction."))
    return "instruction", {"instructions": o["instructions"]}


def _change(o: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    change = {"subject": o["subject"], "to": o["change_to"], **({"from": o["change_from"]} if o["change_from"] else {})}
    return "change_approval", {"change": change}


def _kinds() -> dict[str, _Kind]:
    """Every attestation command (their options' help is built after the language is chosen)."""
    return {
        "witness": _Kind("witness", (
            ("act", str, lambda: opt("disposal", "--act", help_text=_("disposal or erasure."))),
        ), _witness),
        "receipt": _Kind("receiver", (), lambda o: ("return_receipt", {})),
        "inspection": _Kind("inspector", (
            ("method", str, lambda: opt("on_site", "--method", help_text=_("on_site, paper or remote."))),
            ("checks", list[str], lambda: opt([], "--check", metavar="PARTY:ITEM:0|1[:EVIDENCE]", help_text=_(
                "A check of one party (the vendor or a subcontractor): item (subcontracting, work_location, "
                "return_disposal, copy_limits, encryption, register, staff_list, other), 0 complied / 1 not "
                "(repeatable)."))),
            ("findings", list[str], lambda: opt([], "--finding", help_text=_("A finding (repeatable)."))),
            ("actions", list[str], lambda: opt([], "--action", metavar="ID:PARTY:YYYY-MM-DD:WHAT", help_text=_(
                "A corrective action required, with its due date (repeatable)."))),
            ("closed", list[str], lambda: opt([], "--closed-action", metavar="ID:YYYY-MM-DD", help_text=_(
                "A corrective action of an earlier inspection found carried out, and when (repeatable)."))),
            ("result", str | None, lambda: opt(None, "--result", help_text=_("The overall result."))),
        ), _inspection),
        "completion": _Kind("completion", (), lambda o: ("completion_check", {})),
        "instruction": _Kind("instructor", (
            ("instructions", list[str], lambda: opt([], "--instruction", help_text=_("An instruction (repeatable)."))),
        ), _instruction),
        "incident-ack": _Kind("instructor", (), lambda o: ("incident_acknowledgement", {})),
        "change": _Kind("instructor", (
            ("subject", str, lambda: opt(..., "--subject", help_text=_("responsible_person or work_location."))),
            ("change_from", str | None,
             lambda: opt(None, "--from", help_text=_("The present responsible person or location."))),
            ("change_to", str, lambda: opt(..., "--to", help_text=_(
                "The new responsible person (name or key name) or location."))),
        ), _change),
        "waiver": _Kind("witness", (
            ("reason", str, lambda: opt(..., "--reason", help_text=_(
                "Why no witness is needed, as the special terms allow."))),
        ), lambda o: ("waiver", {"reason": o["reason"]})),
    }


def _attest_command(name: str, spec: _Kind) -> Callable[..., None]:
    """The typer command of one attestation kind: its own options, then the common ones."""

    def command(**options: Any) -> None:
        kind, extra = spec.body(options)
        _sign(kind, spec.role, options, extra)

    def signature() -> inspect.Signature:
        return inspect.Signature([
            inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, default=make(), annotation=annotation)
            for param, annotation, make in (*spec.own, *_COMMON)
        ])

    return Command(command, f"attest_{name.replace('-', '_')}", signature)


# --- the vendor's side ---


def _attestation_file() -> Any:
    return opt(..., "--attestation", help_text=_("The municipality's signed attestation file."), metavar="FILE")


@recording
def inspection_record(
    s: Session,
    attestation: str = _attestation_file(),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.closing import body_for_inspection_recorded

    signed = s.attestation(attestation, ("inspection",), None)
    assert signed is not None
    s.act("inspection.recorded", body_for_inspection_recorded(signed, remarks=remarks, attachments=s.files(attach)),
          attestation=signed[1].id)


@recording
def attestation_record(
    s: Session,
    attestation: str = _attestation_file(),
    remarks: str | None = remarks_option(),
    attach: list[str] = attach_option(),
) -> None:
    from custody.ledger.lifecycle.attestations import body_for_attestation_recorded

    signed = s.attestation(attestation, ("instruction", "incident_acknowledgement", "change_approval"), None)
    assert signed is not None
    s.act("attestation.recorded", body_for_attestation_recorded(signed, remarks=remarks, attachments=s.files(attach)),
          attestation=signed[1].id, kind=signed[1].kind)
