"""Approving and rejecting an application in the desk, with the functions ``custody approve`` uses.

The approval body is ``custody.ledger.approval.approval_from_request`` and the note
``custody.ledger.approval.sign_approval``, with the defaults of ``custody approve`` (cli/approvecmd.py):
valid from now for 30 days (a subcontract for 365), used once, a takeout's minimum encryption AES-256, the
approval time now in the machine's offset to the second.  So an approval made here and one made with the
CLI from the same application and the same choices differ only in their times and signature, and the
vendor's ``custody takeout depart`` (and ``copy make``, ``dispose approved``, ``subcontract record``) takes
either alike (tests/desk/test_check.py).

The approver's private key is read from its key file, decrypted with the passphrase typed in the page,
used for this one signature and dropped: it is never kept, logged or sent to the page.  The key must be
one of the approver keys the contract names (its pin in the trust store): the vendor's ledger would
refuse anything else (rule C2, C5, C7 or C9), so the desk refuses to sign with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from custody.ledger.approval import KIND_CODES, approval_from_request, sign_approval
from custody.ledger.approval_defaults import DEFAULT_ENCRYPTION_MIN, DEFAULT_MAX_USES, default_valid_days
from custody.ledger.errors import FormatError, RuleRefusal, SchemaError, UsageError
from custody.ledger.i18n import _
from custody.ledger.keyfile import key_file_info, read_key_file
from custody.ledger.note import ALG_ED25519, Signer, Verifier
from custody.ledger.timefmt import format_at, parse_at


@dataclass(frozen=True)
class ApproverKey:
    """An approver's key file the desk was started with: its name and vkey (public parts only)."""

    path: Path
    name: str
    vkey: str

    @classmethod
    def from_file(cls, path: Path) -> ApproverKey:
        name, public = key_file_info(path)
        return cls(path, name, Verifier(name, ALG_ED25519, public).vkey)


@dataclass(frozen=True)
class Choices:
    """What the approver chose in the form (as ``custody approve``'s options)."""

    approval_id: str
    approver: Mapping[str, str]
    valid_from: str = ""
    valid_until: str = ""
    valid_days: int | None = None
    max_uses: int = DEFAULT_MAX_USES
    conditions: Sequence[str] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)


def now() -> datetime:
    """As ``custody approve``: the machine's offset, whole seconds."""
    return datetime.now(UTC).astimezone().replace(microsecond=0)


def approve(
    request: Mapping[str, Any],
    choices: Choices,
    key: ApproverKey,
    passphrase: bytes,
    *,
    pinned_approvers: Sequence[str],
    at: datetime | None = None,
) -> tuple[dict[str, Any], bytes]:
    """The approval body and the signed note for ``request`` (SchemaError, KeyFileError, RuleRefusal)."""
    kind = str(request.get("kind", ""))
    origin = request.get("origin")
    if not isinstance(origin, str) or not origin:
        raise UsageError(_("The application names no origin."))
    if key.vkey not in pinned_approvers:
        raise RuleRefusal(
            KIND_CODES.get(kind, "C2"),
            _("The key {name} is not an approver key of this contract; the vendor's ledger would refuse the "
              "approval.").format(name=key.name),
            missing=_("an approval signed with an approver key the contract names"),
            todo=_("Start the desk with the approver key pinned for this contract (custody desk --key FILE)."),
        )
    for name, value in (("name", choices.approver.get("name")), ("title", choices.approver.get("title")),
                        ("organisation", choices.approver.get("organisation"))):
        if not value:
            raise SchemaError(_("The approver's {field} is missing.").format(field=name), field=f"approver.{name}")
    if not choices.approval_id.strip():
        raise SchemaError(_("The approval number is missing."), field="id")
    moment = at or now()
    start = choices.valid_from or format_at(moment)
    days = choices.valid_days if choices.valid_days is not None else default_valid_days(kind)
    try:
        until = choices.valid_until or format_at(parse_at(start) + timedelta(days=days))
    except FormatError as exc:
        raise SchemaError(_("The start of validity is not a date-time: {why}").format(why=exc.message),
                          field="valid_from") from None
    overrides = {k: v for k, v in choices.overrides.items() if v not in (None, "")}
    if kind == "takeout":
        overrides.setdefault("encryption_min", DEFAULT_ENCRYPTION_MIN)
    body = approval_from_request(
        request, id=choices.approval_id.strip(), valid_from=start, valid_until=until,
        approver=dict(choices.approver), approved_at=format_at(moment), max_uses=choices.max_uses,
        conditions=list(choices.conditions), **overrides,
    )
    # The private key lives in this frame only, for this one signature.
    name, private = read_key_file(key.path, passphrase)
    note = sign_approval(origin, body, Signer(name, private))
    del private
    return body, note
