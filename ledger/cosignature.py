"""C2SP tlog-cosignature, Ed25519 ``cosignature/v1`` (signature type 0x04).

Implements c2sp.org/tlog-cosignature, sections "Format" and "Ed25519 signed
message":

* key ID = SHA-256(name || "\\n" || 0x04 || 32-byte Ed25519 public key)[:4];
* the note signature after the key ID is a ``timestamped_signature``:
  u64 big-endian POSIX timestamp (at most 2^63 - 1) || Ed25519 signature (64);
* the signed message is ``cosignature/v1\\n`` ``time <timestamp>\\n`` followed by
  the whole checkpoint note text (with its final newline, without signatures).

The ML-DSA-44 ``subtree/v1`` type (0x06) is not implemented.  Pure logic: the
timestamp is passed in; whether a cosignature from the future is refused (the
spec allows it) is the caller's decision, with its own clock.
"""

from __future__ import annotations

from collections.abc import Sequence

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.errors import SignatureError
from custody.ledger.note import ALG_COSIGNATURE_V1, Note, NoteSignature, Signer, Verifier, index_verifiers

__all__ = [
    "COSIGNATURE_SIZE",
    "MAX_TIMESTAMP",
    "cosign",
    "cosignature_message",
    "cosignature_stamps",
    "cosignatures_by",
    "verify_cosignature",
]

#: "Format": ``timestamp`` MUST NOT exceed 2^63 - 1.
MAX_TIMESTAMP = 2**63 - 1
_TIMESTAMP_SIZE = 8
_ED25519_SIG_SIZE = 64
#: Bytes after the key ID: u64 timestamp || Ed25519 signature.
COSIGNATURE_SIZE = _TIMESTAMP_SIZE + _ED25519_SIG_SIZE
_HEADER = "cosignature/v1\n"


def _check_timestamp(timestamp: int) -> None:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"cosignature timestamp must be an integer between 0 and {MAX_TIMESTAMP}")


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The Ed25519 signed message ("Ed25519 signed message").

    ``cosignature/v1\\n`` + ``time <timestamp>\\n`` (ASCII decimal, no leading
    zeroes) + the checkpoint note text.  The text must parse as a checkpoint
    (CheckpointFormatError otherwise); extension lines, if any, are included.
    """
    _check_timestamp(timestamp)
    Checkpoint.parse(checkpoint_text)
    return f"{_HEADER}time {timestamp}\n{checkpoint_text}".encode()


def cosign(checkpoint_text: str, timestamp: int, signer: Signer) -> NoteSignature:
    """Cosign a checkpoint at ``timestamp`` with a 0x04 witness key.

    Returns the note signature whose bytes after the key ID are
    u64be(timestamp) || Ed25519 signature.  ValueError if the signer is not a
    cosignature/v1 key or the timestamp is out of range.
    """
    if signer.alg != ALG_COSIGNATURE_V1:
        raise ValueError(f"signer {signer.name!r} is not a cosignature/v1 (0x04) key")
    message = cosignature_message(checkpoint_text, timestamp)
    signature = timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signer.sign(message)
    return NoteSignature(signer.name, signer.key_id, signature)


def verify_cosignature(checkpoint_text: str, signature: NoteSignature, verifier: Verifier) -> int:
    """Verify one cosignature on a checkpoint; return its timestamp.

    SignatureError if the verifier is not a 0x04 key, the signature line is
    not from it (name and key ID), the timestamped signature is not 72 bytes,
    the timestamp exceeds 2^63 - 1, or the Ed25519 signature does not verify.
    CheckpointFormatError if the text is not a checkpoint.
    """
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise SignatureError(f"key {verifier.name!r} is not a cosignature/v1 (0x04) key")
    if signature.name != verifier.name or signature.key_id != verifier.key_id:
        raise SignatureError(f"signature by {signature.name!r} is not from witness {verifier.name!r}")
    if len(signature.signature) != COSIGNATURE_SIZE:
        raise SignatureError(
            f"cosignature by {verifier.name!r} is {len(signature.signature)} bytes, not {COSIGNATURE_SIZE}"
        )
    timestamp = int.from_bytes(signature.signature[:_TIMESTAMP_SIZE], "big")
    if timestamp > MAX_TIMESTAMP:
        raise SignatureError(f"cosignature by {verifier.name!r} has a timestamp beyond 2^63 - 1")
    try:
        verifier.verify(
            cosignature_message(checkpoint_text, timestamp), signature.signature[_TIMESTAMP_SIZE:]
        )
    except SignatureError:
        raise SignatureError(f"cosignature by {verifier.name!r} does not verify") from None
    return timestamp


def cosignature_stamps(note: Note, verifiers: Sequence[Verifier]) -> list[tuple[str, int]]:
    """Every cosignature of a trusted witness on this checkpoint note, as (vkey, timestamp), in the note's order:
    a witness that cosigned the same checkpoint twice (a second request, a later run) counts at both times, as
    the cadence of cosigned checkpoints (C22) must.  Verified as :func:`cosignatures_by` verifies them."""
    index = index_verifiers(verifiers, ALG_COSIGNATURE_V1)
    found: list[tuple[str, int]] = []
    for sig in note.signatures:
        verifier = index.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        found.append((verifier.vkey, verify_cosignature(note.text, sig, verifier)))
    return found


def cosignatures_by(note: Note, verifiers: Sequence[Verifier]) -> dict[str, int]:
    """Which trusted witnesses cosigned this checkpoint note: vkey -> timestamp.

    Only 0x04 verifiers are considered (others are skipped).  Signature lines
    from unknown keys are ignored (signed-note "Signatures"); every line from
    a trusted witness (same name and key ID) must verify, else SignatureError.
    If a witness cosigned more than once, the latest timestamp is reported.
    Finding no cosignature is not an error here: the result is then empty and
    the caller applies its own policy.
    """
    found: dict[str, int] = {}
    for vkey, timestamp in cosignature_stamps(note, verifiers):
        found[vkey] = max(timestamp, found.get(vkey, timestamp))
    return found
