"""Private-key envelopes: an Ed25519 key sealed under a passphrase (pure: bytes in, bytes out).

docs/spec.md §6 (Keys): private keys are never stored in clear but in an
envelope with scrypt and AES-GCM.  docs/dependency-notes.md, cryptography: PKCS#8
``BestAvailableEncryption`` uses PBKDF2 with 2,048 iterations, too cheap, so
custody uses this envelope of its own, built only from ``cryptography``'s
``Scrypt`` and ``AESGCM``.

Envelope, version 1 (UTF-8 JSON, RFC 8785 canonical bytes when written)::

    {"custody-key": 1,
     "name": KEYNAME,                  # C2SP signed-note key name (ledger.note)
     "alg": "ed25519",
     "public": B64(32-byte public key),
     "kdf": {"name": "scrypt", "n": N, "r": 8, "p": 1, "salt": B64(16 bytes)},
     "aead": {"name": "aes-256-gcm", "nonce": B64(12 bytes)},
     "ciphertext": B64(AES-256-GCM(raw 32-byte private key) || 16-byte tag)}

B64 is standard base64 with padding, canonical (what ``base64.b64encode``
writes).  The AES key is scrypt(passphrase, salt, N, r, p) with 32 bytes of
output.  The AES-GCM associated data is the JCS bytes of
``{"custody-key": 1, "name": ..., "alg": ..., "public": ...}``, so renaming a
key, or swapping in another public key, makes the envelope fail to open.

Reading refuses anything doubtful with ``KeyFileError``: unknown or missing
members, another version or algorithm, wrong sizes, r != 8, p != 1, and any N
that is not a power of two between 2^15 (the floor) and 2^20 (the ceiling,
1 GiB of memory, which bounds what a hostile file can make us spend).  N is
2^17 by default (about 0.3 s, docs/dependency-notes.md).  A failed AES-GCM tag raises
``PassphraseError``: a wrong passphrase and an altered file are
indistinguishable by design.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from custody.ledger import canonical, note
from custody.ledger.errors import CanonicalJSONError, KeyFileError, NoteFormatError, PassphraseError
from custody.ledger.i18n import _
from custody.ledger.quoting import quote

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# cryptography's ciphers and KDF are imported where a key is sealed or opened: reading a key file's public
# half (envelope_info), which a command does when the key agent signs for it, needs none of them.

VERSION = 1
ALG = "ed25519"
KDF = "scrypt"
AEAD = "aes-256-gcm"
DEFAULT_N = 2**17
MIN_N = 2**15
MAX_N = 2**20
SCRYPT_R = 8
SCRYPT_P = 1
SALT_SIZE = 16
NONCE_SIZE = 12
KEY_SIZE = 32
TAG_SIZE = 16

_MEMBERS = frozenset({"custody-key", "name", "alg", "public", "kdf", "aead", "ciphertext"})
_KDF_MEMBERS = frozenset({"name", "n", "r", "p", "salt"})
_AEAD_MEMBERS = frozenset({"name", "nonce"})


def _malformed(detail: str) -> KeyFileError:
    return KeyFileError(
        _("Not a valid custody key envelope: {detail}").format(detail=detail),
        hint=_("The key file is damaged or is not a custody key file."),
    )


def check_key_name(name: object) -> str:
    """Return ``name`` if it is a C2SP signed-note key name (``ledger.note``), else raise KeyFileError."""
    invalid = KeyFileError(
        _("Invalid key name {name!r}: it must be non-empty, without spaces or '+'.").format(name=quote(name))
    )
    if not isinstance(name, str):
        raise invalid
    try:
        note.check_key_name(name)
    except NoteFormatError:
        raise invalid from None
    return name


def check_scrypt_n(n: object) -> int:
    """Return ``n`` if it is an acceptable scrypt cost, else raise KeyFileError."""
    if type(n) is not int or n < MIN_N or n > MAX_N or n & (n - 1):
        raise KeyFileError(
            _("scrypt cost N={n} is not allowed: it must be a power of two from 2^15 to 2^20.").format(n=quote(n)),
            hint=_("Re-create the key file with a current version of custody."),
        )
    return n


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, size: int, what: str) -> bytes:
    if not isinstance(value, str):
        raise _malformed(f"{what} is not a string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _malformed(f"{what} is not base64") from None
    if _b64(raw) != value:
        raise _malformed(f"{what} is not canonical base64")
    if len(raw) != size:
        raise _malformed(f"{what} must be {size} bytes, not {len(raw)}")
    return raw


def _members(obj: object, expected: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _malformed(f"{what} is not a JSON object")
    missing = sorted(expected - obj.keys())
    if missing:
        raise _malformed(f"{what} lacks {quote(missing[0])!r}")
    extra = sorted(obj.keys() - expected)
    if extra:
        raise _malformed(f"{what} has unknown member {quote(extra[0])!r}")
    return obj


def _aad(name: str, public_b64: str) -> bytes:
    return canonical.dumps({"custody-key": VERSION, "name": name, "alg": ALG, "public": public_b64})


def _derive(passphrase: bytes, salt: bytes, n: int) -> bytes:
    if not passphrase:
        raise PassphraseError(_("The passphrase is empty."), hint=_("Choose a non-empty passphrase."))
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=KEY_SIZE, n=n, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase)


def _public_raw(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes_raw()


def seal_private_key(
    name: str, private_key: Ed25519PrivateKey, passphrase: bytes, *, n: int = DEFAULT_N
) -> bytes:
    """Seal ``private_key`` under ``passphrase``; return the envelope's canonical JSON bytes.

    ``n`` is the scrypt cost; tests pass 2^15, the floor, to stay fast.
    """
    check_key_name(name)
    check_scrypt_n(n)
    salt = os.urandom(SALT_SIZE)
    nonce = os.urandom(NONCE_SIZE)
    aes_key = _derive(passphrase, salt, n)
    public_b64 = _b64(_public_raw(private_key))
    secret = private_key.private_bytes_raw()
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    ciphertext = AESGCM(aes_key).encrypt(nonce, secret, _aad(name, public_b64))
    return canonical.dumps(
        {
            "custody-key": VERSION,
            "name": name,
            "alg": ALG,
            "public": public_b64,
            "kdf": {"name": KDF, "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
            "aead": {"name": AEAD, "nonce": _b64(nonce)},
            "ciphertext": _b64(ciphertext),
        }
    )


@dataclass(frozen=True)
class _Envelope:
    """The checked members of an envelope, before decryption."""

    name: str
    public_b64: str
    public: bytes
    n: int
    salt: bytes
    nonce: bytes
    ciphertext: bytes


def _parse(envelope: bytes) -> _Envelope:
    try:
        obj = canonical.loads(envelope)
    except CanonicalJSONError as exc:
        raise _malformed(f"not strict JSON ({exc})") from None
    top = _members(obj, _MEMBERS, "envelope")
    if type(top["custody-key"]) is not int or top["custody-key"] != VERSION:
        raise _malformed(f"unsupported version {quote(top['custody-key'])!r}")
    if top["alg"] != ALG:
        raise _malformed(f"unsupported algorithm {quote(top['alg'])!r}")
    name = check_key_name(top["name"])
    public = _unb64(top["public"], KEY_SIZE, "public")
    kdf = _members(top["kdf"], _KDF_MEMBERS, "kdf")
    if kdf["name"] != KDF:
        raise _malformed(f"unsupported kdf {quote(kdf['name'])!r}")
    if type(kdf["r"]) is not int or kdf["r"] != SCRYPT_R:
        raise _malformed(f"scrypt r must be {SCRYPT_R}")
    if type(kdf["p"]) is not int or kdf["p"] != SCRYPT_P:
        raise _malformed(f"scrypt p must be {SCRYPT_P}")
    n = check_scrypt_n(kdf["n"])
    salt = _unb64(kdf["salt"], SALT_SIZE, "kdf.salt")
    aead = _members(top["aead"], _AEAD_MEMBERS, "aead")
    if aead["name"] != AEAD:
        raise _malformed(f"unsupported aead {quote(aead['name'])!r}")
    nonce = _unb64(aead["nonce"], NONCE_SIZE, "aead.nonce")
    ciphertext = _unb64(top["ciphertext"], KEY_SIZE + TAG_SIZE, "ciphertext")
    return _Envelope(name, top["public"], public, n, salt, nonce, ciphertext)


def envelope_info(envelope: bytes) -> tuple[str, bytes]:
    """The key name and raw 32-byte public key, without the passphrase (KeyFileError if malformed)."""
    parsed = _parse(envelope)
    return parsed.name, parsed.public


def open_private_key(envelope: bytes, passphrase: bytes) -> tuple[str, Ed25519PrivateKey]:
    """Open an envelope: return the key name and the private key.

    Raises PassphraseError if the passphrase does not open it (or the sealed
    part was altered), KeyFileError if it is malformed, too weak or
    inconsistent.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    parsed = _parse(envelope)
    aes_key = _derive(passphrase, parsed.salt, parsed.n)
    try:
        aad = _aad(parsed.name, parsed.public_b64)
        secret = AESGCM(aes_key).decrypt(parsed.nonce, parsed.ciphertext, aad)
    except InvalidTag:
        raise PassphraseError(
            _("The passphrase does not open the key {name!r}.").format(name=quote(parsed.name)),
            hint=_("Check the passphrase; if it is right, the key file has been altered."),
        ) from None
    private_key = Ed25519PrivateKey.from_private_bytes(secret)
    if _public_raw(private_key) != parsed.public:
        message = _("The key file for {name!r} is inconsistent: its public key is not its private key's.")
        raise KeyFileError(message.format(name=quote(parsed.name)))
    return parsed.name, private_key
