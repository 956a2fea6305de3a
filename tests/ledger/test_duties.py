"""The duties of the special terms in the lifecycle model (C13's severity, C16-C19, C21-C23): table-driven,
on the test world of tests/world.py (one minute per entry), without the CLI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from custody.ledger.lifecycle import finish
from custody.ledger.lifecycle.scope import covers
from custody.ledger.note import Signer
from tests.world import (
    OTHER_APPROVER,
    RESPONSIBLE,
    World,
    approve,
    codes,
    departed_body,
    genesis_body,
    iso,
    medium_fields,
    statement_body,
)


@pytest.mark.parametrize(("words", "item", "my_number", "covered"), [
    ("印鑑登録原票(氏名・住所・印影の表示のみ)", "印鑑登録原票", False, True),
    ("住民基本台帳の氏名・住所の表示のみ", "印鑑登録原票", False, False),
    ("住民基本台帳の氏名・住所の表示のみ", "住民基本台帳(異動履歴を含む)", False, True),
    ("住民基本台帳の氏名・住所の表示のみ", "住民基本台帳", True, False),
    ("住民基本台帳(個人番号を含む)", "住民基本台帳", True, True),
    ("ｲﾝｶﾝ 登録原票", "インカン登録原票", False, True),
])
def test_subcontract_data_covers(words: str, item: str, my_number: bool, covered: bool) -> None:
    assert covers(words, item, my_number=my_number) is covered


def _gap(w: World, *, checked_out: bool) -> list[str]:
    w.receive()
    if checked_out:
        w.checkout()
    w.agent_start()
    found = w.do("observation.gap", {"gap_seconds": 600, "last_heartbeat": iso(w.now), "observed_at": iso(w.now)},
                 actor="agent-ws01")
    return [v.severity for v in found if v.code == "C13"]


def test_an_observation_gap_is_an_error_only_while_a_medium_is_out() -> None:
    assert _gap(World(), checked_out=True) == ["error"]
    assert _gap(World(), checked_out=False) == ["warning"]


def test_seals_are_followed_to_the_return() -> None:
    w = World()
    w.receive()
    w.ok("media.checked_out", {"media_id": "M-001", "person": "op-tanaka", "purpose": "x", "seals": ["S-0001"]},
         actor="op-tanaka")
    w.ok("media.checked_in", {"media_id": "M-001", "person": "op-tanaka", "seals": ["S-0102"]}, actor="op-tanaka")
    body: dict[str, Any] = {"media_id": "M-001", "receipt": {
        "number": "RET-1", "at": iso(w.now), "place": "例市", "means": "by_hand",
        "from": {"organisation": "株式会社サンプル", "person": "佐藤"}, "to": {"organisation": "例市", "person": "山田"},
        "items": [{"name": "住民基本台帳", "media_name": "USB", "media_id": "M-001", "quantity": 1}],
        "seals": ["S-0002"]}}
    found = w.try_("media.returned", body)
    # (The test contract pins no receiver: the missing signed receipt is a C24 warning, not this test's concern.)
    assert [(v.code, v.blocks, v.media_id) for v in found if v.code != "C24"] == [("C18", False, "M-001")]
    body["receipt"]["seals"] = ["S-0102"]
    assert [v for v in w.try_("media.returned", body) if v.code != "C24"] == []


@pytest.mark.parametrize(("place", "found"), [
    ("本社 第2開発室", []), ("第2開発室", []), ("本社 第2開発室 施錠保管庫A", []), ("site-1", []),
    ("担当者の自宅", ["C19"]),
])
def test_storage_place_within_the_work_locations(place: str, found: list[str]) -> None:
    w = World()
    from tests.world import received_body

    body = received_body()
    body["storage"] = {"place": place}
    assert codes(w.try_("media.received", body)) == found


def test_incident_deadlines_and_the_detailed_report() -> None:
    w = World()
    late = w.do("incident.reported", {"kind": "suspicion", "situation": "x",
                                      "detected_at": iso(w.now - timedelta(hours=30)), "notified_at": iso(w.now)})
    assert "C21" in codes(late)
    seq = w.seq - 1
    assert "C21" in codes(finish(w.state, now_or_close=iso(w.now + timedelta(days=15))))
    w.ok("incident.reported", {"kind": "suspicion", "situation": "詳細", "detected_at": iso(w.now), "detail_of": seq})
    assert "C21" not in codes(finish(w.state, now_or_close=iso(w.now + timedelta(days=15))))


def test_an_anomaly_awaits_an_incident() -> None:
    w = World()
    w.receive()
    w.agent_start()
    w.do("volume.attached", {"volume_id": "v", "serial": "UNKNOWN-1", "observed_at": iso(w.now)}, actor="agent-ws01")
    later = iso(w.now + timedelta(hours=25))
    assert "C21" in codes(finish(w.state, now_or_close=later))
    w.ok("incident.reported", {"kind": "suspicion", "situation": "未登録のUSBメモリの接続", "detected_at": iso(w.now),
                               "notified_at": iso(w.now)})
    w.ok("incident.reported", {"kind": "suspicion", "situation": "詳細", "detected_at": iso(w.now),
                               "detail_of": w.seq - 1})
    assert "C21" not in codes(finish(w.state, now_or_close=later))


def test_periodic_reports_at_the_contracts_cadence() -> None:
    w = World()
    assert w.state.genesis is not None
    w.state.genesis["reporting"] = {"periodic_days": 31}
    assert "C22" in codes(finish(w.state, now_or_close=iso(w.now + timedelta(days=40))))
    w.ok("report.periodic", {"period": {"from": "2026-04-01", "to": "2026-04-30"}, "summary": "状況報告",
                             "submitted_to": {"organisation": "例市", "person": "山田"}}, at=w.now + timedelta(days=30))
    assert "C22" not in codes(finish(w.state, now_or_close=iso(w.now + timedelta(days=20))))
    assert "C22" in codes(finish(w.state, now_or_close=iso(w.now + timedelta(days=40))))
    backwards = {"period": {"from": "2026-05-01", "to": "2026-04-01"}, "summary": "x",
                 "submitted_to": {"organisation": "例市", "person": "山田"}}
    assert codes(w.try_("report.periodic", backwards)) == ["C17"]


def test_cosigned_checkpoints_at_the_contracts_cadence() -> None:
    """C22 on the times the municipality's witness cosigned (given by the verifier; the CLI gives none)."""
    w = World()
    assert w.state.genesis is not None
    w.state.genesis["reporting"] = {"periodic_days": 7}
    w.ok("report.periodic", {"period": {"from": "2026-04-01", "to": "2026-04-06"}, "summary": "状況報告",
                             "submitted_to": {"organisation": "例市", "person": "山田"}}, at=w.now + timedelta(days=5))
    day = 86_400_000
    start = int(w.now.timestamp() * 1000) - 5 * day
    now = iso(w.now + timedelta(days=1))  # six days after the start

    def c22(cosigned: list[int] | None, when: str = now) -> list[str]:
        return [v.message_en for v in finish(w.state, now_or_close=when, cosigned=cosigned) if v.code == "C22"]

    assert c22(None) == [] and c22([start + day]) == []
    later = iso(w.now + timedelta(days=6))  # eleven days after the start, a report on day 5
    assert c22(None, later) == []
    found = c22([start + day], later)
    assert len(found) == 1 and "No checkpoint cosigned by the municipality's witness" in found[0]
    assert c22([start + day, start + 6 * day], later) == []
    # cosignatures before the contract's start or after the judgement moment close no gap
    assert len(c22([start - day, start + 20 * day], later)) == 1


def test_people_changes_exit_checks_and_statements() -> None:
    w = World()
    w.receive()
    from tests.world import person_body

    late = person_body("op-kato")
    late.pop("reported_at")
    w.ok("personnel.registered", late)
    checkout = {"media_id": "M-001", "person": "op-kato", "purpose": "x"}
    assert codes(w.try_("media.checked_out", checkout, actor="op-kato")) == ["C23"]
    w.ok("personnel.changed", {"key_name": "op-kato", "changes": {}, "reported_at": iso(w.now)})
    assert w.try_("media.checked_out", checkout, actor="op-kato") == []
    assert codes(w.try_("personnel.removed", {"key_name": "op-kato"})) == ["C23"]
    assert codes(w.try_("personnel.statement", statement_body("op-tanaka"), actor="op-kato")) == ["C23"]


def test_a_genesis_after_the_period_is_found() -> None:
    w = World()
    from custody.ledger.lifecycle import Event, apply, new_state

    found = apply(new_state("o"), Event(0, "contract.opened", "2027-04-01T09:00:00+09:00", "resp-sato",
                                        genesis_body()))
    assert codes(found) == ["C23"]
    assert w.state.genesis is not None


def test_one_finding_per_cause_and_a_removed_person_is_told_so() -> None:
    w = World()
    w.receive()
    checkout = {"media_id": "M-001", "person": "op-nobody", "purpose": "x"}
    assert [v.code for v in w.try_("media.checked_out", checkout, actor="op-nobody")] == ["C9"]  # one, not two
    w.ok("personnel.exit_checked", {"key_name": "op-tanaka", "checked_at": iso(w.now), "access_revoked": True,
                                    "no_data_kept": True})
    w.ok("personnel.removed", {"key_name": "op-tanaka"})
    found = w.try_("media.checked_out", {"media_id": "M-001", "person": "op-tanaka", "purpose": "x"})
    assert [v.code for v in found] == ["C9"] and "removed" in found[0].message_en
    assert "not registered" not in found[0].message_en


@pytest.mark.parametrize("by", [RESPONSIBLE, OTHER_APPROVER], ids=["vendor key", "another municipality"])
def test_findings_about_who_signed_an_approval_name_the_medium(by: Signer) -> None:
    """C2 and C5 about the approval's signer name the medium acted on (issue 16, item 4)."""
    w = World()
    w.receive()
    takeout = departed_body(approve("takeout", "T-1", ["M-001"], by=by), ["M-001"])
    copy = {"approval": approve("copy", "K-1", ["M-001"], by=by), "source_media_id": "M-001",
            **medium_fields("C-001", "CSN-001")}
    for type_, body, code in (("takeout.departed", takeout, "C2"), ("copy.made", copy, "C5")):
        found = [v for v in w.try_(type_, body, actor="op-tanaka") if v.code == code]
        assert [v.media_id for v in found] == ["M-001"], [(v.code, v.message_en) for v in found]
        vendor = "a vendor key cannot approve" in found[0].todo_en
        assert vendor == (by is RESPONSIBLE), found[0].todo_en

