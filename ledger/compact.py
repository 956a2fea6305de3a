"""A compact range over the leaves appended so far: RFC 6962 roots in O(log n) state.

transparency-dev/merkle ``compact/range.go`` and ``docs/compact_ranges.md``:
the range [0, n) decomposes into at most log2(n)+1 perfect subtrees, one per
set bit of n; appending a leaf merges equal-sized subtrees from the right, and
the root is the right-to-left fold of the subtree hashes.  The verifier uses
it to recompute the root at every checkpoint size while streaming a bundle of
any length in constant memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from custody.ledger.rfc6962 import EMPTY_ROOT, node_hash

# A perfect subtree of a range: (level, hash); it covers 2**level leaves.
Subtree = tuple[int, bytes]


class CompactRange:
    def __init__(self) -> None:
        self.size = 0
        self._hashes: list[bytes] = []  # perfect subtree roots, largest first

    def append(self, leaf_hash: bytes) -> None:
        self._hashes.append(leaf_hash)
        n = self.size
        # Each trailing 1-bit of the old size is a subtree of equal size to merge.
        while n & 1:
            right = self._hashes.pop()
            left = self._hashes.pop()
            self._hashes.append(node_hash(left, right))
            n >>= 1
        self.size += 1

    def append_subtree(self, level: int, subtree_hash: bytes) -> None:
        """Append a perfect subtree of 2**level leaves (compact/range.go, appendImpl).

        The range's size must be a multiple of 2**level: a subtree only
        follows a boundary of its own size.
        """
        if level < 0 or self.size & ((1 << level) - 1):
            raise ValueError(f"a subtree of 2**{level} leaves cannot follow {self.size} leaves")
        n = self.size >> level
        while n & 1:
            subtree_hash = node_hash(self._hashes.pop(), subtree_hash)
            n >>= 1
        self._hashes.append(subtree_hash)
        self.size += 1 << level

    def extend(self, subtrees: Iterable[Subtree]) -> None:
        """Append a range given as its perfect subtrees, largest first (see ``Levels.prefix``)."""
        for level, subtree_hash in subtrees:
            self.append_subtree(level, subtree_hash)

    def copy(self) -> CompactRange:
        other = CompactRange()
        other.size = self.size
        other._hashes = list(self._hashes)
        return other

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        acc = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            acc = node_hash(h, acc)
        return acc


class Levels:
    """Every complete node over a run of leaf hashes that starts at a multiple
    of a power of two at least as large as the run (the verifier's chunks).

    Built bottom-up a level at a time -- one SHA-256 per internal node, no
    per-leaf bookkeeping -- so that worker processes can hash their chunk's
    share of the tree; ``prefix(k)`` is the compact range of the run's first
    ``k`` leaves, which the parent appends to the range before the run.
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.size = len(leaf_hashes)
        levels = [list(leaf_hashes)]
        sha256 = hashlib.sha256
        while len(levels[-1]) > 1:
            below = levels[-1]
            # zip drops an odd last node: it has no complete parent yet.
            pairs = zip(below[::2], below[1::2], strict=False)
            levels.append([sha256(b"\x01" + left + right).digest() for left, right in pairs])
        self._levels = levels

    def prefix(self, k: int) -> list[Subtree]:
        """The perfect subtrees of the first ``k`` leaves, largest first."""
        if not 0 <= k <= self.size:
            raise ValueError(f"prefix {k} outside a run of {self.size} leaves")
        out: list[Subtree] = []
        offset = 0
        for level in range(k.bit_length() - 1, -1, -1):
            if k >> level & 1:
                out.append((level, self._levels[level][offset >> level]))
                offset += 1 << level
        return out
