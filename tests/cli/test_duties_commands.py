"""The duties of the special terms (C16-C19, C21, C23) through the real CLI: a breach the CLI can refuse is
refused (exit 6, the code on stderr, nothing written); a fact that broke a rule is recorded, and then the
verifier finds it and the 別紙報告票 prints 1 in its row (docs/spec-rules.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import Custody
from tests.cli.workflow_world import CliWorld, now
from tests.helpers import contract_text

Setup = Callable[[CliWorld], None]


def _subcontract(w: CliWorld, data_handled: str) -> None:
    request = w.request("subcontract", "--name", "株式会社下請", "--reason", "繁忙期対応", "--scope", "データ点検",
                        "--data-handled", data_handled, "--safeguards", "特記事項の遵守", "--supervision", "週次報告",
                        name="SC-1", as_="resp-sato")
    w.ok("subcontract", "record", "--approval", str(w.approve("subcontract", request, "SC-1")))
    w.ok("person", "add", "--vkey", w.vkey("sub-yamamoto"), "--name", "山本 三郎", "--organisation", "株式会社下請",
         "--tier", "subcontractor", "--subcontract-id", "SC-1", "--pledge-date", "2026-04-10",
         "--training-date", "2026-04-11", "--reported-at", now())


def _out_of_scope(w: CliWorld) -> None:
    _subcontract(w, "住民基本台帳の氏名・住所の表示のみ")
    w.receive("M-1")  # 印鑑登録原票


def _approved_disposal(w: CliWorld) -> None:
    w.receive("M-1")
    w.ok("dispose", "approved", "--approval", str(w.dispose_approval(["M-1"], "D-1")))


def _received(w: CliWorld) -> None:
    w.receive("M-1")


def _nothing(w: CliWorld) -> None:
    pass


def _new_operator_after_work_began(w: CliWorld) -> None:
    w.receive("M-1")
    w.ok("person", "add", "--vkey", w.vkey("op-kato"), "--name", "加藤 四郎", "--pledge-date", "2026-04-10",
         "--training-date", "2026-04-11")


REFUSED: list[tuple[str, Setup, list[str], str, str, tuple[str, ...]]] = [
    ("C16 subcontractor handles data outside its approval", _out_of_scope,
     ["media", "checkout", "--media-id", "M-1", "--purpose", "点検"], "sub-yamamoto", "C16", ("印鑑登録原票",)),
    ("C17 disposal ends before it starts", _approved_disposal,
     ["--start", now(timedelta(minutes=-5)), "--end", now(timedelta(minutes=-30))], "op-tanaka", "C17", ()),
    ("C17 disposal recorded before it ended", _approved_disposal,
     ["--start", now(timedelta(minutes=-5)), "--end", now(timedelta(hours=2))], "op-tanaka", "C17", ()),
    ("C17 incident detected in the future", _nothing,
     ["incident", "--kind", "suspicion", "--situation", "x", "--detected-at", now(timedelta(hours=3))],
     "resp-sato", "C17", ()),
    ("C19 storage outside the work locations", _nothing,
     ["media", "receive", "--media-id", "M-9", "--kind", "usb", "--serial", "SN-9", "--item", "印鑑登録原票:300",
      "--receipt-number", "R-9", "--from-person", "山田 花子", "--no-my-number", "--storage-place", "担当者の自宅"],
     "resp-sato", "C19", ("担当者の自宅",)),
    ("C21 a detailed report of no incident", _nothing,
     ["incident", "--kind", "suspicion", "--situation", "詳細", "--detail-of", "999"], "resp-sato", "C21", ("999",)),
    ("C23 removal without an exit check", _nothing, ["person", "remove", "op-tanaka"], "resp-sato", "C23", ()),
    ("C23 close before every worker's statement", _nothing,
     ["close", "--no-data-remains", "--scope", "work_pcs"], "resp-sato", "C23", ("田中 二郎",)),
    ("C23 a new operator acts before the change is reported", _new_operator_after_work_began,
     ["media", "checkout", "--media-id", "M-1", "--purpose", "作業"], "op-kato", "C23", ("op-kato",)),
]


@pytest.mark.parametrize(("case", "setup", "args", "as_", "code", "says"), REFUSED, ids=[r[0] for r in REFUSED])
def test_breach_is_refused_and_nothing_written(w: CliWorld, case: str, setup: Setup, args: list[str], as_: str,
                                               code: str, says: tuple[str, ...]) -> None:
    setup(w)
    if args[0].startswith("--"):  # a disposal record with these times
        args = w.record_args("M-1", extra=tuple(args))
    w.refused(*args, code=code, says=says, as_=as_)


def test_refusal_prints_each_violations_next_step_beside_it(w: CliWorld) -> None:
    _approved_disposal(w)
    # Ends before it starts, and both times after the entry: two violations.
    run = w.refused(*w.record_args("M-1", extra=("--start", now(timedelta(hours=2)), "--end",
                                                  now(timedelta(hours=1)))),
                    code="C17", as_="op-tanaka")
    lines = run.stderr.splitlines()
    heads = [i for i, line in enumerate(lines) if "[C17]" in line]
    assert len(heads) == 2, run.stderr
    for at in heads:
        assert lines[at + 1].startswith("    "), run.stderr  # its own next step, indented below it


def test_init_of_an_ended_contract_is_refused(tmp_path: Path, template: CliWorld) -> None:
    contract = tmp_path / "ended.toml"
    contract.write_text(contract_text(approver_vkey=template.vkey("city-approver"),
                                      witness_vkey=template.vkey("city.example.lg.jp/witness"),
                                      origin="city.example.lg.jp/custody/ended", end="2026-05-31"),
                        encoding="utf-8")
    custody = Custody(tmp_path)
    run = custody("init", str(tmp_path / "L"), "--contract", str(contract), "--key", str(template.key("resp-sato")))
    assert run.code == 6, run.stderr
    assert "[C23]" in run.stderr
    assert not (tmp_path / "L").exists()


# --- facts: recorded, then found by verify and marked 1 on the 別紙 ---


def _disposal_before_approval(w: CliWorld) -> None:
    _approved_disposal(w)
    w.ok(*w.record_args("M-1", extra=("--start", now(timedelta(minutes=-40)), "--end",
                                      now(timedelta(minutes=-10)))), as_="op-tanaka")


def _seal_changed(w: CliWorld) -> None:
    w.receive("M-1")
    w.checkout("M-1")  # breaks S-0001
    w.checkin("M-1")  # resealed S-0002
    w.ok(*w.return_args("M-1"), "--seal", "S-0001")


def _incident_late(w: CliWorld) -> None:
    w.ok("incident", "--kind", "suspicion", "--situation", "保管庫の無施錠", "--detected-at", now(timedelta(days=-3)),
         "--notified-at", now(), "--status", "closed")


def _disposal_elsewhere(w: CliWorld) -> None:
    _approved_disposal(w)
    w.ok(*w.record_args("M-1", extra=("--place", "廃棄業者の工場")), as_="op-tanaka")


FOUND: list[tuple[str, Setup, str]] = [
    ("C17 disposal started before its approval", _disposal_before_approval, "C17"),
    ("C18 returned under another seal than it carries", _seal_changed, "C18"),
    ("C19 disposal outside the work locations", _disposal_elsewhere, "C19"),
    ("C21 incident notified days after it was detected", _incident_late, "C21"),
]


def _verify(w: CliWorld, tmp: Path) -> tuple[list[dict[str, object]], dict[str, object]]:
    bundle = tmp / "bundle"
    w.ok("export", str(bundle), as_=None)
    run = w.custody("verify", str(bundle), "--integrity-only", "--json")
    assert run.code == 3, run.stderr  # an error finding fails the verification
    findings = json.loads(run.stdout)["findings"]
    out = tmp / "reports"
    report = w.custody("report", "inspection", str(bundle), "--integrity-only", "--format", "json", "--output",
                       str(out))
    assert report.code in (0, 3), report.stderr
    form = json.loads(next(out.glob("inspection*.json")).read_text(encoding="utf-8"))
    return findings, form


def _marks(form: dict[str, object], code: str) -> list[str]:
    """The 0/1 of every organisation's row that counts ``code`` (別紙 (2), per organisation)."""
    marks: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "table" and node.get("columns", [None, None, None])[2:3] in (["規則"], ["Rules"]):
                marks.extend(row[3] for row in node["rows"] if code in str(row[2]).split())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(form)
    return marks


@pytest.mark.parametrize(("case", "setup", "code"), FOUND, ids=[r[0] for r in FOUND])
def test_fact_is_recorded_found_and_marked_on_the_form(w: CliWorld, tmp_path: Path, case: str, setup: Setup,
                                                       code: str) -> None:
    setup(w)
    findings, form = _verify(w, tmp_path)
    mine = [f for f in findings if f["code"] == code]
    assert mine and all(f["severity"] == "error" for f in mine), findings
    assert "1" in _marks(form, code), _marks(form, code)
