"""People and subcontracts (C9; special terms 第6, 第7, 第8-2): who may act, who may register whom, and
subcontract approvals.  Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from custody.ledger import rule_texts as txt
from custody.ledger.lifecycle.approvals import _approval, _use_approval
from custody.ledger.lifecycle.defaults import merged, vendor_name
from custody.ledger.lifecycle.fields import _d, _ms, _norm_org, _s
from custody.ledger.lifecycle.kernel import _AGENT, EventLike, Handler, RuleCode, _Out
from custody.ledger.lifecycle.state import LedgerState, Person, Subcontract
from custody.ledger.rule_texts import RuleText, Text
from custody.ledger.violation import ERROR, WARNING

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

ACTOR_UNKNOWN = RuleText("{actor} is not registered personnel of this ledger")
NEED_REGISTRATION = RuleText("a personnel.registered entry for {actor}")
DO_REGISTER = RuleText("Have the responsible person register {actor} (custody person add) before they act.")
ACTOR_REMOVED = RuleText("{actor} was removed at seq {seq} and may no longer act")
DO_ACT_REGISTERED = RuleText("Have a registered person do it, or register the person again.")
AGENT_NOT_PERSON = RuleText("{actor} is an agent key: it records observations only, not {type}")
DO_SIGN_AS_PERSON = RuleText("Sign with the key of the person who acted.")
PERSON_NOT_AGENT = RuleText("Only an agent key records observations ({type}); {actor} is a person")
DO_USE_AGENT = RuleText("Register the agent's own key (role agent) and let the agent record.")
RESPONSIBLE_ONLY = RuleText("Only the responsible person may record {type}; {actor} is {role}")
DO_ASK_RESPONSIBLE = RuleText("Ask the responsible person (作業責任者) to record it.")
SUBCONTRACTOR_UNAPPROVED = RuleText("{actor} works for a {tier} ({org}) with no subcontract approval valid at {at}")
NEED_SUBCONTRACT = RuleText("the municipality's subcontract approval (special terms 第8-2), valid now")
DO_RECORD_SUBCONTRACT = RuleText(
    "Record the municipality's subcontract approval (custody subcontract record) before a subcontractor acts; "
    "re-subcontracting needs its own approval."
)
TIER_NEEDS_APPROVAL = RuleText("A {tier} person needs a valid subcontract approval of that tier (given: {ref})")
NEED_SUBCONTRACT_ID = RuleText("the id of a recorded subcontract approval (subcontract_id)")
DO_SUBCONTRACT_FIRST = RuleText(
    "Record the municipality's subcontract approval first (custody subcontract record), then register the person with "
    "its id."
)
NO_VKEY = RuleText("The registration has no valid vkey")
DO_GIVE_VKEY = RuleText("Register the person with their vkey.")
ALREADY_REGISTERED = RuleText("{name} is already registered (seq {seq})")
DO_CHANGE_PERSON = RuleText("Use custody person change, or choose another key name.")
NO_SUBCONTRACTING = RuleText("The contract does not allow subcontracting")
DO_VENDOR_ONLY = RuleText("Only vendor staff may work on this contract.")
OTHER_ORGANISATION = RuleText("{name} belongs to {org}, not the vendor {vendor}, but is registered as vendor staff")
DO_REGISTER_AS_SUBCONTRACTOR = RuleText(
    "If the person works for another company, register them as a subcontractor with the municipality's approval."
)
NEW_RESPONSIBLE = RuleText("A new responsible person needs the municipality's prior approval (第6-3)")
NEED_APPROVAL_REFERENCE = RuleText("the number of that approval (approval_reference)")
DO_KEEP_APPROVAL = RuleText("Record the number of the municipality's approval.")
PERSON_UNKNOWN = RuleText("{name} is not a registered, active person")
DO_CHECK_KEY_NAME = RuleText("Check the key name (custody status).")
KEY_OWNER_ONLY = RuleText("Only {name} or the responsible person may change {name}'s keys")
PARENT_UNAPPROVED = RuleText("{name} is a sub-subcontractor of {parent}, whose own approval is not recorded")
DO_RECORD_PARENT = RuleText("Record the subcontractor's approval too.")
PERSON_REF_UNKNOWN = RuleText("{what} {name} is not registered personnel")
PERSON_REF_REMOVED = RuleText("{what} {name} was removed at seq {seq} and may no longer handle media")
DO_REGISTER_FIRST = RuleText("Register the person first (custody person add).")
CARRIER_UNKNOWN = RuleText("Carrier {name} is not registered personnel")
DO_APPROVED_CARRIERS = RuleText("Only registered personnel named in the approval may carry media.")
SUBCONTRACTOR_OTHER_COMPANY = RuleText(
    "{actor} works for {org}, but subcontract approval {ref} was given to {approved}"
)
VENDOR_TIER_OTHER_COMPANY = RuleText(
    "{actor} is registered as vendor staff but works for {org}, not the vendor {vendor}"
)


RESPONSIBLE_ONLY_TYPES = frozenset(
    {"personnel.registered", "personnel.changed", "personnel.removed", "subcontract.approved", "contract.closed",
     "personnel.exit_checked", "report.periodic"}
)


def _acted_on(e: EventLike) -> str | None:
    """The medium the act concerns, so that a finding about who signed it names it (issue 16: every finding
    names its media where there is one)."""
    media = e.body.get("media_id")
    return media if isinstance(media, str) else None


def _check_actor(st: LedgerState, e: EventLike, out: _Out) -> None:
    """C9 for the entry's actor (every entry after the genesis: the medium is looked up only for a finding)."""
    person = st.people.get(e.actor)
    if person is None:
        out.add("C9", ERROR, ACTOR_UNKNOWN, media=_acted_on(e), missing=NEED_REGISTRATION, todo=DO_REGISTER,
                actor=e.actor)
        return
    if person.removed_seq is not None and e.seq > person.removed_seq:
        if e.type == "personnel.statement":
            return  # a leaver may still sign their own no-data statement (C23)
        out.add("C9", ERROR, ACTOR_REMOVED, media=_acted_on(e), todo=DO_ACT_REGISTERED, actor=e.actor,
                seq=person.removed_seq)
        return
    agent_event = e.type in _AGENT
    if person.role == "agent" and not agent_event:
        out.add("C9", ERROR, AGENT_NOT_PERSON, media=_acted_on(e), todo=DO_SIGN_AS_PERSON, actor=e.actor, type=e.type)
    elif person.role != "agent" and agent_event:
        out.add("C9", ERROR, PERSON_NOT_AGENT, media=_acted_on(e), todo=DO_USE_AGENT, actor=e.actor, type=e.type)
    if person.tier != "vendor":
        _check_subcontractor(st, e.actor, e.at, person, out, _acted_on(e))
    elif person.role != "agent" and _foreign_vendor_staff(st, person.organisation, person.employment):
        out.add("C9", ERROR, VENDOR_TIER_OTHER_COMPANY, media=_acted_on(e), missing=NEED_SUBCONTRACT,
                todo=DO_REGISTER_AS_SUBCONTRACTOR, actor=e.actor, org=person.organisation,
                vendor=_vendor_name(st))
    if e.type in RESPONSIBLE_ONLY_TYPES and person.role != "responsible":
        out.add("C9", ERROR, RESPONSIBLE_ONLY, media=_acted_on(e), todo=DO_ASK_RESPONSIBLE, type=e.type, actor=e.actor,
                role=(person.role, txt.ROLE_JA.get(person.role, person.role)))


def quiet_agent(st: LedgerState, actor: str, seq: int) -> bool:
    """Whether ``_check_actor`` finds nothing in an agent's entry (a type of AGENT_TYPES) by ``actor`` at ``seq``:
    its key is a registered agent of the vendor's tier, not removed before the entry (docs/spec-rules.md §6 C9).
    An agent entry is no responsible-only act and an agent is never judged as foreign vendor staff, so nothing
    else is asked.  True at ``seq`` is True at every seq before it."""
    person = st.people.get(actor)
    return (person is not None and person.role == "agent" and person.tier == "vendor"
            and (person.removed_seq is None or seq <= person.removed_seq))


def _valid_subcontract(st: LedgerState, ref: str, tier: str, at: str) -> bool:
    sc = st.subcontracts.get(ref)
    when = _ms(at)
    return sc is not None and sc.tier == tier and when is not None and sc.from_ms <= when <= sc.until_ms


def _vendor_name(st: LedgerState) -> str:
    return _s(_d(st.genesis or {}, "vendor"), "name")


def _foreign_vendor_staff(st: LedgerState, organisation: str, employment: str) -> bool:
    """Registered at the vendor tier but employed by another company (a dispatched worker, 第7, is allowed)."""
    vendor = _vendor_name(st)
    return bool(vendor and organisation and employment != "dispatched"
                and _norm_org(organisation) != _norm_org(vendor))


def _check_subcontractor(st: LedgerState, actor: str, at: str, person: Person, out: _Out,
                         media: str | None = None) -> None:
    """A subcontractor acts under a valid approval of its tier, given to its own company (C9)."""
    ref = person.subcontract_id or ""
    if not _valid_subcontract(st, ref, person.tier, at):
        out.add("C9", ERROR, SUBCONTRACTOR_UNAPPROVED, media=media, missing=NEED_SUBCONTRACT,
                todo=DO_RECORD_SUBCONTRACT, actor=actor, tier=(person.tier, txt.TIER_JA.get(person.tier, person.tier)),
                org=person.organisation, at=at)
    elif _norm_org(person.organisation) != _norm_org(st.subcontracts[ref].name):
        out.add("C9", ERROR, SUBCONTRACTOR_OTHER_COMPANY, media=media, missing=NEED_SUBCONTRACT,
                todo=DO_RECORD_SUBCONTRACT, actor=actor, org=person.organisation, ref=ref,
                approved=st.subcontracts[ref].name)


def _need_subcontract(out: _Out, tier: str, ref: str) -> None:
    out.add("C9", ERROR, TIER_NEEDS_APPROVAL, missing=NEED_SUBCONTRACT_ID, todo=DO_SUBCONTRACT_FIRST,
            tier=(tier, txt.TIER_JA.get(tier, tier)), ref=ref or "-")


def _h_registered(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    body = e.body
    key_name = _s(body, "vkey").split("+", 1)[0]
    if not key_name:
        out.add("C9", ERROR, NO_VKEY, todo=DO_GIVE_VKEY)
        return
    existing = st.people.get(key_name)
    if existing is not None and existing.removed_seq is None:
        out.add("C9", ERROR, ALREADY_REGISTERED, todo=DO_CHANGE_PERSON, name=key_name,
                seq=existing.registered_seq)
        return
    tier, role, ref = _s(body, "tier") or "vendor", _s(body, "role") or "operator", _s(body, "subcontract_id")
    org = _s(body, "organisation")
    if tier != "vendor":
        if not st.permits.get("subcontracting"):
            out.add("C9", ERROR, NO_SUBCONTRACTING, todo=DO_VENDOR_ONLY)
        elif not _valid_subcontract(st, ref, tier, e.at):
            _need_subcontract(out, tier, ref)
        elif _norm_org(org) != _norm_org(st.subcontracts[ref].name):
            out.add("C9", ERROR, SUBCONTRACTOR_OTHER_COMPANY, missing=NEED_SUBCONTRACT,
                    todo=DO_RECORD_SUBCONTRACT, actor=key_name, org=org, ref=ref,
                    approved=st.subcontracts[ref].name)
    elif role != "agent" and _foreign_vendor_staff(st, org, _s(body, "employment")):
        out.add("C9", ERROR, OTHER_ORGANISATION, missing=NEED_SUBCONTRACT,
                todo=DO_REGISTER_AS_SUBCONTRACTOR, name=key_name, org=org, vendor=_vendor_name(st))
    if role == "responsible":
        out.add("C9", WARNING, NEW_RESPONSIBLE, todo=DO_KEEP_APPROVAL, blocking=False)
    if commit:
        st.people[key_name] = Person(key_name, _s(body, "name"), org, tier, role, e.seq, None, ref or None,
                                     _s(body, "employment"))


def _active_person(st: LedgerState, out: _Out, key_name: str) -> Person | None:
    person = st.people.get(key_name)
    if person is None or person.removed_seq is not None:
        out.add("C9", ERROR, PERSON_UNKNOWN, todo=DO_CHECK_KEY_NAME, name=key_name or "-")
        return None
    return person


def _h_changed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    person = _active_person(st, out, _s(e.body, "key_name"))
    if person is None:
        return
    changes = _d(e.body, "changes")
    tier = _s(changes, "tier") or person.tier
    ref = _s(changes, "subcontract_id") or person.subcontract_id or ""
    if tier != "vendor" and not _valid_subcontract(st, ref, tier, e.at):
        _need_subcontract(out, tier, ref)
    if _s(changes, "role") == "responsible" and not _s(e.body, "approval_reference"):
        out.add("C9", WARNING, NEW_RESPONSIBLE, missing=NEED_APPROVAL_REFERENCE, todo=DO_KEEP_APPROVAL,
                blocking=False)
    if commit:
        for name in ("name", "organisation", "tier", "role", "subcontract_id", "employment"):  # reported_at: C23
            if _s(changes, name):
                setattr(person, name, _s(changes, name))


def _h_removed(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    person = _active_person(st, out, _s(e.body, "key_name"))
    if person is not None and commit:
        person.removed_seq = e.seq


def _h_key(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    key_name = _s(e.body, "key_name")
    if key_name not in st.people:
        out.add("C9", ERROR, PERSON_UNKNOWN, todo=DO_CHECK_KEY_NAME, name=key_name or "-")
        return
    actor = st.people.get(e.actor)
    if e.actor != key_name and (actor is None or actor.role != "responsible"):
        out.add("C9", ERROR, KEY_OWNER_ONLY, todo=DO_ASK_RESPONSIBLE, name=key_name)


def _h_subcontract(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    if not st.permits.get("subcontracting"):
        out.add("C9", ERROR, NO_SUBCONTRACTING, todo=DO_VENDOR_ONLY)
    approval = _approval(st, e, "subcontract", out)
    if approval is None:
        return
    body, sub = approval.body, approval.body.subcontractor
    if body.id in st.approvals:
        out.add("C9", ERROR, txt.APPROVAL_RECORDED, todo=txt.DO_RECORD_ONCE, id=body.id)
        return
    if sub is None:
        return
    if sub.tier == "sub-subcontractor" and not any(
        s.name == sub.parent and s.tier == "subcontractor" for s in st.subcontracts.values()
    ):
        out.add("C9", WARNING, PARENT_UNAPPROVED, todo=DO_RECORD_PARENT, blocking=False, name=sub.name,
                parent=sub.parent or "-")
    if commit:
        st.subcontracts[body.id] = Subcontract(body.id, e.seq, sub.name, sub.tier, sub.parent, body.valid_from,
                                               body.valid_until, body.valid_from_ms, body.valid_until_ms)
        _use_approval(st, approval, e.seq)


def _check_person_ref(st: LedgerState, e: EventLike, out: _Out, ref: Any, what: Text | RuleText) -> None:
    """A person given by key name must be registered and active (C9)."""
    if isinstance(ref, str) and ref:
        person = st.people.get(ref)
        if ref == e.actor and (person is None or (person.removed_seq is not None and e.seq > person.removed_seq)):
            return  # the signer themself: _check_actor reported it already (one finding per cause)
        if person is not None and person.removed_seq is not None and e.seq > person.removed_seq:
            # A removed person is told so, not "not registered" (they were).
            out.add("C9", ERROR, PERSON_REF_REMOVED, todo=DO_ACT_REGISTERED, what=what, name=ref,
                    seq=person.removed_seq)
        elif person is None or not person.active_at(e.seq):
            out.add("C9", ERROR, PERSON_REF_UNKNOWN, todo=DO_REGISTER_FIRST, what=what, name=ref)


def _check_carriers(st: LedgerState, e: EventLike, out: _Out, carriers: Sequence[str]) -> None:
    for carrier in carriers:
        person = st.person_by_name(carrier)
        if person is None or not person.active_at(e.seq):
            out.add("C9", ERROR, CARRIER_UNKNOWN, todo=DO_APPROVED_CARRIERS, name=carrier)
        elif person.tier != "vendor":
            _check_subcontractor(st, person.key_name, e.at, person, out)


#: The entry types this family handles.
HANDLERS: dict[str, Handler] = {
    "personnel.registered": _h_registered,
    "personnel.changed": _h_changed,
    "personnel.removed": _h_removed,
    "subcontract.approved": _h_subcontract,
    "key.rotated": _h_key,
    "key.revoked": _h_key,
}


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C9", RuleText("actor not registered, or subcontractor without approval"), "①"),
)


# --- bodies: what the CLI records (ledger/lifecycle/defaults.py) ---


def body_for_personnel_registered(state: LedgerState, given: dict[str, Any]) -> dict[str, Any]:
    """personnel.registered: a vendor operator unless said otherwise, of the vendor's organisation."""
    body = dict(given)
    body.setdefault("tier", "vendor")
    body.setdefault("role", "operator")
    if "organisation" not in body and body["tier"] == "vendor" and vendor_name(state):
        body["organisation"] = vendor_name(state)
    return body


def body_for_personnel_changed(key_name: str, changes: dict[str, Any], **options: Any) -> dict[str, Any]:
    """personnel.changed: the person's changed details (``reason``, ``approval_reference``, ``reported_at``)."""
    return merged({"key_name": key_name, "changes": merged({}, changes)}, options)


def body_for_personnel_removed(key_name: str, reason: str | None) -> dict[str, Any]:
    return merged({"key_name": key_name}, {"reason": reason})


def body_for_subcontract_approved(approval_note: str, **options: Any) -> dict[str, Any]:
    """subcontract.approved: the municipality's approval note as signed (``remarks``, ``attachments``)."""
    return merged({"approval": approval_note}, options)


def body_for_key_rotated(*, signer: str, key_name: str | None, new_vkey: str, reason: str | None) -> dict[str, Any]:
    """key.rotated: the signer's own key unless another person's is named."""
    return merged({"key_name": key_name or signer, "new_vkey": new_vkey}, {"reason": reason})


def body_for_key_revoked(*, key_name: str, vkey: str, reason: str) -> dict[str, Any]:
    return {"key_name": key_name, "vkey": vkey, "reason": reason}
