"""Strict JSON parsing and RFC 8785 (JCS) canonical bytes.

DESIGN.md, Formats: parse strictly -- duplicate keys, NaN/Infinity, floats in
signed payloads, integers beyond +/-(2^53-1) and lone surrogates are errors.
``json.loads`` accepts most of these silently (NOTES.md, JSON), so the hooks
below refuse them; the bytes themselves come from the ``rfc8785`` package.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from ledger.errors import CanonicalJSONError

MAX_SAFE_INTEGER = 2**53 - 1

# A lone surrogate escape survives json.loads as an unpaired code point.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CanonicalJSONError(f"duplicate key {key!r}")
        _check_string(key)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise CanonicalJSONError(f"{name} is not JSON")


def _reject_float(text: str) -> Any:
    raise CanonicalJSONError(f"floating-point number {text} not allowed")


def _int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise CanonicalJSONError(f"integer {text} beyond +/-(2^53-1)")
    return value


def _check_string(s: str) -> None:
    if _LONE_SURROGATE.search(s):
        raise CanonicalJSONError("lone surrogate in string")


def _walk_strings(value: Any) -> None:
    if isinstance(value, str):
        _check_string(value)
    elif isinstance(value, list):
        for item in value:
            _walk_strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            _walk_strings(item)


def loads(data: bytes | str) -> Any:
    """Parse JSON strictly; raise CanonicalJSONError on anything doubtful."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalJSONError(f"not UTF-8: {exc.reason}") from None
    else:
        text = data
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_reject_constant,
            parse_float=_reject_float,
            parse_int=_int,
        )
    except CanonicalJSONError:
        raise
    except (ValueError, RecursionError) as exc:
        raise CanonicalJSONError(f"not valid JSON: {exc}") from None
    _walk_strings(value)
    return value


def dumps(value: Any) -> bytes:
    """RFC 8785 canonical bytes; refuses floats in what we sign."""
    _refuse_floats(value)
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalJSONError(f"cannot canonicalize: {exc}") from None


def _refuse_floats(value: Any) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, float):
        raise CanonicalJSONError("floating-point numbers are not allowed in signed payloads")
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalJSONError(f"integer {value} beyond +/-(2^53-1)")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError("object keys must be strings")
            _refuse_floats(item)
        return
    raise CanonicalJSONError(f"{type(value).__name__} is not a JSON type")


def loads_canonical(data: bytes) -> Any:
    """Parse bytes that must already be in canonical form (e.g. a ledger leaf)."""
    value = loads(data)
    if dumps(value) != data:
        raise CanonicalJSONError("bytes are not in RFC 8785 canonical form")
    return value
