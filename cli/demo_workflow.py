"""The demo's workflow phase: people, a subcontractor, and one medium's whole life.

``workflow_phase(demo)`` runs after ``Demo.setup`` and ``Demo.core`` on the
demo contract (``custody.cli.demo``): it registers an operator (作業従事者) and a
subcontractor's operator (with the municipality's subcontract approval), then
receives two media with one handover receipt (預り証), checks one out, takes
it off site under an approved, encrypted takeout and brings it back, makes an
approved copy and erases the copy in the presence of the municipality's
witness, who signs it; the municipality inspects on site (vendor and
subcontractor); the vendor disposes of the original under an
approved disposal witnessed and signed by the municipality's witness, with photo
and certificate attachments, returns the other medium against the receiver's
signed receipt and closes the contract with the municipality's signed completion
check (custody attest ...).  Every step is
a real ``custody`` command; a refused one stops the demo.

Along the way: the people added after the work began are reported to the municipality before they act,
the subcontractor handles only the data its approval covers (印鑑登録原票), seals are followed from the
receipt to the return, the disposal starts after its approval, an incident (a suspicion) is reported at once
and followed by its detailed report, a periodic report is made, and before the close every worker signs their
own statement that they keep no data (docs/spec-rules.md C16-C23).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from custody.cli.demo_photo import serial_photo

if TYPE_CHECKING:
    from custody.cli.demo import Demo

APPROVER = ["--approver-name", "鈴木 次郎", "--approver-title", "市民課長", "--approver-organisation", "例市"]
#: The municipality's attesters (cli/demo.py ATTESTERS): name, title, organisation.
WITNESS = ["--name", "山田 花子", "--title", "主査", "--organisation", "例市 市民部 市民課"]
RECEIVER = ["--name", "高橋 三郎", "--title", "主任", "--organisation", "例市 市民部 市民課"]
INSPECTOR = ["--name", "伊藤 恵", "--title", "情報セキュリティ監査担当", "--organisation", "例市 総務部 情報政策課"]
CHECKER = ["--name", "鈴木 次郎", "--title", "市民課長", "--organisation", "例市 市民部 市民課"]


def _at(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC).astimezone() + delta).isoformat(timespec="seconds")


def _next_second() -> str:
    """The next whole second: a time no earlier than anything signed so far (an approval's approved_at)."""
    now = datetime.now(UTC).astimezone()
    return (now.replace(microsecond=0) + timedelta(seconds=1)).isoformat(timespec="seconds")


def workflow_phase(demo: Demo) -> None:
    work = demo.work
    ledger = demo.on_ledger()
    resp = demo.as_("resp-sato")
    approver = demo.as_("city-approver")
    from custody.cli.demo import DEMO_ORIGIN

    def attest(what: str, output: str, *args: str) -> str:
        """The municipality signs its own act; the vendor gets the file."""
        path = work / output
        role = {"witness": "city-witness", "receipt": "city-receiver", "inspection": "city-inspector",
                "completion": "city-checker", "instruction": "city-approver", "incident-ack": "city-approver"}[what]
        demo.custody("attest", what, "--origin", DEMO_ORIGIN, *args, "--output", str(path), *demo.as_(role))
        return str(path)

    # --- people: an operator, and a subcontractor's operator with the municipality's approval ---
    demo.key("op-tanaka")
    demo.key("sub-yamamoto")
    demo.custody("person", "add", "--vkey", demo.vkeys["op-tanaka"], "--name", "田中 二郎",
                 "--title", "作業従事者", "--pledge-date", "2026-03-27", "--training-date", "2026-03-28",
                 "--reported-at", _at(), *resp, *ledger)
    sub_request, sub_approval = work / "subcontract.request.json", work / "subcontract.approval"
    demo.custody("subcontract", "request", "--name", "株式会社データ入力サービス", "--tier", "subcontractor",
                 "--reason", "移行データの点検作業の繁忙期対応",
                 "--scope", "印鑑登録原票の移行データの点検(作業場所内に限る)",
                 "--data-handled", "印鑑登録原票(氏名・住所・印影の表示のみ)",
                 "--safeguards", "特記事項の遵守、誓約書の提出",
                 "--supervision", "作業責任者が毎日作業を確認し、週次で報告", "--output", str(sub_request),
                 "--key", str(demo.keyfile("resp-sato")), "--ledger", str(demo.ledger))
    demo.custody("approve", "subcontract", "--request", str(sub_request), "--id", "例市再委託承諾-2026-01",
                 "--output", str(sub_approval), *APPROVER, *approver)
    demo.custody("subcontract", "record", "--approval", str(sub_approval), *resp, *ledger)
    demo.custody("person", "add", "--vkey", demo.vkeys["sub-yamamoto"], "--name", "山本 三郎",
                 "--organisation", "株式会社データ入力サービス", "--tier", "subcontractor",
                 "--subcontract-id", "例市再委託承諾-2026-01", "--pledge-date", "2026-04-10",
                 "--training-date", "2026-04-11", "--reported-at", _at(), *resp, *ledger)

    # --- receipt (預り証): two media on one receipt ---
    receipt = work / "receipt-R-2026-001.json"
    receipt.write_text(json.dumps({"receipt": {
        "number": "R-2026-001", "place": "例市役所 市民課", "means": "by_hand",
        "from": {"organisation": "例市 市民部 市民課", "person": "山田 花子", "title": "主査"},
        "to": {"organisation": "株式会社サンプル情報システム", "person": "佐藤 一郎"},
        "items": [
            {"name": "住民基本台帳(異動履歴を含む)", "media_name": "USBメモリ", "media_id": "M-001",
             "quantity": 1, "records": 460517},
            {"name": "印鑑登録原票", "media_name": "HDD", "media_id": "M-002", "quantity": 1, "records": 120034},
        ],
        "seals": ["S-0001", "S-0002"], "encrypted": True, "return_due": "2027-03-31T17:00:00+09:00",
    }}, ensure_ascii=False, indent=2), encoding="utf-8")
    demo.custody("media", "receive", "--from-file", str(receipt), "--media-id", "M-001", "--kind", "usb",
                 "--make", "Buffalo", "--model", "RUF3-KV32G", "--serial", "BUF-32G-0012345", "--capacity", "32 GB",
                 "--hardware-encryption", "--item", "住民基本台帳(異動履歴を含む):460517",
                 "--classification", "機密性3", "--cabinet", "施錠保管庫A", *resp, *ledger)
    demo.custody("media", "receive", "--from-file", str(receipt), "--media-id", "M-002", "--kind", "hdd",
                 "--make", "I-O DATA", "--model", "HDPH-UT1", "--serial", "IOD-1T-0098765", "--capacity", "1 TB",
                 "--item", "印鑑登録原票:120034", "--classification", "機密性3", "--cabinet", "施錠保管庫A",
                 *resp, *ledger)

    # --- checkout, by the subcontractor's operator too ---
    tanaka = demo.as_("op-tanaka")
    demo.custody("media", "checkout", "--media-id", "M-002", "--purpose", "印鑑登録原票の移行データ点検",
                 "--workstation", "WS-01", "--seal", "S-0002", *demo.as_("sub-yamamoto"), *ledger)
    demo.custody("media", "checkin", "--media-id", "M-002", "--seal", "S-0102", *demo.as_("sub-yamamoto"), *ledger)

    # --- an incident: the subcontractor's operator finds the storage cabinet unlocked; reported at once,
    # then the detailed report after the check (special terms 第14) ---
    detected = _at()
    demo.custody("incident", "--kind", "suspicion", "--situation", "施錠保管庫Aが無施錠の状態で発見された",
                 "--detected-at", detected, "--notified-at", _at(), "--place", "本社 第2開発室(入退室管理区画)",
                 "--status", "open", "--measures", "直ちに施錠し、保管中の媒体と封印番号を確認中",
                 *resp, *ledger)
    incident_seq = demo.last_seq()
    demo.custody("incident", "--kind", "suspicion", "--detail-of", str(incident_seq), "--detected-at", detected,
                 "--situation", "詳細報告: 最終退室者の施錠漏れ。入退室記録と監視カメラで第三者の入室がないことを確認",
                 "--media-id", "M-001", "--media-id", "M-002", "--records", "0", "--status", "closed",
                 "--measures", "全媒体の封印(S-0001、S-0102)に異常なし。退室時の二人確認を手順に追加",
                 *resp, *ledger)
    # The municipality acknowledges the report and instructs (第14): signed by its approver, recorded by the vendor.
    for what, number, extra in (
        ("incident-ack", "例市事故受理-2026-001", ["--seen", "事故報告(疑い)と詳細報告を受理した"]),
        ("instruction", "例市指示-2026-001",
         ["--seen", "詳細報告を確認し、再発防止を指示した",
          "--instruction", "退室時の施錠を二人で確認し、記録すること",
          "--instruction", "1か月間、施錠記録の写しを週次で提出すること"]),
    ):
        note = attest(what, f"incident.{what}", "--id", number, "--entry", demo.cite(incident_seq), *extra,
                      "--place", "例市役所 市民課", *CHECKER)
        demo.custody("attestation", "record", "--attestation", note, *resp, *ledger)
    demo.custody("media", "checkout", "--media-id", "M-001", "--purpose", "移行データの抽出", "--workstation", "WS-01",
                 "--seal", "S-0001", *tanaka, *ledger)

    # --- an approved, encrypted takeout and its return ---
    t_request, t_approval = work / "takeout.request.json", work / "takeout.approval"
    demo.custody("takeout", "request", "--media-id", "M-001", "--purpose", "例市情報政策課での移行リハーサル",
                 "--destination", "例市役所 情報政策課", "--transport", "施錠ケースに入れて手持ちで運搬",
                 "--carrier", "op-tanaka", "--planned-return", _at(timedelta(days=2)),
                 "--encryption-method", "software", "--encryption-algorithm", "AES-256-XTS",
                 "--password-channel", "別途電話で伝達",
                 "--erasure-plan", "持ち出し先では複写せず、返却後に保管庫へ戻す",
                 "--output", str(t_request), "--key", str(demo.keyfile("op-tanaka")), "--ledger", str(demo.ledger))
    demo.custody("approve", "takeout", "--request", str(t_request), "--id", "例市持出承認-2026-07",
                 "--output", str(t_approval), "--valid-days", "7", "--condition", "施錠ケースで運搬すること",
                 *APPROVER, *approver)
    demo.custody("takeout", "depart", "--approval", str(t_approval), "--transport", "施錠ケースに入れて手持ちで運搬",
                 "--carrier", "op-tanaka", "--encryption-method", "software", "--encryption-algorithm", "AES-256-XTS",
                 "--encryption-verified-by", "resp-sato", "--password-channel", "別途電話で伝達", "--seal", "S-0201",
                 *tanaka, *ledger)
    demo.custody("takeout", "return", "--media-id", "M-001", "--count-out", "1", "--count-in", "1",
                 "--checked-by", "resp-sato", *tanaka, *ledger)

    # --- an approved copy, erased after use ---
    c_request, c_approval = work / "copy.request.json", work / "copy.approval"
    demo.custody("copy", "request", "--media-id", "M-001", "--target", "C-001", "--purpose", "移行ツールの検証用",
                 "--disposal-method", "erase", "--disposal-by", _at(timedelta(days=14)),
                 "--output", str(c_request), "--key", str(demo.keyfile("op-tanaka")), "--ledger", str(demo.ledger))
    demo.custody("approve", "copy", "--request", str(c_request), "--id", "例市複製承認-2026-03",
                 "--output", str(c_approval), "--valid-days", "14", *APPROVER, *approver)
    demo.custody("copy", "make", "--approval", str(c_approval), "--source", "M-001", "--media-id", "C-001",
                 "--kind", "usb", "--make", "Buffalo", "--model", "RUF3-KV32G", "--serial", "BUF-32G-0077777",
                 "--cabinet", "施錠保管庫A", *tanaka, *ledger)
    # C-001 holds My Number data: its erasure is witnessed and signed by the municipality (第11-3/5)
    erased_witness = attest("witness", "C-001.erasure-witness", "--act", "erasure", "--id", "例市立会-2026-011",
                            "--media-id", "C-001", "--approval-id", "例市複製承認-2026-03",
                            "--seen", "複製媒体 C-001(製造番号 BUF-32G-0077777)の暗号消去と"
                            "全セクタの読み出し確認に立ち会った",
                            "--place", "本社 第2開発室(入退室管理区画)", *WITNESS)
    demo.custody("media", "erase", "--media-id", "C-001", "--category", "purge", "--technique", "cryptographic erase",
                 "--tool", "blkdiscard", "--tool-version", "2.39", "--verification-method", "全セクタの読み出し確認",
                 "--verifier", "resp-sato", "--responsible", "resp-sato", "--witness-attestation", erased_witness,
                 *tanaka, *ledger)

    # --- the municipality's on-site inspection of the vendor and its subcontractor (3(7), 第13) ---
    inspection = attest(
        "inspection", "inspection-2026-1.attestation", "--id", "例市検査-2026-01", "--method", "on_site",
        "--check", "株式会社サンプル情報システム:register:0:媒体管理台帳と保管庫の現物を照合",
        "--check", "株式会社サンプル情報システム:work_location:0:入退室記録を確認",
        "--check", "株式会社データ入力サービス:subcontracting:0:誓約書と作業範囲を確認",
        "--finding", "指摘事項なし", "--result", "適正",
        "--seen", "作業場所・施錠保管庫・媒体管理台帳・再委託先の作業状況を実地で確認した",
        "--place", "本社 第2開発室(入退室管理区画)", *INSPECTOR)
    demo.custody("inspection", "record", "--attestation", inspection, *resp, *ledger)

    # --- an approved, witnessed disposal with photo and certificate ---
    d_request, d_approval = work / "dispose.request.json", work / "dispose.approval"
    demo.custody("dispose", "request", "--media-id", "M-001", "--number", "廃棄申請-2026-001",
                 "--category", "destroy", "--technique", "物理破砕(シュレッダー)", "--tool", "破砕機 HDD-X1",
                 "--operator", "op-tanaka", "--witness-required", "--purpose", "移行作業の完了に伴う廃棄",
                 "--output", str(d_request), "--key", str(demo.keyfile("resp-sato")), "--ledger", str(demo.ledger))
    demo.custody("approve", "dispose", "--request", str(d_request), "--id", "例市廃棄承認-2026-05",
                 "--output", str(d_approval), "--valid-days", "14", "--evidence-due", _at(timedelta(days=21)),
                 *APPROVER, *approver)
    demo.custody("dispose", "approved", "--approval", str(d_approval), *resp, *ledger)
    started = _next_second()  # the disposal begins once it is approved (C17: judged by the act's own start)
    photo, certificate = work / "M-001-serial.jpg", work / "M-001-certificate.pdf"
    photo.write_bytes(serial_photo("BUF-32G-0012345", "Buffalo", "RUF3-KV32G"))
    certificate.write_bytes(b"%PDF-1.4\n% demo destruction certificate for BUF-32G-0012345\n%%EOF\n")
    disposal_witness = attest(
        "witness", "M-001.disposal-witness", "--act", "disposal", "--id", "例市立会-2026-012", "--media-id", "M-001",
        "--approval-id", "例市廃棄承認-2026-05",
        "--seen", "媒体 M-001(製造番号 BUF-32G-0012345)が破砕機 HDD-X1 で物理破砕されたことを確認した",
        "--place", "本社 第2開発室(入退室管理区画)", *WITNESS)
    demo.custody("dispose", "record", "--media-id", "M-001", "--certificate-number", "破砕証明-2026-0042",
                 "--start", started, "--end", _next_second(), "--operator", "op-tanaka",
                 "--witness-attestation", disposal_witness,
                 "--verification-method", "破片の目視確認", "--verifier", "resp-sato",
                 "--validated-by", "山田 花子", "--remains-destination", "産業廃棄物処理業者(マニフェスト番号 A-123)",
                 "--photo", str(photo), "--certificate", str(certificate), "--no-backup", *tanaka, *ledger)

    # --- the rest goes back to the municipality; then the completion statement ---
    receipt_note = attest("receipt", "M-002.receipt", "--id", "例市受領-2026-001", "--media-id", "M-002",
                          "--request", "RET-2026-001",
                          "--seen", "媒体 M-002(製造番号 IOD-1T-0098765)を封印 S-0102 のまま受領した",
                          "--place", "例市役所 市民課", *RECEIVER)
    demo.custody("media", "return", "--media-id", "M-002", "--receipt-number", "RET-2026-001",
                 "--receipt", receipt_note, "--seal", "S-0102", *resp, *ledger)
    today = datetime.now(UTC).astimezone().date().isoformat()
    demo.custody("periodic", "record", "--from", "2026-04-01", "--to", today, "--to-person", "山田 花子",
                 "--summary", ("受領媒体2件(M-001 廃棄済み、M-002 返還済み)、複製1件(消去済み)。"
                               "事故1件(疑い、詳細報告済み)。"),
                 *resp, *ledger)
    # --- before the close: every worker's own statement, signed with their own key (緊急点検 2(3)) ---
    for person in ("op-tanaka", "sub-yamamoto"):
        demo.custody("person", "statement", "--no-data-kept", "--scope", "work_pcs", "--scope", "personal_devices",
                     "--statement", "委託者のデータを業務用PC・私物の機器を含め一切保持していません。",
                     *demo.as_(person), *ledger)
    demo.custody("status", "--ledger", str(demo.ledger))
    completion = attest("completion", "completion.attestation", "--id", "例市履行確認-2026-017",
                        "--seen", "返還・廃棄完了報告と媒体管理台帳を照合し、"
                        "作業用PC・バックアップにデータが残存しないことを確認した",
                        "--place", "例市役所 市民課", *CHECKER)
    demo.custody("close", "--no-data-remains", "--scope", "work_pcs", "--scope", "backups", "--scope", "mail",
                 "--statement", "作業用PC・バックアップ・メールを含め、委託者のデータは残存していません。",
                 "--completion", completion, *resp, *ledger)


__all__ = ["workflow_phase"]
