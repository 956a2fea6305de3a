"""別紙報告票: every compliance code of the registry (ledger/lifecycle RULE_CODES, including codes added later) has a
row on the form, and an error of that code prints 1 in it -- never 0 beside a finding of its category."""

from __future__ import annotations

import dataclasses

import pytest

from custody.ledger.lifecycle import RULE_CODES
from custody.verify.findings import Finding
from custody.verify.reports.inspection import REFERENCE_ROWS, ROWS, build_inspection
from tests.verify.reports.conftest import Case, cell_text, section, tables


def _with(case: Case, finding: Finding) -> Case:
    data = dataclasses.replace(case.ja, result=dataclasses.replace(case.ja.result, findings=(finding,), ok=False))
    return dataclasses.replace(case, ja=data)


@pytest.mark.parametrize("code", list(RULE_CODES))
def test_an_error_of_every_code_prints_one_in_its_row(clean: Case, code: str) -> None:
    rows = [row for row in (*ROWS, *REFERENCE_ROWS) if code in row.codes]
    assert len(rows) == 1, f"{code} ({RULE_CODES[code].form}) must count in exactly one row of the form"
    case = _with(clean, Finding(code, "error", f"{code} の所見", None, None))  # no entry, no medium: the vendor
    doc = build_inspection(case.ja, "ja")
    vendor = [[cell_text(c) for c in r] for r in tables(section(doc, "株式会社サンプル(委託先)"))[0].rows]
    marks = {(r[0], r[1]): r[3] for r in vendor}
    row = rows[0]
    assert marks[(row.mark, row.ja)] == "1", (code, vendor)
    assert [r for r in vendor if r[3] == "1"] == [r for r in vendor if code in r[2].split()]
    if row in ROWS:  # ① ② ③ also in the summary table, in that organisation's row and the total
        summary = tables(section(doc, "遵守状況の点検"))[0]
        column = 3 + ROWS.index(row)
        vendor_row = next(r for r in summary.rows if cell_text(r[1]) == "株式会社サンプル")
        assert cell_text(vendor_row[column]) == "1"
        assert cell_text(summary.footer_rows[0][column]) == "1"
