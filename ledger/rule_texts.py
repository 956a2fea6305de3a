"""The texts of the lifecycle and approval rules, in English and Japanese.

Each constant is an ``(English, Japanese)`` pair of ``str.format`` templates;
:mod:`custody.ledger.lifecycle` and :mod:`custody.ledger.approval` fill them and keep both
languages in every :class:`~ledger.violation.Violation`.  They are kept here,
in one table, so that both languages can be read and corrected side by side
(they are deliberately not gettext messages: a finding carries both).

Naming: a bare name is the message; ``NEED_*`` says what is missing; ``DO_*``
says what the person can do.  Both languages use the same fields (a test
checks it); a value that differs by language is passed as an (English,
Japanese) pair, e.g. ``state=("in_storage", "保管庫で保管中")``.
"""

from __future__ import annotations

from custody.ledger import vocabulary

Text = tuple[str, str]

# The vocabulary's Japanese words (ledger/vocabulary.py), for values that differ by language.
STATE_JA = {code: ja for code, (_en, ja) in vocabulary.STATES.items()}
EVENT_JA = {code: ja for code, (_en, ja) in vocabulary.EVENTS.items()}
TIER_JA = {code: ja for code, (_en, ja) in vocabulary.TIERS.items()}
ROLE_JA = {code: ja for code, (_en, ja) in vocabulary.ROLES.items()}
KIND_JA = {code: ja for code, (_en, ja) in vocabulary.APPROVAL_KINDS.items()}
INCIDENT_JA = {code: ja for code, (_en, ja) in vocabulary.INCIDENTS.items()}

# --- people (C9) ---


# --- approvals (C2 C3 C5 C7 C9) ---

APPROVAL_NOT_UTF8: Text = ("The approval is not valid UTF-8", "承認書が UTF-8 ではありません")
APPROVAL_RECORDED: Text = ("Approval {id} is already recorded", "承認 {id} は既に記録されています")
DO_RECORD_ONCE: Text = ("Each approval is recorded once.", "承認は一度だけ記録します。")
NOTE_MALFORMED: Text = (
    "The approval is not a well-formed signed note: {why}",
    "承認書が正しい署名付きノートではありません: {why}",
)
NOT_AN_APPROVAL: Text = (
    "The note is not a custody approval (custody/approval/v1, origin, one JSON line)",
    "このノートは custody の承認書ではありません(custody/approval/v1、origin、JSON 1行)",
)
APPROVAL_FORGED: Text = (
    "The approval's signature by {name} does not verify: it was altered or forged",
    "承認書の {name} による署名が検証できません。改ざんまたは偽造されています",
)
APPROVAL_WRONG_SIGNER: Text = (
    "The approval is not signed by a municipality approver key (signed by: {names})",
    "承認書が委託者の承認者鍵で署名されていません(署名者: {names})",
)
APPROVAL_UNPINNED_SIGNER: Text = (
    ("The approval is not signed by a municipality approver key of this contract: {names} is not a key the "
     "contract pins for this municipality (another municipality's or an unknown key)"),
    ("承認書がこの契約の委託者の承認者鍵で署名されていません。{names} はこの契約が委託者の鍵として登録していない鍵です"
     "(他団体の鍵または不明な鍵)"),
)
APPROVAL_UNPINNED_OTHER_ORIGIN: Text = (
    ("The approval is not signed by a municipality approver key of this contract: it was issued for another "
     "ledger ({other}) and signed by {names}, a key this contract does not pin"),
    ("承認書がこの契約の委託者の承認者鍵で署名されていません。別の台帳({other})向けに発行され、この契約が登録して"
     "いない鍵 {names} で署名されています"),
)
APPROVAL_OTHER_ORIGIN: Text = (
    "The approval was issued for another ledger ({other}), not {origin}",
    "この承認書は別の台帳({other})向けで、{origin} 向けではありません",
)
APPROVAL_MALFORMED: Text = ("The approval body is malformed: {why}", "承認書の本文が不正です: {why}")
APPROVAL_WRONG_KIND: Text = (
    "Approval {id} is a {actual} approval, not a {kind} approval",
    "承認 {id} は{actual}の承認で、{kind}の承認ではありません",
)
NEED_NOTE: Text = (
    "an approval note signed by a municipality approver key pinned in the contract",
    "契約で登録された委託者の承認者鍵で署名された承認書",
)
NEED_KIND: Text = ("a {kind} approval", "{kind}の承認")
DO_ASK_AGAIN: Text = (
    "Ask the municipality for the approval file again and use it unchanged.",
    "承認書ファイルを委託者から改めて受け取り、そのまま使ってください。",
)
DO_ASK_APPROVER: Text = (
    "Have a municipality approver sign the approval (custody approve); a vendor key cannot approve.",
    "委託者の承認者に署名してもらってください(custody approve)。受託者の鍵では承認できません。",
)
DO_ASK_PINNED_APPROVER: Text = (
    "Ask this contract's municipality for the approval, signed by one of the approvers it pinned (custody approve).",
    "この契約の委託者に、契約で登録された承認者が署名した承認書を申請してください(custody approve)。",
)
DO_ASK_THIS_ORIGIN: Text = (
    "Ask the municipality for an approval issued for this ledger's origin.",
    "この台帳の origin 向けの承認書を委託者に申請してください。",
)
DO_ASK_KIND: Text = ("Ask the municipality for a {kind} approval.", "{kind}の承認を委託者に申請してください。")
DO_NEW_APPROVAL: Text = (
    "Ask the municipality for a new approval covering this act.",
    "この行為を対象とする新しい承認を委託者に申請してください。",
)
MEDIUM_NOT_COVERED: Text = (
    "Approval {id} does not cover medium {media}",
    "承認 {id} は媒体 {media} を対象としていません",
)
NEED_COVERING: Text = ("an approval covering medium {media}", "媒体 {media} を対象とする承認")
DO_ASK_FOR_MEDIUM: Text = (
    "Ask the municipality for a new approval covering medium {media}.",
    "媒体 {media} を対象とする新しい承認を委託者に申請してください。",
)
NOT_YET_VALID: Text = ("Approval {id} is valid only from {start}", "承認 {id} の有効期間は {start} からです")
NEED_VALID_NOW: Text = ("an approval valid at the time of the act", "行為の時点で有効な承認")
DO_WAIT: Text = (
    "Wait until {start}, or ask the municipality for an approval valid now.",
    "{start} まで待つか、現在有効な承認を委託者に申請してください。",
)
EXPIRED: Text = ("Approval {id} expired at {end}", "承認 {id} は {end} に期限切れです")
APPROVED_AFTER: Text = (
    "Approval {id} was given at {approved}, after the act: it is not a prior approval",
    "承認 {id} は行為の後({approved})に与えられており、事前承認ではありません",
)
NEED_PRIOR: Text = ("a prior approval", "事前の承認")
USED_UP: Text = (
    "Approval {id} allows {limit} use(s) and was already used {uses} time(s)",
    "承認 {id} の使用可能回数は {limit} 回で、既に {uses} 回使用されています",
)
NEED_UNUSED: Text = ("an approval not yet used up", "使用回数が残っている承認")
TARGET_NOT_NAMED: Text = (
    "Approval {id} names the copies {targets}; {media} is not one of them",
    "承認 {id} が認める複製先は {targets} で、{media} は含まれていません",
)
NEED_TARGET: Text = ("an approval naming {media} as a copy", "{media} を複製先とする承認")
WRONG_TRANSPORT: Text = (
    "Approval {id} allows the transport '{approved}', not '{actual}'",
    "承認 {id} が認める運搬方法は「{approved}」で、「{actual}」ではありません",
)
NEED_TRANSPORT: Text = ("an approval for the transport '{actual}'", "運搬方法「{actual}」の承認")
DO_USE_TRANSPORT: Text = (
    "Use the approved transport ({approved}) or ask for a new approval.",
    "承認された運搬方法({approved})を使うか、新しい承認を申請してください。",
)
NO_CARRIERS: Text = ("No carrier is named for the takeout", "持ち出しの運搬者が記載されていません")
NEED_CARRIERS: Text = ("the carriers", "運搬者")
DO_NAME_CARRIERS: Text = ("Name the approved carriers.", "承認された運搬者を記載してください。")
WRONG_CARRIER: Text = (
    "{carrier} is not an approved carrier of approval {id} (approved: {approved})",
    "{carrier} は承認 {id} の運搬者ではありません(承認された運搬者: {approved})",
)
NEED_CARRIER: Text = ("an approval naming {carrier} as carrier", "{carrier} を運搬者とする承認")
DO_ONLY_CARRIERS: Text = (
    "Only the approved carriers may carry the media; or ask for a new approval.",
    "承認された運搬者のみが運搬できます。必要なら新しい承認を申請してください。",
)
NOT_ENCRYPTED: Text = (
    "The media would be taken out without the required encryption",
    "必要な暗号化がされないまま持ち出そうとしています",
)
NEED_ENCRYPTION: Text = ("encryption of the data taken out", "持ち出すデータの暗号化")
NO_ALGORITHM: Text = ("The encryption algorithm is not recorded", "暗号化アルゴリズムが記録されていません")
NEED_ALGORITHM: Text = ("the encryption algorithm", "暗号化アルゴリズム")
WEAK_ENCRYPTION: Text = (
    "Encryption {algorithm} does not meet the approved minimum {minimum}",
    "暗号化方式 {algorithm} は承認の最低要件 {minimum} を満たしていません",
)
NEED_MINIMUM: Text = ("encryption of at least {minimum}", "{minimum} 以上の暗号化")
DO_ENCRYPT: Text = (
    "Encrypt the data (e.g. AES-256), have it verified, and record the method and algorithm.",
    "データを暗号化し(例: AES-256)、確認を受けて、方式とアルゴリズムを記録してください。",
)

# --- media transitions ---

DO_RECORD_FOUND: Text = (
    "If it was found, record that first (custody incident --kind found).",
    "発見された場合は、先にその旨を記録してください(custody incident --kind found)。",
)

# --- takeouts (C2 C3 C4) ---

DO_NOTHING_LATE: Text = (
    "Recorded as it happened; the municipality will see the delay.",
    "事実として記録されます。遅延は委託者に報告されます。",
)
DO_ERASE_AGAIN: Text = (
    "Erase again and verify; record only a verified erasure.",
    "再度消去して確認し、確認できた消去のみ記録してください。",
)

# --- copies (C5) ---


# --- erasure and disposal (C7 C8) ---

NEED_DISPOSAL_11_2: Text = ("the municipality's disposal approval (第11-2)", "委託者の廃棄承諾(特記事項第11-2)")

# --- incidents, inspections, closing (C1 C14) ---

CLOSED_NO_MORE: Text = (
    "The contract was closed at seq {seq}: {type} is no longer possible",
    "契約は seq {seq} で完了しています。{type} はできません",
)
DO_NOTHING_REMAINS: Text = (
    "No data may remain or be used after completion.",
    "完了後はデータを保持・利用できません。",
)

# --- the agent (C10 C11 C12 C13) ---


# --- end of the ledger (finish) ---



def fill(pair: Text, values: dict[str, object]) -> Text:
    """Both templates filled; a value that is an (English, Japanese) pair gives each language its part."""
    en = {k: v[0] if isinstance(v, tuple) else v for k, v in values.items()}
    ja = {k: v[1] if isinstance(v, tuple) else v for k, v in values.items()}
    return pair[0].format(**en), pair[1].format(**ja)


def state_text(state: str) -> Text:
    return state, STATE_JA.get(state, state)


def event_text(event: str) -> Text:
    return event, EVENT_JA.get(event, event)

# --- added checks ---

WRONG_DESTINATION: Text = (
    "Approval {id} allows taking the media to '{approved}', not '{actual}'",
    "承認 {id} が認める持ち出し先は「{approved}」で、「{actual}」ではありません",
)
NEED_DESTINATION: Text = ("an approval for the destination '{actual}'", "持ち出し先「{actual}」の承認")
DO_USE_DESTINATION: Text = (
    "Take the media only to the approved destination ({approved}), or ask for a new approval.",
    "承認された持ち出し先({approved})にのみ持ち出すか、新しい承認を申請してください。",
)
