"""Who may sign, at which point of the ledger (docs/spec.md §11 (The trust store)).

The responsible person's key comes from the genesis entry, which the
municipality pins; every other key is registered by an entry
(``personnel.registered``), can be rotated (``key.rotated``) and revoked
(``key.revoked``), and a person can be removed (``personnel.removed``).  This
module replays those entries in order -- pure state, no I/O -- so that the
verifier can tell, for any entry, whether its signing key was valid at that
point (finding I2) and the CLI can refuse an unregistered actor (C9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from custody.ledger.errors import NoteFormatError
from custody.ledger.note import Verifier

GENESIS = "contract.opened"
PERSON_TYPES = ("personnel.registered", "personnel.changed", "personnel.removed")
KEY_TYPES = ("key.rotated", "key.revoked")


class Event(Protocol):
    """What the registry reads of an entry (custody.ledger.entry.Entry and the verifier's EntryView both fit)."""

    @property
    def seq(self) -> int: ...

    @property
    def type(self) -> str: ...

    @property
    def body(self) -> dict[str, Any]: ...


@dataclass
class KeyState:
    verifier: Verifier
    since_seq: int
    until_seq: int | None = None  # first seq at which the key no longer signs
    why_ended: str = ""  # "rotated" | "revoked" | "removed"


@dataclass
class Person:
    key_name: str
    details: dict[str, Any]
    registered_seq: int
    removed_seq: int | None = None
    keys: list[KeyState] = field(default_factory=list)

    @property
    def tier(self) -> str:
        return str(self.details.get("tier", "vendor"))

    @property
    def role(self) -> str:
        return str(self.details.get("role", "operator"))


class KeyStatus:
    VALID = "valid"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    ENDED = "ended"  # rotated away or the person removed


class Registry:
    """Key and personnel state, advanced one entry at a time."""

    def __init__(self) -> None:
        self.people: dict[str, Person] = {}
        self.genesis: dict[str, Any] | None = None

    # --- questions ---

    def key_status(self, actor: str, key_id: bytes, seq: int) -> tuple[str, Verifier | None]:
        person = self.people.get(actor)
        if person is None:
            return KeyStatus.UNKNOWN, None
        for key in person.keys:
            # A key signs from the entry after the one that registered it: an
            # earlier entry "signed" by it was made with a key nobody knew yet.
            if key.verifier.key_id != key_id or seq < key.since_seq:
                continue
            if key.until_seq is not None and seq >= key.until_seq:
                status = KeyStatus.REVOKED if key.why_ended == "revoked" else KeyStatus.ENDED
                return status, key.verifier
            return KeyStatus.VALID, key.verifier
        return KeyStatus.UNKNOWN, None

    def person(self, actor: str) -> Person | None:
        return self.people.get(actor)

    def active(self, actor: str) -> bool:
        person = self.people.get(actor)
        return person is not None and person.removed_seq is None

    # --- replay ---

    def apply(self, entry: Event) -> None:
        """Advance the state past ``entry`` (which must already be verified)."""
        handler = _HANDLERS.get(entry.type)
        if handler is not None:
            handler(self, entry)

    def _genesis(self, entry: Event) -> None:
        if self.genesis is not None:
            return
        self.genesis = entry.body
        responsible = entry.body.get("responsible", {})
        verifier = _verifier(responsible.get("vkey"))
        if verifier is None:
            return
        details = {k: v for k, v in responsible.items() if k != "vkey"}
        details.update(role="responsible", tier="vendor")
        self.people[verifier.name] = Person(
            verifier.name, details, entry.seq, keys=[KeyState(verifier, entry.seq)]
        )

    def _registered(self, entry: Event) -> None:
        verifier = _verifier(entry.body.get("vkey"))
        if verifier is None:
            return
        existing = self.people.get(verifier.name)
        if existing is not None and existing.removed_seq is None:
            return  # a second registration of an active name changes nothing
        details = {k: v for k, v in entry.body.items() if k != "vkey"}
        # Keep the keys of an earlier, removed registration: entries they
        # signed before the removal stay verifiable.
        old_keys = existing.keys if existing is not None else []
        self.people[verifier.name] = Person(
            verifier.name, details, entry.seq, keys=[*old_keys, KeyState(verifier, entry.seq + 1)]
        )

    def _changed(self, entry: Event) -> None:
        person = self.people.get(str(entry.body.get("key_name", "")))
        if person is None or person.removed_seq is not None:
            return
        changes = entry.body.get("changes", {})
        if isinstance(changes, dict):
            person.details.update({k: v for k, v in changes.items() if k not in ("vkey", "key_name")})

    def _removed(self, entry: Event) -> None:
        person = self.people.get(str(entry.body.get("key_name", "")))
        if person is None or person.removed_seq is not None:
            return
        person.removed_seq = entry.seq
        for key in person.keys:
            if key.until_seq is None:
                key.until_seq, key.why_ended = entry.seq + 1, "removed"

    def _rotated(self, entry: Event) -> None:
        person = self.people.get(str(entry.body.get("key_name", "")))
        new = _verifier(entry.body.get("new_vkey"))
        if person is None or new is None or new.name != person.key_name or person.removed_seq is not None:
            return
        for key in person.keys:
            if key.until_seq is None:
                key.until_seq, key.why_ended = entry.seq + 1, "rotated"
        person.keys.append(KeyState(new, entry.seq + 1))

    def _revoked(self, entry: Event) -> None:
        person = self.people.get(str(entry.body.get("key_name", "")))
        target = _verifier(entry.body.get("vkey"))
        if person is None or target is None:
            return
        for key in person.keys:
            if key.verifier.key_id == target.key_id:
                # Revocation is effective from this entry on: the revoked key
                # cannot sign the revocation itself or anything after it.
                end = entry.seq if key.until_seq is None else min(key.until_seq, entry.seq)
                key.until_seq, key.why_ended = end, "revoked"


def _verifier(vkey: Any) -> Verifier | None:
    if not isinstance(vkey, str):
        return None
    try:
        return Verifier.from_vkey(vkey)
    except NoteFormatError:
        return None


_HANDLERS = {
    GENESIS: Registry._genesis,
    "personnel.registered": Registry._registered,
    "personnel.changed": Registry._changed,
    "personnel.removed": Registry._removed,
    "key.rotated": Registry._rotated,
    "key.revoked": Registry._revoked,
}
