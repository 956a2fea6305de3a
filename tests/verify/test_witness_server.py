"""The witness's HTTP server under pressure (verify/witness_http.py), on 127.0.0.1 with real sockets.

Slow clients do not stop others from being answered; a request not complete within the deadline is closed
however steadily it trickles; connections and decisions beyond their caps get 503 at once; a body beyond the
limit gets 413; the log has one line per request and no traceback.  No assertion is about time: every wait
is a bounded wait for a condition (tests/agents/conftest.py ``wait_until``), and every trickling loop stops
on an event.
"""

from __future__ import annotations

import http.client
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from custody.cli import municipality
from custody.ledger.witness_client import WitnessUnreachableError, submit_checkpoint
from custody.verify import witness_http
from custody.verify.witness import DEFAULT_MAX_BODY
from custody.verify.witness_http import Limits, WitnessServer
from tests.agents.conftest import wait_until
from tests.verify.witness_fixtures import WITNESS_NAME, World, make_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path / "w")
    yield w
    w.close()


@contextmanager
def serving(world: World, log: Path, limits: Limits) -> Iterator[WitnessServer]:
    with log.open("w") as stream:
        server = WitnessServer(("127.0.0.1", 0),
                               lambda body: world.authority.add_checkpoint(body, world.witness, int(time.time())),
                               limits=limits, log_stream=stream)
        with server:
            yield server


def post(port: int, body: bytes) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/add-checkpoint", body=body)
        reply = conn.getresponse()
        return reply.status, reply.read(), {k.lower(): v for k, v in reply.getheaders()}
    finally:
        conn.close()


class Trickle:
    """``n`` connections that each send an incomplete request and then one more byte every ``every`` seconds,
    until stopped (a connection the server closes is left closed)."""

    def __init__(self, port: int, n: int, every: float = 0.2, *, body: bool = False) -> None:
        self.socks: list[socket.socket] = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n"
                      + (b"Content-Length: 60000\r\n\r\nold " if body else b"X-Slow: "))
            self.socks.append(s)
        self.every = every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            for s in self.socks:
                try:
                    s.sendall(b"1")
                except OSError:
                    continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        for s in self.socks:
            s.close()


def statuses(log: Path) -> list[str]:
    """The status of each request line in the witness's log ("-" for a client that went away)."""
    out = []
    for line in log.read_text().splitlines():
        words = line.split(": ", 1)[1].split()
        out.append(words[1])
    return out


@pytest.mark.parametrize("body", [False, True], ids=["slow headers", "slow body"])
def test_slow_clients_do_not_stop_a_cosignature(world: World, tmp_path: Path, body: bool) -> None:
    """50 connections trickling a byte each 0.2 s: the vendor's submission is still answered and cosigned."""
    size = world.grow(3)
    log = tmp_path / "witness.log"
    with serving(world, log, Limits(deadline=300)) as server:
        slow = Trickle(server.port, 50, body=body)
        try:
            wait_until(lambda: server.open_connections >= 50, what="the slow connections to be open")
            assert submit_checkpoint(world.ledger, f"http://127.0.0.1:{server.port}") == [WITNESS_NAME]
            assert server.open_connections >= 50  # they were all still there
        finally:
            slow.close()
    head = world.authority.latest(world.ledger.origin)
    assert head is not None and head.size == size
    text = log.read_text()
    assert "Traceback" not in text and statuses(log).count("200") == 2, text  # the genesis tree, then `size`


@pytest.mark.parametrize("body", [False, True], ids=["slow headers", "slow body"])
def test_a_trickling_request_is_closed_at_the_deadline(world: World, tmp_path: Path, body: bool) -> None:
    """A client that keeps sending a byte every 0.2 s -- so that no read ever waits long -- is answered 408
    and closed once the whole-request deadline (1 s here) has passed.  A per-read timeout never would."""
    log = tmp_path / "witness.log"
    with serving(world, log, Limits(deadline=1.0)) as server:
        slow = Trickle(server.port, 1, body=body)
        try:
            conn = slow.socks[0]
            conn.settimeout(30)  # bounds the wait: the deadline is 1 s
            received = b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                received += chunk
            assert received.startswith(b"HTTP/1.1 408 ")
            assert b"Connection: close" in received
            assert not slow.stop.is_set()  # it was still trickling when the server closed it
        finally:
            slow.close()
        assert post(server.port, world.request(1))[0] == 200  # the server goes on
    assert statuses(log) == ["408", "200"], log.read_text()
    assert "Traceback" not in log.read_text()


def test_connections_beyond_the_cap_get_503_at_once(world: World, tmp_path: Path) -> None:
    log = tmp_path / "witness.log"
    with serving(world, log, Limits(max_connections=5, deadline=300)) as server, ExitStack() as held:
        idle = [held.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=5))
                for _ in range(5)]
        wait_until(lambda: server.open_connections == 5, what="five open connections")
        status, text, headers = post(server.port, world.request(1))
        assert status == 503 and b"too many open connections" in text
        assert headers["retry-after"] == "1" and headers["cache-control"] == "no-store"
        for s in idle:
            s.close()
        wait_until(lambda: server.open_connections == 0, what="the idle connections to be closed")
        assert post(server.port, world.request(1))[0] == 200
    logged = log.read_text()
    assert "503 refused: more than 5 open connections" in logged and "Traceback" not in logged


def test_decisions_beyond_the_cap_get_503_and_the_others_finish(world: World, tmp_path: Path) -> None:
    """Two requests wait on the origin's lock (held here, as another witness process would); the third finds
    both decision slots taken and is answered 503 at once; released, the two finish."""
    log = tmp_path / "witness.log"
    body = world.request(1)
    with serving(world, log, Limits(max_requests=2)) as server, ThreadPoolExecutor(2) as pool:
        with world.authority.lock(world.ledger.origin):
            waiting = [pool.submit(post, server.port, body) for _ in range(2)]
            wait_until(lambda: server.deciding == 2, what="two requests being decided")
            status, text, headers = post(server.port, body)
            assert status == 503 and b"busy" in text and headers["retry-after"] == "1"
            assert not any(f.done() for f in waiting)
        answers = sorted(f.result(timeout=30)[0] for f in waiting)
    assert answers == [200, 409]  # the first cosigned size 1; the second's old size 0 is no longer the witness's
    assert sorted(statuses(log)) == ["200", "409", "503"], log.read_text()


def test_a_busy_witness_is_unreachable_for_now_to_the_client(world: World, tmp_path: Path) -> None:
    """The vendor's client treats 503 as 'try again later' (exit 1, the checkpoint kept), not as a refusal."""
    with serving(world, tmp_path / "witness.log", Limits(max_connections=1, deadline=300)) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=5):
        wait_until(lambda: server.open_connections == 1, what="one open connection")
        with pytest.raises(WitnessUnreachableError, match="busy") as info:
            submit_checkpoint(world.ledger, f"http://127.0.0.1:{server.port}")
        assert info.value.exit_code == 1


def test_body_limits(world: World, tmp_path: Path) -> None:
    log = tmp_path / "witness.log"
    with serving(world, log, Limits(max_body=2000)) as server:
        status, text, headers = post(server.port, b"x" * 2001)
        assert status == 413 and b"2000" in text and headers["connection"] == "close"
        # Refused from the Content-Length alone: a client announcing a huge body sends none of it.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 9999999999\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 413 ")
        # Headers beyond MAX_HEADER_BYTES: h11 refuses them (400), one log line, no traceback.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(b"POST /add-checkpoint HTTP/1.1\r\nX: " + b"a" * (witness_http.MAX_HEADER_BYTES + 10))
            assert s.recv(4096).startswith(b"HTTP/1.1 400 ")
        assert post(server.port, world.request(1))[0] == 200
    logged = log.read_text()
    assert statuses(log) == ["413", "413", "400", "200"], logged
    assert "Traceback" not in logged


def test_clients_that_vanish_leave_one_line_each_and_no_traceback(world: World, tmp_path: Path) -> None:
    """Disconnects at every stage: before the headers end, in the body, and before reading the answer."""
    log = tmp_path / "witness.log"
    with serving(world, log, Limits()) as server:
        port = server.port
        for data in (b"POST /add-checkpoint HTTP/1.1\r\nHo",
                     b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 500\r\n\r\nold 0\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(data)
        request = world.request(1)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: %d\r\n\r\n" % len(request)
                      + request)
            wait_until(lambda: "200" in statuses(log), what="the request to be decided")
            # Closed with the answer unread, by a reset (SO_LINGER 0).
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        wait_until(lambda: server.open_connections == 0, what="every connection to be closed")
        assert post(port, world.request(1))[0] == 409  # it was cosigned although nobody read the answer
    text = log.read_text()
    assert "Traceback" not in text and "Error" not in text, text
    assert statuses(log).count("-") == 1, text  # the body cut short; the unfinished headers are not a request


def test_cli_defaults_are_the_servers() -> None:
    """The CLI repeats the server's defaults so that its help does not import uvicorn."""
    assert municipality.DEFAULT_DEADLINE == witness_http.DEFAULT_DEADLINE
    assert municipality.DEFAULT_MAX_CONNECTIONS == witness_http.DEFAULT_MAX_CONNECTIONS
    assert municipality.DEFAULT_MAX_REQUESTS == witness_http.DEFAULT_MAX_REQUESTS
    assert Limits().max_body == DEFAULT_MAX_BODY


@pytest.mark.parametrize("bad", [{"deadline": 0}, {"max_body": 0}, {"max_connections": 0}, {"max_requests": -1}])
def test_limits_must_be_positive(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        Limits(**bad)  # type: ignore[arg-type]


def test_the_open_file_limit_bounds_the_connections(tmp_path: Path) -> None:
    """With a low open-file limit the cap shrinks so that the store and refused connections always have
    descriptors (in a process of its own: a lowered hard limit cannot always be raised again)."""
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))\n"
        "from custody.verify.witness_http import WitnessServer\n"
        "server = WitnessServer(('127.0.0.1', 0), lambda body: None, log_stream=sys.stdout)\n"
        "print('cap', server.limits.max_connections)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "CUSTODY_LANG": "en"})
    assert proc.returncode == 0, proc.stderr
    assert "allows 768 connections, not 1024" in proc.stdout and "cap 768" in proc.stdout
