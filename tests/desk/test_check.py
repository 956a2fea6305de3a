"""The issue's check: an approval made in the desk and one made with ``custody approve`` from the same
application and the same choices are accepted alike by the vendor's ``custody takeout depart``, and record the
same entry but for the approval's time and signature.  Also: what the desk refuses before it signs."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from custody.ledger.approval import open_approval
from custody.ledger.ledger import Ledger
from tests.cli.workflow_world import APPROVER, ORIGIN, CliWorld
from tests.desk.conftest import Client, DeskWorld, RunningDesk, start_desk


def _local(moment: datetime) -> tuple[str, str]:
    """(what a datetime-local field holds, the RFC 3339 text the desk makes of it)."""
    local = moment.astimezone().replace(microsecond=0, second=0)
    return local.strftime("%Y-%m-%dT%H:%M"), local.isoformat(timespec="seconds")


def _digest(reply_text: str) -> str:
    match = re.search(r"/approvals/([0-9a-f]{64})/approve", reply_text)
    assert match, reply_text[-2000:]
    return match.group(1)


def _form(valid_from: str, valid_until: str, **extra: str) -> dict[str, str]:
    return {"approval_id": "例市持出承認-2026-07", "valid_from": valid_from, "valid_until": valid_until,
            "max_uses": "1", "conditions": "施錠ケースで運搬すること", "encryption_min": "AES-256",
            "approver_name": "鈴木 次郎", "approver_title": "市民課長", "approver_organisation": "例市",
            "key": "0", "passphrase": "operator pass", **extra}


def _departed(w: CliWorld, approval: Path) -> dict[str, Any]:
    run = w.ok(*w.depart_args(approval), "--json", as_="op-tanaka")
    seq = int(json.loads(run.stdout)["seq"])
    with Ledger.open(w.ledger, readonly=True) as ledger:
        entry = ledger.store.entry(seq)
        return {"type": entry.type, "actor": entry.actor, "body": entry.body}


def test_desk_and_cli_approvals_are_accepted_alike_by_takeout_depart(world: DeskWorld, desk: RunningDesk,
                                                                      tmp_path: Path) -> None:
    client = Client(desk.url)
    request = world.takeout_request()
    page = client.post("/approvals/upload", files={"file": ("takeout.request.json", request.read_bytes())})
    assert page.status == 200
    digest = _digest(page.text)
    start_field, start = _local(datetime.now(UTC) - timedelta(minutes=5))
    until_field, until = _local(datetime.now(UTC) + timedelta(days=7))

    # Refused before signing: a wrong passphrase, then no approval number.  Nothing is decided.
    wrong = client.post(f"/approvals/{digest}/approve", _form(start_field, until_field, passphrase="not it"))
    assert wrong.status == 400 and "何も変更されていません" in wrong.text
    unnamed = client.post(f"/approvals/{digest}/approve", _form(start_field, until_field, approval_id=""))
    assert unnamed.status == 400 and "承認番号" in unnamed.text
    assert client.get(f"/approvals/{digest}/approval").status == 404

    done = client.post(f"/approvals/{digest}/approve", _form(start_field, until_field))
    assert done.status == 200, done.text[-2000:]
    assert "承認書をダウンロード" in done.text
    desk_note = client.get(f"/approvals/{digest}/approval")
    assert desk_note.status == 200
    assert "attachment" in desk_note.headers["content-disposition"]
    again = client.post(f"/approvals/{digest}/approve", _form(start_field, until_field))
    assert again.status == 400 and "既に判断済み" in again.text

    cli_note = tmp_path / "cli.approval"
    run = world.w.custody("approve", "takeout", "--request", str(request), "--id", "例市持出承認-2026-07",
                          "--output", str(cli_note), "--valid-from", start, "--valid-until", until,
                          "--condition", "施錠ケースで運搬すること", *APPROVER, "--key", str(world.w.key("city-approver")))
    assert run.code == 0, run.stderr

    approvers = [world.w.vkey("city-approver")]
    made_in_desk = open_approval(desk_note.body, origin=ORIGIN, approver_vkeys=approvers, kind="takeout")
    made_by_cli = open_approval(cli_note.read_bytes(), origin=ORIGIN, approver_vkeys=approvers, kind="takeout")
    desk_body, cli_body = made_in_desk.body.to_json(), made_by_cli.body.to_json()
    assert desk_body.pop("approved_at") and cli_body.pop("approved_at")
    assert desk_body == cli_body  # the same approval but for its time (and so its signature)
    assert made_in_desk.signed_by == made_by_cli.signed_by == ("city-approver",)

    # The vendor records each on its own copy of the ledger: both accepted, the same entry but the approval.
    desk_approval = tmp_path / "desk.approval"
    desk_approval.write_bytes(desk_note.body)
    other = CliWorld(tmp_path / "copy", world.w.custody)
    shutil.copytree(world.w.root, other.root)
    with_desk = _departed(world.w, desk_approval)
    with_cli = _departed(other, cli_note)
    desk_entry_note = with_desk["body"].pop("approval")
    cli_entry_note = with_cli["body"].pop("approval")
    assert desk_entry_note == desk_note.body.decode() and cli_entry_note == cli_note.read_text()
    assert with_desk == with_cli
    assert world.w.state_of("M-001") == other.state_of("M-001") == "taken_out"


def test_the_desk_refuses_to_sign_with_a_key_the_contract_does_not_name(world: DeskWorld) -> None:
    running = start_desk(world, keys=(world.w.key("op-kato"),))  # a vendor's key, not an approver key
    try:
        client = Client(running.url)
        page = client.post("/approvals/upload", files={"file": ("t.json", world.takeout_request().read_bytes())})
        digest = _digest(page.text)
        start_field, _s = _local(datetime.now(UTC))
        until_field, _u = _local(datetime.now(UTC) + timedelta(days=7))
        reply = client.post(f"/approvals/{digest}/approve", _form(start_field, until_field))
        assert reply.status == 409
        assert "[C2]" in reply.text and "承認者鍵ではありません" in reply.text
        assert not list((world.workspace / "decisions").iterdir())
    finally:
        running.stop()


def test_a_rejection_needs_a_reason_and_is_final(world: DeskWorld, desk: RunningDesk) -> None:
    client = Client(desk.url)
    page = client.post("/approvals/upload", files={"file": ("t.json", world.takeout_request().read_bytes())})
    digest = _digest(page.text)
    fields = {"approver_name": "鈴木 次郎", "approver_title": "市民課長", "approver_organisation": "例市"}
    assert client.post(f"/approvals/{digest}/reject", {**fields, "reason": ""}).status == 400
    done = client.post(f"/approvals/{digest}/reject", {**fields, "reason": "運搬経路の記載が不十分です"})
    assert done.status == 200 and "不承認" in done.text
    notice = client.get(f"/approvals/{digest}/rejection")
    assert "運搬経路の記載が不十分です" in notice.text and "不承認通知" in notice.text
    assert client.get(f"/approvals/{digest}/approval").status == 404
    assert "既に判断済み" in client.post(f"/approvals/{digest}/reject", {**fields, "reason": "again"}).text
