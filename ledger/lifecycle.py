"""The custody workflow as a pure state machine: media lifecycle, people and approvals.

One model serves both sides (DESIGN.md, Completeness rules):

* the operator CLI builds the entry it is about to write (with the seq and
  ``at`` it will use), calls :func:`precheck` on its state and refuses
  (``refusal(violations)``, exit 6, nothing written) when a violation blocks;
* the municipality's verifier calls :func:`apply` on every valid entry in seq
  order and :func:`finish` at the end, and reports every violation as a
  finding (code, severity, seq, media, message).

Entries are anything with ``seq``, ``type``, ``at``, ``actor`` and ``body``
(:class:`EventLike`: ``ledger.entry.Entry``, ``verify.engine.EntryView`` and
:class:`Event` all fit).  Bodies are expected to match their schemas
(:mod:`ledger.events`); a malformed body never raises here, its missing parts
count as absent.

``check(state, entry)`` reports without changing the state;
``advance(state, entry)`` changes it without reporting; ``apply`` does both in
one pass (the state advances even when there are violations: the verifier
keeps going).  So a caller may test-apply: ``check``, and only when nothing
blocks, ``advance``.

Which rules fire where (codes of DESIGN.md):

=====  ==================================================================  ==============
code   reported by apply (at the entry)                                    by finish
=====  ==================================================================  ==============
C1     acts after contract.closed; media.returned from a wrong state        medium not settled at close
C2     takeout.departed without a valid approval / from a wrong state
C3     takeout.departed without the required encryption
C4     takeout.returned/erased: no open takeout, late, failed check         takeout open past deadline or at close
C5     copy.made without a valid approval, new id not new
C6                                                                          copy not settled at close or
                                                                            past its approval's disposal date
C7     erasure/disposal without approval, other method, no witness,
       no photo with serial, no certificate or reason, not destroyed
C8     media.disposed after its deadline                                    disposal approval not carried
                                                                            out by its deadline
C9     actor not registered/removed/wrong role/subcontractor without
       approval; personnel and subcontract rules
C10    volume.attached: unregistered medium (also: attached while in
       storage, warning)
C11    files.written to an unregistered volume                              writes to a registered medium
                                                                            no approval ever covered
C12    any act on, or sighting of, a disposed or returned medium
C13    observation.gap; silence longer than the agent's allowed gap         agent silent at ``now``
C14    incident.reported (error: lost, stolen, leak; warning: suspicion,
       other; info: found); acts on a lost medium
C15    medium not in the register, duplicate id or serial, checkout or      balance ≠ 0 at close;
       check-in from a wrong state                                          receipt quantities ≠ media
=====  ==================================================================  ==============

``alert.raised`` is recorded (``LedgerState.alerts``) but never reported
again: the observation it was raised for is.

**C15** counts media, not records: ``received + registered + copies −
returned − disposed − erased − lost`` (``erased`` counts vendor media and
copies whose data was erased and that were not later returned or disposed)
must be 0 at close; and for every handover receipt (預り証), the number of
media recorded with that receipt number must equal the quantity its items
declare.  Per-item record counts are shown in the register and reports; they
are not reconciled here because one medium may hold several items.

**Blocking.**  Only errors block, and not all of them: a violation that a
*fact* reveals (a late return, a lost medium, an unregistered USB stick the
agent saw, a disposal recorded after its deadline) has ``blocking=False``:
the entry must be written, and the verifier reports it.

State snapshots: ``state.to_json()`` gives JSON-compatible data (strings,
integers, booleans; no floats: times are integer milliseconds next to the
RFC 3339 text) and ``LedgerState.from_json`` restores it.
Pure: no file, clock or network access.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.approval import Approval, ApprovalBody, ApprovalProblem, at_ms, coverage_problems, open_approval
from ledger.errors import RuleRefusal
from ledger.events import AGENT_TYPES, body_schema_name, validate_body
from ledger.media import (
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
from ledger.note import NoteFormatError, Verifier
from ledger.violation import ERROR, INFO, NO_TEXT, WARNING, Text, Violation, blocking, refusal, violation

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
    "body_schema_name",
    "check",
    "finish",
    "precheck",
    "refusal",
    "validate_body",
]

STATE_FORMAT = "custody/lifecycle-state/v1"
GENESIS = "contract.opened"
DEFAULT_ALLOWED_GAP_MS = 120_000  # agents/agent.py: twice the default 60 s heartbeat
GAP_SLACK_MS = 1_000
MAX_PENDING_WRITES = 10_000  # uncovered write batches kept per medium; more are only counted
JST = "+09:00"

RESPONSIBLE_ONLY = frozenset(
    {"personnel.registered", "personnel.changed", "personnel.removed", "subcontract.approved", "contract.closed"}
)
NOT_AFTER_CLOSE = frozenset(
    {"media.received", "media.registered", "media.checked_out", "takeout.departed", "copy.made"}
)
SETTLING_AFTER_CLOSE = frozenset(
    {
        "media.checked_in", "takeout.returned", "takeout.erased_at_destination", "media.erased",
        "disposal.approved", "media.disposed", "media.returned",
    }
)
_AGENT = frozenset(AGENT_TYPES)

STATE_JA = {
    ABSENT: "未登録",
    IN_STORAGE: "保管庫で保管中",
    CHECKED_OUT: "保管庫から出庫中",
    TAKEN_OUT: "作業場所外へ持ち出し中",
    ERASED: "消去済み",
    DISPOSAL_APPROVED: "廃棄承認済み",
    DISPOSED: "廃棄済み",
    RETURNED: "返還済み",
    LOST: "紛失",
}
EVENT_JA = {
    "media.received": "受領",
    "media.registered": "登録",
    "media.checked_out": "出庫",
    "media.checked_in": "入庫",
    "takeout.departed": "持ち出し",
    "takeout.returned": "持ち出しからの返却",
    "takeout.erased_at_destination": "持ち出し先での消去",
    "copy.made": "複製",
    "media.erased": "消去",
    "disposal.approved": "廃棄承認の記録",
    "media.disposed": "廃棄",
    "media.returned": "返還",
    "incident.reported": "事故報告",
}
TIER_JA = {"vendor": "受託者", "subcontractor": "再委託先", "sub-subcontractor": "再々委託先"}
ROLE_JA = {"responsible": "作業責任者", "operator": "作業従事者", "agent": "エージェント"}


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

    def active_at(self, seq: int) -> bool:
        return self.registered_seq <= seq and (self.removed_seq is None or seq <= self.removed_seq)


@dataclass(slots=True)
class Subcontract:
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
    """An approval seen in the ledger and the entries that used it."""

    id: str
    kind: str
    digest: str
    first_seq: int
    uses: int
    seqs: list[int]
    body: dict[str, Any]


@dataclass(slots=True)
class Takeout:
    """One takeout.departed (its seq is its id) and what is still out."""

    seq: int
    approval_id: str | None
    media: list[str]
    open: list[str]
    deadline: str | None
    deadline_ms: int | None
    closed: dict[str, int] = field(default_factory=dict)  # media id -> seq that closed it


@dataclass(slots=True)
class Disposal:
    """One disposal.approved and the state of each medium it covers (pending | done | returned | lost)."""

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
    actor: str
    running: bool
    last_ms: int
    last_seq: int
    allowed_ms: int


def _rows(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [{name: getattr(item, name) for name in item.__slots__} for item in items]


class LedgerState:
    """Everything the rules need to know about the ledger so far (see the module documentation).

    Attributes are plain data: ``media`` (id -> :class:`~ledger.media.Medium`),
    ``people`` (key name -> :class:`Person`), ``subcontracts``,
    ``approvals`` (id -> :class:`ApprovalUse`), ``takeouts`` (departure seq ->
    :class:`Takeout`), ``disposals`` (approval id -> :class:`Disposal`),
    ``incidents``, ``agents``, ``observed`` (media id -> agent counters),
    ``pending_writes`` (media id -> [[seq, ms], ...] not yet covered),
    ``write_cover`` (media id -> [[from_ms, until_ms, approved_ms, approval id]]),
    ``receipts``, ``counts``, ``alerts``, ``closed``, ``genesis``.
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
        self.closed: dict[str, Any] | None = None  # {"seq", "at"}
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
        self._labels: dict[str, str] = {}
        self._verifiers: list[Verifier] | None = None
        self._approval_cache: dict[tuple[str, str], Approval | ApprovalProblem] = {}
        self._bodies: dict[str, ApprovalBody] = {}

    # --- questions the CLI and the agent's media index ask ---

    def medium(self, media_id: str) -> Medium | None:
        return self.media.get(media_id)

    def state_of(self, media_id: str) -> str:
        m = self.media.get(media_id)
        return ABSENT if m is None else m.state

    def match_volume(
        self, *, media_id: str | None = None, serial: str | None = None, uuid: str | None = None,
        label: str | None = None,
    ) -> Medium | None:
        """The registered medium a volume is: by media id, then serial, then filesystem UUID, then label."""
        if media_id and media_id in self.media:
            return self.media[media_id]
        for key, index in ((serial, self._serials), (uuid, self._uuids), (label, self._labels)):
            if key and key in index:
                return self.media[index[key]]
        return None

    def write_covered(self, media_id: str, at: str) -> str | None:
        """The id of an approval covering writes to ``media_id`` at ``at`` (None if none does)."""
        try:
            when = at_ms(at)
        except (TypeError, ValueError):
            return None
        return _cover(self, media_id, when)

    def open_takeouts(self) -> list[Takeout]:
        return [t for t in self.takeouts.values() if t.open]

    def approval_body(self, approval_id: str) -> ApprovalBody | None:
        use = self.approvals.get(approval_id)
        if use is None:
            return None
        body = self._bodies.get(approval_id)
        if body is None:
            body = ApprovalBody.from_json(use.body)
            self._bodies[approval_id] = body
        return body

    def counts(self) -> dict[str, int]:
        """The C15 terms: media received, registered, copied; returned, disposed, erased (vendor media and
        copies, not later returned or disposed), lost; and ``open``, the balance (media not settled)."""
        c = dict.fromkeys(("received", "registered", "copies", "returned", "disposed", "erased", "lost"), 0)
        for m in self.media.values():
            c[{RECEIVED: "received", REGISTERED: "registered"}.get(m.origin, "copies")] += 1
            if m.state == RETURNED:
                c["returned"] += 1
            elif m.state == DISPOSED:
                c["disposed"] += 1
            elif m.state == LOST:
                c["lost"] += 1
            elif m.state == ERASED and m.origin != RECEIVED:
                c["erased"] += 1
        c["open"] = (c["received"] + c["registered"] + c["copies"] - c["returned"] - c["disposed"] - c["erased"]
                     - c["lost"])
        return c

    def person_by_name(self, name: str) -> Person | None:
        for person in self.people.values():
            if person.name == name or person.key_name == name:
                return person
        return None

    # --- snapshots ---

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible (canonical-safe: no floats) snapshot; ``from_json`` restores it."""
        return {
            "format": STATE_FORMAT,
            "origin": self.origin,
            "genesis": self.genesis,
            "last_seq": self.last_seq,
            "last_at": self.last_at,
            "closed": self.closed,
            "people": _rows(self.people.values()),
            "subcontracts": _rows(self.subcontracts.values()),
            "media": [m.to_json() for m in self.media.values()],
            "approvals": _rows(self.approvals.values()),
            "takeouts": _rows(self.takeouts.values()),
            "disposals": _rows(self.disposals.values()),
            "incidents": self.incidents,
            "inspections": self.inspections,
            "agents": _rows(self.agents.values()),
            "observed": self.observed,
            "pending_writes": self.pending_writes,
            "pending_overflow": self.pending_overflow,
            "write_cover": self.write_cover,
            "receipts": self.receipts,
            "alerts": self.alerts,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LedgerState:
        """Restore a snapshot made by ``to_json`` (ValueError for another format)."""
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
            raise ValueError(f"not a {STATE_FORMAT} snapshot")
        doc = _deep_copy(doc)
        st = cls(doc["origin"])
        if doc["genesis"] is not None:
            _set_genesis(st, doc["genesis"], register=False)
        st.last_seq, st.last_at, st.closed = doc["last_seq"], doc["last_at"], doc["closed"]
        st.people = {p["key_name"]: Person(**p) for p in doc["people"]}
        st.subcontracts = {s["id"]: Subcontract(**s) for s in doc["subcontracts"]}
        st.media = {m["id"]: Medium.from_json(m) for m in doc["media"]}
        st.approvals = {a["id"]: ApprovalUse(**a) for a in doc["approvals"]}
        st.takeouts = {t["seq"]: Takeout(**t) for t in doc["takeouts"]}
        st.disposals = {d["id"]: Disposal(**d) for d in doc["disposals"]}
        st.incidents = doc["incidents"]
        st.inspections = doc["inspections"]
        st.agents = {a["actor"]: AgentView(**a) for a in doc["agents"]}
        st.observed = doc["observed"]
        st.pending_writes = doc["pending_writes"]
        st.pending_overflow = doc["pending_overflow"]
        st.write_cover = doc["write_cover"]
        st.receipts = doc["receipts"]
        st.alerts = doc["alerts"]
        for m in st.media.values():
            _index(st, m)
        return st

    def clone(self) -> LedgerState:
        """An independent copy (through the snapshot form)."""
        return LedgerState.from_json(self.to_json())


def new_state(origin: str) -> LedgerState:
    """The state before the genesis entry of the ledger ``origin``."""
    return LedgerState(origin)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _index(st: LedgerState, m: Medium) -> None:
    if m.serial:
        st._serials[m.serial] = m.id
    uuid = m.record.get("volume_uuid")
    if isinstance(uuid, str) and uuid:
        st._uuids[uuid] = m.id
    for key in ("volume_label", "label"):
        label = m.record.get(key)
        if isinstance(label, str) and label:
            st._labels[label] = m.id
            break


def _set_genesis(st: LedgerState, body: dict[str, Any], *, register: bool, seq: int = 0) -> None:
    st.genesis = body
    items = body.get("data_items")
    st.my_number = bool(body.get("my_number")) or (
        isinstance(items, list) and any(isinstance(i, dict) and i.get("my_number") is True for i in items)
    )
    permits = _d(body, "permits")
    st.permits = {k: permits.get(k) is True for k in ("takeout", "copy", "subcontracting")}
    st.approver_vkeys = [v for v in body.get("approver_vkeys", []) if isinstance(v, str)] if isinstance(
        body.get("approver_vkeys"), list
    ) else []
    st._verifiers = None
    end = _d(body, "period").get("end")
    st.period_end_ms = _ms(f"{end}T23:59:59.999{JST}") if isinstance(end, str) else None
    if register:
        responsible = _d(body, "responsible")
        key_name = _s(responsible, "vkey").split("+", 1)[0]
        if key_name:
            st.people[key_name] = Person(
                key_name, _s(responsible, "name"), _s(responsible, "organisation"), "vendor", "responsible", seq
            )


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


def _fmt(pair: Text, **values: object) -> Text:
    return pair[0].format(**values), pair[1].format(**values)


def _person_name(ref: Any) -> str:
    if isinstance(ref, str):
        return ref
    if isinstance(ref, dict):
        return _s(ref, "key_name") or _s(ref, "name")
    return ""


class _Out:
    """Collects the violations of one entry."""

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
    ) -> None:
        self.items.append(
            violation(code, severity, message, media_id=media, missing=missing, todo=todo, seq=self.seq,
                      blocking=blocking)
        )

    def extend(self, violations: Iterable[Violation], *, blocking: bool = True) -> None:
        for v in violations:
            self.items.append(
                Violation(v.code, v.severity, v.message_en, v.message_ja, v.media_id, v.missing_en, v.missing_ja,
                          v.todo_en, v.todo_ja, self.seq, blocking and v.blocking)
            )


Handler = Callable[[LedgerState, EventLike, _Out, bool], None]


# --- entry points ---


def check(state: LedgerState, entry: EventLike) -> list[Violation]:
    """The violations ``entry`` would cause; the state is not changed."""
    out = _Out(entry.seq)
    _run(state, entry, out, commit=False)
    return out.items


def advance(state: LedgerState, entry: EventLike) -> None:
    """Move the state past ``entry`` (whatever it violates)."""
    _run(state, entry, _Out(entry.seq), commit=True)


def apply(state: LedgerState, entry: EventLike) -> list[Violation]:
    """``check`` and ``advance`` in one pass: the violations, and the state moved past ``entry``."""
    out = _Out(entry.seq)
    _run(state, entry, out, commit=True)
    return out.items


def precheck(state: LedgerState, entry: EventLike) -> list[Violation]:
    """What the CLI asks before writing: ``check``, plus for ``contract.closed`` the end-of-ledger
    rules as of the closing time (a medium still out blocks closing)."""
    found = check(state, entry)
    if entry.type == "contract.closed" and state.closed is None:
        when = _ms(entry.at)
        if when is not None:
            found.extend(_end_rules(state, when, closing=True, seq=entry.seq))
    return found


def validate(entry: EventLike) -> None:
    """Raise SchemaError unless the entry's body matches its event type's schema (see ledger.events)."""
    validate_body(entry.type, entry.body)


def refuse(state: LedgerState, entry: EventLike) -> None:
    """The CLI's whole pre-write check: schema (SchemaError) then rules (RuleRefusal, exit 6)."""
    validate(entry)
    problem: RuleRefusal | None = refusal(precheck(state, entry))
    if problem is not None:
        raise problem


def _run(st: LedgerState, e: EventLike, out: _Out, *, commit: bool) -> None:
    kind = e.type
    if kind == GENESIS:
        _genesis(st, e, out, commit)
    else:
        _check_actor(st, e, out)
        if st.closed is not None and kind not in _AGENT:
            _after_close(st, e, out)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(st, e, out, commit)
    if commit:
        st.last_seq = e.seq
        st.last_at = e.at


# --- people (C9) ---


def _check_actor(st: LedgerState, e: EventLike, out: _Out) -> None:
    person = st.people.get(e.actor)
    actor = e.actor
    if person is None:
        out.add("C9", ERROR, _fmt(("{actor} is not registered personnel of this ledger",
                                    "{actor} はこの台帳に登録された作業者ではありません"), actor=actor),
                missing=_fmt(("a personnel.registered entry for {actor}", "{actor} の作業者登録"), actor=actor),
                todo=_fmt(("Have the responsible person register {actor} (custody person add) before they act.",
                           "作業責任者が {actor} を登録してから作業してください(custody person add)。"), actor=actor))
        return
    if person.removed_seq is not None and e.seq > person.removed_seq:
        out.add("C9", ERROR, _fmt(("{actor} was removed at seq {seq} and may no longer act",
                                    "{actor} は seq {seq} で登録を抹消されており、作業できません"),
                                   actor=actor, seq=person.removed_seq),
                missing=_fmt(("an active registration of {actor}", "{actor} の有効な登録"), actor=actor),
                todo=("Have a registered person do it, or register the person again.",
                      "登録済みの作業者が行うか、改めて登録してください。"))
        return
    is_agent_event = e.type in _AGENT
    if person.role == "agent" and not is_agent_event:
        out.add("C9", ERROR, _fmt(("{actor} is an agent key: it records observations only, not {type}",
                                    "{actor} はエージェントの鍵で、観測のみを記録できます({type} は記録できません)"),
                                   actor=actor, type=e.type),
                todo=("Sign with the key of the person who acted.", "行為した本人の鍵で署名してください。"))
    elif person.role != "agent" and is_agent_event:
        out.add("C9", ERROR, _fmt(("Only an agent key records observations ({type}); {actor} is a person",
                                    "観測({type})はエージェントの鍵のみが記録できます({actor} は作業者です)"),
                                   type=e.type, actor=actor),
                todo=("Register the agent's own key (role agent) and let the agent record.",
                      "エージェント用の鍵(role agent)を登録し、エージェントに記録させてください。"))
    if person.tier != "vendor":
        _check_subcontract(st, e, person, out)
    if e.type in RESPONSIBLE_ONLY and person.role != "responsible":
        out.add("C9", ERROR, _fmt(("Only the responsible person may record {type}; {actor} is {role}",
                                    "{type} は作業責任者のみが記録できます({actor} は{role_ja})"),
                                   type=e.type, actor=actor, role=person.role, role_ja=ROLE_JA.get(person.role, "")),
                todo=("Ask the responsible person (作業責任者) to record it.", "作業責任者に記録を依頼してください。"))


def _check_subcontract(st: LedgerState, e: EventLike, person: Person, out: _Out) -> None:
    sc = st.subcontracts.get(person.subcontract_id or "")
    when = _ms(e.at)
    ok = sc is not None and sc.tier == person.tier and when is not None and sc.from_ms <= when <= sc.until_ms
    if ok:
        return
    out.add("C9", ERROR,
            _fmt(("{actor} works for a {tier} ({org}) with no subcontract approval valid at {at}",
                  "{actor} は{tier_ja}({org})の作業者ですが、{at} 時点で有効な再委託の承諾がありません"),
                 actor=e.actor, tier=person.tier, tier_ja=TIER_JA.get(person.tier, person.tier),
                 org=person.organisation, at=e.at),
            missing=("the municipality's subcontract approval (special terms 第8-2), valid now",
                     "現在有効な委託者の再委託承諾(特記事項第8-2)"),
            todo=("Record the municipality's subcontract approval (custody subcontract record) before a "
                  "subcontractor acts; re-subcontracting needs its own approval.",
                  "再委託先が作業する前に委託者の承諾を記録してください(custody subcontract record)。"
                  "再々委託にはそれ自体の承諾が必要です。"))


def _subcontract_ref_ok(st: LedgerState, tier: str, ref: str, at: str) -> Subcontract | None:
    sc = st.subcontracts.get(ref)
    when = _ms(at)
    if sc is None or sc.tier != tier or when is None or not sc.from_ms <= when <= sc.until_ms:
        return None
    return sc


def _need_subcontract(out: _Out, tier: str, ref: str) -> None:
    out.add("C9", ERROR,
            _fmt(("A {tier} person needs a valid subcontract approval of that tier (given: {ref})",
                  "{tier_ja}の作業者には、その階層の有効な再委託承諾が必要です(指定: {ref})"),
                 tier=tier, tier_ja=TIER_JA.get(tier, tier), ref=ref or "-"),
            missing=("the id of a recorded subcontract approval (subcontract_id)", "記録済みの再委託承諾の番号(subcontract_id)"),
            todo=("Record the municipality's subcontract approval first (custody subcontract record), "
                  "then register the person with its id.",
                  "先に委託者の再委託承諾を記録し(custody subcontract record)、その番号を付けて登録してください。"))


def _h_registered(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    key_name = _s(body, "vkey").split("+", 1)[0]
    existing = st.people.get(key_name)
    if not key_name:
        out.add("C9", ERROR, ("The registration has no valid vkey", "登録に有効な vkey がありません"),
                todo=("Register the person with their vkey.", "作業者の vkey を付けて登録してください。"))
        return
    if existing is not None and existing.removed_seq is None:
        out.add("C9", ERROR, _fmt(("{name} is already registered (seq {seq})", "{name} は既に登録されています(seq {seq})"),
                                   name=key_name, seq=existing.registered_seq),
                todo=("Use custody person change, or choose another key name.",
                      "custody person change を使うか、別の鍵名を使ってください。"))
        return
    tier = _s(body, "tier") or "vendor"
    role = _s(body, "role") or "operator"
    ref = _s(body, "subcontract_id")
    if tier != "vendor":
        if not st.permits.get("subcontracting"):
            out.add("C9", ERROR, ("The contract does not allow subcontracting", "契約は再委託を認めていません"),
                    todo=("Only vendor staff may be registered.", "受託者の従業員のみ登録できます。"))
        elif _subcontract_ref_ok(st, tier, ref, e.at) is None:
            _need_subcontract(out, tier, ref)
    else:
        vendor = _s(_d(st.genesis or {}, "vendor"), "name")
        org = _s(body, "organisation")
        if vendor and org and _norm_org(org) != _norm_org(vendor):
            out.add("C9", WARNING,
                    _fmt(("{name} belongs to {org}, not the vendor {vendor}, but is registered as vendor staff",
                          "{name} の所属は {org} で受託者 {vendor} ではありませんが、受託者として登録されています"),
                         name=key_name, org=org, vendor=vendor),
                    todo=("If the person works for another company, register them as a subcontractor with the "
                          "municipality's approval.",
                          "他社の従業員であれば、委託者の承諾を得て再委託先として登録してください。"),
                    blocking=False)
    if role == "responsible":
        out.add("C9", WARNING, ("A new responsible person needs the municipality's prior approval (第6-3)",
                                "作業責任者の変更には委託者の事前承認が必要です(特記事項第6-3)"),
                todo=("Keep the municipality's approval with the registration.", "委託者の承認を登録に添えてください。"),
                blocking=False)
    if commit:
        st.people[key_name] = Person(key_name, _s(body, "name"), _s(body, "organisation"), tier, role, e.seq,
                                     None, ref or None)


def _norm_org(name: str) -> str:
    for token in ("株式会社", "(株)", "（株）", "有限会社", "合同会社", "co.,ltd.", "co., ltd.", "inc.", "ltd."):
        name = name.replace(token, "")
    return "".join(name.split()).casefold()


def _h_changed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    key_name = _s(e.body, "key_name")
    person = st.people.get(key_name)
    changes = _d(e.body, "changes")
    if person is None or person.removed_seq is not None:
        _unknown_person(out, key_name)
        return
    tier = _s(changes, "tier") or person.tier
    ref = _s(changes, "subcontract_id") or person.subcontract_id or ""
    if tier != "vendor" and _subcontract_ref_ok(st, tier, ref, e.at) is None:
        _need_subcontract(out, tier, ref)
    if _s(changes, "role") == "responsible" and not _s(e.body, "approval_reference"):
        out.add("C9", WARNING, ("A change of responsible person needs the municipality's prior approval (第6-3)",
                                "作業責任者の変更には委託者の事前承認が必要です(特記事項第6-3)"),
                missing=("approval_reference", "承認番号(approval_reference)"),
                todo=("Record the number of the municipality's approval.", "委託者の承認番号を記録してください。"),
                blocking=False)
    if commit:
        for name in ("name", "organisation", "tier", "role"):
            if _s(changes, name):
                setattr(person, name, _s(changes, name))
        if _s(changes, "subcontract_id"):
            person.subcontract_id = _s(changes, "subcontract_id")


def _unknown_person(out: _Out, key_name: str) -> None:
    out.add("C9", ERROR, _fmt(("{name} is not a registered, active person", "{name} は登録中の作業者ではありません"),
                               name=key_name or "-"),
            todo=("Check the key name (custody status).", "鍵名を確認してください(custody status)。"))


def _h_removed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    key_name = _s(e.body, "key_name")
    person = st.people.get(key_name)
    if person is None or person.removed_seq is not None:
        _unknown_person(out, key_name)
        return
    if commit:
        person.removed_seq = e.seq


def _h_key(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    key_name = _s(e.body, "key_name")
    person = st.people.get(key_name)
    if person is None:
        _unknown_person(out, key_name)
        return
    actor = st.people.get(e.actor)
    if e.actor != key_name and (actor is None or actor.role != "responsible"):
        out.add("C9", ERROR, _fmt(("Only {name} or the responsible person may change {name}'s keys",
                                    "{name} の鍵を変更できるのは本人か作業責任者のみです"), name=key_name),
                todo=("Ask the responsible person.", "作業責任者に依頼してください。"))


def _h_subcontract(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    if not st.permits.get("subcontracting"):
        out.add("C9", ERROR, ("The contract does not allow subcontracting", "契約は再委託を認めていません"),
                todo=("Subcontracting needs a contract that permits it.", "再委託には契約上の許可が必要です。"))
    approval = _approval(st, e, "subcontract", out)
    if approval is None:
        return
    body = approval.body
    if body.id in st.approvals:
        _duplicate_approval(out, body.id, "C9")
        return
    sub = body.subcontractor
    assert sub is not None
    if sub.tier == "sub-subcontractor" and not any(
        s.name == sub.parent and s.tier == "subcontractor" for s in st.subcontracts.values()
    ):
        out.add("C9", WARNING, _fmt(("{name} is a sub-subcontractor of {parent}, whose own approval is not recorded",
                                      "{name} は {parent} の再々委託先ですが、{parent} の承諾が記録されていません"),
                                     name=sub.name, parent=sub.parent or "-"),
                todo=("Record the subcontractor's approval too.", "再委託先の承諾も記録してください。"), blocking=False)
    if commit:
        st.subcontracts[body.id] = Subcontract(
            body.id, e.seq, sub.name, sub.tier, sub.parent, body.valid_from, body.valid_until,
            body.valid_from_ms, body.valid_until_ms,
        )
        _use_approval(st, approval, e.seq)


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
    """The entry's embedded approval note, opened (violations added when it is not valid)."""
    note = e.body.get("approval")
    code = {"takeout": "C2", "copy": "C5", "dispose": "C7", "subcontract": "C9"}[kind]
    if not isinstance(note, str) or not note:
        out.add(code, ERROR, _fmt(("No {kind} approval is attached", "{kind} の承認書が添付されていません"), kind=kind),
                missing=_fmt(("the municipality's signed {kind} approval", "委託者が署名した {kind} の承認書"), kind=kind),
                todo=_fmt(("Apply for it (custody {kind} request) and attach the approval you receive.",
                           "申請し(custody {kind} request)、受け取った承認書を添付してください。"),
                          kind="dispose" if kind == "dispose" else kind))
        return None
    key = (note, kind)
    cached = st._approval_cache.get(key)
    if cached is None:
        try:
            cached = open_approval(note.encode("utf-8"), origin=st.origin, approver_vkeys=_verifiers(st), kind=kind)
        except ApprovalProblem as exc:
            cached = exc
        except UnicodeEncodeError:
            cached = ApprovalProblem([violation(code, ERROR, ("The approval is not valid UTF-8", "承認書が UTF-8 ではありません"))])
        if len(st._approval_cache) > 256:
            st._approval_cache.clear()
        st._approval_cache[key] = cached
    if isinstance(cached, ApprovalProblem):
        out.extend(cached.violations)
        return None
    known = st.approvals.get(cached.id)
    if known is not None and known.digest != cached.digest:
        out.add(code, ERROR, _fmt(("Another approval with the same number {id} was used before (seq {seq})",
                                    "同じ番号 {id} の別の承認書が既に使われています(seq {seq})"),
                                   id=cached.id, seq=known.first_seq),
                todo=("Ask the municipality which approval is valid.", "どちらが有効な承認か委託者に確認してください。"))
        return None
    return cached


def _duplicate_approval(out: _Out, approval_id: str, code: str) -> None:
    out.add(code, ERROR, _fmt(("Approval {id} is already recorded", "承認 {id} は既に記録されています"), id=approval_id),
            todo=("Each approval is recorded once.", "承認は一度だけ記録します。"))


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


def _add_cover(st: LedgerState, media_id: str, body: ApprovalBody) -> None:
    st.write_cover.setdefault(media_id, []).append(
        [body.valid_from_ms, body.valid_until_ms, body.approved_at_ms, body.id]
    )
    pending = st.pending_writes.get(media_id)
    if pending:
        left = [p for p in pending if not (body.approved_at_ms <= p[1] and body.valid_from_ms <= p[1] <= body.valid_until_ms)]
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


def _move_ok(st: LedgerState, out: _Out, row: Transition, media_id: str, *, severity: str = ERROR,
             blocking_: bool = True) -> bool:
    """Whether ``row`` may apply to ``media_id``; adds the violation when not."""
    m = st.media.get(media_id)
    state = ABSENT if m is None else m.state
    code = blocking_code(row, state)
    if code is None:
        return True
    event_ja = EVENT_JA.get(row.event, row.event)
    if code == "C12":
        assert m is not None
        out.add("C12", severity,
                _fmt(("Medium {m} was {state} (seq {seq}); it is acted on again ({event})",
                      "媒体 {m} は{state_ja}(seq {seq})ですが、再び扱われています({event_ja})"),
                     m=media_id, state=state, state_ja=STATE_JA[state], seq=m.final_seq, event=row.event,
                     event_ja=event_ja),
                media=media_id,
                missing=("a medium that is still in the register", "台帳上で管理中の媒体"),
                todo=("A disposed or returned medium must not reappear: report an incident (custody incident).",
                      "廃棄済み・返還済みの媒体が再び現れることはあり得ません。事故として報告してください(custody incident)。"),
                blocking=blocking_)
    elif code == "C14":
        out.add("C14", severity,
                _fmt(("Medium {m} is reported lost; it cannot be {event}",
                      "媒体 {m} は紛失として報告されているため、{event_ja}できません"),
                     m=media_id, event=row.event, event_ja=event_ja),
                media=media_id,
                todo=("If it was found, record that first (custody incident --kind found).",
                      "発見された場合は、先にその旨を記録してください(custody incident --kind found)。"),
                blocking=blocking_)
    elif state == ABSENT:
        out.add("C15", severity,
                _fmt(("Medium {m} is not in the media register", "媒体 {m} は媒体管理台帳に登録されていません"),
                     m=media_id),
                media=media_id,
                missing=_fmt(("a media.received or media.registered entry for {m}", "{m} の受領または登録の記録"), m=media_id),
                todo=("Check the media id, or record the medium first (custody media receive|register).",
                      "媒体番号を確認するか、先に媒体を記録してください(custody media receive|register)。"),
                blocking=blocking_)
    elif ABSENT in row.allowed:
        out.add(code, severity,
                _fmt(("Media id {m} is already in the register (state {state})",
                      "媒体番号 {m} は既に台帳にあります(状態: {state_ja})"), m=media_id, state=state,
                     state_ja=STATE_JA[state]),
                media=media_id,
                todo=("Every medium, and every copy, gets a new media id.", "媒体・複製ごとに新しい媒体番号を付けてください。"),
                blocking=blocking_)
    else:
        allowed = sorted(row.allowed)
        out.add(code, severity,
                _fmt(("{event} is not possible for medium {m} in state {state} (possible from: {allowed})",
                      "媒体 {m} は「{state_ja}」のため{event_ja}できません(可能な状態: {allowed_ja})"),
                     event=row.event, event_ja=event_ja, m=media_id, state=state, state_ja=STATE_JA[state],
                     allowed=", ".join(allowed), allowed_ja="、".join(STATE_JA[s] for s in allowed)),
                media=media_id,
                todo=("Record the missing step first (e.g. check the medium out before taking it out).",
                      "抜けている手順を先に記録してください(例: 持ち出し前の出庫)。"),
                blocking=blocking_)
    return False


def _serial_ok(st: LedgerState, out: _Out, serial: str, media_id: str) -> bool:
    other_id = st._serials.get(serial) if serial else None
    if other_id is None or other_id == media_id:
        return True
    other = st.media[other_id]
    if other.state in GONE:
        out.add("C12", ERROR,
                _fmt(("Serial {serial} belongs to medium {other}, which was {state} (seq {seq})",
                      "製造番号 {serial} は{state_ja}の媒体 {other} のものです(seq {seq})"),
                     serial=serial, other=other_id, state=other.state, state_ja=STATE_JA[other.state],
                     seq=other.final_seq),
                media=media_id,
                todo=("A disposed or returned medium must not reappear: report an incident (custody incident).",
                      "廃棄済み・返還済みの媒体が再び現れることはあり得ません。事故として報告してください。"))
        return False
    if other.state == LOST:
        out.add("C14", ERROR,
                _fmt(("Serial {serial} belongs to medium {other}, reported lost", "製造番号 {serial} は紛失報告された媒体 {other} のものです"),
                     serial=serial, other=other_id),
                media=media_id,
                todo=("Record that it was found (custody incident --kind found).", "発見の記録をしてください。"))
        return False
    if other.state != ERASED:
        out.add("C15", ERROR,
                _fmt(("Serial {serial} is already registered as medium {other}", "製造番号 {serial} は既に媒体 {other} として登録されています"),
                     serial=serial, other=other_id),
                media=media_id, todo=("Check the serial number.", "製造番号を確認してください。"))
        return False
    return True


def _new_medium(st: LedgerState, e: EventLike, origin: str, media_id: str, *, my_number: bool,
                source: str | None = None, approval_id: str | None = None, state: str = IN_STORAGE) -> Medium:
    record = {k: v for k, v in e.body.items() if k not in ("approval",)}
    m = Medium(
        id=media_id, origin=origin, kind=_s(e.body, "kind") or "other", serial=_s(e.body, "serial"),
        my_number=my_number, record=record, state=state, since_seq=e.seq, history=[e.seq], source=source,
        approval_id=approval_id,
    )
    st.media[media_id] = m
    _index(st, m)
    return m


def _contents_my_number(body: dict[str, Any]) -> bool:
    contents = _d(body, "contents")
    if contents.get("my_number") is True:
        return True
    items = contents.get("items")
    return isinstance(items, list) and any(isinstance(i, dict) and i.get("my_number") is True for i in items)


def _h_received(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    row = transition(e.type, "medium")
    ok = _move_ok(st, out, row, media_id)
    if ok:
        _serial_ok(st, out, _s(e.body, "serial"), media_id)
    if not ok or not commit:
        return
    received = e.type == "media.received"
    _new_medium(st, e, RECEIVED if received else REGISTERED, media_id, my_number=_contents_my_number(e.body))
    if received:
        receipt = _d(e.body, "receipt")
        number = _s(receipt, "number")
        if number:
            items = [i for i in receipt.get("items", []) if isinstance(i, dict)] if isinstance(
                receipt.get("items"), list) else []
            declared = sum(i["quantity"] for i in items if isinstance(i.get("quantity"), int))
            records: dict[str, int] = {}
            for i in items:
                if isinstance(i.get("name"), str) and isinstance(i.get("records"), int):
                    records[i["name"]] = records.get(i["name"], 0) + i["records"]
            entry = st.receipts.setdefault(number, {"declared": 0, "records": {}, "media": [], "seq": e.seq})
            if declared >= entry["declared"]:
                entry["declared"], entry["records"] = declared, records
            entry["media"].append(media_id)


def _touch(m: Medium, seq: int, state: str | None) -> None:
    if state is not None:
        m.state = state
    m.history.append(seq)


def _check_person_ref(st: LedgerState, e: EventLike, out: _Out, ref: Any, what: Text) -> None:
    if not isinstance(ref, str) or not ref:
        return
    person = st.people.get(ref)
    if person is None or not person.active_at(e.seq):
        out.add("C9", ERROR, _fmt(("{what} {name} is not registered personnel", "{what_ja} {name} は登録された作業者ではありません"),
                                   what=what[0], what_ja=what[1], name=ref),
                todo=("Register the person first (custody person add).", "先に作業者を登録してください(custody person add)。"))


def _h_checked_out(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    _check_person_ref(st, e, out, e.body.get("person"), ("The person", "担当者"))
    if _move_ok(st, out, transition(e.type, "medium"), media_id) and commit:
        _touch(st.media[media_id], e.seq, CHECKED_OUT)


def _h_checked_in(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    _check_person_ref(st, e, out, e.body.get("person"), ("The person", "担当者"))
    ok = _move_ok(st, out, transition(e.type, "medium"), media_id)
    if ok and e.body.get("seals_intact") is False:
        out.add("C14", WARNING, _fmt(("The seal of medium {m} was not intact at check-in", "媒体 {m} の入庫時に封印が破損していました"),
                                      m=media_id),
                media=media_id,
                todo=("If data may have been accessed, report an incident (custody incident).",
                      "データに触れられた可能性があれば事故として報告してください(custody incident)。"),
                blocking=False)
    if ok and commit:
        _touch(st.media[media_id], e.seq, IN_STORAGE)


def _carriers_registered(st: LedgerState, e: EventLike, out: _Out, carriers: Sequence[str]) -> None:
    for carrier in carriers:
        person = st.people.get(carrier) or st.person_by_name(carrier)
        if person is None or not person.active_at(e.seq):
            out.add("C9", ERROR, _fmt(("Carrier {name} is not registered personnel", "運搬者 {name} は登録された作業者ではありません"),
                                       name=carrier),
                    todo=("Only registered personnel named in the approval may carry media.",
                          "承認に記載された登録済みの作業者のみが運搬できます。"))
        elif person.tier != "vendor":
            _check_subcontract(st, Event(e.seq, e.type, e.at, person.key_name, {}), person, out)


def _h_departed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    media_ids = _ids(body, "media_ids")
    row = transition(e.type, "media")
    if not st.permits.get("takeout"):
        out.add("C2", ERROR, ("The contract does not allow taking data out", "契約は持ち出しを認めていません"),
                todo=("Data stays at the work location.", "データは作業場所から持ち出せません。"))
    if not media_ids:
        out.add("C2", ERROR, ("The takeout names no media", "持ち出す媒体が記載されていません"))
    moves = [_move_ok(st, out, row, m) for m in media_ids]
    carriers = _ids(body, "carriers")
    _carriers_registered(st, e, out, carriers)
    approval = _approval(st, e, "takeout", out)
    encryption = _d(body, "encryption")
    if approval is not None:
        needed = any(st.media[m].kind != "paper" for m in media_ids if m in st.media)
        out.extend(coverage_problems(
            approval, kind="takeout", media_ids=media_ids, at=e.at, uses_so_far=_uses(st, approval.id),
            transport=_s(body, "transport"), carriers=carriers, encryption=encryption, encryption_needed=needed,
        ))
    elif encryption.get("method") not in ("software", "hardware") and any(
        st.media[m].kind != "paper" for m in media_ids if m in st.media
    ):
        out.add("C3", ERROR, ("The media would be taken out without encryption", "暗号化されないまま持ち出そうとしています"),
                todo=("Encrypt the data and record the method and algorithm.", "データを暗号化し、方式とアルゴリズムを記録してください。"))
    if not commit:
        return
    deadlines = [d for d in (
        approval.body.deadline if approval is not None else None, _s(body, "planned_return") or None,
    ) if d and _ms(d) is not None]
    deadline = min(deadlines, key=lambda d: _ms(d) or 0) if deadlines else None
    moved = [m for m, ok in zip(media_ids, moves, strict=True) if ok]
    st.takeouts[e.seq] = Takeout(e.seq, approval.id if approval else None, list(media_ids), moved, deadline,
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


def _takeout_for(st: LedgerState, e: EventLike, out: _Out) -> tuple[Takeout | None, list[str]]:
    seq = e.body.get("takeout_seq")
    media_ids = _ids(e.body, "media_ids")
    takeout = st.takeouts.get(seq) if isinstance(seq, int) and not isinstance(seq, bool) else None
    if takeout is None:
        out.add("C4", ERROR, _fmt(("There is no takeout departing at seq {seq}", "seq {seq} で出発した持ち出しはありません"),
                                   seq=seq if isinstance(seq, int) else "-"),
                media=media_ids[0] if media_ids else None,
                todo=("Give the seq of the takeout.departed entry (custody status).",
                      "持ち出し記録の seq を指定してください(custody status)。"))
        return None, []
    ok = []
    for media_id in media_ids:
        state = st.state_of(media_id)
        if state in GONE or state == LOST or state == ABSENT:
            _move_ok(st, out, transition(e.type, "media"), media_id)
        elif media_id not in takeout.open:
            out.add("C4", ERROR, _fmt(("Medium {m} is not out on the takeout of seq {seq}",
                                        "媒体 {m} は seq {seq} の持ち出しで持ち出し中ではありません"), m=media_id, seq=takeout.seq),
                    media=media_id, todo=("Check the media ids of the takeout.", "持ち出しの媒体番号を確認してください。"))
        elif _move_ok(st, out, transition(e.type, "media"), media_id):
            ok.append(media_id)
    return takeout, ok


def _late(out: _Out, e: EventLike, deadline: str | None, deadline_ms: int | None, media: str | None, code: str,
          what: Text) -> None:
    when = _ms(e.at)
    if deadline_ms is not None and when is not None and when > deadline_ms:
        out.add(code, ERROR, _fmt(("{what} after its deadline {deadline}", "{what_ja}が期限 {deadline} を過ぎています"),
                                   what=what[0], what_ja=what[1], deadline=deadline),
                media=media,
                todo=("Recorded as it happened; the municipality will see the delay.", "事実として記録されます。遅延は委託者に報告されます。"),
                blocking=False)


def _close_takeout(st: LedgerState, takeout: Takeout, media_id: str, seq: int) -> None:
    if media_id in takeout.open:
        takeout.open.remove(media_id)
        takeout.closed[media_id] = seq
    m = st.media.get(media_id)
    if m is not None and m.takeout_seq == takeout.seq:
        m.takeout_seq = None


def _h_returned_takeout(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    takeout, ok = _takeout_for(st, e, out)
    if takeout is None:
        return
    _late(out, e, takeout.deadline, takeout.deadline_ms, ok[0] if ok else None, "C4",
          ("Takeout returned", "持ち出しの返却"))
    check_ = _d(e.body, "check")
    if check_.get("count_match") is False or check_.get("seals_intact") is False:
        out.add("C4", WARNING, ("The return check failed (count or seals)", "返却時の確認(数量または封印)で不一致がありました"),
                media=ok[0] if ok else None,
                todo=("If data may have been lost or seen, report an incident (custody incident).",
                      "データの紛失・漏えいの可能性があれば事故として報告してください(custody incident)。"),
                blocking=False)
    if commit:
        for media_id in ok:
            _close_takeout(st, takeout, media_id, e.seq)
            _touch(st.media[media_id], e.seq, IN_STORAGE)


def _verified(body: dict[str, Any]) -> bool:
    return _d(body, "verification").get("result") == "pass"


def _h_erased_dest(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    takeout, ok = _takeout_for(st, e, out)
    if takeout is None:
        return
    if not _verified(e.body):
        out.add("C4", ERROR, ("The erasure at the destination was not verified as successful",
                              "持ち出し先での消去が成功と確認されていません"),
                media=ok[0] if ok else None,
                todo=("Erase again and verify; record only a verified erasure.", "再度消去して確認し、確認できた消去のみ記録してください。"))
        return
    _late(out, e, takeout.deadline, takeout.deadline_ms, ok[0] if ok else None, "C4",
          ("Data erased at the destination", "持ち出し先での消去"))
    if commit:
        for media_id in ok:
            _close_takeout(st, takeout, media_id, e.seq)
            m = st.media[media_id]
            _touch(m, e.seq, ERASED)
            m.erased_seq = e.seq


def _h_copy(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    source_id = _s(body, "source_media_id")
    target_id = _s(body, "media_id")
    if not st.permits.get("copy"):
        out.add("C5", ERROR, ("The contract does not allow copies", "契約は複製を認めていません"),
                todo=("Copies are not allowed in this contract.", "この契約では複製できません。"))
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
    my_number = _contents_my_number(body) or (source is not None and source.my_number)
    _new_medium(st, e, COPY, target_id, my_number=my_number, source=source_id,
                approval_id=approval.id if approval else None, state=CHECKED_OUT)
    if source_ok and source is not None:
        _touch(source, e.seq, None)
    if approval is not None:
        _use_approval(st, approval, e.seq)
        _add_cover(st, target_id, approval.body)


def _pending_disposal(st: LedgerState, m: Medium) -> Disposal | None:
    if m.disposal_id is None:
        return None
    d = st.disposals.get(m.disposal_id)
    return d if d is not None and d.media.get(m.id) == "pending" else None


def _h_erased(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    media_id = _s(body, "media_id")
    if not _move_ok(st, out, transition(e.type, "medium"), media_id):
        return
    m = st.media[media_id]
    category = _s(_d(body, "method"), "category")
    if not _verified(body):
        out.add("C7", ERROR, _fmt(("The erasure of {m} was not verified as successful", "媒体 {m} の消去が成功と確認されていません"),
                                   m=media_id),
                media=media_id, todo=("Erase again and verify; record only a verified erasure.",
                                      "再度消去して確認し、確認できた消去のみ記録してください。"))
        return
    disposal = _pending_disposal(st, m)
    copy_plan = False
    if m.origin == COPY and m.approval_id:
        plan = st.approval_body(m.approval_id)
        copy_plan = plan is not None and plan.disposal is not None and plan.disposal.method == "erase"
    if m.my_number and disposal is None and not copy_plan:
        out.add("C7", ERROR,
                _fmt(("Erasing My Number data from {m} needs the municipality's prior approval (第11-2)",
                      "媒体 {m} の特定個人情報の消去には委託者の事前承諾が必要です(特記事項第11-2)"), m=media_id),
                media=media_id, missing=("a disposal approval covering this medium", "この媒体を対象とする消去・廃棄の承諾"),
                todo=("Apply (custody dispose request), record the approval (custody dispose approved), then erase.",
                      "申請し(custody dispose request)、承諾を記録して(custody dispose approved)から消去してください。"))
    if not commit:
        return
    _touch(m, e.seq, ERASED)
    m.erased_seq = e.seq
    if disposal is not None and disposal.category == category:
        disposal.media[media_id] = "done"
        m.disposal_id = None


def _h_disposal_approved(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    approval = _approval(st, e, "dispose", out)
    if approval is None:
        return
    body = approval.body
    if body.id in st.approvals:
        _duplicate_approval(out, body.id, "C7")
        return
    application = body.application
    assert application is not None
    row = transition(e.type, "media")
    ok = []
    for media_id in body.media:
        if not _move_ok(st, out, row, media_id):
            continue
        m = st.media[media_id]
        serial = application.serial_of(media_id)
        if m.serial and serial != m.serial:
            out.add("C7", ERROR, _fmt(("Approval {id} names serial {serial} for {m}; the register has {registered}",
                                        "承認 {id} では {m} の製造番号は {serial} ですが、台帳では {registered} です"),
                                       id=body.id, serial=serial, m=media_id, registered=m.serial),
                    media=media_id, todo=("Ask the municipality to correct the approval; disposal is per serial.",
                                          "承認の訂正を委託者に依頼してください。廃棄は製造番号ごとです。"))
            continue
        if _pending_disposal(st, m) is not None:
            out.add("C7", ERROR, _fmt(("Medium {m} already has a disposal approval ({other})", "媒体 {m} には既に廃棄承認({other})があります"),
                                       m=media_id, other=m.disposal_id),
                    media=media_id)
            continue
        ok.append(media_id)
    if not commit:
        return
    deadline = body.deadline
    st.disposals[body.id] = Disposal(
        body.id, e.seq, application.category, application.technique, application.witness_required,
        body.valid_from_ms, deadline, _ms(deadline) or body.valid_until_ms, dict.fromkeys(ok, "pending"),
    )
    _use_approval(st, approval, e.seq)
    for media_id in ok:
        m = st.media[media_id]
        _touch(m, e.seq, DISPOSAL_APPROVED)
        m.disposal_id = body.id


def _h_disposed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    media_id = _s(body, "media_id")
    row = transition(e.type, "medium")
    m = st.media.get(media_id)
    disposal = _pending_disposal(st, m) if m is not None else None
    if m is not None and m.state not in FINAL and m.state != TAKEN_OUT and disposal is None:
        out.add("C7", ERROR, _fmt(("Medium {m} has no disposal approval to carry out", "媒体 {m} には実施すべき廃棄承認がありません"),
                                   m=media_id),
                media=media_id, missing=("the municipality's disposal approval (第11-2)", "委託者の廃棄承諾(特記事項第11-2)"),
                todo=("Apply (custody dispose request) and record the approval (custody dispose approved) first.",
                      "先に申請し(custody dispose request)、承諾を記録してください(custody dispose approved)。"))
        return
    if not _move_ok(st, out, row, media_id):
        return
    assert m is not None and disposal is not None
    method = _d(body, "method")
    category, technique = _s(method, "category"), _s(method, "technique")
    evidence: Text = ("Complete the disposal record before recording it.", "廃棄記録を揃えてから記録してください。")
    if _s(body, "approval_id") != disposal.id:
        out.add("C7", ERROR, _fmt(("The disposal cites approval {given}; medium {m} was approved under {id}",
                                    "廃棄記録の承認番号は {given} ですが、媒体 {m} の承認は {id} です"),
                                   given=_s(body, "approval_id") or "-", m=media_id, id=disposal.id),
                media=media_id, todo=("Cite the approval recorded for this medium.", "この媒体の承認番号を記載してください。"))
    if category != disposal.category or (
        disposal.technique and " ".join(technique.split()).casefold() != " ".join(disposal.technique.split()).casefold()
    ):
        out.add("C7", ERROR, _fmt(("Disposed by {category}/{technique}; approval {id} allows {approved}/{approved_t}",
                                    "廃棄方法 {category}/{technique} は承認 {id} の方法 {approved}/{approved_t} と異なります"),
                                   category=category or "-", technique=technique or "-", id=disposal.id,
                                   approved=disposal.category, approved_t=disposal.technique or "-"),
                media=media_id, missing=("disposal by the approved method", "承認された方法による廃棄"),
                todo=("Dispose by the approved method, or ask for a new approval.", "承認された方法で廃棄するか、新たな承認を申請してください。"))
    if m.my_number and category != "destroy":
        out.add("C7", ERROR, _fmt(("My Number data on {m} must be destroyed physically (第11-4), not {category}",
                                    "媒体 {m} の特定個人情報は物理的に破壊しなければなりません(特記事項第11-4)"),
                                   m=media_id, category=category or "-"),
                media=media_id, missing=("NIST SP 800-88 category destroy", "NIST SP 800-88 の destroy(物理的破壊)"),
                todo=("Destroy the medium physically.", "媒体を物理的に破壊してください。"))
    if _s(body, "serial") != m.serial:
        out.add("C7", ERROR, _fmt(("The disposal record names serial {given}; medium {m} has serial {serial}",
                                    "廃棄記録の製造番号 {given} は媒体 {m} の製造番号 {serial} と異なります"),
                                   given=_s(body, "serial") or "-", m=media_id, serial=m.serial),
                media=media_id, todo=("One record per serial: check the medium.", "製造番号ごとに記録します。媒体を確認してください。"))
    witness = _d(body, "witness")
    if not _s(witness, "name"):
        if disposal.witness_required:
            out.add("C7", ERROR, _fmt(("Approval {id} requires a witness (立会者), and none is recorded",
                                        "承認 {id} は立会者を求めていますが、記録されていません"), id=disposal.id),
                    media=media_id, missing=("the witness: name, organisation, title", "立会者(氏名・所属・役職)"),
                    todo=("Dispose in the presence of the witness and record them.", "立会者の立会いのもとで廃棄し、記録してください。"))
        elif st.my_number and _s(body, "no_witness_reason"):
            out.add("C7", WARNING, _fmt(("My Number data on {m} was disposed without a witness (reason recorded)",
                                          "媒体 {m} の特定個人情報が立会者なしで廃棄されました(理由は記録済み)"), m=media_id),
                    media=media_id, blocking=False)
        elif st.my_number:
            out.add("C7", ERROR, _fmt(("Disposal of My Number data ({m}) needs a witness or the reason there was none",
                                        "特定個人情報({m})の廃棄には立会者、またはいなかった理由が必要です"), m=media_id),
                    media=media_id, missing=("witness or no_witness_reason", "立会者または立会者なしの理由"), todo=evidence)
    photos = body.get("photos")
    if not (isinstance(photos, list) and any(isinstance(p, dict) and p.get("serial_visible") is True for p in photos)):
        out.add("C7", ERROR, _fmt(("No photo shows the serial of {m}", "媒体 {m} の製造番号が写った写真がありません"), m=media_id),
                media=media_id, missing=("a photo with the serial visible", "製造番号が読める写真"), todo=evidence)
    if not _s(_d(body, "certificate"), "attachment") and not _s(body, "no_certificate_reason"):
        out.add("C7", ERROR, _fmt(("No certificate (or reason for none) for the disposal of {m}",
                                    "媒体 {m} の廃棄証明書(またはない理由)がありません"), m=media_id),
                media=media_id, missing=("the certificate attachment, or no_certificate_reason", "証明書の添付、またはない理由"),
                todo=evidence)
    if not _verified(body):
        out.add("C7", ERROR, _fmt(("The disposal of {m} was not verified as successful", "媒体 {m} の廃棄が成功と確認されていません"),
                                   m=media_id), media=media_id, todo=evidence)
    when = _ms(e.at)
    if when is not None and when < disposal.valid_from_ms:
        out.add("C7", ERROR, _fmt(("Disposal approval {id} is not valid yet", "廃棄承認 {id} はまだ有効ではありません"), id=disposal.id),
                media=media_id, todo=("Wait for the approved period.", "承認された期間まで待ってください。"))
    _late(out, e, disposal.deadline, disposal.deadline_ms, media_id, "C8", ("Disposal record", "廃棄記録"))
    if commit:
        _touch(m, e.seq, DISPOSED)
        m.final_seq = e.seq
        m.disposal_id = None
        disposal.media[media_id] = "done"


def _h_returned(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    media_id = _s(e.body, "media_id")
    if not _move_ok(st, out, transition(e.type, "medium"), media_id) or not commit:
        return
    m = st.media[media_id]
    if m.takeout_seq is not None and m.takeout_seq in st.takeouts:
        _close_takeout(st, st.takeouts[m.takeout_seq], media_id, e.seq)
    disposal = _pending_disposal(st, m)
    if disposal is not None:
        disposal.media[media_id] = "returned"
        m.disposal_id = None
    _touch(m, e.seq, RETURNED)
    m.final_seq = e.seq


def _h_incident(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    kind = _s(body, "kind") or "other"
    media_ids = _ids(body, "media_ids")
    first = media_ids[0] if media_ids else None
    severity = {"lost": ERROR, "stolen": ERROR, "leak": ERROR, "found": INFO}.get(kind, WARNING)
    notified = bool(_s(body, "notified_at"))
    out.add("C14", severity,
            _fmt(("Incident ({kind}): {situation}", "事故報告({kind}): {situation}"),
                 kind=kind, situation=_s(body, "situation")[:200] or "-"),
            media=first,
            missing=NO_TEXT if notified or kind == "found" else
            ("the time the municipality was notified", "委託者への報告日時"),
            todo=NO_TEXT if notified or kind == "found" else
            ("Report to the municipality at once in writing and follow its instructions (第14).",
             "直ちに書面で委託者に報告し、その指示に従ってください(特記事項第14)。"),
            blocking=False)
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
            disposal = _pending_disposal(st, m)
            if disposal is not None:
                disposal.media[media_id] = "lost"
                m.disposal_id = None
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
    if st.closed is not None:
        return  # reported by _after_close
    if commit:
        st.closed = {"seq": e.seq, "at": e.at}


def _after_close(st: LedgerState, e: EventLike, out: _Out) -> None:
    assert st.closed is not None
    closed: Text = _fmt(("The contract was closed at seq {seq}", "契約は seq {seq} で完了しています"), seq=st.closed["seq"])
    if e.type in NOT_AFTER_CLOSE or e.type == "contract.closed":
        out.add("C1", ERROR, _fmt(("{closed}: {type} is no longer possible", "{closed_ja}。{type} はできません"),
                                   closed=closed[0], closed_ja=closed[1], type=e.type),
                todo=("No data may remain or be used after completion.", "完了後はデータを保持・利用できません。"))
    elif e.type in SETTLING_AFTER_CLOSE:
        out.add("C1", WARNING, _fmt(("{closed}, but media were still being settled ({type})",
                                      "{closed_ja}が、その後も媒体の処理が行われています({type})"),
                                     closed=closed[0], closed_ja=closed[1], type=e.type),
                todo=("The completion statement was premature.", "完了報告は時期尚早でした。"), blocking=False)


def _genesis(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    if st.genesis is not None:
        return
    if commit:
        _set_genesis(st, e.body, register=True, seq=e.seq)


# --- the agent ---


def _alive(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """Every agent entry shows its agent alive; a silence longer than the agent's allowed gap is C13.

    The hot path of a long ledger (heartbeats, file batches): one time parse, no allocation.
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
        out.add("C13", WARNING,
                _fmt(("The agent {actor} recorded nothing for {s} s (allowed {a} s) and reported no gap",
                      "エージェント {actor} は {s} 秒間記録がなく(許容 {a} 秒)、中断も報告していません"),
                     actor=e.actor, s=silence // 1000, a=agent.allowed_ms // 1000),
                todo=("Check why the agent was not observing (power, process, clock).",
                      "エージェントが観測していなかった理由を確認してください(電源・プロセス・時計)。"),
                blocking=False)
    if commit:
        if silence > 0:
            agent.last_ms = when
        agent.last_seq = e.seq
        agent.running = True


def _h_agent_started(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)
    if not commit or e.actor not in st.agents:
        return
    agent = st.agents[e.actor]
    config = _d(e.body, "config")
    allowed, interval = config.get("allowed_gap_ms"), config.get("heartbeat_interval_ms")
    if isinstance(allowed, int) and not isinstance(allowed, bool) and allowed > 0:
        agent.allowed_ms = allowed
    elif isinstance(interval, int) and not isinstance(interval, bool) and interval > 0:
        agent.allowed_ms = 2 * interval


def _h_heartbeat(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)


def _h_agent_stopped(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)
    if commit and e.actor in st.agents:
        st.agents[e.actor].running = False


def _h_gap(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    seconds = body.get("gap_seconds")
    out.add("C13", WARNING,
            _fmt(("Observation gap reported by {actor}: not observing since {last} ({s} s)",
                  "{actor} が観測の中断を報告: {last} から観測していません({s} 秒)"),
                 actor=e.actor, last=_s(body, "last_heartbeat") or "-", s=seconds if isinstance(seconds, int) else "-"),
            todo=("Explain the gap (custody note) and check the media handled meanwhile.",
                  "中断の理由を記録し(custody note)、その間に扱われた媒体を確認してください。"),
            blocking=False)
    _alive(st, e, out, commit)


def _volume_medium(st: LedgerState, body: dict[str, Any]) -> Medium | None:
    return st.match_volume(
        media_id=_s(body, "media_id") or None, serial=_s(body, "serial") or None, uuid=_s(body, "uuid") or None,
        label=_s(body, "label") or None,
    )


def _observe(st: LedgerState, media_id: str, what: str, seq: int) -> None:
    counters = st.observed.get(media_id)
    if counters is None:
        counters = st.observed[media_id] = {"attached": 0, "files": 0, "batches": 0, "last_seq": seq}
    counters[what] += 1
    counters["last_seq"] = seq


def _seen_again(out: _Out, m: Medium, what: Text) -> None:
    out.add("C12", ERROR,
            _fmt(("Medium {m}, {state} at seq {seq}, was seen again: {what}",
                  "{state_ja}の媒体 {m}(seq {seq})が再び検出されました: {what_ja}"),
                 m=m.id, state=m.state, state_ja=STATE_JA[m.state], seq=m.final_seq, what=what[0], what_ja=what[1]),
            media=m.id,
            todo=("Secure the medium and report an incident (custody incident).", "媒体を確保し、事故として報告してください(custody incident)。"),
            blocking=False)


def _h_attached(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)
    m = _volume_medium(st, e.body)
    volume = _s(e.body, "label") or _s(e.body, "uuid") or _s(e.body, "serial") or _s(e.body, "volume_id")
    if m is None:
        out.add("C10", ERROR, _fmt(("Unregistered removable medium attached: {volume}", "未登録の外部記録媒体が接続されました: {volume}"),
                                    volume=volume or "-"),
                todo=("Remove it, or register it (custody media register) before use; report an incident if data was written.",
                      "取り外すか、使用前に登録してください(custody media register)。データが書き込まれた場合は事故として報告してください。"),
                blocking=False)
        return
    if m.state in GONE:
        _seen_again(out, m, (f"attached at {_s(e.body, 'mount_point') or '-'}", f"{_s(e.body, 'mount_point') or '-'} に接続"))
    elif m.state == LOST:
        out.add("C14", WARNING, _fmt(("Medium {m}, reported lost, was attached", "紛失報告された媒体 {m} が接続されました"), m=m.id),
                media=m.id, todo=("Record that it was found (custody incident --kind found).", "発見の記録をしてください。"), blocking=False)
    elif m.state == IN_STORAGE:
        out.add("C10", WARNING, _fmt(("Medium {m} was attached while recorded as in locked storage",
                                       "保管庫で保管中のはずの媒体 {m} が接続されました"), m=m.id),
                media=m.id, todo=("Record the checkout (custody media checkout) before use.", "使用前に出庫を記録してください(custody media checkout)。"),
                blocking=False)
    if commit:
        _observe(st, m.id, "attached", e.seq)


def _h_detached(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)


def _h_files(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive(st, e, out, commit)
    body = e.body
    m = _volume_medium(st, body)
    count = body.get("count")
    if m is None:
        out.add("C11", ERROR, _fmt(("{n} file(s) written to an unregistered volume {volume}",
                                     "未登録のボリューム {volume} に {n} 件のファイルが書き込まれました"),
                                    n=count if isinstance(count, int) else "-",
                                    volume=_s(body, "label") or _s(body, "volume_id") or "-"),
                todo=("No approval can cover an unregistered medium: report an incident (custody incident).",
                      "未登録の媒体への書き込みは承認の対象外です。事故として報告してください(custody incident)。"),
                blocking=False)
        return
    if m.state in GONE:
        _seen_again(out, m, ("files written to it", "ファイルの書き込み"))
    when = _ms(body.get("observed_at")) or _ms(e.at)
    if not commit:
        return
    _observe(st, m.id, "batches", e.seq)
    if isinstance(count, int):
        st.observed[m.id]["files"] += count
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


def _h_nothing(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    return


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
    "takeout.returned": _h_returned_takeout,
    "takeout.erased_at_destination": _h_erased_dest,
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
    "agent.heartbeat": _h_heartbeat,
    "agent.stopped": _h_agent_stopped,
    "volume.attached": _h_attached,
    "volume.detached": _h_detached,
    "files.written": _h_files,
    "observation.gap": _h_gap,
    "alert.raised": _h_alert,
}


# --- end of the ledger ---


def finish(state: LedgerState, *, now_or_close: str | None = None) -> list[Violation]:
    """End-of-ledger rules (C1, C4, C6, C8, C11, C13, C15), as of a moment.

    The moment is the close (``contract.closed``) when the ledger is closed,
    else ``now_or_close`` (the CLI's "now", or the verifier's chosen time),
    else the last entry's ``at``.  The rules that need the work to be over
    (C1, C6, C15, and C4/C8 for items not yet due) apply when the contract is
    closed or the moment is after the contract period's last day (read in
    JST).  Each medium gets at most one of C4 (still out on a takeout), C8
    (an approved disposal not carried out), C6 (a copy) and C1 (any other
    medium), in that order.  ``seq`` is None except for C11 (the first
    uncovered write) and C15 receipts (the first entry citing the receipt).
    """
    if state.closed is not None:
        at = str(state.closed["at"])
    else:
        at = now_or_close or state.last_at
    when = _ms(at)
    if when is None:
        return []
    closing = state.closed is not None or (state.period_end_ms is not None and when > state.period_end_ms)
    return _end_rules(state, when, closing=closing, seq=None)


def _end_rules(st: LedgerState, when: int, *, closing: bool, seq: int | None) -> list[Violation]:
    out = _Out(seq)
    blocking_ = seq is not None  # from precheck(contract.closed): what is still open blocks closing
    reported: set[str] = set()
    for takeout in st.takeouts.values():
        overdue = takeout.deadline_ms is not None and when > takeout.deadline_ms
        if not takeout.open or not (overdue or closing):
            continue
        for media_id in takeout.open:
            reported.add(media_id)
            out.add("C4", ERROR,
                    _fmt(("Medium {m} taken out at seq {seq} is not back or erased (deadline {deadline})",
                          "seq {seq} で持ち出された媒体 {m} が返却も消去もされていません(期限 {deadline})"),
                         m=media_id, seq=takeout.seq, deadline=takeout.deadline or "-"),
                    media=media_id,
                    todo=("Return it (custody takeout return) or record its erasure (custody takeout erased); "
                          "if it is lost, report an incident.",
                          "返却(custody takeout return)または消去(custody takeout erased)を記録してください。"
                          "紛失した場合は事故として報告してください。"),
                    blocking=blocking_)
    for disposal in st.disposals.values():
        if when <= disposal.deadline_ms and not closing:
            continue
        for media_id, status in disposal.media.items():
            if status != "pending" or media_id in reported:
                continue
            reported.add(media_id)
            out.add("C8", ERROR,
                    _fmt(("Disposal of {m} approved under {id} has no disposal record (deadline {deadline})",
                          "承認 {id} による媒体 {m} の廃棄記録がありません(期限 {deadline})"),
                         m=media_id, id=disposal.id, deadline=disposal.deadline),
                    media=media_id,
                    missing=("media.disposed with the certificate", "証明書付きの廃棄記録(media.disposed)"),
                    todo=("Record the disposal with its evidence (custody dispose record), or report what happened.",
                          "証跡を添えて廃棄を記録するか(custody dispose record)、経緯を報告してください。"),
                    blocking=blocking_)
    for m in st.media.values():
        if m.id in reported or m.settled:
            continue
        if m.origin == COPY:
            plan = st.approval_body(m.approval_id) if m.approval_id else None
            due = plan.disposal.by if plan is not None and plan.disposal is not None else ""
            due_ms = _ms(due) if due else None
            if closing or (due_ms is not None and when > due_ms):
                out.add("C6", ERROR,
                        _fmt(("Copy {m} (of {source}) has no final disposition{due}",
                              "複製 {m}({source} の複製)の最終処分が記録されていません{due_ja}"),
                             m=m.id, source=m.source or "-", due=f" (due {due})" if due else "",
                             due_ja=f"(期限 {due})" if due else ""),
                        media=m.id,
                        todo=("Erase, dispose of or return the copy as its approval says, and record it.",
                              "承認の定めに従って複製を消去・廃棄・返還し、記録してください。"),
                        blocking=blocking_)
        elif closing:
            out.add("C1", ERROR,
                    _fmt(("Medium {m} has no final disposition ({state})", "媒体 {m} の最終処分が記録されていません({state_ja})"),
                         m=m.id, state=m.state, state_ja=STATE_JA[m.state]),
                    media=m.id,
                    missing=("return, disposal, or (vendor media) erasure", "返還・廃棄、または(受託者の媒体は)消去"),
                    todo=("Return it (custody media return) or dispose of it with approval (custody dispose ...).",
                          "返還するか(custody media return)、承諾を得て廃棄してください(custody dispose ...)。"),
                    blocking=blocking_)
    if not blocking_:
        for media_id, pending in st.pending_writes.items():
            first = pending[0][0] if pending else None
            out.items.append(violation(
                "C11", ERROR,
                _fmt(("{n} write batch(es) to medium {m} with no covering copy or takeout approval (first at seq {seq})",
                      "媒体 {m} への {n} 回の書き込みに、対応する複製・持ち出しの承認がありません(最初は seq {seq})"),
                     n=len(pending) + st.pending_overflow.get(media_id, 0), m=media_id, seq=first),
                media_id=media_id,
                todo=("Writing data to removable media is copying: it needs the municipality's prior approval.",
                      "外部記録媒体へのデータの書き込みは複製であり、委託者の事前承諾が必要です。"),
                seq=first,
            ))
        if st.closed is None:
            for agent in st.agents.values():
                if agent.running and when - agent.last_ms > agent.allowed_ms + GAP_SLACK_MS:
                    out.add("C13", WARNING,
                            _fmt(("The agent {actor} has recorded nothing since seq {seq} ({s} s)",
                                  "エージェント {actor} は seq {seq} 以降 {s} 秒間記録がありません"),
                                 actor=agent.actor, seq=agent.last_seq, s=(when - agent.last_ms) // 1000),
                            todo=("Check that the agent is running.", "エージェントが動作しているか確認してください。"),
                            blocking=False)
    if closing:
        _c15(st, out, blocking_)
    return out.items


def _c15(st: LedgerState, out: _Out, blocking_: bool) -> None:
    c = st.counts()
    if c["open"] != 0:
        out.add("C15", ERROR,
                _fmt(("Media do not reconcile: received {r} + registered {g} + copies {c} − returned {t} − disposed {d} "
                      "− erased {e} − lost {l} = {b}",
                      "媒体数が一致しません: 受領 {r} + 登録 {g} + 複製 {c} − 返還 {t} − 廃棄 {d} − 消去 {e} − 紛失 {l} = {b}"),
                     r=c["received"], g=c["registered"], c=c["copies"], t=c["returned"], d=c["disposed"],
                     e=c["erased"], l=c["lost"], b=c["open"]),
                todo=("Account for every medium (the C1/C4/C6/C8 findings name them).",
                      "全ての媒体の処分を記録してください(C1/C4/C6/C8 の指摘を参照)。"),
                blocking=blocking_)
    for number, receipt in sorted(st.receipts.items()):
        media = receipt["media"]
        seq = out.seq if blocking_ else receipt.get("seq")
        todo: Text = ("Record every medium handed over (custody media receive), or correct the receipt.",
                      "引き渡された全ての媒体を記録するか(custody media receive)、預り証を確認してください。")
        if receipt["declared"] and receipt["declared"] != len(media):
            out.items.append(violation(
                "C15", ERROR,
                _fmt(("Receipt {n} lists {d} medium/media; {k} were recorded ({ids})",
                      "預り証 {n} の媒体数は {d} ですが、記録されたのは {k} 件です({ids})"),
                     n=number, d=receipt["declared"], k=len(media), ids=", ".join(media)),
                todo=todo, seq=seq, blocking=blocking_,
            ))
        recorded: dict[str, int] = {}
        for media_id in media:
            items = _d(st.media[media_id].record, "contents").get("items") if media_id in st.media else None
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("records"), int):
                    recorded[item["name"]] = recorded.get(item["name"], 0) + item["records"]
        for name, declared in sorted(receipt.get("records", {}).items()):
            if recorded.get(name, 0) != declared:
                out.items.append(violation(
                    "C15", ERROR,
                    _fmt(("Receipt {n}: item {item} declares {d} record(s); the media recorded hold {k}",
                          "預り証 {n}: 情報項目 {item} の件数は {d} ですが、記録された媒体では {k} 件です"),
                         n=number, item=name, d=declared, k=recorded.get(name, 0)),
                    todo=todo, seq=seq, blocking=blocking_,
                ))


# --- table-driven introspection ---


def transitions_for(event: str) -> list[Transition]:
    """The rows of :data:`~ledger.media.TRANSITIONS` for ``event``."""
    return [t for t in TRANSITIONS if t.event == event]
