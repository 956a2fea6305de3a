"""Stored-hash layout of a RFC 6962 tree, and proofs built from it.

A port of golang.org/x/mod ``sumdb/tlog/tlog.go``.  Every hash of a complete
subtree (a leaf, or an interior node over 2^level leaves) is stored once, in
the dense linear order of Crosby and Wallach, "Efficient Data Structures for
Tamper-Evident Logging", §3.3: appending leaf ``n`` appends its leaf hash and
then the hash of each subtree that leaf completes.  With that order

* appending a leaf reads at most log2(n) earlier hashes -- none for a writer
  that keeps the tree's frontier in memory (``frontier``,
  ``append_to_frontier``),
* a root, an inclusion proof or a consistency proof reads O(log n) hashes,

each in ONE call to the ``HashReader`` (the store answers it with one SQL
query), as in Go.  Proofs are those of RFC 6962 §2.1.1 (audit path) and
§2.1.2 (consistency), equal to RFC 9162 §2.1.3 / §2.1.4, and verify with
ledger.proof.  Pure logic: the reader is the only way to the stored data.

Differences from Go: ``tree_hash(0)`` is ``EMPTY_ROOT`` = SHA-256('')
(RFC 9162 §2.1.1), where Go returns the all-zero hash; ``prove_tree`` from
size 0 returns the empty proof (the size-0 rule of ledger.proof), where Go
refuses.  Invalid sizes or indexes raise ValueError (a caller's bug, like
Go's "invalid inputs"); a leaf hash that is not 32 bytes raises
ProofFormatError, as everywhere a hash is checked; a reader that returns the wrong number of hashes or a
hash that is not 32 bytes raises StoreCorruptError.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from custody.ledger.errors import StoreCorruptError
from custody.ledger.rfc6962 import EMPTY_ROOT, HASH_SIZE, check_hash, node_hash

_NODE = b"\x01"  # the prefix of an interior node's hash (rfc6962.node_hash)

HashReader = Callable[[Sequence[int]], Sequence[bytes]]
"""Reads stored hashes by storage index; returns them in the order asked.

Every function here asks in ONE call per operation, with the indexes in
strictly increasing order (as Go's tlog does; its tests check it, and so do
ours), so a store can answer with one ``... WHERE idx IN (...) ORDER BY idx``.
"""


def _check_int(value: int, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"tlog: {what} must be a non-negative integer, got {value!r}")


def _trailing_zeros(x: int) -> int:
    """Number of trailing zero bits of x > 0 (Go's bits.TrailingZeros64)."""
    return (x & -x).bit_length() - 1


def _maxpow2(n: int) -> tuple[int, int]:
    """Go's maxpow2: k, the largest power of 2 smaller than n (1 for n = 1), and l = log2 k."""
    level = max(0, (n - 1).bit_length() - 1)
    return 1 << level, level


def stored_hash_index(level: int, n: int) -> int:
    """Storage index of the n-th hash at ``level`` (level 0 = leaves).

    Level L's n-th hash is written right after level L+1's (2n+1)-th hash;
    level 0's n-th hash is at n + n/2 + n/4 + ... (Go's StoredHashIndex).
    """
    _check_int(level, "level")
    _check_int(n, "n")
    for _ in range(level):
        n = 2 * n + 1
    i = 0
    while n > 0:
        i += n
        n >>= 1
    return i + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """The inverse of stored_hash_index: (level, n) (Go's SplitStoredHashIndex)."""
    _check_int(index, "index")
    # stored_hash_index(0, n) < 2n, so the leaf n we want is in [index/2, index/2 + log2(index)].
    n = index // 2
    index_n = stored_hash_index(0, n)
    if index_n > index:  # pragma: no cover - impossible by the bound above
        raise AssertionError("tlog: bad math in split_stored_hash_index")
    while True:
        # Leaf n is followed by 1 + trailing_zeros(n + 1) hashes.
        x = index_n + 1 + _trailing_zeros(n + 1)
        if x > index:
            break
        n += 1
        index_n = x
    # The hash was stored with leaf n: one of (0, n), (1, n/2), (2, n/4), ...
    level = index - index_n
    return level, n >> level


def stored_hash_count(n: int) -> int:
    """How many hashes are stored for a tree of n leaves (Go's StoredHashCount); equals 2n - popcount(n)."""
    _check_int(n, "n")
    if n == 0:
        return 0
    count = stored_hash_index(0, n - 1) + 1
    i = n - 1
    while i & 1:
        count += 1
        i >>= 1
    return count


def _read(read: HashReader, indexes: list[int]) -> list[bytes]:
    """One call to the reader, with its answer checked."""
    hashes = list(read(indexes))
    if len(hashes) != len(indexes):
        raise StoreCorruptError(f"tlog: read {len(indexes)} stored hashes, got {len(hashes)}")
    for i, h in zip(indexes, hashes, strict=True):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise StoreCorruptError(f"tlog: stored hash {i} is not a {HASH_SIZE}-byte hash")
    return hashes


def _completing_indexes(n: int) -> list[int]:
    """Storage indexes of the left siblings that leaf n's completed subtrees need, sorted."""
    m = _trailing_zeros(n + 1)
    # n >> i is odd for i < m; its left neighbour at level i is (n >> i) - 1.
    return [stored_hash_index(i, (n >> i) - 1) for i in reversed(range(m))]


def stored_hashes(n: int, leaf_hash: bytes, read: HashReader) -> list[bytes]:
    """The hashes to store, from stored_hash_index(0, n) on, when appending leaf n.

    Go's StoredHashesForRecordHash: the leaf hash, then one node hash per
    subtree that leaf n completes (one per trailing 1 bit of n), reading the
    left siblings in one call.  At most 1 + log2(n) hashes.
    """
    _check_int(n, "n")
    h = check_hash(leaf_hash, "leaf hash")
    indexes = _completing_indexes(n)
    out = [h]
    if indexes:
        old = _read(read, indexes)
        for sibling in reversed(old):
            h = node_hash(sibling, h)
            out.append(h)
    return out


def stored_hashes_for_leaves(n: int, leaf_hashes: Sequence[bytes], read: HashReader) -> list[bytes]:
    """The hashes to store when appending leaves n, n+1, ... at once (for batched appends).

    Equal to concatenating stored_hashes for each leaf in turn, but the
    hashes computed on the way are kept in memory rather than read back,
    and the older ones needed are read in ONE call (none if leaf_hashes is
    empty).  The result goes at stored_hash_count(n) onwards.
    """
    _check_int(n, "n")
    base = stored_hash_count(n)
    need: set[int] = set()
    for m in range(n, n + len(leaf_hashes)):
        need.update(i for i in _completing_indexes(m) if i < base)
    wanted = sorted(need)
    known = dict(zip(wanted, _read(read, wanted), strict=True)) if wanted else {}

    out: list[bytes] = []

    def from_memory(indexes: Sequence[int]) -> list[bytes]:
        return [known[i] if i < base else out[i - base] for i in indexes]

    for offset, leaf in enumerate(leaf_hashes):
        out.extend(stored_hashes(n + offset, leaf, from_memory))
    return out


def frontier(n: int, read: HashReader) -> list[bytes]:
    """The hashes of the complete subtrees that make up a tree of n leaves, largest first.

    One per set bit of n (RFC 9162 §2.1.1 splits leaves [0, n) into them);
    together with n they are all ``append_to_frontier`` needs, so a writer
    that keeps them in memory appends without reading.  One read call (none
    for n = 0).
    """
    _check_int(n, "n")
    if n == 0:
        return []
    indexes: list[int] = []
    _sub_tree_index(0, n, indexes)
    return _read(read, indexes)


def append_to_frontier(
    n: int, hashes: Sequence[bytes], leaf_hash: bytes
) -> tuple[list[bytes], tuple[bytes, ...]]:
    """Append leaf n to the tree of n leaves whose ``frontier`` is ``hashes``.

    Returns (the hashes to store, the frontier of the tree of n + 1 leaves).
    The hashes to store equal ``stored_hashes(n, leaf_hash, read)``: the
    subtrees leaf n completes are one per trailing 1 bit of n, and their left
    siblings are the smallest subtrees of the frontier, which merge with the
    leaf into one.  Pure computation, no reads: a writer that keeps the
    frontier in memory appends without touching older hashes.

    It runs on every append: each sibling is checked once, here, and hashed
    without ``node_hash``'s own checks of its arguments.
    """
    if type(n) is not int or n < 0:
        _check_int(n, "n")
    h = leaf_hash
    if type(h) is not bytes or len(h) != HASH_SIZE:
        check_hash(h, "leaf hash")  # raises, naming the fault
    count = len(hashes)
    if count != n.bit_count():
        raise StoreCorruptError(f"tlog: a tree of {n} leaves has {n.bit_count()} frontier hashes, not {count}")
    keep = count - (((n + 1) & ~n).bit_length() - 1)  # minus _trailing_zeros(n + 1): the trailing 1 bits of n
    if keep == count:  # n even: the leaf completes no interior node
        return [h], (*hashes, h)
    out = [h]
    for sibling in reversed(hashes[keep:]):
        if type(sibling) is not bytes or len(sibling) != HASH_SIZE:
            raise StoreCorruptError(f"tlog: a frontier hash in a tree of {n} leaves is not a {HASH_SIZE}-byte hash")
        h = hashlib.sha256(_NODE + sibling + h).digest()  # node_hash (RFC 9162 §2.1.1), its checks done above
        out.append(h)
    return out, (*hashes[:keep], h)


def _sub_tree_index(lo: int, hi: int, need: list[int]) -> None:
    """Append the storage indexes needed for the hash of leaves [lo, hi) (RFC 6962 §2.1)."""
    while lo < hi:
        k, level = _maxpow2(hi - lo + 1)
        if lo & (k - 1):  # pragma: no cover - impossible for the ranges used here
            raise AssertionError("tlog: bad math in _sub_tree_index")
        need.append(stored_hash_index(level, lo >> level))
        lo += k


def _sub_tree_hash(lo: int, hi: int, hashes: list[bytes]) -> tuple[bytes, list[bytes]]:
    """The hash of leaves [lo, hi) from the hashes _sub_tree_index asked for; returns the leftovers.

    The range splits into complete subtrees of decreasing size, whose
    hashes are stored; the root is folded from the right.
    """
    num_tree = 0
    while lo < hi:
        k, _ = _maxpow2(hi - lo + 1)
        num_tree += 1
        lo += k
    if len(hashes) < num_tree:  # pragma: no cover - guarded by _read
        raise AssertionError("tlog: bad index math in _sub_tree_hash")
    h = hashes[num_tree - 1]
    for i in range(num_tree - 2, -1, -1):
        h = node_hash(hashes[i], h)
    return h, hashes[num_tree:]


def tree_hash(n: int, read: HashReader) -> bytes:
    """The root (MTH) of the first n leaves, from at most 1 + log2(n) stored hashes in one read.

    EMPTY_ROOT for n = 0 without reading (RFC 9162 §2.1.1; Go returns zeros).
    """
    _check_int(n, "n")
    if n == 0:
        return EMPTY_ROOT
    indexes: list[int] = []
    _sub_tree_index(0, n, indexes)
    h, rest = _sub_tree_hash(0, n, _read(read, indexes))
    if rest:  # pragma: no cover
        raise AssertionError("tlog: bad index math in tree_hash")
    return h


def _leaf_proof_index(lo: int, hi: int, n: int, need: list[int]) -> None:
    """Indexes needed for the proof that leaf n is in leaves [lo, hi) (RFC 6962 §2.1.1)."""
    if lo + 1 == hi:
        return
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        _leaf_proof_index(lo, lo + k, n, need)
        _sub_tree_index(lo + k, hi, need)
    else:
        _sub_tree_index(lo, lo + k, need)
        _leaf_proof_index(lo + k, hi, n, need)


def _leaf_proof(lo: int, hi: int, n: int, hashes: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """The audit path PATH(n, D[lo:hi]) of RFC 6962 §2.1.1, bottom-up; returns the leftovers."""
    if lo + 1 == hi:
        # The verifier has the leaf hash itself.
        return [], hashes
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        p, hashes = _leaf_proof(lo, lo + k, n, hashes)
        th, hashes = _sub_tree_hash(lo + k, hi, hashes)
    else:
        th, hashes = _sub_tree_hash(lo, lo + k, hashes)
        p, hashes = _leaf_proof(lo + k, hi, n, hashes)
    p.append(th)
    return p, hashes


def prove_record(t: int, n: int, read: HashReader) -> list[bytes]:
    """Inclusion proof of leaf n in the tree of size t (Go's ProveRecord; RFC 9162 §2.1.3.1).

    Reads its O(log t) hashes in one call (none when t = 1).
    """
    _check_int(t, "t")
    _check_int(n, "n")
    if n >= t:
        raise ValueError(f"tlog: leaf {n} is not in a tree of size {t}")
    indexes: list[int] = []
    _leaf_proof_index(0, t, n, indexes)
    if not indexes:
        return []
    p, rest = _leaf_proof(0, t, n, _read(read, indexes))
    if rest:  # pragma: no cover
        raise AssertionError("tlog: bad index math in prove_record")
    return p


def _tree_proof_index(lo: int, hi: int, n: int, need: list[int]) -> None:
    """Indexes needed for the consistency sub-proof over leaves [lo, hi) (RFC 6962 §2.1.2)."""
    if n == hi:
        if lo != 0:
            _sub_tree_index(lo, hi, need)
        return
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        _tree_proof_index(lo, lo + k, n, need)
        _sub_tree_index(lo + k, hi, need)
    else:
        _sub_tree_index(lo, lo + k, need)
        _tree_proof_index(lo + k, hi, n, need)


def _tree_proof(lo: int, hi: int, n: int, hashes: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """SUBPROOF(n, D[lo:hi], lo == 0) of RFC 6962 §2.1.2, bottom-up; returns the leftovers."""
    if n == hi:
        if lo == 0:
            # This subtree is the old tree itself; the verifier knows its hash.
            return [], hashes
        th, hashes = _sub_tree_hash(lo, hi, hashes)
        return [th], hashes
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        p, hashes = _tree_proof(lo, lo + k, n, hashes)
        th, hashes = _sub_tree_hash(lo + k, hi, hashes)
    else:
        th, hashes = _sub_tree_hash(lo, lo + k, hashes)
        p, hashes = _tree_proof(lo + k, hi, n, hashes)
    p.append(th)
    return p, hashes


def prove_tree(t: int, n: int, read: HashReader) -> list[bytes]:
    """Consistency proof from the tree of size n to the tree of size t (Go's ProveTree; RFC 9162 §2.1.4.1).

    Requires 0 <= n <= t.  Empty for n = t and, by the ledger's size-0
    rule, for n = 0.  Reads its O(log t) hashes in one call.
    """
    _check_int(t, "t")
    _check_int(n, "n")
    if n > t:
        raise ValueError(f"tlog: no consistency proof from size {n} to smaller size {t}")
    if n == 0:
        return []
    indexes: list[int] = []
    _tree_proof_index(0, t, n, indexes)
    if not indexes:
        return []
    p, rest = _tree_proof(0, t, n, _read(read, indexes))
    if rest:  # pragma: no cover
        raise AssertionError("tlog: bad index math in prove_tree")
    return p
