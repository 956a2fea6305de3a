"""CacheKeeper (custody.ledger.workflow): the state cache kept current by a writer that appends without ``act``.

The work-location agent appends its observations with ``Ledger.append``; before the keeper, the first command
after a long run of them replayed them all.  The cache a keeper saves is always the projection a full replay
gives, whoever else writes in between, and it is never more than ``every`` entries behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custody.ledger.ledger import Ledger
from custody.ledger.lifecycle import advance, new_state
from custody.ledger.workflow import CACHE_NAME, CacheKeeper, act, projection
from tests.helpers import new_ledger
from tests.world import person_body, received_body, signer

AGENT = signer("agent-ws01")


def _heartbeat(n: int) -> dict[str, Any]:
    return {"observed_at": "2026-04-01T10:00:00.000+09:00", "sequence": n, "interval_ms": 60000, "volumes": []}


def _scratch(ledger: Ledger) -> dict[str, Any]:
    state = new_state(ledger.origin)
    for entry in ledger.store.entries():
        advance(state, entry)
    return state.to_json()


def _cached_size(ledger: Ledger) -> int:
    cached = ledger.store.load_state(CACHE_NAME)
    assert cached is not None
    return cached[0]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    ledger, parties, _log = new_ledger(tmp_path)
    act(ledger, "personnel.registered", person_body("agent-ws01", role="agent"), parties.responsible)
    act(ledger, "media.received", received_body("M-1", "SN-1", my_number=False), parties.responsible)
    ledger.responsible = parties.responsible  # type: ignore[attr-defined]
    return ledger


def test_the_cache_follows_the_appends_within_every_entries(ledger: Ledger) -> None:
    keeper = CacheKeeper(ledger, every=8)
    for n in range(30):
        ledger.append("agent.heartbeat", _heartbeat(n), AGENT, after=keeper)
        assert ledger.store.size - _cached_size(ledger) < 8
    proj = projection(ledger, save=False)
    assert proj.replayed < 8
    assert proj.state.to_json() == _scratch(ledger)


def test_others_writing_in_between_are_taken_in(ledger: Ledger) -> None:
    keeper = CacheKeeper(ledger, every=1)
    ledger.append("agent.heartbeat", _heartbeat(0), AGENT, after=keeper)
    act(ledger, "media.checked_out", {"media_id": "M-1", "person": "resp-sato", "purpose": "x"},
        ledger.responsible)  # type: ignore[attr-defined]
    ledger.append("note.recorded", {"text": "no keeper"}, ledger.responsible)  # type: ignore[attr-defined]
    ledger.append("agent.heartbeat", _heartbeat(1), AGENT, after=keeper)
    assert _cached_size(ledger) == ledger.store.size
    assert projection(ledger, save=False).state.to_json() == _scratch(ledger)


def test_a_batch_is_one_save(ledger: Ledger) -> None:
    from custody.ledger.entry import sign_entry

    keeper = CacheKeeper(ledger)

    def maker(n: int) -> Any:
        return lambda head: sign_entry(origin=ledger.origin, seq=head.size, prev=head.last_leaf_hash,
                                       type="agent.heartbeat", at=ledger.now_after(head), body=_heartbeat(n),
                                       signer=AGENT)

    ledger.store.append_many([maker(n) for n in range(200)], after=keeper)
    assert _cached_size(ledger) == ledger.store.size
    assert projection(ledger, save=False).replayed == 0


def test_a_failed_append_leaves_the_cache_as_the_store(ledger: Ledger) -> None:
    """The keeper advances its projection inside the append's transaction; when the append rolls back, its
    next call starts again from the store."""
    keeper = CacheKeeper(ledger, every=1)
    ledger.append("agent.heartbeat", _heartbeat(0), AGENT, after=keeper)

    def keep_then_fail(entries: Any) -> None:
        keeper(entries)
        raise RuntimeError("the commit did not happen")

    with pytest.raises(RuntimeError):
        ledger.append("agent.heartbeat", _heartbeat(1), AGENT, after=keep_then_fail)
    ledger.append("agent.heartbeat", _heartbeat(2), AGENT, after=keeper)
    assert _cached_size(ledger) == ledger.store.size
    assert projection(ledger, save=False).state.to_json() == _scratch(ledger)
