"""ledger.keyfile: key files on disk and passphrase sources (docs/spec.md §6 (Keys))."""

from __future__ import annotations

import ast
import getpass
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger import i18n, keyfile
from custody.ledger.errors import KeyFileError, PassphraseError
from custody.ledger.keyfile import (
    generate_key,
    key_file_info,
    read_key_file,
    resolve_passphrase,
    write_key_file,
)

N = 2**15
PASS = b"pass phrase"
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are matched in English; the default language is Japanese."""
    before = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


def raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.fixture
def key_path(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey]:
    key = generate_key()
    path = tmp_path / "alice.key"
    write_key_file(path, "alice", key, PASS, n=N)
    return path, key


def test_generate_key_is_random() -> None:
    assert raw_private(generate_key()) != raw_private(generate_key())


def test_round_trip(key_path: tuple[Path, Ed25519PrivateKey]) -> None:
    path, key = key_path
    name, opened = read_key_file(path, PASS)
    assert name == "alice"
    assert raw_private(opened) == raw_private(key)
    assert key_file_info(path) == ("alice", raw_public(key))


def test_wrong_passphrase(key_path: tuple[Path, Ed25519PrivateKey]) -> None:
    path, _ = key_path
    with pytest.raises(PassphraseError):
        read_key_file(path, b"not it")


@posix_only
def test_created_with_mode_0600(key_path: tuple[Path, Ed25519PrivateKey]) -> None:
    path, _ = key_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@posix_only
def test_mode_0600_even_with_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_key_file(tmp_path / "k", "k", generate_key(), PASS, n=N)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o700 | 0o001])
def test_too_open_mode_refused(key_path: tuple[Path, Ed25519PrivateKey], mode: int) -> None:
    path, _ = key_path
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="other users") as info:
        read_key_file(path, PASS)
    assert not isinstance(info.value, PassphraseError)
    assert info.value.hint == f"Restrict it to its owner: chmod 600 {path}"


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_owner_only_modes_accepted(key_path: tuple[Path, Ed25519PrivateKey], mode: int) -> None:
    path, _ = key_path
    path.chmod(mode)
    assert read_key_file(path, PASS)[0] == "alice"


@posix_only
def test_info_does_not_need_strict_mode(key_path: tuple[Path, Ed25519PrivateKey]) -> None:
    path, key = key_path
    path.chmod(0o644)
    assert key_file_info(path) == ("alice", raw_public(key))


def test_existing_file_not_overwritten(key_path: tuple[Path, Ed25519PrivateKey]) -> None:
    path, key = key_path
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        write_key_file(path, "bob", generate_key(), PASS, n=N)
    assert path.read_bytes() == before
    assert raw_private(read_key_file(path, PASS)[1]) == raw_private(key)


def test_existing_foreign_file_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"precious")
    with pytest.raises(KeyFileError):
        write_key_file(path, "bob", generate_key(), PASS, n=N)
    assert path.read_bytes() == b"precious"


@posix_only
def test_dangling_symlink_not_followed_on_create(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    link = tmp_path / "k.key"
    link.symlink_to(target)
    with pytest.raises(KeyFileError, match="already exists"):
        write_key_file(link, "k", generate_key(), PASS, n=N)
    assert not target.exists()


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="Cannot create"):
        write_key_file(tmp_path / "no" / "such" / "k", "k", generate_key(), PASS, n=N)


def test_invalid_input_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "k"
    with pytest.raises(KeyFileError):
        write_key_file(path, "bad name", generate_key(), PASS, n=N)
    with pytest.raises(PassphraseError):
        write_key_file(path, "k", generate_key(), b"", n=N)
    assert not path.exists()


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k"

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(KeyFileError, match="No space left"):
        write_key_file(path, "k", generate_key(), PASS, n=N)
    assert not path.exists()


def test_missing_file(tmp_path: Path) -> None:
    for call in (lambda: read_key_file(tmp_path / "absent", PASS), lambda: key_file_info(tmp_path / "absent")):
        with pytest.raises(KeyFileError, match="does not exist") as info:
            call()
        assert not isinstance(info.value, PassphraseError)
        assert info.value.exit_code == 5


@posix_only
def test_directory_is_not_a_key_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyFileError):
        read_key_file(folder, PASS)


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage"
    path.write_bytes(b"\x00\x01garbage")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="Not a valid custody key envelope"):
        read_key_file(path, PASS)


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b" " * (keyfile.MAX_KEY_FILE_SIZE + 1))
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="too large"):
        key_file_info(path)


# --- Passphrase sources. ---


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("CUSTODY_PASSPHRASE", raising=False)
    return monkeypatch


def _no_prompt(prompt: str = "") -> str:
    raise AssertionError("must not prompt")


def owner_only(path: Path, content: bytes) -> Path:
    """A passphrase file as custody wants it: mode 0600, owned by this user."""
    path.write_bytes(content)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"secret\n", b"secret"),
        (b"secret", b"secret"),
        (b"secret\r\n", b"secret"),
        (b"secret\n\n", b"secret\n"),
        (b" secret \n", b" secret "),
        ("pässphrase\n".encode(), "pässphrase".encode()),
    ],
)
def test_passphrase_from_file(
    tmp_path: Path, no_env: pytest.MonkeyPatch, content: bytes, expected: bytes
) -> None:
    no_env.setattr(getpass, "getpass", _no_prompt)
    no_env.setenv("CUSTODY_PASSPHRASE", "from-env")
    path = owner_only(tmp_path / "pass", content)
    got = resolve_passphrase(passphrase_file=path, prompt=None, interactive=True)
    assert got == expected


@pytest.mark.parametrize("content", [b"", b"\n", b"\r\n"])
def test_empty_passphrase_file_refused(tmp_path: Path, no_env: pytest.MonkeyPatch, content: bytes) -> None:
    path = owner_only(tmp_path / "pass", content)
    with pytest.raises(PassphraseError, match="empty"):
        resolve_passphrase(passphrase_file=path, prompt=None, interactive=False)


def test_missing_passphrase_file(tmp_path: Path, no_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(PassphraseError, match="Cannot read passphrase file"):
        resolve_passphrase(passphrase_file=tmp_path / "absent", prompt=None, interactive=False)


# Passphrase files are held to OpenSSH's rule for private keys, and to their owner (ledger/keyfile.py).


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620, 0o606, 0o602, 0o666, 0o610, 0o601, 0o700 | 0o004])
def test_passphrase_file_others_may_use_is_refused(tmp_path: Path, no_env: pytest.MonkeyPatch, mode: int) -> None:
    path = owner_only(tmp_path / "pass", b"secret\n")
    path.chmod(mode)
    no_env.setenv("CUSTODY_PASSPHRASE", "from env")  # a file given is the source: no quiet fallback
    with pytest.raises(PassphraseError) as info:
        resolve_passphrase(passphrase_file=path, prompt=None, interactive=False)
    assert info.value.message == (
        f"Passphrase file {path} can be accessed by other users (mode {mode:04o}); it was not used.")
    assert info.value.hint == f"Restrict it to its owner: chmod 600 {path}"
    assert info.value.exit_code == 5


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_passphrase_file_for_its_owner_only_is_read(tmp_path: Path, no_env: pytest.MonkeyPatch, mode: int) -> None:
    path = owner_only(tmp_path / "pass", b"secret\n")
    path.chmod(mode)
    assert resolve_passphrase(passphrase_file=path, prompt=None, interactive=False) == b"secret"


@posix_only
@pytest.mark.skipif(os.name == "posix" and os.geteuid() != 0,
                    reason="only root can give a file away, and open another user's owner-only file at all")
@pytest.mark.parametrize("owner", ["other uid", "other uid, world-readable"])
def test_passphrase_file_of_another_user_is_refused(tmp_path: Path, no_env: pytest.MonkeyPatch, owner: str) -> None:
    """Root reads any file; a passphrase file another user owns (and so may rewrite) is still refused."""
    path = owner_only(tmp_path / "pass", b"secret\n")
    os.chown(path, 4321, 4321)
    if "world" in owner:
        path.chmod(0o644)  # both wrong: the mode is named first
    with pytest.raises(PassphraseError) as info:
        resolve_passphrase(passphrase_file=path, prompt=None, interactive=False)
    if "world" in owner:
        assert "mode 0644" in info.value.message
    else:
        assert info.value.message == (f"Passphrase file {path} belongs to another user (uid 4321), not to the user "
                                      f"running custody (uid {os.geteuid()}); it was not used.")
        assert f"chown {os.geteuid()} {path}" in (info.value.hint or "")
        assert "chmod 600" in (info.value.hint or "")


@posix_only
@pytest.mark.parametrize("what", ["fifo", "directory", "/dev/zero"])
def test_passphrase_file_must_be_a_regular_file(tmp_path: Path, no_env: pytest.MonkeyPatch, what: str) -> None:
    """Neither a pipe (which would hang the open) nor a device (read for ever) nor a directory."""
    path = tmp_path / "pass"
    if what == "fifo":
        os.mkfifo(path, 0o600)
    elif what == "directory":
        path.mkdir(mode=0o700)
    else:
        path = Path(what)
    with pytest.raises(PassphraseError, match="is not a regular file"):
        resolve_passphrase(passphrase_file=path, prompt=None, interactive=False)


def test_passphrase_file_size_is_bounded(tmp_path: Path, no_env: pytest.MonkeyPatch) -> None:
    limit = keyfile.MAX_PASSPHRASE_FILE_SIZE
    at_limit = owner_only(tmp_path / "ok", b"p" * limit)
    assert resolve_passphrase(passphrase_file=at_limit, prompt=None, interactive=False) == b"p" * limit
    over = owner_only(tmp_path / "big", b"p" * (limit + 1))
    with pytest.raises(PassphraseError, match=f"larger than {limit} bytes"):
        resolve_passphrase(passphrase_file=over, prompt=None, interactive=False)


def test_write_passphrase_file(tmp_path: Path, no_env: pytest.MonkeyPatch) -> None:
    """What the demo and the benchmarks write: owner-only from the start, readable back, never overwriting."""
    old = os.umask(0)
    try:
        keyfile.write_passphrase_file(tmp_path / "p", b"demo pass")
    finally:
        os.umask(old)
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o600
    assert resolve_passphrase(passphrase_file=tmp_path / "p", prompt=None, interactive=False) == b"demo pass"
    with pytest.raises(PassphraseError, match="Cannot create passphrase file"):
        keyfile.write_passphrase_file(tmp_path / "p", b"other")
    assert (tmp_path / "p").read_bytes() == b"demo pass\n"


def test_passphrase_from_env(no_env: pytest.MonkeyPatch) -> None:
    no_env.setattr(getpass, "getpass", _no_prompt)
    no_env.setenv("CUSTODY_PASSPHRASE", "from env\n")
    assert resolve_passphrase(passphrase_file=None, prompt=None, interactive=True) == b"from env\n"


def test_passphrase_from_other_env_var(no_env: pytest.MonkeyPatch) -> None:
    no_env.setenv("WITNESS_PASSPHRASE", "w")
    got = resolve_passphrase(passphrase_file=None, env_var="WITNESS_PASSPHRASE", prompt=None, interactive=False)
    assert got == b"w"


def test_empty_env_refused(no_env: pytest.MonkeyPatch) -> None:
    no_env.setenv("CUSTODY_PASSPHRASE", "")
    with pytest.raises(PassphraseError, match="CUSTODY_PASSPHRASE"):
        resolve_passphrase(passphrase_file=None, prompt=None, interactive=True)


def test_nothing_given_non_interactive(no_env: pytest.MonkeyPatch) -> None:
    no_env.setattr(getpass, "getpass", _no_prompt)
    with pytest.raises(PassphraseError, match="No passphrase") as info:
        resolve_passphrase(passphrase_file=None, prompt=None, interactive=False)
    hint = info.value.hint or ""
    assert "--passphrase-file" in hint
    assert "CUSTODY_PASSPHRASE" in hint
    assert "terminal" in hint
    assert info.value.exit_code == 5


def test_prompt(no_env: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def answer(prompt: str = "") -> str:
        asked.append(prompt)
        return "typed é"

    no_env.setattr(getpass, "getpass", answer)
    got = resolve_passphrase(passphrase_file=None, prompt="Key passphrase: ", interactive=True)
    assert got == "typed é".encode()
    assert asked == ["Key passphrase: "]


def test_prompt_confirm(no_env: pytest.MonkeyPatch) -> None:
    answers = iter(["same", "same"])
    no_env.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert resolve_passphrase(passphrase_file=None, prompt=None, confirm=True, interactive=True) == b"same"


def test_prompt_confirm_mismatch(no_env: pytest.MonkeyPatch) -> None:
    answers = iter(["one", "two"])
    no_env.setattr(getpass, "getpass", lambda prompt="": next(answers))
    with pytest.raises(PassphraseError, match="differ"):
        resolve_passphrase(passphrase_file=None, prompt=None, confirm=True, interactive=True)


def test_prompt_empty_refused(no_env: pytest.MonkeyPatch) -> None:
    no_env.setattr(getpass, "getpass", lambda prompt="": "")
    with pytest.raises(PassphraseError, match="empty"):
        resolve_passphrase(passphrase_file=None, prompt=None, interactive=True)


def test_prompt_eof(no_env: pytest.MonkeyPatch) -> None:
    def eof(prompt: str = "") -> str:
        raise EOFError

    no_env.setattr(getpass, "getpass", eof)
    with pytest.raises(PassphraseError):
        resolve_passphrase(passphrase_file=None, prompt=None, interactive=True)


def test_japanese_messages(tmp_path: Path, no_env: pytest.MonkeyPatch) -> None:
    i18n.set_language("ja")
    with pytest.raises(PassphraseError) as info:
        resolve_passphrase(passphrase_file=None, prompt=None, interactive=False)
    assert "パスフレーズ" in info.value.message
    assert "CUSTODY_PASSPHRASE" in (info.value.hint or "")
    with pytest.raises(KeyFileError) as missing:
        read_key_file(tmp_path / "absent", PASS)
    assert str(tmp_path / "absent") in missing.value.message
    assert "存在しません" in missing.value.message


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX environment bytes")
def test_env_non_utf8_bytes_kept(no_env: pytest.MonkeyPatch) -> None:
    no_env.setenv("CUSTODY_PASSPHRASE", os.fsdecode(b"\xffraw"))
    assert resolve_passphrase(passphrase_file=None, prompt=None, interactive=False) == b"\xffraw"


@posix_only
def test_fifo_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyFileError, match="not a regular file"):
        read_key_file(fifo, PASS)


def test_messages_translated() -> None:
    """Every message of keyenvelope and keyfile has a Japanese translation with the same placeholders."""
    root = Path(__file__).resolve().parents[2]
    msgids: set[str] = set()
    for module in ("keyenvelope.py", "keyfile.py"):
        tree = ast.parse((root / "ledger" / module).read_text(encoding="utf-8"))
        msgids |= {
            str(node.args[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_"
            and isinstance(node.args[0], ast.Constant)
        }
    with (root / "ledger" / "locale" / "ja" / "keys.po").open("rb") as fh:
        catalog = {str(m.id): str(m.string) for m in read_po(fh, locale="ja") if m.id}
    assert len(msgids) > 20
    for msgid in msgids:
        assert catalog.get(msgid), msgid
        assert set(re.findall(r"\{[^}]*\}", msgid)) == set(re.findall(r"\{[^}]*\}", catalog[msgid])), msgid
