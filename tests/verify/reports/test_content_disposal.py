"""廃棄証明書: one certificate per medium, NIST SP 800-88 and My Number fields, the serial photo embedded, and a
tlog-proof that verifies, attached to the document rather than printed."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosignatures_by
from custody.ledger.note import open_note, parse_note
from custody.ledger.proof import verify_inclusion
from custody.ledger.rfc6962 import leaf_hash
from custody.ledger.tlogproof import parse_tlog_proof
from custody.verify.certificate import FORMAT as CERTIFICATE_FORMAT
from custody.verify.findings import Finding
from custody.verify.reports import Figure, KeyValues, render_pdf
from custody.verify.reports.disposal import (
    build_disposal_certificates,
    certified_media,
    proof_fingerprint,
)
from tests.verify.reports.conftest import (
    Case,
    all_text,
    keyvalues,
    pdf_fonts,
    pdf_text,
    section,
    squash,
)
from tests.verify.reports.scenario import WITNESS


def test_one_certificate_per_sanitized_medium(clean: Case) -> None:
    certs = build_disposal_certificates(clean.ja, "ja")
    assert [media_id for media_id, _doc in certs] == ["M-001", "V-001", "C-001"]
    titles = {media_id: doc.title for media_id, doc in certs}
    assert titles == {"M-001": "廃棄証明書", "V-001": "消去証明書", "C-001": "廃棄証明書"}


def test_letterhead_names_the_certificate_number_the_addressee_and_the_issuer(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    head = doc.letterhead
    assert head is not None
    assert head.number == ("文書番号", "C-0001")
    assert head.addressee == "例市長 様"
    assert head.issued[0] == "発行日" and head.issued[1].startswith("令和")
    assert any("受託者" in line for line in head.issuer)
    assert head.seal == "印"


def test_disposal_record_fields(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    kv = keyvalues(doc)
    assert kv["廃棄申請番号"] == "D-2026-001"
    assert str(kv["承認(番号・承認者・日時)"]).startswith("D-1 例市 市民課長 鈴木 次郎 令和")
    assert kv["担当者(実施者)"] == "田中 二郎(作業従事者 株式会社サンプル)"
    assert kv["シリアル番号"] == "SN-001"
    assert kv["媒体名"] == "USBメモリ Buffalo RUF3-K32GA 32 GB(媒体ID M-001、資産番号 P-SN-001)"
    assert kv["数量"] == "1 個"
    assert kv["特定個人情報、由来"] == "有 / 預り証 R-2026-001"
    assert kv["分類(廃棄前/廃棄後)"] == "機密性3 / 廃棄済(復元不能)"
    assert kv["バックアップ(保管先)"] == "無"
    assert kv["方法(NIST SP 800-88)"] == "破壊 (Destroy) shred(使用機器: shredder X-1)"
    assert kv["場所"] == "第2開発室"
    assert str(kv["検証"]).startswith("visual inspection of fragments: 合格")
    assert str(kv["妥当性確認"]).startswith("山田 花子(主査 例市) 令和")
    assert kv["立会者"] == "山田 花子 例市 主査"
    assert str(kv["責任者"]).startswith("佐藤 一郎")
    assert kv["残渣の処理先"] == "産業廃棄物処理業者 株式会社リサイクル"


def test_my_number_disposal_record_is_the_first_section_with_the_seals(clean: Case) -> None:
    """The guideline's record (日時, 担当者, 情報項目, 媒体名, 数量, 方法, 責任者, 立会者) and the seal boxes that
    attest it, kept together (keep_with=1)."""
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    record = section(doc, "削除・廃棄記録")
    block, seals = record.blocks
    assert isinstance(block, KeyValues)
    labels = [label for label, _v in block.rows]
    for needle in ("日時", "担当者(実施者)", "情報項目・件数", "媒体名", "数量", "方法(NIST SP 800-88)", "責任者",
                   "立会者"):
        assert needle in labels, needle
    assert seals.labels == ("実施者", "責任者", "立会者")  # type: ignore[union-attr]
    assert seals.keep_with == 1  # type: ignore[union-attr]


def test_serial_photo_is_embedded_with_its_hash_beside_it(clean: Case) -> None:
    seq = next(e.seq for m, e in certified_media(clean.ja) if m.id == "M-001")
    body = clean.ja.entries[seq].body
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    evidence = section(doc, "写真")
    figure = evidence.blocks[0]
    assert isinstance(figure, Figure)
    digest = body["photos"][0]["attachment"]
    assert hashlib.sha256(figure.data).hexdigest() == digest
    assert figure.media_type == "image/jpeg" and figure.pixels == (480, 320)
    caption = dict(figure.caption)
    assert caption["SHA-256"].value == digest  # type: ignore[union-attr]
    assert caption["シリアル番号"] == "写っている"
    # the second photo is not an image: listed by name and hash only
    rest = evidence.blocks[1]
    assert isinstance(rest, KeyValues)
    values = [v.value if hasattr(v, "value") else v for _l, v in rest.rows]
    assert body["photos"][1]["attachment"] in values
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


def test_proof_is_attached_not_printed(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    seq = next(e.seq for m, e in certified_media(clean.ja) if m.id == "M-001")
    proof = clean.ja.proofs[seq].text
    attached = {a.name: a for a in doc.attachments}
    assert attached[f"{seq}.tlog-proof"].data == proof
    kv = keyvalues(doc)
    assert proof_fingerprint(proof) in str(kv["C2SP tlog-proof"])
    assert f"{seq}.tlog-proof" in str(kv["C2SP tlog-proof"])
    assert "c2sp.org/tlog-proof@v1" not in all_text(doc)  # no base64 lines in the text
    cp = clean.ja.cosigned_checkpoint
    assert cp is not None
    assert kv["ルートハッシュ"] == cp.root_hash.hex()
    assert "city.example.lg.jp/witness" in str(kv["副署者(副署日時)"])
    assert kv["リーフハッシュ(SHA-256)"] == clean.ja.entries[seq].leaf_hash.hex()
    assert str(kv["包含証明"]).startswith("検証済み")


def test_certificate_data_carries_the_signed_entry(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    data = json.loads(next(a for a in doc.attachments if a.name == "certificate.json").data)
    assert data["format"] == CERTIFICATE_FORMAT
    assert data["media_id"] == "M-001" and data["certificate_number"] == "C-0001"
    line = data["entry"].encode()
    assert leaf_hash(line).hex() == data["leaf_hash"] == clean.ja.entries[data["seq"]].leaf_hash.hex()


def test_proof_fingerprint_is_short_and_stable() -> None:
    assert proof_fingerprint(b"x") == " ".join(hashlib.sha256(b"x").hexdigest()[i : i + 4] for i in (0, 4, 8, 12))


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
    assert "欠落" in str(keyvalues(doc)["処理業者の証明書"])


@pytest.mark.parametrize(("calendar", "expected"), [("era", "令和"), ("western", "2026年")])
def test_calendar_option(clean: Case, calendar: str, expected: str) -> None:
    from custody.verify.reports.form import FormOptions

    data = dataclasses.replace(clean.ja, form=FormOptions(calendar=calendar))  # type: ignore[arg-type]
    doc = dict(build_disposal_certificates(data, "ja"))["M-001"]
    assert doc.letterhead is not None and doc.letterhead.issued[1].startswith(expected)
    assert str(keyvalues(doc)["日時"]).startswith(expected)


def test_certificate_pdf(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.ja, "ja"))["M-001"]
    pdf = render_pdf(doc)
    text = squash(pdf_text(pdf))
    for needle in ("廃棄証明書", "立会者", "SN-001", "C-0001", "日時", "担当者", "情報項目", "媒体名", "数量",
                   "責任者", "例市長様", "発行日", "印"):
        assert needle in text, needle
    assert all(embedded for _name, embedded in pdf_fonts(pdf))


def test_english_certificate(clean: Case) -> None:
    doc = dict(build_disposal_certificates(clean.en, "en"))["M-001"]
    text = all_text(doc)
    assert doc.title == "Certificate of Sanitization (disposal)"
    for needle in ("Witness", "Serial number", "Destroy", "Document No.", "To: 例市長"):
        assert needle in text, needle
    seq = next(e.seq for m, e in certified_media(clean.en) if m.id == "M-001")
    assert parse_note(clean.en.cosigned_checkpoint.note).text in clean.en.proofs[seq].text.decode()  # type: ignore[union-attr]
