"""Small readers of entry bodies and snapshot helpers for the lifecycle families: text, object and id-list
fields that count as absent when malformed, times as integer milliseconds, organisation names compared
loosely.  Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from custody.ledger.canonical import copy_json as _copy
from custody.ledger.timefmt import at_ms


def _rows(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [{name: _copy(getattr(item, name)) for name in item.__slots__} for item in items]


def _shared_rows(items: Iterable[Any]) -> list[dict[str, Any]]:
    """``_rows`` sharing the values (a snapshot serialised at once)."""
    return [{name: getattr(item, name) for name in item.__slots__} for item in items]


def _shared(value: Any) -> Any:
    """``_copy``'s stand-in when nothing needs a copy."""
    return value


def _s(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


def _d(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _ids(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(v for v in value if isinstance(v, str)))


def _ms(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return at_ms(value)
    except ValueError:
        return None


def _ms_of_us(us: int) -> int:
    """An ``at`` already parsed to microseconds since the epoch (as the verifier's workers do), in milliseconds:
    exactly ``at_ms`` of its text, whose ``timestamp()`` is those microseconds divided by 10**6 (int by int,
    correctly rounded), times 1000, truncated."""
    return int(us / 1_000_000 * 1000)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


@lru_cache(maxsize=1024)  # a contract names a handful of companies, every operator's entry compares them
def _norm_org(name: str) -> str:
    for token in ("株式会社", "(株)", "（株）", "有限会社", "合同会社", "co.,ltd.", "co., ltd.", "inc.", "ltd."):
        name = name.replace(token, "")
    return "".join(name.split()).casefold()

