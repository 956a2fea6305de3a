"""作業従事者名簿, 事故報告書 and 定期報告書 from the report scenario (tests/verify/reports/scenario.py), in both
languages and as real PDFs."""

from __future__ import annotations

import pytest

from custody.verify.reports import render_pdf
from custody.verify.reports.incidents import build_incidents
from custody.verify.reports.periodic import build_periodic
from custody.verify.reports.staff import build_staff
from tests.verify.reports.conftest import Case, all_text, cell_text, pdf_text, section, squash, tables


def test_staff_list_names_every_worker_with_pledge_and_statement(clean: Case) -> None:
    doc = build_staff(clean.ja, "ja")
    assert doc.title == "作業従事者名簿"
    rows = {cell_text(r[0]): [cell_text(c) for c in r] for r in tables(section(doc, "1. 作業従事者"))[0].rows}
    assert {"佐藤 一郎", "op-tanaka さん", "sub-suzuki さん"} <= set(rows)
    sub = rows["sub-suzuki さん"]
    assert sub[1] == "株式会社下請" and sub[2] == "再委託先" and sub[4] == "令和8年3月28日"
    assert sub[9].startswith("令和8年4月1日") and "(#" in sub[9]  # the own no-data statement, dated, with its entry
    assert "agent-ws01" in all_text(section(doc, "2. 作業場所のエージェント"))


def test_incident_report_gives_the_detailed_report_and_the_notification(violations: Case) -> None:
    doc = build_incidents(violations.ja, "ja")
    text = all_text(doc)
    for needle in ("事故報告書", "棚卸しで所在不明", "M-003", "1,200件", "丸の内署 第123号",
                   "詳細報告: 保管庫の棚卸し漏れ", "委託者の指示"):
        assert needle in text, needle


def test_no_incident_and_no_periodic_report_are_said(clean: Case) -> None:
    assert "台帳に事故の記録はありません。" in all_text(build_incidents(clean.ja, "ja"))
    periodic = all_text(build_periodic(clean.ja, "ja"))
    assert "台帳に定期報告の記録はありません。" in periodic and "400 日以内ごと" in periodic  # the tests' contract (tests/helpers.py)


@pytest.mark.parametrize("build", [build_staff, build_incidents, build_periodic])
def test_each_is_a_real_pdf_in_japanese_and_english(violations: Case, build: object) -> None:
    assert callable(build)
    ja, en = build(violations.ja, "ja"), build(violations.en, "en")
    assert squash(ja.title) in squash(pdf_text(render_pdf(ja)))
    assert en.title in ("Staff list", "Incident report", "Periodic report")
    assert en.title in pdf_text(render_pdf(en))
