"""HTML rendering: self-contained, escaped, lang set, print CSS, stable bytes."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from custody.verify.reports import Document, Hash, KeyValues, Paragraph, Section, Table, render_html
from tests.verify.reports import sample


class Collector(HTMLParser):
    """Tags with their attributes, and the text, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.by_tag: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.stack:
            self.by_tag.setdefault(self.stack[-1], []).append(data)

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)


def parse(data: bytes) -> Collector:
    collector = Collector()
    collector.feed(data.decode("utf-8"))
    collector.close()
    return collector


@pytest.fixture(scope="module")
def register_html() -> bytes:
    return render_html(sample.media_register(300))


def test_self_contained(register_html: bytes) -> None:
    page = parse(register_html)
    assert page.count("script") == 0
    assert page.count("link") == 0
    assert page.count("img") == 0
    assert page.count("iframe") == 0
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        href = attrs.get("href") or ""
        assert not href.startswith(("http:", "https:", "//")), href
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    css = "".join(page.by_tag["style"])
    assert "@import" not in css
    assert "url(" not in css
    assert b"http://" not in register_html
    assert b"https://" not in register_html


def test_lang_charset_title(register_html: bytes) -> None:
    page = parse(register_html)
    html_attrs = next(attrs for tag, attrs in page.tags if tag == "html")
    assert html_attrs["lang"] == "ja"
    assert any(tag == "meta" and attrs.get("charset") == "utf-8" for tag, attrs in page.tags)
    assert "媒体管理台帳" in page.by_tag["title"][0]
    assert register_html.startswith(b"<!DOCTYPE html>\n")
    assert register_html.endswith(b"</html>\n")


def test_table_structure(register_html: bytes) -> None:
    page = parse(register_html)
    assert page.count("thead") == 1
    assert page.count("tfoot") == 1
    # 11 column headers + rows of the meta and key/value tables use th scope=row.
    col_heads = [a for t, a in page.tags if t == "th" and a.get("scope") == "col"]
    assert len(col_heads) == len(sample.COLUMNS) + 3  # + the three signature labels
    hashes = [a for t, a in page.tags if t == "span" and a.get("class") == "hash"]
    assert len(hashes) == 300 + 1  # one per row, plus the checkpoint in the title block
    text = "".join(page.text)
    for word in ("媒体管理台帳", "立会者", "M-0299", "sha256:" + sample.digest(299), "機密性2"):
        assert word in text


def test_print_css(register_html: bytes) -> None:
    css = "".join(parse(register_html).by_tag["style"])
    assert "size: A4 landscape" in css
    assert "thead { display: table-header-group; }" in css
    assert 'counter(page) " / " counter(pages)' in css
    assert "break-inside: avoid" in css


def test_byte_identical(register_html: bytes) -> None:
    assert render_html(sample.media_register(300)) == register_html


def test_everything_is_escaped() -> None:
    evil = "<script>alert(\"x\")</script> & 'quotes' </style><b>"
    doc = Document(
        evil,
        subtitle=evil,
        header_note='"} body { display: none } /*',
        footer_note="</style><script>",
        author=evil,
        banner=evil,
        meta=[(evil, evil)],
        blocks=[
            Section(evil, [Paragraph(evil + "\nnext line"), KeyValues([(evil, Hash("<&>\"'"))])]),
            Table([evil], [[evil]], caption=evil),
        ],
    )
    page = parse(render_html(doc))
    assert page.count("script") == 0
    assert page.count("b") == 0
    assert page.count("style") == 1
    text = "".join(page.text)
    assert text.count(evil) >= 9
    assert "<&>\"'" in text
    assert page.count("br") == 1
    css = "".join(page.by_tag["style"])
    assert '"} body' not in css  # the quote cannot close the CSS string
    assert "\\22 } body { display: none } /*" in css


def test_english_and_landscape_section() -> None:
    data = render_html(sample.small_english())
    page = parse(data)
    assert next(a for t, a in page.tags if t == "html")["lang"] == "en"
    sections = [a.get("class") for t, a in page.tags if t == "section"]
    assert "orient-landscape" in sections
    assert "size: A4 portrait" in "".join(page.by_tag["style"])
    assert page.count("h2") == 3
    assert page.count("h3") == 1
    assert any(t == "thead" and a.get("class") == "no-repeat" for t, a in page.tags)
    assert any(t == "div" and a.get("class") == "page-break" for t, a in page.tags)


def test_banner_is_a_box_under_the_title_and_only_when_given() -> None:
    """A 未確認 report says so before anything else; a document without a banner has no box."""
    banner = "未確認: 自治体の信頼ストアで未確認です。\n二行目"
    html = render_html(Document("完了報告", subtitle="件名", banner=banner, meta=[("委託者", "例市")])).decode()
    box = '<p class="banner" role="alert">未確認: 自治体の信頼ストアで未確認です。<br>\n二行目</p>'
    assert box in html
    assert html.index("<h1>") < html.index(box) < html.index('<table class="kv meta">')
    assert 'class="banner"' not in render_html(Document("完了報告")).decode()
