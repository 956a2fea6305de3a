"""Values quoted in messages: at most the limit, every character printable, the full length said."""

from __future__ import annotations

import pytest

from custody.ledger.i18n import set_language
from custody.ledger.quoting import QUOTE_LIMIT, quote

ROWS = [
    ("short text", "city.example.lg.jp/custody/1", 120, "city.example.lg.jp/custody/1"),
    ("exactly the limit", "a" * 10, 10, "a" * 10),
    ("one over the limit", "a" * 11, 10, "a" * 10 + "… (11 characters in all)"),
    ("2 MiB", "a" * (2 << 20), 5, "aaaaa… (2,097,152 characters in all)"),
    ("a terminal escape", "x\x1b[2Jy", 120, "x\\x1b[2Jy"),
    ("a forged second line", "ok\ncustody: OK", 120, "ok\\x0acustody: OK"),
    ("a bidirectional override", "abc\u202edef", 120, "abc\\u202edef"),
    ("Japanese", "例市の台帳", 120, "例市の台帳"),
    ("Japanese cut", "例市の台帳", 2, "例市… (5 characters in all)"),
    ("bytes", b"abc\xff", 120, "abc\\xff"),
    ("bytes of UTF-8", "台帳".encode(), 120, "台帳"),
    ("long bytes", b"z" * 10_000, 3, "zzz… (10,000 bytes in all)"),
    ("not text", 12345, 120, "12345"),
    ("an exception", ValueError("bad\x00value"), 120, "bad\\x00value"),
]


@pytest.mark.parametrize(("value", "limit", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_quote(value: object, limit: int, expected: str) -> None:
    set_language("en")
    assert quote(value, limit) == expected


def test_quote_in_japanese() -> None:
    set_language("ja")
    try:
        assert quote("a" * 200) == "a" * QUOTE_LIMIT + "…（全 200 文字）"
    finally:
        set_language("en")
