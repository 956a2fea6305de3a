"""定期報告書 (periodic report): the periodic reports recorded in the ledger (period, to whom, when, what
was said, the register's counts and the ledger's size at the time), and for each the ledger's own account of
the period -- the media acts and incidents it holds -- and whether the contract's cadence was kept
(special terms 3(6); docs/spec-rules.md C22).
"""

from __future__ import annotations

from custody.ledger.vocabulary import EVENTS
from custody.verify.reports.common import (
    as_of,
    basis_meta,
    contract_meta,
    official_document,
    responsible,
)
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Block, Document, Lang, Note, Paragraph, Section, SignatureBoxes, Table
from custody.verify.reports.labels import DASH, Tr, dict_of, text_of

#: The media counts a periodic report's body holds, by key; each key is also the msgid of its label (context
#: ``PERIODIC_COUNT`` in ledger/locale/ja/report_labels.po).
COUNTS = ("received", "registered", "copies", "returned", "disposed", "erased", "lost", "open")
PERIODIC_COUNT = "a count in a periodic report"


def _cadence(data: ReportData) -> int:
    days = dict_of(data.genesis.get("reporting")).get("periodic_days")
    return days if isinstance(days, int) and not isinstance(days, bool) and days > 0 else 31


def _acts(data: ReportData, start: str, end: str, t: Tr) -> str:
    """The ledger's acts in a period (by day, JST dates compared as text), counted by kind."""
    counts: dict[str, int] = {}
    for entry in data.entries.values():
        day = entry.at[:10]
        if start <= day <= end and (entry.type.startswith(("media.", "takeout.", "copy.", "incident."))):
            counts[entry.type] = counts.get(entry.type, 0) + 1
    return t.join([f"{t.word(EVENTS, k)} {n}" for k, n in sorted(counts.items())])


def build_periodic(data: ReportData, lang: Lang) -> Document:
    """The periodic report (module documentation)."""
    t = Tr(lang)
    reports = data.of_type("report.periodic")
    blocks: list[Block] = [Paragraph(
        t("The contract requires a periodic report at least every {n} days.").format(n=_cadence(data)))]
    if not reports:
        blocks.append(Paragraph(t("No periodic report is recorded in the ledger.")))
    rows: list[list[str]] = []
    for entry in reports:
        b = entry.body
        period = dict_of(b.get("period"))
        to = dict_of(b.get("submitted_to"))
        start, end = text_of(period.get("from")), text_of(period.get("to"))
        media = dict_of(b.get("media"))
        rows.append([
            f"{t.date(start)} – {t.date(end)}",
            t.when(b.get("submitted_at")) if b.get("submitted_at") else t.when(entry.at),
            t.join([text_of(to.get("organisation")), text_of(to.get("person"))]),
            text_of(b.get("summary")) or DASH,
            t.join([f"{t.pgettext(PERIODIC_COUNT, key)} {t.count(media.get(key))}" for key in COUNTS if key in media]),
            t.count(dict_of(b.get("checkpoint")).get("size")),
            _acts(data, start, end, t),
            t.seq(entry.seq),
        ])
    if rows:
        blocks.append(Section(t("1. Reports made"), [Table(
            [t.pgettext("the period a report covers", "Period"), t("Submitted"),
             t.pgettext("to whom a report went", "To"), t("Summary"),
             t("Media (as reported)"), t("Ledger size"),
             t("The ledger's acts in the period"), t.pgettext("the entry itself", "Entry")],
            rows, col_widths=[3, 3, 3, 5, 4, 2, 5, 1])]))
    gaps = [f for f in data.result.findings if f.code == "C22"]
    blocks.append(Section(t("2. Cadence"), [
        Table([t("Rule"), t("Finding")], [[f.code, f.message_in(t.lang)] for f in gaps],
              col_widths=[2, 16]) if gaps else
        Paragraph(t("Every period within the contract's cadence has its report.")),
    ]))
    blocks.append(Note(t("Each report is a signed ledger entry; the counts are those the ledger held when it was "
                         "recorded.")))
    resp = responsible(data)
    blocks.append(SignatureBoxes(
        [t("Reported by (responsible person)"),
         t("Received by (municipality)")],
        names=[text_of(resp.get("name")), ""],
    ))
    return official_document(
        data, t, lang, title=t("Periodic report"), code="PER", blocks=blocks,
        meta=[*contract_meta(data, t), *basis_meta(data, t), as_of(data, t)],
        orientation="landscape",
    )
