"""The verifier's engine: stream a bundle once, check integrity, feed the rules.

Integrity (docs/spec-rules.md §4 (I1-I9)) is checked here; compliance
rules (C1..C15) plug in as ``Rule`` objects that see every valid entry in seq
order with the key registry as it stood before that entry.

Work is split so that it runs on all cores in constant memory:

1. a first, cheap pass finds the entries that change who may sign
   (genesis, personnel.*, key.*) by a byte search over large blocks, the
   ranges of a large file searched at once (``verify.scan``), and replays
   them into a ``Registry`` whose key intervals answer "was this key
   valid at seq N" for any N;
2. the second pass reads the entries in blocks, hashes the file for the
   manifest, and sends chunks of ``CHUNK`` lines to worker processes.  A
   worker does everything that needs no earlier chunk: strict parsing, the
   signature (the expensive part), the body's schema, the hash chain inside
   the chunk, and the chunk's share of the Merkle tree (a chunk is an aligned
   perfect subtree; ``ledger.compact.Levels``).  This process joins the
   chunks (chain and tree at their seams: ``CompactRange`` holds O(log n)
   state), checks the clock and the tree roots at every checkpoint size, and
   runs the rules on entries it re-reads with a plain parse -- cheaper than
   sending parsed bodies between processes.

At most a few chunks are in flight at any time, so memory does not grow with
the bundle; a chunk is cut short once its lines hold ``CHUNK_BYTES``, and a
line longer than an entry may be is hashed as it streams, never held.

Around the entries: every checkpoint file and every ``proofs/*.tlog-proof``
is opened first (their roots join the comparisons of pass 2), and at the end
every file is compared with the manifest and each proof's audit path with
its entry (docs/spec.md §10.4, §12).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from custody.ledger.bundle import ENTRIES, Bundle, LineSplitter, LongLine, attachment_refs, checkpoint_name
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.compact import CompactRange, Levels, Subtree
from custody.ledger.cosignature import cosignatures_by
from custody.ledger.entry import (
    KEY_ID_SIZE,
    MAX_LEAF_BYTES,
    parse_entry,
    parse_fields,
    verify_entry_signature,
    verify_leaf_signature,
)
from custody.ledger.errors import CustodyError, FormatError, InterruptedWorkError, ProofError, SignatureError
from custody.ledger.events import body_checker
from custody.ledger.i18n import _
from custody.ledger.note import Verifier, open_note
from custody.ledger.proof import verify_inclusion
from custody.ledger.quoting import REASON_LIMIT, quote
from custody.ledger.registry import GENESIS, KeyStatus, Registry
from custody.ledger.timefmt import parse_at
from custody.ledger.tlogproof import parse_tlog_proof
from custody.verify import scan
from custody.verify.cpus import allowed_cpus, usable_cpus
from custody.verify.findings import ERROR, INFO, WARNING, Finding, sort_key
from custody.verify.trust import TrustAnchor, trust_of
from custody.verify.workers import watch_parent

if TYPE_CHECKING:
    from custody.ledger.lifecycle import LedgerState

# Entries per worker task: an aligned perfect subtree of the log.  1,024 rather than 2,048: the chunks in
# flight (their bytes, lines and parsed entries) took ~12 MB more of the summed RSS, for no speed.
CHUNK_LEVEL = 10
CHUNK = 1 << CHUNK_LEVEL
# A chunk is cut shorter (to an aligned power of two) once its lines hold this many bytes: entries of
# megabytes must not make a chunk of 1,024 lines, and the chunks in flight, gigabytes.
CHUNK_BYTES = 16 << 20
BLOCK = scan.BLOCK  # bytes read at a time, as pass 1 reads them
MAX_PER_CODE = 200
_REGISTRY_TYPES = frozenset(
    {"contract.opened", "personnel.registered", "personnel.changed", "personnel.removed", "key.rotated", "key.revoked"}
)


@dataclass(slots=True)
class EntryView:
    """What rules see of one entry that parsed and verified."""

    seq: int
    type: str
    at: str
    actor: str
    body: dict[str, Any]
    leaf_hash: bytes


@dataclass
class Context:
    trust: TrustAnchor
    registry: Registry = field(default_factory=Registry)
    genesis: dict[str, Any] = field(default_factory=dict)
    closed_seq: int | None = None
    size: int = 0
    witnessed_size: int = 0
    findings: list[Finding] = field(default_factory=list)
    state: LedgerState | None = None  # the final lifecycle state (verify.rules.lifecycle), for the reports
    # The latest time (Unix seconds) the municipality's witness cosigned this
    # ledger: the municipality's own clock, which the vendor cannot set.  Rules
    # with deadlines judge "now" by it, not only by the vendor's last entry.
    witness_time: int | None = None
    # Every time (Unix seconds) the municipality's witness cosigned a checkpoint of this ledger: the cadence of
    # cosigned checkpoints the contract asks for (C22, docs/spec-rules.md).
    cosigned_at: set[int] = field(default_factory=set)
    _counts: Counter[str] = field(default_factory=Counter)
    _suppressed: Counter[str] = field(default_factory=Counter)

    def note_witness_time(self, timestamp: int) -> None:
        self.witness_time = timestamp if self.witness_time is None else max(self.witness_time, timestamp)
        self.cosigned_at.add(timestamp)

    def add(
        self, code: str, severity: str, message: str, *, seq: int | None = None, media: str | None = None,
        en_ja: tuple[str, str] | None = None,
    ) -> None:
        """A finding; ``en_ja``: its message in both languages, where the rule wrote both."""
        self._counts[code] += 1
        if self._counts[code] > MAX_PER_CODE:
            self._suppressed[code] += 1
            return
        self.findings.append(Finding(code, severity, message, seq, media, en_ja))


class Rule(Protocol):
    """A compliance rule: sees valid entries in order, reports at the end."""

    def observe(self, entry: EntryView, ctx: Context) -> None: ...

    def finish(self, ctx: Context) -> None: ...


@dataclass(frozen=True)
class Result:
    ok: bool
    origin: str
    size: int
    findings: tuple[Finding, ...]
    pinned: bool
    witnessed_size: int
    checkpoint_size: int
    state: LedgerState | None = field(default=None, compare=False, repr=False)  # final lifecycle state, for reports

    @property
    def trust(self) -> str:
        """"pinned" (against the municipality's trust store) or "unchecked" (the bundle's own keys: 未確認)."""
        return trust_of(self.pinned)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "origin": self.origin,
            "size": self.size,
            "pinned": self.pinned,
            "trust": self.trust,
            "witnessed_size": self.witnessed_size,
            "checkpoint_size": self.checkpoint_size,
            "findings": [f.to_json() for f in self.findings],
        }


Progress = Callable[[int], None]


# --- worker side ---

_worker_registry: Registry | None = None
_worker_origin = ""
_ATTACHMENT = b'"attachment"'  # in the bytes of every body that references one (custody.ledger.bundle.attachment_refs)


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


@dataclass(slots=True)
class Checked:
    """A worker's verdict on one chunk; sparse where problems are rare, so it pickles small."""

    start: int
    leaf_hashes: bytes  # 32 bytes per entry
    first_prev: bytes | None  # the first entry's ``prev`` (the seam with the chunk before); None if malformed
    moments: list[int | None]  # ``at`` in microseconds since the epoch; None where unknown
    malformed: dict[int, str]  # offset -> why the entry did not parse (I7): no fields, no rules
    problems: dict[int, list[tuple[str, str]]]  # offset -> findings that keep the entry from the rules
    chain_breaks: list[int]  # offsets whose ``prev`` is not the leaf hash before them (inside the chunk)
    attachments: dict[int, list[str]]  # offset -> attachment hashes the body references
    subtrees: list[Subtree]  # the chunk's perfect subtrees, largest first
    at_checkpoints: dict[int, list[Subtree]]  # checkpoint size inside the chunk -> subtrees of [start, size)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _moment(at: str) -> int | None:
    try:
        return (parse_at(at) - _EPOCH) // _MICROSECOND
    except FormatError:
        return None


def _check_chunk(
    start: int,
    lines: Sequence[bytes],
    checkpoint_sizes: Sequence[int] = (),
    whole: bytes | None = None,
    longs: dict[int, LongLine] | None = None,
) -> Checked:
    """Parse and verify a chunk of entries, and hash its part of the tree.

    ``checkpoint_sizes``: the checkpoint sizes that fall inside the chunk
    (``_inside``), whose roots need the chunk's partial subtrees; ``whole``:
    the lines joined by newlines, where the caller has them; ``longs``: the
    lines too long to be entries, by offset (their place in ``lines`` holds
    ``b""``): I7, with the leaf hash of the line that was read.

    In phases -- every entry parsed, then every signature, then every body --
    rather than entry by entry: alternating between the interpreter and
    OpenSSL's Ed25519 code for each entry costs measurably more (each evicts
    the other from the processor's caches).
    """
    registry = _worker_registry
    assert registry is not None
    origin = _worker_origin
    moments: list[int | None] = []
    malformed: dict[int, str] = {}
    problems: dict[int, list[tuple[str, str]]] = {}
    chain_breaks: list[int] = []
    attachments: dict[int, list[str]] = {}
    first_prev: bytes | None = None
    before = b""
    sha256 = hashlib.sha256
    hashes = [sha256(b"\x00" + line).digest() for line in lines]  # RFC 6962 leaf hashes
    # One search of the whole chunk instead of one per line: few chunks reference an attachment.
    may_attach = _ATTACHMENT in (b"\n".join(lines) if whole is None else whole)
    fields: list[tuple[dict[str, Any], bytes, bytes] | str] = []
    for line in lines:
        try:
            fields.append(parse_fields(line))
        except FormatError as exc:
            fields.append(quote(exc.message, REASON_LIMIT))
    for offset, long in (longs or {}).items():
        hashes[offset] = long.leaf_hash
        fields[offset] = _("it is {size} bytes long, more than the {limit} bytes an entry may have").format(
            size=f"{long.size:,}", limit=f"{MAX_LEAF_BYTES:,}")
    # Phase 1: the chain, the clock, envelope findings, who signed.
    parsed: list[tuple[int, dict[str, Any], bytes, Verifier, list[tuple[str, str]]]] = []
    for offset, item in enumerate(fields):
        seq = start + offset
        lh = hashes[offset]
        if isinstance(item, str):
            malformed[offset] = _("entry is malformed: {why}").format(why=item)
            moments.append(None)
            before = lh
            continue
        obj, prev, sig = item
        if offset == 0:
            first_prev = prev
        elif prev != before:
            chain_breaks.append(offset)
        before = lh
        moments.append(_moment(obj["at"]))
        found: list[tuple[str, str]] = []
        if obj["seq"] != seq:
            found.append(("I1", _("entry says seq {got} at position {pos}").format(got=obj["seq"], pos=seq)))
        if obj["origin"] != origin:
            found.append(("I7", _("entry belongs to another ledger: {o}").format(o=quote(obj["origin"]))))
        actor = obj["actor"]
        status, verifier = registry.key_status(actor, sig[:KEY_ID_SIZE], seq)
        if verifier is None:
            found.append(("I2", _("signed by an unknown key ({actor})").format(actor=quote(actor))))
        elif status != KeyStatus.VALID:
            found.append(("I2", _("signed by a {status} key ({actor})").format(status=_(status), actor=quote(actor))))
        else:
            parsed.append((offset, obj, sig, verifier, found))
        if found:
            problems[offset] = found
        if may_attach and _ATTACHMENT in lines[offset]:
            refs = list(attachment_refs(obj["body"]))
            if refs:
                attachments[offset] = refs
    # Phase 2: the signatures of the entries whose key was valid.
    for offset, _obj, sig, verifier, found in parsed:
        try:
            verify_leaf_signature(lines[offset], sig, verifier)
        except SignatureError:
            found.append(("I2", _("signature by {actor} does not verify").format(actor=quote(verifier.name))))
            problems[offset] = found
    # Phase 3: the bodies of the entries with no finding so far.
    for offset, obj, _sig, _verifier, found in parsed:
        if found:
            continue
        try:
            body_checker(obj["type"])(obj["body"])
        except FormatError as exc:
            found.append(("I7", _("the body of {type} is malformed: {why}").format(
                type=quote(obj["type"]), why=quote(exc.message, REASON_LIMIT))))
            problems[offset] = found
    levels = Levels(hashes)
    inside = {size: levels.prefix(size - start) for size in checkpoint_sizes}
    return Checked(start, b"".join(hashes), first_prev, moments, malformed, problems, chain_breaks, attachments,
                   levels.prefix(len(lines)), inside)


# --- main side ---


def _inside(sizes: Sequence[int], start: int, count: int) -> list[int]:
    """The sorted ``sizes`` strictly inside the chunk of ``count`` entries from ``start``."""
    return list(sizes[bisect.bisect_right(sizes, start) : bisect.bisect_left(sizes, start + count)])


def _room(start: int) -> int:
    """The most lines a chunk from ``start`` may hold: it must start at a multiple of a power of two at
    least as large as itself (``ledger.compact.Levels``)."""
    return CHUNK if start == 0 else min(CHUNK, start & -start)


def _chunks(
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


def _registry_lines(bundle: Bundle, workers: int = 1) -> Iterator[tuple[int, bytes]]:
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


def _build_registry(bundle: Bundle, ctx: Context, workers: int = 1) -> Registry:
    """Pass 1: replay the entries that decide who may sign."""
    registry = Registry()
    for seq, line in _registry_lines(bundle, workers):
        if len(line) > MAX_LEAF_BYTES:
            continue  # I7 in pass 2 (docs/spec.md §10.3): it signs for nobody
        try:
            entry = parse_entry(line)
        except FormatError:
            continue  # reported in pass 2
        if entry.seq != seq or not (entry.type == GENESIS or entry.type.startswith(("personnel.", "key."))):
            continue
        if entry.type == GENESIS:
            if seq != 0:
                continue
            registry.apply(entry)  # bootstraps the responsible person's key
            ctx.genesis = entry.body
        status, verifier = registry.key_status(entry.actor, entry.key_id, seq)
        if verifier is None or status != KeyStatus.VALID:
            continue
        try:
            verify_entry_signature(entry, verifier)
        except SignatureError:
            if entry.type == GENESIS:
                registry = Registry()  # a genesis that does not verify trusts nobody
            continue
        if entry.type != GENESIS:
            registry.apply(entry)
    return registry


@dataclass
class _Checkpoints:
    """Checkpoints from the bundle and the trust store, by size, with their roots."""

    by_size: dict[int, list[tuple[str, bytes]]] = field(default_factory=dict)  # size -> [(source, root)]
    witnessed: set[int] = field(default_factory=set)
    bundle_sizes: list[int] = field(default_factory=list)


def _load_checkpoints(bundle: Bundle, ctx: Context) -> _Checkpoints:
    trust = ctx.trust
    cps = _Checkpoints()
    log = trust.log_verifier()
    witnesses = trust.witness_verifiers()
    for name, note in bundle.checkpoint_notes():
        try:
            parsed, _ok = open_note(note, [log])
            cp = Checkpoint.parse(parsed.text)
        except (CustodyError, ValueError) as exc:
            msg = exc.message if isinstance(exc, CustodyError) else str(exc)
            ctx.add("I3", ERROR, _("checkpoint {name} does not verify with the log key: {why}").format(
                name=quote(name), why=quote(msg, REASON_LIMIT)))
            continue
        if cp.origin != trust.origin:
            ctx.add("I3", ERROR, _("checkpoint {name} is for another origin").format(name=quote(name)))
            continue
        _check_checkpoint_name(ctx, name, cp.size)
        cps.by_size.setdefault(cp.size, []).append((name, cp.root_hash))
        cps.bundle_sizes.append(cp.size)
        try:
            stamps = cosignatures_by(parsed, witnesses)
            if stamps:
                cps.witnessed.add(cp.size)
                for stamp in stamps.values():
                    ctx.note_witness_time(stamp)
        except SignatureError as exc:
            ctx.add("I3", ERROR, _("checkpoint {name} carries a forged cosignature: {why}").format(
                name=quote(name), why=quote(exc.message, REASON_LIMIT)))
    for note in trust.held_checkpoints:
        try:
            parsed, _ok = open_note(note, [log])
            cp = Checkpoint.parse(parsed.text)
        except (CustodyError, ValueError):
            continue  # the authority only keeps checkpoints it verified
        cps.by_size.setdefault(cp.size, []).append((AUTHORITY, cp.root_hash))
        cps.witnessed.add(cp.size)
        try:
            stamps = cosignatures_by(parsed, witnesses)
        except SignatureError:
            stamps = {}
        for stamp in stamps.values():
            ctx.note_witness_time(stamp)
    # The witness's own record (latest.json, cosigned.jsonl): it holds where checkpoint files were lost.
    for head in trust.recorded_heads:
        cps.by_size.setdefault(head.size, []).append((RECORD, head.root_hash))
        cps.witnessed.add(head.size)
        if head.timestamp is not None:
            ctx.note_witness_time(head.timestamp)
    return cps


AUTHORITY = "authority"  # a checkpoint file the trust store keeps
RECORD = "record"  # a size and root in the witness's record


def _check_roots(ctx: Context, cps: _Checkpoints, size: int, root: bytes) -> None:
    rewritten = False
    for source, expected in cps.by_size.get(size, []):
        if expected == root:
            continue
        if source in (AUTHORITY, RECORD):
            if not rewritten:
                ctx.add("I5", ERROR, _(
                    "the ledger differs from what the municipality's witness cosigned at size {size}: "
                    "history was rewritten or forked").format(size=size))
            rewritten = True
        elif source.startswith("proofs/"):
            ctx.add("I4", ERROR, _("the checkpoint in {name}: tree root differs from the entries").format(
                name=quote(source)))
        else:
            ctx.add("I4", ERROR, _("checkpoint {name}: tree root differs from the entries").format(name=quote(source)))


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


def verify_bundle(
    bundle: Bundle,
    trust: TrustAnchor,
    rules: Sequence[Rule] = (),
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Result:
    ctx = Context(trust=trust)
    if bundle.origin != trust.origin:
        ctx.add("I5", ERROR, _("the bundle is for {b}, the trust store pins {t}").format(
            b=quote(bundle.origin), t=quote(trust.origin)))
        return _result(ctx, rules=(), size=0, last_cp=0)
    if not trust.pinned:
        ctx.add("I5", WARNING, _(
            "verified against keys from the bundle itself, not a municipality trust store: "
            "a rebuilt history would not be detected"))
    for severity, message in trust.record_problems:  # the witness's record disagrees with itself
        ctx.add("I5", severity, _("the witness's record in the trust store: {problem}").format(problem=message))
    cps = _load_checkpoints(bundle, ctx)
    proofs = _load_proofs(bundle, ctx, cps)
    wanted = sorted({proof.seq for proof in proofs})  # the entries the proofs name: their leaf hashes
    leaves: dict[int, bytes] = {}
    n_workers = workers if workers is not None else usable_cpus()
    registry = _build_registry(bundle, ctx, n_workers)
    rng = CompactRange()
    prev_hash = bytes(32)
    latest: int | None = None  # the latest recorded time so far (I9), microseconds
    entries_digest = _FileDigest()
    ordered_sizes = sorted(s for s in cps.by_size if s > 0)
    if 0 in cps.by_size:
        _check_roots(ctx, cps, 0, rng.root())
    next_cp = 0

    attachments: dict[str, int] = {}
    chunks = _chunks(bundle, entries_digest, progress)
    for lines, chunk in checked_chunks(chunks, registry, trust.origin, ordered_sizes, n_workers,
                                       small=n_workers > 1 and bundle.entries_size_bytes() < 2_000_000):
        start = chunk.start
        # The seams: the chain and the tree across the chunk boundary.
        breaks = [start + offset for offset in chunk.chain_breaks]
        if chunk.first_prev is not None and chunk.first_prev != prev_hash:
            breaks.insert(0, start)
        for seq in breaks:
            ctx.add("I1", ERROR, _("hash chain broken: 'prev' does not match the previous entry"), seq=seq)
        prev_hash = chunk.leaf_hashes[-32:]
        if start == 0 and trust.genesis_leaf_hash is not None and chunk.leaf_hashes[:32] != trust.genesis_leaf_hash:
            ctx.add("I5", ERROR, _("the genesis entry differs from the one the municipality pinned"), seq=0)
        for size, subtrees in chunk.at_checkpoints.items():
            at_size = rng.copy()
            at_size.extend(subtrees)
            _check_roots(ctx, cps, size, at_size.root())
        rng.extend(chunk.subtrees)
        for seq in wanted[bisect.bisect_left(wanted, start) : bisect.bisect_left(wanted, start + len(lines))]:
            leaves[seq] = chunk.leaf_hashes[(seq - start) * 32 : (seq - start) * 32 + 32]
        while next_cp < len(ordered_sizes) and ordered_sizes[next_cp] <= rng.size:
            if ordered_sizes[next_cp] == rng.size:
                _check_roots(ctx, cps, rng.size, rng.root())
            next_cp += 1
        ctx.size = start + len(lines)
        malformed, problems, refs = chunk.malformed, chunk.problems, chunk.attachments
        moments = chunk.moments
        for offset, line in enumerate(lines):
            seq = start + offset
            if malformed and offset in malformed:
                ctx.add("I7", ERROR, malformed[offset], seq=seq)
                continue
            found = problems.get(offset) if problems else None
            if found:
                for code, message in found:
                    ctx.add(code, ERROR, message, seq=seq)
            # A plain parse: the worker has proved these bytes canonical.
            obj = orjson.loads(line)
            etype = obj["type"]
            moment = moments[offset]
            if moment is not None:
                if latest is not None and moment < latest:
                    ctx.add("I9", ERROR, _("recorded time runs backwards ({at})").format(at=obj["at"]), seq=seq)
                elif latest is None or moment > latest:
                    latest = moment
            if seq == 0 and etype != GENESIS:
                ctx.add("I7", ERROR, _("the first entry is not contract.opened"), seq=0)
            if refs and offset in refs:
                for ref in refs[offset]:
                    attachments.setdefault(ref, seq)
            if found:
                authentic = not any(code == "I2" for code, _msg in found)
                if etype == "contract.closed" and ctx.closed_seq is None and authentic:
                    ctx.closed_seq = seq  # closed, even if its body is malformed (I7)
                continue
            if etype == "contract.closed" and ctx.closed_seq is None:
                ctx.closed_seq = seq
            view = EntryView(seq, etype, obj["at"], obj["actor"], obj["body"],
                             chunk.leaf_hashes[offset * 32 : offset * 32 + 32])
            for rule in rules:
                rule.observe(view, ctx)
            if etype in _REGISTRY_TYPES:
                ctx.registry.apply(view)

    size = ctx.size
    beyond = ordered_sizes[next_cp:]
    witnessed_beyond = [s for s in beyond if {src for src, _r in cps.by_size[s]} & {AUTHORITY, RECORD}]
    if witnessed_beyond:  # one finding, naming the largest size the municipality's witness cosigned
        ctx.add("I5", ERROR, _(
            "the municipality's witness cosigned size {cp} but the bundle has only {n} entries: "
            "the ledger was truncated").format(cp=max(witnessed_beyond), n=size))
    for missing in beyond:
        if missing not in witnessed_beyond:
            ctx.add("I4", ERROR, _("a checkpoint claims size {cp} beyond the {n} entries").format(cp=missing, n=size))
    _check_manifest(bundle, ctx, entries_digest.sha256.hexdigest(), entries_digest.size)
    if bundle.declared_size != size:
        ctx.add("I7", ERROR, _("the manifest declares {d} entries, the bundle holds {n}").format(
            d=bundle.declared_size, n=size))
    if size == 0:
        ctx.add("I1", ERROR, _("the bundle holds no entries"))
    witnessed = max((s for s in cps.witnessed if s <= size), default=0)
    ctx.witnessed_size = witnessed
    if size > witnessed:
        closed = ctx.closed_seq is not None
        ctx.add(
            "I6",
            ERROR if closed else WARNING,
            _("{n} entries after the last checkpoint the municipality cosigned (size {w})").format(
                n=size - witnessed, w=witnessed),
            seq=witnessed,
        )
    _check_attachments(bundle, ctx, attachments)
    _check_proofs(ctx, proofs, leaves)
    for rule in rules:
        rule.finish(ctx)
    last_cp = max(cps.bundle_sizes, default=0)
    return _result(ctx, rules, size, last_cp)


def _check_attachments(bundle: Bundle, ctx: Context, wanted: dict[str, int]) -> None:
    """I8: every attachment an entry references is present with the right hash."""
    for digest, seq in sorted(wanted.items(), key=lambda kv: kv[1]):
        name = f"attachments/{digest}"
        if not _is_hex64(digest) or not bundle.has(name):
            ctx.add("I8", ERROR, _("attachment {h} is missing from the bundle").format(h=quote(digest[:16])), seq=seq)
        elif bundle.digest(name)[0] != digest:
            ctx.add("I8", ERROR, _("attachment {h} does not match its hash").format(h=digest[:16]), seq=seq)


class _FileDigest:
    """SHA-256 and length of the bytes given to ``update``."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.size = 0

    def update(self, block: bytes) -> None:
        self.sha256.update(block)
        self.size += len(block)


_CHECKPOINT_NAME = re.compile(r"checkpoints/([0-9]{12}|[1-9][0-9]{12,18})\.checkpoint")


def _check_checkpoint_name(ctx: Context, name: str, size: int) -> None:
    """I7: a checkpoint file is named after the size of the checkpoint it holds (docs/spec.md §10.1)."""
    match = _CHECKPOINT_NAME.fullmatch(name)
    if match is None or int(match[1]) != size:
        ctx.add("I7", ERROR, _("{name} holds the checkpoint of size {size}, but is not named {expected}").format(
            name=quote(name), size=size, expected=checkpoint_name(size)))


def _check_manifest(bundle: Bundle, ctx: Context, entries_sha256: str, entries_bytes: int) -> None:
    """I7: the manifest against the files the bundle holds (docs/spec.md §10.4).

    Every listed file must be there with the listed SHA-256 and size (an
    error: the bundle is not what was exported); a file that is not listed
    is a warning (nothing in the bundle depends on the manifest to be
    authenticated, but the auditor should know of it); the checkpoint list
    must name exactly the sizes of the checkpoint files.
    """
    manifest_files = bundle.manifest["files"]
    for name in sorted(manifest_files):
        listed = bundle.listed(name)
        assert listed is not None
        if name == ENTRIES:
            actual = (entries_sha256, entries_bytes)
        elif not bundle.has(name):
            ctx.add("I7", ERROR, _("{name} is listed in the bundle manifest but missing from the bundle").format(
                name=quote(name)))
            continue
        else:
            actual = bundle.digest(name)
        if actual != (listed.sha256, listed.size):
            ctx.add("I7", ERROR, _("{name} differs from the bundle manifest").format(name=quote(name)))
    if ENTRIES not in manifest_files:
        ctx.add("I7", ERROR, _("{name} differs from the bundle manifest").format(name=ENTRIES))
    for name in bundle.unlisted_files():
        if name != ENTRIES:
            ctx.add("I7", WARNING, _("{name} is in the bundle but not in its manifest").format(name=quote(name)))
    held = sorted(int(m[1]) for m in map(_CHECKPOINT_NAME.fullmatch, bundle.files()) if m is not None)
    if held != bundle.manifest["checkpoints"]:
        ctx.add("I7", ERROR, _("the bundle manifest lists the checkpoints {listed}; the bundle holds {held}").format(
            listed=_sizes_text(bundle.manifest["checkpoints"]), held=_sizes_text(held)))


def _sizes_text(sizes: Sequence[int]) -> str:
    return quote(", ".join(map(str, sizes)) or "-")


@dataclass(frozen=True)
class _Proof:
    """A tlog-proof file whose form and checkpoint hold: what remains is to check it against the entry."""

    name: str
    seq: int
    hashes: tuple[bytes, ...]
    size: int
    root: bytes


_PROOF_NAME = re.compile(r"proofs/(0|[1-9][0-9]{0,18})\.tlog-proof")


def _load_proofs(bundle: Bundle, ctx: Context, cps: _Checkpoints) -> list[_Proof]:
    """Every file under proofs/ (docs/spec.md §8.6, §10.4): its name, its form, its checkpoint.

    A proof's checkpoint is checked as a bundle checkpoint is (I3: the log
    key's signature, the origin, no forged cosignature) and its root joins
    the roots compared with the entries (I4), so that a proof against a tree
    the entries do not make is caught; the inclusion itself is checked once
    the entries are read (``_check_proofs``).  One bundle's proofs mostly
    carry the same checkpoint note: each distinct note is opened once.
    """
    trust = ctx.trust
    log = trust.log_verifier()
    witnesses = trust.witness_verifiers()
    opened: dict[bytes, tuple[Checkpoint | None, str, str]] = {}  # SHA-256 of a note -> _open_proof_checkpoint
    proofs: list[_Proof] = []
    for name in bundle.files():
        if not name.startswith("proofs/"):
            continue
        match = _PROOF_NAME.fullmatch(name)
        if match is None:
            ctx.add("I7", WARNING, _("{name} is not a proof file of the bundle (proofs/<seq>.tlog-proof)").format(
                name=quote(name)))
            continue
        seq = int(match[1])
        try:
            proof = parse_tlog_proof(bundle.read(name))
        except FormatError as exc:
            ctx.add("I7", ERROR, _("{name} is malformed: {why}").format(
                name=name, why=quote(exc.message, REASON_LIMIT)), seq=seq)
            continue
        if proof.index != seq:
            ctx.add("I7", ERROR, _("{name} proves entry {index}, not entry {seq}").format(
                name=name, index=proof.index, seq=seq), seq=seq)
            continue
        key = hashlib.sha256(proof.checkpoint).digest()
        if key not in opened:
            opened[key] = _open_proof_checkpoint(proof.checkpoint, trust, log, witnesses)
        checkpoint, problem, why = opened[key]
        if problem == "key":
            ctx.add("I3", ERROR, _("the checkpoint in {name} does not verify with the log key: {why}").format(
                name=name, why=why), seq=seq)
        elif problem == "origin":
            ctx.add("I3", ERROR, _("the checkpoint in {name} is for another origin").format(name=name), seq=seq)
        elif problem == "forged":
            ctx.add("I3", ERROR, _("the checkpoint in {name} carries a forged cosignature: {why}").format(
                name=name, why=why), seq=seq)
        if checkpoint is None:
            continue
        cps.by_size.setdefault(checkpoint.size, []).append((name, checkpoint.root_hash))
        proofs.append(_Proof(name, seq, proof.hashes, checkpoint.size, checkpoint.root_hash))
    return proofs


def _open_proof_checkpoint(
    note: bytes, trust: TrustAnchor, log: Verifier, witnesses: list[Verifier]
) -> tuple[Checkpoint | None, str, str]:
    """(its checkpoint if the log key signed it for this origin; what is wrong: "", "key", "origin", "forged"; why)."""
    try:
        parsed, _ok = open_note(note, [log])
        checkpoint = Checkpoint.parse(parsed.text)
    except (CustodyError, ValueError) as exc:
        why = exc.message if isinstance(exc, CustodyError) else str(exc)
        return None, "key", quote(why, REASON_LIMIT)
    if checkpoint.origin != trust.origin:
        return None, "origin", ""
    try:
        cosignatures_by(parsed, witnesses)
    except SignatureError as exc:
        return checkpoint, "forged", quote(exc.message, REASON_LIMIT)
    return checkpoint, "", ""


def _check_proofs(ctx: Context, proofs: Sequence[_Proof], leaves: dict[int, bytes]) -> None:
    """I4: each proof's audit path leads from its entry's leaf hash to its checkpoint's root (RFC 9162 §2.1.3.2)."""
    for proof in proofs:
        leaf = leaves.get(proof.seq)
        if leaf is None:
            ctx.add("I4", ERROR, _("{name} proves entry {seq}, which the bundle does not hold").format(
                name=proof.name, seq=proof.seq), seq=proof.seq)
            continue
        try:
            verify_inclusion(leaf, proof.seq, proof.size, proof.hashes, proof.root)
        except (ProofError, FormatError):
            ctx.add("I4", ERROR, _(
                "{name}: the inclusion proof of entry {seq} does not lead to the root of the checkpoint it carries "
                "(size {size})").format(name=proof.name, seq=proof.seq, size=proof.size), seq=proof.seq)


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _result(ctx: Context, rules: Sequence[Rule], size: int, last_cp: int) -> Result:
    for code, count in sorted(ctx._suppressed.items()):
        ctx.findings.append(Finding(code, INFO, _("{n} more {code} findings not listed").format(n=count, code=code)))
    findings = tuple(sorted(ctx.findings, key=sort_key))
    ok = not any(f.severity == ERROR for f in findings)
    return Result(ok, ctx.trust.origin, size, findings, ctx.trust.pinned, ctx.witnessed_size, last_cp, ctx.state)
