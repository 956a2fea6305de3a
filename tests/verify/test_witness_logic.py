"""The witness's decision (verify.witness), status by status, on real ledgers' checkpoints.

c2sp.org/tlog-witness, add-checkpoint: 404 unknown origin, 403 no trusted
signature, 400 malformed or old size > checkpoint size, 409 old size is not
the witness's size (body: its size, text/x.tlog.size), 409 same size with
another root, 422 bad consistency proof (and a non-empty proof for old size
0, and custody's own: a first tree that is not the pinned genesis tree of
size 1), 200 with a cosignature.  Rollbacks and forks are never cosigned.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger.cosignature import verify_cosignature
from custody.ledger.note import ALG_ED25519, Signer, open_note, parse_note, sign_note
from custody.ledger.rfc6962 import EMPTY_ROOT
from custody.ledger.witness_protocol import (
    CONTENT_TYPE_TLOG_SIZE,
    AddCheckpointRequest,
    format_add_checkpoint,
    parse_add_checkpoint,
    parse_cosignature_response,
    parse_size_response,
)
from custody.verify.witness import Decision, LogState, WitnessHead, add_checkpoint, status_meaning
from tests.verify.witness_fixtures import World, checkpoint_of, fork_ledger, make_world

TS = 1_790_000_000


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path / "w")
    for _ in range(6):
        w.grow(1)  # checkpoints at sizes 1 (genesis) .. 7
    yield w
    w.close()


def state(world: World, size: int | None) -> dict[str, LogState]:
    latest = None
    if size is not None:
        note = world.ledger.store.checkpoint(size)
        assert note is not None
        latest = WitnessHead(size, checkpoint_of(note).root_hash)
    return {
        world.ledger.origin: LogState(
            world.ledger.origin, (world.ledger.log_verifier(),), latest, world.ledger.genesis().leaf_hash
        )
    }


def decide(world: World, body: bytes, witness_size: int | None) -> Decision:
    return add_checkpoint(body, state(world, witness_size), world.witness, TS)


def test_200_cosigns_and_returns_a_verifiable_cosignature(world: World) -> None:
    body = world.request(7, old=4)
    d = decide(world, body, 4)
    assert d.status == 200 and d.ok
    sigs = parse_cosignature_response(d.body)
    assert len(sigs) == 1 and sigs[0].name == world.witness.name
    text = parse_note(world.ledger.store.checkpoint(7) or b"").text
    assert verify_cosignature(text, sigs[0], world.witness.verifier()) == TS
    # What the caller persists: the text, the log signature and the cosignature.
    assert d.note is not None
    note, _ = open_note(d.note, [world.ledger.log_verifier()])
    assert note.text == text and [s.name for s in note.signatures] == [world.ledger.origin, world.witness.name]
    assert d.checkpoint is not None and d.checkpoint.size == 7 and d.witness_size == 4


def test_first_checkpoint_old_size_zero(world: World) -> None:
    # Never cosigned: the old size must be 0 and the proof empty; the first tree cosigned is of size 1.
    d = decide(world, world.request(1, old=0), None)
    assert d.status == 200
    # A first request with a non-zero old size gets the witness's size, 0.
    d = decide(world, world.request(5, old=3), None)
    assert d.status == 409 and parse_size_response(d.body) == 0


def _rewritten(world: World, tmp_path: Path, size: int) -> bytes:
    """A checkpoint of ``size`` over another history (another genesis entry), signed with the pinned log key."""
    other = make_world(tmp_path / f"rewritten-{len(list(tmp_path.iterdir()))}", pin=False)
    try:
        while other.ledger.store.size < size:
            other.note(1)
        text = parse_note(other.ledger.checkpoint(other.log).note).text
    finally:
        other.close()
    return sign_note(text, [world.log])


def test_first_cosignature_above_size_one_is_refused(world: World, tmp_path: Path) -> None:
    """A request from old size 0 proves nothing about entry 0: the witness's first tree must be of size 1.

    Otherwise a history whose first entry is not the pinned genesis would be cosigned, as long as its log key
    signed it (docs/spec.md §8.2)."""
    rewritten = format_add_checkpoint(AddCheckpointRequest(0, (), _rewritten(world, tmp_path, 5)))
    cases = [
        ("another genesis at size 5", rewritten, None, 422),
        ("the honest ledger at size 5, still not first", world.request(5, old=0), None, 422),
        ("the honest ledger at size 7", world.request(7, old=0), None, 422),
    ]
    for what, body, size, status in cases:
        d = decide(world, body, size)
        assert d.status == status, what
        assert not d.ok and d.note is None and "size 1" in d.reason, what
    # Without a pinned genesis there is nothing to check against (the pure logic, used with no pin).
    unpinned = {world.ledger.origin: LogState(world.ledger.origin, (world.ledger.log_verifier(),))}
    assert add_checkpoint(world.request(5, old=0), unpinned, world.witness, TS).status == 200
    # From the genesis tree on, the proof ties every tree to entry 0: the honest one passes, the other fails.
    assert decide(world, world.request(5, old=1), 1).status == 200
    forged = _rewritten(world, tmp_path, 5)
    proof = tuple(world.ledger.store.consistency_proof(1, 5))
    d = decide(world, format_add_checkpoint(AddCheckpointRequest(1, proof, forged)), 1)
    assert d.status == 422 and d.evidence


def test_a_cosigned_empty_tree_does_not_open_the_door(world: World) -> None:
    """Size 0 proves nothing about entry 0 either: after the empty tree, the next tree must be of size 1."""
    empty = WitnessHead(0, EMPTY_ROOT)
    states = {world.ledger.origin: LogState(world.ledger.origin, (world.ledger.log_verifier(),), empty,
                                            world.ledger.genesis().leaf_hash)}
    assert add_checkpoint(world.request(5, old=0), states, world.witness, TS).status == 422
    assert add_checkpoint(world.request(1, old=0), states, world.witness, TS).status == 200


def test_old_size_zero_needs_an_empty_proof(world: World) -> None:
    note = world.ledger.store.checkpoint(5) or b""
    body = format_add_checkpoint(AddCheckpointRequest(0, (bytes(32),), note))
    d = decide(world, body, None)
    assert d.status == 422


def test_404_unknown_origin(world: World) -> None:
    d = add_checkpoint(world.request(5), {}, world.witness, TS)
    assert d.status == 404
    assert d.content_type.startswith("text/plain")


def test_403_not_signed_by_the_pinned_log_key(world: World) -> None:
    cp_text = parse_note(world.ledger.store.checkpoint(5) or b"").text
    # Same key name (the origin), another key: an unknown key, ignored; nothing trusted signed.
    impostor = Signer(world.ledger.origin, Ed25519PrivateKey.generate(), ALG_ED25519)
    body = format_add_checkpoint(AddCheckpointRequest(0, (), sign_note(cp_text, [impostor])))
    assert decide(world, body, None).status == 403


def test_403_signature_of_the_pinned_key_does_not_verify(world: World) -> None:
    note = world.ledger.store.checkpoint(5) or b""
    line_start = note.index("— ".encode()) + len("— ".encode()) + len(world.ledger.origin) + 1
    sig = bytearray(base64.b64decode(note[line_start:].split(b"\n")[0]))
    sig[-1] ^= 1
    forged = note[:line_start] + base64.b64encode(bytes(sig)) + b"\n"
    body = format_add_checkpoint(AddCheckpointRequest(0, (), forged))
    assert decide(world, body, None).status == 403


@pytest.mark.parametrize(
    "body",
    [b"", b"old 1\n", b"old -1\n\nx\n", b"old 01\n\n", b"garbage\n\nnot a note\n", b"old 0\n\norigin\n1\n"],
)
def test_400_malformed(world: World, body: bytes) -> None:
    d = decide(world, body, None)
    assert d.status == 400


def test_400_old_size_above_checkpoint_size(world: World) -> None:
    note = world.ledger.store.checkpoint(3) or b""
    body = format_add_checkpoint(AddCheckpointRequest(5, (), note))
    assert decide(world, body, 5).status == 400


def test_409_old_size_mismatch_reports_the_witness_size(world: World) -> None:
    d = decide(world, world.request(7, old=3), 5)
    assert d.status == 409
    assert d.content_type == CONTENT_TYPE_TLOG_SIZE
    assert d.body == b"5\n" and parse_size_response(d.body) == 5
    assert d.witness_size == 5 and not d.evidence


def test_422_bad_consistency_proof(world: World) -> None:
    req = parse_add_checkpoint(world.request(7, old=4))
    bad = (bytes([req.proof[0][0] ^ 1]) + req.proof[0][1:], *req.proof[1:])
    body = format_add_checkpoint(AddCheckpointRequest(4, bad, req.checkpoint))
    d = decide(world, body, 4)
    assert d.status == 422 and d.evidence
    # Too short a proof is not a proof either.
    body = format_add_checkpoint(AddCheckpointRequest(4, req.proof[:-1], req.checkpoint))
    assert decide(world, body, 4).status == 422


def test_same_size_same_root_is_cosigned_again(world: World) -> None:
    assert decide(world, world.request(5, old=5), 5).status == 200


def test_same_size_proof_must_be_empty(world: World) -> None:
    note = world.ledger.store.checkpoint(5) or b""
    body = format_add_checkpoint(AddCheckpointRequest(5, (bytes(32),), note))
    assert decide(world, body, 5).status == 422


def test_rollback_is_refused(world: World) -> None:
    # The witness is at 6; a checkpoint of size 4 is never cosigned, whatever old size is claimed.
    assert decide(world, world.request(4, old=4), 6).status == 409
    assert decide(world, world.request(4, old=2), 6).status == 409
    note = world.ledger.store.checkpoint(4) or b""
    assert decide(world, format_add_checkpoint(AddCheckpointRequest(6, (), note)), 6).status == 400


def test_fork_is_refused(world: World, tmp_path: Path) -> None:
    # Same origin, log key and genesis; the histories diverge after size 7.
    forked = fork_ledger(world, tmp_path / "fork")
    try:
        for i in range(3):
            forked.append("note.recorded", {"text": f"other {i}"}, world.parties.responsible)
        forked.checkpoint(world.log)
        world.grow(3)
        assert forked.store.size == world.ledger.store.size == 10
        assert forked.store.root(10) != world.ledger.store.root(10)
        # Same size, other root: 409 (tlog-witness: "If they don't match ... 409 Conflict").
        d = decide(world, world.request(10, old=10, ledger=forked), 10)
        assert d.status == 409 and d.evidence and parse_size_response(d.body) == 10
        # A larger checkpoint of the fork, with a proof valid in its own tree: 422.
        forked.append("note.recorded", {"text": "more"}, world.parties.responsible)
        forked.checkpoint(world.log)
        d = decide(world, world.request(11, old=10, ledger=forked), 10)
        assert d.status == 422 and d.evidence
        # And the honest continuation is accepted from the witnessed size.
        world.grow(1)
        assert decide(world, world.request(11, old=10), 10).status == 200
    finally:
        forked.close()


def test_first_checkpoint_of_size_one_must_be_the_pinned_genesis(world: World, tmp_path: Path) -> None:
    other = make_world(tmp_path / "other", pin=False)
    try:
        # Same origin, another genesis, signed with the pinned log key.
        text = parse_note(other.ledger.store.checkpoint(1) or b"").text
        body = format_add_checkpoint(AddCheckpointRequest(0, (), sign_note(text, [world.log])))
        d = decide(world, body, None)
        assert d.status == 422 and d.evidence
        assert decide(world, world.request(1, old=0), None).status == 200
    finally:
        other.close()


def test_empty_tree(world: World) -> None:
    text = f"{world.ledger.origin}\n0\n{base64.b64encode(EMPTY_ROOT).decode()}\n"
    body = format_add_checkpoint(AddCheckpointRequest(0, (), sign_note(text, [world.log])))
    assert decide(world, body, None).status == 200
    text = f"{world.ledger.origin}\n0\n{base64.b64encode(bytes(32)).decode()}\n"
    body = format_add_checkpoint(AddCheckpointRequest(0, (), sign_note(text, [world.log])))
    assert decide(world, body, None).status == 409


def test_witness_key_must_be_a_cosignature_key(world: World) -> None:
    with pytest.raises(ValueError, match="cosignature"):
        add_checkpoint(world.request(5), state(world, None), world.log, TS)


def test_status_meanings_name_the_status() -> None:
    for status in (200, 400, 403, 404, 409, 422, 500):
        assert str(status) in status_meaning(status)
