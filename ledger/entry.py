"""Ledger entries: the leaves of the tree (docs/spec.md §4 (Entries)).

A leaf is the RFC 8785 bytes of::

    {"custody":1,"origin":O,"seq":N,"prev":B64(leaf hash of N-1),"type":T,
     "at":RFC3339,"actor":KEYNAME,"body":{...},"sig":B64(keyID4 || Ed25519 sig)}

The signature covers ``b"custody-entry/v1\\n"`` followed by the JCS bytes of
the same object without ``"sig"``.  ``seq`` equals the Merkle leaf index and
the leaf hash is RFC 6962's SHA-256(0x00 || leaf bytes).

The envelope check here mirrors ``schemas/entry.schema.json`` by hand: it runs
once per entry on the verifier's hot path, where a generic JSON Schema
validator would cost more than the signature check itself.  A test keeps the
two in agreement.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from custody.ledger import canonical
from custody.ledger.errors import CanonicalJSONError, SchemaError, SignatureError
from custody.ledger.note import Signer, Verifier, failed_signatures
from custody.ledger.rfc6962 import leaf_hash

ENTRY_CONTEXT = b"custody-entry/v1\n"
FORMAT_VERSION = 1
ZERO_HASH = bytes(32)
KEY_ID_SIZE = 4
SIGNATURE_SIZE = 64

_FIELDS = ("custody", "origin", "seq", "prev", "type", "at", "actor", "body", "sig")
_TYPE = re.compile(r"[a-z]+(\.[a-z_]+)+")
# RFC 3339 date-time with an explicit offset (or Z); fractional seconds allowed.
_AT = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
_BAD_ORIGIN = re.compile(r"[\s\x00-\x1f\x7f]")
_BAD_KEY_NAME = re.compile(r"[\s+\x00-\x1f\x7f]")
MAX_SEQ = 2**53 - 1
# The longest leaf (docs/spec.md §4.2): no entry whose body fits its schema comes near it, and the
# verifier reads a line of entries.jsonl only up to this length (a longer one is I7, docs/spec.md §10.3).
MAX_LEAF_BYTES = 16 * 1024 * 1024


def b64(data: bytes) -> str:
    # base64.b64encode's bytes, without its Python wrapper (it runs for every entry's prev and sig).
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def unb64(text: str, *, size: int | None = None, what: str = "value") -> bytes:
    """Strict standard base64 (padding required, no whitespace)."""
    try:
        # strict_mode refuses characters outside the alphabet and misplaced
        # padding in C (base64.b64decode(validate=True) runs a regex first);
        # the round trip below refuses the remaining non-canonical forms.
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise SchemaError(f"{what} is not valid base64", field=what) from None
    if binascii.b2a_base64(raw, newline=False) != text.encode("ascii"):
        raise SchemaError(f"{what} is not canonical base64", field=what)
    if size is not None and len(raw) != size:
        raise SchemaError(f"{what} must be {size} bytes, got {len(raw)}", field=what)
    return raw


@dataclass(frozen=True)
class Entry:
    """One signed ledger entry.  ``leaf`` holds the exact hashed bytes."""

    origin: str
    seq: int
    prev: bytes
    type: str
    at: str
    actor: str
    body: dict[str, Any]
    sig: bytes
    leaf: bytes = field(repr=False, compare=False, default=b"")

    @property
    def key_id(self) -> bytes:
        return self.sig[:KEY_ID_SIZE]

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf)

    def to_json(self) -> dict[str, Any]:
        return {
            "custody": FORMAT_VERSION,
            "origin": self.origin,
            "seq": self.seq,
            "prev": b64(self.prev),
            "type": self.type,
            "at": self.at,
            "actor": self.actor,
            "body": self.body,
            "sig": b64(self.sig),
        }

    def signed_message(self) -> bytes:
        if self.leaf:
            return _signed_message_from_leaf(self.leaf)
        return signed_message(self.to_json())


def signed_message(obj: dict[str, Any]) -> bytes:
    """What the actor signs: the context string and the JCS bytes without ``sig``."""
    unsigned = {k: v for k, v in obj.items() if k != "sig"}
    return ENTRY_CONTEXT + canonical.dumps(unsigned)


_SIG_MEMBER = b',"sig":"'
_PLACEHOLDER_SIG = base64.b64encode(bytes(68)).decode("ascii")
_SIG_B64_LEN = 92
_SIG_MEMBER_LEN = len(_SIG_MEMBER) + _SIG_B64_LEN + 1  # ,"sig":"...", its closing quote included


def _signed_message_from_leaf(leaf: bytes) -> bytes:
    """Cut the ``sig`` member out of canonical leaf bytes.

    In RFC 8785 order the top-level members are actor, at, body, custody,
    origin, prev, seq, sig, type: ``sig`` is never first, and only ``type`` (a
    plain string) follows it, so its member is the last ``,"sig":"`` in the
    leaf.  Removing one member from canonical bytes yields the canonical bytes
    of the object without it, which is exactly what was signed.
    """
    at = leaf.rfind(_SIG_MEMBER)
    return ENTRY_CONTEXT + leaf[:at] + leaf[at + _SIG_MEMBER_LEN :]


def sign_entry(
    *,
    origin: str,
    seq: int,
    prev: bytes,
    type: str,  # noqa: A002 - the field's name in the format
    at: str,
    body: dict[str, Any],
    signer: Signer,
) -> Entry:
    """Build and sign an entry; the result's ``leaf`` is ready to append.

    This runs on every append, between the write lock and the commit: the
    envelope is checked on the parts (``_parts_seen``) before the object is
    built, without the copy that ``check_envelope`` would need for ``sig``.
    """
    actor = signer.name
    obj: dict[str, Any] = {
        "custody": FORMAT_VERSION,
        "origin": origin,
        "seq": seq,
        "prev": binascii.b2a_base64(prev, newline=False).decode("ascii"),
        "type": type,
        "at": at,
        "actor": actor,
        "body": body,
    }
    if not _parts_seen(origin, seq, type, at, actor, body):
        check_envelope({**obj, "sig": _PLACEHOLDER_SIG})
    # The envelope's members passed its rules just above: only the body is left to walk.
    unsigned = canonical.dumps_with_checked_members(obj, "body")
    sig = signer.key_id + signer.sign(ENTRY_CONTEXT + unsigned)
    # Splice the sig member in before the last member, "type" (see
    # _signed_message_from_leaf): the result is the canonical form of the
    # whole object without serialising it a second time.
    # (b2a_base64 is b64() without the str round trip: this runs on every append.)
    at_type = unsigned.rfind(b',"type":"')
    sig64 = binascii.b2a_base64(sig, newline=False)
    leaf = b"".join((unsigned[:at_type], _SIG_MEMBER, sig64, b'"', unsigned[at_type:]))
    if len(leaf) > MAX_LEAF_BYTES:
        raise SchemaError(f"entry is {len(leaf)} bytes long, more than the {MAX_LEAF_BYTES} an entry may have",
                          field="body")
    # Entry(...) without its __init__, which (a frozen dataclass's) sets each of the nine fields through
    # object.__setattr__; the new instance's dictionary is filled at once instead.
    entry = object.__new__(Entry)  # every field, as the dataclass would set (tests/ledger/test_entry.py checks)
    entry.__dict__.update(origin=origin, seq=seq, prev=prev, type=type, at=at, actor=actor, body=body, sig=sig,
                          leaf=leaf)
    return entry


_FIELD_SET = frozenset(_FIELDS)
# Origins, actors and types that passed their checks, one set per field (an
# actor's name need not be a valid type): a ledger repeats a handful of them a
# million times.  Bounded, so that a hostile bundle of distinct names cannot
# grow them without limit.
_CHECKED_ORIGINS: set[str] = set()
_CHECKED_ACTORS: set[str] = set()
_CHECKED_TYPES: set[str] = set()
# Likewise the calendar days of 'at' (its first 10 characters once _AT
# matched) that _real_date accepted: entries of one day share it.
_CHECKED_DAYS: set[str] = set()
# And for every append and every entry a verifier reads: the parts of a time in
# the shape format_at writes (YYYY-MM-DDTHH:MM:SS.fff+HH:MM, 29 characters) that
# repeat -- its hour and minute ("THH:MM:") and its offset ("+HH:MM") -- once
# _AT matched a time holding them (``_remember_at``).  With the day, they
# decide _AT for such a time without the regular expression (``_at_seen``).
_CHECKED_MINUTES: set[str] = set()
_CHECKED_OFFSETS: set[str] = set()
_AT_LENGTH = 29
_MAX_CHECKED_NAMES = 1024
# Only parts of times that matched _AT are remembered: at most 1,440 hours and minutes and 2,880 offsets,
# whatever the input.  Room for all of them, so that a ledger's day of minutes never empties the cache.
_MAX_CHECKED_TIMES = 4096


def check_envelope(obj: Any) -> None:
    """The envelope rules of schemas/entry.schema.json, by hand (see module doc).

    The common case -- a well-formed entry whose names were seen before -- is
    decided by exact-type tests and dictionary lookups (``_envelope_seen``);
    anything else goes through ``_explain_envelope``, which applies every rule
    in order and names the first one broken.
    """
    if _envelope_seen(obj):
        return
    _explain_envelope(obj)
    for seen, value in (
        (_CHECKED_ORIGINS, obj["origin"]), (_CHECKED_ACTORS, obj["actor"]), (_CHECKED_TYPES, obj["type"]),
        (_CHECKED_DAYS, obj["at"][:10]),
    ):
        if len(seen) >= _MAX_CHECKED_NAMES:
            seen.clear()
        seen.add(value)
    _remember_at(obj["at"])


def _envelope_seen(obj: Any) -> bool:
    """``check_envelope``'s common case: True when every envelope rule holds and the names and the day were
    seen valid before; False says nothing (``_explain_envelope`` decides)."""
    if type(obj) is not dict or obj.keys() != _FIELD_SET:
        return False
    custody, seq, at = obj["custody"], obj["seq"], obj["at"]
    origin, actor, kind = obj["origin"], obj["actor"], obj["type"]
    return bool(
        type(custody) is int and custody == FORMAT_VERSION
        and type(seq) is int and 0 <= seq <= MAX_SEQ
        and type(obj["prev"]) is str and type(obj["sig"]) is str
        and type(obj["body"]) is dict
        and type(origin) is str and origin in _CHECKED_ORIGINS
        and type(actor) is str and actor in _CHECKED_ACTORS
        and type(kind) is str and kind in _CHECKED_TYPES
        and type(at) is str and (_at_seen(at) or _at_matches_seen_day(at))
    )


def _at_matches_seen_day(at: str) -> bool:
    """_AT, on a day ``_real_date`` accepted before; the time's parts are remembered for ``_at_seen``."""
    if _AT.fullmatch(at) and at[:10] in _CHECKED_DAYS:
        _remember_at(at)
        return True
    return False


def _parts_seen(origin: object, seq: object, kind: object, at: object, actor: object, body: object) -> bool:
    """``check_envelope``'s common case on the parts of an entry being signed (``sign_entry``).

    True when every rule holds and the names and the day were seen valid
    before; False sends the caller to ``check_envelope``, which names the
    rule broken or remembers the new names.  ``custody`` is the constant and
    ``prev`` and ``sig`` are base64 made here, so they need no test.
    """
    return (
        type(seq) is int and 0 <= seq <= MAX_SEQ
        and type(body) is dict
        and type(origin) is str and origin in _CHECKED_ORIGINS
        and type(actor) is str and actor in _CHECKED_ACTORS
        and type(kind) is str and kind in _CHECKED_TYPES
        and type(at) is str and _at_seen(at)
    )


def _at_seen(at: str) -> bool:
    """_AT (and the day's ``_real_date``) for a time in the shape format_at writes, from its parts seen valid
    before: the day, the hour and minute and the offset are looked up (each was part of a time that _AT
    matched and whose day _real_date accepted), the seconds and milliseconds tested as ASCII digits, seconds
    below 60.  False for any other time: the caller uses the regular expression."""
    return (
        len(at) == _AT_LENGTH and at[19] == "."
        and at[:10] in _CHECKED_DAYS and at[10:17] in _CHECKED_MINUTES and at[23:] in _CHECKED_OFFSETS
        and (digits := at[17:19] + at[20:23]).isascii() and digits.isdigit() and at[17] < "6"
    )


def _remember_at(at: str) -> None:
    """Remember the hour and minute and the offset of ``at``, which passed ``check_envelope`` (``_parts_seen``)."""
    if len(at) != _AT_LENGTH or at[19] != "." or at[23] not in "+-":
        return
    for seen, value in ((_CHECKED_MINUTES, at[10:17]), (_CHECKED_OFFSETS, at[23:])):
        if len(seen) >= _MAX_CHECKED_TIMES:
            seen.clear()
        seen.add(value)


def _explain_envelope(obj: Any) -> None:
    """Every envelope rule in order; raises SchemaError naming the first one broken."""
    if not isinstance(obj, dict):
        raise SchemaError("entry is not a JSON object", field="")
    for name in _FIELDS:
        if name not in obj:
            raise SchemaError(f"entry lacks '{name}'", field=name)
    extra = sorted(set(obj) - set(_FIELDS))
    if extra:
        raise SchemaError(f"entry has unknown field '{extra[0]}'", field=extra[0])
    if obj["custody"] != FORMAT_VERSION or isinstance(obj["custody"], bool):
        raise SchemaError("unsupported entry format version", field="custody")
    for name in ("origin", "type", "at", "actor", "prev", "sig"):
        if not isinstance(obj[name], str):
            raise SchemaError(f"'{name}' must be a string", field=name)
    if not obj["origin"] or _BAD_ORIGIN.search(obj["origin"]):
        raise SchemaError("'origin' must be non-empty without spaces", field="origin")
    seq = obj["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ:
        raise SchemaError("'seq' must be a non-negative integer", field="seq")
    if not _TYPE.fullmatch(obj["type"]):
        raise SchemaError("'type' is not an event type name", field="type")
    if not _AT.fullmatch(obj["at"]) or not _real_date(obj["at"]):
        raise SchemaError("'at' must be an RFC 3339 date-time with an offset", field="at")
    actor = obj["actor"]
    if not actor or _BAD_KEY_NAME.search(actor):
        raise SchemaError("'actor' must be a key name", field="actor")
    if not isinstance(obj["body"], dict):
        raise SchemaError("'body' must be an object", field="body")


def _real_date(at: str) -> bool:
    try:
        date(int(at[0:4]), int(at[5:7]), int(at[8:10]))
    except ValueError:
        return False
    return True


def parse_entry(leaf: bytes) -> Entry:
    """Parse leaf bytes strictly: canonical JCS, envelope rules, sizes.

    Raises CanonicalJSONError or SchemaError (both FormatError: finding I7).
    """
    obj, prev, sig = parse_fields(leaf)
    return Entry(
        origin=obj["origin"],
        seq=obj["seq"],
        prev=prev,
        type=obj["type"],
        at=obj["at"],
        actor=obj["actor"],
        body=obj["body"],
        sig=sig,
        leaf=leaf,
    )


def parse_fields(leaf: bytes, expected_prev: tuple[bytes, str] | None = None) -> tuple[dict[str, Any], bytes, bytes]:
    """``parse_entry``'s checks without building an ``Entry``: the fields, ``prev`` and ``sig`` decoded.

    For the verifier's loop over a million entries, where the object itself
    costs as much as the rest of the parse.  The common case is decided by the
    fast parse (``canonical.loads_floatless_canonical``) and the envelope's
    common case (``_envelope_seen``), which proves every member but the body a
    string or an integer in range, so that only the body is walked for floats;
    anything else is parsed again the strict way, which names the problem.

    ``expected_prev``: the leaf hash the caller expects as ``prev`` and its
    base64; a ``prev`` spelled exactly so is that hash (``b64`` writes the one
    canonical spelling), without decoding it.
    """
    obj = canonical.loads_floatless_canonical(leaf)
    if obj is None or not _envelope_seen(obj) or canonical.holds_float(obj["body"]):
        obj = canonical.loads_canonical(leaf)
        check_envelope(obj)
    prev64 = obj["prev"]
    if expected_prev is not None and prev64 == expected_prev[1]:
        prev = expected_prev[0]
    else:
        prev = unb64(prev64, size=32, what="prev")
    return obj, prev, unb64(obj["sig"], size=KEY_ID_SIZE + SIGNATURE_SIZE, what="sig")


def failed_leaf_signatures(checks: Sequence[tuple[bytes, bytes, Verifier]]) -> list[int]:
    """The positions in ``checks`` -- a parsed leaf, its decoded ``sig`` and the key that ``sig``'s key ID names
    for its actor (the verifier's registry matches them) -- whose signature does not verify: the verifier's
    workers check a chunk's signatures at once (``note.failed_signatures``); one entry is
    ``verify_entry_signature``'s.
    """
    return failed_signatures(
        (verifier, _signed_message_from_leaf(leaf), sig[KEY_ID_SIZE:]) for leaf, sig, verifier in checks)


def verify_entry_signature(entry: Entry, verifier: Verifier) -> None:
    """Raise SignatureError unless ``verifier`` made this entry's signature."""
    if verifier.name != entry.actor:
        raise SignatureError(f"entry {entry.seq}: key {verifier.name!r} is not the actor {entry.actor!r}")
    if verifier.key_id != entry.key_id:
        raise SignatureError(f"entry {entry.seq}: key ID does not match {entry.actor!r}'s key")
    try:
        message = entry.signed_message()
    except CanonicalJSONError as exc:
        raise SignatureError(f"entry {entry.seq}: cannot rebuild the signed message: {exc}") from None
    try:
        verifier.verify(message, entry.sig[KEY_ID_SIZE:])
    except SignatureError:
        raise SignatureError(f"entry {entry.seq}: signature by {entry.actor!r} does not verify") from None
