"""The desk's safety: who may reach it, what a page may load, which posts count, how much may be sent.

* **Where it listens**: 127.0.0.1 by default.  Bound to any other address it requires a token (given
  with ``--token-file``, else a random one printed in the URL); on loopback a token is optional.  With a
  token, the first visit carries it (``/?token=...``, or typed into the sign-in page) and gets a cookie
  holding an HMAC of it under the process's secret; nothing else is accepted.
* **Host header**: on loopback only ``127.0.0.1``, ``localhost`` and ``[::1]`` with the desk's port are
  answered, so that a web page elsewhere cannot reach the desk through a DNS name it rebinds to
  127.0.0.1.
* **Content-Security-Policy**: ``default-src 'none'``; scripts, styles, images and fonts from the desk
  itself only; no inline script or style; forms post only to the desk; no framing.  With ``nosniff``,
  ``no-referrer``, ``no-store`` for pages and the cross-origin isolation headers.
* **CSRF**: every form carries a token that is an HMAC of a random value also set in a ``SameSite=Strict``
  cookie; a post whose token and cookie do not match, or whose ``Origin`` is another site, is refused
  (403) before anything is read or changed.
* **Size**: every request body is counted as it arrives and refused (413) past the route's limit:
  bundles ``--max-upload-mb``, everything else 8 MiB.  A body declared too large is read and dropped
  (up to 4 GiB) before the answer, so that the browser shows the message rather than a reset
  connection; the page's script also checks the file's size before sending it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE = "custody_desk_csrf"
AUTH_COOKIE = "custody_desk_auth"
CSRF_FIELD = "csrf"
FORM_LIMIT = 8 << 20
DRAIN_LIMIT = 4 << 30  # a body declared larger than the limit but at most this is read and dropped
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), usb=(), serial=()"),
)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the desk on this computer (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Guard:
    """The process's secret and the settings every request is checked against."""

    secret: bytes
    port: int
    loopback: bool
    token: str | None
    max_upload: int

    @classmethod
    def make(cls, *, host: str, port: int, token: str | None, max_upload: int) -> Guard:
        return cls(secrets.token_bytes(32), port, is_loopback(host), token, max_upload)

    # --- tokens ---

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.secret, f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()

    def new_csrf(self) -> tuple[str, str]:
        """(cookie value, form value) of a new CSRF pair."""
        nonce = secrets.token_hex(16)
        return nonce, self._mac("csrf", nonce)

    def csrf_for(self, cookie: str | None) -> str | None:
        """The form token for an existing, well-formed cookie value; None if there is none."""
        if not cookie or len(cookie) != 32 or not all(c in "0123456789abcdef" for c in cookie):
            return None
        return self._mac("csrf", cookie)

    def csrf_ok(self, cookie: str | None, form_value: str | None) -> bool:
        expected = self.csrf_for(cookie)
        return expected is not None and form_value is not None and hmac.compare_digest(expected, form_value)

    def auth_cookie(self) -> str:
        return self._mac("auth", self.token or "")

    def token_ok(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def authenticated(self, cookie: str | None) -> bool:
        return self.token is None or (cookie is not None and hmac.compare_digest(cookie, self.auth_cookie()))

    def host_ok(self, host_header: str) -> bool:
        if not self.loopback:
            return True  # reachable under any of the machine's names: the token guards it
        host = urlsplit(f"//{host_header}").hostname or ""
        try:
            port = urlsplit(f"//{host_header}").port
        except ValueError:
            return False
        return host in LOOPBACK_NAMES and port == self.port

    def limit_for(self, path: str) -> int:
        return self.max_upload + (1 << 20) if path.startswith("/bundles/upload") else FORM_LIMIT


def cookies(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, sep, val = part.strip().partition("=")
                if sep:
                    out.setdefault(key, val)
    return out


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _plain(send: Send, status: int, text: str, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), *HEADERS, *extra]})
    await send({"type": "http.response.body", "body": body})


class TooLarge(Exception):
    pass


class GuardMiddleware:
    """Host check, sign-in, body size and the headers every response carries (module documentation).

    CSRF is checked by the routes that read a form (they know its token field), with ``Guard.csrf_ok``;
    the ``Origin`` of every post is checked here.
    """

    def __init__(self, app: ASGIApp, guard: Guard, *, refused: Callable[[str], tuple[str, str]]) -> None:
        self.app = app
        self.guard = guard
        self.refused = refused  # (kind) -> (Japanese, English) text of a refusal shown as plain text

    def _say(self, kind: str) -> str:
        ja, en = self.refused(kind)
        return f"{ja}\n{en}\n"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guard = self.guard
        if not guard.host_ok(header(scope, b"host") or ""):
            await _plain(send, 421, self._say("host"))
            return
        method = scope.get("method", "GET")
        path = scope.get("path", "/")
        if method not in ("GET", "HEAD", "POST"):
            await _plain(send, 405, self._say("method"))
            return
        if method == "POST":
            origin = header(scope, b"origin")
            if origin is not None and origin != "null" and urlsplit(origin).netloc != (header(scope, b"host") or ""):
                await _plain(send, 403, self._say("origin"))
                return
        jar = cookies(scope)
        extra: list[tuple[bytes, bytes]] = []
        if guard.token is not None and not guard.authenticated(jar.get(AUTH_COOKIE)):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (query.get("token") or [""])[0]
            if method == "GET" and given and guard.token_ok(given):
                # Signed in: the cookie, and the same page without the token in its address.
                await send({"type": "http.response.start", "status": 303, "headers": [
                    (b"location", path.encode("utf-8")), (b"cache-control", b"no-store"), *HEADERS,
                    (b"set-cookie", _cookie(AUTH_COOKIE, guard.auth_cookie()))]})
                await send({"type": "http.response.body", "body": b""})
                return
            if not (path == "/signin" or path.startswith("/static/")):
                await send({"type": "http.response.start", "status": 303, "headers": [
                    (b"location", b"/signin"), (b"cache-control", b"no-store"), *HEADERS]})
                await send({"type": "http.response.body", "body": b""})
                return
        if CSRF_COOKIE not in jar or guard.csrf_for(jar[CSRF_COOKIE]) is None:
            cookie, _form = guard.new_csrf()
            jar[CSRF_COOKIE] = cookie
            extra.append((b"set-cookie", _cookie(CSRF_COOKIE, cookie)))
            headers = [h for h in scope.get("headers", []) if h[0] != b"cookie"]
            headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in jar.items()).encode("latin-1")))
            scope = {**scope, "headers": headers}
        limit = guard.limit_for(path)
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            if declared.isdigit() and int(declared) <= DRAIN_LIMIT:
                # Read and drop what the browser is sending, so that it shows the answer rather than a
                # connection reset; nothing of it is kept.
                more = True
                while more:
                    message = await receive()
                    more = message["type"] == "http.request" and bool(message.get("more_body"))
            await _plain(send, 413, self._say("size"), ((b"connection", b"close"),))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge
            return message

        async def secured_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {h[0].lower() for h in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [h for h in HEADERS if h[0] not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                headers += extra
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, counted_receive, secured_send)
        except TooLarge:
            if not started:
                await _plain(send, 413, self._say("size"), ((b"connection", b"close"),))


def _cookie(name: str, value: str) -> bytes:
    return f"{name}={value}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")
