"""Errors of the report rendering layer (all under ``custody.ledger.errors.CustodyError``)."""

from __future__ import annotations

from custody.ledger.errors import CustodyError


class ReportError(CustodyError):
    """A report could not be built or rendered."""


class ReportModelError(ReportError):
    """A report document that breaks the model's rules (wrong cell count, control character, ...).

    Raised when the document is built, so the content code that made it sees the
    mistake at its source, not later inside a renderer.
    """


class FontMissingError(ReportError):
    """The font package that PDF reports embed is not installed or is damaged."""
