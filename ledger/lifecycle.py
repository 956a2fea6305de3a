"""The custody workflow as a pure state machine: media lifecycle, people and approvals.

One model serves both sides (docs/spec-rules.md):

* the operator CLI builds the entry it is about to write (with the seq and
  ``at`` it will use), runs :func:`refuse` (schema, then :func:`precheck`)
  and writes nothing when a violation blocks (``RuleRefusal``, exit 6);
* the municipality's verifier calls :func:`apply` on every valid entry in seq
  order and :func:`finish` at the end, and reports every violation as a
  finding (code, severity, seq, media, message).

Entries are anything with ``seq``, ``type``, ``at``, ``actor`` and ``body``
(:class:`EventLike`: ``custody.ledger.entry.Entry``, ``verify.engine.EntryView`` and
:class:`Event` all fit).  Bodies are expected to match their schemas
(:mod:`custody.ledger.events`); a malformed body never raises here, its missing parts
count as absent.

``check(state, entry)`` reports without changing the state; ``advance``
changes it without reporting; ``apply`` does both in one pass.  The state
advances even past violations (the verifier keeps going), so a caller that
must refuse calls ``check`` (or ``precheck``) first and ``advance`` only when
nothing blocks.  Media transitions are the table :data:`custody.ledger.media.TRANSITIONS`.

Which rules fire where (codes of docs/spec.md):

=====  ==================================================================  ==================================
code   ``apply`` (at the entry)                                             ``finish`` (end of the ledger)
=====  ==================================================================  ==================================
C1     media acts after contract.closed; media.returned from a wrong state  medium not settled at close
C2     takeout.departed: no valid approval (signer, origin, media, window,
       uses, destination, transport, carriers), not permitted, wrong state
C3     takeout.departed without the required encryption
C4     takeout.returned/erased: no open takeout, late, failed check;        takeout open past deadline/at close
       a medium reported lost after its takeout's deadline
C5     copy.made: no valid approval, not permitted, new id not new
C6                                                                          copy not settled at close or past
                                                                            its approval's disposal date
C7     erasure/disposal: no approval, other method or serial, no witness
       (from the municipality, where required or My Number), no photo with
       the serial, no certificate nor reason, My Number not destroyed
C8     media.disposed after its deadline (recorded, not refused)            approved disposal not carried out
                                                                            by its deadline or at close
C9     actor unregistered/removed/wrong role; subcontractor without a valid
       approval of its tier for its own company; another company's staff at
       the vendor tier (unless dispatched, 第7); personnel, key, subcontract
C10    volume.attached: unregistered medium (and, warning: a medium
       recorded as in storage)
C11    files.written to an unregistered volume                              writes to a registered medium that
                                                                            no approval covered (an approval
                                                                            recorded later may cover them)
C12    any act on, or sighting of, a disposed or returned medium or serial
C13    observation.gap; an agent silent longer than its allowed gap         an agent silent at the moment
C14    incident.reported (error: lost, stolen, leak; warning: suspicion,
       other; info: found); acts on a lost medium; broken seal (warning)
C15    medium not in the register, duplicate id or serial; checkout or      media balance ≠ 0; receipt
       check-in from a wrong state                                          quantities or records ≠ media
=====  ==================================================================  ==================================

``alert.raised`` is recorded (``LedgerState.alerts``) but not reported again:
the observation it was raised for is.

**C15** counts media: ``received + registered + copies − returned − disposed
− erased − lost`` (``erased``: vendor media and copies whose data was erased
and that were not later returned or disposed) must be 0 at close.  And for
every handover receipt (預り証), the number of media recorded with that
receipt number must equal the quantity its items declare, and for each data
item the records it declares must equal those in the recorded media's
contents.

**Blocking.**  Only errors block, and not all of them: a violation that a
*fact* reveals (a late return, a lost medium, an unregistered USB stick the
agent saw, a disposal recorded after its deadline) has ``blocking=False``:
the entry must be written (docs/spec.md: facts that broke a rule are recorded,
never silently accepted), and the verifier reports it.  End-of-ledger rules
block only through :func:`precheck` of ``contract.closed`` (what is still
open prevents closing; a receipt mismatch is reported, never blocking).

Snapshots: ``state.to_json()`` is JSON-compatible and canonical-safe (no
floats: times are integer milliseconds next to their RFC 3339 text);
``LedgerState.from_json`` restores it.  Pure: no file, clock or network access.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from custody.ledger import rule_texts as txt
from custody.ledger.approval import (
    KIND_CODES,
    Approval,
    ApprovalBody,
    ApprovalProblem,
    at_ms,
    coverage_problems,
    open_approval,
)
from custody.ledger.errors import NoteFormatError, RuleRefusal
from custody.ledger.events import AGENT_TYPES, validate_body
from custody.ledger.media import (
    ABSENT,
    CHECKED_OUT,
    COPY,
    DISPOSAL_APPROVED,
    DISPOSED,
    ERASED,
    FINAL,
    GONE,
    IN_STORAGE,
    LOST,
    RECEIVED,
    REGISTERED,
    RETURNED,
    TAKEN_OUT,
    TRANSITIONS,
    Medium,
    Transition,
    blocking_code,
    transition,
)
from custody.ledger.note import Verifier
from custody.ledger.rule_texts import Text, event_text, fill, state_text
from custody.ledger.violation import ERROR, INFO, NO_TEXT, WARNING, Violation, blocking, refusal, violation

__all__ = [
    "STATE_FORMAT",
    "TRANSITIONS",
    "AgentView",
    "ApprovalUse",
    "Disposal",
    "Event",
    "EventLike",
    "LedgerState",
    "Person",
    "Subcontract",
    "Takeout",
    "Violation",
    "advance",
    "apply",
    "blocking",
    "check",
    "finish",
    "new_state",
    "precheck",
    "refusal",
    "refuse",
    "transitions_for",
]

STATE_FORMAT = "custody/lifecycle-state/v1"
GENESIS = "contract.opened"
DEFAULT_ALLOWED_GAP_MS = 120_000  # agents/agent.py: twice the default 60 s heartbeat
GAP_SLACK_MS = 1_000
MAX_PENDING_WRITES = 10_000  # uncovered write batches kept per medium; beyond, only counted
PERIOD_END_TIME = "T23:59:59.999+09:00"  # the contract period's last day ends at midnight JST

RESPONSIBLE_ONLY = frozenset(
    {"personnel.registered", "personnel.changed", "personnel.removed", "subcontract.approved", "contract.closed"}
)
#: After contract.closed these start new work (C1, blocking) ...
NOT_AFTER_CLOSE = frozenset(
    {"media.received", "media.registered", "media.checked_out", "takeout.departed", "copy.made"}
)
#: ... and these settle what was left open or found again (C1 warning: the completion statement was premature;
#: a disposal approval for a medium already settled is new work, refused in its handler).
SETTLING_AFTER_CLOSE = frozenset(
    {
        "media.checked_in", "takeout.returned", "takeout.erased_at_destination", "media.erased",
        "disposal.approved", "media.disposed", "media.returned",
    }
)
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


@dataclass(frozen=True, slots=True)
class Event:
    """An entry as the CLI is about to write it (the seq and ``at`` it will use)."""

    seq: int
    type: str
    at: str
    actor: str
    body: dict[str, Any]


# --- the state ---


@dataclass(slots=True)
class Person:
    key_name: str
    name: str
    organisation: str
    tier: str  # vendor | subcontractor | sub-subcontractor
    role: str  # responsible | operator | agent
    registered_seq: int
    removed_seq: int | None = None
    subcontract_id: str | None = None
    employment: str = ""  # regular | dispatched (派遣, special terms 第7) | contract | part_time | other

    def active_at(self, seq: int) -> bool:
        return self.registered_seq <= seq and (self.removed_seq is None or seq <= self.removed_seq)


@dataclass(slots=True)
class Subcontract:
    """A recorded subcontract approval (special terms 第8-2)."""

    id: str
    seq: int
    name: str
    tier: str
    parent: str
    valid_from: str
    valid_until: str
    from_ms: int
    until_ms: int


@dataclass(slots=True)
class ApprovalUse:
    """An approval seen in the ledger (its body as signed) and the entries that used it."""

    id: str
    kind: str
    digest: str
    first_seq: int
    uses: int
    seqs: list[int]
    body: dict[str, Any]


@dataclass(slots=True)
class Takeout:
    """One takeout.departed (its seq is its id) and which of its media are still out."""

    seq: int
    approval_id: str | None
    media: list[str]
    open: list[str]
    deadline: str | None
    deadline_ms: int | None
    closed: dict[str, int] = field(default_factory=dict)  # media id -> seq of the entry that closed it


@dataclass(slots=True)
class Disposal:
    """One disposal.approved and each medium's status: pending | done | returned | lost."""

    id: str
    seq: int
    category: str
    technique: str
    witness_required: bool
    valid_from_ms: int
    deadline: str
    deadline_ms: int
    media: dict[str, str]


@dataclass(slots=True)
class AgentView:
    """One agent key: running or stopped, when it was last heard of, its allowed silence."""

    actor: str
    running: bool
    last_ms: int
    last_seq: int
    allowed_ms: int


def _rows(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [{name: _copy(getattr(item, name)) for name in item.__slots__} for item in items]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class LedgerState:
    """Everything the rules know about the ledger so far.

    Plain data: ``media`` (id -> :class:`~ledger.media.Medium`), ``people``
    (key name -> :class:`Person`), ``subcontracts`` and ``approvals`` (by
    approval id), ``takeouts`` (departure seq -> :class:`Takeout`),
    ``disposals`` (approval id -> :class:`Disposal`), ``incidents``,
    ``inspections`` (seqs), ``agents``, ``observed`` (media id -> agent
    counters), ``pending_writes`` (media id -> ``[[seq, ms], ...]`` not
    covered so far), ``write_cover`` (media id -> ``[[from_ms, until_ms,
    approved_ms, approval id], ...]``), ``receipts`` (number -> declared
    quantity and records, media recorded), ``alerts`` (code -> count),
    ``closed`` (``{"seq", "at"}``), ``genesis`` (the contract.opened body).
    """

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.genesis: dict[str, Any] | None = None
        self.my_number = False
        self.permits: dict[str, bool] = {}
        self.period_end_ms: int | None = None
        self.approver_vkeys: list[str] = []
        self.last_seq = -1
        self.last_at = ""
        self.closed: dict[str, Any] | None = None
        self.people: dict[str, Person] = {}
        self.subcontracts: dict[str, Subcontract] = {}
        self.media: dict[str, Medium] = {}
        self.approvals: dict[str, ApprovalUse] = {}
        self.takeouts: dict[int, Takeout] = {}
        self.disposals: dict[str, Disposal] = {}
        self.incidents: list[dict[str, Any]] = []
        self.inspections: list[int] = []
        self.agents: dict[str, AgentView] = {}
        self.observed: dict[str, dict[str, int]] = {}
        self.pending_writes: dict[str, list[list[int]]] = {}
        self.pending_overflow: dict[str, int] = {}
        self.write_cover: dict[str, list[list[Any]]] = {}
        self.receipts: dict[str, dict[str, Any]] = {}
        self.alerts: dict[str, int] = {}
        # Derived, not serialised: indexes and caches.
        self._serials: dict[str, str] = {}
        self._uuids: dict[str, str] = {}
        self._verifiers: list[Verifier] | None = None
        self._approval_cache: dict[tuple[str, str], Approval | ApprovalProblem] = {}
        self._bodies: dict[str, ApprovalBody] = {}

    # --- questions (the CLI, the agent's media index, the reports) ---

    def medium(self, media_id: str) -> Medium | None:
        return self.media.get(media_id)

    def state_of(self, media_id: str) -> str:
        """The medium's state, ``"absent"`` when there is no such medium."""
        m = self.media.get(media_id)
        return ABSENT if m is None else m.state

    def match_volume(
        self, *, media_id: str | None = None, serial: str | None = None, uuid: str | None = None
    ) -> Medium | None:
        """The registered medium a volume is: by media id, then device serial, then filesystem UUID.

        Never by label alone: labels ("USB", "KIOXIA") are not unique and would hide an unregistered medium.
        """
        if media_id and media_id in self.media:
            return self.media[media_id]
        for key, index in ((serial, self._serials), (uuid, self._uuids)):
            if key and key in index:
                return self.media[index[key]]
        return None

    def write_covered(self, media_id: str, at: str) -> str | None:
        """The id of an approval recorded so far that covers writing to ``media_id`` at ``at``, else None."""
        when = _ms(at)
        return None if when is None else _cover(self, media_id, when)

    def open_takeouts(self) -> list[Takeout]:
        return [t for t in self.takeouts.values() if t.open]

    def approval_body(self, approval_id: str) -> ApprovalBody | None:
        """The typed body of an approval seen in the ledger."""
        use = self.approvals.get(approval_id)
        if use is None:
            return None
        body = self._bodies.get(approval_id)
        if body is None:
            body = ApprovalBody.from_json(use.body)
            self._bodies[approval_id] = body
        return body

    def person_by_name(self, name: str) -> Person | None:
        """The registered person with this key name or person name."""
        if name in self.people:
            return self.people[name]
        for person in self.people.values():
            if person.name == name:
                return person
        return None

    def counts(self) -> dict[str, int]:
        """The C15 terms and ``open`` = received + registered + copies − returned − disposed − erased − lost."""
        c = dict.fromkeys(("received", "registered", "copies", "returned", "disposed", "erased", "lost"), 0)
        for m in self.media.values():
            c[{RECEIVED: "received", REGISTERED: "registered"}.get(m.origin, "copies")] += 1
            if m.state in (RETURNED, DISPOSED, LOST):
                c[{RETURNED: "returned", DISPOSED: "disposed", LOST: "lost"}[m.state]] += 1
            elif m.state == ERASED and m.origin != RECEIVED:
                c["erased"] += 1
        ins = c["received"] + c["registered"] + c["copies"]
        c["open"] = ins - c["returned"] - c["disposed"] - c["erased"] - c["lost"]
        return c

    # --- snapshots ---

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible snapshot (no floats; a fresh copy); ``from_json`` restores it."""
        return {
            "format": STATE_FORMAT,
            "origin": self.origin,
            "genesis": _copy(self.genesis),
            "last_seq": self.last_seq,
            "last_at": self.last_at,
            "closed": _copy(self.closed),
            "people": _rows(self.people.values()),
            "subcontracts": _rows(self.subcontracts.values()),
            "media": [_copy(m.to_json()) for m in self.media.values()],
            "approvals": _rows(self.approvals.values()),
            "takeouts": _rows(self.takeouts.values()),
            "disposals": _rows(self.disposals.values()),
            "incidents": _copy(self.incidents),
            "inspections": list(self.inspections),
            "agents": _rows(self.agents.values()),
            "observed": _copy(self.observed),
            "pending_writes": _copy(self.pending_writes),
            "pending_overflow": dict(self.pending_overflow),
            "write_cover": _copy(self.write_cover),
            "receipts": _copy(self.receipts),
            "alerts": dict(self.alerts),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LedgerState:
        """Restore a snapshot made by ``to_json`` (ValueError for anything else)."""
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
            raise ValueError(f"not a {STATE_FORMAT} snapshot")
        doc = _copy(doc)
        st = cls(doc["origin"])
        if doc["genesis"] is not None:
            _set_genesis(st, doc["genesis"])
        st.last_seq, st.last_at, st.closed = doc["last_seq"], doc["last_at"], doc["closed"]
        st.people = {p["key_name"]: Person(**p) for p in doc["people"]}
        st.subcontracts = {s["id"]: Subcontract(**s) for s in doc["subcontracts"]}
        st.media = {m["id"]: Medium.from_json(m) for m in doc["media"]}
        st.approvals = {a["id"]: ApprovalUse(**a) for a in doc["approvals"]}
        st.takeouts = {t["seq"]: Takeout(**t) for t in doc["takeouts"]}
        st.disposals = {d["id"]: Disposal(**d) for d in doc["disposals"]}
        st.agents = {a["actor"]: AgentView(**a) for a in doc["agents"]}
        for name in ("incidents", "inspections", "observed", "pending_writes", "pending_overflow", "write_cover",
                     "receipts", "alerts"):
            setattr(st, name, doc[name])
        for m in st.media.values():
            _index(st, m)
        return st

    def clone(self) -> LedgerState:
        """An independent copy."""
        return LedgerState.from_json(self.to_json())


def new_state(origin: str) -> LedgerState:
    """The state before the genesis entry of the ledger ``origin``."""
    return LedgerState(origin)


def _index(st: LedgerState, m: Medium) -> None:
    if m.serial:
        st._serials[m.serial] = m.id
    uuid = m.record.get("volume_uuid")
    if isinstance(uuid, str) and uuid:
        st._uuids[uuid] = m.id


def _set_genesis(st: LedgerState, body: dict[str, Any]) -> None:
    st.genesis = body
    items = body.get("data_items")
    st.my_number = body.get("my_number") is True or (
        isinstance(items, list) and any(isinstance(i, dict) and i.get("my_number") is True for i in items)
    )
    permits = _d(body, "permits")
    st.permits = {k: permits.get(k) is True for k in ("takeout", "copy", "subcontracting")}
    vkeys = body.get("approver_vkeys")
    st.approver_vkeys = [v for v in vkeys if isinstance(v, str)] if isinstance(vkeys, list) else []
    st._verifiers = None
    end = _d(body, "period").get("end")
    st.period_end_ms = _ms(f"{end}{PERIOD_END_TIME}") if isinstance(end, str) else None


# --- small helpers ---


def _s(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


def _d(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _ids(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(v for v in value if isinstance(v, str)))


def _ms(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return at_ms(value)
    except ValueError:
        return None


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


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
        message: Text,
        *,
        media: str | None = None,
        missing: Text = NO_TEXT,
        todo: Text = NO_TEXT,
        blocking: bool = True,
        at_seq: int | None = None,
        fields: dict[str, object] | None = None,
        **values: object,
    ) -> None:
        """Add a violation (its seq: ``at_seq``, else the entry's); ``fields`` and ``values`` fill the three
        texts (a value may be an (English, Japanese) pair)."""
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


# --- entry points ---


def check(state: LedgerState, entry: EventLike) -> list[Violation]:
    """The violations ``entry`` would cause; the state is not changed."""
    out = _Out(entry.seq)
    _run(state, entry, out, commit=False)
    return out.items


def advance(state: LedgerState, entry: EventLike) -> None:
    """Move the state past ``entry``, whatever it violates."""
    _run(state, entry, _Out(entry.seq), commit=True)


def apply(state: LedgerState, entry: EventLike) -> list[Violation]:
    """``check`` and ``advance`` in one pass: the violations, and the state moved past ``entry``."""
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
            found.extend(_end_rules(state, when, closing=True, seq=entry.seq))
    return found


def refuse(state: LedgerState, entry: EventLike) -> None:
    """The CLI's pre-write check: the body's schema (SchemaError, exit 3), then the rules
    (:func:`precheck`; RuleRefusal, exit 6, naming every blocking violation).  Returns when the entry may be
    written."""
    validate_body(entry.type, entry.body)
    problem: RuleRefusal | None = refusal(precheck(state, entry))
    if problem is not None:
        raise problem


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
    else:
        _check_actor(st, e, out)
        if st.closed is not None and e.type not in _AGENT:
            _after_close(st, e, out)
        handler = _HANDLERS.get(e.type)
        if handler is not None:
            handler(st, e, out, commit)
    if commit:
        st.last_seq = e.seq
        st.last_at = e.at


# --- people (C9) ---


def _check_actor(st: LedgerState, e: EventLike, out: _Out) -> None:
    person = st.people.get(e.actor)
    if person is None:
        out.add("C9", ERROR, txt.ACTOR_UNKNOWN, missing=txt.NEED_REGISTRATION, todo=txt.DO_REGISTER, actor=e.actor)
        return
    if person.removed_seq is not None and e.seq > person.removed_seq:
        out.add("C9", ERROR, txt.ACTOR_REMOVED, todo=txt.DO_ACT_REGISTERED, actor=e.actor, seq=person.removed_seq)
        return
    agent_event = e.type in _AGENT
    if person.role == "agent" and not agent_event:
        out.add("C9", ERROR, txt.AGENT_NOT_PERSON, todo=txt.DO_SIGN_AS_PERSON, actor=e.actor, type=e.type)
    elif person.role != "agent" and agent_event:
        out.add("C9", ERROR, txt.PERSON_NOT_AGENT, todo=txt.DO_USE_AGENT, actor=e.actor, type=e.type)
    if person.tier != "vendor":
        _check_subcontractor(st, e.actor, e.at, person, out)
    elif person.role != "agent" and _foreign_vendor_staff(st, person.organisation, person.employment):
        out.add("C9", ERROR, txt.VENDOR_TIER_OTHER_COMPANY, missing=txt.NEED_SUBCONTRACT,
                todo=txt.DO_REGISTER_AS_SUBCONTRACTOR, actor=e.actor, org=person.organisation,
                vendor=_vendor_name(st))
    if e.type in RESPONSIBLE_ONLY and person.role != "responsible":
        out.add("C9", ERROR, txt.RESPONSIBLE_ONLY, todo=txt.DO_ASK_RESPONSIBLE, type=e.type, actor=e.actor,
                role=(person.role, txt.ROLE_JA.get(person.role, person.role)))


def _valid_subcontract(st: LedgerState, ref: str, tier: str, at: str) -> bool:
    sc = st.subcontracts.get(ref)
    when = _ms(at)
    return sc is not None and sc.tier == tier and when is not None and sc.from_ms <= when <= sc.until_ms


def _vendor_name(st: LedgerState) -> str:
    return _s(_d(st.genesis or {}, "vendor"), "name")


def _foreign_vendor_staff(st: LedgerState, organisation: str, employment: str) -> bool:
    """Registered at the vendor tier but employed by another company (a dispatched worker, 第7, is allowed)."""
    vendor = _vendor_name(st)
    return bool(vendor and organisation and employment != "dispatched"
                and _norm_org(organisation) != _norm_org(vendor))


def _check_subcontractor(st: LedgerState, actor: str, at: str, person: Person, out: _Out) -> None:
    """A subcontractor acts under a valid approval of its tier, given to its own company (C9)."""
    ref = person.subcontract_id or ""
    if not _valid_subcontract(st, ref, person.tier, at):
        out.add("C9", ERROR, txt.SUBCONTRACTOR_UNAPPROVED, missing=txt.NEED_SUBCONTRACT, todo=txt.DO_RECORD_SUBCONTRACT,
                actor=actor, tier=(person.tier, txt.TIER_JA.get(person.tier, person.tier)), org=person.organisation,
                at=at)
    elif _norm_org(person.organisation) != _norm_org(st.subcontracts[ref].name):
        out.add("C9", ERROR, txt.SUBCONTRACTOR_OTHER_COMPANY, missing=txt.NEED_SUBCONTRACT,
                todo=txt.DO_RECORD_SUBCONTRACT, actor=actor, org=person.organisation, ref=ref,
                approved=st.subcontracts[ref].name)


def _need_subcontract(out: _Out, tier: str, ref: str) -> None:
    out.add("C9", ERROR, txt.TIER_NEEDS_APPROVAL, missing=txt.NEED_SUBCONTRACT_ID, todo=txt.DO_SUBCONTRACT_FIRST,
            tier=(tier, txt.TIER_JA.get(tier, tier)), ref=ref or "-")


def _norm_org(name: str) -> str:
    for token in ("株式会社", "(株)", "（株）", "有限会社", "合同会社", "co.,ltd.", "co., ltd.", "inc.", "ltd."):
        name = name.replace(token, "")
    return "".join(name.split()).casefold()


def _h_registered(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    key_name = _s(body, "vkey").split("+", 1)[0]
    if not key_name:
        out.add("C9", ERROR, txt.NO_VKEY, todo=txt.DO_GIVE_VKEY)
        return
    existing = st.people.get(key_name)
    if existing is not None and existing.removed_seq is None:
        out.add("C9", ERROR, txt.ALREADY_REGISTERED, todo=txt.DO_CHANGE_PERSON, name=key_name,
                seq=existing.registered_seq)
        return
    tier, role, ref = _s(body, "tier") or "vendor", _s(body, "role") or "operator", _s(body, "subcontract_id")
    org = _s(body, "organisation")
    if tier != "vendor":
        if not st.permits.get("subcontracting"):
            out.add("C9", ERROR, txt.NO_SUBCONTRACTING, todo=txt.DO_VENDOR_ONLY)
        elif not _valid_subcontract(st, ref, tier, e.at):
            _need_subcontract(out, tier, ref)
        elif _norm_org(org) != _norm_org(st.subcontracts[ref].name):
            out.add("C9", ERROR, txt.SUBCONTRACTOR_OTHER_COMPANY, missing=txt.NEED_SUBCONTRACT,
                    todo=txt.DO_RECORD_SUBCONTRACT, actor=key_name, org=org, ref=ref,
                    approved=st.subcontracts[ref].name)
    elif role != "agent" and _foreign_vendor_staff(st, org, _s(body, "employment")):
        out.add("C9", ERROR, txt.OTHER_ORGANISATION, missing=txt.NEED_SUBCONTRACT,
                todo=txt.DO_REGISTER_AS_SUBCONTRACTOR, name=key_name, org=org, vendor=_vendor_name(st))
    if role == "responsible":
        out.add("C9", WARNING, txt.NEW_RESPONSIBLE, todo=txt.DO_KEEP_APPROVAL, blocking=False)
    if commit:
        st.people[key_name] = Person(key_name, _s(body, "name"), org, tier, role, e.seq, None, ref or None,
                                     _s(body, "employment"))


def _active_person(st: LedgerState, out: _Out, key_name: str) -> Person | None:
    person = st.people.get(key_name)
    if person is None or person.removed_seq is not None:
        out.add("C9", ERROR, txt.PERSON_UNKNOWN, todo=txt.DO_CHECK_KEY_NAME, name=key_name or "-")
        return None
    return person


def _h_changed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    person = _active_person(st, out, _s(e.body, "key_name"))
    if person is None:
        return
    changes = _d(e.body, "changes")
    tier = _s(changes, "tier") or person.tier
    ref = _s(changes, "subcontract_id") or person.subcontract_id or ""
    if tier != "vendor" and not _valid_subcontract(st, ref, tier, e.at):
        _need_subcontract(out, tier, ref)
    if _s(changes, "role") == "responsible" and not _s(e.body, "approval_reference"):
        out.add("C9", WARNING, txt.NEW_RESPONSIBLE, missing=txt.NEED_APPROVAL_REFERENCE, todo=txt.DO_KEEP_APPROVAL,
                blocking=False)
    if commit:
        for name in ("name", "organisation", "tier", "role", "subcontract_id", "employment"):
            if _s(changes, name):
                setattr(person, name, _s(changes, name))


def _h_removed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    person = _active_person(st, out, _s(e.body, "key_name"))
    if person is not None and commit:
        person.removed_seq = e.seq


def _h_key(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    key_name = _s(e.body, "key_name")
    if key_name not in st.people:
        out.add("C9", ERROR, txt.PERSON_UNKNOWN, todo=txt.DO_CHECK_KEY_NAME, name=key_name or "-")
        return
    actor = st.people.get(e.actor)
    if e.actor != key_name and (actor is None or actor.role != "responsible"):
        out.add("C9", ERROR, txt.KEY_OWNER_ONLY, todo=txt.DO_ASK_RESPONSIBLE, name=key_name)


def _h_subcontract(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    if not st.permits.get("subcontracting"):
        out.add("C9", ERROR, txt.NO_SUBCONTRACTING, todo=txt.DO_VENDOR_ONLY)
    approval = _approval(st, e, "subcontract", out)
    if approval is None:
        return
    body, sub = approval.body, approval.body.subcontractor
    if body.id in st.approvals:
        out.add("C9", ERROR, txt.APPROVAL_RECORDED, todo=txt.DO_RECORD_ONCE, id=body.id)
        return
    if sub is None:
        return
    if sub.tier == "sub-subcontractor" and not any(
        s.name == sub.parent and s.tier == "subcontractor" for s in st.subcontracts.values()
    ):
        out.add("C9", WARNING, txt.PARENT_UNAPPROVED, todo=txt.DO_RECORD_PARENT, blocking=False, name=sub.name,
                parent=sub.parent or "-")
    if commit:
        st.subcontracts[body.id] = Subcontract(body.id, e.seq, sub.name, sub.tier, sub.parent, body.valid_from,
                                               body.valid_until, body.valid_from_ms, body.valid_until_ms)
        _use_approval(st, approval, e.seq)


def _check_person_ref(st: LedgerState, e: EventLike, out: _Out, ref: Any, what: Text) -> None:
    """A person given by key name must be registered and active (C9)."""
    if isinstance(ref, str) and ref:
        person = st.people.get(ref)
        if person is None or not person.active_at(e.seq):
            out.add("C9", ERROR, txt.PERSON_REF_UNKNOWN, todo=txt.DO_REGISTER_FIRST, what=what, name=ref)


# --- approvals ---


def _verifiers(st: LedgerState) -> list[Verifier]:
    if st._verifiers is None:
        found = []
        for vkey in st.approver_vkeys:
            try:
                found.append(Verifier.from_vkey(vkey))
            except NoteFormatError:
                continue
        st._verifiers = found
    return st._verifiers


def _approval(st: LedgerState, e: EventLike, kind: str, out: _Out) -> Approval | None:
    """The entry's embedded approval note, opened; None (with the violations) when it is not valid."""
    note = e.body.get("approval")
    code = KIND_CODES[kind]
    kind_text = (kind, txt.KIND_JA[kind])
    if not isinstance(note, str) or not note:
        out.add(code, ERROR, txt.APPROVAL_MISSING, missing=txt.NEED_APPROVAL, todo=txt.DO_APPLY, kind=kind_text)
        return None
    cached = st._approval_cache.get((note, kind))
    if cached is None:
        try:
            cached = open_approval(note.encode("utf-8"), origin=st.origin, approver_vkeys=_verifiers(st), kind=kind)
        except ApprovalProblem as exc:
            cached = exc
        except UnicodeEncodeError:
            cached = ApprovalProblem([violation(code, ERROR, txt.APPROVAL_NOT_UTF8)])
        if len(st._approval_cache) >= 256:
            st._approval_cache.clear()
        st._approval_cache[(note, kind)] = cached
    if isinstance(cached, ApprovalProblem):
        out.extend(cached.violations)
        return None
    known = st.approvals.get(cached.id)
    if known is not None and known.digest != cached.digest:
        out.add(code, ERROR, txt.APPROVAL_ID_CLASH, todo=txt.DO_ASK_WHICH, id=cached.id, seq=known.first_seq)
        return None
    return cached


def _uses(st: LedgerState, approval_id: str) -> int:
    use = st.approvals.get(approval_id)
    return 0 if use is None else use.uses


def _use_approval(st: LedgerState, approval: Approval, seq: int) -> None:
    use = st.approvals.get(approval.id)
    if use is None:
        use = ApprovalUse(approval.id, approval.kind, approval.digest, seq, 0, [], approval.body.to_json())
        st.approvals[approval.id] = use
        st._bodies[approval.id] = approval.body
    use.uses += 1
    use.seqs.append(seq)


def _covers(body: ApprovalBody, when: int) -> bool:
    return body.approved_at_ms <= when and body.valid_from_ms <= when <= body.valid_until_ms


def _add_cover(st: LedgerState, media_id: str, body: ApprovalBody) -> None:
    """Writes to ``media_id`` inside ``body``'s window are covered, also those already recorded (C11)."""
    st.write_cover.setdefault(media_id, []).append([body.valid_from_ms, body.valid_until_ms, body.approved_at_ms,
                                                     body.id])
    pending = st.pending_writes.get(media_id)
    if pending:
        left = [p for p in pending if not _covers(body, p[1])]
        if left:
            st.pending_writes[media_id] = left
        else:
            del st.pending_writes[media_id]


def _cover(st: LedgerState, media_id: str, when: int) -> str | None:
    for start, end, approved, approval_id in st.write_cover.get(media_id, ()):
        if approved <= when and start <= when <= end:
            return str(approval_id)
    return None


# --- media ---


def _move_ok(st: LedgerState, out: _Out, row: Transition, media_id: str, *, blocking_: bool = True) -> bool:
    """Whether ``row`` may move ``media_id`` from its state; adds the violation when not."""
    m = st.media.get(media_id)
    state = ABSENT if m is None else m.state
    code = blocking_code(row, state) if media_id else "C15"
    if code is None:
        return True
    values: dict[str, object] = {"m": media_id or "-", "state": state_text(state), "event": event_text(row.event)}
    if code == "C12" and m is not None:
        out.add("C12", ERROR, txt.SEEN_AGAIN_ACT, media=media_id, missing=txt.NEED_LIVE_MEDIUM,
                todo=txt.DO_REPORT_REAPPEARED, blocking=blocking_, fields=values, seq=m.final_seq)
    elif code == "C14":
        out.add("C14", ERROR, txt.LOST_ACT, media=media_id, todo=txt.DO_RECORD_FOUND, blocking=blocking_, fields=values)
    elif state == ABSENT or not media_id:
        out.add("C15", ERROR, txt.NOT_IN_REGISTER, media=media_id or None, missing=txt.NEED_IN_REGISTER,
                todo=txt.DO_RECORD_MEDIUM, blocking=blocking_, fields=values)
    elif ABSENT in row.allowed:
        out.add(code, ERROR, txt.ID_TAKEN, media=media_id, todo=txt.DO_NEW_ID, blocking=blocking_, fields=values)
    else:
        allowed = sorted(row.allowed)
        out.add(code, ERROR, txt.WRONG_STATE, media=media_id, todo=txt.DO_MISSING_STEP, blocking=blocking_,
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
        out.add("C12", ERROR, txt.SERIAL_GONE, media=media_id, todo=txt.DO_REPORT_REAPPEARED, fields=values)
    elif other.state == LOST:
        out.add("C14", ERROR, txt.SERIAL_LOST, media=media_id, todo=txt.DO_RECORD_FOUND, fields=values)
    elif other.state != ERASED:
        out.add("C15", ERROR, txt.SERIAL_TAKEN, media=media_id, todo=txt.DO_CHECK_SERIAL, fields=values)


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


def _h_received(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    if not _move_ok(st, out, transition(e.type, "medium"), media_id):
        return
    _serial_ok(st, out, _s(e.body, "serial"), media_id)
    if not commit:
        return
    received = e.type == "media.received"
    _new_medium(st, e, RECEIVED if received else REGISTERED, media_id, my_number=_holds_my_number(e.body))
    receipt = _d(e.body, "receipt")
    if received and _s(receipt, "number"):
        raw = receipt.get("items")
        items = [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []
        declared = sum(i["quantity"] for i in items if isinstance(i.get("quantity"), int))
        records: dict[str, int] = {}
        for i in items:
            if isinstance(i.get("name"), str) and isinstance(i.get("records"), int):
                records[i["name"]] = records.get(i["name"], 0) + i["records"]
        entry = st.receipts.setdefault(_s(receipt, "number"), {"declared": 0, "records": {}, "media": [],
                                                                "seq": e.seq})
        if declared >= entry["declared"]:
            entry["declared"], entry["records"] = declared, records
        entry["media"].append(media_id)


def _h_checked_out(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    _check_person_ref(st, e, out, e.body.get("person"), ("The person", "担当者"))
    if _move_ok(st, out, transition(e.type, "medium"), media_id) and commit:
        _touch(st.media[media_id], e.seq, CHECKED_OUT)


def _h_checked_in(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    _check_person_ref(st, e, out, e.body.get("person"), ("The person", "担当者"))
    if not _move_ok(st, out, transition(e.type, "medium"), media_id):
        return
    if e.body.get("seals_intact") is False:
        out.add("C14", WARNING, txt.SEAL_BROKEN, media=media_id, todo=txt.DO_REPORT_IF_ACCESSED, blocking=False,
                m=media_id)
    if commit:
        _touch(st.media[media_id], e.seq, IN_STORAGE)


# --- takeouts (C2 C3 C4) ---


def _check_carriers(st: LedgerState, e: EventLike, out: _Out, carriers: Sequence[str]) -> None:
    for carrier in carriers:
        person = st.person_by_name(carrier)
        if person is None or not person.active_at(e.seq):
            out.add("C9", ERROR, txt.CARRIER_UNKNOWN, todo=txt.DO_APPROVED_CARRIERS, name=carrier)
        elif person.tier != "vendor":
            _check_subcontractor(st, person.key_name, e.at, person, out)


def _h_departed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    media_ids = _ids(body, "media_ids")
    if not st.permits.get("takeout"):
        out.add("C2", ERROR, txt.NO_TAKEOUT_PERMIT, todo=txt.DO_STAY)
    if not media_ids:
        out.add("C2", ERROR, txt.NO_MEDIA_NAMED, todo=txt.DO_NAME_MEDIA)
    row = transition(e.type, "media")
    moved = [m for m in media_ids if _move_ok(st, out, row, m)]
    carriers = _ids(body, "carriers")
    _check_carriers(st, e, out, carriers)
    encryption = _d(body, "encryption")
    electronic = any(st.media[m].kind != "paper" for m in media_ids if m in st.media)
    approval = _approval(st, e, "takeout", out)
    if approval is not None:
        out.extend(coverage_problems(
            approval, kind="takeout", media_ids=media_ids, at=e.at, uses_so_far=_uses(st, approval.id),
            transport=_s(body, "transport"), carriers=carriers, encryption=encryption, encryption_needed=electronic,
            destination=_s(body, "destination"),
        ))
    elif electronic and encryption.get("method") not in ("software", "hardware"):
        out.add("C3", ERROR, txt.NO_ENCRYPTION, missing=txt.NEED_ENCRYPTION, todo=txt.DO_ENCRYPT)
    if not commit:
        return
    candidates = [d for d in (approval.body.deadline if approval else None, _s(body, "planned_return") or None)
                  if d is not None and _ms(d) is not None]
    deadline = min(candidates, key=lambda d: _ms(d) or 0) if candidates else None
    st.takeouts[e.seq] = Takeout(e.seq, approval.id if approval else None, media_ids, list(moved), deadline,
                                 _ms(deadline) if deadline else None)
    for media_id in moved:
        m = st.media[media_id]
        _touch(m, e.seq, TAKEN_OUT)
        m.takeout_seq = e.seq
    if approval is not None:
        _use_approval(st, approval, e.seq)
        for media_id in media_ids:
            if media_id in approval.body.media:
                _add_cover(st, media_id, approval.body)


def _takeout_media(st: LedgerState, e: EventLike, out: _Out) -> tuple[Takeout | None, list[str]]:
    """The open takeout an entry closes and which of its media it may close (violations for the others)."""
    seq = e.body.get("takeout_seq")
    media_ids = _ids(e.body, "media_ids")
    takeout = st.takeouts.get(seq) if isinstance(seq, int) and not isinstance(seq, bool) else None
    if takeout is None:
        out.add("C4", ERROR, txt.NO_SUCH_TAKEOUT, media=media_ids[0] if media_ids else None, todo=txt.DO_GIVE_TAKEOUT,
                seq=seq if isinstance(seq, int) else "-")
        return None, []
    row = transition(e.type, "media")
    ok = []
    for media_id in media_ids:
        if st.state_of(media_id) == TAKEN_OUT and media_id not in takeout.open:
            out.add("C4", ERROR, txt.NOT_ON_TAKEOUT, media=media_id, todo=txt.DO_CHECK_TAKEOUT, m=media_id,
                    seq=takeout.seq)
        elif _move_ok(st, out, row, media_id):
            ok.append(media_id)
    return takeout, ok


def _late(out: _Out, e: EventLike, deadline: str | None, deadline_ms: int | None, media: str | None, code: str,
          what: Text) -> None:
    """A fact recorded after its deadline: reported, never refused."""
    when = _ms(e.at)
    if deadline_ms is not None and when is not None and when > deadline_ms:
        out.add(code, ERROR, txt.LATE, media=media, todo=txt.DO_NOTHING_LATE, blocking=False, what=what,
                deadline=deadline)


def _close_takeout(st: LedgerState, takeout: Takeout, media_id: str, seq: int) -> None:
    if media_id in takeout.open:
        takeout.open.remove(media_id)
        takeout.closed[media_id] = seq
    m = st.media.get(media_id)
    if m is not None and m.takeout_seq == takeout.seq:
        m.takeout_seq = None


def _h_takeout_returned(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    takeout, ok = _takeout_media(st, e, out)
    if takeout is None:
        return
    first = ok[0] if ok else None
    _late(out, e, takeout.deadline, takeout.deadline_ms, first, "C4", txt.WHAT_RETURN)
    result = _d(e.body, "check")
    if result.get("count_match") is False or result.get("seals_intact") is False:
        out.add("C4", WARNING, txt.CHECK_FAILED, media=first, todo=txt.DO_REPORT_IF_LOST, blocking=False)
    if commit:
        for media_id in ok:
            _close_takeout(st, takeout, media_id, e.seq)
            _touch(st.media[media_id], e.seq, IN_STORAGE)


def _verified(body: dict[str, Any]) -> bool:
    return _d(body, "verification").get("result") == "pass"


def _h_erased_at_destination(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    takeout, ok = _takeout_media(st, e, out)
    if takeout is None:
        return
    first = ok[0] if ok else None
    if not _verified(e.body):
        out.add("C4", ERROR, txt.DEST_NOT_VERIFIED, media=first, todo=txt.DO_ERASE_AGAIN)
        return
    _late(out, e, takeout.deadline, takeout.deadline_ms, first, "C4", txt.WHAT_DEST_ERASURE)
    if commit:
        for media_id in ok:
            _close_takeout(st, takeout, media_id, e.seq)
            m = st.media[media_id]
            _touch(m, e.seq, ERASED)
            m.erased_seq = e.seq


# --- copies (C5) ---


def _h_copy(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    source_id, target_id = _s(body, "source_media_id"), _s(body, "media_id")
    if not st.permits.get("copy"):
        out.add("C5", ERROR, txt.NO_COPY_PERMIT, todo=txt.DO_NO_COPIES)
    source_ok = _move_ok(st, out, transition(e.type, "source"), source_id)
    target_ok = _move_ok(st, out, transition(e.type, "target"), target_id)
    if target_ok:
        _serial_ok(st, out, _s(body, "serial"), target_id)
    approval = _approval(st, e, "copy", out)
    if approval is not None:
        out.extend(coverage_problems(approval, kind="copy", media_ids=[source_id], at=e.at,
                                     uses_so_far=_uses(st, approval.id), target_media_id=target_id))
    if not commit or not target_ok:
        return
    source = st.media.get(source_id)
    my_number = _holds_my_number(body) or (source is not None and source.my_number)
    _new_medium(st, e, COPY, target_id, my_number=my_number, state=CHECKED_OUT, source=source_id,
                approval_id=approval.id if approval else None)
    if source_ok and source is not None:
        _touch(source, e.seq, None)
    if approval is not None:
        _use_approval(st, approval, e.seq)
        _add_cover(st, target_id, approval.body)


# --- erasure and disposal (C7 C8) ---


def _pending_disposal(st: LedgerState, m: Medium) -> Disposal | None:
    d = st.disposals.get(m.disposal_id) if m.disposal_id is not None else None
    return d if d is not None and d.media.get(m.id) == "pending" else None


def _settle_disposal(st: LedgerState, m: Medium, status: str) -> None:
    d = _pending_disposal(st, m)
    if d is not None:
        d.media[m.id] = status
    m.disposal_id = None


def _h_erased(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    media_id = _s(body, "media_id")
    if not _move_ok(st, out, transition(e.type, "medium"), media_id):
        return
    m = st.media[media_id]
    if not _verified(body):
        out.add("C7", ERROR, txt.ERASURE_NOT_VERIFIED, media=media_id, todo=txt.DO_ERASE_AGAIN, m=media_id)
        return
    disposal = _pending_disposal(st, m)
    plan = st.approval_body(m.approval_id) if m.origin == COPY and m.approval_id else None
    planned = plan is not None and plan.disposal is not None and plan.disposal.method == "erase"
    if m.my_number and disposal is None and not planned:
        out.add("C7", ERROR, txt.MY_NUMBER_ERASURE, media=media_id, missing=txt.NEED_DISPOSAL_APPROVAL,
                todo=txt.DO_APPLY_DISPOSAL, m=media_id)
    if not commit:
        return
    _touch(m, e.seq, ERASED)
    m.erased_seq = e.seq
    if disposal is not None and disposal.category == _s(_d(body, "method"), "category"):
        _settle_disposal(st, m, "done")


def _h_disposal_approved(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    approval = _approval(st, e, "dispose", out)
    if approval is None:
        return
    body, application = approval.body, approval.body.application
    if body.id in st.approvals:
        out.add("C7", ERROR, txt.APPROVAL_RECORDED, todo=txt.DO_RECORD_ONCE, id=body.id)
        return
    if application is None:
        return
    row = transition(e.type, "media")
    ok = []
    for media_id in body.media:
        if not _move_ok(st, out, row, media_id):
            continue
        m = st.media[media_id]
        serial = application.serial_of(media_id)
        if st.closed is not None and m.settled:
            out.add("C1", ERROR, txt.CLOSED_NO_MORE, media=media_id, todo=txt.DO_NOTHING_REMAINS, type=e.type,
                    seq=st.closed["seq"])
        elif m.serial and serial != m.serial:
            out.add("C7", ERROR, txt.SERIAL_MISMATCH_APPROVAL, media=media_id, todo=txt.DO_CORRECT_APPROVAL,
                    id=body.id, serial=serial, m=media_id, registered=m.serial)
        elif _pending_disposal(st, m) is not None:
            out.add("C7", ERROR, txt.DISPOSAL_PENDING, media=media_id, todo=txt.DO_CARRY_OUT, m=media_id,
                    other=m.disposal_id)
        else:
            ok.append(media_id)
    if not commit:
        return
    deadline = body.deadline
    st.disposals[body.id] = Disposal(body.id, e.seq, application.category, application.technique,
                                     application.witness_required, body.valid_from_ms, deadline,
                                     _ms(deadline) or body.valid_until_ms, dict.fromkeys(ok, "pending"))
    _use_approval(st, approval, e.seq)
    for media_id in ok:
        m = st.media[media_id]
        _touch(m, e.seq, DISPOSAL_APPROVED)
        m.disposal_id = body.id


def _h_disposed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    media_id = _s(body, "media_id")
    m = st.media.get(media_id)
    disposal = _pending_disposal(st, m) if m is not None else None
    if m is not None and m.state not in FINAL and m.state != TAKEN_OUT and disposal is None:
        out.add("C7", ERROR, txt.NO_DISPOSAL_APPROVAL, media=media_id, missing=txt.NEED_DISPOSAL_11_2,
                todo=txt.DO_APPLY_DISPOSAL, m=media_id)
        return
    if not _move_ok(st, out, transition(e.type, "medium"), media_id) or m is None or disposal is None:
        return
    method = _d(body, "method")
    category, technique = _s(method, "category"), _s(method, "technique")
    if _s(body, "approval_id") != disposal.id:
        out.add("C7", ERROR, txt.WRONG_APPROVAL_CITED, media=media_id, todo=txt.DO_CITE_APPROVAL,
                given=_s(body, "approval_id") or "-", m=media_id, id=disposal.id)
    if category != disposal.category or (disposal.technique and not _same(technique, disposal.technique)):
        out.add("C7", ERROR, txt.WRONG_METHOD, media=media_id, missing=txt.NEED_APPROVED_METHOD,
                todo=txt.DO_APPROVED_METHOD, category=category or "-", technique=technique or "-", id=disposal.id,
                approved=disposal.category, approved_t=disposal.technique or "-")
    if m.my_number and category != "destroy":
        out.add("C7", ERROR, txt.NOT_DESTROYED, media=media_id, missing=txt.NEED_DESTROY, todo=txt.DO_DESTROY,
                m=media_id, category=category or "-")
    if _s(body, "serial") != m.serial:
        out.add("C7", ERROR, txt.SERIAL_MISMATCH_RECORD, media=media_id, todo=txt.DO_PER_SERIAL,
                given=_s(body, "serial") or "-", m=media_id, serial=m.serial)
    _check_evidence(st, out, body, media_id, disposal)
    when = _ms(e.at)
    if when is not None and when < disposal.valid_from_ms:
        out.add("C7", ERROR, txt.DISPOSAL_NOT_YET_VALID, media=media_id, todo=txt.DO_WAIT_PERIOD, id=disposal.id)
    _late(out, e, disposal.deadline, disposal.deadline_ms, media_id, "C8", txt.WHAT_DISPOSAL)
    if commit:
        _settle_disposal(st, m, "done")
        _touch(m, e.seq, DISPOSED)
        m.final_seq = e.seq


def _check_evidence(st: LedgerState, out: _Out, body: dict[str, Any], media_id: str, disposal: Disposal) -> None:
    """Witness, a photo showing the serial, a certificate or the reason for none, a passed verification (C7)."""
    witness = _d(body, "witness")
    municipality = _s(_d(st.genesis or {}, "municipality"), "name")
    if _s(witness, "name") and (disposal.witness_required or st.my_number) and municipality and not _of_municipality(
        _s(witness, "organisation"), municipality
    ):
        if st.my_number and not disposal.witness_required and _s(body, "no_witness_reason"):
            out.add("C7", WARNING, txt.NO_WITNESS_REASON, media=media_id, blocking=False, m=media_id)
        else:
            out.add("C7", ERROR, txt.WITNESS_NOT_MUNICIPALITY, media=media_id, missing=txt.NEED_MUNICIPALITY_WITNESS,
                    todo=txt.DO_WITNESS, m=media_id, name=_s(witness, "name"),
                    org=_s(witness, "organisation") or "-", municipality=municipality)
    elif not _s(witness, "name"):
        if disposal.witness_required:
            out.add("C7", ERROR, txt.WITNESS_REQUIRED, media=media_id, missing=txt.NEED_WITNESS, todo=txt.DO_WITNESS,
                    id=disposal.id)
        elif st.my_number and _s(body, "no_witness_reason"):
            out.add("C7", WARNING, txt.NO_WITNESS_REASON, media=media_id, blocking=False, m=media_id)
        elif st.my_number:
            out.add("C7", ERROR, txt.WITNESS_OR_REASON, media=media_id, missing=txt.NEED_WITNESS_OR_REASON,
                    todo=txt.DO_WITNESS, m=media_id)
    photos = body.get("photos")
    if not (isinstance(photos, list) and any(isinstance(p, dict) and p.get("serial_visible") is True for p in photos)):
        out.add("C7", ERROR, txt.NO_SERIAL_PHOTO, media=media_id, missing=txt.NEED_SERIAL_PHOTO,
                todo=txt.DO_COMPLETE_RECORD, m=media_id)
    if not _s(_d(body, "certificate"), "attachment") and not _s(body, "no_certificate_reason"):
        out.add("C7", ERROR, txt.NO_CERTIFICATE, media=media_id, missing=txt.NEED_CERTIFICATE,
                todo=txt.DO_COMPLETE_RECORD, m=media_id)
    if not _verified(body):
        out.add("C7", ERROR, txt.DISPOSAL_NOT_VERIFIED, media=media_id, todo=txt.DO_COMPLETE_RECORD, m=media_id)


def _of_municipality(organisation: str, municipality: str) -> bool:
    """Whether a person's organisation is the municipality (例市, 例市 市民課, 例市役所 ...)."""
    org, name = _norm_org(organisation), _norm_org(municipality)
    return bool(org and name) and (org == name or org.startswith(name) or name in org)


def _h_returned(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    if not _move_ok(st, out, transition(e.type, "medium"), media_id) or not commit:
        return
    m = st.media[media_id]
    if m.takeout_seq is not None and m.takeout_seq in st.takeouts:
        _close_takeout(st, st.takeouts[m.takeout_seq], media_id, e.seq)
    _settle_disposal(st, m, "returned")
    _touch(m, e.seq, RETURNED)
    m.final_seq = e.seq


# --- incidents, inspections, closing (C1 C14) ---


def _h_incident(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    kind = _s(body, "kind") or "other"
    media_ids = _ids(body, "media_ids")
    severity = {"lost": ERROR, "stolen": ERROR, "leak": ERROR, "found": INFO}.get(kind, WARNING)
    unreported = not _s(body, "notified_at") and kind != "found"
    out.add("C14", severity, txt.INCIDENT, media=media_ids[0] if media_ids else None,
            missing=txt.NEED_NOTIFIED if unreported else NO_TEXT, todo=txt.DO_NOTIFY if unreported else NO_TEXT,
            blocking=False, kind=(kind, txt.INCIDENT_JA.get(kind, kind)), situation=_s(body, "situation")[:200] or "-")
    when = _ms(e.at)
    if kind in ("lost", "stolen") and when is not None:
        for media_id in media_ids:
            m = st.media.get(media_id)
            takeout = st.takeouts.get(m.takeout_seq) if m is not None and m.takeout_seq is not None else None
            if takeout is not None and takeout.deadline_ms is not None and when > takeout.deadline_ms:
                out.add("C4", ERROR, txt.LOST_ON_OVERDUE_TAKEOUT, media=media_id, todo=txt.DO_NOTHING_LATE,
                        blocking=False, m=media_id, deadline=takeout.deadline, seq=takeout.seq)
    if not commit:
        return
    st.incidents.append({"seq": e.seq, "at": e.at, "kind": kind, "media_ids": media_ids})
    if kind in ("lost", "stolen"):
        row = transition("incident.reported", "media", kind)
        for media_id in media_ids:
            m = st.media.get(media_id)
            if m is None or m.state not in row.allowed:
                continue
            if m.takeout_seq is not None and m.takeout_seq in st.takeouts:
                _close_takeout(st, st.takeouts[m.takeout_seq], media_id, e.seq)
            _settle_disposal(st, m, "lost")
            _touch(m, e.seq, LOST)
            m.final_seq = e.seq
    elif kind == "found":
        for media_id in media_ids:
            m = st.media.get(media_id)
            if m is not None and m.state == LOST:
                _touch(m, e.seq, IN_STORAGE)
                m.final_seq = None


def _h_inspection(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    if commit:
        st.inspections.append(e.seq)


def _h_closed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    if st.closed is None and commit:
        st.closed = {"seq": e.seq, "at": e.at}


def _after_close(st: LedgerState, e: EventLike, out: _Out) -> None:
    assert st.closed is not None
    seq = st.closed["seq"]
    if e.type in NOT_AFTER_CLOSE or e.type == "contract.closed":
        out.add("C1", ERROR, txt.CLOSED_NO_MORE, todo=txt.DO_NOTHING_REMAINS, type=e.type, seq=seq)
    elif e.type in SETTLING_AFTER_CLOSE:
        out.add("C1", WARNING, txt.CLOSED_STILL_SETTLING, todo=txt.DO_PREMATURE, blocking=False, type=e.type,
                seq=seq)


def _h_nothing(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    return


# --- the agent (C10 C11 C12 C13) ---


def _alive(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """Every agent entry shows its agent alive; a silence longer than its allowed gap is C13.

    The hot path of a long ledger (heartbeats, file batches): one time parse, nothing allocated.
    """
    observed = e.body.get("observed_at")
    when = _ms(observed if isinstance(observed, str) else e.at)
    if when is None:
        return
    agent = st.agents.get(e.actor)
    if agent is None:
        if commit:
            st.agents[e.actor] = AgentView(e.actor, True, when, e.seq, DEFAULT_ALLOWED_GAP_MS)
        return
    silence = when - agent.last_ms
    if agent.running and silence > agent.allowed_ms + GAP_SLACK_MS and e.type != "observation.gap":
        out.add("C13", WARNING, txt.AGENT_SILENT, todo=txt.DO_CHECK_AGENT, blocking=False, actor=e.actor,
                s=silence // 1000, a=agent.allowed_ms // 1000)
    if commit:
        if silence > 0:
            agent.last_ms = when
        agent.last_seq = e.seq
        agent.running = True


def _h_agent_started(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)
    agent = st.agents.get(e.actor)
    if not commit or agent is None:
        return
    config = _d(e.body, "config")
    allowed, interval = config.get("allowed_gap_ms"), config.get("heartbeat_interval_ms")
    if isinstance(allowed, int) and not isinstance(allowed, bool) and allowed > 0:
        agent.allowed_ms = allowed
    elif isinstance(interval, int) and not isinstance(interval, bool) and interval > 0:
        agent.allowed_ms = 2 * interval


def _h_agent_stopped(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)
    if commit and e.actor in st.agents:
        st.agents[e.actor].running = False


def _h_gap(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    seconds = e.body.get("gap_seconds")
    out.add("C13", WARNING, txt.GAP_REPORTED, todo=txt.DO_EXPLAIN_GAP, blocking=False, actor=e.actor,
            last=_s(e.body, "last_heartbeat") or "-", s=seconds if isinstance(seconds, int) else "-")
    _alive(st, e, out, commit)


def _volume_medium(st: LedgerState, body: dict[str, Any]) -> Medium | None:
    return st.match_volume(media_id=_s(body, "media_id") or None, serial=_s(body, "serial") or None,
                           uuid=_s(body, "uuid") or None)


def _observe(st: LedgerState, media_id: str, what: str, seq: int, count: int = 1) -> None:
    counters = st.observed.get(media_id)
    if counters is None:
        counters = st.observed[media_id] = {"attached": 0, "batches": 0, "files": 0, "last_seq": seq}
    counters[what] += count
    counters["last_seq"] = seq


def _seen_again(out: _Out, m: Medium, what: Text) -> None:
    out.add("C12", ERROR, txt.SEEN_AGAIN, media=m.id, todo=txt.DO_SECURE, blocking=False, m=m.id,
            state=state_text(m.state), seq=m.final_seq, what=what)


def _h_attached(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)
    body = e.body
    m = _volume_medium(st, body)
    if m is None:
        volume = _s(body, "label") or _s(body, "uuid") or _s(body, "serial") or _s(body, "volume_id") or "-"
        out.add("C10", ERROR, txt.UNREGISTERED_ATTACHED, todo=txt.DO_REMOVE_OR_REGISTER, blocking=False, volume=volume)
        return
    if m.state in GONE:
        _seen_again(out, m, fill(txt.WHAT_ATTACHED, {"mount": _s(body, "mount_point") or "-"}))
    elif m.state == LOST:
        out.add("C14", WARNING, txt.LOST_ATTACHED, media=m.id, todo=txt.DO_RECORD_FOUND, blocking=False, m=m.id)
    elif m.state == IN_STORAGE:
        out.add("C10", WARNING, txt.IN_STORAGE_ATTACHED, media=m.id, todo=txt.DO_CHECKOUT, blocking=False, m=m.id)
    if commit:
        _observe(st, m.id, "attached", e.seq)


def _h_files(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)
    body = e.body
    m = _volume_medium(st, body)
    count = body.get("count")
    n = count if isinstance(count, int) and not isinstance(count, bool) else 0
    if m is None:
        out.add("C11", ERROR, txt.WRITTEN_UNREGISTERED, todo=txt.DO_REPORT_UNREGISTERED_WRITE, blocking=False, n=n,
                volume=_s(body, "label") or _s(body, "volume_id") or "-")
        return
    if m.state in GONE:
        _seen_again(out, m, txt.WHAT_WRITTEN)
    if not commit:
        return
    _observe(st, m.id, "batches", e.seq)
    _observe(st, m.id, "files", e.seq, n)
    when = _ms(body.get("observed_at")) or _ms(e.at)
    if m.state in GONE or when is None or _cover(st, m.id, when) is not None:
        return
    pending = st.pending_writes.setdefault(m.id, [])
    if len(pending) < MAX_PENDING_WRITES:
        pending.append([e.seq, when])
    else:
        st.pending_overflow[m.id] = st.pending_overflow.get(m.id, 0) + 1


def _h_alert(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)
    if commit:
        code = _s(e.body, "code") or "?"
        st.alerts[code] = st.alerts.get(code, 0) + 1


_HANDLERS: dict[str, Handler] = {
    "personnel.registered": _h_registered,
    "personnel.changed": _h_changed,
    "personnel.removed": _h_removed,
    "subcontract.approved": _h_subcontract,
    "key.rotated": _h_key,
    "key.revoked": _h_key,
    "media.received": _h_received,
    "media.registered": _h_received,
    "media.checked_out": _h_checked_out,
    "media.checked_in": _h_checked_in,
    "takeout.departed": _h_departed,
    "takeout.returned": _h_takeout_returned,
    "takeout.erased_at_destination": _h_erased_at_destination,
    "copy.made": _h_copy,
    "media.erased": _h_erased,
    "disposal.approved": _h_disposal_approved,
    "media.disposed": _h_disposed,
    "media.returned": _h_returned,
    "incident.reported": _h_incident,
    "inspection.recorded": _h_inspection,
    "contract.closed": _h_closed,
    "note.recorded": _h_nothing,
    "agent.started": _h_agent_started,
    "agent.heartbeat": _alive,
    "agent.stopped": _h_agent_stopped,
    "volume.attached": _h_attached,
    "volume.detached": _alive,
    "files.written": _h_files,
    "observation.gap": _h_gap,
    "alert.raised": _h_alert,
}


# --- end of the ledger ---


def finish(state: LedgerState, *, now_or_close: str | None = None) -> list[Violation]:
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
    """
    if state.closed is not None:
        when = _ms(str(state.closed["at"]))
    else:
        moments = [m for m in (_ms(state.last_at), _ms(now_or_close)) if m is not None]
        when = max(moments) if moments else None
    if when is None:
        return []
    closing = state.closed is not None or (state.period_end_ms is not None and when > state.period_end_ms)
    return _end_rules(state, when, closing=closing, seq=None)


def _end_rules(st: LedgerState, when: int, *, closing: bool, seq: int | None) -> list[Violation]:
    out = _Out(seq)
    blocks = seq is not None  # from precheck(contract.closed): what is still open blocks closing
    reported: set[str] = set()
    for takeout in st.takeouts.values():
        if takeout.open and (closing or (takeout.deadline_ms is not None and when > takeout.deadline_ms)):
            for media_id in takeout.open:
                reported.add(media_id)
                out.add("C4", ERROR, txt.TAKEOUT_OPEN, media=media_id, todo=txt.DO_CLOSE_TAKEOUT, blocking=blocks,
                        m=media_id, seq=takeout.seq, deadline=takeout.deadline or "-")
    for disposal in st.disposals.values():
        if not closing and when <= disposal.deadline_ms:
            continue
        for media_id, status in disposal.media.items():
            if status == "pending" and media_id not in reported:
                reported.add(media_id)
                out.add("C8", ERROR, txt.DISPOSAL_OVERDUE, media=media_id, missing=txt.NEED_DISPOSAL_RECORD,
                        todo=txt.DO_RECORD_DISPOSAL, blocking=blocks, m=media_id, id=disposal.id,
                        deadline=disposal.deadline)
    for m in st.media.values():
        if m.id in reported or m.settled:
            continue
        if m.origin == COPY:
            plan = st.approval_body(m.approval_id) if m.approval_id else None
            due = plan.disposal.by if plan is not None and plan.disposal is not None else ""
            due_ms = _ms(due) if due else None
            if closing or (due_ms is not None and when > due_ms):
                out.add("C6", ERROR, txt.COPY_OPEN, media=m.id, todo=txt.DO_SETTLE_COPY, blocking=blocks,
                        m=m.id, source=m.source or "-", due=fill(txt.DUE, {"due": due}) if due else "")
        elif closing:
            out.add("C1", ERROR, txt.MEDIUM_OPEN, media=m.id, missing=txt.NEED_FINAL, todo=txt.DO_SETTLE,
                    blocking=blocks, m=m.id, state=state_text(m.state))
    if not blocks:
        for media_id, pending in st.pending_writes.items():
            first = pending[0][0] if pending else None
            out.add("C11", ERROR, txt.UNCOVERED_WRITES, media=media_id, todo=txt.DO_APPROVE_WRITES, at_seq=first,
                    n=len(pending) + st.pending_overflow.get(media_id, 0), m=media_id, seq=first)
        if st.closed is None:
            for agent in st.agents.values():
                if agent.running and when - agent.last_ms > agent.allowed_ms + GAP_SLACK_MS:
                    out.add("C13", WARNING, txt.AGENT_QUIET, todo=txt.DO_CHECK_RUNNING, blocking=False,
                            actor=agent.actor, s=(when - agent.last_ms) // 1000, seq=agent.last_seq)
    if closing:
        _c15(st, out, blocks)
    return out.items


def _c15(st: LedgerState, out: _Out, blocks: bool) -> None:
    c = st.counts()
    if c["open"] != 0:
        out.add("C15", ERROR, txt.UNBALANCED, todo=txt.DO_ACCOUNT, blocking=blocks, r=c["received"], g=c["registered"],
                c=c["copies"], t=c["returned"], d=c["disposed"], e=c["erased"], l=c["lost"], b=c["open"])
    for number, receipt in sorted(st.receipts.items()):
        # a receipt that does not match is for the municipality to resolve: reported, never blocking the close
        media = receipt["media"]
        first = receipt.get("seq")
        if receipt["declared"] and receipt["declared"] != len(media):
            out.add("C15", ERROR, txt.RECEIPT_COUNT, todo=txt.DO_RECORD_RECEIPT, blocking=False, at_seq=first,
                    n=number, d=receipt["declared"], k=len(media), ids=", ".join(media))
        held: dict[str, int] = {}
        for media_id in media:
            items = _d(st.media[media_id].record, "contents").get("items") if media_id in st.media else None
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(
                        item.get("records"), int):
                    held[item["name"]] = held.get(item["name"], 0) + item["records"]
        for name, declared in sorted(receipt.get("records", {}).items()):
            if held.get(name, 0) != declared:
                out.add("C15", ERROR, txt.RECEIPT_RECORDS, todo=txt.DO_RECORD_RECEIPT, blocking=False, at_seq=first,
                        n=number, item=name, d=declared, k=held.get(name, 0))


def transitions_for(event: str) -> list[Transition]:
    """The rows of :data:`~ledger.media.TRANSITIONS` for ``event``."""
    return [t for t in TRANSITIONS if t.event == event]
