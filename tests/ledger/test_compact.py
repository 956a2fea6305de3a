"""Compact ranges (transparency-dev/merkle compact/range.go): roots from O(log n) state, subtree appends."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.ledger import rfc6962
from custody.ledger.compact import CompactRange, Levels


def _leaves(n: int) -> list[bytes]:
    return [rfc6962.leaf_hash(str(i).encode()) for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100])
def test_leaf_appends_give_rfc6962_roots(n: int) -> None:
    rng = CompactRange()
    for h in _leaves(n):
        rng.append(h)
    assert rng.size == n
    assert rng.root() == rfc6962.root_from_leaf_hashes(_leaves(n))


@given(st.integers(0, 3), st.integers(1, 200), st.data())
def test_chunked_levels_equal_leaf_appends(chunk_level: int, n: int, data: st.DataObject) -> None:
    """The verifier's split: chunks of 2**level leaves hashed apart, merged by subtree appends."""
    chunk = 1 << chunk_level
    leaves = _leaves(n)
    k = data.draw(st.integers(0, n))  # a checkpoint size anywhere
    merged = CompactRange()
    root_at_k = rfc6962.root_from_leaf_hashes(leaves[:k]) if k else rfc6962.EMPTY_ROOT
    seen_k = k == 0
    for start in range(0, n, chunk):
        run = leaves[start : start + chunk]
        levels = Levels(run)
        if start < k < start + len(run):
            at_k = merged.copy()
            at_k.extend(levels.prefix(k - start))
            assert at_k.size == k and at_k.root() == root_at_k
            seen_k = True
        merged.extend(levels.prefix(len(run)))
        if merged.size == k:
            assert merged.root() == root_at_k
            seen_k = True
    assert seen_k
    assert merged.size == n and merged.root() == rfc6962.root_from_leaf_hashes(leaves)


def test_levels_prefix_shapes() -> None:
    levels = Levels(_leaves(8))
    assert [lvl for lvl, _h in levels.prefix(8)] == [3]
    assert [lvl for lvl, _h in levels.prefix(7)] == [2, 1, 0]
    assert levels.prefix(0) == []
    assert levels.prefix(1) == [(0, _leaves(1)[0])]
    node = hashlib.sha256(b"\x01" + _leaves(2)[0] + _leaves(2)[1]).digest()
    assert levels.prefix(2) == [(1, node)]


@pytest.mark.parametrize("k", [-1, 9])
def test_levels_prefix_out_of_range(k: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        Levels(_leaves(8)).prefix(k)


@pytest.mark.parametrize(("size", "level"), [(1, 1), (2, 2), (3, 1), (6, 2), (0, -1)])
def test_subtree_must_follow_its_own_boundary(size: int, level: int) -> None:
    rng = CompactRange()
    for h in _leaves(size):
        rng.append(h)
    with pytest.raises(ValueError, match="cannot follow"):
        rng.append_subtree(level, bytes(32))


def test_copy_is_independent() -> None:
    rng = CompactRange()
    rng.append(_leaves(1)[0])
    other = rng.copy()
    other.append(_leaves(2)[1])
    assert rng.size == 1 and other.size == 2
    assert rng.root() == _leaves(1)[0]
