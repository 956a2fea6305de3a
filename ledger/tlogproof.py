"""C2SP tlog-proof files (``c2sp.org/tlog-proof@v1``, extension ``.tlog-proof``).

The format (C2SP tlog-proof, "Format"), lines separated by U+000A:

    c2sp.org/tlog-proof@v1
    extra <base64>                  (optional, opaque, unauthenticated)
    index <decimal, no leading zeroes>
    <base64 SHA-256 hash>           (zero or more: the RFC 6962 §2.1.1 audit
    ...                              path, from the leaf's sibling upwards)
    <empty line>
    <checkpoint signed note, verbatim>

Base64 is RFC 4648 §4 with padding.  This module only frames the proof: the
checkpoint is kept as opaque bytes (ledger's note/checkpoint modules parse
it) and nothing here verifies anything.  Pure logic: no I/O.

Parsing is strict, so that each proof has one encoding: base64 must be
canonical (padding present, unused bits zero), ``index`` is ASCII digits
without a sign or leading zeroes and below 2^63 (Go's tlog uses int64), at
most 63 hashes (the longest audit path in such a tree), no CR, no spaces.
The checkpoint must be non-empty, start with a non-empty line (its origin)
and end with a newline (a C2SP signed note always does).  The first empty
line ends the proof lines; Go's reader (interop/main.go) splits at
the first ``\\n\\n``, which is the same place because no earlier line is empty.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from custody.ledger.errors import ProofFormatError
from custody.ledger.rfc6962 import HASH_SIZE

HEADER = b"c2sp.org/tlog-proof@v1"
MAX_INDEX = 2**63 - 1
MAX_HASHES = 63

_EXTRA = b"extra "
_INDEX = b"index "
_DECIMAL = re.compile(rb"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class TlogProof:
    """One tlog-proof: leaf ``index``, its audit path ``hashes``, the ``checkpoint`` note bytes.

    ``extra`` is the optional opaque data (None when the line is absent;
    ``b""`` is an ``extra`` line with empty data).  Applications must not
    trust it: it is not authenticated (C2SP tlog-proof).
    """

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None


def _check_checkpoint(checkpoint: object) -> bytes:
    if not isinstance(checkpoint, bytes):
        raise ProofFormatError("tlog-proof checkpoint must be bytes")
    if not checkpoint:
        raise ProofFormatError("tlog-proof has no checkpoint after the empty line")
    if checkpoint.startswith(b"\n"):
        raise ProofFormatError("tlog-proof checkpoint starts with an empty line")
    if not checkpoint.endswith(b"\n"):
        raise ProofFormatError("tlog-proof checkpoint does not end with a newline")
    return checkpoint


def format_tlog_proof(p: TlogProof) -> bytes:
    """The bytes of ``p`` as a ``.tlog-proof`` file; ProofFormatError if ``p`` cannot be encoded."""
    index = p.index
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= MAX_INDEX:
        raise ProofFormatError(f"tlog-proof index must be an integer in [0, 2^63), got {index!r}")
    if len(p.hashes) > MAX_HASHES:
        raise ProofFormatError(f"tlog-proof has {len(p.hashes)} hashes, at most {MAX_HASHES} allowed")
    lines = [HEADER]
    if p.extra is not None:
        if not isinstance(p.extra, bytes):
            raise ProofFormatError("tlog-proof extra data must be bytes")
        lines.append(_EXTRA + base64.b64encode(p.extra))
    lines.append(_INDEX + str(index).encode("ascii"))
    for i, h in enumerate(p.hashes):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ProofFormatError(f"tlog-proof hash {i} is not a {HASH_SIZE}-byte hash")
        lines.append(base64.b64encode(h))
    checkpoint = _check_checkpoint(p.checkpoint)
    return b"\n".join(lines) + b"\n\n" + checkpoint


def _b64decode(text: bytes, what: str) -> bytes:
    """Strict, canonical RFC 4648 §4 base64."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProofFormatError(f"tlog-proof {what} is not valid base64") from exc
    if base64.b64encode(raw) != text:
        raise ProofFormatError(f"tlog-proof {what} is not canonical base64")
    return raw


class _Lines:
    """Reads newline-terminated lines off the front of the input."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def next(self, what: str) -> bytes:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise ProofFormatError(f"tlog-proof ends before the {what}")
        line = self.data[self.pos : end]
        self.pos = end + 1
        return line

    def rest(self) -> bytes:
        return self.data[self.pos :]


def _parse_index(line: bytes) -> int:
    if not line.startswith(_INDEX):
        raise ProofFormatError("tlog-proof has no 'index' line")
    digits = line[len(_INDEX) :]
    if not _DECIMAL.fullmatch(digits):
        raise ProofFormatError("tlog-proof index is not a decimal without leading zeroes")
    index = int(digits)
    if index > MAX_INDEX:
        raise ProofFormatError("tlog-proof index is 2^63 or more")
    return index


def parse_tlog_proof(data: bytes) -> TlogProof:
    """Parse a ``.tlog-proof`` file; raises only ProofFormatError on bad input."""
    if not isinstance(data, bytes):
        raise ProofFormatError("tlog-proof must be bytes")
    lines = _Lines(data)
    if lines.next("header line") != HEADER:
        raise ProofFormatError("not a tlog-proof: the first line is not 'c2sp.org/tlog-proof@v1'")

    line = lines.next("index line")
    extra = None
    if line.startswith(_EXTRA):
        extra = _b64decode(line[len(_EXTRA) :], "extra data")
        line = lines.next("index line")
    index = _parse_index(line)

    hashes: list[bytes] = []
    while (line := lines.next("empty line before the checkpoint")) != b"":
        if len(hashes) == MAX_HASHES:
            raise ProofFormatError(f"tlog-proof has more than {MAX_HASHES} hashes")
        h = _b64decode(line, f"hash {len(hashes)}")
        if len(h) != HASH_SIZE:
            raise ProofFormatError(f"tlog-proof hash {len(hashes)} is {len(h)} bytes, want {HASH_SIZE}")
        hashes.append(h)

    checkpoint = _check_checkpoint(lines.rest())
    return TlogProof(index=index, hashes=tuple(hashes), checkpoint=checkpoint, extra=extra)
