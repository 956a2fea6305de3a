"""C2SP tlog-proof files: exact bytes, round trips, malformed input, and fuzzing."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.ledger.errors import ProofFormatError
from custody.ledger.rfc6962 import leaf_hash
from custody.ledger.tlogproof import MAX_HASHES, MAX_INDEX, TlogProof, format_tlog_proof, parse_tlog_proof

H = [leaf_hash(bytes([i])) for i in range(64)]
CHECKPOINT = (
    b"city.example.lg.jp/custody/2026-017/site-1\n"
    b"5\n"
    b"QnGia+DYqE8L1UyMMC58s6O10fpngKQLzOKHNHfatlg=\n"
    b"\n"
    b"\xe2\x80\x94 city.example.lg.jp/custody/2026-017/site-1 AAAAAGFiY2RlZmdoaWprbG1ub3A=\n"
)
B = [base64.b64encode(h) for h in H]

# The example of the C2SP tlog-proof specification, verbatim (signatures elided as there).
SPEC_EXAMPLE = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
— witness1.example mJirIklj[...]qY9v2B/5bg==
— witness2.example TnKKVHLX[...]xwYwrSjgow==
— witness3.example S4X82uH5[...]3oEcROGLFQ==
""".encode()


def test_spec_example() -> None:
    p = parse_tlog_proof(SPEC_EXAMPLE)
    assert p.index == 73894
    assert p.extra == base64.b64decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ")
    assert len(p.hashes) == 5
    assert p.hashes[0] == base64.b64decode("gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=")
    assert p.checkpoint.startswith(b"example.com/fancylog\n109482\n")
    assert p.checkpoint.endswith(b"3oEcROGLFQ==\n")
    assert format_tlog_proof(p) == SPEC_EXAMPLE


def test_exact_bytes() -> None:
    p = TlogProof(index=4, hashes=(H[0], H[1]), checkpoint=CHECKPOINT)
    assert format_tlog_proof(p) == (
        b"c2sp.org/tlog-proof@v1\nindex 4\n" + B[0] + b"\n" + B[1] + b"\n\n" + CHECKPOINT
    )
    with_extra = TlogProof(index=0, hashes=(), checkpoint=CHECKPOINT, extra=b"\x00\xff")
    assert format_tlog_proof(with_extra) == b"c2sp.org/tlog-proof@v1\nextra AP8=\nindex 0\n\n" + CHECKPOINT


@pytest.mark.parametrize(
    "p",
    [
        TlogProof(0, (), CHECKPOINT),
        TlogProof(0, (), CHECKPOINT, extra=b""),
        TlogProof(0, (), CHECKPOINT, extra=b"x" * 1000),
        TlogProof(5, tuple(H[:3]), CHECKPOINT),
        TlogProof(MAX_INDEX, tuple(H[:MAX_HASHES]), CHECKPOINT, extra=b"vrf"),
        TlogProof(7, (H[0],), b"o\n\n\xe2\x80\x94 o AAAA\n"),
    ],
    ids=["empty", "empty-extra", "long-extra", "three", "max", "tiny-note"],
)
def test_round_trip(p: TlogProof) -> None:
    data = format_tlog_proof(p)
    assert parse_tlog_proof(data) == p
    assert format_tlog_proof(parse_tlog_proof(data)) == data


def _go_interop_parse(b: bytes) -> tuple[int, list[bytes], bytes]:
    """What interop/main.go does with a .tlog-proof, in Python."""
    parts = b.split(b"\n\n", 1)
    assert len(parts) == 2
    head = parts[0].rstrip(b"\n").split(b"\n")
    assert head[0] == b"c2sp.org/tlog-proof@v1"
    i = 1
    if i < len(head) and head[i].startswith(b"extra "):
        i += 1
    assert head[i].startswith(b"index ")
    idx = int(head[i][len(b"index ") :])
    hashes = [base64.b64decode(line, validate=True) for line in head[i + 1 :]]
    assert all(len(h) == 32 for h in hashes)
    return idx, hashes, parts[1]


@pytest.mark.parametrize("extra", [None, b"", b"e"])
@pytest.mark.parametrize("count", [0, 1, 5])
def test_go_interop_reader_agrees(extra: bytes | None, count: int) -> None:
    p = TlogProof(9, tuple(H[:count]), CHECKPOINT, extra)
    assert _go_interop_parse(format_tlog_proof(p)) == (9, list(H[:count]), CHECKPOINT)


GOOD = format_tlog_proof(TlogProof(4, (H[0], H[1]), CHECKPOINT, extra=b"ab"))
HEAD = b"c2sp.org/tlog-proof@v1\n"
TAIL = b"\n" + CHECKPOINT

MALFORMED: dict[str, bytes] = {
    "empty": b"",
    "missing header": b"index 4\n" + B[0] + b"\n" + TAIL,
    "wrong header version": b"c2sp.org/tlog-proof@v2\nindex 4\n" + TAIL,
    "header with CR": b"c2sp.org/tlog-proof@v1\r\nindex 4\n" + TAIL,
    "header only, no newline": b"c2sp.org/tlog-proof@v1",
    "header only": HEAD,
    "missing index": HEAD + B[0] + b"\n" + TAIL,
    "index without number": HEAD + b"index \n" + TAIL,
    "index without space": HEAD + b"index4\n" + TAIL,
    "index two spaces": HEAD + b"index  4\n" + TAIL,
    "index leading zero": HEAD + b"index 04\n" + TAIL,
    "index 00": HEAD + b"index 00\n" + TAIL,
    "index negative": HEAD + b"index -4\n" + TAIL,
    "index plus sign": HEAD + b"index +4\n" + TAIL,
    "index underscore": HEAD + b"index 1_000\n" + TAIL,
    "index hex": HEAD + b"index 0x10\n" + TAIL,
    "index non-ascii digits": HEAD + "index \u0664\n".encode() + TAIL,
    "index trailing space": HEAD + b"index 4 \n" + TAIL,
    "index trailing garbage": HEAD + b"index 4x\n" + TAIL,
    "index CR": HEAD + b"index 4\r\n" + TAIL,
    "index 2^63": HEAD + b"index 9223372036854775808\n" + TAIL,
    "index huge": HEAD + b"index " + b"9" * 5000 + b"\n" + TAIL,
    "index uppercase": HEAD + b"INDEX 4\n" + TAIL,
    "extra after index": HEAD + b"index 4\nextra YWI=\n" + TAIL,
    "two extra lines": HEAD + b"extra YWI=\nextra YWI=\nindex 4\n" + TAIL,
    "extra bad base64": HEAD + b"extra Y!I=\nindex 4\n" + TAIL,
    "extra missing padding": HEAD + b"extra YWI\nindex 4\n" + TAIL,
    "extra non-canonical bits": HEAD + b"extra YWJ=\nindex 4\n" + TAIL,
    "extra url-safe alphabet": HEAD + b"extra __8=\nindex 4\n" + TAIL,
    "hash bad base64": HEAD + b"index 4\n" + B[0][:-2] + b"!=\n" + TAIL,
    "hash 31 bytes": HEAD + b"index 4\n" + base64.b64encode(bytes(31)) + b"\n" + TAIL,
    "hash 33 bytes": HEAD + b"index 4\n" + base64.b64encode(bytes(33)) + b"\n" + TAIL,
    "hash 0 bytes as =": HEAD + b"index 4\n=\n" + TAIL,
    "hash without padding": HEAD + b"index 4\n" + B[0].rstrip(b"=") + b"\n" + TAIL,
    "hash non-canonical bits": HEAD + b"index 4\n" + B[0][:-2] + b"B=\n" + TAIL,
    "hash with trailing space": HEAD + b"index 4\n" + B[0] + b" \n" + TAIL,
    "hash with CR": HEAD + b"index 4\n" + B[0] + b"\r\n" + TAIL,
    "hash with inner newline": HEAD + b"index 4\n" + B[0][:20] + b"\n" + B[0][20:] + b"\n" + TAIL,
    "hash hex": HEAD + b"index 4\n" + H[0].hex().encode() + b"\n" + TAIL,
    "64 hashes": HEAD + b"index 4\n" + b"".join(b + b"\n" for b in B) + TAIL,
    "missing blank line": HEAD + b"index 4\n" + B[0] + b"\n" + CHECKPOINT,
    "missing blank line, hashes only": HEAD + b"index 4\n" + B[0] + b"\n",
    "missing blank line, no newline": HEAD + b"index 4\n" + B[0],
    "no checkpoint": HEAD + b"index 4\n" + B[0] + b"\n\n",
    "two blank lines": HEAD + b"index 4\n\n" + TAIL,
    "checkpoint without final newline": HEAD + b"index 4\n" + TAIL[:-1],
    "trailing garbage after checkpoint": HEAD + b"index 4\n" + TAIL + b"garbage",
    "leading blank line": b"\n" + GOOD,
    "leading space": b" " + GOOD,
    "BOM": b"\xef\xbb\xbf" + GOOD,
    "CRLF everywhere": GOOD.replace(b"\n", b"\r\n"),
}


@pytest.mark.parametrize("data", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed(data: bytes) -> None:
    with pytest.raises(ProofFormatError):
        parse_tlog_proof(data)


def test_good_baseline_parses() -> None:
    # The malformed table mutates this; it must itself be fine.
    assert parse_tlog_proof(GOOD) == TlogProof(4, (H[0], H[1]), CHECKPOINT, extra=b"ab")
    assert parse_tlog_proof(HEAD + b"index 0\n" + TAIL).index == 0
    assert parse_tlog_proof(HEAD + b"index 9223372036854775807\n" + TAIL).index == MAX_INDEX
    assert (
        len(parse_tlog_proof(HEAD + b"index 4\n" + b"".join(b + b"\n" for b in B[:63]) + TAIL).hashes) == 63
    )


@pytest.mark.parametrize("not_bytes", ["c2sp.org/tlog-proof@v1\n", bytearray(GOOD), None, 5])
def test_parse_rejects_non_bytes(not_bytes: Any) -> None:
    with pytest.raises(ProofFormatError):
        parse_tlog_proof(not_bytes)


@pytest.mark.parametrize(
    "p",
    [
        TlogProof(-1, (), CHECKPOINT),
        TlogProof(MAX_INDEX + 1, (), CHECKPOINT),
        TlogProof(True, (), CHECKPOINT),
        TlogProof("4", (), CHECKPOINT),  # type: ignore[arg-type]
        TlogProof(4, (bytes(31),), CHECKPOINT),
        TlogProof(4, (bytes(33),), CHECKPOINT),
        TlogProof(4, ("x" * 32,), CHECKPOINT),  # type: ignore[arg-type]
        TlogProof(4, tuple(H[:64]), CHECKPOINT),
        TlogProof(4, (), b""),
        TlogProof(4, (), b"\norigin\n"),
        TlogProof(4, (), CHECKPOINT[:-1]),
        TlogProof(4, (), "text\n"),  # type: ignore[arg-type]
        TlogProof(4, (), CHECKPOINT, extra="ab"),  # type: ignore[arg-type]
    ],
    ids=[
        "negative",
        "2^63",
        "bool",
        "str-index",
        "hash31",
        "hash33",
        "str-hash",
        "64-hashes",
        "no-checkpoint",
        "checkpoint-blank-first",
        "checkpoint-no-newline",
        "str-checkpoint",
        "str-extra",
    ],
)
def test_format_rejects(p: TlogProof) -> None:
    with pytest.raises(ProofFormatError):
        format_tlog_proof(p)


# --- Fuzzing: only ProofFormatError escapes, and whatever parses is canonical. ---


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data: bytes) -> None:
    try:
        p = parse_tlog_proof(data)
    except ProofFormatError:
        return
    assert format_tlog_proof(p) == data


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        TlogProof,
        index=st.integers(0, MAX_INDEX),
        hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=MAX_HASHES).map(tuple),
        checkpoint=st.binary(max_size=200).map(lambda b: b"o" + b + b"\n"),
        extra=st.none() | st.binary(max_size=80),
    )
)
def test_round_trip_property(p: TlogProof) -> None:
    assert parse_tlog_proof(format_tlog_proof(p)) == p


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutations_fail_cleanly_or_stay_canonical(data: st.DataObject) -> None:
    b = bytearray(GOOD)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(0, len(b) - 1)))
        if kind == "flip" and b:
            b[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "insert":
            b.insert(pos, data.draw(st.sampled_from(list(b"\n \r=+/Aa0-\x00\xff"))))
        elif b:
            del b[pos]
    try:
        p = parse_tlog_proof(bytes(b))
    except ProofFormatError:
        return
    assert format_tlog_proof(p) == bytes(b)
