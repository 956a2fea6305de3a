"""The reports' tables as data: columns with a type, and rows of typed values (docs/reports.md, Excel).

A ``DataTable`` is what a municipal clerk opens in Excel: one header row in
the report's language, then one row per medium / finding / person ...  The
values keep their type -- a count is an ``int``, a date a ``date``, a time a
``datetime`` -- so that the writers can give Excel real numbers and dates
(``tables_xlsx``) or plain ISO text (``tables_csv``).  Both writers consume
this model and nothing else; a report that has a table builds it once.

Times are shown in Japan time (UTC+09:00, named in the column's title), the
zone of every municipality that files these forms: a spreadsheet cell has no
time zone, and a column that mixed the offsets the entries were recorded
with could not be sorted.  Dates (YYYY-MM-DD fields) are kept as recorded.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, TypeAlias

from custody.ledger.timefmt import JST
from custody.verify.reports.errors import ReportModelError

ColumnType = Literal["text", "int", "date", "datetime"]
COLUMN_TYPES: tuple[ColumnType, ...] = ("text", "int", "date", "datetime")
Value: TypeAlias = str | int | date | datetime | None
"""A cell: text, a whole number, a date, a time (naive, Japan time) or nothing."""

_SHEET_FORBIDDEN = set("[]:*?/\\")


@dataclass(frozen=True)
class Column:
    """One column: its title (in the report's language), the type of its values, a width in characters."""

    title: str
    type: ColumnType = "text"
    width: int = 14

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ReportModelError(f"column {self.title!r}: unknown type {self.type!r}")


@dataclass(frozen=True)
class DataTable:
    """A table: ``name`` for files (``register`` -> ``register.ja.csv``), ``sheet`` for the XLSX tab.

    Every row has one value per column, of the column's type (or None); ``footer`` rows (totals) follow
    the rows in the same shape.  Checked when built (ReportModelError), like the document model.
    """

    name: str
    sheet: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    footer: tuple[tuple[Value, ...], ...] = ()

    def __init__(self, name: str, sheet: str, columns: Sequence[Column], rows: Sequence[Sequence[Value]],
                 footer: Sequence[Sequence[Value]] = ()) -> None:
        if not name or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
            raise ReportModelError(f"table name {name!r}: ASCII letters, digits, - and _ only")
        if not sheet or len(sheet) > 31 or _SHEET_FORBIDDEN & set(sheet):
            raise ReportModelError(f"sheet {sheet!r}: 1-31 characters, none of []:*?/\\")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "sheet", sheet)
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "rows", tuple(self._row(r, f"row {i}") for i, r in enumerate(rows)))
        object.__setattr__(self, "footer", tuple(self._row(r, f"footer row {i}") for i, r in enumerate(footer)))

    def _row(self, row: Sequence[Value], where: str) -> tuple[Value, ...]:
        values = tuple(row)
        if len(values) != len(self.columns):
            raise ReportModelError(f"table {self.name}, {where}: {len(values)} values for {len(self.columns)} "
                                   "columns")
        for column, value in zip(self.columns, values, strict=True):
            if value is not None and not _fits(column.type, value):
                raise ReportModelError(f"table {self.name}, {where}, column {column.title!r}: "
                                       f"{type(value).__name__} in a {column.type} column")
        return values

    @property
    def titles(self) -> list[str]:
        return [c.title for c in self.columns]


def _fits(kind: ColumnType, value: Value) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "datetime":
        return isinstance(value, datetime) and value.tzinfo is None
    if kind == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    return isinstance(value, str) and not any(ord(c) < 32 and c not in "\n\t" for c in value)


def jst(at: object) -> datetime | None:
    """An RFC 3339 date-time as a naive Japan-time ``datetime`` to the second (None when absent or unreadable)."""
    if not isinstance(at, str) or not at:
        return None
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(JST).replace(tzinfo=None, microsecond=0)


def day(value: object) -> date | None:
    """A YYYY-MM-DD date, or a date-time's date as recorded (None when absent or unreadable)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    if len(value) > 10:
        moment = jst(value)
        if moment is not None:
            return moment.date()
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


__all__ = ["COLUMN_TYPES", "JST", "Column", "ColumnType", "DataTable", "Value", "count", "day", "jst"]
