"""The municipality's witness: C2SP tlog-witness ``add-checkpoint``.

Implements c2sp.org/tlog-witness, "HTTP Interface", "add-checkpoint", for the
municipality (docs/spec.md §8 (Witnessing)).  The wire forms are
``ledger.witness_protocol``'s; this module decides, and at the end serves
HTTP.

The decision (:func:`parse_request`, :func:`decide`, :func:`add_checkpoint`)
is pure: no file, clock or network.  It is given the witness's state for the
checkpoint's origin (the pinned log key and the latest checkpoint it
cosigned), the witness key and the timestamp, and returns a
:class:`Decision`: the HTTP status, body and content type and, on 200, the
note to persist.  The caller (``verify.authority.Authority.add_checkpoint``)
holds the origin's lock from reading the state until the new state is
durable, and only then hands the cosignature out -- the spec's atomicity
rule ("checking the old size against the latest checkpoint and persisting
the new checkpoint must be performed atomically").

The checks, in the spec's order:

==========  ==============================================================
400         the body is malformed (our choice: the spec names no status
            for it), or the old size is greater than the checkpoint size
404         the checkpoint's origin is not pinned
403         no checkpoint signature verifies against the pinned log key
            (signatures from other keys are ignored; a signature from the
            pinned key that fails is also 403)
409         the old size differs from the size of the latest checkpoint the
            witness cosigned (0 if none); body: that size and a newline,
            ``Content-Type: text/x.tlog.size``
409         the old size equals the checkpoint size but the root hash
            differs from the one the witness cosigned (a fork at the same
            size).  The spec says 409 here, not 422; the body is again the
            witness's size, so a client can tell that retrying is useless
422         the consistency proof from the old size does not verify (for old
            size 0 it must be empty: the empty tree is a prefix of every
            tree), or a proof is given for old size == checkpoint size
422         (our policy, beyond the spec) the first checkpoint the witness
            sees has size 1 but its root is not the pinned genesis entry's
            leaf hash: it cannot be the pinned ledger
200         every check passed: one ``cosignature/v1`` line by the witness
==========  ==============================================================

A rollback is never cosigned: its checkpoint size is below the witness's
size, so either the old size is above the checkpoint size (400) or it is not
the witness's size (409).  A fork is never cosigned: at the same size the
roots differ (409); at a larger size no consistency proof from the witnessed
root exists (422).

The spec lets a witness log a request whose signature is valid but whose
proof fails, "as it might be proof of log misbehavior": :attr:`Decision.evidence`
marks those (the same-size fork and the failed proof), and the authority keeps
them.

:class:`WitnessServer` (bottom) is the HTTP front end: stdlib
``ThreadingHTTPServer``, only ``POST /add-checkpoint``, a body size limit,
socket timeouts, logging to stderr.  It takes a ``submit(body) -> Decision``
callable and knows nothing about storage.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final, TextIO

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosign
from custody.ledger.errors import CustodyError, FormatError, ProofError, ProofFormatError, SignatureError
from custody.ledger.i18n import _
from custody.ledger.note import (
    ALG_COSIGNATURE_V1,
    Note,
    NoteSignature,
    Signer,
    Verifier,
    format_note,
    open_note,
    parse_note,
)
from custody.ledger.proof import verify_consistency
from custody.ledger.rfc6962 import EMPTY_ROOT
from custody.ledger.witness_protocol import (
    ADD_CHECKPOINT_PATH,
    CONTENT_TYPE_TLOG_SIZE,
    DEFAULT_MAX_BODY,
    STATUS_BAD_REQUEST,
    STATUS_CONFLICT,
    STATUS_FORBIDDEN,
    STATUS_NOT_FOUND,
    STATUS_OK,
    STATUS_UNPROCESSABLE_ENTITY,
    AddCheckpointRequest,
    format_cosignature_response,
    format_size_response,
    parse_add_checkpoint,
)

__all__ = [
    "CONTENT_TYPE_TEXT",
    "DEFAULT_MAX_BODY",
    "Decision",
    "LogState",
    "ParsedRequest",
    "WitnessHead",
    "WitnessServer",
    "add_checkpoint",
    "decide",
    "parse_request",
    "status_meaning",
]

#: Content type of the 200 body and of error messages.
CONTENT_TYPE_TEXT: Final = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class WitnessHead:
    """The latest checkpoint the witness cosigned for one origin."""

    size: int
    root_hash: bytes


@dataclass(frozen=True)
class LogState:
    """What the witness knows of one pinned log.

    ``log_verifiers``: the log key(s) trusted for the origin (Ed25519, 0x01).
    ``latest``: the latest checkpoint it cosigned, None if it never did.
    ``genesis_leaf_hash``: the pinned genesis entry's leaf hash (the root of
    the tree of size 1), or None.
    """

    origin: str
    log_verifiers: tuple[Verifier, ...]
    latest: WitnessHead | None = None
    genesis_leaf_hash: bytes | None = None

    @property
    def size(self) -> int:
        return 0 if self.latest is None else self.latest.size


@dataclass(frozen=True)
class ParsedRequest:
    """A syntactically valid add-checkpoint request."""

    request: AddCheckpointRequest
    checkpoint: Checkpoint


@dataclass(frozen=True)
class Decision:
    """The witness's answer to one request.

    ``status``, ``body`` and ``content_type`` are the HTTP response.
    ``reason`` says why, for people and logs.  On 200, ``note`` is what the
    witness must persist before answering: the checkpoint text, the log
    signature(s) that verified and the witness's cosignature;
    ``cosignatures`` are the lines of the body.  ``evidence`` marks a refused
    request that the log signed and that shows misbehaviour (a fork).
    ``witness_size`` is the witness's size for the origin when it decided.
    """

    status: int
    body: bytes
    content_type: str
    reason: str
    checkpoint: Checkpoint | None = None
    old_size: int | None = None
    witness_size: int | None = None
    note: bytes | None = None
    cosignatures: tuple[NoteSignature, ...] = field(default=())
    evidence: bool = False

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


def status_meaning(status: int) -> str:
    """What a status means in tlog-witness (translated)."""
    meanings = {
        STATUS_OK: _("200 Success: the witness cosigned the checkpoint."),
        STATUS_BAD_REQUEST: _(
            "400 Bad Request: the request is malformed, or its old size exceeds the checkpoint size."
        ),
        STATUS_FORBIDDEN: _("403 Forbidden: no signature on the checkpoint verifies with the pinned log key."),
        STATUS_NOT_FOUND: _("404 Not Found: the witness has not pinned this origin."),
        STATUS_CONFLICT: _(
            "409 Conflict: the old size is not the size the witness last cosigned, "
            "or the witness cosigned another root at this size."
        ),
        STATUS_UNPROCESSABLE_ENTITY: _(
            "422 Unprocessable Entity: the consistency proof does not verify: "
            "the checkpoint does not extend what the witness cosigned."
        ),
    }
    return meanings.get(status, _("HTTP status {status}").format(status=status))


def _refuse(
    status: int, reason: str, parsed: ParsedRequest | None = None, witness_size: int | None = None,
    *, evidence: bool = False,
) -> Decision:
    return Decision(
        status, (reason + "\n").encode("utf-8"), CONTENT_TYPE_TEXT, reason,
        checkpoint=None if parsed is None else parsed.checkpoint,
        old_size=None if parsed is None else parsed.request.old_size,
        witness_size=witness_size, evidence=evidence,
    )


def _conflict(reason: str, parsed: ParsedRequest, size: int, *, evidence: bool = False) -> Decision:
    return Decision(
        STATUS_CONFLICT, format_size_response(size), CONTENT_TYPE_TLOG_SIZE, reason,
        checkpoint=parsed.checkpoint, old_size=parsed.request.old_size, witness_size=size, evidence=evidence,
    )


def parse_request(body: bytes) -> ParsedRequest | Decision:
    """Parse a request body; a malformed one yields a 400 Decision."""
    try:
        request = parse_add_checkpoint(body)
        checkpoint = Checkpoint.parse(parse_note(request.checkpoint).text)
    except FormatError as exc:
        return _refuse(STATUS_BAD_REQUEST, _("malformed request: {why}").format(why=exc.message))
    return ParsedRequest(request, checkpoint)


def decide(parsed: ParsedRequest, state: LogState | None, signer: Signer, timestamp: int) -> Decision:
    """Apply the spec's checks to one request against the witness's state for its origin.

    ``state`` is None when the origin is not pinned.  Pure: the caller
    persists ``Decision.note`` (on 200) before returning the body.
    """
    if signer.alg != ALG_COSIGNATURE_V1:
        raise ValueError(f"witness key {signer.name!r} is not a cosignature/v1 key")
    req, cp = parsed.request, parsed.checkpoint
    if state is None or state.origin != cp.origin:
        return _refuse(
            STATUS_NOT_FOUND, _("unknown origin {origin}: not pinned by this witness").format(origin=cp.origin),
            parsed,
        )
    witness_size = state.size
    try:
        note, verified = open_note(req.checkpoint, list(state.log_verifiers))
    except SignatureError as exc:
        return _refuse(
            STATUS_FORBIDDEN,
            _("no valid signature by the pinned log key on the checkpoint ({why})").format(why=exc.message),
            parsed, witness_size,
        )
    except FormatError as exc:  # already parsed once; kept for safety
        return _refuse(STATUS_BAD_REQUEST, _("malformed request: {why}").format(why=exc.message), parsed, witness_size)
    if req.old_size > cp.size:
        return _refuse(
            STATUS_BAD_REQUEST,
            _("old size {old} is greater than the checkpoint size {size}").format(old=req.old_size, size=cp.size),
            parsed, witness_size,
        )
    if req.old_size != witness_size:
        return _conflict(
            _("old size {old} is not the size the witness last cosigned ({size})").format(
                old=req.old_size, size=witness_size),
            parsed, witness_size,
        )
    old_root = EMPTY_ROOT if state.latest is None else state.latest.root_hash
    if req.old_size == cp.size:
        if cp.root_hash != old_root:
            return _conflict(
                _("the witness cosigned another root hash at size {size}: the log forked").format(size=cp.size),
                parsed, witness_size, evidence=True,
            )
        if req.proof:
            return _refuse(
                STATUS_UNPROCESSABLE_ENTITY,
                _("a consistency proof between equal sizes must be empty"),
                parsed, witness_size,
            )
    else:
        try:
            verify_consistency(req.old_size, cp.size, list(req.proof), old_root, cp.root_hash)
        except (ProofError, ProofFormatError) as exc:
            return _refuse(
                STATUS_UNPROCESSABLE_ENTITY,
                _("the consistency proof from size {old} to {size} does not verify ({why})").format(
                    old=req.old_size, size=cp.size, why=exc.message),
                parsed, witness_size, evidence=req.old_size > 0,
            )
    if (
        state.latest is None
        and cp.size == 1
        and state.genesis_leaf_hash is not None
        and cp.root_hash != state.genesis_leaf_hash
    ):
        return _refuse(
            STATUS_UNPROCESSABLE_ENTITY,
            _("the tree of size 1 is not the pinned genesis entry"),
            parsed, witness_size, evidence=True,
        )
    cosignature = cosign(note.text, timestamp, signer)
    keep = tuple(
        sig for sig in note.signatures
        if any(sig.name == v.name and sig.key_id == v.key_id for v in verified)
    )
    stored = format_note(Note(note.text, (*keep, cosignature)))
    return Decision(
        STATUS_OK, format_cosignature_response([cosignature]), CONTENT_TYPE_TEXT,
        _("cosigned size {size}").format(size=cp.size),
        checkpoint=cp, old_size=req.old_size, witness_size=witness_size, note=stored, cosignatures=(cosignature,),
    )


def add_checkpoint(body: bytes, states: Mapping[str, LogState], signer: Signer, timestamp: int) -> Decision:
    """Parse and decide in one step (no persistence: for tests and dry runs)."""
    parsed = parse_request(body)
    if isinstance(parsed, Decision):
        return parsed
    return decide(parsed, states.get(parsed.checkpoint.origin), signer, timestamp)


# --- The HTTP front end. ---------------------------------------------------------------------------

Submit = Callable[[bytes], Decision]


class _Handler(BaseHTTPRequestHandler):
    server: WitnessServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends
    server_version = "custody-witness/1"

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        # A socket timeout: a client that stops sending cannot hold a thread forever.
        super().setup()
        self.connection.settimeout(self.server.socket_timeout)

    def _send(self, status: int, body: bytes, content_type: str = CONTENT_TYPE_TEXT,
              headers: Mapping[str, str] | None = None, *, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _discard_body(self) -> bool:
        """Read and drop a request body we will not use, so that the connection can be kept.

        False (and the connection is closed after the answer) if that is not safe.
        """
        if self.headers.get("Transfer-Encoding"):
            return False
        raw = self.headers.get("Content-Length", "0").strip()
        if not raw.isdigit() or int(raw) > self.server.max_body:
            return False
        length = int(raw)
        return len(self.rfile.read(length)) == length if length else True

    def _method_not_allowed(self) -> None:
        keep = self._discard_body()
        self._send(405, b"only POST /add-checkpoint\n", headers={"Allow": "POST"}, close=not keep)

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed  # noqa: N815

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != self.server.submission_path:
            keep = self._discard_body()
            self._send(STATUS_NOT_FOUND, b"not found: only POST /add-checkpoint\n", close=not keep)
            return
        if self.headers.get("Transfer-Encoding"):
            self._send(411, b"send the body with a Content-Length\n", close=True)
            return
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            self._send(411, b"Content-Length required\n", close=True)
            return
        if not raw_length.strip().isdigit():
            self._send(STATUS_BAD_REQUEST, b"bad Content-Length\n", close=True)
            return
        length = int(raw_length)
        if length > self.server.max_body:
            self._send(413, f"request body larger than {self.server.max_body} bytes\n".encode(), close=True)
            return
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return
        try:
            decision = self.server.submit(body)
        except CustodyError as exc:
            self.server.log(f"{self.client_address[0]} 500 the witness could not decide or persist: {exc.message}")
            self._send(500, b"the witness could not record the checkpoint; nothing was cosigned\n")
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the client without an answer
            self.server.log(f"{self.client_address[0]} 500 unexpected error: {type(exc).__name__}: {exc}")
            self._send(500, b"internal error; nothing was cosigned\n", close=True)
            return
        self._send(decision.status, decision.body, decision.content_type)
        cp = decision.checkpoint
        what = f"{cp.origin} size {cp.size} old {decision.old_size}" if cp is not None else "-"
        self.server.log(f"{self.client_address[0]} {decision.status} {what}: {decision.reason}")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        self.server.log(f"{self.client_address[0]} {format % args}")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # every request is logged once, with its decision, in do_POST (errors via log_message)


class WitnessServer(ThreadingHTTPServer):
    """``POST /add-checkpoint`` over HTTP; every other path 404, other methods 405.

    ``submit(body)`` decides and persists (``Authority.add_checkpoint`` with
    the witness key and the clock); exceptions that are CustodyErrors become
    500 with nothing cosigned.  Stop with ``shutdown()`` then
    ``server_close()``.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        submit: Submit,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        socket_timeout: float = 30.0,
        prefix: str = "",
        log_stream: TextIO | None = None,
    ) -> None:
        self.submit = submit
        self.max_body = max_body
        self.socket_timeout = socket_timeout
        self.submission_path = prefix.rstrip("/") + ADD_CHECKPOINT_PATH
        self.log_stream = log_stream
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def log(self, message: str) -> None:
        stream = self.log_stream or sys.stderr
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        try:
            stream.write(f"{stamp} witness: {message}\n")
            stream.flush()
        except (OSError, ValueError):
            pass
