"""Runs of an agent's signs of life taken whole (``lifecycle.liveness``): the runs a ``RunBuilder`` collects,
replayed with ``apply_alive_run`` (and entry by entry where it declines), find what the general path finds and
leave the same state -- on the edge scenarios of the per-entry fast path and on generated ledgers whose silences
fall on either side of the allowed gap, to the millisecond.
"""

from __future__ import annotations

from dataclasses import astuple
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger.lifecycle import Event, apply, engine, new_state
from custody.ledger.lifecycle.liveness import AliveRun, RunBuilder, apply_alive_run
from custody.ledger.lifecycle.observation import GAP_SLACK_MS
from tests.ledger.test_lifecycle_fast_path import SCENARIOS, _started, at_us, beat
from tests.world import ORIGIN, iso

Found = list[list[tuple[Any, ...]]]


def collect(events: list[Event]) -> list[AliveRun]:
    """The runs among ``events``, each offered as the verifier's workers offer an entry with no finding."""
    builder = RunBuilder()
    for e in events:
        builder.offer(e.seq, e.type, e.actor, e.at, at_us(e.at), e.body.get("observed_at"))
    builder.close()
    return builder.runs


def general(events: list[Event], monkeypatch: pytest.MonkeyPatch) -> tuple[Found, dict[str, Any]]:
    """Every entry through the general path (no fast path at all)."""
    with monkeypatch.context() as m:
        m.setattr(engine, "LIVENESS_ONLY", frozenset())
        state = new_state(ORIGIN)
        found = [[astuple(v) for v in apply(state, e)] for e in events]
    return found, state.to_json()


def with_runs(events: list[Event]) -> tuple[Found, dict[str, Any], int]:
    """As the verifier replays: a run whole where ``apply_alive_run`` takes it, else its entries one by one;
    with how many entries were taken in runs."""
    runs = {run.first_seq: run for run in collect(events)}
    state = new_state(ORIGIN)
    found: Found = []
    taken = 0
    index = 0
    while index < len(events):
        e = events[index]
        run = runs.get(e.seq)
        if run is not None and apply_alive_run(state, run):
            count = run.last_seq - run.first_seq + 1
            found.extend([] for _ in range(count))
            taken += count
            index += count
            continue
        found.append([astuple(v) for v in apply(state, e, at_us(e.at))])
        index += 1
    return found, state.to_json(), taken


def assert_same(events: list[Event], monkeypatch: pytest.MonkeyPatch) -> int:
    want_found, want_state = general(events, monkeypatch)
    got_found, got_state, taken = with_runs(events)
    assert got_found == want_found
    assert got_state == want_state
    return taken


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_runs_find_what_the_general_path_finds(scenario: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same(scenario(), monkeypatch)


def test_an_ordinary_shift_is_taken_in_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    w = _started()
    for _ in range(50):
        beat(w)
    w.do("note.recorded", {"text": "lunch"}, actor="op-tanaka")
    for _ in range(30):
        beat(w)
    runs = collect(w.events)
    assert [(r.last_seq - r.first_seq + 1) for r in runs] == [50, 30]
    assert runs[0].max_step_us == 60_000_000
    assert assert_same(w.events, monkeypatch) == 80


@pytest.mark.parametrize(("step_ms", "whole"), [
    (60_000, True),
    (120_000 + GAP_SLACK_MS - 1, True),  # the bound: a step of d us is less than d / 1000 + 1 ms
    (120_000 + GAP_SLACK_MS, False),  # the longest quiet step, too close for the bound: entry by entry
    (120_000 + GAP_SLACK_MS + 1, False),  # C13
])
def test_a_step_near_the_allowed_gap(step_ms: int, whole: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    w = _started(120_000)
    beat(w)
    beat(w, step_ms / 60_000)
    beat(w)
    taken = assert_same(w.events, monkeypatch)
    assert taken == (3 if whole else 0)


def _run_of(events: list[Event]) -> AliveRun:
    (run,) = [r for r in collect(events) if r.last_seq > r.first_seq]
    return run


@pytest.mark.parametrize(("name", "edit"), [
    ("unknown actor", lambda w: beat(w, actor="agent-ws99")),
    ("a person's key", lambda w: beat(w, actor="op-tanaka")),
])
def test_a_run_of_no_registered_agent_is_declined(name: str, edit: Any) -> None:
    w = _started()
    for _ in range(3):
        edit(w)
    state = new_state(ORIGIN)
    first = _run_of(w.events).first_seq
    for e in w.events[:first]:
        apply(state, e)
    before = state.to_json()
    assert not apply_alive_run(state, _run_of(w.events)), name
    assert state.to_json() == before


@pytest.mark.parametrize(("name", "beats", "lengths"), [
    ("another actor", [{}, {"actor": "agent-ws02"}, {}], [1, 1, 1]),
    ("a time that runs backwards", [{}, {"minutes": -0.5}, {}], [1, 2]),
    ("an observation time of its own", [{}, {"observed": "2026-04-01T08:00:00.000+09:00"}, {}], [1, 1]),
    ("no observation time", [{}, {"observed": None}, {}], [3]),
    ("a time without an offset", [{}, {"at": "2026-04-01T12:00:00", "observed": None}, {}], [1, 1]),
    ("a detach", [{}, {"type_": "volume.detached"}, {}], [3]),
])
def test_what_ends_a_run(name: str, beats: list[dict[str, Any]], lengths: list[int]) -> None:
    w = _started()
    start = len(w.events)
    for kw in beats:
        beat(w, **kw)
    runs = [r for r in collect(w.events) if r.first_seq >= start]
    assert [r.last_seq - r.first_seq + 1 for r in runs] == lengths, name


def test_a_gap_in_seq_ends_a_run() -> None:
    builder = RunBuilder()
    for seq in (5, 6, 8):
        builder.offer(seq, "agent.heartbeat", "agent-ws01", f"2026-04-01T09:0{seq}:00+09:00",
                      at_us(f"2026-04-01T09:0{seq}:00+09:00"), None)
    builder.offer(9, "note.recorded", "agent-ws01", "2026-04-01T09:09:00+09:00", 0, None)
    assert [(r.first_seq, r.last_seq) for r in builder.runs] == [(5, 6), (8, 8)]


_ACTORS = st.sampled_from(["agent-ws01", "agent-ws01", "agent-ws01", "agent-ws02", "op-tanaka"])
_STEP = st.one_of(
    st.integers(0, 180_000),  # milliseconds, around the 120 s allowed
    st.integers(120_000 + GAP_SLACK_MS - 1_500, 120_000 + GAP_SLACK_MS + 1_500),  # at the edge
)
_ACT = st.one_of(
    st.tuples(st.just("beat"), _STEP, _ACTORS, st.sampled_from(["agent.heartbeat", "volume.detached"]),
              st.sampled_from(["same", None, "other"])),
    st.tuples(st.just("note"), _STEP, st.just("op-tanaka"), st.just(""), st.just(None)),
    st.tuples(st.just("stop"), _STEP, st.just("agent-ws01"), st.just(""), st.just(None)),
    st.tuples(st.just("remove"), _STEP, st.just("resp-sato"), st.just(""), st.just(None)),
)


@settings(max_examples=300, deadline=None)
@given(acts=st.lists(_ACT, max_size=40))
def test_any_ledger_of_signs_of_life(acts: list[tuple[str, int, str, str, object]]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        w = _started(120_000)
        for kind, step_ms, actor, type_, observed in acts:
            if kind == "beat":
                beat(w, step_ms / 60_000, actor=actor, type_=type_,
                     observed=iso(w.now - timedelta(seconds=30)) if observed == "other" else observed)
            else:
                moment = w.now + timedelta(milliseconds=step_ms)
                if kind == "note":
                    w.do("note.recorded", {"text": "n"}, actor=actor, at=moment)
                elif kind == "stop":
                    w.do("agent.stopped", {"observed_at": iso(moment), "reason": "stop"}, actor=actor, at=moment)
                else:
                    w.do("personnel.removed", {"key_name": "agent-ws01"}, actor=actor, at=moment)
        assert_same(w.events, monkeypatch)
