"""ledger.witness_protocol: C2SP tlog-witness add-checkpoint bodies."""

from __future__ import annotations

import base64
import contextlib
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosign, cosignature_stamps, cosignatures_by
from custody.ledger.errors import CheckpointFormatError, FormatError, NoteFormatError, ProofFormatError
from custody.ledger.note import (
    ALG_COSIGNATURE_V1,
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    Signer,
    add_signatures,
    format_note,
    parse_note,
    sign_note,
)
from custody.ledger.witness_protocol import (
    ADD_CHECKPOINT_PATH,
    CONTENT_TYPE_TLOG_SIZE,
    MAX_PROOF_LINES,
    STATUS_BAD_REQUEST,
    STATUS_CONFLICT,
    STATUS_FORBIDDEN,
    STATUS_NOT_FOUND,
    STATUS_OK,
    STATUS_UNPROCESSABLE_ENTITY,
    AddCheckpointRequest,
    format_add_checkpoint,
    format_cosignature_response,
    format_size_response,
    parse_add_checkpoint,
    parse_cosignature_response,
    parse_size_response,
)

LOG = Signer("example.com/behind-the-sofa", Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32))
W1 = Signer("witness.example/w1", Ed25519PrivateKey.from_private_bytes(bytes([2]) * 32), ALG_COSIGNATURE_V1)
W2 = Signer("witness.example/w2", Ed25519PrivateKey.from_private_bytes(bytes([3]) * 32), ALG_COSIGNATURE_V1)
BODY = Checkpoint("example.com/behind-the-sofa", 20852163, hashlib.sha256(b"root").digest()).to_text()
CHECKPOINT = sign_note(BODY, [LOG])
PROOF = tuple(hashlib.sha256(bytes([i])).digest() for i in range(4))
EM = "\u2014"

# The example request body of tlog-witness.md, "add-checkpoint", verbatim.
SPEC_REQUEST = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    f"{EM} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    f"{EM} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
).encode()

# The example response body of tlog-witness.md, verbatim.
SPEC_RESPONSE = (
    f"{EM} witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n"
    f"{EM} witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n"
    f"{EM} witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n"
).encode()


def test_spec_example_request_parses_and_round_trips() -> None:
    req = parse_add_checkpoint(SPEC_REQUEST)
    assert req.old_size == 20852014
    assert len(req.proof) == 4
    assert req.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    note = parse_note(req.checkpoint)
    assert Checkpoint.parse(note.text).size == 20852163
    assert len(note.signatures) == 2
    assert format_add_checkpoint(req) == SPEC_REQUEST


def test_spec_example_response_parses_and_round_trips() -> None:
    sigs = parse_cosignature_response(SPEC_RESPONSE)
    assert [s.name for s in sigs] == ["witness.example/w1", "witness.example/w1", "witness.example/w2"]
    assert all(len(s.signature) == 72 for s in sigs)
    assert format_cosignature_response(sigs) == SPEC_RESPONSE


def test_status_codes_and_constants() -> None:
    assert (STATUS_OK, STATUS_BAD_REQUEST, STATUS_FORBIDDEN, STATUS_NOT_FOUND) == (200, 400, 403, 404)
    assert (STATUS_CONFLICT, STATUS_UNPROCESSABLE_ENTITY) == (409, 422)
    assert ADD_CHECKPOINT_PATH == "/add-checkpoint"
    assert CONTENT_TYPE_TLOG_SIZE == "text/x.tlog.size"
    assert MAX_PROOF_LINES == 63


@pytest.mark.parametrize(
    ("old", "proof"), [(0, ()), (1, PROOF[:1]), (20852014, PROOF), (5, (bytes(32),) * MAX_PROOF_LINES)]
)
def test_request_round_trip(old: int, proof: tuple[bytes, ...]) -> None:
    req = AddCheckpointRequest(old, proof, CHECKPOINT)
    body = format_add_checkpoint(req)
    assert body.startswith(f"old {old}\n".encode())
    assert body.endswith(b"\n\n" + CHECKPOINT) if not proof else body.endswith(CHECKPOINT)
    assert parse_add_checkpoint(body) == req


def test_request_with_zero_proof_lines_layout() -> None:
    assert format_add_checkpoint(AddCheckpointRequest(0, (), CHECKPOINT)) == b"old 0\n\n" + CHECKPOINT


def test_full_exchange_offline() -> None:
    """Log → request file → witness → response file → log merges the cosignatures."""
    body = format_add_checkpoint(AddCheckpointRequest(0, (), CHECKPOINT))
    req = parse_add_checkpoint(body)
    text = parse_note(req.checkpoint).text
    response = format_cosignature_response([cosign(text, 1700000000, W1), cosign(text, 1700000001, W2)])
    merged = add_signatures(CHECKPOINT, parse_cosignature_response(response))
    found = cosignatures_by(parse_note(merged), [W1.verifier(), W2.verifier()])
    assert found == {W1.verifier().vkey: 1700000000, W2.verifier().vkey: 1700000001}


def test_a_witness_that_cosigned_twice_counts_at_both_times() -> None:
    """The cadence of cosigned checkpoints (C22) reads every time a witness cosigned, not only its latest: a note
    written by another tool may carry two lines of one witness (custody's add_signatures keeps the first)."""
    logged = parse_note(CHECKPOINT)
    note = parse_note(format_note(Note(logged.text, (*logged.signatures, cosign(logged.text, 1700000000, W1),
                                                     cosign(logged.text, 1700086400, W1),
                                                     cosign(logged.text, 1700000005, W2)))))
    assert cosignature_stamps(note, [W1.verifier()]) == [(W1.verifier().vkey, 1700000000),
                                                         (W1.verifier().vkey, 1700086400)]
    assert cosignatures_by(note, [W1.verifier(), W2.verifier()]) == {
        W1.verifier().vkey: 1700086400, W2.verifier().vkey: 1700000005}
    assert cosignature_stamps(note, []) == []


H64 = base64.b64encode(PROOF[0]).decode()
CP = CHECKPOINT.decode()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", ProofFormatError),
        (b"old 0\n", ProofFormatError),  # no empty line
        (CHECKPOINT, ProofFormatError),  # no old line
        (f"\n\n{CP}".encode(), ProofFormatError),
        (f"old\n\n{CP}".encode(), ProofFormatError),
        (f"old \n\n{CP}".encode(), ProofFormatError),
        (f"old  5\n\n{CP}".encode(), ProofFormatError),
        (f"old 05\n\n{CP}".encode(), ProofFormatError),
        (f"old -1\n\n{CP}".encode(), ProofFormatError),
        (f"old +1\n\n{CP}".encode(), ProofFormatError),
        (f"old 1 \n\n{CP}".encode(), ProofFormatError),
        (f"Old 1\n\n{CP}".encode(), ProofFormatError),
        (f"old {2**63}\n\n{CP}".encode(), ProofFormatError),
        (f"old {'1' * 5000}\n\n{CP}".encode(), ProofFormatError),
        (f"old 1\r\n\n{CP}".encode(), ProofFormatError),
        (f"old 1\n{H64[:-1]}\n\n{CP}".encode(), ProofFormatError),  # unpadded hash
        (f"old 1\n{base64.b64encode(bytes(31)).decode()}\n\n{CP}".encode(), ProofFormatError),
        (f"old 1\n{base64.b64encode(bytes(48)).decode()}\n\n{CP}".encode(), ProofFormatError),
        (f"old 1\n{H64} \n\n{CP}".encode(), ProofFormatError),
        (f"old 1\n{H64.replace('/', '_').replace('+', '-')}x\n\n{CP}".encode(), ProofFormatError),
        (("old 1\n" + (H64 + "\n") * (MAX_PROOF_LINES + 1) + "\n" + CP).encode(), ProofFormatError),
        ("old 1\u2014\n\n".encode() + CHECKPOINT, ProofFormatError),  # non-ASCII header
        (b"old 0\n\n", NoteFormatError),  # no checkpoint
        (b"old 0\n\n" + BODY.encode(), NoteFormatError),  # unsigned checkpoint
        (b"old 0\n\n\n" + CHECKPOINT, CheckpointFormatError),  # extra empty line: text starts empty
        (b"old 0\n\n" + CHECKPOINT + b"\n", NoteFormatError),
        (b"old 0\n\n" + CHECKPOINT[:-1], NoteFormatError),
        (b"old 0\n\n" + sign_note("not a checkpoint\n", [LOG]), CheckpointFormatError),
    ],
)
def test_malformed_requests_rejected(body: bytes, error: type[FormatError]) -> None:
    with pytest.raises(error):
        parse_add_checkpoint(body)


def test_extension_with_hash_like_origin_is_not_confused() -> None:
    # The first empty line ends the header, even if the checkpoint text looks like proof lines.
    odd_log = Signer(H64.replace("+", "x"), Ed25519PrivateKey.from_private_bytes(bytes([4]) * 32))
    odd = sign_note(Checkpoint(H64, 3, PROOF[1]).to_text(), [odd_log])
    req = parse_add_checkpoint(b"old 0\n\n" + odd)
    assert req.proof == ()
    assert req.checkpoint == odd


@pytest.mark.parametrize(
    ("old", "proof", "checkpoint", "error"),
    [
        (-1, (), CHECKPOINT, ProofFormatError),
        (2**63, (), CHECKPOINT, ProofFormatError),
        (True, (), CHECKPOINT, ProofFormatError),
        (1, (bytes(31),), CHECKPOINT, ProofFormatError),
        (1, (bytes(32),) * (MAX_PROOF_LINES + 1), CHECKPOINT, ProofFormatError),
        (1, [bytes(32)], CHECKPOINT, ProofFormatError),
        (1, (), BODY.encode(), NoteFormatError),
        (1, (), sign_note("x\n", [LOG]), CheckpointFormatError),
    ],
)
def test_request_fields_validated(
    old: int, proof: tuple[bytes, ...], checkpoint: bytes, error: type[FormatError]
) -> None:
    with pytest.raises(error):
        AddCheckpointRequest(old, proof, checkpoint)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\n",
        SPEC_RESPONSE[:-1],  # no final newline
        SPEC_RESPONSE + b"\n",
        b"\n" + SPEC_RESPONSE,
        SPEC_RESPONSE.replace(EM.encode(), b"-", 1),
        SPEC_RESPONSE.replace(b"==\n", b"=\n", 1),
        SPEC_RESPONSE + b"\xff\n",
        (NoteSignature("w", b"abcd", b"x").line() * (MAX_SIGNATURES + 1)).encode(),
    ],
)
def test_malformed_responses_rejected(body: bytes) -> None:
    with pytest.raises(NoteFormatError):
        parse_cosignature_response(body)


def test_empty_response_cannot_be_formatted() -> None:
    with pytest.raises(NoteFormatError):
        format_cosignature_response([])


@pytest.mark.parametrize("size", [0, 1, 20852014, 2**63 - 1])
def test_size_response_round_trip(size: int) -> None:
    assert format_size_response(size) == f"{size}\n".encode()
    assert parse_size_response(format_size_response(size)) == size


@pytest.mark.parametrize(
    "body", [b"", b"\n", b"5", b"05\n", b"5\n\n", b" 5\n", b"-1\n", b"9223372036854775808\n", b"\xd9\xa5\n"]
)
def test_malformed_size_responses_rejected(body: bytes) -> None:
    with pytest.raises(CheckpointFormatError):
        parse_size_response(body)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_request_bodies_only_format_errors(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        parse_add_checkpoint(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_requests_only_format_errors(data: st.DataObject) -> None:
    body = bytearray(format_add_checkpoint(AddCheckpointRequest(7, PROOF, CHECKPOINT)))
    for _ in range(data.draw(st.integers(1, 3))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    try:
        req = parse_add_checkpoint(bytes(body))
    except FormatError:
        return
    assert parse_add_checkpoint(format_add_checkpoint(req)) == req


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_response_bodies_only_note_format_error(data: bytes) -> None:
    with contextlib.suppress(NoteFormatError):
        parse_cosignature_response(data)


@settings(max_examples=100, deadline=None)
@given(
    old=st.integers(0, 2**63 - 1),
    proof=st.lists(st.binary(min_size=32, max_size=32), max_size=MAX_PROOF_LINES),
)
def test_request_round_trip_property(old: int, proof: list[bytes]) -> None:
    req = AddCheckpointRequest(old, tuple(proof), CHECKPOINT)
    assert parse_add_checkpoint(format_add_checkpoint(req)) == req


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["w1", "a/b", "証人"]), st.binary(min_size=5, max_size=80)),
        min_size=1,
        max_size=5,
    )
)
def test_response_round_trip_property(items: list[tuple[str, bytes]]) -> None:
    sigs = tuple(NoteSignature(name, raw[:4], raw[4:]) for name, raw in items)
    assert parse_cosignature_response(format_cosignature_response(sigs)) == sigs
