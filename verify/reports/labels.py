"""Words and formats shared by the report contents, in Japanese and English.

Reports are written in the language asked for (``--lang``), not the
process's: the demo writes a Japanese and an English completion report from
one process.  So labels are looked up with :class:`Tr` (``t("English")``: the
gettext catalogue, ``ledger.i18n.translate`` with the report's language and
the context ``report``).  The vocabulary of the
ledger (media kinds, states, events, NIST SP 800-88 categories, ...) is
``custody.ledger.vocabulary``, which the command line reads too; the rule
codes' legend is kept here.

Dates and times are shown as recorded, never converted with the machine's
clock, and a time always with its zone: ``令和8年4月1日 10:05 (JST)`` in Japanese
(the era calendar, ``custody.ledger.wareki``; ``2026年4月1日`` with the Western
calendar, ``--calendar western``; ``(UTC+00:00)`` for another offset) or
``2026-04-01 10:05 +09:00`` in English.  Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from custody.ledger.i18n import translate
from custody.ledger.lifecycle import RULE_CODES
from custody.ledger.rule_texts import Pairs, RuleText
from custody.ledger.timefmt import JST
from custody.ledger.wareki import japanese_date, japanese_datetime
from custody.verify.reports.document import Lang

DASH = "—"
Calendar = Literal["era", "western"]
CALENDARS: tuple[Calendar, ...] = ("era", "western")


#: The context (msgctxt) of the reports' labels in ledger/locale/ja/report_labels.po: a document's wording is
#: its own, whatever the command line calls the same English ("report: ..." where a document words it
#: another way, ``Tr.pgettext``).
REPORT = "report"


class Tr:
    """The report's language: ``t("Media register")`` is the label in it (媒体管理台帳 in Japanese, from
    ledger/locale/ja/report_labels.po), and the formats of dates, times and counts."""

    __slots__ = ("era", "ja", "lang")

    def __init__(self, lang: Lang, calendar: Calendar = "era") -> None:
        self.lang: Lang = lang
        self.ja = lang == "ja"
        # The era calendar (和暦) is for Japanese documents; English ones are always dated the Western way.
        self.era = self.ja and calendar == "era"

    def __call__(self, message: str) -> str:
        """The label ``message`` (English, the msgid) in the report's language."""
        return translate(message, self.lang, REPORT)

    def pgettext(self, context: str, message: str) -> str:
        """``message`` as a document words it where ``context`` says (msgctxt ``"report: " + context``): one
        English text, another Japanese, such as a count's column or a form's own term."""
        return translate(message, self.lang, f"{REPORT}: {context}")

    def pair(self, pair: tuple[str, str]) -> str:
        """One of an (English, Japanese) pair: the vocabulary's terms and the rules' legends."""
        return pair[1] if self.ja else pair[0]

    def word(self, table: Mapping[str, tuple[str, str]], key: str) -> str:
        """A term from an (English, Japanese) table; the key itself when the table lacks it."""
        found = table.get(key)
        if found is None:
            return key or DASH
        return self.pair(found)

    # --- formats ---

    def when(self, at: object) -> str:
        """An RFC 3339 date-time as a form shows it: minutes and the time zone."""
        return self._moment(at, seconds=False)

    def when_seconds(self, at: object) -> str:
        """Like :meth:`when`, with seconds (histories, where several acts share a minute)."""
        return self._moment(at, seconds=True)

    def _moment(self, at: object, *, seconds: bool) -> str:
        if not isinstance(at, str) or not at:
            return DASH
        if self.ja:
            return japanese_datetime(at, era=self.era, seconds=seconds)
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            return at
        if moment.tzinfo is None:
            return at
        offset = moment.strftime("%z")
        clock = f"{moment:%H:%M:%S}" if seconds else f"{moment:%H:%M}"
        return f"{moment:%Y-%m-%d} {clock} {offset[:3]}:{offset[3:]}"

    def day(self, value: dt.date) -> str:
        """A date in the document's calendar: 令和8年4月1日, 2026年4月1日 or 2026-04-01."""
        if self.ja:
            return japanese_date(value, era=self.era)
        return value.isoformat()

    def date(self, value: object) -> str:
        """A YYYY-MM-DD date (or a date-time's date)."""
        if not isinstance(value, str) or len(value) < 10:
            return DASH
        try:
            day = datetime.strptime(value[:10], "%Y-%m-%d").date()
        except ValueError:
            return value
        return self.day(day)

    def timestamp(self, seconds: int) -> str:
        """A POSIX timestamp (a cosignature's) in Japan time."""
        try:
            moment = datetime.fromtimestamp(seconds, UTC).astimezone(JST)
        except (OverflowError, OSError, ValueError):
            return str(seconds)
        return self.when(moment.isoformat(timespec="seconds"))

    def count(self, n: object) -> str:
        return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else DASH

    def records(self, n: object) -> str:
        if not isinstance(n, int) or isinstance(n, bool):
            return DASH
        return f"{n:,}件" if self.ja else f"{n:,} records"

    def yes_no(self, value: object) -> str:
        if value is True:
            return self("Yes")
        if value is False:
            return self("No")
        return DASH

    def seq(self, seq: int | None) -> str:
        return DASH if seq is None else f"#{seq}"

    def join(self, items: list[str]) -> str:
        return ("、" if self.ja else ", ").join(i for i in items if i) or DASH


def text_of(value: Any) -> str:
    """A body field as one line of text ("" when absent or not text)."""
    return value if isinstance(value, str) else ""


def dict_of(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


#: What each finding code means (docs/spec-rules.md), short, as a legend: the integrity codes here, the
#: compliance codes from the lifecycle family that raises each (``RuleCode.legend``).
CODES: Mapping[str, tuple[str, str]] = Pairs({
    "I1": RuleText("hash chain or sequence broken"),
    "I2": RuleText("entry signature invalid, unknown or revoked key"),
    "I3": RuleText("checkpoint signature invalid"),
    "I4": RuleText("tree root differs from a checkpoint"),
    "I5": RuleText("inconsistent with a checkpoint the municipality holds"),
    "I6": RuleText("entries after the last cosigned checkpoint"),
    "I7": RuleText("malformed entry"),
    "I8": RuleText("attachment missing or altered"),
    "I9": RuleText("recorded time runs backwards"),
    **{code: rule.legend for code, rule in RULE_CODES.items()},
})


def code_order(code: str) -> tuple[int, int]:
    """I1..I9 before C1..C15, numerically."""
    group = 0 if code.startswith("I") else 1 if code.startswith("C") else 2
    digits = code[1:]
    return group, int(digits) if digits.isdigit() else 99
