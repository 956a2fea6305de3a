"""Verify a bundle and write its reports: what ``custody report``, the demo and the benchmark run.

The bundle is verified once for all the languages asked: a finding keeps its
message in both languages (the rules' texts) or as a text of custody's
catalogue that can be rendered again (``ledger.i18n.Message``), and each
report renders it in its own language (``Finding.message_in``).  Documents are rendered
in worker processes when there are many (a disposal certificate per medium),
in this process otherwise; the bytes are the same either way.

Files are named ``<stem>.<lang>.<ext>``: ``register.ja.pdf``,
``disposal-M-001.ja.pdf``, ``completion.en.html``, ``inspection.ja.json``.
The tables of a report (``tables_content``) go to ``<table>.<lang>.csv``, one
file per table, and ``<report>.<lang>.xlsx``, one workbook per report with a
sheet per table; they are small and written in this process.
Reports are written even when the verification finds errors -- the findings
are part of them; the caller decides what that means for its exit status.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from custody.ledger import i18n
from custody.ledger.bundle import Bundle
from custody.ledger.errors import InterruptedWorkError, OutputError
from custody.ledger.i18n import _
from custody.verify.cpus import usable_cpus
from custody.verify.engine import Result, verify_bundle
from custody.verify.findings import ERROR
from custody.verify.reports.content import REPORTS, iter_reports, report_count
from custody.verify.reports.data import ReportData, load_report_data
from custody.verify.reports.document import Block, Document, KeyValues, Lang, Section, Table
from custody.verify.reports.form import FormOptions
from custody.verify.reports.render import render_doc, table_files
from custody.verify.reports.tables import jst
from custody.verify.reports.tables_content import TABLES, build_tables
from custody.verify.rules import default_rules
from custody.verify.trust import TrustAnchor, from_bundle_unpinned
from custody.verify.workers import watch_my_parent, watch_parent

DOCUMENT_FORMATS = ("pdf", "html", "json")
TABLE_FORMATS = ("csv", "xlsx")  # the reports' tables (verify/reports/tables_content.py), for Excel
FORMATS = (*DOCUMENT_FORMATS, *TABLE_FORMATS)
LANGS: tuple[Lang, ...] = ("ja", "en")
PARALLEL_FROM = 24  # document files; fewer are rendered in this process
_IN_FLIGHT = 4  # documents per worker sent and not yet collected (_render_in_workers)


@dataclass
class Produced:
    """What was written, and the verification the reports were made from (one per language)."""

    paths: list[Path] = field(default_factory=list)
    results: dict[str, Result] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results.values())

    def counts(self) -> dict[str, int]:
        result = next(iter(self.results.values()), None)
        out = {"error": 0, "warning": 0, "info": 0}
        for f in result.findings if result is not None else ():
            out[f.severity] = out.get(f.severity, 0) + 1
        return out


def trust_for(bundle: Bundle, authority: Path | None) -> TrustAnchor:
    """The municipality's pins for the bundle's origin; None: the bundle's own keys, which a caller asks for
    only by name (``--integrity-only``): the result is then "unchecked" and every report says 未確認."""
    if authority is None:
        return from_bundle_unpinned(bundle)
    from custody.verify.authority import Authority

    return Authority.open(authority).trust_anchor(bundle.origin)


def gather(bundle: Bundle, trust: TrustAnchor, lang: Lang, *, workers: int | None = None,
           progress: Callable[[int], None] | None = None) -> ReportData:
    """Verify ``bundle`` with every rule, messages in ``lang``, and read the report data."""
    before = i18n.language()
    i18n.set_language(lang)
    try:
        result = verify_bundle(bundle, trust, default_rules(), workers=workers, progress=progress)
    finally:
        i18n.set_language(before)
    return load_report_data(bundle, trust, result)


def _weight(blocks: Iterable[Block]) -> int:
    """Roughly how long a document takes to lay out: its rows and blocks."""
    total = 0
    for block in blocks:
        if isinstance(block, Section):
            total += 1 + _weight(block.blocks)
        elif isinstance(block, Table):
            total += len(block.rows) + len(block.footer_rows) + 1
        elif isinstance(block, KeyValues):
            total += len(block.rows)
        else:
            total += 1
    return total


Rendered = Callable[[int, int], None]
"""Progress of rendering: (files done, files in all)."""

#: A document and, per format, the job indexes that want it (in the order asked).
_Task = tuple[Document, dict[str, list[int]]]


def render_each(
    jobs: Sequence[tuple[Document, str]], *, workers: int | None = None
) -> Generator[tuple[int, bytes], None, None]:
    """Render (document, format) jobs, yielding (job index, bytes) as each document is done.

    Jobs are grouped by document: a worker is sent each document once, with
    all the formats asked of it, rather than once per format (three pickles of
    the same certificate for PDF, HTML and JSON).  A document asked twice in
    one format is rendered once; the bytes would be the same.

    In worker processes when there are many documents, the longest PDFs first,
    with at most ``_IN_FLIGHT`` documents per worker sent and not yet
    collected: the caller writes each file as it comes, so memory holds a few
    documents' bytes rather than every report's (a 4,000-media ledger's
    reports are ~280 MB).  The order of what is yielded is then the order in
    which the workers finish.
    """
    # id(doc) -> the document and, per format, the job indexes that want it (first-asked order).
    groups: dict[int, tuple[Document, dict[str, list[int]]]] = {}
    for index, (doc, fmt) in enumerate(jobs):
        groups.setdefault(id(doc), (doc, {}))[1].setdefault(fmt, []).append(index)
    yield from _render(iter(sorted(groups.values(), key=_longest_first)), len(jobs), workers)


def _longest_first(task: _Task) -> tuple[bool, int]:
    """PDFs by size, then the rest: so that no long document starts last."""
    doc, formats = task
    return "pdf" not in formats, -_size(doc)


def _size(doc: Document) -> int:
    """Roughly how long a document takes to lay out (``_weight`` of its blocks, and its header lines)."""
    return _weight(doc.blocks) + len(doc.meta)


def _render(queue: Iterator[_Task], files: int, workers: int | None) -> Generator[tuple[int, bytes], None, None]:
    """(job index, bytes) of every task: here, in order, when there are few document files (fewer than
    PARALLEL_FROM) or one worker; else in worker processes, in the order they finish.  ``queue`` is drawn from
    only as workers have room, so documents it builds lazily (the certificates) are built while the first ones
    are rendered, and never all held at once."""
    n_workers = workers if workers is not None else usable_cpus()
    if n_workers <= 1 or files < PARALLEL_FROM:
        for doc, formats in queue:
            yield from _spread(formats, render_doc((doc, tuple(formats))))
        return
    yield from _render_in_workers(queue, n_workers)


def _spread(formats: dict[str, list[int]], blobs: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """A document's bytes per format, to every job index that asked for that format."""
    for indexes, blob in zip(formats.values(), blobs, strict=True):
        for index in indexes:
            yield index, blob


def _pool_context() -> tuple[multiprocessing.context.BaseContext, Callable[..., None], tuple[int, ...]]:
    """Where the render workers come from, and how each one watches for the end of this process.

    Forked from this process, a worker would map its whole heap -- the report data and every document --
    and count it in its own resident memory: for 1,000 media the parent and two workers came to ~340 MB of
    summed RSS.  On POSIX they are forked instead from multiprocessing's fork server, a fresh process that
    imported only the renderers (``custody.verify.reports.render`` and ``pdf``, which ``render`` imports only
    when it first renders a PDF, so that this process, which hands the documents out, does not load ReportLab):
    ~250 MB.  The fork server ends when this process does, and each worker then ends with it
    (``watch_my_parent``).  Elsewhere: spawned processes.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["custody.verify.reports.render", "custody.verify.reports.pdf"])
        return context, watch_my_parent, ()
    return multiprocessing.get_context("spawn"), watch_parent, (os.getpid(),)


#: Seconds between checks that every render worker is alive while none has finished (see _render_in_workers).
_LIVENESS_POLL = 1.0


def _check_alive(pool: ProcessPoolExecutor) -> None:
    """BrokenProcessPool if a worker has exited.  ProcessPoolExecutor has no public view of its workers; its
    ``_processes`` map is the one it watches itself."""
    processes = getattr(pool, "_processes", None) or {}
    if any(process.exitcode is not None for process in list(processes.values())):
        raise BrokenProcessPool("a render worker died")


def _render_in_workers(queue: Iterator[_Task], n_workers: int) -> Generator[tuple[int, bytes], None, None]:
    """Render in worker processes; a worker that dies ends the run with InterruptedWorkError.

    The executor itself notices a dead worker (BrokenProcessPool), but not always: on Python 3.11 a worker
    killed while the executor's feeder thread writes a large document into the call queue can leave the
    executor waiting for ever (CPython gh-94777, fixed in 3.12).  So the wait is bounded and the workers'
    exit codes are checked between waits, and a broken pool is shut down without waiting for its threads.
    """
    context, watch, args = _pool_context()
    pool = ProcessPoolExecutor(n_workers, mp_context=context, initializer=watch, initargs=args)
    broken = False
    running: dict[Future[tuple[bytes, ...]], dict[str, list[int]]] = {}

    def send(count: int) -> None:
        for doc, formats in itertools.islice(queue, count):
            running[pool.submit(render_doc, (doc, tuple(formats)))] = formats

    try:
        send(n_workers * _IN_FLIGHT)
        while running:
            done, _pending = wait(running, timeout=_LIVENESS_POLL, return_when=FIRST_COMPLETED)
            if not done:
                _check_alive(pool)
                continue
            send(len(done))
            for future in done:
                yield from _spread(running.pop(future), future.result())
    except BrokenProcessPool:
        broken = True
        raise InterruptedWorkError(
            _("a report rendering process stopped unexpectedly (killed, or out of memory); "
              "the report files already written are whole, the others were not written"),
            hint=_("run the command again; with --workers 1 it needs the least memory"),
        ) from None
    finally:
        if broken:
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
        else:
            pool.shutdown(wait=True, cancel_futures=True)


def render_all(jobs: Sequence[tuple[Document, str]], *, workers: int | None = None,
               rendered: Rendered | None = None) -> list[bytes]:
    """``render_each``'s bytes in the order of ``jobs``, all in memory (for tests; write_reports writes each file as
    it comes)."""
    out: list[bytes] = [b""] * len(jobs)
    for done, (index, blob) in enumerate(render_each(jobs, workers=workers), start=1):
        out[index] = blob
        if rendered is not None:
            rendered(done, len(jobs))
    return out


def expand_formats(formats: Iterable[str]) -> list[str]:
    out: list[str] = []
    for fmt in formats:
        for name in FORMATS if fmt == "all" else (fmt,):
            if name not in FORMATS:
                raise ValueError(f"unknown format {name!r}; one of {', '.join(FORMATS)} or all")
            if name not in out:
                out.append(name)
    return out


def expand_kinds(kinds: Iterable[str]) -> list[str]:
    out: list[str] = []
    for kind in kinds:
        for name in REPORTS if kind == "all" else (kind,):
            if name not in REPORTS:
                raise ValueError(f"unknown report {name!r}; one of {', '.join(REPORTS)} or all")
            if name not in out:
                out.append(name)
    return out


def write_file(path: Path, blob: bytes, done: int, total: int) -> None:
    """Write under a temporary name first: a file with a report's name is whole."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(blob)
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise OutputError(
            _("Cannot write the report {path}: {why}").format(path=path, why=exc.strerror or exc),
            hint=_("{done} of {total} report files were written before this one. Free space on that "
                   "disk or choose another directory with -o, then run the command again.").format(
                done=done, total=total),
        ) from None


def make_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            _("Cannot create the directory {path}: {why}").format(path=out_dir, why=exc.strerror or exc),
            hint=_("Choose another directory with -o."),
        ) from None


def write_reports(
    data: ReportData,
    kinds: Sequence[str],
    formats: Sequence[str],
    lang: Lang,
    out_dir: Path,
    *,
    workers: int | None = None,
    rendered: Rendered | None = None,
) -> list[Path]:
    """Build, render and write the reports of ``kinds`` in ``formats``; returns the paths written, in the
    order of the kinds and of each kind's documents, then the table files.

    Each file is written as soon as it is rendered.  The one-of-a-kind documents are built first and sent
    longest first; a kind with a document per medium (the certificates) is built one document at a time as
    the workers have room, so this process never holds all of them (for 1,000 media, ~20 MB of photos, data
    and proofs).  The tables (CSV, Excel) are written here once the workers have finished: beside them, the
    workbooks' memory would add to the render workers' (issue 19's summed-RSS target).
    """
    chosen = expand_formats(formats)
    doc_formats = [fmt for fmt in chosen if fmt in DOCUMENT_FORMATS]
    names: list[str] = []  # per job index: the file name
    order: list[tuple[int, int, int]] = []  # per job index: (kind, document, format), the order returned

    def task(rank: int, number: int, stem: str, doc: Document) -> _Task:
        wanted: dict[str, list[int]] = {}
        for position, fmt in enumerate(doc_formats):
            wanted[fmt] = [len(names)]
            names.append(f"{stem}.{lang}.{fmt}")
            order.append((rank, number, position))
        return doc, wanted

    single: list[tuple[int, str, Document]] = []
    many: list[tuple[int, Iterator[tuple[str, Document]]]] = []
    documents = 0
    table_kinds: list[str] = []
    for rank, kind in enumerate(expand_kinds(kinds)):
        if any(fmt in TABLE_FORMATS for fmt in chosen) and kind in TABLES:
            table_kinds.append(kind)
        if not doc_formats:
            continue
        count = report_count(kind, data)
        documents += count
        if count == 1:
            single += [(rank, stem, doc) for stem, doc in iter_reports(kind, data, lang)]
        elif count:
            many.append((rank, iter_reports(kind, data, lang)))
    single.sort(key=lambda item: -_size(item[2]))  # the longest first

    def queue() -> Iterator[_Task]:
        while single:  # popped: a document sent is held by its worker only
            rank, stem, doc = single.pop(0)
            yield task(rank, 0, stem, doc)
        for rank, docs in many:
            for number, (stem, doc) in enumerate(docs):
                yield task(rank, number, stem, doc)

    make_dir(out_dir)
    total = documents * len(doc_formats) + len(table_kinds)
    paths: dict[int, Path] = {}
    with contextlib.closing(_render(queue(), documents * len(doc_formats), workers)) as each:
        for done, (index, blob) in enumerate(each, start=1):
            path = out_dir / names[index]
            write_file(path, blob, done - 1, total)
            paths[index] = path
            if rendered is not None:
                rendered(done, total)
    written = [paths[index] for index in sorted(paths, key=order.__getitem__)]
    stamp = jst(data.last_at)
    for n, kind in enumerate(table_kinds, start=len(paths) + 1):
        for name, blob in table_files(build_tables(kind, data, lang), kind, chosen, lang, stamp):
            write_file(out_dir / name, blob, n - 1, total)
            written.append(out_dir / name)
        if rendered is not None:
            rendered(n, total)
    return written


def produce(
    bundle_path: Path,
    authority: Path | None,
    kinds: Sequence[str],
    formats: Sequence[str],
    langs: Sequence[Lang],
    out_dir: Path,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    rendered: Rendered | None = None,
    form: FormOptions | None = None,
) -> Produced:
    """Verify the bundle (once, whatever the languages) and write every report asked for.

    ``progress(n)``: n more bytes of entries verified; ``rendered(done, total)``: files rendered;
    ``form``: the official form's options (calendar, date of issue, numbers, addressee, representative).
    """
    produced = Produced()
    with Bundle(bundle_path) as bundle:
        trust = trust_for(bundle, authority)
        data: ReportData | None = None
        for lang in langs:
            if data is None:  # verified once: the findings are rendered in each report's language
                data = gather(bundle, trust, lang, workers=workers, progress=progress)
                if form is not None:
                    data.form = form
            produced.results[lang] = data.result
            produced.paths += write_reports(data, kinds, formats, lang, out_dir, workers=workers, rendered=rendered)
    return produced


def has_errors(result: Result) -> bool:
    return any(f.severity == ERROR for f in result.findings)


__all__ = [
    "DOCUMENT_FORMATS",
    "FORMATS",
    "LANGS",
    "TABLE_FORMATS",
    "Produced",
    "expand_formats",
    "expand_kinds",
    "gather",
    "make_dir",
    "produce",
    "render_all",
    "render_each",
    "trust_for",
    "write_file",
    "write_reports",
]
