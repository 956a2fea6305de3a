"""C2SP tlog-witness ``add-checkpoint`` bodies, online (HTTP) or offline (files).

Implements the wire forms of c2sp.org/tlog-witness, "HTTP Interface",
"add-checkpoint"; the HTTP server and the witness's state live elsewhere.

Request body (``POST <submission prefix>/add-checkpoint``), every line
ending in newline (U+000A)::

    old <size>              ASCII decimal, no leading zeroes ("0" for zero)
    <base64 hash>           zero to 63 consistency proof lines
                            an empty line
    <checkpoint note>       a signed tlog-checkpoint, any number of signatures

200 response body: one or more note signature lines (``— name base64``),
the witness's cosignatures.  409 response body: the tree size of the latest
cosigned checkpoint in decimal and a newline, ``Content-Type:
text/x.tlog.size``.

The parsers check syntax only: old size and proof lines, that the checkpoint
is a well-formed signed note whose text is a checkpoint.  Whether the old
size is at most the checkpoint size (400), the origin is known (404), a
trusted log key signed (403), the old size matches the witness's state
(409), and the proof is empty for old size 0 and verifies (422) are the
witness's checks, made in the spec's order by the server with these
constants.  Malformed bodies raise FormatError subclasses: ProofFormatError
for the old-size and proof lines, NoteFormatError / CheckpointFormatError
for the checkpoint and the response lines.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from custody.ledger.checkpoint import HASH_SIZE, MAX_TREE_SIZE, Checkpoint
from custody.ledger.errors import CheckpointFormatError, NoteFormatError, ProofFormatError
from custody.ledger.note import MAX_SIGNATURES, NoteSignature, parse_note

__all__ = [
    "ADD_CHECKPOINT_PATH",
    "CONTENT_TYPE_TLOG_SIZE",
    "DEFAULT_MAX_BODY",
    "MAX_PROOF_LINES",
    "STATUS_BAD_REQUEST",
    "STATUS_CONFLICT",
    "STATUS_FORBIDDEN",
    "STATUS_NOT_FOUND",
    "STATUS_OK",
    "STATUS_UNPROCESSABLE_ENTITY",
    "AddCheckpointRequest",
    "format_add_checkpoint",
    "format_cosignature_response",
    "format_size_response",
    "parse_add_checkpoint",
    "parse_cosignature_response",
    "parse_size_response",
]

#: Path appended to the witness's submission prefix.
ADD_CHECKPOINT_PATH: Final = "/add-checkpoint"
#: Content type of the 409 Conflict body (the witness's latest size).
CONTENT_TYPE_TLOG_SIZE: Final = "text/x.tlog.size"
#: "The client MUST NOT send more than 63 consistency proof lines."
MAX_PROOF_LINES: Final = 63
#: Largest request body a witness server reads.  A request is at most 63 proof
#: lines (~2.8 kB) and a checkpoint note with at most 100 signature lines.
DEFAULT_MAX_BODY: Final = 64 * 1024

# --- Status codes of add-checkpoint (tlog-witness, "add-checkpoint"). ---

#: 200 Success: every check passed; the witness persisted the checkpoint as
#: its latest for the origin and the body is its cosignature line(s).
STATUS_OK: Final = 200
#: 400 Bad Request: the old size is greater than the checkpoint size.  (Our
#: choice, not the spec's: also for a body these parsers reject.)
STATUS_BAD_REQUEST: Final = 400
#: 403 Forbidden: the origin is known but no checkpoint signature verifies
#: against a log key the witness trusts for it.
STATUS_FORBIDDEN: Final = 403
#: 404 Not Found: the checkpoint's origin is not a log the witness knows.
STATUS_NOT_FOUND: Final = 404
#: 409 Conflict: the old size differs from the size of the latest checkpoint
#: the witness cosigned for the origin (0 if none) -- body: that size and a
#: newline, as text/x.tlog.size -- or the old size equals the checkpoint size
#: but the root hashes differ.
STATUS_CONFLICT: Final = 409
#: 422 Unprocessable Entity: the consistency proof from the old size to the
#: checkpoint size does not verify (including a non-empty proof for old size 0).
STATUS_UNPROCESSABLE_ENTITY: Final = 422

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HASH_B64 = re.compile(r"[A-Za-z0-9+/]{43}=")
_SIG_SEPARATOR = b"\n\n"


def _parse_size(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text) or len(text) > len(str(MAX_TREE_SIZE)) or int(text) > MAX_TREE_SIZE:
        raise ProofFormatError(f"{what} must be a decimal tree size without leading zeroes")
    return int(text)


def _parse_hash(text: str, index: int) -> bytes:
    if not _HASH_B64.fullmatch(text):
        raise ProofFormatError(f"consistency proof line {index + 1} is not a base64 SHA-256 hash")
    try:
        digest = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error is a ValueError
        raise ProofFormatError(f"consistency proof line {index + 1} is not base64") from None
    if base64.b64encode(digest).decode("ascii") != text:
        raise ProofFormatError(f"consistency proof line {index + 1} is not canonical base64")
    return digest


@dataclass(frozen=True)
class AddCheckpointRequest:
    """An add-checkpoint request: old size, consistency proof, signed checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.old_size, int) or isinstance(self.old_size, bool):
            raise ProofFormatError("old size must be an integer")
        if not 0 <= self.old_size <= MAX_TREE_SIZE:
            raise ProofFormatError(f"old size must be between 0 and {MAX_TREE_SIZE}")
        if not isinstance(self.proof, tuple):
            raise ProofFormatError("proof must be a tuple of hashes")
        if len(self.proof) > MAX_PROOF_LINES:
            raise ProofFormatError(f"more than {MAX_PROOF_LINES} consistency proof lines")
        for node in self.proof:
            if not isinstance(node, bytes) or len(node) != HASH_SIZE:
                raise ProofFormatError(f"consistency proof hashes must be {HASH_SIZE} bytes")
        if not isinstance(self.checkpoint, bytes):
            raise NoteFormatError("checkpoint must be the signed note's bytes")
        Checkpoint.parse(parse_note(self.checkpoint).text)


def format_add_checkpoint(req: AddCheckpointRequest) -> bytes:
    """The request body: ``old N``, proof lines, an empty line, the checkpoint note."""
    lines = [f"old {req.old_size}"]
    lines.extend(base64.b64encode(node).decode("ascii") for node in req.proof)
    return "".join(line + "\n" for line in lines).encode("ascii") + b"\n" + req.checkpoint


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Parse a request body strictly; raise a FormatError subclass.

    The header (old size line and proof lines) ends at the first empty line;
    the rest must be a signed note whose text is a checkpoint.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ProofFormatError("request body is not bytes")
    body = bytes(body)
    split = body.find(_SIG_SEPARATOR)
    if split < 0:
        raise ProofFormatError("request has no empty line before the checkpoint")
    try:
        header = body[:split].decode("ascii")
    except UnicodeDecodeError:
        raise ProofFormatError("request header is not ASCII") from None
    old_line, *proof_lines = header.split("\n")
    if not old_line.startswith("old "):
        raise ProofFormatError("request must start with an 'old <size>' line")
    old_size = _parse_size(old_line[len("old ") :], "old size")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise ProofFormatError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = tuple(_parse_hash(line, i) for i, line in enumerate(proof_lines))
    return AddCheckpointRequest(old_size, proof, body[split + len(_SIG_SEPARATOR) :])


def format_cosignature_response(sigs: Sequence[NoteSignature]) -> bytes:
    """The 200 body: one or more signature lines.

    The client may append them to its checkpoint with
    ``ledger.note.add_signatures`` after checking them with
    ``ledger.cosignature.verify_cosignature``.
    """
    if not sigs:
        raise NoteFormatError("a cosignature response needs at least one signature line")
    if len(sigs) > MAX_SIGNATURES:
        raise NoteFormatError(f"more than {MAX_SIGNATURES} signature lines")
    return "".join(sig.line() for sig in sigs).encode("utf-8")


def parse_cosignature_response(body: bytes) -> tuple[NoteSignature, ...]:
    """Parse a 200 body: one or more signature lines, each ending in newline.

    Nothing is verified; unknown keys are for the caller to ignore.  Raises
    NoteFormatError.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise NoteFormatError("response body is not bytes")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise NoteFormatError("response body is not valid UTF-8") from None
    if not text or not text.endswith("\n"):
        raise NoteFormatError("response must be signature lines ending in newline")
    lines = text[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"more than {MAX_SIGNATURES} signature lines")
    return tuple(NoteSignature.parse_line(line) for line in lines)


def format_size_response(size: int) -> bytes:
    """The 409 body: the latest cosigned tree size in decimal and a newline."""
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
        raise CheckpointFormatError(f"tree size must be between 0 and {MAX_TREE_SIZE}")
    return f"{size}\n".encode("ascii")


def parse_size_response(body: bytes) -> int:
    """Parse a 409 text/x.tlog.size body; raise CheckpointFormatError."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise CheckpointFormatError("response body is not bytes")
    try:
        text = bytes(body).decode("ascii")
    except UnicodeDecodeError:
        raise CheckpointFormatError("tree size response is not ASCII") from None
    if not text.endswith("\n"):
        raise CheckpointFormatError("tree size response must end with a newline")
    try:
        return _parse_size(text[:-1], "tree size")
    except ProofFormatError as exc:
        raise CheckpointFormatError(exc.message) from None
