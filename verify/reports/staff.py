"""作業従事者名簿 (staff list): every person registered in the ledger -- name, organisation, tier, role,
pledge and training dates, when they were registered and reported to the municipality, their exit check, their
own no-data statement and their removal (special terms 第6, 第7; 緊急点検 2(3); docs/spec-rules.md C23).
Landscape.  Agents (work-location keys) are listed apart: they are machines, not people.
"""

from __future__ import annotations

from typing import Any

from custody.ledger.vocabulary import ROLES, TIERS
from custody.verify.reports.common import (
    as_of,
    basis_meta,
    contract_meta,
    official_document,
    responsible,
)
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Block, Document, Lang, Note, Section, SignatureBoxes, Table
from custody.verify.reports.labels import DASH, Tr, text_of


def _registration(data: ReportData, key_name: str) -> dict[str, Any]:
    """The body of the person's latest registration (the genesis responsible person: the contract's)."""
    body: dict[str, Any] = {}
    for entry in data.of_type("personnel.registered"):
        if text_of(entry.body.get("vkey")).split("+", 1)[0] == key_name:
            body = {**entry.body, "_seq": entry.seq, "_at": entry.at}
    if not body:
        resp = responsible(data)
        if text_of(resp.get("vkey")).split("+", 1)[0] == key_name:
            first = data.entries.get(0)
            body = {**resp, "_seq": 0, "_at": first.at if first is not None else ""}
    return body


def _last(data: ReportData, etype: str, key_name: str, *, signer: bool = False) -> tuple[int, str] | None:
    found = None
    for entry in data.of_type(etype):
        who = entry.actor if signer else text_of(entry.body.get("key_name"))
        if who == key_name:
            found = (entry.seq, entry.at)
    return found


def _mark(t: Tr, found: tuple[int, str] | None) -> str:
    return f"{t.when(found[1])} ({t.seq(found[0])})" if found is not None else DASH


def _people_table(data: ReportData, t: Tr) -> Table:
    rows: list[list[str]] = []
    for person in data.state.people.values():
        if person.role == "agent":
            continue
        reg = _registration(data, person.key_name)
        reported = text_of(reg.get("reported_at"))
        for entry in data.of_type("personnel.changed"):
            if text_of(entry.body.get("key_name")) == person.key_name and text_of(entry.body.get("reported_at")):
                reported = text_of(entry.body.get("reported_at"))
        removed = data.entries.get(person.removed_seq) if person.removed_seq is not None else None
        rows.append([
            person.name or person.key_name,
            person.organisation or DASH,
            t.word(TIERS, person.tier),
            t.word(ROLES, person.role),
            t.date(reg.get("pledge_date")) if reg.get("pledge_date") else DASH,
            t.date(reg.get("training_date")) if reg.get("training_date") else DASH,
            f"{t.when(reg.get('_at'))} ({t.seq(reg.get('_seq'))})" if reg else DASH,
            t.when(reported) if reported else DASH,
            _mark(t, _last(data, "personnel.exit_checked", person.key_name)),
            _mark(t, _last(data, "personnel.statement", person.key_name, signer=True)),
            f"{t.when(removed.at)} ({t.seq(removed.seq)})" if removed is not None else DASH,
        ])
    return Table(
        [t("Name"), t.pgettext("a person's organisation", "Organisation"), t("Tier"), t("Role"),
         t("Pledge"), t("Training"), t("Registered"),
         t("Reported to the municipality"), t("Exit check"),
         t("Own no-data statement"), t("Removed")],
        rows, col_widths=[3, 4, 2, 2, 2, 2, 3, 3, 3, 3, 3])


def _agents_table(data: ReportData, t: Tr) -> Table | None:
    rows = [[p.key_name, t.seq(p.registered_seq), t.seq(p.removed_seq) if p.removed_seq is not None else DASH]
            for p in data.state.people.values() if p.role == "agent"]
    if not rows:
        return None
    return Table([t("Agent key"), t("Registered"), t("Removed")], rows,
                 col_widths=[6, 3, 3])


def build_staff(data: ReportData, lang: Lang) -> Document:
    """The staff list (module documentation)."""
    t = Tr(lang)
    blocks: list[Block] = [
        Section(t("1. Workers"), [
            _people_table(data, t),
            Note(t("Each date is that of a signed ledger entry; the no-data statement is signed with the person's "
                   "own key. A dash: not recorded.")),
        ]),
    ]
    agents = _agents_table(data, t)
    if agents is not None:
        blocks.append(Section(t("2. Work-location agents"), [agents]))
    resp = responsible(data)
    blocks.append(SignatureBoxes(
        [t("Prepared by (responsible person)"), t("Checked by (municipality)")],
        names=[text_of(resp.get("name")), ""],
    ))
    return official_document(
        data, t, lang, title=t("Staff list"), code="STF", blocks=blocks,
        meta=[*contract_meta(data, t), *basis_meta(data, t), as_of(data, t)],
        orientation="landscape",
    )
