"""The reports' tables from real verified bundles (tests/verify/reports/scenario.py), written as CSV and XLSX
by write_reports and read back with csv and openpyxl."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from custody.verify.reports.produce import expand_formats, write_reports
from custody.verify.reports.tables_content import build_tables
from tests.verify.reports.conftest import Case


def read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def written(violations: Case, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tables")
    write_reports(violations.ja, ["all"], ["csv", "xlsx"], "ja", out, workers=1)
    write_reports(violations.en, ["register", "inspection"], ["csv"], "en", out, workers=1)
    return out


def test_csv_and_xlsx_are_written_for_the_reports_with_tables(written: Path) -> None:
    names = sorted(p.name for p in written.iterdir())
    assert names == sorted([
        "register.ja.csv", "register-history.ja.csv", "register.ja.xlsx", "staff.ja.csv", "incidents.ja.csv",
        "completion.ja.xlsx", "inspection.ja.csv", "inspection-detail.ja.csv", "inspection.ja.xlsx",
        "findings.ja.csv", "findings.ja.xlsx", "register.en.csv", "register-history.en.csv", "inspection.en.csv",
        "inspection-detail.en.csv",
    ])  # no disposal certificate: a certificate has no table


def test_format_all_includes_csv_and_xlsx() -> None:
    assert expand_formats(["all"]) == ["pdf", "html", "json", "csv", "xlsx"]


def test_the_register_lists_every_medium_with_typed_cells(violations: Case, written: Path) -> None:
    media = violations.ja.state.media
    rows = read_csv(written / "register.ja.csv")
    assert [r["媒体ID"] for r in rows[:-1]] == list(media) and rows[-1]["媒体ID"] == "合計"
    m1 = next(r for r in rows if r["媒体ID"] == "M-001")
    assert (m1["シリアル番号"], m1["件数"], m1["登録日時(日本時間)"]) == ("SN-001", "1200", "2026-04-01 10:07:00")
    assert rows[-1]["件数"] == str(sum((r["件数"] and int(r["件数"])) or 0 for r in rows[:-1]))
    english = read_csv(written / "register.en.csv")
    assert "Media ID" in english[0] and english[0]["Media ID"] == "M-001"
    book = openpyxl.load_workbook(written / "register.ja.xlsx")
    assert book.sheetnames == ["媒体管理台帳", "媒体ごとの履歴"]
    sheet = book["媒体管理台帳"]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert first["件数"] == 1200 and first["登録日時(日本時間)"] == datetime(2026, 4, 1, 10, 7)
    history = book["媒体ごとの履歴"]
    assert history.max_row - 1 == sum(len(m.history) for m in media.values())


def test_the_staff_list_has_every_person_with_pledge_training_and_registration(violations: Case,
                                                                               written: Path) -> None:
    rows = read_csv(written / "staff.ja.csv")
    assert [r["鍵名"] for r in rows] == [p.key_name for p in sorted(violations.ja.state.people.values(),
                                                                    key=lambda p: p.registered_seq)]
    kato = next(r for r in rows if r["鍵名"] == "sub-kato")
    assert (kato["所属"], kato["区分"], kato["再委託承認"]) == ("有限会社孫請", "再々委託先", "S-9")
    assert (kato["誓約書提出日"], kato["研修受講日"]) == ("2026-03-28", "2026-03-29")
    resp = rows[0]
    assert (resp["鍵名"], resp["役割"], resp["誓約書提出日"]) == ("resp-sato", "作業責任者", "2026-03-20")
    staff = openpyxl.load_workbook(written / "completion.ja.xlsx")["従事者名簿"]
    header = [c.value for c in staff[1]]
    assert staff.cell(2, header.index("誓約書提出日") + 1).value == datetime(2026, 3, 20)


def test_the_incident_list(written: Path) -> None:
    rows = read_csv(written / "incidents.ja.csv")
    assert len(rows) == 1
    lost = rows[0]
    assert (lost["種別"], lost["媒体"], lost["件数"], lost["警察への届出"], lost["対応状況"]) == (
        "紛失", "M-003", "1200", "有", "対応中")


def test_the_findings_table_has_every_finding_and_its_organisation(violations: Case, written: Path) -> None:
    rows = read_csv(written / "findings.ja.csv")
    assert len(rows) == len(violations.ja.result.findings)
    assert {r["規則"] for r in rows} == {f.code for f in violations.ja.result.findings}
    assert any(r["規則"] == "C9" and r["事業者"] == "有限会社孫請" for r in rows)


def test_the_inspection_row_follows_the_official_form(written: Path) -> None:
    with (written / "inspection.ja.csv").open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    header, row, total = table
    assert len(header) == 12 and header[0] == "団体名"  # the municipality and the form's 11 columns
    assert header[1].startswith("(1)契約書の点検 ①") and header[5].startswith("(2)委託先の遵守状況 ①")
    assert header[9].startswith("(2)再委託先の遵守状況 ②") and header[10].startswith("(2)再委託先の遵守状況 ③")
    assert row[0] == "例市"
    # ① by the vendor: an unapproved sub-subcontractor (C9); ② by the subcontractors: the forged takeout (C2).
    assert [row[i] for i in (1, 2, 3, 5, 6, 7, 9, 10)] == ["0", "0", "0", "1", "0", "0", "1", "0"]
    assert "[C9]" in row[8] and "[C2]" in row[11] and row[4] == ""
    assert total[0] == "市町村分計" and total[1:4] == row[1:4] and total[9:11] == row[9:11]
    detail = read_csv(written / "inspection-detail.ja.csv")
    assert {r["事業者名"] for r in detail} >= {"株式会社サンプル", "株式会社下請", "有限会社孫請"}


def test_a_clean_contract_has_a_row_of_zeros(clean: Case) -> None:
    form = build_tables("inspection", clean.ja, "ja")[0]
    row = form.rows[0]
    assert row[0] == "例市"
    assert [row[i] for i in (1, 2, 3, 5, 6, 7, 9, 10)] == [0] * 8
    assert all(not row[i] for i in (4, 8, 11))


def test_dates_in_the_staff_table_are_dates(clean: Case) -> None:
    staff = build_tables("completion", clean.ja, "ja")[0]
    pledge = staff.titles.index("誓約書提出日")
    assert all(isinstance(r[pledge], date) for r in staff.rows if r[pledge] is not None)
