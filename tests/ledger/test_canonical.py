"""Canonical JSON: strict parsing, and the fast paths agree with the rfc8785 package."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from custody.ledger import canonical
from custody.ledger.errors import CanonicalJSONError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_dumps_equals_rfc8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(CanonicalJSONError):
            canonical.dumps(value)
        return
    assert canonical.dumps(value) == expected


@given(json_values)
def test_loads_canonical_accepts_exactly_rfc8785_bytes(value: Any) -> None:
    try:
        data = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return
    assert canonical.loads_canonical(data) == value
    pretty = json.dumps(value, indent=1, ensure_ascii=False).encode()
    if pretty != data:
        with pytest.raises(CanonicalJSONError):
            canonical.loads_canonical(pretty)


def test_astral_keys_use_utf16_order() -> None:
    value = {"\U0001f600": 1, "\uff61": 2}  # UTF-16 order differs from code-point order
    data = rfc8785.dumps(value)
    assert canonical.dumps(value) == data
    assert canonical.loads_canonical(data) == value
    swapped = b'{"\xef\xbd\xa1":2,"\xf0\x9f\x98\x80":1}'
    with pytest.raises(CanonicalJSONError):
        canonical.loads_canonical(swapped)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":1}',
        b'{"a":1,"a":2}',
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":-Infinity}',
        b'{"a":1.0}',
        b'{"a":1e3}',
        b'{"a":9007199254740992}',
        b'{"a":-9007199254740992}',
        b'{"a":"\\udc00"}',
        b'{"b":1,"a":2}',
        b'{"a": 1}',
        b' {"a":1}',
        b'{"a":1}\n',
        b'{"a":"\\u0041"}',
        b"\xfe\xff",
        b'"\xc3"',
        '{"a":1}'.encode("utf-16"),
        b'{"a":1.5}',
        b'{"a":[0.5]}',
        b'{"a":-0}',
        b'{"a":18446744073709551616}',
        b'{"a":9223372036854775807}',
        b'{"a":"\\ud83d\\ude00"}',  # an escaped pair: canonical form writes the character itself
        b'{"a":"\\u001F"}',
        b'{"a":"\\/"}',
        # Floats and unsafe integers wherever the fast path's walk must find them.
        b"1.5",
        b"1e16",
        b"-0.0",
        b"9007199254740992",
        b'["x",true,null,2.5]',
        b'[[{"a":[1,{"b":2.5}]}]]',
        b'{"a":{"b":{"c":1e16}}}',
        b'{"a":[{"b":-9007199254740992}]}',
        b'{"a":"1","b":[],"c":{},"d":0.5}',
        b"[" * 200 + b"1.5" + b"]" * 200,
    ],
)
def test_loads_canonical_rejects(raw: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical.loads_canonical(raw)


@pytest.mark.parametrize("value", [1.5, float("nan"), 2**53, -(2**53), {1: 2}, object(), {"a": [0.1]}])
def test_dumps_refuses(value: object) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical.dumps(value)


def test_largest_safe_integers_pass() -> None:
    for n in (2**53 - 1, -(2**53 - 1)):
        data = canonical.dumps({"n": n})
        assert canonical.loads_canonical(data) == {"n": n}


@pytest.mark.parametrize("char", [chr(c) for c in range(0x80)] + ["\u2028", "\u2029", "\ufeff", "\uffff", "\U0001f600"])
def test_every_escape_matches_rfc8785(char: str) -> None:
    """The orjson fast path escapes exactly what RFC 8785 escapes, in the same form."""
    value = {"k" + char: "v" + char}
    data = rfc8785.dumps(value)
    assert canonical.dumps(value) == data
    assert canonical.loads_canonical(data) == value


@pytest.mark.parametrize("depth", [200, 300, 900])
def test_deep_nesting_takes_the_strict_path(depth: int) -> None:
    """orjson stops at 255 levels when writing; canonical bytes nested deeper are still judged, not a crash."""
    data = b"[" * depth + b"]" * depth
    value = canonical.loads_canonical(data)
    assert canonical.dumps(value) == data == rfc8785.dumps(value)
    with pytest.raises(CanonicalJSONError):
        canonical.loads_canonical(b"[" * depth + b" ]" + b"]" * (depth - 1))


@pytest.mark.parametrize("text", [
    '{"a":1' + "0" * 200_000 + ".5}",
    '{"a":9' + "9" * 200_000 + "}",
    '{"' + "k" * 200_000 + '":1,"' + "k" * 200_000 + '":2}',
], ids=["float", "integer", "duplicate key"])
def test_a_huge_value_is_quoted_short(text: str) -> None:
    """What a refusal cites from the input is cut short (fuzz: a message of 216,423 characters before)."""
    with pytest.raises(CanonicalJSONError) as caught:
        canonical.loads(text)
    assert len(str(caught.value)) < 400
