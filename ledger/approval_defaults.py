"""What an approver grants unless they say otherwise (docs/spec.md §9): one home for ``custody approve``'s
option defaults and the desk's form, in a module of its own so that building the command line's help does not
import the approval checks."""

from __future__ import annotations

DEFAULT_VALID_DAYS = 30
DEFAULT_VALID_DAYS_OF = {"subcontract": 365}  # a subcontract runs with the contract, not one task
DEFAULT_MAX_USES = 1
DEFAULT_ENCRYPTION_MIN = "AES-256"


def default_valid_days(kind: str) -> int:
    """Days an approval of ``kind`` is valid from its start when no end is given."""
    return DEFAULT_VALID_DAYS_OF.get(kind, DEFAULT_VALID_DAYS)
