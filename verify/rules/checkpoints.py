"""Checkpoints and tree roots (docs/spec-rules.md §4: I3 checkpoint signatures, I4 roots, I5 the municipality's
witness, I6 entries not yet cosigned; I7 a checkpoint file's name, docs/spec.md §10.1).

Every checkpoint file of the bundle and every checkpoint the trust store holds (files the authority keeps,
the witness's record) is opened before the entries are read; their roots are compared with the tree the
entries make, at every checkpoint size, as the chunks arrive (``CompactRange`` holds O(log n) state).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from custody.ledger.bundle import Bundle, checkpoint_name
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.compact import CompactRange
from custody.ledger.cosignature import cosignature_stamps
from custody.ledger.errors import CustodyError, SignatureError
from custody.ledger.i18n import _
from custody.ledger.note import open_note
from custody.ledger.quoting import REASON_LIMIT, quote
from custody.verify.context import Context
from custody.verify.findings import ERROR, WARNING
from custody.verify.rules.entries import Checked

AUTHORITY = "authority"  # a checkpoint file the trust store keeps
RECORD = "record"  # a size and root in the witness's record

CHECKPOINT_NAME = re.compile(r"checkpoints/([0-9]{12}|[1-9][0-9]{12,18})\.checkpoint")


@dataclass(frozen=True)
class CheckpointResult:
    """``witnessed_size``: the largest size the municipality's witness cosigned, within the entries;
    ``checkpoint_size``: the largest checkpoint the bundle carries; ``witness_time``: the latest cosignature
    (Unix seconds), None if there is none."""

    witnessed_size: int
    checkpoint_size: int
    witness_time: int | None


@dataclass
class CheckpointRule:
    """Checkpoints from the bundle and the trust store, by size, with their roots; the tree the entries make."""

    ctx: Context
    by_size: dict[int, list[tuple[str, bytes]]] = field(default_factory=dict)  # size -> [(source, root)]
    witnessed: set[int] = field(default_factory=set)
    bundle_sizes: list[int] = field(default_factory=list)
    tree: CompactRange = field(default_factory=CompactRange)
    _ordered: list[int] = field(default_factory=list)
    _next: int = 0

    def load(self, bundle: Bundle) -> None:
        """I3, I7: open every checkpoint of the bundle and of the trust store."""
        ctx = self.ctx
        trust = ctx.trust
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
            self._check_name(name, cp.size)
            self.add_root(cp.size, name, cp.root_hash)
            self.bundle_sizes.append(cp.size)
            try:
                stamps = cosignature_stamps(parsed, witnesses)  # every time, not only each witness's latest (C22)
                if stamps:
                    self.witnessed.add(cp.size)
                    for _vkey, stamp in stamps:
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
            self.add_root(cp.size, AUTHORITY, cp.root_hash)
            self.witnessed.add(cp.size)
            try:
                stamps = cosignature_stamps(parsed, witnesses)
            except SignatureError:
                stamps = []
            for _vkey, stamp in stamps:
                ctx.note_witness_time(stamp)
        # The witness's own record (latest.json, cosigned.jsonl): it holds where checkpoint files were lost.
        for head in trust.recorded_heads:
            self.add_root(head.size, RECORD, head.root_hash)
            self.witnessed.add(head.size)
            if head.timestamp is not None:
                ctx.note_witness_time(head.timestamp)

    def add_root(self, size: int, source: str, root: bytes) -> None:
        """A root the entries must make at ``size``: from a checkpoint file, the trust store, or a proof's
        checkpoint (``source`` its name)."""
        self.by_size.setdefault(size, []).append((source, root))

    def _check_name(self, name: str, size: int) -> None:
        """I7: a checkpoint file is named after the size of the checkpoint it holds (docs/spec.md §10.1)."""
        match = CHECKPOINT_NAME.fullmatch(name)
        if match is None or int(match[1]) != size:
            self.ctx.add("I7", ERROR, _(
                "{name} holds the checkpoint of size {size}, but is not named {expected}").format(
                    name=quote(name), size=size, expected=checkpoint_name(size)))

    def start(self) -> list[int]:
        """Once every root is known, before the first chunk: the sizes to compare, ascending (the workers
        hash the partial subtrees of those inside their chunk), and the empty tree's root."""
        self._ordered = sorted(s for s in self.by_size if s > 0)
        if 0 in self.by_size:
            self._check_roots(0, self.tree.root())
        return self._ordered

    def chunk(self, chunk: Checked) -> None:
        """I4, I5: the roots at the checkpoint sizes inside the chunk and at its end."""
        tree = self.tree
        for size, subtrees in chunk.at_checkpoints.items():
            at_size = tree.copy()
            at_size.extend(subtrees)
            self._check_roots(size, at_size.root())
        tree.extend(chunk.subtrees)
        ordered = self._ordered
        while self._next < len(ordered) and ordered[self._next] <= tree.size:
            if ordered[self._next] == tree.size:
                self._check_roots(tree.size, tree.root())
            self._next += 1

    def _check_roots(self, size: int, root: bytes) -> None:
        rewritten = False
        for source, expected in self.by_size.get(size, []):
            if expected == root:
                continue
            if source in (AUTHORITY, RECORD):
                if not rewritten:
                    self.ctx.add("I5", ERROR, _(
                        "the ledger differs from what the municipality's witness cosigned at size {size}: "
                        "history was rewritten or forked").format(size=size))
                rewritten = True
            elif source.startswith("proofs/"):
                self.ctx.add("I4", ERROR, _("the checkpoint in {name}: tree root differs from the entries").format(
                    name=quote(source)))
            else:
                self.ctx.add("I4", ERROR, _("checkpoint {name}: tree root differs from the entries").format(
                    name=quote(source)))

    def beyond(self, size: int) -> None:
        """I5, I4: checkpoints of sizes beyond the ``size`` entries the bundle holds."""
        beyond = self._ordered[self._next :]
        witnessed_beyond = [s for s in beyond if {src for src, _r in self.by_size[s]} & {AUTHORITY, RECORD}]
        if witnessed_beyond:  # one finding, naming the largest size the municipality's witness cosigned
            self.ctx.add("I5", ERROR, _(
                "the municipality's witness cosigned size {cp} but the bundle has only {n} entries: "
                "the ledger was truncated").format(cp=max(witnessed_beyond), n=size))
        for missing in beyond:
            if missing not in witnessed_beyond:
                self.ctx.add("I4", ERROR, _("a checkpoint claims size {cp} beyond the {n} entries").format(
                    cp=missing, n=size))

    def finish(self, size: int, closed: bool) -> CheckpointResult:
        """I6: entries after the last checkpoint the municipality cosigned (an error once the contract is
        ``closed``, else a warning: the next cosignature covers them)."""
        witnessed = max((s for s in self.witnessed if s <= size), default=0)
        if size > witnessed:
            self.ctx.add(
                "I6",
                ERROR if closed else WARNING,
                _("{n} entries after the last checkpoint the municipality cosigned (size {w})").format(
                    n=size - witnessed, w=witnessed),
                seq=witnessed,
            )
        return CheckpointResult(witnessed, max(self.bundle_sizes, default=0), self.ctx.witness_time)
