"""``custody verify``: the municipality's check of an evidence bundle."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from custody.cli.clitext import AtLeast
from custody.cli.common import EXIT_OK, EXIT_VERIFY, err, json_option, out, print_json, report_error
from custody.cli.trustopts import (
    authority_option,
    integrity_only_option,
    require_trust,
    unchecked_explanation,
    unchecked_label,
)
from custody.ledger.errors import FormatError, VerificationError
from custody.ledger.i18n import _

# The verifier and rich's progress bars and tables are imported by `custody verify` itself: every other
# command builds this one's help too, and should not pay for them (start-up time).
if TYPE_CHECKING:
    from custody.ledger.bundle import Bundle
    from custody.verify.engine import Result
    from custody.verify.trust import TrustAnchor


def register(app: typer.Typer, only: str | None = None) -> None:
    del only  # custody.cli.main keeps the one it builds
    app.command(
        "verify",
        help=_("Verify an evidence bundle against the municipality's trust store (--authority): integrity "
               "(I1-I9) and compliance (C1-C15). Exit 3 on any error."),
    )(verify)
    from custody.cli import certcmd

    certcmd.register(app)


def load_trust(bundle: Bundle, authority: Path | None) -> TrustAnchor:
    """The municipality's pins for the bundle's origin; None: the bundle's own keys (--integrity-only only)."""
    from custody.verify.trust import from_bundle_unpinned

    if authority is None:
        return from_bundle_unpinned(bundle)
    from custody.verify.authority import Authority

    return Authority.open(authority).trust_anchor(bundle.origin)


def run_verification(bundle_path: Path, authority: Path | None, workers: int | None, show_progress: bool) -> Result:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from custody.ledger.bundle import Bundle
    from custody.verify.engine import verify_bundle
    from custody.verify.rules import default_rules

    with Bundle(bundle_path) as bundle:
        trust = load_trust(bundle, authority)
        total = bundle.entries_size_bytes()
        if not show_progress:
            return verify_bundle(bundle, trust, default_rules(), workers=workers)
        with Progress(
            "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
            console=err.real(), transient=True,
        ) as bar:
            task = bar.add_task(_("verifying"), total=total or None)
            return verify_bundle(
                bundle, trust, default_rules(), workers=workers, progress=lambda n: bar.advance(task, n)
            )


def verify(
    bundle: Path = typer.Argument(..., help=_("Bundle directory or .zip.")),
    authority: Path | None = authority_option(),
    integrity_only: bool = integrity_only_option(),
    workers: int | None = typer.Option(
        None, "--workers", click_type=AtLeast(int, 1),
        help=_("Processes for signature checks (default: the cores this process may use, within any CPU quota)."),
    ),
    json_out: bool = json_option(),
) -> None:
    from custody.verify.findings import ERROR
    from custody.verify.trust import trust_of

    require_trust(authority, integrity_only)  # docs/spec.md §13.2: never the bundle's own keys unasked
    try:
        result = run_verification(bundle, authority, workers, show_progress=not json_out and err.is_terminal)
    except (FormatError, VerificationError) as exc:
        if not json_out:
            raise
        # Still one JSON object on stdout (docs/spec.md): the bundle itself is unusable.
        report_error(exc)
        print_json({"ok": False, "origin": None, "size": 0, "pinned": authority is not None,
                    "trust": trust_of(authority is not None), "findings": [
            {"code": "I7", "severity": ERROR, "seq": None, "media": None, "message": exc.diagnostic()}]})
        raise typer.Exit(EXIT_VERIFY) from None
    if json_out:
        doc = result.to_json()
        print_json({k: doc[k] for k in ("ok", "origin", "size", "findings", "pinned", "trust")} | {
            "witnessed_size": result.witnessed_size})
    else:
        _print_result(result)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_VERIFY)


def _print_result(result: Result) -> None:
    from rich.table import Table
    from rich.text import Text

    from custody.ledger.quoting import quote
    from custody.verify.findings import ERROR, WARNING

    # Findings quote what the bundle says: each is a Text (never markup, never highlighted).
    if not result.ok:
        verdict, style = _("FAILED"), "bold red"
    elif result.pinned:
        verdict, style = _("OK"), "bold green"
    else:  # intact against its own keys only: never shown as a pass
        verdict, style = unchecked_label(), "bold yellow"
    out.print(Text.assemble((verdict, style), " ", quote(result.origin), "  ", _(
        "{n} entries, cosigned up to {w}").format(n=result.size, w=result.witnessed_size)))
    if not result.pinned:
        out.print(Text.assemble((f"{unchecked_label()}: ", "bold yellow"), unchecked_explanation()))
    if not result.findings:
        out.print(_("No findings."))
        return
    # Wrapped, never cut: a Japanese finding has no spaces to wrap at, and rich's default overflow
    # ("ellipsis") would end it at the terminal's edge (「記…」 for 「記録」).
    table = Table(show_lines=False)
    for header in (_("code"), _("severity"), _("seq"), _("medium"), _("finding")):
        table.add_column(header, overflow="fold")
    for f in result.findings:
        sev_style = {ERROR: "red", WARNING: "yellow"}.get(f.severity, "")
        table.add_row(
            Text(f.code), Text(_(f.severity), style=sev_style),
            Text("" if f.seq is None else str(f.seq)), Text(f.media or ""), Text(f.message),
        )
    out.print(table)
