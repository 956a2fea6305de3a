"""Key files and passphrases: the I/O layer above ``ledger.keyenvelope``.

docs/spec.md §6 (Keys): a private key lives only in a scrypt + AES-GCM
envelope (see ``ledger.keyenvelope`` for the format), in a file of mode 0600;
the passphrase comes from a prompt, a file or an environment variable.

A key file is created with ``O_CREAT | O_EXCL`` and mode 0600 from the start
(never widened, then narrowed), written, fsynced, and its directory fsynced;
an existing file is never overwritten.  On POSIX, reading refuses a key file
that any group or other user may access (``mode & 0o077``, as OpenSSH does),
and says how to fix it.  ``key_file_info`` reads only public members and does
not check the mode.

A passphrase file is held to a stricter rule, because it is the secret itself
(docs/spec.md §6.4): it must be a regular file of at most
``MAX_PASSPHRASE_FILE_SIZE`` bytes and, on POSIX, owned by the user running
custody, with no permission for group or others (``mode & 0o077`` clear: 0600
or 0400); anything else is refused (``PassphraseError``, exit 5) with the mode or owner
found and the fix.  The checks are made on the opened file (``fstat``), not on
its name.  On Windows custody checks neither: files there carry ACLs, not
mode bits, and their protection is the installer's (docs/agent-windows.md).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from custody.ledger.dirsync import fsync_directory
from custody.ledger.errors import KeyFileError, PassphraseError
from custody.ledger.i18n import _
from custody.ledger.keyenvelope import DEFAULT_N, envelope_info, open_private_key, seal_private_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PASSPHRASE_ENV = "CUSTODY_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
# An envelope is about 500 bytes; anything far larger is not a key file.
MAX_KEY_FILE_SIZE = 64 * 1024
# A passphrase is typed or generated (`head -c 32 /dev/urandom | base64`: 45 bytes); 4 KiB is far beyond
# any, and bounds what a device or a wrong path could make custody read.
MAX_PASSPHRASE_FILE_SIZE = 4096
_POSIX = os.name == "posix"
_COMMON_FLAGS = getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def generate_key() -> Ed25519PrivateKey:
    """A new Ed25519 private key from the operating system's random source."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def write_key_file(
    path: Path, name: str, private_key: Ed25519PrivateKey, passphrase: bytes, *, n: int = DEFAULT_N
) -> None:
    """Seal ``private_key`` and create ``path`` (mode 0600); refuse to overwrite an existing file."""
    data = seal_private_key(name, private_key, passphrase, n=n)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _COMMON_FLAGS
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(
            _("Key file {path} already exists; it was not overwritten.").format(path=path),
            hint=_("Choose another file name, or move the existing key away first."),
        ) from None
    except OSError as exc:
        raise KeyFileError(
            _("Cannot create key file {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as exc:
        # Never leave a partial key file behind (disk full, interrupted).
        with contextlib.suppress(OSError):
            path.unlink()
        if isinstance(exc, OSError):
            raise KeyFileError(
                _("Cannot write key file {path}: {reason}").format(path=path, reason=exc.strerror or exc)
            ) from None
        raise
    fsync_directory(path.parent)


def write_passphrase_file(path: Path, passphrase: bytes) -> None:
    """Create ``path`` holding ``passphrase`` and a newline, mode 0600 from the start; never overwrite.

    What the demo and the benchmarks give the commands with ``--passphrase-file``
    (a person writes theirs under ``umask 077``, docs/agent-systemd.md).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _COMMON_FLAGS
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise PassphraseError(
            _("Cannot create passphrase file {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        ) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(passphrase + b"\n")


def _read(path: Path, *, check_mode: bool) -> bytes:
    # O_NONBLOCK: a FIFO in place of the key file must not hang the open; it is refused below.
    flags = os.O_RDONLY | _COMMON_FLAGS | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise KeyFileError(
            _("Key file {path} does not exist.").format(path=path),
            hint=_("Check the path, or create a key with 'custody key new'."),
        ) from None
    except OSError as exc:
        raise KeyFileError(
            _("Cannot read key file {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(_("Key file {path} is not a regular file.").format(path=path))
        if check_mode and _POSIX and info.st_mode & 0o077:
            raise KeyFileError(
                _("Key file {path} can be accessed by other users (mode {mode}); it was not used.").format(
                    path=path, mode=f"{stat.S_IMODE(info.st_mode):04o}"
                ),
                hint=_("Restrict it to its owner: chmod 600 {path}").format(path=path),
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_KEY_FILE_SIZE:
            chunk = os.read(fd, MAX_KEY_FILE_SIZE + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise KeyFileError(
            _("Cannot read key file {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        ) from None
    finally:
        os.close(fd)
    if size > MAX_KEY_FILE_SIZE:
        raise KeyFileError(_("Key file {path} is too large to be a key file.").format(path=path))
    return b"".join(chunks)


def read_key_file(path: Path, passphrase: bytes) -> tuple[str, Ed25519PrivateKey]:
    """Open the key in ``path``: (key name, private key); KeyFileError or PassphraseError."""
    return open_private_key(_read(path, check_mode=True), passphrase)


def key_file_info(path: Path) -> tuple[str, bytes]:
    """The key name and raw public key in ``path``, without the passphrase."""
    return envelope_info(_read(path, check_mode=False))


def read_passphrase_file(path: Path) -> bytes:
    """The bytes of the passphrase file ``path``, after the checks of the module documentation."""
    # O_NONBLOCK: a FIFO in place of the file must not hang the open; it is refused below.
    flags = os.O_RDONLY | _COMMON_FLAGS | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise PassphraseError(
            _("Cannot read passphrase file {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        ) from None
    try:
        info = os.fstat(fd)
        _check_passphrase_file(path, info)
        data = b""
        while len(data) <= MAX_PASSPHRASE_FILE_SIZE:
            chunk = os.read(fd, MAX_PASSPHRASE_FILE_SIZE + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise PassphraseError(
            _("Cannot read passphrase file {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        ) from None
    finally:
        os.close(fd)
    if len(data) > MAX_PASSPHRASE_FILE_SIZE:
        raise PassphraseError(
            _("Passphrase file {path} is larger than {limit} bytes; it is not a passphrase file.").format(
                path=path, limit=MAX_PASSPHRASE_FILE_SIZE),
            hint=_("Check the path: the file should hold the passphrase on one line."),
        )
    return data


def _check_passphrase_file(path: Path, info: os.stat_result) -> None:
    """Refuse what is not a regular file and, on POSIX, a file others may use or another user owns."""
    if not stat.S_ISREG(info.st_mode):
        raise PassphraseError(
            _("Passphrase file {path} is not a regular file.").format(path=path),
            hint=_("Keep the passphrase in an ordinary file (not a pipe, a device or a directory)."),
        )
    if not _POSIX:
        return
    mode = f"{stat.S_IMODE(info.st_mode):04o}"
    if info.st_mode & 0o077:
        raise PassphraseError(
            _("Passphrase file {path} can be accessed by other users (mode {mode}); it was not used.").format(
                path=path, mode=mode),
            hint=_("Restrict it to its owner: chmod 600 {path}").format(path=path),
        )
    me = os.geteuid()
    if info.st_uid != me:
        raise PassphraseError(
            _("Passphrase file {path} belongs to another user (uid {owner}), not to the user running custody "
              "(uid {me}); it was not used.").format(path=path, owner=info.st_uid, me=me),
            hint=_("Run custody as the file's owner, or give the file to this user: chown {me} {path} "
                   "and chmod 600 {path}").format(me=me, path=path),
        )


def _nonempty(value: bytes, source: str) -> bytes:
    if not value:
        raise PassphraseError(
            _("The passphrase from {source} is empty.").format(source=source),
            hint=_("An empty passphrase is not allowed."),
        )
    return value


def _prompt(text: str) -> bytes:
    try:
        return getpass.getpass(text).encode("utf-8")
    except EOFError:
        raise PassphraseError(_("No passphrase was entered.")) from None


def resolve_passphrase(
    *,
    passphrase_file: Path | None,
    env_var: str = PASSPHRASE_ENV,
    prompt: str | None,
    confirm: bool = False,
    interactive: bool,
) -> bytes:
    """Find the passphrase: ``passphrase_file``, else ``$env_var``, else a prompt if ``interactive``.

    A passphrase file loses one trailing newline (``\\n`` or ``\\r\\n``);
    otherwise every byte counts.  ``confirm`` asks twice at the prompt (for a
    new key).  An empty passphrase is refused; so is finding none.
    """
    if passphrase_file is not None:
        data = read_passphrase_file(passphrase_file)
        if data.endswith(b"\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n"):
            data = data[:-1]
        return _nonempty(data, str(passphrase_file))
    value = os.environ.get(env_var)
    if value is not None:
        return _nonempty(os.fsencode(value), f"${env_var}")
    if not interactive:
        raise PassphraseError(
            _("No passphrase given."),
            hint=_(
                "Give it with --passphrase-file FILE, or in the environment variable {var}, "
                "or run the command in a terminal to be asked for it."
            ).format(var=env_var),
        )
    first = _nonempty(_prompt(prompt or _("Passphrase: ")), _("the prompt"))
    if confirm and _prompt(_("Repeat the passphrase: ")) != first:
        raise PassphraseError(_("The two passphrases differ."), hint=_("Run the command again."))
    return first
