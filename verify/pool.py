"""The verifier's process pool: the entries read in chunks, sent to worker processes, their verdicts in order.

Plumbing only -- what is decided about a chunk's entries is ``verify.rules.entries.check_chunk`` (run in
a worker) and what is decided on the verdicts, ``verify.engine.verify_bundle`` with the rule families.

entries.jsonl is read in blocks (hashed for the manifest as it streams) and cut into chunks of ``CHUNK``
lines, each an aligned perfect subtree of the log (``ledger.compact.Levels``); a chunk is cut short once
its lines hold ``CHUNK_BYTES``, and a line longer than an entry may be is hashed as it streams, never held.
At most two chunks per worker are in flight, so memory does not grow with the bundle.  Pass 1's search
for the entries that change who may sign (``verify.scan``) runs here too.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from custody.ledger.bundle import ENTRIES, Bundle, LineSplitter, LongLine
from custody.ledger.errors import InterruptedWorkError
from custody.ledger.i18n import _
from custody.ledger.registry import Registry
from custody.verify import scan
from custody.verify.cpus import allowed_cpus
from custody.verify.rules.entries import Checked, check_chunk
from custody.verify.workers import watch_parent

# Entries per worker task: an aligned perfect subtree of the log.  1,024 rather than 2,048: the chunks in
# flight (their bytes, lines and parsed entries) took ~12 MB more of the summed RSS, for no speed.
CHUNK_LEVEL = 10
CHUNK = 1 << CHUNK_LEVEL
# A chunk is cut shorter (to an aligned power of two) once its lines hold this many bytes: entries of
# megabytes must not make a chunk of 1,024 lines, and the chunks in flight, gigabytes.
CHUNK_BYTES = 16 << 20
BLOCK = scan.BLOCK  # bytes read at a time, as pass 1 reads them

Progress = Callable[[int], None]

# --- worker side ---

_worker_registry: Registry | None = None
_worker_origin = ""


def _init_worker(registry: Registry, origin: str, cpus: Sequence[int] = (), counter: Any = None) -> None:
    """A worker's start: the registry, and (``cpus``, ``counter``) the processor it keeps to.

    Pinned, because a worker that the scheduler moves between processors
    (two workers and this process share the cores) arrives to cold caches:
    OpenSSL's Ed25519 tables and the chunk must be fetched again.  Measured
    on the 2-core benchmark machine: ~4 % more entries per second.
    ``counter`` (a shared integer) numbers the workers as they start.
    """
    global _worker_registry, _worker_origin
    _worker_registry, _worker_origin = registry, origin
    if cpus and counter is not None:
        with counter.get_lock():
            index = counter.value
            counter.value += 1
        with contextlib.suppress(OSError):  # only speed depends on it
            os.sched_setaffinity(0, {cpus[index % len(cpus)]})


def _start_pool_worker(registry: Registry, origin: str, cpus: Sequence[int], counter: Any, parent: int) -> None:
    """A pool worker's start: ``_init_worker``, with the heap it inherited frozen (``gc.freeze``).

    The cyclic collector's full passes walked every object a forked worker
    inherited (modules, the registry); frozen, they are never walked.  The
    worker ends with ``parent`` (``verify.workers``).
    """
    watch_parent(parent)
    gc.freeze()
    _init_worker(registry, origin, cpus, counter)


def _check_chunk_in_pool(
    start: int, data: bytes, checkpoint_sizes: Sequence[int], longs: dict[int, LongLine] | None = None
) -> Checked:
    """``_check_chunk`` in a pool worker, of the chunk's lines joined by newlines, with the cyclic collector paused.

    One bytes object pickles and travels to the worker for less than the
    list of lines it holds (measured with 2,048: 1.2 against 0.9 us of CPU per
    entry between the two processes).

    A chunk's parsed entries (~6,000 dicts and lists) live until it ends, so
    the collector walked them again and again, to find nothing: they hold no
    cycles.  Whatever a chunk might leave in cycles is collected once it
    ends.  With the frozen heap: 14.6 -> 13.4 us of work per entry besides
    the signature, on the benchmark machine.
    """
    gc.disable()
    try:
        return _check_chunk(start, data.split(b"\n"), checkpoint_sizes, data, longs)
    finally:
        gc.enable()


def _worker_cpus(n_workers: int) -> list[int]:
    """The processors to pin ``n_workers`` workers to, one each, when there is one worker per processor.

    Only then do the workers and this process outnumber the processors; with
    fewer workers the scheduler has a free processor to move this process to,
    and pinning would only stop it from using whichever processors are idle.
    """
    if not hasattr(os, "sched_setaffinity"):
        return []  # not Linux: the scheduler decides
    allowed = allowed_cpus()  # [] where the mask cannot be read: only speed depends on it
    return allowed if len(allowed) == n_workers else []



def _check_chunk(
    start: int,
    lines: Sequence[bytes],
    checkpoint_sizes: Sequence[int] = (),
    whole: bytes | None = None,
    longs: dict[int, LongLine] | None = None,
) -> Checked:
    """``verify.rules.entries.check_chunk`` with this worker's registry and origin (``_init_worker``)."""
    registry = _worker_registry
    assert registry is not None
    return check_chunk(registry, _worker_origin, start, lines, checkpoint_sizes, whole, longs)




def _inside(sizes: Sequence[int], start: int, count: int) -> list[int]:
    """The sorted ``sizes`` strictly inside the chunk of ``count`` entries from ``start``."""
    return list(sizes[bisect.bisect_right(sizes, start) : bisect.bisect_left(sizes, start + count)])


def _room(start: int) -> int:
    """The most lines a chunk from ``start`` may hold: it must start at a multiple of a power of two at
    least as large as itself (``ledger.compact.Levels``)."""
    return CHUNK if start == 0 else min(CHUNK, start & -start)


def chunks(
    bundle: Bundle, digest: Any, progress: Progress | None
) -> Iterator[tuple[int, list[bytes], dict[int, LongLine]]]:
    """entries.jsonl in chunks, read a block at a time and hashed for the manifest: (start, lines, long lines).

    Lines are what ``Bundle.iter_lines`` yields: split at "\\n", the final
    newline optional -- except that a line longer than an entry may be is
    not held: ``b""`` stands in its place and the third member describes it
    by offset (``LineSplitter``).  A chunk holds ``CHUNK`` lines, fewer (an
    aligned power of two) once its lines hold ``CHUNK_BYTES``, and the last
    one what is left.  Time and memory are linear in the file's bytes,
    whatever its lines' lengths.
    """
    splitter = LineSplitter()
    pending: list[bytes] = []
    first = 0  # pending[first:] are the lines not yet given out
    held = 0  # their bytes
    longs: dict[int, LongLine] = {}  # seq -> a long line not yet given out
    start = 0

    def give(count: int) -> Iterator[tuple[int, list[bytes], dict[int, LongLine]]]:
        nonlocal first, held, start
        batch = pending[first : first + count]
        first += count
        size = sum(map(len, batch))
        held -= size
        batch_longs = {seq - start: longs.pop(seq) for seq in sorted(longs) if seq < start + count}
        yield start, batch, batch_longs
        start += count
        if progress:
            progress(size + len(batch) + sum(long.size for long in batch_longs.values()))

    def add(lines: list[bytes], found: dict[int, LongLine]) -> None:
        nonlocal pending, first, held
        if first:  # drop what was given out, at most once a block: linear
            del pending[:first]
            first = 0
        base = start + len(pending)
        longs.update({base + offset: long for offset, long in found.items()})
        pending.extend(lines)
        held += sum(map(len, lines))

    with bundle.open_stream(ENTRIES) as stream:
        while block := stream.read(BLOCK):
            digest.update(block)
            add(*splitter.feed(block))
            while len(pending) - first >= _room(start) or (held >= CHUNK_BYTES and len(pending) > first):
                yield from give(min(_room(start), 1 << ((len(pending) - first).bit_length() - 1)))
    last = splitter.end()
    if isinstance(last, LongLine):
        add([b""], {0: last})
    elif last is not None:
        add([last], {})
    while len(pending) > first:
        yield from give(min(len(pending) - first, _room(start)))


def registry_lines(bundle: Bundle, workers: int = 1) -> Iterator[tuple[int, bytes]]:
    """Pass 1's reading (``verify.scan``): (seq, line) of the first line and of each that may change who signs."""
    path = bundle.local_path(ENTRIES)
    try:
        parallel = path is not None and workers > 1 and path.stat().st_size >= scan.PARALLEL_MIN_BYTES
    except OSError:
        parallel = False  # open_stream below reports what is wrong with the bundle
    if parallel and path is not None:
        with _pool_errors():
            yield from scan.search_file(path, workers)
        return
    with bundle.open_stream(ENTRIES) as stream:
        yield from scan.search(stream)


@contextlib.contextmanager
def _pool_errors() -> Iterator[None]:
    """A worker process that died (the OOM killer, a kill) ends the verification with InterruptedWorkError."""
    try:
        yield
    except BrokenProcessPool:
        raise InterruptedWorkError(
            _("a verification worker process stopped unexpectedly (killed, or out of memory); "
              "nothing was concluded about this bundle"),
            hint=_("run the verification again; with --workers 1 it needs the least memory"),
        ) from None


def checked_chunks(
    chunks: Iterator[tuple[int, list[bytes], dict[int, LongLine] | None]], registry: Registry, origin: str,
    ordered_sizes: Sequence[int],
    n_workers: int, *, small: bool = False,
) -> Iterator[tuple[list[bytes], Checked]]:
    """Each chunk's lines with the workers' verdict on them, in order: the process pool's plumbing, apart from
    the decisions ``verify_bundle`` takes on the verdicts (I1-I9, the rules).

    In this process for one worker or a ``small`` bundle; else in a pool of ``n_workers`` processes, at most
    two chunks per worker in flight, so that memory does not grow with the bundle.
    """
    if n_workers <= 1 or small:
        _init_worker(registry, origin)
        for start, lines, longs in chunks:
            yield lines, _check_chunk(start, lines, _inside(ordered_sizes, start, len(lines)), None, longs)
        return
    context = multiprocessing.get_context()
    pinning = (_worker_cpus(n_workers), context.Value("i", 0))
    with _pool_errors(), ProcessPoolExecutor(
        n_workers, mp_context=context, initializer=_start_pool_worker,
        initargs=(registry, origin, *pinning, os.getpid()),
    ) as pool:
        window: list[tuple[list[bytes], Future[Checked]]] = []
        for start, lines, longs in chunks:
            inside = _inside(ordered_sizes, start, len(lines))
            window.append((lines, pool.submit(_check_chunk_in_pool, start, b"\n".join(lines), inside, longs)))
            if len(window) >= n_workers * 2:
                done_lines, fut = window.pop(0)
                yield done_lines, fut.result()
        for done_lines, fut in window:
            yield done_lines, fut.result()


class FileDigest:
    """SHA-256 and length of the bytes given to ``update``."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.size = 0

    def update(self, block: bytes) -> None:
        self.sha256.update(block)
        self.size += len(block)

