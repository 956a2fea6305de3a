"""render_all and render_each: the same bytes whatever the number of worker processes; render_all in the order asked."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from custody.ledger.errors import InterruptedWorkError
from custody.verify.reports import Document, Paragraph, render_html, render_json, render_pdf
from custody.verify.reports.produce import PARALLEL_FROM, render_all, render_each
from tests.agents.conftest import wait_until
from tests.verify.reports import sample

RENDER = {"pdf": render_pdf, "html": render_html, "json": render_json}


def _jobs() -> list[tuple[Document, str]]:
    register = sample.media_register(60)
    english = sample.small_english()
    letters = [Document(f"証明書 {i}", blocks=[Paragraph("媒体ごとの証明。" * (i + 1))]) for i in range(10)]
    jobs: list[tuple[Document, str]] = []
    for doc in [*letters, register, english]:
        jobs += [(doc, "json"), (doc, "pdf"), (doc, "html")]
    # the same document asked again, in another order, among the others
    return [(english, "pdf"), *jobs, (register, "html"), (letters[3], "pdf")]


@pytest.fixture(scope="module")
def expected() -> tuple[list[tuple[Document, str]], list[bytes]]:
    jobs = _jobs()
    return jobs, [RENDER[fmt](doc) for doc, fmt in jobs]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_same_bytes_for_any_number_of_workers(
    workers: int, expected: tuple[list[tuple[Document, str]], list[bytes]]
) -> None:
    jobs, blobs = expected
    assert len(jobs) >= PARALLEL_FROM  # really parallel with workers > 1
    progress: list[tuple[int, int]] = []
    assert render_all(jobs, workers=workers, rendered=lambda done, total: progress.append((done, total))) == blobs
    assert progress == [(n, len(jobs)) for n in range(1, len(jobs) + 1)]


def test_few_jobs_render_in_this_process() -> None:
    doc = sample.small_english()
    assert render_all([(doc, "pdf"), (doc, "json")], workers=4) == [render_pdf(doc), render_json(doc)]
    assert render_all([], workers=2) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_render_each_yields_every_job_once(
    workers: int, expected: tuple[list[tuple[Document, str]], list[bytes]]
) -> None:
    jobs, blobs = expected
    got = list(render_each(jobs, workers=workers))
    assert sorted(index for index, _blob in got) == list(range(len(jobs)))
    assert all(blob == blobs[index] for index, blob in got)


def _render_workers() -> list[psutil.Process]:
    """The render workers: the children of multiprocessing's fork server, which this process started."""
    return [child for server in psutil.Process().children() if _is_fork_server(server)
            for child in server.children()]


def _is_fork_server(process: psutil.Process) -> bool:
    try:
        return "multiprocessing.forkserver" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def test_workers_are_not_forked_from_this_process(expected: tuple[list[tuple[Document, str]], list[bytes]]) -> None:
    """The render workers do not map this process's heap (the report data, every document): they come from a
    fork server that imported only the renderers."""
    jobs, blobs = expected
    each = render_each(jobs, workers=2)
    index, blob = next(each)
    assert blob == blobs[index]
    workers = _render_workers()
    assert len(workers) == 2
    assert all(worker.ppid() != os.getpid() for worker in workers)
    each.close()  # a caller that stops early (a full disk): the workers are shut down
    wait_until(lambda: not _render_workers(), what="the render workers to end")


def test_a_killed_render_worker_is_an_interruption_not_a_bug(
    expected: tuple[list[tuple[Document, str]], list[bytes]]
) -> None:
    """A worker killed (the OOM killer, an operator) ends the run with InterruptedWorkError (exit 1, "run again")."""
    jobs, _blobs = expected
    each = render_each(jobs, workers=2)
    next(each)
    for worker in _render_workers():
        os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(InterruptedWorkError, match="stopped unexpectedly"):
        list(each)
