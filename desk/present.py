"""What the desk's pages show, built from the application, the trust store and a verified bundle.

Pure: every function takes what it shows (a request document, ``ReportData`` from the verifier,
the pinned approver keys) and returns rows of text in the page's language.  The ledger's vocabulary
(events, states, media kinds, rule codes) comes from the reports' bilingual tables
(custody.verify.reports.labels), so the desk and the reports call things by the same names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.ledger import vocabulary
from custody.ledger.approval import ApprovalProblem, open_approval
from custody.ledger.media import DISPOSED, ERASED, RETURNED
from custody.ledger.vocabulary import CATEGORIES, EVENTS, ROLES, SEVERITIES, STATES, TIERS
from custody.verify.engine import EntryView
from custody.verify.findings import ERROR, INFO, WARNING, Finding
from custody.verify.reports.common import actor_text, contents_lines, kind_text, person_text, product_text
from custody.verify.reports.data import ReportData
from custody.verify.reports.labels import (
    CODES,
    DASH,
    Tr,
    code_order,
    dict_of,
    list_of,
    text_of,
)
from custody.verify.reports.register import event_detail

Rows = list[tuple[str, str]]

# The desk's words, from the vocabulary (ledger/vocabulary.py; Japanese in vocabulary.po).
APPLICATION_KINDS = vocabulary.APPLICATION_TITLES
APPROVAL_KINDS = vocabulary.APPROVAL_TITLES
ENCRYPTION = vocabulary.ENCRYPTION
COPY_DISPOSAL = vocabulary.COPY_DISPOSAL
IMAGE_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
               (b"GIF89a", "image/gif"))


def image_type(data: bytes) -> str | None:
    """The raster image type of ``data`` by its first bytes (never SVG: an image the desk shows runs no script)."""
    for magic, kind in IMAGE_TYPES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# --- applications ---


def person_ref(ref: object, t: Tr, data: ReportData | None = None) -> str:
    if data is not None:
        return person_text(data, ref, t)
    if isinstance(ref, str):
        return ref or DASH
    d = dict_of(ref)
    extra = " ".join(x for x in (text_of(d.get("title")), text_of(d.get("organisation"))) if x)
    name = text_of(d.get("name")) or text_of(d.get("key_name"))
    return f"{name}({extra})" if extra else (name or DASH)


def data_items(items: object, t: Tr) -> str:
    lines = []
    for item in list_of(items):
        d = dict_of(item)
        notes = [t.records(d.get("records"))]
        if d.get("my_number") is True:
            notes.append(t("includes My Number"))
        if text_of(d.get("classification")):
            notes.append(text_of(d.get("classification")))
        lines.append(f"{text_of(d.get('name'))}({t.join(notes)})" if t.ja
                     else f"{text_of(d.get('name'))} ({t.join(notes)})")
    return "\n".join(lines) or DASH


def application_rows(doc: Mapping[str, Any], t: Tr, data: ReportData | None = None) -> Rows:
    """The application in full, one (label, text) row a field, in the page's language."""
    kind = text_of(doc.get("kind"))
    rows: Rows = [
        (t("Application"), t.word(APPLICATION_KINDS, kind)),
        (t("Ledger (contract)"), text_of(doc.get("origin")) or DASH),
        (t("Applied"), t.when(doc.get("requested_at"))),
        (t("Applicant"), person_ref(doc.get("requester"), t, data)),
        (t("Purpose"), text_of(doc.get("purpose")) or DASH),
    ]
    if kind in ("takeout", "copy"):
        rows.append((t.pgettext("the media an approval covers", "Media") if kind == "takeout" else t("Medium copied"),
                     t.join([str(m) for m in list_of(doc.get("media"))])))
        rows.append((t.pgettext("data items and their counts", "Data items"), data_items(doc.get("data_items"), t)))
    if kind == "takeout":
        enc = dict_of(doc.get("encryption"))
        enc_lines = [t.word(ENCRYPTION, text_of(enc.get("method")))]
        if text_of(enc.get("algorithm")):
            enc_lines.append(t("algorithm: {a}").format(a=text_of(enc.get("algorithm"))))
        if text_of(enc.get("password_channel")):
            enc_lines.append(t("password sent by: {c}").format(
                c=text_of(enc.get("password_channel"))))
        rows += [
            (t("From"), text_of(doc.get("origin_place")) or DASH),
            (t("To"), text_of(doc.get("destination")) or DASH),
            (t("Transport"), text_of(doc.get("transport")) or DASH),
            (t("Carried by"), t.join([person_ref(c, t, data) for c in list_of(doc.get("carriers"))])),
            (t("Out (planned)"), t.when(doc.get("planned_out"))),
            (t("Back (planned)"), t.when(doc.get("planned_return"))),
            (t("Encryption"), "\n".join(enc_lines)),
            (t("Erasure after use"), text_of(doc.get("erasure_plan")) or DASH),
        ]
    elif kind == "copy":
        disposal = dict_of(doc.get("disposal"))
        rows += [
            (t("Copies"), t.count(doc.get("copies"))),
            (t("New media"), t.join([str(m) for m in list_of(doc.get("target_media"))])),
            (t("After use the copies are"),
             " ".join(x for x in (t.word(COPY_DISPOSAL, text_of(disposal.get("method"))),
                                  t("by {d}").format(d=t.when(disposal.get("by")))
                                  if disposal.get("by") else "", text_of(disposal.get("description"))) if x)),
        ]
    elif kind == "dispose":
        app = dict_of(doc.get("application"))
        method = dict_of(app.get("method"))
        items = []
        for item in list_of(app.get("items")):
            d = dict_of(item)
            what = " ".join(x for x in (text_of(d.get("media_name")), text_of(d.get("media_id"))) if x)
            items.append(t("{what}, serial {s}: {name} ×{q}").format(
                what=what, s=text_of(d.get("serial")) or DASH, name=text_of(d.get("name")), q=d.get("quantity", 1)))
        rows += [
            (t("Application number"), text_of(app.get("number")) or DASH),
            (t("Items"), "\n".join(items) or DASH),
            (t.pgettext("a disposal method", "Method"), f"{t.word(CATEGORIES, text_of(method.get('category')))} "
                                      f"{text_of(method.get('technique'))}".strip()),
            (t("Tool"), text_of(app.get("tool")) or DASH),
            (t("Planned date"), t.date(app.get("planned_date"))),
            (t("Place"), text_of(app.get("place")) or DASH),
            (t("Carried out by"), person_ref(app.get("operator"), t, data) if app.get("operator") else DASH),
            (t("Municipality's witness"),
             t("requested") if app.get("witness_required") is True else t("not requested")),
        ]
    elif kind == "subcontract":
        sub = dict_of(doc.get("subcontractor"))
        rows += [
            (t("Subcontractor"), text_of(sub.get("name")) or DASH),
            (t("Tier"), t.word(TIERS, text_of(sub.get("tier")))),
            (t("Under"), text_of(sub.get("parent")) or DASH),
            (t("Address"), text_of(sub.get("address")) or DASH),
            (t.pgettext("the reason to subcontract", "Reason"), text_of(sub.get("reason")) or DASH),
            (t("Work"), text_of(sub.get("scope")) or DASH),
            (t("Personal data handled"), text_of(sub.get("data_handled")) or DASH),
            (t("Safeguards"), text_of(sub.get("safeguards")) or DASH),
            (t("Supervision"), text_of(sub.get("supervision")) or DASH),
        ]
    asked = [text_of(c) for c in list_of(doc.get("conditions_requested")) if text_of(c)]
    if asked:
        rows.append((t("Conditions asked for"), "\n".join(asked)))
    return rows


# --- a medium as the ledger tells it ---


@dataclass(frozen=True)
class Line:
    seq: int
    when: str
    event: str
    actor: str
    detail: str


@dataclass(frozen=True)
class MediumSummary:
    media_id: str
    known: bool
    state: str = ""
    description: str = ""
    contents: str = ""
    last: tuple[Line, ...] = ()
    findings: tuple[Finding, ...] = ()
    settled: bool = False


def line(data: ReportData, seq: int, media_id: str, t: Tr) -> Line:
    entry = data.entries.get(seq)
    if entry is None:
        return Line(seq, DASH, DASH, DASH, DASH)
    return Line(seq, t.when_seconds(entry.at), t.word(EVENTS, entry.type), actor_text(data, entry.actor),
                event_detail(data, entry.type, entry.body, media_id, t))


def open_findings(data: ReportData, media_id: str) -> tuple[Finding, ...]:
    return tuple(f for f in data.result.findings if f.media == media_id and f.severity in (ERROR, WARNING))


def medium_summary(data: ReportData, media_id: str, t: Tr, last: int = 3) -> MediumSummary:
    m = data.state.media.get(media_id)
    if m is None:
        return MediumSummary(media_id, False, findings=open_findings(data, media_id))
    description = " ".join(x for x in (kind_text(t, m.kind), product_text(m.record),
                                       t("serial {s}").format(s=m.serial) if m.serial else "")
                           if x and x != DASH)
    return MediumSummary(
        media_id, True, t.word(STATES, m.state), description, "\n".join(contents_lines(m.record, t)),
        tuple(line(data, seq, media_id, t) for seq in m.history[-last:]), open_findings(data, media_id), m.settled,
    )


# --- approvals embedded in entries ---


@dataclass(frozen=True)
class ApprovalView:
    id: str
    kind: str
    approver: str
    approved_at: str
    valid: str
    purpose: str
    conditions: tuple[str, ...]
    rows: Rows
    signed_by: str
    verified: bool
    problem: str


def approval_view(note: str, origin: str, approver_vkeys: Sequence[str], t: Tr) -> ApprovalView:
    """An approval note as the page shows it: its body, and whether a pinned approver key signed it."""
    try:
        approval = open_approval(note.encode("utf-8"), origin=origin, approver_vkeys=approver_vkeys)
    except ApprovalProblem as exc:
        text = "\n".join(v.texts(t.lang)[0] for v in exc.violations)
        return ApprovalView("", "", "", "", "", "", (), [], "", False, text)
    body = approval.body
    a = body.approver
    rows: Rows = []
    if body.kind == "takeout":
        rows += [(t("To"), body.destination or DASH),
                 (t("Transport"), body.transport or DASH),
                 (t("Carried by"), t.join(list(body.carriers))),
                 (t("Minimum encryption"), body.encryption_min or DASH),
                 (t("Back by"), t.when(body.return_by))]
    elif body.kind == "copy":
        rows += [(t("Copies"), t.count(body.copies)),
                 (t("New media"), t.join(list(body.target_media)))]
    elif body.kind == "dispose" and body.application is not None:
        app = body.application
        rows += [
            (t("Application number"), app.number),
            (t.pgettext("a disposal method", "Method"), f"{t.word(CATEGORIES, app.category)} {app.technique}".strip()),
            (t("Tool"), app.tool or DASH),
            (t("Planned date"), t.date(app.planned_date)),
            (t("Place"), app.place),
            (t("Municipality's witness"),
             t("required") if app.witness_required else t("not required")),
            (t("Evidence due"), t.when(body.evidence_due) if body.evidence_due else DASH),
        ]
    elif body.kind == "subcontract" and body.subcontractor is not None:
        sub = body.subcontractor
        rows += [(t("Subcontractor"), sub.name), (t("Work"), sub.scope),
                 (t("Personal data handled"), sub.data_handled)]
    return ApprovalView(
        body.id, t.word(APPROVAL_KINDS, body.kind),
        " ".join(x for x in (a.organisation, a.title, a.name) if x), t.when(body.approved_at),
        f"{t.when(body.valid_from)} – {t.when(body.valid_until)}", body.purpose, body.conditions, rows,
        ", ".join(approval.signed_by), True, "",
    )


# --- a medium's timeline ---


@dataclass(frozen=True)
class AttachmentView:
    digest: str
    name: str
    size: int | None
    role: str
    present: bool


@dataclass(frozen=True)
class Step:
    seq: int
    when: str
    event: str
    etype: str
    actor: str
    signed: bool
    detail: str
    rows: Rows
    approval: ApprovalView | None
    attachments: tuple[AttachmentView, ...]
    findings: tuple[Finding, ...]
    body_json: str


ATTACHMENT_ROLES = vocabulary.ATTACHMENT_ROLES


def attachments_of(body: Any, present: Mapping[str, bool], role: str = "attachments") -> Iterator[AttachmentView]:
    """Every attachment an entry body references, with its name and role (photo, certificate, ...)."""
    if isinstance(body, dict):
        ref = body.get("attachment")
        if isinstance(ref, str):
            size = body.get("size")
            yield AttachmentView(ref, text_of(body.get("name")) or ref[:16], size if isinstance(size, int) else None,
                                 role, bool(present.get(ref)))
        for key, value in body.items():
            if key != "attachment":
                yield from attachments_of(value, present, key if key in ATTACHMENT_ROLES else role)
    elif isinstance(body, list):
        for item in body:
            yield from attachments_of(item, present, role)


def _entry_rows(entry: EntryView, data: ReportData, t: Tr) -> Rows:
    """The particulars worth a row of their own, beyond the one-line detail."""
    b = entry.body
    rows: Rows = []
    if entry.type in ("media.disposed", "media.erased", "takeout.erased_at_destination"):
        method = dict_of(b.get("method"))
        rows.append((t("Method"), f"{t.word(CATEGORIES, text_of(method.get('category')))} "
                                         f"{text_of(method.get('technique'))}".strip()))
        if b.get("start") or b.get("end"):
            rows.append((t.pgettext("when an act was carried out", "When"),
                         f"{t.when(b.get('start'))} – {t.when(b.get('end'))}"))
        if text_of(b.get("place")):
            rows.append((t("Place"), text_of(b.get("place"))))
        if b.get("operator"):
            rows.append((t("Carried out by"), person_text(data, b.get("operator"), t)))
        witness = b.get("witness")
        if isinstance(witness, dict) and witness:
            rows.append((t.pgettext("the person who witnessed", "Witness"), person_text(data, witness, t)))
        elif text_of(b.get("no_witness_reason")):
            rows.append((t("Why no witness"), text_of(b.get("no_witness_reason"))))
        verification = dict_of(b.get("verification"))
        if verification:
            rows.append((t.pgettext("a check mark", "Checked"), " ".join(x for x in (
                text_of(verification.get("method")), person_text(data, verification.get("by"), t)
                if verification.get("by") else "") if x) or DASH))
        if text_of(b.get("certificate_number")):
            rows.append((t("Certificate"), text_of(b.get("certificate_number"))))
        if text_of(b.get("remains_destination")):
            rows.append((t("Remains went to"), text_of(b.get("remains_destination"))))
    elif entry.type == "takeout.departed":
        enc = dict_of(b.get("encryption"))
        rows += [(t("To"), text_of(b.get("destination")) or DASH),
                 (t("Transport"), text_of(b.get("transport")) or DASH),
                 (t("Carried by"), t.join([person_text(data, c, t) for c in list_of(b.get("carriers"))])),
                 (t("Encryption"), " ".join(x for x in (t.word(ENCRYPTION, text_of(enc.get("method"))),
                                                               text_of(enc.get("algorithm"))) if x))]
    elif entry.type == "media.received":
        receipt = dict_of(b.get("receipt"))
        sender = dict_of(receipt.get("from"))
        rows.append((t("Handed over by"), " ".join(x for x in (
            text_of(sender.get("organisation")), text_of(sender.get("title")), text_of(sender.get("person"))) if x)
            or DASH))
    return rows


def timeline(data: ReportData, media_id: str, approver_vkeys: Sequence[str], t: Tr) -> list[Step]:
    """Every human entry on the medium, oldest first, with who signed, its approval and attachments."""
    m = data.state.media.get(media_id)
    if m is None:
        return []
    unsigned = {f.seq for f in data.result.findings if f.code == "I2" and f.seq is not None}
    steps = []
    for seq in m.history:
        entry = data.entries.get(seq)
        if entry is None:
            continue
        note = entry.body.get("approval")
        approval = approval_view(note, data.result.origin, approver_vkeys, t) if isinstance(note, str) else None
        approval_id = text_of(entry.body.get("approval_id"))
        if approval is None and approval_id:
            used = data.state.approvals.get(approval_id)
            first = data.entries.get(used.first_seq) if used is not None else None
            first_note = first.body.get("approval") if first is not None else None
            if isinstance(first_note, str):
                approval = approval_view(first_note, data.result.origin, approver_vkeys, t)
        body = {k: v for k, v in entry.body.items() if k != "approval"}
        steps.append(Step(
            seq, t.when_seconds(entry.at), t.word(EVENTS, entry.type), entry.type, actor_text(data, entry.actor),
            seq not in unsigned, event_detail(data, entry.type, entry.body, media_id, t), _entry_rows(entry, data, t),
            approval, tuple(attachments_of(entry.body, data.attachments)),
            tuple(f for f in data.result.findings if f.seq == seq),
            json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True),
        ))
    return steps


def why_final(data: ReportData, media_id: str, approver_vkeys: Sequence[str], t: Tr) -> Rows:
    """For a medium whose life ended: how, when, on whose approval and for what reason."""
    m = data.state.media.get(media_id)
    if m is None or m.state not in (DISPOSED, RETURNED, ERASED) or (m.final_seq is None and m.erased_seq is None):
        return []
    seq = m.final_seq if m.final_seq is not None else m.erased_seq
    entry = data.entries.get(seq) if seq is not None else None
    if entry is None:
        return []
    rows: Rows = [(t.pgettext("what was done with a medium", "What happened"),
                   f"{t.word(EVENTS, entry.type)}({t.when(entry.at)})" if t.ja
                   else f"{t.word(EVENTS, entry.type)} ({t.when(entry.at)})")]
    approval_id = text_of(entry.body.get("approval_id")) or (m.disposal_id or "")
    used = data.state.approvals.get(approval_id) if approval_id else None
    if used is not None:
        first = data.entries.get(used.first_seq)
        note = first.body.get("approval") if first is not None else None
        if isinstance(note, str):
            view = approval_view(note, data.result.origin, approver_vkeys, t)
            if view.verified:
                rows += [(t("Approval"), f"{view.id}({view.approver}、{view.approved_at})" if t.ja
                          else f"{view.id} ({view.approver}, {view.approved_at})"),
                         (t("Reason given"), view.purpose or DASH)]
    rows += [r for r in _entry_rows(entry, data, t) if r[1] and r[1] != DASH]
    return rows


# --- findings ---


@dataclass(frozen=True)
class FindingRow:
    finding: Finding
    when: str
    person: str
    date: str


@dataclass(frozen=True)
class FindingGroup:
    code: str
    meaning: str
    rows: tuple[FindingRow, ...]

    @property
    def worst(self) -> str:
        severities = {r.finding.severity for r in self.rows}
        return next((s for s in (ERROR, WARNING, INFO) if s in severities), INFO)


@dataclass(frozen=True)
class Filters:
    code: str = ""
    severity: str = ""
    medium: str = ""
    person: str = ""
    date_from: str = ""
    date_to: str = ""

    @property
    def any(self) -> bool:
        return any((self.code, self.severity, self.medium, self.person, self.date_from, self.date_to))


@dataclass(frozen=True)
class FindingsView:
    groups: tuple[FindingGroup, ...]
    total: int
    shown: int
    codes: tuple[tuple[str, str], ...]
    media: tuple[str, ...]
    people: tuple[tuple[str, str], ...]
    counts: dict[str, int] = field(default_factory=dict)


def _day(at: str) -> str:
    try:
        return datetime.fromisoformat(at).date().isoformat()
    except ValueError:
        return ""


def findings_view(data: ReportData, filters: Filters, t: Tr) -> FindingsView:
    """The findings grouped by rule (I1..I9, C1..C15), filtered by code, severity, medium, person and date."""
    rows = []
    for f in data.result.findings:
        entry = data.entries.get(f.seq) if f.seq is not None else None
        person = entry.actor if entry is not None else ""
        rows.append(FindingRow(f, t.when_seconds(entry.at) if entry is not None else DASH, person,
                               _day(entry.at) if entry is not None else ""))
    counts = {s: sum(1 for r in rows if r.finding.severity == s) for s in (ERROR, WARNING, INFO)}
    codes = sorted({r.finding.code for r in rows}, key=code_order)
    media = sorted({r.finding.media for r in rows if r.finding.media})
    people = sorted({r.person for r in rows if r.person})

    def keep(r: FindingRow) -> bool:
        f = r.finding
        checks = (
            not filters.code or f.code == filters.code,
            not filters.severity or f.severity == filters.severity,
            not filters.medium or f.media == filters.medium,
            not filters.person or r.person == filters.person,
            not filters.date_from or bool(r.date and r.date >= filters.date_from),
            not filters.date_to or bool(r.date and r.date <= filters.date_to),
        )
        return all(checks)

    kept = [r for r in rows if keep(r)]
    groups = tuple(
        FindingGroup(code, t.word(CODES, code), tuple(r for r in kept if r.finding.code == code))
        for code in codes if any(r.finding.code == code for r in kept)
    )
    return FindingsView(groups, len(rows), len(kept), tuple((c, t.word(CODES, c)) for c in codes), tuple(media),
                        tuple((p, actor_text(data, p)) for p in people), counts)


def severity_text(severity: str, t: Tr) -> str:
    return t.word(SEVERITIES, severity)


# --- people ---


@dataclass(frozen=True)
class PersonRow:
    key: str
    name: str
    organisation: str
    tier: str
    role: str
    registered: str
    removed: str
    subcontract: str


def people(data: ReportData, t: Tr) -> list[PersonRow]:
    out = []
    for p in data.state.people.values():
        reg = data.entries.get(p.registered_seq)
        rem = data.entries.get(p.removed_seq) if p.removed_seq is not None else None
        out.append(PersonRow(p.key_name, p.name or DASH, p.organisation or DASH, t.word(TIERS, p.tier),
                             t.word(ROLES, p.role), t.when(reg.at) if reg else t.seq(p.registered_seq),
                             t.when(rem.at) if rem else "", p.subcontract_id or ""))
    return out


@dataclass(frozen=True)
class SubcontractRow:
    id: str
    name: str
    tier: str
    parent: str
    valid: str


def subcontracts(data: ReportData, t: Tr) -> list[SubcontractRow]:
    return [SubcontractRow(s.id, s.name, t.word(TIERS, s.tier), s.parent or DASH,
                           f"{t.when(s.valid_from)} – {t.when(s.valid_until)}")
            for s in data.state.subcontracts.values()]


@dataclass(frozen=True)
class MediumRow:
    id: str
    kind: str
    serial: str
    state: str
    settled: bool
    findings: int


def media_rows(data: ReportData, t: Tr) -> list[MediumRow]:
    return [MediumRow(m.id, kind_text(t, m.kind), m.serial or DASH, t.word(STATES, m.state), m.settled,
                      len(open_findings(data, m.id))) for m in data.state.media.values()]
