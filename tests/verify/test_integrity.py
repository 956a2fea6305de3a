"""Integrity findings I1..I9: a clean bundle passes, each kind of tampering is caught.

Bundles are real exports of real ledgers; the trust anchor is what the
municipality pinned (origin, log vkey, genesis hash) plus the checkpoints it
holds, never the bundle's own keys.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger import canonical
from custody.ledger.bundle import Bundle, export_bundle
from custody.ledger.cosignature import cosign
from custody.ledger.entry import parse_entry, sign_entry
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer, add_signatures, parse_note
from custody.verify.engine import Result, verify_bundle
from custody.verify.trust import TrustAnchor
from tests.helpers import Parties, new_ledger
from tests.verify.builders import rewrite_lines


def _cosign_latest(ledger: Ledger, parties: Parties) -> bytes:
    size, note = ledger.store.latest_checkpoint()  # type: ignore[misc]
    text = parse_note(note).text
    merged = add_signatures(note, [cosign(text, 1_790_000_000, parties.witness)])
    ledger.store.add_checkpoint(size, merged, "2026-04-01T00:00:00+00:00")
    return merged


@pytest.fixture
def world(tmp_path: Path) -> tuple[Ledger, Parties, Signer, TrustAnchor]:
    ledger, parties, log = new_ledger(tmp_path)
    for i in range(30):
        att = ledger.store.put_attachment(f"photo {i}".encode()) if i % 10 == 0 else None
        body: dict[str, object] = {"text": f"note {i}"}
        if att:
            body["attachments"] = [{"attachment": att, "name": f"p{i}.jpg"}]
        ledger.append("note.recorded", body, parties.responsible)
    ledger.checkpoint(log)
    held = _cosign_latest(ledger, parties)
    trust = TrustAnchor(
        origin=ledger.origin,
        log_vkey=ledger.log_verifier().vkey,
        genesis_leaf_hash=ledger.genesis().leaf_hash,
        approver_vkeys=(parties.approver.verifier().vkey,),
        witness_vkeys=(parties.witness.verifier().vkey,),
        held_checkpoints=(held,),
    )
    return ledger, parties, log, trust


def _export(ledger: Ledger, out: Path) -> Path:
    export_bundle(ledger.store, ledger.log_verifier().vkey, out)
    return out


def _verify(path: Path, trust: TrustAnchor) -> Result:
    with Bundle(path) as bundle:
        return verify_bundle(bundle, trust, workers=1)


def _codes(result: Result, severity: str = "error") -> set[str]:
    return {f.code for f in result.findings if f.severity == severity}


def test_clean_bundle_passes(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, _p, _log, trust = world
    result = _verify(_export(ledger, tmp_path / "b"), trust)
    assert result.ok, result.findings
    assert result.size == ledger.store.size
    assert result.witnessed_size == ledger.store.size
    assert not result.findings


def test_zip_bundle_passes_and_is_deterministic(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, _p, _log, trust = world
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    export_bundle(ledger.store, ledger.log_verifier().vkey, a, as_zip=True)
    export_bundle(ledger.store, ledger.log_verifier().vkey, b, as_zip=True)
    assert a.read_bytes() == b.read_bytes()
    assert _verify(a, trust).ok


def _edit_body(lines: list[bytes]) -> list[bytes]:
    obj = json.loads(lines[5])
    obj["body"]["text"] = "edited"
    return [*lines[:5], canonical.dumps(obj), *lines[6:]]


def _swap(lines: list[bytes]) -> list[bytes]:
    return [*lines[:3], lines[4], lines[3], *lines[5:]]


TAMPERS: list[tuple[str, Callable[[list[bytes]], list[bytes]], set[str]]] = [
    ("edit an entry", _edit_body, {"I2", "I5"}),
    ("delete an entry", lambda ls: ls[:7] + ls[8:], {"I1", "I5"}),
    ("reorder entries", _swap, {"I1", "I5"}),
    ("duplicate an entry", lambda ls: [*ls[:9], ls[8], *ls[9:]], {"I1", "I5"}),
    ("truncate the tail", lambda ls: ls[:-5], {"I5"}),
    ("garbage line", lambda ls: [*ls[:2], b"{not json", *ls[3:]], {"I7"}),
]


@pytest.mark.parametrize(("name", "change", "expected"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_tampering_with_entries_is_caught(world, tmp_path: Path, name: str, change, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    ledger, _p, _log, trust = world
    bundle = _export(ledger, tmp_path / "b")
    rewrite_lines(bundle, change)
    result = _verify(bundle, trust)
    assert not result.ok
    assert expected <= _codes(result), (name, result.findings)


def test_manifest_mismatch_is_caught(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, _p, _log, trust = world
    bundle = _export(ledger, tmp_path / "b")
    rewrite_lines(bundle, _edit_body, fix_manifest=False)
    assert "I7" in _codes(_verify(bundle, trust))


def test_truncation_with_checkpoints_hidden_is_caught_against_the_authority(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, _p, _log, trust = world
    bundle = _export(ledger, tmp_path / "b")
    rewrite_lines(bundle, lambda ls: ls[:10])
    for cp in (bundle / "checkpoints").iterdir():
        if int(cp.name.split(".")[0]) > 10:
            cp.unlink()
    result = _verify(bundle, trust)
    assert "I5" in _codes(result)
    assert any("truncated" in f.message for f in result.findings)


def test_rebuilt_history_with_new_keys_is_caught(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, parties, _log, trust = world
    # The vendor rebuilds everything from scratch: new log key, new responsible key.
    forged, _fp, forged_log = new_ledger(tmp_path / "forged")
    for i in range(31):
        forged.append("note.recorded", {"text": f"note {i}"}, _fp.responsible)
    forged.checkpoint(forged_log)
    result = _verify(_export(forged, tmp_path / "b"), trust)
    codes = _codes(result)
    assert {"I3", "I5"} <= codes


def test_forged_log_signature_is_caught(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, _p, _log, trust = world
    bundle = _export(ledger, tmp_path / "b")
    cp = sorted((bundle / "checkpoints").iterdir())[-1]
    note = parse_note(cp.read_bytes())
    other = Signer(ledger.origin, Ed25519PrivateKey.generate())
    from custody.ledger.note import sign_note

    cp.write_bytes(sign_note(note.text, [other]))
    assert "I3" in _codes(_verify(bundle, trust))


def test_forged_cosignature_is_caught(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, parties, _log, trust = world
    bundle = _export(ledger, tmp_path / "b")
    cp = sorted((bundle / "checkpoints").iterdir())[-1]
    fake = Signer(parties.witness.name, Ed25519PrivateKey.generate(), alg=parties.witness.alg)
    note = parse_note(cp.read_bytes())
    forged = cosign(note.text, 5, fake)
    # Same name, different key: an unknown key -- ignored; a bad signature under
    # the real key ID must be rejected.
    from custody.ledger.note import NoteSignature, format_note

    real_id = parties.witness.key_id
    bad = NoteSignature(parties.witness.name, real_id, forged.signature)
    others = tuple(s for s in note.signatures if s.key_id != real_id)
    cp.write_bytes(format_note(type(note)(note.text, (*others, bad))))
    no_held = TrustAnchor(**{**trust.__dict__, "held_checkpoints": ()})
    assert "I3" in _codes(_verify(bundle, no_held))


def test_checkpoint_root_differs(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, _p, log, trust = world
    bundle = _export(ledger, tmp_path / "b")
    from custody.ledger.checkpoint import Checkpoint
    from custody.ledger.note import sign_note

    size = ledger.store.size
    lie = sign_note(Checkpoint(ledger.origin, size - 1, bytes(32)).to_text(), [log])
    (bundle / "checkpoints" / f"{size - 1:012d}.checkpoint").write_bytes(lie)
    assert "I4" in _codes(_verify(bundle, trust))


def test_unwitnessed_tail_is_a_warning_then_an_error_after_close(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, parties, log, trust = world
    ledger.append("note.recorded", {"text": "after the cosigned checkpoint"}, parties.responsible)
    ledger.checkpoint(log)
    result = _verify(_export(ledger, tmp_path / "b1"), trust)
    assert "I6" in _codes(result, "warning") and result.ok
    ledger.append("contract.closed", {"statement": {"no_data_remains": True, "scope": ["work_pcs", "backups"]}},
                  parties.responsible)
    ledger.checkpoint(log)
    assert "I6" in _codes(_verify(_export(ledger, tmp_path / "b2"), trust))


def test_attachment_missing_or_altered(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, _p, _log, trust = world
    bundle = _export(ledger, tmp_path / "b")
    atts = sorted((bundle / "attachments").iterdir())
    atts[0].unlink()
    atts[1].write_bytes(b"doctored photo")
    result = _verify(bundle, trust)
    i8 = [f for f in result.findings if f.code == "I8"]
    assert len(i8) == 2


def test_unknown_and_revoked_keys(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, parties, log, trust = world
    stranger = Signer("op-stranger", Ed25519PrivateKey.generate())
    ledger.append("note.recorded", {"text": "who am I"}, stranger)
    op = Signer("op-tanaka", Ed25519PrivateKey.generate())
    ledger.append("personnel.registered", {"vkey": op.verifier().vkey, "name": "田中", "organisation": "x",
                                          "tier": "vendor", "role": "operator"}, parties.responsible)
    ledger.append("note.recorded", {"text": "valid"}, op)
    ledger.append("key.revoked", {"key_name": "op-tanaka", "vkey": op.verifier().vkey, "reason": "lost"},
                  parties.responsible)
    revoked = ledger.append("note.recorded", {"text": "after revocation"}, op)
    ledger.checkpoint(log)
    result = _verify(_export(ledger, tmp_path / "b"), trust)
    i2 = {f.seq for f in result.findings if f.code == "I2"}
    assert i2 == {31, revoked.seq}


def test_key_used_before_its_registration(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A key signs from the entry after the one registering it: an earlier entry it "signed" is I2."""
    ledger, parties, log, trust = world
    op = Signer("op-early", Ed25519PrivateKey.generate())
    early = ledger.append("note.recorded", {"text": "before anyone knew this key"}, op)
    ledger.append("personnel.registered", {"vkey": op.verifier().vkey, "name": "早川", "organisation": "x",
                                          "tier": "vendor", "role": "operator"}, parties.responsible)
    later = ledger.append("note.recorded", {"text": "now registered"}, op)
    ledger.checkpoint(log)
    result = _verify(_export(ledger, tmp_path / "b"), trust)
    i2 = {f.seq for f in result.findings if f.code == "I2"}
    assert early.seq in i2 and later.seq not in i2


def test_backdated_entry_is_caught(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger, parties, log, trust = world

    def backdated(head):  # type: ignore[no-untyped-def]
        seq, prev = head.size, head.last_leaf_hash
        return sign_entry(origin=ledger.origin, seq=seq, prev=prev, type="note.recorded",
                          at="2020-01-01T00:00:00.000+09:00", body={"text": "old"}, signer=parties.responsible)

    ledger.store.append(backdated)
    ledger.checkpoint(log)
    assert "I9" in _codes(_verify(_export(ledger, tmp_path / "b"), trust))


def test_parallel_workers_agree_with_inline(world, tmp_path: Path,  # type: ignore[no-untyped-def]
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker pool (and pass 1's search in parallel, forced here) finds exactly what one process finds."""
    from custody.verify import scan

    monkeypatch.setattr(scan, "PARALLEL_MIN_BYTES", 0)
    ledger, parties, log, trust = world
    for i in range(3000):
        ledger.append("note.recorded", {"text": f"bulk {i}", "pad": "x" * 600}, parties.responsible)
    ledger.checkpoint(log)
    bundle = _export(ledger, tmp_path / "b")
    rewrite_lines(bundle, _edit_body)
    with Bundle(bundle) as b:
        inline = verify_bundle(b, trust, workers=1)
        parallel = verify_bundle(b, trust, workers=2)
    assert inline.findings == parallel.findings and not inline.ok


def test_bundle_format_errors(tmp_path: Path) -> None:
    from custody.ledger.errors import BundleFormatError

    with pytest.raises(BundleFormatError):
        Bundle(tmp_path / "nothing")
    (tmp_path / "x.zip").write_bytes(b"PK not a zip")
    with pytest.raises(BundleFormatError):
        Bundle(tmp_path / "x.zip")
    d = tmp_path / "d"
    d.mkdir()
    (d / "manifest.json").write_bytes(b'{"format":"other"}')
    with pytest.raises(BundleFormatError):
        Bundle(d)
    (d / "manifest.json").write_bytes(b'{"format":"custody-bundle/v1","origin":"o","size":0,"checkpoints":[],'
                                      b'"files":{"../etc/passwd":{"sha256":"x","size":1}}}')
    with pytest.raises(BundleFormatError):
        Bundle(d)


def test_unpinned_trust_warns(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from custody.verify.trust import from_bundle_unpinned

    ledger, _p, _log, _trust = world
    path = _export(ledger, tmp_path / "b")
    with Bundle(path) as bundle:
        result = verify_bundle(bundle, from_bundle_unpinned(bundle), workers=1)
        pinned = verify_bundle(bundle, _trust, workers=1)
    assert any(f.code == "I5" and f.severity == "warning" for f in result.findings)
    # Intact in itself, but unchecked: never the municipality's pass (docs/spec.md §11.3).
    assert result.ok and (result.pinned, result.trust, result.to_json()["trust"]) == (False, "unchecked", "unchecked")
    assert pinned.ok and (pinned.pinned, pinned.trust, pinned.to_json()["trust"]) == (True, "pinned", "pinned")
    _ = shutil
    _ = parse_entry


def test_a_killed_worker_is_reported_not_a_crash(world, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker process that dies (killed, out of memory) ends the verification with InterruptedWorkError
    (exit 1, "run it again"), never with a verdict and never with a traceback."""
    import os

    from custody.ledger.errors import InterruptedWorkError
    from custody.verify.rules import entries

    ledger, _parties, _log, trust = world
    bundle = _export(ledger, tmp_path / "b")

    def die(_line: bytes, _expected: object = None) -> None:
        os._exit(9)  # in the forked worker: as if the kernel had killed it

    monkeypatch.setattr(Bundle, "entries_size_bytes", lambda self: 10**9)  # take the worker-pool path
    monkeypatch.setattr(entries, "parse_fields", die)
    with Bundle(bundle) as b, pytest.raises(InterruptedWorkError) as info:
        verify_bundle(b, trust, workers=2)
    assert info.value.exit_code == 1 and info.value.hint


def _pinned_cpus(checkins: Path, _task: int) -> tuple[int, frozenset[int]]:
    """In a pool worker: its pid and the processors it may run on.

    Every task checks its worker in, then waits (bounded) until both workers have: the first worker cannot
    take every task while the second is still starting, however slow the machine (instead of a pause that
    was meant to last long enough)."""
    import os

    from tests.agents.conftest import wait_until

    (checkins / str(os.getpid())).touch()
    wait_until(lambda: len(list(checkins.iterdir())) >= 2, what="the second pool worker did not take a task")
    return os.getpid(), frozenset(os.sched_getaffinity(0))


def test_workers_keep_to_one_processor_each(tmp_path: Path) -> None:
    """Each verification worker is pinned to its own processor (verify.pool._init_worker: a worker moved
    between processors starts on cold caches)."""
    import functools
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from custody.ledger.registry import Registry
    from custody.verify import pool as verify_pool

    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("this platform cannot pin processes to processors (needs Linux and 2 allowed CPUs)")
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(sorted(allowed)[:2]))  # two processors, whatever the machine has
    try:
        assert verify_pool._worker_cpus(3) == [] and verify_pool._worker_cpus(1) == []  # pinned only one per processor
        cpus = verify_pool._worker_cpus(2)
        assert cpus == sorted(allowed)[:2]
        context = multiprocessing.get_context()
        checkins = tmp_path / "checkins"
        checkins.mkdir()
        with ProcessPoolExecutor(2, mp_context=context, initializer=verify_pool._init_worker,
                                 initargs=(Registry(), "o", cpus, context.Value("i", 0))) as pool:
            seen = dict(pool.map(functools.partial(_pinned_cpus, checkins), range(6)))
    finally:
        os.sched_setaffinity(0, allowed)
    assert len(seen) == 2
    assert sorted(seen.values(), key=min) == [frozenset({cpu}) for cpu in cpus]


@pytest.mark.parametrize("resigned", [False, True])
def test_a_body_is_judged_only_where_its_signature_holds(world, tmp_path: Path, resigned: bool) -> None:  # type: ignore[no-untyped-def]
    """A body that does not fit its schema is I7 when its actor signed it; a forged one is I2 alone."""
    ledger, parties, _log, trust = world
    bundle = _export(ledger, tmp_path / "b")

    def bad_body(lines: list[bytes]) -> list[bytes]:
        entry = parse_entry(lines[5])
        if not resigned:
            obj = json.loads(lines[5])
            obj["body"]["text"] = 5
            return [*lines[:5], canonical.dumps(obj), *lines[6:]]
        forged = sign_entry(origin=entry.origin, seq=entry.seq, prev=entry.prev, type=entry.type, at=entry.at,
                            body={**entry.body, "text": 5}, signer=parties.responsible)
        return [*lines[:5], forged.leaf, *lines[6:]]

    rewrite_lines(bundle, bad_body)
    at_five = {(f.code, "body" in f.message) for f in _verify(bundle, trust).findings if f.seq == 5}
    assert at_five == ({("I7", True)} if resigned else {("I2", False)})
