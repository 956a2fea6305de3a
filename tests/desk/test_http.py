"""The desk over real HTTP on loopback: its safety (CSP, CSRF, origin and host checks, size limits, sign-in)
and uploads that are not what they claim, each refused with a clear message and nothing changed."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.desk.security import CSP, is_loopback
from custody.desk.server import read_token
from tests.desk.conftest import Client, DeskWorld, RunningDesk, start_desk

PAGES = ("/", "/approvals", "/contracts", "/witness")


def workspace_files(world: DeskWorld) -> list[str]:
    return sorted(p.relative_to(world.workspace).as_posix() for p in world.workspace.rglob("*") if p.is_file()
                  and p.name != "settings.json")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sets_a_strict_content_security_policy(client: Client, path: str) -> None:
    reply = client.get(path)
    assert reply.status == 200
    assert reply.headers["content-security-policy"] == CSP
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "form-action 'self'", "base-uri 'none'"):
        assert directive in CSP
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["referrer-policy"] == "no-referrer"
    # Nothing inline that the policy would have to allow: no inline script, no style attribute or element.
    assert not re.search(r"<script(?![^>]*\bsrc=)", reply.text)
    assert " style=" not in reply.text and "<style" not in reply.text
    assert 'lang="ja"' in reply.text  # Japanese unless the person chooses English


def test_language_is_chosen_per_person(client: Client) -> None:
    assert "承認" in client.get("/approvals").text
    client.get("/lang/en?next=/approvals")
    page = client.get("/approvals").text
    assert "Add to the inbox" in page and 'lang="en"' in page
    # An address elsewhere is never followed.
    other = Client(client.base, follow=False)
    assert other.get("/lang/en?next=//evil.example/").headers["location"] == "/"


@pytest.mark.parametrize(("case", "token"), [("no token", None), ("a made-up token", "0" * 64),
                                              ("another form's token", "cookie-mismatch")])
def test_a_post_without_the_forms_csrf_token_is_refused(client: Client, world: DeskWorld, case: str,
                                                        token: str | None) -> None:
    application = world.takeout_request().read_bytes()
    if token == "cookie-mismatch":
        token = Client(client.base).csrf()  # valid for another browser's cookie, not this one
    else:
        client.get("/")  # this browser has its cookie
    reply = client.post("/approvals/upload", files={"file": ("t.json", application)}, csrf=token)
    assert reply.status == 403, case
    assert "フォームの有効期限が切れたか" in reply.text
    assert workspace_files(world) == []


def test_a_post_from_another_site_is_refused(client: Client, world: DeskWorld) -> None:
    application = world.takeout_request().read_bytes()
    reply = client.post("/approvals/upload", files={"file": ("t.json", application)},
                        headers={"Origin": "http://evil.example"})
    assert reply.status == 403
    assert workspace_files(world) == []


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "192.168.1.10:{port}", ""])
def test_a_request_under_another_host_name_is_not_answered(desk: RunningDesk, host: str) -> None:
    """DNS rebinding: a page elsewhere that makes its own name resolve to 127.0.0.1 still names itself."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", desk.port, timeout=30)
    conn.putrequest("GET", "/approvals", skip_host=True)
    if host:
        conn.putheader("Host", host.format(port=desk.port))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == (421 if host else 400)  # no Host at all: HTTP/1.1 itself refuses it
    assert b"approvals" not in resp.read().lower()
    conn.close()


def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(world: DeskWorld) -> None:
    running = start_desk(world, max_upload=1 << 20)
    try:
        client = Client(running.url)
        reply = client.post("/bundles/upload", files={"file": ("big.zip", b"\0" * (3 << 20))})
        assert reply.status == 413
        assert "大きすぎます" in reply.text
        reply = client.post("/approvals/upload", files={"file": ("big.json", b" " * (9 << 20))})
        assert reply.status == 413
        assert workspace_files(world) == []
    finally:
        running.stop()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _application_with(world: DeskWorld, **change: object) -> bytes:
    doc = json.loads(world.takeout_request().read_text(encoding="utf-8"))
    doc.update(change)
    return json.dumps(doc, ensure_ascii=False).encode()


def _application_without(world: DeskWorld, key: str) -> bytes:
    doc = json.loads(world.takeout_request().read_text(encoding="utf-8"))
    doc.pop(key)
    return json.dumps(doc, ensure_ascii=False).encode()


Make = Callable[[DeskWorld], bytes]
APPLICATIONS: dict[str, tuple[Make, str]] = {
    "not JSON": (lambda w: b"%PDF-1.4 not an application", "JSON として不正"),
    "a repeated key": (lambda w: b'{"format": "custody/request/v1", "format": "x"}', "duplicate key"),
    "another format": (lambda w: b'{"format": "custody/approval/v1"}', "custody/request/v1"),
    "a field missing": (lambda w: _application_without(w, "purpose"), "purpose"),
    "an unknown field": (lambda w: _application_with(w, surprise="x"), "申請書の内容が不正"),
}


@pytest.mark.parametrize("case", list(APPLICATIONS))
def test_a_malformed_application_gets_a_clear_message_and_changes_nothing(client: Client, world: DeskWorld,
                                                                         case: str) -> None:
    make, says = APPLICATIONS[case]
    data = make(world)
    reply = client.post("/approvals/upload", files={"file": ("app.json", data)})
    assert reply.status == 400, reply.text[:300]
    assert "app.json" in reply.text
    assert says in reply.text, reply.text[-1500:]
    assert "何も変更されていません" in reply.text
    assert workspace_files(world) == []


def _bomb() -> bytes:
    return _zip({"manifest.json": b"{}", "entries.jsonl": b"\0" * (24 << 20)})


BUNDLES: dict[str, tuple[Make, str]] = {
    "not a zip": (lambda w: b"just some bytes", "zip 形式ではありません"),
    "a path outside the bundle": (lambda w: _zip({"../../etc/evil": b"x", "manifest.json": b"{}"}), "安全でないファイル名"),
    "a zip bomb": (lambda w: _bomb(), "zip 爆弾"),
    "no manifest": (lambda w: _zip({"entries.jsonl": b"{}\n"}), "証跡一式ではありません"),
    "a manifest of something else": (lambda w: _zip({"manifest.json": b'{"format": "x"}'}), "証跡一式ではありません"),
}


@pytest.mark.parametrize("case", list(BUNDLES))
def test_a_hostile_or_malformed_bundle_upload_is_refused_and_changes_nothing(client: Client, world: DeskWorld,
                                                                           case: str) -> None:
    make, says = BUNDLES[case]
    reply = client.post("/bundles/upload", files={"file": ("bundle.zip", make(world))})
    assert reply.status == 400, reply.text[:300]
    assert says in reply.text, reply.text[-1500:]
    assert workspace_files(world) == []


def test_a_bundle_of_a_contract_the_trust_store_does_not_pin_is_refused(client: Client, world: DeskWorld,
                                                                        tmp_path: Path) -> None:
    bundle = tmp_path / "b.zip"
    world.w.ok("export", str(bundle), "--zip", as_=None)
    shutil.rmtree(world.authority / "logs")  # the trust store forgets the contract
    reply = client.post("/bundles/upload", files={"file": ("b.zip", bundle.read_bytes())})
    assert reply.status == 400
    assert "信頼ストアにこの台帳は登録されていません" in reply.text
    assert workspace_files(world) == []


@pytest.mark.parametrize("data", [b"", b"old 0\n", b"not a request at all\n\n", b"\xff" * 100])
def test_a_malformed_witness_request_is_refused_and_changes_nothing(client: Client, world: DeskWorld,
                                                                    data: bytes) -> None:
    reply = client.post("/witness/upload", files={"file": ("req.txt", data or b" ")})
    assert reply.status == 400
    assert "副署依頼ではありません" in reply.text
    assert workspace_files(world) == []


# --- sign-in ---


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.3.4.5", True), ("::1", True),
                                                ("localhost", True), ("0.0.0.0", False), ("192.168.1.10", False),
                                                ("::", False), ("desk.city.example", False)])
def test_only_loopback_addresses_count_as_this_computer(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    token = read_token(None, host)
    assert (token is None) is loopback, "a desk bound beyond loopback always requires a token"
    if token is not None:
        assert len(token) >= 24


def test_with_a_token_every_page_asks_for_it(world: DeskWorld) -> None:
    running = start_desk(world, token="correct horse battery staple")
    try:
        anonymous = Client(running.url, follow=False)
        reply = anonymous.get("/approvals")
        assert reply.status == 303 and reply.headers["location"] == "/signin"
        assert anonymous.get("/approvals/upload").status == 303
        wrong = Client(running.url)
        assert wrong.post("/signin", {"token": "guess"}, csrf=wrong.csrf("/signin")).status == 401
        assert wrong.get("/approvals").text.count("サインイン") >= 1
        signed = Client(running.url)
        assert signed.get("/?token=correct horse battery staple".replace(" ", "%20")).status == 200
        assert "受付箱" in signed.get("/approvals").text
        typed = Client(running.url)
        assert typed.post("/signin", {"token": "correct horse battery staple"}, csrf=typed.csrf("/signin")).status == 200
        assert typed.get("/witness").status == 200
    finally:
        running.stop()
