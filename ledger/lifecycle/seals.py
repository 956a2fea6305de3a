"""Seal continuity (C18): the seals (封印) a medium carries are followed from its receipt through check-out,
check-in, takeout and return, and every seal an entry cites must be one the medium was last known to carry.
Pure.

What the ledger knows of a medium's seals (``LedgerState.duties["seals"]``: media id -> ``{"seals", "seq",
"exact"}``): the handover receipt's seals (any of them may be this medium's: ``exact`` false), then the
seals applied at check-in or on departure for a takeout (``exact`` true).  A check-out that breaks a seal
and a return that hands one over cite seals; a cited seal the medium was not known to carry is a finding.
It is a fact read off the medium (a mistake or tampering), so it is recorded, never refused, and it awaits
an incident report like any other anomaly (C21).
"""

from __future__ import annotations

from typing import Any

from custody.ledger.lifecycle.fields import _d, _ids, _s
from custody.ledger.lifecycle.kernel import EventLike, RuleCode, _Out
from custody.ledger.lifecycle.state import LedgerState
from custody.ledger.rule_texts import RuleText
from custody.ledger.violation import ERROR

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

SEAL_UNKNOWN = RuleText(
    "Medium {m}: the {event} cites seal {given}, but the medium was last sealed with {known} (seq {seq})"
)
NEED_SEAL = RuleText("the seal number the medium carries")
DO_CHECK_SEAL = RuleText(
    "Check the seal on the medium. If it is not the one recorded, the medium may have been opened: report an incident "
    "(custody incident)."
)

_EVENT: dict[str, RuleText] = {
    "media.checked_out": RuleText("check-out"),
    "media.returned": RuleText("return"),
}


def _known(st: LedgerState) -> dict[str, Any]:
    """Read-only unless committing (``check`` must not change the state)."""
    seals: dict[str, Any] = st.duties.get("seals", {})
    return seals


def _writable(st: LedgerState) -> dict[str, Any]:
    seals: dict[str, Any] = st.duties.setdefault("seals", {})
    return seals


def _compare(st: LedgerState, e: EventLike, out: _Out, media_id: str, cited: list[str]) -> None:
    known = _known(st).get(media_id)
    if not cited or known is None or not known["seals"]:
        return
    strange = [s for s in cited if s not in known["seals"]]
    if strange:
        out.add("C18", ERROR, SEAL_UNKNOWN, media=media_id, missing=NEED_SEAL, todo=DO_CHECK_SEAL, blocking=False,
                m=media_id, event=_EVENT[e.type], given=", ".join(strange), known=", ".join(known["seals"]),
                seq=known["seq"])


def _set(st: LedgerState, media_id: str, seals: list[str], seq: int, *, exact: bool) -> None:
    if media_id:
        _writable(st)[media_id] = {"seals": seals, "seq": seq, "exact": exact}


#: The entry types ``watch`` reads or records seals of.
_SEALED = frozenset({"media.received", "media.checked_out", "media.checked_in", "takeout.departed", "media.returned"})


def watches(event_type: str) -> bool:
    """Whether ``watch`` has anything to judge or record in an entry of this type."""
    return event_type in _SEALED


def watch(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """C18, and what is known of each medium's seals after the entry."""
    body, media_id = e.body, _s(e.body, "media_id")
    if e.type == "media.received":
        if commit and _ids(_d(body, "receipt"), "seals"):
            _set(st, media_id, _ids(_d(body, "receipt"), "seals"), e.seq, exact=False)
    elif e.type == "media.checked_out":
        _compare(st, e, out, media_id, _ids(body, "seals"))
        if commit:
            _writable(st).pop(media_id, None)  # open: the seals are broken for the work
    elif e.type == "media.checked_in":
        if commit:
            _set(st, media_id, _ids(body, "seals"), e.seq, exact=True)
    elif e.type == "takeout.departed":
        if commit and _ids(body, "seals"):
            for m in _ids(body, "media_ids"):
                _set(st, m, _ids(body, "seals"), e.seq, exact=True)
    elif e.type == "media.returned":
        _compare(st, e, out, media_id, _ids(_d(body, "receipt"), "seals"))


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C18", RuleText("seal continuity broken"), "②"),
)
