"""The documents as a clerk sees them: every PDF page rendered to pixels (PDFium, pypdfium2) and its text
read back (pypdf), checked for the facts of an official form (docs/reports.md, Official form).

* the first page carries the letterhead: 宛名 (例市長 様), 文書番号, 発行日, the issuer and its seal box;
* Japanese documents are dated in the era calendar (令和), with the time zone where a time is shown;
* one orientation per document;
* seal boxes on the same page as what they attest;
* a one-medium certificate is at most two A4 pages, its serial photo embedded (an image XObject whose area
  is not blank when rendered), its data and tlog-proof attached as embedded files;
* serials and hashes are never broken mid-token.
"""

from __future__ import annotations

import io
import json
import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import ImageStat
from pypdf import PdfReader

from custody.ledger.tlogproof import parse_tlog_proof
from custody.verify.reports import Document, Hash, Section, Table, render_pdf
from custody.verify.reports.content import REPORTS, build_reports
from custody.verify.reports.document import Lang
from custody.verify.reports.linebreak import longest_run
from tests.verify.reports.conftest import Case

A4 = {(595, 842), (842, 595)}


def _documents(case: Case, lang: Lang) -> list[tuple[str, Document]]:
    data = case.ja if lang == "ja" else case.en
    return [(f"{kind}/{stem}", doc) for kind in REPORTS for stem, doc in build_reports(kind, data, lang)]


@pytest.fixture(scope="module")
def rendered(clean: Case) -> dict[str, bytes]:
    return {f"{lang}:{name}": render_pdf(doc) for lang in ("ja", "en") for name, doc in _documents(clean, lang)}


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _sizes(pdf: bytes) -> list[tuple[int, int]]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [(round(document[i].get_width()), round(document[i].get_height())) for i in range(len(document))]
    finally:
        document.close()


def test_every_report_kind_is_rendered(rendered: dict[str, bytes]) -> None:
    kinds = {name.split(":")[1].split("/")[0] for name in rendered}
    assert kinds == set(REPORTS)


def test_one_orientation_per_document(rendered: dict[str, bytes]) -> None:
    for name, pdf in rendered.items():
        sizes = set(_sizes(pdf))
        assert len(sizes) == 1 and sizes <= A4, (name, sizes)
    assert set(_sizes(rendered["ja:completion/completion"])) == {(595, 842)}  # portrait throughout


def test_first_page_carries_the_letterhead(rendered: dict[str, bytes]) -> None:
    for name, pdf in rendered.items():
        first = _pages(pdf)[0]
        if name.startswith("ja:"):
            for needle in ("例市長 様", "文書番号", "発行日 令和", "受託者 株式会社サンプル", "印"):
                assert needle in first, (name, needle)
        else:
            for needle in ("To: 例市長", "Document No.", "Date of issue 2026-", "Issued by (vendor)", "Seal"):
                assert needle in first, (name, needle)


def test_japanese_dates_are_era_dates_with_their_zone(rendered: dict[str, bytes]) -> None:
    for name, pdf in rendered.items():
        text = "\n".join(_pages(pdf))
        if name.startswith("ja:"):
            assert "令和8年" in text, name
            assert not re.search(r"(?<![0-9])2026年", text), name  # no Western year in a Japanese form
            for time in re.finditer(r"令和\d+年\d+月\d+日 \d\d:\d\d(:\d\d)?", text):
                after = text[time.end() : time.end() + 14].lstrip()  # a narrow cell may wrap before the zone
                assert after.startswith(("(JST)", "(UTC")), (name, time.group(), after)
        else:
            assert "令和" not in text, name


def _page_of(pages: list[str], labels: tuple[str, ...]) -> int:
    """The page whose text has the seal boxes' labels one after another (their header row; a label may wrap
    inside its box)."""
    row = re.sub(r"\s", "", "".join(labels))
    found = [i for i, text in enumerate(pages) if row in re.sub(r"\s", "", text)]
    assert len(found) == 1, (labels, found)
    return found[0]


@pytest.mark.parametrize(
    ("document", "labels", "attested"),
    [
        ("ja:disposal/disposal-M-001", ("実施者", "責任者", "立会者"), ("1. 記(削除・廃棄記録)", "残渣の処理先")),
        ("ja:completion/completion", ("受託者(代表者)", "作業責任者"), ("1. 完了の報告", "記録者(記録番号)")),
        ("ja:completion/completion", ("検査者", "方法", "日付", "結果"), ("8. 委託者による確認",)),
        ("ja:register/register", ("作成者(作業責任者)", "確認者(委託者)"), ("上記のとおり、媒体の管理状況",)),
        ("en:disposal/disposal-M-001", ("Operator", "Responsible person", "Witness"), ("Destination of the remains",)),
    ],
)
def test_seal_boxes_are_on_the_page_of_what_they_attest(
    rendered: dict[str, bytes], document: str, labels: tuple[str, ...], attested: tuple[str, ...]
) -> None:
    pages = _pages(rendered[document])
    page = pages[_page_of(pages, labels)]
    for needle in attested:
        assert needle in page, (document, needle)


def test_a_one_medium_certificate_is_at_most_two_pages(rendered: dict[str, bytes]) -> None:
    certificates = {name: pdf for name, pdf in rendered.items() if "/disposal/" in f"/{name.split(':')[1]}"}
    assert len(certificates) == 6  # three media, two languages
    for name, pdf in certificates.items():
        assert len(_sizes(pdf)) <= 2, name


def test_the_serial_photo_is_embedded_and_shows(rendered: dict[str, bytes], clean: Case) -> None:
    pdf = rendered["ja:disposal/disposal-M-001"]
    document = pdfium.PdfDocument(pdf)
    try:
        images = []
        for index in range(len(document)):
            page = document[index]
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
                images.append((index, obj.get_px_size(), obj.get_bounds()))
        assert len(images) == 1
        index, pixels, (left, bottom, right, top) = images[0]
        assert pixels == (480, 320)
        assert right - left >= 120  # a thumbnail a clerk can read, not a dot (points: ~42 mm and more)
        page = document[index]
        bitmap = page.render(scale=1).to_pil().convert("L")
        height = page.get_height()
        area = bitmap.crop((int(left), int(height - top), int(right), int(height - bottom)))
        assert ImageStat.Stat(area).stddev[0] > 20  # a picture, not a blank box
        # its SHA-256 beside it, on the same page, whole
        seq = next(e.seq for e in clean.ja.entries.values() if e.body.get("media_id") == "M-001"
                   and e.type == "media.disposed")
        digest = clean.ja.entries[seq].body["photos"][0]["attachment"]
        assert digest in _pages(pdf)[index]
    finally:
        document.close()


def test_the_pdf_alone_carries_the_certificate_data_and_its_proof(rendered: dict[str, bytes], clean: Case) -> None:
    reader = PdfReader(io.BytesIO(rendered["ja:disposal/disposal-M-001"]))
    attachments = reader.attachments
    proof_names = [name for name in attachments if name.endswith(".tlog-proof")]
    assert sorted(attachments) == sorted(["certificate.json", *proof_names]) and len(proof_names) == 1
    data = json.loads(attachments["certificate.json"][0])
    assert data["media_id"] == "M-001"
    proof = parse_tlog_proof(attachments[proof_names[0]][0])
    assert proof.index == data["seq"]
    assert clean.ja.proofs[data["seq"]].text == attachments[proof_names[0]][0]
    text = "\n".join(_pages(rendered["ja:disposal/disposal-M-001"]))
    assert "c2sp.org/tlog-proof@v1" not in text  # not printed as base64 lines


def test_hashes_on_the_certificate_are_whole(rendered: dict[str, bytes], clean: Case) -> None:
    text = "\n".join(_pages(rendered["ja:disposal/disposal-M-001"]))
    seq = next(e.seq for e in clean.ja.entries.values() if e.body.get("media_id") == "M-001"
               and e.type == "media.disposed")
    entry = clean.ja.entries[seq]
    assert entry.leaf_hash.hex() in text
    assert entry.body["certificate"]["attachment"] in text
    assert clean.ja.cosigned_checkpoint is not None and clean.ja.cosigned_checkpoint.root_hash.hex() in text


def test_serials_are_whole_in_the_register(rendered: dict[str, bytes], clean: Case) -> None:
    text = "\n".join(_pages(rendered["ja:register/register"]))
    for medium in clean.ja.state.media.values():
        assert medium.serial in text, medium.serial


def test_a_serial_wider_than_its_column_is_set_smaller_not_cut() -> None:
    serial, digest = "BUF-32G-0012345", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    doc = Document("台帳", orientation="landscape", blocks=[Section("一覧", [Table(
        ["媒体ID", "シリアル番号", "説明", "SHA-256"],
        [["M-1", serial, "説明" * 30, Hash(digest)]],
        col_widths=[2, 3, 24, 14],
    )])])
    pages = _pages(render_pdf(doc))
    assert len(pages) == 1
    lines = pages[0].split("\n")
    assert serial in lines and digest in lines  # each on one line, whole


def test_longest_run_measures_tokens() -> None:
    def width(ch: str) -> float:
        return 1.0

    assert longest_run("SN 12345 ab", width) == 5.0
    assert longest_run("媒体BUF-32G-0012345です", width) == 15.0
    assert longest_run("abc def", width, anywhere=True) == 7.0


