"""The golden bundles (tests/vectors/bundles; docs/spec-rules.md, "Conformance vectors for independent verifiers").

Every case is verified from its files alone -- the bundle against trust.json -- and must give exactly the
verdict and findings its expected.json lists; a few also through ``custody verify --authority`` with a trust
store made from trust.json.  The generator must reproduce the checked-in files byte for byte, and every
finding code of the registry must have a case.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custody.ledger.bundle import Bundle
from custody.verify.authority import Authority, Pin
from custody.verify.engine import verify_bundle
from custody.verify.findings import COMPLIANCE_CODES, ERROR, INTEGRITY_CODES
from custody.verify.rules import default_rules
from tests.cli.conftest import Custody
from tests.helpers import TEST_KDF_N
from tests.vectors.bundles import generate as golden
from tests.verify.builders import AUTHORITY_PASSPHRASE, WITNESS_NAME
from tests.world import key

HERE = golden.HERE
CASE_DIRS = golden.case_directories(HERE)


def expected(case_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((case_dir / golden.EXPECTED).read_bytes())
    assert doc["format"] == golden.EXPECTED_FORMAT
    return doc


def error_codes(rows: list[dict[str, Any]]) -> set[str]:
    return {r["code"] for r in rows if r["severity"] == ERROR}


def test_the_cases_on_disk_are_the_generators() -> None:
    assert [p.name for p in CASE_DIRS] == sorted(c.name for c in golden.CASES)
    assert len(CASE_DIRS) >= 40


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_the_verifier_gives_what_each_case_expects(case_dir: Path) -> None:
    want = expected(case_dir)
    with Bundle(case_dir / golden.BUNDLE) as bundle:
        result = verify_bundle(bundle, golden.load_trust(case_dir), default_rules(), workers=1)
    got = {"ok": result.ok, "size": result.size, "witnessed_size": result.witnessed_size,
           "findings": golden.finding_rows(result.findings)}
    assert got == {k: want[k] for k in got}, case_dir.name
    # The verdict follows from the findings (docs/spec-rules.md): failed exactly when there is an error.
    assert want["ok"] == (not error_codes(want["findings"]))
    if want["aimed_at"] is None:
        # The clean contract pins the municipality's attesters and carries every act they sign: no finding at all.
        assert want["ok"] and want["findings"] == []
    else:
        assert want["aimed_at"] in {r["code"] for r in want["findings"]}


def test_regenerating_writes_the_same_bytes(tmp_path: Path) -> None:
    """The checked-in vectors are exactly what the generator writes (so they cannot drift from it)."""
    golden.generate(tmp_path)

    def tree(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes()
                for d in golden.case_directories(root) for p in sorted(d.rglob("*")) if p.is_file()}

    made, kept = tree(tmp_path), tree(HERE)
    assert sorted(made) == sorted(kept), "regenerate: python -m tests.vectors.bundles.generate"
    changed = [name for name in made if made[name] != kept[name]]
    assert not changed, f"regenerate and review: python -m tests.vectors.bundles.generate ({changed[:5]})"


def test_every_finding_code_has_a_case() -> None:
    """Each code of the registry (I1-I9 and the lifecycle families' RULE_CODES) has a case aimed at it whose
    expected findings hold it."""
    registry = (*INTEGRITY_CODES, *COMPLIANCE_CODES)
    found: dict[str, set[str]] = {}
    for case_dir in CASE_DIRS:
        doc = expected(case_dir)
        if doc["aimed_at"] is not None:
            found.setdefault(doc["aimed_at"], set()).update(r["code"] for r in doc["findings"])
    for code in registry:
        assert code in found, (f"no golden bundle for {code}: add a case to tests/vectors/bundles/generate.py "
                               "and regenerate (python -m tests.vectors.bundles.generate)")
        assert code in found[code]


def test_trust_json_round_trips() -> None:
    for case_dir in CASE_DIRS:
        doc = json.loads((case_dir / golden.TRUST).read_bytes())
        assert golden.trust_to_json(golden.trust_from_json(doc)) == doc


# --- through the command the municipality runs ------------------------------------------------------------


def trust_store(case_dir: Path, where: Path) -> Path:
    """A real trust store (``custody authority``) holding what trust.json holds: the pin and every cosigned
    checkpoint (the witness key is the fixed test key whose cosignatures the checkpoints carry)."""
    doc = json.loads((case_dir / golden.TRUST).read_bytes())
    authority = Authority.create(where, WITNESS_NAME, AUTHORITY_PASSPHRASE, private_key=key(WITNESS_NAME),
                                 kdf_n=TEST_KDF_N)
    authority.pin(Pin(origin=doc["origin"], log_vkey=doc["log_vkey"],
                      genesis_leaf_hash=bytes.fromhex(doc["genesis_leaf_hash"]),
                      approver_vkeys=tuple(doc["approver_vkeys"]), witness_vkeys=tuple(doc["witness_vkeys"])))
    for note in doc["checkpoints"]:
        authority.record_cosigned(doc["origin"], note.encode("utf-8"))
    return where


CLI_CASES = ["clean", "i5-fork-after-a-cosigned-checkpoint", "i8-missing-attachment", "c3-takeout-without-encryption",
             "c22-cosigned-checkpoints-too-far-apart",
             "c13-observation-gap"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_custody_verify_gives_what_the_case_expects(tmp_path: Path, name: str) -> None:
    case_dir = HERE / name
    want = expected(case_dir)
    authority = trust_store(case_dir, tmp_path / "authority")
    run = Custody(tmp_path)("verify", str(case_dir / golden.BUNDLE), "--authority", str(authority), "--json")
    doc = json.loads(run.stdout)
    assert run.code == (0 if want["ok"] else 3), (run.code, run.stdout, run.stderr)
    assert (doc["ok"], doc["size"], doc["witnessed_size"]) == (want["ok"], want["size"], want["witnessed_size"])
    assert golden.finding_rows(doc["findings"]) == want["findings"]


def test_custody_verify_as_a_process(tmp_path: Path) -> None:
    """The installed command, in Japanese: the codes do not depend on the interface language."""
    case_dir = HERE / "c7-disposal-without-witness"
    want = expected(case_dir)
    authority = trust_store(case_dir, tmp_path / "authority")
    run = Custody(tmp_path, lang="ja").process("verify", str(case_dir / golden.BUNDLE), "--authority", str(authority),
                                               "--json")
    assert run.code == 3, (run.stdout, run.stderr)
    assert golden.finding_rows(json.loads(run.stdout)["findings"]) == want["findings"]
