"""検証結果報告: the verifier's findings as a report (docs/spec-rules.md).

1. the verdict and what was verified against (the municipality's pins or only the bundle, the
   checkpoints, entries cosigned);
2. every rule, I1-I9 and C1-C15, with what it checks and how many errors, warnings and notes it
   gave -- a rule with no finding is listed too, so the reader sees what was checked;
3. every finding: code, severity, entry, medium, message and the organisation it is attributed to
   (as on the inspection form).
"""

from __future__ import annotations

from custody.ledger.vocabulary import SEVERITIES
from custody.verify.findings import COMPLIANCE_CODES, ERROR, INFO, INTEGRITY_CODES, WARNING
from custody.verify.reports.common import (
    Organisations,
    as_of,
    basis_meta,
    contract_meta,
    findings_by_severity,
    footer,
    letterhead,
    tr,
    trust_banner,
    vendor_name,
    verdict,
)
from custody.verify.reports.completion import findings_table
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import (
    Align,
    Block,
    Cell,
    Document,
    Hash,
    KeyValues,
    Lang,
    Note,
    Paragraph,
    Section,
    Table,
)
from custody.verify.reports.labels import CODES, DASH, Tr


def _overview(data: ReportData, t: Tr) -> KeyValues:
    result = data.result
    counts = findings_by_severity(result.findings)
    final = data.final_checkpoint
    return KeyValues([
        (t("Verdict"), verdict(data, t)),
        (t("Trust"), t("the municipality's trust store (pinned genesis, log key, cosigned checkpoints)")
         if result.pinned else t("the bundle's own keys only: a rebuilt history would not be detected")),
        (t("Entries"), t.count(data.size)),
        (t("Cosigned by the municipality up to"), t.pgettext("up to that entry", "{n} entries").format(
            n=f"{result.witnessed_size:,}")),
        (t("Final checkpoint"),
         Hash(final.root_hash.hex()) if final is not None else DASH),
        (t("Final checkpoint size"), t.count(final.size) if final else DASH),
        (t("Errors"), t.count(counts.get(ERROR, 0))),
        (t("Warnings"), t.count(counts.get(WARNING, 0))),
        (t("Notes"), t.count(counts.get(INFO, 0))),
    ], widths=(2, 5))


def _rules(data: ReportData, t: Tr) -> Table:
    counts: dict[str, dict[str, int]] = {}
    for f in data.result.findings:
        counts.setdefault(f.code, {}).setdefault(f.severity, 0)
        counts[f.code][f.severity] += 1
    rows: list[list[Cell]] = []
    for code in (*INTEGRITY_CODES, *COMPLIANCE_CODES):
        c = counts.get(code, {})
        found = sum(c.values())
        rows.append([code, t.word(CODES, code), t.count(c.get(ERROR, 0)), t.count(c.get(WARNING, 0)),
                     t.count(c.get(INFO, 0)), t("none") if not found else t("found")])
    align: list[Align] = ["left", "left", "right", "right", "right", "center"]
    return Table([t("Code"), t("What it checks"), t.word(SEVERITIES, ERROR),
                  t.word(SEVERITIES, WARNING), t.word(SEVERITIES, INFO), t("Result")],
                 rows, col_widths=[1, 8, 1, 1, 1, 1], align=align)


def build_findings(data: ReportData, lang: Lang) -> Document:
    """The findings report (module documentation)."""
    t = tr(data, lang)
    blocks: list[Block] = [
        Section(t("1. Overview"), [_overview(data, t)]),
        Section(t("2. Rules checked"), [
            _rules(data, t),
            Note(t("I1–I9: integrity of the ledger (signatures, hash chain, checkpoints, the municipality's "
                   "cosigned copies). C1–C15: completeness and compliance of the custody record.")),
        ]),
    ]
    if data.result.findings:
        blocks.append(Section(t("3. Findings"), [
            findings_table(data, t, orgs=Organisations(data)),
            Note(t("Organisation: who acted in the entry, else the custodian of the medium, else the vendor.")),
        ]))
    else:
        blocks.append(Section(t("3. Findings"), [
            Paragraph(t("The verifier found nothing to report."))]))
    return Document(
        t("Verification findings"),
        subtitle=t("Integrity (I1–I9) and compliance (C1–C15) of the evidence bundle"),
        lang=lang,
        meta=[*contract_meta(data, t), *basis_meta(data, t), as_of(data, t)],
        blocks=blocks,
        header_note=t("Confidential"),
        banner=trust_banner(data, t),
        footer_note=footer(data, t),
        author=vendor_name(data),
        orientation="landscape",
        letterhead=letterhead(data, t, "FND"),
    )
