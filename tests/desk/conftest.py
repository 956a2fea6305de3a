"""The desk's test fixtures: a contract world built with the real CLI, the desk served by uvicorn on loopback,
and a small HTTP client that behaves like a browser's forms (cookies, the CSRF field, multipart uploads).

World: keys, a ledger with the responsible person and an operator, the municipality's trust store pinning it,
M-001 received and checked out, and a takeout application for it (tests/cli/workflow_world.py's steps).
"""

from __future__ import annotations

import http.cookiejar
import re
import shutil
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.agents.conftest import wait_until
from tests.cli.conftest import Custody
from tests.cli.workflow_world import PASSPHRASE, CliWorld, now

WITNESS = "city.example.lg.jp/witness"


@dataclass
class DeskWorld:
    w: CliWorld

    @property
    def root(self) -> Path:
        return self.w.root

    @property
    def authority(self) -> Path:
        return self.w.root / "authority"

    @property
    def workspace(self) -> Path:
        return self.authority / "desk"

    def takeout_request(self, name: str = "T1") -> Path:
        from datetime import timedelta

        return self.w.request(
            "takeout", "--media-id", "M-001", "--purpose", "例市情報政策課での移行リハーサル",
            "--destination", "例市役所 情報政策課", "--transport", "施錠ケースで手持ち", "--carrier", "op-tanaka",
            "--planned-return", now(timedelta(days=2)), "--encryption-method", "software",
            "--encryption-algorithm", "AES-256-XTS", "--erasure-plan", "返却後に保管庫へ戻す", name=name,
        )


def build_world(root: Path) -> DeskWorld:
    custody = Custody(root)
    w = CliWorld.template(root, custody)
    world = DeskWorld(w)
    witness_key = w.key(WITNESS)
    run = custody("authority", "init", str(world.authority), "--witness-key", str(witness_key))
    assert run.code == 0, run.stderr
    run = custody("authority", "trust", "--authority", str(world.authority), "--ledger", str(w.ledger), "--yes")
    assert run.code == 0, run.stderr
    w.receive("M-001", "BUF-32G-0012345", my_number=True, item="住民基本台帳:1200")
    w.checkout("M-001")
    return world


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> DeskWorld:
    """Built once per test process; no test changes it (``world`` gives each test a copy)."""
    return build_world(tmp_path_factory.mktemp("desk-world"))


@pytest.fixture
def world(world_template: DeskWorld, tmp_path: Path) -> DeskWorld:
    root = tmp_path / "world"
    shutil.copytree(world_template.root, root)
    return DeskWorld(CliWorld(root, Custody(tmp_path)))


# --- the desk on loopback, in this process ---


@dataclass
class RunningDesk:
    url: str
    port: int
    desk: Any
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the desk did not stop"


def start_desk(world: DeskWorld, *, keys: tuple[Path, ...] | None = None, token: str | None = None,
               max_upload: int = 64 << 20) -> RunningDesk:
    import uvicorn

    from custody.desk.app import create_app
    from custody.desk.security import Guard
    from custody.desk.server import bind
    from custody.desk.state import Desk, Settings

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    settings = Settings(authority=world.authority, workspace=world.workspace,
                        keys=keys if keys is not None else (world.w.key("city-approver"),), port=port, token=token,
                        max_upload=max_upload, lang="ja",
                        approver={"name": "鈴木 次郎", "title": "市民課長", "organisation": "例市"})
    guard = Guard.make(host="127.0.0.1", port=port, token=token, max_upload=max_upload)
    desk = Desk(settings, guard)
    server = uvicorn.Server(uvicorn.Config(create_app(desk), log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=60, what="the desk to start")
    return RunningDesk(f"http://127.0.0.1:{port}", port, desk, server, thread)


@pytest.fixture
def desk(world: DeskWorld) -> Iterator[RunningDesk]:
    running = start_desk(world)
    yield running
    running.stop()


# --- a browser's forms, with urllib ---


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Client:
    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)
    follow: bool = True

    def _opener(self) -> urllib.request.OpenerDirector:
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not self.follow:
            handlers.append(NoRedirect())
        return urllib.request.build_opener(*handlers)

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self._opener().open(req, timeout=60) as resp:
                return Reply(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.headers, exc.read())

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def csrf(self, path: str = "/approvals") -> str:
        page = self.get(path)
        match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert match, page.text[:500]
        return match.group(1)

    def post(self, path: str, fields: dict[str, str] | None = None, files: dict[str, tuple[str, bytes]] | None = None,
             *, csrf: str | None = "auto", headers: dict[str, str] | None = None) -> Reply:
        values = dict(fields or {})
        if csrf == "auto":
            values["csrf"] = self.csrf()
        elif csrf is not None:
            values["csrf"] = csrf
        body, content_type = multipart(values, files or {})
        return self.request("POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})})


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode() + b"\r\n")
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def client(desk: RunningDesk) -> Client:
    return Client(desk.url)


__all__ = ["PASSPHRASE", "Client", "DeskWorld", "RunningDesk", "build_world", "start_desk"]
