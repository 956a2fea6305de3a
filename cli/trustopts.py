"""What `custody verify` and `custody report` verify against: --authority, or explicitly --integrity-only.

docs/spec.md §11.3 and §13.2: the verifier takes its trust from the
municipality's trust store, never from the bundle.  Checked against the
bundle's own keys, a bundle rebuilt from scratch with an attacker's log and
witness keys is as intact as the real one, so that check is no verification:
it runs only when asked for by name (``--integrity-only``), and then every
output says 未確認 / UNCHECKED (not checked against the municipality's
pinned keys) and never reads as a pass.  Neither option given is a usage
error (exit 2) that says which to give; both given is one too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from custody.ledger.errors import UsageError
from custody.ledger.i18n import _


def authority_option() -> Any:
    return typer.Option(
        None, "--authority", "-a", envvar="CUSTODY_AUTHORITY",
        help=_("The municipality's trust store (custody authority init)."),
    )


def integrity_only_option() -> Any:
    return typer.Option(
        False, "--integrity-only",
        help=_("Without a trust store: check the bundle against its own keys only. The result is marked "
               "UNCHECKED (not checked against the municipality's pinned keys) and is never a pass: a bundle "
               "rebuilt with other keys passes this check too."),
    )


def require_trust(authority: Path | None, integrity_only: bool) -> None:
    """Exactly one of --authority (or CUSTODY_AUTHORITY) and --integrity-only; UsageError otherwise."""
    if authority is not None and integrity_only:
        raise UsageError(
            _("--authority and --integrity-only exclude each other."),
            hint=_("--authority verifies against the municipality's trust store; --integrity-only checks the "
                   "bundle against its own keys only. CUSTODY_AUTHORITY counts as --authority."),
        )
    if authority is None and not integrity_only:
        raise UsageError(
            _("No trust store given: checked against its own keys, a forged bundle would look intact."),
            hint=_("Give the municipality's trust store with --authority DIR (or CUSTODY_AUTHORITY). To check "
                   "only the bundle's integrity against the keys it carries, give --integrity-only: the result "
                   "is then UNCHECKED (not checked against the municipality's pinned keys), not a pass."),
        )


def unchecked_label() -> str:
    """The verdict word of an integrity-only result."""
    return _("UNCHECKED")


def unchecked_explanation() -> str:
    return _("Integrity only: not checked against the municipality's pinned keys (--integrity-only). The bundle "
             "was checked with the keys it carries itself, so a bundle rebuilt with other keys would pass as "
             "well. This is not a pass.")
