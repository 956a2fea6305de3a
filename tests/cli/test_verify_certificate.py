"""``custody verify-certificate``: one disposal certificate, its PDF alone or its certificate.json, checked
against the municipality's trust store without the bundle; each way it can be wrong fails with its exit code
(docs/spec.md §13: 0 verifies, 3 does not, 2 not a certificate)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from custody.ledger import canonical
from custody.ledger.tlogproof import TlogProof, format_tlog_proof, parse_tlog_proof
from custody.verify.authority import Authority
from tests.cli.conftest import Custody
from tests.helpers import TEST_KDF_N
from tests.verify.reports.scenario import build, make_authority
from tests.world import key


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("certificates")
    built = build(root / "clean", "clean")
    authority = make_authority(built, root / "authority")
    uncosigned = build(root / "uncosigned", "clean", cosign_final=False)
    uncosigned_authority = make_authority(uncosigned, root / "uncosigned-authority")
    custody = Custody(root, lang="ja")
    out = root / "reports"
    for bundle, auth, where in ((built, authority, out), (uncosigned, uncosigned_authority, root / "reports-u")):
        run = custody("report", "disposal", str(bundle.bundle), "-a", str(auth), "-o", str(where))
        assert run.code in (0, 3), run.stderr  # 3: the uncosigned ledger's entries after the checkpoint (I6)
        assert (where / "disposal-M-001.ja.pdf").is_file()
    # Another municipality's trust store: it never pinned this contract.
    other = root / "other-authority"
    Authority.create(other, "other.example.lg.jp/witness", b"witness-pass",
                     private_key=key("other.example.lg.jp/witness"), kdf_n=TEST_KDF_N)
    return {"root": root, "built": built, "authority": authority, "out": out, "uncosigned": root / "reports-u",
            "uncosigned_authority": uncosigned_authority, "uncosigned_built": uncosigned, "other": other}


def _data(pdf: Path) -> dict[str, Any]:
    value = json.loads(PdfReader(io.BytesIO(pdf.read_bytes())).attachments["certificate.json"][0])
    assert isinstance(value, dict)
    return value


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "certificate.json"
    path.write_bytes(canonical.dumps(doc) + b"\n")
    return path


def test_a_good_certificate_verifies_from_its_pdf_alone(custody: Custody, made: dict[str, Any]) -> None:
    run = Custody(made["root"], lang="ja")("verify-certificate", str(made["out"] / "disposal-M-001.ja.pdf"), "-a",
                                           str(made["authority"]))
    assert run.code == 0, run.stderr
    assert "証明書は有効です" in run.stdout and "M-001" in run.stdout and "SN-001" in run.stdout
    assert "副署済みチェックポイント" in run.stdout


def test_json_in_english(made: dict[str, Any], tmp_path: Path) -> None:
    path = _write(tmp_path, _data(made["out"] / "disposal-C-001.ja.pdf"))
    run = Custody(made["root"], lang="en")("verify-certificate", str(path), "-a", str(made["authority"]), "--json")
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["ok"] is True and doc["media_id"] == "C-001" and doc["cosigners"]
    text = Custody(made["root"], lang="en")("verify-certificate", str(path), "-a", str(made["authority"]))
    assert text.code == 0 and text.stdout.startswith("The certificate verifies")


def _other_proof(made: dict[str, Any]) -> str:
    return str(_data(made["out"] / "disposal-C-001.ja.pdf")["tlog_proof"])


def _older_checkpoint(made: dict[str, Any], doc: dict[str, Any]) -> str:
    """The proof's hashes with another checkpoint of the same log, signed by its key and cosigned by the
    municipality, but of another size and root (the genesis checkpoint, the only one cosigned in the
    "uncosigned" ledger)."""
    proof = parse_tlog_proof(doc["tlog_proof"].encode())
    older = made["uncosigned_built"].cosigned
    assert older != proof.checkpoint
    return format_tlog_proof(TlogProof(index=proof.index, hashes=proof.hashes, checkpoint=older)).decode()


Edit = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
TAMPERINGS: dict[str, tuple[Edit, int, str]] = {
    "media_id": (lambda made, d: {**d, "media_id": "M-999"}, 3, "media_id"),
    "serial": (lambda made, d: {**d, "serial": "SN-FORGED"}, 3, "serial"),
    "certificate_number": (lambda made, d: {**d, "certificate_number": "C-9999"}, 3, "certificate_number"),
    "entry": (lambda made, d: {**d, "entry": d["entry"].replace('"shred"', '"crush"')}, 3, "リーフハッシュ"),
    "leaf_hash": (lambda made, d: {**d, "leaf_hash": "00" * 32}, 3, "リーフハッシュ"),
    "proof of another entry": (lambda made, d: {**d, "tlog_proof": _other_proof(made)}, 3, "tlog-proof は記録"),
    "proof for another checkpoint": (lambda made, d: {**d, "tlog_proof": _older_checkpoint(made, d)}, 3, "包含証明"),
    "malformed proof": (lambda made, d: {**d, "tlog_proof": "c2sp.org/tlog-proof@v1\nindex x\n"}, 3, "tlog-proof"),
    "no proof": (lambda made, d: {**d, "tlog_proof": ""}, 2, "tlog-proof"),
    "another format": (lambda made, d: {**d, "format": "custody-certificate/9"}, 2, "custody-certificate/1"),
    "a field missing": (lambda made, d: {k: v for k, v in d.items() if k != "seq"}, 2, "custody-certificate/1"),
    "a field of the wrong type": (lambda made, d: {**d, "seq": "26"}, 2, "型"),
}


@pytest.mark.parametrize("case", list(TAMPERINGS))
def test_each_wrong_certificate_fails_with_its_exit_code(made: dict[str, Any], tmp_path: Path, case: str) -> None:
    edit, code, says = TAMPERINGS[case]
    doc = edit(made, _data(made["out"] / "disposal-M-001.ja.pdf"))
    run = Custody(made["root"], lang="ja")("verify-certificate", str(_write(tmp_path, doc)), "-a",
                                           str(made["authority"]))
    assert run.code == code, (case, run.stdout, run.stderr)
    assert says in run.stderr, (case, run.stderr)
    assert "証明書は有効です" not in run.stdout


def test_a_checkpoint_the_municipality_did_not_cosign_fails(made: dict[str, Any]) -> None:
    run = Custody(made["root"], lang="ja")("verify-certificate", str(made["uncosigned"] / "disposal-M-001.ja.pdf"),
                                           "-a", str(made["uncosigned_authority"]))
    assert run.code == 3 and "副署がありません" in run.stderr, run.stderr


def test_another_municipalitys_trust_store_fails(made: dict[str, Any]) -> None:
    run = Custody(made["root"], lang="ja")("verify-certificate", str(made["out"] / "disposal-M-001.ja.pdf"),
                                           "-a", str(made["other"]))
    assert run.code == 3, run.stderr
    assert "登録されていません" in run.stderr, run.stderr


def test_unusable_inputs(made: dict[str, Any], tmp_path: Path) -> None:
    custody = Custody(made["root"], lang="ja")
    html_file = tmp_path / "certificate.html"
    html_file.write_text("<!DOCTYPE html><html lang=\"ja\"><body>廃棄証明書</body></html>\n", encoding="utf-8")
    html = custody("verify-certificate", str(html_file), "-a", str(made["authority"]))
    assert html.code == 2 and "custody の証明書ではありません" in html.stderr
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(b"%PDF-1.4\n% not a certificate\n%%EOF\n")
    no_data = custody("verify-certificate", str(plain), "-a", str(made["authority"]))
    assert no_data.code == 2 and ("添付されていません" in no_data.stderr or "読み取れません" in no_data.stderr)
    missing = custody("verify-certificate", str(tmp_path / "nope.pdf"), "-a", str(made["authority"]))
    assert missing.code == 2
    no_store = custody("verify-certificate", str(made["out"] / "disposal-M-001.ja.pdf"), "-a", str(tmp_path))
    assert no_store.code == 4
    for run in (html, no_data, missing, no_store):
        assert "Traceback" not in run.stderr
