"""Pieces every report shares: the title block, people, media descriptions, organisations.

Organisations (for the MIC inspection form and the findings report): the
vendor (受託者, from the genesis entry), each subcontractor the municipality
approved (``subcontract.approved``), and every other organisation a
registered person belongs to while not being the vendor -- an unapproved
subcontractor shows up as its own row.  A finding is attributed by
:func:`attribute`:

1. the entry it names (``seq``) when that is a human act: the registered
   person's organisation for ``personnel.*`` (the person registered, not the
   responsible person who registered them), the subcontractor named in a
   ``subcontract.approved``, otherwise the actor's organisation and, for a
   takeout, the carriers' organisations as well;
2. else (agent observations, end-of-ledger rules) the medium it names: the
   organisation of the medium's custodian;
3. else the vendor, who answers for everything in the contract.

A person belongs to an approved subcontractor when their registration cites
its approval (``subcontract_id``) or their organisation has its name
(ignoring 株式会社 and the like, spaces and case).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custody.ledger import canonical, vocabulary
from custody.ledger.errors import CustodyError
from custody.ledger.lifecycle import Person
from custody.ledger.media import COPY, DISPOSED, ERASED, LOST, RECEIVED, RETURNED, Medium
from custody.ledger.note import parse_note
from custody.ledger.vocabulary import KINDS, ORIGINS
from custody.verify.findings import ERROR, Finding
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Block, Cell, Document, Hash, Lang, Letterhead, Orientation
from custody.verify.reports.form import head_of
from custody.verify.reports.labels import DASH, Tr, dict_of, list_of, text_of

VENDOR = "vendor"


# --- the title block ---


def contract_meta(data: ReportData, t: Tr) -> list[tuple[str, Cell]]:
    g = data.genesis
    municipality = dict_of(g.get("municipality"))
    period = dict_of(g.get("period"))
    name = " ".join(x for x in (text_of(municipality.get("name")), text_of(municipality.get("department"))) if x)
    return [
        (t.pgettext("the contracting party", "Municipality"), name or DASH),
        (t("Contract"), text_of(g.get("contract_id")) or DASH),
        (t("Title"), text_of(g.get("title")) or DASH),
        (t("Vendor"), vendor_name(data) or DASH),
        (t("Period"), f"{t.date(period.get('start'))} – {t.date(period.get('end'))}"),
    ]


def tr(data: ReportData, lang: Lang) -> Tr:
    """The labels and formats of a report in ``lang``, dated in the calendar the issuer chose."""
    return Tr(lang, data.form.calendar)


def addressee(data: ReportData, t: Tr) -> str:
    """宛名: 例市長 様 (docs/reports.md, Official form; ``reports.form``)."""
    municipality = dict_of(data.genesis.get("municipality"))
    head = (data.form.addressee or text_of(municipality.get("addressee"))
            or head_of(text_of(municipality.get("name"))))
    if not head:
        return ""
    return t("To: {head}").format(head=head)


def representative(data: ReportData, t: Tr) -> str:
    """The issuer's representative: the option, the contract's vendor.representative, else the 作業責任者."""
    if data.form.representative:
        return data.form.representative
    vendor = dict_of(data.genesis.get("vendor"))
    name = text_of(vendor.get("representative"))
    if name:
        title = text_of(vendor.get("representative_title")) or t("Representative")
        return f"{title} {name}"
    resp = responsible(data)
    name = text_of(resp.get("name"))
    if not name:
        return ""
    return t("Person responsible for the work {name}").format(
        name=" ".join(x for x in (text_of(resp.get("title")), name) if x))


def letterhead(data: ReportData, t: Tr, code: str, *, number: str = "") -> Letterhead:
    """The head of an official document: 宛名, 文書番号 (``number``, else prefix-``code``), 発行日, issuer, 印."""
    prefix = data.form.number_prefix or text_of(data.genesis.get("contract_id"))
    doc_number = number or "-".join(x for x in (prefix, code) if x)
    issued = t.date(data.form.issued) if data.form.issued else t.date(data.last_at)
    vendor = dict_of(data.genesis.get("vendor"))
    issuer = [
        t("Issued by (vendor): {name}").format(name=vendor_name(data) or DASH),
        text_of(vendor.get("address")),
        representative(data, t),
    ]
    return Letterhead(
        addressee(data, t),
        (t("Document No."), doc_number or DASH),
        (t("Date of issue"), issued),
        [line for line in issuer if line],
        seal=t("Seal"),
    )


def basis_meta(data: ReportData, t: Tr) -> list[tuple[str, Cell]]:
    """Which ledger state the report shows: size, cosigned checkpoint, verification verdict."""
    rows: list[tuple[str, Cell]] = [
        (t("Ledger"), Hash(data.result.origin or data.state.origin or "-")),
        (t("Entries"), t.count(data.size)),
    ]
    cp = data.cosigned_checkpoint
    if cp is not None:
        rows.append((t("Cosigned checkpoint"),
                     t("{n} entries").format(n=f"{cp.size:,}")))
        rows.append((t("Its root hash"), Hash(cp.root_hash.hex())))
    else:
        rows.append((t("Cosigned checkpoint"),
                     t("none: the municipality has cosigned no checkpoint of this ledger")))
    rows.append((t("Evidence verification"), verdict(data, t)))
    return rows


def verdict(data: ReportData, t: Tr) -> str:
    """合格 / 不合格 with the counts; 未確認 instead of 合格 without the trust store (docs/spec.md §11.3)."""
    errors = sum(1 for f in data.result.findings if f.severity == ERROR)
    warnings = sum(1 for f in data.result.findings if f.severity == "warning")
    if errors:
        head = t("FAILED")
    elif data.result.pinned:
        head = t("passed")
    else:
        head = t("UNCHECKED")
    text = t("{head}: {e} errors, {w} warnings").format(
        head=head, e=errors, w=warnings)
    if not data.result.pinned:
        text += t("; not checked against the municipality's pinned keys (integrity only, with the bundle's own keys)")
    return text


def trust_banner(data: ReportData, t: Tr) -> str:
    """Every document's banner when the bundle was checked against its own keys (--integrity-only); else ""."""
    if data.result.pinned:
        return ""
    return t("UNCHECKED: not checked against the municipality's pinned keys. This document was made with "
             "--integrity-only: the evidence was checked only against the keys the bundle itself carries, so a bundle "
             "rebuilt from scratch with other keys would give the same document. It is not a verification result and "
             "must not be accepted as one; verify the bundle with the municipality's trust store (--authority).")


def footer(data: ReportData, t: Tr) -> str:
    return t("Made by custody from the evidence bundle ({n} entries, cosigned up to {w}); "
             "the same bundle gives the same report.").format(n=f"{data.size:,}", w=f"{data.result.witnessed_size:,}")


def as_of(data: ReportData, t: Tr) -> tuple[str, Cell]:
    return t("As of (last entry)"), t.when(data.last_at)


def vendor_name(data: ReportData) -> str:
    return text_of(dict_of(data.genesis.get("vendor")).get("name"))


def official_document(data: ReportData, t: Tr, lang: Lang, *, title: str, code: str, blocks: list[Block],
                      meta: list[tuple[str, Cell]], subtitle: str | None = None,
                      orientation: Orientation = "portrait") -> Document:
    """A document as the municipality files it: the letterhead numbered ``code`` (docs/reports.md, Official form),
    取扱注意, the 未確認 banner when the trust store was not used, the footer and the vendor as author."""
    return Document(
        title,
        subtitle=text_of(data.genesis.get("title")) if subtitle is None else subtitle,
        lang=lang,
        meta=meta,
        blocks=blocks,
        header_note=t("Confidential"),
        banner=trust_banner(data, t),
        footer_note=footer(data, t),
        orientation=orientation,
        author=vendor_name(data),
        letterhead=letterhead(data, t, code),
    )


def responsible(data: ReportData) -> dict[str, Any]:
    return dict_of(data.genesis.get("responsible"))


# --- people ---


def person_text(data: ReportData, ref: object, t: Tr, *, with_org: bool = True) -> str:
    """A person reference (key name or {name, title, organisation, contact}) as text."""
    if isinstance(ref, str):
        if not ref:
            return DASH
        person = data.state.people.get(ref)
        if person is None:
            return ref
        name = person.name or ref
        return f"{name}({person.organisation})" if with_org and person.organisation else name
    if isinstance(ref, dict):
        key = text_of(ref.get("key_name"))
        name = text_of(ref.get("name")) or (person_text(data, key, t, with_org=False) if key else "")
        parts = [text_of(ref.get("title")), text_of(ref.get("organisation"))] if with_org else []
        extra = " ".join(p for p in parts if p)
        return f"{name}({extra})" if extra else (name or DASH)
    return DASH


def actor_text(data: ReportData, actor: str) -> str:
    person = data.state.people.get(actor)
    if person is None:
        return actor
    return f"{person.name}({actor})" if person.name else actor


def person_fields(ref: object) -> dict[str, str]:
    d = dict_of(ref)
    return {k: text_of(d.get(k)) for k in ("name", "title", "organisation", "contact")}


# --- media ---


def kind_text(t: Tr, kind: str) -> str:
    return t.word(KINDS, kind)


def product_text(record: dict[str, Any]) -> str:
    return " ".join(x for x in (text_of(record.get("make")), text_of(record.get("model"))) if x) or DASH


def origin_text(m: Medium, t: Tr) -> str:
    """Where a medium came from: the receipt number, the copied medium, or the vendor's stock."""
    record = m.record
    if m.origin == RECEIVED:
        number = text_of(dict_of(record.get("receipt")).get("number"))
        return f"{t.word(ORIGINS, RECEIVED)} {number}".strip()
    if m.origin == COPY:
        approval = t(" (approval {a})").format(a=m.approval_id) if m.approval_id else ""
        return f"{t.word(ORIGINS, COPY)} {m.source or DASH}{approval}"
    source = text_of(record.get("source"))
    return f"{t.word(ORIGINS, m.origin)}" + (f"({source})" if t.ja and source else f" ({source})" if source else "")


def contents_lines(record: dict[str, Any], t: Tr) -> list[str]:
    contents = dict_of(record.get("contents"))
    lines = []
    for item in list_of(contents.get("items")):
        d = dict_of(item)
        name = text_of(d.get("name"))
        if name:
            lines.append(f"{name} {t.records(d.get('records'))}")
    if not lines:
        total = contents.get("records")
        if isinstance(total, int) and total:
            lines.append(t.records(total))
    return lines


def contents_text(record: dict[str, Any], t: Tr) -> str:
    return "\n".join(contents_lines(record, t)) or t("(no data)")


def item_names(record: dict[str, Any]) -> list[str]:
    contents = dict_of(record.get("contents"))
    return [text_of(dict_of(i).get("name")) for i in list_of(contents.get("items")) if text_of(dict_of(i).get("name"))]


def storage_text(record: dict[str, Any]) -> str:
    storage = dict_of(record.get("storage"))
    return " ".join(x for x in (text_of(storage.get("place")), text_of(storage.get("cabinet"))) if x) or DASH


def classification(record: dict[str, Any]) -> str:
    return text_of(dict_of(record.get("contents")).get("classification"))


#: Final dispositions for the completion report (ledger/vocabulary.py).
DISPOSITIONS = vocabulary.DISPOSITIONS


def disposition(data: ReportData, m: Medium) -> str:
    if m.state == RETURNED:
        entry = data.entries.get(m.final_seq) if m.final_seq is not None else None
        erased_flag = entry is not None and entry.body.get("erased_before_return") is True
        return "erased_returned" if erased_flag or m.erased_seq is not None else "returned"
    if m.state == DISPOSED:
        return "disposed"
    if m.state == LOST:
        return "lost"
    if m.state == ERASED and m.origin != RECEIVED:
        return "erased"
    return "open"


def evidence_seq(m: Medium) -> int | None:
    """The entry that evidences a medium's final disposition."""
    if m.final_seq is not None:
        return m.final_seq
    if m.state == ERASED:
        return m.erased_seq
    return None


# --- organisations ---


def norm_org(name: str) -> str:
    for token in ("株式会社", "(株)", "（株）", "有限会社", "合同会社", "co.,ltd.", "co., ltd.", "inc.", "ltd."):
        name = name.replace(token, "")
    return "".join(name.split()).casefold()


@dataclass
class Organisation:
    key: str
    name: str
    tier: str  # vendor | subcontractor | sub-subcontractor
    approvals: list[str]  # subcontract approval ids
    approved: bool


class Organisations:
    """The vendor, the approved subcontractors and any other organisation that acted (module docs)."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.by_key: dict[str, Organisation] = {}
        vendor = vendor_name(data)
        self._vendor_norm = norm_org(vendor)
        self.by_key[VENDOR] = Organisation(VENDOR, vendor, "vendor", [], True)
        for sc in sorted(data.state.subcontracts.values(), key=lambda s: s.seq):
            key = norm_org(sc.name)
            org = self.by_key.get(key)
            if org is None:
                self.by_key[key] = Organisation(key, sc.name, sc.tier, [sc.id], True)
            else:
                org.approvals.append(sc.id)
        for person in sorted(data.state.people.values(), key=lambda p: p.registered_seq):
            if person.role == "agent":
                continue
            self.key_of_person(person, create=True)

    def key_of_person(self, person: Person, *, create: bool = False) -> str:
        sc = self.data.state.subcontracts.get(person.subcontract_id or "")
        if sc is not None and person.tier != "vendor":
            return norm_org(sc.name)
        return self.key_of_name(person.organisation, person.tier, create=create)

    def key_of_name(self, name: str, tier: str = "subcontractor", *, create: bool = False) -> str:
        key = norm_org(name)
        if not key or key == self._vendor_norm:
            return VENDOR
        if key not in self.by_key:
            if not create:
                return VENDOR
            self.by_key[key] = Organisation(key, name, tier if tier != "vendor" else "subcontractor", [], False)
        return key

    def ordered(self) -> list[Organisation]:
        return list(self.by_key.values())

    def attribute(self, finding: Finding) -> list[str]:
        """The organisations a finding concerns (module documentation); never empty."""
        data = self.data
        entry = data.entries.get(finding.seq) if finding.seq is not None else None
        if entry is not None:
            body = entry.body
            if entry.type in ("personnel.registered", "personnel.changed"):
                changes = dict_of(body.get("changes")) if entry.type == "personnel.changed" else body
                person = data.state.people.get(text_of(body.get("key_name")))
                org = text_of(changes.get("organisation")) or (person.organisation if person else "")
                if org:
                    return [self.key_of_name(org, text_of(changes.get("tier")) or "subcontractor", create=True)]
            if entry.type == "subcontract.approved":
                name = _subcontractor_name(body)
                if name:
                    return [self.key_of_name(name, create=True)]
            person = data.state.people.get(entry.actor)
            if person is not None and person.role != "agent":
                keys = [self.key_of_person(person, create=True)]
                if entry.type == "takeout.departed":
                    for carrier in list_of(body.get("carriers")):
                        other = data.state.person_by_name(carrier) if isinstance(carrier, str) else None
                        if other is not None:
                            keys.append(self.key_of_person(other, create=True))
                return list(dict.fromkeys(keys))
            if person is None:
                return [VENDOR]
        m = data.state.media.get(finding.media) if finding.media else None
        if m is not None:
            custodian = m.record.get("custodian")
            if isinstance(custodian, str):
                person = data.state.people.get(custodian)
                if person is not None and person.role != "agent":
                    return [self.key_of_person(person, create=True)]
            elif isinstance(custodian, dict) and text_of(custodian.get("organisation")):
                return [self.key_of_name(text_of(custodian.get("organisation")), create=True)]
        return [VENDOR]

    def name(self, key: str) -> str:
        org = self.by_key.get(key)
        return org.name if org is not None else key


def _subcontractor_name(body: dict[str, Any]) -> str:
    """The subcontractor named in an approval note (read loosely: the verifier judged the note)."""
    return text_of(dict_of(approval_of_entry(body).get("subcontractor")).get("name"))


def approval_doc(data: ReportData, approval_id: str) -> dict[str, Any]:
    """An approval's body as signed (the state keeps every approval the ledger used)."""
    use = data.state.approvals.get(approval_id)
    return dict(use.body) if use is not None else {}


def approval_of_entry(body: dict[str, Any]) -> dict[str, Any]:
    """The body of the approval note an entry embeds (read loosely)."""
    note = body.get("approval")
    if not isinstance(note, str):
        return {}
    try:
        lines = parse_note(note.encode("utf-8")).text.split("\n")
        doc = canonical.loads(lines[2]) if len(lines) > 2 else None
    except (CustodyError, UnicodeEncodeError):
        return {}
    return dict_of(doc)


def approver_text(doc: dict[str, Any]) -> str:
    a = dict_of(doc.get("approver"))
    return " ".join(x for x in (text_of(a.get("organisation")), text_of(a.get("title")), text_of(a.get("name"))) if x)


def findings_by_severity(findings: tuple[Finding, ...]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        out[f.severity] = out.get(f.severity, 0) + 1
    return out


def hash_cell(value: str) -> Cell:
    return Hash(value) if value and " " not in value and value.isascii() and value.isprintable() else (value or DASH)
