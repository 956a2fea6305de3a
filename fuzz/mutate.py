"""Hypothesis strategies that damage valid inputs the way a hostile or careless party would.

Three levels, each a strategy producing ``bytes``:

* ``mutants``: byte-level damage to a seed -- bit flips, byte changes,
  deletions, insertions of tokens that mean something to a parser (quotes,
  brackets, newlines, em dashes, base64 padding, lone surrogates, overlong
  UTF-8, huge and signed numbers), truncations, duplicated and spliced
  chunks, lines dropped, swapped, repeated or taken from another seed, long
  runs of one byte, deep nesting, base64 values decoded, damaged and
  re-encoded, JSON members given a duplicate;
* ``json_mutants``: damage to the parsed JSON tree -- values replaced by
  any JSON value (floats, NaN, huge integers, astral and control characters),
  members deleted or added, types changed, deep nesting -- then written back
  canonically (so that the damage reaches the checks after the canonical
  form) or in another JSON layout, and sometimes damaged at the byte level;
* ``toml_mutants``: a ``key = value`` line given another TOML value (dates,
  date-times without offset, floats, huge integers, arrays, inline tables,
  deep nesting, long strings), lines dropped or repeated, then byte damage.

``random_bytes`` adds inputs that owe nothing to a seed.  Every strategy
caps its output at ``MAX_INPUT`` bytes.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import random
import re
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import strategies as st

MAX_INPUT = 4 * 1024 * 1024
#: Longest run of one byte (a "long line"), deepest nesting, most repeats of one line.
LONG_RUN = 1 << 20
DEEP = 100_000
REPEATS = 10_000
WINDOW = 1 << 16

Draw = Callable[[st.SearchStrategy[Any]], Any]


@dataclass
class Mutation:
    """What an operation draws from: Hypothesis for content (text, bytes, JSON values), and a
    ``random.Random`` that Hypothesis seeded for positions and choices (one draw instead of dozens:
    each Hypothesis draw costs ~0.1 ms, which would dominate the run)."""

    draw: Draw
    rnd: random.Random
    seeds: Sequence[bytes]

    def pos(self, data: bytes | bytearray) -> int:
        return self.rnd.randint(0, len(data))

    def index(self, items: Sized) -> int:
        return self.rnd.randrange(len(items))

    def span(self, data: bytes | bytearray) -> tuple[int, int]:
        start = self.pos(data)
        return start, min(len(data), start + self.rnd.choice((1, 1, 2, 4, 8, 16, 64)))

    def matches(self, pattern: re.Pattern[bytes], data: bytearray) -> list[re.Match[bytes]]:
        """The matches of ``pattern`` in a window of at most 64 KiB: searching megabytes for every case
        would cost more than the case."""
        start = self.rnd.randint(0, max(0, len(data) - WINDOW))
        return list(pattern.finditer(data, start, start + WINDOW))

    def size(self, most: int) -> int:
        """A size up to ``most``, small ones far more often (log-uniform)."""
        return min(most, int(2 ** self.rnd.uniform(0, math.log2(most + 1))))

NUMBERS: tuple[bytes, ...] = (
    b"0", b"-0", b"00", b"01", b"-1", b"+1", b"1.0", b"1e3", b"1E-400", b"1e400", b"0x10", b"1_000",
    b"9007199254740991", b"9007199254740992", b"-9007199254740992", b"9223372036854775807",
    b"9223372036854775808", b"18446744073709551615", b"18446744073709551616", b"1" + b"0" * 400,
    "١٢".encode(), "１２".encode(), b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf",
)
TOKENS: tuple[bytes, ...] = (
    b"", b"\n", b"\n\n", b"\r", b"\r\n", b"\x00", b"\x7f", b"\x1b", b" ", b"\t", b"\x0b", b"\x0c",
    b'"', b"'", b"\\", b"\\u", b"\\ud800", b"\\udfff", b"\\ud83d\\ude00", b"\\u0000", b"\\n",
    b"{", b"}", b"[", b"]", b",", b":", b"=", b"==", b"+", b"-", b"/", b".", b"..", b"#",
    b"null", b"true", b"false", b"{}", b"[]", b'""', b'{"":0}',
    "\u2014".encode(), "\u2014 ".encode(), "\u3000".encode(), "\u2028".encode(), "\u0085".encode(),
    "\u00a0".encode(), "\ufeff".encode(), "\U0001f600".encode(), "\U0010ffff".encode(), "é".encode(),
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\x80", b"\xc0\xae", b"\xe0\x80\x80", b"\xf4\x90\x80\x80",
    b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xf0\x9f",
    b"AAAA", b"AA==", b"A===", b"////", b"++++",
    b"old ", b"index ", b"extra ", b"c2sp.org/tlog-proof@v1\n", b"cosignature/v1\n", b"custody/approval/v1\n",
    b"time ", b"[[", b"]]", b"'''", b'"""', b"[a.b]", b"a.b = 1",
    b"1979-05-27", b"1979-05-27T07:32:00", b"1979-05-27T07:32:00Z", b"0000-01-01T00:00:00Z",
    b"9999-12-31T23:59:59-23:59", b"0001-01-01T00:00:00+23:59", b"2026-02-30T00:00:00Z", b"2026-12-31T23:59:60Z",
    b"2026-01-01t00:00:00z", b"2026-01-01T00:00:00.1234567890Z", b"24:00:00", b"07:32:00",
    *NUMBERS,
)
_BYTES = (0, 0x0A, 0x20, 0x22, 0x2B, 0x3D, 0x5C, 0x7F, 0x80, 0xFF)
_B64 = re.compile(rb"[A-Za-z0-9+/]{8,}={0,2}")
_DIGITS = re.compile(rb"-?[0-9]+")
_MEMBER = re.compile(rb'[{,]"((?:[^"\\]|\\.)*)":')
_TOML_VALUE = re.compile(rb"^(\s*[A-Za-z0-9_.\"-]+\s*=\s*)(.*)$", re.MULTILINE)


def _cap(data: bytearray) -> bytearray:
    return data if len(data) <= MAX_INPUT else data[:MAX_INPUT]


# --- byte-level operations: (mutation, data) -> data ---

Op = Callable[[Mutation, bytearray], bytearray]


def _flip_bit(m: Mutation, data: bytearray) -> bytearray:
    if data:
        data[m.index(data)] ^= 1 << m.rnd.randrange(8)
    return data


def _set_byte(m: Mutation, data: bytearray) -> bytearray:
    if data:
        data[m.index(data)] = m.rnd.choice(_BYTES) if m.rnd.random() < 0.5 else m.rnd.randrange(256)
    return data


def _delete(m: Mutation, data: bytearray) -> bytearray:
    start, end = m.span(data)
    del data[start:end]
    return data


def _insert_bytes(m: Mutation, data: bytearray) -> bytearray:
    at = m.pos(data)
    data[at:at] = m.draw(st.binary(min_size=1, max_size=32))
    return data


def _insert_token(m: Mutation, data: bytearray) -> bytearray:
    at = m.pos(data)
    data[at:at] = m.rnd.choice(TOKENS)
    return data


def _replace_with_token(m: Mutation, data: bytearray) -> bytearray:
    start, end = m.span(data)
    data[start:end] = m.rnd.choice(TOKENS)
    return data


def _insert_text(m: Mutation, data: bytearray) -> bytearray:
    at = m.pos(data)
    text = m.draw(st.text(st.characters(codec=None), min_size=1, max_size=16))
    data[at:at] = text.encode("utf-8", "surrogatepass")
    return data


def _truncate(m: Mutation, data: bytearray) -> bytearray:
    return data[: m.pos(data)]


def _duplicate_chunk(m: Mutation, data: bytearray) -> bytearray:
    start, end = m.span(data)
    at = m.pos(data)
    data[at:at] = data[start:end]
    return data


def _splice(m: Mutation, data: bytearray) -> bytearray:
    other = m.rnd.choice(m.seeds)
    return data[: m.pos(data)] + other[m.pos(other):]


def _long_run(m: Mutation, data: bytearray) -> bytearray:
    at = m.pos(data)
    byte = m.rnd.choice((b"A", b"0", b"9", b" ", b"\n", b"[", b"{", b"=", b"\\", b"\xff", b"\xe3\x81\x82"))
    data[at:at] = byte * m.size(LONG_RUN // len(byte))
    return data


def _deep_nest(m: Mutation, data: bytearray) -> bytearray:
    depth = m.size(DEEP)
    opening, closing = m.rnd.choice(((b"[", b"]"), (b'{"a":', b"}"), (b"a=[", b"]"), (b"{a=", b"}")))
    start, end = m.span(data)
    return data[:start] + opening * depth + data[start:end] + closing * depth + data[end:]


def _line_op(m: Mutation, data: bytearray) -> bytearray:
    lines = bytes(data).split(b"\n")
    i = m.index(lines)
    action = m.rnd.choice(("drop", "swap", "repeat", "foreign", "empty", "dup"))
    if action == "drop":
        del lines[i]
    elif action == "swap":
        j = m.index(lines)
        lines[i], lines[j] = lines[j], lines[i]
    elif action == "repeat":
        most = max(1, MAX_INPUT // (len(lines[i]) + 1))  # repeated before the cap: keep it within it
        lines[i:i + 1] = [lines[i]] * (1 + min(most, m.size(REPEATS)))
    elif action == "foreign":
        other = m.rnd.choice(m.seeds).split(b"\n")
        lines[i] = m.rnd.choice(other)
    elif action == "empty":
        lines.insert(i, b"")
    else:
        lines.insert(i, lines[i])
    return bytearray(b"\n".join(lines))


def _number(m: Mutation, data: bytearray) -> bytearray:
    found = m.matches(_DIGITS, data)
    if not found:
        return _insert_token(m, data)
    match = m.rnd.choice(found)
    value = m.rnd.choice(NUMBERS) if m.rnd.random() < 0.5 else b"9" * m.size(100_000)
    data[match.start():match.end()] = value
    return data


def _base64(m: Mutation, data: bytearray) -> bytearray:
    """Decode a base64 value, damage the bytes, encode them again: the damage reaches what the value holds."""
    found = m.matches(_B64, data)
    if not found:
        return _flip_bit(m, data)
    match = m.rnd.choice(found)
    try:
        raw = bytearray(binascii.a2b_base64(match.group()))
    except binascii.Error:
        return data
    action = m.rnd.choice(("flip", "flip", "truncate", "extend", "high", "zero", "empty"))
    if action == "flip" and raw:
        raw[m.index(raw)] ^= 1 << m.rnd.randrange(8)
    elif action == "truncate":
        raw = raw[: m.pos(raw)]
    elif action == "extend":
        raw += m.draw(st.binary(min_size=1, max_size=80))
    elif action == "high" and raw:
        # e.g. a cosignature's timestamp (after the 4-byte key ID) at or beyond 2^63
        at = m.rnd.choice((4, 4, m.index(raw)))
        raw[at:at + 8] = m.rnd.choice((b"\xff" * 8, b"\x80" + bytes(7), b"\x7f" + b"\xff" * 7))
    elif action == "zero":
        raw = bytearray(len(raw))
    elif action == "empty":
        raw = bytearray()
    data[match.start():match.end()] = base64.b64encode(bytes(raw))
    return data


def _duplicate_member(m: Mutation, data: bytearray) -> bytearray:
    """Give a JSON object a second member with the name of an existing one."""
    found = m.matches(_MEMBER, data)
    if not found:
        return _insert_token(m, data)
    match = m.rnd.choice(found)
    value = m.rnd.choice((b"0", b'""', b"null", b"{}", b'"x"'))
    data[match.start() + 1:match.start() + 1] = b'"' + match.group(1) + b'":' + value + b","
    return data


BYTE_OPS: tuple[Op, ...] = (
    _flip_bit, _flip_bit, _set_byte, _set_byte, _delete, _delete, _insert_bytes, _insert_token, _insert_token,
    _insert_token, _replace_with_token, _replace_with_token, _insert_text, _truncate, _duplicate_chunk, _splice,
    _line_op, _line_op, _line_op, _number, _number, _base64, _base64, _base64, _duplicate_member,
    _long_run, _deep_nest,
)


def damage(m: Mutation, data: bytes, max_ops: int = 6) -> bytes:
    """One to ``max_ops`` byte-level operations on ``data``."""
    out = bytearray(data)
    for _ in range(m.rnd.randint(1, max_ops)):
        out = _cap(m.rnd.choice(BYTE_OPS)(m, out))
    return bytes(out)


def mutation(draw: Draw, seeds: Sequence[bytes]) -> Mutation:
    # A seed drawn from Hypothesis (not st.randoms(use_true_random=True)): the case stays a function of
    # Hypothesis's choices, which it replays when it mutates them.
    return Mutation(draw, random.Random(draw(st.integers(0, 2**64 - 1))), seeds)


@st.composite
def mutants(draw: Draw, seeds: Sequence[bytes], max_ops: int = 6) -> bytes:
    """A seed damaged at the byte level."""
    m = mutation(draw, seeds)
    return damage(m, m.rnd.choice(seeds), max_ops)


def random_bytes() -> st.SearchStrategy[bytes]:
    """Bytes that owe nothing to a seed: small ones often, up to 64 KiB."""
    return st.one_of(st.binary(max_size=64), st.binary(max_size=65536))


# --- JSON-level ---

#: Values that sit on a boundary some check draws.
EDGE_VALUES: tuple[Any, ...] = (
    2**53 - 1, 2**53, -(2**53), 2**63 - 1, 2**63, 2**64, 10**30, -1, 0, True, False, None, 0.5, -0.0,
    float("nan"), float("inf"), "", " ", "\n", "\x00", "\u2028", "\U0001f600", "\ud800", "a\u0000b",
    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.1234567890+09:00", "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59", "1970-01-01T00:00:00Z", "2026-12-31T23:59:60Z", "AAAA", "=", [], {}, [[]], {"": {}},
)


_ALPHABETS = (
    "abcXYZ019 -_./:+=", "abcdefghijklmnopqrstuvwxyz0123456789-", "abcXYZ019 -_./:+=", "\u3042\u4f8b\u5e02",
    "\x00\x01\x1f\x7f\n\r\t\"\\", "\u3042\u4f8b\u5e02\uff11\u3000\u2014\u00e9",
    "\U0001f600\U00010000\U0010ffff", "\ud800\udbff\udc00\udfff", "\u0300\u200b\u200d\u2028\u2029\ufeff\ufffd",
)


def _string(m: Mutation) -> str:
    if m.rnd.random() < 0.2:
        text: str = m.draw(st.text(st.characters(codec=None), max_size=24))
        return text
    pools = m.rnd.sample(_ALPHABETS, m.rnd.randint(1, 2))
    return "".join(m.rnd.choice(m.rnd.choice(pools)) for _ in range(m.size(40)))


def _value(m: Mutation, depth: int = 0) -> Any:
    """Any JSON value (and some that JSON does not have: NaN, lone surrogates), boundary values often."""
    kind = m.rnd.randrange(10)
    if kind < 3:
        return copy.deepcopy(m.rnd.choice(EDGE_VALUES))  # a copy: later mutations change what they hold
    if kind < 5:
        return _string(m)
    if kind == 5:
        return m.rnd.choice((m.rnd.randint(-(2**70), 2**70), m.rnd.randint(-1000, 1000), 2 ** m.rnd.randrange(80)))
    if kind == 6:
        return m.rnd.choice((m.rnd.uniform(-1e6, 1e6), m.rnd.random(), 1e308 * 10))
    if depth > 3 or kind == 7:
        return m.rnd.choice((None, True, False))
    if kind == 8:
        return [_value(m, depth + 1) for _ in range(m.rnd.randint(0, 4))]
    return {_string(m): _value(m, depth + 1) for _ in range(m.rnd.randint(0, 4))}


def _containers(value: Any, out: list[Any], limit: int = 200) -> None:
    if len(out) >= limit:
        return
    if isinstance(value, dict | list):
        out.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            _containers(item, out, limit)


def _mutate_tree(m: Mutation, doc: Any) -> Any:
    containers: list[Any] = []
    _containers(doc, containers)
    if not containers:
        return _value(m)
    box = m.rnd.choice(containers)
    keys: list[Any] = list(box) if isinstance(box, dict) else list(range(len(box)))
    action = m.rnd.choice(("replace", "replace", "replace", "delete", "add", "retype", "swap", "nest", "long", "root"))
    if action == "add" or not keys:
        if isinstance(box, dict):
            box[m.rnd.choice((_string(m), "", "kind", "id", "size"))] = _value(m)
        else:
            box.insert(m.pos(box), _value(m))
        return doc
    key = m.rnd.choice(keys)
    if action == "replace":
        box[key] = _value(m)
    elif action == "delete":
        del box[key]
    elif action == "retype":
        old = box[key]
        box[key] = m.rnd.choice(([old], {"": old}, str(old), 1, True, None))
    elif action == "swap":
        other = m.rnd.choice(keys)
        box[key], box[other] = box[other], box[key]
    elif action == "nest":
        value = box[key]
        for _ in range(m.size(1200)):
            value = [value]
        box[key] = value
    elif action == "long":
        box[key] = m.rnd.choice(("a", "\u3042", "\\", "\x01", "\U0001f600")) * m.size(LONG_RUN)
    else:
        return _value(m)
    return doc


LAYOUTS = ("canonical", "canonical", "canonical", "sorted", "spaced", "ascii")


def _write_json(m: Mutation, doc: Any, layouts: Sequence[str] = LAYOUTS) -> bytes:
    layout = m.rnd.choice(layouts)
    if layout == "canonical":
        # orjson with sorted keys writes RFC 8785 bytes for what custody accepts (ledger/canonical.py),
        # ~100x faster than rfc8785 on long strings full of escapes.
        try:
            return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        except (orjson.JSONEncodeError, TypeError):
            layout = "sorted"
    try:
        if layout == "sorted":
            text = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        elif layout == "spaced":
            text = json.dumps(doc, ensure_ascii=False, indent=1)
        else:
            text = json.dumps(doc)
    except (ValueError, RecursionError):
        return b"[]"
    return text.encode("utf-8", "surrogatepass")


@st.composite
def json_mutants(
    draw: Draw, docs: Sequence[Any], seeds: Sequence[bytes], *, layouts: Sequence[str] = LAYOUTS, most: int = 4,
    damage_rate: float = 0.25,
) -> bytes:
    """A seed document damaged as a JSON tree (1 to ``most`` changes), written back in one of ``layouts``,
    then damaged as bytes too in ``damage_rate`` of the cases."""
    m = mutation(draw, seeds)
    doc = copy.deepcopy(m.rnd.choice(docs))
    for _ in range(m.rnd.randint(1, most)):
        doc = _mutate_tree(m, doc)
    data = _write_json(m, doc, layouts)
    if m.rnd.random() < damage_rate:
        data = damage(m, data, 2)
    return bytes(_cap(bytearray(data)))


# --- TOML-level ---

TOML_VALUES: tuple[bytes, ...] = (
    b'""', b'"   "', b'"\\u0000"', b'"\\ud800"', b'"\\U0010FFFF"', b'"a\\nb"', b"'''\nx\n'''", b'"""\n\\\n  x"""',
    b"0", b"-1", b"9007199254740993", b"99999999999999999999999999", b"0x7fffffffffffffff", b"1_0", b"+0",
    b"1.5", b"inf", b"-inf", b"nan", b"1e400", b"true", b"false",
    b"1979-05-27", b"0001-01-01", b"9999-12-31", b"1979-05-27T07:32:00", b"1979-05-27T07:32:00Z",
    b"1979-05-27T07:32:00.999999-23:59", b"1979-05-27 07:32:00+09:00", b"07:32:00", b"2026-02-29",
    b"[]", b"[1, 'a']", b'["a", "b"]', b"[[1], [2]]", b"{}", b"{ a = 1 }", b'{ vkey = "x" }', b"[{}]",
    b'["a+00000000+AAAA"]', b'"a+00000000+AAAA"', b'"+"', b'"a b"', b'"\xe3\x80\x80"',
)


@st.composite
def toml_mutants(draw: Draw, seeds: Sequence[bytes]) -> bytes:
    """A TOML seed whose values are replaced, then sometimes damaged as bytes (lines dropped, repeated...)."""
    m = mutation(draw, seeds)
    data = bytearray(m.rnd.choice(seeds))
    for _ in range(m.rnd.randint(1, 4)):
        found = m.matches(_TOML_VALUE, data)
        if not found:
            break
        match = m.rnd.choice(found)
        choice = m.rnd.randrange(10)
        if choice < 6:
            value = m.rnd.choice(TOML_VALUES)
        elif choice < 8:
            text = m.draw(st.text(st.characters(codec=None), max_size=24))
            value = json.dumps(text).encode("utf-8", "surrogatepass")
        elif choice < 9:
            value = b'"' + b"a" * m.size(LONG_RUN) + b'"'
        else:
            depth = m.size(DEEP)
            value = b"[" * depth + b"]" * depth
        data[match.start(2):match.end(2)] = value
    if m.rnd.random() < 0.33:
        return damage(m, bytes(data), 3)
    return bytes(_cap(data))
