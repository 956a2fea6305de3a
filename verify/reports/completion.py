"""返還・廃棄完了報告 (completion report, 履行確認): what became of every medium at the contract's end
(docs/fields.md, Completion report).

1. the completion statement recorded by ``contract.closed`` (no data remains, and where that was
   checked: work PCs, development machines, servers, backups, mail, paper);
2. per medium: origin, final disposition (returned, erased and returned, disposed, erased, lost, or
   NOT settled), when, and the entry that evidences it, with the certificate or receipt number;
3. the reconciliation received + registered + copies − returned − disposed − erased − lost = 0 with
   the actual numbers, and each handover receipt's declared quantity and records against the media
   recorded under it;
4. incidents;
5. subcontractors with their approvals, and any organisation that acted without one;
6. the ledger's final checkpoint and the checkpoint the municipality cosigned, with the cosigners;
7. the verification result and its findings;
8. the municipality's check (inspector, method, date, result) with boxes to sign.
"""

from __future__ import annotations

from custody.ledger.vocabulary import EVENTS, INCIDENT_STATUS, INCIDENTS, SCOPES, SEVERITIES, TIERS
from custody.verify.findings import ERROR, INFO, WARNING
from custody.verify.reports.common import (
    DISPOSITIONS,
    Organisations,
    actor_text,
    approval_doc,
    approver_text,
    as_of,
    basis_meta,
    contract_meta,
    disposition,
    evidence_seq,
    footer,
    kind_text,
    letterhead,
    origin_text,
    person_fields,
    person_text,
    representative,
    responsible,
    tr,
    trust_banner,
    vendor_name,
    verdict,
)
from custody.verify.reports.data import CheckpointView, ReportData
from custody.verify.reports.document import (
    Align,
    Block,
    BulletList,
    Cell,
    Document,
    Hash,
    KeyValues,
    Lang,
    Note,
    Paragraph,
    Section,
    SignatureBoxes,
    Table,
)
from custody.verify.reports.labels import CODES, DASH, Tr, code_order, dict_of, list_of, text_of
from custody.verify.reports.signed import signature_rows


def _statement(data: ReportData, t: Tr) -> list[Block]:
    closed = data.of_type("contract.closed")
    if not closed:
        return [Paragraph(t(
            "The ledger holds no completion statement (contract.closed): the contract has not been closed in the "
            "ledger, so the vendor has not declared that no data remains.")), _vendor_seals(data, t, keep_with=1)]
    entry = closed[0]
    body = entry.body
    statement = dict_of(body.get("statement"))
    scope = [t.word(SCOPES, s) for s in list_of(statement.get("scope")) if isinstance(s, str)]
    blocks: list[Block] = [
        Paragraph(t("We report that the return and disposal of the media entrusted to us under this contract, and of "
                    "every copy made of them, is complete as set out below.")),
        KeyValues([
            (t("No data remains"),
             t("declared") if statement.get("no_data_remains") is True else t("NOT declared")),
            (t("Checked"), t.join(scope)),
            (t("Statement"), text_of(statement.get("text")) or DASH),
            (t("Completed at"), t.when(body.get("completed_at") or entry.at)),
            (t("Recorded by (entry)"), f"{actor_text(data, entry.actor)} {t.seq(entry.seq)}"),
        ], widths=(1, 3)),
    ]
    if text_of(body.get("remarks")):
        blocks.append(Note(text_of(body.get("remarks"))))
    blocks.append(_vendor_seals(data, t, keep_with=len(blocks)))
    return blocks


def _vendor_seals(data: ReportData, t: Tr, *, keep_with: int) -> SignatureBoxes:
    """The vendor's seals under its statement: the representative (代表者) and the 作業責任者."""
    resp = responsible(data)
    who = representative(data, t)
    vendor = dict_of(data.genesis.get("vendor"))
    return SignatureBoxes(
        [t("Vendor (representative)"), t("Responsible person")],
        names=[text_of(vendor.get("representative")) or (who if data.form.representative else ""),
               text_of(resp.get("name"))],
        keep_with=keep_with,
    )


def _receipts(data: ReportData, t: Tr) -> Block:
    """Each return and the receiver's signature on it (docs/spec.md §9.6)."""
    rows: list[list[Cell]] = []
    for entry in data.of_type("media.returned"):
        media_id = text_of(entry.body.get("media_id"))
        signed = dict(signature_rows(data, entry.body, ("return_receipt",), t, media_id))
        first = next(iter(signed.values()))
        rows.append([media_id or DASH, t.when(entry.at), first,
                     signed.get(t("Attester"), DASH), signed.get(t("Signature"), DASH)])
    if not rows:
        return Paragraph(t("No medium was returned."))
    return Table([t("Media ID"), t("Returned"), t("Receipt"),
                  t("Received by"), t("Signature")], rows, col_widths=[3, 4, 5, 5, 6],
                 caption=t("Receipts signed by the municipality"))


def _media_table(data: ReportData, t: Tr) -> Block:
    if not data.state.media:
        return Paragraph(t("No media are recorded."))
    rows: list[list[Cell]] = []
    for m in data.state.media.values():
        kind = disposition(data, m)
        seq = evidence_seq(m)
        entry = data.entries.get(seq) if seq is not None else None
        reference = DASH
        if entry is not None:
            number = text_of(entry.body.get("certificate_number")) or text_of(
                dict_of(entry.body.get("receipt")).get("number"))
            reference = number or DASH
        rows.append([
            m.id,
            kind_text(t, m.kind),
            m.serial or DASH,
            origin_text(m, t),
            t.yes_no(m.my_number),
            t.word(DISPOSITIONS, kind),
            t.when(entry.at) if entry is not None else DASH,
            f"{t.seq(seq)} {t.word(EVENTS, entry.type)}" if entry is not None else DASH,
            reference,
        ])
    return Table(
        [t("Media ID"), t("Kind"), t("Serial"), t("Origin"),
         t("My Number"), t("Final disposition"), t("When"),
         t("Evidence (entry)"), t("Certificate / receipt")],
        rows, col_widths=[3, 3, 6, 5, 2, 3, 5, 3, 4],
    )


def reconciliation_rows(data: ReportData, t: Tr) -> tuple[list[list[Cell]], int]:
    c = data.state.counts()
    terms = [
        (t("Received from the municipality (receipts)"), "+", c["received"]),
        (t("Vendor media registered"), "+", c["registered"]),
        (t("Copies made"), "+", c["copies"]),
        (t.pgettext("a count of returned media", "Returned"), "−", c["returned"]),
        (t("Disposed"), "−", c["disposed"]),
        (t("Erased (vendor media and copies)"), "−", c["erased"]),
        (t("Lost"), "−", c["lost"]),
    ]
    return [[label, sign, t.count(n)] for label, sign, n in terms], c["open"]


def _reconciliation(data: ReportData, t: Tr) -> list[Block]:
    rows, balance = reconciliation_rows(data, t)
    c = data.state.counts()
    formula = t("received {r} + registered {g} + copies {c} − returned {t} − disposed {d} − erased {e} − lost {l} "
                "= {b}").format(r=c["received"], g=c["registered"], c=c["copies"], t=c["returned"],
                                d=c["disposed"], e=c["erased"], l=c["lost"], b=balance)
    align: list[Align] = ["left", "center", "right"]
    blocks: list[Block] = [
        Table([t.pgettext("the media category", "Media"), "±", t("Count")], rows, col_widths=[6, 1, 2], align=align,
              footer_rows=[[t("Balance (must be 0)"), "=", t.count(balance)]]),
        Paragraph(formula),
        Paragraph(t("Result: the media reconcile.") if balance == 0 else
                  t("Result: the media do NOT reconcile: {n} medium/media unaccounted for.").format(n=balance)),
    ]
    receipts = data.state.receipts
    if receipts:
        rows2: list[list[Cell]] = []
        for number, receipt in sorted(receipts.items()):
            media = [str(x) for x in receipt.get("media", [])]
            declared = receipt.get("declared", 0)
            held: dict[str, int] = {}
            for media_id in media:
                m = data.state.media.get(media_id)
                for item in list_of(dict_of(m.record.get("contents")).get("items")) if m is not None else []:
                    d = dict_of(item)
                    if isinstance(d.get("name"), str) and isinstance(d.get("records"), int):
                        held[d["name"]] = held.get(d["name"], 0) + d["records"]
            declared_records = dict_of(receipt.get("records"))
            lines = [f"{name}: {t.count(n)} / {t.count(held.get(name, 0))}"
                     for name, n in sorted(declared_records.items())]
            ok = (not declared or declared == len(media)) and all(
                held.get(name, 0) == n for name, n in declared_records.items())
            rows2.append([number, t.count(declared), f"{len(media)}({', '.join(media)})" if t.ja else
                          f"{len(media)} ({', '.join(media)})", "\n".join(lines) or DASH,
                          t("match") if ok else t("DIFFERS")])
        blocks.append(Table(
            [t.pgettext("a receipt's number", "Receipt"), t("Declared media"), t("Media recorded"),
             t("Records: declared / recorded"), t("Check")],
            rows2, col_widths=[3, 2, 5, 6, 2], align=["left", "right", "left", "left", "center"],
            caption=t("Handover receipts (預り証)"),
        ))
    return blocks


def _incidents(data: ReportData, t: Tr) -> Block:
    rows: list[list[Cell]] = []
    for entry in data.of_type("incident.reported"):
        b = entry.body
        ids = [x for x in list_of(b.get("media_ids")) if isinstance(x, str)]
        police = dict_of(b.get("police_report"))
        situation = text_of(b.get("situation"))
        if police:
            situation += t("\nPolice report: {p}").format(
                p=t.yes_no(police.get("filed")) + (f" {text_of(police.get('reference'))}"
                                                    if police.get("reference") else ""))
        rows.append([
            t.seq(entry.seq),
            t.when(b.get("detected_at")),
            t.word(INCIDENTS, text_of(b.get("kind"))),
            t.join(ids),
            situation or DASH,
            t.when(b.get("notified_at")) if b.get("notified_at") else t("NOT notified"),
            t.word(INCIDENT_STATUS, text_of(b.get("status"))) if b.get("status") else DASH,
        ])
    if not rows:
        return Paragraph(t("No incident was reported."))
    return Table([t("Entry"), t("Detected"), t("Kind"), t("Media"),
                  t("Situation"), t("Municipality notified"), t.pgettext("how an anomaly was handled", "Status")],
                 rows, col_widths=[2, 3, 2, 2, 7, 3, 2])


def _subcontractors(data: ReportData, t: Tr) -> list[Block]:
    orgs = Organisations(data)
    rows: list[list[Cell]] = []
    for sc in sorted(data.state.subcontracts.values(), key=lambda s: s.seq):
        doc = approval_doc(data, sc.id)
        sub = dict_of(doc.get("subcontractor"))
        people = [p.name or p.key_name for p in data.state.people.values()
                  if p.tier != "vendor" and orgs.key_of_person(p) == orgs.key_of_name(sc.name)]
        rows.append([
            sc.name,
            t.word(TIERS, sc.tier) + (f"\n({sc.parent})" if sc.parent else ""),
            f"{sc.id}\n{t.seq(sc.seq)}",
            f"{t.when(sc.valid_from)} –\n{t.when(sc.valid_until)}",
            approver_text(doc) or DASH,
            text_of(sub.get("scope")) or DASH,
            text_of(sub.get("data_handled")) or DASH,
            t.join(people),
        ])
    blocks: list[Block] = []
    if rows:
        blocks.append(Table(
            [t("Subcontractor"), t.pgettext("the subcontracting level", "Tier"), t("Approval (entry)"),
             t("Valid"), t("Approved by"), t("Scope"),
             t("Personal data handled"), t("Registered staff")],
            rows, col_widths=[3, 2, 3, 4, 3, 4, 4, 3]))
    else:
        blocks.append(Paragraph(t("No subcontract approval is recorded.")))
    unapproved = [o for o in orgs.ordered() if not o.approved]
    if unapproved:
        blocks.append(Paragraph(
                t("Organisations whose staff are registered in the ledger without a subcontract approval:")))
        blocks.append(BulletList([t("{name} ({tier})").format(name=o.name, tier=t.word(TIERS, o.tier))
                                  for o in unapproved]))
    return blocks


def _checkpoint_rows(cp: CheckpointView | None, t: Tr, label: str) -> list[tuple[str, Cell]]:
    if cp is None:
        return [(label, t("none"))]
    cosigners = t.join([f"{name} {t.timestamp(ts)}" for name, ts in cp.cosigners]) if cp.cosigners \
        else t("none")
    return [
        (label, t("{n} entries").format(n=f"{cp.size:,}")),
        (t("Root hash (SHA-256, hex)"), Hash(cp.root_hash.hex())),
        (t("Cosigned by (time)"), cosigners),
    ]


def _checkpoints(data: ReportData, t: Tr) -> list[Block]:
    final, cosigned = data.final_checkpoint, data.cosigned_checkpoint
    if final is not None and cosigned is not None and (final.size, final.root_hash) == (cosigned.size,
                                                                                     cosigned.root_hash):
        rows = _checkpoint_rows(cosigned, t, t("Final checkpoint, cosigned by the municipality"))
    else:
        rows = [
            *_checkpoint_rows(final, t, t("Final checkpoint")),
            *_checkpoint_rows(cosigned, t, t("Latest checkpoint the municipality cosigned")),
        ]
    rows.append((t("Entries in the bundle"), t.count(data.size)))
    after = data.size - data.result.witnessed_size
    blocks: list[Block] = [KeyValues(rows, widths=(2, 5))]
    if after > 0:
        blocks.append(Paragraph(
            t("{n} entries were recorded after the last checkpoint the municipality cosigned: have the vendor "
              "submit a checkpoint for cosigning (finding I6).").format(n=f"{after:,}")))
    return blocks


def findings_summary(data: ReportData, t: Tr) -> Table:
    counts: dict[str, dict[str, int]] = {}
    for f in data.result.findings:
        counts.setdefault(f.code, {ERROR: 0, WARNING: 0, INFO: 0})
        counts[f.code][f.severity] = counts[f.code].get(f.severity, 0) + 1
    rows: list[list[Cell]] = [
        [code, t.word(CODES, code), t.count(c[ERROR]), t.count(c[WARNING]), t.count(c[INFO])]
        for code, c in sorted(counts.items(), key=lambda kv: code_order(kv[0]))
    ]
    return Table([t("Code"), t.pgettext("what a rule says", "Rule"), t.word(SEVERITIES, ERROR),
                  t.word(SEVERITIES, WARNING), t.word(SEVERITIES, INFO)], rows, col_widths=[1, 7, 1, 1, 1],
                 align=["left", "left", "right", "right", "right"])


def findings_table(data: ReportData, t: Tr, *, orgs: Organisations | None = None) -> Table:
    columns = [t("Code"), t("Severity"), t("Entry"), t("Medium"),
               t.pgettext("what a finding says", "Finding")]
    widths = [1, 1, 1, 2, 9]
    rows: list[list[Cell]] = []
    for f in data.result.findings:
        row: list[Cell] = [f.code, t.word(SEVERITIES, f.severity), t.seq(f.seq), f.media or DASH, f.message_in(t.lang)]
        if orgs is not None:
            row.append(t.join([orgs.name(k) for k in orgs.attribute(f)]))
        rows.append(row)
    if orgs is not None:
        columns.append(t("Organisation"))
        widths = [1, 1, 1, 2, 8, 3]
    return Table(columns, rows, col_widths=widths)


def _verification(data: ReportData, t: Tr) -> list[Block]:
    blocks: list[Block] = [Paragraph(verdict(data, t))]
    if not data.result.findings:
        blocks.append(Paragraph(t("The verifier found nothing to report.")))
        return blocks
    blocks += [findings_summary(data, t), findings_table(data, t)]
    blocks.append(Note(
            t("Codes: I1–I9 integrity of the ledger, C1–C15 completeness and compliance (see the findings report).")))
    return blocks


def _municipality_check(data: ReportData, t: Tr) -> list[Block]:
    closed = data.of_type("contract.closed")
    check = dict_of(closed[0].body.get("municipality_check")) if closed else {}
    inspector = person_fields(check.get("inspector"))
    labels = [t("Inspector"), t("Method"), t("Date"), t("Result")]
    blocks: list[Block] = []
    if check:
        blocks.append(KeyValues([
            (labels[0], " ".join(x for x in (inspector["organisation"], inspector["title"], inspector["name"]) if x)
             or DASH),
            (labels[1], text_of(check.get("method")) or DASH),
            (labels[2], t.date(check.get("date"))),
            (labels[3], text_of(check.get("result")) or DASH),
        ], widths=(1, 4)))
        names = [inspector["name"], text_of(check.get("method")), t.date(check.get("date")),
                 text_of(check.get("result"))]
        blocks.append(KeyValues(signature_rows(data, closed[0].body, ("completion_check",), t), widths=(1, 4)))
    else:
        blocks.append(Paragraph(t("To be filled in by the municipality after checking this report and its evidence.")))
        names = ["", "", "", ""]
    # The whole check (its rows and the boxes) on one page, with the section's heading.
    blocks.append(SignatureBoxes(labels, names=names, keep_with=len(blocks)))
    return blocks


def build_completion(data: ReportData, lang: Lang) -> Document:
    """The completion report (module documentation)."""
    t = tr(data, lang)
    resp = responsible(data)
    blocks: list[Block] = [
        Section(t("1. Completion statement"), _statement(data, t)),
        Section(t("2. Final disposition of each medium"),
                [_media_table(data, t), _receipts(data, t)]),
        Section(t("3. Reconciliation"), _reconciliation(data, t)),
        Section(t("4. Incidents"), [_incidents(data, t)]),
        Section(t("5. Subcontractors and their approvals"), _subcontractors(data, t)),
        Section(t("6. The ledger's final checkpoint"), _checkpoints(data, t)),
        Section(t("7. Verification result"), _verification(data, t)),
        Section(t("8. Municipality's check"), _municipality_check(data, t)),
    ]
    return Document(
        t("Completion report: return and disposal of media"),
        subtitle=text_of(data.genesis.get("title")),
        lang=lang,
        meta=[
            *contract_meta(data, t),
            (t("Responsible person"), person_text(data, resp, t) if resp else DASH),
            *basis_meta(data, t),
            as_of(data, t),
        ],
        blocks=blocks,
        header_note=t("Confidential"),
        banner=trust_banner(data, t),
        footer_note=footer(data, t),
        author=vendor_name(data),
        letterhead=letterhead(data, t, "CMP"),
    )
