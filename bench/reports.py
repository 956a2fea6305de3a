"""Benchmark: every report for a ledger with 1,000 media (target: all reports in at most 10 s).

    python -m bench.reports [--media 1000] [--lang ja] [--formats pdf,html,json] [--workers N] [--out bench/out]

The ledger is built with valid entries appended in batches (tests/verify/reports/scenario.py
``build_many``): each medium received under a handover receipt, checked out and in, then half
disposed with full evidence (approval, witness, photos, certificate) and half returned; closed
and cosigned.  The disposals differ in operator, witness, place, model and remains' destination,
as a real contract's do.  Timed: verification with every rule plus reading the report data (``gather``),
then building and rendering every report (the media register, one certificate per disposed
medium, the completion report, the inspection form, the findings) in each format.  Prints JSON
with wall-clock and CPU seconds (CPU includes the render workers), and the load average: on a
shared machine the wall clock says more about the neighbours than about the reports.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import RssSampler, machine
from custody.ledger.bundle import Bundle
from custody.verify.reports.content import REPORTS, build_reports
from custody.verify.reports.produce import gather, render_each
from tests.verify.reports.scenario import build_many


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the render workers), user + system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--media", type=int, default=1000)
    ap.add_argument("--lang", choices=("ja", "en"), default="ja")
    ap.add_argument("--formats", default="pdf,html,json")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("bench/out"))
    args = ap.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="custody-bench-reports-", dir=args.out))
    results: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "media": args.media,
                                  "lang": args.lang, "formats": formats, "workers": args.workers or os.cpu_count()}
    try:
        start = time.perf_counter()
        built = build_many(tmp, args.media, varied=True)
        results["build_ledger_s"] = round(time.perf_counter() - start, 2)
        results["entries"] = built.ledger.store.size
        built.ledger.close()
        results["load_average_1min_before"] = round(os.getloadavg()[0], 2)  # what the neighbours were doing
        rss = RssSampler(os.getpid())
        with Bundle(built.bundle) as bundle:
            c0, t0 = cpu_seconds(), time.perf_counter()
            data = gather(bundle, built.trust, args.lang, workers=args.workers)
            c1, t1 = cpu_seconds(), time.perf_counter()
            docs = [doc for kind in REPORTS for _stem, doc in build_reports(kind, data, args.lang)]
            t2 = time.perf_counter()
            jobs = [(doc, fmt) for doc in docs for fmt in formats]
            # Each file's bytes are counted and dropped as they come, as `custody report` writes them.
            by_format: dict[str, int] = {}
            for index, blob in render_each(jobs, workers=args.workers):
                fmt = jobs[index][1]
                by_format[fmt] = by_format.get(fmt, 0) + len(blob)
            c3, t3 = cpu_seconds(), time.perf_counter()
        results.update({
            "verified_ok": data.result.ok,
            "findings": len(data.result.findings),
            "documents": len(docs),
            "files": len(jobs),
            "bytes_by_format": by_format,
            "verify_and_gather_s": round(t1 - t0, 2),
            "build_documents_s": round(t2 - t1, 2),
            "render_s": round(t3 - t2, 2),
            "all_reports_s": round(t3 - t0, 2),
            "cpu_verify_and_gather_s": round(c1 - c0, 2),
            "cpu_build_and_render_s": round(c3 - c1, 2),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "target_s": 10,
            "peak_rss_mb_incl_workers": round(rss.stop() / 2**20),
            "peak_pss_mb_incl_workers": round(rss.peak_pss / 2**20),
        })
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = json.dumps(results, indent=1, ensure_ascii=False)
    (args.out / "reports.json").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
