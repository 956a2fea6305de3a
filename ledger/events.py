"""Event types and their body schemas (docs/spec-events.md).

Every entry ``type`` has one JSON Schema (2020-12) for its ``body`` at
``schemas/events/<type>.schema.json``, loaded by name ``events/<type>``
through :mod:`schemas` (which resolves ``$ref`` to ``defs.schema.json`` and
``entry.schema.json`` offline).  Shared pieces (media fields, the handover
receipt, NIST SP 800-88 method and verification, people, attachments) are in
``schemas/defs.schema.json``; approvals and application documents have
``schemas/approval.schema.json`` and ``schemas/request.schema.json``.

Bodies written by the CLI are closed (``additionalProperties: false``); the
genesis body (ledger.contract) and the agent's observations (agents.agent) are
open, so that those producers may add fields without breaking old verifiers.
No schema has room for residents' personal data: item names, counts and
hashes only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from custody.ledger.errors import SchemaError
from custody.ledger.i18n import _
from custody.ledger.validation import checker, is_valid

#: Contract and people.
CONTRACT_TYPES = (
    "contract.opened",
    "personnel.registered",
    "personnel.changed",
    "personnel.removed",
    "subcontract.approved",
    "key.rotated",
    "key.revoked",
    "personnel.exit_checked",
    "personnel.statement",
)
#: Media, incidents, inspections and the municipality's other acts, closing, notes.
MEDIA_TYPES = (
    "media.received",
    "media.registered",
    "media.checked_out",
    "media.checked_in",
    "takeout.departed",
    "takeout.returned",
    "takeout.erased_at_destination",
    "copy.made",
    "media.erased",
    "disposal.approved",
    "media.disposed",
    "media.returned",
)
RECORD_TYPES = ("incident.reported", "inspection.recorded", "attestation.recorded", "report.periodic",
                "contract.closed",
                "note.recorded")
#: Observed and signed by the work-location agent.
AGENT_TYPES = (
    "agent.started",
    "agent.heartbeat",
    "agent.stopped",
    "volume.attached",
    "volume.detached",
    "files.written",
    "observation.gap",
    "alert.raised",
)
EVENT_TYPES: tuple[str, ...] = CONTRACT_TYPES + MEDIA_TYPES + RECORD_TYPES + AGENT_TYPES
_KNOWN = frozenset(EVENT_TYPES)

#: Entry types whose body embeds a municipality-signed approval note (field ``approval``).
APPROVAL_TYPES = {
    "takeout.departed": "takeout",
    "copy.made": "copy",
    "disposal.approved": "dispose",
    "subcontract.approved": "subcontract",
}


def is_event_type(event_type: str) -> bool:
    return event_type in _KNOWN


def body_schema_name(event_type: str) -> str:
    """The schema name of ``event_type``'s body, e.g. ``events/media.received``.

    Raises SchemaError (field ``type``) for a type docs/spec-events.md does not list.
    """
    if event_type not in _KNOWN:
        raise SchemaError(
            _("Unknown event type {type!r}.").format(type=event_type),
            field="type",
        )
    return f"events/{event_type}"


def validate_body(event_type: str, body: object) -> None:
    """Raise SchemaError (``.field`` = the offending field inside the body) unless ``body`` fits its schema."""
    checker(body_schema_name(event_type))(body)


@cache
def body_checker(event_type: str) -> Callable[[object], None]:
    """``validate_body`` for one event type, looked up once (the verifier's loop over a million bodies)."""
    return checker(body_schema_name(event_type))


@cache
def body_validity(event_type: str) -> Callable[[object], bool]:
    """The fast test of a parsed body of ``event_type`` (``validation.is_valid``): True means it fits its
    schema; False, that ``body_checker`` must judge it (for the verdict and its message).  For the verifier's
    loop over a million bodies, which it calls without the wrappers of ``body_checker``."""
    return is_valid(body_schema_name(event_type))

