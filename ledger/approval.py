"""Approvals signed by the municipality (docs/spec.md §9 (Approvals)).

An approval is a C2SP signed note, signed by one of the municipality's
approver keys pinned in the genesis entry (``approver_vkeys``), whose text is::

    custody/approval/v1
    <origin>
    <one line: the RFC 8785 (JCS) bytes of the approval body>

(each line ending in a newline).  The body's schema is
``schemas/approval.schema.json``: ``kind`` (takeout | copy | dispose |
subcontract), ``id`` (the municipality's approval number), ``media``,
``purpose``, ``destination``, ``transport``, ``carriers``,
``encryption_required`` and ``encryption_min``, ``valid_from`` /
``valid_until``, ``max_uses``, ``conditions``, ``approver``, ``approved_at``
and the kind-specific fields (copy: ``copies``, ``target_media``,
``disposal``; dispose: ``application``, ``evidence_due``; subcontract:
``subcontractor``; takeout: ``return_by``).  The entry that uses an approval
embeds the whole note as its body's ``approval`` string.

The request side (``make_request``) builds the application document the
vendor hands the approver (takeout application, copy application, disposal
application of special terms 第11-2, subcontract application of 第8-2);
``approval_from_request`` turns one into an approval body for the approver.

Every refusal is an :class:`ApprovalProblem` (an ``ApprovalError``, exit 6)
with the rule code of the kind: takeout C2 (encryption C3), copy C5,
dispose C7, subcontract C9, and the violations in both languages.
Pure: no file, clock or network access.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from custody.ledger import canonical
from custody.ledger import rule_texts as txt
from custody.ledger.errors import ApprovalError, CanonicalJSONError, NoteFormatError, SchemaError, SignatureError
from custody.ledger.i18n import _
from custody.ledger.note import Signer, Verifier, parse_note, sign_note, verify_note
from custody.ledger.quoting import quote
from custody.ledger.rule_texts import NOTHING, RuleText, Text, fill
from custody.ledger.signed_statement import (
    body_digest,
    canonical_body,
    check_origin,
    loose_kind,
    pinned_verifiers,
    statement_parts,
    statement_text,
)
from custody.ledger.timefmt import at_ms
from custody.ledger.validation import validate
from custody.ledger.violation import ERROR, Violation, violation

CONTEXT = "custody/approval/v1"
REQUEST_FORMAT = "custody/request/v1"
KINDS = ("takeout", "copy", "dispose", "subcontract")
#: The rule a kind's approval enforces (docs/spec-rules.md).
KIND_CODES = {"takeout": "C2", "copy": "C5", "dispose": "C7", "subcontract": "C9"}
ENCRYPTION_CODE = "C3"
ENCRYPTED_METHODS = ("software", "hardware")

_AES = re.compile(r"AES[-_ ]?(128|192|256)", re.IGNORECASE)


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


# --- the typed view ---


@dataclass(frozen=True)
class Approver:
    name: str
    title: str
    organisation: str


@dataclass(frozen=True)
class DisposalItem:
    name: str
    media_id: str
    serial: str
    quantity: int
    media_name: str = ""


@dataclass(frozen=True)
class DisposalApplication:
    """A disposal application (廃棄申請, special terms 第11-2) as approved."""

    number: str
    items: tuple[DisposalItem, ...]
    category: str  # NIST SP 800-88: clear | purge | destroy
    technique: str
    tool: str
    planned_date: str
    place: str
    witness_required: bool

    def serial_of(self, media_id: str) -> str | None:
        for item in self.items:
            if item.media_id == media_id:
                return item.serial
        return None


@dataclass(frozen=True)
class CopyDisposal:
    method: str  # erase | destroy | return
    by: str = ""
    description: str = ""


@dataclass(frozen=True)
class Subcontractor:
    name: str
    tier: str  # subcontractor | sub-subcontractor
    reason: str
    scope: str
    data_handled: str
    safeguards: str
    supervision: str
    parent: str = ""


@dataclass(frozen=True)
class ApprovalBody:
    """The approval body, typed; ``raw`` keeps the JSON exactly as signed."""

    kind: str
    id: str
    media: tuple[str, ...]
    purpose: str
    destination: str
    transport: str
    carriers: tuple[str, ...]
    encryption_required: bool
    encryption_min: str
    valid_from: str
    valid_until: str
    return_by: str
    max_uses: int
    conditions: tuple[str, ...]
    approver: Approver
    approved_at: str
    copies: int | None
    target_media: tuple[str, ...]
    disposal: CopyDisposal | None
    application: DisposalApplication | None
    evidence_due: str
    subcontractor: Subcontractor | None
    request_sha256: str
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, doc: object) -> ApprovalBody:
        """Check ``doc`` against schemas/approval.schema.json and the cross-field rules; SchemaError names the field."""
        return cls._checked(doc, None)

    @classmethod
    def _checked(cls, doc: object, canonical_doc: dict[str, Any] | None) -> ApprovalBody:
        """``from_json``; ``canonical_doc``: ``doc`` itself when it is a value ``canonical.loads`` just made and
        nobody else holds, kept as ``raw`` (a copy through the canonical form would be equal to it)."""
        validate("approval", doc)
        assert isinstance(doc, dict)
        d: dict[str, Any] = doc
        _cross_checks(d)
        app = d.get("application")
        application = None
        if app is not None:
            application = DisposalApplication(
                number=app["number"],
                items=tuple(
                    DisposalItem(i["name"], i["media_id"], i["serial"], i["quantity"], i.get("media_name", ""))
                    for i in app["items"]
                ),
                category=app["method"]["category"],
                technique=app["method"]["technique"],
                tool=app.get("tool", ""),
                planned_date=app["planned_date"],
                place=app["place"],
                witness_required=app["witness_required"],
            )
        disp = d.get("disposal")
        sub = d.get("subcontractor")
        a = d["approver"]
        return cls(
            kind=d["kind"],
            id=d["id"],
            media=tuple(d.get("media", ())),
            purpose=d["purpose"],
            destination=d.get("destination", ""),
            transport=d.get("transport", ""),
            carriers=tuple(d.get("carriers", ())),
            encryption_required=d["encryption_required"],
            encryption_min=d.get("encryption_min", ""),
            valid_from=d["valid_from"],
            valid_until=d["valid_until"],
            return_by=d.get("return_by", ""),
            max_uses=d["max_uses"],
            conditions=tuple(d["conditions"]),
            approver=Approver(a["name"], a["title"], a["organisation"]),
            approved_at=d["approved_at"],
            copies=d.get("copies"),
            target_media=tuple(d.get("target_media", ())),
            disposal=None if disp is None else CopyDisposal(
                disp["method"], disp.get("by", ""), disp.get("description", "")
            ),
            application=application,
            evidence_due=d.get("evidence_due", ""),
            subcontractor=None if sub is None else Subcontractor(
                sub["name"], sub["tier"], sub["reason"], sub["scope"], sub["data_handled"], sub["safeguards"],
                sub["supervision"], sub.get("parent", ""),
            ),
            request_sha256=d.get("request_sha256", ""),
            raw=canonical.loads(canonical.dumps(d)) if canonical_doc is None else canonical_doc,
        )

    def to_json(self) -> dict[str, Any]:
        """The body as JSON (a fresh copy of what was signed).  ``raw`` holds only what ``canonical.loads``
        makes (objects in canonical key order, arrays, strings, integers, booleans, null), so a copy of its
        objects and arrays is what a pass through the canonical form would give."""
        return {k: canonical.copy_json(v) for k, v in self.raw.items()}

    @property
    def code(self) -> str:
        return KIND_CODES[self.kind]

    @cached_property
    def valid_from_ms(self) -> int:
        return at_ms(self.valid_from)

    @cached_property
    def valid_until_ms(self) -> int:
        return at_ms(self.valid_until)

    @cached_property
    def approved_at_ms(self) -> int:
        return at_ms(self.approved_at)

    @property
    def deadline(self) -> str:
        """When what was approved must be finished: takeout ``return_by``, dispose ``evidence_due``,
        copy ``disposal.by``; else ``valid_until``."""
        if self.kind == "takeout" and self.return_by:
            return self.return_by
        if self.kind == "dispose" and self.evidence_due:
            return self.evidence_due
        if self.kind == "copy" and self.disposal is not None and self.disposal.by:
            return self.disposal.by
        return self.valid_until

    @property
    def use_limit(self) -> int:
        """How many acts the approval allows: ``max_uses``, and for copies at most ``copies``."""
        if self.kind == "copy" and self.copies is not None:
            return min(self.max_uses, self.copies)
        return self.max_uses


def _cross_checks(d: dict[str, Any]) -> None:
    def fail(field: str, why: str) -> SchemaError:
        return SchemaError(_("Not a valid approval: {field}: {why}").format(field=field, why=why), field=field)

    if at_ms(d["valid_until"]) <= at_ms(d["valid_from"]):
        raise fail("valid_until", _("must be after valid_from"))
    if at_ms(d["approved_at"]) > at_ms(d["valid_until"]):
        raise fail("approved_at", _("is after valid_until"))
    for name in ("return_by", "evidence_due"):
        if name in d and at_ms(d[name]) < at_ms(d["valid_from"]):
            raise fail(name, _("is before valid_from"))
    if d["kind"] == "dispose":
        items = [i["media_id"] for i in d["application"]["items"]]
        if len(set(items)) != len(items):
            raise fail("application.items", _("a medium is listed twice"))
        if set(items) != set(d["media"]):
            raise fail("media", _("must list exactly the media of the application's items"))
    if d["kind"] == "copy" and len(d.get("target_media", ())) > d["copies"]:
        raise fail("target_media", _("lists more media than copies"))


# --- an opened approval ---


@dataclass(frozen=True)
class Approval:
    """An approval whose signature, origin and body were checked by :func:`open_approval`."""

    body: ApprovalBody
    origin: str
    note: bytes
    text: str
    signed_by: tuple[str, ...]
    digest: str  # SHA-256 hex of the JCS body line: the same approval signed twice has one digest

    @property
    def id(self) -> str:
        return self.body.id

    @property
    def kind(self) -> str:
        return self.body.kind


class ApprovalProblem(ApprovalError):
    """An ApprovalError carrying the violations (both languages) that caused it."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        first = violations[0]
        message, missing, todo = first.texts()
        if len(violations) > 1:
            message = "\n".join(v.texts()[0] for v in violations)
        super().__init__(first.code, message, missing=missing, todo=todo)
        self.violations = tuple(violations)


def _kind_text(kind: str) -> Text:
    return kind, txt.KIND_JA.get(kind, kind)


def _problem(code: str, message: RuleText, *, missing: RuleText = NOTHING, todo: RuleText = NOTHING,
             media_id: str | None = None, fields: dict[str, object] | None = None, **values: object) -> Violation:
    if fields:
        values = {**fields, **values}
    return violation(code, ERROR, fill(message, values), media_id=media_id, missing=fill(missing, values),
                     todo=fill(todo, values))


def make_approval_text(origin: str, body: ApprovalBody | Mapping[str, Any]) -> str:
    """The note text of an approval: context line, origin line, JCS body line (each ending in newline).

    The body is checked first (SchemaError naming the field).
    """
    check_origin(origin)  # the origin before the body, as always
    raw = body.to_json() if isinstance(body, ApprovalBody) else dict(body)
    ApprovalBody.from_json(raw)
    return statement_text(CONTEXT, origin, raw)


def sign_approval(origin: str, body: ApprovalBody | Mapping[str, Any], signer: Signer | Sequence[Signer]) -> bytes:
    """Sign an approval with the municipality approver's key(s); the result is the note to hand to the vendor."""
    signers = [signer] if isinstance(signer, Signer) else list(signer)
    return sign_note(make_approval_text(origin, body), signers)


def _body_of(line: str) -> ApprovalBody:
    doc = canonical_body(line)
    return ApprovalBody._checked(doc, doc if isinstance(doc, dict) else None)


def open_approval(
    note: bytes,
    *,
    origin: str,
    approver_vkeys: Sequence[str | Verifier],
    kind: str | None = None,
    vendor_keys: frozenset[str] = frozenset(),
) -> Approval:
    """Parse and verify an approval note; raise :class:`ApprovalProblem` (an ApprovalError).

    Refused: a note that does not parse; a text that is not
    ``custody/approval/v1`` + origin + one canonical JSON line; no signature by
    a pinned approver key (e.g. signed by a vendor key) or one that does not
    verify (forged, altered); another origin; a body that does not match the
    schema; (when ``kind`` is given) another kind.  The code is that of
    ``kind`` (else of the body's kind, else C2).  ``vendor_keys`` names the ledger's registered keys: a
    signature by one of them is told that a vendor key cannot approve; any other unpinned signature is told it
    is a key the contract does not pin for this municipality (another municipality's, or unknown).
    """
    code = KIND_CODES.get(kind or "", "")

    def fail(
        message: RuleText, missing: RuleText = txt.NEED_NOTE, todo: RuleText = txt.DO_ASK_AGAIN, **values: object
    ) -> ApprovalProblem:
        return ApprovalProblem([_problem(code or "C2", message, missing=missing, todo=todo, fields=values)])

    try:
        parsed = parse_note(note)
    except NoteFormatError as exc:
        raise fail(txt.NOTE_MALFORMED, why=exc.message) from None
    parts = statement_parts(parsed.text, CONTEXT)
    if parts is None:
        raise fail(txt.NOT_AN_APPROVAL)
    noted_origin, line = parts
    code = code or KIND_CODES.get(loose_kind(line, KIND_CODES) or "", "")
    verifiers = pinned_verifiers(approver_vkeys)
    try:
        verified = verify_note(parsed, verifiers)
    except SignatureError:
        pinned = {(v.name, v.key_id) for v in verifiers}
        forged = [s.name for s in parsed.signatures if (s.name, s.key_id) in pinned]
        if forged:
            raise fail(txt.APPROVAL_FORGED, name=forged[0]) from None
        signers = sorted({s.name for s in parsed.signatures})
        names = ", ".join(signers)
        if any(name in vendor_keys for name in signers):
            raise fail(txt.APPROVAL_WRONG_SIGNER, todo=txt.DO_ASK_APPROVER, names=names) from None
        if noted_origin != origin:
            raise fail(txt.APPROVAL_UNPINNED_OTHER_ORIGIN, todo=txt.DO_ASK_PINNED_APPROVER, names=quote(names),
                       other=quote(noted_origin)) from None
        raise fail(txt.APPROVAL_UNPINNED_SIGNER, todo=txt.DO_ASK_PINNED_APPROVER, names=quote(names)) from None
    if noted_origin != origin:
        raise fail(txt.APPROVAL_OTHER_ORIGIN, todo=txt.DO_ASK_THIS_ORIGIN, other=noted_origin, origin=origin)
    try:
        body = _body_of(line)
    except (CanonicalJSONError, SchemaError) as exc:
        raise fail(txt.APPROVAL_MALFORMED, why=exc.message) from None
    if kind is not None and body.kind != kind:
        raise fail(txt.APPROVAL_WRONG_KIND, missing=txt.NEED_KIND, todo=txt.DO_ASK_KIND, id=body.id,
                   actual=_kind_text(body.kind), kind=_kind_text(kind))
    return Approval(body, origin, bytes(note), parsed.text, tuple(v.name for v in verified), body_digest(line))


# --- does it cover the act? ---


def _aes_bits(name: str) -> int | None:
    match = _AES.search(name)
    return int(match.group(1)) if match else None


def strong_enough(algorithm: str, minimum: str) -> bool:
    """Whether ``algorithm`` meets ``minimum``: AES key sizes compare (AES-256-XTS >= AES-128); else equal names."""
    if not minimum:
        return True
    need, have = _aes_bits(minimum), _aes_bits(algorithm)
    if need is not None:
        return have is not None and have >= need
    return _norm(algorithm) == _norm(minimum)


def coverage_problems(
    approval: Approval,
    *,
    kind: str,
    media_ids: Sequence[str],
    at: str,
    uses_so_far: int,
    transport: str | None = None,
    carriers: Sequence[str] | None = None,
    encryption: Mapping[str, Any] | None = None,
    encryption_needed: bool = False,
    target_media_id: str | None = None,
    destination: str | None = None,
) -> list[Violation]:
    """Everything that keeps ``approval`` from covering an act (empty: it covers it).

    ``media_ids``: the media acted on (for a copy: the source); ``at``: when
    (RFC 3339); ``uses_so_far``: acts already recorded under this approval;
    ``transport``, ``carriers`` and ``destination`` (takeout) must match the approval;
    ``encryption`` is the act's ``{"method", "algorithm"}``, required when the
    approval says so or ``encryption_needed`` (C3); ``target_media_id``: a
    copy's new medium.  Codes: that of ``kind``, C3 for encryption.
    """
    body = approval.body
    code = KIND_CODES.get(kind, "C2")
    first = media_ids[0] if media_ids else None
    out: list[Violation] = []

    def add(message: RuleText, missing: RuleText, todo: RuleText, *, media_id: str | None = first, rule: str = code,
            **values: object) -> None:
        out.append(_problem(rule, message, missing=missing, todo=todo, media_id=media_id, fields=values, id=body.id))

    if body.kind != kind:
        add(txt.APPROVAL_WRONG_KIND, txt.NEED_KIND, txt.DO_ASK_KIND, actual=_kind_text(body.kind),
            kind=_kind_text(kind))
        return out
    for media_id in media_ids:
        if media_id not in body.media:
            add(txt.MEDIUM_NOT_COVERED, txt.NEED_COVERING, txt.DO_ASK_FOR_MEDIUM, media_id=media_id, media=media_id)
    when = at_ms(at)
    if when < body.valid_from_ms:
        add(txt.NOT_YET_VALID, txt.NEED_VALID_NOW, txt.DO_WAIT, start=body.valid_from)
    elif when > body.valid_until_ms:
        add(txt.EXPIRED, txt.NEED_VALID_NOW, txt.DO_NEW_APPROVAL, end=body.valid_until)
    if body.approved_at_ms > when:
        add(txt.APPROVED_AFTER, txt.NEED_PRIOR, txt.DO_NEW_APPROVAL, approved=body.approved_at)
    if uses_so_far >= body.use_limit:
        add(txt.USED_UP, txt.NEED_UNUSED, txt.DO_NEW_APPROVAL, limit=body.use_limit, uses=uses_so_far)
    if target_media_id is not None and body.target_media and target_media_id not in body.target_media:
        add(txt.TARGET_NOT_NAMED, txt.NEED_TARGET, txt.DO_NEW_APPROVAL, media_id=target_media_id,
            targets=", ".join(body.target_media), media=target_media_id)
    if destination is not None and _norm(destination) != _norm(body.destination):
        add(txt.WRONG_DESTINATION, txt.NEED_DESTINATION, txt.DO_USE_DESTINATION, approved=body.destination,
            actual=destination)
    if transport is not None and _norm(transport) != _norm(body.transport):
        add(txt.WRONG_TRANSPORT, txt.NEED_TRANSPORT, txt.DO_USE_TRANSPORT, approved=body.transport, actual=transport)
    if carriers is not None:
        if not carriers:
            add(txt.NO_CARRIERS, txt.NEED_CARRIERS, txt.DO_NAME_CARRIERS)
        allowed = {_norm(c) for c in body.carriers}
        for carrier in carriers:
            if _norm(carrier) not in allowed:
                add(txt.WRONG_CARRIER, txt.NEED_CARRIER, txt.DO_ONLY_CARRIERS, carrier=carrier,
                    approved=", ".join(body.carriers))
    if encryption_needed or body.encryption_required:
        method = str((encryption or {}).get("method", "none"))
        algorithm = str((encryption or {}).get("algorithm", "") or "")
        if method not in ENCRYPTED_METHODS:
            add(txt.NOT_ENCRYPTED, txt.NEED_ENCRYPTION, txt.DO_ENCRYPT, rule=ENCRYPTION_CODE)
        elif not algorithm:
            add(txt.NO_ALGORITHM, txt.NEED_ALGORITHM, txt.DO_ENCRYPT, rule=ENCRYPTION_CODE)
        elif not strong_enough(algorithm, body.encryption_min):
            add(txt.WEAK_ENCRYPTION, txt.NEED_MINIMUM, txt.DO_ENCRYPT, rule=ENCRYPTION_CODE, algorithm=algorithm,
                minimum=body.encryption_min)
    return out


def check_covers(
    approval: Approval,
    *,
    kind: str,
    media_ids: Sequence[str],
    at: str,
    uses_so_far: int,
    transport: str | None = None,
    carriers: Sequence[str] | None = None,
    encryption: Mapping[str, Any] | None = None,
    encryption_needed: bool = False,
    target_media_id: str | None = None,
    destination: str | None = None,
) -> None:
    """Raise :class:`ApprovalProblem` unless ``approval`` covers the act (see :func:`coverage_problems`)."""
    problems = coverage_problems(
        approval, kind=kind, media_ids=media_ids, at=at, uses_so_far=uses_so_far, transport=transport,
        carriers=carriers, encryption=encryption, encryption_needed=encryption_needed,
        target_media_id=target_media_id, destination=destination,
    )
    if problems:
        raise ApprovalProblem(problems)


# --- the request side ---


def make_request(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The application document for ``kind`` (docs/fields.md), checked against schemas/request.schema.json.

    ``fields`` holds the kind's fields: takeout (requester, media, data_items,
    purpose, origin_place, destination, transport, carriers, planned_out,
    planned_return, encryption, erasure_plan), copy (requester, media,
    copies, target_media, purpose, data_items, disposal), dispose (requester,
    purpose, application), subcontract (requester, purpose, subcontractor).
    Raises SchemaError naming the field.
    """
    if kind not in KINDS:
        raise SchemaError(_("Unknown approval kind {kind!r}").format(kind=kind), field="kind")
    doc: dict[str, Any] = {"format": REQUEST_FORMAT, "kind": kind}
    doc.update({k: v for k, v in fields.items() if k not in ("format", "kind")})
    doc = canonical.loads(canonical.dumps(doc))
    validate("request", doc)
    return doc


def request_digest(request: Mapping[str, Any]) -> str:
    """SHA-256 hex of the request's canonical bytes (an approval may quote it as ``request_sha256``)."""
    return hashlib.sha256(canonical.dumps(dict(request))).hexdigest()


def approval_from_request(
    request: Mapping[str, Any],
    *,
    id: str,  # noqa: A002 - the field's name in the format
    valid_from: str,
    valid_until: str,
    approver: Mapping[str, str],
    approved_at: str,
    max_uses: int = 1,
    conditions: Sequence[str] = (),
    **overrides: Any,
) -> dict[str, Any]:
    """An approval body granting ``request`` as asked (the approver may override any field).

    Raises SchemaError when the request or the resulting body is not valid.
    """
    validate("request", dict(request))
    kind = request["kind"]
    body: dict[str, Any] = {
        "kind": kind,
        "id": id,
        "purpose": request["purpose"],
        "encryption_required": kind == "takeout",
        "valid_from": valid_from,
        "valid_until": valid_until,
        "max_uses": max_uses,
        "conditions": list(conditions),
        "approver": dict(approver),
        "approved_at": approved_at,
        "request_sha256": request_digest(request),
    }
    if kind == "takeout":
        body.update(
            media=list(request["media"]),
            destination=request["destination"],
            transport=request["transport"],
            carriers=list(request["carriers"]),
            return_by=request["planned_return"],
        )
    elif kind == "copy":
        body.update(media=list(request["media"]), copies=request["copies"], disposal=dict(request["disposal"]))
        if "target_media" in request:
            body["target_media"] = list(request["target_media"])
    elif kind == "dispose":
        application = dict(request["application"])
        body.update(media=[item["media_id"] for item in application["items"]], application=application)
    else:
        body.update(media=[], subcontractor=dict(request["subcontractor"]))
    body.update(overrides)
    doc: dict[str, Any] = canonical.loads(canonical.dumps(body))
    ApprovalBody.from_json(doc)
    return doc
