"""The schema checks' messages (approvals, attestations, signed statements, event types), read from the .po
catalogue: the same words in both languages as when they were literal pairs in the code."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custody.ledger import events, i18n
from custody.ledger.approval import _cross_checks as approval_checks
from custody.ledger.approval import make_request
from custody.ledger.attestation import _cross_checks as attestation_checks
from custody.ledger.errors import SchemaError
from custody.ledger.signed_statement import statement_text


def _wrong_role() -> None:
    attestation_checks({"kind": "disposal_witness", "attester": {"role": "receiver"}})


def _ends_before_it_starts() -> None:
    approval_checks({"valid_from": "2026-01-02T00:00:00+09:00", "valid_until": "2026-01-01T00:00:00+09:00",
                     "approved_at": "2026-01-01T00:00:00+09:00", "kind": "copy"})


CASES: list[tuple[str, Callable[[], object], str, str]] = [
    ("attestation role", _wrong_role, "'attester.role' must be witness for a disposal_witness",
     "'attester.role' は disposal_witness では witness でなければなりません"),
    ("approval period", _ends_before_it_starts, "Not a valid approval: valid_until: must be after valid_from",
     "承認書の内容が不正です: valid_until: valid_from より後でなければなりません"),
    ("approval kind", lambda: make_request("borrow", {}), "Unknown approval kind 'borrow'",
     "承認の種別 'borrow' はありません"),
    ("event type", lambda: events.body_schema_name("media.borrowed"), "Unknown event type 'media.borrowed'.",
     "イベント種別 'media.borrowed' はありません。"),
    ("origin", lambda: statement_text("ctx", "a b", {}), "the origin must be non-empty without spaces",
     "origin は空白を含まない文字列です"),
]


@pytest.mark.parametrize(("name", "call", "en", "ja"), CASES, ids=[c[0] for c in CASES])
def test_schema_message_in_both_languages(name: str, call: Callable[[], object], en: str, ja: str) -> None:
    for lang, expected in (("en", en), ("ja", ja)):
        with i18n.using(lang), pytest.raises(SchemaError) as caught:
            call()
        assert str(caught.value.message) == expected, (name, lang)
