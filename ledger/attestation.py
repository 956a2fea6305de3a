"""Attestations: the municipality's own acts, signed with its own keys (docs/spec.md §9.6 (Attestations)).

An attestation is a C2SP signed note, signed by one of the municipality's
attester keys pinned in the genesis entry for the attester's role
(``attester_vkeys``: ``witness``, ``receiver``, ``inspector``,
``completion``, ``instructor``), whose text is::

    custody/attestation/v1
    <origin>
    <one line: the RFC 8785 (JCS) bytes of the attestation body>

The body's schema is ``schemas/attestation.schema.json``: ``kind``
(:data:`KINDS`), ``id`` (the municipality's number), ``media``, ``concerns``
(an approval or request number, and/or an entry: seq and leaf hash), ``seen``,
``acted_at`` (the act's time), ``attested_at``, ``place`` and the ``attester``
(name, title, organisation, role); an inspection adds ``inspection`` (method,
checks per party, findings, corrective actions with their due dates, actions
of earlier inspections found closed); a change approval ``change``; an
instruction ``instructions``; a waiver of witnessing its ``reason``.

The vendor records it: embedded (field ``attestation``) in the entry of the act
it belongs to (``media.disposed`` and ``media.erased``: a witness or a waiver;
``media.returned``: the receipt; ``contract.closed``: the completion check;
``inspection.recorded``) or as an ``attestation.recorded`` entry (instruction,
incident acknowledgement, change approval).  A name typed into a vendor
entry is never a witness: only a signature by a pinned key is.

Every refusal is an :class:`AttestationProblem` (an ``AttestationError``,
exit 6) with rule code C24 and the violations in both languages.  Pure: no
file, clock or network access.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from custody.ledger import canonical
from custody.ledger.errors import AttestationError, CanonicalJSONError, NoteFormatError, SchemaError, SignatureError
from custody.ledger.i18n import _
from custody.ledger.note import Signer, parse_note, sign_note, verify_note
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

CONTEXT = "custody/attestation/v1"
CODE = "C24"

KINDS = (
    "disposal_witness", "erasure_witness", "return_receipt", "inspection", "completion_check", "instruction",
    "incident_acknowledgement", "change_approval", "waiver",
)
ROLES = ("witness", "receiver", "inspector", "completion", "instructor")
#: The role whose pinned keys may sign each kind (docs/spec.md §9.6).
ROLE_OF_KIND = {
    "disposal_witness": "witness",
    "erasure_witness": "witness",
    "waiver": "witness",
    "return_receipt": "receiver",
    "inspection": "inspector",
    "completion_check": "completion",
    "instruction": "instructor",
    "incident_acknowledgement": "instructor",
    "change_approval": "instructor",
}
#: Kinds that concern named media and so must list at least one.
MEDIA_KINDS = frozenset({"disposal_witness", "erasure_witness", "return_receipt", "waiver"})
#: The part only one kind carries.
_OWN_PART = {"inspection": "inspection", "change_approval": "change", "instruction": "instructions",
             "waiver": "reason"}


# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

KIND_JA = {
    "disposal_witness": "廃棄の立会い", "erasure_witness": "消去の立会い", "return_receipt": "返還の受領",
    "inspection": "検査", "completion_check": "履行確認", "instruction": "指示",
    "incident_acknowledgement": "事故報告の受理", "change_approval": "変更の承認", "waiver": "立会いの免除",
}
ROLE_JA = {"witness": "立会者", "receiver": "受領者", "inspector": "検査員", "completion": "履行確認者",
           "instructor": "指示者"}

ATT_MALFORMED_NOTE = RuleText("The attestation is not a well-formed signed note: {why}")
NOT_AN_ATTESTATION = RuleText("The note is not a custody attestation (custody/attestation/v1, origin, one JSON line)")
ATT_FORGED = RuleText("The attestation's signature by {name} does not verify: it was altered or forged")
ATT_OTHER_ROLE = RuleText("The {kind} is signed by {name}, whose key the contract pins for another role, not as {role}")
ATT_VENDOR_KEY = RuleText(
    "The {kind} is signed by the vendor's key {names}: the vendor cannot attest the municipality's act"
)
ATT_UNPINNED = RuleText("The {kind} is not signed by a municipality key pinned for the {role} (signed by: {names})")
ATT_NONE_PINNED = RuleText(
    "The contract pins no municipality key for the {role}; the {kind} signed by {names} cannot be checked"
)
ATT_OTHER_ORIGIN = RuleText("The attestation was signed for another ledger ({other}), not {origin}")
ATT_MALFORMED_BODY = RuleText("The attestation body is malformed: {why}")
ATT_WRONG_KIND = RuleText("Attestation {id} is of the kind {actual}, not {kind}")
ATT_OTHER_MEDIA = RuleText("Attestation {id} concerns {listed}, not medium {m}")
NEED_SIGNED_ATTESTATION = RuleText("the {kind} signed by the municipality's {role}")
DO_ASK_MUNICIPALITY = RuleText(
    "Ask the municipality's {role} to sign it (custody attest ...) and record the file they give you."
)
DO_ASK_THIS_ORIGIN = RuleText("Ask for an attestation for this ledger's origin.")


def kind_text(kind: str) -> Text:
    return kind.replace("_", " "), KIND_JA.get(kind, kind)


def role_text(role: str) -> Text:
    return role, ROLE_JA.get(role, role)


# --- the typed view ---


@dataclass(frozen=True)
class Attester:
    name: str
    title: str
    organisation: str
    role: str


@dataclass(frozen=True)
class CorrectiveAction:
    id: str
    what: str
    party: str
    due: str  # YYYY-MM-DD


@dataclass(frozen=True)
class Check:
    party: str
    item: str
    complied: bool
    evidence: str = ""


@dataclass(frozen=True)
class Inspection:
    method: str  # on_site | paper | remote
    checks: tuple[Check, ...]
    findings: tuple[str, ...]
    corrective_actions: tuple[CorrectiveAction, ...]
    closed_actions: tuple[tuple[str, str], ...]  # (action id, closed on YYYY-MM-DD)
    result: str

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.party for c in self.checks))


@dataclass(frozen=True)
class AttestationBody:
    """The attestation body, typed; ``raw`` keeps the JSON exactly as signed."""

    kind: str
    id: str
    media: tuple[str, ...]
    approval_id: str
    request: str
    seq: int | None
    hash: str
    seen: str
    acted_at: str
    attested_at: str
    place: str
    attester: Attester
    inspection: Inspection | None
    change: tuple[str, str, str] | None  # (subject, from, to)
    instructions: tuple[str, ...]
    reason: str
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, doc: object) -> AttestationBody:
        """Check ``doc`` against schemas/attestation.schema.json and the cross-field rules; SchemaError names the
        field."""
        validate("attestation", doc)
        assert isinstance(doc, dict)
        d: dict[str, Any] = doc
        _cross_checks(d)
        concerns, a = d["concerns"], d["attester"]
        insp = d.get("inspection")
        inspection = None
        if insp is not None:
            inspection = Inspection(
                method=insp["method"],
                checks=tuple(Check(c["party"], c["item"], c["complied"], c.get("evidence", ""))
                             for c in insp["checks"]),
                findings=tuple(insp.get("findings", ())),
                corrective_actions=tuple(CorrectiveAction(c["id"], c["what"], c["party"], c["due"])
                                         for c in insp.get("corrective_actions", ())),
                closed_actions=tuple((c["id"], c["closed_on"]) for c in insp.get("closed_actions", ())),
                result=insp.get("result", ""),
            )
        change = d.get("change")
        return cls(
            kind=d["kind"], id=d["id"], media=tuple(d["media"]),
            approval_id=concerns.get("approval_id", ""), request=concerns.get("request", ""),
            seq=concerns.get("seq"), hash=concerns.get("hash", ""),
            seen=d["seen"], acted_at=d["acted_at"], attested_at=d["attested_at"], place=d["place"],
            attester=Attester(a["name"], a["title"], a["organisation"], a["role"]),
            inspection=inspection,
            change=None if change is None else (change["subject"], change.get("from", ""), change["to"]),
            instructions=tuple(d.get("instructions", ())), reason=d.get("reason", ""),
            raw=canonical.loads(canonical.dumps(d)),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = canonical.loads(canonical.dumps(dict(self.raw)))
        return out

    @property
    def role(self) -> str:
        return ROLE_OF_KIND[self.kind]

    @cached_property
    def acted_at_ms(self) -> int:
        return at_ms(self.acted_at)


def _cross_checks(d: dict[str, Any]) -> None:
    def fail(field: str, why: str) -> SchemaError:
        return SchemaError(_("'{field}' {why}").format(field=field, why=why), field=field)

    kind = d["kind"]
    if d["attester"]["role"] != ROLE_OF_KIND[kind]:
        raise fail("attester.role", _("must be {role} for a {kind}").format(role=ROLE_OF_KIND[kind], kind=kind))
    for other_kind, part in _OWN_PART.items():
        if other_kind == kind and part not in d:
            raise fail(part, _("is required for a {kind}").format(kind=kind))
        if other_kind != kind and part in d:
            raise fail(part, _("belongs to a {other_kind}, not a {kind}").format(other_kind=other_kind, kind=kind))
    if kind in MEDIA_KINDS and not d["media"]:
        raise fail("media", _("must name the media of a {kind}").format(kind=kind))
    try:
        acted, attested = at_ms(d["acted_at"]), at_ms(d["attested_at"])
    except ValueError:
        raise fail("acted_at", _("is not a date-time with an offset")) from None
    if acted > attested:
        raise fail("acted_at", _("is after attested_at: an act is attested once it took place"))
    insp = d.get("inspection")
    if isinstance(insp, dict):
        ids = [c["id"] for c in insp.get("corrective_actions", ())]
        if len(ids) != len(set(ids)):
            raise fail("inspection.corrective_actions", _("lists an action id twice"))


# --- making and signing ---


def make_attestation_text(origin: str, body: AttestationBody | Mapping[str, Any]) -> str:
    """The note text: context line, origin line, JCS body line (each ending in newline); the body is checked
    first (SchemaError naming the field)."""
    check_origin(origin)  # the origin before the body, as always
    raw = body.to_json() if isinstance(body, AttestationBody) else dict(body)
    AttestationBody.from_json(raw)
    return statement_text(CONTEXT, origin, raw)


def sign_attestation(origin: str, body: AttestationBody | Mapping[str, Any], signer: Signer) -> bytes:
    """Sign an attestation with the attester's key; the result is the file the vendor records."""
    return sign_note(make_attestation_text(origin, body), [signer])


def body_of_line(line: str) -> AttestationBody:
    """The body of an attestation's JCS line (CanonicalJSONError, SchemaError)."""
    return AttestationBody.from_json(canonical_body(line))


# --- an opened attestation ---


@dataclass(frozen=True)
class Attestation:
    """An attestation whose signature, origin and body were checked by :func:`open_attestation`."""

    body: AttestationBody
    origin: str
    note: bytes
    signed_by: tuple[str, ...]  # vkeys of the pinned keys that verified
    digest: str  # SHA-256 hex of the JCS body line

    @property
    def id(self) -> str:
        return self.body.id

    @property
    def kind(self) -> str:
        return self.body.kind


class AttestationProblem(AttestationError):
    """An AttestationError carrying the violations (both languages) that caused it."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        first = violations[0]
        message, missing, todo = first.texts()
        super().__init__(first.code, message, missing=missing, todo=todo)
        self.violations = tuple(violations)


def open_attestation(
    note: bytes,
    *,
    origin: str,
    pinned: Mapping[str, Sequence[str]],
    kinds: Sequence[str] | None = None,
    media_id: str | None = None,
    vendor_keys: frozenset[str] = frozenset(),
) -> Attestation:
    """Parse and verify an attestation note; raise :class:`AttestationProblem` (C24, exit 6).

    ``pinned``: role -> the vkeys the contract pins for it.  Refused: a note
    that does not parse or is not ``custody/attestation/v1`` + origin + one
    canonical JSON line; no valid signature by a key pinned for the kind's
    role (forged or altered; signed by another municipality's key, by a key
    pinned for another role, or by a vendor key -- ``vendor_keys`` names the
    vendor's registered keys, for the message); another origin; a body that
    does not match the schema; a kind not in ``kinds``; a ``media_id`` the
    attestation does not name.
    """
    kind_hint = (kinds or ("",))[0]

    def fail(message: RuleText, missing: RuleText = NOTHING, todo: RuleText = NOTHING,
             **values: object) -> AttestationProblem:
        kind = str(values.pop("kind", kind_hint) or "attestation")
        role = ROLE_OF_KIND.get(kind, "witness")
        values = {"kind": kind_text(kind), "role": role_text(role), **values}
        if missing == NOTHING:
            missing = NEED_SIGNED_ATTESTATION
        if todo == NOTHING:
            todo = DO_ASK_MUNICIPALITY
        return AttestationProblem([violation(CODE, ERROR, fill(message, values), media_id=media_id,
                                             missing=fill(missing, values), todo=fill(todo, values))])

    try:
        parsed = parse_note(note)
    except NoteFormatError as exc:
        raise fail(ATT_MALFORMED_NOTE, why=quote(exc.message, 400)) from None
    parts = statement_parts(parsed.text, CONTEXT)
    if parts is None:
        raise fail(NOT_AN_ATTESTATION)
    noted_origin, line = parts
    kind = loose_kind(line, ROLE_OF_KIND) or kind_hint
    role = ROLE_OF_KIND.get(kind, "")
    verifiers = pinned_verifiers(pinned.get(role, ()))
    try:
        verified = verify_note(parsed, verifiers)
    except SignatureError:
        names = ", ".join(sorted({s.name for s in parsed.signatures}))
        own = {(v.name, v.key_id) for v in verifiers}
        forged = [s.name for s in parsed.signatures if (s.name, s.key_id) in own]
        if forged:
            raise fail(ATT_FORGED, kind=kind, name=quote(forged[0])) from None
        others = {(v.name, v.key_id) for r, keys in pinned.items() if r != role for v in pinned_verifiers(keys)}
        elsewhere = [s.name for s in parsed.signatures if (s.name, s.key_id) in others]
        if elsewhere:
            raise fail(ATT_OTHER_ROLE, kind=kind, name=quote(elsewhere[0])) from None
        if any(s.name in vendor_keys for s in parsed.signatures):
            raise fail(ATT_VENDOR_KEY, kind=kind, names=quote(names)) from None
        if not verifiers:
            raise fail(ATT_NONE_PINNED, kind=kind, names=quote(names)) from None
        raise fail(ATT_UNPINNED, kind=kind, names=quote(names)) from None
    if noted_origin != origin:
        raise fail(ATT_OTHER_ORIGIN, todo=DO_ASK_THIS_ORIGIN, kind=kind, other=quote(noted_origin),
                   origin=quote(origin))
    try:
        body = body_of_line(line)
    except (CanonicalJSONError, SchemaError) as exc:
        raise fail(ATT_MALFORMED_BODY, kind=kind, why=quote(exc.message, 400)) from None
    if kinds is not None and body.kind not in kinds:
        raise fail(ATT_WRONG_KIND, kind=kinds[0], id=quote(body.id), actual=kind_text(body.kind))
    if media_id is not None and media_id not in body.media:
        raise fail(ATT_OTHER_MEDIA, kind=body.kind, id=quote(body.id), m=quote(media_id),
                   listed=quote(", ".join(body.media) or "-"))
    return Attestation(body, origin, bytes(note), tuple(v.vkey for v in verified), body_digest(line))
