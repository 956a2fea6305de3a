"""The trust store after a witness killed mid-write (verify/authority.py ``Authority.recover``).

A kill can leave temporary files of the atomic writes and a record cut between its three writes (the
checkpoint file, latest.json, the journal line).  When the witness starts it removes its own temporary
files -- only names of its own pattern, only regular files, only where no live writer holds the origin's
lock -- and completes a record that a kill cut short; nothing else.  Then the state is whole: the witness
decides from it and the verifier finds no disagreement in it.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import select
import signal
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from custody.ledger.note import Signer, parse_note
from custody.verify.authority import Authority, origin_key
from custody.verify.findings import WARNING
from tests.agents.conftest import wait_until
from tests.verify.test_witness_online import post, serve_process
from tests.verify.witness_fixtures import World, checkpoint_of, make_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path / "w")
    yield w
    w.close()


def cosign_up_to(world: World, size: int) -> None:
    """Cosign the genesis tree, then every size up to ``size`` one by one."""
    world.seed()
    for s in range(2, size + 1):
        assert world.authority.add_checkpoint(world.request(s, old=s - 1), world.witness, s).ok


def temp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.tmp"))


def log_dir(world: World) -> Path:
    return world.authority.path / "logs" / origin_key(world.ledger.origin)


def assert_whole(world: World, authority: Authority | None = None) -> None:
    """The state the witness decides from and the record the verifier reads agree, and are the ledger's."""
    authority = authority or Authority.open(world.authority.path)
    origin = world.ledger.origin
    record = authority.witness_record(origin)
    assert record.problems == (), record.problems
    head = authority.latest(origin)
    journal = authority.journal(origin)
    assert head is not None and journal[-1]["size"] == head.size
    sizes = [line["size"] for line in journal]
    assert sizes == sorted(sizes) and sizes[0] == 1
    for size, note in authority.cosigned_checkpoints(origin):
        assert checkpoint_of(note).root_hash == world.ledger.store.root(size)


def test_only_its_own_temporary_files_are_removed(world: World) -> None:
    for _ in range(3):
        world.grow(1)
    cosign_up_to(world, 4)
    store, log = world.authority.path, log_dir(world)
    (log / "evidence").mkdir()
    own = [
        store / ".authority.json.k2j4_9a1.tmp",
        log / ".latest.json.abcdefgh.tmp",
        log / ".pin.json.x1y2z3w4.tmp",
        log / "checkpoints" / ".000000000005.checkpoint.q_w_e_r_.tmp",
        log / "evidence" / ".00000000001790000000-409-0123456789abcdef.request.aaaaaaaa.tmp",
    ]
    others = [
        store / "notes.tmp",  # not a name the store writes
        store / ".authority.json.tmp",  # no mkstemp part
        log / ".latest.json.ABCDEFGH.tmp",  # mkstemp's names are lowercase
        log / ".latest.json.abcdefgh.tmp.bak",
        log / "checkpoints" / ".5.checkpoint.abcdefgh.tmp",  # sizes are 12 digits
        log / ".cosigned.jsonl.abcdefgh.tmp",  # the journal is appended to, never replaced
    ]
    for path in own + others:
        path.write_bytes(b"partial")
    (log / ".latest.json.dirdirdi.tmp").mkdir()  # a directory of the pattern: not a file the store wrote
    (log / ".pin.json.linklink.tmp").symlink_to(store / "authority.json")
    done = world.authority.recover()
    assert done.removed == len(own) and done.completed == ()
    assert not any(p.exists() for p in own)
    assert all(p.exists() for p in others)
    assert (log / ".latest.json.dirdirdi.tmp").is_dir() and (log / ".pin.json.linklink.tmp").is_symlink()
    assert (store / "authority.json").is_file()
    assert_whole(world)
    assert world.authority.recover().removed == 0  # nothing left to do


def test_a_damaged_pin_does_not_stop_the_witness_from_starting(world: World) -> None:
    """Its temporary files go; its record is left for a person (the origin's requests say what is wrong)."""
    other = world.authority.path / "logs" / "other-0123456789abcdef"
    other.mkdir()
    (other / "pin.json").write_text("{ damaged")
    (other / ".latest.json.abcdefgh.tmp").write_bytes(b"{")
    done = world.authority.recover()
    assert done.removed == 1 and done.completed == ()
    assert (other / "pin.json").read_text() == "{ damaged"


def test_an_origin_being_written_is_left_alone(world: World) -> None:
    """A held lock means a live writer (another witness process): its temporary files may be in use."""
    world.seed()
    temp = log_dir(world) / ".latest.json.abcdefgh.tmp"
    temp.write_bytes(b"being written")
    locked, release = threading.Event(), threading.Event()

    def writer() -> None:
        with world.authority.lock(world.ledger.origin):
            locked.set()
            release.wait(60)

    holder = threading.Thread(target=writer)
    holder.start()
    try:
        assert locked.wait(60)
        assert world.authority.recover().removed == 0
        assert temp.exists()
    finally:
        release.set()
        holder.join(60)
    assert world.authority.recover().removed == 1 and not temp.exists()


def _drop_last_journal_line(world: World) -> None:
    journal = log_dir(world) / "cosigned.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]))


def _cut_last_journal_line(world: World) -> None:
    journal = log_dir(world) / "cosigned.jsonl"
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 9])  # the line's end, and its newline, never written


def _state_not_written(world: World) -> None:
    """The checkpoint file of the last cosignature is there; latest.json and the journal still say the one before."""
    _drop_last_journal_line(world)
    journal = [json.loads(line) for line in (log_dir(world) / "cosigned.jsonl").read_text().splitlines()]
    previous = journal[-1]
    (log_dir(world) / "latest.json").write_text(json.dumps({
        "origin": world.ledger.origin, "size": previous["size"], "root_hash": previous["root_hash"],
        "timestamp": previous["timestamp"], "checkpoint": f"{previous['size']:012d}.checkpoint",
    }))


def _first_state_not_written(world: World) -> None:
    """Killed during the very first cosignature, after its checkpoint file."""
    (log_dir(world) / "latest.json").unlink()
    (log_dir(world) / "cosigned.jsonl").unlink()
    for path in (log_dir(world) / "checkpoints").iterdir():
        if path.name != "000000000001.checkpoint":
            path.unlink()


CUTS = [
    ("the journal's last line is missing", _drop_last_journal_line, 4),
    ("the journal's last line is cut short", _cut_last_journal_line, 4),
    ("the checkpoint file is written, the state is not", _state_not_written, 4),
    ("the first cosignature's file is written, nothing else", _first_state_not_written, 1),
]


@pytest.mark.parametrize(("what", "cut", "size"), CUTS, ids=[c[0] for c in CUTS])
def test_a_record_cut_by_a_kill_is_completed(world: World, what: str, cut: object, size: int) -> None:
    for _ in range(3):
        world.grow(1)
    cosign_up_to(world, 4)
    assert callable(cut)
    cut(world)
    # Before the witness starts again, the verifier reads a warning, not an error: nothing contradicts.
    problems = world.authority.witness_record(world.ledger.origin).problems
    assert problems and {severity for severity, _m in problems} == {WARNING}, (what, problems)
    done = world.authority.recover()
    assert done.completed == (world.ledger.origin,), what
    assert_whole(world)
    head = world.authority.latest(world.ledger.origin)
    assert head is not None and head.size == size
    # The witness decides from there.
    assert world.authority.add_checkpoint(world.request(size, old=size), world.witness, 99).ok


def test_what_a_kill_cannot_do_is_not_repaired(world: World) -> None:
    """A damaged state or a journal that lost more than its last line is a person's matter, not a crash's."""
    for _ in range(3):
        world.grow(1)
    cosign_up_to(world, 4)
    journal = log_dir(world) / "cosigned.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-2]))  # two lines lost: the checkpoint of size 3 shows it
    assert world.authority.recover().completed == ()
    assert journal.read_bytes() == b"".join(lines[:-2])
    assert any(severity == "error" for severity, _m in world.authority.witness_record(world.ledger.origin).problems)
    (log_dir(world) / "latest.json").write_text("{ damaged")
    assert world.authority.recover().completed == ()
    assert (log_dir(world) / "latest.json").read_text() == "{ damaged"


# --- real kills ---------------------------------------------------------------------------------------


def _cosigner(path: Path, bodies: dict[int, bytes], signer: Signer, origin: str, out: int) -> None:
    """A child process: the witness's decide-and-persist cycle, size after size, reporting each 200."""
    code = 0
    try:
        authority = Authority.open(path)
        head = authority.latest(origin)
        size = 0 if head is None else head.size
        while size + 1 in bodies:
            decision = authority.add_checkpoint(bodies[size + 1], signer, int(time.time()))
            if not decision.ok:
                code = 3
                break
            size += 1
            os.write(out, f"{size}\n".encode())
    except BaseException:  # the child reports by its exit code
        code = 1
    finally:
        os._exit(code)


def test_sigkill_during_cosignatures_leaves_a_whole_state(world: World) -> None:
    """Witness processes killed with SIGKILL at random points of their writes: once recovered, no temporary
    file remains, every acknowledged cosignature is recorded, and the record is whole."""
    sizes = 160
    for _ in range(sizes - 1):
        world.grow(1)
    bodies = {s: world.request(s, old=s - 1) for s in range(1, sizes + 1)}
    rng = random.Random(2026)
    path, origin = world.authority.path, world.ledger.origin
    acknowledged = 0
    left_behind = 0
    for trial in range(40):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _cosigner(path, bodies, world.witness, origin, write_fd)
        os.close(write_fd)
        if trial % 10 == 0:  # some kills land after an acknowledged cosignature, however slow the machine
            select.select([read_fd], [], [], 60)
        time.sleep(rng.uniform(0.0, 0.03))  # the kill lands at a random point: part of the scenario
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        acked = b""
        while chunk := os.read(read_fd, 65536):
            acked += chunk
        os.close(read_fd)
        if acked.split():
            acknowledged = max(acknowledged, int(acked.split()[-1]))
        left_behind += len(temp_files(path))
        authority = Authority.open(path)
        authority.recover()  # what `custody witness serve|cosign` does first
        assert temp_files(path) == [], f"trial {trial}"
        head = authority.latest(origin)
        assert head is None or head.size >= acknowledged, f"trial {trial}: acknowledged {acknowledged} lost"
        if head is not None:
            assert_whole(world, authority)
        if head is not None and head.size == sizes:
            break
    assert acknowledged > 0
    print(f"{trial + 1} kills, cosigned up to size {acknowledged} (acknowledged), {left_behind} temporary files removed")


def _grew(journal: Path, lines: int) -> bool:
    return journal.exists() and len(journal.read_bytes().splitlines()) > lines


def test_sigkill_of_the_served_witness(world: World, tmp_path: Path) -> None:
    """`custody witness serve` killed with SIGKILL while a client submits: restarted, it removes what the kill
    left and goes on from a whole state."""
    sizes = 60
    for _ in range(sizes - 1):
        world.grow(1)
    bodies = {s: world.request(s, old=s - 1) for s in range(1, sizes + 1)}
    rng = random.Random(20)
    path, origin = world.authority.path, world.ledger.origin
    for trial in range(4):
        # A temporary file as a kill mid-write leaves it, so that every restart has one to remove.
        (path / "logs" / origin_key(origin) / f".latest.json.trial{trial:03d}.tmp").write_bytes(b"{")
        with serve_process(path, tmp_path / f"s{trial}.log") as (url, proc):
            assert temp_files(path) == [], f"trial {trial}: the restarted witness left temporary files"
            if trial:
                assert_whole(world)
            head = Authority.open(path).latest(origin)
            size = 0 if head is None else head.size
            stop = threading.Event()

            def submit(start: int, stop: threading.Event = stop) -> None:
                s = start
                while not stop.is_set() and s + 1 in bodies:
                    try:
                        status, _body, _ctype = post(url, bodies[s + 1], timeout=30)
                    except (OSError, http.client.HTTPException):  # a reply cut short (IncompleteRead) too
                        return  # killed
                    if status != 200:
                        return
                    s += 1

            client = threading.Thread(target=submit, args=(size,))
            client.start()
            try:
                journal = path / "logs" / origin_key(origin) / "cosigned.jsonl"
                lines = len(journal.read_bytes().splitlines()) if journal.exists() else 0
                # Kill once the client is being served, at a random point after that.
                wait_until(partial(_grew, journal, lines), what="a cosignature while the client submits")
                time.sleep(rng.uniform(0.0, 0.05))
                proc.kill()
                proc.wait(30)
            finally:
                stop.set()
                client.join(60)
        removed = re.search(r"removed (\d+) temporary file", (tmp_path / f"s{trial}.log").read_text())
        assert removed is not None and int(removed.group(1)) >= 1  # the planted one, and any the last kill left
    authority = Authority.open(path)
    authority.recover()
    assert temp_files(path) == []
    assert_whole(world, authority)
    head = authority.latest(origin)
    assert head is not None and head.size > 1
    assert [s.name for s in parse_note(head.note).signatures][-1] == world.witness.name
