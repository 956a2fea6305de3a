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


@dataclass(frozen=True)
class FormRow:
    mark: str
    en: str
    ja: str
    codes: tuple[str, ...]
    reference: bool = False


def _codes(form: str) -> tuple[str, ...]:
    """The rule codes the form counts in a row: each family registers its codes' row (``RuleCode.form``)."""
    return tuple(code for code, rule in RULE_CODES.items() if rule.form == form)


ROWS: tuple[FormRow, ...] = (
    FormRow("①", "Re-subcontracting only with prior approval", "再委託の原則禁止(再委託可の場合は事前承認)",
            _codes("①")),
    FormRow("②", "No takeout of personal data without prior approval; fixed work location",
            "個人情報の持ち出し禁止(持ち出し可とする場合は事前承認)・作業場所の特定", _codes("②")),
    FormRow("③", "Return and disposal of the information assets at the end",
            "委託業務終了時の情報資産の返還、廃棄等", _codes("③")),
)
REFERENCE_ROWS: tuple[FormRow, ...] = (
    FormRow("参考", "Copies only with prior approval", "複製の制限(事前承認)", _codes("copies"), reference=True),
    FormRow("参考", "Incidents", "事故", _codes("incidents"), reference=True),
    FormRow("参考", "Observation at the work location", "作業場所の観測の欠落", _codes("observation"), reference=True),
    FormRow("参考", "Inspections by the municipality", "委託者による検査", _codes("inspections"), reference=True),
    FormRow("参考", "Periodic reporting to the municipality", "委託者への定期報告", _codes("reporting"),
            reference=True),
    FormRow("参考", "Workers: changes reported, exit checks, no-data statements",
            "作業従事者の管理(変更報告・退任確認・データ非保持の申告)", _codes("people"), reference=True),
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
        lines.append(t("… and {n} more (see the findings report)", "…ほか {n} 件(検証結果報告を参照)").format(
            n=len(mine) - MAX_NOTES))
    return "\n".join(lines)


def _category(org: Organisation, t: Tr) -> str:
    if org.key == VENDOR:
        return t("Vendor", "委託先")
    if org.tier == "sub-subcontractor":
        return t("Subcontractor (sub-subcontractor)", "再委託先(再々委託先)")
    return t("Subcontractor", "再委託先")


def _approval(org: Organisation, t: Tr) -> str:
    if org.key == VENDOR:
        return t("contract", "契約")
    if org.approved:
        return t.join(org.approvals)
    return t("NONE", "承認なし")


def _contract_check(data: ReportData, t: Tr) -> list[Block]:
    g = data.genesis
    permits = dict_of(g.get("permits"))
    locations = [text_of(dict_of(loc).get("name")) for loc in list_of(g.get("work_locations"))]
    period = dict_of(g.get("period"))
    has_permits = "subcontracting" in permits
    sub = permits.get("subcontracting") is True
    takeout = t("with prior approval", "事前承認による") if permits.get("takeout") is True else t("not allowed", "不可")
    rows: list[list[Cell]] = [
        ["①", t(ROWS[0].en, ROWS[0].ja), "0" if has_permits else "1",
         (t("allowed with the municipality's prior approval", "可(委託者の事前承認による)") if sub
          else t("not allowed", "不可")) if has_permits else t("not recorded", "記録なし")],
        ["②", t("Work location specified (no takeout of personal data without approval)",
                "作業場所の特定(個人情報の無断持ち出し禁止)"), "0" if any(locations) else "1",
         t.join([x for x in locations if x]) + t("; takeout {p}", "、持ち出し {p}").format(p=takeout)
         if any(locations) else t("no work location recorded", "作業場所の記録なし")],
        ["③", t(ROWS[2].en, ROWS[2].ja), "0" if period.get("end") else "1",
         t("contract period ends {d}; every medium must be returned or disposed of by then",
           "契約期間の終了 {d}。終了時にすべての媒体の返還・廃棄を記録").format(d=t.date(period.get("end")))
         if period.get("end") else t("no contract period recorded", "契約期間の記録なし")],
    ]
    align: list[Align] = ["center", "left", "center", "left"]
    return [
        Table(["", t("Item", "項目"), t("0 / 1", "判定"), t("Basis (contract record)", "根拠(契約情報)")], rows,
              col_widths=[1, 8, 1, 8], align=align),
        Note(t("(1) is read from the contract record of the ledger's genesis entry; confirm it against the contract "
               "document (including the specifications). 0 = stated, 1 = not stated.",
               "(1) は台帳の起点記録(契約情報)から判定しています。契約書(仕様書を含む)で確認してください。"
               "明記されている場合は「0」、明記されていない場合は「1」。")),
    ]


def _integrity(data: ReportData, t: Tr) -> list[Block]:
    bad = [f for f in data.result.findings if f.code.startswith("I") and f.severity == ERROR]
    if not bad:
        return []
    items = [f"[{f.code}] {t.seq(f.seq) if f.seq is not None else ''} {f.message_in(t.lang)}".replace("  ", " ")
             for f in bad[:MAX_NOTES]]
    if len(bad) > MAX_NOTES:
        items.append(t("… and {n} more", "…ほか {n} 件").format(n=len(bad) - MAX_NOTES))
    return [
        Paragraph(t("The ledger fails its integrity checks: the marks below rest on a ledger that may have been "
                    "altered or truncated and cannot establish compliance.",
                    "台帳の完全性の検証に失敗しています。以下の判定は改ざん・切り詰めのおそれがある台帳に基づくため、"
                    "遵守を立証できません。")),
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
        [t("Category", "区分"), t("Organisation", "事業者名"), t("Subcontract approval", "再委託の承認"),
         t("① Re-subcontracting", "①再委託"), t("② Takeout, work location", "②持ち出し・作業場所"),
         t("③ Return, disposal", "③返還・廃棄"),
         t("Improvements for items marked 1 (details below)", "「1」の事項の改善事項(詳細は下記)")],
        rows, col_widths=[3, 4, 3, 2, 2, 2, 10], align=align,
        footer_rows=[[t("Total", "計"), "", "", *[str(x) for x in totals], ""]],
    )


def _organisation(org: Organisation, findings: list[Finding], t: Tr) -> Section:
    rows: list[list[Cell]] = [
        [row.mark, t(row.en, row.ja), " ".join(row.codes), str(mark_of(findings, row)), _note_lines(findings, row, t)]
        for row in (*ROWS, *REFERENCE_ROWS)
    ]
    heading = f"{org.name or DASH}({_category(org, t)})" if t.ja else f"{org.name or DASH} ({_category(org, t)})"
    align: list[Align] = ["center", "left", "left", "center", "left"]
    return Section(heading, [Table(
        ["", t("Item", "項目"), t("Rules", "規則"), t("0 / 1", "判定"), t("Findings (improvements)", "所見(改善点)")],
        rows, col_widths=[1, 5, 2, 1, 12], align=align)])


def _inspections(data: ReportData, t: Tr) -> list[Block]:
    entries = data.of_type("inspection.recorded")
    if not entries:
        return [Paragraph(t("No inspection by the municipality is recorded in the ledger.",
                            "委託者による検査の記録は台帳にありません。"))]
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
        [t("Date", "日付"), t("Type", "種別"), t("Inspector", "検査者"), t("Tasks", "確認事項"),
         t("Findings", "指摘事項"), t("Corrective actions (who, by when)", "是正措置(担当・期限)"),
         t("Result", "結果")],
        rows, col_widths=[2, 2, 3, 4, 4, 4, 3])]
    if checks:
        blocks.append(Table(
            [t("Date", "日付"), t("Party", "事業者"), t("Item", "項目"), t("In the contract", "契約書に明記"),
             t("0 / 1", "判定"), t("Evidence", "根拠")],
            checks, col_widths=[2, 3, 3, 2, 1, 8], align=["left", "left", "left", "center", "center", "left"],
            caption=t("Items the inspectors checked", "検査者が確認した事項")))
    return blocks


def build_inspection(data: ReportData, lang: Lang) -> Document:
    """The MIC inspection form (module documentation)."""
    t = tr(data, lang)
    orgs, attributed = assess(data)
    blocks: list[Block] = [
        Section(t("(1) The contract", "(1) 契約書の点検"), _contract_check(data, t)),
        Section(t("(2) Compliance", "(2) 遵守状況の点検"), [
            *_integrity(data, t),
            _summary(orgs, attributed, t),
            Note(t("0 = complied, 1 = not complied. 1 when the verifier found an error of the item's rules for the "
                   "organisation (by who acted, else the medium's custodian, else the vendor); warnings are listed "
                   "as improvements without a 1. Subcontractors include any organisation whose staff acted without "
                   "an approval.",
                   "遵守されている場合は「0」、遵守されていない場合は「1」。当該事業者に帰属する(実施者、なければ"
                   "媒体の管理者、なければ委託先)該当規則のエラーがある場合に「1」とし、警告は改善事項として記載"
                   "します。再委託先には、承認なく従事者が作業した事業者を含みます。")),
            *[_organisation(org, attributed.get(org.key, []), t) for org in orgs.ordered()],
        ]),
        Section(t("(3) Inspections by the municipality", "(3) 委託者による検査の記録"), _inspections(data, t)),
    ]
    return Document(
        t("Inspection form (MIC annex report form)", "別紙報告票"),
        subtitle=t("Contents of and compliance with outsourcing contracts for personal data (MIC, 2007)",
                   "個人情報の取扱いに係る外部委託契約の内容及び遵守状況の点検(総務省 平成19年 緊急点検)"),
        lang=lang,
        meta=[*contract_meta(data, t), *basis_meta(data, t), as_of(data, t)],
        blocks=blocks,
        header_note=vendor_name(data),
        banner=trust_banner(data, t),
        footer_note=t("0 = complied / stated, 1 = not complied / not stated. Made by custody from the verified "
                      "evidence bundle.",
                      "記入要領: 遵守(明記)は「0」、不遵守(未記載)は「1」。custody により検証済みの証跡一式から作成。"),
        orientation="landscape",
        author=vendor_name(data),
        letterhead=letterhead(data, t, "MIC"),
    )
