"""The document model every custody report is written in (docs/reports.md).

A report's contents (media register, disposal certificates, completion report,
MIC inspection form, the verifier's findings) are built as one ``Document``;
the renderers in ``html``, ``pdf`` and ``jsonout`` turn it into bytes, the same
bytes for the same document.  The model holds text only: every label, heading
and value arrives already translated and formatted (dates, counts, "はい/いいえ")
by the content code, so the renderers add no words of their own -- except the
page number "1 / 3", which reads the same in both languages.

All classes are frozen dataclasses.  Sequence fields accept lists or tuples and
are stored as tuples, so documents compare equal, hash, and survive a JSON
round trip unchanged.  Mistakes (a row with the wrong number of cells, a control
character, a cell that is not text) raise ``ReportModelError`` when the object is
built.

Text may contain ``\\n`` (a line break); other control characters, lone
surrogates and U+FFFE/U+FFFF are refused, so that every renderer can carry every
string.  A ``Hash`` is printable ASCII without spaces (hex digests, ``sha256:...``
or base64), set in a monospace font and broken anywhere when it does not fit.

Example::

    Document(
        "媒体管理台帳",
        subtitle="令和7年度 住民情報システム改修業務",
        meta=[("作成日", "2025-04-01"), ("チェックポイント", Hash("4f2c..."))],
        orientation="landscape",
        blocks=[
            Section("登録媒体", [
                Table(["媒体ID", "種別", "シリアル", "SHA-256"],
                      [["M-0001", "USB", "SN123", Hash("9b71...")]],
                      col_widths=[2, 1, 3, 6]),
            ]),
            SignatureBoxes(["担当者", "責任者", "立会者"]),
        ],
    )
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Literal, TypeAlias

from custody.verify.reports.errors import ReportModelError

Lang = Literal["ja", "en"]
Orientation = Literal["portrait", "landscape"]
Align = Literal["left", "center", "right"]

LANGS: tuple[Lang, ...] = ("ja", "en")
ORIENTATIONS: tuple[Orientation, ...] = ("portrait", "landscape")
ALIGNS: tuple[Align, ...] = ("left", "center", "right")

# Sections nest at most this deep (h2, h3, h4 under the title's h1).
MAX_SECTION_DEPTH = 3

_BAD_TEXT = re.compile("[\x00-\x09\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_HASH_TEXT = re.compile(r"[\x21-\x7e]+")


def _check_text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ReportModelError(f"{where}: expected text, got {type(value).__name__}")
    bad = _BAD_TEXT.search(value)
    if bad:
        raise ReportModelError(
            f"{where}: character U+{ord(bad.group()):04X} is not allowed in report text",
            hint="Use \\n for a line break; remove other control characters.",
        )
    return value


@dataclass(frozen=True)
class Hash:
    """A digest or identifier shown in monospace and wrapped anywhere (``sha256:9f86...``)."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _HASH_TEXT.fullmatch(self.value):
            raise ReportModelError(
                f"hash {self.value!r}: expected printable ASCII without spaces",
            )


Cell: TypeAlias = str | Hash
"""What a table cell, key/value value or meta value holds."""


def _check_cell(value: object, where: str) -> Cell:
    if isinstance(value, Hash):
        return value
    if isinstance(value, str):
        return _check_text(value, where)
    raise ReportModelError(f"{where}: a cell is str or Hash, not {type(value).__name__}")


def _valid_cell(value: object) -> bool:
    """Whether ``value`` is a good cell, without building an error location.

    Documents hold ~100,000 cells for a 1,000-media ledger; the checks below
    format "where" (row, column) only for a cell that fails.
    """
    return isinstance(value, Hash) or (isinstance(value, str) and not _BAD_TEXT.search(value))


def _pairs(rows: Sequence[tuple[str, Cell]], where: str) -> tuple[tuple[str, Cell], ...]:
    out: list[tuple[str, Cell]] = []
    for index, row in enumerate(rows):
        if isinstance(row, str) or len(row) != 2:
            raise ReportModelError(f"{where} {index}: expected a (label, value) pair")
        label, value = row
        if not (isinstance(label, str) and _valid_cell(label) and _valid_cell(value)):
            _check_text(label, f"{where} {index} label")
            _check_cell(value, f"{where} {index}")
        out.append((label, value))
    return tuple(out)


def _texts(items: Sequence[str], where: str) -> tuple[str, ...]:
    if isinstance(items, str):
        raise ReportModelError(f"{where}: expected a sequence of texts, got one text")
    return tuple(_check_text(item, f"{where} {index}") for index, item in enumerate(items))


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class Paragraph:
    """Running text; ``\\n`` breaks the line.  Japanese text wraps between any characters."""

    text: str

    def __post_init__(self) -> None:
        _check_text(self.text, "paragraph")


@dataclass(frozen=True)
class Note:
    """A remark set smaller and apart from the text (備考, 注記, a statement's fine print)."""

    text: str

    def __post_init__(self) -> None:
        _check_text(self.text, "note")


@dataclass(frozen=True)
class BulletList:
    """Items as a bulleted (or, with ``ordered``, numbered 1. 2. 3.) list."""

    items: Sequence[str]
    _: KW_ONLY
    ordered: bool = False

    def __post_init__(self) -> None:
        _set(self, "items", _texts(self.items, "list item"))


@dataclass(frozen=True)
class KeyValues:
    """Label/value rows, e.g. a certificate's fields.  ``widths`` is label:value, relative."""

    rows: Sequence[tuple[str, Cell]]
    _: KW_ONLY
    widths: tuple[int, int] = (1, 3)

    def __post_init__(self) -> None:
        _set(self, "rows", _pairs(self.rows, "key/value row"))
        _set(self, "widths", _weights(self.widths, 2, "key/value widths"))


def _weights(values: Sequence[int], count: int, where: str) -> tuple[int, ...]:
    out = tuple(values)
    if len(out) != count:
        raise ReportModelError(f"{where}: expected {count} values, got {len(out)}")
    for value in out:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            raise ReportModelError(f"{where}: relative widths are integers from 1 to 1000, got {value!r}")
    return out


@dataclass(frozen=True)
class Table:
    """A grid with a header row; long tables continue over pages, the header repeated.

    ``col_widths`` are relative integer weights (``[2, 1, 6]``: the third column
    six times the second); None shares the width equally.  ``align`` gives each
    column's alignment (numbers: "right").  ``footer_rows`` (totals, 合計) come
    after the rows, set apart, and are not repeated.  Tables with ten or more
    columns are set a size smaller in PDF; put them in a landscape document or
    section.
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    _: KW_ONLY
    col_widths: Sequence[int] | None = None
    align: Sequence[Align] | None = None
    repeat_header: bool = True
    footer_rows: Sequence[Sequence[Cell]] = ()
    caption: str = ""

    def __post_init__(self) -> None:
        columns = _texts(self.columns, "table column")
        if not columns:
            raise ReportModelError("table: at least one column")
        width = len(columns)
        _set(self, "columns", columns)
        _set(self, "rows", self._cells(self.rows, width, "table row"))
        _set(self, "footer_rows", self._cells(self.footer_rows, width, "table footer row"))
        if self.col_widths is not None:
            _set(self, "col_widths", _weights(self.col_widths, width, "table col_widths"))
        if self.align is not None:
            align = tuple(self.align)
            if len(align) != width or any(a not in ALIGNS for a in align):
                raise ReportModelError(f"table align: expected {width} of {', '.join(ALIGNS)}")
            _set(self, "align", align)
        if not isinstance(self.repeat_header, bool):
            raise ReportModelError("table repeat_header: expected a bool")
        _check_text(self.caption, "table caption")

    @staticmethod
    def _cells(rows: Sequence[Sequence[Cell]], width: int, where: str) -> tuple[tuple[Cell, ...], ...]:
        out: list[tuple[Cell, ...]] = []
        for index, row in enumerate(rows):
            if isinstance(row, str | Hash) or len(row) != width:
                raise ReportModelError(f"{where} {index}: expected {width} cells")
            cells = tuple(row)
            if not all(_valid_cell(c) for c in cells):
                for col, c in enumerate(cells):
                    _check_cell(c, f"{where} {index} cell {col}")
            out.append(cells)
        return tuple(out)

    def column_align(self, index: int) -> Align:
        return "left" if self.align is None else self.align[index]


@dataclass(frozen=True)
class SignatureBoxes:
    """Boxes for seals or signatures (担当者・責任者・立会者 印欄), set at the right.

    ``names`` optionally prints a name under each box (same length as ``labels``).
    A seal attests what comes before it, so the boxes are never on a page of
    their own: the PDF keeps them on one page with the ``keep_with`` blocks before
    them in the same section (and the section's heading when those are all of
    its blocks).  Keep those blocks short: a statement, a key/value list.
    """

    labels: Sequence[str]
    _: KW_ONLY
    names: Sequence[str] = ()
    keep_with: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.keep_with, bool) or not isinstance(self.keep_with, int) or not 0 <= self.keep_with <= 20:
            raise ReportModelError(f"signature boxes keep_with: 0 to 20 blocks, got {self.keep_with!r}")
        labels = _texts(self.labels, "signature label")
        if not labels:
            raise ReportModelError("signature boxes: at least one label")
        names = _texts(self.names, "signature name")
        if names and len(names) != len(labels):
            raise ReportModelError("signature boxes: names must match labels one for one")
        _set(self, "labels", labels)
        _set(self, "names", names)


IMAGE_TYPES = ("image/jpeg", "image/png")


@dataclass(frozen=True)
class Figure:
    """A picture (the serial-number photo of a disposed medium) with its caption beside it.

    ``data`` is the file as recorded (JPEG or PNG, ``media_type``); ``pixels`` its
    width and height, read by the content code, which also decides that the bytes
    are an image at all.  ``caption`` rows (name, SHA-256, ...) are set beside the
    picture, which is shown ``width_mm`` wide at most (a thumbnail).
    """

    data: bytes
    media_type: str
    pixels: tuple[int, int]
    _: KW_ONLY
    caption: Sequence[tuple[str, Cell]] = ()
    width_mm: int = 55

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes) or not self.data:
            raise ReportModelError("figure: data must be the image's bytes")
        if self.media_type not in IMAGE_TYPES:
            raise ReportModelError(f"figure: media type {self.media_type!r} is not one of {', '.join(IMAGE_TYPES)}")
        pixels = tuple(self.pixels)
        if len(pixels) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pixels):
            raise ReportModelError("figure: pixels are (width, height), positive integers")
        _set(self, "pixels", pixels)
        _set(self, "caption", _pairs(self.caption, "figure caption row"))
        if isinstance(self.width_mm, bool) or not isinstance(self.width_mm, int) or not 10 <= self.width_mm <= 180:
            raise ReportModelError("figure: width_mm from 10 to 180")


@dataclass(frozen=True)
class Letterhead:
    """The head of an official document (公文書の書式), on its first page above the title.

    At the top right the document number (文書番号) and the date of issue (発行日);
    at the left the addressee (宛名: 例市長 様); at the right the issuer: each
    line of ``issuer`` (organisation, address, representative) and, when
    ``seal`` is not empty, a seal box with that label (印).  Labels come
    translated, like every text of the model.
    """

    addressee: str
    number: tuple[str, str]  # (label, value): ("文書番号", "R7-001-REG")
    issued: tuple[str, str]  # (label, value): ("発行日", "令和8年12月6日")
    issuer: Sequence[str]
    _: KW_ONLY
    seal: str = ""

    def __post_init__(self) -> None:
        _check_text(self.addressee, "letterhead addressee")
        for name in ("number", "issued"):
            pair = tuple(getattr(self, name))
            if len(pair) != 2:
                raise ReportModelError(f"letterhead {name}: expected a (label, value) pair")
            for item in pair:
                _check_text(item, f"letterhead {name}")
            _set(self, name, pair)
        _set(self, "issuer", _texts(self.issuer, "letterhead issuer line"))
        _check_text(self.seal, "letterhead seal")


_ATTACHMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")


@dataclass(frozen=True)
class Attachment:
    """A file the document carries (in PDF as an embedded file): a certificate's data and its proof.

    ``name`` is a plain file name (letters, digits, ``.``, ``_``, ``-``);
    ``media_type`` e.g. ``application/json``; ``description`` is shown by PDF
    readers in their attachments panel.
    """

    name: str
    media_type: str
    data: bytes
    _: KW_ONLY
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _ATTACHMENT_NAME.fullmatch(self.name):
            raise ReportModelError(f"attachment name {self.name!r}: letters, digits, '.', '_' and '-' only")
        if not isinstance(self.media_type, str) or not re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", self.media_type):
            raise ReportModelError(f"attachment media type {self.media_type!r}")
        if not isinstance(self.data, bytes):
            raise ReportModelError("attachment data: expected bytes")
        _check_text(self.description, "attachment description")


@dataclass(frozen=True)
class PageBreak:
    """Start a new page (between per-medium certificates, for example)."""


@dataclass(frozen=True)
class Section:
    """A heading and its blocks; sections nest (at most three levels).

    With ``orientation`` the section gets pages of its own in that orientation
    (a landscape table inside a portrait report); the text after it starts on a
    new page in the surrounding orientation.
    """

    heading: str
    blocks: Sequence[Block]
    _: KW_ONLY
    orientation: Orientation | None = None

    def __post_init__(self) -> None:
        _check_text(self.heading, "section heading")
        _set(self, "blocks", _blocks(self.blocks, "section"))
        if self.orientation is not None and self.orientation not in ORIENTATIONS:
            raise ReportModelError(f"section orientation: {self.orientation!r}")


Block: TypeAlias = Paragraph | Note | BulletList | KeyValues | Table | SignatureBoxes | Figure | PageBreak | Section
BLOCK_TYPES = (Paragraph, Note, BulletList, KeyValues, Table, SignatureBoxes, Figure, PageBreak, Section)


def _blocks(blocks: Sequence[Block], where: str) -> tuple[Block, ...]:
    out = tuple(blocks)
    for index, block in enumerate(out):
        if not isinstance(block, BLOCK_TYPES):
            raise ReportModelError(f"{where} block {index}: {type(block).__name__} is not a report block")
    return out


def _depth(blocks: Sequence[Block]) -> int:
    return max((1 + _depth(b.blocks) for b in blocks if isinstance(b, Section)), default=0)


@dataclass(frozen=True)
class Document:
    """A whole report: title block, body and the text on every page.

    ``meta`` is the title block's label/value list (作成日, 団体名, 契約番号, the
    ledger checkpoint).  ``header_note`` is printed at the top right of every page
    (a classification such as 機密性2, a certificate number); ``footer_note`` at
    the bottom left, beside the page number "n / N".  ``author`` goes into the
    PDF's metadata only.

    ``letterhead`` (宛名, 文書番号, 発行日, the issuer and its seal) heads the first
    page of an official document; the title is then centred below it.
    ``attachments`` are files the document carries (embedded files in the PDF).

    ``banner`` is a warning about the whole document that no reader may miss
    (未確認: made without the municipality's trust store): set in a box under the
    title, before everything else, and in the PDF also under the running header
    of every page (cut to one line there).  Empty: none.
    """

    title: str
    _: KW_ONLY
    subtitle: str = ""
    lang: Lang = "ja"
    meta: Sequence[tuple[str, Cell]] = ()
    blocks: Sequence[Block] = field(default_factory=tuple)
    header_note: str = ""
    footer_note: str = ""
    orientation: Orientation = "portrait"
    author: str = ""
    banner: str = ""
    letterhead: Letterhead | None = None
    attachments: Sequence[Attachment] = ()

    def __post_init__(self) -> None:
        attachments = tuple(self.attachments)
        if not all(isinstance(a, Attachment) for a in attachments):
            raise ReportModelError("document attachments: expected Attachment objects")
        if len({a.name for a in attachments}) != len(attachments):
            raise ReportModelError("document attachments: names must differ")
        _set(self, "attachments", attachments)
        if self.letterhead is not None and not isinstance(self.letterhead, Letterhead):
            raise ReportModelError("document letterhead: expected a Letterhead")
        for name in ("title", "subtitle", "header_note", "footer_note", "author", "banner"):
            _check_text(getattr(self, name), f"document {name}")
        if not self.title.strip():
            raise ReportModelError("document title: must not be empty")
        if self.lang not in LANGS:
            raise ReportModelError(f"document lang: {self.lang!r} is not one of {', '.join(LANGS)}")
        if self.orientation not in ORIENTATIONS:
            raise ReportModelError(f"document orientation: {self.orientation!r}")
        _set(self, "meta", _pairs(self.meta, "meta row"))
        _set(self, "blocks", _blocks(self.blocks, "document"))
        if _depth(self.blocks) > MAX_SECTION_DEPTH:
            raise ReportModelError(f"sections nest at most {MAX_SECTION_DEPTH} levels deep")
