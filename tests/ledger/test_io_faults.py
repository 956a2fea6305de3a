"""I/O faults and power loss under the ledger store, tested as SQLite tests itself (issue 20).

Every operation that writes the ledger -- an operator's note with an
attachment (``workflow.act``, what ``custody note`` runs), a plain
``Ledger.append``, a batch (``Store.append_many``), a signed checkpoint and
the agent's ``LedgerSink.emit`` -- runs on a copy of one ledger through
``tests.ledger.faultvfs``, which fails its n-th ``xWrite``, ``xSync``,
``xLock``, ``xTruncate`` or ``xFileControl`` call, for every n until the
operation runs without reaching the fault, once and persistently.  After
each trial, and in the state a process killed right after the error would
leave, and in the state a power loss right after the trial would leave, the
ledger reopened through SQLite's plain VFS must show:

(a) the operation raised a custody ``StoreError`` of the right kind (full,
    busy, I/O) with a clear message -- never a raw apsw exception;
(b) SQLite's ``integrity_check``, the hash chain, every Merkle root against
    RFC 6962 and every stored checkpoint against its root and the log key;
(c) every entry acknowledged before the fault;
(d) the entries being appended all present or all absent (the checkpoint
    present or absent), never absent when acknowledged, and never present
    when the error said that nothing was written; the derived-state cache
    agreeing with the entries; and the ledger taking the next entry.

Power loss: one run of each operation records, at every sync point, the
states a power failure there could leave (unsynced writes lost, the last one
torn, unsynced sectors written in any order); each is checked the same way.
The CLI gets one real subprocess per kind of fault (tests/ledger/fault_cli.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apsw
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.agents.ledger_sink import LedgerSink
from custody.ledger import workflow
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.entry import Entry, parse_entry, sign_entry, verify_entry_signature
from custody.ledger.errors import CustodyError, StoreBusyError, StoreError, StoreFullError
from custody.ledger.keyfile import write_key_file
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer, open_note
from custody.ledger.rfc6962 import leaf_hash, root_from_leaf_hashes
from custody.ledger.store import Head
from tests.helpers import TEST_KDF_N, Parties, StepClock, new_ledger
from tests.ledger.faultvfs import CrashImage, Fault, FaultVFS, copy_ledger, fault_vfs

ROOT = Path(__file__).resolve().parents[2]
AGENT_NAME = "agent-ws01"
ATTACHMENT = b"seal of cabinet A, photographed\n" * 64  # more than a page: an overflow chain in the same commit
OPERATOR_PASS = "operator pass"

# The faults each I/O call can really return (SQLite's unix VFS): a write fails or finds the disk full, a sync
# fails, a lock is held by another process or fails, a truncation fails; a file control fails (SQLite ignores
# most of them: the trial then shows that nothing else goes wrong).
FAULTS: dict[str, tuple[int, ...]] = {
    "xWrite": (apsw.SQLITE_IOERR_WRITE, apsw.SQLITE_FULL),
    "xSync": (apsw.SQLITE_IOERR_FSYNC,),
    "xLock": (apsw.SQLITE_BUSY, apsw.SQLITE_IOERR_LOCK),
    "xTruncate": (apsw.SQLITE_IOERR_TRUNCATE,),
    "xFileControl": (apsw.SQLITE_IOERR,),
}


def later_clock() -> StepClock:
    """The operations' clock: after every entry of the world (I9: a ledger's time never runs backwards)."""
    return StepClock(datetime(2026, 5, 1, 9, 0, tzinfo=UTC).astimezone())


def checking_clock() -> StepClock:
    """The checks' clock: after every entry an operation made."""
    return StepClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC).astimezone())


# --- the ledger every trial starts from --------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    root: Path  # a closed ledger: genesis, checkpoint, the agent registered, notes after the last checkpoint
    parties: Parties
    log: Signer
    agent: Signer
    leaves: tuple[bytes, ...]  # acknowledged before any trial
    checkpoint_sizes: tuple[int, ...]
    key_file: Path  # the responsible person's key (CLI)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    tmp = tmp_path_factory.mktemp("faults")
    ledger, parties, log = new_ledger(tmp)
    agent = Signer(AGENT_NAME, Ed25519PrivateKey.generate())
    workflow.act(ledger, "personnel.registered", {
        "vkey": agent.verifier().vkey, "name": "作業PCエージェント", "organisation": "株式会社サンプル",
        "tier": "vendor", "role": "agent", "host": "ws-01",
    }, parties.responsible)
    for i in range(2):
        ledger.append("note.recorded", {"text": f"before the trials {i}"}, parties.responsible)
    leaves = tuple(leaf for _s, leaf in ledger.store.leaves())
    sizes = tuple(size for size, _note in ledger.store.checkpoints())
    assert sizes and sizes[-1] < len(leaves)  # a checkpoint operation has something to sign
    ledger.close()
    key_file = tmp / "resp.key"
    write_key_file(key_file, parties.responsible.name, parties.responsible._key, OPERATOR_PASS.encode(), n=TEST_KDF_N)
    return World(tmp / "ledger", parties, log, agent, leaves, sizes, key_file)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """Where the trials' copies of the ledger live: a memory file system (/dev/shm) where there is one.

    A trial costs some fifteen fsyncs, real ones (SQLite's unix VFS, synchronous=FULL); on a memory file
    system they cost nothing, and what a power loss leaves is what FaultVFS records, not what the disk did.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="custody-faults-") as directory:
        yield Path(directory)


# --- the operations ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One writing operation as a command or the agent runs it: open, write, close.

    ``entries``: how many entries it appends (0: it signs a checkpoint);
    ``bodies``: what they hold, to recognise them; ``act`` does the writing.
    """

    name: str
    entries: int
    act: Callable[[Ledger, World], None]
    bodies: tuple[tuple[str, dict[str, Any]], ...] = ()
    agent: bool = False

    def run(self, root: Path, world: World, vfs: FaultVFS, killed: list[CrashImage]) -> None:
        acked = len(world.leaves) + self.entries
        if self.agent:
            sink = LedgerSink(root, world.agent, clock=later_clock(), busy_patience=0.0, busy_pause=0.0,
                              say=lambda _line: None)
            try:
                with _killed_on_error(root, vfs, killed):
                    type_, body = self.bodies[0]
                    sink.emit(type_, body)
                vfs.acked = acked
            finally:
                sink.close(final_checkpoint=False)
            return
        with Ledger.open(root, clock=later_clock()) as ledger:
            with _killed_on_error(root, vfs, killed):
                self.act(ledger, world)
            vfs.acked = acked


def _note(ledger: Ledger, world: World) -> None:
    body = dict(NOTE_BODY)
    workflow.act(ledger, "note.recorded", body, world.parties.responsible, attachments=[ATTACHMENT])


def _append(ledger: Ledger, world: World) -> None:
    ledger.append("note.recorded", dict(APPEND_BODY), world.parties.responsible)


def _batch(ledger: Ledger, world: World) -> None:
    def maker(body: dict[str, Any]) -> Callable[[Head], Entry]:
        def make(head: Head) -> Entry:
            return sign_entry(origin=ledger.origin, seq=head.size, prev=head.last_leaf_hash, type="note.recorded",
                              at=ledger.now_after(head), body=body, signer=world.parties.responsible)
        return make

    ledger.store.append_many([maker(dict(body)) for _type, body in BATCH_BODIES])


def _checkpoint(ledger: Ledger, world: World) -> None:
    info = ledger.checkpoint(world.log)
    assert info.created


NOTE_BODY = {"text": "cabinet A sealed", "attachments": [workflow.attachment_ref(ATTACHMENT, "seal.jpg")]}
APPEND_BODY = {"text": "a plain append"}
BATCH_BODIES = tuple(("note.recorded", {"text": f"batch entry {i}"}) for i in range(3))
HEARTBEAT = {"observed_at": "2026-05-01T09:00:00.000+09:00", "sequence": 1, "interval_ms": 60000,
             "uptime_seconds": 1, "volumes": [], "undelivered": 0}

OPS = {
    op.name: op
    for op in (
        Op("note", 1, _note, (("note.recorded", NOTE_BODY),)),
        Op("append", 1, _append, (("note.recorded", APPEND_BODY),)),
        Op("batch", 3, _batch, BATCH_BODIES),
        Op("checkpoint", 0, _checkpoint),
        Op("agent", 1, _append, (("agent.heartbeat", HEARTBEAT),), agent=True),
    )
}


class _killed_on_error:  # noqa: N801 - used as a context manager
    """On a custody error: the files as a process killed at that moment would leave them (before closing)."""

    def __init__(self, root: Path, vfs: FaultVFS, killed: list[CrashImage]) -> None:
        self.root, self.vfs, self.killed = root, vfs, killed

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        if isinstance(exc, CustodyError):
            files: dict[str, bytes | None] = {}
            for name in ("ledger.db", "ledger.db-wal"):
                path = self.root / name
                files[name] = path.read_bytes() if path.exists() else None
            self.killed.append(CrashImage("process killed after the error", files, self.vfs.acked))


# --- what must hold after every fault ----------------------------------------------------------------------


@dataclass
class Seen:
    """What the checks found in one state of the files."""

    label: str
    present: bool  # the operation's entries (or checkpoint) are in the ledger


def check_state(directory: Path, world: World, op: Op, *, acked: bool, nothing_written: bool, label: str) -> Seen:
    """(b), (c), (d) on the ledger in ``directory``, opened through SQLite's own VFS."""
    base = len(world.leaves)
    with Ledger.open(directory, clock=checking_clock()) as ledger:
        store = ledger.store
        assert store.integrity_check() == [], label
        leaves = [leaf for _s, leaf in store.leaves()]
        # (c) every acknowledged entry, unchanged
        assert tuple(leaves[:base]) == world.leaves, label
        # (d) all or nothing
        assert len(leaves) in (base, base + op.entries), f"{label}: {len(leaves) - base} of {op.entries} entries"
        if op.entries:
            present = len(leaves) == base + op.entries
            for leaf, (type_, body) in zip(leaves[base:], op.bodies, strict=False):
                entry = parse_entry(leaf)
                signer = world.agent if op.agent else world.parties.responsible
                assert (entry.type, entry.body, entry.actor) == (type_, body, signer.name), label
                verify_entry_signature(entry, signer.verifier())
            if present and op is OPS["note"]:
                assert store.attachment(NOTE_BODY["attachments"][0]["attachment"]) == ATTACHMENT, label
        else:
            sizes = tuple(size for size, _note in store.checkpoints())
            assert sizes in (world.checkpoint_sizes, (*world.checkpoint_sizes, base)), label
            present = len(sizes) > len(world.checkpoint_sizes)
        if acked:
            assert present, f"{label}: acknowledged but lost"
        if nothing_written:
            assert not present, f"{label}: the error said nothing was written, yet it was"
        # (b) chain, tree, checkpoints
        _check_chain_and_tree(ledger, leaves, world, label)
        # the derived-state cache agrees with the entries
        cached = workflow.projection(ledger, save=False).state.to_json()
        assert cached == workflow.rebuild_cache(ledger).state.to_json(), label
        # and the ledger takes the next entry
        ledger.append("note.recorded", {"text": "after the fault"}, world.parties.responsible)
        leaves.append(store.leaf(len(leaves)))
        _check_chain_and_tree(ledger, leaves, world, label)
    return Seen(label, present)


def _check_chain_and_tree(ledger: Ledger, leaves: list[bytes], world: World, label: str) -> None:
    store = ledger.store
    prev = bytes(32)
    for seq, leaf in enumerate(leaves):
        entry = parse_entry(leaf)
        assert (entry.seq, entry.prev) == (seq, prev), f"{label}: chain broken at {seq}"
        prev = leaf_hash(leaf)
    hashes = [leaf_hash(leaf) for leaf in leaves]
    assert store.size == len(leaves)
    for n in range(1, len(leaves) + 1):
        assert store.root(n) == root_from_leaf_hashes(hashes[:n]), f"{label}: tree hash of size {n}"
    for size, note in store.checkpoints():
        opened, _verified = open_note(note, [world.log.verifier()])
        checkpoint = Checkpoint.parse(opened.text)
        assert (checkpoint.size, checkpoint.root_hash) == (size, root_from_leaf_hashes(hashes[:size])), label


def check_error(error: CustodyError, fault: Fault, label: str) -> None:
    """(a): a store error of the fault's kind, with a message a person can act on."""
    assert isinstance(error, StoreError), f"{label}: {type(error).__name__}: {error.message}"
    assert error.exit_code == 4, label
    message = error.diagnostic()
    assert message.strip() and "()" not in message, f"{label}: {message!r}"
    if fault.code == apsw.SQLITE_FULL:
        assert isinstance(error, StoreFullError) and "full" in error.message, f"{label}: {message}"
    elif fault.code == apsw.SQLITE_BUSY:
        assert isinstance(error, StoreBusyError) and "locked" in error.message, f"{label}: {message}"
    else:
        assert not isinstance(error, StoreFullError | StoreBusyError), f"{label}: {message}"
        assert "I/O error" in error.message, f"{label}: {message}"


# --- one trial -----------------------------------------------------------------------------------------------


@dataclass
class Trial:
    fired: bool
    error: CustodyError | None
    seen: list[Seen] = field(default_factory=list)


def run_trial(world: World, op: Op, fault: Fault | None, where: Path) -> Trial:
    label = f"{op.name}: {fault.describe() if fault else 'no fault'}"
    root = copy_ledger(world.root, where / "live")
    killed: list[CrashImage] = []
    error: CustodyError | None = None
    with fault_vfs(record=True) as vfs:
        vfs.acked = len(world.leaves)
        vfs.arm(fault)
        try:
            op.run(root, world, vfs, killed)
        except CustodyError as exc:
            error = exc
        except Exception as exc:  # a raw apsw error: the CLI would call it a bug (exit 1)
            raise AssertionError(f"{label}: {type(exc).__module__}.{type(exc).__name__} escaped: {exc}") from exc
        fired = bool(vfs.fired)
        acked = vfs.acked > len(world.leaves)
        images = [*killed, vfs.crash_now("power lost after the operation")]
    if error is not None:
        assert fired, f"{label}: failed without a fault: {error.diagnostic()}"
        assert fault is not None
        check_error(error, fault, label)
    nothing = error is not None and "nothing was written" in error.message
    trial = Trial(fired, error)
    trial.seen.append(check_state(root, world, op, acked=acked, nothing_written=nothing, label=f"{label}, live"))
    for i, image in enumerate(images):
        directory = copy_ledger(world.root, where / f"image-{i}")
        image.write_to(directory)
        trial.seen.append(check_state(directory, world, op, acked=image.acked > len(world.leaves),
                                      nothing_written=nothing, label=f"{label}, {image.label}"))
    return trial


def faults_for(method: str) -> Iterator[tuple[int, bool]]:
    for code in FAULTS[method]:
        for persistent in (False, True):
            yield code, persistent


# --- the tests -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op_name", list(OPS))
@pytest.mark.parametrize("method", list(FAULTS))
def test_every_io_call_of_an_operation_can_fail(world: World, op_name: str, method: str, scratch: Path) -> None:
    """Fail the n-th call of ``method`` for every n until the operation no longer reaches it."""
    op = OPS[op_name]
    trials = 0
    for code, persistent in faults_for(method):
        n = 0
        while True:
            n += 1
            fault = Fault(method, n, code, persistent)
            where = scratch / f"{code}-{persistent}-{n}"
            trial = run_trial(world, op, fault, where)
            shutil.rmtree(where)
            trials += 1
            if not trial.fired:
                assert trial.error is None
                break
            assert n < 200, f"{op_name}: {method} never stops being called"
    assert trials > len(FAULTS[method]) * 2  # every kind of fault fired at least once


@pytest.mark.parametrize("op_name", list(OPS))
def test_power_loss_at_every_sync_point(world: World, op_name: str, scratch: Path) -> None:
    """Cut the power at every sync of an operation (and after it): never corrupt, never lose what was acknowledged."""
    op = OPS[op_name]
    root = copy_ledger(world.root, scratch / "live")
    with fault_vfs(record=True) as vfs:
        vfs.acked = len(world.leaves)
        op.run(root, world, vfs, [])
        images = [*vfs.images, vfs.crash_now("power lost right after the operation")]
        syncs = vfs.syncs
    assert syncs >= 2 and len(images) > syncs  # the commit's sync and the checkpoint's at least
    seen = []
    for i, image in enumerate(images):
        directory = copy_ledger(world.root, scratch / f"image-{i}")
        image.write_to(directory)
        seen.append(check_state(directory, world, op, acked=image.acked > len(world.leaves), nothing_written=False,
                                label=f"{op_name}: {image.label}"))
    # The images cover both outcomes: before the commit's sync the operation is lost, after it never.
    assert not seen[0].present and seen[-1].present
