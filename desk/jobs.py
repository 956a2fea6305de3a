"""Verifying bundles and writing reports, one job at a time, each in its own process.

A job runs ``custody.verify.reports.produce.gather`` (verification with every rule, as ``custody verify``
and ``custody report`` do, then the data the reports are written from) or ``produce`` (the reports, as
``custody report all``) in a child process started fresh (``spawn``): the desk's server has threads, and
the verifier forks its own workers, which is only safe from a process without them.  The child reports
its progress (bytes of entries verified) through a pipe and sends back the result; a child that dies
(killed, out of memory) fails its job with a message, and the desk goes on.

The verifier writes its findings in the language of its process: a job runs in one language, and the
desk keeps one result per bundle version and language.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from custody.ledger.errors import CustodyError
from custody.ledger.i18n import _

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
VERIFY = "verify"
REPORTS = "reports"


@dataclass
class Job:
    id: int
    kind: str  # verify | reports
    bundle_id: str
    version: str
    lang: str
    path: Path
    formats: tuple[str, ...] = ()
    out_dir: Path | None = None
    state: str = QUEUED
    total: int = 0  # bytes of entries to verify
    done: int = 0
    error: str = ""
    result: Any = None  # verify: ReportData; reports: list of file names
    started: float = 0.0
    finished: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def key(self) -> tuple[str, str, str, str, tuple[str, ...]]:
        return self.kind, self.bundle_id, self.version, self.lang, self.formats

    @property
    def percent(self) -> int:
        if self.state == DONE:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)


# --- the child's side (module level: spawn imports this module and calls these by name) ---


def _send_progress(conn: Connection) -> Callable[[int], None]:
    state = {"done": 0, "sent": 0.0}

    def progress(n: int) -> None:
        state["done"] += n
        moment = time.monotonic()
        if moment - state["sent"] >= 0.2:
            state["sent"] = moment
            conn.send(("progress", state["done"]))

    return progress


def _verify_child(conn: Connection, bundle_path: str, authority: str, lang: str) -> None:
    from custody.ledger.bundle import Bundle
    from custody.ledger.i18n import set_language
    from custody.verify.reports.produce import gather, trust_for

    set_language(lang)
    try:
        with Bundle(Path(bundle_path)) as bundle:
            conn.send(("total", bundle.entries_size_bytes()))
            data = gather(bundle, trust_for(bundle, Path(authority)), "ja" if lang == "ja" else "en",
                          progress=_send_progress(conn))
        conn.send(("done", data))
    except CustodyError as exc:
        conn.send(("error", exc.diagnostic()))
    finally:
        conn.close()


def _reports_child(conn: Connection, bundle_path: str, authority: str, lang: str, formats: tuple[str, ...],
                   out_dir: str) -> None:
    from custody.ledger.bundle import Bundle
    from custody.ledger.i18n import set_language
    from custody.verify.reports.content import REPORTS as KINDS
    from custody.verify.reports.produce import produce

    set_language(lang)
    try:
        with Bundle(Path(bundle_path)) as bundle:
            conn.send(("total", bundle.entries_size_bytes()))
        produced = produce(Path(bundle_path), Path(authority), list(KINDS), list(formats),
                           ["ja" if lang == "ja" else "en"], Path(out_dir), progress=_send_progress(conn))
        conn.send(("done", [p.name for p in produced.paths]))
    except CustodyError as exc:
        conn.send(("error", exc.diagnostic()))
    finally:
        conn.close()


# --- the desk's side ---


class Jobs:
    """A queue of jobs run one after another by one thread, each in a child process."""

    def __init__(self, authority_dir: Path) -> None:
        self.authority_dir = authority_dir
        self._jobs: dict[int, Job] = {}
        self._by_key: dict[tuple[str, str, str, str, tuple[str, ...]], Job] = {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._work, name="custody-desk-jobs", daemon=True)
        self._thread.start()

    def submit(self, kind: str, bundle_id: str, version: str, lang: str, path: Path, *,
               formats: tuple[str, ...] = (), out_dir: Path | None = None, again: bool = False) -> Job:
        """The job for this work: the one already queued, running or done, unless ``again`` (or it failed)."""
        with self._lock:
            key = (kind, bundle_id, version, lang, formats)
            existing = self._by_key.get(key)
            if existing is not None and (existing.active or (existing.state == DONE and not again)):
                return existing
            job = Job(next(self._ids), kind, bundle_id, version, lang, path, formats, out_dir)
            self._jobs[job.id] = job
            self._by_key[key] = job
        self._queue.put(job)
        return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def latest(self, kind: str, bundle_id: str, version: str, lang: str, formats: tuple[str, ...] = ()) -> Job | None:
        return self._by_key.get((kind, bundle_id, version, lang, formats))

    def done_for(self, kind: str, bundle_id: str, lang: str | None = None) -> list[Job]:
        return [j for j in self._jobs.values()
                if j.kind == kind and j.bundle_id == bundle_id and j.state == DONE and lang in (None, j.lang)]

    def close(self) -> None:
        """Stop: the running job's process is ended, queued jobs are dropped."""
        self._closing.set()
        for job in list(self._jobs.values()):
            job._stop.set()
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _work(self) -> None:
        while not self._closing.is_set():
            job = self._queue.get()
            if job is None:
                return
            if self._closing.is_set():
                return
            self._run(job)

    def _run(self, job: Job) -> None:
        job.state = RUNNING
        job.started = time.time()
        receive, send = self._context.Pipe(duplex=False)
        if job.kind == VERIFY:
            target: Callable[..., None] = _verify_child
            args: tuple[Any, ...] = (send, str(job.path), str(self.authority_dir), job.lang)
        else:
            target = _reports_child
            args = (send, str(job.path), str(self.authority_dir), job.lang, job.formats, str(job.out_dir))
        # Not a daemon: the verifier and the report writer start worker processes of their own, which a
        # daemonic process may not.  The desk ends it itself when it stops (close, _run's finally).
        process = self._context.Process(target=target, args=args, name=f"custody-desk-{job.kind}", daemon=False)
        try:
            process.start()
        except OSError as exc:
            self._fail(job, _("The verification process could not start: {why}").format(why=exc))
            return
        finally:
            send.close()
        try:
            self._follow(job, receive, process)
        finally:
            receive.close()
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()

    def _follow(self, job: Job, receive: Connection, process: Any) -> None:
        while True:
            if job._stop.is_set():
                self._fail(job, _("The desk was stopped before the work finished."))
                return
            try:
                if not receive.poll(0.2):
                    if not process.is_alive() and not receive.poll(0):
                        break
                    continue
                kind, value = receive.recv()
            except (EOFError, OSError):
                break
            if kind == "total":
                job.total = int(value)
            elif kind == "progress":
                job.done = int(value)
            elif kind == "error":
                self._fail(job, str(value))
                return
            elif kind == "done":
                job.result = value
                job.done = job.total
                job.finished = time.time()
                job.state = DONE
                return
        self._fail(job, _("The verification process stopped unexpectedly (killed, or out of memory); "
                          "nothing was concluded. Try again."))

    def _fail(self, job: Job, message: str) -> None:
        job.error = message
        job.finished = time.time()
        job.state = FAILED


def wait(job: Job, timeout: float) -> bool:
    """Wait until ``job`` is no longer active (for the command line and tests); True when it finished."""
    deadline = time.monotonic() + timeout
    while job.active and time.monotonic() < deadline:
        time.sleep(0.05)
    return not job.active


__all__ = ["DONE", "FAILED", "QUEUED", "REPORTS", "RUNNING", "VERIFY", "Job", "Jobs", "wait"]
