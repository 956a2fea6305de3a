"""The compliance rules (docs/spec-rules.md §6), from the same lifecycle model the operator CLI uses.

``custody.ledger.lifecycle`` decides, for each entry, which rules it breaks (the CLI
refuses those before writing; the verifier reports them) and, at the end,
what is still open.  This adapter feeds it the entries that passed the
integrity checks (the workers have already validated every body against its
event schema, finding I7) and turns its violations into findings.

One replay serves every family: the families share one state (a takeout needs
the medium that storage registered, a disposal the approval the approvals
family recorded), so they are not replayed one by one.  The findings are
grouped by the family that raises their code (``custody.ledger.lifecycle.FAMILIES``)
in a typed result (``ComplianceResult``), whose final state is what the reports read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from custody.ledger.errors import FormatError
from custody.ledger.lifecycle import FAMILIES, FAMILY_OF, LedgerState, Violation, apply, finish, new_state
from custody.ledger.lifecycle.liveness import AliveRun, apply_alive_run
from custody.ledger.timefmt import format_at, parse_at
from custody.verify.context import Context, EntryView
from custody.verify.findings import Finding


@dataclass(frozen=True)
class ComplianceResult:
    """The final lifecycle state (what the reports tabulate) and the listed findings of each family, by the
    family's name (every family of ``FAMILIES``, in its order; empty where it found nothing).  Only the
    listed findings: beyond ``verify.context.MAX_PER_CODE`` of a code they are counted, not listed."""

    state: LedgerState
    families: dict[str, tuple[Finding, ...]] = field(default_factory=dict)


def _judgement_time(state: LedgerState, ctx: Context) -> str | None:
    """When to judge deadlines (C4, C8, the end of the period): the later of the
    vendor's last entry and the municipality's latest cosignature -- a vendor
    who simply stops recording does not stop the clock."""
    if ctx.witness_time is None:
        return None
    witnessed = datetime.fromtimestamp(ctx.witness_time, UTC)
    if state.last_at:
        try:
            if parse_at(state.last_at) >= witnessed:
                return None
        except FormatError:
            pass
    return format_at(witnessed)


class LifecycleRule:
    """Replays the media lifecycle once and reports every violation as a finding, grouped by family."""

    def __init__(self) -> None:
        self.state: LedgerState | None = None
        self._found: dict[str, list[Finding]] = {family: [] for family in FAMILIES}

    def _add(self, ctx: Context, v: Violation, seq: int | None) -> None:
        finding = ctx.add(v.code, v.severity, v.message, seq=seq, media=v.media_id, en_ja=(v.message_en, v.message_ja))
        if finding is not None:  # a code no family registers would be a bug of the lifecycle: kept apart, not lost
            self._found.setdefault(FAMILY_OF.get(v.code, "unregistered"), []).append(finding)

    def observe(self, entry: EntryView, ctx: Context) -> None:
        if self.state is None:
            self.state = new_state(ctx.trust.origin)
        for v in apply(self.state, entry, entry.at_us):  # the time its worker parsed
            self._add(ctx, v, v.seq if v.seq is not None else entry.seq)

    def observe_run(self, run: AliveRun, ctx: Context) -> bool:
        """Whole where it breaks no rule (``ledger.lifecycle.liveness.apply_alive_run``), else entry by entry."""
        return self.state is not None and apply_alive_run(self.state, run)

    def finish(self, ctx: Context) -> None:
        if self.state is None:
            return
        # The cosigned checkpoints' times (the municipality's witness's clock), for their cadence (C22); with no
        # witness key to verify cosignatures by, their cadence cannot be judged.
        cosigned = sorted(t * 1000 for t in ctx.cosigned_at) if ctx.trust.witness_vkeys else None
        for v in finish(self.state, now_or_close=_judgement_time(self.state, ctx), cosigned=cosigned):
            self._add(ctx, v, v.seq)
        ctx.compliance = ComplianceResult(
            self.state, {family: tuple(found) for family, found in self._found.items()})
