"""Report rendering: one typed document model, three renderers with stable bytes.

``document`` holds the model; ``render_html``, ``render_pdf`` and ``render_json``
turn a ``Document`` into bytes (the same bytes for the same document);
``load_json`` reads the JSON form back; ``unprintable`` lists the characters
the PDF font lacks (shown there as 〓).  What goes into each report is built
elsewhere, on top of this model.
"""

from __future__ import annotations

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
from custody.verify.reports.pdf import render_pdf, unprintable

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
