"""``DataTable`` s as one Excel workbook, a sheet each (docs/reports.md, Excel; openpyxl).

Numbers are numbers and dates are dates in the cells (formatted
``yyyy/mm/dd`` and ``yyyy/mm/dd hh:mm:ss``), so a clerk can sort, filter and
add up; the header row is bold, frozen and filtered; text wraps.  Footer rows
(totals) are bold.

The same tables give the same bytes, as every custody report: the workbook's
creation and modification times are the ``stamp`` given (the report's as-of
time), and the ZIP members' timestamps, which openpyxl takes from the clock,
are rewritten to that time too.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font

from custody.verify.reports.tables import DataTable, Value

EPOCH = datetime(2000, 1, 1)
_FORMATS = {"date": "yyyy/mm/dd", "datetime": "yyyy/mm/dd hh:mm:ss", "int": "#,##0"}


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _stable_zip(blob: bytes, stamp: datetime) -> bytes:
    """The same archive with every member dated ``stamp``, and the workbook's modification time ``stamp``:
    openpyxl dates both with the clock when it saves (``dcterms:modified`` whatever was set before)."""
    when = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    modified = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode("ascii")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _MODIFIED.sub(lambda m: m.group(1) + modified + m.group(2), data)
            fixed = zipfile.ZipInfo(info.filename, date_time=when)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, data)
    return out.getvalue()


def _plain(value: Value, fmt: str | None) -> bool:
    """Whether a body cell has no style (``render_xlsx``'s ``cell``: no number format, no wrapping)."""
    if isinstance(value, str):
        return "\n" not in value
    return fmt is None or value is None


def render_xlsx(tables: Sequence[DataTable], *, stamp: datetime | None = None, author: str = "custody") -> bytes:
    """A workbook with one sheet per table, in order.

    Written in openpyxl's write-only mode: each row goes to the sheet's XML as it is appended, and no
    sheet is searched (its last row, a cell) per row -- the normal mode took 19 CPU-seconds for the
    1,000-media register and its history.
    """
    when = (stamp or EPOCH).replace(tzinfo=None, microsecond=0)
    book = Workbook(write_only=True)
    book.properties.creator = author
    book.properties.lastModifiedBy = author
    book.properties.created = when
    book.properties.modified = when
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for table in tables:
        sheet = book.create_sheet(table.sheet)
        for index, column in enumerate(table.columns):
            sheet.column_dimensions[_column_letter(index)].width = column.width
        sheet.freeze_panes = "A2"
        if table.rows:
            sheet.auto_filter.ref = f"A1:{_column_letter(len(table.columns) - 1)}{len(table.rows) + 1}"

        def cell(value: Value, fmt: str | None, *, strong: bool, sheet: Any = sheet) -> Cell:
            # openpyxl writes a date as an Excel date (tests/verify/reports/test_tables.py); its stubs omit date.
            out = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]
            if fmt is not None and value is not None and not isinstance(value, str):
                out.number_format = fmt
            if isinstance(value, str) and "\n" in value:
                out.alignment = wrap
            if strong:
                out.font = bold
            return out

        header = [WriteOnlyCell(sheet, value=title) for title in table.titles]
        for c in header:
            c.font = bold
            c.alignment = wrap
        sheet.append(header)
        formats = [_FORMATS.get(c.type) for c in table.columns]
        for row in table.rows:
            # A value with no style of its own goes in as it is: openpyxl writes it through one cell it reuses,
            # the same XML as a cell made for it (an empty one is left out either way), at a third of the cost.
            sheet.append([v if _plain(v, f) else cell(v, f, strong=False) for v, f in zip(row, formats, strict=True)])
        for row in table.footer:
            sheet.append([cell(v, f, strong=True) for v, f in zip(row, formats, strict=True)])
    buffer = io.BytesIO()
    book.save(buffer)
    return _stable_zip(buffer.getvalue(), when)


__all__ = ["render_xlsx"]
