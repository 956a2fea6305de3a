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

ACTOR_UNKNOWN: Text = (
    "{actor} is not registered personnel of this ledger",
    "{actor} はこの台帳に登録された作業者ではありません",
)
NEED_REGISTRATION: Text = ("a personnel.registered entry for {actor}", "{actor} の作業者登録")
DO_REGISTER: Text = (
    "Have the responsible person register {actor} (custody person add) before they act.",
    "作業責任者が {actor} を登録してから作業してください(custody person add)。",
)
ACTOR_REMOVED: Text = (
    "{actor} was removed at seq {seq} and may no longer act",
    "{actor} は seq {seq} で登録を抹消されており、作業できません",
)
DO_ACT_REGISTERED: Text = (
    "Have a registered person do it, or register the person again.",
    "登録済みの作業者が行うか、改めて登録してください。",
)
AGENT_NOT_PERSON: Text = (
    "{actor} is an agent key: it records observations only, not {type}",
    "{actor} はエージェントの鍵で、観測のみ記録できます({type} は記録できません)",
)
DO_SIGN_AS_PERSON: Text = ("Sign with the key of the person who acted.", "行為した本人の鍵で署名してください。")
PERSON_NOT_AGENT: Text = (
    "Only an agent key records observations ({type}); {actor} is a person",
    "観測({type})はエージェントの鍵のみが記録できます({actor} は作業者です)",
)
DO_USE_AGENT: Text = (
    "Register the agent's own key (role agent) and let the agent record.",
    "エージェント用の鍵(role agent)を登録し、エージェントに記録させてください。",
)
RESPONSIBLE_ONLY: Text = (
    "Only the responsible person may record {type}; {actor} is {role}",
    "{type} は作業責任者のみが記録できます({actor} は{role})",
)
DO_ASK_RESPONSIBLE: Text = (
    "Ask the responsible person (作業責任者) to record it.",
    "作業責任者に記録を依頼してください。",
)
SUBCONTRACTOR_UNAPPROVED: Text = (
    "{actor} works for a {tier} ({org}) with no subcontract approval valid at {at}",
    "{actor} は{tier}({org})の作業者ですが、{at} 時点で有効な再委託の承諾がありません",
)
NEED_SUBCONTRACT: Text = (
    "the municipality's subcontract approval (special terms 第8-2), valid now",
    "現在有効な委託者の再委託承諾(特記事項第8-2)",
)
DO_RECORD_SUBCONTRACT: Text = (
    ("Record the municipality's subcontract approval (custody subcontract record) before a subcontractor acts; "
     "re-subcontracting needs its own approval."),
    ("再委託先が作業する前に委託者の承諾を記録してください(custody subcontract record)。"
     "再々委託にはそれ自体の承諾が必要です。"),
)
TIER_NEEDS_APPROVAL: Text = (
    "A {tier} person needs a valid subcontract approval of that tier (given: {ref})",
    "{tier}の作業者には、その階層の有効な再委託承諾が必要です(指定: {ref})",
)
NEED_SUBCONTRACT_ID: Text = (
    "the id of a recorded subcontract approval (subcontract_id)",
    "記録済みの再委託承諾の番号(subcontract_id)",
)
DO_SUBCONTRACT_FIRST: Text = (
    ("Record the municipality's subcontract approval first (custody subcontract record), then register the person "
     "with its id."),
    ("先に委託者の再委託承諾を記録し(custody subcontract record)、"
     "その番号を付けて登録してください。"),
)
NO_VKEY: Text = ("The registration has no valid vkey", "登録に有効な vkey がありません")
DO_GIVE_VKEY: Text = ("Register the person with their vkey.", "作業者の vkey を付けて登録してください。")
ALREADY_REGISTERED: Text = ("{name} is already registered (seq {seq})", "{name} は既に登録されています(seq {seq})")
DO_CHANGE_PERSON: Text = (
    "Use custody person change, or choose another key name.",
    "custody person change を使うか、別の鍵名を使ってください。",
)
NO_SUBCONTRACTING: Text = ("The contract does not allow subcontracting", "契約は再委託を認めていません")
DO_VENDOR_ONLY: Text = (
    "Only vendor staff may work on this contract.",
    "この契約では受託者の従業員のみが作業できます。",
)
OTHER_ORGANISATION: Text = (
    "{name} belongs to {org}, not the vendor {vendor}, but is registered as vendor staff",
    "{name} の所属は {org} で受託者 {vendor} ではありませんが、受託者として登録されています",
)
DO_REGISTER_AS_SUBCONTRACTOR: Text = (
    "If the person works for another company, register them as a subcontractor with the municipality's approval.",
    "他社の従業員であれば、委託者の承諾を得て再委託先として登録してください。",
)
NEW_RESPONSIBLE: Text = (
    "A new responsible person needs the municipality's prior approval (第6-3)",
    "作業責任者の変更には委託者の事前承認が必要です(特記事項第6-3)",
)
NEED_APPROVAL_REFERENCE: Text = ("the number of that approval (approval_reference)", "その承認番号(approval_reference)")
DO_KEEP_APPROVAL: Text = ("Record the number of the municipality's approval.", "委託者の承認番号を記録してください。")
PERSON_UNKNOWN: Text = ("{name} is not a registered, active person", "{name} は登録中の作業者ではありません")
DO_CHECK_KEY_NAME: Text = ("Check the key name (custody status).", "鍵名を確認してください(custody status)。")
KEY_OWNER_ONLY: Text = (
    "Only {name} or the responsible person may change {name}'s keys",
    "{name} の鍵を変更できるのは本人か作業責任者のみです",
)
PARENT_UNAPPROVED: Text = (
    "{name} is a sub-subcontractor of {parent}, whose own approval is not recorded",
    "{name} は {parent} の再々委託先ですが、{parent} の承諾が記録されていません",
)
DO_RECORD_PARENT: Text = ("Record the subcontractor's approval too.", "再委託先の承諾も記録してください。")
PERSON_REF_UNKNOWN: Text = (
    "{what} {name} is not registered personnel",
    "{what} {name} は登録された作業者ではありません",
)
DO_REGISTER_FIRST: Text = (
    "Register the person first (custody person add).",
    "先に作業者を登録してください(custody person add)。",
)
CARRIER_UNKNOWN: Text = ("Carrier {name} is not registered personnel", "運搬者 {name} は登録された作業者ではありません")
DO_APPROVED_CARRIERS: Text = (
    "Only registered personnel named in the approval may carry media.",
    "承認に記載された登録済みの作業者のみが運搬できます。",
)

# --- approvals (C2 C3 C5 C7 C9) ---

APPROVAL_MISSING: Text = ("No {kind} approval is attached", "{kind}の承認書が添付されていません")
NEED_APPROVAL: Text = ("the municipality's signed {kind} approval", "委託者が署名した{kind}の承認書")
DO_APPLY: Text = (
    "Apply for it (custody {kind} request) and attach the approval you receive.",
    "申請し(custody {kind} request)、受け取った承認書を添付してください。",
)
APPROVAL_NOT_UTF8: Text = ("The approval is not valid UTF-8", "承認書が UTF-8 ではありません")
APPROVAL_ID_CLASH: Text = (
    "Another approval with the same number {id} was used before (seq {seq})",
    "同じ番号 {id} の別の承認書が既に使われています(seq {seq})",
)
DO_ASK_WHICH: Text = ("Ask the municipality which approval is valid.", "どちらが有効な承認か委託者に確認してください。")
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

SEEN_AGAIN_ACT: Text = (
    "Medium {m} was {state} (seq {seq}); it is acted on again ({event})",
    "媒体 {m} は{state}(seq {seq})ですが、再び扱われています({event})",
)
NEED_LIVE_MEDIUM: Text = ("a medium that is still in the register", "台帳上で管理中の媒体")
DO_REPORT_REAPPEARED: Text = (
    "A disposed or returned medium must not reappear: report an incident (custody incident).",
    "廃棄済み・返還済みの媒体が再び現れることはあり得ません。事故として報告してください(custody incident)。",
)
LOST_ACT: Text = (
    "Medium {m} is reported lost; it cannot be used ({event})",
    "媒体 {m} は紛失として報告されているため、{event}できません",
)
DO_RECORD_FOUND: Text = (
    "If it was found, record that first (custody incident --kind found).",
    "発見された場合は、先にその旨を記録してください(custody incident --kind found)。",
)
NOT_IN_REGISTER: Text = ("Medium {m} is not in the media register", "媒体 {m} は媒体管理台帳に登録されていません")
NEED_IN_REGISTER: Text = ("a media.received or media.registered entry for {m}", "{m} の受領または登録の記録")
DO_RECORD_MEDIUM: Text = (
    "Check the media id, or record the medium first (custody media receive|register).",
    "媒体番号を確認するか、先に媒体を記録してください(custody media receive|register)。",
)
ID_TAKEN: Text = (
    "Media id {m} is already in the register (state {state})",
    "媒体番号 {m} は既に台帳にあります(状態: {state})",
)
DO_NEW_ID: Text = (
    "Every medium, and every copy, gets a new media id.",
    "媒体・複製ごとに新しい媒体番号を付けてください。",
)
WRONG_STATE: Text = (
    "{event} is not possible for medium {m} in state {state} (possible from: {allowed})",
    "媒体 {m} は「{state}」のため{event}できません(可能な状態: {allowed})",
)
DO_MISSING_STEP: Text = (
    "Record the missing step first (e.g. check the medium out before taking it out).",
    "抜けている手順を先に記録してください(例: 持ち出し前の出庫)。",
)
SERIAL_GONE: Text = (
    "Serial {serial} belongs to medium {other}, which was {state} (seq {seq})",
    "製造番号 {serial} は{state}の媒体 {other} のものです(seq {seq})",
)
SERIAL_LOST: Text = (
    "Serial {serial} belongs to medium {other}, reported lost",
    "製造番号 {serial} は紛失報告された媒体 {other} のものです",
)
SERIAL_TAKEN: Text = (
    "Serial {serial} is already registered as medium {other}",
    "製造番号 {serial} は既に媒体 {other} として登録されています",
)
DO_CHECK_SERIAL: Text = ("Check the serial number.", "製造番号を確認してください。")
SEAL_BROKEN: Text = ("The seal of medium {m} was not intact at check-in", "媒体 {m} の入庫時に封印が破損していました")
DO_REPORT_IF_ACCESSED: Text = (
    "If data may have been accessed, report an incident (custody incident).",
    "データに触れられた可能性があれば事故として報告してください(custody incident)。",
)

# --- takeouts (C2 C3 C4) ---

NO_TAKEOUT_PERMIT: Text = ("The contract does not allow taking data out", "契約は持ち出しを認めていません")
DO_STAY: Text = ("Data stays at the work location.", "データは作業場所から持ち出せません。")
NO_MEDIA_NAMED: Text = ("The takeout names no media", "持ち出す媒体が記載されていません")
DO_NAME_MEDIA: Text = ("Name the media taken out.", "持ち出す媒体を記載してください。")
NO_ENCRYPTION: Text = ("The media would be taken out without encryption", "暗号化されないまま持ち出そうとしています")
NO_SUCH_TAKEOUT: Text = ("There is no takeout departing at seq {seq}", "seq {seq} で出発した持ち出しはありません")
DO_GIVE_TAKEOUT: Text = (
    "Give the seq of the takeout.departed entry (custody status).",
    "持ち出し記録の seq を指定してください(custody status)。",
)
NOT_ON_TAKEOUT: Text = (
    "Medium {m} is not out on the takeout of seq {seq}",
    "媒体 {m} は seq {seq} の持ち出しで持ち出し中ではありません",
)
DO_CHECK_TAKEOUT: Text = ("Check the media ids of the takeout.", "持ち出しの媒体番号を確認してください。")
LATE: Text = ("{what} after its deadline {deadline}", "{what}が期限 {deadline} を過ぎています")
DO_NOTHING_LATE: Text = (
    "Recorded as it happened; the municipality will see the delay.",
    "事実として記録されます。遅延は委託者に報告されます。",
)
WHAT_RETURN: Text = ("Takeout returned", "持ち出しの返却")
WHAT_DEST_ERASURE: Text = ("Data erased at the destination", "持ち出し先での消去")
WHAT_DISPOSAL: Text = ("Disposal record", "廃棄記録")
CHECK_FAILED: Text = ("The return check failed (count or seals)", "返却時の確認(数量または封印)で不一致がありました")
DO_REPORT_IF_LOST: Text = (
    "If data may have been lost or seen, report an incident (custody incident).",
    "データの紛失・漏えいの可能性があれば事故として報告してください(custody incident)。",
)
DEST_NOT_VERIFIED: Text = (
    "The erasure at the destination was not verified as successful",
    "持ち出し先での消去が成功と確認されていません",
)
DO_ERASE_AGAIN: Text = (
    "Erase again and verify; record only a verified erasure.",
    "再度消去して確認し、確認できた消去のみ記録してください。",
)

# --- copies (C5) ---

NO_COPY_PERMIT: Text = ("The contract does not allow copies", "契約は複製を認めていません")
DO_NO_COPIES: Text = ("Copies are not allowed in this contract.", "この契約では複製できません。")

# --- erasure and disposal (C7 C8) ---

ERASURE_NOT_VERIFIED: Text = (
    "The erasure of {m} was not verified as successful",
    "媒体 {m} の消去が成功と確認されていません",
)
MY_NUMBER_ERASURE: Text = (
    "Erasing My Number data from {m} needs the municipality's prior approval (第11-2)",
    "媒体 {m} の特定個人情報の消去には委託者の事前承諾が必要です(特記事項第11-2)",
)
NEED_DISPOSAL_APPROVAL: Text = ("a disposal approval covering this medium", "この媒体を対象とする消去・廃棄の承諾")
DO_APPLY_DISPOSAL: Text = (
    "Apply (custody dispose request), record the approval (custody dispose approved), then act.",
    "申請し(custody dispose request)、承諾を記録して(custody dispose approved)から実施してください。",
)
SERIAL_MISMATCH_APPROVAL: Text = (
    "Approval {id} names serial {serial} for {m}; the register has {registered}",
    "承認 {id} では {m} の製造番号は {serial} ですが、台帳では {registered} です",
)
DO_CORRECT_APPROVAL: Text = (
    "Ask the municipality to correct the approval; disposal is per serial.",
    "承認の訂正を委託者に依頼してください。廃棄は製造番号ごとです。",
)
DISPOSAL_PENDING: Text = (
    "Medium {m} already has a disposal approval ({other})",
    "媒体 {m} には既に廃棄承認({other})があります",
)
DO_CARRY_OUT: Text = ("Carry out the approved disposal first.", "先に承認済みの廃棄を実施してください。")
NO_DISPOSAL_APPROVAL: Text = (
    "Medium {m} has no disposal approval to carry out",
    "媒体 {m} には実施すべき廃棄承認がありません",
)
NEED_DISPOSAL_11_2: Text = ("the municipality's disposal approval (第11-2)", "委託者の廃棄承諾(特記事項第11-2)")
WRONG_APPROVAL_CITED: Text = (
    "The disposal cites approval {given}; medium {m} was approved under {id}",
    "廃棄記録の承認番号は {given} ですが、媒体 {m} の承認は {id} です",
)
DO_CITE_APPROVAL: Text = ("Cite the approval recorded for this medium.", "この媒体の承認番号を記載してください。")
WRONG_METHOD: Text = (
    "Disposed by {category}/{technique}; approval {id} allows {approved}/{approved_t}",
    "廃棄方法 {category}/{technique} は承認 {id} の方法 {approved}/{approved_t} と異なります",
)
NEED_APPROVED_METHOD: Text = ("disposal by the approved method", "承認された方法による廃棄")
DO_APPROVED_METHOD: Text = (
    "Dispose by the approved method, or ask for a new approval.",
    "承認された方法で廃棄するか、新たな承認を申請してください。",
)
NOT_DESTROYED: Text = (
    "My Number data on {m} must be destroyed physically (第11-4), not {category}",
    "媒体 {m} の特定個人情報は物理的に破壊しなければなりません(特記事項第11-4、記録は {category})",
)
NEED_DESTROY: Text = ("NIST SP 800-88 category destroy", "NIST SP 800-88 の destroy(物理的破壊)")
DO_DESTROY: Text = ("Destroy the medium physically.", "媒体を物理的に破壊してください。")
SERIAL_MISMATCH_RECORD: Text = (
    "The disposal record names serial {given}; medium {m} has serial {serial}",
    "廃棄記録の製造番号 {given} は媒体 {m} の製造番号 {serial} と異なります",
)
DO_PER_SERIAL: Text = ("One record per serial: check the medium.", "製造番号ごとに記録します。媒体を確認してください。")
WITNESS_REQUIRED: Text = (
    "Approval {id} requires a witness (立会者), and none is recorded",
    "承認 {id} は立会者を求めていますが、記録されていません",
)
NEED_WITNESS: Text = ("the witness: name, organisation, title", "立会者(氏名・所属・役職)")
DO_WITNESS: Text = (
    "Dispose in the presence of the witness and record them.",
    "立会者の立会いのもとで廃棄し、記録してください。",
)
NO_WITNESS_REASON: Text = (
    "My Number data on {m} was disposed without a witness (reason recorded)",
    "媒体 {m} の特定個人情報が立会者なしで廃棄されました(理由は記録済み)",
)
WITNESS_OR_REASON: Text = (
    "Disposal of My Number data ({m}) needs a witness or the reason there was none",
    "特定個人情報({m})の廃棄には立会者、またはいなかった理由が必要です",
)
NEED_WITNESS_OR_REASON: Text = ("witness or no_witness_reason", "立会者または立会者なしの理由")
NO_SERIAL_PHOTO: Text = ("No photo shows the serial of {m}", "媒体 {m} の製造番号が写った写真がありません")
NEED_SERIAL_PHOTO: Text = ("a photo with the serial visible", "製造番号が読める写真")
NO_CERTIFICATE: Text = (
    "No certificate (or reason for none) for the disposal of {m}",
    "媒体 {m} の廃棄証明書(またはない理由)がありません",
)
NEED_CERTIFICATE: Text = (
    "the certificate attachment, or no_certificate_reason",
    "証明書の添付、またはない理由(no_certificate_reason)",
)
DISPOSAL_NOT_VERIFIED: Text = (
    "The disposal of {m} was not verified as successful",
    "媒体 {m} の廃棄が成功と確認されていません",
)
DO_COMPLETE_RECORD: Text = (
    "Complete the disposal record before recording it.",
    "廃棄記録を揃えてから記録してください。",
)
DISPOSAL_NOT_YET_VALID: Text = ("Disposal approval {id} is not valid yet", "廃棄承認 {id} はまだ有効ではありません")
DO_WAIT_PERIOD: Text = ("Wait for the approved period.", "承認された期間まで待ってください。")

# --- incidents, inspections, closing (C1 C14) ---

INCIDENT: Text = ("Incident ({kind}): {situation}", "事故報告({kind}): {situation}")
NEED_NOTIFIED: Text = ("the time the municipality was notified", "委託者への報告日時")
DO_NOTIFY: Text = (
    "Report to the municipality at once in writing and follow its instructions (第14).",
    "直ちに書面で委託者に報告し、その指示に従ってください(特記事項第14)。",
)
CLOSED_NO_MORE: Text = (
    "The contract was closed at seq {seq}: {type} is no longer possible",
    "契約は seq {seq} で完了しています。{type} はできません",
)
DO_NOTHING_REMAINS: Text = (
    "No data may remain or be used after completion.",
    "完了後はデータを保持・利用できません。",
)
CLOSED_STILL_SETTLING: Text = (
    "The contract was closed at seq {seq}, but media were still being settled ({type})",
    "契約は seq {seq} で完了していますが、その後も媒体の処理が行われています({type})",
)
DO_PREMATURE: Text = ("The completion statement was premature.", "完了報告は時期尚早でした。")

# --- the agent (C10 C11 C12 C13) ---

AGENT_SILENT: Text = (
    "The agent {actor} recorded nothing for {s} s (allowed {a} s) and reported no gap",
    "エージェント {actor} は {s} 秒間記録がなく(許容 {a} 秒)、中断も報告していません",
)
DO_CHECK_AGENT: Text = (
    "Check why the agent was not observing (power, process, clock).",
    "エージェントが観測していなかった理由を確認してください(電源・プロセス・時計)。",
)
GAP_REPORTED: Text = (
    "Observation gap reported by {actor}: not observing since {last} ({s} s)",
    "{actor} が観測の中断を報告: {last} から観測していません({s} 秒)",
)
DO_EXPLAIN_GAP: Text = (
    "Explain the gap (custody note) and check the media handled meanwhile.",
    "中断の理由を記録し(custody note)、その間に扱われた媒体を確認してください。",
)
UNREGISTERED_ATTACHED: Text = (
    "Unregistered removable medium attached: {volume}",
    "未登録の外部記録媒体が接続されました: {volume}",
)
DO_REMOVE_OR_REGISTER: Text = (
    "Remove it, or register it (custody media register) before use; report an incident if data was written.",
    ("取り外すか、使用前に登録してください(custody media register)。"
     "データが書き込まれた場合は事故として報告してください。"),
)
SEEN_AGAIN: Text = (
    "Medium {m}, {state} at seq {seq}, was seen again: {what}",
    "{state}の媒体 {m}(seq {seq})が再び検出されました: {what}",
)
DO_SECURE: Text = (
    "Secure the medium and report an incident (custody incident).",
    "媒体を確保し、事故として報告してください(custody incident)。",
)
WHAT_ATTACHED: Text = ("attached at {mount}", "{mount} に接続")
WHAT_WRITTEN: Text = ("files written to it", "ファイルの書き込み")
LOST_ATTACHED: Text = ("Medium {m}, reported lost, was attached", "紛失報告された媒体 {m} が接続されました")
IN_STORAGE_ATTACHED: Text = (
    "Medium {m} was attached while recorded as in locked storage",
    "保管庫で保管中のはずの媒体 {m} が接続されました",
)
DO_CHECKOUT: Text = (
    "Record the checkout (custody media checkout) before use.",
    "使用前に出庫を記録してください(custody media checkout)。",
)
WRITTEN_UNREGISTERED: Text = (
    "{n} file(s) written to an unregistered volume {volume}",
    "未登録のボリューム {volume} に {n} 件のファイルが書き込まれました",
)
DO_REPORT_UNREGISTERED_WRITE: Text = (
    "No approval can cover an unregistered medium: report an incident (custody incident).",
    "未登録の媒体への書き込みは承認の対象外です。事故として報告してください(custody incident)。",
)

# --- end of the ledger (finish) ---

TAKEOUT_OPEN: Text = (
    "Medium {m} taken out at seq {seq} is not back or erased (deadline {deadline})",
    "seq {seq} で持ち出された媒体 {m} が返却も消去もされていません(期限 {deadline})",
)
DO_CLOSE_TAKEOUT: Text = (
    ("Return it (custody takeout return) or record its erasure (custody takeout erased); if it is lost, report an "
     "incident."),
    ("返却(custody takeout return)または消去(custody takeout erased)を記録してください。"
     "紛失した場合は事故として報告してください。"),
)
DISPOSAL_OVERDUE: Text = (
    "Disposal of {m} approved under {id} has no disposal record (deadline {deadline})",
    "承認 {id} による媒体 {m} の廃棄記録がありません(期限 {deadline})",
)
NEED_DISPOSAL_RECORD: Text = ("media.disposed with the certificate", "証明書付きの廃棄記録(media.disposed)")
DO_RECORD_DISPOSAL: Text = (
    "Record the disposal with its evidence (custody dispose record), or report what happened.",
    "証跡を添えて廃棄を記録するか(custody dispose record)、経緯を報告してください。",
)
COPY_OPEN: Text = (
    "Copy {m} (of {source}) has no final disposition{due}",
    "複製 {m}({source} の複製)の最終処分が記録されていません{due}",
)
DUE: Text = (" (due {due})", "(期限 {due})")
DO_SETTLE_COPY: Text = (
    "Erase, dispose of or return the copy as its approval says, and record it.",
    "承認の定めに従って複製を消去・廃棄・返還し、記録してください。",
)
MEDIUM_OPEN: Text = (
    "Medium {m} has no final disposition ({state})",
    "媒体 {m} の最終処分が記録されていません({state})",
)
NEED_FINAL: Text = ("return, disposal, or (vendor media) erasure", "返還・廃棄、または(受託者の媒体は)消去")
DO_SETTLE: Text = (
    "Return it (custody media return) or dispose of it with approval (custody dispose ...).",
    "返還するか(custody media return)、承諾を得て廃棄してください(custody dispose ...)。",
)
UNCOVERED_WRITES: Text = (
    "{n} write batch(es) to medium {m} with no covering copy or takeout approval (first at seq {seq})",
    "媒体 {m} への {n} 回の書き込みに、対応する複製・持ち出しの承認がありません(最初は seq {seq})",
)
DO_APPROVE_WRITES: Text = (
    "Writing data to removable media is copying: it needs the municipality's prior approval.",
    "外部記録媒体へのデータの書き込みは複製であり、委託者の事前承諾が必要です。",
)
AGENT_QUIET: Text = (
    "The agent {actor} has recorded nothing since seq {seq} ({s} s)",
    "エージェント {actor} は seq {seq} 以降 {s} 秒間記録がありません",
)
DO_CHECK_RUNNING: Text = ("Check that the agent is running.", "エージェントが動作しているか確認してください。")
UNBALANCED: Text = (
    ("Media do not reconcile: received {r} + registered {g} + copies {c} − returned {t} − disposed {d} − erased {e} "
     "− lost {l} = {b}"),
    ("媒体数が一致しません: 受領 {r} + 登録 {g} + 複製 {c} − 返還 {t} − 廃棄 {d} "
     "− 消去 {e} − 紛失 {l} = {b}"),
)
DO_ACCOUNT: Text = (
    "Account for every medium (the C1/C4/C6/C8 findings name them).",
    "全ての媒体の処分を記録してください(C1/C4/C6/C8 の指摘を参照)。",
)
RECEIPT_COUNT: Text = (
    "Receipt {n} lists {d} medium/media; {k} were recorded ({ids})",
    "預り証 {n} の媒体数は {d} ですが、記録されたのは {k} 件です({ids})",
)
RECEIPT_RECORDS: Text = (
    "Receipt {n}: item {item} declares {d} record(s); the media recorded hold {k}",
    "預り証 {n}: 情報項目 {item} の件数は {d} ですが、記録された媒体では {k} 件です",
)
DO_RECORD_RECEIPT: Text = (
    "Record every medium handed over (custody media receive), or correct the receipt.",
    "引き渡された全ての媒体を記録するか(custody media receive)、預り証を確認してください。",
)


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

SUBCONTRACTOR_OTHER_COMPANY: Text = (
    "{actor} works for {org}, but subcontract approval {ref} was given to {approved}",
    "{actor} の所属は {org} ですが、再委託承諾 {ref} の相手方は {approved} です",
)
VENDOR_TIER_OTHER_COMPANY: Text = (
    "{actor} is registered as vendor staff but works for {org}, not the vendor {vendor}",
    "{actor} は受託者の従業員として登録されていますが、所属は受託者 {vendor} ではなく {org} です",
)
WRONG_DESTINATION: Text = (
    "Approval {id} allows taking the media to '{approved}', not '{actual}'",
    "承認 {id} が認める持ち出し先は「{approved}」で、「{actual}」ではありません",
)
NEED_DESTINATION: Text = ("an approval for the destination '{actual}'", "持ち出し先「{actual}」の承認")
DO_USE_DESTINATION: Text = (
    "Take the media only to the approved destination ({approved}), or ask for a new approval.",
    "承認された持ち出し先({approved})にのみ持ち出すか、新しい承認を申請してください。",
)
WITNESS_NOT_MUNICIPALITY: Text = (
    "The witness of the disposal of {m} ({name}, {org}) is not the municipality's staff ({municipality})",
    "媒体 {m} の廃棄の立会者({name}、{org})が委託者({municipality})の職員ではありません",
)
NEED_MUNICIPALITY_WITNESS: Text = (
    "a witness from the municipality, or the reason there was none",
    "委託者の職員の立会い、または立会いがなかった理由",
)
LOST_ON_OVERDUE_TAKEOUT: Text = (
    "Medium {m} was reported lost after its takeout deadline {deadline} (taken out at seq {seq})",
    "媒体 {m} は持ち出しの期限 {deadline} を過ぎてから紛失と報告されました(seq {seq} で持ち出し)",
)
