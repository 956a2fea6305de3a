"""C2SP tlog-checkpoint note bodies.

Implements c2sp.org/tlog-checkpoint, "Note text": at least three non-empty
lines, each ending in newline -- the origin, the tree size in ASCII decimal
without leading zeroes, the base64 RFC 6962 root hash -- then optional,
non-empty, opaque extension lines.  The signatures around it are the signed
note's business (ledger.note); witness cosignatures are ledger.cosignature's.

Pure logic; parsing is strict and raises CheckpointFormatError.

Decisions:

* the origin is only required to be non-empty (the spec's "no spaces, no
  plus" is a SHOULD and clients MUST NOT assume it: sum.golang.org's origin is
  ``go.sum database tree``); as note text it may not hold control characters;
* the tree size is limited to 2^63 - 1, like Go's ``tlog.ParseTree``;
* the root hash must be canonical base64 of exactly 32 bytes (SHA-256).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from custody.ledger.errors import CheckpointFormatError

__all__ = ["HASH_SIZE", "MAX_TREE_SIZE", "Checkpoint"]

#: RFC 6962 with SHA-256.
HASH_SIZE = 32
#: Largest accepted tree size (int64, as golang.org/x/mod/sumdb/tlog).
MAX_TREE_SIZE = 2**63 - 1

_SIZE = re.compile(r"0|[1-9][0-9]*")
_HASH_B64 = re.compile(r"[A-Za-z0-9+/]{43}=")
# signed-note "Format": no ASCII control characters other than newline.
_CONTROL = re.compile(r"[\x00-\x1f]")


def _check_line(line: str, what: str) -> None:
    if not isinstance(line, str) or not line:
        raise CheckpointFormatError(f"checkpoint {what} is empty")
    if _CONTROL.search(line):
        raise CheckpointFormatError(f"checkpoint {what} contains a control character or newline")
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointFormatError(f"checkpoint {what} is not valid UTF-8") from None


def _parse_root(text: str) -> bytes:
    if not _HASH_B64.fullmatch(text):
        raise CheckpointFormatError("checkpoint root hash must be base64 of 32 bytes")
    try:
        root = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error is a ValueError
        raise CheckpointFormatError("checkpoint root hash is not base64") from None
    if base64.b64encode(root).decode("ascii") != text:
        raise CheckpointFormatError("checkpoint root hash is not canonical base64")
    return root


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size, root hash and opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise CheckpointFormatError("checkpoint size must be an integer")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointFormatError(f"checkpoint size must be between 0 and {MAX_TREE_SIZE}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise CheckpointFormatError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        if not isinstance(self.extensions, tuple):
            raise CheckpointFormatError("checkpoint extensions must be a tuple of lines")
        for ext in self.extensions:
            _check_line(ext, "extension line")

    def to_text(self) -> str:
        """The note text: origin, size, root hash, extensions, each ending in newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii")]
        lines.extend(self.extensions)
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly (tlog-checkpoint "Note text")."""
        if not isinstance(text, str):
            raise CheckpointFormatError("checkpoint text is not a string")
        if not text.endswith("\n"):
            raise CheckpointFormatError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointFormatError("checkpoint needs origin, size and root hash lines")
        origin, size_text, root_text, *extensions = lines
        _check_line(origin, "origin")
        if not _SIZE.fullmatch(size_text):
            raise CheckpointFormatError("checkpoint size must be decimal without leading zeroes")
        # Length first: int() refuses very long digit strings with ValueError.
        if len(size_text) > len(str(MAX_TREE_SIZE)) or int(size_text) > MAX_TREE_SIZE:
            raise CheckpointFormatError(f"checkpoint size exceeds {MAX_TREE_SIZE}")
        size = int(size_text)
        return cls(origin, size, _parse_root(root_text), tuple(extensions))
