"""Pool workers end with the process that started them (verify.workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agents.conftest import wait_until

# A parent that starts a pool the way custody does, reports its workers' pids, then waits to be killed.
_PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from custody.ledger.registry import Registry
from custody.verify import pool
from custody.verify.workers import watch_parent

if sys.argv[1] == "verifier":
    start, args = pool._start_pool_worker, (Registry(), "o", [], None, os.getpid())
else:
    start, args = watch_parent, (os.getpid(),)
with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(), initializer=start, initargs=args) as pool:
    list(pool.map(abs, range(4)))
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    """Running, or stopped: not gone and not a zombie (a container's init may never reap it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; Windows gives no orphan a new parent")
@pytest.mark.parametrize("pool", ["verifier", "search and reports"])
def test_workers_end_when_their_parent_is_killed(tmp_path: Path, pool: str) -> None:
    """kill -9 of the parent (as the OOM killer does): its workers would otherwise wait for work for ever."""
    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, str(script), pool], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(root)})
    workers: list[int] = []
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        wait_until(lambda: not any(_alive(pid) for pid in workers), interval=0.1,
                   what="a worker outlived its killed parent")
    finally:
        parent.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
