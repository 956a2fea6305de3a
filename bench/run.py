"""Run every benchmark (``make bench``) and print where the results are.

Each benchmark measures its own limit in the same run (raw Ed25519 rates, the
bare apsw insert and its floor with one signature, ``python -c pass`` and the
import floor of a command) and reports ratios, with the load average around
it; results go to ``bench/out/*.json``, and BENCHMARKS.md reports them in one
table with the machine.

    python -m bench.run [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

BENCHES = [
    ("bench.ledger_core", ["--entries", "1000000"], ["--entries", "100000"]),
    ("bench.workflow_roundtrip", [], ["--entries", "20000", "--runs", "10"]),
    ("bench.agent", [], ["--files", "2000", "--trials", "3", "--idle", "10"]),
    ("bench.reports", [], ["--media", "200"]),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, not the targets)")
    args = ap.parse_args()
    failed = 0
    for module, full, quick in BENCHES:
        print(f"== {module}", flush=True)
        code = subprocess.call([sys.executable, "-m", module, *(quick if args.quick else full)])
        failed += code != 0
    print("results: bench/out/*.json")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
