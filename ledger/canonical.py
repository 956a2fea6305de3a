"""Strict JSON parsing and RFC 8785 (JCS) canonical bytes.

docs/spec.md §3.2: parse strictly -- duplicate keys, NaN/Infinity, floats in
signed payloads, integers beyond +/-(2^53-1) and lone surrogates are errors.
``json.loads`` accepts most of these silently (docs/dependency-notes.md, JSON), so the hooks
below refuse them; the bytes themselves come from the ``rfc8785`` package.

Two hot paths (every append, every entry a verifier reads) use ``orjson``
instead, where its output is provably the RFC 8785 bytes; see ``dumps`` and
``loads_canonical``.  Property tests keep both paths equal to ``rfc8785``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from custody.ledger.errors import CanonicalJSONError
from custody.ledger.quoting import quote

MAX_SAFE_INTEGER = 2**53 - 1

# A lone surrogate escape survives json.loads as an unpaired code point.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ASTRAL = re.compile(r"[\U00010000-\U0010ffff]")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CanonicalJSONError(f"duplicate key '{quote(key)}'")
        _check_string(key)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise CanonicalJSONError(f"{name} is not JSON")


def _reject_float(text: str) -> Any:
    raise CanonicalJSONError(f"floating-point number {quote(text)} not allowed")


def _int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise CanonicalJSONError(f"integer {quote(text)} beyond +/-(2^53-1)")
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


def copy_json(value: Any) -> Any:
    """A copy of a parsed JSON value's objects and arrays (its strings, numbers and constants are immutable)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """RFC 8785 canonical bytes; refuses floats in what we sign.

    When the value holds no float, no integer beyond 2^53-1, and no object key
    outside the Basic Multilingual Plane, ``orjson`` with sorted keys produces
    exactly the RFC 8785 bytes: the same string escapes (``\\b \\f \\n \\r \\t``,
    other controls as lowercase ``\\u00xx``, nothing else escaped), the same
    integer form, and code-point key order, which equals UTF-16 order for BMP
    keys.  It is ~20x faster than ``rfc8785.dumps`` on the append path.  Every
    other value goes through the ``rfc8785`` package, and a property test
    keeps the two in agreement.
    """
    if _refuse_floats(value):
        try:
            return _fast_dumps(value)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: let rfc8785 name the problem
    import rfc8785  # the slow path only: every command would otherwise pay for its import

    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalJSONError(f"cannot canonicalize: {exc}") from None


def dumps_with_checked_members(value: dict[str, Any], unchecked: str) -> bytes:
    """``dumps`` of an object whose members other than ``unchecked`` the caller has checked already.

    Those must be strings or integers within +/-(2^53-1) under ASCII keys (an
    entry's envelope, checked by ``entry.check_envelope``'s rules before it is
    signed); only the member ``unchecked`` is walked, as ``dumps`` walks a
    value.  Anything else goes the way ``dumps`` sends it.
    """
    if _refuse_floats(value[unchecked]):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)  # _fast_dumps, one call less per append
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: dumps names the problem
    return dumps(value)


def _fast_dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _strict_dumps(value: Any) -> bytes:
    """``_fast_dumps`` that raises orjson.JSONEncodeError on an integer beyond +/-(2^53-1) (orjson's own check,
    in C: exactly that bound)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)


def holds_float(value: Any) -> bool:
    """Whether a value that ``orjson.loads`` returned is or holds a float at any depth.

    ``loads_canonical``'s walk: what orjson returns has string keys and only
    JSON types, so floats are all there is left to look for -- about half
    the cost of ``_refuse_floats``, on every entry a verifier reads.
    """
    kind = type(value)
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return kind is float
    for item in value:
        kind = type(item)
        if kind is str or kind is int:
            continue
        if kind is float or ((kind is dict or kind is list) and item and holds_float(item)):  # [] or {}: no call
            return True
    return False


def _refuse_floats(value: Any) -> bool:
    """Refuse what may not be signed; True when every object key is in the BMP.

    Exact-type checks first, and strings and safe integers are judged in the
    loops without a call: this walk runs on every append (``dumps``).  Parsing
    has a cheaper walk, ``holds_float``.
    """
    kind = type(value)
    if kind is dict:
        ok = True
        for key, item in value.items():
            if type(key) is not str:
                raise CanonicalJSONError("object keys must be strings")
            if not key.isascii() and _ASTRAL.search(key):
                ok = False
            kind = type(item)
            if kind is str or (kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER):
                continue
            if kind is list:  # a list of strings (seals, media, paths) is judged here, without a call
                for element in item:
                    if type(element) is not str:
                        break
                else:
                    continue
            if not _refuse_floats(item):
                ok = False
        return ok
    if kind is list or kind is tuple:
        ok = True
        for item in value:
            kind = type(item)
            if kind is str or (kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER):
                continue
            if not _refuse_floats(item):
                ok = False
        return ok
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return True
        raise CanonicalJSONError(f"integer {value} beyond +/-(2^53-1)")
    if isinstance(value, float):
        raise CanonicalJSONError("floating-point numbers are not allowed in signed payloads")
    if isinstance(value, bool | int | str | dict | list | tuple):
        # Subclasses (an IntEnum, an OrderedDict): let rfc8785 decide.
        return False
    raise CanonicalJSONError(f"{type(value).__name__} is not a JSON type")


# A 4-byte UTF-8 sequence: a character outside the BMP, where code-point and
# UTF-16 key order may differ; the fast path below leaves such input to rfc8785.
_ASTRAL_UTF8 = re.compile(rb"[\xf0-\xf4]")


def loads_canonical(data: bytes) -> Any:
    """Parse bytes that must already be in canonical form (e.g. a ledger leaf).

    Fast path, for the verifier's hot loop: ``loads_floatless_canonical``,
    with ``holds_float`` looking for floats.  Anything the fast path cannot
    vouch for takes the strict path with the ``rfc8785`` package, which also
    names the problem.
    """
    value = loads_floatless_canonical(data)
    if value is not None and not holds_float(value):
        return value
    value = loads(data)
    if dumps(value) != data:
        raise CanonicalJSONError("bytes are not in RFC 8785 canonical form")
    return value


def loads_floatless_canonical(data: bytes) -> Any | None:
    """``loads_canonical``'s fast path, floats aside: the value, or None where it cannot vouch for ``data``.

    ``orjson`` parses strictly as far as RFC 8259 goes (it refuses NaN/Infinity,
    invalid UTF-8 and lone surrogates); a sorted, compact re-serialisation that
    refuses integers beyond 2^53-1 and gives back exactly ``data`` proves the
    bytes canonical and free of duplicate keys (a duplicate would be collapsed
    and the bytes would differ).  Without 4-byte UTF-8 sequences no key is
    outside the BMP, so code-point order is UTF-16 order.

    A float would pass this test (orjson writes it back as it read it), so a
    value returned here is canonical only once the caller has found no float
    in it: ``loads_canonical`` walks the whole value (``holds_float``), and the
    verifier's entry parse (``entry.parse_fields``) walks only an entry's
    body, having checked each of the envelope's other members' exact type.
    None sends the caller to ``loads_canonical``, whose strict path names the
    problem (or, past orjson's depth limit, decides).
    """
    if data.isascii() or not _ASTRAL_UTF8.search(data):
        try:
            value = orjson.loads(data)
            if _strict_dumps(value) == data:
                return value
        except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
            pass
    return None
