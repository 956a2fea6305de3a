"""Entries: the exact leaf format of docs/spec.md, strict parsing, signatures."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from custody.ledger import canonical
from custody.ledger.entry import (
    ENTRY_CONTEXT,
    KEY_ID_SIZE,
    ZERO_HASH,
    Entry,
    b64,
    check_envelope,
    failed_leaf_signatures,
    parse_entry,
    parse_fields,
    sign_entry,
    unb64,
    verify_entry_signature,
)
from custody.ledger.errors import CanonicalJSONError, FormatError, SchemaError, SignatureError
from custody.ledger.note import Signer
from custody.ledger.rfc6962 import leaf_hash
from custody.ledger.validation import validate

SIGNER = Signer("op-tanaka", Ed25519PrivateKey.generate())
OTHER = Signer("op-tanaka", Ed25519PrivateKey.generate())


def make(**over: object) -> bytes:
    fields: dict[str, object] = {
        "origin": "city.example.lg.jp/custody/x",
        "seq": 0,
        "prev": ZERO_HASH,
        "type": "note.recorded",
        "at": "2026-04-01T09:00:00.000+09:00",
        "body": {"text": "作業開始"},
        "signer": SIGNER,
    }
    fields.update(over)
    return sign_entry(**fields).leaf  # type: ignore[arg-type]


def test_leaf_is_jcs_of_the_design_object() -> None:
    leaf = make()
    obj = json.loads(leaf)
    assert list(obj) == sorted(obj)  # JCS orders members
    assert set(obj) == {"custody", "origin", "seq", "prev", "type", "at", "actor", "body", "sig"}
    assert obj["custody"] == 1 and obj["actor"] == "op-tanaka"
    assert canonical.dumps(obj) == leaf


def test_signature_covers_context_and_jcs_without_sig() -> None:
    entry = parse_entry(make())
    obj = json.loads(entry.leaf)
    del obj["sig"]
    expected = ENTRY_CONTEXT + canonical.dumps(obj)
    assert entry.signed_message() == expected
    SIGNER.verifier().verify(expected, entry.sig[4:])
    assert entry.sig[:4] == SIGNER.key_id
    verify_entry_signature(entry, SIGNER.verifier())


def test_fast_message_cut_matches_rebuild_even_with_nested_sig_keys() -> None:
    entry = parse_entry(make(body={"sig": "x", "nested": {"sig": "y"}, "type": "z"}))
    rebuilt = entry.to_json()
    del rebuilt["sig"]
    assert entry.signed_message() == ENTRY_CONTEXT + canonical.dumps(rebuilt)


def test_leaf_hash_is_rfc6962() -> None:
    entry = parse_entry(make())
    assert entry.leaf_hash == leaf_hash(entry.leaf)


def test_wrong_key_rejected() -> None:
    entry = parse_entry(make())
    with pytest.raises(SignatureError):
        verify_entry_signature(entry, OTHER.verifier())


def test_any_flipped_byte_breaks_parse_or_signature() -> None:
    leaf = make()
    for i in range(0, len(leaf), 7):
        mutated = bytearray(leaf)
        mutated[i] ^= 0x01
        try:
            entry = parse_entry(bytes(mutated))
        except FormatError:
            continue
        with pytest.raises(SignatureError):
            verify_entry_signature(entry, SIGNER.verifier())


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.pop("sig"), "sig"),
        (lambda o: o.pop("body"), "body"),
        (lambda o: o.update(extra=1), "extra"),
        (lambda o: o.update(custody=2), "custody"),
        (lambda o: o.update(seq=-1), "seq"),
        (lambda o: o.update(seq="1"), "seq"),
        (lambda o: o.update(type="Note"), "type"),
        (lambda o: o.update(at="2026-04-01T09:00:00"), "at"),
        (lambda o: o.update(at="2026-13-01T09:00:00Z"), "at"),
        (lambda o: o.update(actor="a b"), "actor"),
        (lambda o: o.update(actor="a+b"), "actor"),
        (lambda o: o.update(origin=""), "origin"),
        (lambda o: o.update(body=[]), "body"),
        (lambda o: o.update(prev="AAAA"), "prev"),
        (lambda o: o.update(sig="AAAA"), "sig"),
    ],
)
def test_envelope_violations_name_the_field(mutate: object, field: str) -> None:
    obj = json.loads(make())
    mutate(obj)  # type: ignore[operator]
    with pytest.raises(SchemaError) as info:
        parse_entry(canonical.dumps(obj))
    assert info.value.field == field


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":2}',
        b'{"a":NaN}',
        b'{"a":1.5}',
        b'{"a":9007199254740993}',
        b'{"a":"\\ud800"}',
        b"\xff",
        b"",
        b"[",
    ],
)
def test_strict_parsing_rejects(raw: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        parse_entry(raw)


def test_non_canonical_bytes_rejected() -> None:
    leaf = make()
    pretty = json.dumps(json.loads(leaf), indent=1).encode()
    with pytest.raises(CanonicalJSONError):
        parse_entry(pretty)


def test_hand_check_agrees_with_the_schema_file() -> None:
    obj = json.loads(make())
    check_envelope(obj)
    validate("entry", obj)
    bad = dict(obj, at="yesterday")
    with pytest.raises(SchemaError):
        check_envelope(bad)
    with pytest.raises(SchemaError):
        validate("entry", bad)


@given(st.binary(max_size=400))
def test_parse_entry_fuzz_only_format_errors(data: bytes) -> None:
    try:
        parse_entry(data)
    except FormatError:
        pass


@given(st.dictionaries(st.text(max_size=5), st.integers(-10, 10) | st.text(max_size=5), max_size=4))
def test_any_body_round_trips(body: dict[str, object]) -> None:
    entry = parse_entry(make(body=body))
    assert entry.body == body
    verify_entry_signature(entry, SIGNER.verifier())


@pytest.mark.parametrize(
    "text",
    [
        "",  # 0 bytes where 32 are required
        "AAAA",  # 3 bytes
        "A" * 43,  # no padding
        "A" * 43 + "=" * 2,  # too much padding
        "=" + "A" * 43,  # padding first
        "A" * 42 + "B=",  # non-zero bits in the padding: not canonical
        "A" * 20 + " " + "A" * 22 + "=",  # whitespace
        "A" * 20 + "\n" + "A" * 22 + "=",
        "A" * 42 + "-_" ,  # URL-safe alphabet
        "A" * 42 + "é=",  # not ASCII
        "A" * 43 + "=AAAA",  # data after the padding
    ],
)
def test_unb64_refuses(text: str) -> None:
    with pytest.raises(SchemaError):
        unb64(text, size=32, what="prev")


def test_unb64_accepts_canonical() -> None:
    assert unb64("A" * 43 + "=", size=32) == bytes(32)
    assert unb64(b64(bytes(range(68))), size=68) == bytes(range(68))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "field-agent"),  # a fine actor name, not a type name
        ("type", "city.example.lg.jp/custody/2026-017/site-1"),  # a fine origin, not a type
        ("actor", "note.recorded"),  # a type name is also a fine actor name
        ("actor", "has+plus"),
        ("origin", "has space"),
        ("origin", "note.recorded"),
        ("at", "2026-02-30T10:00:00.000+09:00"),
    ],
)
def test_names_seen_before_are_checked_per_field(field: str, value: str) -> None:
    """The envelope's cache of checked names must not let a name that passed as one field pass as another:
    with every name below already seen, the hand check still agrees with the schema file."""
    obj = json.loads(make())
    for name in ("field-agent", "note.recorded", "city.example.lg.jp/custody/2026-017/site-1"):
        for where in ("actor", "type", "origin"):
            with contextlib.suppress(SchemaError):
                check_envelope(dict(obj, **{where: name}))
    changed = dict(obj, **{field: value})
    try:
        validate("entry", changed)
        schema_ok = True
    except SchemaError:
        schema_ok = False
    if schema_ok:
        check_envelope(changed)
    else:
        with pytest.raises(SchemaError) as info:
            check_envelope(changed)
        assert info.value.field == field


def test_a_signed_entry_is_the_entry_its_leaf_parses_to() -> None:
    """sign_entry fills the Entry's fields itself, for speed: every field, the same as the dataclass and the parser
    would (a field added to Entry and forgotten there fails here)."""
    signed = sign_entry(origin="city.example.lg.jp/custody/2026-017/site-1", seq=0, prev=ZERO_HASH,
                        type="note.recorded", at="2026-04-01T10:00:00.000+09:00", body={"text": "点検"}, signer=SIGNER)
    parsed = parse_entry(signed.leaf)
    assert set(vars(signed)) == {f.name for f in dataclasses.fields(Entry)}
    assert signed == parsed
    assert repr(signed) == repr(parsed)


def test_failed_leaf_signatures_names_exactly_the_ones_that_do_not_verify() -> None:
    """The batch check of a chunk: the positions whose signature fails, as Verifier.verify judges each."""
    leaves = [make(seq=i, body={"text": f"作業 {i}"}) for i in range(5)]
    checks = []
    for leaf in leaves:
        _obj, _prev, sig = parse_fields(leaf)
        checks.append((leaf, sig, SIGNER.verifier()))
    checks[1] = (checks[1][0], checks[1][1], OTHER.verifier())  # another key of the same name
    checks[3] = (leaves[3].replace("作業 3".encode(), "作業 4".encode()), checks[3][1], SIGNER.verifier())
    checks[4] = (checks[4][0], checks[4][1][:-1], SIGNER.verifier())  # a signature a byte short
    assert failed_leaf_signatures(checks) == [1, 3, 4]
    for position, (leaf, sig, verifier) in enumerate(checks):
        with contextlib.nullcontext() if position in (0, 2) else pytest.raises(SignatureError):
            verifier.verify(parse_entry(leaf).signed_message(), sig[KEY_ID_SIZE:])


def test_a_prev_spelled_as_expected_is_not_decoded_and_any_other_is() -> None:
    before = leaf_hash(make(seq=0))
    leaf = make(seq=1, prev=before)
    assert parse_fields(leaf, (before, b64(before)))[1] is before
    other = bytes(32)
    assert parse_fields(leaf, (other, b64(other)))[1] == before  # decoded: the caller sees the break
    bad = leaf.replace(b64(before).encode(), b64(before)[:-2].encode() + b"B=")  # not canonical base64
    with pytest.raises(FormatError):
        parse_fields(bad, (before, b64(before)))
