"""The fast path ``apply`` takes for an agent's sign of life (``engine.LIVENESS_ONLY``: heartbeats and detaches)
finds what the general path finds and leaves the same state, on ordinary entries and on every edge a sign of life
can meet: a silence longer than allowed (C13), the contract closed, an unknown or removed actor, a person's key or a
subcontractor's agent (C9), a malformed time, an agent not yet started or stopped, an entry before the genesis.
With the time the verifier's workers already parsed (``at_us``) it finds the same again.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.ledger.lifecycle import Event, apply, engine, new_state
from custody.ledger.lifecycle.fields import _ms, _ms_of_us
from custody.ledger.timefmt import at_ms
from tests.world import ORIGIN, World, closed_body, iso, person_body

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at_us(text: str) -> int | None:
    """``at`` in microseconds since the epoch, as the verifier's workers compute it (None: no time with an offset)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return None if moment.tzinfo is None else (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass
class Replay:
    found: list[list[tuple[Any, ...]]]  # every entry's violations, field for field
    state: dict[str, Any]  # the final state's snapshot
    fast: int  # entries that took the fast path


def replay(events: list[Event], *, fast: bool, with_at_us: bool = False,
           monkeypatch: pytest.MonkeyPatch | None = None) -> Replay:
    taken = 0
    general = engine._run

    def counting(*args: Any, **kwargs: Any) -> None:
        nonlocal taken
        taken -= 1
        general(*args, **kwargs)

    assert monkeypatch is not None
    with monkeypatch.context() as m:
        m.setattr(engine, "_run", counting)
        if not fast:
            m.setattr(engine, "LIVENESS_ONLY", frozenset())
        state = new_state(ORIGIN)
        found = []
        for e in events:
            taken += 1
            violations = apply(state, e, at_us(e.at) if with_at_us else None)
            found.append([astuple(v) for v in violations])
    return Replay(found, state.to_json(), taken)


def _started(allowed_ms: int = 120_000, **agent: Any) -> World:
    w = World()
    if agent:
        w.do("personnel.registered", person_body("agent-ws02", role="agent", **agent))
    w.agent_start(allowed_ms)
    return w


def beat(w: World, minutes: float = 1, *, actor: str = "agent-ws01", type_: str = "agent.heartbeat",
         at: str | None = None, observed: object = "same") -> None:
    """A sign of life ``minutes`` after the last entry (``observed``: its observed_at; "same": its ``at``)."""
    w.now += timedelta(minutes=minutes)
    text = iso(w.now) if at is None else at
    body: dict[str, Any] = {"sequence": w.seq, "interval_ms": 60000, "volumes": []}
    if type_ == "volume.detached":
        body = {"volume_id": "uuid:X", "label": "USB", "batches": 0, "files_recorded": 0}
    if observed == "same":
        body["observed_at"] = text
    elif observed is not None:
        body["observed_at"] = observed
    w.events.append(Event(w.seq, type_, text, actor, body))
    w.seq += 1


def ordinary() -> list[Event]:
    w = _started()
    for _ in range(5):
        beat(w)
        beat(w, type_="volume.detached")
    return w.events


def silent_too_long() -> list[Event]:
    w = _started()
    beat(w)
    beat(w, 10)  # C13: ten minutes, two allowed
    beat(w, 10, type_="volume.detached")
    beat(w)
    return w.events


def after_close() -> list[Event]:
    w = _started(86_400_000)
    beat(w)
    w.do("personnel.statement", {"statement": closed_body()["statement"]}, actor="op-tanaka")
    w.do("contract.closed", closed_body())
    beat(w)
    beat(w, type_="volume.detached")
    return w.events


def unknown_actor() -> list[Event]:
    w = _started()
    beat(w, actor="agent-ws99")
    beat(w, actor="agent-ws99", type_="volume.detached")
    beat(w)
    return w.events


def person_key() -> list[Event]:
    w = _started()
    beat(w, actor="op-tanaka")
    beat(w, actor="resp-sato", type_="volume.detached")
    return w.events


def subcontractor_agent() -> list[Event]:
    w = _started(tier="subcontractor", subcontract_id="SC-none", organisation="株式会社下請")
    beat(w, actor="agent-ws02")  # started in no agent.started: its first sign of life makes its view
    beat(w, actor="agent-ws02")
    return w.events


def removed_agent() -> list[Event]:
    w = _started(86_400_000)
    beat(w)
    w.do("personnel.removed", {"key_name": "agent-ws01"})
    beat(w)
    beat(w, type_="volume.detached")
    return w.events


def malformed_times() -> list[Event]:
    w = _started()
    beat(w)
    beat(w, at="2026-04-01 yesterday", observed=None)  # no time at all: the agent is not shown alive
    beat(w, at="2026-04-01T12:00:00", observed=None)  # no offset
    beat(w, observed="not a time")
    beat(w, observed=12345)  # not a string: the entry's own at
    beat(w, observed=None)
    beat(w, at="2026-04-01T03:07:00.123456Z")  # microseconds, UTC
    beat(w)
    return w.events


def observed_apart() -> list[Event]:
    w = _started()
    beat(w, observed=iso(w.now - timedelta(minutes=30)))  # observed before the last sign of life
    beat(w, observed=iso(w.now + timedelta(minutes=30)))  # and far after: C13
    beat(w)
    return w.events


def not_started_and_stopped() -> list[Event]:
    w = World()
    beat(w)  # no agent.started yet: its first sign of life makes its view
    beat(w)
    w.do("agent.stopped", {"observed_at": iso(w.now), "reason": "stop"}, actor="agent-ws01")
    beat(w, 600)  # stopped: a long silence is no gap, and the agent runs again
    beat(w, 10)  # running again, and silent too long: C13
    return w.events


def before_genesis() -> list[Event]:
    w = World()
    early = Event(0, "agent.heartbeat", iso(w.now - timedelta(days=1)), "agent-ws01",
                  {"observed_at": iso(w.now - timedelta(days=1)), "sequence": 0, "interval_ms": 60000})
    return [early, *(e._replace(seq=e.seq + 1) for e in w.events)]


SCENARIOS = [ordinary, silent_too_long, after_close, unknown_actor, person_key, subcontractor_agent, removed_agent,
             malformed_times, observed_apart, not_started_and_stopped, before_genesis]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
@pytest.mark.parametrize("with_at_us", [False, True], ids=["parsed-here", "at_us"])
def test_fast_path_finds_what_the_general_path_finds(scenario: Any, with_at_us: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    events = scenario()
    general = replay(events, fast=False, monkeypatch=monkeypatch)
    fast = replay(events, fast=True, with_at_us=with_at_us, monkeypatch=monkeypatch)
    assert general.fast == 0
    assert fast.found == general.found
    assert fast.state == general.state


def test_the_scenarios_meet_their_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each edge scenario finds what it is named for (else the comparison above would compare little)."""
    def codes(scenario: Any) -> list[str]:
        return sorted({v[0] for found in replay(scenario(), fast=False, monkeypatch=monkeypatch).found for v in found})

    assert "C13" in codes(silent_too_long)
    assert "C13" in codes(observed_apart)
    assert "C13" in codes(not_started_and_stopped)
    for edge in (unknown_actor, person_key, subcontractor_agent, removed_agent, before_genesis):
        assert "C9" in codes(edge), edge.__name__


def test_ordinary_signs_of_life_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    events = ordinary()
    signs = sum(e.type in ("agent.heartbeat", "volume.detached") for e in events)
    assert replay(events, fast=True, monkeypatch=monkeypatch).fast == signs == 10
    assert replay(events, fast=True, with_at_us=True, monkeypatch=monkeypatch).fast == signs


@pytest.mark.parametrize("text", [
    "2026-04-01T09:00:00.000+09:00", "2026-04-01T09:00:00.001+09:00", "2026-04-01T09:00:00.999+09:00",
    "2026-04-01T09:00:00.123456+09:00", "2026-04-01T09:00:00.000999-05:30", "1969-12-31T23:59:59.999500Z",
    "1900-01-01T00:00:00.000001+14:00", "2255-06-05T23:47:34.740991Z", "9999-12-31T23:59:59.999999-23:59",
])
def test_a_time_parsed_to_microseconds_is_the_same_milliseconds(text: str) -> None:
    us = at_us(text)
    assert us is not None
    assert _ms_of_us(us) == at_ms(text) == _ms(text)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                                                                max_value=timedelta(hours=23, minutes=59)))))
def test_any_time_parsed_to_microseconds_is_the_same_milliseconds(moment: datetime) -> None:
    text = moment.isoformat()
    us = at_us(text)
    assert us is not None
    assert _ms_of_us(us) == at_ms(text)


@pytest.mark.parametrize("observed", ["2026-04-01T09:30:00.250+09:00", "1970-01-01T00:00:00Z", "not a time", 12345,
                                      None], ids=["time", "the-epoch", "malformed", "not-text", "absent"])
def test_a_file_batch_is_timed_by_its_observation_else_its_at(observed: object) -> None:
    """The time an uncovered batch waits with (C11) is its observed_at, else (absent, malformed or the epoch) its
    ``at``; the agent's liveness (C13) reads the observed_at only when it is text."""
    w = _started(86_400_000)
    w.receive()
    w.checkout()
    body = {"volume_id": "uuid:SN-001", "serial": "SN-001", "media_id": "M-001", "label": "USB", "batch": 1,
            "count": 1, "truncated": False, "files": [{"path": "out/0.csv", "size": 10, "sha256": "ab" * 32}]}
    if observed is not None:
        body["observed_at"] = observed
    before = w.state.agents["agent-ws01"].last_ms
    w.do("files.written", body, actor="agent-ws01")
    at = w.events[-1].at
    assert w.state.pending_writes["M-001"] == [[w.seq - 1, _ms(observed) or _ms(at)]]
    seen = _ms(observed if isinstance(observed, str) else at)
    assert w.state.agents["agent-ws01"].last_ms == (before if seen is None else max(before, seen))
