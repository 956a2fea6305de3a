"""custody witness pin: the contract shown before pinning, in both languages (cli/municipality.py _describe),
its labels read from the .po catalogue (witness.po; msgctxt "a contract about to be pinned" where the command
line's other messages word the same English another way)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.cli.municipality import _describe
from custody.ledger import i18n
from custody.verify.authority import Authority, Pin

PIN = Pin(
    origin="city.example.lg.jp/custody/2026-017/site-1", log_vkey="log-key", genesis_leaf_hash=bytes(32),
    approver_vkeys=("approver-key",), witness_vkeys=("witness-key", "other-witness"),
    contract={
        "contract_id": "2026-017", "title": "Tax data entry", "my_number": True,
        "municipality": {"name": "Example City", "department": "Tax"}, "vendor": {"name": "Vendor Ltd"},
        "period": {"start": "2026-04-01", "end": "2027-03-31"},
        "responsible": {"name": "Sato", "organisation": "Vendor Ltd", "vkey": "resp-key"},
        "attester_vkeys": {"completion": ["completion-key"], "witness": ["attester-key"], "auditor": ["x-key"]},
    },
)

EN = [
    ("Origin", PIN.origin), ("Contract", "2026-017"), ("Title", "Tax data entry"),
    ("Municipality", "Example City Tax"), ("Vendor", "Vendor Ltd"), ("Period", "2026-04-01 – 2027-03-31"),
    ("Responsible person", "Sato / Vendor Ltd"), ("Responsible person's key", "resp-key"),
    ("My Number data", "involved"), ("Approver key", "approver-key"), ("Attester key (auditor)", "x-key"),
    ("Attester key (completion checker)", "completion-key"), ("Attester key (witness)", "attester-key"),
    ("Witness key", "witness-key (this trust store)"), ("Witness key", "other-witness"), ("Log key", "log-key"),
    ("Genesis entry hash", "00" * 32),
]
JA = [
    ("台帳 ID（origin）", PIN.origin), ("契約番号", "2026-017"), ("件名", "Tax data entry"),
    ("委託者（自治体）", "Example City Tax"), ("受託者", "Vendor Ltd"), ("契約期間", "2026-04-01 – 2027-03-31"),
    ("作業責任者", "Sato / Vendor Ltd"), ("作業責任者の鍵", "resp-key"), ("特定個人情報（マイナンバー）", "あり"),
    ("承認者鍵", "approver-key"), ("証明者鍵(auditor)", "x-key"), ("証明者鍵(履行確認者)", "completion-key"),
    ("証明者鍵(立会者)", "attester-key"), ("副署者鍵", "witness-key（この信頼ストアの鍵）"),
    ("副署者鍵", "other-witness"), ("ログ検証鍵", "log-key"), ("起点記録のハッシュ", "00" * 32),
]


@pytest.mark.parametrize(("lang", "rows"), [("en", EN), ("ja", JA)])
def test_the_contract_to_pin_in_each_language(lang: str, rows: list[tuple[str, str]], tmp_path: Path) -> None:
    with i18n.using(lang):
        assert _describe(PIN, Authority(tmp_path, "witness-key")) == rows
