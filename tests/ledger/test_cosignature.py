"""ledger.cosignature: C2SP tlog-cosignature, cosignature/v1 (type 0x04)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import (
    COSIGNATURE_SIZE,
    MAX_TIMESTAMP,
    cosign,
    cosignature_message,
    cosignatures_by,
    verify_cosignature,
)
from custody.ledger.errors import CheckpointFormatError, SignatureError
from custody.ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Note,
    NoteSignature,
    Signer,
    Verifier,
    add_signatures,
    format_note,
    open_note,
    parse_note,
    sign_note,
)
from tests.conftest import load_vector

VEC = load_vector("signed-note.json")["cosignature_v1"]
BODY: str = VEC["checkpoint_body"]
TS: int = VEC["timestamp"]


def key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


WITNESS = Signer(
    VEC["witness_name"],
    Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VEC["witness_ed25519_seed_hex"])),
    ALG_COSIGNATURE_V1,
)
OTHER_WITNESS = Signer("example.org/other-witness", key(8), ALG_COSIGNATURE_V1)
LOG = Signer("example.org/log", key(3))


def test_vector_reproduced_byte_for_byte() -> None:
    sig = cosign(BODY, TS, WITNESS)
    assert sig.line() == VEC["signature_line"] + "\n"
    raw = base64.b64decode(VEC["signature_line"].split(" ")[2])
    assert raw[:4] == WITNESS.key_id
    assert raw[4:12] == TS.to_bytes(8, "big")
    assert len(raw) == 4 + COSIGNATURE_SIZE


def test_vector_key_id_uses_type_0x04() -> None:
    pub = WITNESS.verifier().public_key
    assert WITNESS.key_id == hashlib.sha256(VEC["witness_name"].encode() + b"\n\x04" + pub).digest()[:4]
    assert WITNESS.key_id != hashlib.sha256(VEC["witness_name"].encode() + b"\n\x01" + pub).digest()[:4]


def test_vector_verifies_and_returns_timestamp() -> None:
    sig = NoteSignature.parse_line(VEC["signature_line"])
    verifier = Verifier.from_vkey(WITNESS.verifier().vkey)
    assert verify_cosignature(BODY, sig, verifier) == TS


def test_signed_message_matches_spec() -> None:
    assert cosignature_message(BODY, TS) == f"cosignature/v1\ntime {TS}\n{BODY}".encode()
    assert cosignature_message(BODY, 0).startswith(b"cosignature/v1\ntime 0\nexample.org/log\n")


def test_signed_message_includes_extension_lines() -> None:
    body = BODY + "ext\n"
    assert cosignature_message(body, 5).endswith(b"ext\n")
    sig = cosign(body, 5, WITNESS)
    with pytest.raises(SignatureError):
        verify_cosignature(BODY, sig, WITNESS.verifier())
    assert verify_cosignature(body, sig, WITNESS.verifier()) == 5


@pytest.mark.parametrize("ts", [-1, MAX_TIMESTAMP + 1, True])
def test_timestamp_range(ts: int) -> None:
    with pytest.raises(ValueError):
        cosignature_message(BODY, ts)
    with pytest.raises(ValueError):
        cosign(BODY, ts, WITNESS)


def test_max_timestamp_allowed() -> None:
    sig = cosign(BODY, MAX_TIMESTAMP, WITNESS)
    assert verify_cosignature(BODY, sig, WITNESS.verifier()) == MAX_TIMESTAMP


def test_not_a_checkpoint_rejected() -> None:
    with pytest.raises(CheckpointFormatError):
        cosignature_message("just text\n", 1)
    with pytest.raises(CheckpointFormatError):
        verify_cosignature("just text\n", cosign(BODY, TS, WITNESS), WITNESS.verifier())


def test_cosign_needs_a_0x04_key() -> None:
    with pytest.raises(ValueError):
        cosign(BODY, TS, LOG)


def _with_ts(sig: NoteSignature, ts: int) -> NoteSignature:
    return NoteSignature(sig.name, sig.key_id, ts.to_bytes(8, "big") + sig.signature[8:])


def test_wrong_timestamp_rejected() -> None:
    sig = cosign(BODY, TS, WITNESS)
    with pytest.raises(SignatureError):
        verify_cosignature(BODY, _with_ts(sig, TS + 1), WITNESS.verifier())


def test_timestamp_beyond_2_63_rejected() -> None:
    sig = cosign(BODY, TS, WITNESS)
    with pytest.raises(SignatureError):
        verify_cosignature(BODY, _with_ts(sig, 2**63), WITNESS.verifier())


def test_wrong_body_rejected() -> None:
    sig = cosign(BODY, TS, WITNESS)
    cp = Checkpoint.parse(BODY)
    for other in (
        Checkpoint(cp.origin, cp.size + 1, cp.root_hash).to_text(),
        Checkpoint(cp.origin, cp.size, bytes(32)).to_text(),
        Checkpoint("example.org/other-log", cp.size, cp.root_hash).to_text(),
    ):
        with pytest.raises(SignatureError):
            verify_cosignature(other, sig, WITNESS.verifier())


def test_wrong_key_rejected() -> None:
    sig = cosign(BODY, TS, WITNESS)
    # Another key under the witness's name: key ID differs.
    impostor = Signer(WITNESS.name, key(99), ALG_COSIGNATURE_V1).verifier()
    with pytest.raises(SignatureError):
        verify_cosignature(BODY, sig, impostor)
    # A trusted witness, but not the one that signed this line.
    with pytest.raises(SignatureError):
        verify_cosignature(BODY, sig, OTHER_WITNESS.verifier())
    # The same key as a plain 0x01 note key is not a cosigner.
    plain = Verifier(WITNESS.name, ALG_ED25519, WITNESS.verifier().public_key)
    with pytest.raises(SignatureError):
        verify_cosignature(BODY, sig, plain)


def test_forged_line_with_right_key_id_rejected() -> None:
    good = cosign(BODY, TS, WITNESS)
    forged = cosign(BODY, TS, Signer(WITNESS.name, key(98), ALG_COSIGNATURE_V1))
    relabelled = NoteSignature(good.name, good.key_id, forged.signature)
    with pytest.raises(SignatureError):
        verify_cosignature(BODY, relabelled, WITNESS.verifier())


@pytest.mark.parametrize("size", [1, 8, 71, 73, 136])
def test_wrong_length_rejected(size: int) -> None:
    sig = NoteSignature(WITNESS.name, WITNESS.key_id, bytes(size))
    with pytest.raises(SignatureError):
        verify_cosignature(BODY, sig, WITNESS.verifier())


def test_plain_note_signature_is_not_a_cosignature() -> None:
    # A 0x01 signature over the body from the same Ed25519 key does not pass.
    plain = Signer(
        WITNESS.name, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VEC["witness_ed25519_seed_hex"]))
    )
    note = parse_note(sign_note(BODY, [plain]))
    sig = note.signatures[0]
    relabelled = NoteSignature(sig.name, WITNESS.key_id, bytes(8) + sig.signature)
    with pytest.raises(SignatureError):
        verify_cosignature(BODY, relabelled, WITNESS.verifier())


# --- cosignatures_by on whole checkpoint notes. ---


def _cosigned_note(*sigs: NoteSignature) -> bytes:
    return add_signatures(sign_note(BODY, [LOG]), sigs)


def test_cosignatures_by_trusted_witnesses() -> None:
    msg = _cosigned_note(cosign(BODY, TS, WITNESS), cosign(BODY, 2000, OTHER_WITNESS))
    note, verified = open_note(msg, [LOG.verifier(), WITNESS.verifier(), OTHER_WITNESS.verifier()])
    assert verified == (LOG.verifier(),)
    found = cosignatures_by(note, [LOG.verifier(), WITNESS.verifier()])
    assert found == {WITNESS.verifier().vkey: TS}
    both = cosignatures_by(note, [WITNESS.verifier(), OTHER_WITNESS.verifier()])
    assert both == {WITNESS.verifier().vkey: TS, OTHER_WITNESS.verifier().vkey: 2000}


def test_cosignatures_by_none_is_empty() -> None:
    note = parse_note(_cosigned_note(cosign(BODY, TS, OTHER_WITNESS)))
    assert cosignatures_by(note, [WITNESS.verifier()]) == {}


def test_cosignatures_by_bad_cosignature_from_known_witness_raises() -> None:
    bad = _with_ts(cosign(BODY, TS, WITNESS), TS + 1)
    note = parse_note(_cosigned_note(bad))
    with pytest.raises(SignatureError):
        cosignatures_by(note, [WITNESS.verifier()])
    # From an untrusted witness the same line is ignored.
    assert cosignatures_by(note, [OTHER_WITNESS.verifier()]) == {}


def test_cosignatures_by_two_lines_from_one_witness() -> None:
    log_note = parse_note(sign_note(BODY, [LOG]))
    msg = format_note(
        Note(BODY, (*log_note.signatures, cosign(BODY, 10, WITNESS), cosign(BODY, 20, WITNESS)))
    )
    assert cosignatures_by(parse_note(msg), [WITNESS.verifier()]) == {WITNESS.verifier().vkey: 20}


def test_cosignatures_by_on_non_checkpoint_note_with_witness_line() -> None:
    text = "not a checkpoint\n"
    sig = NoteSignature(WITNESS.name, WITNESS.key_id, bytes(72))
    note = parse_note(add_signatures(sign_note(text, [LOG]), [sig]))
    with pytest.raises(CheckpointFormatError):
        cosignatures_by(note, [WITNESS.verifier()])


@settings(max_examples=50, deadline=None)
@given(ts=st.integers(0, MAX_TIMESTAMP), size=st.integers(0, 2**40), root=st.binary(min_size=32, max_size=32))
def test_round_trip(ts: int, size: int, root: bytes) -> None:
    body = Checkpoint("example.org/log", size, root).to_text()
    sig = cosign(body, ts, WITNESS)
    parsed = NoteSignature.parse_line(sig.line())
    assert verify_cosignature(body, parsed, WITNESS.verifier()) == ts
