"""The stored-hash layout (golang.org/x/mod sumdb/tlog) and the proofs built from it.

Cross-checked against the reference MTH / PATH / PROOF of RFC 6962 §2.1 for
every tree of up to 70 leaves and every (t, n) pair, verified with
ledger.proof, and with the reads counted: one call, O(log n) indexes.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import tlog
from custody.ledger.errors import ProofError, ProofFormatError, StoreCorruptError
from custody.ledger.proof import verify_consistency, verify_inclusion
from custody.ledger.rfc6962 import EMPTY_ROOT, largest_power_of_two_below, leaf_hash, node_hash

N = 70
BIG = 300  # leaves of the tree the hypothesis tests draw from


class Store:
    """An in-memory stored-hash table that counts reads, as the apsw store would issue them."""

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.calls: list[list[int]] = []

    def read(self, indexes: Sequence[int]) -> list[bytes]:
        indexes = list(indexes)
        # Go asks for indexes in strictly increasing order (its tests check it); so do we.
        assert indexes == sorted(set(indexes)), indexes
        self.calls.append(indexes)
        return [self.hashes[i] for i in indexes]

    def append(self, h: bytes) -> None:
        n = self.leaves()
        new = tlog.stored_hashes(n, h, self.read)
        assert len(self.hashes) == tlog.stored_hash_index(0, n)
        self.hashes.extend(new)

    def leaves(self) -> int:
        # Invert stored_hash_count (monotonic) by search: small trees only.
        n = 0
        while tlog.stored_hash_count(n) < len(self.hashes):
            n += 1
        assert tlog.stored_hash_count(n) == len(self.hashes)
        return n

    def reset(self) -> None:
        self.calls.clear()


def _leaves(count: int) -> list[bytes]:
    return [leaf_hash(b"leaf %d" % i) for i in range(count)]


LEAVES = _leaves(BIG)


def _build(count: int) -> Store:
    store = Store()
    for n, h in enumerate(LEAVES[:count]):
        store.hashes.extend(tlog.stored_hashes(n, h, store.read))
    store.reset()
    return store


STORE = _build(BIG)


# --- Reference RFC 6962 §2.1, memoised over leaf ranges of LEAVES. ---


@functools.cache
def mth(lo: int, hi: int) -> bytes:
    if hi == lo:
        return EMPTY_ROOT
    if hi - lo == 1:
        return LEAVES[lo]
    k = largest_power_of_two_below(hi - lo)
    return node_hash(mth(lo, lo + k), mth(lo + k, hi))


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) (RFC 6962 §2.1.1), m absolute."""
    if hi - lo == 1:
        return []
    k = largest_power_of_two_below(hi - lo)
    if m < lo + k:
        return [*ref_path(m, lo, lo + k), mth(lo + k, hi)]
    return [*ref_path(m, lo + k, hi), mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) (RFC 6962 §2.1.2), m absolute."""
    if m == hi:
        return [] if b else [mth(lo, hi)]
    k = largest_power_of_two_below(hi - lo)
    if m <= lo + k:
        return [*ref_subproof(m, lo, lo + k, b), mth(lo + k, hi)]
    return [*ref_subproof(m, lo + k, hi, False), mth(lo, lo + k)]


# --- Layout. ---


def test_stored_hash_index_known_values() -> None:
    # Leaf 0, leaf 1, node(0..2), leaf 2, leaf 3, node(2..4), node(0..4), leaf 4, ...
    order = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0), (0, 4), (0, 5), (1, 2), (0, 6)]
    assert [tlog.stored_hash_index(level, n) for level, n in order] == list(range(len(order)))


def test_split_is_inverse() -> None:
    # As Go's TestSplitStoredHashIndex, and the other way round over a dense range.
    for level in range(10):
        for n in range(100):
            assert tlog.split_stored_hash_index(tlog.stored_hash_index(level, n)) == (level, n)
    for index in range(5000):
        assert tlog.stored_hash_index(*tlog.split_stored_hash_index(index)) == index


@given(st.integers(0, 2**62))
def test_split_is_inverse_for_large_indexes(index: int) -> None:
    level, n = tlog.split_stored_hash_index(index)
    assert tlog.stored_hash_index(level, n) == index


def test_stored_hash_count() -> None:
    assert tlog.stored_hash_count(0) == 0
    for n in range(1, 2000):
        assert tlog.stored_hash_count(n) == 2 * n - n.bit_count()
        assert tlog.stored_hash_count(n) == tlog.stored_hash_index(0, n - 1) + 1 + (
            ((n - 1) ^ n).bit_length() - 1
        )


def test_every_stored_hash_is_its_subtree_root() -> None:
    assert len(STORE.hashes) == tlog.stored_hash_count(BIG)
    for index, h in enumerate(STORE.hashes):
        level, n = tlog.split_stored_hash_index(index)
        assert h == mth(n << level, (n + 1) << level), (index, level, n)


def test_append_reads_once_with_at_most_log_n_hashes() -> None:
    store = Store()
    for n, h in enumerate(LEAVES[:BIG]):
        store.reset()
        store.append(h)
        # Reads only when leaf n completes subtrees; then once, one hash per completed level.
        completed = ((n + 1) & -(n + 1)).bit_length() - 1
        assert len(store.calls) == (1 if completed else 0)
        assert sum(map(len, store.calls)) == completed <= n.bit_length()
    assert store.hashes == STORE.hashes


def test_stored_hashes_for_leaves_matches_one_by_one() -> None:
    for start, count in [(0, 0), (0, 1), (0, 70), (1, 1), (3, 5), (7, 9), (64, 1), (63, 2), (100, 200)]:
        store = _build(start)
        new = tlog.stored_hashes_for_leaves(start, LEAVES[start : start + count], store.read)
        expected = STORE.hashes[tlog.stored_hash_count(start) : tlog.stored_hash_count(start + count)]
        assert new == expected, (start, count)
        assert len(store.calls) <= 1
        if count == 0:
            assert store.calls == []
        # Only hashes stored before the batch are read, each once.
        for call in store.calls:
            assert all(i < tlog.stored_hash_count(start) for i in call)
            assert len(call) <= start.bit_length()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, BIG), st.integers(0, BIG))
def test_stored_hashes_for_leaves_any_split(start: int, count: int) -> None:
    count = min(count, BIG - start)
    store = _build(start)
    new = tlog.stored_hashes_for_leaves(start, LEAVES[start : start + count], store.read)
    assert store.hashes + new == STORE.hashes[: tlog.stored_hash_count(start + count)]


# --- Roots and proofs for every tree up to N leaves. ---


def test_tree_hash_all_sizes() -> None:
    for n in range(N + 1):
        STORE.reset()
        assert tlog.tree_hash(n, STORE.read) == mth(0, n)
        assert len(STORE.calls) == (1 if n else 0)
        if n:
            assert len(STORE.calls[0]) <= 1 + n.bit_length()  # Go: at most 1 + log2 n


def test_tree_hash_zero_is_empty_root() -> None:
    # RFC 9162 §2.1.1; Go's TreeHash returns the zero hash here.
    def no_reads(indexes: Sequence[int]) -> Sequence[bytes]:
        raise AssertionError("tree_hash(0) must not read")

    assert tlog.tree_hash(0, no_reads) == EMPTY_ROOT


def test_prove_record_all_pairs() -> None:
    for t in range(1, N + 1):
        root = mth(0, t)
        for n in range(t):
            STORE.reset()
            p = tlog.prove_record(t, n, STORE.read)
            assert p == ref_path(n, 0, t), (t, n)
            verify_inclusion(LEAVES[n], n, t, p, root)
            assert len(STORE.calls) == (1 if t > 1 else 0)
            assert sum(map(len, STORE.calls)) <= 2 * t.bit_length()


def test_prove_tree_all_pairs() -> None:
    for t in range(N + 1):
        root = mth(0, t)
        for n in range(t + 1):
            STORE.reset()
            p = tlog.prove_tree(t, n, STORE.read)
            if 0 < n < t:
                assert p == ref_subproof(n, 0, t, True), (t, n)
            else:
                assert p == []  # n = t, and the size-0 rule for n = 0
            verify_consistency(n, t, p, mth(0, n), root)
            assert len(STORE.calls) <= 1
            assert sum(map(len, STORE.calls)) <= 2 * t.bit_length()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_proofs_verify_and_break(data: st.DataObject) -> None:
    t = data.draw(st.integers(1, BIG))
    n = data.draw(st.integers(0, t - 1))
    p = tlog.prove_record(t, n, STORE.read)
    root = tlog.tree_hash(t, STORE.read)
    verify_inclusion(LEAVES[n], n, t, p, root)
    if p:
        k = data.draw(st.integers(0, len(p) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = list(p)
        bad[k] = bytes(b ^ (1 << (bit % 8)) if j == bit // 8 else b for j, b in enumerate(p[k]))
        with pytest.raises(ProofError):
            verify_inclusion(LEAVES[n], n, t, bad, root)

    m = data.draw(st.integers(1, t))
    c = tlog.prove_tree(t, m, STORE.read)
    old = tlog.tree_hash(m, STORE.read)
    verify_consistency(m, t, c, old, root)
    if c:
        k = data.draw(st.integers(0, len(c) - 1))
        bad = list(c)
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        with pytest.raises(ProofError):
            verify_consistency(m, t, bad, old, root)


# --- Read counts on large trees: a reader that fabricates hashes, counting what is asked. ---


class CountingReader:
    def __init__(self, size: int) -> None:
        self.limit = tlog.stored_hash_count(size)
        self.calls: list[list[int]] = []

    def __call__(self, indexes: Sequence[int]) -> list[bytes]:
        indexes = list(indexes)
        assert indexes == sorted(set(indexes))
        assert all(0 <= i < self.limit for i in indexes)
        self.calls.append(indexes)
        return [i.to_bytes(32, "big") for i in indexes]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2**48), st.data())
def test_reads_are_one_call_of_o_log_n(t: int, data: st.DataObject) -> None:
    bound = 2 * t.bit_length()
    n = data.draw(st.integers(0, t - 1))
    for op in (
        lambda r: tlog.tree_hash(t, r),
        lambda r: tlog.prove_record(t, n, r),
        lambda r: tlog.prove_tree(t, n + 1, r),
        lambda r: tlog.stored_hashes(n, bytes(32), r),
    ):
        reader = CountingReader(t)
        op(reader)
        assert len(reader.calls) <= 1
        assert sum(map(len, reader.calls)) <= bound


# --- The frontier: appending from memory. ---


def test_appending_to_the_frontier_matches_stored_hashes() -> None:
    """append_to_frontier stores what stored_hashes does and keeps what frontier() reads, for every n."""
    edge: tuple[bytes, ...] = ()
    for n in range(BIG):
        STORE.reset()
        assert tuple(tlog.frontier(n, STORE.read)) == edge
        assert len(STORE.calls) == (1 if n else 0)
        stored, edge = tlog.append_to_frontier(n, edge, LEAVES[n])
        first = tlog.stored_hash_index(0, n)
        assert stored == STORE.hashes[first : first + len(stored)]
        assert tlog.stored_hash_count(n + 1) == first + len(stored)
        # Folding the frontier from the right gives the root.
        root = edge[-1]
        for h in reversed(edge[:-1]):
            root = node_hash(h, root)
        assert root == mth(0, n + 1)


def test_frontier_of_the_wrong_size_is_store_corrupt() -> None:
    edge = tuple(tlog.frontier(5, STORE.read))  # 5 = 0b101: two subtrees
    with pytest.raises(StoreCorruptError):
        tlog.append_to_frontier(7, edge, LEAVES[7])
    with pytest.raises(StoreCorruptError):
        tlog.append_to_frontier(4, edge, LEAVES[4])
    with pytest.raises(ProofFormatError):
        tlog.append_to_frontier(5, edge, b"short")
    with pytest.raises(ValueError):
        tlog.append_to_frontier(-1, (), LEAVES[0])


# --- Errors. ---


def test_invalid_arguments() -> None:
    r = STORE.read
    calls: list[Callable[[], object]] = [
        lambda: tlog.prove_record(5, 5, r),
        lambda: tlog.prove_record(0, 0, r),
        lambda: tlog.prove_record(5, -1, r),
        lambda: tlog.prove_tree(3, 5, r),
        lambda: tlog.prove_tree(-1, 0, r),
        lambda: tlog.tree_hash(-1, r),
        lambda: tlog.stored_hash_index(-1, 0),
        lambda: tlog.stored_hash_index(0, -1),
        lambda: tlog.split_stored_hash_index(-1),
        lambda: tlog.stored_hash_count(-1),
        lambda: tlog.stored_hashes(-1, LEAVES[0], r),
        lambda: tlog.tree_hash(True, r),
    ]
    for bad in calls:
        with pytest.raises(ValueError):
            bad()


@pytest.mark.parametrize("leaf", [b"", b"\x00" * 31, b"\x00" * 33, "x" * 32])
def test_stored_hashes_rejects_bad_leaf_hash(leaf: Any) -> None:
    with pytest.raises(ProofFormatError):
        tlog.stored_hashes(0, leaf, STORE.read)
    with pytest.raises(ProofFormatError):
        tlog.stored_hashes_for_leaves(3, [LEAVES[3], leaf], _build(3).read)


@pytest.mark.parametrize(
    "answer",
    [
        lambda idx: [],  # too few
        lambda idx: [bytes(32)] * (len(idx) + 1),  # too many
        lambda idx: [b"short"] * len(idx),  # not a hash
        lambda idx: ["x" * 32] * len(idx),  # not bytes
    ],
    ids=["few", "many", "short", "str"],
)
def test_corrupt_reader_is_store_corrupt(answer: object) -> None:
    read = cast(tlog.HashReader, answer)  # a HashReader that breaks its contract
    ops: list[Callable[[], object]] = [
        lambda: tlog.tree_hash(7, read),
        lambda: tlog.prove_record(7, 2, read),
        lambda: tlog.prove_tree(7, 3, read),
        lambda: tlog.stored_hashes(7, LEAVES[7], read),
        lambda: tlog.stored_hashes_for_leaves(7, [LEAVES[7]], read),
        lambda: tlog.frontier(7, read),
    ]
    for op in ops:
        with pytest.raises(StoreCorruptError):
            op()


def test_single_leaf_proofs_read_nothing() -> None:
    STORE.reset()
    assert tlog.prove_record(1, 0, STORE.read) == []
    assert tlog.prove_tree(5, 5, STORE.read) == []
    assert tlog.prove_tree(5, 0, STORE.read) == []
    assert STORE.calls == []


@pytest.mark.parametrize("module", ["rfc6962", "proof", "tlog", "tlogproof"])
def test_pure_logic_imports(module: str) -> None:
    # No file, clock or network access: only these imports are allowed.
    allowed = {"__future__", "base64", "binascii", "collections.abc", "dataclasses", "hashlib", "re"}
    allowed |= {"custody.ledger.errors", "custody.ledger.rfc6962"}
    tree = ast.parse((Path(__file__).parents[2] / "ledger" / f"{module}.py").read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= allowed, imported - allowed
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not calls & {"open", "input", "print", "exec", "eval", "__import__"}
