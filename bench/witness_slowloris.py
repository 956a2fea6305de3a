"""How long a normal cosign request takes while slow clients hold the witness (issue 20, item 6).

    python -m bench.witness_slowloris [--clients 300] [--interval 3] [--requests 5] [--timeout 60]

Starts ``custody witness serve`` as its own process on 127.0.0.1 (a free
port) over a fresh trust store that pinned a fresh ledger, then, from this
process, keeps ``--clients`` connections open that each send an incomplete
request one byte every ``--interval`` seconds (a connection the witness closes
is opened again, so the pressure stays constant).  Once they all trickle, it
submits ``--requests`` ordinary add-checkpoint requests one after another
(sizes 1, 2, ... each from the size before) and prints, for each, the time to
its answer (a 503 is tried again after its Retry-After, and a connection closed
at once a second later, as the vendor's agent would; both are counted) or that none came within ``--timeout`` seconds.  Loopback only;
the loops are bounded by ``--requests`` and ``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import machine
from tests.verify.witness_fixtures import WITNESS_PASSPHRASE, make_world

ROOT = Path(__file__).resolve().parents[1]


class Trickler:
    """``clients`` slow connections in an event loop of its own thread."""

    def __init__(self, port: int, clients: int, interval: float, mode: str = "headers") -> None:
        self.port, self.clients, self.interval = port, clients, interval
        # headers: a header line that never ends; body: complete headers, then a body a byte at a time.
        self.opening = (b"POST /add-checkpoint HTTP/1.1\r\nHost: witness\r\n" if mode == "headers" else
                        b"POST /add-checkpoint HTTP/1.1\r\nHost: witness\r\nContent-Length: 60000\r\n\r\n")
        self.open = 0
        self.dropped = 0
        self.started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self.started.wait(60):
            raise SystemExit("the slow clients could not connect within 60 s")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        ready = asyncio.Semaphore(0)
        tasks = [asyncio.create_task(self._client(i, ready)) for i in range(self.clients)]
        for _ in range(self.clients):
            await ready.acquire()
        self.started.set()
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _client(self, index: int, ready: asyncio.Semaphore) -> None:
        first = True
        assert self._stop is not None
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(self.interval)
                continue
            self.open += 1
            try:
                writer.write(self.opening)
                await writer.drain()
                if first:
                    ready.release()
                    first = False
                # One byte of a header that never ends, then wait; a closed connection ends the loop.
                while not self._stop.is_set():
                    try:
                        data = await asyncio.wait_for(reader.read(1024), self.interval)
                    except TimeoutError:
                        writer.write(b"X")
                        await writer.drain()
                        continue
                    if not data:
                        break
            except (OSError, ConnectionError):
                pass
            finally:
                self.open -= 1
                self.dropped += 1
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=300)
    ap.add_argument("--interval", type=float, default=3.0, help="seconds between a slow client's bytes")
    ap.add_argument("--requests", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=60.0, help="the normal client's timeout, seconds")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of trickling before the first request")
    ap.add_argument("--mode", choices=("headers", "body"), default="headers",
                    help="what a slow client sends slowly")
    ap.add_argument("--server-nofile", type=int, default=0,
                    help="the witness process's open-file limit (0: inherited), e.g. 1024, a common default")
    ap.add_argument("--serve-args", default="", help="more options for 'custody witness serve'")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="custody-slowloris-"))
    world = make_world(tmp / "w")
    sizes = [1] + [world.grow(1) for _ in range(args.requests - 1)]
    bodies = [world.request(size, old=old) for old, size in zip([0, *sizes], sizes, strict=False)]
    authority = world.authority.path
    world.close()
    log = tmp / "witness.log"
    env = {**os.environ, "CUSTODY_PASSPHRASE": WITNESS_PASSPHRASE.decode(), "CUSTODY_LANG": "en",
           "PYTHONPATH": str(ROOT)}
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "custody.cli.main", "witness", "serve", "--authority", str(authority),
             "--listen", "127.0.0.1:0", *args.serve_args.split()],
            stdout=subprocess.DEVNULL, stderr=fh, env=env, cwd=ROOT,
        )
    if args.server_nofile:
        # Set while the process still imports, long before it opens its socket.
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (args.server_nofile,) * 2)
    times: list[float | None] = []
    statuses: list[int | None] = []
    busy = 0
    closed_at_once = 0
    try:
        deadline = time.monotonic() + 60
        port = None
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read_text())
            port = int(found.group(1)) if found else None
            time.sleep(0.05)
        if port is None:
            print(log.read_text())
            return 1
        trickler = Trickler(port, args.clients, args.interval, args.mode)
        trickler.start()
        time.sleep(args.warmup)
        for body in bodies:
            # As the vendor's agent would: a 503 (busy) is tried again after its Retry-After, within the timeout.
            start = time.perf_counter()
            status: int | None = None
            while time.perf_counter() - start < args.timeout:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=args.timeout)
                try:
                    conn.request("POST", "/add-checkpoint", body=body)
                    reply = conn.getresponse()
                    reply.read()
                    status = reply.status
                except ConnectionError as exc:  # closed at once over the connection cap: try again, as for 503
                    closed_at_once += 1
                    print(f"closed at once: {type(exc).__name__} after {time.perf_counter() - start:.1f} s")
                    time.sleep(1)
                    continue
                except (OSError, http.client.HTTPException) as exc:
                    print(f"no answer: {type(exc).__name__}: {exc} after {time.perf_counter() - start:.1f} s")
                    status = None
                    break
                finally:
                    conn.close()
                if status != 503:
                    break
                busy += 1
                time.sleep(float(reply.getheader("Retry-After") or 1))
            statuses.append(status)
            times.append(None if status is None else time.perf_counter() - start)
        open_now, dropped = trickler.open, trickler.dropped
        trickler.stop()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    answered = [t for t in times if t is not None]
    result = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "clients": args.clients,
        "interval_s": args.interval,
        "mode": args.mode,
        "serve_args": args.serve_args,
        "server_nofile": args.server_nofile or resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "statuses": statuses,
        "busy_503_retried": busy,
        "closed_at_once_retried": closed_at_once,
        "seconds": [None if t is None else round(t, 4) for t in times],
        "median_answered_s": round(statistics.median(answered), 4) if answered else None,
        "slow_connections_open_at_end": open_now,
        "slow_connections_closed_by_witness": dropped,
        "log_lines": len(text.splitlines()),
        "log_tracebacks": text.count("Traceback"),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "witness_slowloris.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(s == 200 for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
