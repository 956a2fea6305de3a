"""The verifier's engine: stream a bundle once, check integrity, feed the rules.

``verify_bundle`` runs the rule families of ``verify.rules`` around the
process pool (``verify.pool``), in an order that decides which findings of a
code are listed first (``verify.context.MAX_PER_CODE``):

1. before the entries: the trust anchor (I5), every checkpoint file and the
   trust store's checkpoints (``rules.checkpoints``: I3, I7), every
   ``proofs/*.tlog-proof`` (``rules.proofs``: their roots join the
   comparisons), and pass 1 (``rules.entries.build_registry``), which
   replays the entries that change who may sign;
2. the entries, a chunk at a time, each chunk checked by a worker
   (``rules.entries.check_chunk``: parsing, signatures, bodies, the chain
   and the tree inside the chunk); here, in seq order, the chain at the
   seams (``rules.entries.ChainRule``), the tree roots at every checkpoint
   size, the proofs' leaves, and the entries that passed, to the
   compliance rules (``rules.lifecycle``): one by one, or a run of an
   agent's signs of life whole where the rule can take it so;
3. at the end: checkpoints beyond the entries, the manifest, entries not yet
   cosigned (I6), the attachments (I8), the proofs' inclusion (I4), and the
   compliance rules' end-of-ledger findings.

Integrity is docs/spec-rules.md §4 (I1-I9); the bundle, docs/spec.md §10.4, §12.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from custody.ledger.bundle import Bundle
from custody.ledger.i18n import _
from custody.ledger.lifecycle.liveness import AliveRun
from custody.ledger.quoting import quote
from custody.verify import pool
from custody.verify.context import Context, EntryView, Rule
from custody.verify.cpus import usable_cpus
from custody.verify.findings import ERROR, INFO, WARNING, Finding, sort_key
from custody.verify.rules.attachments import AttachmentResult, AttachmentRule
from custody.verify.rules.checkpoints import CheckpointResult, CheckpointRule
from custody.verify.rules.entries import ChainResult, ChainRule, build_registry
from custody.verify.rules.manifest import ManifestResult, ManifestRule
from custody.verify.rules.proofs import ProofResult, ProofRule
from custody.verify.trust import TrustAnchor, trust_of

if TYPE_CHECKING:
    from custody.ledger.lifecycle import LedgerState
    from custody.verify.rules.lifecycle import ComplianceResult

__all__ = ["Context", "EntryView", "IntegrityResults", "Progress", "Result", "Rule", "verify_bundle"]

Progress = pool.Progress


@dataclass(frozen=True)
class IntegrityResults:
    """Each integrity family's typed result (None where verification stopped before it ran)."""

    chain: ChainResult | None = None
    checkpoints: CheckpointResult | None = None
    proofs: ProofResult | None = None
    manifest: ManifestResult | None = None
    attachments: AttachmentResult | None = None


@dataclass(frozen=True)
class Result:
    ok: bool
    origin: str
    size: int
    findings: tuple[Finding, ...]
    pinned: bool
    witnessed_size: int
    checkpoint_size: int
    # The compliance replay's result (the final lifecycle state, the findings by family), for the reports.
    compliance: ComplianceResult | None = field(default=None, compare=False, repr=False)
    integrity: IntegrityResults = field(default_factory=IntegrityResults, compare=False, repr=False)

    @property
    def state(self) -> LedgerState | None:
        """The final lifecycle state, None where the rules did not run."""
        return None if self.compliance is None else self.compliance.state

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
        return _result(ctx, 0, 0, witnessed_size=0)
    if not trust.pinned:
        ctx.add("I5", WARNING, _(
            "verified against keys from the bundle itself, not a municipality trust store: "
            "a rebuilt history would not be detected"))
    for severity, message in trust.record_problems:  # the witness's record disagrees with itself
        ctx.add("I5", severity, _("the witness's record in the trust store: {problem}").format(problem=message))
    checkpoints = CheckpointRule(ctx)
    checkpoints.load(bundle)
    proofs = ProofRule(ctx)
    proofs.load(bundle, checkpoints)
    n_workers = workers if workers is not None else usable_cpus()
    registry = build_registry(pool.registry_lines(bundle, n_workers), ctx)
    chain = ChainRule(ctx)
    attachments = AttachmentRule(ctx)
    ordered_sizes = checkpoints.start()

    entries_digest = pool.FileDigest()
    chunks = pool.chunks(bundle, entries_digest, progress)
    refer = attachments.refer
    for lines, chunk in pool.checked_chunks(chunks, registry, trust.origin, ordered_sizes, n_workers,
                                            small=n_workers > 1 and bundle.entries_size_bytes() < 2_000_000):
        chain.seam(chunk)
        checkpoints.chunk(chunk)
        proofs.chunk(chunk, len(lines))
        for item in chain.entries(lines, chunk, refer):
            if isinstance(item, AliveRun):
                for rule in rules:
                    if not rule.observe_run(item, ctx):
                        for view in chain.run_views(lines, chunk, item):
                            rule.observe(view, ctx)
            else:
                for rule in rules:
                    rule.observe(item, ctx)

    size = chain.size
    checkpoints.beyond(size)
    manifest = ManifestRule(ctx).finish(bundle, entries_digest.sha256.hexdigest(), entries_digest.size, size)
    chained = chain.finish()
    cosigned = checkpoints.finish(size, closed=chain.closed_seq is not None)
    attached = attachments.finish(bundle)
    proven = proofs.finish()
    for rule in rules:
        rule.finish(ctx)
    integrity = IntegrityResults(chained, cosigned, proven, manifest, attached)
    return _result(ctx, size, cosigned.checkpoint_size, cosigned.witnessed_size, integrity)


def _result(
    ctx: Context, size: int, last_cp: int, witnessed_size: int, integrity: IntegrityResults | None = None
) -> Result:
    for code, count in ctx.suppressed():
        ctx.findings.append(Finding(code, INFO, _("{n} more {code} findings not listed").format(n=count, code=code)))
    findings = tuple(sorted(ctx.findings, key=sort_key))
    ok = not any(f.severity == ERROR for f in findings)
    return Result(ok, ctx.trust.origin, size, findings, ctx.trust.pinned, witnessed_size, last_cp, ctx.compliance,
                  integrity or IntegrityResults())
