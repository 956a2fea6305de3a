"""廃棄証明書: one certificate per medium, NIST SP 800-88 and My Number fields, and a tlog-proof that verifies."""

from __future__ import annotations

import base64
import dataclasses

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosignatures_by
from custody.ledger.note import open_note, parse_note
from custody.ledger.proof import verify_inclusion
from custody.ledger.tlogproof import HEADER, parse_tlog_proof
from custody.verify.findings import Finding
from custody.verify.reports import KeyValues, render_pdf
from custody.verify.reports.disposal import build_disposal_certificates, certified_media, proof_lines
from tests.verify.reports.conftest import (
    Case,
    all_text,
    cell_text,
    keyvalues,
    pdf_fonts,
    pdf_text,
    section,
    squash,
    tables,
)
from tests.verify.reports.scenario import WITNESS


def test_one_certificate_per_sanitized_medium(clean: Case) -> None:
    certs = build_disposal_certificates(clean.ja, "ja")
    assert [media_id for media_id, _doc in certs] == ["M-001", "V-001", "C-001"]
    titles = {media_id: doc.title for media_id, doc in certs}
    assert titles == {"M-001": "廃棄証明書", "V-001": "消去証明書", "C-001": "廃棄証明書"}


def test_certificate_fields(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    kv = keyvalues(doc)
    assert kv["証明書番号"] == "C-0001"
    assert kv["廃棄申請番号"] == "D-2026-001"
    assert kv["承認番号"] == "D-1"
    assert kv["承認者"] == "例市 市民課長 鈴木 次郎"
    assert kv["実施者 氏名"] == "田中 二郎"
    assert kv["実施者 役職"] == "作業従事者"
    assert kv["実施者 所属"] == "株式会社サンプル"
    assert kv["実施者 連絡先"] == "03-0000-0000"
    assert kv["シリアル番号"] == "SN-001"
    assert kv["メーカー"] == "Buffalo" and kv["型番"] == "RUF3-K32GA"
    assert kv["資産番号"] == "P-SN-001"
    assert kv["媒体種別"] == "USBメモリ"
    assert kv["由来"] == "預り証 R-2026-001"
    assert kv["廃棄前の分類"] == "機密性3"
    assert kv["廃棄後の分類"] == "廃棄済(復元不能)"
    assert kv["バックアップ(保管先)"] == "無"
    assert kv["区分(NIST SP 800-88)"] == "破壊 (Destroy)"
    assert kv["手法"] == "shred"
    assert kv["使用機器・バージョン"] == "shredder X-1"
    assert kv["場所"] == "第2開発室"
    assert kv["検証結果"] == "合格"
    assert kv["妥当性確認者"] == "山田 花子(主査 例市)"
    assert kv["立会者 氏名"] == "山田 花子"
    assert kv["立会者 所属"] == "例市"
    assert kv["立会者 役職"] == "主査"
    assert str(kv["責任者"]).startswith("佐藤 一郎")
    assert kv["残渣の処理先"] == "産業廃棄物処理業者 株式会社リサイクル"


def test_my_number_disposal_record_fields(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    record = section(doc, "特定個人情報ガイドライン")
    block = record.blocks[0]
    assert isinstance(block, KeyValues)
    labels = [label for label, _v in block.rows]
    assert labels == ["日時", "担当者", "情報項目", "媒体名", "数量", "方法", "責任者", "立会者"]
    values = dict(block.rows)
    assert values["情報項目"] == "住民基本台帳"
    assert values["媒体名"] == "USBメモリ Buffalo RUF3-K32GA(M-001)"
    assert values["数量"] == "1 個(シリアル番号 SN-001)"
    assert values["方法"] == "破壊 (Destroy) shred"
    assert values["立会者"] == "山田 花子 例市 主査"


def test_photos_and_certificate_hashes(clean: Case) -> None:
    seq = next(e.seq for m, e in certified_media(clean.ja) if m.id == "M-001")
    body = clean.ja.entries[seq].body
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    photos = tables(section(doc, "写真と証明書"))[0]
    rows = [[cell_text(c) for c in row] for row in photos.rows]
    assert [r[1] for r in rows] == [p["attachment"] for p in body["photos"]]
    assert [r[2] for r in rows] == ["写っている", "写っていない"]
    assert [r[3] for r in rows] == ["有", "有"]
    assert keyvalues(doc)["証明書の SHA-256"] == body["certificate"]["attachment"]


def test_tlog_proof_verifies_against_the_cosigned_checkpoint(clean: Case) -> None:
    data = clean.ja
    for media, entry in certified_media(data):
        proof = data.proofs[entry.seq]
        assert proof.verified, (media.id, proof.problem)
        parsed = parse_tlog_proof(proof.text)
        assert parsed.index == entry.seq
        note, _ok = open_note(parsed.checkpoint, [clean.built.ledger.log_verifier()])
        checkpoint = Checkpoint.parse(note.text)
        verify_inclusion(entry.leaf_hash, entry.seq, checkpoint.size, list(parsed.hashes), checkpoint.root_hash)
        assert cosignatures_by(note, [WITNESS.verifier()])  # the municipality's cosignature is in it
        # the same audit path as the vendor's store would give
        assert list(parsed.hashes) == clean.built.ledger.store.inclusion_proof(entry.seq, checkpoint.size)
    statuses = {m.id: data.proofs[e.seq].bundle_proof for m, e in certified_media(data)}
    assert statuses == {"M-001": "verified", "C-001": "verified", "V-001": "absent"}  # export proves disposals


def test_proof_is_printed_line_by_line_with_its_checkpoint(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    ledger_section = section(doc, "台帳上の証跡")
    proof_table = tables(ledger_section)[0]
    lines = [cell_text(row[0]) for row in proof_table.rows]
    assert lines[0] == HEADER.decode()
    seq = next(e.seq for m, e in certified_media(clean.ja) if m.id == "M-001")
    assert lines[1] == f"index {seq}"
    text = clean.ja.proofs[seq].text.decode()
    assert "\n".join(lines) + "\n" == text
    kv = keyvalues(doc)
    cp = clean.ja.cosigned_checkpoint
    assert cp is not None
    assert kv["チェックポイントのルートハッシュ"] == cp.root_hash.hex()
    assert base64.b64encode(cp.root_hash).decode() in lines
    assert "city.example.lg.jp/witness" in str(kv["副署者(副署日時)"])
    assert kv["リーフハッシュ(SHA-256)"] == clean.ja.entries[seq].leaf_hash.hex()
    assert str(kv["包含証明"]).startswith("検証済み")
    assert proof_lines(b"a b\nxyz\n") == [["a b"], [proof_lines(b"xyz")[0][0]]]


def test_proof_against_an_uncosigned_checkpoint_says_so(uncosigned: Case) -> None:
    doc = dict(build_disposal_certificates(uncosigned.ja, "ja"))["M-001"]
    status = str(keyvalues(doc)["包含証明"])
    assert "副署はありません" in status
    assert uncosigned.ja.cosigned_checkpoint is not None and uncosigned.ja.cosigned_checkpoint.size == 1
    assert any(f.code == "I6" and f.severity == "error" for f in uncosigned.ja.result.findings)


def test_findings_about_the_medium_are_on_its_certificate(clean: Case) -> None:
    data = clean.ja
    seq = next(e.seq for m, e in certified_media(data) if m.id == "C-001")
    finding = Finding("C7", "error", "写真にシリアル番号が写っていません", seq, "C-001")
    changed = dataclasses.replace(data, result=dataclasses.replace(data.result, findings=(finding,)))
    doc = dict(build_disposal_certificates(changed, "ja"))["C-001"]
    text = all_text(section(doc, "検証所見"))
    assert "C7" in text and "写真にシリアル番号が写っていません" in text
    other = dict(build_disposal_certificates(changed, "ja"))["M-001"]
    assert "写真にシリアル番号が写っていません" not in all_text(section(other, "検証所見"))


def test_missing_attachment_is_shown(clean: Case) -> None:
    data = clean.ja
    seq = next(e.seq for m, e in certified_media(data) if m.id == "M-001")
    digest = data.entries[seq].body["certificate"]["attachment"]
    changed = dataclasses.replace(data, attachments={**data.attachments, digest: False})
    doc = dict(build_disposal_certificates(changed, "ja"))["M-001"]
    assert keyvalues(doc)["証跡一式への収録"] == "欠落"


def test_certificate_pdf(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    pdf = render_pdf(doc)
    text = squash(pdf_text(pdf))
    for needle in ("廃棄証明書", "立会者", "SN-001", "c2sp.org/tlog-proof@v1", "C-0001", "日時", "担当者",
                   "情報項目", "媒体名", "数量", "責任者"):
        assert needle in text, needle
    assert all(embedded for _name, embedded in pdf_fonts(pdf))


def test_english_certificate(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.en, "en"))["M-001"]
    text = all_text(doc)
    assert doc.title == "Certificate of Sanitization (disposal)"
    for needle in ("Witness name", "Witness title", "Serial number", "Destroy", "c2sp.org/tlog-proof@v1"):
        assert needle in text, needle
    assert parse_note(clean.en.cosigned_checkpoint.note).text in clean.en.proofs[  # type: ignore[union-attr]
        next(e.seq for m, e in certified_media(clean.en) if m.id == "M-001")].text.decode()
