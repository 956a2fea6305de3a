"""Pages of the approvals inbox: the applications, one application in full, the approve and reject forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from custody.desk.approving import ApproverKey, Choices, approve
from custody.desk.inbox import APPROVED, MAX_APPLICATION, REJECTED, Application, Decision, NotAnApplication
from custody.desk.present import APPLICATION_KINDS, application_rows, medium_summary
from custody.desk.web import desk_of, download, page, read_form, redirect, render, status_of, text_field
from custody.ledger import i18n
from custody.ledger.approval_defaults import DEFAULT_ENCRYPTION_MIN, DEFAULT_MAX_USES, default_valid_days
from custody.ledger.errors import CustodyError, SchemaError, UsageError
from custody.ledger.i18n import _
from custody.verify.authority import NotPinnedError
from custody.verify.reports.labels import Tr


def _status(decision: Decision | None) -> str:
    if decision is None:
        return "open"
    return decision.decision


@page
async def inbox(request: Request) -> Response:
    desk = desk_of(request)
    apps = await run_in_threadpool(desk.inbox.applications)
    rows = [(a, desk.inbox.decision(a.digest) if a.valid else None) for a in apps]
    return render(request, "approvals.html", rows=rows, state_of=_status, kinds=APPLICATION_KINDS,
                  inbox_dir=str(desk.workspace.inbox), flash=request.query_params.get("added", ""),
                  max_mb=MAX_APPLICATION >> 20)


@page
async def upload(request: Request) -> Response:
    desk = desk_of(request)
    form = await read_form(request, files=10, field_limit=MAX_APPLICATION + 4096)
    files = [f for f in form.getlist("file") if isinstance(f, UploadFile) and f.filename]
    if not files:
        raise UsageError(_("Choose one or more application files to upload."))
    added: list[Application] = []
    for item in files:
        data = await item.read(MAX_APPLICATION + 1)
        await item.close()
        try:
            added.append(await run_in_threadpool(desk.inbox.add, data))
        except NotAnApplication as exc:
            raise NotAnApplication(_("{name}: {why}").format(name=item.filename, why=exc.message)) from None
    if len(added) == 1:
        return redirect(f"/approvals/{added[0].digest}")
    return redirect(f"/approvals?added={len(added)}")


def _application(request: Request) -> Application:
    digest = request.path_params["digest"]
    app = desk_of(request).inbox.get(digest)
    if app is None:
        raise HTTPException(404, _("No such application."))
    return app


def _form_defaults(desk: Any, app: Application) -> dict[str, Any]:
    days = default_valid_days(app.kind)
    return {"approval_id": "", "valid_from": "", "valid_until": "", "valid_days": str(days),
            "max_uses": str(DEFAULT_MAX_USES), "conditions": "", "encryption_min": DEFAULT_ENCRYPTION_MIN,
            "return_by": "", "copies": "", "evidence_due": "",
            "reason": "", **{f"approver_{k}": v for k, v in desk.approver_defaults().items()}}


async def _show(request: Request, app: Application, *, status: int = 200, error: CustodyError | None = None,
                values: dict[str, Any] | None = None) -> Response:
    desk = desk_of(request)
    lang = i18n.language()
    t = Tr("ja" if lang == "ja" else "en")
    record, data, job = await run_in_threadpool(desk.latest_data, app.origin, lang)
    media = [medium_summary(data, m, t) for m in app.media] if data is not None else []
    try:
        pin = desk.authority().get_pin(app.origin)
        pinned: tuple[str, ...] = pin.approver_vkeys
        contract = pin.contract
    except NotPinnedError:
        pinned, contract = (), {}
    keys = [(i, k, k.vkey in pinned) for i, k in enumerate(desk.keys)]
    decision = desk.inbox.decision(app.digest)
    return render(
        request, "application.html", status=status, app=app, rows=application_rows(app.doc, t, data),
        decision=decision, media=media, record=record, data=data, job=job, keys=keys, pinned=bool(pinned),
        contract=contract, error=error, values={**_form_defaults(desk, app), **(values or {})}, kinds=APPLICATION_KINDS,
    )


@page
async def application(request: Request) -> Response:
    return await _show(request, _application(request))


def _local_time(text: str, field: str) -> str:
    """A date-time from the form (``datetime-local``: no offset) in this computer's offset; "" stays ""."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SchemaError(_("Not a date and time: {value}").format(value=text), field=field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.now(UTC).astimezone().tzinfo)
    return moment.isoformat(timespec="seconds")


def _int(text: str, field: str, default: int | None) -> int | None:
    if not text:
        return default
    if not text.isdigit():
        raise SchemaError(_("Not a whole number: {value}").format(value=text), field=field)
    return int(text)


def choices_from(form: FormData, kind: str) -> Choices:
    """The approver's choices as typed in the form (the fields of ``custody approve``)."""
    overrides: dict[str, Any] = {}
    if kind == "takeout":
        overrides = {"encryption_min": text_field(form, "encryption_min") or None,
                     "return_by": _local_time(text_field(form, "return_by"), "return_by") or None}
    elif kind == "copy":
        overrides = {"copies": _int(text_field(form, "copies"), "copies", None)}
    elif kind == "dispose":
        overrides = {"evidence_due": _local_time(text_field(form, "evidence_due"), "evidence_due") or None}
    conditions = [line.strip() for line in text_field(form, "conditions").splitlines() if line.strip()]
    return Choices(
        approval_id=text_field(form, "approval_id"),
        approver={k: text_field(form, f"approver_{k}") for k in ("name", "title", "organisation")},
        valid_from=_local_time(text_field(form, "valid_from"), "valid_from"),
        valid_until=_local_time(text_field(form, "valid_until"), "valid_until"),
        valid_days=_int(text_field(form, "valid_days"), "valid_days", None),
        max_uses=_int(text_field(form, "max_uses"), "max_uses", 1) or 1,
        conditions=conditions,
        overrides=overrides,
    )


def _key(desk: Any, form: FormData) -> ApproverKey:
    index = text_field(form, "key")
    if not desk.keys:
        raise UsageError(_("The desk was started without an approver key, so it cannot sign."),
                         hint=_("Start it with the approver's key file: custody desk --key FILE"))
    if not index.isdigit() or int(index) >= len(desk.keys):
        raise UsageError(_("Choose the key to sign with."))
    key: ApproverKey = desk.keys[int(index)]
    return key


@page
async def approve_form(request: Request) -> Response:
    desk = desk_of(request)
    app = _application(request)
    form = await read_form(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("passphrase", "csrf")}
    lang = i18n.language()
    try:
        if desk.inbox.decision(app.digest) is not None:
            raise UsageError(_("This application was already decided; a decision is never replaced."))
        choices = choices_from(form, app.kind)
        key = _key(desk, form)
        secret = text_field(form, "passphrase").encode("utf-8")
        if not secret:
            raise UsageError(_("Type the passphrase of the approver's key."))
        pinned = desk.authority().get_pin(app.origin).approver_vkeys

        def sign() -> tuple[dict[str, Any], bytes]:
            with i18n.using(lang):
                return approve(app.doc, choices, key, secret, pinned_approvers=pinned)

        body, note = await run_in_threadpool(sign)
        decision = Decision(app.digest, APPROVED, str(body["approved_at"]), dict(choices.approver),
                            approval_id=str(body["id"]), signed_by=key.name, kind=app.kind)
        await run_in_threadpool(desk.inbox.record, decision, note)
        desk.workspace.save_settings({"approver": dict(choices.approver)})
    except CustodyError as exc:
        return await _show(request, app, status=status_of(exc), error=exc, values=values)
    finally:
        await form.close()
    return redirect(f"/approvals/{app.digest}")


@page
async def reject_form(request: Request) -> Response:
    desk = desk_of(request)
    app = _application(request)
    form = await read_form(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("passphrase", "csrf")}
    try:
        reason = text_field(form, "reason")
        if not reason:
            raise UsageError(_("Give the reason for rejecting the application; the vendor reads it."))
        approver = {k: text_field(form, f"approver_{k}") for k in ("name", "title", "organisation")}
        if not approver["name"]:
            raise UsageError(_("Give the approver's name."))
        at = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
        await run_in_threadpool(desk.inbox.record, Decision(app.digest, REJECTED, at, approver, reason=reason,
                                                            kind=app.kind))
        desk.workspace.save_settings({"approver": approver})
    except CustodyError as exc:
        return await _show(request, app, status=status_of(exc), error=exc, values=values)
    return redirect(f"/approvals/{app.digest}")


@page
async def approval_file(request: Request) -> Response:
    desk = desk_of(request)
    app = _application(request)
    note = desk.inbox.approval_note(app.digest)
    decision = desk.inbox.decision(app.digest)
    if note is None or decision is None or not decision.approved:
        raise HTTPException(404, _("This application has no approval."))
    return download(note, f"{decision.approval_id}.approval", "text/plain; charset=utf-8")


@page
async def rejection_file(request: Request) -> Response:
    desk = desk_of(request)
    app = _application(request)
    decision = desk.inbox.decision(app.digest)
    if decision is None or decision.approved:
        raise HTTPException(404, _("This application was not rejected."))
    t = Tr("ja" if i18n.language() == "ja" else "en")
    lines = [t("Notice of rejection"), ""]
    lines += [f"{label}: {value}" for label, value in application_rows(app.doc, t)[:5]]
    approver = " ".join(decision.approver.get(k, "") for k in ("organisation", "title", "name")
                        if decision.approver.get(k))
    lines += ["", t("Decision") + ": " + t("rejected"),
              t("Reason") + f": {decision.reason}",
              t("Decided by") + f": {approver}",
              t("Decided at") + f": {t.when(decision.at)}",
              t("Application digest (SHA-256)") + f": {app.digest}", ""]
    return download("\n".join(lines).encode("utf-8"), f"rejection-{app.digest[:12]}.txt", "text/plain; charset=utf-8")
