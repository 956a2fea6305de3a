"""検査記録: the municipality's inspections of the vendor and its subcontractors (3(7), 第13; docs/spec.md §9.6).

For each ``inspection.recorded`` entry: the inspection as the inspector signed it (method, date, place,
what was seen), the signature verified against the key the contract pins for the inspector, the checks per
party, the findings, and the corrective actions with their due dates and whether a later inspection found
them carried out (closed on time, late, open, overdue).  Then the coverage: every interval of the contract
period and every approved subcontractor, and the verifier's C20/C24 findings.  A record with no valid
signature is printed as the vendor wrote it and marked so.  Pure: data in, a ``Document`` out.
"""

from __future__ import annotations

from typing import Any

from custody.ledger.attestation import Attestation
from custody.ledger.vocabulary import INSPECTION_ITEMS, INSPECTION_TYPES, SEVERITIES
from custody.verify.reports.common import (
    as_of,
    contract_meta,
    official_document,
    person_fields,
    verdict,
)
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Block, Cell, Document, KeyValues, Lang, Paragraph, Section, Table
from custody.verify.reports.labels import DASH, Tr, dict_of, list_of, text_of
from custody.verify.reports.signed import opened, signature_rows

CODES = ("C20", "C24")


def _closures(data: ReportData) -> dict[str, str]:
    """Corrective action id -> the day a later signed inspection found it carried out (the first such)."""
    out: dict[str, str] = {}
    for entry in data.of_type("inspection.recorded"):
        att = opened(data, entry.body, ("inspection",))
        if isinstance(att, Attestation) and att.body.inspection is not None:
            for action_id, day in att.body.inspection.closed_actions:
                out.setdefault(action_id, day)
    return out


def _status(due: str, closed: str | None, today: str, t: Tr) -> str:
    if closed is not None:
        return (t("closed {d}") if closed <= due else t("closed LATE {d}")).format(
            d=t.date(closed))
    return t("OVERDUE") if due < today else t("open")


def _one(data: ReportData, body: dict[str, Any], seq: int, closures: dict[str, str], t: Tr) -> list[Block]:
    att = opened(data, body, ("inspection",))
    signed = att if isinstance(att, Attestation) else None
    inspection = signed.body.inspection if signed is not None else None
    inspector = person_fields(body.get("inspector"))
    rows: list[tuple[str, Cell]] = [
        (t("Ledger entry"), f"#{seq}"),
        (t("Date"), t.date(body.get("date"))),
        (t("Method"), t.word(INSPECTION_TYPES, inspection.method if inspection else text_of(body.get("type")))),
        (t("Inspector"), " ".join(x for x in (inspector["organisation"], inspector["title"],
                                                        inspector["name"]) if x) or DASH),
        (t("Result"), (inspection.result if inspection else text_of(body.get("result"))) or DASH),
    ]
    blocks: list[Block] = [KeyValues(rows, widths=(2, 5)),
                           KeyValues(signature_rows(data, body, ("inspection",), t), widths=(2, 5))]
    if signed is None:
        blocks.append(Paragraph(t("This record carries no valid signature of the municipality's inspector: it is "
                                  "the vendor's account only.")))
    if inspection is not None:
        source = [{"party": c.party, "item": c.item, "complied": c.complied, "evidence": c.evidence}
                  for c in inspection.checks]
    else:
        source = [dict_of(c) for c in list_of(body.get("checks"))]
    checks: list[list[Cell]] = [
        [text_of(c.get("party")) or DASH, t.word(INSPECTION_ITEMS, text_of(c.get("item"))),
         "0" if c.get("complied") is True else "1", text_of(c.get("evidence")) or DASH] for c in source]
    if checks:
        blocks.append(Table([t("Party"), t("Item"), t("0 / 1"), t("Evidence")],
                            checks, col_widths=[4, 3, 1, 8], align=["left", "left", "center", "left"],
                            caption=t("Checks per party (0 complied, 1 not)")))
    findings = list(inspection.findings) if inspection else [x for x in list_of(body.get("findings"))
                                                             if isinstance(x, str)]
    blocks.append(KeyValues([(t("Findings"), "\n".join(findings) or t("none"))], widths=(2, 5)))
    today = data.last_at[:10]
    actions: list[list[Cell]] = [
        [a.id, a.party, a.what, t.date(a.due), _status(a.due, closures.get(a.id), today, t)]
        for a in (inspection.corrective_actions if inspection is not None else ())]
    if actions:
        blocks.append(Table([t("No."), t("Party"), t("Corrective action"),
                             t("Due"), t("Status")], actions, col_widths=[2, 3, 7, 2, 3],
                            caption=t("Corrective actions (re-checked by a later inspection)")))
    if inspection is not None and inspection.closed_actions:
        blocks.append(KeyValues([(t("Earlier actions found closed"), ", ".join(
            f"{i}({t.date(d)})" for i, d in inspection.closed_actions))], widths=(2, 5)))
    return blocks


def _coverage(data: ReportData, t: Tr) -> list[Block]:
    findings = [f for f in data.result.findings if f.code in CODES]
    if not findings:
        return [Paragraph(t("Every interval of the contract period has an inspection, every subcontractor was "
                            "inspected, and no corrective action is overdue (C20); every inspection is signed "
                            "by the municipality (C24)."))]
    rows: list[list[Cell]] = [[f.code, t.word(SEVERITIES, f.severity), f"#{f.seq}" if f.seq is not None else DASH,
                               f.message_in("ja" if t.ja else "en")] for f in findings]
    return [Table([t("Code"), t("Severity"), t.pgettext("the entry itself", "Entry"), t("Finding")], rows,
                  col_widths=[1, 2, 1, 10])]


def build_inspection_record(data: ReportData, lang: Lang) -> Document:
    """The inspection record (module documentation)."""
    t = Tr(lang)
    closures = _closures(data)
    entries = data.of_type("inspection.recorded")
    blocks: list[Block] = []
    interval = data.genesis.get("inspection_interval_months")
    blocks.append(KeyValues([(t("Required"), t(
        "at least every {n} months, on site in principle; every subcontractor (3(7), 第13)").format(
            n=interval if isinstance(interval, int) else 12))], widths=(2, 5)))
    if not entries:
        blocks.append(Paragraph(t("No inspection by the municipality is recorded in the ledger.")))
    for number, entry in enumerate(entries, start=1):
        blocks.append(Section(t("Inspection {n}").format(n=number),
                              _one(data, entry.body, entry.seq, closures, t)))
    blocks.append(Section(t("Coverage and findings (C20, C24)"), _coverage(data, t)))
    return official_document(
        data, t, lang, title=t("Inspection record"), code="INR", blocks=blocks,
        meta=[*contract_meta(data, t), (t("Evidence verification"), verdict(data, t)), as_of(data, t)],
        subtitle=t("Inspections by the municipality, signed by its inspectors"),
    )
