"""The table model and its two writers: CSV (UTF-8 with BOM, read back with csv) and XLSX (read back with openpyxl)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest

from custody.verify.reports.errors import ReportModelError
from custody.verify.reports.tables import JST, Column, DataTable, day, jst
from custody.verify.reports.tables_csv import render_csv
from custody.verify.reports.tables_xlsx import render_xlsx


def sample() -> DataTable:
    return DataTable(
        "register", "媒体管理台帳",
        [Column("媒体ID"), Column("件数", "int"), Column("登録日時(日本時間)", "datetime"), Column("返却期限", "date"),
         Column("備考")],
        [["M-001", 1200, datetime(2026, 4, 1, 10, 7), date(2026, 6, 30), "住民基本台帳, \"写し\"\n2行目"],
         ["M-002", None, None, None, None]],
        footer=[["合計", 1200, None, None, None]],
    )


def read_csv(blob: bytes) -> list[list[str]]:
    assert blob.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(blob.decode("utf-8-sig"), newline="")))


def test_csv_has_a_bom_crlf_and_reads_back_with_the_csv_module() -> None:
    blob = render_csv(sample())
    assert b"\r\n" in blob
    rows = read_csv(blob)
    assert rows[0] == ["媒体ID", "件数", "登録日時(日本時間)", "返却期限", "備考"]
    assert rows[1] == ["M-001", "1200", "2026-04-01 10:07:00", "2026-06-30", "住民基本台帳, \"写し\"\n2行目"]
    assert rows[2] == ["M-002", "", "", "", ""]
    assert rows[3] == ["合計", "1200", "", "", ""]


def test_xlsx_holds_numbers_and_real_dates() -> None:
    blob = render_xlsx([sample(), DataTable("second", "二枚目", [Column("a")], [["x"]])],
                       stamp=datetime(2026, 4, 2, 9, 0))
    book = openpyxl.load_workbook(io.BytesIO(blob))
    assert book.sheetnames == ["媒体管理台帳", "二枚目"]
    sheet = book["媒体管理台帳"]
    assert [c.value for c in sheet[1]] == ["媒体ID", "件数", "登録日時(日本時間)", "返却期限", "備考"]
    assert sheet[1][0].font.bold
    assert sheet.freeze_panes == "A2"
    row = [c.value for c in sheet[2]]
    assert row[0] == "M-001" and row[1] == 1200 and isinstance(row[1], int)
    assert row[2] == datetime(2026, 4, 1, 10, 7)
    assert sheet["C2"].is_date and sheet["D2"].is_date
    assert sheet.cell(2, 4).value == datetime(2026, 6, 30)  # Excel keeps a date as a date-time at midnight
    assert [c.value for c in sheet[4]][:2] == ["合計", 1200] and sheet[4][0].font.bold
    assert book.properties.created == datetime(2026, 4, 2, 9, 0)


def test_the_same_tables_give_the_same_xlsx_bytes() -> None:
    first = render_xlsx([sample()], stamp=datetime(2026, 4, 2, 9, 0))
    second = render_xlsx([sample()], stamp=datetime(2026, 4, 2, 9, 0))
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 4, 2, 9, 0, 0)}
        # openpyxl stamps the save time into the workbook's properties: replaced by the report's time, so that
        # a file written in another second (another day) is the same.
        core = archive.read("docProps/core.xml")
    assert b">2026-04-02T09:00:00Z</dcterms:modified>" in core
    assert openpyxl.load_workbook(io.BytesIO(first)).properties.modified == datetime(2026, 4, 2, 9, 0)


@pytest.mark.parametrize(("columns", "rows", "fragment"), [
    ([Column("a", "int")], [["1"]], "str in a int column"),
    ([Column("a", "int")], [[True]], "bool in a int column"),
    ([Column("a", "date")], [[datetime(2026, 1, 1)]], "datetime in a date column"),
    ([Column("a", "datetime")], [[datetime(2026, 4, 1, 10, 0, tzinfo=JST)]], "datetime in a datetime column"),
    ([Column("a"), Column("b")], [["only one"]], "1 values for 2 columns"),
    ([Column("a")], [["bell\x07"]], "str in a text column"),
])
def test_a_table_refuses_values_of_the_wrong_type(columns: list[Column], rows: list[list[Any]],
                                                  fragment: str) -> None:
    with pytest.raises(ReportModelError, match=fragment):
        DataTable("t", "t", columns, rows)


@pytest.mark.parametrize(("name", "sheet"), [("bad name", "ok"), ("", "ok"), ("ok", ""), ("ok", "a/b"),
                                             ("ok", "x" * 32), ("名前", "ok")])
def test_names_that_files_or_excel_refuse_are_refused(name: str, sheet: str) -> None:
    with pytest.raises(ReportModelError):
        DataTable(name, sheet, [Column("a")], [])


def test_an_unknown_column_type_is_refused() -> None:
    with pytest.raises(ReportModelError):
        Column("a", "float")  # type: ignore[arg-type]


def test_times_are_shown_in_japan_time_and_dates_as_recorded() -> None:
    assert jst("2026-04-01T01:07:30.250Z") == datetime(2026, 4, 1, 10, 7, 30)
    assert jst("2026-04-01T10:07:00+09:00") == datetime(2026, 4, 1, 10, 7)
    assert jst("not a time") is None and jst("2026-04-01T10:00:00") is None and jst(None) is None
    assert day("2026-03-20") == date(2026, 3, 20)
    assert day("2026-03-31T23:30:00Z") == date(2026, 4, 1)
    assert day("2026-13-01") is None and day(20260320) is None
