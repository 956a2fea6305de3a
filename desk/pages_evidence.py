"""Pages of the contracts and their evidence: the pins, the bundles, verification, findings, timelines, reports."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from custody.desk.bundles import BundleRecord
from custody.desk.jobs import DONE, REPORTS, Job
from custody.desk.present import (
    ATTACHMENT_ROLES,
    Filters,
    findings_view,
    image_type,
    media_rows,
    medium_summary,
    people,
    severity_text,
    subcontracts,
    timeline,
    why_final,
)
from custody.desk.web import desk_of, download, page, read_form, redirect, render, text_field
from custody.ledger import i18n
from custody.ledger.bundle import Bundle
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _
from custody.verify.authority import origin_key
from custody.verify.reports.data import ReportData
from custody.verify.reports.labels import Tr

FORMATS = ("pdf", "html", "json", "csv", "xlsx")  # csv, xlsx: the reports' tables, for the clerks' Excel
REPORT_TYPES = {".pdf": "application/pdf", ".html": "text/html; charset=utf-8", ".json": "application/json",
                ".csv": "text/csv; charset=utf-8",
                ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _t() -> Tr:
    return Tr("ja" if i18n.language() == "ja" else "en")


def _contracts(request: Request) -> list[dict[str, Any]]:
    desk = desk_of(request)
    authority = desk.authority()
    out = []
    for origin in authority.origins():
        pin = authority.get_pin(origin)
        head = authority.latest(origin)
        out.append({
            "origin": origin, "key": origin_key(origin), "pin": pin, "contract": pin.contract,
            "cosigned_size": 0 if head is None else head.size,
            "cosigned_at": None if head is None else head.timestamp,
            "bundles": desk.shelf.of_origin(origin),
        })
    return out


@page
async def contracts(request: Request) -> Response:
    desk = desk_of(request)
    rows = await run_in_threadpool(_contracts, request)
    return render(request, "contracts.html", contracts=rows, max_mb=desk.settings.max_upload >> 20)


@page
async def contract(request: Request) -> Response:
    desk = desk_of(request)
    rows = await run_in_threadpool(_contracts, request)
    found = next((c for c in rows if c["key"] == request.path_params["key"]), None)
    if found is None:
        raise HTTPException(404, _("No such contract in the trust store."))
    authority = desk.authority()
    journal = authority.journal(found["origin"])
    keys = {k.vkey: k for k in desk.keys}
    return render(request, "contract.html", c=found, journal=journal, keys=keys,
                  own_witness=authority.witness_vkey in found["pin"].witness_vkeys,
                  witness_vkey=authority.witness_vkey)


@page
async def upload_bundle(request: Request) -> Response:
    desk = desk_of(request)
    form = await read_form(request, files=1, field_limit=desk.settings.max_upload)
    try:
        item = form.get("file")
        if not isinstance(item, UploadFile) or not item.filename:
            raise UsageError(_("Choose a bundle file (.zip) to upload."))
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".zip", dir=desk.workspace.bundles)
        target = Path(tmp)
        try:
            with open(fd, "wb") as fh:
                await item.seek(0)
                while chunk := await item.read(1 << 20):
                    fh.write(chunk)
            record = await run_in_threadpool(desk.shelf.add_upload, target, item.filename)
        finally:
            target.unlink(missing_ok=True)
    finally:
        await form.close()
    return redirect(f"/bundles/{record.id}")


@page
async def add_path(request: Request) -> Response:
    desk = desk_of(request)
    form = await read_form(request)
    record = await run_in_threadpool(desk.shelf.add_path, text_field(form, "path"))
    return redirect(f"/bundles/{record.id}")


def _record(request: Request) -> BundleRecord:
    record = desk_of(request).shelf.get(request.path_params["bundle"])
    if record is None:
        raise HTTPException(404, _("No such bundle."))
    return record


def _verified(request: Request, record: BundleRecord) -> tuple[Job | None, ReportData | None]:
    job = desk_of(request).verification(record, i18n.language())
    data = job.result if job is not None and job.state == DONE else None
    return job, data


def _report_files(request: Request, record: BundleRecord, version: str, lang: str) -> list[str]:
    folder = desk_of(request).workspace.reports / record.id / version / lang
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


@page
async def bundle(request: Request) -> Response:
    desk = desk_of(request)
    record = _record(request)
    job, data = await run_in_threadpool(_verified, request, record)
    if data is None or job is None:
        return render(request, "verifying.html", record=record, job=job)
    t = _t()
    lang = i18n.language()
    reports = desk.jobs.latest(REPORTS, record.id, job.version, lang, FORMATS)
    pinned = desk.authority().get_pin(record.origin)
    return render(
        request, "bundle.html", record=record, job=job, data=data, media=media_rows(data, t),
        people=people(data, t), subcontracts=subcontracts(data, t), reports=reports,
        files=_report_files(request, record, job.version, lang), contract=pinned.contract,
        findings=findings_view(data, Filters(), t), severity_text=severity_text,
    )


@page
async def status(request: Request) -> Response:
    record = _record(request)
    job = desk_of(request).verification(record, i18n.language(), start=False)
    if job is None:
        return JSONResponse({"state": "none", "percent": 0})
    return JSONResponse({"state": job.state, "percent": job.percent, "error": job.error})


@page
async def verify_again(request: Request) -> Response:
    desk = desk_of(request)
    record = _record(request)
    await read_form(request)
    version = desk.shelf.current_version(record) or record.version
    desk.jobs.submit("verify", record.id, version, i18n.language(), record.path, again=True)
    return redirect(f"/bundles/{record.id}")


@page
async def findings(request: Request) -> Response:
    record = _record(request)
    _job, data = await run_in_threadpool(_verified, request, record)
    if data is None:
        return redirect(f"/bundles/{record.id}")
    q = request.query_params
    filters = Filters(*(q.get(name, "").strip()[:200] for name in
                        ("code", "severity", "medium", "person", "date_from", "date_to")))
    return render(request, "findings.html", record=record, data=data, view=findings_view(data, filters, _t()),
                  filters=filters, severity_text=severity_text)


@page
async def medium(request: Request) -> Response:
    desk = desk_of(request)
    record = _record(request)
    _job, data = await run_in_threadpool(_verified, request, record)
    if data is None:
        return redirect(f"/bundles/{record.id}")
    media_id = request.path_params["media"]
    if media_id not in data.state.media:
        raise HTTPException(404, _("The ledger has no medium {id}.").format(id=media_id))
    t = _t()
    approvers = desk.authority().get_pin(record.origin).approver_vkeys
    return render(request, "medium.html", record=record, data=data, summary=medium_summary(data, media_id, t, last=0),
                  steps=timeline(data, media_id, approvers, t), why=why_final(data, media_id, approvers, t),
                  severity_text=severity_text, roles=ATTACHMENT_ROLES)


def _attachment(record: BundleRecord, digest: str) -> bytes | None:
    with Bundle(record.path) as opened:
        return opened.attachment(digest)


@page
async def attachment(request: Request) -> Response:
    record = _record(request)
    digest = request.path_params["digest"]
    if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise HTTPException(404, _("No such attachment."))
    data = await run_in_threadpool(_attachment, record, digest)
    if data is None or hashlib.sha256(data).hexdigest() != digest:
        raise HTTPException(404, _("The bundle does not hold this attachment with its hash."))
    kind = image_type(data)
    if kind is not None and request.query_params.get("download") != "1":
        return Response(data, media_type=kind, headers={"cache-control": "private, max-age=3600"})
    name = request.query_params.get("name", "") or digest[:16]
    return download(data, Path(name).name)


@page
async def make_reports(request: Request) -> Response:
    desk = desk_of(request)
    record = _record(request)
    await read_form(request)
    job, data = await run_in_threadpool(_verified, request, record)
    if job is None or data is None:
        raise UsageError(_("The bundle must be verified before its reports are written."))
    lang = i18n.language()
    out_dir = desk.workspace.reports / record.id / job.version / lang
    with contextlib.suppress(OSError):
        shutil.rmtree(out_dir)
    desk.jobs.submit(REPORTS, record.id, job.version, lang, record.path, formats=FORMATS, out_dir=out_dir,
                     again=True)
    return redirect(f"/bundles/{record.id}#reports")


@page
async def report_file(request: Request) -> Response:
    desk = desk_of(request)
    record = _record(request)
    job, _data = await run_in_threadpool(_verified, request, record)
    lang = request.path_params["lang"]
    name = request.path_params["name"]
    if job is None or lang not in i18n.SUPPORTED or name not in _report_files(request, record, job.version, lang):
        raise HTTPException(404, _("No such report."))
    path = desk.workspace.reports / record.id / job.version / lang / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HTTPException(404, _("No such report.")) from exc
    return download(data, name, REPORT_TYPES.get(path.suffix, "application/octet-stream"))

