"""What the desk's pages are built from: images it shows inline, findings grouped and filtered."""

from __future__ import annotations

import pytest

from custody.desk.present import Filters, findings_view, image_type
from custody.ledger.lifecycle import new_state
from custody.verify.engine import EntryView, Result
from custody.verify.findings import ERROR, INFO, WARNING, Finding
from custody.verify.reports.data import ReportData
from custody.verify.reports.labels import Tr


@pytest.mark.parametrize(("data", "kind"), [
    (b"\x89PNG\r\n\x1a\n....", "image/png"),
    (b"\xff\xd8\xff\xe0....", "image/jpeg"),
    (b"GIF89a...", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", None),  # never inline
    (b"<html><script>alert(1)</script>", None),
    (b"%PDF-1.4", None),
    (b"", None),
])
def test_only_raster_images_are_shown_inline(data: bytes, kind: str | None) -> None:
    assert image_type(data) == kind


def _data() -> ReportData:
    findings = (
        Finding("C2", ERROR, "takeout without approval", 3, "M-001"),
        Finding("C2", ERROR, "takeout without approval", 7, "M-002"),
        Finding("C13", WARNING, "observation gap", 5, None),
        Finding("I6", INFO, "entries after the last cosigned checkpoint", None, None),
    )
    result = Result(False, "o", 8, findings, True, 0, 0)
    data = ReportData(result=result, state=new_state("o"))
    for seq, actor, at in ((3, "op-tanaka", "2026-04-02T10:00:00+09:00"), (5, "agent-ws01", "2026-04-03T10:00:00+09:00"),
                           (7, "op-kato", "2026-04-05T10:00:00+09:00")):
        data.entries[seq] = EntryView(seq, "takeout.departed", at, actor, {}, b"")
    return data


@pytest.mark.parametrize(("filters", "shown"), [
    (Filters(), {("C2", 3), ("C2", 7), ("C13", 5), ("I6", None)}),
    (Filters(code="C2"), {("C2", 3), ("C2", 7)}),
    (Filters(severity="warning"), {("C13", 5)}),
    (Filters(medium="M-002"), {("C2", 7)}),
    (Filters(person="op-tanaka"), {("C2", 3)}),
    (Filters(date_from="2026-04-03"), {("C13", 5), ("C2", 7)}),
    (Filters(date_to="2026-04-03"), {("C2", 3), ("C13", 5)}),
    (Filters(code="C2", date_from="2026-04-04", date_to="2026-04-30"), {("C2", 7)}),
    (Filters(code="C9"), set()),
])
def test_findings_are_grouped_by_rule_and_filtered(filters: Filters, shown: set[tuple[str, int | None]]) -> None:
    view = findings_view(_data(), filters, Tr("ja"))
    assert {(r.finding.code, r.finding.seq) for g in view.groups for r in g.rows} == shown
    assert [g.code for g in view.groups] == sorted({c for c, _s in shown}, key=lambda c: (c[0] != "I", int(c[1:])))
    assert view.total == 4 and view.shown == len(shown)
    assert view.counts == {"error": 2, "warning": 1, "info": 1}
    assert dict(view.codes)["C2"] == "有効な事前承認のない持ち出し"  # the reports' legend, in the page's language
