"""Shared pieces of the benchmarks: limits measured in the same run, RSS sampling."""

from __future__ import annotations

import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import apsw
import psutil
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def raw_sign_rate(seconds: float = 2.0) -> float:
    key = Ed25519PrivateKey.generate()
    msg = b"x" * 300
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            key.sign(msg)
        n += 200
    return n / (time.perf_counter() - start)


Signed = tuple[Ed25519PublicKey, bytes, bytes]  # (key, signature, message) as OpenSSL is given them


def _x300() -> list[Signed]:
    key = Ed25519PrivateKey.generate()
    msg = b"x" * 300
    return [(key.public_key(), key.sign(msg), msg)]


def raw_verify_rate(seconds: float = 2.0, signed: Sequence[Signed] | None = None) -> float:
    """Single-core Ed25519 verify rate of ``signed`` -- (public key, signature, message), each key object reused
    as the verifier's key registry reuses it -- in turn; by default one 300-byte message."""
    signed = signed or _x300()
    rounds = max(1, 200 // len(signed))
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(rounds):
            for key, sig, msg in signed:
                key.verify(sig, msg)
        n += rounds * len(signed)
    return n / (time.perf_counter() - start)


_SIGNED: list[Signed] = []  # what raw_verify_rate_all_cores' forked processes verify (key objects do not pickle)


def _raw_verify_rate_forked(seconds: float) -> float:
    return raw_verify_rate(seconds, _SIGNED)


def raw_verify_rate_all_cores(seconds: float = 3.0, signed: Sequence[Signed] | None = None) -> list[float]:
    """The raw verify rate of each core while every core verifies at once (one process per core).

    On a virtual machine the cores need not add up: here two processes
    verifying at once reach ~0.7 x twice the single-core rate (shared physical
    cores), so ``cores x raw_verify_rate()`` is a rate no program can reach.
    Both limits are reported; this one is what the machine can actually do.
    """
    import multiprocessing

    _SIGNED[:] = signed or ()
    cores = os.cpu_count() or 1
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        return list(pool.map(_raw_verify_rate_forked, [seconds] * cores))


def bundle_signatures(bundle_dir: Path, every: int = 500) -> list[Signed]:
    """Every ``every``-th entry of a bundle as the verifier checks its signature: the signer's public key, the
    signature, and the signed message (the leaf without its sig member, after the entry context) -- the
    physical floor of verifying that bundle is verifying these, nothing else.  The keys come from the
    bundle's own personnel entries, as the verifier's first pass reads them."""
    from custody.ledger.bundle import Bundle
    from custody.ledger.entry import KEY_ID_SIZE, _signed_message_from_leaf, parse_fields
    from custody.verify.context import Context
    from custody.verify.pool import registry_lines
    from custody.verify.rules.entries import build_registry
    from custody.verify.trust import from_bundle_unpinned

    with Bundle(bundle_dir) as bundle:
        registry = build_registry(registry_lines(bundle, 1), Context(trust=from_bundle_unpinned(bundle)))
    out: list[Signed] = []
    with (bundle_dir / "entries.jsonl").open("rb") as stream:
        for seq, line in enumerate(stream):
            if seq % every:
                continue
            leaf = line.rstrip(b"\n")
            obj, _prev, sig = parse_fields(leaf)
            _status, verifier = registry.key_status(obj["actor"], sig[:KEY_ID_SIZE], seq)
            assert verifier is not None, seq
            key = Ed25519PublicKey.from_public_bytes(verifier.public_key)
            out.append((key, sig[KEY_ID_SIZE:], _signed_message_from_leaf(leaf)))
    return out


class BareInsert:
    """The limit for durable appends: bare apsw, WAL + synchronous=FULL, one ~400-byte row per transaction.

    The statements go through one reused cursor, as the store's append does
    (Connection.execute makes a cursor per call): the limit stays the fastest
    plain apsw loop.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._db = apsw.Connection(str(directory / "raw.db"))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE t(seq INTEGER PRIMARY KEY, leaf BLOB NOT NULL) STRICT")
        self._cursor = self._db.cursor()
        self._blob = b"y" * 400
        self._seq = 0

    def one(self) -> None:
        cursor = self._cursor
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("INSERT INTO t VALUES(?, ?)", (self._seq, self._blob))
        cursor.execute("COMMIT")
        self._seq += 1

    def close(self) -> None:
        self._db.close()


class SignedInsert(BareInsert):
    """The floor of one signed durable transaction: a bare insert (above) plus one Ed25519 signature.

    An append cannot do less: the entry must be signed, and it must be durable.  The row is the signature
    and the ~400 bytes it signs, one per transaction, through one reused cursor, with WAL + FULL.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._key = Ed25519PrivateKey.generate()

    def one(self) -> None:
        message = b"custody-entry/v1\n" + self._blob + self._seq.to_bytes(8, "big")
        row = self._key.sign(message) + message
        cursor = self._cursor
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("INSERT INTO t VALUES(?, ?)", (self._seq, row))
        cursor.execute("COMMIT")
        self._seq += 1


@dataclass
class RssSampler:
    """Peak memory of a process and all its children: RSS every 50 ms, PSS every second.

    ``peak`` sums RSS, which counts the pages forked workers share with their
    parent once per process; ``peak_pss`` sums PSS (shared pages divided among
    the processes sharing them), the tree's actual footprint; ``peak_uss``
    holds each process's largest USS (the pages no other process maps: what
    one more worker adds), by process id; ``cpu`` each process's CPU seconds
    when last seen (``cpu_seconds``: the tree's, which the rusage of reaped
    children misses for a fork server's workers).

    The sampler runs on the machine it measures, so it must stay cheap: PSS
    walks every mapping of every process (``/proc/PID/smaps``), 3.7 ms for a
    verifier and its two workers here.  Taken every 50 ms as RSS is, it used
    7.5 % of a core, which the verification then lacked (~4 % of a 2-core
    machine).  RSS costs 0.05 ms and keeps the 50 ms period; listing the
    children (a scan of /proc, 1 ms) is done every half second.
    """

    pid: int
    peak: int = 0
    peak_pss: int = 0
    peak_uss: dict[int, int] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)  # user + system seconds of each process, last seen
    period: float = 0.05
    pss_every: int = 20  # PSS on every 20th sample
    children_every: int = 10  # the process tree listed again on every 10th sample
    _stop: bool = False

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            proc = psutil.Process(self.pid)
        except psutil.Error:
            return
        sample = 0
        procs: list[psutil.Process] = []
        while not self._stop:
            try:
                if not procs or sample % self.children_every == 0:
                    procs = [proc, *proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
                for p in procs:
                    times = p.cpu_times()
                    self.cpu[p.pid] = times.user + times.system
                if sample % self.pss_every == 0:
                    full = {p.pid: p.memory_full_info() for p in procs}
                    self.peak_pss = max(self.peak_pss, sum(getattr(m, "pss", 0) for m in full.values()))
                    for pid, m in full.items():
                        self.peak_uss[pid] = max(self.peak_uss.get(pid, 0), getattr(m, "uss", 0))
            except psutil.Error:
                procs = []  # a process ended since it was listed: list the tree again next time
            sample += 1
            time.sleep(self.period)

    def stop(self) -> int:
        self._stop = True
        self._thread.join()
        return self.peak

    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
