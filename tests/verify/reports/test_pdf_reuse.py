"""What the PDF renderer reuses between documents -- font subsets (verify/reports/fontembed.py),
paragraph layouts -- and the row heights it computes write exactly the bytes that stock reportlab
writes; nothing reused leaks from one document into another."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import Table as RLTable
from reportlab.platypus import TableStyle

from custody.verify.reports import Document, Hash, KeyValues, Paragraph, Section, fontembed, render_pdf
from custody.verify.reports import pdf as pdfmod
from tests.verify.reports import sample
from tests.verify.reports.conftest import pdf_fonts, pdf_text, squash


def _kanji(count: int, start: int = 0x4E00) -> str:
    """``count`` kanji from ``start`` on that IPAexGothic has (it lacks many Chinese-only ones)."""
    pdfmod._load_fonts()
    covered = pdfmod._coverage(pdfmod.JP_FONT)
    out: list[str] = []
    code = start
    while len(out) < count:
        if code in covered:
            out.append(chr(code))
        code += 1
    return "".join(out)


def many_characters() -> Document:
    """More than 256 distinct characters: IPAexGothic gets three subsets."""
    return Document(
        "字形の多い文書",
        blocks=[
            Section("本文", [Paragraph(_kanji(600))]),
            KeyValues([("ハッシュ", Hash("sha256:" + sample.digest(7)))]),
        ],
    )


def _stock_render(docs: list[Document], monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The documents rendered with reportlab's own TTFont (no reuse), then EmbeddedFont restored."""
    monkeypatch.setattr(pdfmod, "EmbeddedFont", TTFont)
    pdfmod._register.cache_clear()  # register the fonts anew, as stock TTFonts
    try:
        return [render_pdf(doc) for doc in docs]
    finally:
        monkeypatch.undo()
        pdfmod._register.cache_clear()  # and back to EmbeddedFont for the next render


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    fontembed.clear_cache()
    yield
    fontembed.clear_cache()


def test_same_bytes_as_stock_reportlab(monkeypatch: pytest.MonkeyPatch, fresh_cache: None) -> None:
    docs = [sample.small_english(), sample.media_register(40), many_characters(), sample.small_english()]
    ours = [render_pdf(doc) for doc in docs]
    assert ours == _stock_render(docs, monkeypatch)
    assert ours[0] == ours[3]
    assert fontembed.cache_info().hits > 0  # the repeated document reused its subsets


@pytest.mark.parametrize("kept", [pdfmod._DRAWN_KEPT, 4])
def test_text_lines_and_page_streams_are_written_as_reportlab_writes_them(
    monkeypatch: pytest.MonkeyPatch, kept: int
) -> None:
    # The canvas draws a plain line of text itself (left, right or centred: cells, headers, page numbers), reuses
    # a line's operators within the document (``kept`` of them: 4 starts the table again often), and hands the
    # page streams' ASCII85 text on as bytes; reportlab's own drawString and filter write the same bytes.
    monkeypatch.setattr(pdfmod, "_DRAWN_KEPT", kept)
    docs = [sample.small_english(), sample.media_register(40), many_characters()]
    ours = [render_pdf(doc) for doc in docs]
    with monkeypatch.context() as patch:
        patch.setattr(pdfmod._PagedCanvas, "_plain_text", lambda self, text: False)
        patch.setattr(pdfdoc, "PDFBase85Encode", pdfdoc.PDFStreamFilterBase85Encode())
        assert [render_pdf(doc) for doc in docs] == ours
    assert isinstance(pdfdoc.PDFBase85Encode, pdfmod._Base85AsBytes)


def test_subsets_are_reused_only_for_the_same_characters(fresh_cache: None) -> None:
    first = render_pdf(sample.media_register(5))
    misses = fontembed.cache_info().misses
    assert render_pdf(sample.media_register(5)) == first
    assert fontembed.cache_info().misses == misses  # all hits
    other = render_pdf(many_characters())
    assert fontembed.cache_info().misses > misses  # new characters, new subsets
    text = squash(pdf_text(other))
    assert _kanji(600) in text  # every subset maps back to its characters
    assert all(embedded for _name, embedded in pdf_fonts(other))
    assert render_pdf(sample.media_register(5)) == first  # and nothing of it leaks back


def test_cache_is_bounded(fresh_cache: None) -> None:
    for i in range(fontembed.SUBSET_CACHE_SIZE + 4):
        render_pdf(Document("文書", blocks=[Paragraph(_kanji(3, 0x4E00 + 40 * i))]))
    assert fontembed.cache_info().currsize <= fontembed.SUBSET_CACHE_SIZE


def _commands(style: pdfmod._TextStyle, header: bool, hashes: list[tuple[int, int]],
              scaled: dict[tuple[int, int], float] | None = None) -> list[tuple[object, ...]]:
    """The style commands that set every cell the way the shared cell styles do (the former way)."""
    commands: list[tuple[object, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), pdfmod.JP_FONT),
        ("FONTSIZE", (0, 0), (-1, -1), style.size),
        ("LEADING", (0, 0), (-1, -1), style.leading),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), pdfmod.CELL_PAD_X),
        ("RIGHTPADDING", (0, 0), (-1, -1), pdfmod.CELL_PAD_X),
        ("TOPPADDING", (0, 0), (-1, -1), pdfmod.CELL_PAD_TOP),
        ("BOTTOMPADDING", (0, 0), (-1, -1), pdfmod.CELL_PAD_BOTTOM),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
    ]
    if header:
        commands += [("ALIGN", (0, 0), (-1, 0), "CENTER"), ("VALIGN", (0, 0), (-1, 0), "BOTTOM")]
    for col, row in hashes:
        commands += [
            ("FONTNAME", (col, row), (col, row), pdfmod.MONO_FONT),
            ("FONTSIZE", (col, row), (col, row), style.mono_size),
            ("LEADING", (col, row), (col, row), style.mono_leading),
        ]
    # Cells whose serial or hash is set smaller to fit whole (pdf._token_scale).
    for (col, row), scale in (scaled or {}).items():
        small = pdfmod._scaled(style, scale)
        mono = (col, row) in hashes
        commands += [
            ("FONTSIZE", (col, row), (col, row), small.mono_size if mono else small.size),
            ("LEADING", (col, row), (col, row), small.mono_leading if mono else small.leading),
        ]
    return commands


CELL_ATTRIBUTES = ("fontname", "fontsize", "leading", "alignment", "valign", "color",
                   "leftPadding", "rightPadding", "topPadding", "bottomPadding", "href", "destination")


@pytest.mark.parametrize("style", [pdfmod._CELL, pdfmod._DENSE, pdfmod._KV])
@pytest.mark.parametrize("header", [True, False])
def test_cells_and_row_heights_are_those_reportlab_makes(style: pdfmod._TextStyle, header: bool) -> None:
    # The shared cell styles and the row heights the builder hands over must be exactly what
    # reportlab makes from style commands and measures itself, to the last bit.
    pdfmod._load_fonts()
    columns = ["媒体ID", "説明", "ハッシュ"]
    rows: list[list[str | Hash]] = [
        ["M-1", "短い", Hash("sha256:" + sample.digest(1))],
        ["M-2", "長い説明が何行にもわたって折り返される。" * 4, Hash("ab")],
        ["", "", ""],
        ["M-4", "一行目\n二行目\n三行目", Hash("sha256:" + sample.digest(4) * 3)],
    ]
    widths = [60.0, 200.0, 120.0]
    builder = pdfmod._Builder(Document("表"))
    grid = builder.grid(columns if header else None, rows, widths, style, ["left", "right", "left"])
    first = 1 if header else 0
    hashes = [(c, r + first) for r, row in enumerate(rows) for c, v in enumerate(row) if isinstance(v, Hash)]
    scaled = {}
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            inner = widths[c] - 2 * pdfmod.CELL_PAD_X
            scale = (pdfmod._token_scale(v.value, pdfmod.MONO_FONT, style.mono_size, inner, anywhere=True)
                     if isinstance(v, Hash) else pdfmod._token_scale(v, pdfmod.JP_FONT, style.size, inner))
            if scale != 1.0:
                scaled[(c, r + first)] = scale
    assert scaled  # the long hash is set smaller: that case is compared too
    reference = RLTable(grid.data, colWidths=widths,
                        style=TableStyle(_commands(style, header, hashes, scaled)))
    reference.wrap(sum(widths), 10_000)
    assert grid.heights == reference._rowHeights
    assert len(set(grid.heights)) > 2  # the rows really differ
    for ours, theirs in zip(grid.styles, reference._cellStyles, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            assert [getattr(a, n) for n in CELL_ATTRIBUTES] == [getattr(b, n) for n in CELL_ATTRIBUTES]


def _long_text() -> str:
    return "媒体の廃棄に関する記録は、台帳の証跡とともに保管する。" * 40 + "\n" + "以上。"


def _without_reuse(doc: Document) -> bytes:
    """``doc`` rendered with no paragraph layout kept from before."""
    pdfmod._BREAKS.clear()
    try:
        return render_pdf(doc)
    finally:
        pdfmod._BREAKS.clear()


def test_paragraph_layouts_are_reused_without_changing_bytes() -> None:
    doc = sample.media_register(30)
    fresh = _without_reuse(doc)
    assert render_pdf(doc) == fresh  # lays out and keeps the paragraphs
    assert pdfmod._BREAKS
    assert render_pdf(doc) == fresh  # reuses them


class _StockParagraph(RLParagraph):  # type: ignore[misc]
    shared: object = None  # what _Builder.para sets; unused here


def test_a_split_paragraph_does_not_spoil_the_kept_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    # reportlab's split edits the lines it cuts; the kept layout must not see that.
    alone = Document("一段落", blocks=[Paragraph(_long_text())])
    split = Document("分割", blocks=[Paragraph(_long_text()) for _ in range(4)])
    with monkeypatch.context() as patch:
        patch.setattr(pdfmod, "_Paragraph", _StockParagraph)
        expected_alone, expected_split = render_pdf(alone), render_pdf(split)
    assert (_without_reuse(alone), _without_reuse(split)) == (expected_alone, expected_split)
    assert len(pdf_text(expected_split).split("分割")) > 2  # the title runs on several pages
    pdfmod._BREAKS.clear()
    assert render_pdf(alone) == expected_alone  # keeps the layout ...
    assert render_pdf(split) == expected_split  # ... reuses it, and splits paragraphs across pages
    assert render_pdf(alone) == expected_alone  # still intact
    assert render_pdf(split) == expected_split
    pdfmod._BREAKS.clear()


def test_paragraph_layout_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdfmod, "BREAKS_CACHE_SIZE", 8)
    pdfmod._BREAKS.clear()
    render_pdf(Document("文書", blocks=[Paragraph(f"段落 {i}") for i in range(20)]))
    assert 0 < len(pdfmod._BREAKS) <= 8
    pdfmod._BREAKS.clear()


def test_shared_cell_styles_stay_as_made() -> None:
    # Nothing in a render may change a shared cell style in place (a style command would).
    render_pdf(sample.media_register(60))
    made = pdfmod._cell_style(pdfmod._DENSE, mono=True, align="left", valign="TOP")
    before = [getattr(made, n) for n in CELL_ATTRIBUTES]
    render_pdf(sample.media_register(60))
    render_pdf(sample.small_english())
    assert [getattr(made, n) for n in CELL_ATTRIBUTES] == before
    assert (made.fontname, made.valign) == (pdfmod.MONO_FONT, "TOP")
