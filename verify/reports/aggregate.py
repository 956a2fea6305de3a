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
        Column(t("Bundle"), width=24), Column(t("Contract"), width=14),
        Column(t("Title"), width=30), Column(t("Vendor"), width=20),
        Column(t("Verification"), width=30), Column(t("Errors"), "int", 8),
        Column(t("Warnings"), "int", 8), *form_columns(t),
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
        DataTable(f"{STEM}-contracts", t("Contracts"), _contract_columns(t), rows),
    ]


def _cells(values: Sequence[Value]) -> list[Cell]:
    return [DASH if v is None or v == "" else str(v) for v in values]


def build_aggregate(contracts: Sequence[ContractRow], lang: Lang) -> Document:
    """The form as a document (PDF, HTML, JSON): the municipalities' rows, then the contracts behind them."""
    t = Tr(lang)
    rows = municipalities(contracts)
    columns = form_columns(t)
    short = [t("Municipality"), "①", "②", "③", t("Improvements"), "①", "②", "③",
             t("Improvements"), "②", "③", t("Improvements")]
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
        [t("Municipality"), t("Contract"), t("Vendor"), t("Bundle"),
         t("Verification"), t("(1)①"), t("(1)②"), t("(1)③"),
         t("Vendor ①"), t("Vendor ②"), t("Vendor ③"),
         t("Sub ②"), t("Sub ③")],
        contract_rows, col_widths=[3, 3, 3, 4, 6, 1, 1, 1, 1, 1, 1, 1, 1],
        align=[*left5, *center8],
    )
    unchecked = [c for c in contracts if not c.pinned]
    blocks = [
        Section(t("Municipalities"), [
            form,
            Note(t("Columns: ") + " / ".join(legend)),
            Note(t("0 = stated / complied, 1 = not stated / not complied. A municipality's column is 1 when any "
                   "one of its contracts has a 1 there (all contracts are inspected). The subcontractors' columns "
                   "cover every subcontractor of every contract; re-subcontracting without approval anywhere in "
                   "the chain is the vendor's ①. The last row adds each column over the municipalities.")),
        ]),
        Section(t("Contracts"), [
            detail,
            Note(t("Each bundle was verified against the municipality's trust store; the improvements of each "
                   "contract are in the XLSX/CSV and in each contract's own inspection form.")),
        ]),
    ]
    return Document(
        t("Annex report form (municipalities)"),
        subtitle=t("Contents of and compliance with outsourcing contracts for personal data (MIC, 2007), "
                   "over {n} contracts").format(n=len(contracts)),
        lang=lang,
        meta=[(t.pgettext("a count of municipalities", "Municipalities"), str(len(rows))),
              (t.pgettext("a count of contracts", "Contracts"), str(len(contracts)))],
        blocks=blocks,
        banner=t("UNCHECKED: {n} of the bundles were not checked against the municipality's trust store.").format(
            n=len(unchecked))
        if unchecked else "",
        footer_note=t("Made by custody from the verified evidence bundles."),
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
