"""The shared vocabulary of custody's records, in English and Japanese: one text per word and language.

Entry bodies hold codes (``"kind": "usb"``, ``"state": "in_storage"``,
``"method": "visual_inspection"``) and the users' own words, never a
translated word: the same act recorded under ``--lang ja`` and ``--lang en``
signs the same bytes (docs/spec-events.md).  Codes are turned into words only
when shown, through these tables, by the command line (:func:`word`, in the
process's language) and by the reports (``Tr.word``, in the report's
language) alike.

Each table maps a code to an ``(English, Japanese)`` pair.  A value that is
not a code of its table is shown as it is: bundles written before the codes
(a disposal record whose ``media_type`` is ``"USBメモリ"``) still read as
recorded.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from custody.ledger.i18n import language

Text = tuple[str, str]  # (English, Japanese)

#: Media states (ledger/media.py), ``absent`` for a media id not in the register.
STATES: dict[str, Text] = {
    "absent": ("not registered", "未登録"),
    "in_storage": ("in locked storage", "保管庫で保管中"),
    "checked_out": ("checked out of storage", "保管庫から出庫中"),
    "taken_out": ("taken out of the work location", "作業場所外へ持ち出し中"),
    "erased": ("erased", "消去済み"),
    "disposal_approved": ("disposal approved", "廃棄承認済み"),
    "disposed": ("disposed", "廃棄済み"),
    "returned": ("returned", "返還済み"),
    "lost": ("lost", "紛失"),
}

#: Media kinds (schemas/defs.schema.json, mediaKind).
KINDS: dict[str, Text] = {
    "usb": ("USB flash drive", "USBメモリ"),
    "hdd": ("Hard disk drive", "ハードディスク"),
    "ssd": ("SSD", "SSD"),
    "sd": ("SD card", "SDカード"),
    "optical": ("Optical disc", "光ディスク"),
    "tape": ("Magnetic tape", "磁気テープ"),
    "paper": ("Paper", "紙"),
    "other": ("Other", "その他"),
}

#: Entry types, as acts.
EVENTS: dict[str, Text] = {
    "media.received": ("received", "受領"),
    "media.registered": ("registered", "登録"),
    "media.checked_out": ("checked out", "出庫"),
    "media.checked_in": ("checked in", "入庫"),
    "takeout.departed": ("taken out", "持ち出し"),
    "takeout.returned": ("back from takeout", "持ち出しからの返却"),
    "takeout.erased_at_destination": ("erased at the destination", "持ち出し先での消去"),
    "copy.made": ("copy made", "複製"),
    "media.erased": ("erased", "消去"),
    "disposal.approved": ("disposal approval recorded", "廃棄承認の記録"),
    "media.disposed": ("disposed", "廃棄"),
    "media.returned": ("returned", "返還"),
    "incident.reported": ("incident reported", "事故報告"),
    "contract.opened": ("contract opened", "契約開始"),
    "contract.closed": ("contract closed", "契約終了"),
    "personnel.registered": ("person registered", "作業者登録"),
    "personnel.changed": ("person changed", "作業者変更"),
    "personnel.removed": ("person removed", "作業者抹消"),
    "personnel.exit_checked": ("exit check", "退任時の確認"),
    "personnel.statement": ("no-data statement", "データ非保持の申告"),
    "report.periodic": ("periodic report", "定期報告"),
    "subcontract.approved": ("subcontract approval recorded", "再委託承認の記録"),
    "inspection.recorded": ("inspection recorded", "検査の記録"),
    "attestation.recorded": ("municipality's act recorded", "委託者の行為の記録"),
    "note.recorded": ("note", "メモ"),
    "key.rotated": ("key rotated", "鍵の更新"),
    "key.revoked": ("key revoked", "鍵の失効"),
}

#: Where a medium came from (ledger/media.py: received | registered | copy).
ORIGINS: dict[str, Text] = {
    "received": ("handover receipt", "預り証"),
    "registered": ("vendor's own", "自社"),
    "copy": ("copy of", "複製元"),
}

#: ``source`` of a vendor medium brought into use (media.registered) and of a disposal record.
SOURCES: dict[str, Text] = {
    "vendor_stock": ("vendor stock", "受託者の在庫"),
    "received": ("received from the municipality", "委託者から受領"),
    "registered": ("vendor stock", "受託者の在庫"),
}

#: Verification methods the command line writes by default (NIST SP 800-88 verification).
VERIFICATION_METHODS: dict[str, Text] = {"visual_inspection": ("visual inspection", "目視確認")}

#: Purposes the command line writes by default.
PURPOSES: dict[str, Text] = {"end_of_use": ("Disposal at the end of use", "使用終了に伴う廃棄")}

TIERS: dict[str, Text] = {
    "vendor": ("vendor", "受託者"),
    "subcontractor": ("subcontractor", "再委託先"),
    "sub-subcontractor": ("sub-subcontractor", "再々委託先"),
}
ROLES: dict[str, Text] = {
    "responsible": ("responsible person", "作業責任者"),
    "operator": ("operator", "作業従事者"),
    "agent": ("agent", "エージェント"),
}
#: Kinds of approval (ledger/approval.py).
APPROVAL_KINDS: dict[str, Text] = {
    "takeout": ("takeout", "持ち出し"),
    "copy": ("copy", "複製"),
    "dispose": ("dispose", "廃棄"),
    "subcontract": ("subcontract", "再委託"),
}
INCIDENTS: dict[str, Text] = {
    "lost": ("lost", "紛失"),
    "stolen": ("stolen", "盗難"),
    "leak": ("leak", "漏えい"),
    "suspicion": ("suspected leak", "漏えい等のおそれ"),
    "found": ("found", "発見"),
    "other": ("other", "その他"),
}
INCIDENT_STATUS: dict[str, Text] = {
    "open": ("open", "対応中"),
    "contained": ("contained", "封じ込め済み"),
    "closed": ("closed", "完了"),
}
#: NIST SP 800-88 categories.
CATEGORIES: dict[str, Text] = {
    "clear": ("Clear", "消去 (Clear)"),
    "purge": ("Purge", "除去 (Purge)"),
    "destroy": ("Destroy", "破壊 (Destroy)"),
}
RESULTS: dict[str, Text] = {"pass": ("Pass", "合格"), "fail": ("Fail", "不合格")}
#: What the completion statement says was checked (contract.closed).
SCOPES: dict[str, Text] = {
    "work_pcs": ("work PCs", "作業用PC"),
    "development_machines": ("development machines", "開発用端末"),
    "servers": ("servers", "サーバー"),
    "backups": ("backups", "バックアップ"),
    "mail": ("e-mail", "電子メール"),
    "paper": ("paper", "紙媒体"),
    "other": ("other", "その他"),
}
INSPECTION_TYPES: dict[str, Text] = {
    "on_site": ("on-site inspection", "実地検査"),
    "paper": ("paper inspection", "書面検査"),
    "remote": ("remote inspection", "遠隔検査"),
}
INSPECTION_ITEMS: dict[str, Text] = {
    "subcontracting": ("re-subcontracting", "再委託"),
    "work_location": ("work location, takeout", "作業場所・持ち出し"),
    "return_disposal": ("return and disposal", "返還・廃棄"),
    "copy_limits": ("copy limits", "複製の制限"),
    "encryption": ("encryption", "暗号化"),
    "register": ("media register", "媒体管理台帳"),
    "staff_list": ("staff list", "従事者名簿"),
    "other": ("other", "その他"),
}
#: Means of a handover (the receipt's ``means``).
MEANS: dict[str, Text] = {
    "by_hand": ("by hand", "手渡し"),
    "transport": ("transport", "運搬"),
    "online": ("online", "オンライン"),
    "mail": ("mail", "郵送"),
    "other": ("other", "その他"),
}
SEVERITIES: dict[str, Text] = {
    "error": ("error", "エラー"),
    "warning": ("warning", "警告"),
    "info": ("info", "情報"),
}


def pick(pair: Text, lang: str | None = None) -> str:
    """One language of a pair (``lang``: ``"ja"`` or ``"en"``; default: the process's language)."""
    return pair[1] if (lang or language()) == "ja" else pair[0]


def word(table: Mapping[str, Text], code: str, lang: str | None = None) -> str:
    """``code`` as a word of ``table`` in ``lang``; a value that is not a code of the table, as it is."""
    found = table.get(code)
    return code if found is None else pick(found, lang)


def pair(table: Mapping[str, Text], code: str) -> Text:
    """``code``'s (English, Japanese) pair; the code itself in both languages when the table lacks it."""
    return table.get(code, (code, code))
