"""ledger.keyenvelope: sealing and opening private-key envelopes (docs/spec.md §6 (Keys))."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import canonical, i18n
from custody.ledger.errors import KeyFileError, PassphraseError
from custody.ledger.keyenvelope import envelope_info, open_private_key, seal_private_key

N = 2**15
PASS = b"correct horse battery staple"
NAME = "alice.example"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are matched in English; the default language is Japanese."""
    before = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


@cache
def _sealed() -> tuple[Ed25519PrivateKey, bytes]:
    key = Ed25519PrivateKey.generate()
    return key, seal_private_key(NAME, key, PASS, n=N)


@pytest.fixture
def sealed() -> tuple[Ed25519PrivateKey, bytes]:
    return _sealed()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def edit(envelope: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    obj = json.loads(envelope)
    change(obj)
    return json.dumps(obj).encode()


def test_round_trip(sealed: tuple[Ed25519PrivateKey, bytes]) -> None:
    key, envelope = sealed
    name, opened = open_private_key(envelope, PASS)
    assert name == NAME
    assert raw_private(opened) == raw_private(key)
    assert envelope_info(envelope) == (NAME, raw_public(key))


def test_envelope_shape(sealed: tuple[Ed25519PrivateKey, bytes]) -> None:
    key, envelope = sealed
    obj = canonical.loads_canonical(envelope)
    assert obj["custody-key"] == 1
    assert obj["alg"] == "ed25519"
    assert obj["public"] == b64(raw_public(key))
    assert obj["kdf"] == {"name": "scrypt", "n": N, "r": 8, "p": 1, "salt": obj["kdf"]["salt"]}
    assert len(base64.b64decode(obj["kdf"]["salt"])) == 16
    assert obj["aead"]["name"] == "aes-256-gcm"
    assert len(base64.b64decode(obj["aead"]["nonce"])) == 12
    assert len(base64.b64decode(obj["ciphertext"])) == 48
    assert raw_private(key) not in envelope
    assert b64(raw_private(key)).encode() not in envelope


def test_default_cost_is_2_17() -> None:
    envelope = seal_private_key(NAME, Ed25519PrivateKey.generate(), PASS)
    assert json.loads(envelope)["kdf"]["n"] == 2**17


def test_fresh_salt_and_nonce_each_time(sealed: tuple[Ed25519PrivateKey, bytes]) -> None:
    key, envelope = sealed
    again = json.loads(seal_private_key(NAME, key, PASS, n=N))
    first = json.loads(envelope)
    assert again["kdf"]["salt"] != first["kdf"]["salt"]
    assert again["aead"]["nonce"] != first["aead"]["nonce"]


def test_wrong_passphrase(sealed: tuple[Ed25519PrivateKey, bytes]) -> None:
    _, envelope = sealed
    with pytest.raises(PassphraseError, match="passphrase") as info:
        open_private_key(envelope, b"wrong")
    assert info.value.exit_code == 5
    assert info.value.hint


@pytest.mark.parametrize("passphrase", [b""])
def test_empty_passphrase_refused(sealed: tuple[Ed25519PrivateKey, bytes], passphrase: bytes) -> None:
    _, envelope = sealed
    with pytest.raises(PassphraseError):
        open_private_key(envelope, passphrase)
    with pytest.raises(PassphraseError):
        seal_private_key(NAME, Ed25519PrivateKey.generate(), passphrase, n=N)


def _flip_b64(value: str) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[0] ^= 1
    return b64(bytes(raw))


def _set(path: tuple[str, ...], fn: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        for part in path[:-1]:
            obj = obj[part]
        obj[path[-1]] = fn(obj[path[-1]])

    return change


# Well-formed but altered: AES-GCM (key, nonce, associated data) no longer matches.
TAMPERED = {
    "ciphertext": _set(("ciphertext",), _flip_b64),
    "nonce": _set(("aead", "nonce"), _flip_b64),
    "salt": _set(("kdf", "salt"), _flip_b64),
    "name": _set(("name",), lambda _: "mallory.example"),
    "public": _set(("public",), lambda _: b64(raw_public(Ed25519PrivateKey.generate()))),
    "n": _set(("kdf", "n"), lambda _: 2**16),
}


@pytest.mark.parametrize("field", sorted(TAMPERED))
def test_tampered_envelope_does_not_open(sealed: tuple[Ed25519PrivateKey, bytes], field: str) -> None:
    _, envelope = sealed
    with pytest.raises(PassphraseError):
        open_private_key(edit(envelope, TAMPERED[field]), PASS)


def _seal_inconsistent(key: Ed25519PrivateKey, public: bytes) -> bytes:
    """An envelope made with the passphrase whose public key is another key's."""
    salt, nonce = b"s" * 16, b"n" * 12
    aes = Scrypt(salt=salt, length=32, n=N, r=8, p=1).derive(PASS)
    aad = canonical.dumps({"custody-key": 1, "name": NAME, "alg": "ed25519", "public": b64(public)})
    ciphertext = AESGCM(aes).encrypt(nonce, raw_private(key), aad)
    return canonical.dumps(
        {
            "custody-key": 1,
            "name": NAME,
            "alg": "ed25519",
            "public": b64(public),
            "kdf": {"name": "scrypt", "n": N, "r": 8, "p": 1, "salt": b64(salt)},
            "aead": {"name": "aes-256-gcm", "nonce": b64(nonce)},
            "ciphertext": b64(ciphertext),
        }
    )


def test_public_key_mismatch_is_key_file_error() -> None:
    key = Ed25519PrivateKey.generate()
    good = _seal_inconsistent(key, raw_public(key))
    assert raw_private(open_private_key(good, PASS)[1]) == raw_private(key)
    other = raw_public(Ed25519PrivateKey.generate())
    with pytest.raises(KeyFileError) as info:
        open_private_key(_seal_inconsistent(key, other), PASS)
    assert not isinstance(info.value, PassphraseError)


@pytest.mark.parametrize("n", [2**14, 2**10, 1, 0, -(2**17)])
def test_weak_scrypt_refused_on_read(sealed: tuple[Ed25519PrivateKey, bytes], n: int) -> None:
    _, envelope = sealed
    weak = edit(envelope, _set(("kdf", "n"), lambda _: n))
    for call in (lambda: open_private_key(weak, PASS), lambda: envelope_info(weak)):
        with pytest.raises(KeyFileError, match="scrypt") as info:
            call()
        assert not isinstance(info.value, PassphraseError)


@pytest.mark.parametrize("n", [2**14, 2**15 + 1, 3 * 2**15, 2**21, True])
def test_bad_scrypt_cost_refused_on_seal(n: int) -> None:
    with pytest.raises(KeyFileError, match="scrypt"):
        seal_private_key(NAME, Ed25519PrivateKey.generate(), PASS, n=n)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nl\n", "ctl\x01", "wide\u3000space", 7, None])
def test_bad_key_name_refused_on_seal(name: Any) -> None:
    with pytest.raises(KeyFileError, match="key name"):
        seal_private_key(name, Ed25519PrivateKey.generate(), PASS, n=N)


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        for part in path[:-1]:
            obj = obj[part]
        del obj[path[-1]]

    return change


def _put(value: Any, *path: str) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        for part in path[:-1]:
            obj = obj[part]
        obj[path[-1]] = value

    return change


def _b64_of(size: int, *path: str) -> Callable[[dict[str, Any]], None]:
    return _put(b64(b"\x01" * size), *path)


MALFORMED: dict[str, Callable[[dict[str, Any]], None]] = {
    **{f"missing {m}": _drop(m) for m in ("custody-key", "name", "alg", "public", "kdf", "aead", "ciphertext")},
    **{f"missing kdf.{m}": _drop("kdf", m) for m in ("name", "n", "r", "p", "salt")},
    **{f"missing aead.{m}": _drop("aead", m) for m in ("name", "nonce")},
    "extra member": _put(1, "comment"),
    "extra kdf member": _put(1, "kdf", "maxmem"),
    "extra aead member": _put(1, "aead", "tag"),
    "version 2": _put(2, "custody-key"),
    "version 0": _put(0, "custody-key"),
    "version string": _put("1", "custody-key"),
    "version true": _put(True, "custody-key"),
    "alg ecdsa": _put("ecdsa-p256", "alg"),
    "alg Ed25519": _put("Ed25519", "alg"),
    "alg null": _put(None, "alg"),
    "name number": _put(1, "name"),
    "name empty": _put("", "name"),
    "name with space": _put("a b", "name"),
    "name with plus": _put("a+b", "name"),
    "public 31 bytes": _b64_of(31, "public"),
    "public 33 bytes": _b64_of(33, "public"),
    "public not base64": _put("!!!!", "public"),
    "public unpadded": _put(b64(b"\x01" * 32).rstrip("="), "public"),
    "public non-canonical": _put(b64(b"\x01" * 32)[:-2] + "F=", "public"),
    "public urlsafe": _put(base64.urlsafe_b64encode(b"\xff" * 32).decode(), "public"),
    "public number": _put(5, "public"),
    "public non-ascii": _put("é" * 44, "public"),
    "kdf not object": _put("scrypt", "kdf"),
    "kdf argon2": _put("argon2id", "kdf", "name"),
    "kdf n string": _put("131072", "kdf", "n"),
    "kdf n float-ish bool": _put(True, "kdf", "n"),
    "kdf r 16": _put(16, "kdf", "r"),
    "kdf r 1": _put(1, "kdf", "r"),
    "kdf p 2": _put(2, "kdf", "p"),
    "kdf p string": _put("1", "kdf", "p"),
    "salt 15 bytes": _b64_of(15, "kdf", "salt"),
    "salt 17 bytes": _b64_of(17, "kdf", "salt"),
    "salt empty": _put("", "kdf", "salt"),
    "salt number": _put(0, "kdf", "salt"),
    "aead not object": _put([], "aead"),
    "aead chacha": _put("chacha20-poly1305", "aead", "name"),
    "nonce 11 bytes": _b64_of(11, "aead", "nonce"),
    "nonce 13 bytes": _b64_of(13, "aead", "nonce"),
    "nonce list": _put(["a"], "aead", "nonce"),
    "ciphertext 47 bytes": _b64_of(47, "ciphertext"),
    "ciphertext 49 bytes": _b64_of(49, "ciphertext"),
    "ciphertext 32 bytes (no tag)": _b64_of(32, "ciphertext"),
    "ciphertext null": _put(None, "ciphertext"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_envelope(sealed: tuple[Ed25519PrivateKey, bytes], case: str) -> None:
    _, envelope = sealed
    bad = edit(envelope, MALFORMED[case])
    for call in (lambda: open_private_key(bad, PASS), lambda: envelope_info(bad)):
        with pytest.raises(KeyFileError) as info:
            call()
        assert not isinstance(info.value, PassphraseError), case


NOT_JSON = [
    b"",
    b"not json",
    b"[]",
    b"null",
    b'"custody-key"',
    b"\xff\xfe",
    b'{"custody-key": 1, "custody-key": 1}',
    b'{"custody-key": NaN}',
    b'{"custody-key": 1.0}',
    b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
]


@pytest.mark.parametrize("data", NOT_JSON)
def test_not_an_envelope(data: bytes) -> None:
    for call in (lambda: open_private_key(data, PASS), lambda: envelope_info(data)):
        with pytest.raises(KeyFileError) as info:
            call()
        assert not isinstance(info.value, PassphraseError)


def test_duplicate_member_refused(sealed: tuple[Ed25519PrivateKey, bytes]) -> None:
    _, envelope = sealed
    doubled = envelope.replace(b'"alg":"ed25519"', b'"alg":"ed25519","alg":"ed25519"')
    with pytest.raises(KeyFileError):
        envelope_info(doubled)


def test_non_canonical_layout_still_opens(sealed: tuple[Ed25519PrivateKey, bytes]) -> None:
    """Whitespace and member order are not part of the format (a hand-edited copy still opens)."""
    key, envelope = sealed
    pretty = json.dumps(json.loads(envelope), indent=2).encode()
    assert raw_private(open_private_key(pretty, PASS)[1]) == raw_private(key)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_key_errors(data: bytes) -> None:
    for call in (lambda: open_private_key(data, PASS), lambda: envelope_info(data)):
        with pytest.raises(KeyFileError):
            call()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    member=st.sampled_from(["custody-key", "name", "alg", "public", "kdf", "aead", "ciphertext"]),
    value=_json_values,
)
def test_arbitrary_member_values_only_key_errors(member: str, value: Any) -> None:
    _, envelope = _sealed()
    obj = json.loads(envelope)
    obj[member] = value
    data = json.dumps(obj).encode()
    # Only KeyFileError (PassphraseError is one) may escape; anything else fails the test.
    for call in (lambda: envelope_info(data), lambda: open_private_key(data, PASS)):
        with contextlib.suppress(KeyFileError):
            call()


@pytest.mark.parametrize("member", ["alg", "name", "custody-key", "kdf.name", "kdf.n", "aead.name"])
def test_a_huge_value_is_quoted_short(member: str) -> None:
    # make fuzz (keyfile) saw messages of 1,884,963 and 348,821 characters: a value from the file, quoted whole.
    import json

    from custody.ledger.errors import KeyFileError
    from custody.ledger.keyenvelope import envelope_info, open_private_key

    _, envelope = _sealed()
    doc = json.loads(envelope)  # a real envelope: every check before the damaged member passes
    *outer, last = member.split(".")
    holder: dict[str, Any] = doc
    for name in outer:
        holder = holder[name]
    holder[last] = "x" * 1_000_000
    data = json.dumps(doc).encode()
    with pytest.raises(KeyFileError) as caught:
        envelope_info(data)
        open_private_key(data, PASS)  # what opening checks besides (the scrypt cost)
    assert len(caught.value.message) < 2_000
