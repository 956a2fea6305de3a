"""Verification of RFC 9162 inclusion and consistency proofs.

A port of transparency-dev/merkle ``proof/verify.go`` (the algorithms of
RFC 9162 §2.1.3.2, inclusion, and §2.1.4.2, consistency, written as bit
arithmetic on the leaf index).  Pure logic: no I/O.

Errors (the vector probes only say "error"; this module decides which):

* ``ProofFormatError`` -- an input is not of its type: a hash (leaf hash,
  root, proof element) that is not ``bytes`` of exactly 32 bytes, a proof
  that is not a sequence, or an index / size that is not a non-negative
  ``int``.  Such input never describes a proof, whatever the tree.
* ``ProofError`` -- well-typed input that does not prove the claim: a
  recomputed root that differs, a proof with the wrong number of hashes, an
  index outside the tree, a second tree smaller than the first.

Callers that only need a yes/no catch both.  Every hash is length-checked
first, even where verify.go only compares bytes (equal sizes), so 12-byte
"roots" that Go would accept as equal are rejected here (the conformance vectors
README: "Hashes that are not 32 bytes must be rejected").

Size 0 (the ledger's own rule; RFC 9162 §2.1.4 defines proofs only for
``0 < size1 < size2``):  the empty tree is a prefix of every tree, so a
consistency proof from size 0 is valid iff the proof is EMPTY and ``root1``
is ``EMPTY_ROOT`` (MTH({}) of RFC 9162 §2.1.1); for 0 -> 0 ``root2`` must
also be ``EMPTY_ROOT``.  This is the C2SP tlog-witness rule ("the proof MUST
be empty if the old size is zero"), which our witness protocol follows, and
the root check stops a "size 0" checkpoint carrying some other root from
passing.  transparency-dev/merkle instead rejects every proof from size 0;
the conformance vectors follow it (tests/ledger/test_proof_vectors.py lists the
probes concerned).
"""

from __future__ import annotations

from collections.abc import Sequence

from custody.ledger.errors import ProofError, ProofFormatError
from custody.ledger.rfc6962 import EMPTY_ROOT, check_hash, node_hash


def _check_count(value: object, what: str) -> int:
    # bool is an int subclass; True is not a tree size.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProofFormatError(f"{what} must be an integer, not {type(value).__name__}")
    if value < 0:
        raise ProofFormatError(f"{what} must not be negative: {value}")
    return value


def _check_proof(proof: object) -> list[bytes]:
    if isinstance(proof, (bytes, bytearray, memoryview, str)) or not isinstance(proof, Sequence):
        raise ProofFormatError(f"proof must be a sequence of hashes, not {type(proof).__name__}")
    return [check_hash(h, f"proof hash {i}") for i, h in enumerate(proof)]


def _decomp_incl_proof(index: int, size: int) -> tuple[int, int]:
    """Split an inclusion proof for ``index`` in a tree of ``size`` into (inner, border).

    ``inner`` hashes lie below the point where the paths to ``index`` and to
    ``size - 1`` diverge; the ``border`` hashes above it are all left
    siblings on the tree's right border.  Their sum is the proof length.
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Hash ``seed`` up through ``proof``, left or right by the bits of ``index``."""
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Like _chain_inner, but only with the left siblings: the older subtree's hash."""
    for i, h in enumerate(proof):
        if (index >> i) & 1 == 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    """Hash ``seed`` up the right border, where every sibling is on the left."""
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2).

    Requires ``0 <= index < size`` and exactly as many proof hashes as the
    tree shape needs; raises ProofError otherwise (ProofFormatError for
    ill-typed input, see the module docstring).
    """
    leaf = check_hash(leaf_hash, "leaf hash")
    index = _check_count(index, "leaf index")
    size = _check_count(size, "tree size")
    hashes = _check_proof(proof)
    if index >= size:
        raise ProofError(f"leaf index {index} is beyond tree size {size}")
    inner, border = _decomp_incl_proof(index, size)
    if len(hashes) != inner + border:
        raise ProofError(f"inclusion proof has {len(hashes)} hashes, want {inner + border}")
    res = _chain_inner(leaf, hashes[:inner], index)
    return _chain_border_right(res, hashes[inner:])


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    RFC 9162 §2.1.3.2.  Returns None on success, raises ProofError (or
    ProofFormatError) otherwise.
    """
    root = check_hash(root, "root hash")
    calculated = root_from_inclusion(leaf_hash, index, size, proof)
    if calculated != root:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the root of tree size {size}")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree (size1, root1) is a prefix of the tree (size2, root2).

    RFC 9162 §2.1.4.2, with the ledger's size-0 rule (module docstring).
    Returns None on success, raises ProofError (or ProofFormatError).
    """
    size1 = _check_count(size1, "first tree size")
    size2 = _check_count(size2, "second tree size")
    hashes = _check_proof(proof)
    root1 = check_hash(root1, "first root hash")
    root2 = check_hash(root2, "second root hash")

    if size2 < size1:
        raise ProofError(f"tree shrank from size {size1} to {size2}")
    if size1 == 0:
        # The ledger's size-0 rule (module docstring).
        if hashes:
            raise ProofError("a consistency proof from the empty tree must be empty")
        if root1 != EMPTY_ROOT:
            raise ProofError("a tree of size 0 must have the empty root SHA-256('')")
        if size2 == 0 and root2 != EMPTY_ROOT:
            raise ProofError("a tree of size 0 must have the empty root SHA-256('')")
        return
    if size1 == size2:
        if hashes:
            raise ProofError("trees of equal size need an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for tree size {size1}")
        return
    if not hashes:
        raise ProofError(f"empty consistency proof from size {size1} to {size2}")

    # From here on 0 < size1 < size2 (RFC 9162 §2.1.4.2, as in verify.go).
    inner, border = _decomp_incl_proof(size1 - 1, size2)
    shift = ((size1 & -size1).bit_length()) - 1  # trailing zero bits of size1
    inner -= shift  # shift < inner because size1 < size2

    # The proof starts with the root of the complete subtree of 2^shift leaves
    # that ends at size1, unless the whole old tree is that subtree.
    if size1 == 1 << shift:
        seed, start = root1, 0
    else:
        seed, start = hashes[0], 1
    if len(hashes) != start + inner + border:
        raise ProofError(f"consistency proof has {len(hashes)} hashes, want {start + inner + border}")
    rest = hashes[start:]

    mask = (size1 - 1) >> shift  # chain from level `shift` up
    hash1 = _chain_inner_right(seed, rest[:inner], mask)
    hash1 = _chain_border_right(hash1, rest[inner:])
    if hash1 != root1:
        raise ProofError(f"consistency proof does not lead to the root of tree size {size1}")
    hash2 = _chain_inner(seed, rest[:inner], mask)
    hash2 = _chain_border_right(hash2, rest[inner:])
    if hash2 != root2:
        raise ProofError(f"consistency proof does not lead to the root of tree size {size2}")
