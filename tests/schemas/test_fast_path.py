"""The compiled fast path accepts exactly what jsonschema accepts, for every schema.

``schemas.validate`` lets fastjsonschema accept a document and sends anything
it rejects to jsonschema; so a document the fast path accepts but jsonschema
rejects would be a hole.  These tests run realistic documents and mutations of
them through both.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schemas
from ledger.events import EVENT_TYPES, body_schema_name

FAST = [n for n in schemas.names() if schemas._fast(n) is not None]

SCALARS = [None, True, False, 0, 1, -1, 2**53 - 1, "", "x", "2026-04-01", "2026-04-01T09:00:00+09:00",
           "2026-02-30T00:00:00Z", "M-001", [], {}, ["a"], [1], {"a": 1}]


def _both(name: str, doc: Any) -> tuple[bool, bool]:
    fast = schemas._fast(name)
    assert fast is not None
    try:
        fast(doc)
        fast_ok = True
    except Exception:
        fast_ok = False
    return fast_ok, schemas.validator(name).is_valid(doc)


def test_most_event_schemas_have_a_fast_path() -> None:
    event_schemas = {body_schema_name(t) for t in EVENT_TYPES}
    assert len(event_schemas & set(FAST)) >= len(event_schemas) - 3


def _mutations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key in list(doc):
        for value in SCALARS:
            m = copy.deepcopy(doc)
            m[key] = value
            out.append(m)
        m = copy.deepcopy(doc)
        del m[key]
        out.append(m)
    out.append({**doc, "unexpected": 1})
    return out


def _examples() -> list[tuple[str, dict[str, Any]]]:
    from tests.schemas.test_event_schemas import EXAMPLES  # realistic bodies per event type

    return [(body_schema_name(t), body) for t, body in EXAMPLES.items()]


@pytest.mark.parametrize(("name", "doc"), _examples(), ids=[n for n, _d in _examples()])
def test_fast_path_agrees_on_examples_and_mutations(name: str, doc: dict[str, Any]) -> None:
    if name not in FAST:
        pytest.skip(f"{name} uses a keyword only jsonschema implements: no fast path to compare")
    for candidate in [doc, *_mutations(doc)]:
        fast_ok, slow_ok = _both(name, candidate)
        assert not (fast_ok and not slow_ok), (name, candidate)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**53 - 1) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300)
@given(st.sampled_from(FAST), json_values)
def test_fast_path_never_accepts_what_jsonschema_rejects(name: str, doc: Any) -> None:
    fast_ok, slow_ok = _both(name, doc)
    assert not (fast_ok and not slow_ok)
