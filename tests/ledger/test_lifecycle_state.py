"""custody.ledger.lifecycle as a state machine: snapshots, check() purity, random action sequences (hypothesis).

Two disciplines drive the same model:

* the CLI's: ``precheck`` first, write (``advance``) only when nothing blocks.  Random sequences of
  actions must never reach an illegal state (a disposed medium checked out, a medium out on no takeout,
  ...), and a refused action must leave the state exactly as it was;
* the verifier's: ``apply`` every entry, however wrong (also malformed bodies and unknown actors).  It
  must never raise, and ``check`` on a copy must report exactly what ``apply`` reports.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from custody.ledger import canonical
from custody.ledger.lifecycle import (
    STATE_FORMAT,
    Event,
    LedgerState,
    advance,
    apply,
    check,
    finish,
    precheck,
    refusal,
)
from custody.ledger.media import DISPOSAL_APPROVED, GONE, STATES, TAKEN_OUT
from custody.ledger.violation import Violation
from tests.world import (
    ORIGIN,
    SHA,
    World,
    approve,
    closed_body,
    departed_body,
    disposed_body,
    erased_body,
    iso,
    medium_fields,
    receipt,
    received_body,
    registered_body,
    return_check,
    returned_body,
    verification,
    volume,
)

MEDIA = ["M-1", "M-2", "M-3", "C-1", "C-2"]
SERIALS = ["S-1", "S-2", "S-3", "S-4", "S-5", "S-6"]
ACTORS = ["resp-sato", "op-tanaka", "agent-ws01", "intruder"]
MOSTLY = st.sampled_from([True, True, True, True, False])  # valid most of the time, to reach deep states


def scenario() -> World:
    """A varied ledger: takeouts, copies, disposal, an incident, agent traffic."""
    w = World()
    w.agent_start()
    w.receive()
    w.receive("M-002", "SN-002", receipt=receipt("R-2"))
    w.register()
    w.checkout()
    w.copy()
    w.do("files.written", {**volume("C-001", "CSN-001", w.now), "batch": 1, "count": 1, "truncated": False,
                           "files": [{"path": "a.csv", "size": 1, "sha256": SHA}]}, actor="agent-ws01")
    seq = w.depart(["C-001"])
    w.do("takeout.returned", {"takeout_seq": seq, "media_ids": ["C-001"], "check": return_check()})
    w.ok("media.erased", erased_body("C-001"), actor="op-tanaka")
    w.checkin()
    w.approve_disposal(["M-001"])
    w.dispose()
    w.do("incident.reported", {"kind": "lost", "detected_at": iso(w.now), "media_ids": ["M-002"],
                               "situation": "所在不明"})
    w.do("volume.attached", volume(None, "SN-001", w.now), actor="agent-ws01")
    return w


def replay(events: list[Event], state: LedgerState | None = None) -> tuple[LedgerState, list[Violation]]:
    state = state or LedgerState(ORIGIN)
    found: list[Violation] = []
    for e in events:
        found += apply(state, e)
    return state, found


def test_snapshot_round_trip_is_exact_and_canonical() -> None:
    w = scenario()
    doc = w.state.to_json()
    assert doc["format"] == STATE_FORMAT
    text = canonical.dumps(doc)  # no floats, no odd values
    restored = LedgerState.from_json(canonical.loads(text))
    assert restored.to_json() == doc
    assert json.loads(json.dumps(doc)) == doc


def test_replay_from_a_snapshot_equals_replay_from_the_start() -> None:
    """The CLI's cached snapshot: restore at any point, continue, get the same state and violations."""
    w = World()
    w.agent_start()
    w.receive()
    w.checkout()
    w.copy()
    seq = w.depart(["C-001"])
    w.do("takeout.returned", {"takeout_seq": seq, "media_ids": ["C-001"], "check": return_check()})
    w.approve_disposal(["M-001"])
    w.ok("media.erased", erased_body("C-001"), actor="op-tanaka")
    w.do("media.checked_out", {"media_id": "M-001", "person": "intruder", "purpose": "x"}, actor="intruder")
    events = w.events
    full, full_found = replay(events)
    for cut in range(0, len(events), 3):
        head, head_found = replay(events[:cut])
        restored = LedgerState.from_json(json.loads(json.dumps(head.to_json())))
        tail, tail_found = replay(events[cut:], restored)
        assert tail.to_json() == full.to_json()
        assert [v.to_json() for v in head_found + tail_found] == [v.to_json() for v in full_found]
        assert [v.to_json() for v in finish(tail)] == [v.to_json() for v in finish(full)]


def test_from_json_rejects_other_documents() -> None:
    import pytest

    docs: list[Any] = [{}, {"format": "other"}, []]
    for doc in docs:
        with pytest.raises(ValueError, match="snapshot"):
            LedgerState.from_json(doc)


def test_clone_is_independent() -> None:
    w = scenario()
    copy = w.state.clone()
    w.checkout("V-001")
    assert copy.state_of("V-001") == "in_storage"
    assert w.state.state_of("V-001") == "checked_out"


def test_heartbeats_are_cheap() -> None:
    """Not a timing test (bench/ is for that): a sanity bound far above the target of a few microseconds."""
    w = World()
    w.agent_start()
    base = w.now
    events = [Event(w.seq + i, "agent.heartbeat", iso(base + timedelta(seconds=60 * i)), "agent-ws01",
                    {"observed_at": iso(base + timedelta(seconds=60 * i)), "sequence": i, "interval_ms": 60000})
              for i in range(20000)]
    start = time.perf_counter()
    for e in events:
        apply(w.state, e)
    per_entry = (time.perf_counter() - start) / len(events)
    assert per_entry < 100e-6, per_entry
    assert w.state.agents["agent-ws01"].last_seq == events[-1].seq


# --- random sequences, the CLI's discipline ---


class CliDiscipline(RuleBasedStateMachine):
    """Random acts, refused when a violation blocks (as the CLI does); the state stays legal."""

    def __init__(self) -> None:
        super().__init__()
        self.w = World()
        self.w.agent_start()
        self.final: dict[str, str] = {}
        self.refused = 0
        self.written = 0
        self.n = 0

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"

    def attempt(self, type_: str, body: dict[str, Any], actor: str = "resp-sato") -> None:
        e = self.w.event(type_, body, actor)
        before = self.w.state.to_json()
        found = precheck(self.w.state, e)
        assert self.w.state.to_json() == before, "precheck changed the state"
        checked = check(self.w.state, e)
        assert [v.to_json() for v in found[: len(checked)]] == [v.to_json() for v in checked]
        if refusal(found) is not None:
            self.refused += 1
            assert self.w.state.to_json() == before
            return
        advance(self.w.state, e)
        self.w.seq += 1
        self.written += 1

    @rule(media_id=st.sampled_from(MEDIA), serial=st.sampled_from(SERIALS))
    def receive(self, media_id: str, serial: str) -> None:
        self.attempt("media.received", received_body(media_id, serial, receipt=receipt(self.fresh("R"))))

    @rule(media_id=st.sampled_from(MEDIA), serial=st.sampled_from(SERIALS))
    def register(self, media_id: str, serial: str) -> None:
        self.attempt("media.registered", registered_body(media_id, serial))

    @rule(data=st.data(), out=st.booleans(), actor=st.sampled_from(ACTORS))
    def checkout_or_in(self, data: st.DataObject, out: bool, actor: str) -> None:
        media_id = self.known(data, "in_storage" if out else "checked_out")
        self.attempt("media.checked_out" if out else "media.checked_in",
                     {"media_id": media_id, "person": "op-tanaka", "purpose": "作業"}, actor)

    def known(self, data: st.DataObject, *states: str) -> str:
        """Mostly a medium that exists, preferably in one of ``states`` (when there is one)."""
        media = self.w.state.media
        ids = sorted(i for i in media if media[i].state in states) or sorted(media)
        existing: bool = data.draw(MOSTLY)
        pick: str = data.draw(st.sampled_from(ids if ids and existing else MEDIA))
        return pick

    @rule(data=st.data(), covered=MOSTLY, encrypted=MOSTLY, reuse=st.booleans())
    def depart(self, data: st.DataObject, covered: bool, encrypted: bool, reuse: bool) -> None:
        media = sorted({self.known(data, "in_storage", "checked_out") for _ in range(data.draw(st.integers(1, 2)))})
        approval_id = f"T-REUSED-{'-'.join(media)}" if reuse else self.fresh("T")
        note = approve("takeout", approval_id, media if covered else ["M-9"], max_uses=1)
        enc = {"method": "software", "algorithm": "AES-256"} if encrypted else {"method": "none"}
        self.attempt("takeout.departed", departed_body(note, media, encryption=enc), "op-tanaka")

    @rule(data=st.data(), erase=st.booleans(), guess=st.integers(0, 60))
    def end_takeout(self, data: st.DataObject, erase: bool, guess: int) -> None:
        media_id = self.known(data, "taken_out")
        m = self.w.state.media.get(media_id)
        seq = m.takeout_seq if m is not None and m.takeout_seq is not None else guess
        body: dict[str, Any] = {"takeout_seq": seq, "media_ids": [media_id]}
        if erase:
            body.update(erased_by="op-tanaka", verification=verification(),
                        method={"category": "purge", "technique": "cryptographic erase"})
            self.attempt("takeout.erased_at_destination", body)
        else:
            self.attempt("takeout.returned", {**body, "check": return_check()})

    @rule(data=st.data(), copy_id=st.sampled_from(MEDIA), serial=st.sampled_from(SERIALS), covered=MOSTLY)
    def copy(self, data: st.DataObject, copy_id: str, serial: str, covered: bool) -> None:
        source = self.known(data)
        note = approve("copy", self.fresh("K"), [source] if covered else ["M-9"])
        self.attempt("copy.made", {"approval": note, "source_media_id": source, **medium_fields(copy_id, serial)},
                     "op-tanaka")

    @rule(data=st.data())
    def erase(self, data: st.DataObject) -> None:
        media_id = self.known(data, "disposal_approved", "checked_out")
        self.attempt("media.erased", erased_body(media_id), "op-tanaka")

    @rule(data=st.data(), right_serial=MOSTLY)
    def approve_disposal(self, data: st.DataObject, right_serial: bool) -> None:
        media_id = self.known(data, "in_storage", "checked_out", "erased")
        m = self.w.state.media.get(media_id)
        serial = m.serial if m is not None and right_serial else "S-WRONG"
        note = approve("dispose", self.fresh("D"), [media_id], serials={media_id: serial})
        self.attempt("disposal.approved", {"approval": note})

    @rule(data=st.data(), witness=MOSTLY, photo=MOSTLY)
    def dispose(self, data: st.DataObject, witness: bool, photo: bool) -> None:
        media_id = self.known(data, "disposal_approved", "erased")
        m = self.w.state.media.get(media_id)
        body = disposed_body(media_id, m.serial if m else "S-1", m.disposal_id or "D-0" if m else "D-0")
        if not witness:
            body.pop("witness")
        if not photo:
            body["photos"] = []
        self.attempt("media.disposed", body)

    @rule(data=st.data())
    def give_back(self, data: st.DataObject) -> None:
        media_id = self.known(data, "in_storage", "erased", "checked_out")
        self.attempt("media.returned", returned_body(media_id))

    @rule(media_id=st.sampled_from(MEDIA), kind=st.sampled_from(["lost", "found", "suspicion"]),
          now=st.sampled_from([False] * 3 + [True]))
    def incident(self, media_id: str, kind: str, now: bool) -> None:
        if now:
            self.attempt("incident.reported", {"kind": kind, "detected_at": iso(self.w.now),
                                               "media_ids": [media_id], "situation": "x",
                                               "notified_at": iso(self.w.now)})

    @rule(media_id=st.sampled_from([*MEDIA, None]), serial=st.sampled_from(SERIALS), write=st.booleans())
    def observe(self, media_id: str | None, serial: str, write: bool) -> None:
        body = volume(media_id, serial, self.w.now)
        if write:
            body.update(batch=1, count=1, truncated=False, files=[{"path": "f", "size": 1, "sha256": SHA}])
        self.attempt("files.written" if write else "volume.attached", body, "agent-ws01")

    @rule(days=st.integers(0, 60))
    def wait(self, days: int) -> None:
        self.w.now += timedelta(days=days)

    @precondition(lambda self: self.w.state.closed is None)
    @rule(now=st.sampled_from([False] * 6 + [True]))
    def close(self, now: bool) -> None:
        if now:
            self.attempt("contract.closed", closed_body())

    @invariant()
    def legal(self) -> None:
        st_ = self.w.state
        for m in st_.media.values():
            assert m.state in STATES
            if m.id in self.final:
                assert m.state == self.final[m.id], f"{m.id} left {self.final[m.id]} for {m.state}"
            elif m.state in GONE:
                self.final[m.id] = m.state
            if m.state == TAKEN_OUT:
                assert m.takeout_seq is not None and m.id in st_.takeouts[m.takeout_seq].open
            else:
                assert m.takeout_seq is None
            if m.state == DISPOSAL_APPROVED:
                assert m.disposal_id is not None and st_.disposals[m.disposal_id].media[m.id] == "pending"
        for t in st_.takeouts.values():
            for media_id in t.open:
                assert st_.media[media_id].state == TAKEN_OUT
        assert st_.counts()["open"] == sum(1 for m in st_.media.values() if not m.settled)
        if st_.closed is not None:
            # nothing is left open at close; only a medium found again afterwards may reappear
            for m in st_.media.values():
                assert m.settled or any(
                    i["kind"] == "found" and m.id in i["media_ids"] and i["seq"] > st_.closed["seq"]
                    for i in st_.incidents
                ), m

    @invariant()
    def snapshot_round_trips(self) -> None:
        doc = self.w.state.to_json()
        assert LedgerState.from_json(doc).to_json() == doc


CliDiscipline.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestCliDiscipline = CliDiscipline.TestCase


# --- random sequences, the verifier's discipline ---

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5) | st.sampled_from(MEDIA + SERIALS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["media_id", "media_ids", "serial", "takeout_seq", "kind", "approval", "check", "method",
                         "verification", "source_media_id", "count", "observed_at", "contents", "x"]),
        inner, max_size=4),
    max_leaves=10,
)
TYPES = st.sampled_from([
    "media.received", "media.registered", "media.checked_out", "media.checked_in", "takeout.departed",
    "takeout.returned", "takeout.erased_at_destination", "copy.made", "media.erased", "disposal.approved",
    "media.disposed", "media.returned", "incident.reported", "contract.closed", "personnel.registered",
    "personnel.changed", "personnel.removed", "subcontract.approved", "key.rotated", "key.revoked",
    "agent.heartbeat", "agent.started", "agent.stopped", "volume.attached", "files.written", "observation.gap",
    "alert.raised", "note.recorded", "inspection.recorded", "unknown.type",
])


class VerifierDiscipline(CliDiscipline):
    """Every entry applied, right or wrong; also malformed bodies.  apply never raises and agrees with check."""

    def attempt(self, type_: str, body: dict[str, Any], actor: str = "resp-sato") -> None:
        e = self.w.event(type_, body, actor)
        predicted = check(self.w.state.clone(), e)
        found = apply(self.w.state, e)
        self.w.seq += 1
        assert [v.to_json() for v in found] == [v.to_json() for v in predicted]
        for v in found:
            assert v.code.startswith("C") and v.severity in ("error", "warning", "info")
            assert v.message_en and v.message_ja

    @rule(type_=TYPES, body=st.dictionaries(st.sampled_from(["media_id", "media_ids", "serial", "takeout_seq",
                                                             "kind", "approval", "check", "method", "count",
                                                             "observed_at", "contents", "receipt", "witness",
                                                             "photos", "vkey", "key_name", "changes"]),
                                            JSON, max_size=5),
          actor=st.sampled_from(ACTORS))
    def garbage(self, type_: str, body: dict[str, Any], actor: str) -> None:
        self.attempt(type_, body, actor)

    @invariant()
    def legal(self) -> None:
        for m in self.w.state.media.values():
            assert m.state in STATES
        canonical.dumps(self.w.state.to_json())
        finish(self.w.state)


VerifierDiscipline.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestVerifierDiscipline = VerifierDiscipline.TestCase
