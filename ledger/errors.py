"""One exception root for custody, with specific subclasses.

Modelled on sigstore-python's ``errors.py``: every error carries a readable
message and, where it helps, a hint saying what to do next.  Only the CLI maps
these to exit codes (docs/spec.md §13 (Command line): 0 ok, 1 unexpected, 2 usage,
3 verification failed, 4 store unreadable, 5 key or passphrase, 6 refused).
Library code raises; it never returns False for a failed verification.
"""

from __future__ import annotations


class CustodyError(Exception):
    """Root of every error custody raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostic(self) -> str:
        """The message with its hint, as shown to a person."""
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message


class InterruptedWorkError(CustodyError):
    """Work stopped half-way for a reason outside custody (a helper process killed, memory exhausted):
    nothing was concluded, and running it again is the remedy.  Exit code 1."""


class UsageError(CustodyError):
    """The command was called wrongly (missing or contradictory options)."""

    exit_code = 2


class OutputError(UsageError):
    """What the command was told to write could not be written: a full disk, a missing or read-only directory.

    Nothing half-written is left under the name asked for.  Exit code 2, as for
    any other place given on the command line that cannot be used.
    """


# --- Malformed input: bytes that do not parse as the format they claim. ---


class FormatError(CustodyError):
    """Input that is not well-formed for its format (exit 3 when verifying)."""

    exit_code = 3


class CanonicalJSONError(FormatError):
    """JSON that is not strict I-JSON / not canonical (RFC 8785)."""


class SchemaError(FormatError):
    """A document that does not match its JSON Schema; names the field."""

    def __init__(self, message: str, *, field: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class NoteFormatError(FormatError):
    """A C2SP signed note, vkey or signature line that does not parse."""


class CheckpointFormatError(FormatError):
    """A C2SP tlog-checkpoint body that does not parse."""


class ProofFormatError(FormatError):
    """A proof (or .tlog-proof file) that does not parse."""


class BundleFormatError(FormatError):
    """An evidence bundle that is incomplete or malformed."""


# --- Verification failures: well-formed input that does not check out. ---


class VerificationError(CustodyError):
    """Something failed to verify (exit 3)."""

    exit_code = 3


class SignatureError(VerificationError):
    """A signature does not verify, or no trusted key signed."""


class ProofError(VerificationError):
    """An inclusion or consistency proof does not verify."""


# --- The store. ---


class StoreError(CustodyError):
    """The ledger store cannot be read or written (exit 4).

    ``uncertain``: a commit failed at a point where what it wrote may have
    reached the disk all the same (an fsync failed): it may or may not be in
    the ledger, and the message says so instead of "nothing was written".
    """

    exit_code = 4
    uncertain: bool = False


class StoreCorruptError(StoreError):
    """The store file is not a custody ledger, or is damaged."""


class StoreFullError(StoreError):
    """The disk (or the store's page limit) is full; nothing was written."""


class StoreBusyError(StoreError):
    """Another process held the ledger for longer than the timeout."""


class CheckpointPendingError(StoreError):
    """An entry was recorded, but the automatic checkpoint due after it could not be signed (exit 4).

    The entry is durable: the message says so, because repeating the command
    would record it a second time.  The checkpoint is signed after a later
    entry, or with ``custody checkpoint``.  ``seq`` is the recorded entry's.
    """

    def __init__(self, message: str, *, seq: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.seq = seq


# --- Keys. ---


class KeyFileError(CustodyError):
    """A key file is missing, unreadable, malformed or too widely readable (exit 5)."""

    exit_code = 5


class PassphraseError(KeyFileError):
    """The passphrase does not open the key envelope (exit 5)."""


class KeyAgentError(KeyFileError):
    """The key agent (``custody unlock``) cannot be used, or refused to sign what it was asked to (exit 5)."""


# --- Rules. ---


class RuleRefusal(CustodyError):
    """An action refused by a rule before anything was written (exit 6).

    ``code`` is the rule code (docs/spec-rules.md) (C2, C9, ...), ``missing`` what is
    lacking and ``todo`` what the person can do about it.
    """

    exit_code = 6

    def __init__(self, code: str, message: str, *, missing: str = "", todo: str = "") -> None:
        super().__init__(message, hint=todo or None)
        self.code = code
        self.missing = missing
        self.todo = todo

    def diagnostic(self) -> str:
        # A refusal that lists several violations already names each code.
        head = self.message if self.message.startswith(f"[{self.code}]") else f"[{self.code}] {self.message}"
        parts = [head]
        if self.missing:
            parts.append(self.missing)
        if self.todo:
            parts.append(self.todo)
        return "\n".join(parts)


class ApprovalError(RuleRefusal):
    """An approval note that is forged, expired, reused or does not cover the act."""


class BatchRefusal(CustodyError):
    """Several entries asked for together (one transaction), some of them refused: nothing was written.

    ``problems`` holds (position in the batch, the error it got); every entry was checked, so each one
    refused is named, not just the first.  Exit 2 when any of them is unusable input (a body that does not
    match its schema: ``UsageError``), else 6 (every problem is a rule's refusal).
    """

    exit_code = 6

    def __init__(self, message: str, *, problems: list[tuple[int, CustodyError]], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems
        self.exit_code = 2 if any(isinstance(e, UsageError) for _i, e in problems) else 6


class AttestationError(RuleRefusal):
    """A municipality attestation that is forged, signed by a key not pinned for its role, for another ledger
    or other media, or malformed (docs/spec.md §9.6; rule C24)."""
