"""The witness's HTTP front end: ``POST <prefix>/add-checkpoint`` (docs/spec.md §8.3).

uvicorn (its pure-Python h11 protocol) serves a small Starlette app.  What
the witness decides is ``verify.witness``'s, what it keeps is
``verify.authority``'s: this module only carries bodies to ``submit(body)``
and its :class:`~custody.verify.witness.Decision` back, and keeps clients
from holding the server (issue: a slow client must not stop the others):

* a **whole-request deadline** (``deadline`` seconds, ``--timeout``): from a
  connection's first byte (or the first byte of the next request on a kept
  connection) to the last byte of the request's body.  uvicorn has a
  keep-alive timeout but no such deadline (its reads have none), so
  :class:`_WitnessProtocol` adds it: a request not complete in time gets
  ``408`` and the connection is closed, however steadily it trickles;
* a **connection cap** (``max_connections``): a connection beyond it is
  answered ``503`` at once and closed, before it can send anything;
* a **decision cap** (``max_requests``): requests whose body has arrived
  wait for a free slot no longer than it takes to find none -- beyond the
  cap the answer is ``503`` with ``Retry-After``.  Bodies are read before a
  slot is taken, so slow senders never hold one;
* a **body limit** (``max_body``): ``413`` from ``Content-Length`` alone,
  before any of the body is read;
* **one log line per request** (client, status, and what was decided or
  refused); a client that disconnects is one line too, never a traceback.

Decisions run in worker threads (file locks and fsync block), the event
loop in one thread of its own (:meth:`WitnessServer.start`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TextIO

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from custody.ledger.errors import CustodyError
from custody.ledger.i18n import _
from custody.ledger.witness_protocol import ADD_CHECKPOINT_PATH, STATUS_BAD_REQUEST, STATUS_NOT_FOUND
from custody.verify.witness import CONTENT_TYPE_TEXT, DEFAULT_MAX_BODY, Decision

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_REQUESTS",
    "Limits",
    "WitnessServer",
]

#: Seconds a client has to send one whole request (a request is a few kB).
DEFAULT_DEADLINE: Final = 10.0
#: Open connections served at once; more are answered 503 and closed.
DEFAULT_MAX_CONNECTIONS: Final = 1024
#: Requests decided at once (each holds a worker thread); more are answered 503.
DEFAULT_MAX_REQUESTS: Final = 16
#: Seconds an idle kept-alive connection stays open between requests.
KEEP_ALIVE: Final = 5.0
#: Largest request line plus headers (h11 answers 400 beyond it).
MAX_HEADER_BYTES: Final = 16 * 1024
#: Seconds a connection refused over the cap may take to read its 503 before it is closed.
_REFUSED_LINGER = 1.0
#: Refused connections left open that long at once.
_MAX_LINGERING = 64
#: Connections waiting to be accepted (the listen backlog; also what asyncio accepts in one go).
_BACKLOG = 128
#: File descriptors kept for everything but client connections: the store, logs and worker threads (64), the
#: refused connections left to read their 503 (``_MAX_LINGERING``) and those accepted in one go (``_BACKLOG``);
#: an eighth of the limit where that is more.
_SPARE_FILES = 64 + _MAX_LINGERING + _BACKLOG
#: Seconds between two log lines about the same event-loop error.
_QUIET = 10.0

SERVER_NAME: Final = "custody-witness/1"
_NO_STORE = {"Cache-Control": "no-store"}
#: Set in a request's ASGI state when the deadline closed it while the app read its body.
_TIMED_OUT = "custody.deadline_expired"

Submit = Callable[[bytes], Decision]
Log = Callable[[str], None]


@dataclass(frozen=True)
class Limits:
    """What one client may take of the server (see the module docstring)."""

    deadline: float = DEFAULT_DEADLINE
    max_body: int = DEFAULT_MAX_BODY
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_requests: int = DEFAULT_MAX_REQUESTS

    def __post_init__(self) -> None:
        if not (self.deadline > 0 and self.max_body > 0 and self.max_connections > 0 and self.max_requests > 0):
            raise ValueError("every witness server limit must be positive")


def _raw_response(status: int, reason: str, body: bytes, extra: Mapping[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 response that closes the connection, for answers given outside h11's cycle."""
    head = [f"HTTP/1.1 {status} {reason}", f"Server: {SERVER_NAME}", f"Content-Type: {CONTENT_TYPE_TEXT}",
            f"Content-Length: {len(body)}", "Cache-Control: no-store", "Connection: close"]
    head += [f"{name}: {value}" for name, value in (extra or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


_TOO_MANY_CONNECTIONS = _raw_response(
    503, "Service Unavailable", b"the witness has too many open connections; try again shortly\n", {"Retry-After": "1"}
)
_TOO_SLOW = _raw_response(408, "Request Timeout", b"the request was not complete in time\n")


class _Config(uvicorn.Config):
    """uvicorn's configuration, carrying what :class:`_WitnessProtocol` needs."""

    def __init__(self, app: Any, *, limits: Limits, log: Log, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.witness_limits = limits
        self.witness_log = log
        self.refused_connections = 0
        self.lingering = 0  # refused connections still open


class _WitnessProtocol(H11Protocol):
    """uvicorn's h11 protocol with the whole-request deadline and the connection cap.

    The deadline is armed when a request begins (the connection is made, or
    the first byte after the previous answer arrives) and disarmed when h11
    has the whole request (``their_state`` DONE).  Only asyncio's protocol
    methods, ``on_response_complete`` and the h11 connection's public state
    are used.
    """

    def __init__(self, config: uvicorn.Config, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, _Config)
        self._settings = config
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._settings.witness_limits.max_connections:
            self._refuse()
            return
        self._arm()

    def _refuse(self) -> None:
        """Answer 503 before reading anything, half-close, and drop the connection shortly after.

        Closing at once would reset a connection whose request is still unread
        (the client would see a reset, not the 503), so what it sends is read
        and dropped until it closes or ``_REFUSED_LINGER`` passes -- for at most
        ``_MAX_LINGERING`` connections at once; beyond them, file descriptors
        matter more than a clean refusal.
        """
        settings = self._settings
        self.transport.write(_TOO_MANY_CONNECTIONS)
        self._close_gently()
        settings.refused_connections += 1
        count = settings.refused_connections
        if count & (count - 1) == 0:  # 1, 2, 4, 8, ...: an attack does not flood the log
            settings.witness_log(_("{client} 503 refused: more than {n} open connections ({count} refused so far)")
                                 .format(client=self._client(), n=settings.witness_limits.max_connections,
                                         count=count))

    def _close_gently(self) -> None:
        """Half-close after an answer that ends the connection (503, 408), read and drop what the client still
        sends, and close once it closes or ``_REFUSED_LINGER`` has passed.  Closing at once with its bytes unread
        makes the kernel reset the connection, and a client still sending may then lose the answer before it
        reads it.  At most ``_MAX_LINGERING`` connections linger at once; beyond them, file descriptors matter
        more than a clean ending."""
        self._refused = True
        settings = self._settings
        if settings.lingering >= _MAX_LINGERING:
            self.transport.close()
            return
        settings.lingering += 1
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_REFUSED_LINGER, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # what a refused client sends is dropped
        if self._deadline is None:
            self._arm()  # the first byte of the next request on a kept connection
        super().data_received(data)
        if self.conn.their_state is h11.DONE:
            self._disarm()  # the whole request is in

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        # A pipelined request already buffered starts its own deadline now.
        if self._deadline is None and (self.conn.their_state is h11.SEND_BODY or self.conn.trailing_data[0]):
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._lingering:
            self._lingering = False
            self._settings.lingering -= 1
        super().connection_lost(exc)

    def _client(self) -> str:
        return self.client[0] if self.client else "-"

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self._settings.witness_limits.deadline, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # nothing of an answer was sent yet
            self.transport.write(_TOO_SLOW)
        if self.conn.our_state is h11.SEND_RESPONSE and self.cycle is not None:
            # The app is reading this request's body: it logs the request's one line when the read ends.
            self.scope["state"][_TIMED_OUT] = True
        else:
            self._settings.witness_log(too_slow(self._client(), self._settings.witness_limits.deadline))
        self._close_gently()


def too_slow(client: str, deadline: float) -> str:
    return _("{client} 408 the request was not complete within {s} s: connection closed").format(
        client=client, s=f"{deadline:g}")


# --- the app --------------------------------------------------------------------------------------


def _response(status: int, body: bytes, content_type: str = CONTENT_TYPE_TEXT,
              headers: Mapping[str, str] | None = None, *, close: bool = False) -> Response:
    """A response whose Content-Type is exactly ``content_type`` (Starlette would add a charset to text/*)."""
    all_headers = {"Content-Type": content_type, **_NO_STORE, **(headers or {})}
    if close:
        all_headers["Connection"] = "close"
    return Response(body, status, all_headers)


def _text(status: int, message: str, headers: Mapping[str, str] | None = None, *, close: bool = False) -> Response:
    return _response(status, message.encode("utf-8"), headers=headers, close=close)


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


@dataclass
class _Deciding:
    """Requests being decided now (read by the event loop's thread, and by tests)."""

    count: int = 0


def build_app(submit: Submit, limits: Limits, submission_path: str, log: Log,
              deciding: _Deciding | None = None) -> Starlette:
    """The Starlette app: ``POST submission_path`` decides; any other path 404, any other method 405."""
    slots = asyncio.Semaphore(limits.max_requests)
    now = deciding or _Deciding()

    async def add_checkpoint(request: Request) -> Response:
        client = _client(request)
        headers = request.headers
        if "transfer-encoding" in headers:
            log(_("{client} 411 {method} {path}: a Transfer-Encoding instead of a Content-Length").format(
                client=client, method=request.method, path=request.url.path))
            return _text(411, "send the body with a Content-Length\n", close=True)
        raw_length = headers.get("content-length")
        if raw_length is None:
            log(_("{client} 411 {method} {path}: no Content-Length").format(
                client=client, method=request.method, path=request.url.path))
            return _text(411, "Content-Length required\n", close=True)
        if not raw_length.strip().isdigit():  # h11 already refuses most of these (400)
            log(_("{client} 400 {method} {path}: a malformed Content-Length").format(
                client=client, method=request.method, path=request.url.path))
            return _text(STATUS_BAD_REQUEST, "bad Content-Length\n", close=True)
        length = int(raw_length)
        if length > limits.max_body:
            log(_("{client} 413 a body of {n} bytes (the limit is {limit})").format(
                client=client, n=length, limit=limits.max_body))
            return _text(413, f"request body larger than {limits.max_body} bytes\n", close=True)
        try:
            body = await request.body()
        except ClientDisconnect:
            if request.scope["state"].get(_TIMED_OUT):
                log(too_slow(client, limits.deadline))
            else:
                log(_("{client} - the client went away before sending its whole request").format(client=client))
            return _text(STATUS_BAD_REQUEST, "incomplete request\n", close=True)  # nobody reads it
        if slots.locked():
            log(_("{client} 503 busy: {n} requests are being decided").format(client=client, n=limits.max_requests))
            return _text(503, "the witness is busy; try again shortly\n", {"Retry-After": "1"})
        async with slots:
            now.count += 1
            try:
                decision = await run_in_threadpool(submit, body)
            except CustodyError as exc:
                log(_("{client} 500 the witness could not decide or persist: {why}").format(
                    client=client, why=exc.message))
                return _text(500, "the witness could not record the checkpoint; nothing was cosigned\n")
            except Exception as exc:  # noqa: BLE001 - a bug must not leave the client without an answer
                log(_("{client} 500 unexpected error: {why}").format(client=client, why=f"{type(exc).__name__}: {exc}"))
                return _text(500, "internal error; nothing was cosigned\n", close=True)
            finally:
                now.count -= 1
        cp = decision.checkpoint
        what = f"{cp.origin} size {cp.size} old {decision.old_size}" if cp is not None else "-"
        log(f"{client} {decision.status} {what}: {decision.reason}")
        return _response(decision.status, decision.body, decision.content_type)

    async def refuse(request: Request, exc: Exception) -> Response:
        """404 for another path, 405 (``Allow: POST``) for another method; the body, if any, is skipped."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        log(f"{_client(request)} {status} {request.method} {request.url.path}")
        if status == 405:
            return _text(405, "only POST /add-checkpoint\n", {"Allow": "POST"})
        return _text(STATUS_NOT_FOUND, "not found: only POST /add-checkpoint\n")

    return Starlette(
        routes=[Route(submission_path, add_checkpoint, methods=["POST"])],
        exception_handlers={404: refuse, 405: refuse},
    )


# --- the server -----------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn's server, saying when it accepts connections, with asyncio's errors as log lines."""

    def __init__(self, config: _Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self._log = config.witness_log
        self._errors: dict[str, tuple[float, int]] = {}  # error line -> (when last logged, repeats not logged)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().set_exception_handler(self._loop_error)
        await super().startup(sockets)
        self.ready.set()

    def _loop_error(self, _loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """One line per kind of error and ``_QUIET`` seconds (out of file descriptors, asyncio tries every accept)."""
        exc = context.get("exception")
        why = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        line = f"{context.get('message', 'error')}{why}"
        now = time.monotonic()
        last, count = self._errors.get(line, (float("-inf"), 0))
        if now - last < _QUIET:
            self._errors[line] = (last, count + 1)
            return
        self._errors[line] = (now, 0)
        more = _(" ({n} more like it)").format(n=count) if count else ""
        self._log(f"- event loop: {line}{more}")


class _LogHandler(logging.Handler):
    """uvicorn's own warnings (an invalid HTTP request, ...) as one line each."""

    def __init__(self, log: Log) -> None:
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message == "Invalid HTTP request received.":  # uvicorn has answered 400 and closed
            self._log(_("- 400 not a valid HTTP/1.1 request, or headers beyond {n} bytes").format(n=MAX_HEADER_BYTES))
        else:
            self._log(f"- {message}")


def _spare(limit: int) -> int:
    return max(_SPARE_FILES, limit // 8)


def _open_files_for(connections: int) -> int:
    """Raise the soft open-file limit towards what ``connections`` need; the connections it allows."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = connections + _spare(connections * 8 // 7)
        if soft != resource.RLIM_INFINITY and soft < want:
            new = want if hard == resource.RLIM_INFINITY else min(want, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        if soft != resource.RLIM_INFINITY:
            return max(1, min(connections, soft - _spare(soft)))
    return connections


class WitnessServer:
    """``POST <prefix>/add-checkpoint`` over HTTP; every other path 404, other methods 405.

    The socket is bound when the server is made (OSError if it cannot be);
    :meth:`start` serves in a thread of its own and returns once
    connections are accepted; :meth:`stop` finishes what is under way (at
    most the deadline) and closes.  ``submit(body)`` decides and persists
    (``Authority.add_checkpoint`` with the witness key and the clock); a
    CustodyError from it becomes 500 with nothing cosigned.
    """

    def __init__(
        self,
        address: tuple[str, int],
        submit: Submit,
        *,
        limits: Limits | None = None,
        prefix: str = "",
        log_stream: TextIO | None = None,
    ) -> None:
        self.log_stream = log_stream
        wanted = limits or Limits()
        allowed = _open_files_for(wanted.max_connections)
        if allowed < wanted.max_connections:
            self.log(_("the open-file limit allows {n} connections, not {want}").format(
                n=allowed, want=wanted.max_connections))
            wanted = Limits(wanted.deadline, wanted.max_body, allowed, wanted.max_requests)
        self.limits = wanted
        self.submission_path = prefix.rstrip("/") + ADD_CHECKPOINT_PATH
        host, port = address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.create_server((host, port), family=family, backlog=_BACKLOG)
        self._log_handler = _LogHandler(self.log)
        self._deciding = _Deciding()
        config = _Config(
            build_app(submit, self.limits, self.submission_path, self.log, self._deciding),
            limits=self.limits, log=self.log,
            http=_WitnessProtocol, ws="none", lifespan="off", interface="asgi3",
            log_config=None, access_log=False, proxy_headers=False, server_header=False,
            headers=[("Server", SERVER_NAME)], timeout_keep_alive=int(KEEP_ALIVE),
            timeout_graceful_shutdown=int(self.limits.deadline) + 5,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES, limit_concurrency=None, backlog=_BACKLOG,
        )
        self._server = _Server(config)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def log(self, message: str) -> None:
        stream = self.log_stream or sys.stderr
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        try:
            stream.write(f"{stamp} witness: {message}\n")
            stream.flush()
        except (OSError, ValueError):
            pass

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # noqa: BLE001 - reported by start() or stop()
            self._failure = exc
        finally:
            self._server.ready.set()

    def start(self, timeout: float = 30.0) -> None:
        """Serve in a thread; return once connections are accepted (RuntimeError if the server failed)."""
        logging.getLogger("uvicorn.error").addHandler(self._log_handler)
        self._thread = threading.Thread(target=self._run, name="witness-http", daemon=True)
        self._thread.start()
        if not self._server.ready.wait(timeout) or self._failure is not None or not self._server.started:
            self.stop()
            raise RuntimeError(f"the witness server did not start: {self._failure!r}")

    @property
    def open_connections(self) -> int:
        """Client connections open now, refused ones included."""
        return len(self._server.server_state.connections)

    @property
    def deciding(self) -> int:
        """Requests being decided now."""
        return self._deciding.count

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop accepting, let requests under way finish (at most the deadline), close."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(self.limits.deadline + 30)
        with contextlib.suppress(OSError):
            self._socket.close()
        logging.getLogger("uvicorn.error").removeHandler(self._log_handler)

    def __enter__(self) -> WitnessServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
