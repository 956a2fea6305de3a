"""The MIC 別紙報告票 over many contracts: ``custody report inspection --aggregate BUNDLE... --authority DIR``.

A municipality (or the prefecture collecting its municipalities' forms)
answers the 2007 emergency inspection with one row per municipality covering
every contract that handles personal data (``verify.reports.mic``).  Each
bundle is verified against the trust store given -- one store may pin many
contracts (``Authority.trust_anchor(origin)``) -- and read into its row; the
rows of one municipality (by the name in the contract's genesis entry) are
added up as the form says (one "1" in any contract makes that column 1); the
last row, 市町村分計, adds each column over the municipalities.  Municipalities
come in the order their first bundle was given: give the bundles in 建制順.

Behind the form, one row per contract: which bundle, its contract, vendor,
the verification's verdict and counts, and its own eleven values, so that
the auditor sees which contract made a column 1.

Written as ``inspection-aggregate.<lang>.{pdf,html,json,xlsx}`` (the XLSX
with the form and the contracts as two sheets) and, for CSV,
``inspection-aggregate.<lang>.csv`` (the form) and
``inspection-aggregate-contracts.<lang>.csv``.  One bundle is verified and
read at a time; only its row is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from custody.ledger.bundle import Bundle
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _
from custody.verify.engine import Result
from custody.verify.findings import ERROR, WARNING
from custody.verify.reports.common import vendor_name, verdict
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Align, Cell, Document, Lang, Note, Section, Table
from custody.verify.reports.labels import DASH, Tr, text_of
from custody.verify.reports.mic import MicRow, combine, form_columns, form_table, mic_row, total_row
from custody.verify.reports.produce import (
    DOCUMENT_FORMATS,
    Produced,
    expand_formats,
    gather,
    make_dir,
    trust_for,
    write_file,
)
from custody.verify.reports.render import render_doc, table_files
from custody.verify.reports.tables import Column, DataTable, Value

STEM = "inspection-aggregate"


@dataclass(frozen=True)
class ContractRow:
    """One verified bundle: what identifies its contract, its verdict and its row of the form."""

    bundle: str
    origin: str
    contract_id: str
    title: str
    vendor: str
    verdict: str
    pinned: bool
    errors: int
    warnings: int
    row: MicRow

    @property
    def municipality(self) -> str:
        return self.row.municipality


def contract_row(data: ReportData, bundle_name: str, lang: Lang) -> ContractRow:
    t = Tr(lang)
    findings = data.result.findings
    return ContractRow(
        bundle=bundle_name,
        origin=data.result.origin or data.state.origin,
        contract_id=text_of(data.genesis.get("contract_id")),
        title=text_of(data.genesis.get("title")),
        vendor=vendor_name(data),
        verdict=verdict(data, t),
        pinned=data.result.pinned,
        errors=sum(1 for f in findings if f.severity == ERROR),
        warnings=sum(1 for f in findings if f.severity == WARNING),
        row=mic_row(data, lang),
    )


def municipalities(contracts: Sequence[ContractRow]) -> list[MicRow]:
    """A row per municipality, in the order of their first contract, each the sum of its contracts."""
    groups: dict[str, list[ContractRow]] = {}
    for c in contracts:
        groups.setdefault(c.municipality, []).append(c)
    out = []
    for name, group in groups.items():
        ids = [c.contract_id for c in group]
        # A contract is named by its id, with its bundle when another of the municipality's has the same id.
        labels = [c.contract_id if c.contract_id and ids.count(c.contract_id) == 1
                  else " ".join(x for x in (c.contract_id, c.bundle) if x) for c in group]
        out.append(combine(name, [(label, c.row) for label, c in zip(labels, group, strict=True)]))
    return out


def _contract_columns(t: Tr) -> list[Column]:
    return [
        Column(t("Bundle", "証跡一式"), width=24), Column(t("Contract", "契約番号"), width=14),
        Column(t("Title", "件名"), width=30), Column(t("Vendor", "受託者"), width=20),
        Column(t("Verification", "検証結果"), width=30), Column(t("Errors", "エラー"), "int", 8),
        Column(t("Warnings", "警告"), "int", 8), *form_columns(t),
    ]


def aggregate_tables(contracts: Sequence[ContractRow], lang: Lang) -> list[DataTable]:
    t = Tr(lang)
    rows: list[list[Value]] = [
        [c.bundle, c.contract_id or None, c.title or None, c.vendor or None, c.verdict, c.errors, c.warnings,
         *c.row.values()]
        for c in contracts
    ]
    return [
        form_table(municipalities(contracts), t, name=STEM),
        DataTable(f"{STEM}-contracts", t("Contracts", "契約別の内訳"), _contract_columns(t), rows),
    ]


def _cells(values: Sequence[Value]) -> list[Cell]:
    return [DASH if v is None or v == "" else str(v) for v in values]


def build_aggregate(contracts: Sequence[ContractRow], lang: Lang) -> Document:
    """The form as a document (PDF, HTML, JSON): the municipalities' rows, then the contracts behind them."""
    t = Tr(lang)
    rows = municipalities(contracts)
    columns = form_columns(t)
    short = [t("Municipality", "団体名"), "①", "②", "③", t("Improvements", "改善事項"), "①", "②", "③",
             t("Improvements", "改善事項"), "②", "③", t("Improvements", "改善事項")]
    align: list[Align] = ["left", "center", "center", "center", "left", "center", "center", "center", "left",
                          "center", "center", "left"]
    widths = [3, 1, 1, 1, 5, 1, 1, 1, 6, 1, 1, 6]
    legend = [f"{i}. {c.title}" for i, c in enumerate(columns[1:], start=1)]
    form = Table(short, [_cells(r.values()) for r in rows], col_widths=widths, align=align,
                 footer_rows=[_cells(total_row(rows, t))])
    contract_rows: list[list[Cell]] = [
        [c.municipality or DASH, c.contract_id or DASH, c.vendor or DASH, c.bundle,
         f"{c.verdict}", *_cells([*c.row.contract, *c.row.vendor, *c.row.sub])]
        for c in contracts
    ]
    left5: list[Align] = ["left"] * 5
    center8: list[Align] = ["center"] * 8
    detail = Table(
        [t("Municipality", "団体名"), t("Contract", "契約番号"), t("Vendor", "受託者"), t("Bundle", "証跡一式"),
         t("Verification", "検証結果"), t("(1)①", "(1)①"), t("(1)②", "(1)②"), t("(1)③", "(1)③"),
         t("Vendor ①", "委託先①"), t("Vendor ②", "委託先②"), t("Vendor ③", "委託先③"),
         t("Sub ②", "再委託先②"), t("Sub ③", "再委託先③")],
        contract_rows, col_widths=[3, 3, 3, 4, 6, 1, 1, 1, 1, 1, 1, 1, 1],
        align=[*left5, *center8],
    )
    unchecked = [c for c in contracts if not c.pinned]
    blocks = [
        Section(t("Municipalities", "市町村分"), [
            form,
            Note(t("Columns: ", "列: ") + " / ".join(legend)),
            Note(t("0 = stated / complied, 1 = not stated / not complied. A municipality's column is 1 when any "
                   "one of its contracts has a 1 there (all contracts are inspected). The subcontractors' columns "
                   "cover every subcontractor of every contract; re-subcontracting without approval anywhere in "
                   "the chain is the vendor's ①. The last row adds each column over the municipalities.",
                   "記入要領: 明記・遵守は「0」、未記載・不遵守は「1」。全ての契約を点検し、一つでも該当する契約が"
                   "あれば「1」としています。再委託先の欄はすべての契約のすべての再委託先の集計です。承認のない"
                   "再委託は、どの階層でも委託先の①としています。最終行は市町村分の合計です。")),
        ]),
        Section(t("Contracts", "契約別の内訳"), [
            detail,
            Note(t("Each bundle was verified against the municipality's trust store; the improvements of each "
                   "contract are in the XLSX/CSV and in each contract's own inspection form.",
                   "各証跡一式は委託者の信頼ストアで検証しました。契約ごとの改善事項は XLSX/CSV と各契約の"
                   "別紙報告票にあります。")),
        ]),
    ]
    return Document(
        t("Annex report form (municipalities)", "別紙報告票(市町村分)"),
        subtitle=t("Contents of and compliance with outsourcing contracts for personal data (MIC, 2007), "
                   "over {n} contracts", "個人情報の取扱いに係る外部委託契約の内容及び遵守状況の点検"
                   "(総務省 平成19年 緊急点検)、契約 {n} 件の集計").format(n=len(contracts)),
        lang=lang,
        meta=[(t("Municipalities", "団体数"), str(len(rows))), (t("Contracts", "契約数"), str(len(contracts)))],
        blocks=blocks,
        banner=t("UNCHECKED: {n} of the bundles were not checked against the municipality's trust store.",
                 "未確認: {n} 件の証跡一式は信頼ストアで確認されていません。").format(n=len(unchecked))
        if unchecked else "",
        footer_note=t("Made by custody from the verified evidence bundles.",
                      "custody により検証済みの証跡一式から作成。"),
        orientation="landscape",
    )


def read_contract(bundle_path: Path, authority: Path | None, lang: Lang, *, workers: int | None = None,
                  progress: Callable[[int], None] | None = None) -> tuple[ContractRow, Result]:
    """Verify one bundle against the trust store and read its row; (row, the verification's result)."""
    with Bundle(bundle_path) as bundle:
        data = gather(bundle, trust_for(bundle, authority), lang, workers=workers, progress=progress)
    return contract_row(data, str(bundle_path), lang), data.result


def produce_aggregate(
    bundles: Sequence[Path],
    authority: Path | None,
    formats: Sequence[str],
    lang: Lang,
    out_dir: Path,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Produced:
    """Verify every bundle, one at a time, and write the aggregated form in ``formats``.

    ``Produced.results`` is keyed by bundle path.  Two bundles of the same ledger (origin) are a usage
    error: the form would count one contract twice.
    """
    produced = Produced()
    contracts: list[ContractRow] = []
    seen: dict[str, Path] = {}
    for path in bundles:  # before any is verified: the origins are in the bundles' manifests
        with Bundle(path) as opened:
            origin = opened.origin
        if origin in seen:
            raise UsageError(_("{a} and {b} are bundles of the same ledger ({origin}); the form would count "
                               "its contract twice.").format(a=seen[origin], b=path, origin=origin),
                             hint=_("Give each contract's bundle once (the latest export)."))
        seen[origin] = path
    for path in bundles:
        row, result = read_contract(path, authority, lang, workers=workers, progress=progress)
        contracts.append(row)
        produced.results[str(path)] = result
    chosen = expand_formats(formats)
    make_dir(out_dir)
    files: list[tuple[str, bytes]] = []
    documents = [fmt for fmt in chosen if fmt in DOCUMENT_FORMATS]
    if documents:
        doc = build_aggregate(contracts, lang)
        files += [(f"{STEM}.{lang}.{fmt}", blob) for fmt, blob in zip(documents, render_doc((doc, tuple(documents))),
                                                                          strict=True)]
    files += table_files(aggregate_tables(contracts, lang), STEM, chosen, lang, None)
    for done, (name, blob) in enumerate(files):
        write_file(out_dir / name, blob, done, len(files))
        produced.paths.append(out_dir / name)
    return produced


__all__ = ["STEM", "ContractRow", "aggregate_tables", "build_aggregate", "contract_row", "municipalities",
           "produce_aggregate", "read_contract"]
