"""Pages: the templates, the language of a request, forms and how errors are shown.

Every page is rendered in the language of the person's choice (a cookie; the desk's ``--lang`` until
they choose), with ``custody.ledger.i18n.using`` for that request only: the desk's own words come
from ``ledger/locale/ja/desk.po`` through ``_()`` in the templates, the ledger's vocabulary from the
reports' tables (``Tr``).  A CustodyError raised while serving a request becomes the page again with
the message (and its hint) in a box, never a trace.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from custody.desk.security import CSRF_COOKIE, CSRF_FIELD, TooLarge
from custody.desk.state import Desk
from custody.ledger import i18n
from custody.ledger.errors import CustodyError, FormatError, KeyFileError, RuleRefusal, StoreError, UsageError
from custody.ledger.i18n import _
from custody.verify.reports.labels import Tr

LANG_COOKIE = "custody_desk_lang"
TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_FILES = 20
MAX_FIELDS = 100
MAX_FIELD = 256 * 1024

Handler = Callable[[Request], Awaitable[Response]]

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["_"] = lambda message, **values: _(message).format(**values) if values else _(message)


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in i18n.SUPPORTED else desk_of(request).settings.lang


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    desk = desk_of(request)
    lang = i18n.language()
    html = _env.get_template(template).render(
        request=request, lang=lang, t=Tr("ja" if lang == "ja" else "en"),
        csrf=desk.guard.csrf_for(request.cookies.get(CSRF_COOKIE)) or "", csrf_field=CSRF_FIELD,
        path=request.url.path, query=request.url.query, settings=desk.settings, **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def status_of(exc: CustodyError) -> int:
    if isinstance(exc, KeyFileError | UsageError | FormatError):
        return 400
    if isinstance(exc, RuleRefusal):
        return 409
    if isinstance(exc, StoreError):
        return 500
    return 422


def page(handler: Handler) -> Handler:
    """Serve ``handler`` in the request's language; a CustodyError becomes an error page."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        with i18n.using(language(request)):
            try:
                return await handler(request)
            except CustodyError as exc:
                return render(request, "error.html", status=status_of(exc), error=exc)

    return wrapped


async def read_form(request: Request, *, files: int = 0, field_limit: int = MAX_FIELD) -> FormData:
    """The posted form, size-limited, once its CSRF token matched the cookie (403 otherwise)."""
    try:
        form = await request.form(max_files=files, max_fields=MAX_FIELDS, max_part_size=field_limit)
    except TooLarge:
        raise HTTPException(413, _("The upload is larger than the desk accepts.")) from None
    except HTTPException:
        raise
    except Exception as exc:
        if type(exc).__name__ in ("MultiPartException", "ClientDisconnect"):
            raise HTTPException(400, _("The form could not be read: {why}").format(why=exc)) from None
        raise
    token = form.get(CSRF_FIELD)
    if not desk_of(request).guard.csrf_ok(request.cookies.get(CSRF_COOKIE), token if isinstance(token, str) else None):
        await form.close()
        raise HTTPException(403, _("The form has expired or did not come from this desk; reload the page and try "
                                   "again."))
    return form


def text_field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def download(data: bytes, filename: str, media_type: str = "application/octet-stream") -> Response:
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename) or "download"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"content-disposition": disposition})
