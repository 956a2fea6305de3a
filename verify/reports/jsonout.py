"""A report's JSON form: the document model, serialized canonically.

The bytes are RFC 8785 (JCS) canonical JSON -- sorted keys, UTF-8, no escapes
for non-ASCII text, no insignificant whitespace -- through ``custody.ledger.canonical``,
plus one trailing newline, so the same document gives the same bytes and a
report's JSON can be hashed or signed like any ledger payload.  The model has
no floating-point numbers (column widths are integer weights), which the
project's canonical JSON refuses.

Shape (``model`` is bumped on any incompatible change)::

    {"model": "custody-report/3",
     "document": {"title": ..., "subtitle": ..., "lang": "ja", "orientation": "portrait",
                  "banner": ..., "header_note": ..., "footer_note": ..., "author": ...,
                  "letterhead": null | {"addressee": ..., "number": [label, value],
                                        "issued": [label, value], "issuer": [line, ...], "seal": ...},
                  "attachments": [{"name": ..., "media_type": ..., "description": ...,
                                   "data_base64": ...}, ...],
                  "meta": [[label, cell], ...], "blocks": [block, ...]}}

Every field is always present, defaults included, so consumers never guess.
``banner`` (model 2) is the document's warning, "" when there is none; a
report made without the municipality's trust store carries its 未確認 text.
A block is an object with ``"type"``: ``paragraph`` (text), ``note`` (text),
``list`` (items, ordered), ``keyvalues`` (rows, widths), ``table`` (columns,
rows, col_widths, align, repeat_header, footer_rows, caption), ``signatures``
(labels, names, keep_with), ``figure`` (media_type, pixels, caption, width_mm,
and the image itself as ``data_base64``), ``pagebreak``, ``section`` (heading,
orientation, blocks).  A cell is a string, or ``{"hash": "..."}`` for a ``Hash``.
Model 3 added the letterhead, the attachments, the figure and ``keep_with``.

``load_json`` reads these bytes back into an equal ``Document``.  It parses
strictly (no duplicate keys, no floats, no NaN) and refuses unknown or missing
keys and wrong types; it does not insist on canonical whitespace.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, cast

from custody.ledger import canonical
from custody.ledger.errors import CanonicalJSONError
from custody.verify.reports.document import (
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
    PageBreak,
    Paragraph,
    Section,
    SignatureBoxes,
    Table,
)
from custody.verify.reports.errors import ReportModelError

MODEL = "custody-report/3"

JSONValue = Any


def _cell(cell: Cell) -> JSONValue:
    if isinstance(cell, Hash):
        return {"hash": cell.value}
    return cell


def _rows(rows: tuple[tuple[Cell, ...], ...]) -> list[list[JSONValue]]:
    return [[_cell(c) for c in row] for row in rows]


def _block(block: Block) -> dict[str, JSONValue]:
    if isinstance(block, Paragraph):
        return {"type": "paragraph", "text": block.text}
    if isinstance(block, Note):
        return {"type": "note", "text": block.text}
    if isinstance(block, BulletList):
        return {"type": "list", "items": list(block.items), "ordered": block.ordered}
    if isinstance(block, KeyValues):
        return {
            "type": "keyvalues",
            "rows": [[label, _cell(value)] for label, value in block.rows],
            "widths": list(block.widths),
        }
    if isinstance(block, Table):
        return {
            "type": "table",
            "columns": list(block.columns),
            "rows": _rows(cast(tuple[tuple[Cell, ...], ...], block.rows)),
            "col_widths": None if block.col_widths is None else list(block.col_widths),
            "align": None if block.align is None else list(block.align),
            "repeat_header": block.repeat_header,
            "footer_rows": _rows(cast(tuple[tuple[Cell, ...], ...], block.footer_rows)),
            "caption": block.caption,
        }
    if isinstance(block, SignatureBoxes):
        return {"type": "signatures", "labels": list(block.labels), "names": list(block.names),
                "keep_with": block.keep_with}
    if isinstance(block, Figure):
        return {
            "type": "figure",
            "media_type": block.media_type,
            "pixels": list(block.pixels),
            "caption": [[label, _cell(value)] for label, value in block.caption],
            "width_mm": block.width_mm,
            "data_base64": base64.b64encode(block.data).decode("ascii"),
        }
    if isinstance(block, PageBreak):
        return {"type": "pagebreak"}
    return {
        "type": "section",
        "heading": block.heading,
        "orientation": block.orientation,
        "blocks": [_block(b) for b in block.blocks],
    }


def _letterhead(head: Letterhead | None) -> JSONValue:
    if head is None:
        return None
    return {"addressee": head.addressee, "number": list(head.number), "issued": list(head.issued),
            "issuer": list(head.issuer), "seal": head.seal}


def to_data(doc: Document) -> dict[str, JSONValue]:
    """The document as plain JSON data (dicts, lists, strings, ints, bools, None)."""
    return {
        "model": MODEL,
        "document": {
            "title": doc.title,
            "subtitle": doc.subtitle,
            "lang": doc.lang,
            "orientation": doc.orientation,
            "banner": doc.banner,
            "header_note": doc.header_note,
            "footer_note": doc.footer_note,
            "author": doc.author,
            "letterhead": _letterhead(doc.letterhead),
            "attachments": [{"name": a.name, "media_type": a.media_type, "description": a.description,
                             "data_base64": base64.b64encode(a.data).decode("ascii")} for a in doc.attachments],
            "meta": [[label, _cell(value)] for label, value in doc.meta],
            "blocks": [_block(b) for b in doc.blocks],
        },
    }


def render_json(doc: Document) -> bytes:
    """Canonical JSON (RFC 8785) of the document, with a trailing newline."""
    return canonical.dumps(to_data(doc)) + b"\n"


# --- reading back ---------------------------------------------------------


def _object(value: JSONValue, keys: set[str], where: str) -> dict[str, JSONValue]:
    if not isinstance(value, dict):
        raise ReportModelError(f"{where}: expected an object")
    if set(value) != keys:
        missing = sorted(keys - set(value))
        extra = sorted(set(value) - keys)
        raise ReportModelError(f"{where}: missing keys {missing}, unknown keys {extra}")
    return value


def _list(value: JSONValue, where: str) -> list[JSONValue]:
    if not isinstance(value, list):
        raise ReportModelError(f"{where}: expected a list")
    return value


def _bool(value: JSONValue, where: str) -> bool:
    if not isinstance(value, bool):
        raise ReportModelError(f"{where}: expected true or false")
    return value


def _read_cell(value: JSONValue, where: str) -> Cell:
    if isinstance(value, dict):
        return Hash(_object(value, {"hash"}, where)["hash"])
    if isinstance(value, str):
        return value
    raise ReportModelError(f'{where}: a cell is a string or {{"hash": ...}}')


def _read_rows(value: JSONValue, where: str) -> list[list[Cell]]:
    return [[_read_cell(c, where) for c in _list(row, where)] for row in _list(value, where)]


def _read_pairs(value: JSONValue, where: str) -> list[tuple[str, Cell]]:
    out: list[tuple[str, Cell]] = []
    for row in _list(value, where):
        pair = _list(row, where)
        if len(pair) != 2:
            raise ReportModelError(f"{where}: expected [label, value]")
        out.append((pair[0], _read_cell(pair[1], where)))
    return out


def _read_paragraph(data: dict[str, JSONValue]) -> Block:
    return Paragraph(_object(data, {"type", "text"}, "paragraph")["text"])


def _read_note(data: dict[str, JSONValue]) -> Block:
    return Note(_object(data, {"type", "text"}, "note")["text"])


def _read_list(data: dict[str, JSONValue]) -> Block:
    d = _object(data, {"type", "items", "ordered"}, "list")
    return BulletList(_list(d["items"], "list items"), ordered=_bool(d["ordered"], "list ordered"))


def _read_keyvalues(data: dict[str, JSONValue]) -> Block:
    d = _object(data, {"type", "rows", "widths"}, "keyvalues")
    widths = _list(d["widths"], "keyvalues widths")
    if len(widths) != 2:
        raise ReportModelError("keyvalues widths: expected two numbers")
    return KeyValues(_read_pairs(d["rows"], "keyvalues rows"), widths=(widths[0], widths[1]))


def _read_table(data: dict[str, JSONValue]) -> Block:
    keys = {"type", "columns", "rows", "col_widths", "align", "repeat_header", "footer_rows", "caption"}
    d = _object(data, keys, "table")
    return Table(
        _list(d["columns"], "table columns"),
        _read_rows(d["rows"], "table rows"),
        col_widths=None if d["col_widths"] is None else _list(d["col_widths"], "table col_widths"),
        align=None if d["align"] is None else _list(d["align"], "table align"),
        repeat_header=_bool(d["repeat_header"], "table repeat_header"),
        footer_rows=_read_rows(d["footer_rows"], "table footer_rows"),
        caption=d["caption"],
    )


def _read_signatures(data: dict[str, JSONValue]) -> Block:
    d = _object(data, {"type", "labels", "names", "keep_with"}, "signatures")
    return SignatureBoxes(_list(d["labels"], "signature labels"), names=_list(d["names"], "signature names"),
                          keep_with=d["keep_with"])


def _base64(value: JSONValue, where: str) -> bytes:
    if not isinstance(value, str):
        raise ReportModelError(f"{where}: expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ReportModelError(f"{where}: not base64") from None


def _read_attachment(value: JSONValue) -> Attachment:
    d = _object(value, {"name", "media_type", "description", "data_base64"}, "attachment")
    return Attachment(d["name"], d["media_type"], _base64(d["data_base64"], "attachment data_base64"),
                      description=d["description"])


def _read_figure(data: dict[str, JSONValue]) -> Block:
    d = _object(data, {"type", "media_type", "pixels", "caption", "width_mm", "data_base64"}, "figure")
    blob = _base64(d["data_base64"], "figure data_base64")
    pixels = _list(d["pixels"], "figure pixels")
    if len(pixels) != 2:
        raise ReportModelError("figure pixels: expected [width, height]")
    return Figure(blob, d["media_type"], (pixels[0], pixels[1]), caption=_read_pairs(d["caption"], "figure caption"),
                  width_mm=d["width_mm"])


def _read_letterhead(value: JSONValue) -> Letterhead | None:
    if value is None:
        return None
    d = _object(value, {"addressee", "number", "issued", "issuer", "seal"}, "letterhead")
    number, issued = _list(d["number"], "letterhead number"), _list(d["issued"], "letterhead issued")
    if len(number) != 2 or len(issued) != 2:
        raise ReportModelError("letterhead number and issued: expected [label, value]")
    return Letterhead(d["addressee"], (number[0], number[1]), (issued[0], issued[1]),
                      _list(d["issuer"], "letterhead issuer"), seal=d["seal"])


def _read_pagebreak(data: dict[str, JSONValue]) -> Block:
    _object(data, {"type"}, "pagebreak")
    return PageBreak()


def _read_section(data: dict[str, JSONValue]) -> Block:
    d = _object(data, {"type", "heading", "orientation", "blocks"}, "section")
    blocks = [_read_block(b) for b in _list(d["blocks"], "section blocks")]
    return Section(d["heading"], blocks, orientation=d["orientation"])


_READERS: dict[str, Callable[[dict[str, JSONValue]], Block]] = {
    "paragraph": _read_paragraph,
    "note": _read_note,
    "list": _read_list,
    "keyvalues": _read_keyvalues,
    "table": _read_table,
    "signatures": _read_signatures,
    "figure": _read_figure,
    "pagebreak": _read_pagebreak,
    "section": _read_section,
}


def _read_block(value: JSONValue) -> Block:
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise ReportModelError('block: expected an object with a "type"')
    reader = _READERS.get(value["type"])
    if reader is None:
        raise ReportModelError(f"block: unknown type {value['type']!r}")
    return reader(value)


_DOCUMENT_KEYS = {
    "title",
    "subtitle",
    "lang",
    "orientation",
    "banner",
    "header_note",
    "footer_note",
    "author",
    "letterhead",
    "attachments",
    "meta",
    "blocks",
}


def from_data(data: JSONValue) -> Document:
    """The ``Document`` that ``to_data`` gave ``data``; ReportModelError otherwise."""
    top = _object(data, {"model", "document"}, "report")
    if top["model"] != MODEL:
        raise ReportModelError(f"report model {top['model']!r}: this version reads {MODEL!r}")
    d = _object(top["document"], _DOCUMENT_KEYS, "document")
    return Document(
        d["title"],
        subtitle=d["subtitle"],
        lang=d["lang"],
        orientation=d["orientation"],
        banner=d["banner"],
        header_note=d["header_note"],
        footer_note=d["footer_note"],
        author=d["author"],
        letterhead=_read_letterhead(d["letterhead"]),
        attachments=[_read_attachment(a) for a in _list(d["attachments"], "document attachments")],
        meta=_read_pairs(d["meta"], "document meta"),
        blocks=[_read_block(b) for b in _list(d["blocks"], "document blocks")],
    )


def load_json(data: bytes) -> Document:
    """Parse a report's JSON form (strictly: no duplicate keys, no floats) into a Document."""
    try:
        value = canonical.loads(data)
    except CanonicalJSONError as exc:
        raise ReportModelError(f"report JSON: {exc.message}") from None
    return from_data(value)
