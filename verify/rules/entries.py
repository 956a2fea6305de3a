"""The entries themselves (docs/spec-rules.md §4: I1 chain and order, I2 signatures, I7 form, I9 clock): who may
sign, a worker's verdict on one chunk, and the chain joined across chunks.

Pass 1 (``build_registry``) replays the entries that change who may sign (genesis, personnel.*, key.*)
into a ``Registry`` whose key intervals answer "was this key valid at seq N" for any N.  In pass 2 a
worker (``verify.pool``) runs ``check_chunk`` on each chunk: strict parsing, the signature (the expensive
part), the body's schema, the hash chain inside the chunk, and the chunk's share of the Merkle tree (a
chunk is an aligned perfect subtree; ``ledger.compact.Levels``).  This process's ``ChainRule`` joins the
verdicts -- the chain at the seams, the recorded time, the first entry -- and hands the entries that
passed to the compliance rules, re-read with a plain parse (cheaper than sending parsed bodies between
processes).
"""

from __future__ import annotations

import binascii
import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from custody.ledger.bundle import LongLine, attachment_refs
from custody.ledger.compact import Levels, Subtree
from custody.ledger.entry import (
    KEY_ID_SIZE,
    MAX_LEAF_BYTES,
    failed_leaf_signatures,
    parse_entry,
    parse_fields,
    verify_entry_signature,
)
from custody.ledger.errors import FormatError, SignatureError
from custody.ledger.events import body_checker, body_validity
from custody.ledger.i18n import _
from custody.ledger.lifecycle.liveness import AliveRun, RunBuilder
from custody.ledger.note import Verifier
from custody.ledger.quoting import REASON_LIMIT, quote
from custody.ledger.registry import GENESIS, KeyStatus, Registry
from custody.verify.context import Context, EntryView
from custody.verify.findings import ERROR

_ATTACHMENT = b'"attachment"'  # in the bytes of every body that references one (custody.ledger.bundle.attachment_refs)


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
    runs: list[AliveRun]  # the runs of an agent's signs of life among the entries with no finding, in order


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def check_chunk(
    registry: Registry,
    origin: str,
    start: int,
    lines: Sequence[bytes],
    checkpoint_sizes: Sequence[int] = (),
    whole: bytes | None = None,
    longs: dict[int, LongLine] | None = None,
) -> Checked:
    """Parse and verify a chunk of entries, and hash its part of the tree.

    ``checkpoint_sizes``: the checkpoint sizes that fall inside the chunk
    (``verify.pool``), whose roots need the chunk's partial subtrees; ``whole``:
    the lines joined by newlines, where the caller has them; ``longs``: the
    lines too long to be entries, by offset (their place in ``lines`` holds
    ``b""``): I7, with the leaf hash of the line that was read.

    In two phases -- everything but the signatures, entry by entry, then every
    signature -- rather than each entry whole: alternating between the
    interpreter and OpenSSL's Ed25519 code for each entry costs measurably
    more (each evicts the other from the processor's caches).  The first
    phase keeps nothing of an entry's parsed objects once its envelope, chain,
    clock, key and body are judged: a chunk's worth kept (~2 MB) outgrows the
    processor's cache and made every parse cost twice as much.

    Along the way, the runs of an agent's signs of life among the entries
    with no finding (``ledger.lifecycle.liveness.RunBuilder``), which the compliance
    replay takes whole instead of parsing their entries again.
    """
    moments: list[int | None] = []
    malformed: dict[int, str] = {}
    problems: dict[int, list[tuple[str, str]]] = {}
    chain_breaks: list[int] = []
    attachments: dict[int, list[str]] = {}
    first_prev: bytes | None = None
    before = b""
    sha256 = hashlib.sha256
    hashes = [sha256(b"\x00" + line).digest() for line in lines]  # RFC 6962 leaf hashes
    longs = longs or {}
    for offset, long in longs.items():
        hashes[offset] = long.leaf_hash
    # One search of the whole chunk instead of one per line: few chunks reference an attachment.
    may_attach = _ATTACHMENT in (b"\n".join(lines) if whole is None else whole)
    # Phase 1: the envelope, the chain, the clock, who signed, the body.  The loop of a million entries: names
    # looked up once, lists of findings made only for the entries that have one.
    signed: list[tuple[bytes, bytes, Verifier]] = []  # (leaf, sig, key) of each entry whose key was valid
    signed_at: list[int] = []  # the offset of each
    bodies_wrong: dict[int, list[tuple[str, str]]] = {}  # I7 of a body, kept if its signature verifies
    key_status, valid = registry.key_status, KeyStatus.VALID
    fromisoformat, epoch, microsecond = datetime.fromisoformat, _EPOCH, _MICROSECOND
    append_moment, append_signed, append_signed_at = moments.append, signed.append, signed_at.append
    validities: dict[str, Callable[[object], bool]] = {}  # body_validity's, by type, looked up once a chunk
    b2a = binascii.b2a_base64
    runs = RunBuilder()
    offer, end_run = runs.offer, runs.close
    # Each entry's prev is expected to be the leaf hash before it: its base64 is compared, not decoded.
    expected: tuple[bytes, str] | None = None
    seq = start - 1
    for offset, line in enumerate(lines):
        seq += 1
        lh = hashes[offset]
        why: str | None = None
        if longs and offset in longs:
            why = _("it is {size} bytes long, more than the {limit} bytes an entry may have").format(
                size=f"{longs[offset].size:,}", limit=f"{MAX_LEAF_BYTES:,}")
        else:
            try:
                obj, prev, sig = parse_fields(line, expected)
            except FormatError as exc:
                why = quote(exc.message, REASON_LIMIT)
        if why is not None:
            malformed[offset] = _("entry is malformed: {why}").format(why=why)
            append_moment(None)
            before, expected = lh, (lh, b2a(lh, newline=False).decode("ascii"))
            end_run()
            continue
        expected = (lh, b2a(lh, newline=False).decode("ascii"))
        if offset == 0:
            first_prev = prev
        elif prev != before:
            chain_breaks.append(offset)
        before = lh
        at = obj["at"]
        try:  # _moment, inline: an 'at' the envelope check let through is a string
            parsed = fromisoformat(at)
        except ValueError:
            moment = None
        else:
            moment = None if parsed.tzinfo is None else (parsed - epoch) // microsecond
        append_moment(moment)
        found: list[tuple[str, str]] | None = None
        if obj["seq"] != seq:
            found = [("I1", _("entry says seq {got} at position {pos}").format(got=obj["seq"], pos=seq))]
        if obj["origin"] != origin:
            found = found or []
            found.append(("I7", _("entry belongs to another ledger: {o}").format(o=quote(obj["origin"]))))
        actor = obj["actor"]
        status, verifier = key_status(actor, sig[:KEY_ID_SIZE], seq)
        if verifier is None:
            found = found or []
            found.append(("I2", _("signed by an unknown key ({actor})").format(actor=quote(actor))))
        elif status != valid:
            found = found or []
            found.append(("I2", _("signed by a {status} key ({actor})").format(status=_(status), actor=quote(actor))))
        else:
            append_signed((line, sig, verifier))
            append_signed_at(offset)
        kind, body = obj["type"], obj["body"]
        runnable = False  # whether it may be part of a run of signs of life: no finding, no attachment
        if found:
            problems[offset] = found
        elif verifier is not None:  # the body of an entry with no finding so far, offered to the fast test first
            runnable = True
            try:
                valid_body = validities.get(kind)
                if valid_body is None:
                    valid_body = validities[kind] = body_validity(kind)
                fits = valid_body(body)
            except (FormatError, ValueError, TypeError, OverflowError):
                fits = False  # an unknown type, a value the fast test cannot take: judged below
            if not fits:
                try:
                    body_checker(kind)(body)
                except FormatError as exc:
                    bodies_wrong[offset] = [("I7", _("the body of {type} is malformed: {why}").format(
                        type=quote(kind), why=quote(exc.message, REASON_LIMIT)))]
                    runnable = False
        if may_attach and _ATTACHMENT in line:
            refs = list(attachment_refs(body))
            if refs:
                attachments[offset] = refs
                runnable = False
        if runnable:
            offer(seq, kind, actor, at, moment, body.get("observed_at"))
        else:
            end_run()
    end_run()
    # Phase 2: the signatures of the entries whose key was valid; a body is judged only where the signature
    # holds (a forged entry's body is nobody's).
    forged: list[int] = []
    for position in failed_leaf_signatures(signed):
        offset = signed_at[position]
        forged.append(start + offset)
        bodies_wrong.pop(offset, None)
        problems.setdefault(offset, []).append(
            ("I2", _("signature by {actor} does not verify").format(actor=quote(signed[position][2].name))))
    problems.update(bodies_wrong)
    kept = runs.runs
    if forged:  # a run holds only entries with no finding: one with a forged entry is given up whole
        # (forged is in seq order: a search per run, not a scan, when every signature of a chunk is forged)
        kept = [run for run in kept if bisect_left(forged, run.first_seq) == bisect_right(forged, run.last_seq)]
    levels = Levels(hashes)
    inside = {size: levels.prefix(size - start) for size in checkpoint_sizes}
    return Checked(start, b"".join(hashes), first_prev, moments, malformed, problems, chain_breaks, attachments,
                   levels.prefix(len(lines)), inside, kept)



def build_registry(lines: Iterable[tuple[int, bytes]], ctx: Context) -> Registry:
    """Pass 1: replay the entries that decide who may sign, from (seq, line) of the first line and of each that
    may change who signs (``verify.pool.registry_lines``)."""
    registry = Registry()
    for seq, line in lines:
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


@dataclass(frozen=True)
class ChainResult:
    """What the entries came to: how many there are and where the contract was closed (None: it is open)."""

    size: int
    closed_seq: int | None


class ChainRule:
    """The workers' verdicts joined, chunk after chunk, in seq order: I1 (the chain at the seams, no entries),
    I5 (the genesis the municipality pinned), I7 (malformed entries, the first entry), I9 (recorded time), and
    every entry's own findings from its worker; the entries that passed go on to the compliance rules."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.size = 0
        self.closed_seq: int | None = None
        self._prev_hash = bytes(32)
        self._latest: int | None = None  # the latest recorded time so far (I9), microseconds

    def seam(self, chunk: Checked) -> None:
        """I1 at the chunk's seam and inside it; I5 if the genesis is not the one the municipality pinned."""
        ctx, start = self.ctx, chunk.start
        breaks = [start + offset for offset in chunk.chain_breaks]
        if chunk.first_prev is not None and chunk.first_prev != self._prev_hash:
            breaks.insert(0, start)
        for seq in breaks:
            ctx.add("I1", ERROR, _("hash chain broken: 'prev' does not match the previous entry"), seq=seq)
        self._prev_hash = chunk.leaf_hashes[-32:]
        pinned = ctx.trust.genesis_leaf_hash
        if start == 0 and pinned is not None and chunk.leaf_hashes[:32] != pinned:
            ctx.add("I5", ERROR, _("the genesis entry differs from the one the municipality pinned"), seq=0)

    def entries(self, lines: Sequence[bytes], chunk: Checked, refer: Callable[[str, int], None]
                ) -> Iterator[EntryView | AliveRun]:
        """Each entry's findings in seq order, and the entries that passed, for the compliance rules: one by one,
        or a run of an agent's signs of life whole (``Checked.runs``: ``run_views`` gives its entries);
        ``refer(digest, seq)`` is told each attachment an entry references (``AttachmentRule.refer``)."""
        ctx = self.ctx
        start = chunk.start
        self.size = start + len(lines)
        malformed, problems, refs = chunk.malformed, chunk.problems, chunk.attachments
        moments = chunk.moments
        runs = {run.first_seq - start: run for run in chunk.runs}
        latest = self._latest
        skip_to = -1  # the last offset of the run just given
        for offset, line in enumerate(lines):
            if offset <= skip_to:
                continue
            seq = start + offset
            run = runs.get(offset) if runs else None
            # A run's times never decrease: none runs backwards (I9) if its first does not; the genesis is never
            # an agent's, but a ledger may begin with one (I7 below).
            if run is not None and seq != 0 and (latest is None or run.first_us >= latest):
                latest = run.last_us
                skip_to = run.last_seq - start
                yield run
                continue
            if malformed and offset in malformed:
                ctx.add("I7", ERROR, malformed[offset], seq=seq)
                continue
            found = problems.get(offset) if problems else None
            if found:
                for code, message in found:
                    ctx.add(code, ERROR, message, seq=seq)
            view = _view(line, chunk, offset)
            moment = moments[offset]
            if moment is not None:
                if latest is not None and moment < latest:
                    ctx.add("I9", ERROR, _("recorded time runs backwards ({at})").format(at=view.at), seq=seq)
                elif latest is None or moment > latest:
                    latest = moment
            if seq == 0 and view.type != GENESIS:
                ctx.add("I7", ERROR, _("the first entry is not contract.opened"), seq=0)
            if refs and offset in refs:
                for ref in refs[offset]:
                    refer(ref, seq)
            if found:
                authentic = not any(code == "I2" for code, _msg in found)
                if view.type == "contract.closed" and self.closed_seq is None and authentic:
                    self.closed_seq = seq  # closed, even if its body is malformed (I7)
                continue
            if view.type == "contract.closed" and self.closed_seq is None:
                self.closed_seq = seq
            yield view
        self._latest = latest

    @staticmethod
    def run_views(lines: Sequence[bytes], chunk: Checked, run: AliveRun) -> Iterator[EntryView]:
        """The entries of a run ``entries`` gave, one by one, for a rule that does not take it whole."""
        for seq in range(run.first_seq, run.last_seq + 1):
            offset = seq - chunk.start
            yield _view(lines[offset], chunk, offset)

    def finish(self) -> ChainResult:
        """I1 if the bundle holds no entries."""
        if self.size == 0:
            self.ctx.add("I1", ERROR, _("the bundle holds no entries"))
        return ChainResult(self.size, self.closed_seq)


def _view(line: bytes, chunk: Checked, offset: int) -> EntryView:
    """What the rules see of the entry at ``offset`` of a chunk: a plain parse of its line, its objects dropped
    before the next (the worker has proved the bytes canonical).  Parsed one at a time a line costs half what
    it costs among a chunk's kept objects, and less than objects sent from the worker (marshal's dumps and
    loads)."""
    obj = orjson.loads(line)
    return EntryView(chunk.start + offset, obj["type"], obj["at"], obj["actor"], obj["body"],
                     chunk.leaf_hashes[offset * 32 : offset * 32 + 32], chunk.moments[offset])
