"""I/O faults and power loss under the ledger store, tested as SQLite tests itself (issue 20).

Every operation that writes the ledger -- an operator's note with an
attachment (``workflow.act``, what ``custody note`` runs), the same with its
automatic checkpoint, a plain ``Ledger.append``, a batch
(``Store.append_many``), a signed checkpoint and the agent's
``LedgerSink.emit`` -- runs on a copy of one ledger through
``tests.ledger.faultvfs``, which fails its n-th ``xRead``, ``xWrite``,
``xSync``, ``xLock``, ``xTruncate`` or ``xFileControl`` call, for every n until the
operation completes without reaching the fault, once and persistently.  After
each trial -- as the operation left the files, as a process killed right after
the error would leave them, and as a power loss right after the trial would
leave them -- the ledger, reopened through SQLite's plain VFS, must show:

(a) the operation raised a custody ``StoreError`` of the fault's kind (full,
    busy, I/O) with a clear message, never a raw apsw exception;
(b) SQLite's ``integrity_check``, the hash chain, every Merkle root against
    RFC 6962 and every stored checkpoint against its root and the log key;
(c) every entry acknowledged before the fault;
(d) the entries being appended all present or all absent (a checkpoint
    present or absent), present whenever acknowledged, and absent whenever the
    error said that nothing was written; the derived-state cache agreeing with
    the entries; and the ledger taking the next entry.

Power loss: one run of each operation records, at every sync point, the
states a power failure there could leave (unsynced writes lost, the last one
torn after a prefix, unsynced sectors written in any order); each is checked
the same way.  The CLI gets one real subprocess per kind of fault
(``tests/ledger/fault_cli.py``), and each bug these trials found has a test
of its own at the end.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
from custody.ledger.errors import (
    CheckpointPendingError,
    CustodyError,
    StoreBusyError,
    StoreError,
    StoreFullError,
)
from custody.ledger.keyfile import write_key_file
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer, open_note
from custody.ledger.rfc6962 import leaf_hash, root_from_leaf_hashes
from custody.ledger.store import BUSY_TIMEOUT_MS, Head, _Committing, _translate
from tests.helpers import LOG_PASSPHRASE, TEST_KDF_N, Parties, StepClock, new_ledger
from tests.ledger.faultvfs import CrashImage, Fault, FaultVFS, copy_ledger, fault_vfs

ROOT = Path(__file__).resolve().parents[2]
AGENT_NAME = "agent-ws01"
ATTACHMENT = b"seal of cabinet A, photographed\n" * 160  # larger than a page: an overflow chain in the same commit
OPERATOR_PASS = "operator pass"

# The faults each call can really return under SQLite's unix VFS: a read fails (a bad sector), a write fails or
# finds the disk full, a sync fails, a lock is held by another process or fails, a truncation fails; a file
# control fails (SQLite ignores most of them, and the trial then shows that nothing else goes wrong).
FAULTS: dict[str, tuple[int, ...]] = {
    "xRead": (apsw.SQLITE_IOERR_READ,),
    "xWrite": (apsw.SQLITE_IOERR_WRITE, apsw.SQLITE_FULL),
    "xSync": (apsw.SQLITE_IOERR_FSYNC,),
    "xLock": (apsw.SQLITE_BUSY, apsw.SQLITE_IOERR_LOCK),
    "xTruncate": (apsw.SQLITE_IOERR_TRUNCATE,),
    "xFileControl": (apsw.SQLITE_IOERR,),
}

# What the test marks as acknowledged (FaultVFS.acked, CrashImage.acked): nothing yet, the entries (an append
# returned, or CheckpointPendingError said they were recorded), or the whole operation.
NOTHING, ENTRIES, ALL = 0, 1, 2


def op_clock() -> StepClock:
    """The operations' clock: a month after the world's entries, so that an automatic checkpoint is due."""
    return StepClock(datetime(2026, 5, 1, 9, 0, tzinfo=UTC).astimezone())


def check_clock() -> StepClock:
    """The checks' clock: after every entry an operation made (I9: a ledger's time never runs backwards)."""
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
    key_file: Path  # the responsible person's key, for the CLI


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

    A trial costs some fifteen real fsyncs (SQLite's unix VFS, synchronous=FULL); on a memory file system they
    cost nothing, and what a power loss leaves is what FaultVFS records, not what the disk did.
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
    """One writing operation as a command or the agent runs it: open the ledger, write, close.

    ``entries``: what it appends (type and body, to recognise them); ``checkpoint``: whether it signs a
    checkpoint of the ledger with them; ``act`` does the writing (``agent``: through a ``LedgerSink``).
    """

    name: str
    act: Callable[[Ledger, World], None]
    entries: tuple[tuple[str, dict[str, Any]], ...] = ()
    checkpoint: bool = False
    agent: bool = False

    def run(self, root: Path, world: World, vfs: FaultVFS, killed: list[CrashImage]) -> None:
        if self.agent:
            sink = LedgerSink(root, world.agent, clock=op_clock(), busy_patience=0.0, busy_pause=0.0,
                              say=lambda _line: None)
            try:
                with _killed_on_error(root, vfs, killed):
                    type_, body = self.entries[0]
                    sink.emit(type_, body)
                vfs.acked = ALL
            finally:
                sink.close(final_checkpoint=False)
            return
        with Ledger.open(root, clock=op_clock()) as ledger, _killed_on_error(root, vfs, killed):
            try:
                self.act(ledger, world)
            except CheckpointPendingError:
                vfs.acked = ENTRIES  # the error says that the entries were recorded: they must be there
                raise
            vfs.acked = ALL


@contextmanager
def _killed_on_error(root: Path, vfs: FaultVFS, killed: list[CrashImage]) -> Iterator[None]:
    """On a custody error: the files as a process killed at that moment (before closing) would leave them."""
    try:
        yield
    except CustodyError:
        files = {name: (root / name).read_bytes() if (root / name).exists() else None
                 for name in ("ledger.db", "ledger.db-wal")}
        killed.append(CrashImage("process killed after the error", files, vfs.acked))
        raise


SEAL = workflow.attachment_ref(ATTACHMENT, "seal.jpg")
NOTE: tuple[str, dict[str, Any]] = ("note.recorded", {"text": "cabinet A sealed", "attachments": [SEAL]})
PLAIN = ("note.recorded", {"text": "a plain append"})
BATCH = tuple(("note.recorded", {"text": f"batch entry {i}"}) for i in range(3))
HEARTBEAT = ("agent.heartbeat", {"observed_at": "2026-05-01T09:00:00.000+09:00", "sequence": 1, "interval_ms": 60000,
                                 "uptime_seconds": 1, "volumes": [], "undelivered": 0})


def _note(ledger: Ledger, world: World) -> None:
    workflow.act(ledger, NOTE[0], dict(NOTE[1]), world.parties.responsible, attachments=[ATTACHMENT])


def _note_and_checkpoint(ledger: Ledger, world: World) -> None:
    workflow.act(ledger, NOTE[0], dict(NOTE[1]), world.parties.responsible, attachments=[ATTACHMENT],
                 log_signer=world.log)


def _append(ledger: Ledger, world: World) -> None:
    ledger.append(PLAIN[0], dict(PLAIN[1]), world.parties.responsible)


def _batch(ledger: Ledger, world: World) -> None:
    def maker(type_: str, body: dict[str, Any]) -> Callable[[Head], Entry]:
        def make(head: Head) -> Entry:
            return sign_entry(origin=ledger.origin, seq=head.size, prev=head.last_leaf_hash, type=type_,
                              at=ledger.now_after(head), body=body, signer=world.parties.responsible)
        return make

    ledger.store.append_many([maker(type_, dict(body)) for type_, body in BATCH])


def _checkpoint(ledger: Ledger, world: World) -> None:
    assert ledger.checkpoint(world.log).created


OPS = {
    op.name: op
    for op in (
        Op("note", _note, (NOTE,)),
        Op("note+checkpoint", _note_and_checkpoint, (NOTE,), checkpoint=True),
        Op("append", _append, (PLAIN,)),
        Op("batch", _batch, BATCH),
        Op("checkpoint", _checkpoint, checkpoint=True),
        Op("agent", _append, (HEARTBEAT,), agent=True),
    )
}


# --- what must hold after every fault ----------------------------------------------------------------------


def check_state(directory: Path, world: World, op: Op, *, acked: int, nothing_written: bool, label: str) -> bool:
    """(b), (c), (d) on the ledger in ``directory``, opened through SQLite's own VFS; whether ``op`` is in it."""
    base = len(world.leaves)
    with Ledger.open(directory, clock=check_clock()) as ledger:
        store = ledger.store
        assert store.integrity_check() == [], label
        leaves = [leaf for _s, leaf in store.leaves()]
        # (c) every entry acknowledged before, unchanged
        assert tuple(leaves[:base]) == world.leaves, label
        # (d) all or nothing
        added = len(leaves) - base
        assert added in (0, len(op.entries)), f"{label}: {added} of {len(op.entries)} entries"
        signer = world.agent if op.agent else world.parties.responsible
        for leaf, (type_, body) in zip(leaves[base:], op.entries[:added], strict=True):
            entry = parse_entry(leaf)
            assert (entry.type, entry.body, entry.actor) == (type_, body, signer.name), label
            verify_entry_signature(entry, signer.verifier())
        entries_in = bool(op.entries) and added == len(op.entries)
        if entries_in and op.entries[0] is NOTE:
            assert store.attachment(SEAL["attachment"]) == ATTACHMENT, label
        sizes = tuple(size for size, _note in store.checkpoints())
        new_checkpoint = (*world.checkpoint_sizes, len(leaves))
        assert sizes == world.checkpoint_sizes or (op.checkpoint and sizes == new_checkpoint), f"{label}: {sizes}"
        checkpoint_in = sizes != world.checkpoint_sizes
        if op.entries and acked >= ENTRIES:
            assert entries_in, f"{label}: acknowledged entries lost"
        if op.checkpoint and acked >= ALL:
            assert checkpoint_in, f"{label}: acknowledged checkpoint lost"
        if nothing_written:
            assert not (entries_in and acked < ENTRIES), f"{label}: the error said nothing was written, yet it was"
            assert not checkpoint_in, f"{label}: the error said nothing was written, yet the checkpoint was"
        # the derived-state cache agrees with the entries
        cached = workflow.projection(ledger, save=False).state.to_json()
        assert cached == workflow.rebuild_cache(ledger).state.to_json(), label
        # the ledger takes the next entry, and (b) the chain, every root of the tree (those of the sizes before
        # that entry included) and every checkpoint hold
        ledger.append("note.recorded", {"text": "after the fault"}, world.parties.responsible)
        leaves.append(store.leaf(len(leaves)))
        _check_chain_and_tree(ledger, leaves, world, label)
    return entries_in or checkpoint_in


def _check_chain_and_tree(ledger: Ledger, leaves: list[bytes], world: World, label: str) -> None:
    store = ledger.store
    prev = bytes(32)
    for seq, leaf in enumerate(leaves):
        entry = parse_entry(leaf)
        assert (entry.seq, entry.prev) == (seq, prev), f"{label}: chain broken at {seq}"
        prev = leaf_hash(leaf)
    hashes = [leaf_hash(leaf) for leaf in leaves]
    assert store.size == len(leaves), label
    for n in range(1, len(leaves) + 1):
        assert store.root(n) == root_from_leaf_hashes(hashes[:n]), f"{label}: tree hash of size {n}"
    for size, note in store.checkpoints():
        opened, _verified = open_note(note, [world.log.verifier()])
        checkpoint = Checkpoint.parse(opened.text)
        assert (checkpoint.size, checkpoint.root_hash) == (size, root_from_leaf_hashes(hashes[:size])), label


def check_error(error: CustodyError, fault: Fault, label: str) -> None:
    """(a): a store error of the fault's kind, with a message a person can act on."""
    message = error.diagnostic()
    assert isinstance(error, StoreError) and error.exit_code == 4, f"{label}: {type(error).__name__}: {message}"
    assert message.strip() and "()" not in message, f"{label}: {message!r}"
    pending = isinstance(error, CheckpointPendingError)
    if isinstance(error, CheckpointPendingError):  # recorded, its checkpoint not: the store's error is quoted
        assert f"entry {error.seq} was recorded" in error.message, f"{label}: {message}"
    if fault.code == apsw.SQLITE_FULL:
        assert (pending or isinstance(error, StoreFullError)) and "full" in error.message, f"{label}: {message}"
    elif fault.code == apsw.SQLITE_BUSY:
        assert (pending or isinstance(error, StoreBusyError)) and "locked" in error.message, f"{label}: {message}"
    else:
        assert not isinstance(error, StoreFullError | StoreBusyError), f"{label}: {message}"
        assert "I/O error" in error.message and "disk I/O error" in error.message, f"{label}: {message}"
    if error.uncertain:
        assert "not certain" in error.message, f"{label}: {message}"


# --- one trial -----------------------------------------------------------------------------------------------


@dataclass
class Trial:
    fired: bool
    error: CustodyError | None
    present: list[bool]  # the operation in the ledger: live, then in each crash image


def run_trial(world: World, op: Op, fault: Fault | None, where: Path) -> Trial:
    label = f"{op.name}: {fault.describe() if fault else 'no fault'}"
    root = copy_ledger(world.root, where / "live")
    killed: list[CrashImage] = []
    error: CustodyError | None = None
    with fault_vfs(record=True) as vfs:
        vfs.arm(fault)
        try:
            op.run(root, world, vfs, killed)
        except CustodyError as exc:
            error = exc
        except Exception as exc:  # a raw apsw error: the CLI would call it a bug (exit 1)
            raise AssertionError(f"{label}: {type(exc).__module__}.{type(exc).__name__} escaped: {exc}") from exc
        fired = bool(vfs.fired)
        acked = vfs.acked
        images = [*killed, *vfs.crash_now()]
    if error is not None:
        assert fired and fault is not None, f"{label}: failed without a fault: {error.diagnostic()}"
        check_error(error, fault, label)
    # "Nothing was written" in a CheckpointPendingError is about the checkpoint (check_state: not acknowledged).
    nothing = error is not None and "nothing was written" in error.message
    present = [check_state(root, world, op, acked=acked, nothing_written=nothing, label=f"{label}, live")]
    for i, image in enumerate(images):
        directory = copy_ledger(world.root, where / f"image-{i}")
        image.write_to(directory)
        present.append(check_state(directory, world, op, acked=image.acked, nothing_written=nothing,
                                   label=f"{label}, {image.label}"))
    return Trial(fired, error, present)


# --- faults at every call ------------------------------------------------------------------------------------


@pytest.mark.parametrize("op_name", list(OPS))
@pytest.mark.parametrize("method", list(FAULTS))
def test_every_io_call_of_an_operation_can_fail(world: World, op_name: str, method: str, scratch: Path) -> None:
    """Fail the n-th call of ``method``, once and from then on, for every n until the operation does not reach it."""
    op = OPS[op_name]
    errors = 0
    trials = 0
    for code in FAULTS[method]:
        for persistent in (False, True):
            n = 0
            while True:
                n += 1
                where = scratch / f"{code}-{persistent}-{n}"
                trial = run_trial(world, op, Fault(method, n, code, persistent), where)
                shutil.rmtree(where)
                trials += 1
                errors += trial.error is not None
                if not trial.fired:
                    assert trial.error is None
                    break
                assert n < 500, f"{op_name}: {method} is called without end"
    # Every kind of fault fired somewhere (the operation reached the call), and some failed the operation --
    # but a truncation: SQLite truncates only when the store is closed, and ignores a failure there.
    assert trials > 2 * len(FAULTS[method])
    assert errors > 0 or method == "xTruncate"


@pytest.mark.parametrize(("method", "code"), [
    ("xWrite", apsw.SQLITE_IOERR_WRITE), ("xWrite", apsw.SQLITE_FULL), ("xSync", apsw.SQLITE_IOERR_FSYNC),
])
def test_the_agent_appends_again_on_the_same_connection(world: World, method: str, code: int, scratch: Path) -> None:
    """The agent keeps an event that failed and emits it again through the same connection once the disk works:
    the tree's cached frontier and the head (``Store._tip``) must not outlive the failed transaction, and a
    commit whose fsync failed must not come back beside its retry."""
    type_, body = HEARTBEAT
    retried = 0
    n = 0
    while True:
        n += 1
        root = copy_ledger(world.root, scratch / f"{n}" / "live")
        with fault_vfs() as vfs:
            sink = LedgerSink(root, world.agent, clock=op_clock(), busy_patience=0.0, busy_pause=0.0,
                              say=lambda _line: None)
            try:
                vfs.arm(Fault(method, n, code, persistent=True))
                try:
                    sink.emit(type_, body)
                    failed = False
                except StoreError:
                    failed = True
                fired = bool(vfs.fired)
                if failed:
                    vfs.arm(None)  # the disk works again
                    sink.emit(type_, body)
                    retried += 1
            finally:
                sink.close(final_checkpoint=False)
        assert check_state(root, world, OPS["agent"], acked=ALL, nothing_written=False,
                           label=f"agent, {method} #{n} then again")
        shutil.rmtree(scratch / f"{n}")
        if not fired:
            break
    assert retried > 1


# --- power loss at every sync point ----------------------------------------------------------------------------


@pytest.mark.parametrize("op_name", list(OPS))
def test_power_loss_at_every_sync_point(world: World, op_name: str, scratch: Path) -> None:
    """Cut the power at every sync of an operation and after it: never corrupt, never lose what was acknowledged."""
    op = OPS[op_name]
    root = copy_ledger(world.root, scratch / "live")
    with fault_vfs(record=True) as vfs:
        op.run(root, world, vfs, [])
        images = [*vfs.images, *vfs.crash_now("power lost right after the operation")]
        syncs = vfs.syncs
    # The WAL's commit (with its header when it is new) and the checkpoint of the WAL into the database on close.
    assert syncs >= 3 and len(images) > 2 * syncs
    present = []
    for i, image in enumerate(images):
        directory = copy_ledger(world.root, scratch / f"image-{i}")
        image.write_to(directory)
        present.append(check_state(directory, world, op, acked=image.acked, nothing_written=False,
                                   label=f"{op_name}: {image.label}"))
    # Both outcomes occur: before the commit's sync the operation is lost, after it never.
    assert not present[0] and present[-1]


# --- the CLI, as a real process --------------------------------------------------------------------------------


def run_cli(world: World, root: Path, spec: list[str], *args: str, log_key: bool = False) -> tuple[int, str, dict[str, Any]]:
    env = {**os.environ, "CUSTODY_LANG": "en", "CUSTODY_PASSPHRASE": OPERATOR_PASS, "PYTHONPATH": str(ROOT)}
    env.pop("CUSTODY_LOG_PASSPHRASE", None)
    if log_key:
        env["CUSTODY_LOG_PASSPHRASE"] = LOG_PASSPHRASE.decode()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ledger.fault_cli", *spec, "--", "note", "a remark on a failing disk",
         "--ledger", str(root), "--key", str(world.key_file), *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False,
    )
    *lines, last = proc.stderr.rstrip("\n").split("\n")
    assert last.startswith("fault-cli: "), proc.stderr
    return proc.returncode, "\n".join(lines), json.loads(last.removeprefix("fault-cli: "))


def ledger_size(root: Path) -> int:
    with Ledger.open(root) as ledger:
        return ledger.store.size


CLI_CASES = {
    # kind of fault: (fault spec, what the person reads, whether the entry may be in the ledger afterwards)
    "disk full": (["xWrite", "1", "SQLITE_FULL", "persistent"],
                  ["the ledger's disk is full; nothing was written", "free disk space, then repeat the command"],
                  False),
    "lock held": (["xLock", "1", "SQLITE_BUSY", "persistent"],
                  ["the ledger stayed locked by another process for too long; nothing was written",
                   "wait for the other custody command or agent to finish"], False),
    "I/O error": (["xLock", "1", "SQLITE_IOERR_LOCK"],
                  ["I/O error on the ledger file (disk I/O error); nothing was written"], False),
    "fsync failed": (["xSync", "1", "SQLITE_IOERR_FSYNC", "persistent"],
                     [("I/O error on the ledger file while committing (disk I/O error); it is not certain whether "
                       "entry {seq} was recorded"), "'custody status' reports {count} entries if it was recorded"],
                     True),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_the_cli_says_what_failed(world: World, case: str, tmp_path: Path) -> None:
    spec, expected, maybe = CLI_CASES[case]
    root = copy_ledger(world.root, tmp_path / "ledger")
    code, stderr, report = run_cli(world, root, spec)
    assert report["fired"], report
    seq = len(world.leaves)
    assert code == 4, stderr
    assert stderr.startswith("custody: error: "), stderr
    for text in expected:
        assert text.format(seq=seq, count=seq + 1) in stderr, stderr
    assert "bug" not in stderr and "Traceback" not in stderr, stderr
    assert ledger_size(root) in ((seq, seq + 1) if maybe else (seq,))
    if case == "lock held":  # it gave up after the store's busy timeout (slept in FaultVFS.xSleep, in no time)
        assert report["slept_s"] >= BUSY_TIMEOUT_MS / 1000 - 1, report


def test_the_cli_says_an_entry_was_recorded_when_only_its_checkpoint_failed(world: World, tmp_path: Path) -> None:
    """The disk fills up after the note's commit, while its automatic checkpoint is written."""
    dry = copy_ledger(world.root, tmp_path / "dry")
    code, stderr, report = run_cli(world, dry, ["none", "0", "0"])
    assert code == 0, stderr
    writes = report["calls_by_file"]["xWrite ledger.db-wal"]  # the note's commit; the checkpoint's comes next
    root = copy_ledger(world.root, tmp_path / "ledger")
    code, stderr, report = run_cli(world, root, ["xWrite", str(writes + 1), "SQLITE_FULL", "persistent",
                                                 "file=ledger.db-wal"], log_key=True)
    seq = len(world.leaves)
    assert code == 4 and report["fired"], stderr
    assert (f"custody: error: entry {seq} was recorded, but the automatic checkpoint after it could not be signed: "
            "the ledger's disk is full; nothing was written") in stderr, stderr
    assert "do not repeat the command" in stderr, stderr
    with Ledger.open(root) as ledger:
        assert ledger.store.size == seq + 1
        assert [size for size, _note in ledger.store.checkpoints()] == list(world.checkpoint_sizes)


# --- the bugs these trials found ---------------------------------------------------------------------------


def test_an_error_while_closing_never_turns_a_recorded_entry_into_a_failure(world: World, tmp_path: Path) -> None:
    """Closing copies the WAL into the database; apsw raised what the VFS reported there, after the commit."""
    root = copy_ledger(world.root, tmp_path / "ledger")
    with fault_vfs() as vfs:
        ledger = Ledger.open(root, clock=op_clock())
        entry = ledger.append(PLAIN[0], dict(PLAIN[1]), world.parties.responsible)
        vfs.arm(Fault("xSync", 1, apsw.SQLITE_IOERR_FSYNC, persistent=True))  # the checkpoint on close
        ledger.close()
        assert vfs.fired
    with Ledger.open(root) as reopened:
        assert reopened.store.entry(entry.seq) == entry


def test_opening_closes_the_store_again_when_reading_it_fails(world: World, tmp_path: Path) -> None:
    """Ledger.open read the origin after opening the store; an I/O error there left the connection open."""
    root = copy_ledger(world.root, tmp_path / "ledger")
    for n in range(1, 40):
        with fault_vfs() as vfs:  # raises if a file is still open at the end
            vfs.arm(Fault("xRead", n, apsw.SQLITE_IOERR_READ))
            try:
                Ledger.open(root).close()
            except StoreError:
                pass
            if not vfs.fired:
                break
    else:
        pytest.fail("opening a ledger never stops calling xFileControl")


def test_a_failed_fsync_at_commit_says_that_the_entry_may_be_recorded(world: World, tmp_path: Path) -> None:
    """The commit's frames are in the WAL when its fsync fails: SQLite rolls back, recovery may find them.

    The store used to say "nothing was written"; the entry then appeared when the ledger was next opened, and a
    person who had repeated the command had recorded it twice.
    """
    root = copy_ledger(world.root, tmp_path / "ledger")
    with fault_vfs() as vfs:
        ledger = Ledger.open(root, clock=op_clock())
        ledger.append("note.recorded", {"text": "recorded first"}, world.parties.responsible)
        # From now on every sync fails: the next commit, and the checkpoint when the store is closed.
        vfs.arm(Fault("xSync", 1, apsw.SQLITE_IOERR_FSYNC, persistent=True))
        with pytest.raises(StoreError) as failed:
            ledger.append("note.recorded", {"text": "uncertain"}, world.parties.responsible)
        ledger.close()
    seq = len(world.leaves) + 1
    assert failed.value.uncertain and not isinstance(failed.value, StoreFullError)
    assert failed.value.message == (f"I/O error on the ledger file while committing (disk I/O error); it is not "
                                    f"certain whether entry {seq} was recorded")
    assert failed.value.hint is not None and f"reports {seq + 1} entries" in failed.value.hint
    with Ledger.open(root) as reopened:  # the WAL was kept (its checkpoint failed): recovery finds the commit
        assert reopened.store.entry(seq).body == {"text": "uncertain"}


@pytest.mark.parametrize(("error", "kind", "text"), [
    (apsw.FullError("database or disk is full"), StoreFullError, "the ledger's disk is full; nothing was written"),
    (apsw.BusyError("database is locked"), StoreBusyError, "nothing was written"),
    (apsw.IOError("disk I/O error"), StoreError,
     "I/O error on the ledger file while committing (disk I/O error); it is not certain whether entry 7-9 was recorded"),
])
def test_what_a_failed_commit_says(error: apsw.Error, kind: type[StoreError], text: str) -> None:
    """SQLITE_FULL (a WAL frame not written) or a lock at COMMIT leave nothing; any other I/O error may follow
    the commit's synced frames."""
    got = _translate(error, committing=_Committing(7, 3))
    assert type(got) is kind and text in got.message
    assert got.uncertain == isinstance(error, apsw.IOError)


def test_a_full_disk_reported_as_an_io_error_at_commit_is_uncertain(world: World, tmp_path: Path) -> None:
    """ENOSPC behind an I/O error (an fsync on a thinly provisioned disk; growing the WAL index, which a commit
    does after the WAL's fsync) is a full disk, and at COMMIT an uncertain one."""
    root = copy_ledger(world.root, tmp_path / "ledger")
    with fault_vfs() as vfs, Ledger.open(root, clock=op_clock()) as ledger:
        vfs.arm(Fault("xSync", 1, apsw.SQLITE_IOERR_FSYNC, persistent=True, errno=errno.ENOSPC))
        with pytest.raises(StoreFullError) as failed:
            ledger.append(PLAIN[0], dict(PLAIN[1]), world.parties.responsible)
    seq = len(world.leaves)
    assert failed.value.uncertain
    assert failed.value.message == (f"the ledger's disk filled up while committing; it is not certain whether "
                                    f"entry {seq} was recorded")
    assert failed.value.hint is not None and "free disk space" in failed.value.hint


def test_the_agent_does_not_say_nothing_was_written_when_that_is_not_certain(world: World, tmp_path: Path) -> None:
    """The sink replaces a full disk's message by its own ("nothing was written; the agent keeps ..."), which
    must not happen to an uncertain one."""
    root = copy_ledger(world.root, tmp_path / "ledger")
    with fault_vfs() as vfs:
        sink = LedgerSink(root, world.agent, clock=op_clock(), busy_patience=0.0, say=lambda _line: None)
        try:
            vfs.arm(Fault("xSync", 1, apsw.SQLITE_IOERR_FSYNC, persistent=True, errno=errno.ENOSPC))
            with pytest.raises(StoreFullError) as failed:
                sink.emit(*HEARTBEAT)
        finally:
            sink.close(final_checkpoint=False)
    assert failed.value.uncertain and "not certain" in failed.value.message
    assert "nothing was written" not in failed.value.diagnostic() and sink.full_errors == 1


def test_an_error_without_words_is_named() -> None:
    assert _translate(apsw.IOError()).message == "I/O error on the ledger file (IOError); nothing was written"
