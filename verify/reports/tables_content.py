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
    media = DataTable("register", t("Media register", "媒体管理台帳"), [
        Column(t("Media ID", "媒体ID"), width=12), Column(t("Kind", "種別"), width=12),
        Column(t("Make / model", "メーカー・型番"), width=20), Column(t("Serial", "シリアル番号"), width=20),
        Column(t("Capacity", "容量"), width=10), Column(t("HW encryption", "暗号化"), width=8),
        Column(t("Origin", "由来"), width=20), Column(t("Data items and records", "情報項目・件数"), width=30),
        Column(t("Records", "件数"), "int", 10), Column(t("My Number", "特定個人情報"), width=8),
        Column(t("Storage", "保管場所"), width=20), Column(t("Custodian", "管理者"), width=20),
        Column(t("State", "現在の状態"), width=12),
        Column(t("Registered (JST)", "登録日時(日本時間)"), "datetime", 20),
        Column(t("Registered by", "登録者"), width=20),
    ], rows, footer=[[t("Total", "合計"), None, None, None, None, None, None, None, total, None, None, None,
                      None, None, None]] if rows else [])
    events = DataTable("register-history", t("History", "媒体ごとの履歴"), [
        Column(t("Media ID", "媒体ID"), width=12), Column(t("Entry", "記録番号"), "int", 10),
        Column(t("Time (JST)", "日時(日本時間)"), "datetime", 20), Column(t("Event", "事象"), width=22),
        Column(t("By", "実施者"), width=20), Column(t("Particulars", "内容"), width=50),
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
    return [DataTable("findings", t("Findings", "所見一覧"), [
        Column(t("Code", "規則"), width=6), Column(t("Severity", "重大度"), width=8),
        Column(t("Entry", "記録番号"), "int", 10), Column(t("Medium", "媒体"), width=12),
        Column(t("Finding", "内容"), width=70), Column(t("Organisation", "事業者"), width=24),
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
    return DataTable("staff", t("Staff", "従事者名簿"), [
        Column(t("Name", "氏名"), width=16), Column(t("Key name", "鍵名"), width=16),
        Column(t("Organisation", "所属"), width=20), Column(t("Title", "役職"), width=14),
        Column(t("Tier", "区分"), width=10), Column(t("Role", "役割"), width=12),
        Column(t("Subcontract approval", "再委託承認"), width=14),
        Column(t("Pledge", "誓約書提出日"), "date", 12), Column(t("Training", "研修受講日"), "date", 12),
        Column(t("Registered (JST)", "登録日時(日本時間)"), "datetime", 20),
        Column(t("Registration entry", "登録の記録番号"), "int", 10),
        Column(t("Removed (JST)", "登録抹消日時(日本時間)"), "datetime", 20),
        Column(t("Removal entry", "抹消の記録番号"), "int", 10),
        Column(t("Reason for removal", "抹消の理由"), width=24),
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
    return DataTable("incidents", t("Incidents", "事故一覧"), [
        Column(t("Entry", "記録番号"), "int", 10), Column(t("Recorded (JST)", "記録日時(日本時間)"), "datetime", 20),
        Column(t("Kind", "種別"), width=12), Column(t("Detected (JST)", "発見日時(日本時間)"), "datetime", 20),
        Column(t("Municipality notified (JST)", "委託者への報告日時(日本時間)"), "datetime", 20),
        Column(t("Media", "媒体"), width=16), Column(t("Data items", "情報項目"), width=20),
        Column(t("Records", "件数"), "int", 10), Column(t("Encrypted", "暗号化"), width=8),
        Column(t("Place", "場所"), width=16), Column(t("Situation", "状況"), width=40),
        Column(t("Police report", "警察への届出"), width=10), Column(t("Status", "対応状況"), width=12),
        Column(t("Measures", "措置"), width=30), Column(t("Reported by", "報告者"), width=20),
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
        category = t("Vendor", "委託先") if org.key == VENDOR else t("Subcontractor", "再委託先")
        for row in (*ROWS, *REFERENCE_ROWS):
            notes = [f"[{f.code}] {t.seq(f.seq) if f.seq is not None else ''} {f.message_in(lang)}".replace("  ", " ")
                     for f in mine if f.code in row.codes]
            detail.append([org.name or None, category, row.mark, t(row.en, row.ja), " ".join(row.codes),
                           mark_of(mine, row), "\n".join(notes) or None])
    return [
        form_table([mic_row(data, lang)], t),
        DataTable("inspection-detail", t("Per organisation", "事業者別の内訳"), [
            Column(t("Organisation", "事業者名"), width=20), Column(t("Category", "区分"), width=10),
            Column("", width=5), Column(t("Item", "項目"), width=36), Column(t("Rules", "規則"), width=16),
            Column(t("0 / 1", "判定"), "int", 6), Column(t("Findings (improvements)", "所見(改善点)"), width=70),
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
