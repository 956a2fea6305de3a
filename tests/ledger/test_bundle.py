"""The evidence bundle: layout of DESIGN.md, manifest hashes, strict reading."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.bundle import Bundle, export_bundle
from ledger.errors import BundleFormatError
from ledger.tlogproof import parse_tlog_proof
from tests.helpers import new_ledger


def test_layout_and_manifest(tmp_path: Path) -> None:
    ledger, parties, log = new_ledger(tmp_path)
    digest = ledger.store.put_attachment(b"certificate pdf")
    ledger.append("media.disposed", {"media_id": "M-1", "certificate": {"attachment": digest}}, parties.responsible)
    ledger.checkpoint(log)
    out = tmp_path / "b"
    manifest = export_bundle(ledger.store, ledger.log_verifier().vkey, out)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == sorted(
        ["manifest.json", "entries.jsonl", "log.vkey", f"attachments/{digest}", "proofs/1.tlog-proof",
         "checkpoints/000000000001.checkpoint", "checkpoints/000000000002.checkpoint"]
    )
    lines = (out / "entries.jsonl").read_bytes().splitlines()
    assert lines == [leaf for _s, leaf in ledger.store.leaves()]
    for name, info in manifest["files"].items():
        data = (out / name).read_bytes()
        assert info == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert manifest["size"] == 2 and manifest["origin"] == ledger.origin
    proof = parse_tlog_proof((out / "proofs" / "1.tlog-proof").read_bytes())
    assert proof.index == 1
    with Bundle(out) as bundle:
        assert bundle.unlisted_files() == []
        assert list(bundle.iter_lines()) == lines


def test_export_refuses_existing_path(tmp_path: Path) -> None:
    ledger, _p, _log = new_ledger(tmp_path)
    (tmp_path / "b").mkdir()
    with pytest.raises(BundleFormatError):
        export_bundle(ledger.store, ledger.log_verifier().vkey, tmp_path / "b")


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(
    st.sampled_from(["format", "origin", "size", "files", "checkpoints", "x"]),
    st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=8), st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=4)),
                      max_size=2),
)))
def test_manifest_fuzz_only_bundle_errors(tmp_path: Path, data: bytes) -> None:
    d = tmp_path / "fuzz"
    d.mkdir(exist_ok=True)
    (d / "manifest.json").write_bytes(data)
    try:
        Bundle(d).close()
    except BundleFormatError:
        pass
