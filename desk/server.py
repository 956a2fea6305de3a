"""Serving the desk with uvicorn on a socket bound before the server starts (so the URL is known)."""

from __future__ import annotations

import contextlib
import secrets
import socket
import webbrowser
from collections.abc import Callable
from pathlib import Path

from custody.desk.security import Guard, is_loopback
from custody.desk.state import Desk, Settings
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port_text = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(_("--listen must be HOST:PORT, e.g. 127.0.0.1:0 (0: any free port)"))
    return host, int(port_text)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(_("Cannot listen on {host}:{port}: {why}").format(
            host=host, port=port, why=exc.strerror or exc)) from None
    sock.set_inheritable(True)
    return sock


def read_token(path: Path | None, host: str) -> str | None:
    """The sign-in token: from ``path``; else a random one when the desk is bound beyond loopback."""
    if path is not None:
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(_("Cannot read the token file {path}: {why}").format(path=path, why=exc)) from None
        if len(token) < 12:
            raise UsageError(_("The token in {path} is too short (at least 12 characters).").format(path=path))
        return token
    if is_loopback(host):
        return None
    return secrets.token_urlsafe(24)


def url_of(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(settings: Settings, *, token_file: Path | None = None, open_browser: bool = True,
          announce: Callable[[str], None] = print) -> None:
    """Start the desk and serve until interrupted (Ctrl-C, SIGTERM)."""
    import uvicorn

    from custody.desk.app import create_app

    token = read_token(token_file, settings.host)
    sock = bind(settings.host, settings.port)
    port = sock.getsockname()[1]
    final = Settings(**{**settings.__dict__, "port": port, "token": token})
    guard = Guard.make(host=settings.host, port=port, token=token, max_upload=final.max_upload)
    desk = Desk(final, guard)
    app = create_app(desk)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", server_header=False,
                            date_header=False, timeout_keep_alive=5, h11_max_incomplete_event_size=64 * 1024)
    server = uvicorn.Server(config)
    url = url_of(settings.host if settings.host != "0.0.0.0" else "127.0.0.1", port, token)  # noqa: S104
    announce(_("custody desk: {url} (Ctrl-C stops it)").format(url=url))
    if open_browser:
        with contextlib.suppress(Exception):
            webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        desk.close()
