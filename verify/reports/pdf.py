"""Render a report ``Document`` as PDF with reportlab: A4, Japanese font embedded.

* Fonts: IPAexGothic for all text and DejaVu Sans Mono for hashes, both
  TrueType, both embedded as subsets (``FontFile2``); see ``fonts`` for why.
  The canvas's initial font is IPAexGothic too, so no page refers to a
  non-embedded base font (Helvetica) -- every font in the file is embedded.
* Line breaking: reportlab's CJK mode, which breaks between any two Japanese
  characters, keeps kinsoku characters (。、」) off the start of a line, and
  inside a Latin run backs up to a space so English words stay whole.  Hashes
  break anywhere.
* Pages: A4 portrait or landscape (per document, or per ``Section``), running
  header (title left, header note right), footer (footer note left, "n / N"
  right).  The total is known because pages are kept until the end and their
  header and footer drawn then (the usual reportlab "page x of y" canvas).
* Long tables continue on the next page with the header row repeated.
* Stable bytes: ``invariant`` fixes the dates and the file ID, nothing else in
  the output depends on time, randomness or the machine.  Title, author, subject
  and language (``/Lang``) are set in the metadata.

Speed: cells whose text fits on one line are drawn as plain strings; only text
that needs wrapping (and every hash) is laid out as a reportlab Paragraph.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageTemplate,
    Spacer,
)
from reportlab.platypus import PageBreak as RLPageBreak
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import Table as RLTable
from reportlab.platypus import TableStyle
from reportlab.platypus.doctemplate import NotAtTopPageBreak

from verify.reports import fonts
from verify.reports.document import (
    Align,
    Block,
    BulletList,
    Cell,
    Document,
    Hash,
    KeyValues,
    Note,
    Orientation,
    PageBreak,
    Paragraph,
    Section,
    SignatureBoxes,
    Table,
)

# Names the fonts are registered under in reportlab (the PDF shows the fonts' own names).
JP_FONT = "CustodyIPAexGothic"
MONO_FONT = "CustodyDejaVuSansMono"

MARGIN_X = 15 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 18 * mm
HEADER_Y = 12 * mm  # baseline of the running header, from the top edge
FOOTER_Y = 10 * mm  # baseline of the footer, from the bottom edge
CHROME_SIZE = 7.5

GRID = colors.HexColor("#777777")
HEAD_BG = colors.HexColor("#e4e4e4")
LABEL_BG = colors.HexColor("#eeeeee")
ZEBRA = colors.HexColor("#f5f5f5")
GREY_TEXT = colors.HexColor("#444444")

CELL_PAD_X = 3.0
CELL_PAD_TOP = 2.0
CELL_PAD_BOTTOM = 3.0
DENSE_COLUMNS = 10
# A heading (caption) starts a new page when less than this height is left below it,
# so that it never ends a page alone.  (Not keepWithNext: that would push a heading
# and the whole long table after it to the next page, leaving this one empty.)
KEEP_HEADING = 35 * mm
KEEP_CAPTION = 20 * mm  # tables with this many columns or more are set smaller

_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}


@cache
def _register(name: str, path: str) -> None:
    # Cached per (name, path): registering parses the font (~35 ms for IPAexGothic).
    pdfmetrics.registerFont(TTFont(name, path))


def _load_fonts() -> None:
    # The locators run on every render (cheap), so a font removed later is still
    # reported as FontMissingError rather than used from a stale registration.
    _register(JP_FONT, str(fonts.japanese_font_path()))
    _register(MONO_FONT, str(fonts.mono_font_path()))


@dataclass(frozen=True)
class _TextStyle:
    """One size of table text: the paragraph styles and the plain-string metrics."""

    size: float
    leading: float
    mono_size: float
    mono_leading: float

    @cache  # noqa: B019 - a handful of frozen instances, cached for the process
    def para(self, align: Align) -> ParagraphStyle:
        return ParagraphStyle(
            f"cell-{self.size}-{align}",
            fontName=JP_FONT,
            fontSize=self.size,
            leading=self.leading,
            alignment=_ALIGN[align],
            wordWrap="CJK",
        )

    @cache  # noqa: B019
    def mono(self, align: Align) -> ParagraphStyle:
        return ParagraphStyle(
            f"hash-{self.mono_size}-{align}",
            fontName=MONO_FONT,
            fontSize=self.mono_size,
            leading=self.mono_leading,
            alignment=_ALIGN[align],
            wordWrap="CJK",
        )

    @cache  # noqa: B019
    def head(self) -> ParagraphStyle:
        return ParagraphStyle(
            f"head-{self.size}",
            parent=self.para("center"),
        )


_CELL = _TextStyle(size=8.0, leading=10.5, mono_size=7.2, mono_leading=9.5)
_DENSE = _TextStyle(size=7.0, leading=9.0, mono_size=6.4, mono_leading=8.4)
_KV = _TextStyle(size=9.0, leading=12.5, mono_size=8.0, mono_leading=11.0)


@cache
def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=JP_FONT, fontSize=9.5, leading=14.5, wordWrap="CJK")
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=23, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=11.5, leading=16, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontSize=12.5,
            leading=17,
            spaceBefore=10,
            spaceAfter=6,
            backColor=LABEL_BG,
            borderPadding=(2, 3, 3, 3),
        ),
        "h3": ParagraphStyle("h3", parent=base, fontSize=11, leading=15, spaceBefore=8, spaceAfter=4),
        "h4": ParagraphStyle("h4", parent=base, fontSize=10, leading=14, spaceBefore=6, spaceAfter=3),
        "para": ParagraphStyle("para", parent=base, spaceAfter=5),
        "note": ParagraphStyle(
            "note", parent=base, fontSize=8.5, leading=12.5, leftIndent=8, textColor=GREY_TEXT, spaceAfter=5
        ),
        "item": ParagraphStyle(
            "item", parent=base, leftIndent=16, bulletIndent=3, bulletFontName=JP_FONT, spaceAfter=2
        ),
        "caption": ParagraphStyle("caption", parent=base, fontSize=9, leading=13, spaceAfter=2),
        "sign": ParagraphStyle("sign", parent=base, fontSize=8.5, leading=11, alignment=TA_CENTER),
    }


def _markup(text: str) -> str:
    """Text as reportlab paragraph markup: escaped, newlines as <br/>."""
    return escape(text).replace("\n", "<br/>")


def _page_size(orientation: Orientation) -> tuple[float, float]:
    return landscape(A4) if orientation == "landscape" else A4


def _frame_width(orientation: Orientation) -> float:
    return float(_page_size(orientation)[0] - 2 * MARGIN_X)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """One line of text, cut with an ellipsis to fit ``width``."""
    text = " ".join(text.split())
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


@dataclass(frozen=True)
class _Chrome:
    """What every page carries: running header and footer with "n / N"."""

    title: str
    header_note: str
    footer_note: str

    def draw(self, canv: Canvas, number: int, total: int) -> None:
        width, height = canv._pagesize
        usable = width - 2 * MARGIN_X
        canv.saveState()
        canv.setFont(JP_FONT, CHROME_SIZE)
        canv.setFillColor(GREY_TEXT)
        canv.setStrokeColor(GREY_TEXT)
        y = height - HEADER_Y
        note = _fit(self.header_note, JP_FONT, CHROME_SIZE, usable * 0.4) if self.header_note else ""
        note_w = pdfmetrics.stringWidth(note, JP_FONT, CHROME_SIZE)
        canv.drawString(MARGIN_X, y, _fit(self.title, JP_FONT, CHROME_SIZE, usable - note_w - 6 * mm))
        if note:
            canv.drawRightString(width - MARGIN_X, y, note)
        canv.setLineWidth(0.4)
        canv.line(MARGIN_X, y - 2 * mm, width - MARGIN_X, y - 2 * mm)
        pages = f"{number} / {total}"
        pages_w = pdfmetrics.stringWidth(pages, JP_FONT, CHROME_SIZE)
        canv.drawRightString(width - MARGIN_X, FOOTER_Y, pages)
        if self.footer_note:
            canv.drawString(
                MARGIN_X, FOOTER_Y, _fit(self.footer_note, JP_FONT, CHROME_SIZE, usable - pages_w - 6 * mm)
            )
        canv.restoreState()


class _PagedCanvas(Canvas):
    """A canvas that draws header and footer once the number of pages is known."""

    def __init__(self, *args: Any, chrome: _Chrome, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chrome = chrome
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        held = self._held
        for number, state in enumerate(held, 1):
            self.__dict__.update(state)
            self._chrome.draw(self, number, len(held))
            Canvas.showPage(self)
        self._held = []
        Canvas.save(self)


class _Story:
    """The flowables, with page breaks merged so that no blank page appears."""

    def __init__(self) -> None:
        self.items: list[Flowable] = []

    def add(self, item: Flowable) -> None:
        self.items.append(item)

    def page_break(self, orientation: Orientation, changes: bool) -> None:
        """A new page in ``orientation``; ``changes`` if that differs from the current one."""
        last = self.items[-1] if self.items else None
        if isinstance(last, RLPageBreak | NotAtTopPageBreak):
            # Two breaks in a row: keep one, and let it lead to the latest orientation.
            if changes:
                self.items[-1] = RLPageBreak(nextTemplate=orientation)
            return
        if changes:
            self.items.append(RLPageBreak(nextTemplate=orientation))
        else:
            self.items.append(NotAtTopPageBreak())

    def finish(self) -> list[Flowable]:
        while self.items and isinstance(self.items[-1], RLPageBreak | NotAtTopPageBreak | NextPageTemplate):
            self.items.pop()
        return self.items


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.styles = _styles()
        self.story = _Story()

    # --- cells ---------------------------------------------------------

    def cell(self, value: Cell, style: _TextStyle, align: Align, width: float) -> Flowable | str:
        """A table cell: a plain string when it fits one line, else a wrapping paragraph."""
        if isinstance(value, Hash):
            return RLParagraph(escape(value.value), style.mono(align))
        if "\n" not in value and pdfmetrics.stringWidth(value, JP_FONT, style.size) <= width:
            return value
        return RLParagraph(_markup(value), style.para(align))

    def grid_style(self, style: _TextStyle, aligns: Sequence[Align]) -> list[tuple[Any, ...]]:
        commands: list[tuple[Any, ...]] = [
            ("FONTNAME", (0, 0), (-1, -1), JP_FONT),
            ("FONTSIZE", (0, 0), (-1, -1), style.size),
            ("LEADING", (0, 0), (-1, -1), style.leading),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD_X),
            ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD_X),
            ("TOPPADDING", (0, 0), (-1, -1), CELL_PAD_TOP),
            ("BOTTOMPADDING", (0, 0), (-1, -1), CELL_PAD_BOTTOM),
            ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ]
        for index, align in enumerate(aligns):
            if align != "left":
                commands.append(("ALIGN", (index, 0), (index, -1), align.upper()))
        return commands

    def table(self, t: Table, orientation: Orientation) -> None:
        width = _frame_width(orientation)
        count = len(t.columns)
        weights = t.col_widths if t.col_widths is not None else (1,) * count
        total = sum(weights)
        col_widths = [width * w / total for w in weights]
        inner = [w - 2 * CELL_PAD_X for w in col_widths]
        style = _DENSE if count >= DENSE_COLUMNS else _CELL
        aligns = [t.column_align(i) for i in range(count)]
        head = [RLParagraph(_markup(c), style.head()) for c in t.columns]
        data: list[list[Flowable | str]] = [head]
        for row in (*t.rows, *t.footer_rows):
            data.append([self.cell(v, style, aligns[i], inner[i]) for i, v in enumerate(row)])
        commands = self.grid_style(style, aligns)
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEAD_BG))
        commands.append(("VALIGN", (0, 0), (-1, 0), "BOTTOM"))
        if len(t.rows) > 1:
            commands.append(("ROWBACKGROUNDS", (0, 1), (-1, len(t.rows)), [colors.white, ZEBRA]))
        if t.footer_rows:
            first = len(t.rows) + 1
            commands.append(("LINEABOVE", (0, first), (-1, first), 1.2, colors.black))
        table = RLTable(
            data,
            colWidths=col_widths,
            repeatRows=1 if t.repeat_header else 0,
            style=TableStyle(commands),
            hAlign="LEFT",
        )
        if t.caption:
            self.story.add(CondPageBreak(KEEP_CAPTION))
            self.story.add(RLParagraph(_markup(t.caption), self.styles["caption"]))
        self.story.add(table)
        self.story.add(Spacer(1, 3 * mm))

    def keyvalues(self, rows: Sequence[tuple[str, Cell]], widths: Sequence[int], orientation: Orientation) -> None:
        width = _frame_width(orientation)
        col_widths = [width * w / sum(widths) for w in widths]
        style = _KV
        data: list[list[Flowable | str]] = [
            [
                RLParagraph(_markup(label), style.para("left")),
                self.cell(value, style, "left", col_widths[1] - 2 * CELL_PAD_X),
            ]
            for label, value in rows
        ]
        commands = self.grid_style(style, ["left", "left"])
        commands.append(("BACKGROUND", (0, 0), (0, -1), LABEL_BG))
        self.story.add(RLTable(data, colWidths=col_widths, style=TableStyle(commands), hAlign="LEFT"))
        self.story.add(Spacer(1, 3 * mm))

    def signatures(self, s: SignatureBoxes) -> None:
        sign = self.styles["sign"]
        rows: list[list[Flowable | str]] = [
            [RLParagraph(_markup(label), sign) for label in s.labels],
            ["" for _ in s.labels],
        ]
        heights: list[float | None] = [None, 22 * mm]
        if s.names:
            rows.append([RLParagraph(_markup(name), sign) for name in s.names])
            heights.append(None)
        table = RLTable(
            rows,
            colWidths=[26 * mm] * len(s.labels),
            rowHeights=heights,
            hAlign="RIGHT",
            style=TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
                    ("BACKGROUND", (0, 0), (-1, 0), LABEL_BG),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 2),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ]
            ),
        )
        self.story.add(KeepTogether([Spacer(1, 4 * mm), table, Spacer(1, 4 * mm)]))

    # --- blocks --------------------------------------------------------

    def block(self, block: Block, depth: int, orientation: Orientation) -> None:
        styles = self.styles
        if isinstance(block, Paragraph):
            self.story.add(RLParagraph(_markup(block.text), styles["para"]))
        elif isinstance(block, Note):
            self.story.add(RLParagraph(_markup(block.text), styles["note"]))
        elif isinstance(block, BulletList):
            for number, item in enumerate(block.items, 1):
                bullet = f"{number}." if block.ordered else "•"
                self.story.add(RLParagraph(_markup(item), styles["item"], bulletText=bullet))
            self.story.add(Spacer(1, 2 * mm))
        elif isinstance(block, KeyValues):
            self.keyvalues(block.rows, block.widths, orientation)
        elif isinstance(block, Table):
            self.table(block, orientation)
        elif isinstance(block, SignatureBoxes):
            self.signatures(block)
        elif isinstance(block, PageBreak):
            self.story.page_break(orientation, changes=False)
        else:
            self.section(block, depth, orientation)

    def section(self, s: Section, depth: int, orientation: Orientation) -> None:
        inner = s.orientation or orientation
        if inner != orientation:
            self.story.page_break(inner, changes=True)
        level = min(depth + 2, 4)
        self.story.add(CondPageBreak(KEEP_HEADING))
        self.story.add(RLParagraph(_markup(s.heading), self.styles[f"h{level}"]))
        for b in s.blocks:
            self.block(b, depth + 1, inner)
        if inner != orientation:
            self.story.page_break(orientation, changes=True)

    def build(self) -> list[Flowable]:
        d = self.doc
        self.story.add(RLParagraph(_markup(d.title), self.styles["title"]))
        if d.subtitle:
            self.story.add(RLParagraph(_markup(d.subtitle), self.styles["subtitle"]))
        else:
            self.story.add(Spacer(1, 3 * mm))
        if d.meta:
            self.keyvalues(d.meta, (1, 3), d.orientation)
        for block in d.blocks:
            self.block(block, 0, d.orientation)
        return self.story.finish()


def _template(orientation: Orientation) -> PageTemplate:
    width, height = _page_size(orientation)
    frame = Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        width - 2 * MARGIN_X,
        height - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id=f"body-{orientation}",
    )
    return PageTemplate(id=orientation, frames=[frame], pagesize=(width, height))


def render_pdf(doc: Document) -> bytes:
    """The document as an A4 PDF with embedded fonts; same document, same bytes."""
    _load_fonts()
    story = _Builder(doc).build()
    other: Orientation = "landscape" if doc.orientation == "portrait" else "portrait"
    buffer = io.BytesIO()
    template = BaseDocTemplate(
        buffer,
        pagesize=_page_size(doc.orientation),
        pageTemplates=[_template(doc.orientation), _template(other)],
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=doc.title,
        author=doc.author or None,
        subject=doc.subtitle or None,
        creator="custody",
        lang=doc.lang,
        invariant=1,
        initialFontName=JP_FONT,
        initialFontSize=9.5,
        displayDocTitle=1,
    )
    chrome = _Chrome(doc.title, doc.header_note, doc.footer_note)

    def make_canvas(*args: Any, **kwargs: Any) -> _PagedCanvas:
        return _PagedCanvas(*args, chrome=chrome, **kwargs)

    template.build(story, canvasmaker=make_canvas)
    return buffer.getvalue()
