"""Reading the register: the media (custody media list|show), the people (custody person list) and the
whole ledger's status as verify would report it so far (custody status).  Reads only; signs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from custody.cli.acting import now, opt, read_state
from custody.cli.common import json_option, ledger_option, out, print_json
from custody.ledger import i18n
from custody.ledger.i18n import _
from custody.ledger.wareki import japanese_datetime

if TYPE_CHECKING:
    from custody.ledger.lifecycle import LedgerState
    from custody.ledger.media import Medium


# --- people ---


def _tier_label(tier: str) -> str:
    from custody.ledger.vocabulary import TIERS, word

    return word(TIERS, tier)


def _role_label(role: str) -> str:
    from custody.ledger.vocabulary import ROLES, word

    return word(ROLES, role)


def person_list(
    ledger_dir: str = ledger_option(),
    json_out: bool = json_option(),
) -> None:
    state = read_state(ledger_dir)
    rows = [
        {"key_name": p.key_name, "name": p.name, "organisation": p.organisation, "tier": p.tier, "role": p.role,
         "registered_seq": p.registered_seq, "removed_seq": p.removed_seq, "subcontract_id": p.subcontract_id}
        for p in state.people.values()
    ]
    if json_out:
        print_json(rows)
        return
    _people_table(state)


def _print_table(table: Any) -> None:
    """A table at the terminal's width; into a file or a pipe, wide enough not to fold (200 columns)."""
    if out.is_terminal:
        out.print(table)
        return
    import sys

    from rich.console import Console

    Console(file=sys.stdout, width=200, highlight=False).print(table)


def _people_table(state: LedgerState) -> None:
    from rich.table import Table

    table = Table(title=_("People"), show_lines=False)
    for header in (_("Key name"), _("Name"), _("Organisation"), _("Tier"), _("Role"), _("Registered"),
                   _("Removed"), _("Subcontract approval")):
        table.add_column(header, overflow="fold")
    for p in state.people.values():
        table.add_row(p.key_name, p.name, p.organisation, _tier_label(p.tier), _role_label(p.role),
                      str(p.registered_seq), "" if p.removed_seq is None else str(p.removed_seq),
                      p.subcontract_id or "")
    _print_table(table)


# --- media ---


def kind_label(kind: str) -> str:
    """A media kind (code) as a word of the process's language (ledger/vocabulary.py); for display only."""
    from custody.ledger.vocabulary import KINDS, word

    return word(KINDS, kind)


def state_label(state: str) -> str:
    from custody.ledger.vocabulary import STATES, word

    return word(STATES, state)


def _origin_label(m: Medium) -> str:
    from custody.ledger.vocabulary import ORIGINS, pick

    if m.origin == "copy":
        return f"{pick(ORIGINS['copy'])} {m.source or '-'}"
    return pick(ORIGINS.get(m.origin, (m.origin, m.origin)))


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


def _storage(m: Medium) -> str:
    storage = m.record.get("storage") or {}
    if not isinstance(storage, dict):
        return ""
    return " ".join(str(storage[k]) for k in ("place", "cabinet") if storage.get(k))


def _custodian(m: Medium) -> str:
    c = m.record.get("custodian")
    if isinstance(c, dict):
        return str(c.get("name", ""))
    return str(c or "")


def medium_row(m: Medium) -> dict[str, Any]:
    row = m.to_json()
    row.pop("record")
    row.update(state_label=state_label(m.state), origin_label=_origin_label(m), storage=_storage(m),
               custodian=_custodian(m), make=m.record.get("make"), model=m.record.get("model"),
               label=m.record.get("label"), last_seq=m.history[-1] if m.history else m.since_seq)
    return row


def _media_table(state: LedgerState, media: list[Medium]) -> None:
    from rich.table import Table

    table = Table(title=_("Media register"))
    for header in (_("Media id"), _("Kind"), _("Serial"), _("Source"), _("State"), _("My Number"),
                   _("Storage"), _("Custodian"), _("Last entry")):
        table.add_column(header, overflow="fold")
    for m in media:
        table.add_row(m.id, kind_label(m.kind), m.serial, _origin_label(m), state_label(m.state), _yes(m.my_number),
                      _storage(m), _custodian(m), str(m.history[-1] if m.history else m.since_seq))
    _print_table(table)


def media_list(
    state_filter: list[str] = opt([], "--state", help_text=_("Only media in this state (repeatable).")),
    ledger_dir: str = ledger_option(),
    json_out: bool = json_option(),
) -> None:
    state = read_state(ledger_dir)
    media = [m for m in state.media.values() if not state_filter or m.state in state_filter]
    if json_out:
        print_json([medium_row(m) for m in media])
        return
    if not media:
        out.print(_("No media in the register."), markup=False)
        return
    _media_table(state, media)


def media_show(
    media_id: str = typer.Argument(..., help=_("Media id (媒体番号), e.g. M-001.")),
    ledger_dir: str = ledger_option(),
    json_out: bool = json_option(),
) -> None:
    from custody.ledger.ledger import Ledger
    from custody.ledger.lifecycle.applications import require_medium
    from custody.ledger.workflow import current_state

    with Ledger.open(Path(ledger_dir)) as ledger:
        state = current_state(ledger)
        m = require_medium(state, media_id)
        history: list[dict[str, str]] = []
        for seq in m.history:
            entry = ledger.store.entry(seq)
            history.append({"seq": str(seq), "type": entry.type, "at": entry.at, "actor": entry.actor})
    if json_out:
        print_json({**medium_row(m), "record": m.record, "entries": history})
        return
    lines = [
        (_("Media id"), m.id), (_("Kind"), kind_label(m.kind)), (_("Serial"), m.serial),
        (_("Source"), _origin_label(m)), (_("State"), state_label(m.state)), (_("My Number"), _yes(m.my_number)),
        (_("Storage"), _storage(m)), (_("Custodian"), _custodian(m)),
    ]
    for key, label in (("make", _("Make")), ("model", _("Model")), ("capacity", _("Capacity")),
                       ("label", _("Label"))):
        if m.record.get(key):
            lines.append((label, str(m.record[key])))
    contents = m.record.get("contents")
    if isinstance(contents, dict):
        items = ", ".join(f"{i.get('name')} ({i.get('records')})" for i in contents.get("items", [])
                          if isinstance(i, dict))
        lines.append((_("Contents"), items or "-"))
    if m.takeout_seq is not None:
        lines.append((_("Open takeout"), str(m.takeout_seq)))
    if m.disposal_id:
        lines.append((_("Disposal approval"), m.disposal_id))
    for label, value in lines:
        out.print(f"{label}: {value}", markup=False)
    from rich.table import Table

    table = Table(title=_("History"))
    for header in (_("seq"), _("Time"), _("Event"), _("Actor")):
        table.add_column(header, overflow="fold")
    japanese = i18n.language() == "ja"
    for h in history:
        # Japanese readers get 和暦 with the zone (令和8年12月6日 21:53:07 (JST)); --json keeps RFC 3339.
        table.add_row(h["seq"], japanese_datetime(h["at"]) if japanese else h["at"], h["type"], h["actor"])
    _print_table(table)


def status(
    ledger_dir: str = ledger_option(),
    json_out: bool = json_option(),
) -> None:
    from custody.ledger.ledger import Ledger
    from custody.ledger.lifecycle import finish
    from custody.ledger.workflow import projection

    with Ledger.open(Path(ledger_dir)) as ledger:
        proj = projection(ledger)
        state = proj.state
        size = ledger.store.size
        origin = ledger.origin
    # What verify would report of the ledger so far: the rules at each entry (the same the verifier replays:
    # C10, C11 on unregistered volumes, C12, a late C8, ...) and the end-of-ledger rules as of now.
    findings = [*proj.findings, *finish(state, now_or_close=now())]
    genesis = state.genesis or {}
    counts = state.counts()
    takeouts: list[dict[str, Any]] = [
        {"seq": t.seq, "approval_id": t.approval_id, "open": list(t.open), "deadline": t.deadline}
        for t in state.open_takeouts()
    ]
    disposals: list[dict[str, Any]] = [{"id": d.id, "seq": d.seq, "category": d.category, "technique": d.technique,
                  "deadline": d.deadline, "pending": [k for k, v in d.media.items() if v == "pending"]}
                 for d in state.disposals.values() if any(v == "pending" for v in d.media.values())]
    if json_out:
        print_json({
            "origin": origin, "size": size, "contract_id": genesis.get("contract_id"), "title": genesis.get("title"),
            "closed": state.closed, "counts": counts, "media": [medium_row(m) for m in state.media.values()],
            "open_takeouts": takeouts, "pending_disposals": disposals,
            "people": [{"key_name": p.key_name, "name": p.name, "tier": p.tier, "role": p.role,
                        "removed_seq": p.removed_seq} for p in state.people.values()],
            "subcontracts": [{"id": sc.id, "name": sc.name, "tier": sc.tier, "valid_until": sc.valid_until}
                             for sc in state.subcontracts.values()],
            "incidents": state.incidents, "findings": [v.to_json() for v in findings],
        })
        return
    out.print(_("Ledger {origin}: {size} entries").format(origin=origin, size=size), markup=False)
    out.print(_("Contract {id}: {title}").format(id=genesis.get("contract_id", "-"), title=genesis.get("title", "-")),
              markup=False)
    if state.closed is not None:
        out.print(_("Closed at entry {seq} ({at}).").format(seq=state.closed["seq"], at=state.closed["at"]),
                  markup=False)
    out.print(_("Media: received {r} + registered {g} + copies {c} − returned {t} − disposed {d} − erased {e} "
                "− lost {l} = outstanding {o}").format(
        r=counts["received"], g=counts["registered"], c=counts["copies"], t=counts["returned"],
        d=counts["disposed"], e=counts["erased"], l=counts["lost"], o=counts["open"]), markup=False)
    if state.media:
        _media_table(state, list(state.media.values()))
    for t in takeouts:
        out.print(_("Open takeout at entry {seq} (approval {id}): {media}; due {deadline}").format(
            seq=t["seq"], id=t["approval_id"] or "-", media=", ".join(t["open"]), deadline=t["deadline"] or "-"),
            markup=False)
    for d in disposals:
        out.print(_("Disposal approved under {id}, not yet recorded: {media}; due {deadline}").format(
            id=d["id"], media=", ".join(d["pending"]), deadline=d["deadline"]), markup=False)
    _people_table(state)
    if state.incidents:
        out.print(_("Incidents: {n}").format(n=len(state.incidents)), markup=False)
    if findings:
        out.print(_("Findings as of now:"), markup=False)
        for v in findings:
            message, _missing, _todo = v.texts()
            out.print(f"  [{v.code}] {_(v.severity)}: {message}", markup=False)
    else:
        out.print(_("No findings as of now."), markup=False)
