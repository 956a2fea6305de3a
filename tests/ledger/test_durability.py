"""Crash safety and concurrent appends, with real processes on a real SQLite file.

Crash: a writer process is killed with SIGKILL at random points; every append
it acknowledged (reported through a pipe after ``append`` returned) must be
in the ledger, which must still open and verify.  Concurrency: 4 processes x
500 appends give 2,000 entries in one chain.
"""

from __future__ import annotations

import os
import random
import select
import signal
import time
from pathlib import Path

import pytest

from custody.ledger.entry import parse_entry, verify_entry_signature
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer
from custody.ledger.rfc6962 import leaf_hash, root_from_leaf_hashes
from tests.helpers import new_ledger

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX) to kill writers mid-append")


def _writer(root: Path, signer: Signer, tag: str, count: int, ack_fd: int | None) -> None:
    """Child process body: append ``count`` notes, acknowledging each after commit."""
    code = 0
    try:
        with Ledger.open(root) as ledger:
            for i in range(count):
                entry = ledger.append("note.recorded", {"text": f"{tag}-{i}"}, signer)
                if ack_fd is not None:
                    os.write(ack_fd, f"{entry.seq}\n".encode())
    except BaseException:  # the child must never return into pytest
        code = 1
    finally:
        os._exit(code)


def _check_ledger(root: Path, signer: Signer) -> int:
    with Ledger.open(root) as ledger:
        leaves = [leaf for _s, leaf in ledger.store.leaves()]
        prev = bytes(32)
        for seq, leaf in enumerate(leaves):
            entry = parse_entry(leaf)
            assert entry.seq == seq
            assert entry.prev == prev
            if seq > 0:
                verify_entry_signature(entry, signer.verifier())
            prev = leaf_hash(leaf)
        assert ledger.store.root() == root_from_leaf_hashes([leaf_hash(x) for x in leaves])
        assert ledger.store.integrity_check() == []
        return len(leaves)


def test_sigkill_never_loses_an_acknowledged_append(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    root = ledger.paths.root
    ledger.close()
    signer = parties.responsible
    rng = random.Random(6962)
    trials = int(os.environ.get("CUSTODY_CRASH_TRIALS", "200"))
    for trial in range(trials):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _writer(root, signer, f"t{trial}", 1000, write_fd)
        os.close(write_fd)
        acked = b""
        # Every tenth kill lands after the writer's first acknowledged append, however slow the machine
        # (a busy one may acknowledge nothing within the 0-30 ms of the others): there is always something
        # acknowledged to look for, and the ledger has grown by the end.
        waited = trial % 10 == 0
        if waited:
            ready, _, _ = select.select([read_fd], [], [], 60)
            acked = os.read(read_fd, 65536) if ready else b""
        time.sleep(rng.uniform(0.0, 0.03))  # the kill lands at a random point: part of the scenario
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert acked or not waited, f"trial {trial}: the writer acknowledged no append within 60 s"
        while chunk := os.read(read_fd, 65536):
            acked += chunk
        os.close(read_fd)
        seqs = [int(x) for x in acked.split()]
        with Ledger.open(root) as reopened:
            size = reopened.store.size
            for seq in seqs:
                assert seq < size, f"trial {trial}: acknowledged entry {seq} lost (size {size})"
                assert parse_entry(reopened.store.leaf(seq)).body["text"].startswith(f"t{trial}-")
    assert _check_ledger(root, signer) > 1


def test_four_processes_append_one_chain(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    root = ledger.paths.root
    start = ledger.store.size
    ledger.close()
    pids = []
    for p in range(4):
        pid = os.fork()
        if pid == 0:
            _writer(root, parties.responsible, f"p{p}", 500, None)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert _check_ledger(root, parties.responsible) == start + 2000
    with Ledger.open(root) as reopened:
        texts = [parse_entry(leaf).body.get("text") for _s, leaf in reopened.store.leaves(start)]
    for p in range(4):
        mine = [t for t in texts if isinstance(t, str) and t.startswith(f"p{p}-")]
        assert mine == [f"p{p}-{i}" for i in range(500)]  # each writer's order preserved
