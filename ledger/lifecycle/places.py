"""Places within the designated work locations (C19; special terms 第5-2/3/4): where media are stored
(``storage.place``, ``storage.work_location`` of a receipt, a registration, a copy) and where they are erased
or disposed of (``place``) must be one of the contract's work locations in force.  Pure.

The locations in force are the contract's ``work_locations`` (genesis) and those added since
(``LedgerState.duties["locations"]``, a list of ``{"id", "name", "address"}`` to which a signed change
approval of the work location, recorded as ``attestation.recorded``, appends its new place:
ledger/lifecycle/attestations.py).  A place matches a location when, spaces and letter widths aside, it is the
location's id, name or address, or one contains the other (「本社 第2開発室 施錠保管庫A」 lies in
「本社 第2開発室」; 「第2開発室」 names it).  Storage outside them is refused at write; an erasure or a
disposal already done elsewhere is a fact, recorded and reported.  A takeout's destination is outside by
definition and is judged by its approval (C2).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from custody.ledger.lifecycle.fields import _d, _s
from custody.ledger.lifecycle.kernel import EventLike, RuleCode, _Out
from custody.ledger.lifecycle.state import LedgerState
from custody.ledger.rule_texts import RuleText
from custody.ledger.violation import ERROR

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

OUTSIDE = RuleText("{what} of {m} at {place}, which is not a designated work location ({allowed})")
NEED_LOCATION = RuleText("a work location of the contract, or the municipality's approval of a new one (第5)")
DO_LOCATION = RuleText(
    "Keep and handle the media only at the designated work locations; a new location needs the municipality's approval "
    "first."
)

_STORAGE: dict[str, RuleText] = dict.fromkeys(("media.received", "media.registered", "copy.made"), RuleText("storage"))
_ACTS: dict[str, RuleText] = {"media.erased": RuleText("erasure"), "media.disposed": RuleText("disposal")}
_UNKNOWN = ("", "-")


@lru_cache(maxsize=1024)  # a contract names a few places, which every storage entry is compared with
def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def locations(st: LedgerState) -> list[dict[str, Any]]:
    """The work locations in force: the contract's, then those added since."""
    raw = [*(st.genesis or {}).get("work_locations", []), *st.duties.get("locations", [])]
    return [loc for loc in raw if isinstance(loc, dict)]


def within(locs: list[dict[str, Any]], place: str) -> bool:
    """Whether ``place`` lies within one of ``locs``, the work locations in force (module documentation)."""
    p = _norm(place)
    for loc in locs:
        for key in ("id", "name", "address"):
            name = _norm(_s(loc, key))
            if name and (p == name or (len(name) >= 2 and name in p) or (key != "id" and len(p) >= 2 and p in name)):
                return True
    return False


def watches(event_type: str) -> bool:
    """Whether ``watch`` has anything to judge in an entry of this type."""
    return event_type in _STORAGE or event_type in _ACTS


def watch(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """C19 on storage, erasure and disposal places."""
    if e.type in _STORAGE:
        storage = _d(e.body, "storage")
        places, what, fact = [_s(storage, "place"), _s(storage, "work_location")], _STORAGE[e.type], False
    elif e.type in _ACTS:
        places, what, fact = [_s(e.body, "place")], _ACTS[e.type], True
    else:
        return
    locs = locations(st)
    if not locs:
        return  # no location recorded at all: the inspection form's part (1) says so
    media_id = _s(e.body, "media_id")
    for place in places:
        if place not in _UNKNOWN and not within(locs, place):
            allowed = "、".join(_s(loc, "name") or _s(loc, "id") for loc in locs)
            out.add("C19", ERROR, OUTSIDE, media=media_id or None, missing=NEED_LOCATION, todo=DO_LOCATION,
                    blocking=not fact, what=what, m=media_id or "-", place=place, allowed=allowed)
            return


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C19", RuleText("outside the designated work locations"), "②"),
)
