"""The store's in-memory tip (head and tree frontier) between appends.

A lone writer appends without reading the head or older tree hashes; a
commit by any other connection (another process, or another Store on the
same file) makes the next append read them again.  Whatever the interleaving,
the result is one chain whose roots and proofs match the reference.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from custody.ledger.entry import Entry, sign_entry
from custody.ledger.errors import StoreError
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer
from custody.ledger.store import Head, Store
from tests.helpers import check_chain, new_ledger


class Reads:
    """Counts the appends that had to read the tip from the database."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = Store._read_tip

        def counting(store: Store) -> Any:
            self.count += 1
            return original(store)

        monkeypatch.setattr(Store, "_read_tip", counting)


def _maker(origin: str, signer: Signer, text: str) -> Any:
    def make(head: Head) -> Entry:
        return sign_entry(
            origin=origin, seq=head.size, prev=head.last_leaf_hash, type="note.recorded",
            at="2026-04-01T10:00:00.000+09:00", body={"text": text}, signer=signer,
        )

    return make


def test_a_lone_writer_reads_the_tip_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    clock = ledger.clock
    ledger.close()
    reads = Reads(monkeypatch)
    with Ledger.open(tmp_path / "ledger", clock=clock) as ledger:
        for i in range(40):
            ledger.append("note.recorded", {"text": f"n{i}"}, parties.responsible)
        assert reads.count == 1  # the first append after opening
        check_chain(ledger.store)


def test_two_connections_alternating_make_one_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, parties, _log = new_ledger(tmp_path)
    second = Ledger.open(tmp_path / "ledger", clock=first.clock)  # one clock: never backwards
    reads = Reads(monkeypatch)
    signer = parties.responsible
    try:
        for i in range(37):  # past several powers of two, so that frontiers merge on both sides
            first.append("note.recorded", {"text": f"a{i}"}, signer)
            second.append("note.recorded", {"text": f"b{i}"}, signer)
        # Each append followed the other connection's commit: every one read again.
        assert reads.count == 2 * 37
        check_chain(first.store)
        check_chain(second.store)
        texts = [e.body["text"] for e in first.store.entries(1)]
        assert texts == [t for i in range(37) for t in (f"a{i}", f"b{i}")]
    finally:
        first.close()
        second.close()


def test_random_interleaving_with_batches(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    stores = [ledger.store, Store.open(ledger.paths.store), Store.open(ledger.paths.store)]
    rng = random.Random(6962)
    try:
        for step in range(60):
            store = rng.choice(stores)
            k = rng.choice([1, 1, 1, 2, 3, 7])
            store.append_many([_maker(ledger.origin, parties.responsible, f"s{step}-{j}") for j in range(k)])
        for store in stores:
            check_chain(store)
    finally:
        for store in stores[1:]:
            store.close()
        ledger.close()


def test_a_commit_by_another_connection_invalidates_the_tip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    signer = parties.responsible
    ledger.append("note.recorded", {"text": "warm"}, signer)
    reads = Reads(monkeypatch)
    ledger.append("note.recorded", {"text": "cached"}, signer)
    assert reads.count == 0
    # Not an append: any commit by another connection counts.
    with Store.open(ledger.paths.store) as other:
        other.put_attachment(b"from another connection")
    ledger.append("note.recorded", {"text": "after the other commit"}, signer)
    assert reads.count == 1
    ledger.append("note.recorded", {"text": "cached again"}, signer)
    assert reads.count == 1
    check_chain(ledger.store)
    ledger.close()


def test_a_stale_tip_cannot_fork_the_chain(tmp_path: Path) -> None:
    """Were the staleness check ever fooled, the INSERT would collide with the other writer's seq."""
    ledger, parties, _log = new_ledger(tmp_path)
    signer = parties.responsible
    ledger.append("note.recorded", {"text": "one"}, signer)
    tip = ledger.store._tip
    assert tip is not None
    with Store.open(ledger.paths.store) as other:
        other.append(_maker(ledger.origin, signer, "by the other"))
    # Fool the check: give the old tip the version the next transaction will see.
    db = ledger.store._db
    db.execute("BEGIN IMMEDIATE")
    version = db.data_version()
    db.execute("ROLLBACK")
    ledger.store._tip = tip._replace(version=version)
    size = ledger.store.size
    with pytest.raises(StoreError):
        ledger.append("note.recorded", {"text": "would fork"}, signer)
    assert ledger.store.size == size  # nothing written
    ledger.append("note.recorded", {"text": "after"}, signer)  # the failure dropped the tip
    check_chain(ledger.store)
    ledger.close()


def test_failed_appends_leave_no_tip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    signer = parties.responsible
    ledger.append("note.recorded", {"text": "warm"}, signer)

    def refuse(_store: Store, _seq: int) -> None:
        raise StoreError("refused")

    def fail_after(_entries: list[Entry]) -> None:
        raise RuntimeError("after hook failed")

    reads = Reads(monkeypatch)
    with pytest.raises(StoreError):
        ledger.append("note.recorded", {"text": "x"}, signer, precheck=refuse)
    assert ledger.store._tip is None
    with pytest.raises(RuntimeError):
        ledger.append("note.recorded", {"text": "y"}, signer, after=fail_after)
    assert ledger.store._tip is None and reads.count == 1
    ledger.append("note.recorded", {"text": "z"}, signer)
    assert reads.count == 2
    assert [e.body["text"] for e in ledger.store.entries(1)] == ["warm", "z"]
    check_chain(ledger.store)
    ledger.close()


def test_empty_batch_keeps_the_chain(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    assert ledger.store.append_many([]) == []
    ledger.append("note.recorded", {"text": "x"}, parties.responsible)
    check_chain(ledger.store)
    ledger.close()
