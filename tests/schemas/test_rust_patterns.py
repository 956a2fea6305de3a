"""Each shipped pattern, as ``jsonschema_rs`` is given it (``validation.for_rust``), judges every string as the
shipped pattern does: on ``jsonschema_rs`` (the one it replaces there) and on Python's ``re``, which the
``jsonschema`` package uses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import validation
from custody.schemas import document, names
from tests.schemas.test_fast_path import TRICKY_STRINGS


def _patterns(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "pattern" and isinstance(item, str):
                yield item
            else:
                yield from _patterns(item)
    elif isinstance(value, list):
        for item in value:
            yield from _patterns(item)


PATTERNS = sorted({p for name in names() for p in _patterns(document(name))})
# Strings near each pattern's edges: years 0000-0009, a final newline, times with and without it.
EDGES = [*TRICKY_STRINGS, "0000-04-01", "0001-04-01", "0010-04-01", "0100-04-01", "1000-04-01", "9999-12-31",
         "0000-04-01T09:00:00Z", "0009-04-01T09:00:00Z", "2026-04-01T09:00:00.000+09:00",
         "2026-04-01T09:00:00.000+09:00\n", "2026-04-01\n", "C1\n", "C15", "a" * 64, "f" * 64 + "\n"]


def _rs(pattern: str) -> Any:
    return jsonschema_rs.validator_for({"type": "string", "pattern": pattern})


def test_the_date_time_pattern_loses_its_look_arounds() -> None:
    """The patterns the verifier meets in every body (a time, a SHA-256) run on Rust's regex engine."""
    written = [validation.for_rust(p) for p in PATTERNS]
    assert any("T([01][0-9]" in p for p in written)
    for shipped, rust in zip(PATTERNS, written, strict=True):
        if not re.search(r"\\[sSdDwWbB]", shipped):
            assert "(?!" not in rust, rust
        else:
            assert rust == shipped  # a class the engines' tables decide: left as shipped


@pytest.mark.parametrize("pattern", PATTERNS)
def test_each_pattern_judges_the_edges_as_shipped(pattern: str) -> None:
    shipped, rust = _rs(pattern), _rs(validation.for_rust(pattern))
    for text in EDGES:
        expected = shipped.is_valid(text)
        assert rust.is_valid(text) == expected, (pattern, text)
        if pattern == validation.for_rust(pattern):
            continue  # left as shipped: where Python's tables differ is tests/schemas/test_fast_path.py's matter
        assert (re.search(pattern, text) is not None) == expected, (pattern, text)  # as the jsonschema package


@settings(max_examples=300)
@given(text=st.text(alphabet=st.sampled_from("0123456789-:TZ.+abcfC\n "), max_size=32),
       index=st.integers(0, len(PATTERNS) - 1))
def test_each_pattern_judges_any_string_as_shipped(text: str, index: int) -> None:
    pattern = PATTERNS[index]
    assert _rs(validation.for_rust(pattern)).is_valid(text) == _rs(pattern).is_valid(text)
