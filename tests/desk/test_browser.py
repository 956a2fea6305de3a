"""The desk end to end in a real browser (Debian's Chromium, driven by Playwright): the approver's whole path.

Upload the vendor's takeout application, read it with what the ledger says of M-001, approve it with the
key's passphrase and download the approval; the vendor records it with the CLI (takeout depart, return);
the same for the disposal of M-001, recorded with a photo; cosign the vendor's checkpoint in the witness
page; the vendor exports; verify the bundle in the desk, open M-001's history and read why it was disposed,
see the photo, and download a report.  No terminal on the municipality's side.

Chromium comes from Debian (``apt-get install chromium``, which ``.ci/run`` does): no browser download.
Where it is missing the test skips, and fails instead when the environment variable CI is set.
Set CUSTODY_DESK_SCREENSHOTS=DIR to keep the screenshots of the main pages (docs/desk/ holds them).
"""

from __future__ import annotations

import os
import queue
import re
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.desk.conftest import DeskWorld

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get install chromium (what .ci/run does)"
TIMEOUT_MS = 90_000
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Debian's Chromium ({CHROMIUM}) is not installed; install it with: {INSTALL}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (make test installs the dev extras)"
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    why = _browser_missing()
    if why is not None:
        if "CI" in os.environ:
            pytest.fail(f"CI must install the browser before running the tests: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


def png(width: int = 240, height: int = 140) -> bytes:
    """A real PNG: a grey USB stick on white with a dark label band (what a photo of the serial shows)."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            inside = 30 <= x < 200 and 40 <= y < 100
            cap = 200 <= x < 225 and 55 <= y < 85
            label = 60 <= x < 170 and 60 <= y < 80
            colour = (40, 40, 60) if label else (150, 150, 160) if inside else (90, 90, 100) if cap else (255, 255, 255)
            row += bytes(colour)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + \
        chunk(b"IEND", b"")


class DeskProcess:
    """``custody desk`` as the approver starts it, in its own process; the URL from its first line."""

    def __init__(self, world: DeskWorld) -> None:
        env = {**os.environ, **world.w.custody.env, "CUSTODY_LANG": "ja"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "custody.cli.main", "desk", "--authority", str(world.authority),
             "--key", str(world.w.key("city-approver")), "--no-browser", "--listen", "127.0.0.1:0",
             "--approver-name", "鈴木 次郎", "--approver-title", "市民課長", "--approver-organisation", "例市"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        def read() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        try:
            first = lines.get(timeout=90)
        except queue.Empty:
            self.stop()
            pytest.fail("custody desk printed no address within 90 s")
        match = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert match, first
        self.url = match.group(0).rstrip("/")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_the_approvers_whole_path_in_the_browser(chromium: Any, world: DeskWorld, tmp_path: Path) -> None:
    shots = Path(os.environ.get("CUSTODY_DESK_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    w = world.w
    desk = DeskProcess(world)
    context = chromium.new_context(viewport={"width": 1200, "height": 860}, accept_downloads=True, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    def approve(request: Path, approval_id: str, download_to: Path, *, shot: str | None = None) -> None:
        page.goto(desk.url + "/approvals")
        page.set_input_files("#file", str(request))
        page.click("form[action='/approvals/upload'] button")
        page.wait_for_selector("form[action$='/approve']")
        if shot:
            page.screenshot(path=str(shots / shot), full_page=True)
        page.fill("#approval_id", approval_id)
        page.fill("#passphrase", "operator pass")
        page.click("form[action$='/approve'] button[type=submit]")
        page.wait_for_selector("text=承認書をダウンロード")
        with page.expect_download() as download:
            page.click("a[href$='/approval']")
        download.value.save_as(download_to)

    try:
        # 1. The takeout application, in plain Japanese, with what the ledger says of M-001 (nothing yet).
        page.goto(desk.url + "/")
        assert "判断を待つ申請はありません" in page.inner_text("main")
        takeout = world.takeout_request()
        page.goto(desk.url + "/approvals")
        page.set_input_files("#file", str(takeout))
        page.click("form[action='/approvals/upload'] button")
        page.wait_for_selector("form[action$='/approve']")
        text = page.inner_text("main")
        for shown in ("持ち出し申請", "例市情報政策課での移行リハーサル", "例市役所 情報政策課", "AES-256-XTS", "M-001"):
            assert shown in text, shown
        page.fill("#approval_id", "例市持出承認-2026-07")
        page.fill("#conditions", "施錠ケースで運搬すること")
        page.fill("#passphrase", "operator pass")
        page.click("form[action$='/approve'] button[type=submit]")
        page.wait_for_selector("text=承認書をダウンロード")
        with page.expect_download() as download:
            page.click("a[href$='/approval']")
        takeout_approval = tmp_path / "takeout.approval"
        download.value.save_as(takeout_approval)

        # 2. The vendor records it with the CLI, as with an approval made by `custody approve`.
        w.ok(*w.depart_args(takeout_approval), as_="op-tanaka")
        w.ok("takeout", "return", "--media-id", "M-001", "--count-out", "1", "--count-in", "1", as_="op-tanaka")

        # 3. The disposal of M-001: applied for, approved in the desk, recorded with a photo.
        dispose = w.request("dispose", "--media-id", "M-001", "--number", "廃棄申請-2026-001", "--category", "destroy",
                            "--technique", "物理破砕(シュレッダー)", "--tool", "破砕機 HDD-X1", "--witness-required",
                            "--purpose", "移行作業の完了に伴う廃棄", name="D1", as_="resp-sato")
        dispose_approval = tmp_path / "dispose.approval"
        approve(dispose, "例市廃棄承認-2026-05", dispose_approval, shot="application.png")
        w.ok("dispose", "approved", "--approval", str(dispose_approval))
        photo = tmp_path / "M-001-serial.png"
        photo.write_bytes(png())
        w.ok(*w.record_args("M-001", photo=False), "--photo", str(photo), "--certificate-number", "破砕証明-2026-0042",
             as_="op-tanaka")
        page.goto(desk.url + "/approvals")
        page.screenshot(path=str(shots / "approvals.png"), full_page=True)

        # 4. The witness: the vendor's checkpoint, cosigned in the desk.
        w.ok("checkpoint", as_=None)
        request = tmp_path / "witness-request.txt"
        w.ok("witness-request", "-o", str(request), as_=None)
        page.goto(desk.url + "/witness")
        page.set_input_files("#wfile", str(request))
        page.click("form[action='/witness/upload'] button")
        page.wait_for_selector("section.request")
        assert "200 Success" in page.inner_text("section.request") or "副署" in page.inner_text("section.request")
        page.screenshot(path=str(shots / "witness.png"), full_page=True)
        page.fill("section.request input[name=passphrase]", "operator pass")
        page.click("section.request button[type=submit]")
        page.wait_for_selector("a[href$='/response']")
        with page.expect_download() as download:
            page.click("a[href$='/response']")
        response = tmp_path / "witness.response"
        download.value.save_as(response)
        w.ok("witness", "import", str(response), as_=None)

        # 5. The vendor exports; the desk verifies the bundle.
        bundle = tmp_path / "bundle.zip"
        w.ok("export", str(bundle), "--zip", as_=None)
        page.goto(desk.url + "/contracts")
        page.set_input_files("#bundle-file", str(bundle))
        page.click("form[action='/bundles/upload'] button")
        page.wait_for_selector("section.verdict")
        verdict = page.inner_text("section.verdict")
        assert "検証結果: エラーなし" in verdict, verdict
        page.screenshot(path=str(shots / "bundle.png"), full_page=True)
        bundle_url = page.url

        # 6. M-001's history, and why it was disposed, with the photo.
        page.click("a:text-is('M-001')")
        page.wait_for_selector("section.why")
        why = page.inner_text("section.why")
        for shown in ("廃棄", "例市廃棄承認-2026-05", "移行作業の完了に伴う廃棄", "立会人", "山田 花子", "破砕証明-2026-0042"):
            assert shown in why, shown
        history = page.inner_text("ol.timeline")
        for shown in ("受領", "持ち出し", "持ち出しからの返却", "廃棄承認の記録", "例市持出承認-2026-07", "署名を検証済み"):
            assert shown in history, shown
        image = page.locator("ol.timeline img").first
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth === 240", arg=image.element_handle())
        page.screenshot(path=str(shots / "medium.png"))
        page.locator("ol.timeline > li").last.screenshot(path=str(shots / "medium-disposal.png"))

        # 7. The findings, then a report downloaded.
        page.goto(bundle_url + "/findings")
        page.screenshot(path=str(shots / "findings.png"), full_page=True)
        page.goto(bundle_url)
        page.click("#reports button[type=submit]")
        page.wait_for_selector("a[href*='/reports/ja/register.ja.pdf']")
        with page.expect_download() as download:
            page.click("a[href*='/reports/ja/register.ja.pdf']")
        report = tmp_path / "register.ja.pdf"
        download.value.save_as(report)
        assert report.read_bytes().startswith(b"%PDF-")
        assert page.locator("a[href*='/reports/ja/disposal-M-001.ja.pdf']").count() == 1
        page.wait_for_selector("a[href*='/reports/ja/register.ja.xlsx']")  # the tables, for Excel
        assert page.locator("a[href*='/reports/ja/staff.ja.csv']").count() == 1
        page.goto(desk.url + "/")
        page.screenshot(path=str(shots / "home.png"), full_page=True)
        assert not problems, problems  # no script error, nothing the Content-Security-Policy blocked
    finally:
        context.close()
        desk.stop()
