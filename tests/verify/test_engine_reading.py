"""The engine's block readers agree with ``Bundle.iter_lines`` at every block size and line shape."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.ledger.bundle import Bundle
from custody.ledger.errors import InterruptedWorkError
from custody.verify import pool, scan


def _bundle(tmp_path: Path, data: bytes) -> Bundle:
    d = tmp_path / "b"
    d.mkdir()
    (d / "entries.jsonl").write_bytes(data)
    manifest = {"format": "custody-bundle/v1", "origin": "o", "size": 0, "checkpoints": [],
                "files": {"entries.jsonl": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}}}
    (d / "manifest.json").write_text(json.dumps(manifest))
    return Bundle(d)


def _line(seq: int, kind: str) -> bytes:
    return b'{"actor":"a","body":{},"seq":%d,"sig":"x","type":"%s"}' % (seq, kind.encode())


def _registers(line: bytes) -> bool:
    """The line's last member is a type that changes who may sign."""
    last = re.search(rb',"type":"([^"]*)"\}$', line)
    return last is not None and (last[1] == b"contract.opened" or last[1].startswith((b"personnel.", b"key.")))


SHAPES = {
    "plain": b"\n".join(_line(i, "agent.heartbeat") for i in range(10)) + b"\n",
    "no final newline": b"\n".join(_line(i, "agent.heartbeat") for i in range(10)),
    "registry lines": b"\n".join(
        _line(i, ("contract.opened", "note.recorded", "personnel.registered", "agent.heartbeat", "key.rotated",
                  "key.revoked", "personnel.removed", "files.written")[i % 8]) for i in range(24)) + b"\n",
    "last line registers": b"\n".join(_line(i, "personnel.changed") for i in range(3)),
    "blank lines": b"\n\n" + _line(2, "key.rotated") + b"\n\n",
    "empty": b"",
    "one line": _line(0, "contract.opened"),
    "nested type key": b'{"body":{"x":{"type":"key.rotated"}},"type":"note.recorded"}\n' + _line(1, "key.revoked"),
}


@pytest.mark.parametrize("block", [1, 2, 7, 64, 1 << 22])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_chunks_equal_iter_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, shape: str) -> None:
    monkeypatch.setattr(pool, "BLOCK", block)
    monkeypatch.setattr(pool, "CHUNK", 4)
    bundle = _bundle(tmp_path, SHAPES[shape])
    expected = list(bundle.iter_lines())
    digest = hashlib.sha256()
    seen: list[int] = []
    got: list[bytes] = []
    for start, lines, longs in pool.chunks(bundle, digest, seen.append):
        assert start == len(got) and 0 < len(lines) <= 4 and longs == {}
        got.extend(lines)
    assert got == expected
    assert digest.hexdigest() == hashlib.sha256(SHAPES[shape]).hexdigest()
    assert sum(seen) == sum(len(x) + 1 for x in expected)


@pytest.mark.parametrize("workers", [1, 2, 3, 5])
@pytest.mark.parametrize("block", [1, 3, 16, 1 << 22])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_registry_lines_finds_every_registry_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, shape: str, workers: int
) -> None:
    """One process, or several searching ranges of the file at once (made to, however small the file)."""
    monkeypatch.setattr(scan, "BLOCK", block)
    monkeypatch.setattr(scan, "PARALLEL_MIN_BYTES", 0)
    bundle = _bundle(tmp_path, SHAPES[shape])
    expected = [(seq, line) for seq, line in enumerate(bundle.iter_lines()) if seq == 0 or _registers(line)]
    assert list(pool.registry_lines(bundle, workers)) == expected


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 40])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_cuts_fall_at_line_starts(tmp_path: Path, shape: str, parts: int) -> None:
    data = SHAPES[shape]
    (tmp_path / "f").write_bytes(data)
    cuts = scan.cut_at_lines(tmp_path / "f", parts)
    assert cuts[0] == 0 and cuts[-1] == len(data) and cuts == sorted(set(cuts))
    assert len(cuts) - 1 <= max(parts, 1)
    assert all(data[cut - 1 : cut] == b"\n" for cut in cuts[1:-1])


def test_a_killed_search_worker_is_an_interrupted_verification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(scan, "_search_range", _die)
    bundle = _bundle(tmp_path, SHAPES["registry lines"])
    with pytest.raises(InterruptedWorkError, match="worker process stopped"):
        list(pool.registry_lines(bundle, 2))


def _die(*_args: object) -> None:
    os._exit(9)


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [(0, 4, [1, 2, 3]), (4, 4, [5, 7]), (8, 4, []), (8, 8, [12]), (12, 4, []), (16, 4, [])],
)
def test_checkpoint_sizes_inside_a_chunk(start: int, count: int, expected: list[int]) -> None:
    """Sizes strictly inside (start, start + count): the chunk's own ends are roots the parent already has."""
    assert pool._inside([1, 2, 3, 4, 5, 7, 8, 12, 16], start, count) == expected


_KINDS = ["agent.heartbeat", "key.rotated", "key.revoked", "personnel.registered", "note.recorded",
          "contract.opened", "files.written"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.lists(st.sampled_from([*_KINDS, "", "nested"]), max_size=40),
    final_newline=st.booleans(),
    block=st.sampled_from([1, 5, 64, 1 << 20]),
    workers=st.integers(min_value=2, max_value=6),
)
def test_search_in_ranges_numbers_every_hit_as_one_search_does(
    tmp_path: Path, kinds: list[str], final_newline: bool, block: int, workers: int
) -> None:
    """The ranges searched at once must number each hit exactly as one search of the whole file: a hit
    numbered one off would apply a key's registration or revocation at the wrong entry."""
    lines = [b"" if kind == "" else b'{"body":{"a":1,"type":"key.revoked"},"type":"note.recorded"}' if kind == "nested"
             else _line(i, kind) + b"x" * (i % 7) for i, kind in enumerate(kinds)]
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = tmp_path / f"entries-{len(data)}-{block}-{workers}.jsonl"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan, "BLOCK", block)
        with path.open("rb") as stream:
            alone = list(scan.search(stream))
        together = list(scan.search_file(path, workers))
    expected = [(n, line) for n, line in enumerate(data.split(b"\n") if data else []) if n == 0 or _registers(line)]
    if data.endswith(b"\n"):
        expected = [(n, line) for n, line in expected if n < data.count(b"\n")]
    assert alone == expected
    assert together == expected
