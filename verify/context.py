"""What the verifier's rules share: the entry they see, the findings they add, the protocol of a compliance rule.

The integrity rule families (``verify.rules.entries``, ``checkpoints``, ``proofs``, ``manifest``,
``attachments``) and the compliance replay (``verify.rules.lifecycle``) add their findings to one
``Context``, in the order ``verify.engine.verify_bundle`` calls them: that order, and ``MAX_PER_CODE``,
decide which findings of a code are listed (docs/spec-rules.md §4).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from custody.verify.findings import Finding
from custody.verify.trust import TrustAnchor

if TYPE_CHECKING:
    from custody.ledger.lifecycle.liveness import AliveRun
    from custody.verify.rules.lifecycle import ComplianceResult

MAX_PER_CODE = 200  # findings listed per code; the rest are counted ("N more ... findings not listed")


@dataclass(slots=True)
class EntryView:
    """What rules see of one entry that parsed and verified."""

    seq: int
    type: str
    at: str
    actor: str
    body: dict[str, Any]
    leaf_hash: bytes
    at_us: int | None = None  # ``at`` in microseconds since the epoch, as the worker parsed it (None: unknown)


@dataclass
class Context:
    """One verification run: the trust anchor, who may sign (as the entries so far say), the findings."""

    trust: TrustAnchor
    # The latest time (Unix seconds) the municipality's witness cosigned this
    # ledger: the municipality's own clock, which the vendor cannot set.  Rules
    # with deadlines judge "now" by it, not only by the vendor's last entry.
    witness_time: int | None = None
    # Every time (Unix seconds) the municipality's witness cosigned a checkpoint of this ledger: the cadence of
    # cosigned checkpoints the contract asks for (C22, docs/spec-rules.md).
    cosigned_at: set[int] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    compliance: ComplianceResult | None = None  # the lifecycle replay's result (verify.rules.lifecycle), for reports
    _counts: Counter[str] = field(default_factory=Counter)
    _suppressed: Counter[str] = field(default_factory=Counter)

    def note_witness_time(self, timestamp: int) -> None:
        self.witness_time = timestamp if self.witness_time is None else max(self.witness_time, timestamp)
        self.cosigned_at.add(timestamp)

    def add(
        self, code: str, severity: str, message: str, *, seq: int | None = None, media: str | None = None,
        en_ja: tuple[str, str] | None = None,
    ) -> Finding | None:
        """A finding (returned), or None once ``MAX_PER_CODE`` of its code are listed (it is counted instead);
        ``en_ja``: its message in both languages, where the rule wrote both."""
        self._counts[code] += 1
        if self._counts[code] > MAX_PER_CODE:
            self._suppressed[code] += 1
            return None
        finding = Finding(code, severity, message, seq, media, en_ja)
        self.findings.append(finding)
        return finding

    def suppressed(self) -> list[tuple[str, int]]:
        """(code, how many findings of it were not listed), by code."""
        return sorted(self._suppressed.items())


class Rule(Protocol):
    """A compliance rule: sees valid entries in order, reports at the end."""

    def observe(self, entry: EntryView, ctx: Context) -> None: ...

    def observe_run(self, run: AliveRun, ctx: Context) -> bool:
        """A run of an agent's signs of life, next in order: True if taken whole, False to be given its entries
        one by one (``observe``), nothing changed."""
        ...

    def finish(self, ctx: Context) -> None: ...
