"""The verifier takes runs of an agent's signs of life whole (``ledger.lifecycle.liveness``): on a real bundle
whose heartbeats meet every edge a run can meet -- a silence (C13), a person's key (C9), a removed agent's key
and a forged signature (I2), a time that runs backwards (I9), runs cut at the chunks' edges -- it
finds exactly what it finds when every entry is replayed one by one, and it did take runs whole.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from custody.ledger import canonical
from custody.ledger.bundle import Bundle
from custody.verify import pool
from custody.verify.engine import Result, verify_bundle
from custody.verify.rules import default_rules
from custody.verify.rules.lifecycle import LifecycleRule
from tests.verify.builders import Site, rewrite_lines
from tests.world import iso


def _beat(site: Site, actor: str, n: int, *, after: timedelta | None = None) -> None:
    for _ in range(n):
        if after is not None:
            site.clock.jump(site.clock.peek() + after)
            after = None
        at = site.next_at()
        site.do("agent.heartbeat", {"interval_ms": 60000, "observed_at": at, "sequence": site.size,
                                    "uptime_seconds": 60, "volumes": []}, actor=actor)


def _forge_signature(line: bytes) -> bytes:
    """The same entry with the last byte of its signature changed: its key ID still names its actor's key."""
    obj = json.loads(line)
    sig = bytearray(base64.b64decode(obj["sig"]))
    sig[-1] ^= 1
    obj["sig"] = base64.b64encode(bytes(sig)).decode()
    return canonical.dumps(obj)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Site, int]:
    site = Site(tmp_path_factory.mktemp("runs"))
    site.staff()
    site.person("agent-ws02", role="agent")
    site.do("agent.started", {"host": "ws-02", "observed_at": site.next_at(),
                              "config": {"heartbeat_interval_ms": 60000, "allowed_gap_ms": 120_000}},
            actor="agent-ws02")
    _beat(site, "agent-ws01", 40)
    _beat(site, "agent-ws02", 10)
    _beat(site, "agent-ws02", 10, after=timedelta(minutes=10))  # C13 inside a run of ws02's
    site.do("note.recorded", {"text": "lunch"}, actor="op-tanaka")
    _beat(site, "agent-ws01", 20)  # one of them is forged below
    back = iso(site.clock.peek() - timedelta(hours=1))
    site.backdated("agent.heartbeat", {"interval_ms": 60000, "observed_at": back, "sequence": 0,
                                       "uptime_seconds": 1, "volumes": []}, back, actor="agent-ws01")  # I9
    _beat(site, "agent-ws01", 10)
    _beat(site, "op-tanaka", 5)  # C9: a person's key signing an agent's entries
    site.do("personnel.removed", {"key_name": "agent-ws02"})
    _beat(site, "agent-ws02", 5)  # I2: a removed agent's key
    _beat(site, "agent-ws01", 3 * pool.CHUNK)  # across chunks: runs end at every chunk's edge
    out = site.export()
    forged = site.size - 3 * pool.CHUNK - 26
    rewrite_lines(out, lambda lines: [*lines[:forged], _forge_signature(lines[forged]), *lines[forged + 1 :]])
    return out, site, forged


def _verify(path: Path, site: Site, workers: int) -> Result:
    with Bundle(path) as b:
        return verify_bundle(b, site.trust(), default_rules(), workers=workers)


def _rows(result: Result) -> list[tuple[Any, ...]]:
    return [(f.code, f.severity, f.seq, f.media, f.message) for f in result.findings]


@pytest.mark.parametrize("workers", [1, 2])
def test_runs_find_what_entry_by_entry_finds(bundle: tuple[Path, Site, int], workers: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path, site, forged = bundle
    taken: list[int] = []
    whole = LifecycleRule.observe_run

    def counting(self: LifecycleRule, run: Any, ctx: Any) -> bool:
        took = whole(self, run, ctx)
        if took:
            taken.append(run.last_seq - run.first_seq + 1)
        return took

    monkeypatch.setattr(LifecycleRule, "observe_run", counting)
    with_runs = _verify(path, site, workers)
    monkeypatch.setattr(LifecycleRule, "observe_run", lambda self, run, ctx: False)
    one_by_one = _verify(path, site, workers)
    assert _rows(with_runs) == _rows(one_by_one)
    assert with_runs.state is not None and one_by_one.state is not None
    assert with_runs.state.to_json() == one_by_one.state.to_json()
    codes = {row[0] for row in _rows(with_runs)}
    assert {"C9", "C13", "I1", "I2", "I9"} <= codes, codes
    assert [row[0] for row in _rows(with_runs) if row[2] == forged] == ["I2"]  # inside what was a run
    assert sum(taken) > 3 * pool.CHUNK - 100  # most heartbeats were taken in runs
    assert max(taken) <= pool.CHUNK
