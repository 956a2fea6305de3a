"""One verification serves the reports of every language: a finding renders in either language exactly as a
verification run in that language writes it (verify/findings.py ``message_in``; verify/reports/produce.py)."""

from __future__ import annotations

from tests.verify.reports.conftest import Case


def test_a_finding_renders_in_the_other_language_as_that_language_writes_it(
    violations: Case, uncosigned: Case
) -> None:
    codes: set[str] = set()
    for case in (violations, uncosigned):
        ja, en = case.ja.result.findings, case.en.result.findings
        assert ja and len(ja) == len(en)
        for f_ja, f_en in zip(ja, en, strict=True):
            codes.add(f_ja.code)
            assert (f_ja.code, f_ja.seq, f_ja.media) == (f_en.code, f_en.seq, f_en.media)
            assert f_ja.message != f_en.message, f_ja
            assert f_ja.message_in("en") == f_en.message, f_ja
            assert f_en.message_in("ja") == f_ja.message, f_en
    # both kinds: the rules' own texts and the integrity messages of the catalogue
    assert any(c.startswith("I") for c in codes) and any(c.startswith("C") for c in codes), codes
