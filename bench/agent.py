"""Benchmarks of the work-location agent on a real ledger (issue: custody agent run).

    python -m bench.agent [--files 10000] [--trials 10] [--idle 30] [--out bench/out]

Runs ``custody agent run`` as a subprocess (the product, signing into a real
ledger) and measures, from outside:

1. attach latency: a volume is mounted (``mount -t tmpfs`` when run as root,
   else a directory added to a mount-table file) -> its ``volume.attached``
   entry is committed (seen by a separate connection polling every 5 ms);
   median of N trials (target <= 2 s);
2. burst: 10,000 small files written to one volume as fast as possible -> how
   many are recorded in ``files.written`` with the right SHA-256 (target: all,
   0 missed), and how long the agent took;
3. idle CPU: user + system CPU time of the agent process over 30 s with one
   idle volume attached, as a percentage of one core (target <= 1 %).

Prints JSON and writes ``bench/out/agent.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import machine
from custody.ledger import workflow
from custody.ledger.entry import Entry
from custody.ledger.keyfile import write_key_file, write_passphrase_file
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer
from tests.helpers import LOG_PASSPHRASE, TEST_KDF_N, contract_toml, make_parties

ROOT = Path(__file__).resolve().parents[1]
AGENT = "agent-ws01"
BASE_TABLE = "22 27 0:21 / /proc rw,relatime - proc proc rw\n27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"


class Volumes:
    """Volumes under ``media``: real tmpfs mounts as root, else directories in a mount-table file."""

    def __init__(self, tmp: Path, real: bool) -> None:
        self.media = tmp / "media"
        self.media.mkdir()
        self.real = real
        self.table = tmp / "mountinfo"
        self.present: dict[Path, int] = {}
        self._next = 100
        if not real:
            self._write()

    def agent_args(self) -> list[str]:
        args = ["--media-root", str(self.media)]
        return args if self.real else [*args, "--mount-table", str(self.table)]

    def _write(self) -> None:
        lines = BASE_TABLE + "".join(
            f"{mid} 27 0:{mid} / {path} rw,relatime - tmpfs bench-{path.name} rw\n" for path, mid in self.present.items()
        )
        tmp = self.table.with_suffix(".tmp")
        tmp.write_text(lines)
        os.replace(tmp, self.table)

    def attach(self, name: str, size: str = "64m") -> Path:
        path = self.media / name
        path.mkdir()
        if self.real:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", f"bench-{name}", str(path)], check=True)
        else:
            self._next += 1
            self.present[path] = self._next
            self._write()
        return path

    def detach(self, path: Path) -> None:
        if self.real:
            for _ in range(100):
                if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode == 0:
                    return
                time.sleep(0.05)
            subprocess.run(["umount", "-l", str(path)], check=False)
        else:
            self.present.pop(path, None)
            self._write()

    def cleanup(self) -> None:
        if self.real:
            for path in sorted(self.media.iterdir()):
                if os.path.ismount(path):
                    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


class Reader:
    """Follows the ledger from another connection, as an auditor's tool would."""

    def __init__(self, ledger_dir: Path) -> None:
        self.ledger = Ledger.open(ledger_dir)
        self.pos = self.ledger.store.size

    def wait(self, predicate: Callable[[Entry], bool], timeout: float, poll: float = 0.005) -> tuple[Entry, float]:
        deadline = time.monotonic() + timeout
        while True:
            size = self.ledger.store.size
            while self.pos < size:
                entry = self.ledger.store.entry(self.pos)
                self.pos += 1
                if entry.actor == AGENT and predicate(entry):
                    return entry, time.perf_counter()
            if time.monotonic() > deadline:
                raise TimeoutError("the agent did not record the expected entry in time")
            time.sleep(poll)

    def agent_entries(self) -> list[Entry]:
        return [e for e in self.ledger.store.entries() if e.actor == AGENT]


def make_site(tmp: Path) -> tuple[Path, list[str]]:
    parties = make_parties()
    ledger = Ledger.create(tmp / "ledger", contract_toml=contract_toml(parties), responsible=parties.responsible,
                           log_key=Ed25519PrivateKey.generate(), log_passphrase=LOG_PASSPHRASE, kdf_n=TEST_KDF_N)
    key = Ed25519PrivateKey.generate()
    workflow.act(ledger, "personnel.registered", {
        "vkey": Signer(AGENT, key).verifier().vkey, "name": "bench agent", "organisation": "株式会社サンプル",
        "tier": "vendor", "role": "agent", "host": "bench"}, parties.responsible)
    ledger.close()
    write_key_file(tmp / "agent.key", AGENT, key, b"agent pass", n=TEST_KDF_N)
    write_passphrase_file(tmp / "agent.pass", b"agent pass")
    write_passphrase_file(tmp / "log.pass", LOG_PASSPHRASE)
    return tmp / "ledger", ["--key", str(tmp / "agent.key"), "--passphrase-file", str(tmp / "agent.pass"),
                            "--log-passphrase-file", str(tmp / "log.pass")]


def _volume_event(event_type: str, mount_point: Path) -> Callable[[Entry], bool]:
    """A predicate for ``Reader.wait``: the entry of ``event_type`` for the volume at ``mount_point``."""
    wanted = str(mount_point)
    return lambda e: e.type == event_type and e.body["mount_point"] == wanted


def attach_latency(volumes: Volumes, reader: Reader, trials: int) -> dict[str, object]:
    samples = []
    for i in range(trials):
        path = volumes.media / f"lat-{i}"
        volumes.attach(f"lat-{i}")
        t0 = time.perf_counter()
        _entry, t1 = reader.wait(_volume_event("volume.attached", path), timeout=30)
        samples.append(t1 - t0)
        volumes.detach(path)
        reader.wait(_volume_event("volume.detached", path), timeout=60)
    return {"trials": trials, "median_s": round(statistics.median(samples), 4), "max_s": round(max(samples), 4),
            "samples_s": [round(s, 4) for s in samples], "target": "<= 2 s"}


def burst(volumes: Volumes, reader: Reader, files: int) -> dict[str, object]:
    path = volumes.attach("burst", size="512m")
    attached, _t = reader.wait(lambda e: e.type == "volume.attached" and e.body["mount_point"] == str(path), timeout=30)
    expected: dict[str, str] = {}
    t0 = time.perf_counter()
    per_dir = 100
    for i in range(files):
        rel = f"d{i // per_dir:03}/f{i:05}.dat"
        if i % per_dir == 0:
            (path / rel).parent.mkdir()
        data = os.urandom(200 + (i * 37) % 1800)
        (path / rel).write_bytes(data)
        expected[rel] = hashlib.sha256(data).hexdigest()
    written_s = time.perf_counter() - t0
    recorded: dict[str, str | None] = {}
    entries = 0
    deadline = time.monotonic() + 600
    last = t0
    while len(recorded) < files and time.monotonic() < deadline:
        try:
            entry, last = reader.wait(lambda e: e.type == "files.written" and e.body["mount_point"] == str(path),
                                      timeout=max(1.0, deadline - time.monotonic()))
        except TimeoutError:
            break
        entries += 1
        for f in entry.body["files"]:
            recorded[f["path"]] = f["sha256"]
    missed = sum(1 for rel, digest in expected.items() if recorded.get(rel) != digest)
    volumes.detach(path)
    reader.wait(lambda e: e.type == "volume.detached" and e.body["mount_point"] == str(path), timeout=120)
    return {
        "files": files, "recorded": len(recorded), "missed": missed, "entries": entries,
        "write_s": round(written_s, 2), "all_recorded_after_s": round(last - t0, 2),
        "files_per_s": round(len(recorded) / max(last - t0, 1e-9)), "volume_id": attached.body["volume_id"],
        "target": "0 missed",
    }


def idle_cpu(volumes: Volumes, reader: Reader, pid: int, seconds: float) -> dict[str, object]:
    path = volumes.attach("idle")
    reader.wait(lambda e: e.type == "volume.attached" and e.body["mount_point"] == str(path), timeout=30)
    for i in range(100):
        (path / f"doc-{i:03}.txt").write_bytes(b"x" * 1000)
    reader.wait(lambda e: e.type == "files.written" and e.body["mount_point"] == str(path), timeout=30)
    time.sleep(5)  # let the batches and alerts settle
    proc = psutil.Process(pid)
    before = proc.cpu_times()
    t0 = time.perf_counter()
    time.sleep(seconds)
    after = proc.cpu_times()
    elapsed = time.perf_counter() - t0
    used = (after.user - before.user) + (after.system - before.system)
    volumes.detach(path)
    return {"seconds": round(elapsed, 1), "cpu_s": round(used, 3), "percent_of_one_core": round(100 * used / elapsed, 3),
            "with": "one idle volume attached (100 files), heartbeat 60 s, snapshot walk every 10 s",
            "target": "<= 1 %"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--out", type=Path, default=Path("bench/out"))
    ap.add_argument("--table", action="store_true", help="use a mount-table file even when root")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="custody-agent-bench-", dir=args.out)).resolve()
    real = os.name == "posix" and os.geteuid() == 0 and not args.table
    results: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d"),
                                  "volumes": "tmpfs mounts (/proc/self/mountinfo, poll)" if real
                                  else "directories in a mount-table file (stat every 0.2 s)"}
    volumes = Volumes(tmp, real)
    proc: subprocess.Popen[bytes] | None = None
    try:
        ledger_dir, key_args = make_site(tmp)
        env = {**os.environ, "CUSTODY_LANG": "en", "PYTHONPATH": str(ROOT)}
        log = tmp / "agent.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "custody.cli.main", "agent", "run", "--ledger",
                                     str(ledger_dir), *key_args, *volumes.agent_args()],
                                    stdout=subprocess.DEVNULL, stderr=fh, env=env, cwd=ROOT)
        reader = Reader(ledger_dir)
        reader.pos = 0
        reader.wait(lambda e: e.type == "agent.started", timeout=60)
        results["attach"] = attach_latency(volumes, reader, args.trials)
        print(json.dumps(results["attach"]), flush=True)
        results["burst"] = burst(volumes, reader, args.files)
        print(json.dumps(results["burst"]), flush=True)
        results["idle_cpu"] = idle_cpu(volumes, reader, proc.pid, args.idle)
        print(json.dumps(results["idle_cpu"]), flush=True)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        entries = reader.agent_entries()
        with Ledger.open(ledger_dir) as ledger:
            latest = ledger.latest_checkpoint()
            size = ledger.store.size
        results["run"] = {"exit": code, "agent_entries": len(entries), "ledger_size": size,
                          "last_checkpoint": latest[0] if latest else None,
                          "stopped": bool(entries) and entries[-1].type == "agent.stopped"}
        reader.ledger.close()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        volumes.cleanup()
        (args.out / ("agent-table.json" if args.table else "agent.json")).write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
