"""The compliance rules C1..C15, from the same lifecycle model the operator CLI uses.

``custody.ledger.lifecycle`` decides, for each entry, which rules it breaks (the CLI
refuses those before writing; the verifier reports them) and, at the end,
what is still open (C1, C4, C6, C8, C11, C13, C15).  This adapter feeds it the
entries that passed the integrity checks (the engine's workers have already
validated every body against its event schema, finding I7) and turns its
violations into findings.
"""

from __future__ import annotations

from datetime import UTC, datetime

from custody.ledger.errors import FormatError
from custody.ledger.lifecycle import LedgerState, apply, finish, new_state
from custody.ledger.timefmt import format_at, parse_at
from custody.verify.engine import Context, EntryView


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
    """Replays the media lifecycle and reports every violation as a finding."""

    def __init__(self) -> None:
        self.state: LedgerState | None = None

    def observe(self, entry: EntryView, ctx: Context) -> None:
        if self.state is None:
            self.state = new_state(ctx.trust.origin)
        for v in apply(self.state, entry):
            ctx.add(v.code, v.severity, v.message, seq=v.seq if v.seq is not None else entry.seq, media=v.media_id,
                    en_ja=(v.message_en, v.message_ja))

    def finish(self, ctx: Context) -> None:
        if self.state is None:
            return
        # The cosigned checkpoints' times (the municipality's witness's clock), for their cadence (C22); with no
        # witness key to verify cosignatures by, their cadence cannot be judged.
        cosigned = sorted(t * 1000 for t in ctx.cosigned_at) if ctx.trust.witness_vkeys else None
        for v in finish(self.state, now_or_close=_judgement_time(self.state, ctx), cosigned=cosigned):
            ctx.add(v.code, v.severity, v.message, seq=v.seq, media=v.media_id, en_ja=(v.message_en, v.message_ja))
        ctx.state = self.state
