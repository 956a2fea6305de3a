"""In-memory implementations of the agent's interfaces (tests, the demo, the development runner).

``MemorySink`` keeps every event in a list; ``StaticMediaIndex`` answers from a
fixed set of known media.  They implement ``EventSink`` and ``MediaIndex``
exactly as the ledger will; they are not stand-ins for the store's behaviour
(signing, chaining, locking).
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Self, TextIO

from custody.agents.interfaces import UNREGISTERED, MediaMatch, VolumeInfo
from custody.agents.jsonsafe import check_body


class MemorySink:
    """Keeps ``(event_type, body)`` pairs in order; checks every body is signable JSON."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []
        self._cond = threading.Condition()

    def emit(self, event_type: str, body: dict[str, object]) -> None:
        check_body(body)
        with self._cond:
            self.events.append((event_type, copy.deepcopy(body)))
            self._cond.notify_all()

    def types(self) -> list[str]:
        with self._cond:
            return [t for t, _ in self.events]

    def of_type(self, event_type: str) -> list[dict[str, object]]:
        with self._cond:
            return [b for t, b in self.events if t == event_type]

    def wait_for(self, predicate: Callable[[Self], bool], timeout: float) -> bool:
        """Wait until ``predicate(self)`` holds (re-checked on every emit)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def count(self, event_type: str) -> int:
        return len(self.of_type(event_type))


class JsonLinesSink:
    """Writes one JSON object per event to a stream (the development runner's output)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def emit(self, event_type: str, body: dict[str, object]) -> None:
        check_body(body)
        line = json.dumps({"type": event_type, "body": body}, ensure_ascii=False, sort_keys=True)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()


@dataclass(frozen=True)
class KnownMedium:
    """A registered medium as the index knows it; any identifier may be None."""

    media_id: str
    state: str = "registered"
    serial: str | None = None
    uuid: str | None = None
    label: str | None = None
    volume_id: str | None = None
    write_covered: bool = False
    approval: str | None = None


class StaticMediaIndex:
    """Matches by device serial, then filesystem UUID, then volume id, then label (labels are not unique)."""

    def __init__(self, media: Iterable[KnownMedium] = ()) -> None:
        self._lock = threading.Lock()
        self._media: dict[str, KnownMedium] = {m.media_id: m for m in media}
        self.lookups = 0

    def add(self, medium: KnownMedium) -> None:
        with self._lock:
            self._media[medium.media_id] = medium

    def update(self, media_id: str, **changes: object) -> None:
        with self._lock:
            self._media[media_id] = replace(self._media[media_id], **changes)  # type: ignore[arg-type]

    def match(self, volume: VolumeInfo) -> MediaMatch:
        with self._lock:
            self.lookups += 1
            media = list(self._media.values())
        for attribute in ("serial", "uuid", "volume_id", "label"):
            wanted = getattr(volume, attribute)
            if wanted is None:
                continue
            for medium in media:
                if getattr(medium, attribute) == wanted:
                    return MediaMatch(
                        media_id=medium.media_id,
                        state=medium.state,
                        write_covered=medium.write_covered,
                        approval=medium.approval,
                        matched_by=attribute,
                    )
        return UNREGISTERED
