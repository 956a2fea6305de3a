"""検証結果報告: the verdict, every rule with its counts, every finding with its organisation."""

from __future__ import annotations

from custody.verify.findings import COMPLIANCE_CODES, INTEGRITY_CODES
from custody.verify.reports import render_pdf
from custody.verify.reports.findings import build_findings
from tests.verify.reports.conftest import Case, all_text, cell_text, keyvalues, pdf_text, section, squash, tables


def test_every_rule_is_listed_with_its_counts(violations: Case) -> None:
    doc = build_findings(violations.ja, "ja")
    rules = {cell_text(r[0]): [cell_text(c) for c in r] for r in tables(section(doc, "確認した規則"))[0].rows}
    assert list(rules) == [*INTEGRITY_CODES, *COMPLIANCE_CODES]
    assert rules["C9"][2:] == ["6", "0", "0", "あり"]  # sub-kato acts, and signs, with no approval
    assert rules["C2"][2] == "1" and rules["C14"][2] == "1"
    assert rules["I1"][2:] == ["0", "0", "0", "なし"]
    assert rules["C9"][1] == "未登録の作業者、または承認のない再委託先"


def test_findings_with_their_organisation(violations: Case) -> None:
    doc = build_findings(violations.ja, "ja")
    findings = section(doc, "所見一覧")
    assert findings.orientation is None and doc.orientation == "landscape"  # one orientation per document
    rows = [[cell_text(c) for c in r] for r in tables(findings)[0].rows]
    assert len(rows) == len(violations.ja.result.findings) == 8
    c2 = next(r for r in rows if r[0] == "C2")
    assert c2[1] == "エラー" and c2[5] == "有限会社孫請"
    c14 = next(r for r in rows if r[0] == "C14")
    assert c14[3] == "M-003" and c14[5] == "株式会社サンプル"


def test_overview(violations: Case, clean: Case) -> None:
    kv = keyvalues(build_findings(violations.ja, "ja"))
    assert kv["判定"] == "不合格(エラー 8 件、警告 0 件)"
    assert kv["エラー"] == "8"
    assert str(kv["信頼の基準"]).startswith("委託者の信頼ストア")
    clean_doc = build_findings(clean.ja, "ja")
    assert keyvalues(clean_doc)["判定"] == "合格(エラー 0 件、警告 0 件)"
    assert "検証上の指摘はありません" in all_text(section(clean_doc, "所見一覧"))


def test_findings_pdf_and_english(violations: Case) -> None:
    text = squash(pdf_text(render_pdf(build_findings(violations.ja, "ja"))))
    for needle in ("検証結果報告", "確認した規則", "所見一覧", "有限会社孫請"):
        assert needle in text, needle
    en = build_findings(violations.en, "en")
    assert en.title == "Verification findings"
    en_text = all_text(en)
    assert "FAILED: 8 errors, 0 warnings" in en_text
    assert "takeout without a valid prior approval" in en_text
    assert "The approval is not signed by a municipality approver key" in en_text  # verified in English
