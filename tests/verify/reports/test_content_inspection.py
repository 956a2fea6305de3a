"""別紙報告票: 0 / 1 for ① ② ③ per organisation, findings attributed to who acted."""

from __future__ import annotations

import dataclasses

from custody.verify.findings import Finding
from custody.verify.reports import render_pdf
from custody.verify.reports.common import VENDOR, norm_org
from custody.verify.reports.inspection import ROWS, assess, build_inspection, mark_of
from tests.verify.reports.conftest import Case, all_text, cell_text, pdf_text, section, squash, tables


def _summary(case: Case) -> dict[str, list[str]]:
    doc = build_inspection(case.ja, "ja")
    table = tables(section(doc, "遵守状況の点検"))[0]
    return {cell_text(r[1]): [cell_text(c) for c in r] for r in table.rows}


def test_clean_ledger_scores_zero_everywhere(clean: Case) -> None:
    rows = _summary(clean)
    assert list(rows) == ["株式会社サンプル", "株式会社下請"]
    assert rows["株式会社サンプル"][0] == "委託先" and rows["株式会社下請"][0] == "再委託先"
    assert rows["株式会社下請"][2] == "S-1"
    for row in rows.values():
        assert row[3:6] == ["0", "0", "0"], row


def test_unapproved_subcontractor_and_takeout_score_one(violations: Case) -> None:
    rows = _summary(violations)
    assert list(rows) == ["株式会社サンプル", "株式会社下請", "有限会社孫請"]
    sub = rows["有限会社孫請"]
    assert sub[0] == "再委託先(再々委託先)" and sub[2] == "承認なし"
    assert sub[3:6] == ["1", "1", "0"]  # ① re-subcontracting, ② takeout
    assert "[C9]" in sub[6] and "[C2]" in sub[6]
    assert rows["株式会社サンプル"][3:6] == ["0", "0", "0"]
    assert rows["株式会社下請"][3:6] == ["0", "0", "0"]
    doc = build_inspection(violations.ja, "ja")
    total = tables(section(doc, "遵守状況の点検"))[0].footer_rows[0]
    assert [cell_text(c) for c in total[3:6]] == ["1", "1", "0"]


def test_findings_are_attributed_to_the_actor_or_custodian(violations: Case) -> None:
    orgs, attributed = assess(violations.ja)
    kato = norm_org("有限会社孫請")
    assert {f.code for f in attributed[kato]} == {"C9", "C2"}
    assert {f.code for f in attributed[VENDOR]} == {"C14"}  # the lost medium: custodian is the vendor's
    assert orgs.by_key[kato].approved is False
    assert orgs.by_key[norm_org("株式会社下請")].approvals == ["S-1"]


def test_organisation_sections_have_rows_with_notes(violations: Case) -> None:
    doc = build_inspection(violations.ja, "ja")
    part = section(doc, "有限会社孫請(再委託先(再々委託先))")
    rows = [[cell_text(c) for c in r] for r in tables(part)[0].rows]
    assert [r[0] for r in rows] == ["①", "②", "③", "参考", "参考", "参考", "参考", "参考", "参考"]
    assert rows[0][2] == "C9 C16" and rows[0][3] == "1"
    assert rows[1][2] == "C2 C3 C4 C10 C11 C18 C19" and rows[1][3] == "1"
    assert "[C2] #" in rows[1][4]
    assert rows[2][2] == "C1 C6 C7 C8 C12 C15 C17 C24" and rows[2][3] == "0" and rows[2][4] == "—"
    assert any(r[1] == "委託者による検査" and r[2] == "C20" and r[3] == "0" for r in rows)
    vendor = section(doc, "株式会社サンプル(委託先)")
    incident = [[cell_text(c) for c in r] for r in tables(vendor)[0].rows][4]
    assert incident[2] == "C14 C21" and incident[3] == "1" and "M-003" in incident[4]


def test_warnings_do_not_score_one() -> None:
    row = ROWS[2]
    assert mark_of([Finding("C7", "warning", "立会いがない理由のみ", 5, "M-001")], row) == 0
    assert mark_of([Finding("C7", "error", "立会者なし", 5, "M-001")], row) == 1
    assert mark_of([Finding("C5", "error", "承認のない複製", 5, "M-001")], row) == 0


def test_contract_check_and_inspection_records(clean: Case) -> None:
    doc = build_inspection(clean.ja, "ja")
    contract = [[cell_text(c) for c in r] for r in tables(section(doc, "契約書の点検"))[0].rows]
    assert [r[2] for r in contract] == ["0", "0", "0"]
    assert "本社 第2開発室" in contract[1][3]
    records = section(doc, "委託者による検査の記録")
    row = [cell_text(c) for c in tables(records)[0].rows[0]]
    assert row[1] == "実地検査" and "山田 花子" in row[2] and "保管庫の鍵管理簿" in row[5]
    check = [cell_text(c) for c in tables(records)[1].rows[0]]
    assert check[2] == "媒体管理台帳" and check[4] == "0"


def test_integrity_failure_is_stated(clean: Case) -> None:
    bad = Finding("I1", "error", "hash chain broken", 7, None)
    data = dataclasses.replace(clean.ja, result=dataclasses.replace(clean.ja.result, findings=(bad,), ok=False))
    text = all_text(section(build_inspection(data, "ja"), "遵守状況の点検"))
    assert "台帳の完全性の検証に失敗しています" in text and "[I1] #7 hash chain broken" in text


def test_inspection_pdf_and_english(violations: Case) -> None:
    doc = build_inspection(violations.ja, "ja")
    assert doc.orientation == "landscape"
    text = squash(pdf_text(render_pdf(doc)))
    for needle in ("別紙報告票", "契約書の点検", "遵守状況の点検", "有限会社孫請", "①再委託"):
        assert needle in text, needle
    en = build_inspection(violations.en, "en")
    en_rows = {cell_text(r[1]): [cell_text(c) for c in r] for r in tables(section(en, "(2) Compliance"))[0].rows}
    assert en_rows["有限会社孫請"][0] == "Subcontractor (sub-subcontractor)"
    assert en_rows["有限会社孫請"][3:6] == ["1", "1", "0"]
