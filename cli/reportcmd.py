"""``custody report``: the municipality's reports from a verified evidence bundle.

    custody report register|disposal|completion|inspection|findings|staff|incident|periodic|all BUNDLE
        --authority DIR | --integrity-only
        [--format pdf|html|json|all ...] [--lang ja|en] [-o DIR] [--json]

The bundle is verified first, against the municipality's trust store
(``--authority``).  Only when asked for by name (``--integrity-only``) is it
checked against its own keys instead; every report then carries a 未確認
banner and no pass, and a note on stderr says so; neither option is a usage
error (``cli.trustopts``).  Files are written to ``-o`` (default
``reports``) as ``<report>.<lang>.<format>``; the disposal certificates one
per medium as ``disposal-<media id>.<lang>.<format>``.  Japanese by default;
``--lang en`` (here or before the command) for English.  The paths are
printed, one per line, or with ``--json`` one object: ``{"ok", "trust",
"lang", "formats", "reports": [paths], "findings": {"error", "warning",
"info"}}``.

Exit codes: 0 written, no finding is an error; 3 written, but the
verification found errors -- the reports are still produced, because the
findings are part of them, and a warning on stderr says so -- or, with
nothing written, the bundle itself is unusable (as ``custody verify``); 2
usage; 4 the trust store cannot be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from custody.cli.common import EXIT_OK, EXIT_VERIFY, err, json_option, new_app, out, print_json
from custody.cli.trustopts import authority_option, integrity_only_option, require_trust
from custody.ledger.i18n import _

if TYPE_CHECKING:  # verify.reports imports ReportLab (~75 ms): only `custody report` pays for it
    from custody.verify.reports.document import Lang
    from custody.verify.reports.produce import Produced

KINDS = ("register", "disposal", "completion", "inspection", "findings", "staff", "incident", "periodic")


def register(app: typer.Typer) -> None:
    report_app = new_app(_(
        "Reports for the municipality from a verified evidence bundle (PDF, HTML, JSON). The reports are "
        "written even when the verification finds errors (they list them); the exit status is then 3."))
    helps = {
        "register": _("Media register (媒体管理台帳): every medium, its state and history."),
        "disposal": _("Disposal certificates (廃棄証明書), one per medium, with the tlog-proof of its entry."),
        "completion": _("Completion report (返還・廃棄完了報告) with the reconciliation of media."),
        "inspection": _("The MIC inspection form (別紙報告票) for the vendor and each subcontractor."),
        "findings": _("The verifier's findings as a report (検証結果報告)."),
        "staff": _("Staff list (作業従事者名簿): registration, pledge, training, exit check, no-data statement."),
        "incident": _("Incident report (事故報告書): each incident, its detailed report and the reporting findings."),
        "periodic": _("Periodic report (定期報告書): the reports made and whether the contract's cadence was kept."),
        "all": _("Every report."),
    }
    for kind, text in helps.items():
        report_app.command(kind, help=text)(_command(kind))
    app.add_typer(report_app, name="report")


def _command(kind: str) -> Any:
    def run(
        ctx: typer.Context,
        bundle: Path = typer.Argument(..., help=_("Bundle directory or .zip.")),
        authority: Path | None = authority_option(),
        integrity_only: bool = integrity_only_option(),
        formats: list[str] = typer.Option(
            ["pdf"], "--format", "-f", help=_("pdf, html, json or all; repeat for several."),
        ),
        lang: str | None = typer.Option(None, "--lang", help=_("Language of the reports: ja (default) or en.")),
        output: Path = typer.Option(Path("reports"), "--output", "-o", help=_("Directory to write the reports to.")),
        workers: int | None = typer.Option(
            None, "--workers", min=1,
            help=_("Processes for verification and rendering "
                   "(default: the cores this process may use, within any CPU quota)."),
        ),
        json_out: bool = json_option(),
    ) -> None:
        require_trust(authority, integrity_only)  # before anything is read or written
        _run(ctx, kind, bundle, authority, formats, lang, output, workers, json_out)

    run.__name__ = f"report_{kind}"
    return run


def _language(ctx: typer.Context, lang: str | None) -> Lang:
    """--lang given to this command, else --lang given before it on the command line, else Japanese.

    CUSTODY_LANG chooses the language of messages, not of the reports: municipalities file Japanese forms.
    """
    chosen = lang
    parent: Any = ctx.parent
    while chosen is None and parent is not None:
        value = parent.params.get("lang") if isinstance(parent.params, dict) else None
        source = parent.get_parameter_source("lang") if value is not None else None
        if isinstance(value, str) and source is not None and source.name == "COMMANDLINE":
            chosen = value
        parent = parent.parent
    if chosen is None:
        return "ja"
    if chosen not in ("ja", "en"):
        raise typer.BadParameter(_("choose ja or en"), param_hint="--lang")
    return cast("Lang", chosen)


def _with_progress(bundle: Path, authority: Path | None, kinds: list[str], formats: list[str], language: Lang,
                   output: Path, workers: int | None) -> Produced:
    """produce() with progress bars on stderr: bytes of entries verified, then files written."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from custody.ledger.bundle import Bundle
    from custody.verify.reports.produce import produce

    with Bundle(bundle) as opened:
        size = opened.entries_size_bytes()
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err.real(), transient=True) as bar:
        verifying = bar.add_task(_("verifying"), total=size or None)
        writing = bar.add_task(_("writing reports"), total=None, visible=False)

        def rendered(done: int, total: int) -> None:
            bar.update(verifying, completed=size, visible=False)
            bar.update(writing, completed=done, total=total, visible=True)

        return produce(bundle, authority, kinds, formats, [language], output, workers=workers,
                       progress=lambda n: bar.advance(verifying, n), rendered=rendered)


def _run(
    ctx: typer.Context,
    kind: str,
    bundle: Path,
    authority: Path | None,
    formats: list[str],
    lang: str | None,
    output: Path,
    workers: int | None,
    json_out: bool,
) -> None:
    from custody.verify.reports.produce import expand_formats, produce
    from custody.verify.trust import trust_of

    language = _language(ctx, lang)
    try:
        chosen = expand_formats(formats)
    except ValueError:
        raise typer.BadParameter(_("choose pdf, html, json or all"), param_hint="--format") from None
    kinds = list(KINDS) if kind == "all" else [kind]
    if authority is None:
        err.print(_("custody: note: --integrity-only: every report is marked UNCHECKED (not checked against the "
                    "municipality's pinned keys) and gives no pass."), markup=False)
    if json_out or not err.is_terminal:
        if not json_out:
            err.print(_("Verifying {bundle} and writing reports ...").format(bundle=bundle), markup=False,
                      highlight=False)
        produced = produce(bundle, authority, kinds, chosen, [language], output, workers=workers)
    else:
        produced = _with_progress(bundle, authority, kinds, chosen, language, output, workers)
    counts = produced.counts()
    if json_out:
        print_json({
            "ok": produced.ok,
            "trust": trust_of(authority is not None),
            "lang": language,
            "formats": chosen,
            "reports": [str(p) for p in produced.paths],
            "findings": counts,
        })
    else:
        for path in produced.paths:
            out.print(str(path), markup=False, highlight=False)
        if not produced.paths:
            err.print(_("No report of this kind: nothing to write (e.g. no medium was disposed of)."), markup=False)
    if not produced.ok:
        err.print(
            _("custody: warning: the verification found {n} error(s); the reports were written and list them. "
              "Exit status 3.").format(n=counts.get("error", 0)),
            markup=False,
        )
        raise typer.Exit(EXIT_VERIFY)
    raise typer.Exit(EXIT_OK)
