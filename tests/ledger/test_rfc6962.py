"""RFC 6962 hashing, proofs and the stored-hash tree against the standard 8-leaf test tree.

Vectors: tests/vectors/rfc6962.json (RFC 6962 §2.1; the values published in
certificate-transparency merkle_tree_test.cc and transparency-dev/merkle
testonly/constants.go).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pytest

from custody.ledger import rfc6962, tlog
from custody.ledger.errors import ProofError, ProofFormatError
from custody.ledger.proof import verify_consistency, verify_inclusion
from tests.conftest import load_vector

V: dict[str, Any] = load_vector("rfc6962.json")
LEAVES = [bytes.fromhex(x) for x in V["leaf_inputs_hex"]]
LEAF_HASHES = [bytes.fromhex(x) for x in V["leaf_hashes_hex"]]
ROOTS = {int(k): bytes.fromhex(v) for k, v in V["roots_hex"].items()}


def _hexes(xs: list[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in xs]


# --- RFC 6962 §2.1.1 PATH and §2.1.2 PROOF, written straight from the definitions. ---


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) over leaf hashes."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*_path(m, d[:k]), rfc6962.root_from_leaf_hashes(d[k:])]
    return [*_path(m - k, d[k:]), rfc6962.root_from_leaf_hashes(d[:k])]


def _subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(d)
    if m == n:
        return [] if b else [rfc6962.root_from_leaf_hashes(d)]
    k = _k(n)
    if m <= k:
        return [*_subproof(m, d[:k], b), rfc6962.root_from_leaf_hashes(d[k:])]
    return [*_subproof(m - k, d[k:], False), rfc6962.root_from_leaf_hashes(d[:k])]


def _store(leaf_hashes: Sequence[bytes]) -> list[bytes]:
    stored: list[bytes] = []
    for n, h in enumerate(leaf_hashes):
        stored.extend(tlog.stored_hashes(n, h, lambda idx: [stored[i] for i in idx]))
    return stored


STORED = _store(LEAF_HASHES)


def _read(indexes: Sequence[int]) -> list[bytes]:
    return [STORED[i] for i in indexes]


# --- Hashing. ---


def test_constants() -> None:
    assert rfc6962.HASH_SIZE == 32
    assert bytes.fromhex(V["hasher"]["empty_root"]) == rfc6962.EMPTY_ROOT
    assert ROOTS[0] == rfc6962.EMPTY_ROOT


@pytest.mark.parametrize("i", range(len(LEAVES)))
def test_leaf_hashes(i: int) -> None:
    assert rfc6962.leaf_hash(LEAVES[i]) == LEAF_HASHES[i]


def test_hasher_spot_values() -> None:
    hv = V["hasher"]
    assert rfc6962.leaf_hash(b"") == bytes.fromhex(hv["leaf('')"])
    assert rfc6962.leaf_hash(b"L123456") == bytes.fromhex(hv["leaf('L123456')"])
    # node('N123','N456') hashes 4-byte children, which node_hash refuses on purpose
    # (every node of our trees has 32-byte children): check the 0x01 domain
    # prefix the spot value pins, and that node_hash rejects such children.
    assert hashlib.sha256(b"\x01N123N456").digest() == bytes.fromhex(hv["node('N123','N456')"])
    with pytest.raises(ProofFormatError):
        rfc6962.node_hash(b"N123", b"N456")


def test_node_hash_domain_separation() -> None:
    a, b = LEAF_HASHES[0], LEAF_HASHES[1]
    assert rfc6962.node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert rfc6962.node_hash(a, b) == ROOTS[2]
    assert rfc6962.node_hash(a, b) != rfc6962.node_hash(b, a)
    assert rfc6962.leaf_hash(a + b) != rfc6962.node_hash(a, b)


@pytest.mark.parametrize(
    "bad", [b"", b"\x00" * 31, b"\x00" * 33, b"\x00" * 64, "a" * 32, bytearray(32), None, 0]
)
def test_node_hash_rejects_non_hashes(bad: Any) -> None:
    with pytest.raises(ProofFormatError):
        rfc6962.node_hash(bad, LEAF_HASHES[0])
    with pytest.raises(ProofFormatError):
        rfc6962.node_hash(LEAF_HASHES[0], bad)


@pytest.mark.parametrize("n", sorted(ROOTS))
def test_roots(n: int) -> None:
    assert rfc6962.root_from_leaf_hashes(LEAF_HASHES[:n]) == ROOTS[n]
    assert tlog.tree_hash(n, _read) == ROOTS[n]


def test_root_rejects_bad_single_leaf() -> None:
    with pytest.raises(ProofFormatError):
        rfc6962.root_from_leaf_hashes([b"short"])


def test_largest_power_of_two_below() -> None:
    assert [rfc6962.largest_power_of_two_below(n) for n in range(2, 10)] == [1, 2, 2, 4, 4, 4, 4, 8]
    with pytest.raises(ValueError):
        rfc6962.largest_power_of_two_below(1)


# --- Every inclusion path and consistency proof of the vector tree. ---


def test_vector_counts() -> None:
    # All 36 (index, size) pairs and all 36 (size1 <= size2) pairs of sizes 1-8.
    assert len(V["inclusion"]) == 36
    assert len(V["consistency"]) == 36


@pytest.mark.parametrize("case", V["inclusion"], ids=lambda c: f"{c['index']}in{c['size']}")
def test_inclusion_paths(case: dict[str, Any]) -> None:
    index, size, path = case["index"], case["size"], _hexes(case["path_hex"])
    assert _path(index, LEAF_HASHES[:size]) == path
    assert tlog.prove_record(size, index, _read) == path
    verify_inclusion(LEAF_HASHES[index], index, size, path, ROOTS[size])
    # The same path does not prove another leaf.
    other = LEAF_HASHES[(index + 1) % 8]
    with pytest.raises(ProofError):
        verify_inclusion(other, index, size, path, ROOTS[size])


@pytest.mark.parametrize("case", V["consistency"], ids=lambda c: f"{c['size1']}to{c['size2']}")
def test_consistency_proofs(case: dict[str, Any]) -> None:
    size1, size2, proof = case["size1"], case["size2"], _hexes(case["proof_hex"])
    if size1 < size2:
        assert _subproof(size1, LEAF_HASHES[:size2], True) == proof
    else:
        assert proof == []
    assert tlog.prove_tree(size2, size1, _read) == proof
    verify_consistency(size1, size2, proof, ROOTS[size1], ROOTS[size2])
    # A wrong old root fails.
    wrong = ROOTS[size1 + 1] if size1 < 8 else ROOTS[1]
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, wrong, ROOTS[size2])
