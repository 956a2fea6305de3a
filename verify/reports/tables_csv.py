"""A ``DataTable`` as CSV that Excel opens as it is (docs/reports.md, Excel).

UTF-8 with a byte order mark -- without it Excel reads a CSV in the machine's
ANSI code page (Shift_JIS in Japan) and the Japanese turns to mojibake --,
CRLF line ends and quoting as RFC 4180 (Python's ``csv`` module).  Dates are
``YYYY-MM-DD`` and times ``YYYY-MM-DD HH:MM:SS``, which Excel reads as dates.
The same table gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from custody.verify.reports.tables import DataTable, Value

BOM = "\ufeff"


def cell_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render_csv(table: DataTable) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.titles)
    for row in (*table.rows, *table.footer):
        writer.writerow([cell_text(v) for v in row])
    return buffer.getvalue().encode("utf-8")


__all__ = ["BOM", "cell_text", "render_csv"]
