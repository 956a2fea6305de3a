"""The fast path (``jsonschema_rs``) never accepts what jsonschema rejects, for every schema.

``schemas.checker`` lets ``jsonschema_rs`` accept a document and sends
anything it rejects to jsonschema; so a document the fast path accepts but
jsonschema rejects would be a hole.  The two differ where Python's ``re`` and
ECMA-262 regular expressions differ (``\\s``, ``$``) and in how each checks the
``date`` and ``date-time`` formats: these tests run realistic documents,
mutations of them, and random values and strings through both.  The other
way round (the fast path rejecting a valid document) only costs time, but the
realistic documents must all take the fast path.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import validation as schemas
from custody.ledger.events import body_schema_name

# Strings where Python's re and ECMA-262 disagree, or where the formats are easy to get wrong.
TRICKY_STRINGS = [
    "", "x", "M-001", "a b", "a\tb", "a\nb", "abc\n", "\nabc", "a\x85b", "a\xa0b", "a\u3000b", "a\ufeffb", "a\u2028b",
    "a\x1fb", "a\x7fb", "a\x00b", "a+b", "ａ", "0" * 64, "0" * 63 + "\n", "A" * 43 + "=",
    "2026-04-01", "2026-02-29", "2028-02-29", "2026-02-30", "2026-13-01", "2026-4-1", "0000-01-01", " 2026-04-01",
    "2026-04-01\n", "２０２６-04-01", "2026-04-01T09:00:00+09:00", "2026-04-01t09:00:00z", "2026-04-01T09:00:00Z",
    "2026-04-01T09:00:00", "2026-04-01 09:00:00Z", "2026-04-01T24:00:00Z", "2026-04-01T09:00:60Z",
    "2026-06-30T23:59:60Z", "2026-12-31T23:59:60Z", "2026-12-31T08:59:60+09:00",
    "2026-04-01T09:00:00.123456789+09:00", "2026-04-01T09:00:00.1234567890Z", "2026-04-01T09:00:00+9:00",
    "2026-04-01T09:00:00+24:00", "2026-04-01T09:00:00-00:00", "2026-04-01T09:00:00Z\n", "2026-02-30T09:00:00Z",
    "0000-01-01T00:00:00Z", "2026-02-29T09:00:00Z", "2028-02-29T09:00:00Z", "2026-04-31T09:00:00Z",
    "2026-04-30T25:00:00Z", "C1", "C15", "C16", "C1\n", "media.received", "media.received\n",
]
SCALARS: list[Any] = [None, True, False, 0, 1, -1, 1.0, 1.5, 2**53 - 1, 2**53, -(2**63), 2**64, *TRICKY_STRINGS,
                      [], {}, ["a"], [1], [1, True], ["a", "a"], {"a": 1}]


def _both(name: str, doc: Any) -> tuple[bool, bool]:
    return schemas.acceptor(name)(doc), schemas.validator(name).is_valid(doc)


def _hole(name: str, doc: Any) -> bool:
    """Whether the fast path accepts ``doc`` while jsonschema rejects it.  jsonschema (pure Python, ~15 times
    the fast path's cost) is asked only about what the fast path accepts: a rejected document cannot be a hole."""
    return schemas.acceptor(name)(doc) and not schemas.validator(name).is_valid(doc)


def _examples() -> list[tuple[str, dict[str, Any]]]:
    from tests.schemas.test_event_schemas import EXAMPLES  # realistic bodies per event type

    return [(body_schema_name(t), body) for t, body in EXAMPLES.items()]


def _mutations(doc: Any) -> list[Any]:
    """``doc`` with each value, at every depth, replaced by each scalar, and each member removed or added."""
    out: list[Any] = []
    if isinstance(doc, dict):
        for key in list(doc):
            for value in [*SCALARS, *_mutations(doc[key])]:
                m = copy.copy(doc)
                m[key] = value
                out.append(m)
            m = copy.copy(doc)
            del m[key]
            out.append(m)
        out.append({**doc, "unexpected": 1})
    elif isinstance(doc, list) and doc:
        for value in [*SCALARS, *_mutations(doc[0])]:
            out.append([value, *doc[1:]])
        out.append([*doc, doc[0]])  # a duplicate item (uniqueItems)
    return out


def test_every_schema_has_a_fast_path() -> None:
    for name in schemas.names():
        assert callable(schemas.acceptor(name))


@pytest.mark.parametrize(("name", "doc"), _examples(), ids=[n for n, _d in _examples()])
def test_examples_take_the_fast_path(name: str, doc: dict[str, Any]) -> None:
    assert _both(name, doc) == (True, True)


@pytest.mark.parametrize(("name", "doc"), _examples(), ids=[n for n, _d in _examples()])
def test_fast_path_agrees_on_examples_and_mutations(name: str, doc: dict[str, Any]) -> None:
    for candidate in _mutations(doc):
        assert not _hole(name, candidate), (name, candidate)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**53 - 1) | st.text(max_size=12) | st.sampled_from(TRICKY_STRINGS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300)
@given(st.sampled_from(schemas.names()), json_values)
def test_fast_path_never_accepts_what_jsonschema_rejects(name: str, doc: Any) -> None:
    assert not _hole(name, doc)


def _string_paths(doc: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(doc, str):
        return [path]
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _string_paths(v, (*path, k))]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _string_paths(v, (*path, i))]
    return []


def _replace(doc: Any, path: tuple[str | int, ...], value: str) -> Any:
    if not path:
        return value
    out = copy.copy(doc)
    out[path[0]] = _replace(doc[path[0]], path[1:], value)
    return out


STRING_SITES = [(name, doc, path) for name, doc in _examples() for path in _string_paths(doc)]
# Characters around every class boundary the shipped patterns draw, and the whitespace ECMA and Python disagree on.
tricky_text = st.text(
    alphabet=st.sampled_from("0123456789-:+.TZtz=/Aaf_ \t\n\r\x0b\x0c\x00\x1f\x7f\x85\xa0\u2028\u3000\ufeffあ"),
    max_size=40,
)


@settings(max_examples=500)
@given(st.sampled_from(STRING_SITES), tricky_text | st.sampled_from(TRICKY_STRINGS))
def test_fast_path_judges_every_string_field_as_jsonschema_does(site: tuple[str, Any, Any], text: str) -> None:
    name, doc, path = site
    assert not _hole(name, _replace(doc, path, text)), (name, path, text)


date_times = st.from_regex(
    r"\A[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\.[0-9]{1,10})?([Zz]|[+-][0-2][0-9]:[0-6][0-9])\Z"
)


@settings(max_examples=500)
@given(date_times)
def test_date_times_near_the_format_are_judged_as_jsonschema_does(text: str) -> None:
    body = {"observed_at": text, "sequence": 1, "interval_ms": 60000}
    assert not _hole("events/agent.heartbeat", body), text


dates = st.from_regex(r"\A[0-9]{4}-[01][0-9]-[0-3][0-9]\Z")


@settings(max_examples=300)
@given(dates)
def test_dates_near_the_format_are_judged_as_jsonschema_does(text: str) -> None:
    body = {"key_name": "op-tanaka", "changes": {"training_date": text}, "reason": "x", "reported_at": "2026-04-01T09:00:00+09:00"}
    assert not _hole("events/personnel.changed", body), text


def test_nothing_is_fetched_for_an_unknown_reference() -> None:
    import jsonschema_rs

    with pytest.raises(jsonschema_rs.ValidationError, match="is not a shipped schema"):  # our retriever refused
        jsonschema_rs.validator_for({"$ref": "https://custody.example/schemas/missing.schema.json"},
                                    registry=schemas._fast_registry(), retriever=schemas._refuse_retrieval)
