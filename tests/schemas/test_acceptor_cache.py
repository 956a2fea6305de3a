"""The compiled acceptors kept in the user cache, and the formats they check without jsonschema.

``schemas._fast`` keeps fastjsonschema's compiled code in the user cache
(``ledger.usercache``) so that a command does not import jsonschema to accept
a valid body (start-up time).  An entry is found again, a damaged or foreign
entry is generated again, and no usable cache directory only costs time.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import schemas
from ledger.errors import SchemaError

NAME = "events/media.checked_out"
BODY = {"media_id": "M-001", "person": "op-tanaka", "purpose": "データ移行作業", "seals": ["S-0001"]}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _forget()
    yield tmp_path / "custody"
    _forget()


def _forget() -> None:
    """Forget the acceptors this process loaded (and the checkers that hold them)."""
    schemas.checker.cache_clear()
    schemas._fast.cache_clear()


def _entry(cache: Path, name: str = NAME) -> Path:
    found = list(cache.glob(f"schemas-*/{name.replace('/', '+')}.marshal"))
    assert len(found) == 1, found
    return found[0]


def _no_generation(name: str) -> Any:
    raise AssertionError(f"the acceptor of {name} was generated again instead of read from the cache")


def test_an_acceptor_is_cached_and_read_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schemas.validate(NAME, BODY)
    _entry(cache)
    _forget()
    monkeypatch.setattr(schemas, "_generate_acceptor", _no_generation)
    schemas.validate(NAME, BODY)
    with pytest.raises(SchemaError) as caught:
        schemas.validate(NAME, {**BODY, "unexpected": 1})
    assert caught.value.field == "unexpected"


@pytest.mark.parametrize("content", [b"", b"not marshal data", marshal.dumps(("events/media.checked_in", None)),
                                     marshal.dumps((NAME, "not code")), marshal.dumps([NAME, None])])
def test_a_damaged_or_foreign_entry_is_generated_again(cache: Path, content: bytes) -> None:
    schemas.validate(NAME, BODY)
    entry = _entry(cache)
    good = entry.read_bytes()
    entry.write_bytes(content)
    _forget()
    schemas.validate(NAME, BODY)
    with pytest.raises(SchemaError):
        schemas.validate(NAME, {**BODY, "media_id": ""})
    assert entry.read_bytes() == good


def test_no_usable_cache_directory_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    _forget()
    try:
        schemas.validate(NAME, BODY)
        with pytest.raises(SchemaError):
            schemas.validate(NAME, {**BODY, "person": 5})
    finally:
        _forget()


def test_a_schema_without_fast_path_is_remembered_as_such(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schemas, "_generate_acceptor", lambda name: None)  # as for a schema using prefixItems
    assert schemas._fast(NAME) is None
    _entry(cache)
    _forget()
    monkeypatch.setattr(schemas, "_generate_acceptor", _no_generation)
    assert schemas._fast(NAME) is None
    schemas.validate(NAME, BODY)  # jsonschema alone
    with pytest.raises(SchemaError):
        schemas.validate(NAME, {**BODY, "seals": "S-0001"})


def test_every_format_the_schemas_use_is_checked_without_jsonschema() -> None:
    used = set()
    for name in schemas.names():
        used |= set(re.findall(r'"format":\s*"([^"]+)"', schemas._sources()[name].decode("utf-8")))
    assert used, "no schema uses a format any more: drop _OWN_FORMATS"
    assert used <= set(schemas._OWN_FORMATS)


FORMAT_VALUES: list[object] = [
    "2026-04-01", "2026-02-29", "2028-02-29", "2026-02-30", "2026-13-01", "2026-4-1", "0000-01-01", " 2026-04-01",
    "2026-04-01\n", "２０２６-04-01", "2026-04-01T09:00:00+09:00", "2026-04-01t09:00:00z", "2026-04-01T09:00:00Z",
    "2026-04-01T09:00:00", "2026-04-01 09:00:00Z", "2026-04-01T24:00:00Z", "2026-04-01T09:00:60Z",
    "2026-04-01T09:00:00.123456789+09:00", "2026-04-01T09:00:00+9:00", "2026-04-01T09:00:00+24:00",
    "2026-04-01T09:00:00Z\n", "", "x", 5, None, True, ["2026-04-01"], {"at": "2026-04-01"},
    "2026-02-30T09:00:00Z", "0000-01-01T00:00:00Z", "2026-02-29T09:00:00Z", "2028-02-29T09:00:00Z",
    "2026-04-31T09:00:00Z", "2026-04-30T25:00:00Z",
]


@pytest.mark.parametrize("value", FORMAT_VALUES, ids=repr)
@pytest.mark.parametrize("fmt", sorted(schemas._OWN_FORMATS))
def test_own_formats_judge_as_jsonschema_does(fmt: str, value: object) -> None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    assert schemas._OWN_FORMATS[fmt](value) == Draft202012Validator.FORMAT_CHECKER.conforms(value, fmt)


def test_date_time_verdicts_do_not_depend_on_what_was_judged_before() -> None:
    """_is_date_time caches the calendar check per day: a day judged once must not decide another date-time
    of that day whose time is wrong, in either order."""
    from jsonschema import Draft202012Validator

    day_values = [v for v in FORMAT_VALUES if isinstance(v, str) and "T" in v.upper()]
    for order in (day_values, day_values[::-1], day_values * 2):
        schemas._rfc3339_days.clear()
        for value in order:
            assert schemas._is_date_time(value) == Draft202012Validator.FORMAT_CHECKER.conforms(value, "date-time")
