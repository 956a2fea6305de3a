"""Media (媒体): lifecycle states, the medium record, and the transition table.

States (``Medium.state``) and the events that move them (``absent``: no such medium yet)::

    media.received, media.registered   absent                               -> in_storage
    media.checked_out                  in_storage                           -> checked_out
    media.checked_in                   checked_out                          -> in_storage
    takeout.departed                   in_storage | checked_out             -> taken_out
    takeout.returned                   taken_out                            -> in_storage
    takeout.erased_at_destination      taken_out                            -> erased
    copy.made                          the source: in_storage | checked_out (unchanged);
                                       the copy, a new medium: absent       -> checked_out
    media.erased                       in_storage | checked_out | disposal_approved -> erased
    disposal.approved                  in_storage | checked_out | erased    -> disposal_approved
    media.disposed                     disposal_approved | erased (with its approval pending) -> disposed
    media.returned                     in_storage | checked_out | erased | taken_out -> returned
    incident.reported lost / stolen    any state but disposed, returned, lost -> lost
    incident.reported found            lost                                 -> in_storage

``disposed``, ``returned`` and ``lost`` are final (:data:`FINAL`); a disposed
or returned medium acted on or seen again is C12, a lost one C14.
``erased`` ends the data's life for vendor media and copies (a final
disposition for C1); a medium received from the municipality must still be
returned or disposed.

:data:`TRANSITIONS` is the table as data: event, which medium of the body it
moves, the states it may start from, the state it leads to, and the rule code
reported when the starting state is not allowed.  Preconditions beyond the
state (approvals, witnesses, evidence) are in :mod:`custody.ledger.lifecycle`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

ABSENT = "absent"  # pseudo-state: no medium with this id in the register
IN_STORAGE = "in_storage"
CHECKED_OUT = "checked_out"
TAKEN_OUT = "taken_out"
ERASED = "erased"
DISPOSAL_APPROVED = "disposal_approved"
DISPOSED = "disposed"
RETURNED = "returned"
LOST = "lost"

STATES = (IN_STORAGE, CHECKED_OUT, TAKEN_OUT, ERASED, DISPOSAL_APPROVED, DISPOSED, RETURNED, LOST)
FINAL = frozenset({DISPOSED, RETURNED, LOST})
GONE = frozenset({DISPOSED, RETURNED})  # seen again: C12
LIVE = frozenset(STATES) - FINAL

#: Where a medium came from (docs/fields.md, media register: handover receipt, copy, vendor stock).
RECEIVED = "received"
REGISTERED = "registered"
COPY = "copy"


class Transition(NamedTuple):
    """One row of the lifecycle table.

    ``event``: the entry type (incidents: ``incident.reported`` with ``variant``
    ``lost``/``stolen``/``found``); ``role``: which medium of the body moves
    (``medium`` = ``media_id``, ``media`` = ``media_ids`` or the approval's
    media, ``source`` / ``target`` of a copy); ``allowed``: the states it may
    start from; ``to``: the next state (None: unchanged); ``code``: the rule
    reported when the medium is in another state (C12 overrides it for a
    disposed or returned medium, C14 for a lost one, C15 for an unknown one).
    """

    event: str
    role: str
    allowed: frozenset[str]
    to: str | None
    code: str
    variant: str = ""


def _t(event: str, role: str, allowed: set[str], to: str | None, code: str, variant: str = "") -> Transition:
    return Transition(event, role, frozenset(allowed), to, code, variant)


TRANSITIONS: tuple[Transition, ...] = (
    _t("media.received", "medium", {ABSENT}, IN_STORAGE, "C15"),
    _t("media.registered", "medium", {ABSENT}, IN_STORAGE, "C15"),
    _t("media.checked_out", "medium", {IN_STORAGE}, CHECKED_OUT, "C15"),
    _t("media.checked_in", "medium", {CHECKED_OUT}, IN_STORAGE, "C15"),
    _t("takeout.departed", "media", {IN_STORAGE, CHECKED_OUT}, TAKEN_OUT, "C2"),
    _t("takeout.returned", "media", {TAKEN_OUT}, IN_STORAGE, "C4"),
    _t("takeout.erased_at_destination", "media", {TAKEN_OUT}, ERASED, "C4"),
    _t("copy.made", "source", {IN_STORAGE, CHECKED_OUT}, None, "C5"),
    _t("copy.made", "target", {ABSENT}, CHECKED_OUT, "C5"),
    _t("media.erased", "medium", {IN_STORAGE, CHECKED_OUT, DISPOSAL_APPROVED}, ERASED, "C7"),
    _t("disposal.approved", "media", {IN_STORAGE, CHECKED_OUT, ERASED}, DISPOSAL_APPROVED, "C7"),
    _t("media.disposed", "medium", {DISPOSAL_APPROVED, ERASED}, DISPOSED, "C7"),
    _t("media.returned", "medium", {IN_STORAGE, CHECKED_OUT, ERASED, TAKEN_OUT}, RETURNED, "C1"),
    _t("incident.reported", "media", set(LIVE), LOST, "C14", "lost"),
    _t("incident.reported", "media", set(LIVE), LOST, "C14", "stolen"),
    _t("incident.reported", "media", {LOST}, IN_STORAGE, "C14", "found"),
)
_INDEX = {(t.event, t.role, t.variant): t for t in TRANSITIONS}


def transition(event: str, role: str, variant: str = "") -> Transition:
    """The table row for (event, role[, variant]); KeyError if there is none."""
    return _INDEX[(event, role, variant)]


def blocking_code(row: Transition, state: str) -> str | None:
    """The rule broken by applying ``row`` to a medium in ``state`` (None: allowed).

    A disposed or returned medium gives C12, a lost one C14, an unknown one
    C15 (not in the register), whatever the row's own code.
    """
    if state in row.allowed:
        return None
    if state in GONE:
        return "C12"
    if state == LOST:
        return "C14"
    if state == ABSENT:
        return "C15"
    return row.code


@dataclass(slots=True)
class Medium:
    """One medium of the register, its state and the entries that acted on it.

    ``record`` holds the body fields that describe it (kind, make, model,
    serial, capacity, encryption, contents, storage, custodian, receipt...;
    never an approval note).  ``history`` lists the seqs of the human acts on
    it (agent observations are counted in ``LedgerState.observed``).
    """

    id: str
    origin: str  # received | registered | copy
    kind: str
    serial: str
    my_number: bool
    record: dict[str, Any]
    state: str
    since_seq: int
    history: list[int] = field(default_factory=list)
    source: str | None = None  # copy: the source medium's id
    approval_id: str | None = None  # copy: its copy approval
    takeout_seq: int | None = None  # the open takeout it is on
    disposal_id: str | None = None  # a disposal approval not yet carried out
    erased_seq: int | None = None
    final_seq: int | None = None  # the entry that evidences its final disposition

    @property
    def final(self) -> bool:
        return self.state in FINAL

    @property
    def settled(self) -> bool:
        """No data left to account for: final, or erased when it is a vendor medium or a copy."""
        return self.state in FINAL or (self.state == ERASED and self.origin != RECEIVED)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin,
            "kind": self.kind,
            "serial": self.serial,
            "my_number": self.my_number,
            "record": self.record,
            "state": self.state,
            "since_seq": self.since_seq,
            "history": list(self.history),
            "source": self.source,
            "approval_id": self.approval_id,
            "takeout_seq": self.takeout_seq,
            "disposal_id": self.disposal_id,
            "erased_seq": self.erased_seq,
            "final_seq": self.final_seq,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Medium:
        return cls(
            id=doc["id"],
            origin=doc["origin"],
            kind=doc["kind"],
            serial=doc["serial"],
            my_number=doc["my_number"],
            record=doc["record"],
            state=doc["state"],
            since_seq=doc["since_seq"],
            history=list(doc["history"]),
            source=doc["source"],
            approval_id=doc["approval_id"],
            takeout_seq=doc["takeout_seq"],
            disposal_id=doc["disposal_id"],
            erased_seq=doc["erased_seq"],
            final_seq=doc["final_seq"],
        )
