"""A subcontractor's acts stay within its approval (C16; special terms 第8-2(3)(4)): the data items of every
medium a subcontractor's person handles must be among the data the municipality approved it to handle.  Pure.

The approval names the data handled in words (``subcontractor.data_handled``, e.g. 「印鑑登録原票(氏名・住所の
表示のみ)」).  A medium's data item is covered when its name, or its name without a bracketed remark
(「住民基本台帳(異動履歴を含む)」 -> 「住民基本台帳」), occurs in those words; an item holding My Number
data (特定個人情報) is covered only when the words name it too (個人番号, マイナンバー, 特定個人情報 or My Number).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from custody.ledger.lifecycle.fields import _d, _ids, _s
from custody.ledger.lifecycle.kernel import EventLike, RuleCode, _Out
from custody.ledger.lifecycle.state import LedgerState, Person
from custody.ledger.media import Medium
from custody.ledger.rule_texts import RuleText
from custody.ledger.violation import ERROR

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

OUT_OF_SCOPE = RuleText(
    "{actor} ({org}) handles {m}, which holds {item}; subcontract approval {ref} covers only: {approved}"
)
NEED_SCOPE = RuleText("a subcontract approval whose data handled includes {item}")
DO_SCOPE = RuleText(
    "Have vendor staff do it, or obtain the municipality's approval of a subcontract covering this data (custody "
    "subcontract request) and record it."
)

#: Acts that handle a medium's data; a check-in (putting it back) is a fact, reported but never refused.
_FACTS = frozenset({"media.checked_in", "takeout.returned"})
_MY_NUMBER_WORDS = ("個人番号", "マイナンバー", "特定個人情報", "my number", "mynumber")
_REMARK = re.compile(r"[(（\[【].*?[)）\]】]")


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def covers(data_handled: str, item: str, *, my_number: bool) -> bool:
    """Whether the approval's words ``data_handled`` cover the data item ``item`` (module documentation)."""
    words = _norm(data_handled)
    names = {_norm(item), _norm(_REMARK.sub("", item))}
    if not any(n and n in words for n in names):
        return False
    return not my_number or any(_norm(w) in words for w in _MY_NUMBER_WORDS)


def _media_of(st: LedgerState, e: EventLike) -> list[Medium]:
    body = e.body
    if e.type == "copy.made":  # the copy itself is added by the handler: judge the source, in check and apply
        ids = [_s(body, "source_media_id")]
        return [st.media[i] for i in ids if i in st.media]
    ids = [_s(body, "media_id"), _s(body, "source_media_id"), *_ids(body, "media_ids")]
    return [st.media[i] for i in dict.fromkeys(ids) if i and i in st.media]


def _items(m: Medium) -> Iterable[tuple[str, bool]]:
    contents = _d(m.record, "contents")
    raw = contents.get("items")
    items = raw if isinstance(raw, list) else []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            yield item["name"], item.get("my_number") is True or (m.my_number and len(items) == 1)


def _people(st: LedgerState, e: EventLike) -> list[Person]:
    """The subcontractors' people acting: the signer, the person named, the carriers."""
    names = [e.actor, _s(e.body, "person"), *_ids(e.body, "carriers")]
    found = []
    for name in dict.fromkeys(n for n in names if n):
        person = st.person_by_name(name)
        if person is not None and person.tier != "vendor" and person.role != "agent":
            found.append(person)
    return found


def watches(event_type: str) -> bool:
    """Whether ``watch`` has anything to judge in an entry of this type: an act on a medium."""
    return event_type.startswith(("media.", "takeout.", "copy.")) and event_type not in ("media.received",
                                                                                       "media.registered")


def watch(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """C16 for every act on a medium by a subcontractor's person."""
    if not watches(e.type) or not st.subcontracts:
        return  # no subcontract approval recorded: nobody has a scope to leave (§6 C16; C9 names who acts without)
    people = _people(st, e)
    if not people:
        return
    for person in people:
        sc = st.subcontracts.get(person.subcontract_id or "")
        body = st.approval_body(sc.id) if sc is not None else None
        sub = body.subcontractor if body is not None else None
        if sub is None:
            continue  # no approval at all: C9 says so (one finding per cause)
        for m in _media_of(st, e):
            for item, my_number in _items(m):
                if not covers(sub.data_handled, item, my_number=my_number):
                    out.add("C16", ERROR, OUT_OF_SCOPE, media=m.id, missing=NEED_SCOPE, todo=DO_SCOPE,
                            blocking=e.type not in _FACTS, actor=person.name or person.key_name,
                            org=person.organisation or "-", m=m.id, item=item, ref=sc.id if sc else "-",
                            approved=sub.data_handled or "-")
                    break


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C16", RuleText("subcontractor outside its approved scope and data"), "①"),
)
