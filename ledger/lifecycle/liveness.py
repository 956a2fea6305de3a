"""Runs of an agent's signs of life, taken whole: the verifier's replay of the bulk of a ledger.  Pure.

Most of a long ledger is one agent's heartbeats, one after another.  Each can break only C9 (who signed:
``people.quiet_agent``) and C13 (a silence: ``observation.quiet_alive``), docs/spec-rules.md §6, and
``engine.apply`` already takes each on a fast path when neither finds anything.  A run of them can be
judged at once from a few numbers: the agent's first time in the run, its last, and the largest step
between two neighbours (in microseconds, as the workers parsed the times: a bound on the step in
milliseconds that ``quiet_alive`` compares; where the bound comes too close, the entries decide).  When
the run as a whole is plainly quiet, ``apply_alive_run`` moves the state as ``apply`` of each entry
would; when it cannot say so, it changes nothing and the caller applies the entries one by one, so a
finding is never judged from the summary.

The verifier's workers collect the runs while they check the entries (``RunBuilder``), so that the
process replaying the ledger neither parses nor visits the entries of a run.
"""

from __future__ import annotations

from typing import NamedTuple

from custody.ledger.lifecycle.engine import LIVENESS_ONLY
from custody.ledger.lifecycle.fields import _ms_of_us
from custody.ledger.lifecycle.observation import heard, longest_quiet_ms
from custody.ledger.lifecycle.people import quiet_agent
from custody.ledger.lifecycle.state import LedgerState


class AliveRun(NamedTuple):
    """Consecutive entries (``first_seq`` to ``last_seq``) of one agent, each of a ``LIVENESS_ONLY`` type, each
    timed by its own ``at`` (its body's ``observed_at`` absent or the same text), the times never decreasing.

    A tuple: the workers send a few thousand of them per million entries, and a tuple pickles for a fraction
    of what a dataclass with slots does."""

    actor: str
    first_seq: int
    last_seq: int
    last_at: str  # the last entry's ``at``
    first_us: int  # the first entry's ``at`` in microseconds since the epoch
    last_us: int  # the last entry's
    max_step_us: int  # the largest step, in microseconds, from one entry's time to the next's (0: one entry)


class RunBuilder:
    """Collects ``AliveRun``s from the entries offered in seq order.

    ``offer`` each entry that passed every other check; an entry not offered (or not fit for a run) ends the
    run before it.  ``runs`` holds the runs ended so far; ``close`` ends the last one.
    """

    __slots__ = ("_actor", "_first_seq", "_first_us", "_last_at", "_last_seq", "_last_us", "_step", "runs")

    def __init__(self) -> None:
        self.runs: list[AliveRun] = []
        self._actor: str | None = None
        self._first_seq = self._last_seq = -2
        self._first_us = self._last_us = self._step = 0
        self._last_at = ""

    def offer(self, seq: int, kind: str, actor: str, at: str, at_us: int | None, observed: object) -> None:
        """The entry ``seq``: its type, actor, ``at`` (parsed: ``at_us``, None where it has no time with an offset)
        and its body's ``observed_at`` (None where absent)."""
        if kind not in LIVENESS_ONLY or at_us is None or not (observed is None or observed == at):
            self.close()
            return
        if actor == self._actor and seq == self._last_seq + 1 and at_us >= self._last_us:
            step = at_us - self._last_us
            if step > self._step:  # noqa: PLR1730 -- max() costs a call on every heartbeat of the ledger
                self._step = step
        else:
            self.close()
            self._actor, self._first_seq, self._first_us, self._step = actor, seq, at_us, 0
        self._last_seq, self._last_at, self._last_us = seq, at, at_us

    def close(self) -> None:
        """End the run being collected, if any."""
        if self._actor is not None:
            self.runs.append(AliveRun(self._actor, self._first_seq, self._last_seq, self._last_at, self._first_us,
                                      self._last_us, self._step))
            self._actor = None
            self._last_seq = -2


def apply_alive_run(state: LedgerState, run: AliveRun) -> bool:
    """``engine.apply`` of each entry of ``run`` in order, when every one of them takes its fast path: True, and
    the state moved as those calls move it.  False where that cannot be told from the run (an actor that is no
    registered agent of the vendor, an agent not seen yet, a silence that may be C13): nothing changed, and the
    caller applies the entries one by one.

    An entry's silence is its time less the latest time of its agent before it (``observation.quiet_alive``);
    within a run whose times never decrease, that is at most the step from its neighbour before it.  In
    milliseconds (``fields._ms_of_us``: truncated, monotonic) a step of ``d`` microseconds is less than
    ``d / 1000 + 1``.
    """
    agent = state.agents.get(run.actor)
    if agent is None or not quiet_agent(state, run.actor, run.last_seq):  # its last entry's, so every entry's
        return False
    allowed = longest_quiet_ms(agent)
    if run.max_step_us + 1000 > allowed * 1000 or (agent.running and _ms_of_us(run.first_us) - agent.last_ms > allowed):
        return False
    heard(agent, _ms_of_us(run.last_us), run.last_seq)
    state.last_seq = run.last_seq
    state.last_at = run.last_at
    return True
