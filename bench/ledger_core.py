"""Benchmarks of the ledger core (issue: ledger core), as ratios against limits measured here.

    python -m bench.ledger_core [--entries 1000000] [--out bench/out]

1. durable append (one signed entry per transaction, tree updated) vs bare apsw insert (WAL+FULL);
2. batched append vs raw Ed25519 sign rate;
3. integrity verification of an N-entry bundle vs cores x raw Ed25519 verify rate, peak RSS;
4. inclusion and consistency proofs from the N-entry store: median time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import (
    BareInsert,
    RssSampler,
    machine,
    median_ms,
    raw_sign_rate,
    raw_verify_rate,
    raw_verify_rate_all_cores,
)
from custody.ledger.bundle import export_bundle
from custody.ledger.entry import sign_entry
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer
from tests.helpers import new_ledger


def durable_append(tmp: Path, pairs: int = 2000) -> dict[str, object]:
    """Durable appends against bare inserts, one of each in turn, ``pairs`` times.

    One fsync per transaction makes both rates follow the disk's moods (other
    tenants' I/O can triple an fsync for seconds), so the limit and the
    appends are timed transaction by transaction, alternately: both meet the
    same disk.  The ratio is total bare time over total append time; the
    medians of single transactions are reported too.
    """
    ledger, parties, _log = new_ledger(tmp / "durable")
    bare = BareInsert(tmp / "raw")
    body = {"text": "checkout of M-001 for the migration batch", "seals": ["S-0001"]}
    for _ in range(20):  # warm both files and code paths
        bare.one()
        ledger.append("note.recorded", body, parties.responsible)
    bare_times, append_times = [], []
    clock = time.perf_counter
    for _ in range(pairs):
        t0 = clock()
        bare.one()
        t1 = clock()
        ledger.append("note.recorded", body, parties.responsible)
        t2 = clock()
        bare_times.append(t1 - t0)
        append_times.append(t2 - t1)
    ledger.close()
    bare.close()
    return {"per_s": round(pairs / sum(append_times), 1), "bare_insert_per_s": round(pairs / sum(bare_times), 1),
            "ratio_vs_bare_insert": round(sum(bare_times) / sum(append_times), 3),
            "median_ms": {"append": round(median_ms(append_times), 3), "bare_insert": round(median_ms(bare_times), 3)},
            "target": ">= 0.8"}


def verify_once(bundle: Path, cores: int) -> dict[str, Any]:
    """``custody verify`` of the bundle as a process, between two measurements of the raw verify rates.

    The host's other tenants move the raw rate by up to 15 % within minutes (here 7,000-9,400 verifies/s
    on one day): each run's limit is the mean of the measurements taken right before and right after it,
    and several runs are reported, not the best one.
    """
    before_1, before_all = raw_verify_rate(), sum(raw_verify_rate_all_cores())
    env = dict(os.environ, CUSTODY_LANG="en")
    t = time.perf_counter()
    # The benchmark's ledger has no trust store: integrity against the bundle's own keys (the same signature,
    # chain and tree work; the held checkpoints a store adds are a handful).
    proc = subprocess.Popen([sys.executable, "-m", "custody.cli.main", "verify", str(bundle), "--integrity-only",
                             "--json"], stdout=subprocess.PIPE, env=env)
    sampler = RssSampler(proc.pid)
    stdout, _ = proc.communicate()
    peak = sampler.stop()
    elapsed = time.perf_counter() - t
    report = json.loads(stdout)
    after_1, after_all = raw_verify_rate(), sum(raw_verify_rate_all_cores())
    rate = report["size"] / elapsed
    single, together = (before_1 + after_1) / 2, (before_all + after_all) / 2
    run = {
        "entries": report["size"], "seconds": round(elapsed, 1), "per_s": round(rate),
        "raw_verify_per_s_1core_before_after": [round(before_1), round(after_1)],
        "limit_cores_x_verify": round(cores * single), "ratio": round(rate / (cores * single), 3),
        "limit_all_cores_verifying_at_once": round(together), "ratio_vs_all_cores_at_once": round(rate / together, 3),
        "peak_rss_mb": round(peak / 2**20, 1), "peak_pss_mb": round(sampler.peak_pss / 2**20, 1),
        "errors": sum(1 for f in report["findings"] if f["severity"] == "error"),
    }
    print(json.dumps(run), flush=True)
    return run


def fill(ledger: Ledger, signer: Signer, total: int, batch: int = 2000) -> float:
    """Append heartbeat-like entries in batches; returns entries per second."""
    origin = ledger.origin
    start = time.perf_counter()
    done = ledger.store.size
    t0 = 1_800_000_000
    while done < total:
        k = min(batch, total - done)

        def maker(i: int):  # type: ignore[no-untyped-def]
            def make(head):  # type: ignore[no-untyped-def]
                seq, prev = head.size, head.last_leaf_hash
                at = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(t0 + seq))
                return sign_entry(origin=origin, seq=seq, prev=prev, type="agent.heartbeat", at=at,
                                  body={"observed_at": at, "sequence": seq, "interval_ms": 60000,
                                        "uptime_seconds": seq * 60, "volumes": []}, signer=signer)
            return make

        ledger.store.append_many([maker(i) for i in range(k)])
        done += k
    return (total - 0) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=Path("bench/out"))
    ap.add_argument("--verify-runs", type=int, default=3,
                    help="verifications of the bundle, each between two measurements of the raw limits")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="custody-bench-", dir=args.out))
    results: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "entries": args.entries}
    try:
        cores = os.cpu_count() or 1
        sign = raw_sign_rate()
        verify1 = raw_verify_rate()
        verify_all = raw_verify_rate_all_cores()
        results["raw"] = {"ed25519_sign_per_s": round(sign), "ed25519_verify_per_s_1core": round(verify1),
                          "ed25519_verify_per_s_each_core_all_busy": [round(r) for r in verify_all]}
        results["durable_append"] = durable_append(tmp)
        print(json.dumps(results, indent=1), flush=True)

        ledger, parties, log = new_ledger(tmp / "big")
        agent = Signer("agent-ws01", Ed25519PrivateKey.generate())
        ledger.append("personnel.registered", {
            "vkey": agent.verifier().vkey, "name": "記録エージェント ws-01", "organisation": "株式会社サンプル",
            "tier": "vendor", "role": "agent", "host": "ws-01"}, parties.responsible)
        batched = fill(ledger, agent, args.entries)
        results["batched_append"] = {"per_s": round(batched), "ratio_vs_sign": round(batched / sign, 3),
                                     "target": ">= 0.5"}
        ledger.checkpoint(log)
        print(json.dumps(results["batched_append"]), flush=True)

        rng = random.Random(1)
        size = ledger.store.size
        incl, cons = [], []
        for _ in range(2000):
            i = rng.randrange(size)
            t = time.perf_counter()
            ledger.store.inclusion_proof(i, size)
            incl.append(time.perf_counter() - t)
            old = rng.randrange(1, size)
            t = time.perf_counter()
            ledger.store.consistency_proof(old, size)
            cons.append(time.perf_counter() - t)
        results["proofs"] = {"inclusion_median_ms": round(median_ms(incl), 4),
                             "consistency_median_ms": round(median_ms(cons), 4), "target": "<= 1 ms"}
        print(json.dumps(results["proofs"]), flush=True)

        bundle = tmp / "bundle"
        t = time.perf_counter()
        export_bundle(ledger.store, ledger.log_verifier().vkey, bundle)
        results["export_s"] = round(time.perf_counter() - t, 1)
        ledger.close()

        runs = [verify_once(bundle, cores) for _ in range(args.verify_runs)]
        ratios = sorted(run["ratio"] for run in runs)
        together = sorted(run["ratio_vs_all_cores_at_once"] for run in runs)
        results["verify"] = {
            "entries": runs[0]["entries"], "runs": runs,
            "ratio_median": ratios[len(ratios) // 2], "ratio_range": [ratios[0], ratios[-1]],
            "ratio_vs_all_cores_at_once_median": together[len(together) // 2],
            "target": ">= 0.8", "peak_rss_mb_max": max(run["peak_rss_mb"] for run in runs), "rss_target_mb": 200,
        }
        print(json.dumps(results["verify"]), flush=True)
    finally:
        (args.out / "ledger_core.json").write_text(json.dumps(results, indent=1) + "\n")
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
