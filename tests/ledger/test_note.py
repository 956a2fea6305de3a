"""ledger.note: C2SP signed notes, vkeys, Go-format signer keys."""

from __future__ import annotations

import base64
import contextlib
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.errors import NoteFormatError, SignatureError
from custody.ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    Signer,
    Verifier,
    add_signatures,
    check_key_name,
    format_note,
    key_id,
    open_note,
    parse_note,
    sign_note,
)
from tests.conftest import load_vector

VEC = load_vector("signed-note.json")
EM = "\u2014"


def signer(name: str, seed: int, alg: int = ALG_ED25519) -> Signer:
    return Signer(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32), alg)


def note_bytes(text: str, *lines: str) -> bytes:
    return (text + "\n" + "".join(line + "\n" for line in lines)).encode()


ALICE = signer("example.org/alice", 1)
BOB = signer("example.org/bob", 2)
TEXT = "hello\nworld\n"


# --- The published vectors. ---


def test_c2sp_example_verifies() -> None:
    ex = VEC["c2sp_example"]
    verifier = Verifier.from_vkey(ex["vkey"])
    assert verifier.name == "example.com/foo"
    assert verifier.alg == ALG_ED25519
    assert verifier.vkey == ex["vkey"]
    note, verified = open_note(note_bytes(ex["text"], ex["signature_line"]), [verifier])
    assert note.text == ex["text"]
    assert verified == (verifier,)
    assert note.signatures[0].line() == ex["signature_line"] + "\n"


def test_go_skey_reproduces_signature_byte_for_byte() -> None:
    pn = VEC["xmod_peter_neumann"]
    s = Signer.from_go_skey(pn["skey"])
    assert s.name == "PeterNeumann"
    assert s.key_id.hex() == "c74f20a3"
    assert s.verifier().vkey == pn["vkey"]
    expected = note_bytes(pn["text"], pn["signature_line"])
    assert sign_note(pn["text"], [s]) == expected
    note, verified = open_note(expected, [Verifier.from_vkey(pn["vkey"])])
    assert note.text == pn["text"]
    assert verified[0].vkey == pn["vkey"]


def test_sum_golang_org_checkpoint_verifies_and_parses() -> None:
    sg = VEC["sum_golang_org_checkpoint"]
    verifier = Verifier.from_vkey(sg["vkey"])
    note, verified = open_note(sg["note"].encode(), [verifier])
    assert verified == (verifier,)
    cp = Checkpoint.parse(note.text)
    assert cp.origin == "go.sum database tree"
    assert cp.size == 30055305
    assert base64.b64encode(cp.root_hash).decode() == "mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM="
    assert format_note(note) == sg["note"].encode()


def test_sum_golang_org_tampered_size_rejected() -> None:
    sg = VEC["sum_golang_org_checkpoint"]
    tampered = sg["note"].replace("30055305", "30055306").encode()
    with pytest.raises(SignatureError):
        open_note(tampered, [Verifier.from_vkey(sg["vkey"])])


@pytest.mark.parametrize(
    ("vkey", "hex_id"),
    [
        (VEC["c2sp_example"]["vkey"], "530d903a"),
        (VEC["xmod_peter_neumann"]["vkey"], "c74f20a3"),
        (VEC["sum_golang_org_checkpoint"]["vkey"], "033de0ae"),
    ],
)
def test_key_id_matches_vector(vkey: str, hex_id: str) -> None:
    v = Verifier.from_vkey(vkey)
    assert v.key_id.hex() == hex_id
    assert key_id(v.name, v.alg, v.public_key).hex() == hex_id


def test_key_id_formula() -> None:
    pub = bytes(range(32))
    assert key_id("a/b", 0x04, pub) == hashlib.sha256(b"a/b\n\x04" + pub).digest()[:4]
    assert key_id("a/b", 0x01, pub) != key_id("a/b", 0x04, pub)
    for alg in (-1, 256):
        with pytest.raises(ValueError):
            key_id("a/b", alg, pub)


# --- Key names. ---


@pytest.mark.parametrize(
    "name",
    ["", "a b", "a+b", "a\tb", "a\u3000b", "a\u00a0b", "a\u2028b", "a\u0085b", "a\nb", "a\x01b", "a\ud800b"],
)
def test_bad_key_names_rejected(name: str) -> None:
    with pytest.raises(NoteFormatError):
        check_key_name(name)
    with pytest.raises(NoteFormatError):
        Verifier(name, ALG_ED25519, bytes(32))


@pytest.mark.parametrize("name", ["a", "example.com/foo", "go.sum", "市役所/証跡", "a\u200bb", "a\x7fb"])
def test_good_key_names_accepted(name: str) -> None:
    check_key_name(name)


# --- vkeys. ---


def _vkey(name: str, alg: int, key: bytes, hex_id: str | None = None) -> str:
    hex_id = key_id(name, alg, key).hex() if hex_id is None else hex_id
    return f"{name}+{hex_id}+{base64.b64encode(bytes([alg]) + key).decode()}"


def test_vkey_round_trip_and_cosignature_type() -> None:
    w = signer("witness.example/w1", 9, ALG_COSIGNATURE_V1)
    v = Verifier.from_vkey(w.verifier().vkey)
    assert v.alg == ALG_COSIGNATURE_V1
    assert v == w.verifier()
    assert v.key_id == key_id("witness.example/w1", 0x04, v.public_key)


def test_vkey_uppercase_hex_accepted_written_lowercase() -> None:
    vkey = VEC["xmod_peter_neumann"]["vkey"].replace("c74f20a3", "C74F20A3")
    assert Verifier.from_vkey(vkey).vkey == VEC["xmod_peter_neumann"]["vkey"]


PUB = ALICE.verifier().public_key
GOOD_ID = key_id("n", 1, PUB).hex()


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "n",
        "n+" + GOOD_ID,
        _vkey("n", 1, PUB, "00000000"),  # key ID does not match
        _vkey("n", 1, PUB, GOOD_ID[:7]),  # 7 hex digits
        _vkey("n", 1, PUB, GOOD_ID + "0"),  # 9 hex digits
        _vkey("n", 1, PUB, "0x" + GOOD_ID[:6]),
        _vkey("n", 1, PUB, "-" + GOOD_ID[:7]),
        _vkey("n", 2, PUB),  # ECDSA type: unsupported
        _vkey("n", 0xFF, PUB),
        _vkey("n", 1, PUB[:31]),  # short key
        _vkey("n", 1, PUB + b"\0"),  # long key
        "n+" + key_id("n", 1, b"").hex() + "+",  # empty key material
        "a b+" + key_id("a b", 1, PUB).hex() + "+" + base64.b64encode(b"\x01" + PUB).decode(),
        _vkey("n", 1, PUB)[:-1],  # truncated base64
        _vkey("n", 1, PUB)[:-1] + "=",  # 32 bytes, padded
        "n+" + GOOD_ID + "+" + base64.urlsafe_b64encode(b"\x01" + PUB).decode(),  # URL alphabet
        _vkey("n", 1, PUB) + " ",
        _vkey("n", 1, PUB).replace("+", "+ ", 1),
    ],
)
def test_bad_vkeys_rejected(vkey: str) -> None:
    with pytest.raises(NoteFormatError):
        Verifier.from_vkey(vkey)


def test_signature_line_non_canonical_pad_bits_rejected() -> None:
    line = NoteSignature("a", b"abcd", bytes(64)).line()[:-1]  # 68 bytes: one '=' of padding
    assert line.endswith("A=")
    bad = line[:-2] + "B="
    assert base64.b64decode(bad.split(" ")[2]) == base64.b64decode(line.split(" ")[2])
    with pytest.raises(NoteFormatError):
        NoteSignature.parse_line(bad)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_from_vkey_arbitrary_text_only_note_format_error(text: str) -> None:
    with contextlib.suppress(NoteFormatError):
        Verifier.from_vkey(text)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z/.]{1,8}\+[0-9a-fA-F]{8}\+[A-Za-z0-9+/]{0,48}={0,2}", fullmatch=True))
def test_from_vkey_vkey_shaped_text_only_note_format_error(text: str) -> None:
    with contextlib.suppress(NoteFormatError):
        Verifier.from_vkey(text)


# --- Go-format private keys. ---


@pytest.mark.parametrize(
    "skey",
    [
        "",
        "PRIVATE+KEY",
        "PRIVATE+KEY+PeterNeumann",
        "private+key+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # wrong ID
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # type 0x02
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",  # bad b64
        "PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    ],
)
def test_bad_go_skeys_rejected_without_leaking(skey: str) -> None:
    with pytest.raises(NoteFormatError) as info:
        Signer.from_go_skey(skey)
    assert "AYEKFALVFGyN" not in str(info.value)


def test_go_skey_with_cosignature_type() -> None:
    w = signer("w.example/w", 7, ALG_COSIGNATURE_V1)
    seed = bytes([7]) * 32
    material = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + seed).decode()
    skey = f"PRIVATE+KEY+{w.name}+{w.key_id.hex()}+{material}"
    parsed = Signer.from_go_skey(skey)
    assert parsed.alg == ALG_COSIGNATURE_V1
    assert parsed.verifier() == w.verifier()


def test_signer_rejects_unsupported_type() -> None:
    with pytest.raises(ValueError):
        signer("a", 1, 0x02)
    with pytest.raises(NoteFormatError):
        signer("a b", 1)


def test_signer_repr_has_no_secret() -> None:
    assert "example.org/alice" in repr(ALICE)
    assert ALICE.key_id.hex() in repr(ALICE)


# --- Signature lines. ---


def test_signature_line_round_trip() -> None:
    sig = NoteSignature("example.org/alice", b"\x01\x02\x03\x04", bytes(64))
    line = sig.line()
    assert line.startswith(EM + " example.org/alice ")
    assert line.endswith("\n")
    assert NoteSignature.parse_line(line) == sig
    assert NoteSignature.parse_line(line[:-1]) == sig


B64_5 = base64.b64encode(b"\x01\x02\x03\x04\x05").decode()


@pytest.mark.parametrize(
    "line",
    [
        "",
        EM,
        f"{EM} name",
        f"{EM} name ",
        f"- name {B64_5}",  # hyphen, not em dash
        f"\u2013 name {B64_5}",  # en dash
        f"{EM}name {B64_5}",  # no space after the dash
        f"{EM}  name {B64_5}",  # empty name
        f"{EM} na+me {B64_5}",
        f"{EM} name  {B64_5}",  # two spaces
        f"{EM} name {B64_5} ",
        f"{EM} name {base64.b64encode(b'1234').decode()}",  # key ID only
        f"{EM} name AQID",  # 3 bytes
        f"{EM} name {B64_5.rstrip('=')}",
        f"{EM} name {B64_5}\r",
        f"{EM} name {B64_5}\n\n",
        f"{EM} name {B64_5}\t",
        f"{EM} name A\u00e9ID",
        f"{EM} name \ud800",
    ],
)
def test_bad_signature_lines_rejected(line: str) -> None:
    with pytest.raises(NoteFormatError):
        NoteSignature.parse_line(line)


@pytest.mark.parametrize(
    ("name", "kid", "sig"),
    [("a b", b"1234", b"x"), ("a", b"123", b"x"), ("a", b"12345", b"x"), ("a", b"1234", b"")],
)
def test_note_signature_fields_validated(name: str, kid: bytes, sig: bytes) -> None:
    with pytest.raises(NoteFormatError):
        NoteSignature(name, kid, sig)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_line_arbitrary_text_only_note_format_error(text: str) -> None:
    with contextlib.suppress(NoteFormatError):
        NoteSignature.parse_line(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12), st.binary(max_size=80))
def test_parse_line_dash_prefixed_only_note_format_error(name: str, raw: bytes) -> None:
    line = f"{EM} {name} {base64.b64encode(raw).decode()}"
    try:
        parsed = NoteSignature.parse_line(line)
    except NoteFormatError:
        return
    assert parsed.name == name
    assert parsed.key_id + parsed.signature == raw


# --- Parsing notes. ---


GOOD_LINE = NoteSignature("a", b"abcd", bytes(64)).line()[:-1]


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\n",
        b"\n\n",
        b"text\n",  # no signatures
        b"text\n\n",  # blank line but no signatures
        ("text\n" + GOOD_LINE + "\n").encode(),  # no blank line
        ("text\n\n" + GOOD_LINE).encode(),  # no final newline
        ("text\n\n" + GOOD_LINE + "\n\n").encode(),  # trailing blank line
        ("text\n\n" + GOOD_LINE.replace(EM, "-") + "\n").encode(),  # bad em-dash
        ("text\n\n" + GOOD_LINE.replace(EM, "\u2015") + "\n").encode(),  # horizontal bar
        ("text\n\n" + GOOD_LINE[:-4] + "!!!!\n").encode(),  # bad base64
        ("text\n\n" + f"{EM} a AQIDBA==\n").encode(),  # key ID only: short signature
        ("text\n\n" + GOOD_LINE + "\nnot a signature\n").encode(),
        ("te\txt\n\n" + GOOD_LINE + "\n").encode(),  # tab in text
        ("text\r\n\n" + GOOD_LINE + "\n").encode(),  # CR
        ("text\n\n" + GOOD_LINE + "\r\n").encode(),
        ("te\x00xt\n\n" + GOOD_LINE + "\n").encode(),
        b"t\xffext\n\n" + (GOOD_LINE + "\n").encode(),  # invalid UTF-8
        b"t\xed\xa0\x80ext\n\n" + (GOOD_LINE + "\n").encode(),  # encoded surrogate
        b"t\xc0\xafext\n\n" + (GOOD_LINE + "\n").encode(),  # overlong
        ("text\n\n" + GOOD_LINE.replace(" a ", " a+b ") + "\n").encode(),
        ("text\n\n" + GOOD_LINE.replace(" a ", " a\u3000b ") + "\n").encode(),
    ],
)
def test_malformed_notes_rejected(message: bytes) -> None:
    with pytest.raises(NoteFormatError):
        parse_note(message)


def test_text_is_split_at_last_blank_line() -> None:
    text = "para one\n\npara two\n\n"
    msg = sign_note(text, [ALICE])
    note = parse_note(msg)
    assert note.text == text
    open_note(msg, [ALICE.verifier()])


def test_signature_looking_line_before_last_blank_line_is_text() -> None:
    msg = ("text\n\n" + GOOD_LINE + "\n" + "\n" + GOOD_LINE + "\n").encode()
    note = parse_note(msg)
    assert note.text == "text\n\n" + GOOD_LINE + "\n"
    assert len(note.signatures) == 1


def test_minimal_text_is_one_newline() -> None:
    msg = sign_note("\n", [ALICE])
    assert msg.startswith(b"\n\n" + EM.encode())
    assert parse_note(msg).text == "\n"
    open_note(msg, [ALICE.verifier()])


def test_del_and_non_ascii_allowed_in_text() -> None:
    text = "\x7f 証跡 \ufffd\n"
    assert open_note(sign_note(text, [ALICE]), [ALICE.verifier()])[0].text == text


def test_signature_limit() -> None:
    sig = NoteSignature("a", b"abcd", bytes(64))
    exactly = note_bytes("t\n", *[sig.line()[:-1]] * MAX_SIGNATURES)
    assert len(parse_note(exactly).signatures) == MAX_SIGNATURES
    with pytest.raises(NoteFormatError):
        parse_note(note_bytes("t\n", *[sig.line()[:-1]] * (MAX_SIGNATURES + 1)))
    with pytest.raises(NoteFormatError):
        Note("t\n", (sig,) * (MAX_SIGNATURES + 1))


def test_at_least_sixteen_distinct_signers_accepted() -> None:
    signers = [signer(f"k{i}", i + 10) for i in range(16)]
    msg = sign_note(TEXT, signers)
    _, verified = open_note(msg, [s.verifier() for s in signers])
    assert len(verified) == 16


@pytest.mark.parametrize("text", ["", "no newline", "a\tb\n", "a\rb\n", "\ud800\n"])
def test_note_text_validated(text: str) -> None:
    with pytest.raises(NoteFormatError):
        Note(text, (NoteSignature("a", b"abcd", b"x"),))
    with pytest.raises(NoteFormatError):
        sign_note(text, [ALICE])


def test_note_needs_a_signature() -> None:
    with pytest.raises(NoteFormatError):
        Note("t\n", ())


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_parse_note_arbitrary_bytes_only_note_format_error(data: bytes) -> None:
    with contextlib.suppress(NoteFormatError):
        parse_note(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_notes_only_documented_errors(data: st.DataObject) -> None:
    msg = bytearray(sign_note(TEXT, [ALICE, BOB]))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(msg) - 1))
        msg[pos] = data.draw(st.integers(0, 255))
    with contextlib.suppress(NoteFormatError, SignatureError):
        open_note(bytes(msg), [ALICE.verifier()])


# --- Signing and round trips. ---

NAME_CHARS = st.characters(
    exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), exclude_characters="+\u0085\u1680\u180e"
)
TEXT_CHARS = st.characters(codec="utf-8", exclude_characters=[chr(c) for c in range(32)])


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(st.text(TEXT_CHARS, max_size=20), min_size=1, max_size=5),
    name=st.text(NAME_CHARS, min_size=1, max_size=15),
)
def test_round_trip_sign_parse_format(lines: list[str], name: str) -> None:
    text = "".join(line + "\n" for line in lines)
    s = signer(name, 5)
    msg = sign_note(text, [s, BOB])
    note = parse_note(msg)
    assert note.text == text
    assert [sig.name for sig in note.signatures] == [name, BOB.name]
    assert format_note(note) == msg
    _, verified = open_note(msg, [s.verifier()])
    assert verified == (s.verifier(),)


def test_sign_note_refuses_cosignature_key_and_no_signers() -> None:
    with pytest.raises(ValueError):
        sign_note(TEXT, [signer("w", 3, ALG_COSIGNATURE_V1)])
    with pytest.raises(ValueError):
        sign_note(TEXT, [])


def test_sign_note_same_key_twice_signs_once() -> None:
    assert len(parse_note(sign_note(TEXT, [ALICE, ALICE])).signatures) == 1


# --- Verification policy (signed-note "Signatures"). ---


def test_unknown_keys_ignored() -> None:
    msg = sign_note(TEXT, [BOB, ALICE])
    note, verified = open_note(msg, [ALICE.verifier()])
    assert verified == (ALICE.verifier(),)
    assert len(note.signatures) == 2


def test_unknown_key_with_garbage_signature_ignored() -> None:
    junk = NoteSignature("someone/else", b"\0\0\0\0", b"garbage")
    msg = add_signatures(sign_note(TEXT, [ALICE]), [junk])
    assert open_note(msg, [ALICE.verifier()])[1] == (ALICE.verifier(),)


def test_same_name_other_key_id_ignored() -> None:
    # A signature under Alice's name but another key ID is an unknown key.
    other = signer(ALICE.name, 42)
    msg = sign_note(TEXT, [other, ALICE])
    bad = add_signatures(sign_note(TEXT, [ALICE]), [NoteSignature(ALICE.name, other.key_id, bytes(64))])
    assert open_note(msg, [ALICE.verifier()])[1] == (ALICE.verifier(),)
    assert open_note(bad, [ALICE.verifier()])[1] == (ALICE.verifier(),)


def test_same_key_id_other_name_ignored() -> None:
    forged = NoteSignature("example.org/mallory", ALICE.key_id, bytes(64))
    msg = add_signatures(sign_note(TEXT, [ALICE]), [forged])
    assert open_note(msg, [ALICE.verifier()])[1] == (ALICE.verifier(),)


def _corrupt(sig: NoteSignature) -> NoteSignature:
    flipped = bytes([sig.signature[0] ^ 1]) + sig.signature[1:]
    return NoteSignature(sig.name, sig.key_id, flipped)


def test_known_key_with_bad_signature_rejects_whole_note() -> None:
    good = parse_note(sign_note(TEXT, [ALICE, BOB]))
    bad = Note(good.text, (good.signatures[0], _corrupt(good.signatures[1])))
    with pytest.raises(SignatureError):
        open_note(format_note(bad), [ALICE.verifier(), BOB.verifier()])
    # Bob unknown: his bad signature is ignored.
    assert open_note(format_note(bad), [ALICE.verifier()])[1] == (ALICE.verifier(),)


def test_repeated_line_from_known_key_all_checked() -> None:
    good = parse_note(sign_note(TEXT, [ALICE]))
    sig = good.signatures[0]
    twice = format_note(Note(good.text, (sig, sig)))
    assert open_note(twice, [ALICE.verifier()])[1] == (ALICE.verifier(),)
    with pytest.raises(SignatureError):
        open_note(format_note(Note(good.text, (sig, _corrupt(sig)))), [ALICE.verifier()])


def test_wrong_length_signature_from_known_key_rejects() -> None:
    short = NoteSignature(ALICE.name, ALICE.key_id, bytes(63))
    with pytest.raises(SignatureError):
        open_note(format_note(Note(TEXT, (short,))), [ALICE.verifier()])


def test_no_trusted_signature_rejects() -> None:
    with pytest.raises(SignatureError):
        open_note(sign_note(TEXT, [BOB]), [ALICE.verifier()])
    with pytest.raises(SignatureError):
        open_note(sign_note(TEXT, [BOB]), [])


def test_text_change_rejected() -> None:
    msg = sign_note(TEXT, [ALICE])
    with pytest.raises(SignatureError):
        open_note(msg.replace(b"hello", b"hellO"), [ALICE.verifier()])


def test_cosignature_verifiers_not_checked_as_plain_ed25519() -> None:
    witness = signer("witness.example/w", 11, ALG_COSIGNATURE_V1)
    # A line under the witness's name and 0x04 key ID whose bytes would not
    # verify as a plain Ed25519 signature must not fail open_note.
    cosig = NoteSignature(witness.name, witness.key_id, bytes(72))
    msg = add_signatures(sign_note(TEXT, [ALICE]), [cosig])
    _, verified = open_note(msg, [ALICE.verifier(), witness.verifier()])
    assert verified == (ALICE.verifier(),)
    # And a witness key alone never makes a note verified.
    only_cosig = format_note(Note(TEXT, (cosig,)))
    with pytest.raises(SignatureError):
        open_note(only_cosig, [witness.verifier()])


def test_ambiguous_verifiers_rejected() -> None:
    real = ALICE.verifier()
    msg = sign_note(TEXT, [ALICE])
    assert open_note(msg, [real, real])[1] == (real,)
    clash = _ClashingVerifier(real.name, real.alg, bytes(32))
    assert clash.key_id == real.key_id
    for order in ([real, clash], [clash, real]):
        with pytest.raises(SignatureError, match="ambiguous"):
            open_note(msg, order)


class _ClashingVerifier(Verifier):
    """A verifier that claims Alice's key ID for another key (a corrupted trust list)."""

    @property
    def key_id(self) -> bytes:
        return ALICE.key_id


def test_verifier_verify_raises() -> None:
    v = ALICE.verifier()
    sig = ALICE.sign(b"m")
    v.verify(b"m", sig)
    for message, signature in [(b"n", sig), (b"m", sig[:-1]), (b"m", sig + b"\0"), (b"m", bytes(64))]:
        with pytest.raises(SignatureError):
            v.verify(message, signature)


@pytest.mark.parametrize(("alg", "key"), [(0x02, bytes(32)), (0x01, bytes(31)), (0x04, bytes(33))])
def test_verifier_fields_validated(alg: int, key: bytes) -> None:
    with pytest.raises(NoteFormatError):
        Verifier("a", alg, key)


# --- Merging signatures. ---


def test_add_signatures_merges_without_duplicates() -> None:
    base = sign_note(TEXT, [ALICE])
    bob_sig = parse_note(sign_note(TEXT, [BOB])).signatures[0]
    merged = add_signatures(base, [bob_sig, bob_sig])
    note = parse_note(merged)
    assert note.text == TEXT
    assert [s.name for s in note.signatures] == [ALICE.name, BOB.name]
    assert add_signatures(merged, [bob_sig]) == merged
    assert merged.startswith(base)
    _, verified = open_note(merged, [ALICE.verifier(), BOB.verifier()])
    assert verified == (ALICE.verifier(), BOB.verifier())


def test_add_signatures_first_wins_for_same_key() -> None:
    base = sign_note(TEXT, [ALICE])
    other = NoteSignature(ALICE.name, ALICE.key_id, bytes(64))
    assert add_signatures(base, [other]) == base


def test_add_signatures_respects_limit_and_format() -> None:
    sigs = [NoteSignature(f"k{i}", b"abcd", b"x") for i in range(MAX_SIGNATURES)]
    with pytest.raises(NoteFormatError):
        add_signatures(sign_note(TEXT, [ALICE]), sigs)
    with pytest.raises(NoteFormatError):
        add_signatures(b"not a note", [])


_HUGE = "n" * 500_000


@pytest.mark.parametrize(("what", "parse"), [
    ("vkey with a bad key", lambda: Verifier.from_vkey(f"{_HUGE}+abcd1234+AQ==")),
    ("vkey with a bad key ID", lambda: Verifier.from_vkey(f"{_HUGE}+zz+AQ==")),
    ("private key with a bad key ID", lambda: Signer.from_go_skey(f"PRIVATE+KEY+{_HUGE}+zz+AQ==")),
    ("signature line", lambda: parse_note(f"text\n\n\u2014 {_HUGE} AQ==\n".encode())),
])
def test_a_huge_name_is_quoted_short(what: str, parse: object) -> None:
    """A damaged vkey or note may carry a name of megabytes: the message cites it short (fuzz: messages of
    up to 948,089 characters before)."""
    with pytest.raises(NoteFormatError) as caught:
        parse()  # type: ignore[operator]
    assert len(str(caught.value)) < 400, what
    assert "500,000" in str(caught.value), what
