"""The lifecycle state (what the rules know of the ledger so far) and its JSON snapshot.

Plain data: see :class:`LedgerState`.  Pure: no file, clock or network access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from custody.ledger.canonical import copy_json as _deep
from custody.ledger.lifecycle.fields import _d, _ms, _shared, _shared_rows
from custody.ledger.lifecycle.fields import _rows as _deep_rows
from custody.ledger.media import ABSENT, DISPOSED, ERASED, LOST, RECEIVED, REGISTERED, RETURNED, Medium
from custody.ledger.note import Verifier

if TYPE_CHECKING:  # custody.ledger.approval is imported where an approval is read (approval_body)
    from custody.ledger.approval import Approval, ApprovalBody, ApprovalProblem

STATE_FORMAT = "custody/lifecycle-state/v3"


PERIOD_END_TIME = "T23:59:59.999+09:00"  # the contract period's last day ends at midnight JST


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
    ``closed`` (``{"seq", "at"}``), ``genesis`` (the contract.opened body), ``duties`` (what the rules C16-C23
    keep: seals, places, reports, anomalies awaiting an incident, people's acts and statements).
    """

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.genesis: dict[str, Any] | None = None
        self.my_number = False
        self.permits: dict[str, bool] = {}
        self.period_end_ms: int | None = None
        self.approver_vkeys: list[str] = []
        self.attester_vkeys: dict[str, list[str]] = {}
        self.inspection_interval_months = 12
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
        self.attested: dict[str, Any] = new_attested()
        self.agents: dict[str, AgentView] = {}
        self.observed: dict[str, dict[str, int]] = {}
        self.pending_writes: dict[str, list[list[int]]] = {}
        self.pending_overflow: dict[str, int] = {}
        self.write_cover: dict[str, list[list[Any]]] = {}
        self.receipts: dict[str, dict[str, Any]] = {}
        self.alerts: dict[str, int] = {}
        # The duties of C16-C23 (ledger/lifecycle/duties.py): JSON-compatible, one key per rule family.
        self.duties: dict[str, Any] = {}
        # Derived, not serialised: indexes and caches.
        self._serials: dict[str, str] = {}
        self._uuids: dict[str, str] = {}
        self._verifiers: list[Verifier] | None = None
        self._approval_cache: dict[tuple[str, str], Approval | ApprovalProblem] = {}
        self._bodies: dict[str, ApprovalBody] = {}
        self._attestation_cache: dict[tuple[str, str, str], Any] = {}
        self._checked_notes: dict[str, Any] = {}  # lifecycle/attestations.py _checked

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
            from custody.ledger.approval import ApprovalBody

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

    def to_json(self, *, copy: bool = True) -> dict[str, Any]:
        """A JSON-compatible snapshot (no floats; a fresh copy); ``from_json`` restores it.

        ``copy=False``: the snapshot shares the state's lists and dicts, for a caller that serialises it at
        once and keeps nothing (the commands' state cache: copying a contract's media to dump them cost more
        than the dump).
        """
        part = _deep if copy else _shared
        rows = _deep_rows if copy else _shared_rows
        return {
            "format": STATE_FORMAT,
            "origin": self.origin,
            "genesis": part(self.genesis),
            "last_seq": self.last_seq,
            "last_at": self.last_at,
            "closed": part(self.closed),
            "people": rows(self.people.values()),
            "subcontracts": rows(self.subcontracts.values()),
            "media": [part(m.to_json()) for m in self.media.values()],
            "approvals": rows(self.approvals.values()),
            "takeouts": rows(self.takeouts.values()),
            "disposals": rows(self.disposals.values()),
            "incidents": part(self.incidents),
            "inspections": list(self.inspections),
            "attested": part(self.attested),
            "agents": rows(self.agents.values()),
            "observed": part(self.observed),
            "pending_writes": part(self.pending_writes),
            "pending_overflow": dict(self.pending_overflow),
            "write_cover": part(self.write_cover),
            "receipts": part(self.receipts),
            "alerts": dict(self.alerts),
            "duties": part(self.duties),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], *, owned: bool = False) -> LedgerState:
        """Restore a snapshot made by ``to_json`` (ValueError for anything else).

        ``owned``: the caller hands ``doc`` over (just parsed, held by nothing else), so the state takes its
        parts instead of copies.
        """
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
            raise ValueError(f"not a {STATE_FORMAT} snapshot")
        if not owned:
            doc = _deep(doc)
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
                     "receipts", "alerts", "duties"):
            setattr(st, name, doc[name])
        st.attested = {**new_attested(), **doc.get("attested", {})}
        for m in st.media.values():
            _index(st, m)
        return st

    def clone(self) -> LedgerState:
        """An independent copy."""
        return LedgerState.from_json(self.to_json(), owned=True)


def new_attested() -> dict[str, Any]:
    """What the municipality's attestations established so far (ledger/lifecycle/attestations.py): ``used``
    (body digest -> seq), ``inspections`` ({seq, date, parties, signed}), ``actions`` (corrective action id ->
    {id, party, due, seq, closed_on}) and ``acts`` (instructions, acknowledgements, change approvals)."""
    return {"used": {}, "inspections": [], "actions": {}, "acts": []}


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
    attesters = _d(body, "attester_vkeys")
    st.attester_vkeys = {role: [v for v in keys if isinstance(v, str)] for role, keys in attesters.items()
                         if isinstance(keys, list)}
    interval = body.get("inspection_interval_months")
    st.inspection_interval_months = interval if isinstance(interval, int) and 0 < interval <= 120 else 12
    end = _d(body, "period").get("end")
    st.period_end_ms = _ms(f"{end}{PERIOD_END_TIME}") if isinstance(end, str) else None


def _cover(st: LedgerState, media_id: str, when: int) -> str | None:
    for start, end, approved, approval_id in st.write_cover.get(media_id, ()):
        if approved <= when and start <= when <= end:
            return str(approval_id)
    return None

