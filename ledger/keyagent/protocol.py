"""How a request and a reply travel between a command and the key agent (docs/spec.md §6.7).

One frame is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON, an object.  A connection carries any number of request-reply pairs.
Requests: ``{"op": "hello"}`` (what the agent holds), ``{"op": "sign",
"role": ..., "public": B64, "message": B64}``, ``{"op": "fits", "schema":
NAME, "document": JSON, "schemas": FOLDER}`` (``{"ok": true, "fits": BOOL}``:
whether the document fits the schema, judged by the agent) and ``{"op":
"lock"}``.  A
reply is ``{"ok": true, ...}`` or ``{"ok": false, "error": CODE, "message":
TEXT}``.  Binary values are standard base64.
"""

from __future__ import annotations

import _socket  # socket's C half: the Python module spends ~5 ms building enums every command would pay for
import json
import struct
from typing import Any

#: A frame holds at most this many bytes: a signing input of at most 1 MiB (custody.ledger.signing_domain),
#: in base64, with room for the rest of the request.
MAX_FRAME = 2 * 1024 * 1024
_LENGTH = struct.Struct(">I")

# Error codes in replies.
OTHER_USER = "other-user"
REFUSED = "refused"  # not one of custody's signing inputs, or not for this key
NO_KEY = "no-key"  # the agent holds no such key
REVOKED = "revoked"  # the ledger revoked the key or replaced it (rotation, removal)
OTHER_LEDGER = "other-ledger"
BAD_REQUEST = "bad-request"

# The kinds of key (custody.ledger.signing_domain's PERSON_KEY and LOG_KEY, which a test keeps equal): not
# imported from there, so that a command asking for a signature does not load the signing-input parsers.
PERSON_KEY = "person"
LOG_KEY = "log"


class ProtocolError(Exception):
    """The other side broke the framing or closed the connection."""


def send(sock: _socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(data)} bytes is over {MAX_FRAME}")
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _exactly(sock: _socket.socket, n: int) -> bytes:
    parts: list[bytes] = []
    while n:
        chunk = sock.recv(min(n, 65536))
        if not chunk:
            raise ProtocolError("the connection was closed")
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def receive(sock: _socket.socket) -> dict[str, Any]:
    (length,) = _LENGTH.unpack(_exactly(sock, _LENGTH.size))
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes is over {MAX_FRAME}")
    return decode(_exactly(sock, length))


def decode(data: bytes) -> dict[str, Any]:
    try:
        message = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("the frame is not JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("the frame is not a JSON object")
    return message


def frame_length(header: bytes) -> int:
    """The length announced by a frame's 4-byte ``header`` (ProtocolError when over MAX_FRAME)."""
    (length,) = _LENGTH.unpack(header)
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes is over {MAX_FRAME}")
    return int(length)


def encode(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return _LENGTH.pack(len(data)) + data


def peer_uid(sock: _socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket (SO_PEERCRED: pid, uid, gid)."""
    creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)
