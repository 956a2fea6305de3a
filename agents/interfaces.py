"""The agent's two seams to the ledger, and the value types that cross them.

The agent never writes the store itself: it hands each observation to an
``EventSink`` (one signed entry per call) and asks a ``MediaIndex`` which
registered medium a volume is.  Both are implemented by the ledger; tests and
the development runner use the in-memory versions in ``agents.memory``.

Bodies are JSON-compatible (str, int, bool, None, lists, dicts; no floats),
carry times as RFC 3339 strings with an offset, and never carry file contents:
paths, sizes and SHA-256 hex only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from custody.agents.jsonsafe import text_fields


@dataclass(frozen=True)
class VolumeInfo:
    """What the agent could learn about one mounted volume.

    ``volume_id`` is always set and stable for as long as the volume is
    mounted: ``uuid:<fs uuid>`` when the filesystem has one, else
    ``serial:<device serial>``, else ``dev:<major>:<minor>`` for a block
    device, else ``<fstype>:<source>@<mount point>`` (tmpfs, network shares).
    Every other field is ``None`` when the platform does not expose it.
    """

    volume_id: str
    mount_point: str
    filesystem: str
    device: str | None = None
    uuid: str | None = None
    label: str | None = None
    serial: str | None = None
    vendor: str | None = None
    model: str | None = None
    bus: str | None = None
    removable: bool | None = None
    read_only: bool = False
    sources: tuple[str, ...] = ()

    def body_fields(self) -> dict[str, object]:
        """The volume's fields as they go into an event body (flat, JSON-safe)."""
        out: dict[str, object] = {}
        out.update(text_fields("volume_id", self.volume_id))
        out.update(text_fields("uuid", self.uuid))
        out.update(text_fields("label", self.label))
        out.update(text_fields("serial", self.serial))
        out.update(text_fields("filesystem", self.filesystem))
        out.update(text_fields("device", self.device))
        out.update(text_fields("mount_point", self.mount_point))
        out["read_only"] = self.read_only
        if self.vendor is not None or self.model is not None:
            out.update(text_fields("vendor", self.vendor))
            out.update(text_fields("model", self.model))
        if self.bus is not None:
            out.update(text_fields("bus", self.bus))
        if self.removable is not None:
            out["removable"] = self.removable
        return out


@dataclass(frozen=True)
class MediaMatch:
    """The ledger's view of a volume.

    ``media_id`` is ``None`` when no registered medium matches; ``state`` is the
    medium's lifecycle state (``"registered"``, ``"checked_out"``,
    ``"disposed"``, ``"returned"``, ...), ``None`` when unregistered.
    ``write_covered`` says whether a copy or takeout approval currently covers
    writing to the medium; ``approval`` optionally names that approval;
    ``matched_by`` says which identifier matched (``"serial"``, ``"uuid"``,
    ``"label"``, ...).
    """

    media_id: str | None = None
    state: str | None = None
    write_covered: bool = False
    approval: str | None = None
    matched_by: str | None = None

    @property
    def registered(self) -> bool:
        return self.media_id is not None

    def body_fields(self) -> dict[str, object]:
        return {
            "media_id": self.media_id,
            "media_state": self.state,
            "matched_by": self.matched_by,
            "write_covered": self.write_covered,
            "approval": self.approval,
        }


UNREGISTERED = MediaMatch()


@runtime_checkable
class EventSink(Protocol):
    def emit(self, event_type: str, body: dict[str, object]) -> None:
        """Append one signed entry.

        May block while the ledger is locked; raises ``CustodyError``
        subclasses on failure (``FormatError`` for a body the ledger refuses,
        others for a ledger that cannot be written right now).
        """
        ...


@runtime_checkable
class MediaIndex(Protocol):
    def match(self, volume: VolumeInfo) -> MediaMatch:
        """Which registered medium this volume is, its state, and whether writing is covered."""
        ...
