"""The shared vocabulary of custody's records, in English and Japanese: one text per word and language.

Entry bodies hold codes (``"kind": "usb"``, ``"state": "in_storage"``,
``"method": "visual_inspection"``) and the users' own words, never a
translated word: the same act recorded under ``--lang ja`` and ``--lang en``
signs the same bytes (docs/spec-events.md).  Codes are turned into words only
when shown, through these tables, by the command line (:func:`word`, in the
process's language) and by the reports (``Tr.word``, in the report's
language) alike.

Each table maps a code to an ``(English, Japanese)`` pair (:class:`Words`): the English word is written
here, its Japanese in ``ledger/locale/ja/vocabulary.po`` under the table's msgctxt (``vocabulary: STATES``),
read through :mod:`custody.ledger.i18n` at first use like every other message.  A value that is
not a code of its table is shown as it is: bundles written before the codes
(a disposal record whose ``media_type`` is ``"USBメモリ"``) still read as
recorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from custody.ledger.i18n import language, translate

Text = tuple[str, str]  # (English, Japanese)


class Words(Mapping[str, Text]):
    """A table of the vocabulary: code -> (English, Japanese), the Japanese from vocabulary.po under
    ``context`` (looked up when read, so that importing the vocabulary reads no catalogue)."""

    __slots__ = ("context", "english")

    def __init__(self, context: str, english: dict[str, str]) -> None:
        self.context = context
        self.english = english

    def __getitem__(self, code: str) -> Text:
        en = self.english[code]
        return en, translate(en, "ja", self.context)

    def __iter__(self) -> Iterator[str]:
        return iter(self.english)

    def __len__(self) -> int:
        return len(self.english)

    def japanese(self) -> Mapping[str, str]:
        """The table's Japanese words by code (looked up when read)."""
        return _Japanese(self)


class _Japanese(Mapping[str, str]):
    __slots__ = ("words",)

    def __init__(self, words: Words) -> None:
        self.words = words

    def __getitem__(self, code: str) -> str:
        return self.words[code][1]

    def __iter__(self) -> Iterator[str]:
        return iter(self.words)

    def __len__(self) -> int:
        return len(self.words)


#: Media states (ledger/media.py), ``absent`` for a media id not in the register.
STATES = Words("vocabulary: STATES", {
    "absent": "not registered",
    "in_storage": "in locked storage",
    "checked_out": "checked out of storage",
    "taken_out": "taken out of the work location",
    "erased": "erased",
    "disposal_approved": "disposal approved",
    "disposed": "disposed",
    "returned": "returned",
    "lost": "lost",
})

#: Media kinds (schemas/defs.schema.json, mediaKind).
KINDS = Words("vocabulary: KINDS", {
    "usb": "USB flash drive",
    "hdd": "Hard disk drive",
    "ssd": "SSD",
    "sd": "SD card",
    "optical": "Optical disc",
    "tape": "Magnetic tape",
    "paper": "Paper",
    "other": "Other",
})

#: Entry types, as acts.
EVENTS = Words("vocabulary: EVENTS", {
    "media.received": "received",
    "media.registered": "registered",
    "media.checked_out": "checked out",
    "media.checked_in": "checked in",
    "takeout.departed": "taken out",
    "takeout.returned": "back from takeout",
    "takeout.erased_at_destination": "erased at the destination",
    "copy.made": "copy made",
    "media.erased": "erased",
    "disposal.approved": "disposal approval recorded",
    "media.disposed": "disposed",
    "media.returned": "returned",
    "incident.reported": "incident reported",
    "contract.opened": "contract opened",
    "contract.closed": "contract closed",
    "personnel.registered": "person registered",
    "personnel.changed": "person changed",
    "personnel.removed": "person removed",
    "personnel.exit_checked": "exit check",
    "personnel.statement": "no-data statement",
    "report.periodic": "periodic report",
    "subcontract.approved": "subcontract approval recorded",
    "inspection.recorded": "inspection recorded",
    "attestation.recorded": "municipality's act recorded",
    "note.recorded": "note",
    "key.rotated": "key rotated",
    "key.revoked": "key revoked",
})

#: Where a medium came from (ledger/media.py: received | registered | copy).
ORIGINS = Words("vocabulary: ORIGINS", {
    "received": "handover receipt",
    "registered": "vendor's own",
    "copy": "copy of",
})

#: ``source`` of a vendor medium brought into use (media.registered) and of a disposal record.
SOURCES = Words("vocabulary: SOURCES", {
    "vendor_stock": "vendor stock",
    "received": "received from the municipality",
    "registered": "vendor stock",
})

#: Verification methods the command line writes by default (NIST SP 800-88 verification).
VERIFICATION_METHODS = Words("vocabulary: VERIFICATION_METHODS", {"visual_inspection": "visual inspection"})

#: Purposes the command line writes by default.
PURPOSES = Words("vocabulary: PURPOSES", {"end_of_use": "Disposal at the end of use"})

TIERS = Words("vocabulary: TIERS", {
    "vendor": "vendor",
    "subcontractor": "subcontractor",
    "sub-subcontractor": "sub-subcontractor",
})
ROLES = Words("vocabulary: ROLES", {
    "responsible": "responsible person",
    "operator": "operator",
    "agent": "agent",
})
#: Kinds of approval (ledger/approval.py).
APPROVAL_KINDS = Words("vocabulary: APPROVAL_KINDS", {
    "takeout": "takeout",
    "copy": "copy",
    "dispose": "dispose",
    "subcontract": "subcontract",
})
INCIDENTS = Words("vocabulary: INCIDENTS", {
    "lost": "lost",
    "stolen": "stolen",
    "leak": "leak",
    "suspicion": "suspected leak",
    "found": "found",
    "other": "other",
})
INCIDENT_STATUS = Words("vocabulary: INCIDENT_STATUS", {
    "open": "open",
    "contained": "contained",
    "closed": "closed",
})
#: NIST SP 800-88 categories.
CATEGORIES = Words("vocabulary: CATEGORIES", {
    "clear": "Clear",
    "purge": "Purge",
    "destroy": "Destroy",
})
RESULTS = Words("vocabulary: RESULTS", {"pass": "Pass", "fail": "Fail"})
#: What the completion statement says was checked (contract.closed).
SCOPES = Words("vocabulary: SCOPES", {
    "work_pcs": "work PCs",
    "development_machines": "development machines",
    "servers": "servers",
    "backups": "backups",
    "mail": "e-mail",
    "paper": "paper",
    "other": "other",
})
INSPECTION_TYPES = Words("vocabulary: INSPECTION_TYPES", {
    "on_site": "on-site inspection",
    "paper": "paper inspection",
    "remote": "remote inspection",
})
INSPECTION_ITEMS = Words("vocabulary: INSPECTION_ITEMS", {
    "subcontracting": "re-subcontracting",
    "work_location": "work location, takeout",
    "return_disposal": "return and disposal",
    "copy_limits": "copy limits",
    "encryption": "encryption",
    "register": "media register",
    "staff_list": "staff list",
    "other": "other",
})
#: Means of a handover (the receipt's ``means``).
MEANS = Words("vocabulary: MEANS", {
    "by_hand": "by hand",
    "transport": "transport",
    "online": "online",
    "mail": "mail",
    "other": "other",
})
SEVERITIES = Words("vocabulary: SEVERITIES", {
    "error": "error",
    "warning": "warning",
    "info": "info",
})

#: Final dispositions of a medium (the completion report).
DISPOSITIONS = Words("vocabulary: DISPOSITIONS", {
    "returned": "returned",
    "erased_returned": "erased and returned",
    "disposed": "disposed",
    "erased": "erased",
    "lost": "lost",
    "open": "NOT SETTLED",
})
#: An application's title by kind (the desk).
APPLICATION_TITLES = Words("vocabulary: APPLICATION_TITLES", {
    "takeout": "Takeout application",
    "copy": "Copy application",
    "dispose": "Disposal application",
    "subcontract": "Subcontract application",
})
#: An approval's name by kind (the desk).
APPROVAL_TITLES = Words("vocabulary: APPROVAL_TITLES", {
    "takeout": "takeout approval",
    "copy": "copy approval",
    "dispose": "disposal approval",
    "subcontract": "subcontract approval",
})
#: How a medium taken out is encrypted (the desk).
ENCRYPTION = Words("vocabulary: ENCRYPTION", {
    "software": "software encryption",
    "hardware": "encrypted medium (hardware)",
    "none": "not encrypted",
    "not_applicable": "not applicable",
})
#: How the copies of an approved copy end (the desk).
COPY_DISPOSAL = Words("vocabulary: COPY_DISPOSAL", {
    "erase": "erased",
    "destroy": "destroyed",
    "return": "returned",
})
#: What an attachment of an entry is (the desk).
ATTACHMENT_ROLES = Words("vocabulary: ATTACHMENT_ROLES", {
    "photos": "photo",
    "certificate": "certificate",
    "attachments": "attachment",
})

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
