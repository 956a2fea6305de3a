"""A longer crash soak than the test suite's: writers killed with SIGKILL, repeatedly.

    python -m bench.crash_soak [--trials 5000] [--writers 2]

Each trial starts ``--writers`` processes appending to one ledger, kills them
all with SIGKILL after a random delay, then checks that every acknowledged
append is present, the chain and the tree are intact and SQLite's own
integrity check passes.  Prints a summary line; exits 1 on the first loss.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

from custody.ledger.entry import parse_entry
from custody.ledger.ledger import Ledger
from custody.ledger.rfc6962 import leaf_hash, root_from_leaf_hashes
from tests.helpers import new_ledger


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=5000)
    ap.add_argument("--writers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="custody-soak-"))
    ledger, parties, _log = new_ledger(tmp)
    root = ledger.paths.root
    ledger.close()
    rng = random.Random(2026)
    acked_total = 0
    start = time.time()
    for trial in range(args.trials):
        pipes, pids = [], []
        for w in range(args.writers):
            r, wfd = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                code = 0
                try:
                    with Ledger.open(root) as child:
                        for i in range(100000):
                            e = child.append("note.recorded", {"text": f"t{trial}w{w}-{i}"}, parties.responsible)
                            os.write(wfd, f"{e.seq}\n".encode())
                except BaseException:
                    code = 1
                os._exit(code)
            os.close(wfd)
            pipes.append(r)
            pids.append(pid)
        time.sleep(rng.uniform(0, 0.05))
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            os.waitpid(pid, 0)
        seqs: list[int] = []
        for r in pipes:
            data = b""
            while chunk := os.read(r, 65536):
                data += chunk
            os.close(r)
            seqs += [int(x) for x in data.split()]
        acked_total += len(seqs)
        with Ledger.open(root) as check:
            size = check.store.size
            lost = [s for s in seqs if s >= size]
            if lost:
                print(f"trial {trial}: acknowledged entries lost: {lost[:5]}", file=sys.stderr)
                return 1
            if trial % 500 == 0 or trial == args.trials - 1:
                leaves = [leaf for _s, leaf in check.store.leaves()]
                prev = bytes(32)
                for seq, leaf in enumerate(leaves):
                    assert parse_entry(leaf).prev == prev, seq
                    prev = leaf_hash(leaf)
                assert check.store.root() == root_from_leaf_hashes([leaf_hash(x) for x in leaves])
                assert check.store.integrity_check() == []
                print(f"trial {trial}: {size} entries, {acked_total} acknowledged so far, chain and tree intact",
                      flush=True)
    print(f"crash soak: {args.trials} trials x {args.writers} writers, {acked_total} acknowledged appends, "
          f"0 lost, {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
