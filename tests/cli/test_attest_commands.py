"""``custody attest ...`` and the vendor's commands that record the municipality's signed acts (C20, C24), through
the real CLI on real ledgers: each breach refused at write where it can be, found by verify where it cannot (a
vendor bypassing the CLI), and the 別紙報告票 marks 1 in the column of the code's category."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custody.ledger.attestation import sign_attestation
from custody.ledger.ledger import Ledger
from tests.cli.conftest import Custody
from tests.cli.workflow_world import ORIGIN, CliWorld, now

ATTESTERS = {"witness": "city-witness-yamada", "receiver": "city-receiver", "inspector": "city-inspector",
             "completion": "city-checker"}
WHO = ["--name", "山田 花子", "--title", "主査", "--organisation", "例市 市民課", "--place", "本社 第2開発室"]
ROLE_KEY = {"witness": "city-witness-yamada", "waiver": "city-witness-yamada", "receipt": "city-receiver",
            "inspection": "city-inspector", "completion": "city-checker", "change": "city-approver",
            "instruction": "city-approver", "incident-ack": "city-approver"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> CliWorld:
    root = tmp_path_factory.mktemp("attest-template")
    return CliWorld.template(root, Custody(root), attesters=ATTESTERS, extra_keys=("other-city-witness-x",))


@pytest.fixture
def w(template: CliWorld, tmp_path: Path, custody: Custody) -> CliWorld:
    return CliWorld.copy_of(template, tmp_path / "w", custody)


def attest(w: CliWorld, what: str, name: str, *args: str, by: str | None = None, origin: str = ORIGIN) -> Path:
    path = w.root / f"{name}.attestation"
    run = w.custody("attest", what, "--origin", origin, "--id", name, "--seen", "確認した", *WHO, *args,
                    "--output", str(path), "--key", str(w.key(by or ROLE_KEY[what])), "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["kind"]
    return path


def disposal_ready(w: CliWorld, media_id: str = "M-001") -> None:
    w.receive(media_id, my_number=True, item="住民基本台帳:1200")
    w.ok("dispose", "approved", "--approval", str(w.dispose_approval([media_id], "D-1")))


def inspected(w: CliWorld) -> None:
    note = attest(w, "inspection", "I-1", "--check", "株式会社サンプル:register:0:台帳を照合")
    w.ok("inspection", "record", "--attestation", str(note))


# --- refused at write ---


def test_my_number_disposal_needs_the_signed_witness(w: CliWorld) -> None:
    disposal_ready(w)
    w.refused(*w.record_args("M-001"), code="C24", says=("is not a witness",))
    note = attest(w, "witness", "W-1", "--media-id", "M-001", "--approval-id", "D-1")
    w.ok(*w.record_args("M-001", witness=False), "--witness-attestation", str(note))
    body = _last(w, "media.disposed")
    assert body["witness"]["name"] == "山田 花子" and body["attestation"].startswith("custody/attestation/v1\n")


@pytest.mark.parametrize("attack", ["forged", "other municipality", "vendor key", "other origin", "other media",
                                    "other role"])
def test_bad_witness_attestation_is_refused_at_write(w: CliWorld, attack: str) -> None:
    disposal_ready(w)
    if attack == "forged":
        note = attest(w, "witness", "W-1", "--media-id", "M-001")
        note.write_text(note.read_text(encoding="utf-8").replace("確認した", "確認していない"), encoding="utf-8")
        says = "altered or forged"
    elif attack == "other municipality":
        note, says = attest(w, "witness", "W-1", "--media-id", "M-001", by="other-city-witness-x"), "not signed by"
    elif attack == "vendor key":
        note, says = attest(w, "witness", "W-1", "--media-id", "M-001", by="op-tanaka"), "the vendor's key op-tanaka"
    elif attack == "other origin":
        note = attest(w, "witness", "W-1", "--media-id", "M-001", origin="other.example.lg.jp/custody/1/site-1")
        says = "another ledger"
    elif attack == "other media":
        note, says = attest(w, "witness", "W-1", "--media-id", "M-009"), "not medium M-001"
    else:
        note, says = attest(w, "witness", "W-1", "--media-id", "M-001", by="city-receiver"), "another role"
    w.refused(*w.record_args("M-001", witness=False), "--witness-attestation", str(note), code="C24", says=(says,))


def test_my_number_erasure_carries_responsible_and_signed_witness(w: CliWorld) -> None:
    w.receive("M-001", my_number=True, item="住民基本台帳:1200")
    w.ok(*w.copy_args(w.copy_approval("M-001", "C-001", "K-1"), "M-001", "C-001"), as_="op-tanaka")
    w.refused(*w.erase_args("C-001"), code="C24", says=("witness",), as_="op-tanaka")
    note = attest(w, "witness", "W-2", "--act", "erasure", "--media-id", "C-001")
    w.ok(*w.erase_args("C-001"), "--witness-attestation", str(note), as_="op-tanaka")
    body = _last(w, "media.erased")
    assert body["responsible"]["name"] == "佐藤 一郎" and body["witness"]["name"] == "山田 花子"


def test_waiver_instead_of_witness(w: CliWorld) -> None:
    disposal_ready(w)
    waiver = attest(w, "waiver", "WV-1", "--media-id", "M-001", "--reason", "特記事項により立会いを省略")
    w.ok(*w.record_args("M-001", witness=False), "--witness-attestation", str(waiver))


def test_return_needs_the_receivers_signed_receipt(w: CliWorld) -> None:
    w.receive("M-001")
    w.refused(*w.return_args("M-001"), code="C24", says=("receipt",))
    receipt = attest(w, "receipt", "R-1", "--media-id", "M-001")
    w.ok("media", "return", "--media-id", "M-001", "--receipt-number", "RET-1", "--receipt", str(receipt))
    assert _last(w, "media.returned")["receipt"]["to"]["person"] == "山田 花子"


def test_close_needs_inspection_and_completion_check(w: CliWorld) -> None:
    close = ["close", "--no-data-remains"]
    w.ok("person", "statement", "--no-data-kept", "--statement", "データを保持していません", as_="op-tanaka")
    w.refused(*close, code="C20", says=("No inspection by the municipality",))
    inspected(w)
    w.refused(*close, code="C24", says=("completion check",))
    completion = attest(w, "completion", "CC-1")
    w.ok(*close, "--completion", str(completion))
    assert _last(w, "contract.closed")["municipality_check"]["inspector"]["name"] == "山田 花子"


def test_change_of_responsible_person_needs_signed_approval(w: CliWorld) -> None:
    add = ["person", "add", "--vkey", w.vkey("op-kato"), "--name", "加藤 四郎", "--role", "responsible",
           "--pledge-date", "2026-03-27", "--training-date", "2026-03-28"]
    w.refused(*add, code="C24", says=("change approval",))
    note = attest(w, "change", "CH-1", "--subject", "responsible_person", "--to", "加藤 四郎")
    run = w.ok("attestation", "record", "--attestation", str(note), "--json")
    assert json.loads(run.stdout)["kind"] == "change_approval"
    w.ok(*add)


def test_inspection_record_refuses_other_kinds_and_keys(w: CliWorld) -> None:
    witness = attest(w, "witness", "W-1", "--media-id", "M-001")
    w.refused("inspection", "record", "--attestation", str(witness), code="C24", says=("not inspection",))
    by_witness = attest(w, "inspection", "I-9", "--check", "株式会社サンプル:register:0", by="city-witness-yamada")
    w.refused("inspection", "record", "--attestation", str(by_witness), code="C24", says=("another role",))


@pytest.mark.parametrize("args", [
    ["inspection", "--check", "株式会社サンプル:lunch:0"],
    ["inspection", "--check", "株式会社サンプル:register"],
    ["inspection"],
    ["inspection", "--check", "x:register:0", "--action", "A-1:x:2026-13-45:fix"],
    ["witness", "--act", "party", "--media-id", "M-001"],
    ["witness", "--media-id", "M-001", "--entry", "3:xyz"],
    ["witness"],
    ["instruction"],
    ["change", "--subject", "boss", "--to", "x"],
])
def test_attest_usage_errors(w: CliWorld, args: list[str]) -> None:
    run = w.custody("attest", *args, "--origin", ORIGIN, "--id", "X-1", "--seen", "確認した", *WHO,
                    "--output", str(w.root / "x.att"), "--key", str(w.key("city-witness-yamada")))
    assert run.code == 2, (run.code, run.stderr)
    assert not (w.root / "x.att").exists()


# --- found by verify where the write could not refuse (the vendor bypasses the CLI) ---


def _last(w: CliWorld, type_: str) -> dict[str, Any]:
    with Ledger.open(w.ledger, readonly=True) as ledger:
        for seq in range(ledger.store.size - 1, -1, -1):
            entry = ledger.store.entry(seq)
            if entry.type == type_:
                return dict(entry.body)
    raise AssertionError(type_)


def _verify(w: CliWorld) -> tuple[list[dict[str, object]], dict[str, object]]:
    authority, bundle = w.root / "authority", w.root / "bundle"
    assert w.custody("authority", "init", str(authority), "--name", "city.example.lg.jp/witness").code == 0
    assert w.custody("authority", "trust", "-a", str(authority), "-l", str(w.ledger), "--yes").code == 0
    assert w.custody("export", str(bundle), "-l", str(w.ledger)).code == 0
    run = w.custody("verify", str(bundle), "--authority", str(authority), "--json")
    assert run.code == 3, run.stdout
    out = w.root / "reports"
    report = w.custody("report", "inspection", str(bundle), "--authority", str(authority), "-f", "json", "-o",
                       str(out), "--lang", "en")
    assert report.code == 3, report.stderr
    form = json.loads((out / "inspection.en.json").read_text(encoding="utf-8"))
    return json.loads(run.stdout)["findings"], form


def _marks(form: dict[str, object]) -> dict[str, str]:
    """The vendor's 0/1 per row of the per-organisation table of the 別紙報告票 (JSON)."""
    text = json.dumps(form, ensure_ascii=False)
    doc = json.loads(text)
    found: dict[str, str] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "table" and node.get("columns", [])[2:4] == ["Rules", "0 / 1"] and not found:
                for row in node["rows"]:
                    found[row[1]] = row[3]
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return found


def test_verify_finds_a_vendor_signed_witness_and_no_inspection(w: CliWorld) -> None:
    disposal_ready(w)
    state = w.state()
    disposal = state.disposals["D-1"]
    assert disposal.witness_required
    vendor = w.signer("resp-sato")
    fake = sign_attestation(ORIGIN, {
        "kind": "disposal_witness", "id": "W-FAKE", "media": ["M-001"], "concerns": {"approval_id": "D-1"},
        "seen": "立ち会った", "acted_at": now(), "attested_at": now(), "place": "本社",
        "attester": {"name": "山田 花子", "title": "主査", "organisation": "例市 市民課", "role": "witness"},
    }, vendor).decode()
    photo = {"attachment": "ab" * 32, "name": "serial.jpg", "serial_visible": True}
    body = {"media_id": "M-001", "approval_id": "D-1", "serial": "SN-M-001", "certificate_number": "C-1",
            "method": {"category": "destroy", "technique": "shred"}, "start": now(), "end": now(),
            "place": "本社 第2開発室", "operator": {"name": "佐藤 一郎"}, "responsible": {"name": "佐藤 一郎"},
            "witness": {"name": "山田 花子", "organisation": "例市 市民課"}, "attestation": fake,
            "verification": {"method": "目視", "result": "pass", "verifier": "resp-sato"}, "photos": [photo],
            "no_certificate_reason": "自社で破砕", "backup": {"made": False}}
    with Ledger.open(w.ledger) as ledger:  # the vendor's own API: signed, chained, no rule checks
        ledger.append("media.disposed", body, vendor)
        ledger.append("contract.closed", {"statement": {"no_data_remains": True, "scope": ["work_pcs"]}}, vendor)
    findings, form = _verify(w)
    by_code = {(f["code"], f["severity"]) for f in findings}
    assert ("C24", "error") in by_code and ("C20", "error") in by_code
    vendor_key = [f for f in findings if f["code"] == "C24" and "vendor's key resp-sato" in str(f["message"])]
    assert vendor_key and vendor_key[0]["media"] == "M-001"
    marks = _marks(form)
    assert marks["Return and disposal of the information assets at the end"] == "1"
    assert marks["Inspections by the municipality"] == "1"
