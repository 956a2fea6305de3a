"""``custody report``: files written and named, languages, exit 3 after writing when errors were found."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from custody.cli.demo import Demo
from custody.cli.demo_reports import reports_phase
from tests.cli.conftest import Custody
from tests.verify.reports.scenario import Built, build, make_authority

KINDS = ("register", "disposal", "completion", "inspection", "findings", "staff", "incident", "periodic")


@pytest.fixture(scope="module")
def clean_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, Path]:
    root = tmp_path_factory.mktemp("clean")
    built = build(root, "clean")
    return built, make_authority(built, root / "authority")


@pytest.fixture(scope="module")
def bad_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, Path]:
    root = tmp_path_factory.mktemp("violations")
    built = build(root, "violations")
    return built, make_authority(built, root / "authority")


def _text(pdf: Path) -> str:
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages).split())


def test_all_reports_every_format(custody: Custody, clean_case: tuple[Built, Path], tmp_path: Path) -> None:
    built, authority = clean_case
    out = tmp_path / "out"
    run = custody("report", "all", str(built.bundle), "--authority", str(authority), "--format", "all",
                  "--lang", "ja", "-o", str(out))
    assert run.code == 0, run.stderr
    names = sorted(p.name for p in out.iterdir())
    expected = sorted([*(f"{stem}.ja.{fmt}" for stem in ("register", "disposal-M-001", "disposal-V-001",
                                                          "disposal-C-001", "completion", "inspection",
                                                          "inspection-record", "findings", "staff", "incident",
                                                          "periodic")
                         for fmt in ("pdf", "html", "json")),
                       # the tables for Excel: a workbook per report that has tables, a CSV per table
                       *(f"{stem}.ja.xlsx" for stem in ("register", "completion", "inspection", "findings")),
                       *(f"{table}.ja.csv" for table in ("register", "register-history", "staff", "incidents",
                                                         "inspection", "inspection-detail", "findings"))])
    assert names == expected
    assert sorted(Path(line).name for line in run.stdout.split()) == expected
    assert "媒体管理台帳" in _text(out / "register.ja.pdf")
    assert "返還・廃棄完了報告" in _text(out / "completion.ja.pdf")
    assert "別紙報告票" in _text(out / "inspection.ja.pdf")
    assert "検査記録" in _text(out / "inspection-record.ja.pdf")
    cert = _text(out / "disposal-M-001.ja.pdf")
    assert "廃棄証明書" in cert and "立会者" in cert and "SN-001" in cert and ".tlog-proof" in cert
    assert "例市長様" in cert and "発行日令和" in cert
    doc = json.loads((out / "findings.ja.json").read_bytes())
    assert doc["document"]["title"] == "検証結果報告"


def test_a_report_without_tables_in_a_table_format_is_a_usage_error(custody: Custody,
                                                                      clean_case: tuple[Built, Path],
                                                                      tmp_path: Path) -> None:
    built, authority = clean_case
    run = custody("report", "disposal", str(built.bundle), "--authority", str(authority), "--format", "csv",
                  "-o", str(tmp_path / "out"))
    assert run.code == 2, run.stderr
    assert "pdf, html or json" in run.stderr
    assert not (tmp_path / "out").exists()


def test_japanese_by_default_even_with_english_messages(custody: Custody, clean_case: tuple[Built, Path],
                                                        tmp_path: Path) -> None:
    built, authority = clean_case
    run = custody("report", "register", str(built.bundle), "-a", str(authority), "-o", str(tmp_path))
    assert run.code == 0, run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["register.ja.pdf"]


@pytest.mark.parametrize("before", [False, True], ids=["after", "before"])
def test_english_on_request(custody: Custody, clean_case: tuple[Built, Path], tmp_path: Path, before: bool) -> None:
    built, authority = clean_case
    lang = ["--lang", "en"]
    args = ["report", "completion", str(built.bundle), "-a", str(authority), "-o", str(tmp_path), "-f", "html"]
    run = custody(*(lang + args if before else args + lang))
    assert run.code == 0, run.stderr
    html = (tmp_path / "completion.en.html").read_text(encoding="utf-8")
    assert "Completion report" in html and "返還・廃棄完了報告" not in html


def test_errors_still_write_reports_and_exit_3(custody: Custody, bad_case: tuple[Built, Path],
                                               tmp_path: Path) -> None:
    built, authority = bad_case
    run = custody("report", "inspection", str(built.bundle), "-a", str(authority), "-o", str(tmp_path),
                  "--lang", "ja")
    assert run.code == 3
    assert (tmp_path / "inspection.ja.pdf").is_file()
    assert "8 error(s)" in run.stderr and "Exit status 3" in run.stderr
    assert "有限会社孫請" in _text(tmp_path / "inspection.ja.pdf")


def test_json_summary(custody: Custody, bad_case: tuple[Built, Path], tmp_path: Path) -> None:
    built, authority = bad_case
    run = custody("report", "disposal", str(built.bundle), "-a", str(authority), "-o", str(tmp_path),
                  "-f", "pdf", "-f", "json", "--json")
    assert run.code == 3
    doc = json.loads(run.stdout)
    assert doc["ok"] is False and doc["lang"] == "ja" and doc["formats"] == ["pdf", "json"]
    assert doc["findings"] == {"error": 8, "warning": 0, "info": 0}
    assert sorted(Path(p).name for p in doc["reports"]) == sorted(
        f"disposal-{m}.ja.{f}" for m in ("M-001", "V-001", "C-001") for f in ("pdf", "json"))


def test_without_a_trust_store_the_reports_say_so(custody: Custody, clean_case: tuple[Built, Path],
                                                   tmp_path: Path) -> None:
    built, _authority = clean_case
    run = custody("report", "findings", str(built.bundle), "-o", str(tmp_path), "-f", "json")
    assert run.code == 2 and "--integrity-only" in run.stderr and "--authority" in run.stderr
    assert list(tmp_path.iterdir()) == []
    run = custody("report", "findings", str(built.bundle), "--integrity-only", "-o", str(tmp_path), "-f", "json",
                  "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["trust"] == "unchecked" and "UNCHECKED" in run.stderr
    doc = json.loads((tmp_path / "findings.ja.json").read_bytes())
    assert doc["document"]["banner"].startswith("未確認: 自治体の信頼ストアで未確認です。")
    text = json.dumps(doc, ensure_ascii=False)
    assert "自治体の信頼ストアで未確認" in text and "I5" in text and "合格" not in text


def test_same_bundle_same_files(custody: Custody, clean_case: tuple[Built, Path], tmp_path: Path) -> None:
    built, authority = clean_case
    for name in ("a", "b"):
        run = custody("report", "all", str(built.bundle), "-a", str(authority), "-f", "all", "-o",
                      str(tmp_path / name), "--workers", "1")
        assert run.code == 0, run.stderr
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


def test_usage_errors(custody: Custody, clean_case: tuple[Built, Path], tmp_path: Path) -> None:
    built, authority = clean_case
    bad_format = custody("report", "register", str(built.bundle), "-a", str(authority), "-f", "docx",
                         "-o", str(tmp_path))
    assert bad_format.code == 2
    no_workers = custody("report", "register", str(built.bundle), "-a", str(authority), "--workers", "0",
                         "-o", str(tmp_path))
    assert no_workers.code == 2 and "--workers" in no_workers.stderr
    missing = custody("report", "register", str(tmp_path / "nope"), "--integrity-only", "-o", str(tmp_path))
    assert missing.code == 3 and "no bundle at" in missing.stderr  # as custody verify: the bundle is unusable
    no_store = custody("report", "register", str(built.bundle), "-a", str(tmp_path / "no-store"), "-o", str(tmp_path))
    assert no_store.code == 4
    assert not list(tmp_path.glob("*.pdf"))


def test_form_options(custody: Custody, clean_case: tuple[Built, Path], tmp_path: Path) -> None:
    built, authority = clean_case
    run = custody("report", "completion", str(built.bundle), "-a", str(authority), "-o", str(tmp_path),
                  "--calendar", "western", "--issued", "2027-03-31", "--document-number", "例情第12号",
                  "--addressee", "例市長 山田 太郎", "--representative", "代表取締役社長 鈴木 一郎")
    assert run.code == 0, run.stderr
    first = PdfReader(io.BytesIO((tmp_path / "completion.ja.pdf").read_bytes())).pages[0].extract_text()
    assert "発行日 2027年3月31日" in first and "文書番号 例情第12号-CMP" in first
    assert "例市長 山田 太郎 様" in first and "代表取締役社長 鈴木 一郎" in first
    assert "令和" not in first


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--calendar", "gregorian"], "--calendar"),
        (["--issued", "2027-3-31"], "--issued"),
        (["--issued", "2027-02-30"], "--issued"),
        (["--addressee", " "], "--addressee"),
        (["--representative", "a\nb"], "--representative"),
    ],
)
def test_form_option_errors(custody: Custody, clean_case: tuple[Built, Path], tmp_path: Path, args: list[str],
                            hint: str) -> None:
    built, authority = clean_case
    run = custody("report", "register", str(built.bundle), "-a", str(authority), "-o", str(tmp_path), *args)
    assert run.code == 2 and hint in run.stderr, run.stderr
    assert not list(tmp_path.glob("*.pdf"))


def test_help_in_both_languages(tmp_path: Path) -> None:
    ja = Custody(tmp_path, lang="ja").process("report", "--help")
    assert ja.code == 0 and "媒体管理台帳" in ja.stdout and "別紙報告票" in ja.stdout
    register = Custody(tmp_path, lang="ja").process("report", "register", "--help")
    assert register.code == 0 and "和暦" in register.stdout and "発行日" in register.stdout
    en = Custody(tmp_path, lang="en").process("report", "completion", "--help")
    assert en.code == 0 and "Language of the reports" in en.stdout


def test_demo_reports_phase(clean_case: tuple[Built, Path], tmp_path: Path) -> None:
    built, authority = clean_case
    demo = Demo(tmp_path / "demo")
    demo.bundle, demo.authority, demo.reports = built.bundle, authority, tmp_path / "demo" / "reports"
    reports_phase(demo)
    names = {p.name for p in demo.reports.iterdir()}
    for stem in ("register", "disposal-M-001", "completion", "inspection", "findings"):
        for fmt in ("pdf", "html", "json"):
            assert f"{stem}.ja.{fmt}" in names
    assert {"completion.en.pdf", "completion.en.html", "completion.en.json"} <= names
    assert not any(n.startswith("register.en") for n in names)


def test_progress_bars_on_a_terminal(custody: Custody, clean_case: tuple[Built, Path], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from custody.cli import reportcmd
    from custody.cli.common import LazyConsole

    screen = io.StringIO()
    monkeypatch.setattr(reportcmd, "err", LazyConsole(file=screen, force_terminal=True, width=100))
    built, authority = clean_case
    run = custody("report", "disposal", str(built.bundle), "-a", str(authority), "-o", str(tmp_path), "-f", "all")
    assert run.code == 0, run.stderr
    assert len(list(tmp_path.glob("disposal-*.ja.*"))) == 9
    assert "writing reports" in screen.getvalue() or "verifying" in screen.getvalue()
