"""Attachments (docs/spec.md §10.4; docs/spec-rules.md §4: I8): every attachment an entry references is in the
bundle with the right hash."""

from __future__ import annotations

from dataclasses import dataclass

from custody.ledger.bundle import Bundle
from custody.ledger.i18n import _
from custody.ledger.quoting import quote
from custody.verify.context import Context
from custody.verify.findings import ERROR


@dataclass(frozen=True)
class AttachmentResult:
    """How many distinct attachments the entries reference, and how many are missing or differ (I8)."""

    referenced: int
    missing: int
    mismatched: int


class AttachmentRule:
    """The attachments the entries reference (the first entry to reference each), checked at the end."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._wanted: dict[str, int] = {}  # SHA-256 (hex) -> the first seq that references it

    def refer(self, digest: str, seq: int) -> None:
        self._wanted.setdefault(digest, seq)

    def finish(self, bundle: Bundle) -> AttachmentResult:
        missing = mismatched = 0
        for digest, seq in sorted(self._wanted.items(), key=lambda kv: kv[1]):
            name = f"attachments/{digest}"
            if not _is_hex64(digest) or not bundle.has(name):
                missing += 1
                self.ctx.add("I8", ERROR, _("attachment {h} is missing from the bundle").format(
                    h=quote(digest[:16])), seq=seq)
            elif bundle.digest(name)[0] != digest:
                mismatched += 1
                self.ctx.add("I8", ERROR, _("attachment {h} does not match its hash").format(h=digest[:16]), seq=seq)
        return AttachmentResult(len(self._wanted), missing, mismatched)


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
