"""The bundle's inclusion proofs (docs/spec.md §8.6, §10.4; docs/spec-rules.md §4: I3, I4, I7).

Every file under proofs/ is read before the entries: its name, its form and its checkpoint (checked as a
bundle checkpoint is: I3 the log key's signature, the origin, no forged cosignature).  The checkpoint's
root joins the roots compared with the entries (``CheckpointRule``), so that a proof against a tree the
entries do not make is caught; the inclusion itself is checked once the entries are read (``finish``).
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from custody.ledger.bundle import Bundle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosignatures_by
from custody.ledger.errors import CustodyError, FormatError, ProofError, SignatureError
from custody.ledger.i18n import _
from custody.ledger.note import Verifier, open_note
from custody.ledger.proof import verify_inclusion
from custody.ledger.quoting import REASON_LIMIT, quote
from custody.ledger.tlogproof import parse_tlog_proof
from custody.verify.context import Context
from custody.verify.findings import ERROR, WARNING
from custody.verify.rules.checkpoints import CheckpointRule
from custody.verify.rules.entries import Checked
from custody.verify.trust import TrustAnchor

PROOF_NAME = re.compile(r"proofs/(0|[1-9][0-9]{0,18})\.tlog-proof")


@dataclass(frozen=True)
class Proof:
    """A tlog-proof file whose form and checkpoint hold: what remains is to check it against the entry."""

    name: str
    seq: int
    hashes: tuple[bytes, ...]
    size: int
    root: bytes


@dataclass(frozen=True)
class ProofResult:
    """How many proofs were checked against their entries, and how many of those failed (I4)."""

    checked: int
    failed: int


class ProofRule:
    """The proofs under proofs/, their entries' leaf hashes as the chunks pass, their inclusion at the end."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.proofs: list[Proof] = []
        self._wanted: list[int] = []  # the entries the proofs name, ascending
        self._leaves: dict[int, bytes] = {}

    def load(self, bundle: Bundle, checkpoints: CheckpointRule) -> None:
        """Every file under proofs/: its name, its form, its checkpoint (whose root joins ``checkpoints``).
        One bundle's proofs mostly carry the same checkpoint note: each distinct note is opened once."""
        ctx = self.ctx
        trust = ctx.trust
        log = trust.log_verifier()
        witnesses = trust.witness_verifiers()
        opened: dict[bytes, tuple[Checkpoint | None, str, str]] = {}  # SHA-256 of a note -> open_proof_checkpoint
        for name in bundle.files():
            if not name.startswith("proofs/"):
                continue
            match = PROOF_NAME.fullmatch(name)
            if match is None:
                ctx.add("I7", WARNING, _(
                    "{name} is not a proof file of the bundle (proofs/<seq>.tlog-proof)").format(name=quote(name)))
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
                opened[key] = open_proof_checkpoint(proof.checkpoint, trust, log, witnesses)
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
            checkpoints.add_root(checkpoint.size, name, checkpoint.root_hash)
            self.proofs.append(Proof(name, seq, proof.hashes, checkpoint.size, checkpoint.root_hash))
        self._wanted = sorted({p.seq for p in self.proofs})

    def chunk(self, chunk: Checked, count: int) -> None:
        """Keep the leaf hashes of the entries the proofs name, among the chunk's ``count``."""
        wanted, start = self._wanted, chunk.start
        for seq in wanted[bisect.bisect_left(wanted, start) : bisect.bisect_left(wanted, start + count)]:
            self._leaves[seq] = chunk.leaf_hashes[(seq - start) * 32 : (seq - start) * 32 + 32]

    def finish(self) -> ProofResult:
        """I4: each proof's audit path leads from its entry's leaf hash to its checkpoint's root (RFC 9162
        §2.1.3.2)."""
        failed = 0
        for proof in self.proofs:
            leaf = self._leaves.get(proof.seq)
            if leaf is None:
                failed += 1
                self.ctx.add("I4", ERROR, _("{name} proves entry {seq}, which the bundle does not hold").format(
                    name=proof.name, seq=proof.seq), seq=proof.seq)
                continue
            try:
                verify_inclusion(leaf, proof.seq, proof.size, proof.hashes, proof.root)
            except (ProofError, FormatError):
                failed += 1
                self.ctx.add("I4", ERROR, _(
                    "{name}: the inclusion proof of entry {seq} does not lead to the root of the checkpoint it "
                    "carries (size {size})").format(name=proof.name, seq=proof.seq, size=proof.size), seq=proof.seq)
        return ProofResult(len(self.proofs), failed)


def open_proof_checkpoint(
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
