"""What the key agent may sign: custody's own signing inputs, and nothing else.

The key agent (``custody.ledger.keyagent``) holds a person's key, and the
responsible person's log key, for a shift.  Any process of the same user can
ask it for a signature, so it signs only bytes that are one of custody's own
signing inputs, each recognised by its domain prefix and parsed far enough to
be sure of what it is:

* an **entry** (docs/spec.md §4.3): ``custody-entry/v1\\n`` followed by the
  RFC 8785 bytes of the entry without ``sig``: canonical, the eight members
  and their types (the envelope rules of §4.1), and an ``actor`` that is the
  key's own name;
* an **approval** (§9.2): the note text ``custody/approval/v1``, an origin
  and one canonical JSON line that is a valid approval body
  (schemas/approval.schema.json and the cross-field rules of §9.3);
* an **attestation** (§9.6): the note text ``custody/attestation/v1``, an
  origin and one canonical JSON line that is a valid attestation body
  (schemas/attestation.schema.json and the cross-field rules of §9.6);
* a **checkpoint** (§7.2): the note text of a C2SP checkpoint whose origin is
  the log key's name, with no extension lines (custody writes none).

A person's key signs entries, approvals and attestations; the log key signs checkpoints
only (§6.5: the log key is named after the origin and signs nothing else).
Witness cosignatures (§7.3, type 0x04) are never the agent's: the witness
key stays in the municipality's trust store.  Everything else -- arbitrary
bytes, another domain, a text that merely starts like one of these -- is
refused with :class:`~custody.ledger.errors.KeyAgentError`.

Pure: bytes in, a description or an error out.
"""

from __future__ import annotations

from dataclasses import dataclass

from custody.ledger import canonical
from custody.ledger.errors import CanonicalJSONError, CheckpointFormatError, KeyAgentError, SchemaError
from custody.ledger.signed_statement import canonical_body, check_origin, statement_parts

ENTRY = "entry"
APPROVAL = "approval"
ATTESTATION = "attestation"
CHECKPOINT = "checkpoint"

#: Which signing inputs each kind of key may sign (docs/spec.md §6.5).
PERSON_KEY = "person"
LOG_KEY = "log"
DOMAINS = {PERSON_KEY: (ENTRY, APPROVAL, ATTESTATION), LOG_KEY: (CHECKPOINT,)}

ENTRY_PREFIX = b"custody-entry/v1\n"
APPROVAL_PREFIX = b"custody/approval/v1\n"
ATTESTATION_PREFIX = b"custody/attestation/v1\n"
#: The largest signing input accepted: an entry's body embeds at most an approval note and attachment
#: references, far below this.
MAX_MESSAGE = 1024 * 1024

_ENTRY_MEMBERS = frozenset({"custody", "origin", "seq", "prev", "type", "at", "actor", "body"})
_PLACEHOLDER_SIG = "A" * 92  # 68 zero bytes in base64: the envelope check wants a well-formed sig member


@dataclass(frozen=True)
class SigningInput:
    """One recognised signing input: its domain, the ledger it belongs to and where in it."""

    domain: str
    origin: str
    seq: int | None = None  # an entry's seq, a checkpoint's tree size
    type: str | None = None  # an entry's event type, an approval's kind
    hash: bytes | None = None  # an entry's prev (the leaf hash it follows), a checkpoint's root hash


def _refuse(why: str) -> KeyAgentError:
    return KeyAgentError(f"the key agent refuses to sign this: {why}")


def classify(message: bytes, *, key_name: str, role: str) -> SigningInput:
    """What ``message`` is, if the key ``key_name`` of kind ``role`` may sign it; else KeyAgentError."""
    if not isinstance(message, bytes):
        raise _refuse("not bytes")
    if len(message) > MAX_MESSAGE:
        raise _refuse(f"longer than {MAX_MESSAGE} bytes")
    allowed = DOMAINS.get(role)
    if allowed is None:
        raise _refuse(f"unknown kind of key {role!r}")
    if message.startswith(ENTRY_PREFIX):
        found = _entry(message[len(ENTRY_PREFIX):], key_name)
    elif message.startswith(APPROVAL_PREFIX):
        found = _approval(message)
    elif message.startswith(ATTESTATION_PREFIX):
        found = _attestation(message)
    elif role == LOG_KEY:
        found = _checkpoint(message, key_name)
    else:
        raise _refuse("not an entry, an approval, an attestation or a checkpoint of custody")
    if found.domain not in allowed:
        article = "an" if found.domain[0] in "aeiou" else "a"
        raise _refuse(f"a {role} key does not sign {article} {found.domain}")
    return found


def _entry(data: bytes, key_name: str) -> SigningInput:
    from custody.ledger.entry import check_envelope, unb64

    try:
        obj = canonical.loads(data)
    except CanonicalJSONError as exc:
        raise _refuse(f"the entry is not strict JSON ({exc.message})") from None
    if not isinstance(obj, dict) or obj.keys() != _ENTRY_MEMBERS:
        raise _refuse("the entry does not have exactly the members of an unsigned entry")
    try:
        if canonical.dumps(obj) != data:
            raise _refuse("the entry is not in canonical (RFC 8785) form")
        check_envelope({**obj, "sig": _PLACEHOLDER_SIG})
        prev = unb64(obj["prev"], size=32, what="prev")
    except (CanonicalJSONError, SchemaError) as exc:
        raise _refuse(f"the entry is not valid ({exc.message})") from None
    if obj["actor"] != key_name:
        raise _refuse(f"the entry's actor is {obj['actor']!r}, not the key's name {key_name!r}")
    return SigningInput(ENTRY, obj["origin"], obj["seq"], obj["type"], prev)


def _statement(message: bytes, prefix: bytes, noun: str) -> tuple[str, str]:
    """(origin, body line) of an approval's or an attestation's note text (ledger/signed_statement.py)."""
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(f"the {noun} is not UTF-8") from None
    parts = statement_parts(text, prefix.decode("ascii").rstrip("\n"))
    if parts is None:
        raise _refuse(f"an {noun} is exactly three lines")
    origin, line = parts
    try:
        check_origin(origin)
    except SchemaError:
        raise _refuse(f"the {noun}'s origin line is not an origin") from None
    return origin, line


def _approval(message: bytes) -> SigningInput:
    from custody.ledger.approval import ApprovalBody

    origin, line = _statement(message, APPROVAL_PREFIX, "approval")
    try:
        body = ApprovalBody.from_json(canonical_body(line))
    except (CanonicalJSONError, SchemaError) as exc:
        raise _refuse(f"the approval body is not valid ({exc.message})") from None
    return SigningInput(APPROVAL, origin, None, body.kind)


def _attestation(message: bytes) -> SigningInput:
    from custody.ledger.attestation import body_of_line

    origin, line = _statement(message, ATTESTATION_PREFIX, "attestation")
    try:
        body = body_of_line(line)
    except (CanonicalJSONError, SchemaError) as exc:
        raise _refuse(f"the attestation body is not valid ({exc.message})") from None
    return SigningInput(ATTESTATION, origin, None, body.kind)


def _checkpoint(message: bytes, key_name: str) -> SigningInput:
    from custody.ledger.checkpoint import Checkpoint

    try:
        text = message.decode("utf-8")
        checkpoint = Checkpoint.parse(text)
    except UnicodeDecodeError:
        raise _refuse("the checkpoint is not UTF-8") from None
    except CheckpointFormatError as exc:
        raise _refuse(f"not a checkpoint ({exc.message})") from None
    if checkpoint.extensions:
        raise _refuse("custody's checkpoints have no extension lines")
    if checkpoint.origin != key_name:
        raise _refuse(f"the checkpoint's origin is not the log key's name {key_name!r}")
    return SigningInput(CHECKPOINT, checkpoint.origin, checkpoint.size, None, checkpoint.root_hash)
