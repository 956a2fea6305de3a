"""The witness's own record, cross-checked (verify/witness_record.py) and taken by the verifier.

latest.json, the journal and the kept checkpoint files must agree; every disagreement is a problem the
verifier reports as I5, and the sizes and roots the record vouches for hold even where the checkpoint files
were lost.  One case per way a trust store can be damaged or restored in part.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from custody.verify.authority import origin_key
from custody.verify.findings import ERROR, WARNING
from custody.verify.trust import RecordedHead
from custody.verify.witness_record import cross_check, parse_journal
from tests.verify.witness_fixtures import World, make_world

SIZE = 6


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path / "w")
    for _ in range(SIZE - 1):
        w.grow(1)
    w.seed(1001)
    for s in range(2, SIZE + 1):
        assert w.authority.add_checkpoint(w.request(s, old=s - 1), w.witness, 1000 + s).ok
    yield w
    w.close()


def store(world: World) -> Path:
    return world.authority.path / "logs" / origin_key(world.ledger.origin)


def journal_lines(world: World) -> list[dict[str, object]]:
    return [json.loads(line) for line in (store(world) / "cosigned.jsonl").read_text().splitlines()]


def write_journal(world: World, lines: list[dict[str, object]]) -> None:
    (store(world) / "cosigned.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def other_root(world: World) -> str:
    return base64.b64encode(bytes(32)).decode()


def _no_checkpoints(w: World) -> None:
    shutil.rmtree(store(w) / "checkpoints")


def _no_latest(w: World) -> None:
    (store(w) / "latest.json").unlink()


def _no_journal(w: World) -> None:
    (store(w) / "cosigned.jsonl").unlink()


def _latest_damaged(w: World) -> None:
    (store(w) / "latest.json").write_text("{ not json")


def _latest_other_root(w: World) -> None:
    doc = json.loads((store(w) / "latest.json").read_text())
    (store(w) / "latest.json").write_text(json.dumps({**doc, "root_hash": other_root(w)}))


def _latest_behind(w: World) -> None:
    doc = json.loads((store(w) / "latest.json").read_text())
    root = journal_lines(w)[2]["root_hash"]
    (store(w) / "latest.json").write_text(json.dumps({**doc, "size": 3, "root_hash": root,
                                                      "checkpoint": "000000000003.checkpoint"}))


def _journal_line_damaged(w: World) -> None:
    text = (store(w) / "cosigned.jsonl").read_text().splitlines(keepends=True)
    text[2] = "{ garbage\n"
    (store(w) / "cosigned.jsonl").write_text("".join(text))


def _journal_goes_back(w: World) -> None:
    lines = journal_lines(w)
    lines[1], lines[3] = lines[3], lines[1]
    write_journal(w, lines)


def _journal_other_root(w: World) -> None:
    lines = journal_lines(w)
    lines[2] = {**lines[2], "root_hash": other_root(w)}
    write_journal(w, lines)


def _journal_lost_lines(w: World) -> None:
    write_journal(w, journal_lines(w)[:3])  # an older copy of the journal


def _checkpoint_lost(w: World) -> None:
    (store(w) / "checkpoints" / "000000000003.checkpoint").unlink()


def _checkpoint_forged(w: World) -> None:
    path = store(w) / "checkpoints" / "000000000004.checkpoint"
    path.write_bytes(path.read_bytes().replace(b"\n4\n", b"\n5\n", 1))


def _checkpoint_renamed(w: World) -> None:
    shutil.copy(store(w) / "checkpoints" / "000000000002.checkpoint",
                store(w) / "checkpoints" / "000000000009.checkpoint")


DAMAGE: list[tuple[str, Callable[[World], None], str]] = [
    ("every checkpoint file lost (a partial restore)", _no_checkpoints, "missing"),
    ("latest.json lost", _no_latest, "latest.json is missing"),
    ("the journal lost", _no_journal, "records no cosignature"),
    ("latest.json damaged", _latest_damaged, "damaged"),
    ("latest.json names another root", _latest_other_root, "different roots"),
    ("latest.json behind the journal", _latest_behind, "the last cosignature in cosigned.jsonl is of size 6"),
    ("a journal line damaged", _journal_line_damaged, "damaged at line(s) 3"),
    ("the journal goes back", _journal_goes_back, "goes back"),
    ("the journal names another root", _journal_other_root, "different roots"),
    ("the journal restored from an older copy", _journal_lost_lines, "of size 3"),
    ("one checkpoint file lost", _checkpoint_lost, "(3)"),
    ("a checkpoint file altered", _checkpoint_forged, "does not verify"),
    ("a checkpoint file under another size's name", _checkpoint_renamed, "not this witness's"),
]


@pytest.mark.parametrize(("what", "damage", "said"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_every_disagreement_is_an_error(world: World, what: str, damage: Callable[[World], None],
                                        said: str) -> None:
    assert world.authority.witness_record(world.ledger.origin).problems == ()
    damage(world)
    record = world.authority.witness_record(world.ledger.origin)
    errors = [message for severity, message in record.problems if severity == ERROR]
    assert errors, (what, record.problems)
    assert any(said in message for message in errors), (what, record.problems)
    # Whatever copy is left still vouches for the largest size.
    assert record.latest is not None and record.latest.size == SIZE, what
    # And the verifier takes it: every problem, and the heads.
    anchor = world.authority.trust_anchor(world.ledger.origin)
    assert anchor.record_problems == record.problems
    assert max(h.size for h in anchor.recorded_heads) == SIZE, what


def test_an_intact_record_vouches_for_every_size(world: World) -> None:
    record = world.authority.witness_record(world.ledger.origin)
    assert record.problems == ()
    assert [(h.size, h.root_hash, h.timestamp) for h in record.heads] == [
        (s, world.ledger.store.root(s), 1000 + s) for s in range(1, SIZE + 1)]
    assert record.latest == record.heads[-1]


def test_a_store_that_never_cosigned_has_no_record(tmp_path: Path) -> None:
    w = make_world(tmp_path / "w")
    try:
        record = w.authority.witness_record(w.ledger.origin)
        assert record == type(record)((), None, ())
    finally:
        w.close()


def test_cross_check_reads_nothing_but_what_it_is_given(world: World) -> None:
    """The pure function: the same bytes give the same answer, wherever they come from."""
    kept = [(p.name, p.read_bytes()) for p in sorted((store(world) / "checkpoints").iterdir())]
    latest = (store(world) / "latest.json").read_bytes()
    journal = (store(world) / "cosigned.jsonl").read_bytes()
    log, witness = world.ledger.log_verifier(), [world.witness.verifier()]
    check = cross_check(latest, journal, kept, origin=world.ledger.origin, log=log, witness=witness)
    assert check.problems == () and check.latest is not None and check.latest.size == SIZE
    # Another origin's state is not this one's.
    other = cross_check(latest, journal, kept, origin="city.example.lg.jp/other", log=log, witness=witness)
    assert any("damaged" in m for _s, m in other.problems)
    # Nothing at all: nothing cosigned, nothing wrong.
    assert cross_check(None, None, [], origin=world.ledger.origin, log=log, witness=witness).problems == ()
    # A journal cut short mid-line is a warning only (a kill), and its whole lines still count.
    cut = cross_check(latest, journal[:-5], kept, origin=world.ledger.origin, log=log, witness=witness)
    assert {s for s, _m in cut.problems} == {WARNING}


@pytest.mark.parametrize(("data", "heads", "damaged", "torn"), [
    (b"", 0, [], False),
    (b'{"size": 1, "root_hash": "' + base64.b64encode(bytes(32)) + b'", "timestamp": 5}\n', 1, [], False),
    (b'{"size": 1, "root_hash": "AAAA", "timestamp": 5}\n', 0, [1], False),  # not 32 bytes
    (b'{"size": -1, "root_hash": "' + base64.b64encode(bytes(32)) + b'", "timestamp": 5}\n', 0, [1], False),
    (b'{"size": true, "root_hash": "' + base64.b64encode(bytes(32)) + b'", "timestamp": 5}\n', 0, [1], False),
    (b'[1, 2]\n\n{"size": 2', 0, [1], True),
    (b"\xff\xfe\n", 0, [1], False),
])
def test_journal_lines(data: bytes, heads: int, damaged: list[int], torn: bool) -> None:
    parsed, bad, cut = parse_journal(data)
    assert (len(parsed), bad, cut) == (heads, damaged, torn)
    assert all(isinstance(h, RecordedHead) for h in parsed)
