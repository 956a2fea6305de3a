"""All reports together: the same bundle gives the same bytes, JSON parses, data gathered from the bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custody.ledger.bundle import Bundle
from custody.ledger.errors import OutputError
from custody.ledger.tlogproof import parse_tlog_proof
from custody.verify.reports import load_json, render_html, render_json, render_pdf
from custody.verify.reports.content import REPORTS, build_reports
from custody.verify.reports.data import _entry_type
from custody.verify.reports.produce import expand_formats, expand_kinds, gather, produce, render_all, write_reports
from tests.conftest import SmallDisk
from tests.verify.reports.conftest import Case, all_text, pdf_text
from tests.verify.reports.scenario import build, build_many, make_authority, varied_disposal


def test_every_kind_builds_in_both_languages(violations: Case) -> None:
    for kind in REPORTS:
        for lang, data in (("ja", violations.ja), ("en", violations.en)):
            docs = build_reports(kind, data, lang)  # type: ignore[arg-type]
            assert docs and all(doc.lang == lang for _stem, doc in docs)
    stems = [stem for stem, _doc in build_reports("disposal", violations.ja, "ja")]
    assert stems == ["disposal-M-001", "disposal-V-001", "disposal-C-001"]
    with pytest.raises(ValueError, match="unknown report"):
        build_reports("minutes", violations.ja, "ja")


def test_same_input_same_bytes_across_runs(tmp_path: Path, clean: Case) -> None:
    """A scenario rebuilt from scratch gives byte-identical PDF, HTML and JSON for every report."""
    again = build(tmp_path, "clean")
    with Bundle(again.bundle) as bundle:
        data = gather(bundle, again.trust, "ja", workers=1)
    for kind in REPORTS:
        first = build_reports(kind, clean.ja, "ja")
        second = build_reports(kind, data, "ja")
        assert [s for s, _d in first] == [s for s, _d in second]
        for (_s1, d1), (_s2, d2) in zip(first, second, strict=True):
            assert d1 == d2
            assert render_pdf(d1) == render_pdf(d2)
            assert render_html(d1) == render_html(d2)
            assert render_json(d1) == render_json(d2)


def test_json_parses_and_round_trips(violations: Case) -> None:
    for kind in REPORTS:
        for _stem, doc in build_reports(kind, violations.ja, "ja"):
            raw = render_json(doc)
            parsed = json.loads(raw)
            assert parsed["document"]["title"] == doc.title
            assert load_json(raw) == doc


def test_html_is_japanese_and_carries_the_proof(clean: Case) -> None:
    _stem, doc = build_reports("disposal", clean.ja, "ja")[0]
    html = render_html(doc).decode("utf-8")
    assert 'lang="ja"' in html
    assert "廃棄証明書" in html and "例市長 様" in html
    # the proof is a download link (its bytes as base64 in a data: URI), the photo an inline image
    assert 'download="' in html and ".tlog-proof" in html
    assert '<img src="data:image/jpeg;base64,' in html


def test_parallel_rendering_gives_the_same_bytes(clean: Case) -> None:
    docs = [doc for kind in REPORTS for _s, doc in build_reports(kind, clean.ja, "ja")]
    jobs = [(doc, fmt) for doc in docs for fmt in ("pdf", "json")] * 4
    assert render_all(jobs, workers=2) == render_all(jobs, workers=1)


def test_each_file_is_written_as_soon_as_it_is_rendered(tmp_path: Path) -> None:
    """write_reports does not hold every report's bytes: when file k is reported done, k files are on disk."""
    built = build_many(tmp_path / "ledger", 30, batch=10)
    with Bundle(built.bundle) as bundle:
        data = gather(bundle, built.trust, "ja", workers=1)
    out = tmp_path / "out"
    on_disk: list[int] = []

    def rendered(done: int, total: int) -> None:
        on_disk.append(len([p for p in out.iterdir() if not p.name.startswith(".")]))

    paths = write_reports(data, ["all"], ["pdf", "json"], "ja", out, workers=2, rendered=rendered)
    assert len(paths) == 2 * (15 + len(REPORTS) - 1) >= 24  # enough to be rendered in workers
    assert on_disk == list(range(1, len(paths) + 1))
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    assert paths[0].name == "register.ja.pdf"  # in the order asked, whatever order they were rendered in


@pytest.mark.parametrize("free", [0, 100 << 10, 300 << 10])
def test_reports_on_a_full_disk(tmp_path: Path, small_disk: SmallDisk, clean: Case, free: int) -> None:
    """A real full disk part-way through: a clear error saying how far it got; every file that has a
    report's name is whole; no temporary file stays; once there is room the same call writes them all."""
    names = [f"{stem}.ja.{fmt}" for kind in REPORTS for stem, _doc in build_reports(kind, clean.ja, "ja")
             for fmt in ("pdf", "html")]
    whole = dict(zip(names, render_all([(doc, fmt) for kind in REPORTS for _s, doc in build_reports(kind, clean.ja, "ja")
                                        for fmt in ("pdf", "html")], workers=1), strict=True))
    out = small_disk.root / "reports"
    small_disk.leave(free)
    with pytest.raises(OutputError, match="No space left on device") as caught:
        write_reports(clean.ja, ["all"], ["pdf", "html"], "ja", out, workers=1)
    assert caught.value.exit_code == 2
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert caught.value.hint is not None
    assert f"{len(written)} of {len(names)} report files were written" in caught.value.hint
    for name in written:
        assert (out / name).read_bytes() == whole[name], name  # no temporary file, no truncated report
    small_disk.free()
    paths = write_reports(clean.ja, ["all"], ["pdf", "html"], "ja", out, workers=1)
    assert sorted(p.name for p in paths) == sorted(names) == sorted(p.name for p in out.iterdir())


def test_reports_where_a_file_stands_in_the_way(tmp_path: Path, clean: Case) -> None:
    (tmp_path / "afile").write_text("not a directory")
    with pytest.raises(OutputError, match=r"Cannot create the directory .*afile/out"):
        write_reports(clean.ja, ["register"], ["json"], "ja", tmp_path / "afile" / "out", workers=1)


def test_proofs_for_a_longer_ledger_match_the_store(tmp_path: Path) -> None:
    built = build_many(tmp_path, 40, batch=7)
    with Bundle(built.bundle) as bundle:
        data = gather(bundle, built.trust, "ja", workers=1)
    assert data.result.ok, data.result.findings
    cp = data.cosigned_checkpoint
    assert cp is not None and cp.size == data.size
    assert len(data.proofs) == 20
    for seq, proof in data.proofs.items():
        assert proof.verified and proof.bundle_proof == "verified"
        assert proof.checkpoint is cp
        parsed = parse_tlog_proof(proof.text)
        assert parsed.index == seq and parsed.checkpoint == cp.note
        assert list(parsed.hashes) == built.ledger.store.inclusion_proof(seq, cp.size)
    counts = data.state.counts()
    assert (counts["received"], counts["disposed"], counts["returned"], counts["open"]) == (40, 20, 20, 0)
    register = build_reports("register", data, "ja")[0][1]
    assert "M-0039" in all_text(register)


def test_entry_type_is_read_from_the_last_key() -> None:
    assert _entry_type(b'{"actor":"a","body":{"type":"agent.x"},"type":"media.disposed"}') == "media.disposed"
    assert _entry_type(b"not json") == ""


def test_produce_writes_files_named_by_report_and_language(tmp_path: Path) -> None:
    built = build(tmp_path, "clean")
    authority = make_authority(built, tmp_path / "authority")
    produced = produce(built.bundle, authority, ["completion", "disposal"], ["pdf", "json"], ["ja", "en"],
                       tmp_path / "out", workers=1)
    names = sorted(p.name for p in produced.paths)
    assert "completion.ja.pdf" in names and "completion.en.json" in names
    assert "disposal-M-001.ja.pdf" in names and "disposal-C-001.en.pdf" in names
    assert produced.ok and produced.counts() == {"error": 0, "warning": 0, "info": 0}
    assert all(p.is_file() and p.stat().st_size > 0 for p in produced.paths)
    assert expand_formats(["all"]) == ["pdf", "html", "json", "csv", "xlsx"] and expand_kinds(["all"]) == list(REPORTS)
    with pytest.raises(ValueError, match="unknown format"):
        expand_formats(["docx"])


def test_the_benchmark_ledger_with_varied_disposals_verifies_and_shows_each_ones_people(tmp_path: Path) -> None:
    """build_many(varied=True), the report benchmark's ledger: still a clean ledger, and each certificate
    names its own operator, witness and place (so the benchmark's PDFs do not all share one character set)."""
    built = build_many(tmp_path, 12, batch=5, varied=True)
    with Bundle(built.bundle) as bundle:
        data = gather(bundle, built.trust, "ja", workers=1)
    assert data.result.ok and not data.result.findings, data.result.findings
    certificates = dict(build_reports("disposal", data, "ja"))
    assert len(certificates) == 6
    for i in range(6):
        text = "".join(pdf_text(render_pdf(certificates[f"disposal-M-{i:04d}"])).split())
        people = varied_disposal(i)
        for name in (people["operator"]["name"], people["witness"]["name"], people["place"]):
            assert "".join(name.split()) in text, (i, name)
