"""The desk as an ASGI application: its routes, its guard, its start and stop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from custody.desk import pages_approvals, pages_evidence, pages_witness
from custody.desk.jobs import VERIFY
from custody.desk.security import AUTH_COOKIE, GuardMiddleware
from custody.desk.state import Desk
from custody.desk.web import LANG_COOKIE, desk_of, language, page, read_form, redirect, render, text_field
from custody.ledger import i18n

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"desk.css": "text/css; charset=utf-8", "desk.js": "text/javascript; charset=utf-8"}
FONT = "ipaexg.ttf"  # served from the reports' fonts (custody.verify.reports.fontfiles) for PCs without a Japanese font


@page
async def home(request: Request) -> Response:
    desk = desk_of(request)
    apps = await run_in_threadpool(desk.inbox.applications)
    undecided = [a for a in apps if a.valid and desk.inbox.decision(a.digest) is None]
    waiting = await run_in_threadpool(desk.witness.waiting)
    authority = desk.authority()
    return render(request, "home.html", undecided=undecided, waiting=waiting, origins=authority.origins(),
                  bundles=desk.shelf.records())


async def choose_language(request: Request) -> Response:
    code = request.path_params["code"]
    target = request.query_params.get("next", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = redirect(target)
    if code in i18n.SUPPORTED:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, httponly=True, samesite="strict")
    return response


@page
async def signin(request: Request) -> Response:
    desk = desk_of(request)
    if request.method == "POST":
        form = await read_form(request)
        if desk.guard.token_ok(text_field(form, "token")):
            response = redirect("/")
            response.set_cookie(AUTH_COOKIE, desk.guard.auth_cookie(), httponly=True, samesite="strict")
            return response
        return render(request, "signin.html", status=401, wrong=True)
    return render(request, "signin.html", wrong=False)


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name == FONT:
        from custody.verify.reports import fontfiles

        path = Path(fontfiles.__path__[0]) / FONT
        return Response(path.read_bytes(), media_type="font/ttf", headers={"cache-control": "private, max-age=86400"})
    if name not in STATIC_FILES:
        raise HTTPException(404)
    return Response((STATIC / name).read_bytes(), media_type=STATIC_FILES[name],
                    headers={"cache-control": "private, max-age=300"})


async def no_icon(_request: Request) -> Response:
    return Response(status_code=204)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    with i18n.using(language(request)):
        return render(request, "error.html", status=exc.status_code, message=exc.detail, error=None)


def create_app(desk: Desk) -> GuardMiddleware:
    """The desk's ASGI application: Starlette's routes inside the guard (custody.desk.security)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # The bundles the desk already knows are verified again in the background, in its language,
        # so that their findings and histories are ready when someone opens them.
        for record in desk.shelf.records():
            version = desk.shelf.current_version(record)
            if version:
                desk.jobs.submit(VERIFY, record.id, version, desk.settings.lang, record.path)
        try:
            yield
        finally:
            await run_in_threadpool(desk.close)

    routes = [
        Route("/", home),
        Route("/lang/{code}", choose_language),
        Route("/signin", signin, methods=["GET", "POST"]),
        Route("/static/{name}", static),
        Route("/favicon.ico", no_icon),
        Route("/approvals", pages_approvals.inbox),
        Route("/approvals/upload", pages_approvals.upload, methods=["POST"]),
        Route("/approvals/{digest}", pages_approvals.application),
        Route("/approvals/{digest}/approve", pages_approvals.approve_form, methods=["POST"]),
        Route("/approvals/{digest}/reject", pages_approvals.reject_form, methods=["POST"]),
        Route("/approvals/{digest}/approval", pages_approvals.approval_file),
        Route("/approvals/{digest}/rejection", pages_approvals.rejection_file),
        Route("/contracts", pages_evidence.contracts),
        Route("/contracts/{key}", pages_evidence.contract),
        Route("/bundles/upload", pages_evidence.upload_bundle, methods=["POST"]),
        Route("/bundles/path", pages_evidence.add_path, methods=["POST"]),
        Route("/bundles/{bundle}", pages_evidence.bundle),
        Route("/bundles/{bundle}/status.json", pages_evidence.status),
        Route("/bundles/{bundle}/verify", pages_evidence.verify_again, methods=["POST"]),
        Route("/bundles/{bundle}/findings", pages_evidence.findings),
        Route("/bundles/{bundle}/media/{media}", pages_evidence.medium),
        Route("/bundles/{bundle}/attachments/{digest}", pages_evidence.attachment),
        Route("/bundles/{bundle}/reports", pages_evidence.make_reports, methods=["POST"]),
        Route("/bundles/{bundle}/reports/{lang}/{name}", pages_evidence.report_file),
        Route("/witness", pages_witness.witness),
        Route("/witness/upload", pages_witness.upload, methods=["POST"]),
        Route("/witness/{name}/cosign", pages_witness.cosign, methods=["POST"]),
        Route("/witness/{name}/response", pages_witness.response),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})
    app.state.desk = desk

    def refused(kind: str) -> tuple[str, str]:
        texts = {
            "host": ("このアドレスでは応答しません。", "The desk does not answer under this address."),
            "method": ("この操作はできません。", "This method is not allowed."),
            "origin": ("他のサイトからの送信は受け付けません。", "Posts from another site are refused."),
            "size": ("送信されたデータが大きすぎます。何も保存されていません。",
                     "The upload is larger than the desk accepts; nothing was stored."),
        }
        return texts[kind]

    return GuardMiddleware(app, desk.guard, refused=refused)
