"""The offline witness exchange with the real commands:
``custody witness-request`` (vendor) → ``custody witness cosign`` (municipality) →
``custody witness import`` (vendor) → ``custody export`` → ``custody verify --authority``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custody.ledger.note import parse_note
from custody.verify.authority import Authority
from tests.cli.conftest import Custody
from tests.verify.test_authority import ORIGIN, cli_setup
from tests.verify.witness_fixtures import WITNESS_NAME


@pytest.fixture
def custody(tmp_path: Path) -> Custody:
    return Custody(tmp_path)


@pytest.fixture
def pinned(custody: Custody, tmp_path: Path) -> tuple[Path, Path]:
    authority, ledger = cli_setup(custody, tmp_path)
    run = custody("authority", "trust", "-a", str(authority), "-l", str(ledger), "--yes")
    assert run.code == 0, run.stderr
    return authority, ledger


def grow(custody: Custody, ledger: Path, tmp: Path, n: int = 2) -> int:
    for i in range(n):
        run = custody("note", f"作業 {i}", "-l", str(ledger), "-k", str(tmp / "resp-sato.key"))
        assert run.code == 0, run.stderr
    run = custody("checkpoint", "-l", str(ledger), "--json")
    assert run.code == 0, run.stderr
    return int(json.loads(run.stdout)["size"])


def exchange(custody: Custody, authority: Path, ledger: Path, tmp: Path, *extra: str) -> dict[str, object]:
    """One offline round: request, cosign, import; the cosign command's JSON."""
    run = custody("witness-request", "-l", str(ledger), "-o", str(tmp / "req"), "--json", *extra)
    assert run.code == 0, run.stderr
    run = custody("witness", "cosign", str(tmp / "req"), "--authority", str(authority), "-o", str(tmp / "resp"),
                  "--json")
    assert run.code == 0, run.stderr
    result: dict[str, object] = json.loads(run.stdout)
    run = custody("witness", "import", str(tmp / "resp"), "-l", str(ledger), "--json")
    assert run.code == 0, run.stderr
    imported = json.loads(run.stdout)
    assert imported["cosigned_by"] == [WITNESS_NAME]
    assert imported["size"] == result["size"] == imported["cosigned_size"]
    return result


def verify_json(custody: Custody, authority: Path, ledger: Path, tmp: Path) -> dict[str, object]:
    bundle = tmp / "B"
    if bundle.exists():
        import shutil

        shutil.rmtree(bundle)
    assert custody("export", str(bundle), "--ledger", str(ledger)).code == 0
    run = custody("verify", str(bundle), "--authority", str(authority), "--json")
    doc: dict[str, object] = json.loads(run.stdout)
    doc["exit"] = run.code
    return doc


def test_round_trip(custody: Custody, pinned: tuple[Path, Path], tmp_path: Path) -> None:
    authority, ledger = pinned
    size = grow(custody, ledger, tmp_path)
    # Before: entries after the last cosigned checkpoint (I6).
    before = verify_json(custody, authority, ledger, tmp_path)
    assert any(f["code"] == "I6" for f in before["findings"])  # type: ignore[attr-defined]

    # The first request is for the genesis tree (size 1): nothing in a request from old size 0 would tie a
    # larger tree's first entry to the pinned genesis (docs/spec.md §8.2).
    run = custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req"), "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout) == {"request": str(tmp_path / "req"), "size": 1, "old_size": 0,
                                      "proof_lines": 0, "latest_size": size}
    assert (tmp_path / "req").read_bytes().startswith(b"old 0\n\n" + ORIGIN.encode() + b"\n1\n")
    run = custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req"))
    assert "first witness request" in run.stdout and f"size {size}" in run.stdout
    result = exchange(custody, authority, ledger, tmp_path)
    assert result["status"] == 200 and result["size"] == 1
    # The second from there, with a consistency proof from size 1.
    run = custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req"), "--json")
    doc = json.loads(run.stdout)
    assert doc["old_size"] == 1 and doc["size"] == size == doc["latest_size"] and doc["proof_lines"] > 0
    result = exchange(custody, authority, ledger, tmp_path)
    assert result["status"] == 200 and result["cosigned"] is True and result["size"] == size
    resp = (tmp_path / "resp").read_text(encoding="utf-8")
    assert resp.startswith(f"— {WITNESS_NAME} ") and resp.endswith("\n")

    after = verify_json(custody, authority, ledger, tmp_path)
    assert after["exit"] == 0, after
    assert after["witnessed_size"] == size
    assert not any(f["code"] in ("I5", "I6") for f in after["findings"])  # type: ignore[attr-defined]
    # The bundle's checkpoint carries the cosignature line.
    note = (tmp_path / "B" / "checkpoints" / f"{size:012d}.checkpoint").read_bytes()
    assert [s.name for s in parse_note(note).signatures] == [ORIGIN, WITNESS_NAME]

    # A second round starts from the cosigned size, with a consistency proof.
    size2 = grow(custody, ledger, tmp_path, 3)
    run = custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req"), "--json")
    doc = json.loads(run.stdout)
    assert doc["old_size"] == size and doc["size"] == size2 and doc["proof_lines"] > 0
    result = exchange(custody, authority, ledger, tmp_path)
    assert result["old_size"] == size and result["witness_size"] == size
    final = verify_json(custody, authority, ledger, tmp_path)
    assert final["exit"] == 0 and final["witnessed_size"] == size2
    assert not any(f["code"] == "I6" for f in final["findings"])  # type: ignore[attr-defined]
    head = Authority.open(authority).latest(ORIGIN)
    assert head is not None and head.size == size2
    assert [c["size"] for c in Authority.open(authority).journal(ORIGIN)] == [1, size, size2]


def test_conflict_offline_says_which_old_size_to_use(
    custody: Custody, pinned: tuple[Path, Path], tmp_path: Path
) -> None:
    authority, ledger = pinned
    size = grow(custody, ledger, tmp_path)
    exchange(custody, authority, ledger, tmp_path)  # the genesis tree
    exchange(custody, authority, ledger, tmp_path)  # size
    size2 = grow(custody, ledger, tmp_path)
    # The vendor claims the witness never cosigned: 409, exit 3, no response file.
    run = custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req"), "--old-size", "0")
    assert run.code == 0
    (tmp_path / "resp").unlink()
    run = custody("witness", "cosign", str(tmp_path / "req"), "-a", str(authority), "-o", str(tmp_path / "resp"))
    assert run.code == 3
    assert "409" in run.stderr and f"--old-size {size}" in run.stderr
    assert not (tmp_path / "resp").exists()
    run = custody("witness", "cosign", str(tmp_path / "req"), "-a", str(authority), "-o", str(tmp_path / "resp"),
                  "--json")
    assert run.code == 3
    doc = json.loads(run.stdout)
    assert doc["status"] == 409 and doc["witness_size"] == size and doc["cosigned"] is False
    # With the size the witness reported, it goes through.
    result = exchange(custody, authority, ledger, tmp_path, "--old-size", str(size))
    assert result["status"] == 200 and result["size"] == size2


def test_tampered_request_is_refused(custody: Custody, pinned: tuple[Path, Path], tmp_path: Path) -> None:
    authority, ledger = pinned
    size = grow(custody, ledger, tmp_path)
    exchange(custody, authority, ledger, tmp_path)  # the genesis tree
    run = custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req"))
    assert run.code == 0
    body = (tmp_path / "req").read_bytes()
    # Claim more entries than were signed: the log signature no longer verifies.
    forged = body.replace(f"\n{size}\n".encode(), f"\n{size + 5}\n".encode(), 1)
    (tmp_path / "forged").write_bytes(forged)
    run = custody("witness", "cosign", str(tmp_path / "forged"), "-a", str(authority), "-o", str(tmp_path / "r"))
    assert run.code == 3 and "403" in run.stderr
    (tmp_path / "junk").write_bytes(b"not a request")
    run = custody("witness", "cosign", str(tmp_path / "junk"), "-a", str(authority), "-o", str(tmp_path / "r"))
    assert run.code == 3 and "400" in run.stderr
    head = Authority.open(authority).latest(ORIGIN)
    assert head is not None and head.size == 1


def test_unpinned_ledger_gets_404(custody: Custody, tmp_path: Path) -> None:
    authority, ledger = cli_setup(custody, tmp_path)
    grow(custody, ledger, tmp_path)
    assert custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req")).code == 0
    run = custody("witness", "cosign", str(tmp_path / "req"), "-a", str(authority), "-o", str(tmp_path / "r"))
    assert run.code == 3 and "404" in run.stderr


def test_import_checks_the_cosignatures(custody: Custody, pinned: tuple[Path, Path], tmp_path: Path) -> None:
    authority, ledger = pinned
    grow(custody, ledger, tmp_path)
    exchange(custody, authority, ledger, tmp_path)
    resp = (tmp_path / "resp").read_text(encoding="utf-8")
    # A response for another ledger (same witness) does not verify on any of this ledger's checkpoints.
    other = tmp_path / "other"
    other.mkdir()
    authority2, ledger2 = cli_setup(Custody(other), other, fresh=True)  # another contract's keys
    run = custody("witness", "import", str(tmp_path / "resp"), "-l", str(ledger2))
    assert run.code == 3
    # Lines from unknown keys are ignored; with none known, nothing is imported.
    (tmp_path / "unknown").write_text(resp.replace(WITNESS_NAME, "someone.else/witness"), encoding="utf-8")
    run = custody("witness", "import", str(tmp_path / "unknown"), "-l", str(ledger))
    assert run.code == 3 and "no cosignature" in run.stderr
    # A damaged cosignature from the known key: refused.
    sig = resp.split(" ")[2]
    bad = sig[:20] + ("A" if sig[20] != "A" else "B") + sig[21:]
    (tmp_path / "bad").write_text(resp.replace(sig, bad), encoding="utf-8")
    run = custody("witness", "import", str(tmp_path / "bad"), "-l", str(ledger))
    assert run.code == 3
    (tmp_path / "garbage").write_text("hello\n", encoding="utf-8")
    assert custody("witness", "import", str(tmp_path / "garbage"), "-l", str(ledger)).code == 3
    # With --request the checkpoint is named.
    run = custody("witness", "import", str(tmp_path / "resp"), "-l", str(ledger), "--request", str(tmp_path / "req"))
    assert run.code == 0, run.stderr


def test_witness_request_without_a_new_checkpoint_and_bad_old_size(
    custody: Custody, pinned: tuple[Path, Path], tmp_path: Path
) -> None:
    _authority, ledger = pinned
    run = custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req"), "--old-size", "99")
    assert run.code == 2
    # The genesis checkpoint (size 1) can be cosigned as the first checkpoint.
    run = custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req"), "--json")
    assert run.code == 0 and json.loads(run.stdout)["size"] == 1


def test_cosign_with_the_wrong_passphrase(custody: Custody, pinned: tuple[Path, Path], tmp_path: Path) -> None:
    authority, ledger = pinned
    assert custody("witness-request", "-l", str(ledger), "-o", str(tmp_path / "req")).code == 0
    run = custody("witness", "cosign", str(tmp_path / "req"), "-a", str(authority), "-o", str(tmp_path / "r"),
                  env={"CUSTODY_PASSPHRASE": "wrong"})
    assert run.code == 5
    assert Authority.open(authority).latest(ORIGIN) is None
