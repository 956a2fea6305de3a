"""check_envelope's cache of calendar days: a day seen valid never lets an impossible date through."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger import entry as entry_mod
from custody.ledger.entry import ZERO_HASH, b64, check_envelope, sign_entry
from custody.ledger.errors import SchemaError
from custody.ledger.note import Signer

SIGNER = Signer("op-tanaka", Ed25519PrivateKey.generate())


def _obj(at: str) -> dict[str, object]:
    return {
        "custody": 1, "origin": "city.example.lg.jp/custody/x", "seq": 3, "prev": b64(ZERO_HASH),
        "type": "note.recorded", "at": at, "actor": "op-tanaka", "body": {}, "sig": b64(bytes(68)),
    }


@pytest.mark.parametrize(
    "bad",
    [
        "2026-02-29T10:00:00.000+09:00",  # 2026 is not a leap year
        "2026-02-30T10:00:00.000+09:00",
        "2026-04-31T10:00:00.000+09:00",
        "2026-02-28T10:00:00.000",  # a seen day, but no offset
        "2026-02-28 10:00:00.000+09:00",
        "2026-02-28T24:00:00.000+09:00",
    ],
)
def test_seen_days_do_not_admit_bad_dates(bad: str) -> None:
    for good in ("2026-02-28T09:00:00.000+09:00", "2026-03-01T09:00:00Z", "2028-02-29T09:00:00.5-05:00"):
        check_envelope(_obj(good))
        assert good[:10] in entry_mod._CHECKED_DAYS
    with pytest.raises(SchemaError) as info:
        check_envelope(_obj(bad))
    assert info.value.field == "at"
    assert bad[:10] not in entry_mod._CHECKED_DAYS or bad[:10] == "2026-02-28"


def test_sign_entry_refuses_an_impossible_date_after_a_valid_one() -> None:
    fields: dict[str, object] = {
        "origin": "city.example.lg.jp/custody/x", "seq": 0, "prev": ZERO_HASH, "type": "note.recorded",
        "body": {}, "signer": SIGNER,
    }
    sign_entry(at="2026-02-28T23:59:59.999+09:00", **fields)  # type: ignore[arg-type]
    with pytest.raises(SchemaError):
        sign_entry(at="2026-02-29T00:00:00.000+09:00", **fields)  # type: ignore[arg-type]


def test_the_day_cache_is_bounded() -> None:
    for day in range(1, 29):
        for month in range(1, 13):
            for year in range(2026, 2030):
                check_envelope(_obj(f"{year}-{month:02}-{day:02}T00:00:00Z"))
    assert len(entry_mod._CHECKED_DAYS) <= entry_mod._MAX_CHECKED_NAMES
