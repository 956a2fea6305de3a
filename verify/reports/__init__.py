"""Report rendering: one typed document model, three renderers with stable bytes.

``document`` holds the model; ``render_html``, ``render_pdf`` and ``render_json``
turn a ``Document`` into bytes (the same bytes for the same document);
``load_json`` reads the JSON form back; ``unprintable`` lists the characters
the PDF font lacks (shown there as 〓).  What goes into each report is built
elsewhere, on top of this model.

The PDF renderer is imported when first asked for (``__getattr__``): it loads
ReportLab and the fonts' code, which ``custody report`` needs only in its render
workers (a fork server imports ``render`` for them), not in the process that
verifies and hands the documents out (~0.25 s and ~15 MB less there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custody.verify.reports.document import (
    Align,
    Attachment,
    BulletList,
    Cell,
    Document,
    Figure,
    Hash,
    KeyValues,
    Lang,
    Letterhead,
    Note,
    Orientation,
    PageBreak,
    Paragraph,
    Section,
    SignatureBoxes,
    Table,
)
from custody.verify.reports.errors import FontMissingError, ReportError, ReportModelError
from custody.verify.reports.html import render_html
from custody.verify.reports.jsonout import load_json, render_json

if TYPE_CHECKING:
    from custody.verify.reports.pdf import render_pdf, unprintable


def __getattr__(name: str) -> Any:
    if name in ("render_pdf", "unprintable"):
        from custody.verify.reports import pdf

        return getattr(pdf, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Align",
    "Attachment",
    "BulletList",
    "Cell",
    "Document",
    "Figure",
    "FontMissingError",
    "Hash",
    "KeyValues",
    "Lang",
    "Letterhead",
    "Note",
    "Orientation",
    "PageBreak",
    "Paragraph",
    "ReportError",
    "ReportModelError",
    "Section",
    "SignatureBoxes",
    "Table",
    "load_json",
    "render_html",
    "render_json",
    "render_pdf",
    "unprintable",
]
