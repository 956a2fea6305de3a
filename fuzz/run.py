"""Run the fuzz targets (``make fuzz``): every parser, N cases each, in a watched child process.

    python -m fuzz.run [--target NAME ...] [--cases N] [--demo DIR] [--out DIR]

Each target runs in its own process, one after another.  The child drives
Hypothesis (``derandomize=False``, no example database, no deadline, the
generate phase only, in batches so that Hypothesis's own bookkeeping stays
small) and classifies every case: the parser returned, raised one of the
errors its format allows (counted by type), raised anything else (a crash:
the smallest input per crash site is kept under ``--out``), or used more
than ``--case-limit`` seconds of CPU (a hang, stopped by a SIGPROF timer; the
input is kept).  CPU time, not wall time: on a shared machine a niced child
may wait for a core far longer than it computes.  A case that blocks without
computing, or cannot be interrupted, is caught by the parent, which sees the
child's case counter stop (for ``--hang-limit`` seconds of the child's CPU, or
five times as long waiting), kills it and keeps the input the child last
announced.  The child's address space is limited (``--max-vm-mib``),
so unbounded memory shows as a MemoryError crash; its peak resident size
must stay under ``--max-rss-mib``.

Prints, per target: cases, seconds, cases per second, peak RSS, crashes,
hangs and the outcomes by exception type; exits 1 if any target crashed,
hung or went over the memory bound.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import mmap
import resource
import signal
import struct
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from fuzz.mutate import MAX_INPUT

HEADER = struct.Struct("<QQ")  # cases started, length of the current input
PROGRESS_SIZE = HEADER.size + MAX_INPUT
REPO = Path(__file__).resolve().parent.parent


class CaseTimeout(BaseException):
    """Raised by the CPU timer in a case that ran too long (a BaseException: no parser's ``except Exception`` eats
    it)."""


@dataclass
class Crash:
    type: str
    where: str
    message: str
    count: int = 0
    smallest: bytes = b""


@dataclass
class Runner:
    """Runs one target's cases and keeps the tally."""

    name: str
    run: Any
    seeds: Any
    expected: tuple[type[BaseException], ...]
    progress: mmap.mmap
    case_limit: float
    outcomes: Counter[str] = field(default_factory=Counter)
    crashes: dict[tuple[str, str], Crash] = field(default_factory=dict)
    hangs: list[bytes] = field(default_factory=list)
    cases: int = 0
    longest_message: int = 0
    #: The case that raised the peak RSS the most: (KiB added, its input).
    hungriest: tuple[int, bytes] = (0, b"")
    #: RSS after each batch (KiB): flat once the allocator has its arenas, if nothing accumulates.
    rss_by_batch: list[int] = field(default_factory=list)
    #: Live Python objects after each batch: constant if nothing the parsers keep accumulates.
    objects_by_batch: list[int] = field(default_factory=list)

    def one(self, data: bytes) -> None:
        self.cases += 1
        kept = data[:MAX_INPUT]
        self.progress[HEADER.size:HEADER.size + len(kept)] = kept
        HEADER.pack_into(self.progress, 0, self.cases, len(kept))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        signal.setitimer(signal.ITIMER_PROF, self.case_limit)
        try:
            self.run(self.seeds, data)
            self.outcomes["returned"] += 1
        except CaseTimeout:
            self.outcomes["hang"] += 1
            if len(self.hangs) < 5:
                self.hangs.append(data)
        except self.expected as exc:
            self.outcomes[type(exc).__name__] += 1
            self.longest_message = max(self.longest_message, len(str(exc)))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - every other exception is what a fuzzer looks for
            self._crash(exc, data)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        if grown > self.hungriest[0]:
            self.hungriest = (grown, data)

    def _crash(self, exc: BaseException, data: bytes) -> None:
        name = type(exc).__name__
        self.outcomes[f"CRASH {name}"] += 1
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/fuzz/" not in f.filename] or frames
        where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
        crash = self.crashes.setdefault((name, where), Crash(name, where, str(exc)[:300], 0, data))
        crash.count += 1
        if len(data) < len(crash.smallest):
            crash.smallest = data


def _rss_kib() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss // 1024)


def _write_result(path: Path, runner: Runner, seconds: float, rss_first: int, out: Path) -> None:
    folder = out / runner.name
    crashes = []
    for crash in runner.crashes.values():
        folder.mkdir(parents=True, exist_ok=True)
        saved = folder / f"crash-{crash.type}-{hashlib.sha256(crash.smallest).hexdigest()[:12]}.bin"
        saved.write_bytes(crash.smallest)
        crashes.append({"type": crash.type, "where": crash.where, "message": crash.message, "count": crash.count,
                        "input": str(saved), "input_bytes": len(crash.smallest)})
    hangs = []
    for data in runner.hangs:
        folder.mkdir(parents=True, exist_ok=True)
        saved = folder / f"hang-{hashlib.sha256(data).hexdigest()[:12]}.bin"
        saved.write_bytes(data)
        hangs.append(str(saved))
    grown, data = runner.hungriest
    hungriest = ""
    if grown > 64 * 1024:
        folder.mkdir(parents=True, exist_ok=True)
        hungriest = str(folder / f"memory-{hashlib.sha256(data).hexdigest()[:12]}.bin")
        Path(hungriest).write_bytes(data)
    result = {
        "target": runner.name, "cases": runner.cases, "seconds": round(seconds, 1),
        "outcomes": dict(runner.outcomes.most_common()), "crashes": crashes, "hangs": hangs,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "rss_first_batch_kib": rss_first,
        "rss_end_kib": _rss_kib(), "longest_message": runner.longest_message,
        "rss_by_batch_kib": runner.rss_by_batch,
        "objects_by_batch": runner.objects_by_batch,
        "hungriest_case": {"peak_added_kib": grown, "input_bytes": len(data), "input": hungriest},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1), encoding="utf-8")
    tmp.replace(path)


def child(args: argparse.Namespace) -> int:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import HypothesisException

    from fuzz.seeds import load
    from fuzz.targets import BY_NAME

    limit = args.max_vm_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout

    signal.signal(signal.SIGPROF, alarm)
    target = BY_NAME[args.child]
    seeds = load(Path(args.demo))
    strategy = target.strategy(seeds)
    with Path(args.progress).open("r+b") as fh:
        progress = mmap.mmap(fh.fileno(), PROGRESS_SIZE)
    runner = Runner(target.name, target.run, seeds, target.expected, progress, args.case_limit)
    result, out = Path(args.result), Path(args.out)
    started = time.monotonic()
    rss_first = 0
    while runner.cases < args.cases:
        size = min(args.batch, args.cases - runner.cases)

        @settings(max_examples=size, database=None, deadline=None, derandomize=False, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
        @given(strategy)
        def case(data: bytes) -> None:
            runner.one(data)

        try:
            case()
        except HypothesisException as exc:  # the engine's own trouble, not the parser's: say so, go on
            runner.outcomes[f"harness {type(exc).__name__}"] += 1
            print(f"  {target.name}: Hypothesis stopped a batch: {type(exc).__name__}", file=sys.stderr)
        gc.collect()
        runner.objects_by_batch.append(len(gc.get_objects()))
        runner.rss_by_batch.append(_rss_kib())
        rss_first = rss_first or runner.rss_by_batch[0]
        seconds = time.monotonic() - started
        _write_result(result, runner, seconds, rss_first, out)
        print(f"  {target.name}: {runner.cases}/{args.cases} cases, {runner.cases / seconds:.0f}/s",
              file=sys.stderr, flush=True)
    return 0


@dataclass
class Outcome:
    result: dict[str, Any]
    killed: bool = False


def _watch(name: str, args: argparse.Namespace, out: Path) -> Outcome:
    """Run one target in a child; kill it if its case counter stops while it computes for ``--hang-limit`` CPU
    seconds, or while it waits for ``--hang-limit`` x 5 seconds of observed time.

    Observed time advances by at most one second per poll and not while the child is stopped: on a shared
    machine the child (or this watchdog) may be paused or starved for minutes without hanging.
    """
    import psutil

    progress_path, result_path = out / f".{name}.progress", out / f"{name}.json"
    progress_path.write_bytes(bytes(PROGRESS_SIZE))
    result_path.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "fuzz.run", "--child", name, "--cases", str(args.cases), "--demo", args.demo,
        "--out", str(out), "--progress", str(progress_path), "--result", str(result_path),
        "--case-limit", str(args.case_limit), "--batch", str(args.batch), "--max-vm-mib", str(args.max_vm_mib),
    ]
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=REPO)
    watched = psutil.Process(proc.pid)

    def cpu() -> float:
        try:
            times = watched.cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def stopped() -> bool:
        try:
            return bool(watched.status() == psutil.STATUS_STOPPED)
        except psutil.Error:
            return False

    killed = False
    with progress_path.open("rb") as fh, mmap.mmap(fh.fileno(), PROGRESS_SIZE, access=mmap.ACCESS_READ) as view:
        last, waited, cpu_mark, polled = -1, 0.0, 0.0, time.monotonic()
        while proc.poll() is None:
            time.sleep(0.5)
            now = time.monotonic()
            step, polled = min(now - polled, 1.0), now
            count, _length = HEADER.unpack_from(view, 0)
            if count != last:
                last, waited, cpu_mark = count, 0.0, cpu()
                continue
            if stopped():
                continue
            waited += step
            computing = cpu() - cpu_mark
            if computing > args.hang_limit or waited > args.hang_limit * 5:
                proc.kill()
                proc.wait()
                killed = True
                count, length = HEADER.unpack_from(view, 0)
                data = view[HEADER.size:HEADER.size + length]
                (out / name).mkdir(parents=True, exist_ok=True)
                saved = out / name / f"hang-killed-{hashlib.sha256(data).hexdigest()[:12]}.bin"
                saved.write_bytes(data)
                print(f"  {name}: case {count} did not finish ({computing:.0f} s of CPU, {waited:.0f} s waited); "
                      f"killed; input {saved}", file=sys.stderr)
    progress_path.unlink(missing_ok=True)
    try:
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = {"target": name, "cases": 0, "outcomes": {}, "crashes": [], "hangs": [], "peak_rss_kib": 0}
    if killed:
        result["hangs"] = [*result.get("hangs", []), "killed by the watchdog"]
        result["cases"] = max(int(result.get("cases", 0)), last)
    if proc.returncode not in (0, None) and not killed:
        result["crashes"] = [*result.get("crashes", []),
                             {"type": f"child exited {proc.returncode}", "where": "", "count": 1}]
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    return Outcome(result, killed)


def main(argv: list[str] | None = None) -> int:
    from fuzz.targets import TARGETS

    names = [t.name for t in TARGETS]
    ap = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", action="append", choices=names, help="a target to run (repeatable; default: all)")
    ap.add_argument("--cases", type=int, default=100_000, help="cases per target (default 100000)")
    ap.add_argument("--demo", default=str(REPO / "demo-output"), help="the output of 'make demo' (seeds)")
    ap.add_argument("--out", default=str(REPO / "fuzz-output"), help="where results, crash and hang inputs go")
    ap.add_argument("--case-limit", type=float, default=10.0, help="CPU seconds one case may take (default 10)")
    ap.add_argument("--hang-limit", type=float, default=60.0,
                    help="CPU seconds without a finished case before the child is killed, five times as many "
                         "seconds of waiting (default 60)")
    ap.add_argument("--batch", type=int, default=5000, help="cases per Hypothesis run (default 5000)")
    ap.add_argument("--max-vm-mib", type=int, default=4096, help="address space limit of a child (default 4096)")
    ap.add_argument("--max-rss-mib", type=int, default=1024, help="peak RSS a target may reach (default 1024)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--progress", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    from fuzz.seeds import SeedError, load

    try:
        load(Path(args.demo))
    except SeedError as exc:
        print(exc, file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = False
    rows = []
    for name in args.target or names:
        print(f"== {name}", flush=True)
        outcome = _watch(name, args, out)
        r = outcome.result
        peak_mib = r.get("peak_rss_kib", 0) / 1024
        over = peak_mib > args.max_rss_mib
        crashes, hangs = r.get("crashes", []), r.get("hangs", [])
        failed |= bool(crashes or hangs or over or r.get("cases", 0) < args.cases)
        seconds = r.get("seconds", 0) or 1
        rows.append((name, r.get("cases", 0), r.get("wall_seconds", 0), r.get("cases", 0) / seconds, peak_mib,
                     sum(c.get("count", 1) for c in crashes), len(hangs)))
        outcomes = ", ".join(f"{k} {v}" for k, v in r.get("outcomes", {}).items())
        print(f"  outcomes: {outcomes}")
        print(f"  RSS after the first batch {r.get('rss_first_batch_kib', 0) / 1024:.0f} MiB, at the end "
              f"{r.get('rss_end_kib', 0) / 1024:.0f} MiB, peak {peak_mib:.0f} MiB{'  OVER THE BOUND' if over else ''}; "
              f"longest error message {r.get('longest_message', 0)} characters")
        objects = r.get("objects_by_batch", [])
        if objects:
            print(f"  live Python objects after each batch: {min(objects)}..{max(objects)} (first {objects[0]}, "
                  f"last {objects[-1]})")
        hungry = r.get("hungriest_case", {})
        if hungry.get("input"):
            print(f"  the hungriest case ({hungry['input_bytes']} bytes) raised the peak by "
                  f"{hungry['peak_added_kib'] / 1024:.0f} MiB: {hungry['input']}")
        for c in crashes:
            print(f"  CRASH {c['type']} at {c.get('where', '')} x{c.get('count', 1)}: {c.get('message', '')[:160]!r}"
                  f" -> {c.get('input', '')}")
        for h in hangs:
            print(f"  HANG {h}")
        with contextlib.suppress(OSError):
            (out / f"{name}.json").write_text(json.dumps(r, indent=1), encoding="utf-8")
    print()
    print(f"{'target':<16}{'cases':>9}{'seconds':>9}{'cases/s':>9}{'peak MiB':>10}{'crashes':>9}{'hangs':>7}")
    for name, cases, seconds, rate, peak, crashes, hangs in rows:
        print(f"{name:<16}{cases:>9}{seconds:>9.0f}{rate:>9.0f}{peak:>10.0f}{crashes:>9}{hangs:>7}")
    print(f"results and kept inputs: {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
