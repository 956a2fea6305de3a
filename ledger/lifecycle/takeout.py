"""Takeout (C2, C3, C4; special terms 第9): media leave the work location under a valid prior approval,
encrypted, with the approved carriers and transport, and come back (or are erased at the destination)
by the deadline.  Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custody.ledger import rule_texts as txt
from custody.ledger.lifecycle.approvals import _add_cover, _approval, _use_approval, _uses
from custody.ledger.lifecycle.defaults import flagged_items, merged, person_ref, sanitization, verification
from custody.ledger.lifecycle.fields import _d, _ids, _ms, _s
from custody.ledger.lifecycle.kernel import EventLike, Handler, RuleCode, _late, _move_ok, _Out, _touch, _verified
from custody.ledger.lifecycle.people import _check_carriers
from custody.ledger.lifecycle.state import LedgerState, Takeout
from custody.ledger.media import ERASED, IN_STORAGE, TAKEN_OUT, transition
from custody.ledger.rule_texts import RuleText
from custody.ledger.violation import ERROR, WARNING

if TYPE_CHECKING:
    from custody.ledger.approval import Approval

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

TAKEOUT_OPEN = RuleText("Medium {m} taken out at seq {seq} is not back or erased (deadline {deadline})")
DO_CLOSE_TAKEOUT = RuleText(
    "Return it (custody takeout return) or record its erasure (custody takeout erased); if it is lost, report an "
    "incident."
)
NO_TAKEOUT_PERMIT = RuleText("The contract does not allow taking data out")
DO_STAY = RuleText("Data stays at the work location.")
NO_MEDIA_NAMED = RuleText("The takeout names no media")
DO_NAME_MEDIA = RuleText("Name the media taken out.")
NO_ENCRYPTION = RuleText("The media would be taken out without encryption")
NO_SUCH_TAKEOUT = RuleText("There is no takeout departing at seq {seq}")
DO_GIVE_TAKEOUT = RuleText("Give the seq of the takeout.departed entry (custody status).")
NOT_ON_TAKEOUT = RuleText("Medium {m} is not out on the takeout of seq {seq}")
DO_CHECK_TAKEOUT = RuleText("Check the media ids of the takeout.")
WHAT_RETURN = RuleText("Takeout returned")
WHAT_DEST_ERASURE = RuleText("Data erased at the destination")
CHECK_FAILED = RuleText("The return check failed (count or seals)")
DO_REPORT_IF_LOST = RuleText("If data may have been lost or seen, report an incident (custody incident).")
DEST_NOT_VERIFIED = RuleText("The erasure at the destination was not verified as successful")


def _h_departed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    media_ids = _ids(body, "media_ids")
    if not st.permits.get("takeout"):
        out.add("C2", ERROR, NO_TAKEOUT_PERMIT, todo=DO_STAY)
    if not media_ids:
        out.add("C2", ERROR, NO_MEDIA_NAMED, todo=DO_NAME_MEDIA)
    row = transition(e.type, "media")
    moved = [m for m in media_ids if _move_ok(st, out, row, m)]
    carriers = _ids(body, "carriers")
    _check_carriers(st, e, out, carriers)
    encryption = _d(body, "encryption")
    electronic = any(st.media[m].kind != "paper" for m in media_ids if m in st.media)
    approval = _approval(st, e, "takeout", out, media_ids[0] if media_ids else None)
    if approval is not None:
        from custody.ledger.approval import coverage_problems  # loaded by _approval already

        out.extend(coverage_problems(
            approval, kind="takeout", media_ids=media_ids, at=e.at, uses_so_far=_uses(st, approval.id),
            transport=_s(body, "transport"), carriers=carriers, encryption=encryption, encryption_needed=electronic,
            destination=_s(body, "destination"),
        ))
    elif electronic and encryption.get("method") not in ("software", "hardware"):
        out.add("C3", ERROR, NO_ENCRYPTION, missing=txt.NEED_ENCRYPTION, todo=txt.DO_ENCRYPT)
    if not commit:
        return
    candidates = [d for d in (approval.body.deadline if approval else None, _s(body, "planned_return") or None)
                  if d is not None and _ms(d) is not None]
    deadline = min(candidates, key=lambda d: _ms(d) or 0) if candidates else None
    st.takeouts[e.seq] = Takeout(e.seq, approval.id if approval else None, media_ids, list(moved), deadline,
                                 _ms(deadline) if deadline else None)
    for media_id in moved:
        m = st.media[media_id]
        _touch(m, e.seq, TAKEN_OUT)
        m.takeout_seq = e.seq
    if approval is not None:
        _use_approval(st, approval, e.seq)
        for media_id in media_ids:
            if media_id in approval.body.media:
                _add_cover(st, media_id, approval.body)


def _takeout_media(st: LedgerState, e: EventLike, out: _Out) -> tuple[Takeout | None, list[str]]:
    """The open takeout an entry closes and which of its media it may close (violations for the others)."""
    seq = e.body.get("takeout_seq")
    media_ids = _ids(e.body, "media_ids")
    takeout = st.takeouts.get(seq) if isinstance(seq, int) and not isinstance(seq, bool) else None
    if takeout is None:
        out.add("C4", ERROR, NO_SUCH_TAKEOUT, media=media_ids[0] if media_ids else None, todo=DO_GIVE_TAKEOUT,
                seq=seq if isinstance(seq, int) else "-")
        return None, []
    row = transition(e.type, "media")
    ok = []
    for media_id in media_ids:
        if st.state_of(media_id) == TAKEN_OUT and media_id not in takeout.open:
            out.add("C4", ERROR, NOT_ON_TAKEOUT, media=media_id, todo=DO_CHECK_TAKEOUT, m=media_id,
                    seq=takeout.seq)
        elif _move_ok(st, out, row, media_id):
            ok.append(media_id)
    return takeout, ok


def _close_takeout(st: LedgerState, takeout: Takeout, media_id: str, seq: int) -> None:
    if media_id in takeout.open:
        takeout.open.remove(media_id)
        takeout.closed[media_id] = seq
    m = st.media.get(media_id)
    if m is not None and m.takeout_seq == takeout.seq:
        m.takeout_seq = None


def _h_takeout_returned(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    takeout, ok = _takeout_media(st, e, out)
    if takeout is None:
        return
    first = ok[0] if ok else None
    _late(out, e, takeout.deadline, takeout.deadline_ms, first, "C4", WHAT_RETURN)
    result = _d(e.body, "check")
    if result.get("count_match") is False or result.get("seals_intact") is False:
        out.add("C4", WARNING, CHECK_FAILED, media=first, todo=DO_REPORT_IF_LOST, blocking=False)
    if commit:
        for media_id in ok:
            _close_takeout(st, takeout, media_id, e.seq)
            _touch(st.media[media_id], e.seq, IN_STORAGE)


def _h_erased_at_destination(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    takeout, ok = _takeout_media(st, e, out)
    if takeout is None:
        return
    first = ok[0] if ok else None
    if not _verified(e.body):
        out.add("C4", ERROR, DEST_NOT_VERIFIED, media=first, todo=txt.DO_ERASE_AGAIN)
        return
    _late(out, e, takeout.deadline, takeout.deadline_ms, first, "C4", WHAT_DEST_ERASURE)
    if commit:
        for media_id in ok:
            _close_takeout(st, takeout, media_id, e.seq)
            m = st.media[media_id]
            _touch(m, e.seq, ERASED)
            m.erased_seq = e.seq


def end_open_takeouts(st: LedgerState, out: _Out, when: int, *, closing: bool, blocks: bool,
                      reported: set[str]) -> None:
    """C4 at the end: media still out on a takeout past its deadline, or at close (``reported`` collects them)."""
    for takeout in st.takeouts.values():
        if takeout.open and (closing or (takeout.deadline_ms is not None and when > takeout.deadline_ms)):
            for media_id in takeout.open:
                reported.add(media_id)
                out.add("C4", ERROR, TAKEOUT_OPEN, media=media_id, todo=DO_CLOSE_TAKEOUT, blocking=blocks,
                        m=media_id, seq=takeout.seq, deadline=takeout.deadline or "-")


#: The entry types this family handles.
HANDLERS: dict[str, Handler] = {
    "takeout.departed": _h_departed,
    "takeout.returned": _h_takeout_returned,
    "takeout.erased_at_destination": _h_erased_at_destination,
}


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C2", RuleText("takeout without a valid prior approval"), "②"),
    RuleCode("C3", RuleText("takeout without the required encryption"), "②"),
    RuleCode("C4", RuleText("takeout not returned or erased by its deadline"), "②"),
)


# --- bodies: what the CLI records (ledger/lifecycle/defaults.py) ---


def body_for_takeout_departed(state: LedgerState, *, approval_note: str, approval: Approval, media_ids: list[str],
                              destination: str | None, transport: str, carriers: list[str],
                              encryption_method: str, encryption_algorithm: str | None,
                              encryption_verified_by: str | None, password_channel: str | None,
                              items: list[dict[str, Any]], seals: list[str], **options: Any) -> dict[str, Any]:
    """takeout.departed under ``approval``: its media and destination unless others are named (the rules then
    say whether they are covered); ``purpose``, ``planned_return``, ``records``, ``remarks``, ``attachments``."""
    return merged({
        "approval": approval_note, "media_ids": media_ids or list(approval.body.media),
        "destination": destination or approval.body.destination, "transport": transport, "carriers": carriers,
        "encryption": merged({"method": encryption_method}, {
            "algorithm": encryption_algorithm, "verified_by": person_ref(state, encryption_verified_by),
            "password_channel": password_channel}),
    }, {"seals": seals or None, "data_items": flagged_items(state, items) or None, **options})


def body_for_takeout_returned(state: LedgerState, *, signer: str, takeout_seq: int | None, media_ids: list[str],
                              count_match: bool, seals_intact: bool, checked_by: str | None,
                              count_out: int | None, count_in: int | None, **options: Any) -> dict[str, Any]:
    """takeout.returned: the takeout the media are out on (else the only open one), all its media still out
    unless some are named, checked by the signer unless another person is named."""
    from custody.ledger.lifecycle.applications import takeout_target  # off the path of the other commands

    seq, media = takeout_target(state, takeout_seq, media_ids)
    check = merged({"count_match": count_match, "seals_intact": seals_intact,
                    "checked_by": person_ref(state, checked_by) or signer},
                   {"count_out": count_out, "count_in": count_in})
    return merged({"takeout_seq": seq, "media_ids": media, "check": check}, options)


def body_for_takeout_erased(state: LedgerState, *, signer: str, takeout_seq: int | None, media_ids: list[str],
                            erased_by: str | None, category: str, technique: str, tool: str | None,
                            tool_version: str | None, verification_method: str, verification_result: str,
                            verifier: str | None, **options: Any) -> dict[str, Any]:
    """takeout.erased_at_destination: the takeout and media chosen as for a return, erased and verified by the
    signer unless others are named (``place``, ``certificate``, ``remarks``, ``attachments``)."""
    from custody.ledger.lifecycle.applications import takeout_target  # off the path of the other commands

    seq, media = takeout_target(state, takeout_seq, media_ids)
    return merged({
        "takeout_seq": seq, "media_ids": media, "erased_by": person_ref(state, erased_by) or signer,
        "method": sanitization(category, technique, tool, tool_version),
        "verification": verification(state, verification_method, verification_result, verifier, signer),
    }, options)
