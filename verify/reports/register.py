"""媒体管理台帳 (media register): every medium, its description, origin, contents, place, custodian,
state and history (docs/fields.md, Media register entry).  Landscape.

1. the register: one row per medium in the order they were registered (id, kind, make and model,
   serial, capacity, hardware encryption, origin -- 預り証 number / copy of / vendor stock --, data
   items with record counts, My Number data, storage place, custodian, current state, registered
   when and by whom), with the totals;
2. media by state;
3. each medium's history: the entries that acted on it (seq, time, event, actor, particulars);
4. what the work-location agent observed of each medium (attachments, files written), when it did.
"""

from __future__ import annotations

from typing import Any

from custody.ledger.media import Medium
from custody.ledger.vocabulary import CATEGORIES, EVENTS, INCIDENTS, SOURCES, STATES
from custody.verify.reports.common import (
    actor_text,
    as_of,
    basis_meta,
    contents_text,
    contract_meta,
    footer,
    kind_text,
    letterhead,
    origin_text,
    person_text,
    product_text,
    responsible,
    storage_text,
    tr,
    trust_banner,
)
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import (
    Align,
    Block,
    Document,
    Lang,
    Note,
    Paragraph,
    Section,
    SignatureBoxes,
    Table,
)
from custody.verify.reports.labels import DASH, Tr, dict_of, list_of, text_of


def event_detail(data: ReportData, etype: str, body: dict[str, Any], media_id: str, t: Tr) -> str:
    """One line of particulars for an entry in a medium's history."""
    if etype == "media.received":
        receipt = dict_of(body.get("receipt"))
        return t("receipt {n}, from {f}").format(
            n=text_of(receipt.get("number")) or DASH,
            f=text_of(dict_of(receipt.get("from")).get("organisation")) or DASH)
    if etype == "media.registered":
        return text_of(body.get("purpose")) or t.word(SOURCES, text_of(body.get("source")))
    if etype in ("media.checked_out", "media.checked_in"):
        seals = "、".join(x for x in list_of(body.get("seals")) if isinstance(x, str))
        purpose = text_of(body.get("purpose"))
        who = person_text(data, body.get("person"), t, with_org=False)
        parts = [who, purpose, t("seals {s}").format(s=seals) if seals else ""]
        return t.join([p for p in parts if p and p != DASH])
    if etype == "takeout.departed":
        enc = dict_of(body.get("encryption"))
        return t("to {d}, {tr}; encryption {e}").format(
            d=text_of(body.get("destination")) or DASH, tr=text_of(body.get("transport")) or DASH,
            e=text_of(enc.get("algorithm")) or text_of(enc.get("method")) or DASH)
    if etype == "takeout.returned":
        check = dict_of(body.get("check"))
        ok = check.get("count_match") is True and check.get("seals_intact") is not False
        result = t("matched") if ok else t("NOT matched")
        return t("return check: {r}").format(r=result)
    if etype == "copy.made":
        source = text_of(body.get("source_media_id"))
        target = text_of(body.get("media_id"))
        if media_id == source:
            return t("copied to {m}").format(m=target or DASH)
        return t("copy of {m}").format(m=source or DASH)
    if etype in ("media.erased", "takeout.erased_at_destination", "media.disposed"):
        method = dict_of(body.get("method"))
        cert = text_of(body.get("certificate_number"))
        text = f"{t.word(CATEGORIES, text_of(method.get('category')))} {text_of(method.get('technique'))}".strip()
        return text + t(", certificate ") + cert if cert else (text or DASH)
    if etype == "disposal.approved":
        return t("disposal approved")
    if etype == "media.returned":
        receipt = dict_of(body.get("receipt"))
        return t("receipt {n}").format(n=text_of(receipt.get("number")) or DASH)
    if etype == "incident.reported":
        return t.word(INCIDENTS, text_of(body.get("kind")))
    return DASH


def _registered(data: ReportData, m: Medium, t: Tr) -> str:
    first = m.history[0] if m.history else m.since_seq
    entry = data.entries.get(first)
    if entry is None:
        return t.seq(first)
    return f"{t.when(entry.at)}\n{actor_text(data, entry.actor)}"


def _register_table(data: ReportData, t: Tr) -> Table:
    columns = [
        t("Media ID"),
        t("Kind"),
        t("Make / model"),
        t("Serial"),
        t("Capacity"),
        t("HW encryption"),
        t("Origin"),
        t("Data items and records"),
        t("My Number"),
        t("Storage"),
        t("Custodian"),
        t("State"),
        t("Registered (when, by)"),
    ]
    rows: list[list[str]] = []
    total_records = 0
    for m in data.state.media.values():
        record = m.record
        records = dict_of(record.get("contents")).get("records")
        if isinstance(records, int) and not isinstance(records, bool):
            total_records += records
        rows.append([
            m.id,
            kind_text(t, m.kind),
            product_text(record),
            m.serial or DASH,
            text_of(record.get("capacity")) or DASH,
            t.yes_no(record.get("hardware_encryption")),
            origin_text(m, t),
            contents_text(record, t),
            t.yes_no(m.my_number),
            storage_text(record),
            person_text(data, record.get("custodian"), t),
            t.word(STATES, m.state),
            _registered(data, m, t),
        ])
    footer_row = [t("Total"), t("{n} media").format(n=len(rows)), "", "", "", "", "",
                  t.records(total_records), "", "", "", "", ""]
    align: list[Align] = ["left"] * len(columns)
    return Table(columns, rows, col_widths=[3, 3, 4, 4, 2, 2, 4, 5, 2, 4, 4, 3, 5], align=align,
                 footer_rows=[footer_row] if rows else [],
                 caption=t("Media received, registered or copied under the contract"))


def _states_table(data: ReportData, t: Tr) -> Table:
    counts: dict[str, int] = {}
    for m in data.state.media.values():
        counts[m.state] = counts.get(m.state, 0) + 1
    rows = [[t.word(STATES, state), t.count(n)] for state, n in counts.items()]
    return Table([t.pgettext("a count by state", "State"), t.pgettext("a count of media", "Media")],
                 rows, col_widths=[3, 1], align=["left", "right"],
                 footer_rows=[[t("Total"), t.count(len(data.state.media))]])


def _history_table(data: ReportData, t: Tr) -> Table:
    columns = [t("Media ID"), t("Entry"), t("Time"), t("Event"),
               t("By"), t("Particulars")]
    rows: list[list[str]] = []
    for m in data.state.media.values():
        for seq in m.history:
            entry = data.entries.get(seq)
            if entry is None:
                rows.append([m.id, t.seq(seq), DASH, DASH, DASH, DASH])
                continue
            rows.append([
                m.id,
                t.seq(seq),
                t.when_seconds(entry.at),
                t.word(EVENTS, entry.type),
                actor_text(data, entry.actor),
                event_detail(data, entry.type, entry.body, m.id, t),
            ])
    return Table(columns, rows, col_widths=[3, 2, 4, 4, 5, 9])


def _observed_table(data: ReportData, t: Tr) -> Table | None:
    rows = []
    for media_id, counters in sorted(data.state.observed.items()):
        rows.append([media_id, t.count(counters.get("attached")), t.count(counters.get("batches")),
                     t.count(counters.get("files")), t.seq(counters.get("last_seq"))])
    if not rows:
        return None
    return Table([t("Media ID"), t("Attached"), t("Write batches"),
                  t("Files written"), t("Last seen")], rows,
                 col_widths=[3, 2, 2, 2, 2], align=["left", "right", "right", "right", "left"])


def build_register(data: ReportData, lang: Lang) -> Document:
    """The media register (module documentation)."""
    t = tr(data, lang)
    blocks: list[Block] = [
        Section(t("1. Media"), [
            _register_table(data, t) if data.state.media
            else Note(t("No media are recorded.")),
            Note(t("Record counts are per data item. The ledger holds no personal data itself: item names, "
                   "counts and hashes only.")),
        ]),
        Section(t("2. Media by state"), [_states_table(data, t)]),
        Section(t("3. History of each medium"), [
            _history_table(data, t),
            Note(t("Entry: the ledger entry's sequence number; each entry is signed by the person who acted.")),
        ]),
    ]
    observed = _observed_table(data, t)
    if observed is not None:
        blocks.append(Section(t("4. Observed at the work location"), [
            observed,
            Note(t("Recorded by the work-location agent, which signs what it sees (volumes attached, files "
                   "written).")),
        ]))
    resp = responsible(data)
    blocks.append(Paragraph(t("We certify that this register is a true record of the media in our custody.")))
    blocks.append(SignatureBoxes(
        [t("Prepared by (responsible person)"), t("Checked by (municipality)")],
        names=[text_of(resp.get("name")), ""], keep_with=1,
    ))
    return Document(
        t("Media register"),
        subtitle=text_of(data.genesis.get("title")),
        lang=lang,
        meta=[*contract_meta(data, t), *basis_meta(data, t), as_of(data, t)],
        blocks=blocks,
        header_note=t("Confidential"),
        banner=trust_banner(data, t),
        footer_note=footer(data, t),
        orientation="landscape",
        author=text_of(dict_of(data.genesis.get("vendor")).get("name")),
        letterhead=letterhead(data, t, "REG"),
    )
