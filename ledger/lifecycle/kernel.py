"""The shared kernel of the lifecycle families: the entry protocol, the collector of violations, and the
media transitions of :data:`custody.ledger.media.TRANSITIONS` (C12 for a disposed or returned medium,
C14 for a lost one, C15 for an unknown one, else the row's own code).  Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol

from custody.ledger import rule_texts as txt
from custody.ledger.canonical import copy_json as _copy
from custody.ledger.events import AGENT_TYPES
from custody.ledger.lifecycle.fields import _d, _ms, _s
from custody.ledger.lifecycle.state import LedgerState, _index
from custody.ledger.media import ABSENT, ERASED, GONE, IN_STORAGE, LOST, Medium, Transition, blocking_code
from custody.ledger.rule_texts import NOTHING, RuleText, Text, event_text, fill, state_text
from custody.ledger.violation import ERROR, Violation, violation

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

SEEN_AGAIN_ACT = RuleText("Medium {m} was {state} (seq {seq}); it is acted on again ({event})")
NEED_LIVE_MEDIUM = RuleText("a medium that is still in the register")
DO_REPORT_REAPPEARED = RuleText(
    "A disposed or returned medium must not reappear: report an incident (custody incident)."
)
LOST_ACT = RuleText("Medium {m} is reported lost; it cannot be used ({event})")
NOT_IN_REGISTER = RuleText("Medium {m} is not in the media register")
NEED_IN_REGISTER = RuleText("a media.received or media.registered entry for {m}")
DO_RECORD_MEDIUM = RuleText("Check the media id, or record the medium first (custody media receive|register).")
ID_TAKEN = RuleText("Media id {m} is already in the register (state {state})")
DO_NEW_ID = RuleText("Every medium, and every copy, gets a new media id.")
WRONG_STATE = RuleText("{event} is not possible for medium {m} in state {state} (possible from: {allowed})")
DO_MISSING_STEP = RuleText("Record the missing step first (e.g. check the medium out before taking it out).")
SERIAL_GONE = RuleText("Serial {serial} belongs to medium {other}, which was {state} (seq {seq})")
SERIAL_LOST = RuleText("Serial {serial} belongs to medium {other}, reported lost")
SERIAL_TAKEN = RuleText("Serial {serial} is already registered as medium {other}")
DO_CHECK_SERIAL = RuleText("Check the serial number.")
LATE = RuleText("{what} after its deadline {deadline}")


GENESIS = "contract.opened"


_AGENT = frozenset(AGENT_TYPES)


class EventLike(Protocol):
    """What the model reads of an entry."""

    @property
    def seq(self) -> int: ...

    @property
    def type(self) -> str: ...

    @property
    def at(self) -> str: ...

    @property
    def actor(self) -> str: ...

    @property
    def body(self) -> dict[str, Any]: ...


class Event(NamedTuple):
    """An entry as the CLI is about to write it (the seq and ``at`` it will use)."""

    seq: int
    type: str
    at: str
    actor: str
    body: dict[str, Any]


class RuleCode(NamedTuple):
    """A compliance rule code's registration, in the family that raises it (docs/spec-rules.md §6).

    ``legend``: what the code means, short (its Japanese in rules.po); ``form``: where the 別紙報告票 counts it
    (``"①"`` re-subcontracting, ``"②"`` takeout and work location, ``"③"`` return and disposal; or the key of
    a reference row: ``"copies"``, ``"incidents"``, ``"observation"``, ``"inspections"``).
    """

    code: str
    legend: RuleText
    form: str


class _Out:
    """The violations of one entry (``seq``) or of ``finish`` (seq None)."""

    __slots__ = ("items", "seq")

    def __init__(self, seq: int | None) -> None:
        self.seq = seq
        self.items: list[Violation] = []

    def add(
        self,
        code: str,
        severity: str,
        message: RuleText,
        *,
        media: str | None = None,
        missing: RuleText = NOTHING,
        todo: RuleText = NOTHING,
        blocking: bool = True,
        at_seq: int | None = None,
        fields: dict[str, object] | None = None,
        **values: object,
    ) -> None:
        """Add a violation (its seq: ``at_seq``, else the entry's); ``fields`` and ``values`` fill the three
        texts (a value may be an (English, Japanese) pair or a RuleText)."""
        if fields:
            values = {**fields, **values}
        self.items.append(violation(
            code, severity, fill(message, values), media_id=media, missing=fill(missing, values),
            todo=fill(todo, values), seq=self.seq if at_seq is None else at_seq, blocking=blocking,
        ))

    def extend(self, violations: Iterable[Violation]) -> None:
        for v in violations:
            self.items.append(Violation(
                v.code, v.severity, v.message_en, v.message_ja, v.media_id, v.missing_en, v.missing_ja,
                v.todo_en, v.todo_ja, self.seq, v.blocking,
            ))


Handler = Callable[[LedgerState, EventLike, _Out, bool], None]


def _move_ok(st: LedgerState, out: _Out, row: Transition, media_id: str, *, blocking_: bool = True) -> bool:
    """Whether ``row`` may move ``media_id`` from its state; adds the violation when not."""
    m = st.media.get(media_id)
    state = ABSENT if m is None else m.state
    code = blocking_code(row, state) if media_id else "C15"
    if code is None:
        return True
    values: dict[str, object] = {"m": media_id or "-", "state": state_text(state), "event": event_text(row.event)}
    if code == "C12" and m is not None:
        out.add("C12", ERROR, SEEN_AGAIN_ACT, media=media_id, missing=NEED_LIVE_MEDIUM,
                todo=DO_REPORT_REAPPEARED, blocking=blocking_, fields=values, seq=m.final_seq)
    elif code == "C14":
        out.add("C14", ERROR, LOST_ACT, media=media_id, todo=txt.DO_RECORD_FOUND, blocking=blocking_, fields=values)
    elif state == ABSENT or not media_id:
        out.add("C15", ERROR, NOT_IN_REGISTER, media=media_id or None, missing=NEED_IN_REGISTER,
                todo=DO_RECORD_MEDIUM, blocking=blocking_, fields=values)
    elif ABSENT in row.allowed:
        out.add(code, ERROR, ID_TAKEN, media=media_id, todo=DO_NEW_ID, blocking=blocking_, fields=values)
    else:
        allowed = sorted(row.allowed)
        out.add(code, ERROR, WRONG_STATE, media=media_id, todo=DO_MISSING_STEP, blocking=blocking_,
                fields=values, allowed=(", ".join(allowed), "、".join(txt.STATE_JA[s] for s in allowed)))
    return False


def _serial_ok(st: LedgerState, out: _Out, serial: str, media_id: str) -> None:
    """A new medium's serial may not be that of a disposed/returned (C12), lost (C14) or live (C15) medium."""
    other_id = st._serials.get(serial) if serial else None
    if other_id is None or other_id == media_id:
        return
    other = st.media[other_id]
    values: dict[str, object] = {"serial": serial, "other": other_id, "state": state_text(other.state),
                                 "seq": other.final_seq}
    if other.state in GONE:
        out.add("C12", ERROR, SERIAL_GONE, media=media_id, todo=DO_REPORT_REAPPEARED, fields=values)
    elif other.state == LOST:
        out.add("C14", ERROR, SERIAL_LOST, media=media_id, todo=txt.DO_RECORD_FOUND, fields=values)
    elif other.state != ERASED:
        out.add("C15", ERROR, SERIAL_TAKEN, media=media_id, todo=DO_CHECK_SERIAL, fields=values)


def _new_medium(st: LedgerState, e: EventLike, origin: str, media_id: str, *, my_number: bool,
                state: str = IN_STORAGE, source: str | None = None, approval_id: str | None = None) -> Medium:
    record = {k: _copy(v) for k, v in e.body.items() if k != "approval"}
    m = Medium(id=media_id, origin=origin, kind=_s(e.body, "kind") or "other", serial=_s(e.body, "serial"),
               my_number=my_number, record=record, state=state, since_seq=e.seq, history=[e.seq], source=source,
               approval_id=approval_id)
    st.media[media_id] = m
    _index(st, m)
    return m


def _holds_my_number(body: dict[str, Any]) -> bool:
    contents = _d(body, "contents")
    items = contents.get("items")
    return contents.get("my_number") is True or (
        isinstance(items, list) and any(isinstance(i, dict) and i.get("my_number") is True for i in items)
    )


def _touch(m: Medium, seq: int, state: str | None) -> None:
    if state is not None:
        m.state = state
    m.history.append(seq)


def _late(out: _Out, e: EventLike, deadline: str | None, deadline_ms: int | None, media: str | None, code: str,
          what: Text | RuleText) -> None:
    """A fact recorded after its deadline: reported, never refused."""
    when = _ms(e.at)
    if deadline_ms is not None and when is not None and when > deadline_ms:
        out.add(code, ERROR, LATE, media=media, todo=txt.DO_NOTHING_LATE, blocking=False, what=what,
                deadline=deadline)


def _verified(body: dict[str, Any]) -> bool:
    return _d(body, "verification").get("result") == "pass"

