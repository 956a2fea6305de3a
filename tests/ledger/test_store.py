"""The apsw store: appends, tree hashes, proofs, immutability, bad files, full disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import apsw
import pytest

from custody.ledger.entry import sign_entry
from custody.ledger.errors import CustodyError, StoreCorruptError, StoreError, StoreFullError
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer
from custody.ledger.proof import verify_consistency, verify_inclusion
from custody.ledger.rfc6962 import leaf_hash, root_from_leaf_hashes
from custody.ledger.store import Store, _translate
from tests.conftest import SmallDisk
from tests.helpers import check_chain, new_ledger


def _notes(ledger: Ledger, signer: Signer, n: int) -> None:
    for i in range(n):
        ledger.append("note.recorded", {"text": f"n{i}"}, signer)


def test_append_builds_a_chain_and_the_tree(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    _notes(ledger, parties.responsible, 20)
    assert ledger.store.size == 21
    check_chain(ledger.store)


def test_proofs_verify(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    _notes(ledger, parties.responsible, 12)
    store = ledger.store
    size = store.size
    root = store.root()
    for i in range(size):
        verify_inclusion(leaf_hash(store.leaf(i)), i, size, store.inclusion_proof(i, size), root)
    for old in range(1, size):
        verify_consistency(old, size, store.consistency_proof(old, size), store.root(old), root)


def test_entries_tree_and_attachments_refuse_update_and_delete(tmp_path: Path) -> None:
    ledger, _p, _log = new_ledger(tmp_path)
    ledger.store.put_attachment(b"x")
    db = apsw.Connection(str(ledger.paths.store))
    for sql in (
        "UPDATE entries SET type='x'",
        "DELETE FROM entries",
        "UPDATE entries SET tree=x''",
        "DELETE FROM entries WHERE seq=0",
        "UPDATE attachments SET data=x''",
        "DELETE FROM attachments",
    ):
        with pytest.raises(apsw.ConstraintError):
            db.execute(sql)
    db.close()


def test_refused_precheck_writes_nothing(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    before = ledger.store.size

    def refuse(_store: Store, _seq: int) -> None:
        raise StoreError("no")

    with pytest.raises(StoreError):
        ledger.append("note.recorded", {"text": "x"}, parties.responsible, precheck=refuse)
    assert ledger.store.size == before


def test_foreign_and_corrupt_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreCorruptError):
        Store.open(garbage)
    foreign = tmp_path / "foreign.db"
    con = apsw.Connection(str(foreign))
    con.execute("CREATE TABLE t(x)")
    con.close()
    with pytest.raises(StoreCorruptError):
        Store.open(foreign)
    with pytest.raises(StoreError):
        Store.open(tmp_path / "missing.db")


def test_truncated_file_is_reported_not_a_traceback(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    _notes(ledger, parties.responsible, 200)
    path = ledger.paths.store
    ledger.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    for wal in path.parent.glob("ledger.db-*"):
        wal.unlink()
    with pytest.raises(StoreError):
        store = Store.open(path)
        list(store.leaves())
        assert store.integrity_check() == []


def test_disk_full_writes_nothing_and_ledger_still_verifies(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    _notes(ledger, parties.responsible, 5)
    size = ledger.store.size
    root = ledger.store.root()
    row = ledger.store._db.execute("PRAGMA page_count").fetchone()
    assert row is not None
    pages = row[0]
    ledger.store.set_page_limit(pages)
    big = {"text": "x" * 20000}
    with pytest.raises(StoreFullError) as info:
        for _ in range(50):
            ledger.append("note.recorded", big, parties.responsible)
    assert "full" in info.value.message
    ledger.close()
    reopened = Ledger.open(tmp_path / "ledger")
    assert reopened.store.size >= size
    got = [leaf for _s, leaf in reopened.store.leaves()]
    assert root_from_leaf_hashes([leaf_hash(x) for x in got]) == reopened.store.root()
    assert reopened.store.root(size) == root
    assert reopened.store.integrity_check() == []


def test_create_on_a_full_disk_leaves_nothing_and_can_be_repeated(small_disk: SmallDisk) -> None:
    """A real full disk at every stage of creating a ledger (key, vkey, database, WAL index, genesis,
    checkpoint): a clear error, nothing left behind, and the same call works once there is room."""
    failures = 0
    for free in range(0, 100 << 10, 4 << 10):
        small_disk.leave(free)
        failed: CustodyError | None = None
        try:
            ledger, _parties, _log = new_ledger(small_disk.root)
        except CustodyError as exc:
            failed = exc
        if failed is not None:
            failures += 1
            assert failed.exit_code in (2, 4, 5), failed
            assert "full" in failed.message or "No space left" in failed.message, failed.message
            assert small_disk.contents() == [], free
            small_disk.free()
            ledger, _parties, _log = new_ledger(small_disk.root)
        assert ledger.store.size == 1 and ledger.latest_checkpoint() is not None
        assert ledger.store.integrity_check() == []
        ledger.close()
        shutil.rmtree(small_disk.root / "ledger")
    assert failures >= 5  # the sizes above cover the stages that can fail, not only the last


def test_appends_on_a_full_disk_lose_nothing_acknowledged(small_disk: SmallDisk) -> None:
    ledger, parties, _log = new_ledger(small_disk.root)
    small_disk.leave(40 << 10)
    acknowledged = [leaf for _s, leaf in ledger.store.leaves()]
    with pytest.raises(StoreFullError, match="full"):
        for i in range(1000):
            entry = ledger.append("note.recorded", {"text": f"remark {i} " + "x" * 500}, parties.responsible)
            acknowledged.append(entry.leaf)
    assert len(acknowledged) > 2
    small_disk.free()
    ledger.append("note.recorded", {"text": "after the disk was freed"}, parties.responsible)
    ledger.close()
    reopened = Ledger.open(small_disk.root / "ledger")
    leaves = [leaf for _s, leaf in reopened.store.leaves()]
    assert leaves[: len(acknowledged)] == acknowledged and len(leaves) == len(acknowledged) + 1
    assert reopened.store.integrity_check() == []
    check_chain(reopened.store)


def test_the_first_sqlite_error_is_the_one_reported() -> None:
    """A rollback that fails after a full disk ("no transaction is active") must not hide the full disk."""
    with pytest.raises(apsw.SQLError) as caught:
        try:
            raise apsw.FullError("database or disk is full")
        except apsw.Error:
            # "from None" hides the context from tracebacks but keeps it: what a failed rollback
            # inside "with connection:" leaves is the same chain.
            raise apsw.SQLError("cannot rollback - no transaction is active") from None
    assert isinstance(_translate(caught.value), StoreFullError)
    assert type(_translate(apsw.SQLError("no such table: x"))) is StoreError


def test_batched_append_is_one_transaction(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    signer = parties.responsible

    def maker(i: int):  # type: ignore[no-untyped-def]
        def make(head):  # type: ignore[no-untyped-def]
            seq, prev = head.size, head.last_leaf_hash
            if i == 3:
                raise StoreError("stop")
            return sign_entry(
                origin=ledger.origin, seq=seq, prev=prev, type="note.recorded",
                at="2026-04-01T10:00:00.000+09:00", body={"i": i}, signer=signer,
            )
        return make

    with pytest.raises(StoreError):
        ledger.store.append_many([maker(i) for i in range(5)])
    assert ledger.store.size == 1
    ledger.store.append_many([maker(i) for i in (0, 1, 2)])
    assert ledger.store.size == 4
    assert ledger.store.root() == root_from_leaf_hashes([leaf_hash(x) for _s, x in ledger.store.leaves()])


def test_clock_running_backwards_is_refused(tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.helpers import StepClock

    clock = StepClock()
    ledger, parties, _log = new_ledger(tmp_path, clock=clock)
    clock.now -= timedelta(hours=1)
    with pytest.raises(StoreError) as info:
        ledger.append("note.recorded", {"text": "x"}, parties.responsible)
    assert "clock" in info.value.message


def test_checkpoints_and_automatic_policy(tmp_path: Path) -> None:
    ledger, parties, log = new_ledger(tmp_path)
    assert [s for s, _n in ledger.store.checkpoints()] == [1]  # init signs the genesis checkpoint
    for i in range(ledger.config.checkpoint_every_entries):
        ledger.append("note.recorded", {"i": i}, parties.responsible, log_signer=log)
    sizes = [s for s, _n in ledger.store.checkpoints()]
    assert sizes == [1, 1 + ledger.config.checkpoint_every_entries]
    info = ledger.checkpoint(log)
    assert not info.created  # nothing new since the automatic one


def test_attachments_are_content_addressed(tmp_path: Path) -> None:
    ledger, _p, _log = new_ledger(tmp_path)
    digest = ledger.store.put_attachment(b"photo bytes")
    assert digest == __import__("hashlib").sha256(b"photo bytes").hexdigest()
    assert ledger.store.put_attachment(b"photo bytes") == digest
    assert ledger.store.attachment(digest) == b"photo bytes"
    assert ledger.store.attachment("0" * 64) is None
