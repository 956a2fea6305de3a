"""One document in each of its formats: what a report-rendering worker process runs (custody.verify.reports.produce).

Kept apart from ``produce`` so that a worker imports only the renderers (ReportLab, the fonts, the HTML and
JSON writers), not the verifier: the workers start from a process that loaded this module and the PDF renderer
alone (see ``produce._pool_context``), and each one's memory is the renderers' and the document it is rendering.
The PDF renderer (ReportLab) is imported on the first PDF rendered: the process that hands the documents to the
workers imports this module too, and never renders one itself when there are workers.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from custody.verify.reports.document import Document, Lang
from custody.verify.reports.html import render_html
from custody.verify.reports.jsonout import render_json
from custody.verify.reports.tables import DataTable


def _render_pdf(doc: Document) -> bytes:
    from custody.verify.reports.pdf import render_pdf

    return render_pdf(doc)


RENDER: dict[str, Callable[[Document], bytes]] = {"pdf": _render_pdf, "html": render_html, "json": render_json}


#: Bytes a worker renders between two returns of its freed memory to the system (``_give_back``): the register of a
#: large contract at once, the certificates every few dozen.
_GIVE_BACK_EVERY = 8 << 20
_rendered = 0


def render_doc(task: tuple[Document, tuple[str, ...]]) -> tuple[bytes, ...]:
    """One document in each of its formats (what a worker is sent)."""
    doc, formats = task
    out = tuple(RENDER[fmt](doc) for fmt in formats)
    _give_back(sum(map(len, out)))
    return out


def _give_back(size: int) -> None:
    """In a render worker, every ``_GIVE_BACK_EVERY`` bytes rendered, the freed heap back: a worker otherwise
    keeps the high-water mark of the largest document it rendered for the rest of the run (72 MB rather than
    49 MB for 1,000 media; issue 19's summed-RSS target).  In the caller's own process it does nothing."""
    global _rendered  # noqa: PLW0603 - a per-process counter, by design
    _rendered += size
    if _rendered < _GIVE_BACK_EVERY or multiprocessing.parent_process() is None:
        return
    _rendered = 0
    # Collect ReportLab's reference cycles, then hand the freed heap back to the system (glibc's malloc_trim;
    # elsewhere only the collection).
    gc.collect()
    if sys.platform == "linux":
        with contextlib.suppress(AttributeError, OSError):  # not glibc (musl has no malloc_trim)
            ctypes.CDLL(None).malloc_trim(0)


def table_files(tables: Sequence[DataTable], stem: str, formats: Sequence[str], lang: Lang,
                stamp: datetime | None) -> list[tuple[str, bytes]]:
    """(file name, bytes) of a report's tables: a CSV per table, one workbook with a sheet each."""
    from custody.verify.reports.tables_csv import render_csv

    files: list[tuple[str, bytes]] = []
    if not tables:
        return files
    if "csv" in formats:
        files += [(f"{table.name}.{lang}.csv", render_csv(table)) for table in tables]
    if "xlsx" in formats:
        from custody.verify.reports.tables_xlsx import render_xlsx

        files.append((f"{stem}.{lang}.xlsx", render_xlsx(tables, stamp=stamp)))
    return files
