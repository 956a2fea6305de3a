"""Reports made without the municipality's trust store (--integrity-only) say 未確認 and never pass.

docs/spec.md §11.3 and §13.2, docs/reports.md: every document of every kind
carries the banner; the verdict rows say 未確認 / UNCHECKED instead of 合格 /
passed; against the trust store nothing of this appears.  Real ledgers
(tests/verify/reports/scenario.py), verified both ways.
"""

from __future__ import annotations

import re

import pytest

from custody.ledger.bundle import Bundle
from custody.ledger.vocabulary import RESULTS
from custody.verify.reports import render_pdf
from custody.verify.reports.content import REPORTS, build_reports
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Lang
from custody.verify.reports.produce import gather
from custody.verify.trust import from_bundle_unpinned
from tests.verify.reports.conftest import Case, all_text, keyvalues, pdf_text, squash

BANNER = {"ja": "未確認: 自治体の信頼ストアで未確認です。この帳票は --integrity-only で作成されました。",
          "en": "UNCHECKED: not checked against the municipality's pinned keys. This document was made with "
                "--integrity-only"}
# Words of a pass; a disposal certificate's own sanitization result (the vendor's check that the medium
# was erased, 検証結果 合格) is a recorded fact, not the verifier's verdict, and is looked at separately.
PASS_WORDS = {"ja": re.compile("合格"), "en": re.compile(r"\b(passed|OK|Pass)\b")}


def pass_words(text: str, lang: str) -> list[str]:
    return PASS_WORDS[lang].findall(text)


@pytest.fixture(scope="module")
def unchecked(clean: Case) -> dict[str, ReportData]:
    with Bundle(clean.bundle) as bundle:
        trust = from_bundle_unpinned(bundle)
        return {lang: gather(bundle, trust, lang, workers=1) for lang in ("ja", "en")}


def _documents(data: ReportData, lang: Lang) -> list[tuple[str, object]]:
    return [(f"{kind}/{stem}", doc) for kind in REPORTS for stem, doc in build_reports(kind, data, lang)]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_document_of_every_kind_has_the_banner(unchecked: dict[str, ReportData], lang: Lang) -> None:
    docs = _documents(unchecked[lang], lang)
    assert {name.split("/")[0] for name, _doc in docs} == set(REPORTS)
    assert len(docs) == len(REPORTS) - 1 + 3  # three disposal certificates
    for name, doc in docs:
        assert doc.banner.startswith(BANNER[lang]), name  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_no_document_reads_as_a_pass(unchecked: dict[str, ReportData], lang: Lang) -> None:
    sanitization = RESULTS["pass"][1 if lang == "ja" else 0]
    for name, doc in _documents(unchecked[lang], lang):
        text = all_text(doc)
        if name.startswith("disposal/"):
            kv = keyvalues(doc)  # type: ignore[arg-type]
            assert str(kv["検証" if lang == "ja" else "Verification"]).split(": ")[1].startswith(sanitization), name
            text = text.replace(sanitization, "")
        assert pass_words(text, lang) == [], name


@pytest.mark.parametrize(
    ("lang", "label", "verdict"),
    [
        ("ja", "証跡の検証", "未確認(エラー 0 件、警告 1 件)。自治体の信頼ストアで未確認(証跡一式に含まれる鍵だけによる完全性の検査)"),
        ("en", "Evidence verification", ("UNCHECKED: 0 errors, 1 warnings; not checked against the municipality's "
                                        "pinned keys (integrity only, with the bundle's own keys)")),
    ],
)
def test_the_verdict_rows_say_unchecked(unchecked: dict[str, ReportData], lang: Lang, label: str,
                                        verdict: str) -> None:
    for name, doc in _documents(unchecked[lang], lang):
        assert keyvalues(doc)[label] == verdict, name  # type: ignore[arg-type]


def test_against_the_trust_store_no_banner_and_a_pass(clean: Case) -> None:
    """The control: the same bundle verified against the municipality's pins."""
    for lang, data in (("ja", clean.ja), ("en", clean.en)):
        for name, doc in _documents(data, lang):  # type: ignore[arg-type]
            assert doc.banner == "", name  # type: ignore[attr-defined]
            assert "未確認" not in all_text(doc) and "UNCHECKED" not in all_text(doc), name
            if not name.startswith("disposal/"):
                assert pass_words(all_text(doc), lang), name  # what the test above looks for is there
    assert keyvalues(build_reports("completion", clean.ja, "ja")[0][1])["証跡の検証"] == "合格(エラー 0 件、警告 0 件)"


def test_completion_pdf_first_page(unchecked: dict[str, ReportData]) -> None:
    """未確認 on the completion report's first page, before the contract's details; no 合格 in the whole PDF."""
    pdf = render_pdf(build_reports("completion", unchecked["ja"], "ja")[0][1])
    text = squash(pdf_text(pdf))
    banner = squash(BANNER["ja"])
    assert text.index(squash("返還・廃棄完了報告")) < text.index(banner) < text.index("委託者")
    assert "合格" not in text
