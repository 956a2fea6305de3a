"""Runs the families: one handler per entry type, the entry points ``check``, ``advance``, ``apply``,
``precheck``, ``refuse`` and ``finish`` (the end-of-ledger rules as of a moment).  Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from custody.ledger.errors import RuleRefusal
from custody.ledger.events import body_schema_name, validate_body
from custody.ledger.lifecycle import (
    attestations,
    copies,
    disposal,
    observation,
    people,
    places,
    reporting,
    scope,
    seals,
    staff,
    storage,
    takeout,
    times,
)
from custody.ledger.lifecycle import closing as closing_rules
from custody.ledger.lifecycle.closing import _after_close
from custody.ledger.lifecycle.fields import _d, _ms, _s
from custody.ledger.lifecycle.kernel import _AGENT, GENESIS, EventLike, Handler, RuleCode, _Out
from custody.ledger.lifecycle.people import _check_actor
from custody.ledger.lifecycle.state import LedgerState, Person, _set_genesis
from custody.ledger.media import COPY, TRANSITIONS, Transition
from custody.ledger.violation import Violation, refusal

#: One handler per entry type, from the family that owns it (a new event type: its family's HANDLERS).
_HANDLERS: dict[str, Handler] = {
    **people.HANDLERS,
    **storage.HANDLERS,
    **takeout.HANDLERS,
    **copies.HANDLERS,
    **disposal.HANDLERS,
    **closing_rules.HANDLERS,
    **observation.HANDLERS,
    **attestations.HANDLERS,
    **reporting.HANDLERS,
    **staff.HANDLERS,
}

#: Rules that watch the entries after the genesis, after their own handler (C16-C19, C21, C23), each with the
#: test of the entry types it has anything to do with.  They read only what the handler does not change (so
#: ``check`` and ``apply`` find the same); ``reporting.note_anomalies`` runs last: it keeps the anomalies the
#: entry's findings show, awaiting an incident (C21).
_WATCHERS: tuple[tuple[Handler, Callable[[str], bool]], ...] = (
    (scope.watch, scope.watches), (times.watch, times.watches), (seals.watch, seals.watches),
    (places.watch, places.watches), (reporting.watch, reporting.watches), (staff.watch, staff.watches),
)
_PLANS: dict[str, tuple[Handler, ...]] = {}  # entry type -> what runs after the C9 and C1 checks (``_plan``)
_MAX_PLANS = 1024  # entry types remembered: the known ones, and a bound against a stream of made-up ones


def _plan(event_type: str) -> tuple[Handler, ...]:
    """What judges an entry of a type after who signed it and the close (docs/spec-rules.md §6 C9, C1), in order:
    the municipality's signature where its act is required (§6 C24, on the state before), the type's handler,
    then the watchers that have anything to do with it, in ``_WATCHERS``' order (each watcher tests the type
    again: this only saves calls and look-ups on the heartbeats that make most of a ledger)."""
    found = _PLANS.get(event_type)
    if found is None:
        signed, handler = attestations.CHECKS.get(event_type), _HANDLERS.get(event_type)
        found = tuple(h for h in (signed, handler) if h is not None) + tuple(
            watch for watch, watches in _WATCHERS if watches(event_type))
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[event_type] = found
    return found


#: The entry types an agent records to show it is alive and nothing more (heartbeats, detaches: most of a
#: ledger), whose only rules are who signed (docs/spec-rules.md §6 C9, ``people.quiet_agent``) and the
#: agent's silence (§6 C13, ``observation.quiet_alive``): ``apply`` takes them on a fast path when neither
#: finds anything, which changes the state as ``_run`` does.  Computed from the tables above, so a rule added
#: for such a type takes it off the fast path.  No violation, so ``reporting.note_anomalies`` has nothing to
#: keep (§6 C21); an agent type, so not judged after the close (§6 C1).
LIVENESS_ONLY = frozenset(
    t for t in _AGENT if _HANDLERS.get(t) is observation._alive and _plan(t) == (observation._alive,))

#: The rule codes of each family, by the family's name (its module's): a new code is in its family's CODES.
FAMILIES: dict[str, tuple[RuleCode, ...]] = {
    "people": people.CODES, "takeout": takeout.CODES, "copies": copies.CODES, "disposal": disposal.CODES,
    "observation": observation.CODES, "closing": closing_rules.CODES, "attestations": attestations.CODES,
    "scope": scope.CODES, "times": times.CODES, "seals": seals.CODES, "places": places.CODES,
    "reporting": reporting.CODES, "staff": staff.CODES,
}

#: Every compliance rule code, C1 first, from the family that raises it.
RULE_CODES: dict[str, RuleCode] = {
    rc.code: rc
    for rc in sorted((rc for codes in FAMILIES.values() for rc in codes), key=lambda rc: int(rc.code[1:]))
}

#: The family that raises each rule code.
FAMILY_OF: dict[str, str] = {rc.code: family for family, codes in FAMILIES.items() for rc in codes}


def check(state: LedgerState, entry: EventLike) -> list[Violation]:
    """The violations ``entry`` would cause; the state is not changed."""
    out = _Out(entry.seq)
    _run(state, entry, out, commit=False)
    return out.items


def advance(state: LedgerState, entry: EventLike) -> None:
    """Move the state past ``entry``, whatever it violates."""
    _run(state, entry, _Out(entry.seq), commit=True)


def apply(state: LedgerState, entry: EventLike, at_us: int | None = None) -> list[Violation]:
    """``check`` and ``advance`` in one pass: the violations, and the state moved past ``entry``.

    ``at_us``: the entry's ``at`` in microseconds since the epoch where the caller has already parsed it (the
    verifier's workers parse every entry's); None to parse it here.
    """
    if (entry.type in LIVENESS_ONLY and people.quiet_agent(state, entry.actor, entry.seq)
            and observation.quiet_alive(state, entry, at_us)):
        state.last_seq = entry.seq
        state.last_at = entry.at
        return []
    out = _Out(entry.seq)
    _run(state, entry, out, commit=True)
    return out.items


def precheck(state: LedgerState, entry: EventLike) -> list[Violation]:
    """What the CLI asks before writing: ``check``, and for ``contract.closed`` also the end-of-ledger
    rules as of the closing time (blocking: an open medium, takeout or disposal prevents closing)."""
    found = check(state, entry)
    if entry.type == "contract.closed" and state.closed is None:
        when = _ms(entry.at)
        if when is not None:
            found.extend(_end_rules(state, when, closing=True, seq=entry.seq, closer=entry.actor))
    return found


def refuse(state: LedgerState, entry: EventLike, fits: Callable[[str, object], bool] | None = None
           ) -> list[Violation]:
    """The one pre-write check of an entry (docs/spec.md §13.4): the body's schema (SchemaError), then the rules
    (:func:`precheck`; RuleRefusal, exit 6, naming every blocking violation).  Returns the violations that do not
    block (facts that broke a rule, warnings) when the entry may be written.

    ``fits(schema, body)``: a judge offered the body first (the key agent's, which keeps the validators
    compiled); a body it does not accept is judged here, for the verdict and the message."""
    if fits is None or not fits(body_schema_name(entry.type), entry.body):
        validate_body(entry.type, entry.body)
    found = precheck(state, entry)
    problem: RuleRefusal | None = refusal(found)
    if problem is not None:
        raise problem
    return found


def _run(st: LedgerState, e: EventLike, out: _Out, *, commit: bool) -> None:
    if e.type == GENESIS:
        if st.genesis is None and commit:
            _set_genesis(st, e.body)
            responsible = _d(e.body, "responsible")
            key_name = _s(responsible, "vkey").split("+", 1)[0]
            if key_name:
                st.people[key_name] = Person(
                    key_name, _s(responsible, "name"), _s(responsible, "organisation"), "vendor", "responsible",
                    e.seq,
                )
        if st.genesis is not None:
            staff.genesis(st, e, out, commit)
    else:
        _check_actor(st, e, out)
        if st.closed is not None and e.type not in _AGENT:
            _after_close(st, e, out)
        for judge in _plan(e.type):
            judge(st, e, out, commit)
        reporting.note_anomalies(st, e, out, commit)
    if commit:
        st.last_seq = e.seq
        st.last_at = e.at


def finish(state: LedgerState, *, now_or_close: str | None = None,
           cosigned: Sequence[int] | None = None) -> list[Violation]:
    """End-of-ledger rules (C1, C4, C6, C8, C11, C13, C15) as of a moment.

    The moment is the close when the ledger is closed; else the later of the
    last entry's ``at`` and ``now_or_close`` (the CLI's "now"; for the
    verifier a time the vendor does not control, e.g. the latest municipality
    cosignature: a vendor that stops recording must not stop the clock).
    Rules that need the work to be over (C1, C6, C15, and C4/C8 for items not
    yet due) apply when the contract is closed or the moment is past the
    contract period's last day (midnight JST).  Each
    medium gets at most one of C4 (still out on a takeout), C8 (an approved
    disposal not carried out), C6 (a copy) and C1 (any other medium), in that
    order.  ``seq`` is None except for C11 (the first uncovered write) and
    C15 receipts (the first entry citing the receipt).

    ``cosigned``: the times (ms since the epoch) at which the municipality's witness cosigned a checkpoint of
    the ledger, as the verifier found them; given, their cadence is judged too (C22).  The CLI, which holds no
    witness's word on its own ledger, gives none.
    """
    if state.closed is not None:
        when = _ms(str(state.closed["at"]))
    else:
        moments = [m for m in (_ms(state.last_at), _ms(now_or_close)) if m is not None]
        when = max(moments) if moments else None
    if when is None:
        return []
    closing = state.closed is not None or (state.period_end_ms is not None and when > state.period_end_ms)
    return _end_rules(state, when, closing=closing, seq=None, cosigned=cosigned)


def _end_rules(st: LedgerState, when: int, *, closing: bool, seq: int | None,
               closer: str | None = None, cosigned: Sequence[int] | None = None) -> list[Violation]:
    """Each medium gets at most one of C4, C8, C6 and C1, in that order (``finish``)."""
    out = _Out(seq)
    blocks = seq is not None  # from precheck(contract.closed): what is still open blocks closing
    reported: set[str] = set()
    takeout.end_open_takeouts(st, out, when, closing=closing, blocks=blocks, reported=reported)
    disposal.end_overdue_disposals(st, out, when, closing=closing, blocks=blocks, reported=reported)
    for m in st.media.values():
        if m.id in reported or m.settled:
            continue
        if m.origin == COPY:
            copies.end_copy(st, out, m, when, closing=closing, blocks=blocks)
        elif closing:
            closing_rules.end_medium_open(out, m, blocks=blocks)
    if not blocks:
        observation.end_observation(st, out, when)
        reporting.end_reporting(st, out, when, closing=closing, cosigned=cosigned)
    attestations.end_inspections(st, out, when, closing=closing, blocks=blocks)
    if closing:
        closing_rules.c15(st, out, blocks)
        staff.end_statements(st, out, closer=closer, blocks=blocks)
    return out.items


def transitions_for(event: str) -> list[Transition]:
    """The rows of :data:`~ledger.media.TRANSITIONS` for ``event``."""
    return [t for t in TRANSITIONS if t.event == event]

