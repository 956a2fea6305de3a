"""One document in each of its formats: what a report-rendering worker process runs (custody.verify.reports.produce).

Kept apart from ``produce`` so that a worker imports only the renderers (ReportLab, the fonts, the HTML and
JSON writers), not the verifier: the workers start from a process that loaded this module alone (see
``produce._pool_context``), and each one's memory is the renderers' and the document it is rendering.
"""

from __future__ import annotations

from collections.abc import Callable

from custody.verify.reports.document import Document
from custody.verify.reports.html import render_html
from custody.verify.reports.jsonout import render_json
from custody.verify.reports.pdf import render_pdf

RENDER: dict[str, Callable[[Document], bytes]] = {"pdf": render_pdf, "html": render_html, "json": render_json}


def render_doc(task: tuple[Document, tuple[str, ...]]) -> tuple[bytes, ...]:
    """One document in each of its formats (what a worker is sent)."""
    doc, formats = task
    return tuple(RENDER[fmt](doc) for fmt in formats)
