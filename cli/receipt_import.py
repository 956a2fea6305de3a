"""A whole handover receipt (預り証) from a CSV or XLSX file: ``custody media receive --from-csv FILE``.

One medium per row; the first row names the columns, in Japanese or English
(docs/receipt-import.md lists them; ``docs/receipt-import.example.csv`` is a
template).  This module reads the file and turns each row into the values of
``custody media receive``'s options, checking each cell (a known column, a
media kind, a number, a yes/no, a date-time); the command then builds each
medium's entry exactly as for one medium and records them all in one
transaction (``custody.ledger.workflow.act_many``), after the same pre-write
check.  A problem anywhere -- here, in the schema or in the rules -- is named
by its row (as Excel numbers it: the header is row 1), its column and what is
wrong, every one of them, and nothing is recorded (``ImportRowsError``: exit
2 for unusable input, 6 when every problem is a rule's refusal).

Dates and times without an offset are Japan time (UTC+09:00): Excel's cells
carry none.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from custody.cli.common import DOCUMENT_LIMIT, read_input_file
from custody.ledger.errors import CustodyError, UsageError
from custody.ledger.i18n import _, language
from custody.ledger.timefmt import JST
from custody.ledger.vocabulary import KINDS, MEANS

MAX_ROWS = 1000  # a receipt lists at most 1,000 lines (schemas: receipt.items maxItems)
MAX_COLUMNS = 64


@dataclass(frozen=True)
class ColumnSpec:
    key: str  # the option's name in custody media receive (its parameter)
    en: str
    ja: str
    kind: str = "text"  # text | media_id | kind | means | bool | int | items | list | datetime
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("media_id", "Media ID", "媒体ID", "media_id", aliases=("媒体番号",)),
    ColumnSpec("kind", "Kind", "種別", "kind", aliases=("媒体の種類",)),
    ColumnSpec("serial", "Serial", "シリアル番号", aliases=("製造番号", "文書番号")),
    ColumnSpec("label", "Label", "ラベル", aliases=("表示",)),
    ColumnSpec("make", "Make", "メーカー"),
    ColumnSpec("model", "Model", "型番"),
    ColumnSpec("capacity", "Capacity", "容量"),
    ColumnSpec("hardware_encryption", "HW encryption", "暗号化機能", "bool", aliases=("ハードウェア暗号化",)),
    ColumnSpec("property_number", "Property number", "資産番号"),
    ColumnSpec("volume_uuid", "Volume UUID", "ボリュームUUID"),
    ColumnSpec("volume_label", "Volume label", "ボリュームラベル"),
    ColumnSpec("items", "Data items", "情報項目", "items", aliases=("情報項目・件数",)),
    ColumnSpec("records", "Records", "件数", "int", aliases=("レコード件数",)),
    ColumnSpec("my_number", "My Number", "特定個人情報", "bool"),
    ColumnSpec("classification", "Classification", "機密性", aliases=("分類",)),
    ColumnSpec("storage_place", "Storage place", "保管場所"),
    ColumnSpec("cabinet", "Cabinet", "保管庫"),
    ColumnSpec("work_location", "Work location", "作業場所"),
    ColumnSpec("custodian", "Custodian", "管理者"),
    ColumnSpec("receipt_number", "Receipt number", "預り証番号"),
    ColumnSpec("receipt_at", "Handed over at", "受渡日時", "datetime"),
    ColumnSpec("receipt_place", "Handover place", "受渡場所"),
    ColumnSpec("means", "Means", "受渡方法", "means"),
    ColumnSpec("from_org", "From organisation", "引渡者所属"),
    ColumnSpec("from_person", "From person", "引渡者"),
    ColumnSpec("to_org", "To organisation", "受領者所属"),
    ColumnSpec("to_person", "To person", "受領者"),
    ColumnSpec("seal", "Seals", "封印番号", "list"),
    ColumnSpec("encrypted", "Handed over encrypted", "暗号化して受渡", "bool", aliases=("データの暗号化",)),
    ColumnSpec("return_due", "Return due", "返却期限", "datetime"),
    ColumnSpec("remarks", "Remarks", "備考"),
)
REQUIRED = ("media_id", "kind", "serial")  # each row's; the receipt number may come from --receipt-number
_BY_KEY = {c.key: c for c in COLUMNS}


def _norm(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).casefold()
    return re.sub(r"[\s_\-・()（）]+", "", text)


_HEADERS: dict[str, ColumnSpec] = {}
for _spec in COLUMNS:
    for _name in (_spec.key, _spec.en, _spec.ja, *_spec.aliases):
        _HEADERS[_norm(_name)] = _spec


def column_title(key: str) -> str:
    """A column's name in the language of the output."""
    spec = _BY_KEY[key]
    return spec.ja if language() == "ja" else spec.en


@dataclass(frozen=True)
class RowProblem:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str  # as the file names it ("" for the row as a whole)
    message: str


@dataclass
class ImportRow:
    row: int
    values: dict[str, Any] = field(default_factory=dict)  # option name -> value, only the cells given
    headers: dict[str, str] = field(default_factory=dict)  # option name -> the column as the file names it


class ImportRowsError(CustodyError):
    """Rows of an imported receipt that are wrong, each named; nothing was recorded (exit 2, or 6)."""

    def __init__(self, path: Path, problems: Sequence[RowProblem], *, exit_code: int = 2) -> None:
        rows = sorted({p.row for p in problems})
        lines = [_("{path}: {n} row(s) with problems; nothing was recorded:").format(path=path, n=len(rows))]
        for p in sorted(problems, key=lambda p: p.row):
            where = _("row {row}, column {column}").format(row=p.row, column=f"「{p.column}」") if p.column \
                else _("row {row}").format(row=p.row)
            lines.append(f"  {where}: {p.message}")
        super().__init__("\n".join(lines), hint=_("Correct the file and run the command again; "
                                                   "the rows are recorded together or not at all."))
        self.problems = list(problems)
        self.exit_code = exit_code


# --- reading the cells ---


_TRUE = {"yes", "y", "true", "1", "有", "あり", "はい", "○", "◯", "済"}
_FALSE = {"no", "n", "false", "0", "無", "なし", "いいえ", "×", "-"}


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return unicodedata.normalize("NFC", str(value)).strip()


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", _as_text(value)).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(_("{value!r} is not yes or no (有/無, はい/いいえ, yes/no, 1/0).").format(value=_as_text(value)))


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = unicodedata.normalize("NFKC", _as_text(value)).replace(",", "").removesuffix("件").strip()
        if not text.isdigit():
            raise ValueError(_("{value!r} is not a whole number.").format(value=_as_text(value)))
        number = int(text)
    if number < 0:
        raise ValueError(_("{value!r} is not a whole number.").format(value=_as_text(value)))
    return number


def _word(table: Mapping[str, tuple[str, str]], value: Any) -> str:
    """A code (usb) or its word in either language (USBメモリ, USB flash drive)."""
    text = unicodedata.normalize("NFKC", _as_text(value)).casefold()
    for code, (en, ja) in table.items():
        if text in (code, unicodedata.normalize("NFKC", en).casefold(), unicodedata.normalize("NFKC", ja).casefold()):
            return code
    words = ", ".join(f"{code} ({ja})" for code, (_en, ja) in table.items())
    raise ValueError(_("{value!r} is not allowed; choose one of: {choices}.").format(value=_as_text(value),
                                                                                   choices=words))


def _datetime(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0, 0))
    else:
        text = unicodedata.normalize("NFKC", _as_text(value)).replace("/", "-")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(_("{value!r} is not a date and time (e.g. 2026-04-01 10:00, Japan time).").format(
                value=_as_text(value))) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=JST)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


_SPLIT = re.compile(r"[;；\n、,，]+")


def _items(value: Any) -> list[str]:
    """``住民基本台帳:1200; 税:300`` as ``--item`` values, each checked."""
    found = []
    for part in _SPLIT.split(_as_text(value)):
        part = unicodedata.normalize("NFKC", part).strip()
        if not part:
            continue
        name, sep, records = part.rpartition(":")
        if not sep or not name.strip() or not records.strip().replace(",", "").isdigit():
            raise ValueError(_("{value!r}: give each data item as NAME:RECORDS, separated by ';' "
                               "(e.g. 住民基本台帳:1200; 税情報:300).").format(value=part))
        found.append(f"{name.strip()}:{int(records.strip().replace(',', ''))}")
    return found


def _list(value: Any) -> list[str]:
    return [p.strip() for p in re.split(r"[;；\n、,，]+", _as_text(value)) if p.strip()]


_MEDIA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # schemas/defs.schema.json mediaId


def _media_id(value: Any) -> str:
    text = _as_text(value)
    if not _MEDIA_ID.fullmatch(text):
        raise ValueError(_("{value!r} is not a media id: ASCII letters, digits, '.', '_' and '-', starting with a "
                           "letter or digit, at most 64 (e.g. M-001).").format(value=text))
    return text


_READERS: dict[str, Callable[[Any], Any]] = {
    "text": _as_text, "media_id": _media_id, "bool": _bool, "int": _int, "datetime": _datetime, "items": _items,
    "list": _list,
    "kind": lambda v: _word(KINDS, v), "means": lambda v: _word(MEANS, v),
}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- the file ---


def _csv_rows(data: bytes, path: Path) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "cp932"):  # Excel saves "CSV UTF-8" with a BOM, plain "CSV" in Shift_JIS
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UsageError(_("{path}: not UTF-8 or Shift_JIS text.").format(path=path),
                         hint=_("Save it from Excel as 'CSV UTF-8 (comma delimited)'."))
    try:
        return list(itertools.islice(csv.reader(io.StringIO(text, newline="")), MAX_ROWS + 2))
    except csv.Error as exc:
        raise UsageError(_("{path}: not a readable CSV file: {why}").format(path=path, why=exc)) from None


def _xlsx_rows(data: bytes, path: Path) -> list[list[Any]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise UsageError(_("{path}: not a readable XLSX workbook: {why}").format(path=path, why=exc),
                         hint=_("Save it from Excel as 'Excel Workbook (*.xlsx)', or as CSV UTF-8.")) from None
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)]
    finally:
        book.close()


def read_rows(path: Path) -> list[ImportRow]:
    """The file's rows as option values; ImportRowsError (exit 2) naming every wrong cell."""
    data = read_input_file(path, _("the receipt file"), DOCUMENT_LIMIT)
    xlsx = data[:2] == b"PK" or path.suffix.lower() in (".xlsx", ".xlsm")
    table = _xlsx_rows(data, path) if xlsx else _csv_rows(data, path)
    while table and all(_empty(v) for v in table[-1]):
        table.pop()
    if not table:
        raise UsageError(_("{path}: the file is empty.").format(path=path),
                         hint=_("The first row names the columns (docs/receipt-import.md), then one medium per row."))
    problems: list[RowProblem] = []
    columns: list[tuple[int, ColumnSpec, str]] = []
    seen: dict[str, str] = {}
    for index, header in enumerate(table[0]):
        if _empty(header):
            continue
        title = _as_text(header)
        spec = _HEADERS.get(_norm(title))
        if spec is None:
            problems.append(RowProblem(1, title, _("unknown column; the columns are: {names}").format(
                names=", ".join(column_title(c.key) for c in COLUMNS))))
        elif spec.key in seen:
            problems.append(RowProblem(1, title, _("the same column as 「{other}」").format(other=seen[spec.key])))
        else:
            seen[spec.key] = title
            columns.append((index, spec, title))
    problems += [RowProblem(1, column_title(key), _("required column missing")) for key in REQUIRED if key not in seen]
    body = table[1:]
    if len(body) > MAX_ROWS:
        problems.append(RowProblem(MAX_ROWS + 2, "", _("more than {n} media in one file; split the receipt").format(
            n=MAX_ROWS)))
        body = body[:MAX_ROWS]
    rows: list[ImportRow] = []
    for offset, cells in enumerate(body):
        number = offset + 2
        if all(_empty(v) for v in cells):
            continue
        row = ImportRow(number)
        for index, spec, title in columns:
            value = cells[index] if index < len(cells) else None
            row.headers[spec.key] = title
            if _empty(value):
                if spec.key in REQUIRED:
                    problems.append(RowProblem(number, title, _("empty; every medium needs one")))
                continue
            try:
                row.values[spec.key] = _READERS[spec.kind](value)
            except ValueError as exc:
                problems.append(RowProblem(number, title, str(exc)))
        extra = [v for v in cells[len(table[0]):] if not _empty(v)]
        if extra:
            problems.append(RowProblem(number, "", _("values beyond the last named column")))
        rows.append(row)
    if not rows and not problems:
        raise UsageError(_("{path}: no media in the file, only the header row.").format(path=path))
    if problems:
        raise ImportRowsError(path, problems)
    return rows


def header_of(row: ImportRow, key: str) -> str:
    """The column a field came from, as the file names it (else its name in the output's language)."""
    return row.headers.get(key) or column_title(key)


__all__ = ["COLUMNS", "ImportRow", "ImportRowsError", "RowProblem", "column_title", "header_of", "read_rows"]
