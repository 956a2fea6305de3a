"""A signer that opens its key file only when it first signs.

The log key signs checkpoints (docs/spec.md §7.2), and a command that
appends an entry signs one only when the checkpoint policy says one is due
(100 entries or 60 minutes since the last, by default).  Opening the key
costs a scrypt (0.1-0.5 s) that most commands would spend for nothing, so
the command is given a :class:`DeferredSigner`: its name, type and public key
come from the ledger's ``log.vkey`` at once; the key file is decrypted by
the first ``sign``, if any.  A failure to open it is kept and raised again,
so a long-running process (``custody agent run``) never pays a scrypt per
append for a wrong passphrase.
"""

from __future__ import annotations

from collections.abc import Callable

from custody.ledger.errors import CustodyError, KeyFileError
from custody.ledger.i18n import _
from custody.ledger.note import Signer


class DeferredSigner(Signer):
    """A :class:`Signer` for ``name`` / ``public`` whose private key ``open_key()`` gives on first use."""

    __slots__ = ("_failure", "_open_key", "_opened")

    def __init__(self, name: str, alg: int, public: bytes, open_key: Callable[[], Signer]) -> None:
        self._set_public(name, alg, public)
        self._open_key = open_key
        self._opened: Signer | None = None
        self._failure: CustodyError | None = None

    def __repr__(self) -> str:
        return f"DeferredSigner({self.name!r}, key_id={self.key_id.hex()}, opened={self.opened})"

    @property
    def opened(self) -> bool:
        return self._opened is not None

    def open(self) -> Signer:
        """The opened key (decrypting it now if it was not yet); the first failure again on every call."""
        if self._opened is not None:
            return self._opened
        if self._failure is not None:
            raise self._failure
        try:
            signer = self._open_key()
            if signer.key_id != self.key_id or signer.alg != self.alg:
                raise KeyFileError(_("The key file of {name} does not hold the key its vkey names.").format(
                    name=self.name))
        except CustodyError as exc:
            self._failure = exc
            raise
        self._opened = signer
        return signer

    def sign(self, message: bytes) -> bytes:
        return self.open().sign(message)
