"""Interoperability: our bundle, checkpoints and proofs verify with Go's reference code.

``../shared/tools/interop-check/run`` checks a bundle with golang.org/x/mod's
``sumdb/note`` and ``sumdb/tlog`` (installing Go from Debian's packages on
first use).  Skipped only where the machine cannot install or build it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ledger.bundle import build_tlog_proof, export_bundle
from ledger.cosignature import cosign
from ledger.note import add_signatures, parse_note
from tests.conftest import ROOT
from tests.helpers import new_ledger

TOOL = ROOT.parent / "shared" / "tools" / "interop-check" / "run"


def _tool_available() -> str | None:
    if not TOOL.exists():
        return f"{TOOL} is not present"
    if shutil.which("go") is None and shutil.which("apt-get") is None:
        return "neither Go nor apt-get is available to build the Go reference checker"
    return None


@pytest.mark.skipif(_tool_available() is not None, reason=str(_tool_available()))
def test_go_reference_accepts_our_bundle(tmp_path: Path) -> None:
    ledger, parties, log = new_ledger(tmp_path)
    for i in range(40):
        ledger.append("note.recorded", {"text": f"n{i}"}, parties.responsible)
        if i % 13 == 0:
            ledger.checkpoint(log)
    ledger.append("media.disposed", {"media_id": "M-001"}, parties.responsible)
    for i in range(5):
        ledger.append("note.recorded", {"text": f"tail {i}"}, parties.responsible)
    info = ledger.checkpoint(log)
    text = parse_note(info.note).text
    ledger.store.add_checkpoint(info.size, add_signatures(info.note, [cosign(text, 1_800_000_000, parties.witness)]),
                                "2026-04-02T00:00:00+00:00")
    bundle = tmp_path / "bundle"
    export_bundle(ledger.store, ledger.log_verifier().vkey, bundle)
    extra = tmp_path / "entry-3.tlog-proof"
    size, note = ledger.store.latest_checkpoint()  # type: ignore[misc]
    extra.write_bytes(build_tlog_proof(ledger.store, 3, size, note))
    assert list((bundle / "proofs").glob("*.tlog-proof")), "disposal entries get proofs"
    try:
        proc = subprocess.run([str(TOOL), str(bundle), str(extra)], capture_output=True, text=True, timeout=600,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("installing the Go toolchain took longer than 10 minutes")
    if proc.returncode != 0 and "interop-check" not in proc.stdout:
        pytest.skip(f"the Go reference checker could not be installed or built here: {proc.stderr[-500:]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "interop-check ok" in proc.stdout
    assert f"{ledger.store.size} entries" in proc.stdout
