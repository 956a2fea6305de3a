"""Time `custody verify` on the hostile bundles of issue 20, each a whole process with a deadline.

    python -m bench.hostile_bundles [--out bench/out] [--timeout 120] [--only NAME ...]

From one honest, cosigned bundle (tests/verify/hostile.py) it makes: a manifest origin of 64 KiB and of
2 MiB (the messages quote it), entries.jsonl as one 200 MB line, a ~1 MB zip holding a 1 GiB line, and
a FIFO or a link to /dev/zero in place of manifest.json and of entries.jsonl.  Each is verified against
the trust store by a fresh `python -m custody.cli.main verify` process, limited to 6 GB of
address space (so that reading /dev/zero ends in MemoryError, not in the machine's memory) and killed
at the deadline.  Prints one JSON line per case: exit code (None: killed at the deadline), wall, user
and system seconds, peak RSS, and the first line of stderr.  To time another tree of the code, put it
first on PYTHONPATH: the processes inherit it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.verify.hostile import edit_manifest, honest_site

ADDRESS_SPACE = 6 << 30
_PREFIX = "city.example.lg.jp/custody/"


def _origin(length: int) -> Callable[[Path], Path]:
    def make(bundle: Path) -> Path:
        edit_manifest(bundle, lambda doc: doc.__setitem__("origin", _PREFIX + "a" * (length - len(_PREFIX))))
        return bundle
    return make


def _line(path: Path, size: int) -> None:
    block = b"a" * (1 << 20)
    with path.open("wb") as fh:
        for _ in range(size >> 20):
            fh.write(block)
        fh.write(b"\n")


def _one_line(bundle: Path) -> Path:
    _line(bundle / "entries.jsonl", 200 << 20)
    return bundle


def _zip_of_one_line(bundle: Path) -> Path:
    out = bundle.with_suffix(".zip")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(bundle.rglob("*")):
            name = path.relative_to(bundle).as_posix()
            if path.is_file() and name not in ("entries.jsonl", "manifest.json"):
                archive.write(path, name)
        with archive.open("entries.jsonl", "w", force_zip64=True) as fh:
            block = b"a" * (1 << 20)
            for _ in range(1024):
                fh.write(block)
            fh.write(b"\n")
        archive.write(bundle / "manifest.json", "manifest.json")
    return out


def _instead(name: str, make: Callable[[Path], None]) -> Callable[[Path], Path]:
    def replace(bundle: Path) -> Path:
        (bundle / name).unlink()
        make(bundle / name)
        return bundle
    return replace


CASES: dict[str, Callable[[Path], Path]] = {
    "origin of 64 KiB": _origin(64 << 10),
    "origin of 2 MiB": _origin(2 << 20),
    "entries.jsonl: one 200 MB line": _one_line,
    "zip of ~1 MB holding a 1 GiB line": _zip_of_one_line,
    "manifest.json is a FIFO": _instead("manifest.json", os.mkfifo),
    "entries.jsonl is a FIFO": _instead("entries.jsonl", os.mkfifo),
    "manifest.json links to /dev/zero": _instead("manifest.json", lambda p: p.symlink_to("/dev/zero")),
    "entries.jsonl links to /dev/zero": _instead("entries.jsonl", lambda p: p.symlink_to("/dev/zero")),
}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_verify(bundle: Path, authority: Path, timeout: float) -> dict[str, Any]:
    """One `custody verify` process: its exit code (None if killed at ``timeout``), times and peak RSS."""
    command = [sys.executable, "-m", "custody.cli.main", "--lang", "en", "verify", os.fspath(bundle),
               "--authority", os.fspath(authority)]
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        # The benchmark runs no thread that preexec_fn could upset.
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err,
                                preexec_fn=_limit_memory, start_new_session=True)  # noqa: PLW1509
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() >= deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped above, by wait4 (for its rusage)
        err.seek(0)
        first = err.read(400).decode("utf-8", "replace").strip().splitlines()
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL and wall >= timeout
    return {
        "exit": None if killed else os.waitstatus_to_exitcode(status),
        "wall_s": round(wall, 2),
        "user_s": round(usage.ru_utime, 2),
        "sys_s": round(usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "stderr": first[0][:200] if first else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("bench/out"))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a process is killed")
    ap.add_argument("--only", action="append", choices=sorted(CASES), help="this case only (repeatable)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="custody-hostile-", dir=args.out))
    try:
        site, honest = honest_site(tmp / "honest")
        authority = site.root / "authority"
        results: list[dict[str, Any]] = []
        for name in args.only or list(CASES):
            work = tmp / f"case-{len(results)}"
            shutil.copytree(honest, work)
            bundle = CASES[name](work)
            result = {"case": name, **run_verify(bundle, authority, args.timeout)}
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
            shutil.rmtree(work, ignore_errors=True)
            if bundle.suffix == ".zip":
                bundle.unlink(missing_ok=True)
        (args.out / "hostile_bundles.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
