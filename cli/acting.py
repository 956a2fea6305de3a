"""What every recording command shares: its options declared once, the body file, and the session that opens
the key and the ledger and appends through the one pre-write check (custody.ledger.workflow.act).

A recording command is written ``@recording def command(s: Session, <its own options>)``: the decorator adds
the options every such command ends with (``--ledger``, ``--key``, ``--passphrase-file``,
``--log-passphrase-file``, ``--json``) to the signature typer reads, and hands the command a
:class:`Session` that opens the key and the ledger on first use -- so that a usage error found before is
reported before a passphrase is asked for.  The command parses its options, calls the lifecycle family's
``body_for_<act>`` (custody.ledger.lifecycle) and :meth:`Session.act`; it decides no rule and writes no
word of the interface language into a body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from custody.cli.common import (
    ATTACHMENT_LIMIT,
    DOCUMENT_LIMIT,
    Command,
    Shared,
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
    signature_with,
    take,
)
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _

if TYPE_CHECKING:
    from custody.ledger.approval import Approval
    from custody.ledger.attestation import Attestation
    from custody.ledger.entry import Entry
    from custody.ledger.ledger import Ledger
    from custody.ledger.lifecycle import LedgerState
    from custody.ledger.note import Signer
    from custody.ledger.violation import Violation


# --- options (help text is built after the language is chosen, when the command module is imported) ---
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


def opt(default: Any, *names: str, help_text: str, **kw: Any) -> Any:
    """An option with custody's metavar for its name (FILE, MEDIA_ID, ...)."""
    if names and names[0] in _METAVARS:
        kw.setdefault("metavar", _METAVARS[names[0]])
    return option(default, *names, help=help_text, **kw)


def choices(allowed: tuple[str, ...]) -> Any:
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
    return opt(None, "--media-id", "-m", help_text=_("Media id (媒体番号), e.g. M-001."))


def required_media_id_option() -> Any:
    return opt(..., "--media-id", "-m", help_text=_("Media id (媒体番号), e.g. M-001."))


def media_ids_option() -> Any:
    return opt([], "--media-id", "-m", help_text=_("Media id (repeatable)."))


def approval_option() -> Any:
    return opt(..., "--approval", help_text=_("The approval file signed by the municipality (custody approve)."))


def from_file_option() -> Any:
    return opt(None, "--from-file", help_text=_("Body fields from a JSON or TOML file; explicit options win."))


def remarks_option() -> Any:
    return opt(None, "--remarks", help_text=_("Remarks."))


def attach_option() -> Any:
    return opt([], "--attach", help_text=_("Attach a file (repeatable); its SHA-256 goes into the entry."))


def seal_option() -> Any:
    return opt([], "--seal", help_text=_("Seal number (封印番号), repeatable."))


def output_option() -> Any:
    return opt(..., "--output", "-o", help_text=_("File to write."))


def request_option() -> Any:
    return opt(..., "--request", help_text=_("The application file (written by the vendor's request command)."))


def item_option() -> Any:
    return opt([], "--item", help_text=_("Data item and record count as NAME:RECORDS (repeatable)."))


def tool_option() -> Any:
    return opt(None, "--tool", help_text=_("Tool."))


def tool_version_option() -> Any:
    return opt(None, "--tool-version", help_text=_("Tool version."))


def verification_result_option() -> Any:
    return opt("pass", "--verification-result", help_text=_("pass or fail."))


def verifier_option() -> Any:
    return opt(None, "--verifier", help_text=_("Who verified (default: the signer)."))


def no_witness_reason_option() -> Any:
    return opt(None, "--no-witness-reason", help_text=_("Why there was no witness."))


def responsible_option() -> Any:
    return opt(None, "--responsible", help_text=_("Responsible person (default: the contract's 作業責任者)."))


def requester_option() -> Any:
    return opt(None, "--requester", help_text=_("Requester (default: the name in --key)."))


def attestation_option(name: str, help_text: str) -> Any:
    return opt(None, name, help_text=help_text, metavar="FILE")


# --- small readers and writers ---


def now() -> str:
    from custody.ledger.timefmt import format_at, system_clock

    return format_at(system_clock())


def read_bytes(path: str, what: str, limit: int = DOCUMENT_LIMIT) -> bytes:
    return read_input_file(Path(path), what, limit)


def write_bytes(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UsageError(_("Cannot write {path}: {why}").format(path=path, why=exc.strerror)) from None


def need(value: Any, option_name: str) -> Any:
    """``value``, else a usage error naming the option that gives it."""
    if value is None or value in ([], ""):
        raise UsageError(_("Missing option {option}.").format(option=option_name))
    return value


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


def load_doc(path: str, what: str) -> dict[str, Any]:
    """A JSON or TOML document (by extension; JSON otherwise)."""
    data = read_bytes(path, what)
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


def body_file(from_file: str | None) -> dict[str, Any]:
    """The body given with ``--from-file`` (empty without one)."""
    return load_doc(from_file, _("the body file")) if from_file is not None else {}


def given(from_file: str | None, explicit: dict[str, Any]) -> dict[str, Any]:
    """The options' fields over the body file's (None: not given)."""
    from custody.ledger.lifecycle.defaults import merged

    return merged(body_file(from_file), explicit)


def parse_items(values: list[str]) -> list[dict[str, Any]]:
    """``NAME:RECORDS`` options as data items (the lifecycle adds their My Number flags)."""
    found = []
    for value in values:
        name, sep, records = value.rpartition(":")
        if not sep or not name or not records.strip().isdigit():
            raise UsageError(
                _("--item takes NAME:RECORDS, e.g. 住民基本台帳:1200 (got {value!r}).").format(value=value))
        found.append({"name": name, "records": int(records)})
    return found


def parse_receipt_items(values: list[str]) -> list[dict[str, Any]]:
    """``NAME:MEDIA_NAME:QUANTITY:RECORDS`` options as the lines of a handover receipt."""
    found = []
    for value in values:
        parts = value.rsplit(":", 3)
        if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
            raise UsageError(_("--receipt-item takes NAME:MEDIA_NAME:QUANTITY:RECORDS (got {value!r}).").format(
                value=value))
        found.append({"name": parts[0], "media_name": parts[1], "quantity": int(parts[2]),
                      "records": int(parts[3])})
    return found


def vkey_from(vkey: str | None, path: str | None) -> str | None:
    """The vkey given, else the one in a vkey file, else the public half of a key file (no passphrase needed)."""
    if vkey is not None or path is None:
        return vkey
    from custody.ledger.errors import NoteFormatError
    from custody.ledger.keyfile import key_file_info
    from custody.ledger.note import ALG_ED25519, Verifier

    text = read_bytes(path, _("the key file")).decode("utf-8", errors="replace").strip()
    try:
        return Verifier.from_vkey(text).vkey
    except NoteFormatError:
        pass
    name, public = key_file_info(Path(path))
    return Verifier(name, ALG_ED25519, public).vkey


def read_state(ledger_dir: str) -> LedgerState:
    from custody.ledger.ledger import Ledger
    from custody.ledger.workflow import current_state

    with Ledger.open(Path(ledger_dir)) as ledger:
        return current_state(ledger)


# --- reporting what was recorded ---


def print_violation(v: Violation) -> None:
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
        print_violation(v)


# --- the session ---


class Session:
    """One recording command's signer, ledger and (lazily) state, opened on first use: the key first, as
    the commands always did, then the ledger."""

    def __init__(self, ledger_dir: str, key: str | None, passphrase_file: str | None,
                 log_passphrase_file: str | None, json_out: bool) -> None:
        self._where = (ledger_dir, key, passphrase_file)
        self.log_passphrase_file = log_passphrase_file
        self.json_out = json_out
        self._opened: tuple[Ledger, Signer] | None = None
        self._state: LedgerState | None = None
        self.blobs: list[bytes] = []

    def _open(self) -> tuple[Ledger, Signer]:
        if self._opened is None:
            from custody.ledger.ledger import Ledger

            ledger_dir, key, passphrase_file = self._where
            signer = load_signer(optional_path(key), optional_path(passphrase_file))
            self._opened = (Ledger.open(Path(ledger_dir)), signer)
        return self._opened

    def close(self) -> None:
        if self._opened is not None:
            self._opened[0].close()

    @property
    def ledger(self) -> Ledger:
        return self._open()[0]

    @property
    def signer(self) -> Signer:
        return self._open()[1]

    @property
    def me(self) -> str:
        """The signer's key name."""
        return self.signer.name

    @property
    def state(self) -> LedgerState:
        if self._state is None:
            from custody.ledger.workflow import current_state

            self._state = current_state(self.ledger)
        return self._state

    def files(self, paths: list[str]) -> list[dict[str, Any]] | None:
        self._open()
        if not paths:
            return None
        refs, blobs = read_attachments(paths)
        self.blobs += blobs
        return refs

    def file(self, path: str | None, **extra: Any) -> dict[str, Any] | None:
        self._open()
        if path is None:
            return None
        from custody.ledger.workflow import attachment_ref

        data = read_bytes(path, _("the attachment"), ATTACHMENT_LIMIT)
        self.blobs.append(data)
        return attachment_ref(data, Path(path).name, **extra)

    def approval(self, path: str, kind: str) -> tuple[str, Approval]:
        """The approval note's text, opened and checked (signature, origin, kind) before anything else.

        A forged note, one signed by a key the contract does not pin (a vendor key), one for another
        ledger or of another kind is refused here (exit 6); the lifecycle model then checks, under the
        write lock, that it covers the act (media, validity window, uses, transport, carriers, encryption).
        """
        from custody.ledger.approval import open_approval

        state = self.state
        data = read_bytes(path, _("the approval"))
        opened = open_approval(data, origin=self.ledger.origin, approver_vkeys=state.approver_vkeys, kind=kind,
                               vendor_keys=frozenset(state.people))
        return data.decode("utf-8"), opened

    def attestation(self, path: str | None, kinds: tuple[str, ...],
                    media_id: str | None) -> tuple[str, Attestation] | None:
        """The municipality's attestation file (None without one), opened against the keys the contract pins
        for its role (docs/spec.md §9.6): forged, signed by an unpinned key (another municipality's, a
        vendor's), for another ledger, another kind or other media -- refused here (C24, exit 6)."""
        if path is None:
            return None
        from custody.ledger.attestation import AttestationProblem
        from custody.ledger.lifecycle.attestations import open_embedded

        state = self.state
        data = read_bytes(path, _("the attestation"))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(_("{path} is not a UTF-8 text file.").format(path=path)) from None
        opened = open_embedded(state, text, kinds=kinds, media_id=media_id)
        if isinstance(opened, AttestationProblem):
            raise opened
        return text, opened

    def act(self, type_: str, body: dict[str, Any], **extra: Any) -> Entry:
        """Append the entry through the lifecycle's pre-write check (custody.ledger.workflow.act)."""
        from custody.ledger.workflow import act

        warnings: list[Violation] = []
        entry = act(self.ledger, type_, body, self.signer, attachments=self.blobs, warnings=warnings)
        self.after(entry, warnings, extra)
        return entry

    def after(self, entry: Entry, warnings: list[Violation], extra: dict[str, Any] | None = None,
              report: Callable[[], None] | None = None) -> None:
        """A checkpoint when one is due, then the report of what was recorded.

        The log key is opened (one more scrypt) only when a checkpoint is due; a failure then says that the
        entry was recorded (CheckpointPendingError), lest it be recorded twice -- after the usual report."""
        try:
            self.ledger.checkpoint_after(
                entry, lambda: optional_log_signer(self.ledger, optional_path(self.log_passphrase_file)))
        finally:
            if report is not None:
                report()
            else:
                _report(entry, warnings, self.json_out, extra or {})


#: The options every recording command ends with, in Session's order.
_SESSION: tuple[Shared, ...] = (
    ("ledger_dir", str, ledger_option), ("key", str | None, key_option),
    ("passphrase_file", str | None, passphrase_file_option),
    ("log_passphrase_file", str | None, log_passphrase_option), ("json_out", bool, json_option),
)


def recording(command: Callable[..., None]) -> Callable[..., None]:
    """``command(s: Session, **options)`` as a typer command with the options every recording command ends
    with (--ledger, --key, --passphrase-file, --log-passphrase-file, --json), declared here once."""

    def run(**options: Any) -> None:
        session = Session(**take(options, _SESSION))
        try:
            command(session, **options)
        finally:
            session.close()

    return Command(run, command, signature_with(command, after=_SESSION))
