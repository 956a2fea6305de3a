"""The texts of the lifecycle and approval rules: English message keys, their Japanese in a catalogue.

Each constant is a :class:`RuleText`: the English ``str.format`` template, which is also the msgid of its
Japanese in ``ledger/locale/ja/rules.po`` (msgctxt ``rule``), read through :mod:`custody.ledger.i18n` like
every other message of custody.  :mod:`custody.ledger.lifecycle` and :mod:`custody.ledger.approval` fill
them with :func:`fill`, which gives both languages, and keep both in every
:class:`~ledger.violation.Violation` (a finding is shown in either language).

Naming: a bare name is the message; ``NEED_*`` says what is missing; ``DO_*``
says what the person can do.  Both languages use the same fields (a test
checks it); a value that differs by language is passed as an (English,
Japanese) pair, e.g. ``state=("in_storage", "保管庫で保管中")``, or as a RuleText.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from custody.ledger import vocabulary
from custody.ledger.i18n import translate

#: (English, Japanese): a filled text, or a value that differs by language.
Text = tuple[str, str]

#: The msgctxt of every rule text in rules.po: a rule's wording is its own, apart from the command line's.
CONTEXT = "rule"


@dataclass(frozen=True, slots=True)
class RuleText:
    """A rule's message template: its English text, which is the msgid of its Japanese in rules.po.

    Not a ``str`` nor a pair, on purpose: it is only ever filled (:func:`fill`), so that mypy finds any code
    that would print or index it unfilled.  ``RuleText("...")`` is what the i18n tests extract
    (tests/test_i18n.py), as ``_("...")`` is for the command line's messages.
    """

    en: str

    def ja(self) -> str:
        """The Japanese template (the English one where rules.po has none; a test keeps that from happening)."""
        return translate(self.en, "ja", CONTEXT) if self.en else ""


class Pairs(Mapping[str, Text]):
    """Rule texts by key (a finding code's legend), read as (English, Japanese) pairs when looked up."""

    __slots__ = ("texts",)

    def __init__(self, texts: Mapping[str, RuleText]) -> None:
        self.texts = texts

    def __getitem__(self, key: str) -> Text:
        text = self.texts[key]
        return text.en, text.ja()

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __len__(self) -> int:
        return len(self.texts)


#: No text (a violation without a missing item or a next step).
NOTHING = RuleText("")


def _part(value: object, index: int) -> object:
    """A value's part for one language (0: English, 1: Japanese)."""
    if isinstance(value, RuleText):
        return value.ja() if index else value.en
    if isinstance(value, tuple):
        return value[index]
    return value


def fill(text: RuleText, values: dict[str, object]) -> Text:
    """Both templates filled; a value that is an (English, Japanese) pair or a RuleText gives each language its
    part."""
    if not text.en:
        return "", ""
    en = {k: _part(v, 0) for k, v in values.items()}
    ja = {k: _part(v, 1) for k, v in values.items()}
    return text.en.format(**en), text.ja().format(**ja)


# The vocabulary's Japanese words (ledger/vocabulary.py), for values that differ by language.
STATE_JA = vocabulary.STATES.japanese()
EVENT_JA = vocabulary.EVENTS.japanese()
TIER_JA = vocabulary.TIERS.japanese()
ROLE_JA = vocabulary.ROLES.japanese()
KIND_JA = vocabulary.APPROVAL_KINDS.japanese()
INCIDENT_JA = vocabulary.INCIDENTS.japanese()

# --- people (C9) ---


# --- approvals (C2 C3 C5 C7 C9) ---

APPROVAL_NOT_UTF8 = RuleText("The approval is not valid UTF-8")
APPROVAL_RECORDED = RuleText("Approval {id} is already recorded")
DO_RECORD_ONCE = RuleText("Each approval is recorded once.")
NOTE_MALFORMED = RuleText("The approval is not a well-formed signed note: {why}")
NOT_AN_APPROVAL = RuleText("The note is not a custody approval (custody/approval/v1, origin, one JSON line)")
APPROVAL_FORGED = RuleText("The approval's signature by {name} does not verify: it was altered or forged")
APPROVAL_WRONG_SIGNER = RuleText("The approval is not signed by a municipality approver key (signed by: {names})")
APPROVAL_UNPINNED_SIGNER = RuleText(
    "The approval is not signed by a municipality approver key of this contract: {names} is not a key the contract "
    "pins for this municipality (another municipality's or an unknown key)"
)
APPROVAL_UNPINNED_OTHER_ORIGIN = RuleText(
    "The approval is not signed by a municipality approver key of this contract: it was issued for another ledger "
    "({other}) and signed by {names}, a key this contract does not pin"
)
APPROVAL_OTHER_ORIGIN = RuleText("The approval was issued for another ledger ({other}), not {origin}")
APPROVAL_MALFORMED = RuleText("The approval body is malformed: {why}")
APPROVAL_WRONG_KIND = RuleText("Approval {id} is a {actual} approval, not a {kind} approval")
NEED_NOTE = RuleText("an approval note signed by a municipality approver key pinned in the contract")
NEED_KIND = RuleText("a {kind} approval")
DO_ASK_AGAIN = RuleText("Ask the municipality for the approval file again and use it unchanged.")
DO_ASK_APPROVER = RuleText(
    "Have a municipality approver sign the approval (custody approve); a vendor key cannot approve."
)
DO_ASK_PINNED_APPROVER = RuleText(
    "Ask this contract's municipality for the approval, signed by one of the approvers it pinned (custody approve)."
)
DO_ASK_THIS_ORIGIN = RuleText("Ask the municipality for an approval issued for this ledger's origin.")
DO_ASK_KIND = RuleText("Ask the municipality for a {kind} approval.")
DO_NEW_APPROVAL = RuleText("Ask the municipality for a new approval covering this act.")
MEDIUM_NOT_COVERED = RuleText("Approval {id} does not cover medium {media}")
NEED_COVERING = RuleText("an approval covering medium {media}")
DO_ASK_FOR_MEDIUM = RuleText("Ask the municipality for a new approval covering medium {media}.")
NOT_YET_VALID = RuleText("Approval {id} is valid only from {start}")
NEED_VALID_NOW = RuleText("an approval valid at the time of the act")
DO_WAIT = RuleText("Wait until {start}, or ask the municipality for an approval valid now.")
EXPIRED = RuleText("Approval {id} expired at {end}")
APPROVED_AFTER = RuleText("Approval {id} was given at {approved}, after the act: it is not a prior approval")
NEED_PRIOR = RuleText("a prior approval")
USED_UP = RuleText("Approval {id} allows {limit} use(s) and was already used {uses} time(s)")
NEED_UNUSED = RuleText("an approval not yet used up")
TARGET_NOT_NAMED = RuleText("Approval {id} names the copies {targets}; {media} is not one of them")
NEED_TARGET = RuleText("an approval naming {media} as a copy")
WRONG_TRANSPORT = RuleText("Approval {id} allows the transport '{approved}', not '{actual}'")
NEED_TRANSPORT = RuleText("an approval for the transport '{actual}'")
DO_USE_TRANSPORT = RuleText("Use the approved transport ({approved}) or ask for a new approval.")
NO_CARRIERS = RuleText("No carrier is named for the takeout")
NEED_CARRIERS = RuleText("the carriers")
DO_NAME_CARRIERS = RuleText("Name the approved carriers.")
WRONG_CARRIER = RuleText("{carrier} is not an approved carrier of approval {id} (approved: {approved})")
NEED_CARRIER = RuleText("an approval naming {carrier} as carrier")
DO_ONLY_CARRIERS = RuleText("Only the approved carriers may carry the media; or ask for a new approval.")
NOT_ENCRYPTED = RuleText("The media would be taken out without the required encryption")
NEED_ENCRYPTION = RuleText("encryption of the data taken out")
NO_ALGORITHM = RuleText("The encryption algorithm is not recorded")
NEED_ALGORITHM = RuleText("the encryption algorithm")
WEAK_ENCRYPTION = RuleText("Encryption {algorithm} does not meet the approved minimum {minimum}")
NEED_MINIMUM = RuleText("encryption of at least {minimum}")
DO_ENCRYPT = RuleText("Encrypt the data (e.g. AES-256), have it verified, and record the method and algorithm.")

# --- media transitions ---

DO_RECORD_FOUND = RuleText("If it was found, record that first (custody incident --kind found).")

# --- takeouts (C2 C3 C4) ---

DO_NOTHING_LATE = RuleText("Recorded as it happened; the municipality will see the delay.")
DO_ERASE_AGAIN = RuleText("Erase again and verify; record only a verified erasure.")

# --- copies (C5) ---


# --- erasure and disposal (C7 C8) ---

NEED_DISPOSAL_11_2 = RuleText("the municipality's disposal approval (第11-2)")

# --- incidents, inspections, closing (C1 C14) ---

CLOSED_NO_MORE = RuleText("The contract was closed at seq {seq}: {type} is no longer possible")
DO_NOTHING_REMAINS = RuleText("No data may remain or be used after completion.")

# --- the agent (C10 C11 C12 C13) ---


# --- end of the ledger (finish) ---



def state_text(state: str) -> Text:
    return state, STATE_JA.get(state, state)


def event_text(event: str) -> Text:
    return event, EVENT_JA.get(event, event)

# --- added checks ---

WRONG_DESTINATION = RuleText("Approval {id} allows taking the media to '{approved}', not '{actual}'")
NEED_DESTINATION = RuleText("an approval for the destination '{actual}'")
DO_USE_DESTINATION = RuleText(
    "Take the media only to the approved destination ({approved}), or ask for a new approval."
)
