"""A broken rule, in English and Japanese: what the lifecycle and approvals report.

One type serves both sides of docs/spec.md's completeness rules:

* the operator CLI checks an act *before* writing it and refuses when a
  blocking error is found (exit 6, ``RuleRefusal``; nothing is written);
* the municipality's verifier replays the ledger and reports every violation
  as a finding (``code``, ``severity``, ``seq``, ``media``, ``message``).

``code`` is a compliance code (docs/spec-rules.md) (``C1`` .. ``C15``).  ``severity`` is
``"error"``, ``"warning"`` or ``"info"``.  ``blocking`` says whether the CLI
must refuse the act: it is False for violations that a *fact* reveals (a
late return, a lost medium, an unregistered USB stick the agent saw): such
entries must be written, and the verifier reports them.  Only errors block.

Texts are stored in both languages (``message_en``/``message_ja``, and the
same for ``missing`` and ``todo``); the properties ``message``, ``missing``
and ``todo`` pick the process's language (``ledger.i18n.language()``).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from custody.ledger.errors import RuleRefusal
from custody.ledger.i18n import language

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)

#: (English, Japanese)
Text = tuple[str, str]
NO_TEXT: Text = ("", "")


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule violation (see the module documentation)."""

    code: str
    severity: str
    message_en: str
    message_ja: str
    media_id: str | None = None
    missing_en: str = ""
    missing_ja: str = ""
    todo_en: str = ""
    todo_ja: str = ""
    seq: int | None = None
    blocking: bool = True

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def blocks(self) -> bool:
        """True when the CLI must refuse the act (an error that is not a recorded fact)."""
        return self.severity == ERROR and self.blocking

    def texts(self, lang: str | None = None) -> tuple[str, str, str]:
        """(message, missing, todo) in ``lang`` (``"ja"`` or ``"en"``; default: the process language)."""
        ja = (lang or language()) == "ja"
        if ja:
            return self.message_ja, self.missing_ja, self.todo_ja
        return self.message_en, self.missing_en, self.todo_en

    @property
    def message(self) -> str:
        return self.texts()[0]

    @property
    def missing(self) -> str:
        return self.texts()[1]

    @property
    def todo(self) -> str:
        return self.texts()[2]

    def to_json(self) -> dict[str, Any]:
        """Both languages, for JSON output and reports."""
        return {
            "code": self.code,
            "severity": self.severity,
            "seq": self.seq,
            "media": self.media_id,
            "blocking": self.blocking,
            "message": {"en": self.message_en, "ja": self.message_ja},
            "missing": {"en": self.missing_en, "ja": self.missing_ja},
            "todo": {"en": self.todo_en, "ja": self.todo_ja},
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Violation:
        """The violation ``to_json`` wrote (KeyError or TypeError for anything else)."""
        return cls(
            doc["code"], doc["severity"], doc["message"]["en"], doc["message"]["ja"], doc["media"],
            doc["missing"]["en"], doc["missing"]["ja"], doc["todo"]["en"], doc["todo"]["ja"], doc["seq"],
            doc["blocking"],
        )

    def to_refusal(self) -> RuleRefusal:
        """This violation as the exception the CLI raises (exit 6)."""
        message, missing, todo = self.texts()
        return RuleRefusal(self.code, message, missing=missing, todo=todo)


def violation(
    code: str,
    severity: str,
    message: Text,
    *,
    media_id: str | None = None,
    missing: Text = NO_TEXT,
    todo: Text = NO_TEXT,
    seq: int | None = None,
    blocking: bool = True,
) -> Violation:
    """Build a Violation from (English, Japanese) pairs."""
    return Violation(
        code, severity, message[0], message[1], media_id, missing[0], missing[1], todo[0], todo[1], seq, blocking
    )


def blocking(violations: Iterable[Violation]) -> list[Violation]:
    """The violations that make the CLI refuse an act."""
    return [v for v in violations if v.blocks]


def refusal(violations: Iterable[Violation]) -> RuleRefusal | None:
    """One RuleRefusal for every blocking violation (None when the act may be written).

    The code is the first blocking violation's; the message lists them all,
    one per line, in the process language.
    """
    refused = blocking(violations)
    if not refused:
        return None
    if len(refused) == 1:
        return refused[0].to_refusal()
    # Each violation with its own missing item and next step beside it (docs/spec.md §13.4): with several, a
    # list of the missing items apart from the messages would leave the reader to pair them up.
    lines = []
    for v in refused:
        m, mi, t = v.texts()
        lines.append(f"[{v.code}] {m}")
        lines.extend(f"    {x}" for x in (mi, t) if x)
    return RuleRefusal(refused[0].code, "\n".join(lines))
