"""RFC 6962 / RFC 9162 §2.1 Merkle tree hashing with SHA-256.

RFC 9162 §2.1.1 defines the Merkle Tree Hash (MTH) of a list of leaves:

* ``MTH({}) = SHA-256()`` (the empty string),
* ``MTH({d0}) = SHA-256(0x00 || d0)`` (a leaf hash),
* ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` where ``k`` is
  the largest power of two smaller than ``n``.

The 0x00 / 0x01 prefixes give leaves and interior nodes separate domains
(RFC 9162 §2.1.1, second-preimage resistance).  Pure logic: no I/O.
Modelled on transparency-dev/merkle ``rfc6962/rfc6962.go``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from custody.ledger.errors import ProofFormatError

HASH_SIZE = 32
"""Size in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""MTH({}), the root of the empty tree (RFC 9162 §2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def check_hash(value: object, what: str = "hash") -> bytes:
    """Return ``value`` if it is a 32-byte ``bytes`` object, else raise ProofFormatError.

    Every hash taken from outside (a proof element, a leaf hash, a root)
    passes here before it is used; ``what`` names it in the message.
    """
    if not isinstance(value, bytes):
        raise ProofFormatError(f"{what} must be bytes, not {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ProofFormatError(f"{what} is {len(value)} bytes, want {HASH_SIZE}")
    return value


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): an interior node (RFC 9162 §2.1.1).

    Raises ProofFormatError unless both children are 32-byte hashes.
    """
    check_hash(left, "left child hash")
    check_hash(right, "right child hash")
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The ``k`` of RFC 9162 §2.1.1: the largest power of two smaller than ``n`` (n > 1)."""
    if n < 2:
        raise ValueError(f"no split point for a tree of {n} leaves")
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves, straight from the definition (RFC 9162 §2.1.1).

    The reference used by tests and for small trees; it costs O(n) memory and
    hashing.  The store computes roots from stored hashes instead (ledger.tlog).
    """
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return check_hash(hashes[0], "leaf hash")
    k = largest_power_of_two_below(len(hashes))
    return node_hash(root_from_leaf_hashes(hashes[:k]), root_from_leaf_hashes(hashes[k:]))
