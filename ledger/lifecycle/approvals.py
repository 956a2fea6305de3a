"""Approvals embedded in entries (docs/spec.md §9): opened against the contract's pinned approver keys,
once per note, counted per use; and which writes to a medium an approval covers (C11).  Pure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from custody.ledger import rule_texts as txt
from custody.ledger.errors import NoteFormatError
from custody.ledger.lifecycle.kernel import EventLike, _Out
from custody.ledger.lifecycle.state import ApprovalUse, LedgerState
from custody.ledger.note import Verifier
from custody.ledger.rule_texts import RuleText, fill
from custody.ledger.violation import ERROR, violation

if TYPE_CHECKING:  # custody.ledger.approval is imported where an approval is opened (an entry naming one)
    from custody.ledger.approval import Approval, ApprovalBody

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

APPROVAL_MISSING = RuleText("No {kind} approval is attached")
NEED_APPROVAL = RuleText("the municipality's signed {kind} approval")
DO_APPLY = RuleText("Apply for it (custody {kind} request) and attach the approval you receive.")
APPROVAL_ID_CLASH = RuleText("Another approval with the same number {id} was used before (seq {seq})")
DO_ASK_WHICH = RuleText("Ask the municipality which approval is valid.")


def _verifiers(st: LedgerState) -> list[Verifier]:
    if st._verifiers is None:
        found = []
        for vkey in st.approver_vkeys:
            try:
                found.append(Verifier.from_vkey(vkey))
            except NoteFormatError:
                continue
        st._verifiers = found
    return st._verifiers


def _approval(st: LedgerState, e: EventLike, kind: str, out: _Out, media: str | None = None) -> Approval | None:
    """The entry's embedded approval note, opened; None (with the violations) when it is not valid.  ``media``:
    the medium the act concerns (the first, as coverage_problems names it), which every finding about the note
    names too -- who signed it concerns that medium's act."""
    from custody.ledger.approval import KIND_CODES, ApprovalProblem, open_approval

    note = e.body.get("approval")
    code = KIND_CODES[kind]
    kind_text = (kind, txt.KIND_JA[kind])
    if not isinstance(note, str) or not note:
        out.add(code, ERROR, APPROVAL_MISSING, media=media, missing=NEED_APPROVAL, todo=DO_APPLY, kind=kind_text)
        return None
    cached = st._approval_cache.get((note, kind))
    if cached is None:
        try:
            cached = open_approval(note.encode("utf-8"), origin=st.origin, approver_vkeys=_verifiers(st), kind=kind,
                                   vendor_keys=frozenset(st.people))
        except ApprovalProblem as exc:
            cached = exc
        except UnicodeEncodeError:
            cached = ApprovalProblem([violation(code, ERROR, fill(txt.APPROVAL_NOT_UTF8, {}))])
        if len(st._approval_cache) >= 256:
            st._approval_cache.clear()
        st._approval_cache[(note, kind)] = cached
    if isinstance(cached, ApprovalProblem):
        out.extend(v if v.media_id or not media else replace(v, media_id=media) for v in cached.violations)
        return None
    known = st.approvals.get(cached.id)
    if known is not None and known.digest != cached.digest:
        out.add(code, ERROR, APPROVAL_ID_CLASH, media=media, todo=DO_ASK_WHICH, id=cached.id, seq=known.first_seq)
        return None
    return cached


def _uses(st: LedgerState, approval_id: str) -> int:
    use = st.approvals.get(approval_id)
    return 0 if use is None else use.uses


def _use_approval(st: LedgerState, approval: Approval, seq: int) -> None:
    use = st.approvals.get(approval.id)
    if use is None:
        use = ApprovalUse(approval.id, approval.kind, approval.digest, seq, 0, [], approval.body.to_json())
        st.approvals[approval.id] = use
        st._bodies[approval.id] = approval.body
    use.uses += 1
    use.seqs.append(seq)


def _covers(body: ApprovalBody, when: int) -> bool:
    return body.approved_at_ms <= when and body.valid_from_ms <= when <= body.valid_until_ms


def _add_cover(st: LedgerState, media_id: str, body: ApprovalBody) -> None:
    """Writes to ``media_id`` inside ``body``'s window are covered, also those already recorded (C11)."""
    st.write_cover.setdefault(media_id, []).append([body.valid_from_ms, body.valid_until_ms, body.approved_at_ms,
                                                     body.id])
    pending = st.pending_writes.get(media_id)
    if pending:
        left = [p for p in pending if not _covers(body, p[1])]
        if left:
            st.pending_writes[media_id] = left
        else:
            del st.pending_writes[media_id]

