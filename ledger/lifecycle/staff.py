"""People's duties (C23; special terms 第6, 第7 and the 緊急点検 2(3)): a change of staff reported to the
municipality before the new person's first act, an exit check for every leaver, every person's own signed
statement that they keep no data before the contract closes, and no new work outside the contract period.
Pure.

What the rules keep (``LedgerState.duties``): ``work_started`` (true from the first media entry: a person
registered after it is a *change* of staff), ``staff`` (key name -> ``{"change", "reported_ms", "first",
"exit", "statement"}``) and ``closed_by`` (who signed the close).

* a person registered as a change acts only once the registration, or a later ``personnel.changed``, gives
  ``reported_at`` (when the municipality was told) no later than the act: refused at write;
* ``personnel.removed`` needs the leaver's exit check (``personnel.exit_checked``) first: refused at write;
* ``contract.closed`` needs a ``personnel.statement`` signed with their own key by every person ever
  registered (subcontractors' staff included; agents are keys, not people), the one who closes excepted: the
  close is that person's statement.  A leaver may still sign it after removal;
* new work (receiving or registering a medium, a check-out, a takeout, a copy, a registration) after the last
  day of the contract period is refused; a genesis entry written after it is a finding.
"""

from __future__ import annotations

from typing import Any

from custody.ledger.events import AGENT_TYPES, MEDIA_TYPES
from custody.ledger.lifecycle.defaults import merged
from custody.ledger.lifecycle.fields import _ms, _s
from custody.ledger.lifecycle.kernel import EventLike, Handler, RuleCode, _Out
from custody.ledger.lifecycle.people import _active_person
from custody.ledger.lifecycle.state import LedgerState
from custody.ledger.rule_texts import RuleText
from custody.ledger.violation import ERROR

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

CHANGE_UNREPORTED = RuleText(
    "{actor} joined after the work began (seq {seq}) and acts before the change was reported to the municipality"
)
NEED_CHANGE_REPORT = RuleText("when the municipality was told of the new person (reported_at)")
DO_REPORT_CHANGE = RuleText(
    "Report the change to the municipality, then record when (custody person change {actor} --reported-at ...)."
)
NO_EXIT_CHECK = RuleText("{name} is removed without an exit check")
NEED_EXIT_CHECK = RuleText("the leaver's exit check: pass and keys returned, access revoked, no data kept")
DO_EXIT_CHECK = RuleText("Record the exit check first (custody person exit-check {name} ...).")
NO_STATEMENT = RuleText("{name} ({org}) has not signed a statement that they keep no data")
NEED_STATEMENT = RuleText("each worker's own signed statement that they keep no data (緊急点検 2(3))")
DO_STATEMENT = RuleText("Have the person sign it with their own key (custody person statement --key THEIR-KEY).")
AFTER_PERIOD = RuleText("{type} at {at} is after the contract period, which ended {end}")
NEED_IN_PERIOD = RuleText("an act within the contract period")
DO_NO_WORK_AFTER = RuleText("No new work after the contract period: return or dispose of the media and close.")
OPENED_AFTER = RuleText("The ledger was opened at {at}, after the contract period ended ({end})")
DO_CHECK_CONTRACT = RuleText("Check the contract's period.")
STATEMENT_SELF = RuleText("A statement is signed by the person it concerns; {actor} signs for {name}")
DO_SIGN_OWN = RuleText("Sign your own statement with your own key.")

#: New work that is refused after the contract period (docs/spec-rules.md §C23).
WORK_STARTS = frozenset({
    "media.received", "media.registered", "media.checked_out", "takeout.departed", "copy.made",
    "personnel.registered",
})
_MEDIA = frozenset(MEDIA_TYPES)
_AGENT = frozenset(AGENT_TYPES)
_PEOPLE_EVENTS = frozenset({"personnel.registered", "personnel.changed", "personnel.removed",
                            "personnel.exit_checked", "personnel.statement"})


def _staff(st: LedgerState) -> dict[str, Any]:
    """Read-only unless committing (``check`` must not change the state)."""
    staff: dict[str, Any] = st.duties.get("staff", {})
    return staff


def _rec(st: LedgerState, key: str) -> dict[str, Any]:
    """The person's record, created (only when committing)."""
    rec: dict[str, Any] = st.duties.setdefault("staff", {}).setdefault(
        key, {"change": False, "reported_ms": None, "first": None, "exit": None, "statement": None})
    return rec


def genesis(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """C23 at the genesis entry: opened after the contract period."""
    if commit:
        st.duties["genesis_ms"] = _ms(e.at)
    at = _ms(e.at)
    if st.period_end_ms is not None and at is not None and at > st.period_end_ms:
        out.add("C23", ERROR, OPENED_AFTER, todo=DO_CHECK_CONTRACT, at=e.at,
                end=_s(st.genesis.get("period", {}) if st.genesis else {}, "end"))


def watches(event_type: str) -> bool:
    """``watch`` judges every entry (who acts, and whether it is new work: docs/spec-rules.md §6 C23) but an
    agent's: an agent's key is no person (its entries are no one's first act) and its observations are neither
    new work (``WORK_STARTS``) nor media acts, so it has nothing to judge or record in them."""
    return event_type not in _AGENT


def watch(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """C23 for every entry after the genesis (module documentation).

    Runs on every entry: the time is parsed only where a rule reads it (a new work's start, a changed
    person's first act), not for the heartbeats that make most of a ledger.
    """
    if e.type in WORK_STARTS and st.period_end_ms is not None:
        at = _ms(e.at)
        if at is not None and at > st.period_end_ms:
            out.add("C23", ERROR, AFTER_PERIOD, missing=NEED_IN_PERIOD, todo=DO_NO_WORK_AFTER, type=e.type, at=e.at,
                    end=_s((st.genesis or {}).get("period", {}), "end"))
    person = st.people.get(e.actor)
    if person is not None and person.role != "agent" and e.type not in _AGENT:
        rec = _staff(st).get(e.actor)
        if rec is not None and rec["first"] is None and e.type not in _PEOPLE_EVENTS:
            if rec["change"] and (rec["reported_ms"] is None or _later(rec["reported_ms"], e.at)):
                out.add("C23", ERROR, CHANGE_UNREPORTED, missing=NEED_CHANGE_REPORT, todo=DO_REPORT_CHANGE,
                        actor=e.actor, seq=person.registered_seq)
            if commit:
                rec["first"] = e.seq
    if e.type == "personnel.removed":
        _h_removed(st, e, out, commit)
    if not commit:
        return
    if e.type in _MEDIA:
        st.duties["work_started"] = True
    elif e.type == "personnel.registered":
        key = _s(e.body, "vkey").split("+", 1)[0]
        if key and _s(e.body, "role") != "agent":
            st.duties.setdefault("staff", {})[key] = {"change": bool(st.duties.get("work_started")),
                               "reported_ms": _ms(_s(e.body, "reported_at")), "first": None, "exit": None,
                               "statement": None}
    elif e.type == "personnel.changed" and _s(e.body, "reported_at"):
        key = _s(e.body, "key_name")
        if key in _staff(st):
            _staff(st)[key]["reported_ms"] = _ms(_s(e.body, "reported_at"))
    elif e.type == "contract.closed":
        st.duties["closed_by"] = e.actor


def _later(reported_ms: int, at: str) -> bool:
    """Whether the change was reported after ``at`` (an ``at`` that is no time: not after)."""
    when = _ms(at)
    return when is not None and reported_ms > when


def _h_removed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    key = _s(e.body, "key_name")
    person = st.people.get(key)
    if person is None or person.role == "agent":
        return
    if _staff(st).get(key, {}).get("exit") is None:
        out.add("C23", ERROR, NO_EXIT_CHECK, missing=NEED_EXIT_CHECK, todo=DO_EXIT_CHECK, name=key)


def _h_exit_checked(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    person = _active_person(st, out, _s(e.body, "key_name"))
    if person is not None and commit:
        _rec(st, person.key_name)["exit"] = e.seq


def _h_statement(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    name = _s(e.body, "key_name") or e.actor
    if name != e.actor:
        out.add("C23", ERROR, STATEMENT_SELF, todo=DO_SIGN_OWN, actor=e.actor, name=name)
        return
    if commit and e.actor in st.people:
        _rec(st, e.actor)["statement"] = e.seq


def end_statements(st: LedgerState, out: _Out, *, closer: str | None, blocks: bool) -> None:
    """C23 at the close: every person's own statement (the one who closes excepted)."""
    closer = closer or st.duties.get("closed_by")
    for person in st.people.values():
        if person.role == "agent" or person.key_name == closer:
            continue
        rec = _staff(st).get(person.key_name)
        if rec is None or rec["statement"] is None:
            out.add("C23", ERROR, NO_STATEMENT, missing=NEED_STATEMENT, todo=DO_STATEMENT, blocking=blocks,
                    name=person.name or person.key_name, org=person.organisation or "-")


#: The entry types this family handles (personnel.removed is the people family's; ``watch`` adds C23 to it).
HANDLERS: dict[str, Handler] = {
    "personnel.exit_checked": _h_exit_checked,
    "personnel.statement": _h_statement,
}

#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C23", RuleText("staff change, exit check or no-data statement missing; act outside the contract period"),
             "people"),
)


# --- bodies: what the CLI records (ledger/lifecycle/defaults.py) ---


def body_for_personnel_exit_checked(key_name: str, *, at: str, checked_at: str | None, access_revoked: bool,
                                    no_data_kept: bool, returned: list[str], remarks: str | None) -> dict[str, Any]:
    """personnel.exit_checked: checked now (``at``) unless a time is given."""
    return merged({"key_name": key_name, "checked_at": checked_at or at, "access_revoked": access_revoked,
                   "no_data_kept": no_data_kept}, {"returned": returned or None, "remarks": remarks})


def body_for_personnel_statement(*, signer: str, statement: str, scope: list[str],
                                 remarks: str | None) -> dict[str, Any]:
    """personnel.statement: the signer's own statement that they keep no data."""
    return merged({"key_name": signer, "no_data_kept": True, "statement": statement},
                  {"scope": scope or None, "remarks": remarks})
