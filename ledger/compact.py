"""A compact range over the leaves appended so far: RFC 6962 roots in O(log n) state.

transparency-dev/merkle ``compact/range.go`` and ``docs/compact_ranges.md``:
the range [0, n) decomposes into at most log2(n)+1 perfect subtrees, one per
set bit of n; appending a leaf merges equal-sized subtrees from the right, and
the root is the right-to-left fold of the subtree hashes.  The verifier uses
it to recompute the root at every checkpoint size while streaming a bundle of
any length in constant memory.
"""

from __future__ import annotations

from ledger.rfc6962 import EMPTY_ROOT, node_hash


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

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        acc = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            acc = node_hash(h, acc)
        return acc
