"""Render a report ``Document`` as PDF with reportlab: A4, Japanese font embedded.

* Fonts: IPAexGothic for all text and DejaVu Sans Mono for hashes, both
  TrueType, both embedded as subsets (``FontFile2``); see ``fonts`` for why.
  The canvas's initial font is IPAexGothic too, so no page refers to a
  non-embedded base font (Helvetica) -- every font in the file is embedded.
* Line breaking (``linebreak``): between any two Japanese characters, with
  kinsoku (no 。、」 at the start of a line, no 「（ at its end); English words,
  numbers, dates and serials stay whole unless longer than the line; hashes
  break anywhere.
* Pages: A4 portrait or landscape (per document, or per ``Section``), running
  header (title left, header note right, and the banner's first line in red
  below it when the document has one), footer (footer note left, "n / N"
  right).  The banner itself is boxed in red under the title.  The total is
  known because pages are kept until the end and their header and footer
  drawn then (the usual reportlab "page x of y" canvas).
* Long tables continue on the next page with the header row repeated.
* Stable bytes: ``invariant`` fixes the dates and the file ID, nothing else in
  the output depends on time, randomness or the machine.  Title, author, subject
  and language (``/Lang``) are set in the metadata.

Lines are broken here (``linebreak``), not by reportlab: table cells become
plain multi-line strings, which reportlab draws many times faster than a
Paragraph per cell (1,000 register rows: ~0.6 s, 51 landscape pages).
Characters IPAexGothic lacks (𠮷, emoji) print as 〓; ``unprintable`` lists them.

Speed (500 disposal certificates are rendered per 1,000-media ledger): what
reportlab would redo for every document is done once per process and reused --
the font subsets' PDF objects (``fontembed``), paragraph layouts
(``_Paragraph``), table cell styles (``_cell_style``) -- and row heights are
computed here rather than measured by reportlab on every page of a long table.
None of it changes a byte: each is checked against what reportlab makes without it in
``tests/verify/reports/test_pdf_reuse.py``.

The bytes are the same for the same document with the same reportlab and font
versions; upgrading either may change them (the content does not change).
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFImageXObject, PDFName, PDFStream, PDFString
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import rtlSupport
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Image as RLImage
from reportlab.platypus import PageBreak as RLPageBreak
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import Table as RLTable
from reportlab.platypus.doctemplate import NotAtTopPageBreak
from reportlab.platypus.tables import CellStyle

from custody.verify.reports import fonts
from custody.verify.reports.document import (
    Align,
    Attachment,
    Block,
    BulletList,
    Cell,
    Document,
    Figure,
    Hash,
    KeyValues,
    Letterhead,
    Note,
    Orientation,
    PageBreak,
    Paragraph,
    Section,
    SignatureBoxes,
    Table,
)
from custody.verify.reports.fontembed import EmbeddedFont
from custody.verify.reports.jsonout import to_data
from custody.verify.reports.linebreak import break_lines, longest_run

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
BANNER_RED = colors.HexColor("#b00000")
BANNER_BG = colors.HexColor("#fdecec")
BANNER_PAD = 6.0
BANNER_Y = 17.5 * mm  # baseline of the banner's line on every page, from the top edge (below the header rule)

CELL_PAD_X = 3.0
CELL_PAD_TOP = 2.6  # a little more than below: the baseline sits low in the line
CELL_PAD_BOTTOM = 2.0
FIT_SLACK = 0.5  # lines are broken this much narrower than the room, against rounding
SIGN_WIDTH = 26 * mm
SIGN_HEIGHT = 22 * mm
SEAL_SIZE = 18 * mm  # the issuer's seal box (印) in the letterhead
FIGURE_MAX_HEIGHT = 60 * mm
GETA = "\u3013"  # 〓, the placeholder for a character the font cannot print
DENSE_COLUMNS = 10  # tables with this many columns or more are set smaller
# A heading (caption) starts a new page when less than this height is left below it,
# so that it never ends a page alone.  (Not keepWithNext: that would push a heading
# and the whole long table after it to the next page, leaving this one empty.)
KEEP_HEADING = 35 * mm
KEEP_CAPTION = 20 * mm


@cache
def _register(name: str, path: str) -> None:
    # Cached per (name, path): registering parses the font (~35 ms for IPAexGothic).
    pdfmetrics.registerFont(EmbeddedFont(name, path))
    _char_widths.cache_clear()
    _coverage.cache_clear()
    _lines.cache_clear()
    _token_scale.cache_clear()
    _BREAKS.clear()


def _load_fonts() -> None:
    # The locators run on every render (cheap), so a font removed later is still
    # reported as FontMissingError rather than used from a stale registration.
    _register(JP_FONT, str(fonts.japanese_font_path()))
    _register(MONO_FONT, str(fonts.mono_font_path()))


@dataclass(frozen=True)
class _TextStyle:
    """One size of table text: Japanese text and hashes."""

    size: float
    leading: float
    mono_size: float
    mono_leading: float


_CELL = _TextStyle(size=8.0, leading=10.5, mono_size=7.2, mono_leading=9.5)
_DENSE = _TextStyle(size=7.0, leading=9.0, mono_size=6.4, mono_leading=8.4)
_KV = _TextStyle(size=9.0, leading=12.5, mono_size=8.0, mono_leading=11.0)


class _Widths(dict[str, float]):
    """Each character's width in one font and size, measured once (``__missing__``); read back by the
    dictionary's own lookup, which ``map(widths.__getitem__, text)`` runs without a Python call per character."""

    def __init__(self, font: str, size: float) -> None:
        super().__init__()
        self.face = pdfmetrics.getFont(font)
        self.size = size

    def __missing__(self, ch: str) -> float:
        width = self[ch] = float(self.face.stringWidth(ch, self.size))
        return width


@cache
def _char_widths(font: str, size: float) -> Callable[[str], float]:
    return _Widths(font, size).__getitem__


@cache
def _coverage(font: str) -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(font).face.charToGlyph)


def _printable(text: str, font: str) -> str:
    """``text`` with characters the font lacks shown as 〓 (geta), as Japanese print does.

    Otherwise they would print as an empty box and vanish from the extracted
    text.  Invisible marks the font lacks (variation selectors, zero-width
    joiners) are dropped, leaving their base character.
    """
    cmap = _coverage(font)
    if cmap.issuperset(map(ord, text)):
        return text
    out: list[str] = []
    for ch in text:
        if ord(ch) in cmap or ch == "\n":
            out.append(ch)
        elif unicodedata.category(ch) not in ("Mn", "Me", "Cf"):
            out.append(GETA)
    return "".join(out)


def unprintable(doc: Document) -> tuple[str, ...]:
    """The characters of ``doc`` that the PDF shows as 〓 because IPAexGothic lacks them.

    Content code can warn about these (e.g. a name with 𠮷, which is outside JIS X
    0213); the HTML and JSON forms keep the characters themselves.
    """
    _load_fonts()
    cmap = _coverage(JP_FONT)
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.update(
                ch
                for ch in value
                if ord(ch) not in cmap and ch != "\n" and unicodedata.category(ch) not in ("Mn", "Me", "Cf")
            )
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(to_data(doc))
    return tuple(sorted(found))


@lru_cache(maxsize=4096)
def _lines(text: str, font: str, size: float, width: float, *, anywhere: bool = False) -> tuple[str, ...]:
    # Cached: registers repeat the same values (kind, state, place, custodian) row after row.  4,096 lines
    # keep those hits (1,000-media CPU unchanged) in ~5 MB less per render worker than 16,384 did.
    printable = _printable(text, font)
    return tuple(break_lines(printable, width - FIT_SLACK, _char_widths(font, size), anywhere=anywhere))


# Smallest sizes a token is set in to fit its column whole (then it is cut, as a last resort).
MIN_TEXT_SIZE = 5.0
MIN_MONO_SIZE = 4.4


@lru_cache(maxsize=2048)  # small: most cells fit whole at once (the first test below); a worker's memory counts
def _token_scale(text: str, font: str, size: float, width: float, *, anywhere: bool = False) -> float:
    """How much smaller (1.0: not) ``text`` is set so that its widest unbreakable piece fits ``width``.

    Serials, model numbers and hashes are never broken mid-token (docs/reports.md): a cell whose serial
    is wider than its column is set smaller instead, down to ``MIN_TEXT_SIZE`` / ``MIN_MONO_SIZE``.
    Scales are rounded down to 1/20, so that the few sizes used share their cell styles.
    """
    room = width - FIT_SLACK
    char_width = _char_widths(font, size)
    if sum(map(char_width, text)) <= room:
        return 1.0  # the whole text fits on one line: most cells
    widest = longest_run(_printable(text, font), char_width, anywhere=anywhere)
    if widest <= room:
        return 1.0
    floor = (MIN_MONO_SIZE if font == MONO_FONT else MIN_TEXT_SIZE) / size
    return max(floor, int(room / widest * 20) / 20)


@cache
def _scaled(style: _TextStyle, scale: float) -> _TextStyle:
    return _TextStyle(size=style.size * scale, leading=style.leading * scale,
                      mono_size=style.mono_size * scale, mono_leading=style.mono_leading * scale)


@cache
def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=JP_FONT, fontSize=9.5, leading=14.5, wordWrap="CJK")
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=23, spaceAfter=2),
        "form-title": ParagraphStyle("form-title", parent=base, fontSize=17, leading=23, spaceBefore=4, spaceAfter=2,
                                     alignment=1),
        "form-subtitle": ParagraphStyle("form-subtitle", parent=base, fontSize=10.5, leading=15, spaceAfter=6,
                                        alignment=1),
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
        # The box spans the frame: its padding is taken from the indents (reportlab draws it around them).
        "banner": ParagraphStyle(
            "banner", parent=base, fontSize=11, leading=16, textColor=BANNER_RED, backColor=BANNER_BG,
            borderColor=BANNER_RED, borderWidth=1.2, borderPadding=BANNER_PAD, leftIndent=BANNER_PAD,
            rightIndent=BANNER_PAD, spaceBefore=BANNER_PAD + 2, spaceAfter=BANNER_PAD + 6,
        ),
    }


def _page_size(orientation: Orientation) -> tuple[float, float]:
    width, height = landscape(A4) if orientation == "landscape" else A4
    return float(width), float(height)


def _frame_width(orientation: Orientation) -> float:
    return float(_page_size(orientation)[0] - 2 * MARGIN_X)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """One line of text, cut with an ellipsis to fit ``width``."""
    text = " ".join(_printable(text, font).split())
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


class _Base85AsBytes(pdfdoc.PDFStreamFilterBase85Encode):  # type: ignore[misc]  # reportlab has no type hints
    """reportlab's ASCII85 filter of page content streams, its text handed on as bytes.

    reportlab encodes a stream's ASCII85 text to bytes with its "extpdfdoc" codec, a character-by-character
    map (~0.4 ms for a page's ~8 KB); the text is ASCII, for which that map is the identity, so ASCII's own
    codec gives the same bytes at once.  Installed as reportlab's filter for every page stream
    (``pdfdoc.PDFBase85Encode``, which ``PDFPage`` reads when the document is saved).
    """

    def encode(self, text: str | bytes) -> bytes:
        encoded: str = super().encode(text)
        return encoded.encode("ascii")


pdfdoc.PDFBase85Encode = _Base85AsBytes()


@dataclass(frozen=True)
class _Chrome:
    """What every page carries: running header and footer with "n / N", and the banner's first line."""

    title: str
    header_note: str
    footer_note: str
    banner: str = ""

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
        if self.banner:
            # A page separated from the first one still says it: the banner's first line, cut to the width.
            canv.setFillColor(BANNER_RED)
            canv.drawString(MARGIN_X, height - BANNER_Y,
                            _fit(self.banner.split("\n")[0], JP_FONT, CHROME_SIZE, usable))
            canv.setFillColor(GREY_TEXT)
        pages = f"{number} / {total}"
        pages_w = pdfmetrics.stringWidth(pages, JP_FONT, CHROME_SIZE)
        canv.drawRightString(width - MARGIN_X, FOOTER_Y, pages)
        if self.footer_note:
            canv.drawString(MARGIN_X, FOOTER_Y, _fit(self.footer_note, JP_FONT, CHROME_SIZE, usable - pages_w - 6 * mm))
        canv.restoreState()


class _Jpeg(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    """A JPEG drawn as it is (DCTDecode), ``width`` x ``height`` points.

    reportlab's Image flowable hands ``Canvas.drawImage`` an ImageReader, which names the image by hashing
    its decoded pixels: Pillow decodes the whole picture for every certificate (a third of a certificate's
    time, and a buffer of width x height x 3 bytes) only to embed the JPEG's own bytes after all.  Here the
    image is named by the SHA-256 of its bytes and embedded by reportlab's own JPEG loader
    (``PDFImageXObject.loadImageFromJPEG``), registered as ``drawImage`` registers it: the same XObject.
    """

    def __init__(self, data: bytes, width: float, height: float) -> None:
        super().__init__()
        self.data, self.width, self.height = data, width, height
        self.hAlign = "LEFT"

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab's names
        return self.width, self.height

    def draw(self) -> None:
        canv = self.canv
        doc = canv._doc
        name = "custody" + hashlib.sha256(self.data).hexdigest()[:32]
        registered = doc.getXObjectName(name)
        if doc.idToObject.get(registered) is None:
            image = PDFImageXObject(name)
            if not image.loadImageFromJPEG(io.BytesIO(self.data)):
                raise ValueError("not a JPEG reportlab can embed")
            if isinstance(image.streamContent, str):  # ASCII85 text: as bytes, for the reason of _Base85AsBytes
                image.streamContent = image.streamContent.encode("ascii")
            canv._setXObjects(image)
            doc.Reference(image, registered)
            doc.addForm(name, image)
        canv._currentPageHasImages = 1
        canv.saveState()
        canv.scale(self.width, self.height)
        canv._code.append(f"/{registered} Do")
        canv.restoreState()
        canv._formsinuse.append(name)


def _picture(f: Figure, width: float, height: float) -> Flowable:
    """A JPEG as it is (``_Jpeg``); a PNG, or a JPEG reportlab's loader cannot read, through Pillow."""
    if f.media_type == "image/jpeg" and _jpeg_info_ok(f.data):
        return _Jpeg(f.data, width, height)
    image = RLImage(io.BytesIO(f.data), width=width, height=height)
    image.hAlign = "LEFT"
    return image


def _jpeg_info_ok(data: bytes) -> bool:
    from reportlab.pdfbase.pdfutils import readJPEGInfo

    try:
        readJPEGInfo(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - reportlab raises bare PDFError / ValueError / IndexError for odd files
        return False
    return True


def _embed(canv: Canvas, attachments: Sequence[Attachment]) -> None:
    """The attachments as the PDF's embedded files (ISO 32000-1 §7.11.4, the catalog's /Names /EmbeddedFiles).

    reportlab has no API for embedded files, so the objects are made with its own PDF object classes: per file
    an ``/EmbeddedFile`` stream (compressed like every stream) and a ``/Filespec`` naming it, listed in the
    name tree in name order.  Readers (Acrobat, pdf.js, pypdf) show them in their attachments panel.
    """
    doc = canv._doc
    names: list[Any] = []
    for item in sorted(attachments, key=lambda a: a.name):
        subtype = item.media_type.replace("/", "#2F")
        stream = PDFStream(PDFDictionary({"Type": PDFName("EmbeddedFile"), "Subtype": PDFName(subtype),
                                          "Params": PDFDictionary({"Size": len(item.data)})}),
                           content=item.data)
        spec = PDFDictionary({
            "Type": PDFName("Filespec"),
            "F": PDFString(item.name),
            "UF": PDFString(item.name),
            "Desc": PDFString(item.description),
            "AFRelationship": PDFName("Data"),
            "EF": PDFDictionary({"F": doc.Reference(stream), "UF": doc.Reference(stream)}),
        })
        names += [PDFString(item.name), doc.Reference(spec)]
    doc.Catalog.Names = PDFDictionary({"EmbeddedFiles": PDFDictionary({"Names": PDFArray(names)})})


_DRAWN_KEPT = 1024  # lines of text whose operators a document's canvas keeps (_PagedCanvas._line)


class _PagedCanvas(Canvas):  # type: ignore[misc]  # reportlab has no type hints
    """A canvas that draws header and footer once the number of pages is known.

    Its ``drawString``, ``drawRightString`` and ``drawCentredString`` write the same operators as reportlab's
    (``BT``, the text matrix, the font subset when it changes, the text, ``T*``, ``ET``) without making a text
    object and measuring the text for each line: a table cell's every line is drawn through them (~100,000
    lines for 1,000 media), and that was a fifth of rendering.  Anything but plain text in one of the
    embedded TrueType fonts (a mode, spacing, a direction, shaping) goes through reportlab's own methods.
    """

    def __init__(self, *args: Any, chrome: _Chrome, attachments: Sequence[Attachment] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chrome = chrome
        self._attachments = attachments
        self._held: list[dict[str, Any]] = []
        self._drawn: dict[tuple[str, float, float, str], str] = {}  # see _line

    def drawString(self, x: float, y: float, text: str, mode: int | None = None,  # noqa: N802 - reportlab's names
                   charSpace: float = 0, direction: str | None = None,  # noqa: N803
                   wordSpace: float | None = None, shaping: bool = False) -> None:  # noqa: N803
        if not self._written_here(text, mode, charSpace, direction, wordSpace, shaping):
            super().drawString(x, y, text, mode, charSpace, direction, wordSpace, shaping)
        else:
            self._code.append(self._line(x, y, text))

    def drawRightString(self, x: float, y: float, text: str, mode: int | None = None,  # noqa: N802
                        charSpace: float = 0, direction: str | None = None,  # noqa: N803
                        wordSpace: float | None = None, shaping: bool = False) -> None:  # noqa: N803
        if not self._written_here(text, mode, charSpace, direction, wordSpace, shaping):
            super().drawRightString(x, y, text, mode, charSpace, direction, wordSpace, shaping)
        else:
            self._code.append(self._line(x - pdfmetrics.stringWidth(text, self._fontname, self._fontsize), y, text))

    def drawCentredString(self, x: float, y: float, text: str, mode: int | None = None,  # noqa: N802
                          charSpace: float = 0, direction: str | None = None,  # noqa: N803
                          wordSpace: float | None = None, shaping: bool = False) -> None:  # noqa: N803
        if not self._written_here(text, mode, charSpace, direction, wordSpace, shaping):
            super().drawCentredString(x, y, text, mode, charSpace, direction, wordSpace, shaping)
        else:
            width = pdfmetrics.stringWidth(text, self._fontname, self._fontsize)
            self._code.append(self._line(x - 0.5 * width, y, text))

    def _written_here(self, text: object, mode: int | None, char_space: float, direction: str | None,
                      word_space: float | None, shaping: bool) -> bool:
        """Whether a draw*String call is plain text this canvas writes itself; any option ReportLab's own code
        handles (a text mode, spacing, direction, shaping) or text outside the plain case goes to it."""
        return (mode is None and not char_space and not direction and not word_space and not shaping
                and self._plain_text(text))

    def _plain_text(self, text: object) -> bool:
        """Whether reportlab would draw ``text`` as plain text in an embedded TrueType font (no bidi, no shaping)."""
        return (type(text) is str and self.bottomup and not rtlSupport
                and isinstance(pdfmetrics.getFont(self._fontname), EmbeddedFont))

    def _line(self, x: float, y: float, text: str) -> str:
        """What ``beginText(x, y)``, ``textLine(text)`` and ``drawText`` append (reportlab 5.1's
        ``PDFTextObject`` and ``_formatText`` for a TrueType font), at once.

        The operators after the position are kept per font, size, leading and text for the document: once a
        text is drawn its characters have their codes in the document's subsets for good, so the same text
        writes the same operators again (a register repeats its states, kinds and places row after row: three
        lines of four there).  At most ``_DRAWN_KEPT`` are kept, then the table starts again: the repeated
        values come back within a page or two (1,000 media's register: 40,175 lines reused with 1,024 kept,
        40,435 with all 13,000 kept), and a render worker's memory counts (issue 19's summed RSS).
        """
        key = (self._fontname, self._fontsize, self._leading, text)
        ops = self._drawn.get(key)
        if ops is None:
            if len(self._drawn) >= _DRAWN_KEPT:
                self._drawn.clear()
            ops = self._drawn[key] = self._text_ops(text)
        return f"BT 1 0 0 1 {fp_str(x, y)} Tm {ops} T* ET"

    def _text_ops(self, text: str) -> str:
        font = pdfmetrics.getFont(self._fontname)
        doc = self._doc
        escape_pdf = self._escape
        ops: list[str] = []
        subset_now = -1
        size_and_leading = ""
        for subset, codes in font.splitString(text, doc):
            if subset != subset_now:
                if not size_and_leading:
                    size_and_leading = f"{fp_str(self._fontsize)} Tf {fp_str(self._leading)} TL"
                ops.append(f"{font.getSubsetInternalName(subset, doc)} {size_and_leading}")
                subset_now = subset
            ops.append(f"({escape_pdf(codes)}) Tj")
        return " ".join(ops)

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
        if self._attachments:
            _embed(self, self._attachments)
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


@dataclass(frozen=True)
class _Layout:
    """What reportlab's ``Paragraph.wrap`` leaves on the paragraph."""

    lines: Any  # blPara
    width: float
    height: float
    wrap_widths: tuple[float, ...]


# Paragraph layouts by (markup, style name), bullet text and width; see _Paragraph.
_BREAKS: dict[tuple[tuple[str, str], str | None, float], _Layout] = {}
BREAKS_CACHE_SIZE = 4096


class _Paragraph(RLParagraph):  # type: ignore[misc]  # reportlab has no type hints
    """A reportlab Paragraph that shares its laid-out lines with identical paragraphs.

    Every certificate repeats the same headings, statement and notes, and
    reportlab's CJK line layout (``wrap``) is most of a paragraph's cost -- a
    tenth of a certificate's.  ``wrap`` depends only on the markup, the style,
    the bullet and the width, and drawing only reads its result, so the result
    (``blPara``, width, height) is kept per process and handed to the next
    identical paragraph: the same drawing, the same bytes.  ``split`` may edit
    the lines it cuts (reportlab's ``_split_blParaHard``), so a paragraph that
    is split lays itself out privately first.  Paragraphs made by reportlab
    itself (the halves of a split) have no ``shared`` key and are not cached.
    """

    shared: tuple[str, str] | None = None  # (markup, style name); set by _Builder.para
    blPara: Any  # noqa: N815 - reportlab's name, set by its wrap
    _wrapWidths: list[float]  # noqa: N815 - reportlab's name

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab's names
        if self.shared is None:
            width, height = super().wrap(availWidth, availHeight)
            return width, height
        key = (self.shared, self.bulletText, availWidth)
        layout = _BREAKS.get(key)
        if layout is None:
            width, height = super().wrap(availWidth, availHeight)
            if len(_BREAKS) >= BREAKS_CACHE_SIZE:
                _BREAKS.clear()  # rare (thousands of distinct paragraphs); simpler than an LRU
            _BREAKS[key] = _Layout(self.blPara, width, height, tuple(self._wrapWidths))
            return width, height
        self.blPara = layout.lines
        self.width = layout.width
        self.height = layout.height
        self._wrapWidths = list(layout.wrap_widths)
        return layout.width, layout.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803 - reportlab's names
        RLParagraph.wrap(self, availWidth, availHeight)  # a private layout: split may edit it
        return list(super().split(availWidth, availHeight))


@dataclass
class _Grid:
    """A table's cells (pre-broken plain strings), their styles, its other style commands, its row heights."""

    data: list[list[str]]
    styles: list[list[CellStyle]]
    commands: list[tuple[Any, ...]]  # lines and backgrounds only
    heights: list[float]


# The style commands every grid starts with: its lines, and the header row's background.
_GRID_LINES = ("GRID", (0, 0), (-1, -1), 0.4, GRID)
_HEADER_BACKGROUND = ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG)


def _rl_table(grid: _Grid, col_widths: list[float]) -> RLTable:
    return RLTable(
        grid.data,
        colWidths=col_widths,
        rowHeights=grid.heights,
        cellStyles=grid.styles,
        normalizedData=1,  # plain str cells already: skip reportlab's per-cell coercion
        style=TableStyle(grid.commands),
        hAlign="LEFT",
    )


class _PagedTable(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    """A table that continues over pages in time linear in its rows: the register of thousands of media.

    reportlab splits a long Table at a page break into the rows that fit and a
    new Table of *all* the rows left, which it sets up and measures again at
    the next page: quadratic in the rows (the register of 4,000 media took
    7.9 CPU-s, of 1,000 1.4).  This flowable holds the grid once and makes a
    reportlab Table of just the rows of each page; what is left over is
    another ``_PagedTable`` sharing the grid, whose height comes from running
    sums.  Each page's table draws as reportlab draws a split one: the header
    row again on every page (``repeat_header``), the grid lines, the zebra
    stripes (starting white on each page), the rule above the footer rows.
    Rows fit a page by reportlab's own test (``Table._getFirstPossibleSplitRowPosition``).
    """

    def __init__(
        self, grid: _Grid, col_widths: list[float], *, header: bool, repeat_header: bool, body: int, zebra: bool,
        start: int = 0, running: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.grid, self.col_widths = grid, col_widths
        self.header, self.repeat_header, self.body, self.zebra = header, repeat_header, body, zebra
        self.start = start  # the first row of this part, counted without the header
        self.offset = 1 if header else 0
        self.count = len(grid.heights) - self.offset  # body and footer rows
        if running is None:  # heights of the rows before each row, computed once for every part
            running = [0.0]
            for height in grid.heights[self.offset :]:
                running.append(running[-1] + height)
        self.running = running
        self.hAlign = "LEFT"

    def _head(self) -> bool:
        return self.header and (self.start == 0 or self.repeat_header)

    def _head_height(self) -> float:
        return self.grid.heights[0] if self._head() else 0.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab's names
        self.width = sum(self.col_widths)
        self.height = self._head_height() + self.running[self.count] - self.running[self.start]
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803 - reportlab's names
        heights, offset = self.grid.heights, self.offset
        used, end = self._head_height(), self.start
        while end < self.count and used + heights[offset + end] <= availHeight:
            used += heights[offset + end]
            end += 1
        if end == self.start:
            return []  # not one row: the frame moves on to the next page
        if end == self.count:
            return [self._table(self.start, end)]
        rest = _PagedTable(self.grid, self.col_widths, header=self.header, repeat_header=self.repeat_header,
                           body=self.body, zebra=self.zebra, start=end, running=self.running)
        return [self._table(self.start, end), rest]

    def draw(self) -> None:
        table = self._table(self.start, self.count)
        table.wrapOn(self.canv, self.width, self.height)
        table.drawOn(self.canv, 0, 0)

    def _table(self, lo: int, hi: int) -> RLTable:
        """A reportlab Table of rows [lo, hi) (``lo``: this part's ``start``), with the header row first where it
        belongs."""
        grid, offset = self.grid, self.offset
        data: list[list[str]] = []
        styles: list[list[CellStyle]] = []
        heights: list[float] = []
        commands: list[tuple[Any, ...]] = [_GRID_LINES]
        if self._head():  # lo is this part's first row
            data.append(grid.data[0])
            styles.append(grid.styles[0])
            heights.append(grid.heights[0])
            commands.append(_HEADER_BACKGROUND)
        base = len(data)
        data += grid.data[offset + lo : offset + hi]
        styles += grid.styles[offset + lo : offset + hi]
        heights += grid.heights[offset + lo : offset + hi]
        if self.zebra and lo < self.body:
            # Starting white on every page, as reportlab's own split starts them (Table._cr_1_1).
            commands.append(("ROWBACKGROUNDS", (0, base), (-1, base + min(hi, self.body) - lo - 1),
                             [colors.white, ZEBRA]))
        if lo <= self.body < hi:
            first_footer = base + self.body - lo
            commands.append(("LINEABOVE", (0, first_footer), (-1, first_footer), 1.2, colors.black))
        return _rl_table(_Grid(data, styles, commands, heights), self.col_widths)


@cache
def _cell_style(text: _TextStyle, *, mono: bool, align: Align, valign: str) -> CellStyle:
    """One kind of table cell, shared by every cell of that kind in every table.

    reportlab otherwise makes a CellStyle per cell and sets it attribute by
    attribute from each style command (a tenth of a certificate's time, and
    70,000 cells in the register).  Handed over as ``cellStyles``, these are
    only read when drawing: no cell style command (FONT, ALIGN, PADDING ...) is
    given that would change one of them in place -- keep it so.
    """
    cell = CellStyle(f"custody-{'mono' if mono else 'text'}-{align}-{valign}")
    cell.fontname = MONO_FONT if mono else JP_FONT
    cell.fontsize = text.mono_size if mono else text.size
    cell.leading = text.mono_leading if mono else text.leading
    cell.alignment = align.upper()
    cell.valign = valign
    cell.leftPadding = cell.rightPadding = CELL_PAD_X
    cell.topPadding = CELL_PAD_TOP
    cell.bottomPadding = CELL_PAD_BOTTOM
    return cell


def _row_height(text_heights: Iterable[float]) -> float:
    """A row's height from its cells' text heights (lines x leading), as reportlab computes it.

    Given to the table as ``rowHeights``: reportlab would otherwise measure every
    row itself, again for each page a long table continues on (the register:
    ~1,000 rows, 50 pages, a quarter of its time).  Same arithmetic as its
    ``Table._calc_height`` for a string cell -- lines x leading, plus the
    paddings summed first -- so the heights, and the bytes, are the same.
    """
    return max(height + (CELL_PAD_BOTTOM + CELL_PAD_TOP) for height in text_heights)


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.styles = _styles()
        self.story = _Story()

    # --- text ----------------------------------------------------------

    def para(self, text: str, style_name: str, width: float) -> _Paragraph:
        """A paragraph whose lines are broken here (see ``linebreak``), not by reportlab."""
        style = self.styles[style_name]
        lines = _lines(text, JP_FONT, style.fontSize, width - style.leftIndent - style.rightIndent)
        markup = "<br/>".join(escape(line) for line in lines)
        paragraph = _Paragraph(markup, style)
        paragraph.shared = (markup, style_name)
        return paragraph

    def grid(
        self,
        header: Sequence[str] | None,
        rows: Sequence[Sequence[Cell]],
        col_widths: Sequence[float],
        style: _TextStyle,
        aligns: Sequence[Align],
    ) -> _Grid:
        """Cells as pre-broken plain strings, their cell styles, the grid lines, the row heights.

        Plain strings are drawn by the table directly, many times faster than a
        reportlab Paragraph per cell; hashes are set in the monospace font.
        """
        inner = [w - 2 * CELL_PAD_X for w in col_widths]
        commands: list[tuple[Any, ...]] = [_GRID_LINES]
        data: list[list[str]] = []
        styles: list[list[CellStyle]] = []
        heights: list[float] = []
        if header is not None:
            head = [_lines(c, JP_FONT, style.size, inner[i]) for i, c in enumerate(header)]
            data.append(["\n".join(lines) for lines in head])
            styles.append([_cell_style(style, mono=False, align="center", valign="BOTTOM")] * len(head))
            heights.append(_row_height(len(lines) * style.leading for lines in head))
            commands.append(_HEADER_BACKGROUND)
        text_styles = [_cell_style(style, mono=False, align=align, valign="TOP") for align in aligns]
        hash_styles = [_cell_style(style, mono=True, align=align, valign="TOP") for align in aligns]
        for row in rows:
            out: list[str] = []
            row_styles: list[CellStyle] = []
            text_heights: list[float] = []
            for c, value in enumerate(row):
                if isinstance(value, Hash):
                    scale = _token_scale(value.value, MONO_FONT, style.mono_size, inner[c], anywhere=True)
                    cell = style if scale == 1.0 else _scaled(style, scale)
                    lines = _lines(value.value, MONO_FONT, cell.mono_size, inner[c], anywhere=True)
                    text_heights.append(len(lines) * cell.mono_leading)
                    row_styles.append(hash_styles[c] if scale == 1.0 else
                                      _cell_style(cell, mono=True, align=aligns[c], valign="TOP"))
                else:
                    scale = _token_scale(value, JP_FONT, style.size, inner[c])
                    cell = style if scale == 1.0 else _scaled(style, scale)
                    lines = _lines(value, JP_FONT, cell.size, inner[c])
                    text_heights.append(len(lines) * cell.leading)
                    row_styles.append(text_styles[c] if scale == 1.0 else
                                      _cell_style(cell, mono=False, align=aligns[c], valign="TOP"))
                out.append("\n".join(lines))
            data.append(out)
            styles.append(row_styles)
            heights.append(_row_height(text_heights))
        return _Grid(data, styles, commands, heights)

    # --- blocks --------------------------------------------------------

    def table(self, t: Table, orientation: Orientation) -> None:
        width = _frame_width(orientation)
        count = len(t.columns)
        weights = t.col_widths if t.col_widths is not None else (1,) * count
        col_widths = [width * w / sum(weights) for w in weights]
        style = _DENSE if count >= DENSE_COLUMNS else _CELL
        aligns = [t.column_align(i) for i in range(count)]
        grid = self.grid(t.columns, [*t.rows, *t.footer_rows], col_widths, style, aligns)
        table = _PagedTable(grid, col_widths, header=True, repeat_header=t.repeat_header,
                            body=len(t.rows), zebra=len(t.rows) > 1)
        if t.caption:
            self.story.add(CondPageBreak(KEEP_CAPTION))
            self.story.add(self.para(t.caption, "caption", width))
        self.story.add(table)
        self.story.add(Spacer(1, 3 * mm))

    def keyvalues(self, rows: Sequence[tuple[str, Cell]], widths: Sequence[int], orientation: Orientation) -> None:
        width = _frame_width(orientation)
        col_widths = [width * w / sum(widths) for w in widths]
        grid = self.grid(None, rows, col_widths, _KV, ["left", "left"])
        grid.commands.append(("BACKGROUND", (0, 0), (0, -1), LABEL_BG))
        table = _rl_table(grid, col_widths)
        self.story.add(table)
        self.story.add(Spacer(1, 3 * mm))

    def letterhead(self, head: Letterhead, width: float) -> None:
        """宛名 at the left, 文書番号 and 発行日 at the top right, the issuer and its seal box at the right."""
        size = 10.0
        right = min(88 * mm, width * 0.5)
        seal = SEAL_SIZE if head.seal else 0.0
        issuer_w = right - seal
        left = width - right

        def text(value: str, w: float, font_size: float = size) -> str:
            return "\n".join(_lines(value, JP_FONT, font_size, w - 2 * CELL_PAD_X))

        dated = text(f"{head.number[0]} {head.number[1]}\n{head.issued[0]} {head.issued[1]}", right)
        issuer = text("\n".join(head.issuer), issuer_w)
        rows = [["", dated, ""], [text(head.addressee, left, 12.5), "", ""], ["", issuer, head.seal]]
        commands: list[tuple[Any, ...]] = [
            ("FONTNAME", (0, 0), (-1, -1), JP_FONT),
            ("FONTSIZE", (0, 0), (-1, -1), size),
            ("LEADING", (0, 0), (-1, -1), size * 1.45),
            ("FONTSIZE", (0, 1), (0, 1), 12.5),
            ("LEADING", (0, 1), (0, 1), 12.5 * 1.4),
            ("SPAN", (1, 0), (2, 0)),
            ("ALIGN", (1, 0), (1, 0), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("VALIGN", (1, 2), (-1, 2), "MIDDLE"),
            ("TOPPADDING", (0, 1), (0, 1), 4 * mm),
            ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD_X),
            ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD_X),
        ]
        heights: list[float | None] = [None, None, None]
        if head.seal:
            commands += [("BOX", (2, 2), (2, 2), 0.8, colors.black), ("ALIGN", (2, 2), (2, 2), "CENTER"),
                         ("TEXTCOLOR", (2, 2), (2, 2), GREY_TEXT)]
            heights[2] = max(SEAL_SIZE, (issuer.count("\n") + 1) * size * 1.45 + 6)
        table = RLTable(rows, colWidths=[left, issuer_w, seal] if seal else [left, issuer_w, 0.001],
                        rowHeights=heights, hAlign="LEFT", style=TableStyle(commands))
        self.story.add(table)
        self.story.add(Spacer(1, 5 * mm))

    def figure(self, f: Figure, orientation: Orientation) -> None:
        """The picture at the left (at most ``width_mm`` wide, 60 mm high), its caption rows beside it."""
        width = _frame_width(orientation)
        px_w, px_h = f.pixels
        scale = min(f.width_mm * mm / px_w, FIGURE_MAX_HEIGHT / px_h)
        pic_w, pic_h = px_w * scale, px_h * scale
        image = _picture(f, pic_w, pic_h)
        side = width - pic_w - 4 * mm
        rows: list[list[Any]] = [[image, ""]]
        if f.caption:
            col_widths = [side * 2 / 7, side * 5 / 7]
            grid = self.grid(None, f.caption, col_widths, _CELL, ["left", "left"])
            grid.commands.append(("BACKGROUND", (0, 0), (0, -1), LABEL_BG))
            rows = [[image, _rl_table(grid, col_widths)]]
        table = RLTable(rows, colWidths=[pic_w + 4 * mm, side], hAlign="LEFT",
                        style=TableStyle([("FONTNAME", (0, 0), (-1, -1), JP_FONT),  # else reportlab sets Helvetica
                                          ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                          ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                          ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                                          ("TOPPADDING", (0, 0), (-1, -1), 0),
                                          ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
        self.story.add(table)
        self.story.add(Spacer(1, 3 * mm))

    def signatures(self, s: SignatureBoxes, keep_from: int | None = None) -> None:
        size = 8.5
        inner = SIGN_WIDTH - 4

        def text(value: str) -> str:
            return "\n".join(_lines(value, JP_FONT, size, inner))

        rows = [[text(label) for label in s.labels], ["" for _ in s.labels]]
        heights: list[float | None] = [None, SIGN_HEIGHT]
        if s.names:
            rows.append([text(name) for name in s.names])
            heights.append(None)
        table = RLTable(
            rows,
            colWidths=[SIGN_WIDTH] * len(s.labels),
            rowHeights=heights,
            hAlign="RIGHT",
            style=TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), JP_FONT),
                    ("FONTSIZE", (0, 0), (-1, -1), size),
                    ("LEADING", (0, 0), (-1, -1), size * 1.3),
                    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
                    ("BACKGROUND", (0, 0), (-1, 0), LABEL_BG),
                    ("LEFTPADDING", (0, 0), (-1, -1), 2),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ]
            ),
        )
        # A seal attests what precedes it: the blocks from ``keep_from`` on go to the same page (KeepTogether).
        kept: list[Flowable] = []
        if keep_from is not None:
            kept = self.story.items[keep_from:]
            del self.story.items[keep_from:]
        self.story.add(KeepTogether([*kept, Spacer(1, 4 * mm), table, Spacer(1, 4 * mm)]))

    def blocks(self, blocks: Sequence[Block], depth: int, orientation: Orientation, head: int | None) -> None:
        """A container's blocks; ``head`` is where its heading starts in the story (None: the document)."""
        starts: list[int] = []
        for block in blocks:
            starts.append(len(self.story.items))
            if isinstance(block, SignatureBoxes):
                before = len(starts) - 1  # blocks before this one in the container
                if block.keep_with == 0 or (before == 0 and head is None):
                    keep_from = None
                elif block.keep_with >= before and head is not None:
                    keep_from = head
                else:
                    keep_from = starts[max(0, before - block.keep_with)]
                self.signatures(block, keep_from)
            else:
                self.block(block, depth, orientation)

    def block(self, block: Block, depth: int, orientation: Orientation) -> None:
        width = _frame_width(orientation)
        if isinstance(block, Paragraph):
            self.story.add(self.para(block.text, "para", width))
        elif isinstance(block, Note):
            self.story.add(self.para(block.text, "note", width))
        elif isinstance(block, BulletList):
            for number, item in enumerate(block.items, 1):
                p = self.para(item, "item", width)
                p.bulletText = f"{number}." if block.ordered else "•"
                self.story.add(p)
            self.story.add(Spacer(1, 2 * mm))
        elif isinstance(block, KeyValues):
            self.keyvalues(block.rows, block.widths, orientation)
        elif isinstance(block, Table):
            self.table(block, orientation)
        elif isinstance(block, SignatureBoxes):
            self.signatures(block)
        elif isinstance(block, Figure):
            self.figure(block, orientation)
        elif isinstance(block, PageBreak):
            self.story.page_break(orientation, changes=False)
        else:
            self.section(block, depth, orientation)

    def section(self, s: Section, depth: int, orientation: Orientation) -> None:
        inner = s.orientation or orientation
        if inner != orientation:
            self.story.page_break(inner, changes=True)
        level = min(depth + 2, 4)
        head = len(self.story.items)
        self.story.add(CondPageBreak(KEEP_HEADING))
        self.story.add(self.para(s.heading, f"h{level}", _frame_width(inner) - 8))
        self.blocks(s.blocks, depth + 1, inner, head)
        if inner != orientation:
            self.story.page_break(orientation, changes=True)

    def build(self) -> list[Flowable]:
        d = self.doc
        width = _frame_width(d.orientation)
        form = d.letterhead is not None
        if d.letterhead is not None:
            self.letterhead(d.letterhead, width)
        self.story.add(self.para(d.title, "form-title" if form else "title", width))
        if d.subtitle:
            self.story.add(self.para(d.subtitle, "form-subtitle" if form else "subtitle", width))
        else:
            self.story.add(Spacer(1, 3 * mm))
        if d.banner:
            self.story.add(self.para(d.banner, "banner", width))
        if d.meta:
            self.keyvalues(d.meta, (1, 3), d.orientation)
        self.blocks(d.blocks, 0, d.orientation, None)
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
    chrome = _Chrome(doc.title, doc.header_note, doc.footer_note, doc.banner)

    def make_canvas(*args: Any, **kwargs: Any) -> _PagedCanvas:
        return _PagedCanvas(*args, chrome=chrome, attachments=doc.attachments, **kwargs)

    template.build(story, canvasmaker=make_canvas)
    return buffer.getvalue()
