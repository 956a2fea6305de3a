"""The row of the MIC 別紙報告票 (2007): one municipality, eleven columns, however many contracts.

The form (総務省 平成19年 緊急点検, 別紙報告票, 市町村分) has one spreadsheet row
per municipality, in this order:

=====  ==================================================================  ==========
col    heading                                                             value
=====  ==================================================================  ==========
1-3    (1) 契約書の点検 ① 再委託 ② 作業場所 ③ 返還・廃棄                    0 / 1
4      (1) 改善事項(左記①から③のうち「1」のもの)                             text
5-7    (2) 委託先の遵守状況 ① 再委託 ② 持ち出し ③ 返還・廃棄                 0 / 1
8      (2) 委託先 改善事項                                                  text
9-10   (2) 再委託先の遵守状況 ② 持ち出し ③ 返還・廃棄 (no ①)                0 / 1
11     (2) 再委託先 改善事項                                                text
=====  ==================================================================  ==========

and a last row 市町村分計 that adds each 0/1 column over the municipalities.
"All the contracts are inspected; if any one contract does not state or does
not comply with an item, enter 1" (記入要領): a municipality's value in a
column is the largest over its contracts, so one "1" in any contract makes it
1.  The 委託先 columns come from each contract's vendor; the 再委託先 columns
from every subcontractor of every contract (a contract without one adds
0).  How a contract's own 0/1 are found is the inspection form's
(``verify.reports.inspection``): (1) from the contract record of the genesis
entry, (2) from the verifier's errors attributed to each organisation.  The
再委託先 has no ① column: re-subcontracting without approval anywhere in the
chain (C9, whoever it is attributed to) is the vendor's breach of ①, since the
vendor answers to the municipality for its subcontractors' subcontracting.

Pure: ``ReportData`` in, ``MicRow`` out; :func:`combine` adds contracts up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from custody.verify.findings import ERROR, Finding
from custody.verify.reports.common import VENDOR
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Lang
from custody.verify.reports.inspection import ROWS, assess
from custody.verify.reports.labels import Tr, dict_of, list_of, text_of
from custody.verify.reports.tables import Column, DataTable, Value

NOTE_LINES = 5  # findings quoted per item in a note cell; the findings report has them all


@dataclass(frozen=True)
class MicRow:
    """One municipality's (or one contract's) eleven values of the form."""

    municipality: str
    contract: tuple[int, int, int]
    contract_note: str
    vendor: tuple[int, int, int]
    vendor_note: str
    sub: tuple[int, int]
    sub_note: str

    def values(self) -> list[Value]:
        return [self.municipality, *self.contract, self.contract_note, *self.vendor, self.vendor_note, *self.sub,
                self.sub_note]


def contract_marks(data: ReportData) -> tuple[int, int, int]:
    """(1) ①②③ from the contract record: 0 stated, 1 not stated (as on the inspection form)."""
    g = data.genesis
    permits = dict_of(g.get("permits"))
    locations = [text_of(dict_of(loc).get("name")) for loc in list_of(g.get("work_locations"))]
    period = dict_of(g.get("period"))
    return (0 if "subcontracting" in permits else 1, 0 if any(locations) else 1, 0 if period.get("end") else 1)


def _mark(findings: Sequence[Finding], codes: tuple[str, ...]) -> int:
    return 1 if any(f.code in codes and f.severity == ERROR for f in findings) else 0


def _note(findings: Sequence[Finding], marks: Sequence[tuple[str, tuple[str, ...], int]], t: Tr) -> str:
    """For each item marked 1: its errors, ``① [C9] #12 message``, at most NOTE_LINES each."""
    lines: list[str] = []
    for mark, codes, value in marks:
        if not value:
            continue
        mine = [f for f in findings if f.code in codes and f.severity == ERROR]
        for f in mine[:NOTE_LINES]:
            where = " ".join(x for x in (t.seq(f.seq) if f.seq is not None else "", f.media or "") if x)
            lines.append(f"{mark} [{f.code}] {where} {f.message_in(t.lang)}".replace("  ", " "))
        if len(mine) > NOTE_LINES:
            lines.append(t("{m} … and {n} more (see the findings report)").format(m=mark, n=len(mine) - NOTE_LINES))
    return "\n".join(lines)


def mic_row(data: ReportData, lang: Lang) -> MicRow:
    """One contract's row, read from its verified bundle."""
    t = Tr(lang)
    orgs, attributed = assess(data)
    vendor_findings = attributed.get(VENDOR, [])
    # A finding attributed to several organisations (a takeout's carriers) is quoted once.
    sub_findings = list(dict.fromkeys(
        f for org in orgs.ordered() if org.key != VENDOR for f in attributed.get(org.key, [])))
    # The 再委託先 has no ① column: re-subcontracting without approval anywhere in the chain is the vendor's
    # breach of ① (the vendor answers for its subcontractors' subcontracting), so ① looks at every organisation.
    chain = list(dict.fromkeys([*vendor_findings, *sub_findings]))
    vendor = (_mark(chain, ROWS[0].codes), _mark(vendor_findings, ROWS[1].codes),
              _mark(vendor_findings, ROWS[2].codes))
    sub = (_mark(sub_findings, ROWS[1].codes), _mark(sub_findings, ROWS[2].codes))
    contract = contract_marks(data)
    missing = [
        t("① re-subcontracting terms not recorded in the contract record"),
        t("② no work location recorded in the contract record"),
        t("③ no contract end recorded (return and disposal at the end)"),
    ]
    integrity = [f for f in data.result.findings if f.code.startswith("I") and f.severity == ERROR]
    vendor_note = "\n".join(x for x in (
        _note(chain, [(ROWS[0].mark, ROWS[0].codes, vendor[0])], t),
        _note(vendor_findings, [(r.mark, r.codes, v) for r, v in zip(ROWS[1:], vendor[1:], strict=True)], t)) if x)
    if integrity:
        vendor_note = "\n".join(x for x in (
            t("The ledger fails its integrity checks ({codes}): the 0s cannot be relied on.").format(
                codes=", ".join(sorted({f.code for f in integrity}))), vendor_note) if x)
    return MicRow(
        municipality=municipality_name(data),
        contract=contract,
        contract_note="\n".join(text for text, value in zip(missing, contract, strict=True) if value),
        vendor=vendor,
        vendor_note=vendor_note,
        sub=sub,
        sub_note=_note(sub_findings, [(r.mark, r.codes, v) for r, v in zip(ROWS[1:], sub, strict=True)], t),
    )


def municipality_name(data: ReportData) -> str:
    return text_of(dict_of(data.genesis.get("municipality")).get("name"))


def combine(municipality: str, rows: Sequence[tuple[str, MicRow]]) -> MicRow:
    """A municipality's row over its contracts (contract id, row): the largest value in each column;
    the notes of each contract, headed by its contract id when there are several."""

    def note(pick: str) -> str:
        parts = [(cid, getattr(row, pick)) for cid, row in rows if getattr(row, pick)]
        if len(rows) == 1:
            return "\n".join(text for _cid, text in parts)
        return "\n".join(f"【{cid}】\n{text}" for cid, text in parts)

    return MicRow(
        municipality=municipality,
        contract=tuple(max(r.contract[i] for _c, r in rows) for i in range(3)),  # type: ignore[arg-type]
        contract_note=note("contract_note"),
        vendor=tuple(max(r.vendor[i] for _c, r in rows) for i in range(3)),  # type: ignore[arg-type]
        vendor_note=note("vendor_note"),
        sub=tuple(max(r.sub[i] for _c, r in rows) for i in range(2)),  # type: ignore[arg-type]
        sub_note=note("sub_note"),
    )


def form_columns(t: Tr) -> list[Column]:
    """The form's columns, headed as the form heads them (group and item in one title)."""
    c1 = t("(1) Contract")
    v2 = t("(2) Vendor's compliance")
    s2 = t("(2) Subcontractors' compliance")
    item1 = t("① Re-subcontracting only with prior approval")
    item2c = t("② Work location specified (no takeout without approval)")
    item2 = t("② No takeout of personal data without prior approval")
    item3 = t("③ Return and disposal of the information assets at the end")
    note13 = t("Improvements for items marked 1 (what, by when)")
    note23 = t.pgettext("items ② to ③", "Improvements for items marked 1 (what, by when)")
    return [
        Column(t("Municipality"), "text", 16),
        Column(f"{c1} {item1}", "int", 10), Column(f"{c1} {item2c}", "int", 10), Column(f"{c1} {item3}", "int", 10),
        Column(f"{c1} {note13}", "text", 30),
        Column(f"{v2} {item1}", "int", 10), Column(f"{v2} {item2}", "int", 10), Column(f"{v2} {item3}", "int", 10),
        Column(f"{v2} {note13}", "text", 40),
        Column(f"{s2} {item2}", "int", 10), Column(f"{s2} {item3}", "int", 10),
        Column(f"{s2} {note23}", "text", 40),
    ]


def total_row(rows: Sequence[MicRow], t: Tr) -> list[Value]:
    """市町村分計: each 0/1 column added up over the municipalities (the note columns empty)."""
    def total(pick: str, i: int) -> int:
        return sum(getattr(r, pick)[i] for r in rows)

    return [t("Total (municipalities)"), total("contract", 0), total("contract", 1),
            total("contract", 2), None, total("vendor", 0), total("vendor", 1), total("vendor", 2), None,
            total("sub", 0), total("sub", 1), None]


def form_table(rows: Sequence[MicRow], t: Tr, *, name: str = "inspection") -> DataTable:
    """The 別紙報告票 (市町村分): a row per municipality and the 市町村分計 row."""
    return DataTable(name, t("Annex report form"), form_columns(t), [r.values() for r in rows],
                     footer=[total_row(rows, t)])


__all__ = ["MicRow", "combine", "contract_marks", "form_columns", "form_table", "mic_row", "municipality_name",
           "total_row"]
