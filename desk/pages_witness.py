"""Pages of the witness: the cosigning requests waiting, what each would cosign, and the answers."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from custody.desk.web import desk_of, download, page, read_form, redirect, render, status_of, text_field
from custody.desk.witnessing import MAX_REQUEST
from custody.ledger import i18n
from custody.ledger.errors import CustodyError, UsageError
from custody.ledger.i18n import _


async def _show(request: Request, *, status: int = 200, error: CustodyError | None = None) -> Response:
    desk = desk_of(request)
    waiting = await run_in_threadpool(desk.witness.waiting)
    answered = await run_in_threadpool(desk.witness.answered)
    return render(request, "witness.html", status=status, waiting=waiting, answered=answered, error=error,
                  folder=str(desk.workspace.witness_requests), just=request.query_params.get("answered", ""))


@page
async def witness(request: Request) -> Response:
    return await _show(request)


@page
async def upload(request: Request) -> Response:
    desk = desk_of(request)
    form = await read_form(request, files=10, field_limit=MAX_REQUEST + 4096)
    try:
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile) and f.filename]
        if not files:
            raise UsageError(_("Choose one or more witness request files to upload."))
        for item in files:
            data = await item.read(MAX_REQUEST + 1)
            await run_in_threadpool(desk.witness.add, data, item.filename or "request")
    finally:
        await form.close()
    return redirect("/witness")


@page
async def cosign(request: Request) -> Response:
    desk = desk_of(request)
    form = await read_form(request)
    name = request.path_params["name"]
    lang = i18n.language()
    try:
        secret = text_field(form, "passphrase").encode("utf-8")
        if not secret:
            raise UsageError(_("Type the passphrase of the witness key."))

        def run() -> str:
            with i18n.using(lang):
                return desk.witness.cosign(name, secret).name

        answered = await run_in_threadpool(run)
    except CustodyError as exc:
        return await _show(request, status=status_of(exc), error=exc)
    return redirect(f"/witness?answered={answered}")


@page
async def response(request: Request) -> Response:
    name = request.path_params["name"]
    data = desk_of(request).witness.response(name)
    if data is None:
        raise HTTPException(404, _("No such response."))
    return download(data, f"{name}.response", "text/plain; charset=utf-8")
