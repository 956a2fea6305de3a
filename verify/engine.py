"""The verifier's engine: stream a bundle once, check integrity, feed the rules.

Integrity (DESIGN.md, Completeness rules I1..I9) is checked here; compliance
rules (C1..C15) plug in as ``Rule`` objects that see every valid entry in seq
order with the key registry as it stood before that entry.

Work is split so that it runs on all cores in constant memory:

1. a first, cheap pass reads only the entries that change who may sign
   (genesis, personnel.*, key.*) and replays them into a ``Registry`` whose
   key intervals answer "was this key valid at seq N" for any N;
2. the second pass sends chunks of raw lines to worker processes, which parse
   strictly and verify signatures (the expensive part), while this process
   checks the chain, the clock, the tree roots at every checkpoint size
   (``CompactRange``: O(log n) state) and runs the rules.

At most a few chunks are in flight at any time, so memory does not grow with
the bundle.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ledger.bundle import ENTRIES, Bundle, attachment_refs
from ledger.checkpoint import Checkpoint
from ledger.compact import CompactRange
from ledger.cosignature import cosignatures_by
from ledger.entry import parse_entry, verify_entry_signature
from ledger.errors import CustodyError, FormatError, SignatureError
from ledger.events import validate_body
from ledger.i18n import _
from ledger.note import open_note
from ledger.registry import GENESIS, KeyStatus, Registry
from ledger.rfc6962 import leaf_hash
from ledger.timefmt import parse_at
from verify.findings import ERROR, INFO, WARNING, Finding, sort_key
from verify.trust import TrustAnchor

CHUNK = 2000
MAX_PER_CODE = 200
_REGISTRY_MARKERS = (b'"type":"personnel.', b'"type":"key.', b'"type":"contract.opened"')
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
    state: Any = None  # the final lifecycle state (verify.rules.lifecycle), for the reports
    # The latest time (Unix seconds) the municipality's witness cosigned this
    # ledger: the municipality's own clock, which the vendor cannot set.  Rules
    # with deadlines judge "now" by it, not only by the vendor's last entry.
    witness_time: int | None = None
    _counts: Counter[str] = field(default_factory=Counter)
    _suppressed: Counter[str] = field(default_factory=Counter)

    def note_witness_time(self, timestamp: int) -> None:
        self.witness_time = timestamp if self.witness_time is None else max(self.witness_time, timestamp)

    def add(
        self, code: str, severity: str, message: str, *, seq: int | None = None, media: str | None = None
    ) -> None:
        self._counts[code] += 1
        if self._counts[code] > MAX_PER_CODE:
            self._suppressed[code] += 1
            return
        self.findings.append(Finding(code, severity, message, seq, media))


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
    state: Any = field(default=None, compare=False, repr=False)  # final lifecycle state, for reports

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "origin": self.origin,
            "size": self.size,
            "pinned": self.pinned,
            "witnessed_size": self.witnessed_size,
            "checkpoint_size": self.checkpoint_size,
            "findings": [f.to_json() for f in self.findings],
        }


Progress = Callable[[int], None]


# --- worker side ---

_worker_registry: Registry | None = None
_worker_origin = ""


def _init_worker(registry: Registry, origin: str) -> None:
    global _worker_registry, _worker_origin
    _worker_registry, _worker_origin = registry, origin


# (seq, leaf hash, prev, (type, at, actor, body) or None, problems, attachment refs);
# plain tuples, which cross the process boundary far cheaper than objects.
Fields = tuple[str, str, str, dict[str, Any]]
Checked = tuple[int, bytes, bytes | None, Fields | None, list[tuple[str, str]], list[str]]


def _check_lines(start: int, lines: Sequence[bytes]) -> list[Checked]:
    """Parse and verify a chunk of entries."""
    registry = _worker_registry
    assert registry is not None
    out: list[Checked] = []
    for offset, line in enumerate(lines):
        seq = start + offset
        lh = leaf_hash(line)
        try:
            entry = parse_entry(line)
        except FormatError as exc:
            out.append((seq, lh, None, None, [("I7", _("entry is malformed: {why}").format(why=exc.message))], []))
            continue
        problems: list[tuple[str, str]] = []
        if entry.seq != seq:
            problems.append(("I1", _("entry says seq {got} at position {pos}").format(got=entry.seq, pos=seq)))
        if entry.origin != _worker_origin:
            problems.append(("I7", _("entry belongs to another ledger: {o}").format(o=entry.origin)))
        status, verifier = registry.key_status(entry.actor, entry.key_id, seq)
        if verifier is None:
            problems.append(("I2", _("signed by an unknown key ({actor})").format(actor=entry.actor)))
        elif status != KeyStatus.VALID:
            problems.append(("I2", _("signed by a {status} key ({actor})").format(status=_(status), actor=entry.actor)))
        else:
            try:
                verify_entry_signature(entry, verifier)
            except SignatureError:
                problems.append(("I2", _("signature by {actor} does not verify").format(actor=entry.actor)))
        if not problems:
            try:
                validate_body(entry.type, entry.body)
            except FormatError as exc:
                problems.append(("I7", _("the body of {type} is malformed: {why}").format(
                    type=entry.type, why=exc.message)))
        refs = list(attachment_refs(entry.body)) if b'"attachment"' in line else []
        out.append((seq, lh, entry.prev, (entry.type, entry.at, entry.actor, entry.body), problems, refs))
    return out


# --- main side ---


def _chunks(lines: Iterable[bytes], progress: Progress | None) -> Iterator[tuple[int, list[bytes]]]:
    batch: list[bytes] = []
    start = 0
    done = 0
    for line in lines:
        batch.append(line)
        done += len(line) + 1
        if len(batch) >= CHUNK:
            yield start, batch
            if progress:
                progress(done)
            done = 0
            start += len(batch)
            batch = []
    if batch:
        yield start, batch
        if progress:
            progress(done)


def _build_registry(bundle: Bundle, ctx: Context) -> Registry:
    """Pass 1: replay the entries that decide who may sign."""
    registry = Registry()
    for seq, line in enumerate(bundle.iter_lines()):
        if seq > 0 and not any(marker in line for marker in _REGISTRY_MARKERS):
            continue
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
                name=name, why=msg))
            continue
        if cp.origin != trust.origin:
            ctx.add("I3", ERROR, _("checkpoint {name} is for another origin").format(name=name))
            continue
        cps.by_size.setdefault(cp.size, []).append((name, cp.root_hash))
        cps.bundle_sizes.append(cp.size)
        try:
            stamps = cosignatures_by(parsed, witnesses)
            if stamps:
                cps.witnessed.add(cp.size)
                ctx.note_witness_time(max(stamps.values()))
        except SignatureError as exc:
            ctx.add("I3", ERROR, _("checkpoint {name} carries a forged cosignature: {why}").format(
                name=name, why=exc.message))
    for note in trust.held_checkpoints:
        try:
            parsed, _ok = open_note(note, [log])
            cp = Checkpoint.parse(parsed.text)
        except (CustodyError, ValueError):
            continue  # the authority only keeps checkpoints it verified
        cps.by_size.setdefault(cp.size, []).append(("authority", cp.root_hash))
        cps.witnessed.add(cp.size)
        try:
            stamps = cosignatures_by(parsed, witnesses)
        except SignatureError:
            stamps = {}
        if stamps:
            ctx.note_witness_time(max(stamps.values()))
    return cps


def _check_roots(ctx: Context, cps: _Checkpoints, size: int, root: bytes) -> None:
    for source, expected in cps.by_size.get(size, []):
        if expected == root:
            continue
        if source == "authority":
            ctx.add("I5", ERROR, _(
                "the ledger differs from the checkpoint the municipality holds at size {size}: "
                "history was rewritten or forked").format(size=size))
        else:
            ctx.add("I4", ERROR, _("checkpoint {name}: tree root differs from the entries").format(name=source))


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
            b=bundle.origin, t=trust.origin))
        return _result(ctx, rules=(), size=0, last_cp=0)
    if not trust.pinned:
        ctx.add("I5", WARNING, _(
            "verified against keys from the bundle itself, not a municipality trust store: "
            "a rebuilt history would not be detected"))
    cps = _load_checkpoints(bundle, ctx)
    registry = _build_registry(bundle, ctx)
    rng = CompactRange()
    prev_hash = bytes(32)
    prev_time: datetime | None = None
    entries_digest = hashlib.sha256()
    ordered_sizes = sorted(s for s in cps.by_size if s > 0)
    if 0 in cps.by_size:
        _check_roots(ctx, cps, 0, rng.root())
    next_cp = 0

    def results() -> Iterator[Checked]:
        lines = _hashing(bundle.iter_lines(), entries_digest)
        n_workers = workers if workers is not None else (os.cpu_count() or 1)
        if n_workers <= 1 or bundle.entries_size_bytes() < 2_000_000:
            _init_worker(registry, trust.origin)
            for start, batch in _chunks(lines, progress):
                yield from _check_lines(start, batch)
            return
        with ProcessPoolExecutor(n_workers, initializer=_init_worker, initargs=(registry, trust.origin)) as pool:
            window: list[Future[list[Checked]]] = []
            for start, batch in _chunks(lines, progress):
                window.append(pool.submit(_check_lines, start, batch))
                if len(window) >= n_workers * 3:
                    yield from window.pop(0).result()
            for fut in window:
                yield from fut.result()

    attachments: dict[str, int] = {}
    for seq, lh, prev, fields, problems, refs in results():
        ctx.size = seq + 1
        for code, message in problems:
            ctx.add(code, ERROR, message, seq=seq)
        if seq == 0 and trust.genesis_leaf_hash is not None and lh != trust.genesis_leaf_hash:
            ctx.add("I5", ERROR, _("the genesis entry differs from the one the municipality pinned"), seq=0)
        if prev is not None and prev != prev_hash:
            ctx.add("I1", ERROR, _("hash chain broken: 'prev' does not match the previous entry"), seq=seq)
        prev_hash = lh
        rng.append(lh)
        while next_cp < len(ordered_sizes) and ordered_sizes[next_cp] == rng.size:
            _check_roots(ctx, cps, rng.size, rng.root())
            next_cp += 1
        if fields is None:
            continue
        etype, at, actor, body = fields
        for ref in refs:
            attachments.setdefault(ref, seq)
        try:
            moment = parse_at(at)
        except FormatError:
            moment = None
        if moment is not None:
            if prev_time is not None and moment < prev_time:
                ctx.add("I9", ERROR, _("recorded time runs backwards ({at})").format(at=at), seq=seq)
            prev_time = moment if prev_time is None else max(prev_time, moment)
        if seq == 0 and etype != GENESIS:
            ctx.add("I7", ERROR, _("the first entry is not contract.opened"), seq=0)
        authentic = not any(code == "I2" for code, _msg in problems)
        if etype == "contract.closed" and ctx.closed_seq is None and authentic:
            ctx.closed_seq = seq  # closed, even if its body is malformed (I7)
        if problems:
            continue
        view = EntryView(seq, etype, at, actor, body, lh)
        for rule in rules:
            rule.observe(view, ctx)
        if etype in _REGISTRY_TYPES:
            ctx.registry.apply(view)

    size = ctx.size
    for missing in ordered_sizes[next_cp:]:
        sources = {s for s, _r in cps.by_size[missing]}
        if "authority" in sources:
            ctx.add("I5", ERROR, _(
                "the municipality holds a checkpoint of size {cp} but the bundle has only {n} entries: "
                "the ledger was truncated").format(cp=missing, n=size))
        else:
            ctx.add("I4", ERROR, _("a checkpoint claims size {cp} beyond the {n} entries").format(cp=missing, n=size))
    listed = bundle.listed(ENTRIES)
    if listed is None or listed.sha256 != entries_digest.hexdigest():
        ctx.add("I7", ERROR, _("entries.jsonl differs from the bundle manifest"))
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
    for rule in rules:
        rule.finish(ctx)
    last_cp = max(cps.bundle_sizes, default=0)
    return _result(ctx, rules, size, last_cp)


def _hashing(lines: Iterable[bytes], digest: Any) -> Iterator[bytes]:
    for line in lines:
        digest.update(line)
        digest.update(b"\n")
        yield line


def _check_attachments(bundle: Bundle, ctx: Context, wanted: dict[str, int]) -> None:
    """I8: every attachment an entry references is present with the right hash."""
    for digest, seq in sorted(wanted.items(), key=lambda kv: kv[1]):
        data = bundle.attachment(digest) if _is_hex64(digest) else None
        if data is None:
            ctx.add("I8", ERROR, _("attachment {h} is missing from the bundle").format(h=digest[:16]), seq=seq)
        elif hashlib.sha256(data).hexdigest() != digest:
            ctx.add("I8", ERROR, _("attachment {h} does not match its hash").format(h=digest[:16]), seq=seq)


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _result(ctx: Context, rules: Sequence[Rule], size: int, last_cp: int) -> Result:
    for code, count in sorted(ctx._suppressed.items()):
        ctx.findings.append(Finding(code, INFO, _("{n} more {code} findings not listed").format(n=count, code=code)))
    findings = tuple(sorted(ctx.findings, key=sort_key))
    ok = not any(f.severity == ERROR for f in findings)
    return Result(ok, ctx.trust.origin, size, findings, ctx.trust.pinned, ctx.witnessed_size, last_cp, ctx.state)
