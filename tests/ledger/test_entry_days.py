"""The caches of times seen valid (check_envelope's calendar days; sign_entry's hours and minutes and
offsets): a part seen valid never lets an impossible time through."""

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


SIGN_FIELDS: dict[str, object] = {
    "origin": "city.example.lg.jp/custody/x", "seq": 0, "prev": ZERO_HASH, "type": "note.recorded",
    "body": {}, "signer": SIGNER,
}
SEEN = "2026-02-28T09:15:42.123+09:00"  # its day, hour and minute, and offset are the cached parts


@pytest.mark.parametrize(
    "bad",
    [
        "2026-02-28T09:15:60.000+09:00",  # seconds 60
        "2026-02-28T09:15:99.000+09:00",
        "2026-02-28T09:15:4a.000+09:00",
        "2026-02-28T09:15:4\u0663.000+09:00",  # an Arabic-Indic digit: a digit, not an ASCII one
        "2026-02-28T09:15:42.12x+09:00",
        "2026-02-28T09:15:42,123+09:00",
        "2026-02-28T09:15:42.123+24:00",  # same shape, offset never seen (and invalid)
        "2026-02-28T09:60:42.123+09:00",  # same shape, minute never seen (and invalid)
        "2026-02-28T24:15:42.123+09:00",
        "2026-02-29T09:15:42.123+09:00",  # the seen hour, minute and offset on an impossible day
        "2026-02-28T09:15:42.123+09:0x",
        "2026-02-28T09:15:42.123 09:00",
    ],
)
def test_seen_times_do_not_admit_bad_times(bad: str) -> None:
    sign_entry(at=SEEN, **SIGN_FIELDS)  # type: ignore[arg-type]
    sign_entry(at=SEEN, **SIGN_FIELDS)  # type: ignore[arg-type]  # again, from the caches
    assert SEEN[10:17] in entry_mod._CHECKED_MINUTES and SEEN[23:] in entry_mod._CHECKED_OFFSETS
    with pytest.raises(SchemaError) as info:
        sign_entry(at=bad, **SIGN_FIELDS)  # type: ignore[arg-type]
    assert info.value.field == "at"


@pytest.mark.parametrize(
    "good",
    [
        "2026-02-28T09:15:00.000+09:00", "2026-02-28T09:15:59.999+09:00",  # other seconds of the seen minute
        "2026-02-28T09:16:00.000+09:00",  # a new minute: through the regular expression, then remembered
        "2026-02-28T09:15:42.123-03:30",  # a new offset
        "2026-02-28T09:15:42.12345678Z",  # 29 characters, another shape: never from the caches
        "2026-02-28T09:15:42Z",
    ],
)
def test_seen_times_admit_the_same_as_the_pattern(good: str) -> None:
    sign_entry(at=SEEN, **SIGN_FIELDS)  # type: ignore[arg-type]
    for _ in range(2):  # once through check_envelope, then from what it remembered
        entry = sign_entry(at=good, **SIGN_FIELDS)  # type: ignore[arg-type]
        assert entry.at == good
        assert entry_mod._AT.fullmatch(good)
    assert good[23:] not in entry_mod._CHECKED_OFFSETS or good[23] in "+-"


def test_the_time_caches_hold_a_whole_day_and_are_bounded() -> None:
    """Only parts of times that matched the pattern are kept: every minute of a day fits, none is dropped."""
    for minute in range(60):
        for hour in range(24):
            sign_entry(at=f"2026-02-28T{hour:02}:{minute:02}:00.000+09:00", **SIGN_FIELDS)  # type: ignore[arg-type]
    assert len(entry_mod._CHECKED_MINUTES) == 24 * 60 <= entry_mod._MAX_CHECKED_TIMES
