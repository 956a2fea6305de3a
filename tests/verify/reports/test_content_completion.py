"""返還・廃棄完了報告: final dispositions, the reconciliation with the real numbers, statement, checkpoint."""

from __future__ import annotations

from pathlib import Path

from custody.ledger.bundle import Bundle
from custody.verify.reports import SignatureBoxes, render_pdf
from custody.verify.reports.completion import build_completion
from custody.verify.reports.produce import gather
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
from tests.verify.reports.scenario import RESPONSIBLE, finish, new, received_body
from tests.world import receipt


def _dispositions(case: Case) -> dict[str, list[str]]:
    doc = build_completion(case.ja, "ja")
    table = tables(section(doc, "媒体ごとの最終処分"))[0]
    return {cell_text(r[0]): [cell_text(c) for c in r] for r in table.rows}


def test_final_disposition_of_every_medium_and_its_evidence(violations: Case) -> None:
    rows = _dispositions(violations)
    assert {k: v[5] for k, v in rows.items()} == {
        "M-001": "廃棄", "M-002": "返還", "M-003": "紛失", "V-001": "消去", "C-001": "廃棄"}
    state = violations.ja.state
    for media_id, row in rows.items():
        m = state.media[media_id]
        seq = m.final_seq if m.final_seq is not None else m.erased_seq
        assert row[7].startswith(f"#{seq} "), (media_id, row)
    assert rows["M-001"][8] == "C-0001"
    assert rows["M-002"][8] == "RET-001"
    assert rows["C-001"][3] == "複製元 M-001(承認 K-1)"


def test_reconciliation_with_actual_numbers(violations: Case, clean: Case) -> None:
    doc = build_completion(violations.ja, "ja")
    recon = section(doc, "数量の照合")
    table = tables(recon)[0]
    numbers = [cell_text(r[2]) for r in table.rows]
    assert numbers == ["3", "1", "1", "1", "2", "1", "1"]
    assert [cell_text(c) for c in table.footer_rows[0]] == ["差引(0 であること)", "=", "0"]
    text = all_text(recon)
    assert "受領 3 + 登録 1 + 複製 1 − 返還 1 − 廃棄 2 − 消去 1 − 紛失 1 = 0" in text
    assert "結果: 媒体数は一致しています。" in text
    receipts = tables(recon)[1]
    assert [cell_text(c) for c in receipts.rows[0]] == [
        "R-2026-001", "3", "3(M-001, M-002, M-003)", "住民基本台帳: 3,600 / 3,600", "一致"]
    clean_text = all_text(section(build_completion(clean.ja, "ja"), "数量の照合"))
    assert "受領 2 + 登録 1 + 複製 1 − 返還 1 − 廃棄 2 − 消去 1 − 紛失 0 = 0" in clean_text


def test_unsettled_medium_and_missing_statement(tmp_path: Path) -> None:
    ledger, _clock = new(tmp_path)
    ledger.append("media.received", received_body("M-001", "SN-001", receipt=receipt("R-1", quantity=2, records=2400)),
                  RESPONSIBLE)
    built = finish(ledger, tmp_path)
    with Bundle(built.bundle) as bundle:
        data = gather(bundle, built.trust, "ja", workers=1)
    doc = build_completion(data, "ja")
    rows = tables(section(doc, "媒体ごとの最終処分"))[0].rows
    assert cell_text(rows[0][5]) == "未処分"
    assert "完了の記録(contract.closed)がありません" in all_text(section(doc, "完了の報告"))
    recon = all_text(section(doc, "数量の照合"))
    assert "受領 1 + 登録 0 + 複製 0 − 返還 0 − 廃棄 0 − 消去 0 − 紛失 0 = 1" in recon
    assert "媒体数が一致しません" in recon
    receipt_row = [cell_text(c) for c in tables(section(doc, "数量の照合"))[1].rows[0]]
    assert receipt_row[1] == "2" and receipt_row[-1] == "不一致"


def test_statement_incidents_subcontractors_checkpoint(violations: Case) -> None:
    doc = build_completion(violations.ja, "ja")
    kv = keyvalues(doc)
    assert kv["データの残存なし"] == "申告あり"
    assert kv["確認した範囲"] == "作業用PC、バックアップ、電子メール"
    assert "データは残存していません" in str(kv["申告内容"])
    incidents = tables(section(doc, "事故等"))[0]
    row = [cell_text(c) for c in incidents.rows[0]]
    assert row[2] == "紛失" and row[3] == "M-003" and "丸の内署 第123号" in row[4]
    subs = section(doc, "再委託先と承認")
    sub_row = [cell_text(c) for c in tables(subs)[0].rows[0]]
    assert sub_row[0] == "株式会社下請" and sub_row[2].startswith("S-1")
    assert "有限会社孫請(再々委託先)" in all_text(subs)
    cp = violations.ja.cosigned_checkpoint
    assert cp is not None
    assert kv["最終チェックポイント(委託者の副署済み)"] == f"記録 {cp.size} 件時点"
    assert kv["ルートハッシュ(SHA-256)"] == cp.root_hash.hex()
    assert "city.example.lg.jp/witness" in str(kv["副署者(副署日時)"])


def test_verification_summary_and_municipality_check(violations: Case) -> None:
    doc = build_completion(violations.ja, "ja")
    verification = section(doc, "検証結果")
    text = all_text(verification)
    assert "不合格(エラー 8 件、警告 0 件)" in text
    codes = [cell_text(r[0]) for r in tables(verification)[1].rows]
    assert codes.count("C9") == 6 and "C2" in codes and "C14" in codes
    check = section(doc, "委託者による確認")
    boxes = next(b for b in check.blocks if isinstance(b, SignatureBoxes))
    assert list(boxes.labels) == ["検査者", "方法", "日付", "結果"]
    assert list(boxes.names) == ["山田 花子", "実地確認及び証跡の検証", "令和8年4月2日", "適正に完了"]


def test_completion_pdf_and_english(clean: Case) -> None:
    pdf = render_pdf(build_completion(clean.ja, "ja"))
    text = squash(pdf_text(pdf))
    for needle in ("返還・廃棄完了報告", "数量の照合", "差引", "検査者"):
        assert needle in text, needle
    assert all(embedded for _name, embedded in pdf_fonts(pdf))
    en = build_completion(clean.en, "en")
    en_text = all_text(en)
    assert en.title == "Completion report: return and disposal of media"
    assert "received 2 + registered 1 + copies 1 − returned 1 − disposed 2 − erased 1 − lost 0 = 0" in en_text
    assert "Result: the media reconcile." in en_text
    assert "データの残存なし" not in en_text
