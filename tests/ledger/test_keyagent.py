"""The key agent as a real process (custody.ledger.keyagent): what it signs, for whom, and how it guards its keys.

Every agent here is a real process on a real socket, holding a real key file's key, over a real ledger.
Security edges: a process of another user is refused (run as ``nobody`` where the tests run as root,
else skipped, saying so), arbitrary bytes and inputs for another ledger are refused, a revoked or rotated
key is refused, the process is not dumpable (checked from outside: ``/proc/<pid>/mem`` cannot be opened
by a process of the same user and belongs to root), its memory is locked where the limit allows and it
says so where it does not, and it ends on ``lock``, its timeouts and the loss of its socket.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from custody import schemas
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.entry import signed_message
from custody.ledger.errors import KeyAgentError, RuleRefusal, UsageError
from custody.ledger.keyagent import client, hardening, launch, paths, protocol
from custody.ledger.keyfile import write_key_file
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer
from custody.ledger.workflow import act
from tests.agents.conftest import wait_until
from tests.helpers import LOG_PASSPHRASE, TEST_KDF_N, new_ledger
from tests.world import key, person_body, signer

PASSPHRASE = b"operator pass"
NOBODY = 65534
ROOT = os.geteuid() == 0


@dataclass
class World:
    root: Path
    ledger_dir: Path
    key_file: Path
    responsible: Signer
    operator: Signer


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Signer]:
    """A ledger with op-tanaka registered and op-tanaka's key file, made once per module (``world`` copies them);
    and the responsible person."""
    root = tmp_path_factory.mktemp("keyagent")
    ledger, parties, _log = new_ledger(root)
    act(ledger, "personnel.registered", person_body("op-tanaka"), parties.responsible)
    ledger.close()
    write_key_file(root / "op-tanaka.key", "op-tanaka", key("op-tanaka"), PASSPHRASE, n=TEST_KDF_N)
    return root, parties.responsible


@pytest.fixture
def world(built: tuple[Path, Signer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("CUSTODY_AGENT", raising=False)
    source, responsible = built
    shutil.copytree(source / "ledger", tmp_path / "ledger")
    key_file = tmp_path / "op-tanaka.key"
    shutil.copy2(source / "op-tanaka.key", key_file)
    client.forget()
    yield World(tmp_path, tmp_path / "ledger", key_file, responsible, signer("op-tanaka"))
    client.forget()


@pytest.fixture
def agents() -> Iterator[list[int]]:
    """Process ids of the agents a test started: each is ended (by its id) when the test ends."""
    started: list[int] = []
    yield started
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        wait_until(lambda pid=pid: gone(pid), what=f"agent {pid} to end")  # type: ignore[misc]


def gone(pid: int) -> bool:
    """The process ended (reaped here when it is a child of the tests, else no longer in /proc but as a zombie)."""
    with contextlib.suppress(ChildProcessError):
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def unlock(w: World, agents: list[int], *, log: bool = False, shift: float = 3600, idle: float = 3600,
           ledger: bool = True) -> dict[str, Any]:
    reply = launch.start(key=w.key_file, passphrase=PASSPHRASE, ledger=w.ledger_dir if ledger else None,
                         log_passphrase=LOG_PASSPHRASE if log else None, shift_seconds=shift, idle_seconds=idle)
    agents.append(int(reply["pid"]))
    return reply


def request(message: dict[str, Any]) -> dict[str, Any]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    try:
        sock.connect(str(paths.socket_path()))
        protocol.send(sock, message)
        return protocol.receive(sock)
    finally:
        sock.close()


def sign_request(message: bytes, *, public: bytes, role: str = "person") -> dict[str, Any]:
    return request({"op": "sign", "role": role, "public": base64.b64encode(public).decode(),
                    "message": base64.b64encode(message).decode()})


def next_entry(w: World, **over: Any) -> bytes:
    with Ledger.open(w.ledger_dir, readonly=True) as ledger:
        head = ledger.store.head()
        origin = ledger.origin
    obj = {"custody": 1, "origin": origin, "seq": head.size, "prev": base64.b64encode(head.last_leaf_hash).decode(),
           "type": "note.recorded", "at": "2026-04-01T10:00:00.000+09:00", "actor": "op-tanaka",
           "body": {"text": "点検"}}
    obj.update(over)
    return signed_message(obj)


# --- what it signs ---


def test_commands_sign_through_the_agent(world: World, agents: list[int]) -> None:
    reply = unlock(world, agents)
    assert [k["name"] for k in reply["keys"]] == ["op-tanaka"]
    held = client.person_signer("op-tanaka", world.operator.verifier().public_key)
    assert isinstance(held, client.AgentSigner)
    assert held.key_id == world.operator.key_id
    with Ledger.open(world.ledger_dir) as ledger:
        entry = act(ledger, "note.recorded", {"text": "署名は鍵エージェントが"}, held)
    world.operator.verifier().verify(entry.signed_message(), entry.sig[4:])
    assert client.person_signer() is not None  # its only person key, without a key file named


@pytest.mark.parametrize("message", [
    b"", b"hello", bytes(range(256)), b"custody-entry/v1\n{}", b"\x00" * 64,
    b"cosignature/v1\ntime 1\nx\n1\nAAAA\n",
], ids=["empty", "text", "bytes", "empty-entry", "zeros", "cosignature"])
def test_arbitrary_bytes_are_refused(world: World, agents: list[int], message: bytes) -> None:
    unlock(world, agents)
    reply = sign_request(message, public=world.operator.verifier().public_key)
    assert reply["ok"] is False
    assert reply["error"] == protocol.REFUSED
    held = client.person_signer("op-tanaka", world.operator.verifier().public_key)
    assert held is not None
    with pytest.raises(KeyAgentError) as caught:
        held.sign(message)
    assert caught.value.exit_code == 5


def test_only_the_next_entry_of_its_own_ledger(world: World, agents: list[int]) -> None:
    unlock(world, agents)
    public = world.operator.verifier().public_key
    assert sign_request(next_entry(world), public=public)["ok"] is True
    with Ledger.open(world.ledger_dir, readonly=True) as ledger:
        size = ledger.store.size
    cases = {
        "an old seq": next_entry(world, seq=size - 1),
        "a seq ahead": next_entry(world, seq=size + 1),
        "another prev": next_entry(world, prev=base64.b64encode(bytes(32)).decode()),
    }
    for case, message in cases.items():
        reply = sign_request(message, public=public)
        assert (reply["ok"], reply["error"]) == (False, protocol.REFUSED), case
    other = sign_request(next_entry(world, origin="city.example.lg.jp/custody/other"), public=public)
    assert (other["error"], other["origin"]) == (protocol.OTHER_LEDGER, "city.example.lg.jp/custody/2026-017/site-1")


def test_a_key_it_does_not_hold(world: World, agents: list[int]) -> None:
    unlock(world, agents)
    reply = sign_request(next_entry(world), public=signer("op-kato").verifier().public_key)
    assert reply["error"] == protocol.NO_KEY
    assert client.person_signer("op-kato", signer("op-kato").verifier().public_key) is None


def test_without_a_ledger_it_signs_approvals_only(world: World, agents: list[int]) -> None:
    from custody.ledger.approval import make_approval_text
    from tests.world import approval_body

    unlock(world, agents, ledger=False)
    public = world.operator.verifier().public_key
    approval = make_approval_text("city.example.lg.jp/custody/2026-017/site-1",
                                  approval_body("takeout", "A-1", ["M-001"])).encode()
    reply = sign_request(approval, public=public)
    assert reply["ok"] is True
    world.operator.verifier().verify(approval, base64.b64decode(reply["signature"]))
    assert sign_request(next_entry(world), public=public)["error"] == protocol.OTHER_LEDGER


def test_the_log_key_signs_only_the_ledgers_own_tree(world: World, agents: list[int]) -> None:
    reply = unlock(world, agents, log=True)
    assert sorted(k["role"] for k in reply["keys"]) == ["log", "person"]
    with Ledger.open(world.ledger_dir, readonly=True) as ledger:
        origin, size, root = ledger.origin, ledger.store.size, ledger.store.root()
        log_public = ledger.log_verifier().public_key
    good = Checkpoint(origin, size, root).to_text().encode()
    assert sign_request(good, public=log_public, role="log")["ok"] is True
    forged = Checkpoint(origin, size, bytes(32)).to_text().encode()
    assert sign_request(forged, public=log_public, role="log")["error"] == protocol.REFUSED
    ahead = Checkpoint(origin, size + 5, root).to_text().encode()
    assert sign_request(ahead, public=log_public, role="log")["error"] == protocol.REFUSED
    # the log key signs nothing else, and the person's key no checkpoint
    assert sign_request(next_entry(world, actor=origin), public=log_public, role="log")["error"] == protocol.REFUSED
    assert sign_request(good, public=world.operator.verifier().public_key)["error"] == protocol.REFUSED


# --- revoked, rotated, not registered ---


def test_a_key_revoked_while_unlocked_is_refused_and_forgotten(world: World, agents: list[int]) -> None:
    reply = unlock(world, agents)
    held = client.person_signer("op-tanaka", world.operator.verifier().public_key)
    assert held is not None
    with Ledger.open(world.ledger_dir) as ledger:
        act(ledger, "key.revoked", {"key_name": "op-tanaka", "vkey": world.operator.verifier().vkey,
                                    "reason": "紛失"}, world.responsible)
        with pytest.raises(RuleRefusal) as caught:
            ledger.append("note.recorded", {"text": "失効後"}, held)
    assert caught.value.code == "C9"
    assert "revoked" in caught.value.message
    # It held one key, forgot it, and ended.
    wait_until(lambda: gone(int(reply["pid"])), what="the agent to end once its last key was revoked")


@pytest.mark.parametrize("event", ["key.rotated", "personnel.removed", "never registered"])
def test_unlocking_a_key_the_ledger_does_not_let_sign(world: World, agents: list[int], event: str) -> None:
    with Ledger.open(world.ledger_dir) as ledger:
        if event == "key.rotated":  # the key file keeps the old key
            act(ledger, "key.rotated", {"key_name": "op-tanaka", "new_vkey": _other_vkey("op-tanaka")},
                world.responsible)
        elif event == "personnel.removed":
            act(ledger, "personnel.exit_checked", {"key_name": "op-tanaka", "checked_at": "2026-04-01T10:00:00+09:00",
                                                   "access_revoked": True, "no_data_kept": True}, world.responsible)
            act(ledger, "personnel.removed", {"key_name": "op-tanaka", "reason": "異動"}, world.responsible)
    key_file = world.key_file
    if event == "never registered":
        key_file = world.root / "op-kato.key"
        write_key_file(key_file, "op-kato", key("op-kato"), PASSPHRASE, n=TEST_KDF_N)
    with pytest.raises(RuleRefusal) as caught:
        launch.start(key=key_file, passphrase=PASSPHRASE, ledger=world.ledger_dir, log_passphrase=None,
                     shift_seconds=60, idle_seconds=60)
    assert caught.value.code == "C9"
    assert caught.value.exit_code == 6
    assert not paths.socket_path().exists()


def _other_vkey(name: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Signer(name, Ed25519PrivateKey.generate()).verifier().vkey


def test_a_wrong_passphrase_starts_nothing(world: World) -> None:
    from custody.ledger.errors import KeyFileError

    with pytest.raises(KeyFileError) as caught:
        launch.start(key=world.key_file, passphrase=b"wrong", ledger=world.ledger_dir, log_passphrase=None,
                     shift_seconds=60, idle_seconds=60)
    assert caught.value.exit_code == 5
    assert not paths.socket_path().exists()


def test_a_second_agent_is_refused(world: World, agents: list[int]) -> None:
    unlock(world, agents)
    with pytest.raises(KeyAgentError, match="already running"):
        launch.start(key=world.key_file, passphrase=PASSPHRASE, ledger=world.ledger_dir, log_passphrase=None,
                     shift_seconds=60, idle_seconds=60)


# --- its socket and its peers ---


def test_the_socket_is_private(world: World, agents: list[int]) -> None:
    unlock(world, agents)
    path = paths.socket_path()
    assert path.parent == Path(os.environ["XDG_RUNTIME_DIR"]) / "custody"
    folder, sock = os.stat(path.parent), os.stat(path)
    assert stat.S_IMODE(folder.st_mode) == 0o700
    assert stat.S_ISSOCK(sock.st_mode)
    assert stat.S_IMODE(sock.st_mode) == 0o600
    assert folder.st_uid == sock.st_uid == os.getuid()


def test_without_xdg_runtime_dir_the_folder_is_in_the_temporary_directory(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None
    try:
        assert paths.socket_path() == tmp_path / f"custody-{os.getuid()}" / "agent.sock"
    finally:
        tempfile.tempdir = None


@pytest.mark.parametrize(("mode", "why"), [(0o755, "others may use it"), (0o770, "others may use it")])
def test_a_folder_others_may_use_is_not_used(world: World, mode: int, why: str) -> None:
    folder = paths.agent_dir()
    folder.mkdir(mode=0o700)
    folder.chmod(mode)
    (folder / "agent.sock").touch()
    with pytest.raises(KeyAgentError, match=why):
        client.connect()
    with pytest.raises(KeyAgentError, match="not private"):
        launch.start(key=world.key_file, passphrase=PASSPHRASE, ledger=world.ledger_dir, log_passphrase=None,
                     shift_seconds=60, idle_seconds=60)


def _as_nobody(task: Any) -> Any:
    """Run ``task()`` in a forked child that became ``nobody`` (uid 65534); its JSON-able result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = task()
            os.write(write, json.dumps(result).encode())
        except BaseException as exc:
            os.write(write, json.dumps({"exception": f"{type(exc).__name__}: {exc}"}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return json.loads(data)


needs_root = pytest.mark.skipif(
    not ROOT, reason="a process of another user needs root to start (setuid): not root here")


@needs_root
def test_another_user_cannot_reach_the_folder(world: World, agents: list[int],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="custody-run-"))
    runtime.chmod(0o711)  # the folders above the agent's own let nobody through: the agent's folder stops it
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    try:
        unlock(world, agents)
        _connect_as_nobody(str(paths.socket_path()))
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def _connect_as_nobody(path: str) -> None:
    def connect() -> dict[str, Any]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except PermissionError as exc:
            return {"refused": exc.strerror}
        return {"connected": True}

    assert "refused" in _as_nobody(connect)


@needs_root
def test_another_user_is_refused_by_peer_credentials(world: World, agents: list[int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with the folder and the socket opened to everyone, the agent answers another user's process
    only with a refusal, and signs nothing (SO_PEERCRED)."""
    runtime = Path(tempfile.mkdtemp(prefix="custody-run-"))  # a folder nobody can reach, unlike tmp_path's
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    try:
        unlock(world, agents)
        path = paths.socket_path()
        for folder in (runtime, path.parent):
            folder.chmod(0o711)
        path.chmod(0o666)
        _ask_as_nobody(world, path)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def _ask_as_nobody(world: World, path: Path) -> None:
    message = next_entry(world)
    public = base64.b64encode(world.operator.verifier().public_key).decode()

    def ask() -> dict[str, Any]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(str(path))
        replies = [protocol.receive(sock)]  # refused before it asks anything
        with contextlib.suppress(OSError, protocol.ProtocolError):
            protocol.send(sock, {"op": "sign", "role": "person", "public": public,
                                 "message": base64.b64encode(message).decode()})
            replies.append(protocol.receive(sock))
        return {"uid": os.getuid(), "replies": replies}

    seen = _as_nobody(ask)
    assert seen["uid"] == NOBODY
    assert [r["error"] for r in seen["replies"]] == [protocol.OTHER_USER]
    assert request({"op": "hello"})["ok"] is True  # still serving its own user


# --- not dumpable, memory locked ---


def _libc_prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(option, value, 0, 0, 0)


def _mem_owner_and_open(pid: int) -> dict[str, Any]:
    """Who owns /proc/<pid>/mem, and whether this process may open it."""
    path = f"/proc/{pid}/mem"
    owner = os.stat(path).st_uid
    try:
        with open(path, "rb"):
            opened = True
    except PermissionError:
        opened = False
    return {"owner": owner, "opened": opened, "me": os.getuid()}


@dataclass
class Spawned:
    pid: int
    reply: dict[str, Any]


def _spawn_agent(folder: Path, key_file: Path, *, memlock: int | None) -> Spawned:
    """An agent without a ledger, as ``nobody`` (forked, then setuid) when the tests run as root, else as
    this user (a new process); ``memlock`` lowers its RLIMIT_MEMLOCK first."""
    config = {"keys": [{"file": str(key_file), "role": "person", "passphrase": base64.b64encode(PASSPHRASE).decode()}],
              "ledger": None, "shift_seconds": 3600, "idle_seconds": 3600, "socket": str(folder / "agent.sock")}
    if not ROOT:
        def limit() -> None:
            if memlock is not None:
                resource.setrlimit(resource.RLIMIT_MEMLOCK, (memlock, memlock))

        proc = subprocess.Popen([sys.executable, "-m", "custody.ledger.keyagent.server"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, start_new_session=True, preexec_fn=limit)  # noqa: PLW1509
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(json.dumps(config).encode() + b"\n")
        proc.stdin.close()
        reply = json.loads(proc.stdout.readline())
        proc.stdout.close()
        return Spawned(proc.pid, reply)
    # Everything the agent imports is imported before the fork: as nobody, the interpreter's own library
    # folder (under /root here) cannot be read.
    from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401
    from cryptography.hazmat.primitives.ciphers import aead  # noqa: F401
    from cryptography.hazmat.primitives.kdf import scrypt  # noqa: F401

    import custody.ledger.keyagent.server as server

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: the agent
        try:
            os.close(read)
            os.setsid()
            if memlock is not None:
                resource.setrlimit(resource.RLIMIT_MEMLOCK, (memlock, memlock))
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            _libc_prctl(hardening.PR_SET_DUMPABLE, 1)  # as a process nobody started (setuid cleared it)
            agent, listener, path = server.start(config)
            os.write(write, json.dumps(agent.describe()).encode() + b"\n")
            os.close(write)
            agent.serve(listener, path)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        line = fh.readline()
    return Spawned(pid, json.loads(line))


@pytest.fixture
def nobody_files() -> Iterator[tuple[Path, Path]]:
    """A key file and a socket folder the agent's user owns (nobody when root runs the tests)."""
    base = Path(tempfile.mkdtemp(prefix="custody-agent-"))
    try:
        base.chmod(0o755)
        key_file = base / "op-tanaka.key"
        write_key_file(key_file, "op-tanaka", key("op-tanaka"), PASSPHRASE, n=TEST_KDF_N)
        folder = base / "run"
        folder.mkdir(mode=0o700)
        if ROOT:
            for path in (key_file, folder):
                os.chown(path, NOBODY, NOBODY)
        yield key_file, folder
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _end(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: gone(pid), what=f"agent {pid} to end")


def test_the_agent_is_not_dumpable(nobody_files: tuple[Path, Path]) -> None:
    key_file, folder = nobody_files
    agent = _spawn_agent(folder, key_file, memlock=None)
    # A process like any other of the same user (all of its user and group ids theirs).
    if ROOT:
        control = subprocess.Popen(["sleep", "600"], user=NOBODY, group=NOBODY, extra_groups=[])
    else:
        control = subprocess.Popen(["sleep", "600"])
    try:
        assert agent.reply["ok"] is True
        assert agent.reply["hardening"]["dumpable"] is False
        probe = _as_nobody if ROOT else (lambda task: task())
        ordinary = probe(lambda: _mem_owner_and_open(control.pid))
        if not ordinary["opened"]:
            pytest.skip("this kernel lets no process open another's memory (Yama ptrace_scope): nothing to compare")
        guarded = probe(lambda: _mem_owner_and_open(agent.pid))
        assert ordinary["owner"] == ordinary["me"]
        assert guarded == {"owner": 0, "opened": False, "me": ordinary["me"]}
    finally:
        control.kill()
        control.wait()
        _end(agent.pid)


def _locked_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmLck:"):
            return int(line.split()[1])
    raise AssertionError("no VmLck in /proc/<pid>/status")


def test_memory_is_locked_where_the_limit_allows(nobody_files: tuple[Path, Path]) -> None:
    key_file, folder = nobody_files
    agent = _spawn_agent(folder, key_file, memlock=None)
    try:
        found = agent.reply["hardening"]
        assert found["seeds_locked"] is True
        locked = _locked_kib(agent.pid)
        assert locked >= 4  # at least the key's page
        if found["all_locked"]:
            assert locked > 1024  # the whole process
        else:
            assert found["memlock_limit"] != -1  # a finite limit: only the keys' pages, by design
    finally:
        _end(agent.pid)


def test_a_memlock_limit_of_zero_leaves_the_key_unlocked_and_says_so(nobody_files: tuple[Path, Path]) -> None:
    key_file, folder = nobody_files
    agent = _spawn_agent(folder, key_file, memlock=0)
    try:
        found = agent.reply["hardening"]
        if ROOT is False and found["seeds_locked"]:
            pytest.skip("this process may lock memory beyond RLIMIT_MEMLOCK (CAP_IPC_LOCK)")
        assert found == {**found, "seeds_locked": False, "all_locked": False, "memlock_limit": 0}
        assert found["mlock_error"]  # the system's reason, which custody unlock prints
        assert _locked_kib(agent.pid) == 0
        # It still works: unlocked memory is a weaker guard, not a reason to stop the shift.
        assert agent.reply["keys"][0]["name"] == "op-tanaka"
    finally:
        _end(agent.pid)


# --- how it ends ---


def test_lock_ends_it_and_removes_the_socket(world: World, agents: list[int]) -> None:
    reply = unlock(world, agents)
    assert launch.lock() == reply["pid"]
    assert not paths.socket_path().exists()
    wait_until(lambda: gone(int(reply["pid"])), what="the agent to end after lock")
    assert launch.status() is None
    assert client.person_signer("op-tanaka", world.operator.verifier().public_key) is None


@pytest.mark.parametrize("which", ["idle", "shift"])
def test_it_ends_when_its_time_is_up(world: World, agents: list[int], which: str) -> None:
    reply = unlock(world, agents, idle=0.5) if which == "idle" else unlock(world, agents, shift=0.5)
    wait_until(lambda: gone(int(reply["pid"])), what=f"the agent to end after its {which} time")
    assert not paths.socket_path().exists()


def test_a_signature_keeps_it_from_idling_out() -> None:
    """The idle time counts from the last signature (on a manual clock: no test waits on time)."""
    from custody.ledger.approval import make_approval_text
    from custody.ledger.keyagent.hardening import LockedSeed
    from custody.ledger.keyagent.server import Agent, HeldKey
    from tests.world import approval_body

    now = [1000.0]
    public = signer("city-approver").verifier().public_key
    held = HeldKey("city-approver", "person", public, LockedSeed(key("city-approver").private_bytes_raw()))
    agent = Agent([held], None, shift_seconds=3600, idle_seconds=60, now=lambda: now[0])
    approval = make_approval_text("city.example.lg.jp/custody/2026-017/site-1",
                                  approval_body("takeout", "A-1", ["M-001"])).encode()
    request = {"op": "sign", "role": "person", "public": base64.b64encode(public).decode(),
               "message": base64.b64encode(approval).decode()}
    now[0] += 59
    assert not agent.expired()
    assert agent.handle(request)["ok"] is True
    now[0] += 59
    assert not agent.expired()  # 118 s after unlocking, 59 s after the signature
    assert agent.handle({"op": "hello"})["idle_left"] == 1
    now[0] += 1
    assert agent.expired()
    now[0] = 1000 + 3600
    agent.last_used = now[0]
    assert agent.expired()  # the shift is over, whatever the last signature
    agent.wipe()


def test_it_ends_when_its_folder_is_removed_at_logout(world: World, agents: list[int]) -> None:
    reply = unlock(world, agents)
    shutil.rmtree(paths.agent_dir())  # what the login manager does to XDG_RUNTIME_DIR when the user logs out
    wait_until(lambda: gone(int(reply["pid"])), what="the agent to end once its socket was gone")


def test_a_stale_socket_is_no_agent(world: World, agents: list[int]) -> None:
    reply = unlock(world, agents)
    os.kill(int(reply["pid"]), signal.SIGKILL)  # no chance to clean up
    wait_until(lambda: gone(int(reply["pid"])), what="the agent to die")
    assert paths.socket_path().exists()
    assert client.connect(fresh=True) is None
    again = unlock(world, agents)  # replaces the stale socket
    assert again["pid"] != reply["pid"]


def test_the_agent_tells_what_it_holds_without_key_material(world: World, agents: list[int]) -> None:
    unlock(world, agents, log=True)
    hello = request({"op": "hello"})
    text = json.dumps(hello)
    seed = base64.b64encode(key("op-tanaka").private_bytes_raw()).decode()
    assert seed not in text
    assert {k["name"] for k in hello["keys"]} == {"op-tanaka", "city.example.lg.jp/custody/2026-017/site-1"}


# --- judging a document against its schema (the command's check before signing, done by the agent) ---


def fits_request(schema: str, document: object, folder: str | None = None) -> dict[str, Any]:
    return request({"op": "fits", "schema": schema, "document": document,
                    "schemas": schemas.location() if folder is None else folder})


def test_the_agent_judges_a_body_against_its_schema(world: World, agents: list[int]) -> None:
    unlock(world, agents)
    good = {"media_id": "M-001", "person": "op-tanaka", "purpose": "データ移行作業"}
    assert fits_request("events/media.checked_out", good) == {"ok": True, "fits": True}
    cases: dict[str, tuple[str, object, str | None]] = {
        "a body that does not fit": ("events/media.checked_out", {**good, "media_id": "M 1"}, None),
        "a missing field": ("events/media.checked_out", {"media_id": "M-001"}, None),
        "not an object": ("events/media.checked_out", ["M-001"], None),
        "no such schema": ("events/media.teleported", good, None),
        "a schema name that is a path": ("../../etc/passwd", good, None),
        "another installation's schemas": ("events/media.checked_out", good, "/elsewhere/custody/schemas"),
    }
    for case, (schema, document, folder) in cases.items():
        assert fits_request(schema, document, folder) == {"ok": True, "fits": False}, case
    assert request({"op": "fits", "schema": "events/media.checked_out"}) == {"ok": True, "fits": False}
    held = client.person_signer("op-tanaka", world.operator.verifier().public_key)
    assert isinstance(held, client.AgentSigner)
    assert held.fits("events/media.checked_out", good) is True
    assert held.fits("events/media.checked_out", {"media_id": float("nan")}) is False  # not JSON: judged at home


def test_a_body_the_agent_does_not_accept_is_judged_by_the_command(world: World, agents: list[int]) -> None:
    """The same refusal and message with the agent as without: the command judges what the agent does not accept."""
    unlock(world, agents)
    held = client.person_signer("op-tanaka", world.operator.verifier().public_key)
    assert held is not None
    with Ledger.open(world.ledger_dir) as ledger:
        with pytest.raises(UsageError) as with_agent:
            act(ledger, "note.recorded", {"text": ""}, held)
        with pytest.raises(UsageError) as without:
            act(ledger, "note.recorded", {"text": ""}, world.operator)
        size = ledger.store.size
        act(ledger, "note.recorded", {"text": "点検"}, held)
        assert ledger.store.size == size + 1
    assert with_agent.value.message == without.value.message
    assert with_agent.value.exit_code == without.value.exit_code == 2


def test_schema_files_changed_under_a_running_agent_are_not_judged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                     ) -> None:
    """custody upgraded in place while an agent runs: the agent stops judging the schema whose files changed (the
    command judges it), rather than judge with what it read before."""
    from custody.ledger.keyagent.server import Agent

    agent = Agent([], None, shift_seconds=60, idle_seconds=60)
    copies = {}
    for name, path in schemas.files("events/note.recorded").items():
        copies[name] = tmp_path / f"{name.replace('/', '_')}.json"
        shutil.copy2(path, copies[name])
    monkeypatch.setattr(schemas, "files", lambda name: copies)
    asked = {"op": "fits", "schema": "events/note.recorded", "document": {"text": "点検"},
             "schemas": schemas.location()}
    assert agent.handle(asked) == {"ok": True, "fits": True}
    first = next(iter(copies.values()))
    first.write_bytes(first.read_bytes() + b"\n")
    assert agent.handle(asked) == {"ok": True, "fits": False}
    first.unlink()
    assert agent.handle(asked) == {"ok": True, "fits": False}
