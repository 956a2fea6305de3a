"""The watchers the lifecycle runs after an entry's own handler (C16-C19, C21, C23) are called only for the entry
types each concerns (``engine._plan``, each family's ``watches``), and an agent's sign of life takes a fast path
when nothing in it breaks a rule (``engine.LIVENESS_ONLY``): replaying the golden bundles' entries with every
watcher called for every entry and no fast path gives the same violations and the same final state.

The golden bundles hold a case for every rule code (tests/vectors/README.md), so a ``watches`` that left out a
type its watcher judges loses that case's finding here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custody.ledger.entry import parse_entry
from custody.ledger.errors import FormatError
from custody.ledger.lifecycle import (
    apply,
    attestations,
    engine,
    new_state,
    observation,
    places,
    reporting,
    scope,
    seals,
    staff,
    storage,
    times,
)
from tests.conftest import VECTORS

ENTRIES = sorted((VECTORS / "bundles").glob("*/bundle/entries.jsonl"))


def _replay(path: Path) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Every violation of every entry that parses, in order, and the final state's snapshot."""
    state = None
    found: list[tuple[Any, ...]] = []
    for line in path.read_bytes().splitlines():
        try:
            entry = parse_entry(line)
        except FormatError:
            continue  # what the verifier reports as I7; the rules never see it
        if state is None:
            state = new_state(entry.origin)
        found.extend((v.code, v.severity, v.message, v.seq, v.media_id) for v in apply(state, entry))
    assert state is not None
    return found, state.to_json()


def test_every_golden_bundle_is_replayed() -> None:
    assert len(ENTRIES) >= 40  # the directory moved or emptied: the test below would check nothing


@pytest.mark.parametrize("path", ENTRIES, ids=[p.parent.parent.name for p in ENTRIES])
def test_watchers_by_type_find_what_every_watcher_finds(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_type = _replay(path)

    def every_watcher(event_type: str) -> tuple[Any, ...]:
        own = (attestations.CHECKS.get(event_type), engine._HANDLERS.get(event_type))
        return tuple(h for h in own if h is not None) + tuple(watch for watch, _ in engine._WATCHERS)

    monkeypatch.setattr(engine, "_plan", every_watcher)
    monkeypatch.setattr(engine, "LIVENESS_ONLY", frozenset())
    assert _replay(path) == by_type


def test_a_watcher_is_called_for_the_types_it_watches() -> None:
    assert engine._plan("agent.heartbeat") == (observation._alive,)
    assert engine._plan("files.written") == (observation._h_files,)
    assert engine._plan("media.checked_out") == (storage.HANDLERS["media.checked_out"], scope.watch, seals.watch,
                                                 staff.watch)
    assert engine._plan("media.disposed") == (attestations.CHECKS["media.disposed"], engine._HANDLERS["media.disposed"],
                                              scope.watch, times.watch, places.watch, staff.watch)
    assert engine._plan("incident.reported") == (engine._HANDLERS["incident.reported"], times.watch, reporting.watch,
                                                 staff.watch)
    assert engine._plan("made.up") == (staff.watch,)


def test_the_fast_path_is_for_signs_of_life_only() -> None:
    assert sorted(engine.LIVENESS_ONLY) == ["agent.heartbeat", "volume.detached"]
