"""The reports' tables for Excel (``--format csv`` / ``xlsx``): verified bundle data in, ``DataTable`` s out.

===========  =============================================  ==============================================
report       tables (file names)                            rows
===========  =============================================  ==============================================
register     ``register``, ``register-history``             a medium each; an entry of a medium's history
findings     ``findings``                                   a finding each, with its organisation
completion   ``staff``, ``incidents``                       a registered person each; an incident each
inspection   ``inspection`` (the 別紙 row), ``inspection-    the municipality's row of the MIC form and its
             detail``                                       市町村分計; each organisation's items
===========  =============================================  ==============================================

The columns are those of the PDF tables, one value per cell (no line of
particulars joined into another), typed: record counts are numbers, times
are Japan-time date-times, dates are dates.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from custody.ledger.vocabulary import INCIDENT_STATUS, INCIDENTS, SEVERITIES, STATES, TIERS
from custody.ledger.vocabulary import ROLES as ROLE_WORDS
from custody.verify.reports.common import (
    VENDOR,
    Organisations,
    contents_text,
    kind_text,
    origin_text,
    person_text,
    product_text,
    storage_text,
)
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Lang
from custody.verify.reports.inspection import REFERENCE_ROWS, ROWS, assess, mark_of
from custody.verify.reports.labels import Tr, dict_of, list_of, text_of
from custody.verify.reports.mic import form_table, mic_row
from custody.verify.reports.register import event_detail
from custody.verify.reports.tables import Column, DataTable, Value, count, day, jst


def _text(value: str) -> str | None:
    return value if value and value != "—" else None


def register_tables(data: ReportData, lang: Lang) -> list[DataTable]:
    t = Tr(lang)
    rows: list[list[Value]] = []
    history: list[list[Value]] = []
    total = 0
    for m in data.state.media.values():
        record = m.record
        records = count(dict_of(record.get("contents")).get("records"))
        total += records or 0
        first = data.entries.get(m.history[0] if m.history else m.since_seq)
        rows.append([
            m.id, kind_text(t, m.kind), _text(product_text(record)), m.serial or None,
            text_of(record.get("capacity")) or None, _text(t.yes_no(record.get("hardware_encryption"))),
            _text(origin_text(m, t)), _text(contents_text(record, t)), records, _text(t.yes_no(m.my_number)),
            _text(storage_text(record)), _text(person_text(data, record.get("custodian"), t)),
            t.word(STATES, m.state), jst(first.at) if first else None,
            _text(person_text(data, first.actor, t)) if first else None,
        ])
        for seq in m.history:
            entry = data.entries.get(seq)
            history.append([
                m.id, seq, jst(entry.at) if entry else None, entry.type if entry else None,
                _text(person_text(data, entry.actor, t)) if entry else None,
                _text(event_detail(data, entry.type, entry.body, m.id, t)) if entry else None,
            ])
    media = DataTable("register", t("Media register"), [
        Column(t("Media ID"), width=12), Column(t("Kind"), width=12),
        Column(t("Make / model"), width=20), Column(t("Serial"), width=20),
        Column(t("Capacity"), width=10), Column(t("HW encryption"), width=8),
        Column(t("Origin"), width=20), Column(t("Data items and records"), width=30),
        Column(t("Records"), "int", 10), Column(t("My Number"), width=8),
        Column(t("Storage"), width=20), Column(t("Custodian"), width=20),
        Column(t("State"), width=12),
        Column(t("Registered (JST)"), "datetime", 20),
        Column(t("Registered by"), width=20),
    ], rows, footer=[[t("Total"), None, None, None, None, None, None, None, total, None, None, None,
                      None, None, None]] if rows else [])
    events = DataTable("register-history", t("History"), [
        Column(t("Media ID"), width=12), Column(t("Entry"), "int", 10),
        Column(t("Time (JST)"), "datetime", 20), Column(t("Event"), width=22),
        Column(t("By"), width=20), Column(t("Particulars"), width=50),
    ], history)
    return [media, events]


def findings_tables(data: ReportData, lang: Lang) -> list[DataTable]:
    t = Tr(lang)
    orgs = Organisations(data)
    rows: list[list[Value]] = [
        [f.code, t.word(SEVERITIES, f.severity), f.seq, f.media, f.message_in(lang),
         t.join([orgs.name(k) for k in orgs.attribute(f)])]
        for f in data.result.findings
    ]
    return [DataTable("findings", t.pgettext("the list of findings", "Findings"), [
        Column(t("Code"), width=6), Column(t("Severity"), width=8),
        Column(t("Entry"), "int", 10), Column(t("Medium"), width=12),
        Column(t.pgettext("what a finding says", "Finding"), width=70), Column(t("Organisation"), width=24),
    ], rows)]


def staff_table(data: ReportData, lang: Lang) -> DataTable:
    """Every person registered (personnel entries), with the pledge and training dates and the removal."""
    t = Tr(lang)
    rows: list[list[Value]] = []
    for person in sorted(data.state.people.values(), key=lambda p: p.registered_seq):
        entry = data.entries.get(person.registered_seq)
        body = entry.body if entry is not None else {}
        if entry is not None and entry.type == "contract.opened":  # the responsible person, named in the contract
            body = dict_of(body.get("responsible"))
        removed = data.entries.get(person.removed_seq) if person.removed_seq is not None else None
        rows.append([
            person.name or None, person.key_name, person.organisation or None, text_of(body.get("title")) or None,
            t.word(TIERS, person.tier), t.word(ROLE_WORDS, person.role), person.subcontract_id,
            day(body.get("pledge_date")), day(body.get("training_date")),
            jst(entry.at) if entry else None, person.registered_seq,
            jst(removed.at) if removed else None, person.removed_seq,
            text_of(removed.body.get("reason")) or None if removed else None,
        ])
    return DataTable("staff", t("Staff"), [
        Column(t("Name"), width=16), Column(t("Key name"), width=16),
        Column(t.pgettext("a person's organisation", "Organisation"), width=20),
        Column(t.pgettext("a person's job title", "Title"), width=14),
        Column(t("Tier"), width=10), Column(t("Role"), width=12),
        Column(t.pgettext("short", "Subcontract approval"), width=14),
        Column(t.pgettext("the date it was submitted", "Pledge"), "date", 12),
        Column(t.pgettext("the date it was taken", "Training"), "date", 12),
        Column(t("Registered (JST)"), "datetime", 20),
        Column(t("Registration entry"), "int", 10),
        Column(t("Removed (JST)"), "datetime", 20),
        Column(t("Removal entry"), "int", 10),
        Column(t("Reason for removal"), width=24),
    ], rows)


def incidents_table(data: ReportData, lang: Lang) -> DataTable:
    t = Tr(lang)
    rows: list[list[Value]] = []
    for entry in data.of_type("incident.reported"):
        b = entry.body
        if b.get("detail_of") is not None:  # the detailed report of an incident listed already (C21)
            continue
        police = dict_of(b.get("police_report"))
        rows.append([
            entry.seq, jst(entry.at), t.word(INCIDENTS, text_of(b.get("kind"))), jst(b.get("detected_at")),
            jst(b.get("notified_at")),
            "、".join(x for x in list_of(b.get("media_ids")) if isinstance(x, str)) or None,
            "、".join(x for x in (text_of(dict_of(i).get("name")) for i in list_of(b.get("items"))) if x) or None,
            count(b.get("records")), _text(t.yes_no(b.get("encrypted"))), text_of(b.get("place")) or None,
            text_of(b.get("situation")) or None, _text(t.yes_no(police.get("filed"))) if police else None,
            t.word(INCIDENT_STATUS, text_of(b.get("status"))) if b.get("status") else None,
            text_of(b.get("measures")) or None, _text(person_text(data, entry.actor, t)),
        ])
    return DataTable("incidents", t("Incidents"), [
        Column(t("Entry"), "int", 10), Column(t("Recorded (JST)"), "datetime", 20),
        Column(t("Kind"), width=12), Column(t("Detected (JST)"), "datetime", 20),
        Column(t("Municipality notified (JST)"), "datetime", 20),
        Column(t("Media"), width=16), Column(t("Data items"), width=20),
        Column(t("Records"), "int", 10), Column(t("Encrypted"), width=8),
        Column(t("Place"), width=16), Column(t("Situation"), width=40),
        Column(t("Police report"), width=10), Column(t.pgettext("how an anomaly was handled", "Status"), width=12),
        Column(t("Measures"), width=30), Column(t("Reported by"), width=20),
    ], rows)


def completion_tables(data: ReportData, lang: Lang) -> list[DataTable]:
    return [staff_table(data, lang), incidents_table(data, lang)]


def inspection_tables(data: ReportData, lang: Lang) -> list[DataTable]:
    """The 別紙 row of this contract's municipality, and each organisation's items behind it."""
    t = Tr(lang)
    orgs, attributed = assess(data)
    detail: list[list[Value]] = []
    for org in orgs.ordered():
        mine = attributed.get(org.key, [])
        category = t.pgettext("the entrusted party (MIC form)", "Vendor") if org.key == VENDOR else t("Subcontractor")
        for row in (*ROWS, *REFERENCE_ROWS):
            notes = [f"[{f.code}] {t.seq(f.seq) if f.seq is not None else ''} {f.message_in(lang)}".replace("  ", " ")
                     for f in mine if f.code in row.codes]
            detail.append([org.name or None, category, row.mark, row.text(t), " ".join(row.codes),
                           mark_of(mine, row), "\n".join(notes) or None])
    return [
        form_table([mic_row(data, lang)], t),
        DataTable("inspection-detail", t("Per organisation"), [
            Column(t.pgettext("a company's name", "Organisation"), width=20), Column(t("Category"), width=10),
            Column("", width=5), Column(t("Item"), width=36), Column(t("Rules"), width=16),
            Column(t("0 / 1"), "int", 6), Column(t("Findings (improvements)"), width=70),
        ], detail),
    ]


TABLES: dict[str, Callable[[ReportData, Lang], list[DataTable]]] = {
    "register": register_tables,
    "findings": findings_tables,
    "completion": completion_tables,
    "inspection": inspection_tables,
}


def build_tables(kind: str, data: ReportData, lang: Lang) -> list[DataTable]:
    """The tables of one kind of report; [] for a report without tables (the disposal certificates)."""
    builder = TABLES.get(kind)
    return builder(data, lang) if builder is not None else []


__all__ = ["TABLES", "build_tables", "completion_tables", "findings_tables", "incidents_table",
           "inspection_tables", "register_tables", "staff_table"]
