"""``custody media receive --from-csv / --from-xlsx``: a whole handover receipt, all rows or none.

The files are real CSV (UTF-8 with BOM, Shift_JIS) and XLSX (written with openpyxl); the ledger is a real
one (tests/cli/workflow_world.py); a refused file leaves it unchanged, byte for byte.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from tests.cli.conftest import Custody
from tests.cli.workflow_world import CliWorld

ROOT = Path(__file__).resolve().parents[2]
HEADER_JA = ["媒体ID", "種別", "シリアル番号", "情報項目", "件数", "特定個人情報", "預り証番号", "受渡日時", "封印番号",
             "引渡者"]
HEADER_EN = ["Media ID", "Kind", "Serial", "Data items", "Records", "My Number", "Receipt number", "Handed over at",
             "Seals", "From person"]


def good_rows() -> list[list[str]]:
    return [
        ["M-101", "usb", "SN-101", "住民基本台帳:1200", "1200", "有", "R-2026-101", "2026-04-01 10:00", "S-1", ""],
        ["M-102", "USBメモリ", "SN-102", "住民基本台帳:800; 印鑑登録原票:300", "", "有", "R-2026-101",
         "2026/04/01 10:00", "S-2; S-3", ""],
        ["M-103", "optical", "DVD-103", "印鑑登録原票:150", "150", "無", "R-2026-101", "2026-04-01T10:00:00+09:00", "",
         "山田 花子"],
    ]


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8-sig") -> Path:
    import csv

    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def ja(template: CliWorld, tmp_path: Path) -> CliWorld:
    return CliWorld.copy_of(template, tmp_path / "w", Custody(tmp_path, lang="ja"))


def test_a_whole_receipt_from_csv_is_recorded_in_one_go(w: CliWorld, tmp_path: Path) -> None:
    before = w.size()
    run = w.ok("media", "receive", "--from-csv", str(write_csv(tmp_path / "r.csv", HEADER_JA, good_rows())),
               "--from-person", "佐藤 花子")
    assert "Recorded 3 media" in run.stdout
    assert w.size() == before + 3
    state = w.state()
    assert [state.media[m].serial for m in ("M-101", "M-102", "M-103")] == ["SN-101", "SN-102", "DVD-103"]
    m102 = state.media["M-102"].record
    assert m102["contents"]["records"] == 1100 and m102["receipt"]["seals"] == ["S-2", "S-3"]
    assert m102["receipt"]["at"] == "2026-04-01T10:00:00+09:00"
    assert m102["receipt"]["from"]["person"] == "佐藤 花子"  # an option gives the value of an empty cell
    assert state.media["M-103"].record["receipt"]["from"]["person"] == "山田 花子"  # and a cell wins
    assert state.media["M-103"].kind == "optical" and state.media["M-103"].my_number is False
    # The receipt declares its three media and every data item's records, which match what was recorded (C15).
    receipt = state.receipts["R-2026-101"]
    assert receipt["declared"] == 3 and receipt["media"] == ["M-101", "M-102", "M-103"]
    assert receipt["records"] == {"住民基本台帳": 2000, "印鑑登録原票": 450}


def test_xlsx_with_english_headers_and_real_cells(w: CliWorld, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER_EN)
    sheet.append(["M-201", "hdd", "HD-201", "住民基本台帳:10", 10, "no", "R-9", datetime(2026, 4, 2, 9, 30), None, "X"])
    sheet.append(["M-202", "Hard disk drive", 2020202, "住民基本台帳:5", 5.0, False, "R-9", None, "S-9", "X"])
    path = tmp_path / "r.xlsx"
    book.save(path)
    w.ok("media", "receive", "--from-xlsx", str(path), "--receipt-at", "2026-04-02T09:30:00+09:00")
    state = w.state()
    assert state.media["M-201"].record["receipt"]["at"] == "2026-04-02T09:30:00+09:00"
    assert state.media["M-202"].serial == "2020202" and state.media["M-202"].kind == "hdd"
    assert state.media["M-202"].record["contents"]["records"] == 5


def test_the_shipped_template_imports(w: CliWorld) -> None:
    w.ok("media", "receive", "--from-csv", str(ROOT / "docs" / "receipt-import.example.csv"))  # 引渡者 given there
    assert {"M-101", "M-102", "M-103"} <= set(w.state().media)


def test_a_shift_jis_csv_saved_by_excel_is_read(w: CliWorld, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "sjis.csv", HEADER_JA, good_rows()[:1], encoding="cp932")
    w.ok("media", "receive", "--from-csv", str(path), "--from-person", "山田 花子")
    assert w.state().media["M-101"].record["contents"]["items"][0]["name"] == "住民基本台帳"


# Each case: the rows (header, then data), the (row, column) each problem must name, the exit code.
CASES = {
    "unknown kind": ([HEADER_JA, [*good_rows()[0][:1], "usbstick", *good_rows()[0][2:]]],
                     [(2, "種別", "'usbstick' は使えません")], 2),
    "records not a number": ([HEADER_JA, [*good_rows()[0][:4], "千二百", *good_rows()[0][5:]]],
                             [(2, "件数", "整数ではありません")], 2),
    "empty serial": ([HEADER_JA, [*good_rows()[0][:2], "", *good_rows()[0][3:]]],
                     [(2, "シリアル番号", "空欄です")], 2),
    "bad yes/no": ([HEADER_JA, [*good_rows()[0][:5], "たぶん", *good_rows()[0][6:]]],
                   [(2, "特定個人情報", "有無の値ではありません")], 2),
    "bad date": ([HEADER_JA, [*good_rows()[0][:7], "来週", *good_rows()[0][8:]]],
                 [(2, "受渡日時", "日時ではありません")], 2),
    "bad item": ([HEADER_JA, [*good_rows()[0][:3], "住民基本台帳", *good_rows()[0][4:]]],
                 [(2, "情報項目", "項目名:件数")], 2),
    "unknown column": ([[*HEADER_JA, "色"], [*good_rows()[0], "赤"]], [(1, "色", "この列名は使えません")], 2),
    "missing column": ([HEADER_JA[:2] + HEADER_JA[3:], [r for i, r in enumerate(good_rows()[0]) if i != 2]],
                       [(1, "シリアル番号", "必須の列がありません")], 2),
    "bad media id": ([HEADER_JA, ["M 101", *good_rows()[0][1:]]], [(2, "媒体ID", "媒体番号として使えません")], 2),
    "schema: a value too long for the entry": ([HEADER_JA, [*good_rows()[0][:2], "S" * 600, *good_rows()[0][3:]]],
                                               [(2, "シリアル番号", "serial")], 2),
    "several bad rows, all named": ([HEADER_JA, good_rows()[0], [*good_rows()[1][:1], "floppy", *good_rows()[1][2:]],
                                     [*good_rows()[2][:4], "-3", *good_rows()[2][5:]]],
                                    [(3, "種別", "'floppy'"), (4, "件数", "整数ではありません")], 2),
    "rule: the same media id twice": ([HEADER_JA, good_rows()[0], ["M-101", *good_rows()[1][1:]]],
                                      [(3, "", "[C15]")], 6),
    "rule: the same serial twice": ([HEADER_JA, good_rows()[0], [*good_rows()[1][:2], "SN-101", *good_rows()[1][3:]]],
                                    [(3, "", "[C15]")], 6),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_file_records_nothing_and_names_each_bad_row(ja: CliWorld, tmp_path: Path, case: str) -> None:
    table, problems, code = CASES[case]
    path = write_csv(tmp_path / "bad.csv", table[0], table[1:])
    before = ja.snapshot()
    run = ja.run("media", "receive", "--from-csv", str(path), "--from-person", "山田 花子")
    assert run.code == code, f"{case}: exit {run.code}\n{run.stderr}"
    assert ja.snapshot() == before, "nothing may be recorded when any row is wrong"
    assert "何も記録していません" in run.stderr
    lines = run.stderr.splitlines()
    for row, column, text in problems:
        where = f"{row} 行目 「{column}」 列" if column else f"{row} 行目:"
        line = next((x for x in lines if where in x), None)
        assert line is not None, f"{case}: {where!r} not named in:\n{run.stderr}"
        assert text in line, f"{case}: {text!r} not in {line!r}"
    assert "Traceback" not in run.stderr


def test_a_field_neither_the_file_nor_an_option_gives_is_named_by_its_column(ja: CliWorld, tmp_path: Path) -> None:
    header = [h for h in HEADER_JA if h != "引渡者"]
    path = write_csv(tmp_path / "r.csv", header, [row[:9] for row in good_rows()])
    before = ja.snapshot()
    run = ja.run("media", "receive", "--from-csv", str(path))
    assert run.code == 2, run.stderr
    assert ja.snapshot() == before
    for row in (2, 3, 4):  # the schema's error, with the column that would give the field
        assert f"{row} 行目 「引渡者」 列" in run.stderr and "receipt.from.person" in run.stderr


def test_a_row_already_in_the_ledger_is_refused_with_its_rule(w: CliWorld, tmp_path: Path) -> None:
    w.receive("M-102")
    path = write_csv(tmp_path / "r.csv", HEADER_JA, good_rows())
    before = w.snapshot()
    run = w.run("media", "receive", "--from-csv", str(path), "--from-person", "山田 花子")
    assert run.code == 6, run.stderr
    assert "row 3: [C15]" in run.stderr and "row 2" not in run.stderr and "row 4" not in run.stderr
    assert w.snapshot() == before


@pytest.mark.parametrize(("content", "says"), [
    (b"", "empty"),
    ("媒体ID,種別,シリアル番号\r\n".encode("utf-8-sig"), "only the header row"),
    (b"\x82\xff\x82\xff", "not UTF-8 or Shift_JIS"),
    (b"PK\x03\x04 not really a workbook", "not a readable XLSX"),
])
def test_unusable_files_are_usage_errors(w: CliWorld, tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    before = w.snapshot()
    run = w.run("media", "receive", "--from-csv", str(path))
    assert run.code == 2, run.stderr
    assert says in run.stderr
    assert w.snapshot() == before


def test_from_csv_and_from_file_together_are_refused(w: CliWorld, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", HEADER_JA, good_rows())
    body = tmp_path / "b.json"
    body.write_text("{}")
    run = w.run("media", "receive", "--from-csv", str(path), "--from-file", str(body))
    assert run.code == 2 and "--from-file" in run.stderr


def test_bad_cells_are_named_before_the_key_is_opened(ja: CliWorld, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", HEADER_JA, [[*good_rows()[0][:1], "usbstick", *good_rows()[0][2:]]])
    run = ja.run("media", "receive", "--from-csv", str(path), env={"CUSTODY_PASSPHRASE": "wrong"})
    assert run.code == 2, run.stderr  # not 5: the key was never opened
    assert "2 行目 「種別」 列" in run.stderr


def test_json_output_lists_every_entry(w: CliWorld, tmp_path: Path) -> None:
    import json

    run = w.ok("media", "receive", "--from-csv", str(write_csv(tmp_path / "r.csv", HEADER_JA, good_rows())),
               "--from-person", "山田 花子", "--json")
    doc = json.loads(io.StringIO(run.stdout).read())
    assert [r["media_id"] for r in doc["recorded"]] == ["M-101", "M-102", "M-103"]
    assert [r["seq"] for r in doc["recorded"]] == sorted(r["seq"] for r in doc["recorded"])
