"""媒体管理台帳: every medium with its description, origin, contents, custodian, state and history."""

from __future__ import annotations

from custody.verify.reports import render_pdf
from custody.verify.reports.register import build_register
from tests.verify.reports.conftest import Case, all_text, cell_text, pdf_fonts, pdf_text, section, squash, tables


def _register_rows(case: Case) -> dict[str, list[str]]:
    doc = build_register(case.ja, "ja")
    table = tables(section(doc, "登録媒体一覧"))[0]
    return {cell_text(row[0]): [cell_text(c) for c in row] for row in table.rows}


def test_every_medium_is_listed_with_its_fields(violations: Case) -> None:
    rows = _register_rows(violations)
    assert list(rows) == ["M-001", "M-002", "M-003", "V-001", "C-001"]
    m1 = rows["M-001"]
    assert m1[1] == "USBメモリ"
    assert m1[2] == "Buffalo RUF3-K32GA"
    assert m1[3] == "SN-001"
    assert m1[4] == "32 GB"
    assert m1[5] == "有"  # hardware encryption
    assert m1[6] == "預り証 R-2026-001"
    assert m1[7] == "住民基本台帳 1,200件"
    assert m1[8] == "有"  # My Number data
    assert m1[9] == "第2開発室 施錠保管庫A"
    assert m1[10].startswith("佐藤 一郎")
    assert m1[11] == "廃棄済み"
    assert "令和8年4月1日" in m1[12] and "resp-sato" in m1[12]
    assert rows["C-001"][6] == "複製元 M-001(承認 K-1)"
    assert rows["V-001"][6].startswith("自社")
    assert rows["V-001"][8] == "無"
    assert rows["M-003"][11] == "紛失"
    assert rows["M-002"][11] == "返還済み"


def test_totals_and_states(violations: Case) -> None:
    doc = build_register(violations.ja, "ja")
    table = tables(section(doc, "登録媒体一覧"))[0]
    assert cell_text(table.footer_rows[0][1]) == "5 媒体"
    assert cell_text(table.footer_rows[0][7]) == "4,800件"
    states = {cell_text(r[0]): cell_text(r[1]) for r in tables(section(doc, "状態別"))[0].rows}
    assert states == {"廃棄済み": "2", "返還済み": "1", "紛失": "1", "消去済み": "1"}


def test_history_has_every_act_with_time_event_and_actor(violations: Case) -> None:
    doc = build_register(violations.ja, "ja")
    history = tables(section(doc, "媒体ごとの履歴"))[0]
    expected = sum(len(m.history) for m in violations.ja.state.media.values())
    assert len(history.rows) == expected
    m2 = [[cell_text(c) for c in row] for row in history.rows if cell_text(row[0]) == "M-002"]
    events = [row[3] for row in m2]
    assert events[:2] == ["受領", "持ち出し"]
    assert "返還" in events
    takeout = next(row for row in m2 if row[3] == "持ち出し" and "sub-kato" in row[4])
    assert "孫請の事務所" in takeout[5]
    assert all(row[1].startswith("#") for row in m2)


def test_agent_observations_are_shown(clean: Case) -> None:
    doc = build_register(clean.ja, "ja")
    observed = tables(section(doc, "作業場所での観測"))[0]
    assert [cell_text(c) for c in observed.rows[0]][:2] == ["C-001", "1"]


def test_english_register(clean: Case) -> None:
    doc = build_register(clean.en, "en")
    text = all_text(doc)
    assert doc.title == "Media register" and doc.lang == "en"
    assert "handover receipt R-2026-001" in text
    assert "copy of M-001 (approval K-1)" in text
    assert "disposed" in text


def test_register_pdf_is_landscape_japanese_with_embedded_fonts(clean: Case) -> None:
    doc = build_register(clean.ja, "ja")
    assert doc.orientation == "landscape"
    pdf = render_pdf(doc)
    text = squash(pdf_text(pdf))
    for needle in ("媒体管理台帳", "SN-001", "CSN-001", "預り証", "施錠保管庫A"):
        assert needle in text, needle
    fonts = pdf_fonts(pdf)
    assert fonts and all(embedded for _name, embedded in fonts), fonts
