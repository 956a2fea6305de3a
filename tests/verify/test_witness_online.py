"""The online witness: a real HTTP server on 127.0.0.1 (a free port), real ledgers, real clients.

Every test stops the servers it starts; every request loop is bounded.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from custody.ledger.errors import StoreError
from custody.ledger.note import parse_note
from custody.ledger.witness_client import (
    WitnessRefusedError,
    WitnessUnreachableError,
    cosigned_size,
    submit_checkpoint,
    witness_url,
)
from custody.ledger.witness_protocol import CONTENT_TYPE_TLOG_SIZE, parse_size_response
from custody.verify.authority import Authority
from custody.verify.witness import Decision
from custody.verify.witness_http import Limits, WitnessServer
from tests.agents.conftest import wait_until
from tests.cli.conftest import Custody
from tests.helpers import LOG_PASSPHRASE
from tests.verify.witness_fixtures import (
    WITNESS_NAME,
    WITNESS_PASSPHRASE,
    World,
    checkpoint_of,
    fork_ledger,
    make_world,
)

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def running(server: WitnessServer) -> Iterator[str]:
    """Serve in a thread; always stop, even if the test fails."""
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
        assert not server.running


def submitter(world: World) -> Callable[[bytes], Decision]:
    return lambda body: world.authority.add_checkpoint(body, world.witness, int(time.time()))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path / "w")
    yield w
    w.close()


@pytest.fixture
def served(world: World) -> Iterator[str]:
    log = open(os.devnull, "w")  # noqa: SIM115
    server = WitnessServer(("127.0.0.1", 0), submitter(world), limits=Limits(deadline=2.0), log_stream=log)
    with running(server) as url, closing(log):
        yield url


def post(url: str, body: bytes, timeout: float = 10.0) -> tuple[int, bytes, str]:
    req = urllib.request.Request(witness_url(url), data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            return reply.status, reply.read(), reply.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), exc.headers.get("Content-Type", "")


# --- the client ---------------------------------------------------------------------------------


def test_submit_cosigns_and_merges(world: World, served: str) -> None:
    world.grow(2)
    names = submit_checkpoint(world.ledger, served)
    assert names == [WITNESS_NAME]
    size, note = world.ledger.latest_checkpoint()  # type: ignore[misc]
    assert [s.name for s in parse_note(note).signatures] == [world.ledger.origin, WITNESS_NAME]
    assert cosigned_size(world.ledger) == size
    head = world.authority.latest(world.ledger.origin)
    assert head is not None and head.size == size
    # The next one goes from there (old size = the cosigned size, with a proof).
    world.grow(3)
    assert submit_checkpoint(world.ledger, served + "/") == [WITNESS_NAME]
    assert world.authority.latest(world.ledger.origin).size == world.ledger.store.size  # type: ignore[union-attr]


def test_submit_follows_the_size_the_witness_reports(world: World, served: str) -> None:
    size = world.grow(2)
    # Cosigned elsewhere (offline), never imported: the ledger believes 0, the witness says `size`.
    assert world.authority.add_checkpoint(world.request(1), world.witness, 1).status == 200
    assert world.authority.add_checkpoint(world.request(size, old=1), world.witness, 2).status == 200
    assert cosigned_size(world.ledger) == 0
    world.grow(1)
    assert submit_checkpoint(world.ledger, served + "/add-checkpoint") == [WITNESS_NAME]
    assert [c["size"] for c in world.authority.journal(world.ledger.origin)] == [1, size, size + 1]


def test_submit_to_a_fresh_witness_cosigns_the_genesis_tree_first(world: World, served: str) -> None:
    """The witness's first cosignature is of size 1 (docs/spec.md §8.2): the client sends it, then the latest."""
    size = world.grow(4)
    assert submit_checkpoint(world.ledger, served) == [WITNESS_NAME]
    journal = world.authority.journal(world.ledger.origin)
    assert [c["size"] for c in journal] == [1, size]
    assert cosigned_size(world.ledger) == size
    # Both checkpoints in the vendor's ledger now carry the witness's cosignature.
    for s in (1, size):
        assert [g.name for g in parse_note(world.ledger.store.checkpoint(s) or b"").signatures][-1] == WITNESS_NAME


def test_cli_checkpoint_submit(world: World, served: str, tmp_path: Path) -> None:
    world.note(2)
    custody = Custody(tmp_path)
    env = {"CUSTODY_LOG_PASSPHRASE": LOG_PASSPHRASE.decode()}
    run = custody("checkpoint", "-l", str(world.root / "ledger"), "--submit", served, "--json", env=env)
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["cosigned_by"] == [WITNESS_NAME] and doc["size"] == 3
    run = custody("checkpoint", "-l", str(world.root / "ledger"), "--submit", served, env=env)
    assert run.code == 0 and WITNESS_NAME in run.stdout


def test_forked_ledger_is_refused(world: World, served: str, tmp_path: Path) -> None:
    world.grow(1)
    assert submit_checkpoint(world.ledger, served)
    # Two forks: same origin, log key, genesis and cosigned prefix; other entries after it.
    longer = fork_ledger(world, tmp_path / "fork-longer")
    same = fork_ledger(world, tmp_path / "fork-same")
    try:
        honest = world.grow(2)
        assert submit_checkpoint(world.ledger, served)
        for i in range(4):
            longer.append("note.recorded", {"text": f"rewritten {i}"}, world.parties.responsible)
        longer.checkpoint(world.log)
        for i in range(2):
            same.append("note.recorded", {"text": f"rewritten {i}"}, world.parties.responsible)
        assert same.checkpoint(world.log).size == honest
        # Longer: after the retry from the witness's size, its proof cannot verify (422).
        with pytest.raises(WitnessRefusedError) as info:
            submit_checkpoint(longer, served)
        assert info.value.status == 422 and info.value.exit_code == 3
        # At the very size the witness holds, another root: 409.
        with pytest.raises(WitnessRefusedError) as info:
            submit_checkpoint(same, served)
        assert info.value.status == 409
        head = world.authority.latest(world.ledger.origin)
        assert head is not None and head.size == honest and head.root_hash == world.ledger.store.root(honest)
        assert len(world.authority.evidence(world.ledger.origin)) == 2
        # Neither fork's checkpoint carries a cosignature.
        assert cosigned_size(longer) < honest and cosigned_size(same) < honest
    finally:
        longer.close()
        same.close()


def test_unreachable_witness(world: World, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(WitnessUnreachableError, match="connection refused") as info:
        submit_checkpoint(world.ledger, f"http://127.0.0.1:{port}")
    assert info.value.exit_code == 1
    # The CLI: exit 1, and the checkpoint stays signed and stored.
    world.note(1)
    run = Custody(tmp_path)("checkpoint", "-l", str(world.root / "ledger"), "--submit", f"http://127.0.0.1:{port}",
                            env={"CUSTODY_LOG_PASSPHRASE": LOG_PASSPHRASE.decode()})
    assert run.code == 1 and "connection refused" in run.stderr
    assert world.ledger.store.checkpoint(world.ledger.store.size) is not None


def test_silent_witness_times_out(world: World) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)  # accepts the connection in the backlog, never answers
        with pytest.raises(WitnessUnreachableError, match="no answer"):
            submit_checkpoint(world.ledger, f"http://127.0.0.1:{s.getsockname()[1]}", timeout=0.5)


def test_bad_urls(world: World) -> None:
    from custody.ledger.errors import UsageError

    for url in ("file:///etc/passwd", "127.0.0.1:8400", "ftp://x/"):
        with pytest.raises(UsageError):
            submit_checkpoint(world.ledger, url)
    assert witness_url("http://w.example/prefix/") == "http://w.example/prefix/add-checkpoint"
    assert witness_url("http://w.example/add-checkpoint") == "http://w.example/add-checkpoint"


def test_no_checkpoint_yet_is_a_store_error(world: World, served: str) -> None:
    # A ledger always has the genesis checkpoint; make one without any.
    world.ledger.store._db.execute("DELETE FROM checkpoints")
    with pytest.raises(StoreError, match="no checkpoint"):
        submit_checkpoint(world.ledger, served)


# --- HTTP details -------------------------------------------------------------------------------


def _conn(url: str) -> http.client.HTTPConnection:
    port = int(url.rsplit(":", 1)[1])
    return http.client.HTTPConnection("127.0.0.1", port, timeout=5)


def test_http_interface(world: World, served: str) -> None:
    size = world.grow(1)
    conn = _conn(served)
    try:
        conn.request("GET", "/add-checkpoint")
        r = conn.getresponse()
        assert r.status == 405 and r.getheader("Allow") == "POST"
        r.read()
        conn.request("POST", "/other", body=b"x")
        r = conn.getresponse()
        assert r.status == 404
        r.read()
        # Keep-alive: the same connection serves the next requests.
        conn.request("POST", "/add-checkpoint", body=world.request(1, old=0))
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Content-Type", "") == "text/plain; charset=utf-8"
        assert r.getheader("Cache-Control") == "no-store"
        body = r.read()
        assert body.startswith(f"— {WITNESS_NAME} ".encode()) and body.endswith(b"\n")
        conn.request("POST", "/add-checkpoint", body=world.request(size, old=0))
        r = conn.getresponse()
        assert r.status == 409 and r.getheader("Content-Type") == CONTENT_TYPE_TLOG_SIZE
        assert parse_size_response(r.read()) == 1
        conn.request("POST", "/add-checkpoint?x=1", body=world.request(size, old=1))
        r = conn.getresponse()
        assert r.status == 200
        r.read()
    finally:
        conn.close()
    status, _, _ = post(served, b"old 0\n\nnot a checkpoint\n")
    assert status == 400


def test_body_limit_length_and_deadline(world: World, tmp_path: Path) -> None:
    log_path = tmp_path / "witness.log"
    with log_path.open("w") as log:
        server = WitnessServer(("127.0.0.1", 0), submitter(world), limits=Limits(deadline=1.0, max_body=1000),
                               log_stream=log)
        with running(server) as url:
            status, _, _ = post(url, b"x" * 5000)
            assert status == 413
            port = server.port
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\n\r\n")
                assert b" 411 " in s.recv(1000)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                assert b" 411 " in s.recv(1000)
            # A client that announces a body and never sends all of it is answered 408 and closed once the
            # deadline (1 s here; the default is 10 s) has passed: a close seen within the client's 20 s is it.
            with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
                s.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nold")
                assert _read_to_close(s).startswith(b"HTTP/1.1 408 ")
            # ...and the server still answers others.
            assert post(url, world.request())[0] == 200
    text = log_path.read_text()
    assert "Traceback" not in text, text
    assert [line.split(": ", 1)[1].split()[1] for line in text.splitlines()] == ["413", "411", "411", "408", "200"], text


def _read_to_close(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the socket's timeout bounds each read)."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


# --- concurrency --------------------------------------------------------------------------------


def _successive(world: World, n: int) -> list[int]:
    return [world.grow(1) for _ in range(n)]


def _bodies(world: World, sizes: list[int]) -> dict[tuple[int, int], bytes]:
    olds = [0, 1, *sizes]
    return {(o, s): world.request(s, old=o) for s in sizes for o in olds if o <= s}


def _seed(world: World) -> None:
    """The witness's first cosignature, of the genesis tree (size 1): later ones follow from it."""
    assert world.authority.add_checkpoint(world.request(1), world.witness, int(time.time())).ok


def _hammer(urls: list[str], bodies: dict[tuple[int, int], bytes], sizes: list[int],
            threads: int, rounds: int) -> list[tuple[int, int]]:
    """Each job submits one checkpoint, starting from old size 0 and following 409s (at most 6 tries).
    Returns (size, status) of each job's last answer."""
    rng = random.Random(7)
    jobs = [(s, rng.choice(urls)) for s in sizes for _ in range(rounds)]
    rng.shuffle(jobs)

    def job(item: tuple[int, str]) -> tuple[int, int]:
        size, url = item
        old = 0
        status = 0
        for _ in range(6):
            status, body, ctype = post(url, bodies[(old, size)])
            if status != 409:
                return size, status
            assert ctype == CONTENT_TYPE_TLOG_SIZE
            reported = parse_size_response(body)
            if reported > size or reported == old:
                return size, 409  # superseded by a larger checkpoint, or the same size: done
            old = reported
        return size, status

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(job, jobs))


def _assert_linear(world: World, results: list[tuple[int, int]], authority: Authority | None = None) -> None:
    authority = authority or world.authority
    origin = world.ledger.origin
    assert {status for _s, status in results} <= {200, 409}, results
    cosigned = [s for s, status in results if status == 200]
    assert cosigned, "nothing was cosigned"
    journal = authority.journal(origin)
    sizes = [entry["size"] for entry in journal]
    # Linear: the witness's size never went down, and no update was lost.
    assert sizes == sorted(sizes), sizes
    assert sizes[0] == 1 and len(journal) == 1 + len(cosigned)  # the seed, then one line per 200
    head = authority.latest(origin)
    assert head is not None and head.size == max(cosigned) == sizes[-1]
    # No fork: every cosigned root is the ledger's root at that size.
    for entry in journal:
        stored = checkpoint_of(world.ledger.store.checkpoint(entry["size"]) or b"")
        assert stored.root_hash == base64.b64decode(entry["root_hash"])
    for size, note in authority.cosigned_checkpoints(origin):
        assert checkpoint_of(note).root_hash == world.ledger.store.root(size)


def test_concurrent_threads_keep_the_state_linear(world: World) -> None:
    sizes = _successive(world, 12)
    bodies = _bodies(world, sizes)
    _seed(world)
    server = WitnessServer(("127.0.0.1", 0), submitter(world), log_stream=open(os.devnull, "w"))  # noqa: SIM115
    with running(server) as url:
        results = _hammer([url], bodies, sizes, threads=12, rounds=3)
    server.log_stream.close()  # type: ignore[union-attr]
    _assert_linear(world, results)
    assert world.authority.latest(world.ledger.origin).size == sizes[-1]  # type: ignore[union-attr]


@contextmanager
def serve_process(authority: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``custody witness serve`` in its own process on a free port; SIGTERM on the way out."""
    env = {**os.environ, "CUSTODY_PASSPHRASE": WITNESS_PASSPHRASE.decode(), "CUSTODY_LANG": "en",
           "PYTHONPATH": str(ROOT)}
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "custody.cli.main", "witness", "serve", "--authority", str(authority),
             "--listen", "127.0.0.1:0", "--timeout", "5"],
            stdout=subprocess.DEVNULL, stderr=fh, env=env, cwd=ROOT,
        )
    try:
        def listening() -> re.Match[str] | None:
            return re.search(r"listening on http://127\.0\.0\.1:(\d+)/add-checkpoint", log.read_text())

        wait_until(lambda: listening() or proc.poll() is not None, interval=0.05,
                   what=lambda: f"the witness server did not say where it listens:\n{log.read_text()}")
        found = listening()
        assert found is not None, log.read_text()  # it ended before listening
        port = int(found.group(1))
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            raise


def test_two_server_processes_on_one_trust_store(world: World, tmp_path: Path) -> None:
    sizes = _successive(world, 10)
    bodies = _bodies(world, sizes)
    _seed(world)
    with serve_process(world.authority.path, tmp_path / "s1.log") as (url1, p1), \
            serve_process(world.authority.path, tmp_path / "s2.log") as (url2, p2):
        results = _hammer([url1, url2], bodies, sizes, threads=10, rounds=3)
        p1.send_signal(signal.SIGTERM)
        p2.send_signal(signal.SIGTERM)
        assert p1.wait(timeout=15) == 0 and p2.wait(timeout=15) == 0
    for log in ("s1.log", "s2.log"):
        text = (tmp_path / log).read_text()
        assert "stopped" in text and (" 200 " in text or " 409 " in text), text
    _assert_linear(world, results, Authority.open(world.authority.path))


def test_concurrent_vendor_processes_submit(world: World, tmp_path: Path) -> None:
    """Several ``custody checkpoint --submit`` processes on one growing ledger."""
    ledger_dir = world.root / "ledger"
    env = {**os.environ, "CUSTODY_LOG_PASSPHRASE": LOG_PASSPHRASE.decode(), "CUSTODY_LANG": "en",
           "PYTHONPATH": str(ROOT)}
    with serve_process(world.authority.path, tmp_path / "s.log") as (url, _proc):
        procs = []
        for _ in range(4):
            world.note(1)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "custody.cli.main", "checkpoint", "-l", str(ledger_dir), "--submit", url,
                 "--json"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
            ))
        outcomes: list[tuple[int, str, str]] = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=60)
            outcomes.append((p.returncode, stdout.decode(), stderr.decode()))
    for code, _out, message in outcomes:
        # 3: a concurrent submission already got a larger checkpoint cosigned.
        assert code == 0 or (code == 3 and "already cosigned" in message), message
    assert any(code == 0 for code, _o, _e in outcomes)
    sizes = [e["size"] for e in world.authority.journal(world.ledger.origin)]
    assert sizes == sorted(sizes)
    for size, note in world.authority.cosigned_checkpoints(world.ledger.origin):
        assert checkpoint_of(note).root_hash == world.ledger.store.root(size)


def test_serve_stops_on_sigint_and_reports_bad_listen(world: World, tmp_path: Path) -> None:
    with serve_process(world.authority.path, tmp_path / "s.log") as (url, proc):
        assert post(url, world.request())[0] == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    assert "stopped" in (tmp_path / "s.log").read_text()
    custody = Custody(tmp_path)
    run = custody("witness", "serve", "-a", str(world.authority.path), "--listen", "nonsense",
                  env={"CUSTODY_PASSPHRASE": WITNESS_PASSPHRASE.decode()})
    assert run.code == 2
