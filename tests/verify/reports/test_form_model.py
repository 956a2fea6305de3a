"""The model's official-form parts: Letterhead, Figure, Attachment and SignatureBoxes.keep_with -- refused when
malformed, carried by every renderer, and the seal boxes kept on one page with what they attest."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from custody.cli.demo_photo import serial_photo
from custody.verify.reports import (
    Attachment,
    Document,
    Figure,
    KeyValues,
    Letterhead,
    Paragraph,
    ReportModelError,
    Section,
    SignatureBoxes,
    load_json,
    render_html,
    render_json,
    render_pdf,
)

PHOTO = serial_photo("SN-0001", "Buffalo", "RUF3")
HEAD = Letterhead("例市長 様", ("文書番号", "R8-001"), ("発行日", "令和8年12月6日"),
                  ["受託者 株式会社サンプル", "代表取締役 鈴木 太郎"], seal="印")


def _full() -> Document:
    return Document(
        "廃棄証明書",
        letterhead=HEAD,
        blocks=[
            Section("記", [KeyValues([("シリアル番号", "SN-0001")]), SignatureBoxes(["実施者"], keep_with=1)]),
            Figure(PHOTO, "image/jpeg", (480, 320), caption=[("写真", "serial.jpg")], width_mm=50),
        ],
        attachments=[Attachment("certificate.json", "application/json", b'{"a":1}\n', description="データ"),
                     Attachment("7.tlog-proof", "text/plain", b"c2sp.org/tlog-proof@v1\n")],
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Letterhead("例\x01", ("a", "b"), ("c", "d"), []), "not allowed"),
        (lambda: Letterhead("x", ("a",), ("c", "d"), []), "pair"),  # type: ignore[arg-type]
        (lambda: Letterhead("x", ("a", "b"), ("c", "d"), "one line"), "sequence"),
        (lambda: Figure(b"", "image/jpeg", (1, 1)), "bytes"),
        (lambda: Figure(PHOTO, "image/gif", (1, 1)), "media type"),
        (lambda: Figure(PHOTO, "image/jpeg", (0, 1)), "positive"),
        (lambda: Figure(PHOTO, "image/jpeg", (1, 1), width_mm=5), "width_mm"),
        (lambda: Attachment("../x", "text/plain", b""), "attachment name"),
        (lambda: Attachment("x.txt", "text plain", b""), "media type"),
        (lambda: Attachment("x.txt", "text/plain", "text"), "bytes"),  # type: ignore[arg-type]
        (lambda: SignatureBoxes(["a"], keep_with=-1), "keep_with"),
        (lambda: SignatureBoxes(["a"], keep_with=True), "keep_with"),
        (lambda: Document("t", attachments=[Attachment("a", "text/plain", b""), Attachment("a", "text/plain", b"")]),
         "names must differ"),
        (lambda: Document("t", letterhead="例市長"), "Letterhead"),  # type: ignore[arg-type]
    ],
)
def test_malformed_parts_are_refused(make: Any, message: str) -> None:
    with pytest.raises(ReportModelError, match=message):
        make()


def test_json_round_trip() -> None:
    doc = _full()
    assert load_json(render_json(doc)) == doc


def test_html_has_the_letterhead_the_photo_and_the_attachments() -> None:
    html = render_html(_full()).decode()
    assert '<div class="addressee">例市長 様</div>' in html
    assert "文書番号 R8-001" in html and '<span class="seal">印</span>' in html
    assert '<img src="data:image/jpeg;base64,' in html and 'width="480" height="320"' in html
    assert 'download="certificate.json"' in html and 'download="7.tlog-proof"' in html
    # the seal boxes wrapped with the section they attest, heading included
    keep = html.index('<div class="keep">')
    assert keep < html.index("<h2>記</h2>") < html.index('<table class="sign">')


def test_pdf_embeds_the_attachments_and_the_image() -> None:
    reader = PdfReader(io.BytesIO(render_pdf(_full())))
    assert reader.attachments == {"certificate.json": [b'{"a":1}\n'], "7.tlog-proof": [b"c2sp.org/tlog-proof@v1\n"]}
    text = reader.pages[0].extract_text()
    assert text.index("文書番号 R8-001") < text.index("例市長 様") < text.index("廃棄証明書")
    images = [name for page in reader.pages for name in page.images]
    assert len(images) == 1


def _seal_page(doc: Document, label: str) -> tuple[int, list[str]]:
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(doc))).pages]
    return next(i for i, text in enumerate(pages) if label in text), pages


@pytest.mark.parametrize("fill", [40, 44, 47, 50])
def test_seal_boxes_never_end_up_alone(fill: int) -> None:
    """However much text comes before, the statement and its seal boxes share a page."""
    doc = Document("報告", blocks=[
        Paragraph("\n".join(f"本文 {i} 行目" for i in range(fill))),
        Paragraph("上記のとおり相違ありません。"),
        SignatureBoxes(["押印欄"], keep_with=1),
    ])
    page, pages = _seal_page(doc, "押印欄")
    assert "上記のとおり相違ありません。" in pages[page]


def test_without_keep_with_the_boxes_may_stand_alone() -> None:
    """The control: keep_with=0 leaves the boxes to flow (here to a page of their own), so the test above can
    fail."""
    found = []
    for fill in range(38, 56):
        doc = Document("報告", blocks=[
            Paragraph("\n".join(f"本文 {i} 行目" for i in range(fill))),
            Paragraph("上記のとおり相違ありません。"),
            SignatureBoxes(["押印欄"], keep_with=0),
        ])
        page, pages = _seal_page(doc, "押印欄")
        found.append("上記のとおり相違ありません。" in pages[page])
    assert not all(found)


def test_a_camera_photo_is_embedded_as_a_thumbnail() -> None:
    """A 12-megapixel photo is not carried whole into 500 certificates: at most 640 px a side."""
    from PIL import Image

    from custody.verify.reports.data import THUMBNAIL_BYTES, THUMBNAIL_PX, thumbnail

    big = Image.effect_noise((3000, 2000), 60).convert("RGB")
    raw = io.BytesIO()
    big.save(raw, "JPEG", quality=92)
    blob = raw.getvalue()
    assert len(blob) > THUMBNAIL_BYTES
    small = thumbnail(blob)
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "JPEG" and max(image.size) <= THUMBNAIL_PX and image.size[0] > image.size[1]
    assert len(small) < len(blob) // 4
    assert thumbnail(PHOTO) is PHOTO  # small: as it is
    junk = b"\xff\xd8\xff\xe0" + b"x" * (THUMBNAIL_BYTES + 1)
    assert thumbnail(junk) is junk  # not readable: as it is (listed by name and hash only)
