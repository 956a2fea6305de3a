"""事故報告書 (incident report): every incident reported in the ledger with its detailed report -- what
happened, how many records, where, how, when it was detected and when the municipality was told, the police,
the measures, and the findings of the rules about reporting (special terms 第14, 3(11); docs/spec-rules.md
C14, C21).  The municipality's instructions, where the ledger holds them (``attest.*`` entries of kind
instruction), are listed beside the incident they cite.
"""

from __future__ import annotations

from typing import Any

from custody.ledger.vocabulary import INCIDENTS
from custody.verify.findings import Finding
from custody.verify.reports.common import (
    as_of,
    basis_meta,
    contract_meta,
    official_document,
    responsible,
)
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Block, Document, Lang, Note, Paragraph, Section, SignatureBoxes, Table
from custody.verify.reports.labels import DASH, Tr, dict_of, list_of, text_of
from custody.verify.reports.signed import opened


def _items(body: dict[str, Any], t: Tr) -> str:
    items = [dict_of(i) for i in list_of(body.get("items"))]
    return t.join([f"{text_of(i.get('name'))} {t.records(i.get('records'))}".strip() for i in items])


def _police(body: dict[str, Any], t: Tr) -> str:
    police = dict_of(body.get("police_report"))
    if not police:
        return DASH
    if police.get("filed") is not True:
        return t("not reported")
    extra = t.join([t.when(police.get("at")) if police.get("at") else "", text_of(police.get("reference"))])
    return t("reported") + (f" ({extra})" if extra != DASH else "")


def _instructions(data: ReportData, seq: int, t: Tr) -> list[str]:
    """The municipality's signed instructions and acknowledgements that name this incident's entry (``concerns.seq``
    of an ``attestation.recorded``; docs/spec.md §9.6), each opened against the pinned keys."""
    from custody.ledger.attestation import Attestation, kind_text

    out = []
    for entry in data.of_type("attestation.recorded"):
        att = opened(data, entry.body, ("instruction", "incident_acknowledgement"))
        if not isinstance(att, Attestation) or att.body.seq != seq:
            continue
        b = att.body
        words = "; ".join(b.instructions) or b.seen
        out.append(t("{kind} {id} ({who}, {when}): {words}").format(
            kind=t.pair(kind_text(b.kind)), id=b.id, who=b.attester.name, when=t.when(b.acted_at), words=words))
    return out


def _incident(data: ReportData, entry: Any, details: list[Any], findings: list[Finding], t: Tr) -> Section:
    b = entry.body
    rows: list[tuple[str, str]] = [
        (t("Kind"), t.word(INCIDENTS, text_of(b.get("kind")))),
        (t("What happened"), text_of(b.get("situation")) or DASH),
        (t("Media"), t.join([m for m in list_of(b.get("media_ids")) if isinstance(m, str)])),
        (t("Data items"), _items(b, t)),
        (t("Records concerned"), t.records(b.get("records"))),
        (t("Encrypted"), t.yes_no(b.get("encrypted"))),
        (t("Where"), text_of(b.get("place")) or DASH),
        (t.pgettext("when an incident was found", "Detected"), t.when(b.get("detected_at"))),
        (t.pgettext("when the municipality was notified", "Municipality notified"),
         t.when(b.get("notified_at")) if b.get("notified_at")
         else t("not recorded")),
        (t("Police"), _police(b, t)),
        (t("Status"), text_of(b.get("status")) or DASH),
        (t("Measures"), text_of(b.get("measures")) or DASH),
        (t("Recorded"), f"{t.when(entry.at)} ({t.seq(entry.seq)})"),
    ]
    blocks: list[Block] = [Table([t("Item"), t("Content")], [list(r) for r in rows],
                                 col_widths=[4, 14])]
    if details:
        blocks.append(Table(
            [t("Detailed report"), t.pgettext("details of an incident", "Situation"), t("Records"), t("Measures"),
             t("Status")],
            [[f"{t.when(d.at)} ({t.seq(d.seq)})", text_of(d.body.get("situation")) or DASH,
              t.records(d.body.get("records")), text_of(d.body.get("measures")) or DASH,
              text_of(d.body.get("status")) or DASH] for d in details],
            col_widths=[4, 7, 2, 6, 2]))
    else:
        blocks.append(Paragraph(t("No detailed report is recorded.")))
    instructions = _instructions(data, entry.seq, t)
    blocks.append(Paragraph(t("The municipality's instructions: ")
                            + (t.join(instructions) if instructions else t("none recorded"))))
    if findings:
        blocks.append(Table([t("Rule"), t("Finding")],
                            [[f.code, f.message_in(t.lang)] for f in findings], col_widths=[2, 16],
                            caption=t("What the verifier found about this incident")))
    title = t("Incident {n}").format(n=t.seq(entry.seq))
    return Section(title, blocks)


def build_incidents(data: ReportData, lang: Lang) -> Document:
    """The incident report (module documentation)."""
    t = Tr(lang)
    entries = data.of_type("incident.reported")
    firsts = [e for e in entries if not isinstance(e.body.get("detail_of"), int)]
    blocks: list[Block] = []
    if not firsts:
        blocks.append(Paragraph(t("No incident is recorded in the ledger.")))
    for entry in firsts:
        details = [e for e in entries if e.body.get("detail_of") == entry.seq]
        mine = [f for f in data.result.findings if f.code in ("C14", "C21")
                and (f.seq == entry.seq or f.seq in {d.seq for d in details})]
        blocks.append(_incident(data, entry, details, mine, t))
    anomalies = [f for f in data.result.findings if f.code == "C21" and f.seq not in {e.seq for e in entries}]
    if anomalies:
        blocks.append(Section(t("Anomalies not reported as incidents"), [
            Table([t.pgettext("the entry itself", "Entry"), t("Media"), t("Finding")],
                  [[t.seq(f.seq), f.media or DASH, f.message_in(t.lang)] for f in anomalies],
                  col_widths=[2, 3, 13])]))
    blocks.append(Note(t("Each incident is a signed ledger entry; a detailed report cites its first report.")))
    resp = responsible(data)
    blocks.append(SignatureBoxes(
        [t("Reported by (responsible person)"),
         t("Received by (municipality)")],
        names=[text_of(resp.get("name")), ""],
    ))
    return official_document(
        data, t, lang, title=t("Incident report"), code="INC", blocks=blocks,
        meta=[*contract_meta(data, t), *basis_meta(data, t), as_of(data, t)],
    )
