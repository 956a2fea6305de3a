"""Findings: what the verifier reports (docs/spec-rules.md).

Codes are stable -- reports, tests and auditors rely on them: I1..I9 for
integrity, C1.. for compliance (each registered by the lifecycle family that
raises it: ``custody.ledger.lifecycle.RULE_CODES``).  A finding names the entry (``seq``) and
the medium concerned where there is one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from custody.ledger.i18n import render

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)

INTEGRITY_CODES = ("I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9")


def __getattr__(name: str) -> tuple[str, ...]:
    """``COMPLIANCE_CODES``: C1.. as the lifecycle families register them (``custody.ledger.lifecycle.RULE_CODES``),
    looked up on first use so that importing the findings does not import the rules."""
    if name == "COMPLIANCE_CODES":
        from custody.ledger.lifecycle import RULE_CODES

        return tuple(RULE_CODES)
    raise AttributeError(name)


@dataclass(frozen=True)
class Finding:
    """A finding; ``message`` in the language of the verifying process, :meth:`message_in` in any language.

    The rules' own texts carry both languages (``en_ja``); the integrity messages are texts of custody's
    catalogue that remember their source (``ledger.i18n.Message``): a report renders either in its own
    language, so that one verification serves every language.
    """

    code: str
    severity: str
    message: str
    seq: int | None = None
    media: str | None = None
    en_ja: tuple[str, str] | None = field(default=None, compare=False, repr=False)

    def message_in(self, lang: str) -> str:
        if self.en_ja is not None:
            return self.en_ja[1] if lang == "ja" else self.en_ja[0]
        return render(self.message, lang)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "seq": self.seq,
            "media": self.media,
            "message": self.message,
        }


def sort_key(f: Finding) -> tuple[int, int, str]:
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    return (order.get(f.severity, 3), -1 if f.seq is None else f.seq, f.code)
