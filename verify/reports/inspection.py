"""別紙報告票: the MIC emergency inspection form of 2007, filled in from the verification
(seeds/mic-2007-emergency-inspection-request.txt; docs/spec-rules.md).  Landscape.

(1) 契約書の点検 -- whether the contract states ① re-subcontracting only with prior approval,
② a fixed work location (no takeout without approval), ③ return and disposal at the end.  Read
from the contract record of the genesis entry (permits, work locations, period); the auditor
confirms it against the contract document.

(2) 遵守状況の点検 -- for the vendor (委託先) and each subcontractor (再委託先), one row each:

* ① 再委託 -- C9 (unregistered actor, subcontractor without approval);
* ② 持ち出し・作業場所 -- C2 C3 C4 C10 C11 (takeout without approval or encryption, not back in
  time, unregistered media, writes without approval);
* ③ 返還・廃棄 -- C1 C6 C7 C8 C12 C15 (no final disposition, copies untracked, disposal without
  approval / witness / evidence, evidence late, a disposed medium seen again, counts).

0 = complied, 1 = not complied: 1 when a finding of those codes with severity *error* is
attributed to the organisation (``verify.reports.common.Organisations.attribute``: by the actor
of the entry, else the medium's custodian, else the vendor); warnings are listed as improvement
notes without setting 1.  The findings are the improvement notes (改善事項).  For reference, rows
for copies, incidents, observation gaps, periodic reporting and workers follow (each code's row is the one its
family registers: ``RuleCode.form``; C16 counts in ①, C18 and C19 in ②, C17 in ③); integrity findings (I1-I9)
concern the whole ledger and are stated above the table, since a ledger that fails them cannot
support a "0".

(3) the municipality's own inspections recorded in the ledger (``inspection.recorded``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from custody.ledger.lifecycle import RULE_CODES
from custody.ledger.vocabulary import INSPECTION_ITEMS, INSPECTION_TYPES, SEVERITIES
from custody.verify.findings import ERROR, Finding
from custody.verify.reports.common import (
    VENDOR,
    Organisation,
    Organisations,
    as_of,
    basis_meta,
    contract_meta,
    letterhead,
    person_fields,
    tr,
    trust_banner,
    vendor_name,
)
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import (
    Align,
    Block,
    BulletList,
    Cell,
    Document,
    Lang,
    Note,
    Paragraph,
    Section,
    Table,
)
from custody.verify.reports.labels import DASH, Tr, dict_of, list_of, text_of

MAX_NOTES = 12  # findings listed per cell; the rest are counted ("他 N 件") -- all are in the findings report


#: The context (msgctxt "report: ...") of the form's rows in ledger/locale/ja/report_labels.po: the MIC form's own
#: wording of each item.
FORM_ROW = "a row of the MIC form"


@dataclass(frozen=True)
class FormRow:
    """A row of the form: ``title`` in English is the msgid of its wording (context ``FORM_ROW``)."""

    mark: str
    title: str
    codes: tuple[str, ...]
    reference: bool = False

    def text(self, t: Tr) -> str:
        """The row's wording in the report's language."""
        return t.pgettext(FORM_ROW, self.title)

    @property
    def ja(self) -> str:
        """The row's wording on the Japanese form."""
        return self.text(Tr("ja"))


def _codes(form: str) -> tuple[str, ...]:
    """The rule codes the form counts in a row: each family registers its codes' row (``RuleCode.form``)."""
    return tuple(code for code, rule in RULE_CODES.items() if rule.form == form)


ROWS: tuple[FormRow, ...] = (
    FormRow("①", "Re-subcontracting only with prior approval", _codes("①")),
    FormRow("②", "No takeout of personal data without prior approval; fixed work location", _codes("②")),
    FormRow("③", "Return and disposal of the information assets at the end", _codes("③")),
)
REFERENCE_ROWS: tuple[FormRow, ...] = (
    FormRow("参考", "Copies only with prior approval", _codes("copies"), reference=True),
    FormRow("参考", "Incidents", _codes("incidents"), reference=True),
    FormRow("参考", "Observation at the work location", _codes("observation"), reference=True),
    FormRow("参考", "Inspections by the municipality", _codes("inspections"), reference=True),
    FormRow("参考", "Periodic reporting to the municipality", _codes("reporting"), reference=True),
    FormRow("参考", "Workers: changes reported, exit checks, no-data statements", _codes("people"), reference=True),
)


def mark_of(findings: Sequence[Finding], row: FormRow) -> int:
    """0 (complied) or 1 (not complied) for one row: 1 when an error of the row's codes is among ``findings``."""
    return 1 if any(f.code in row.codes and f.severity == ERROR for f in findings) else 0


def assess(data: ReportData) -> tuple[Organisations, dict[str, list[Finding]]]:
    """The organisations and the findings attributed to each (integrity findings excluded)."""
    orgs = Organisations(data)
    attributed: dict[str, list[Finding]] = {}
    for f in data.result.findings:
        if f.code.startswith("I"):
            continue
        for key in orgs.attribute(f):
            attributed.setdefault(key, []).append(f)
    return orgs, attributed


def _note_lines(findings: Sequence[Finding], row: FormRow, t: Tr) -> str:
    mine = [f for f in findings if f.code in row.codes]
    if not mine:
        return DASH
    lines = []
    for f in mine[:MAX_NOTES]:
        where = " ".join(x for x in (t.seq(f.seq) if f.seq is not None else "", f.media or "") if x)
        warn = "" if f.severity == ERROR else f"({t.word(SEVERITIES, f.severity)})"
        lines.append(f"[{f.code}] {where} {f.message_in(t.lang)}{warn}".replace("  ", " "))
    if len(mine) > MAX_NOTES:
        lines.append(t("… and {n} more (see the findings report)").format(
            n=len(mine) - MAX_NOTES))
    return "\n".join(lines)


def _category(org: Organisation, t: Tr) -> str:
    if org.key == VENDOR:
        return t.pgettext("the entrusted party (MIC form)", "Vendor")
    if org.tier == "sub-subcontractor":
        return t("Subcontractor (sub-subcontractor)")
    return t("Subcontractor")


def _approval(org: Organisation, t: Tr) -> str:
    if org.key == VENDOR:
        return t("contract")
    if org.approved:
        return t.join(org.approvals)
    return t("NONE")


def _contract_check(data: ReportData, t: Tr) -> list[Block]:
    g = data.genesis
    permits = dict_of(g.get("permits"))
    locations = [text_of(dict_of(loc).get("name")) for loc in list_of(g.get("work_locations"))]
    period = dict_of(g.get("period"))
    has_permits = "subcontracting" in permits
    sub = permits.get("subcontracting") is True
    takeout = t("with prior approval") if permits.get("takeout") is True else t("not allowed")
    rows: list[list[Cell]] = [
        ["①", ROWS[0].text(t), "0" if has_permits else "1",
         (t("allowed with the municipality's prior approval") if sub
          else t("not allowed")) if has_permits else t("not recorded")],
        ["②", t("Work location specified (no takeout of personal data without approval)"),
         "0" if any(locations) else "1",
         t.join([x for x in locations if x]) + t("; takeout {p}").format(p=takeout)
         if any(locations) else t("no work location recorded")],
        ["③", ROWS[2].text(t), "0" if period.get("end") else "1",
         t("contract period ends {d}; every medium must be returned or disposed of by then").format(
             d=t.date(period.get("end")))
         if period.get("end") else t("no contract period recorded")],
    ]
    align: list[Align] = ["center", "left", "center", "left"]
    return [
        Table(["", t("Item"), t("0 / 1"), t("Basis (contract record)")], rows,
              col_widths=[1, 8, 1, 8], align=align),
        Note(t("(1) is read from the contract record of the ledger's genesis entry; confirm it against the contract "
               "document (including the specifications). 0 = stated, 1 = not stated.")),
    ]


def _integrity(data: ReportData, t: Tr) -> list[Block]:
    bad = [f for f in data.result.findings if f.code.startswith("I") and f.severity == ERROR]
    if not bad:
        return []
    items = [f"[{f.code}] {t.seq(f.seq) if f.seq is not None else ''} {f.message_in(t.lang)}".replace("  ", " ")
             for f in bad[:MAX_NOTES]]
    if len(bad) > MAX_NOTES:
        items.append(t("… and {n} more").format(n=len(bad) - MAX_NOTES))
    return [
        Paragraph(t("The ledger fails its integrity checks: the marks below rest on a ledger that may have been "
                    "altered or truncated and cannot establish compliance.")),
        BulletList(items),
    ]


def _summary(orgs: Organisations, attributed: dict[str, list[Finding]], t: Tr) -> Table:
    rows: list[list[Cell]] = []
    totals = [0, 0, 0]
    for org in orgs.ordered():
        mine = attributed.get(org.key, [])
        marks = [mark_of(mine, row) for row in ROWS]
        totals = [a + b for a, b in zip(totals, marks, strict=True)]
        notes = [f"{row.mark} " + _note_lines(mine, row, t).split("\n")[0] for row, mark in zip(ROWS, marks,
                                                                                             strict=True) if mark]
        rows.append([_category(org, t), org.name or DASH, _approval(org, t), *[str(m) for m in marks],
                     "\n".join(notes) or DASH])
    align: list[Align] = ["left", "left", "left", "center", "center", "center", "left"]
    return Table(
        [t("Category"), t.pgettext("a company's name", "Organisation"), t("Subcontract approval"),
         t("① Re-subcontracting"), t("② Takeout, work location"),
         t("③ Return, disposal"),
         t("Improvements for items marked 1 (details below)")],
        rows, col_widths=[3, 4, 3, 2, 2, 2, 10], align=align,
        footer_rows=[[t.pgettext("MIC form", "Total"), "", "", *[str(x) for x in totals], ""]],
    )


def _organisation(org: Organisation, findings: list[Finding], t: Tr) -> Section:
    rows: list[list[Cell]] = [
        [row.mark, row.text(t), " ".join(row.codes),
         str(mark_of(findings, row)), _note_lines(findings, row, t)]
        for row in (*ROWS, *REFERENCE_ROWS)
    ]
    heading = f"{org.name or DASH}({_category(org, t)})" if t.ja else f"{org.name or DASH} ({_category(org, t)})"
    align: list[Align] = ["center", "left", "left", "center", "left"]
    return Section(heading, [Table(
        ["", t("Item"), t("Rules"), t("0 / 1"), t("Findings (improvements)")],
        rows, col_widths=[1, 5, 2, 1, 12], align=align)])


def _inspections(data: ReportData, t: Tr) -> list[Block]:
    entries = data.of_type("inspection.recorded")
    if not entries:
        return [Paragraph(t("No inspection by the municipality is recorded in the ledger."))]
    rows: list[list[Cell]] = []
    checks: list[list[Cell]] = []
    for entry in entries:
        b = entry.body
        inspector = person_fields(b.get("inspector"))
        actions = []
        for action in list_of(b.get("corrective_actions")):
            a = dict_of(action)
            extra = " ".join(x for x in (text_of(a.get("who")), t.date(a.get("by")) if a.get("by") else "") if x)
            actions.append(text_of(a.get("what")) + (f"({extra})" if extra else ""))
        rows.append([
            t.date(b.get("date")),
            t.word(INSPECTION_TYPES, text_of(b.get("type"))),
            " ".join(x for x in (inspector["organisation"], inspector["title"], inspector["name"]) if x) or DASH,
            "\n".join(x for x in list_of(b.get("tasks")) if isinstance(x, str)) or DASH,
            "\n".join(x for x in list_of(b.get("findings")) if isinstance(x, str)) or DASH,
            "\n".join(actions) or DASH,
            text_of(b.get("result")) or DASH,
        ])
        for check in list_of(b.get("checks")):
            c = dict_of(check)
            checks.append([
                t.date(b.get("date")), text_of(c.get("party")) or DASH,
                t.word(INSPECTION_ITEMS, text_of(c.get("item"))),
                t.yes_no(c.get("in_contract")),
                "0" if c.get("complied") is True else "1",
                text_of(c.get("evidence")) or DASH,
            ])
    blocks: list[Block] = [Table(
        [t("Date"), t("Type"), t("Inspector"), t("Tasks"),
         t("Findings"), t("Corrective actions (who, by when)"),
         t("Result")],
        rows, col_widths=[2, 2, 3, 4, 4, 4, 3])]
    if checks:
        blocks.append(Table(
            [t("Date"), t("Party"), t("Item"), t("In the contract"),
             t("0 / 1"), t("Evidence")],
            checks, col_widths=[2, 3, 3, 2, 1, 8], align=["left", "left", "left", "center", "center", "left"],
            caption=t("Items the inspectors checked")))
    return blocks


def build_inspection(data: ReportData, lang: Lang) -> Document:
    """The MIC inspection form (module documentation)."""
    t = tr(data, lang)
    orgs, attributed = assess(data)
    blocks: list[Block] = [
        Section(t("(1) The contract"), _contract_check(data, t)),
        Section(t("(2) Compliance"), [
            *_integrity(data, t),
            _summary(orgs, attributed, t),
            Note(t("0 = complied, 1 = not complied. 1 when the verifier found an error of the item's rules for the "
                   "organisation (by who acted, else the medium's custodian, else the vendor); warnings are listed "
                   "as improvements without a 1. Subcontractors include any organisation whose staff acted without "
                   "an approval.")),
            *[_organisation(org, attributed.get(org.key, []), t) for org in orgs.ordered()],
        ]),
        Section(t("(3) Inspections by the municipality"), _inspections(data, t)),
    ]
    return Document(
        t("Inspection form (MIC annex report form)"),
        subtitle=t("Contents of and compliance with outsourcing contracts for personal data (MIC, 2007)"),
        lang=lang,
        meta=[*contract_meta(data, t), *basis_meta(data, t), as_of(data, t)],
        blocks=blocks,
        header_note=vendor_name(data),
        banner=trust_banner(data, t),
        footer_note=t("0 = complied / stated, 1 = not complied / not stated. Made by custody from the verified "
                      "evidence bundle."),
        orientation="landscape",
        author=vendor_name(data),
        letterhead=letterhead(data, t, "MIC"),
    )
