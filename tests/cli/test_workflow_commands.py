"""The workflow commands end to end: people (C9), approvals (C2 C3 C5 C7), My Number disposal, closing,
incidents, messages in Japanese and English, JSON output, and real processes.

Every refusal is checked for its exit code (6), rule code, message, and an unchanged ledger (size, root and
attachments: tests/cli/workflow_world.py, ``CliWorld.refused``).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from custody.ledger.ledger import Ledger
from tests.cli.conftest import Custody
from tests.cli.workflow_world import CliWorld, approval_body, now

# --- people (C9) ---


def test_unregistered_actor_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    w.refused("media", "checkout", "--media-id", "M-1", "--purpose", "作業", as_="op-kato",
              code="C9", says=("op-kato is not registered personnel", "custody person add"))


def test_only_the_responsible_person_registers_people(w: CliWorld) -> None:
    w.refused("person", "add", "--vkey", w.vkey("op-kato"), "--name", "加藤", "--pledge-date", "2026-04-01",
              "--training-date", "2026-04-01", as_="op-tanaka", code="C9", says=("responsible person",))


def test_subcontractor_without_approval_is_refused(w: CliWorld) -> None:
    w.refused("person", "add", "--vkey", w.vkey("sub-yamamoto"), "--name", "山本", "--organisation", "株式会社下請",
              "--tier", "subcontractor", "--subcontract-id", "SC-NONE", "--pledge-date", "2026-04-01",
              "--training-date", "2026-04-01", code="C9", says=("subcontract",))


def _subcontract(w: CliWorld, approval_id: str = "SC-1", *, by: str = "city-approver") -> Path:
    request = w.request("subcontract", "--name", "株式会社下請", "--reason", "繁忙期対応", "--scope", "データ点検",
                        "--data-handled", "印鑑登録原票の氏名・住所", "--safeguards", "特記事項の遵守", "--supervision", "週次報告",
                        name=approval_id, as_="resp-sato")
    return w.approve("subcontract", request, approval_id, by=by)


def _add_sub(w: CliWorld, approval_id: str = "SC-1") -> None:
    w.ok("person", "add", "--vkey", w.vkey("sub-yamamoto"), "--name", "山本 三郎", "--organisation", "株式会社下請",
         "--tier", "subcontractor", "--subcontract-id", approval_id, "--pledge-date", "2026-04-10",
         "--training-date", "2026-04-11")


def test_approved_subcontractor_may_act(w: CliWorld) -> None:
    w.ok("subcontract", "record", "--approval", str(_subcontract(w)))
    _add_sub(w)
    w.receive("M-1")
    w.checkout("M-1", as_="sub-yamamoto")
    people = json.loads(w.ok("person", "list", "--json", as_=None).stdout)
    assert {p["key_name"]: p["tier"] for p in people}["sub-yamamoto"] == "subcontractor"


def test_subcontract_approval_signed_by_a_vendor_key_is_refused(w: CliWorld) -> None:
    w.refused("subcontract", "record", "--approval", str(_subcontract(w, by="resp-sato")),
              code="C9", says=("not signed by a municipality approver key",))


def test_sub_subcontractor_needs_its_own_approval(w: CliWorld) -> None:
    w.ok("subcontract", "record", "--approval", str(_subcontract(w)))
    w.refused("person", "add", "--vkey", w.vkey("subsub-ito"), "--name", "伊藤", "--organisation", "有限会社孫請",
              "--tier", "sub-subcontractor", "--subcontract-id", "SC-1", "--pledge-date", "2026-04-10",
              "--training-date", "2026-04-11", code="C9")


def test_removed_person_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    w.ok("person", "exit-check", "op-tanaka", "--access-revoked", "--no-data-kept", "--returned", "入館証")
    w.ok("person", "remove", "op-tanaka", "--reason", "異動")
    w.refused("media", "checkout", "--media-id", "M-1", "--purpose", "作業", as_="op-tanaka",
              code="C9", says=("removed",))


def test_person_change(w: CliWorld) -> None:
    w.ok("person", "change", "op-tanaka", "--title", "主任", "--reason", "昇格")
    w.refused("person", "change", "op-nobody", "--title", "主任", code="C9", says=("op-nobody",))
    assert w.run("person", "change", "op-tanaka").code == 2  # nothing to change


def test_key_rotation_retires_the_old_key(w: CliWorld) -> None:
    w.receive("M-1")
    new_key = w.root / "op-tanaka-2.key"
    assert w.custody("key", "new", "op-tanaka", "-o", str(new_key)).code == 0
    w.ok("key", "rotate", "--new-key", str(new_key), "--reason", "定期更新", as_="op-tanaka")
    w.refused("media", "checkout", "--media-id", "M-1", "--purpose", "作業", as_="op-tanaka",
              code="C9", says=("replaced by a newer key",))
    run = w.custody("media", "checkout", "--media-id", "M-1", "--purpose", "作業", "--ledger", str(w.ledger),
                    "--key", str(new_key))
    assert run.code == 0, run.stderr


def test_key_rotation_to_another_name_is_refused(w: CliWorld) -> None:
    w.refused("key", "rotate", "--new-vkey", w.vkey("op-kato"), "--key-name", "op-tanaka", code="C9",
              says=("op-kato",))


def test_revoked_key_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    w.ok("key", "revoke", "--key-name", "op-tanaka", "--vkey", w.vkey("op-tanaka"), "--reason", "紛失")
    w.refused("media", "checkout", "--media-id", "M-1", "--purpose", "作業", as_="op-tanaka",
              code="C9", says=("revoked",))


def test_a_key_cannot_revoke_itself(w: CliWorld) -> None:
    w.refused("key", "revoke", "--key-name", "op-tanaka", "--revoked-key", str(w.key("op-tanaka")),
              "--reason", "紛失", as_="op-tanaka", code="C9", says=("cannot sign its own revocation",))


# --- takeout approvals (C2, C3) ---


def test_takeout_depart_and_return(w: CliWorld) -> None:
    w.receive("M-1")
    w.checkout("M-1")
    approval = w.takeout_approval(["M-1"], "T-1")
    assert approval.read_bytes().startswith(b"custody/approval/v1\n")
    seq = int(json.loads(w.ok(*w.depart_args(approval), "--json", as_="op-tanaka").stdout)["seq"])
    assert w.state_of("M-1") == "taken_out"
    status = json.loads(w.ok("status", "--json", as_=None).stdout)
    assert status["open_takeouts"][0]["seq"] == seq
    w.ok("takeout", "return", "--media-id", "M-1", "--count-out", "1", "--count-in", "1", as_="op-tanaka")
    assert w.state_of("M-1") == "in_storage"


def test_forged_approval_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.takeout_approval(["M-1"], "T-1")
    approval.write_bytes(approval.read_bytes().replace("例市役所 情報政策課".encode(), "自宅".encode()))
    w.refused(*w.depart_args(approval), as_="op-tanaka", code="C2", says=("does not verify",))


def test_garbage_approval_file_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    junk = w.root / "junk.approval"
    junk.write_text("I approve everything\n", encoding="utf-8")
    w.refused(*w.depart_args(junk, "--media-id", "M-1"), as_="op-tanaka", code="C2",
              says=("not a well-formed signed note",))


def test_expired_approval_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.sign_approval("takeout", approval_body(
        "takeout", "T-OLD", ["M-1"], valid_from=now(timedelta(days=-20)), valid_until=now(timedelta(days=-10)),
        approved_at=now(timedelta(days=-21))))
    w.refused(*w.depart_args(approval), as_="op-tanaka", code="C2", says=("T-OLD expired",))


def test_approval_not_yet_valid_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.sign_approval("takeout", approval_body(
        "takeout", "T-SOON", ["M-1"], valid_from=now(timedelta(days=2)), valid_until=now(timedelta(days=9))))
    w.refused(*w.depart_args(approval), as_="op-tanaka", code="C2", says=("valid only from",))


def test_approval_for_other_media_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    w.receive("M-2")
    approval = w.takeout_approval(["M-1"], "T-1")
    w.refused(*w.depart_args(approval, "--media-id", "M-2"), as_="op-tanaka", code="C2",
              says=("does not cover medium M-2",))


def test_reused_approval_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.takeout_approval(["M-1"], "T-1")
    w.ok(*w.depart_args(approval), as_="op-tanaka")
    w.ok("takeout", "return", "--media-id", "M-1", as_="op-tanaka")
    w.refused(*w.depart_args(approval), as_="op-tanaka", code="C2", says=("already used 1 time",))


def test_approval_signed_by_a_vendor_key_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    request = w.request("takeout", "--media-id", "M-1", "--purpose", "p", "--destination", "例市役所 情報政策課",
                        "--transport", "施錠ケースで手持ち", "--carrier", "op-tanaka", "--planned-return",
                        now(timedelta(days=1)), "--encryption-method", "software", "--encryption-algorithm",
                        "AES-256-XTS", "--erasure-plan", "消去")
    approval = w.approve("takeout", request, "T-VENDOR", by="resp-sato")
    w.refused(*w.depart_args(approval), as_="op-tanaka", code="C2",
              says=("not signed by a municipality approver key", "resp-sato", "custody approve"))


def test_approval_of_another_kind_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.copy_approval("M-1", "C-1", "K-1")
    w.refused(*w.depart_args(approval, "--media-id", "M-1"), as_="op-tanaka", code="C2",
              says=("K-1 is a copy approval, not a takeout approval",))


def test_approval_for_another_ledger_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.sign_approval("takeout", approval_body("takeout", "T-X", ["M-1"]),
                               origin="other.example.lg.jp/custody/1/site-1")
    w.refused(*w.depart_args(approval), as_="op-tanaka", code="C2", says=("another ledger",))


def test_transport_and_carriers_must_be_the_approved_ones(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.takeout_approval(["M-1"], "T-1")
    args = w.depart_args(approval)
    by_mail = [a if a != "施錠ケースで手持ち" else "郵送" for a in args]
    w.refused(*by_mail, as_="op-tanaka", code="C2", says=("transport",))
    other_carrier = [a if a != "op-tanaka" else "resp-sato" for a in args]
    w.refused(*other_carrier, as_="op-tanaka", code="C2", says=("not an approved carrier",))


@pytest.mark.parametrize(("method", "algorithm", "says"), [
    ("none", "", "without the required encryption"),
    ("software", "AES-128-CBC", "does not meet the approved minimum AES-256"),
])
def test_takeout_needs_the_required_encryption(w: CliWorld, method: str, algorithm: str, says: str) -> None:
    w.receive("M-1")
    approval = w.takeout_approval(["M-1"], "T-1")
    args = w.depart_args(approval)
    args[args.index("--encryption-method") + 1] = method
    args[args.index("--encryption-algorithm") + 1] = algorithm or "-"
    if not algorithm:
        i = args.index("--encryption-algorithm")
        del args[i:i + 2]
    w.refused(*args, as_="op-tanaka", code="C3", says=(says,))


def test_takeout_erased_at_destination(w: CliWorld) -> None:
    w.receive("M-1")
    seq = w.depart(["M-1"], "T-1")
    w.ok("takeout", "erased", "--takeout", str(seq), "--technique", "cryptographic erase",
         "--verification-method", "read-back", as_="op-tanaka")
    assert w.state_of("M-1") == "erased"


# --- copies (C5) ---


def test_copy_is_a_new_medium_and_its_approval_is_used_once(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.copy_approval("M-1", "C-1", "K-1")
    w.ok(*w.copy_args(approval, "M-1", "C-1"), as_="op-tanaka")
    shown = json.loads(w.ok("media", "show", "C-1", "--json", as_=None).stdout)
    assert shown["origin"] == "copy" and shown["source"] == "M-1" and shown["state"] == "checked_out"
    w.refused(*w.copy_args(approval, "M-1", "C-2"), as_="op-tanaka", code="C5")


def test_incident_help_does_not_promise_it_is_never_refused(custody: Custody) -> None:
    run = custody("incident", "--help")
    assert run.code == 0 and "never refused" not in run.stderr + run.stdout


def test_copy_approval_signed_by_a_vendor_key_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    request = w.request("copy", "--media-id", "M-1", "--target", "C-1", "--purpose", "p", "--disposal-method", "erase")
    approval = w.approve("copy", request, "K-VENDOR", by="op-tanaka")
    w.refused(*w.copy_args(approval, "M-1", "C-1"), as_="op-tanaka", code="C5",
              says=("not signed by a municipality approver key", "a vendor key cannot approve"))
    # Another municipality's approver key is named as a key the contract does not pin for this municipality;
    # the vendor-key advice is kept for vendor keys (issue 16, item 4).
    made = w.custody("key", "new", "other-city-approver", "-o", str(w.key("other-city-approver")))
    assert made.code == 0, made.stderr
    approval = w.approve("copy", request, "K-OTHER", by="other-city-approver")
    run = w.refused(*w.copy_args(approval, "M-1", "C-1"), as_="op-tanaka", code="C5",
                    says=("other-city-approver is not a key the contract pins for this municipality",
                          "approvers it pinned"))
    assert "vendor key" not in run.stderr


def test_copy_to_a_target_the_approval_does_not_name_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.copy_approval("M-1", "C-1", "K-1")
    w.refused(*w.copy_args(approval, "M-1", "C-9"), as_="op-tanaka", code="C5", says=("C-9",))


# --- disposal, My Number (C7) ---


def test_my_number_medium_cannot_be_applied_for_other_than_destruction(w: CliWorld) -> None:
    w.receive("M-1", my_number=True, item="住民基本台帳:1200")
    out = w.root / "d.json"
    w.refused("dispose", "request", "--media-id", "M-1", "--number", "A-1", "--category", "purge",
              "--technique", "crypto erase", "--output", str(out), "--key", str(w.key("resp-sato")), as_=None,
              code="C7", says=("My Number", "destroy"))
    assert not out.exists()


def _dispose_body(media_id: str, approval_id: str, *, category: str = "destroy", technique: str = "shred",
                  witness: bool = True) -> dict[str, object]:
    return approval_body("dispose", approval_id, [media_id], application={
        "number": f"A-{approval_id}", "items": [{"name": "住民基本台帳", "media_id": media_id,
                                                 "serial": f"SN-{media_id}", "quantity": 1}],
        "method": {"category": category, "technique": technique}, "planned_date": "2026-12-01",
        "place": "本社 第2開発室", "witness_required": witness})


def test_my_number_disposal_by_a_non_destroy_method_is_refused(w: CliWorld) -> None:
    w.receive("M-1", my_number=True, item="住民基本台帳:1200")
    approval = w.sign_approval("dispose", _dispose_body("M-1", "D-PURGE", category="purge", technique="degauss"))
    w.ok("dispose", "approved", "--approval", str(approval))
    w.refused(*w.record_args("M-1"), as_="op-tanaka", code="C7", says=("must be destroyed physically",))


def test_my_number_disposal_without_a_witness_is_refused(w: CliWorld) -> None:
    w.receive("M-1", my_number=True, item="住民基本台帳:1200")
    w.ok("dispose", "approved", "--approval", str(w.dispose_approval(["M-1"], "D-1")))
    w.refused(*w.record_args("M-1", witness=False), as_="op-tanaka", code="C7",
              says=("requires a witness", "立会者"))
    w.ok(*w.record_args("M-1"), as_="op-tanaka")
    assert w.state_of("M-1") == "disposed"


def test_my_number_contract_disposal_without_witness_needs_the_reason(w: CliWorld) -> None:
    w.receive("M-1")
    approval = w.sign_approval("dispose", _dispose_body("M-1", "D-NW", witness=False))
    w.ok("dispose", "approved", "--approval", str(approval))
    w.refused(*w.record_args("M-1", witness=False), as_="op-tanaka", code="C7", says=("witness",))
    run = w.ok(*w.record_args("M-1", witness=False, extra=("--no-witness-reason", "市の職員が急病のため")),
               as_="op-tanaka")
    assert "[C7]" in run.stderr  # recorded, with the warning printed


def test_disposal_evidence_is_required(w: CliWorld) -> None:
    w.receive("M-1")
    w.ok("dispose", "approved", "--approval", str(w.dispose_approval(["M-1"], "D-1")))
    w.refused(*w.record_args("M-1", photo=False), as_="op-tanaka", code="C7", says=("photo",))
    w.refused(*w.record_args("M-1", certificate=False), as_="op-tanaka", code="C7", says=("certificate",))
    w.refused(*w.record_args("M-1", extra=("--technique", "hammer")), as_="op-tanaka", code="C7",
              says=("D-1",))
    run = w.ok(*w.record_args("M-1"), "--json", as_="op-tanaka")
    entry = json.loads(run.stdout)
    with Ledger.open(w.ledger, readonly=True) as ledger:
        body = ledger.store.entry(entry["seq"]).body
        assert body["witness"]["name"] == "山田 花子"
        for ref in (*body["photos"], body["certificate"]):
            assert ledger.store.attachment(ref["attachment"]) is not None  # stored with the entry


def test_disposal_without_approval_is_refused(w: CliWorld) -> None:
    w.receive("M-1")
    w.refused(*w.record_args("M-1"), as_="op-tanaka", code="C7", says=("no disposal approval",))


def test_my_number_erasure_needs_approval(w: CliWorld) -> None:
    w.receive("M-1", my_number=True, item="住民基本台帳:1200")
    w.refused(*w.erase_args("M-1"), as_="op-tanaka", code="C7", says=("My Number",))


# --- closing (C1) and incidents (C14) ---


def test_close_is_refused_while_media_are_outstanding(w: CliWorld) -> None:
    w.receive("M-1")
    w.receive("M-2")
    w.checkout("M-2")
    run = w.refused("close", "--no-data-remains", code="C1", says=("M-1", "M-2"))
    assert run.stderr.count("[C1]") >= 2  # one line per medium
    assert w.run("close").code == 2  # the statement must be made explicitly


def test_close_after_everything_is_settled_then_nothing_more(w: CliWorld) -> None:
    w.receive("M-1")
    w.receive("M-2")
    w.ok(*w.return_args("M-1"))
    w.dispose("M-2", "D-1")
    w.ok("person", "statement", "--no-data-kept", "--statement", "データを保持していません", as_="op-tanaka")
    w.ok("close", "--no-data-remains", "--scope", "work_pcs", "--scope", "backups", "--statement", "残存なし")
    w.refused("media", "receive", "--media-id", "M-3", "--kind", "usb", "--serial", "SN-3", "--receipt-number",
              "R-3", "--from-person", "山田", code="C1", says=("closed",))
    w.ok("incident", "--kind", "suspicion", "--situation", "完了後に作業用PCで一時ファイルを発見")
    status = json.loads(w.ok("status", "--json", as_=None).stdout)
    assert status["closed"] is not None and status["counts"]["open"] == 0


def test_incidents_are_recorded_never_refused(w: CliWorld) -> None:
    w.receive("M-1")
    run = w.ok("incident", "--kind", "lost", "--media-id", "M-1", "--situation", "運搬中に紛失", "--json",
               as_="op-tanaka")
    assert "[C14]" in run.stderr and json.loads(run.stdout)["type"] == "incident.reported"
    assert w.state_of("M-1") == "lost"
    w.refused("media", "checkout", "--media-id", "M-1", "--purpose", "作業", as_="op-tanaka", code="C14")
    w.ok("incident", "--kind", "other", "--media-id", "USB-UNKNOWN", "--situation", "未登録のUSBメモリを発見")
    w.ok("incident", "--kind", "found", "--media-id", "M-1", "--situation", "車内で発見")
    assert w.state_of("M-1") == "in_storage"


def test_an_unregistered_person_cannot_sign_an_incident(w: CliWorld) -> None:
    w.refused("incident", "--kind", "leak", "--situation", "x", as_="op-kato", code="C9")


# --- messages, output ---


def test_refusal_in_japanese(template: CliWorld, tmp_path: Path) -> None:
    w = CliWorld.copy_of(template, tmp_path / "w", Custody(tmp_path, lang="ja"))
    run = w.refused("media", "checkout", "--media-id", "M-404", "--purpose", "作業", as_="op-tanaka", code="C15",
                    says=("拒否", "媒体 M-404 は媒体管理台帳に登録されていません", "custody media receive"))
    assert "Medium" not in run.stderr


def test_refusal_in_english(w: CliWorld) -> None:
    w.refused("media", "checkout", "--media-id", "M-404", "--purpose", "work", as_="op-tanaka", code="C15",
              says=("custody: refused: [C15] Medium M-404 is not in the media register",
                    "a media.received or media.registered entry for M-404", "custody media receive"))


def test_register_table_and_json(w: CliWorld) -> None:
    w.receive("M-1")
    w.checkout("M-1")
    table = w.ok("media", "list", as_=None).stdout
    assert "M-1" in table and "checked out of storage" in table
    rows = json.loads(w.ok("media", "list", "--json", as_=None).stdout)
    assert [(r["id"], r["state"]) for r in rows] == [("M-1", "checked_out")]
    assert json.loads(w.ok("media", "list", "--state", "in_storage", "--json", as_=None).stdout) == []
    shown = json.loads(w.ok("media", "show", "M-1", "--json", as_=None).stdout)
    assert [e["type"] for e in shown["entries"]] == ["media.received", "media.checked_out"]
    assert shown["record"]["receipt"]["number"] == "R-M-1"
    status = w.ok("status", as_=None).stdout
    assert "Media register" in status and "outstanding 1" in status


def test_register_table_in_japanese(template: CliWorld, tmp_path: Path) -> None:
    w = CliWorld.copy_of(template, tmp_path / "w", Custody(tmp_path, lang="ja"))
    w.receive("M-1")
    out = w.ok("media", "list", as_=None).stdout
    assert "媒体管理台帳" in out and "保管庫で保管中" in out
    # media show: the history's times in 和暦 with their zone; --json keeps RFC 3339
    shown = w.ok("media", "show", "M-1", as_=None).stdout
    at = json.loads(w.ok("media", "show", "M-1", "--json", as_=None).stdout)["entries"][0]["at"]
    assert re.search(r"令和\d+年\d+月\d+日", shown) and ("(JST)" in shown or "(UTC" in shown), shown
    assert at not in shown and re.fullmatch(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)", at)


def test_receive_from_file_with_explicit_options_winning(w: CliWorld) -> None:
    body = w.root / "receipt.toml"
    body.write_text("""
media_id = "M-FILE"
kind = "hdd"
serial = "FROM-FILE"
[receipt]
number = "R-2026-9"
at = 2026-11-01T10:00:00+09:00
place = "例市役所"
means = "by_hand"
from = { organisation = "例市 市民課", person = "山田 花子" }
to = { organisation = "株式会社サンプル", person = "佐藤 一郎" }
items = [ { name = "印鑑登録原票", media_name = "HDD", quantity = 1, records = 300 } ]
""", encoding="utf-8")
    w.ok("media", "receive", "--from-file", str(body), "--serial", "EXPLICIT", "--item", "印鑑登録原票:300")
    shown = json.loads(w.ok("media", "show", "M-FILE", "--json", as_=None).stdout)
    assert shown["serial"] == "EXPLICIT" and shown["kind"] == "hdd"
    assert shown["record"]["receipt"]["at"] == "2026-11-01T10:00:00+09:00"


def test_invalid_body_is_a_usage_error_naming_the_field(w: CliWorld) -> None:
    before = w.snapshot()
    run = w.run("media", "receive", "--media-id", "M 1", "--kind", "usb", "--serial", "S", "--receipt-number", "R",
                "--from-person", "山田")
    assert run.code == 2 and "media_id" in run.stderr
    assert w.snapshot() == before


# --- real processes ---


def test_real_processes(w: CliWorld) -> None:
    w.receive("M-1")
    common = ["--ledger", str(w.ledger), "--key", str(w.key("op-tanaka"))]
    run = w.custody.process("media", "checkout", "--media-id", "M-1", "--purpose", "作業", "--seal", "S-1", *common)
    assert run.code == 0, run.stderr
    before = w.snapshot()
    run = w.custody.process("media", "checkout", "--media-id", "M-1", "--purpose", "作業", *common)
    assert run.code == 6 and "[C15]" in run.stderr
    assert w.snapshot() == before
    run = w.custody.process("status", "--json", "--ledger", str(w.ledger))
    assert run.code == 0 and json.loads(run.stdout)["media"][0]["state"] == "checked_out"
    run = w.custody.process("media", "checkin", "--media-id", "M-1", *common, env={"CUSTODY_LANG": "ja"})
    assert run.code == 0 and "として記録しました" in run.stdout


def test_help_in_both_languages(w: CliWorld) -> None:
    ja = w.custody.process("media", "checkout", "--help", env={"CUSTODY_LANG": "ja", "COLUMNS": "200"})
    assert ja.code == 0 and "媒体番号" in ja.stdout and "封印番号" in ja.stdout
    en = w.custody.process("media", "checkout", "--help", env={"CUSTODY_LANG": "en", "COLUMNS": "200"})
    assert en.code == 0 and "Seal number" in en.stdout and "保管庫から出庫" not in en.stdout
    assert w.custody.process("approve", "takeout", "--help", env={"CUSTODY_LANG": "ja"}).code == 0


def test_status_shows_the_findings_of_each_entry_as_verify_does(w: CliWorld) -> None:
    """A disposal recorded after its deadline (C8, a fact: written, not refused) and an incident (C14) are
    findings of their entries: status lists them, as the verifier would, though nothing is open at the end."""
    w.receive("M-1")
    body = _dispose_body("M-1", "D-LATE")
    body["evidence_due"] = now(timedelta(days=-1))
    w.ok("dispose", "approved", "--approval", str(w.sign_approval("dispose", body)))
    w.ok(*w.record_args("M-1"), as_="op-tanaka")
    w.ok("incident", "--kind", "suspicion", "--situation", "作業用PCで一時ファイルを発見")
    status = json.loads(w.ok("status", "--json", as_=None).stdout)
    found = {(f["code"], f["severity"]) for f in status["findings"]}
    assert ("C8", "error") in found and ("C14", "warning") in found
    text = w.ok("status", as_=None).stdout
    assert "[C8]" in text and "[C14]" in text
