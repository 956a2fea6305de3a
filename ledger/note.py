"""C2SP signed notes, verifier keys (vkeys) and note signers.

Implements c2sp.org/signed-note (sections "Format", "Signatures", "Signature
types", "Ed25519 signatures") and the vkey / private-key encodings of
golang.org/x/mod/sumdb/note (``NewVerifier``, ``NewSigner``), which is the
reference implementation the interop check runs against.

Pure logic: no file, clock or network access.  Parsing is strict and raises
:class:`~ledger.errors.NoteFormatError`; verification raises
:class:`~ledger.errors.SignatureError` and never returns False.

Decisions where the specification leaves room (all stricter than, or equal to,
golang.org/x/mod/sumdb/note):

* base64 must be canonical (standard alphabet, padded, zero pad bits), so that
  one signature has exactly one encoding;
* at most :data:`MAX_SIGNATURES` signature lines (the spec requires accepting
  at least 16; Go rejects more than 100);
* every signature whose key name *and* key ID match a known key is verified,
  including repeated lines from the same key (Go checks only the first);
* a key name may not contain C0 control characters either (they could never
  appear in a note);
* vkey key IDs are parsed case-insensitively (as Go's ``ParseUint``) and
  always written as 8 lowercase hex digits; the declared key ID must equal the
  one recomputed from name, type and key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from custody.ledger.errors import NoteFormatError, SignatureError
from custody.ledger.quoting import QUOTE_LIMIT, quote


def _shown(name: str) -> str:
    """A key or signer name from the input, for a message: as repr() when short, cut short (quoting.quote) when
    long -- a name is whatever a damaged note or vkey holds, up to megabytes."""
    return repr(name) if len(name) <= QUOTE_LIMIT else f"'{quote(name)}'"

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# cryptography is imported where a key is used, not with this module: a command whose entry is signed by
# the key agent (custody.ledger.keyagent) and that verifies nothing never loads OpenSSL's bindings.

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "KEY_ID_SIZE",
    "MAX_SIGNATURES",
    "Note",
    "NoteSignature",
    "Signer",
    "Verifier",
    "add_signatures",
    "check_key_name",
    "format_note",
    "index_verifiers",
    "key_id",
    "open_note",
    "parse_note",
    "sign_note",
    "verify_note",
]

#: signed-note "Signature types": 0x01, Ed25519 signatures over the note text.
ALG_ED25519 = 0x01
#: signed-note "Signature types": 0x04, timestamped Ed25519 witness
#: cosignatures (c2sp.org/tlog-cosignature, ``cosignature/v1``).
ALG_COSIGNATURE_V1 = 0x04
#: Upper bound on signature lines per note (signed-note "Format": verifiers
#: SHOULD apply a limit and MUST accept at least 16; Go's limit is 100).
MAX_SIGNATURES = 100
#: signed-note "Format": the first four signature bytes are the key ID.
KEY_ID_SIZE = 4

_SUPPORTED_ALGS = (ALG_ED25519, ALG_COSIGNATURE_V1)
_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64
_SIG_PREFIX = "\u2014 "  # em dash (U+2014), space (U+0020)
_GO_SKEY_PREFIX = "PRIVATE+KEY+"

# Unicode White_Space property (PropList.txt), which is what Go's
# unicode.IsSpace tests; Python's str.isspace() differs (e.g. U+001C..U+001F).
_UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_CANONICAL_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}")
# signed-note "Format": no ASCII control characters other than newline.
_FORBIDDEN_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Strict RFC 4648 section 4 base64: standard alphabet, padding, zero pad bits."""
    if not _CANONICAL_B64.fullmatch(text):
        raise NoteFormatError(f"{what}: not canonical base64")
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error is a ValueError
        raise NoteFormatError(f"{what}: not canonical base64") from None
    if _b64encode(data) != text:  # non-zero pad bits
        raise NoteFormatError(f"{what}: not canonical base64")
    return data


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteFormatError(f"{what}: not valid UTF-8 (lone surrogate)") from None


def check_key_name(name: str) -> None:
    """Raise NoteFormatError unless ``name`` is a valid key name.

    signed-note "Format": key names MUST be non-empty and MUST NOT contain any
    Unicode spaces or plus (U+002B); the note is UTF-8, so a name with a lone
    surrogate is rejected, and so is one with a control character.
    """
    if not isinstance(name, str) or not name:
        raise NoteFormatError("key name is empty")
    _utf8(name, "key name")
    for ch in name:
        if ch in _UNICODE_SPACES:
            raise NoteFormatError(f"key name {_shown(name)} contains a space")
        if ch == "+":
            raise NoteFormatError(f"key name {_shown(name)} contains '+'")
        if ch < "\x20":
            raise NoteFormatError(f"key name {_shown(name)} contains a control character")


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """The 4-byte key ID, signed-note "Signatures":

    ``SHA-256(key name || 0x0A || signature type || public key)[:4]``.
    """
    if not 0 <= alg <= 0xFF:
        raise ValueError(f"signature type {alg} is not a byte")
    digest = hashlib.sha256(_utf8(name, "key name") + b"\n" + bytes([alg]) + public_key).digest()
    return digest[:KEY_ID_SIZE]


@functools.cache
def _invalid_signature() -> type[Exception]:
    from cryptography.exceptions import InvalidSignature

    return InvalidSignature


def _ed25519_verify(public_key: bytes, message: bytes, signature: bytes, who: str) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(signature) != _ED25519_SIG_SIZE:
        raise SignatureError(f"signature by {who} is {len(signature)} bytes, not {_ED25519_SIG_SIZE}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise SignatureError(f"signature by {who} does not verify") from None


@dataclass(frozen=True)
class Verifier:
    """A public key that can check note signatures: a vkey.

    ``alg`` is the signed-note signature type: :data:`ALG_ED25519` for plain
    note signatures, :data:`ALG_COSIGNATURE_V1` for witness cosignatures (both
    use a 32-byte Ed25519 public key; they differ in the key ID and in the
    message that is signed, see ledger.cosignature).
    """

    name: str
    alg: int
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.alg not in _SUPPORTED_ALGS:
            raise NoteFormatError(f"key {_shown(self.name)}: unsupported signature type 0x{self.alg:02x}")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != _ED25519_KEY_SIZE:
            raise NoteFormatError(f"key {_shown(self.name)}: Ed25519 public key must be {_ED25519_KEY_SIZE} bytes")

    @functools.cached_property
    def key_id(self) -> bytes:
        """The 4-byte key ID (signed-note "Signatures"); cached: the verifier asks once per entry."""
        return key_id(self.name, self.alg, self.public_key)

    @functools.cached_property
    def _public(self) -> Ed25519PublicKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        return Ed25519PublicKey.from_public_bytes(self.public_key)

    def __getstate__(self) -> dict[str, object]:
        # Leave the cached key object out: it cannot be pickled (the verifier
        # sends verifiers to its worker processes).
        return {"name": self.name, "alg": self.alg, "public_key": self.public_key}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    @property
    def vkey(self) -> str:
        """``<name>+<8 lowercase hex key ID>+<base64(type || public key)>``."""
        return f"{self.name}+{self.key_id.hex()}+{_b64encode(bytes([self.alg]) + self.public_key)}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse a vkey (Go ``note.NewVerifier``); raise NoteFormatError.

        The key ID is checked against the one recomputed from the name, the
        signature type and the key; only types 0x01 and 0x04 are accepted.
        """
        if not isinstance(vkey, str):
            raise NoteFormatError("vkey is not a string")
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise NoteFormatError("vkey must be <name>+<key ID>+<key>")
        name, hex_id, key64 = parts
        check_key_name(name)
        if not _HEX8.fullmatch(hex_id):
            raise NoteFormatError(f"vkey {_shown(name)}: key ID must be 8 hex digits")
        material = _b64decode(key64, f"vkey {_shown(name)}")
        if not material:
            raise NoteFormatError(f"vkey {_shown(name)}: empty key")
        alg, public_key = material[0], material[1:]
        if alg not in _SUPPORTED_ALGS:
            raise NoteFormatError(f"vkey {_shown(name)}: unsupported signature type 0x{alg:02x}")
        verifier = cls(name, alg, public_key)
        if verifier.key_id != bytes.fromhex(hex_id):
            raise NoteFormatError(f"vkey {_shown(name)}: key ID does not match the key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check a raw 64-byte Ed25519 ``signature`` over ``message``.

        ``signature`` excludes the key ID.  For a 0x04 key the caller passes
        the cosignature/v1 message and the Ed25519 part of the timestamped
        signature (ledger.cosignature does this).  Raises SignatureError.
        """
        try:
            self._public.verify(signature, message)
        except Exception as exc:
            if isinstance(exc, ValueError | _invalid_signature()):
                raise SignatureError(f"signature by {_shown(self.name)} does not verify") from None
            raise


def failed_signatures(checks: Iterable[tuple[Verifier, bytes, bytes]]) -> list[int]:
    """The positions in ``checks`` -- (verifier, message, raw 64-byte signature), as ``Verifier.verify`` takes
    them -- whose signature does not verify.

    ``Verifier.verify`` for many signatures at once: the verifier's workers check a million, and the two calls
    and the exception each made through ``verify`` cost ~2 us more than the signature's own call.
    """
    from cryptography.exceptions import InvalidSignature

    failed: list[int] = []
    for position, (verifier, message, signature) in enumerate(checks):
        try:
            verifier._public.verify(signature, message)
        except (InvalidSignature, ValueError):  # ValueError: a signature of the wrong length
            failed.append(position)
    return failed


class Signer:
    """An Ed25519 private key with its key name and signature type.

    ``alg`` is :data:`ALG_ED25519` for note signatures (checkpoints, approvals,
    entries) or :data:`ALG_COSIGNATURE_V1` for a witness key; the type only
    changes the key ID, ``sign`` is plain Ed25519 over the given bytes.
    """

    __slots__ = ("_alg", "_key", "_key_id", "_name", "_public")

    def __init__(self, name: str, private_key: Ed25519PrivateKey, alg: int = ALG_ED25519) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("private_key must be an Ed25519PrivateKey")
        self._set_public(name, alg, private_key.public_key().public_bytes_raw())
        self._key = private_key

    def _set_public(self, name: str, alg: int, public: bytes) -> None:
        """Name, type and public key (for a subclass whose private key lives elsewhere: the key agent's)."""
        check_key_name(name)
        if alg not in _SUPPORTED_ALGS:
            raise ValueError(f"unsupported signature type 0x{alg:02x}")
        if not isinstance(public, bytes) or len(public) != _ED25519_KEY_SIZE:
            raise ValueError(f"an Ed25519 public key is {_ED25519_KEY_SIZE} bytes")
        self._name = name
        self._alg = alg
        self._public = public
        # Computed once: every signed entry carries it, and it is a SHA-256.
        self._key_id = key_id(name, alg, public)

    def __repr__(self) -> str:
        return f"Signer({self._name!r}, alg=0x{self._alg:02x}, key_id={self.key_id.hex()})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def alg(self) -> int:
        return self._alg

    @property
    def key_id(self) -> bytes:
        return self._key_id

    def verifier(self) -> Verifier:
        """The matching public key."""
        return Verifier(self._name, self._alg, self._public)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature (RFC 8032, deterministic) of ``message``."""
        return self._key.sign(message)

    @classmethod
    def from_go_skey(cls, skey: str) -> Signer:
        """Parse golang.org/x/mod ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>``.

        Mirrors Go ``note.NewSigner``: the key ID must match the public key
        derived from the seed.  Types 0x01 and 0x04 are accepted.  Errors never
        quote the key material.
        """
        if not isinstance(skey, str) or not skey.startswith(_GO_SKEY_PREFIX):
            raise NoteFormatError("private key must start with PRIVATE+KEY+")
        parts = skey[len(_GO_SKEY_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise NoteFormatError("private key must be PRIVATE+KEY+<name>+<key ID>+<key>")
        name, hex_id, key64 = parts
        check_key_name(name)
        if not _HEX8.fullmatch(hex_id):
            raise NoteFormatError(f"private key {_shown(name)}: key ID must be 8 hex digits")
        material = _b64decode(key64, f"private key {_shown(name)}")
        if len(material) != 1 + _ED25519_KEY_SIZE or material[0] not in _SUPPORTED_ALGS:
            raise NoteFormatError(f"private key {_shown(name)}: not an Ed25519 seed of a supported type")
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        signer = cls(name, Ed25519PrivateKey.from_private_bytes(material[1:]), material[0])
        if signer.key_id != bytes.fromhex(hex_id):
            raise NoteFormatError(f"private key {_shown(name)}: key ID does not match the key")
        return signer


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: ``— <key name> base64(key ID || signature)``.

    ``signature`` holds the bytes after the 4-byte key ID (for 0x04
    cosignatures that is the 8-byte timestamp followed by the Ed25519
    signature).
    """

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_SIZE:
            raise NoteFormatError(f"signature by {_shown(self.name)}: key ID must be {KEY_ID_SIZE} bytes")
        if not isinstance(self.signature, bytes) or not self.signature:
            raise NoteFormatError(f"signature by {_shown(self.name)} is empty")

    def line(self) -> str:
        """The signature line, with its final newline."""
        return f"{_SIG_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        """Parse one signature line (its final newline optional); raise NoteFormatError.

        signed-note "Format": em dash, space, key name, space, base64 of 4+n
        bytes with n >= 1.
        """
        if not isinstance(line, str):
            raise NoteFormatError("signature line is not a string")
        if line.endswith("\n"):
            line = line[:-1]
        _utf8(line, "signature line")
        if _FORBIDDEN_CONTROL.search(line) or "\n" in line:
            raise NoteFormatError("signature line contains a control character")
        if not line.startswith(_SIG_PREFIX):
            raise NoteFormatError("signature line must start with an em dash (U+2014) and a space")
        name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep:
            raise NoteFormatError("signature line has no signature")
        check_key_name(name)
        raw = _b64decode(b64, f"signature by {_shown(name)}")
        if len(raw) <= KEY_ID_SIZE:
            raise NoteFormatError(f"signature by {_shown(name)} is too short")
        return cls(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def _check_text(text: str) -> None:
    """signed-note "Format": a non-empty UTF-8 text ending in newline, no control characters."""
    if not isinstance(text, str):
        raise NoteFormatError("note text is not a string")
    if not text.endswith("\n"):
        raise NoteFormatError("note text must end with a newline")
    _utf8(text, "note text")
    if _FORBIDDEN_CONTROL.search(text):
        raise NoteFormatError("note text contains a control character")


@dataclass(frozen=True)
class Note:
    """A note text with one to :data:`MAX_SIGNATURES` signatures (not yet verified)."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        _check_text(self.text)
        if not self.signatures:
            raise NoteFormatError("a signed note needs at least one signature")
        if len(self.signatures) > MAX_SIGNATURES:
            raise NoteFormatError(f"note has more than {MAX_SIGNATURES} signatures")


def parse_note(message: bytes) -> Note:
    """Parse a signed note strictly (signed-note "Format"); raise NoteFormatError.

    Valid UTF-8, no ASCII control character other than newline, the text is
    everything up to and including the newline before the *last* blank line,
    then one or more signature lines, each ending in newline.  Nothing is
    verified here: see :func:`open_note`.
    """
    if not isinstance(message, bytes | bytearray | memoryview):
        raise NoteFormatError("note is not bytes")
    try:
        decoded = bytes(message).decode("utf-8")
    except UnicodeDecodeError:
        raise NoteFormatError("note is not valid UTF-8") from None
    if _FORBIDDEN_CONTROL.search(decoded):
        raise NoteFormatError("note contains a control character")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise NoteFormatError("note has no blank line before its signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteFormatError("note signatures must be non-empty lines ending in newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"note has more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(NoteSignature.parse_line(line) for line in lines))


def format_note(note: Note) -> bytes:
    """The wire form: text, blank line, signature lines (signed-note "Format")."""
    return (note.text + "\n" + "".join(sig.line() for sig in note.signatures)).encode("utf-8")


def _merge(signatures: Sequence[NoteSignature]) -> tuple[NoteSignature, ...]:
    """Keep the first signature for each (key name, key ID); drop later ones."""
    seen: set[tuple[str, bytes]] = set()
    out: list[NoteSignature] = []
    for sig in signatures:
        key = (sig.name, sig.key_id)
        if key not in seen:
            seen.add(key)
            out.append(sig)
    return tuple(out)


def sign_note(text: str, signers: Sequence[Signer]) -> bytes:
    """Sign ``text`` with every signer (0x01 Ed25519 over the text) and format the note.

    A 0x04 cosigning key cannot make a plain note signature (its message is
    cosignature/v1, see ledger.cosignature): ValueError.  Repeated keys
    (same name and key ID) sign once.
    """
    _check_text(text)
    if not signers:
        raise ValueError("sign_note needs at least one signer")
    message = text.encode("utf-8")
    sigs: list[NoteSignature] = []
    for signer in signers:
        if signer.alg != ALG_ED25519:
            raise ValueError(f"signer {signer.name!r} is not an Ed25519 note key (type 0x{signer.alg:02x})")
        sigs.append(NoteSignature(signer.name, signer.key_id, signer.sign(message)))
    return format_note(Note(text, _merge(sigs)))


def add_signatures(message: bytes, signatures: Sequence[NoteSignature]) -> bytes:
    """Append signatures to a signed note, keeping the text byte for byte.

    Existing lines stay first and in order; a signature whose (key name, key
    ID) is already present is dropped (the first one wins).  Nothing is
    verified: check new signatures before merging them.  Raises
    NoteFormatError if the note does not parse or would exceed
    :data:`MAX_SIGNATURES`.
    """
    note = parse_note(message)
    merged = _merge((*note.signatures, *signatures))
    return format_note(Note(note.text, merged))


def index_verifiers(verifiers: Sequence[Verifier], alg: int) -> dict[tuple[str, bytes], Verifier]:
    """Map (key name, key ID) to the verifier of signature type ``alg``.

    Identical verifiers collapse; two different keys with the same name and
    key ID make the trust list ambiguous (Go ``ambiguousVerifierError``):
    SignatureError, since one could never tell which key signed.
    """
    index: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        if verifier.alg != alg:
            continue
        key = (verifier.name, verifier.key_id)
        known = index.get(key)
        if known is not None and known != verifier:
            raise SignatureError(f"ambiguous keys for {verifier.name}+{verifier.key_id.hex()}")
        index[key] = verifier
    return index


def open_note(message: bytes, verifiers: Sequence[Verifier]) -> tuple[Note, tuple[Verifier, ...]]:
    """Parse a note and verify it against trusted Ed25519 (0x01) keys.

    signed-note "Signatures": signatures from unknown keys (name or key ID not
    both matching a trusted key) are ignored; every signature from a known key
    is verified and one that fails rejects the whole note (SignatureError); if
    no known key signed, SignatureError.  Verifiers of type 0x04
    (cosignatures) are not checked here, their signed message differs: use
    ledger.cosignature.cosignatures_by.

    Returns the parsed note and the verifiers that verified, in note order.
    """
    note = parse_note(message)
    return note, verify_note(note, verifiers)


def verify_note(note: Note, verifiers: Sequence[Verifier]) -> tuple[Verifier, ...]:
    """:func:`open_note` for a note already parsed: the verifiers that verified, in note order (SignatureError
    as there)."""
    index = index_verifiers(verifiers, ALG_ED25519)
    text = note.text.encode("utf-8")
    verified: list[Verifier] = []
    for sig in note.signatures:
        verifier = index.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        verifier.verify(text, sig.signature)
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        raise SignatureError("note is not signed by any trusted key")
    return tuple(verified)
