"""The MIC 別紙報告票 over three contracts: ``custody report inspection --aggregate`` on three demo-like
bundles pinned in one trust store, compared with each contract's own row added up by hand."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from tests.verify.reports.scenario import Built, build, make_authority


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Built], Path]:
    root = tmp_path_factory.mktemp("aggregate")
    built = [
        build(root / "a", "clean", origin="city.example.lg.jp/custody/2026-017/site-1", contract_id="2026-017"),
        build(root / "b", "violations", origin="city.example.lg.jp/custody/2026-018/site-1", contract_id="2026-018"),
        build(root / "c", "clean", origin="town.example.lg.jp/custody/2026-003/site-1", municipality="例町",
              contract_id="2026-003"),
    ]
    authority = root / "authority"
    for b in built:
        make_authority(b, authority)  # one trust store, three contracts
    return built, authority


def custody(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "custody.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600, check=False, env={"PATH": "/usr/bin:/bin", "CUSTODY_LANG": "ja"})


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def own_row(bundle: Path, authority: Path, out: Path) -> list[str]:
    """The contract's own row, from its single-bundle inspection CSV."""
    run = custody("report", "inspection", str(bundle), "--authority", str(authority), "-f", "csv", "-o", str(out),
                  cwd=out.parent)
    assert run.returncode in (0, 3), run.stderr
    return read(out / "inspection.ja.csv")[1]


MARKS = (1, 2, 3, 5, 6, 7, 9, 10)  # the 0/1 columns; 4, 8, 11 are the improvement notes


def test_the_aggregated_row_is_the_sum_by_hand(three: tuple[list[Built], Path], tmp_path: Path) -> None:
    built, authority = three
    rows = [own_row(b.bundle, authority, tmp_path / f"own{i}") for i, b in enumerate(built)]
    assert [r[0] for r in rows] == ["例市", "例市", "例町"]
    run = custody("report", "inspection", "--aggregate", *(str(b.bundle) for b in built), "--authority",
                  str(authority), "-f", "all", "-o", str(tmp_path / "out"), "--json", cwd=tmp_path)
    assert run.returncode == 3, run.stderr  # the second contract has errors: written, exit 3
    doc = json.loads(run.stdout)
    assert doc["ok"] is False and doc["trust"] == "pinned"
    assert list(doc["bundles"].values())[1] is False  # the second contract's verification failed
    form = read(tmp_path / "out" / "inspection-aggregate.ja.csv")
    header, city, town, total = form
    assert len(header) == 12 and (city[0], town[0], total[0]) == ("例市", "例町", "市町村分計")
    # By hand: 例市 has two contracts, a column is 1 when either has a 1; 例町 has one; the total adds them.
    for col in MARKS:
        assert city[col] == str(max(int(rows[0][col]), int(rows[1][col]))), header[col]
        assert town[col] == rows[2][col], header[col]
        assert total[col] == str(int(city[col]) + int(town[col])), header[col]
    assert city[5] == "1" and city[9] == "1"  # the violations contract: ① (C9) and the subcontractor's ② (C2)
    assert "【2026-018】" in city[8] and "[C9]" in city[8] and "2026-017" not in city[8]
    contracts = read(tmp_path / "out" / "inspection-aggregate-contracts.ja.csv")
    assert [r[1] for r in contracts[1:]] == ["2026-017", "2026-018", "2026-003"]
    for own, line in zip(rows, contracts[1:], strict=True):
        assert line[7:] == own, "each contract's row behind the form is its own inspection row"
    book = openpyxl.load_workbook(tmp_path / "out" / "inspection-aggregate.ja.xlsx")
    assert book.sheetnames == ["別紙報告票", "契約別の内訳"]
    sheet = book["別紙報告票"]
    assert [sheet.cell(4, col + 1).value for col in MARKS] == [int(total[col]) for col in MARKS]
    pdf = PdfReader(tmp_path / "out" / "inspection-aggregate.ja.pdf")
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "別紙報告票" in text and "市町村分計" in text and "例町" in text
    assert all(float(p.mediabox.width) > float(p.mediabox.height) for p in pdf.pages)  # landscape throughout
    model = json.loads((tmp_path / "out" / "inspection-aggregate.ja.json").read_text(encoding="utf-8"))
    assert "別紙報告票" in json.dumps(model, ensure_ascii=False)
    assert (tmp_path / "out" / "inspection-aggregate.ja.html").exists()


def test_the_same_contract_twice_is_refused(three: tuple[list[Built], Path], tmp_path: Path) -> None:
    built, authority = three
    run = custody("report", "inspection", "--aggregate", str(built[0].bundle), str(built[0].bundle),
                  "--authority", str(authority), "-f", "csv", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert "同じ台帳" in run.stderr
    assert not (tmp_path / "out" / "inspection-aggregate.ja.csv").exists()


@pytest.mark.parametrize(("extra", "says"), [
    (["--integrity-only"], "--authority"),
    ([], "--aggregate"),
])
def test_aggregate_needs_the_trust_store_and_one_bundle_needs_no_flag(three: tuple[list[Built], Path],
                                                                      tmp_path: Path, extra: list[str],
                                                                      says: str) -> None:
    built, authority = three
    if extra:
        args = ["report", "inspection", "--aggregate", str(built[0].bundle), *extra]
    else:
        args = ["report", "inspection", str(built[0].bundle), str(built[1].bundle), "--authority", str(authority)]
    run = custody(*args, "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert says in run.stderr
    assert not (tmp_path / "out").exists()
