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
from custody.ledger.vocabulary import INSPECTION_ITEMS, INSPECTION_TYPES
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
        return (t("closed {d}", "{d} 完了") if closed <= due else t("closed LATE {d}", "期限後 {d} に完了")).format(
            d=t.date(closed))
    return t("OVERDUE", "期限超過") if due < today else t("open", "未完了")


def _one(data: ReportData, body: dict[str, Any], seq: int, closures: dict[str, str], t: Tr) -> list[Block]:
    att = opened(data, body, ("inspection",))
    signed = att if isinstance(att, Attestation) else None
    inspection = signed.body.inspection if signed is not None else None
    inspector = person_fields(body.get("inspector"))
    rows: list[tuple[str, Cell]] = [
        (t("Ledger entry", "台帳の記録"), f"#{seq}"),
        (t("Date", "日付"), t.date(body.get("date"))),
        (t("Method", "方法"), t.word(INSPECTION_TYPES, inspection.method if inspection else text_of(body.get("type")))),
        (t("Inspector", "検査者"), " ".join(x for x in (inspector["organisation"], inspector["title"],
                                                        inspector["name"]) if x) or DASH),
        (t("Result", "結果"), (inspection.result if inspection else text_of(body.get("result"))) or DASH),
    ]
    blocks: list[Block] = [KeyValues(rows, widths=(2, 5)),
                           KeyValues(signature_rows(data, body, ("inspection",), t), widths=(2, 5))]
    if signed is None:
        blocks.append(Paragraph(t("This record carries no valid signature of the municipality's inspector: it is "
                                  "the vendor's account only.",
                                  "この記録には委託者の検査員の有効な署名がありません。受託者の記載にすぎません。")))
    if inspection is not None:
        source = [{"party": c.party, "item": c.item, "complied": c.complied, "evidence": c.evidence}
                  for c in inspection.checks]
    else:
        source = [dict_of(c) for c in list_of(body.get("checks"))]
    checks: list[list[Cell]] = [
        [text_of(c.get("party")) or DASH, t.word(INSPECTION_ITEMS, text_of(c.get("item"))),
         "0" if c.get("complied") is True else "1", text_of(c.get("evidence")) or DASH] for c in source]
    if checks:
        blocks.append(Table([t("Party", "事業者"), t("Item", "項目"), t("0 / 1", "判定"), t("Evidence", "根拠")],
                            checks, col_widths=[4, 3, 1, 8], align=["left", "left", "center", "left"],
                            caption=t("Checks per party (0 complied, 1 not)",
                                      "事業者ごとの確認事項(0 遵守、1 不遵守)")))
    findings = list(inspection.findings) if inspection else [x for x in list_of(body.get("findings"))
                                                             if isinstance(x, str)]
    blocks.append(KeyValues([(t("Findings", "指摘事項"), "\n".join(findings) or t("none", "なし"))], widths=(2, 5)))
    today = data.last_at[:10]
    actions: list[list[Cell]] = [
        [a.id, a.party, a.what, t.date(a.due), _status(a.due, closures.get(a.id), today, t)]
        for a in (inspection.corrective_actions if inspection is not None else ())]
    if actions:
        blocks.append(Table([t("No.", "番号"), t("Party", "事業者"), t("Corrective action", "是正措置"),
                             t("Due", "期限"), t("Status", "状況")], actions, col_widths=[2, 3, 7, 2, 3],
                            caption=t("Corrective actions (re-checked by a later inspection)",
                                      "是正措置(後の検査で完了を確認)")))
    if inspection is not None and inspection.closed_actions:
        blocks.append(KeyValues([(t("Earlier actions found closed", "完了を確認した以前の措置"), ", ".join(
            f"{i}({t.date(d)})" for i, d in inspection.closed_actions))], widths=(2, 5)))
    return blocks


def _coverage(data: ReportData, t: Tr) -> list[Block]:
    findings = [f for f in data.result.findings if f.code in CODES]
    if not findings:
        return [Paragraph(t("Every interval of the contract period has an inspection, every subcontractor was "
                            "inspected, and no corrective action is overdue (C20); every inspection is signed "
                            "by the municipality (C24).",
                            "契約期間の各期間に検査があり、すべての再委託先が検査され、期限を過ぎた是正措置はありません"
                            "(C20)。すべての検査に委託者の署名があります(C24)。"))]
    rows: list[list[Cell]] = [[f.code, t.word({"error": ("error", "エラー"), "warning": ("warning", "警告")},
                                              f.severity), f"#{f.seq}" if f.seq is not None else DASH,
                               f.message_in("ja" if t.ja else "en")] for f in findings]
    return [Table([t("Code", "規則"), t("Severity", "重大度"), t("Entry", "記録"), t("Finding", "所見")], rows,
                  col_widths=[1, 2, 1, 10])]


def build_inspection_record(data: ReportData, lang: Lang) -> Document:
    """The inspection record (module documentation)."""
    t = Tr(lang)
    closures = _closures(data)
    entries = data.of_type("inspection.recorded")
    blocks: list[Block] = []
    interval = data.genesis.get("inspection_interval_months")
    blocks.append(KeyValues([(t("Required", "必要な検査"), t(
        "at least every {n} months, on site in principle; every subcontractor (3(7), 第13)",
        "少なくとも{n}か月ごと、原則として実地検査。再委託先も対象(3(7)、第13)").format(
        n=interval if isinstance(interval, int) else 12))], widths=(2, 5)))
    if not entries:
        blocks.append(Paragraph(t("No inspection by the municipality is recorded in the ledger.",
                                  "委託者による検査の記録は台帳にありません。")))
    for number, entry in enumerate(entries, start=1):
        blocks.append(Section(t("Inspection {n}", "検査 {n}").format(n=number),
                              _one(data, entry.body, entry.seq, closures, t)))
    blocks.append(Section(t("Coverage and findings (C20, C24)", "検査の網羅性と所見(C20・C24)"), _coverage(data, t)))
    return official_document(
        data, t, lang, title=t("Inspection record", "検査記録"), code="INR", blocks=blocks,
        meta=[*contract_meta(data, t), (t("Evidence verification", "証跡の検証"), verdict(data, t)), as_of(data, t)],
        subtitle=t("Inspections by the municipality, signed by its inspectors",
                   "委託者による監査・検査(検査員の署名付き)"),
    )
