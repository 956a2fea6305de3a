"""What the person issuing the documents chooses about their official form (docs/reports.md, Official form).

Every document custody makes is headed as a Japanese official document (公文書): 宛名, 文書番号, 発行日
and the issuer (受託者, its address and representative, a seal box).  What the ledger does not say is
given here, by ``custody report`` options; every field has a default that keeps a report a pure function
of its bundle (the same bundle gives the same report):

* ``calendar``: ``era`` (和暦, 令和8年12月6日: the default for Japanese documents) or ``western``
  (2026年12月6日); English documents are always dated the Western way;
* ``issued``: the date of issue, YYYY-MM-DD; default the date of the ledger's last entry;
* ``number_prefix``: the document number's prefix; default the contract id (``R7-001-REG``);
* ``addressee``: the 宛名 without 様; default the contract's ``municipality.addressee``, else the head
  of the municipality named after it (例市 → 例市長, 例県 → 例県知事);
* ``representative``: the issuer's representative (代表取締役 鈴木 太郎); default the contract's
  ``vendor.representative`` (with ``representative_title``), else the vendor's 作業責任者, so labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from custody.verify.reports.labels import CALENDARS, Calendar


@dataclass(frozen=True)
class FormOptions:
    calendar: Calendar = "era"
    issued: str = ""
    number_prefix: str = ""
    addressee: str = ""
    representative: str = ""

    def __post_init__(self) -> None:
        if self.calendar not in CALENDARS:
            raise ValueError(f"calendar {self.calendar!r}: one of {', '.join(CALENDARS)}")


def head_of(municipality: str) -> str:
    """The title of a municipality's head, as a 宛名 names it: 例市 → 例市長, 神奈川県 → 神奈川県知事."""
    name = municipality.strip()
    if not name:
        return ""
    if name.endswith(("都", "道", "府", "県")):
        return f"{name}知事"
    if name.endswith(("長", "知事")):
        return name
    return f"{name}長"


__all__ = ["FormOptions", "head_of"]
