"""PDF rendering: embedded Japanese font, extractable text, stable bytes, pages."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from custody.ledger.errors import CustodyError
from custody.verify.reports import (
    Document,
    FontMissingError,
    PageBreak,
    Paragraph,
    Section,
    Table,
    fonts,
    render_pdf,
    unprintable,
)
from tests.verify.reports import sample

# The PDF base fonts, which a viewer substitutes instead of reading them from the file.
STANDARD_14 = {
    "Courier",
    "Courier-Bold",
    "Courier-Oblique",
    "Courier-BoldOblique",
    "Helvetica",
    "Helvetica-Bold",
    "Helvetica-Oblique",
    "Helvetica-BoldOblique",
    "Times-Roman",
    "Times-Bold",
    "Times-Italic",
    "Times-BoldItalic",
    "Symbol",
    "ZapfDingbats",
}


@pytest.fixture(scope="module")
def register_pdf() -> bytes:
    return render_pdf(sample.media_register(300))


@pytest.fixture(scope="module")
def reader(register_pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(register_pdf))


@pytest.fixture(scope="module")
def page_texts(reader: PdfReader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def _fonts_of(page: Any) -> list[Any]:
    resources = page.get("/Resources")
    if resources is None:
        return []
    fonts_dict = resources.get_object().get("/Font")
    if fonts_dict is None:
        return []
    return [ref.get_object() for ref in fonts_dict.get_object().values()]


def _embedded(font: Any) -> bool:
    if font.get("/Subtype") == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    descriptor = descriptor.get_object()
    return "/FontFile2" in descriptor or "/FontFile3" in descriptor


def test_is_a4_landscape_pdf_with_many_pages(register_pdf: bytes, reader: PdfReader) -> None:
    assert register_pdf.startswith(b"%PDF-")
    assert len(reader.pages) > 1
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (842, 595)


def test_japanese_text_is_extractable(page_texts: list[str]) -> None:
    text = "".join(page_texts)
    for word in ("媒体管理台帳", "立会者", "担当者", "責任者", "住民記録", "第2書庫", "機密性2", "M-0299"):
        assert word in text, word


def test_long_hashes_are_wrapped_but_complete(page_texts: list[str]) -> None:
    joined = "".join(t.replace("\n", "") for t in page_texts)
    for i in (0, 150, 299):
        assert "sha256:" + sample.digest(i) in joined
    assert sample.CHECKPOINT in joined
    # Wrapped: no extracted line holds a whole 64-digit hash in the table.
    lines = [line for t in page_texts for line in t.splitlines()]
    assert not any(("sha256:" + sample.digest(5)) in line for line in lines)


def test_every_font_is_embedded(reader: PdfReader) -> None:
    seen = set()
    for number, page in enumerate(reader.pages, 1):
        page_fonts = _fonts_of(page)
        assert page_fonts, f"page {number} has no fonts"
        for font in page_fonts:
            name = str(font.get("/BaseFont", "")).lstrip("/")
            seen.add(name.split("+", 1)[-1])
            assert name not in STANDARD_14, f"page {number}: non-embedded base font {name}"
            assert _embedded(font), f"page {number}: font {name} is not embedded"
            assert font.get("/Subtype") in ("/TrueType", "/Type0"), name
            assert "/ToUnicode" in font, f"{name} has no ToUnicode map: text would not extract"
    assert seen == {"IPAexGothic", "DejaVuSansMono"}


def test_header_repeated_and_page_numbers(page_texts: list[str]) -> None:
    total = len(page_texts)
    table_pages = [t for t in page_texts if "M-0" in t]
    assert len(table_pages) > 5
    for text in table_pages:
        assert "媒体ID" in text
        assert "マニフェストハッシュ" in text
    for number, text in enumerate(page_texts, 1):
        assert f"{number} / {total}" in text
        assert sample.TITLE in text  # running header
        assert "custody により生成" in text  # footer note


def test_two_renders_are_byte_identical(register_pdf: bytes) -> None:
    assert render_pdf(sample.media_register(300)) == register_pdf


def test_same_bytes_in_a_fresh_process(tmp_path: Path) -> None:
    # Nothing process-wide (font registration order, caches, counters) may leak into the bytes.
    doc = sample.small_english()
    out = tmp_path / "fresh.pdf"
    code = (
        "import sys; from tests.verify.reports import sample; from verify.reports import render_pdf; "
        "open(sys.argv[1], 'wb').write(render_pdf(sample.small_english()))"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=root)
    render_pdf(sample.media_register(20))  # this process has rendered other documents first
    assert render_pdf(doc) == out.read_bytes()


def test_metadata(reader: PdfReader, register_pdf: bytes) -> None:
    meta: Any = reader.metadata
    assert meta is not None
    assert meta.title == sample.TITLE
    assert meta.author == "株式会社サンプル"
    assert meta.creator == "custody"
    root: Any = reader.trailer["/Root"]
    assert root["/Lang"] == "ja"
    # Invariant mode: a fixed date, no clock time.
    assert meta["/CreationDate"].startswith("D:2000")


def test_english_document_with_landscape_section() -> None:
    doc = sample.small_english()
    reader = PdfReader(io.BytesIO(render_pdf(doc)))
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages]
    portrait, landscape = (595, 842), (842, 595)
    # Summary (portrait), Reconciliation (landscape page of its own), Findings, then a PageBreak.
    assert sizes == [portrait, landscape, portrait, portrait]
    root: Any = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    text = "".join(p.extract_text() for p in reader.pages)
    assert "Reconciliation" in reader.pages[1].extract_text()
    assert "Witness" in text
    assert "1 / 4" in reader.pages[0].extract_text()


def test_page_breaks_do_not_make_blank_pages() -> None:
    doc = Document(
        "改ページ",
        blocks=[
            Paragraph("一枚目"),
            PageBreak(),
            PageBreak(),
            Section("横向き", [Paragraph("二枚目")], orientation="landscape"),
            PageBreak(),
            Paragraph("三枚目"),
            PageBreak(),
        ],
    )
    reader = PdfReader(io.BytesIO(render_pdf(doc)))
    texts = [p.extract_text() for p in reader.pages]
    assert len(texts) == 3
    assert ["一枚目" in texts[0], "二枚目" in texts[1], "三枚目" in texts[2]] == [True, True, True]


def test_kinsoku_in_pdf_text() -> None:
    sentence = "媒体は、承認された場所に保管し、持ち出しの際は必ず申請すること。" * 8
    reader = PdfReader(io.BytesIO(render_pdf(Document("禁則", blocks=[Paragraph(sentence)]))))
    lines = [line for line in reader.pages[0].extract_text().splitlines() if "媒体" in line or "。" in line]
    assert len(lines) > 1
    assert not any(line.startswith(("。", "、")) for line in lines)


def test_table_with_footer_and_no_repeat() -> None:
    rows = [[f"行{i}", str(i)] for i in range(120)]
    doc = Document("表", blocks=[Table(["項目", "値"], rows, repeat_header=False, footer_rows=[["合計", "7140"]])])
    reader = PdfReader(io.BytesIO(render_pdf(doc)))
    texts = [p.extract_text() for p in reader.pages]
    assert len(texts) > 1
    assert "項目" in texts[0]
    assert "項目" not in texts[1]
    assert "合計" in texts[-1]


def test_missing_font_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fonts, "FONT_DIR", tmp_path)
    with pytest.raises(FontMissingError, match="IPAexGothic not found") as info:
        render_pdf(Document("フォントなし"))
    assert isinstance(info.value, CustodyError)
    assert info.value.hint is not None
    assert "pip install --force-reinstall custody-ledger" in info.value.hint


def test_cff_font_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "ipaexg.ttf").write_bytes(b"OTTO" + bytes(100))
    monkeypatch.setattr(fonts, "FONT_DIR", tmp_path)
    with pytest.raises(FontMissingError, match="not a TrueType-outline font"):
        fonts.japanese_font_path()


def test_fonts_ship_inside_the_package_with_their_licences() -> None:
    jp = fonts.japanese_font_path()
    mono = fonts.mono_font_path()
    assert jp.parent == mono.parent == Path(fonts.__file__).parent / "fontfiles"
    assert jp.name == "ipaexg.ttf"
    assert mono.name == "DejaVuSansMono.ttf"
    # The licences travel with the files (IPA Font License v1.0 art. 3; Bitstream Vera licence).
    assert "IPA" in (jp.parent / "IPAexGothic-LICENSE.txt").read_text(encoding="utf-8-sig")
    assert "Bitstream Vera" in (jp.parent / "DejaVuSansMono-LICENSE.txt").read_text(encoding="utf-8")
    assert PdfReader(io.BytesIO(render_pdf(Document("確認")))).pages[0].extract_text().startswith("確認")


def test_characters_the_font_lacks_print_as_geta() -> None:
    # 𠮷 is outside JIS X 0213 (IPAexGothic's repertoire); the variation selector is dropped.
    doc = Document("外字", blocks=[Paragraph("𠮷田と葛\U000e0100飾区と😀"), Table(["氏名"], [["𠮷野"]])])
    assert unprintable(doc) == ("😀", "𠮷")
    text = PdfReader(io.BytesIO(render_pdf(doc))).pages[0].extract_text()
    assert "〓田と葛飾区と〓" in text
    assert "〓野" in text
    assert unprintable(sample.media_register(3)) == ()


def test_a_long_table_is_paged_in_linear_work_with_every_row_once_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """pdf._PagedTable: each page's reportlab table holds that page's rows only (reportlab's own split
    rebuilt a table of every remaining row at each page: quadratic in the rows), and no row is lost,
    doubled or moved; the header is on every page, the footer once at the end."""
    from reportlab.platypus import Table as RLTable

    from custody.verify.reports import pdf

    built_rows: list[int] = []

    class CountingTable(RLTable):  # type: ignore[misc]  # reportlab has no type hints
        def __init__(self, data: list[list[str]], *args: Any, **kwargs: Any) -> None:
            built_rows.append(len(data))
            super().__init__(data, *args, **kwargs)

    monkeypatch.setattr(pdf, "RLTable", CountingTable)
    n = 1200
    rows = [[f"R{i:05d}", "行" * (1 + i % 3)] for i in range(n)]
    doc = Document("長い表", blocks=[Table(["番号", "内容"], rows, footer_rows=[["合計", str(n)]])])
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(doc))).pages]
    pages = len(texts)
    assert pages > 20
    # n rows, the footer, and one header per page: every row went into exactly one page's table.
    assert sum(built_rows) == n + 1 + pages
    found = [word for text in texts for word in text.split() if word.startswith("R0")]
    assert found == [f"R{i:05d}" for i in range(n)]
    assert all("番号" in text for text in texts)
    assert "合計" in texts[-1] and not any("合計" in text for text in texts[:-1])


def test_banner_boxed_on_the_first_page_and_in_red_on_every_page() -> None:
    """未確認 on page 1 under the title, and its first line on every page (a page taken out still says it)."""
    banner = "未確認: 自治体の信頼ストアで未確認です。この帳票は --integrity-only で作成されました。" * 3
    rows = [[f"M-{i:04}", "本文"] for i in range(200)]
    doc = Document("返還・廃棄完了報告", banner=banner, meta=[("委託者", "例市")],
                   blocks=[Table(["媒体ID", "内容"], rows)])
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(doc))).pages]
    assert len(pages) > 2
    first = "".join(pages[0].split())
    assert "".join(banner.split()) in first  # the whole banner on the first page
    assert first.index("返還・廃棄完了報告") < first.index("未確認") < first.index("委託者")
    for text in pages:
        assert "未確認:自治体の信頼ストアで未確認です。" in "".join(text.split())
    plain = [page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(
        Document("返還・廃棄完了報告", blocks=[Table(["媒体ID", "内容"], rows)])))).pages]
    assert not any("未確認" in text for text in plain)
