"""``custody report``: the municipality's reports from a verified evidence bundle.

    custody report register|disposal|completion|inspection|inspection-record|findings|staff|incident|periodic|all
        BUNDLE --authority DIR | --integrity-only
        [--format pdf|html|json|csv|xlsx|all ...] [--lang ja|en] [-o DIR] [--json]
        [--calendar era|western] [--issued YYYY-MM-DD] [--document-number PREFIX]
        [--addressee TEXT] [--representative TEXT]
    custody report inspection --aggregate BUNDLE... --authority DIR [--format ...] [--lang ja|en] [-o DIR]

The bundle is verified first, against the municipality's trust store
(``--authority``).  Only when asked for by name (``--integrity-only``) is it
checked against its own keys instead; every report then carries a 未確認
banner and no pass, and a note on stderr says so; neither option is a usage
error (``cli.trustopts``).  Files are written to ``-o`` (default
``reports``) as ``<report>.<lang>.<format>``; the disposal certificates one
per medium as ``disposal-<media id>.<lang>.<format>``.  Japanese by default;
``--lang en`` (anywhere on the command line) for English.  ``--format csv``
and ``xlsx`` write the reports' tables (``verify.reports.tables_content``);
``all`` is every format.  ``inspection --aggregate`` verifies several
bundles against the trust store and writes one MIC form over them
(``verify.reports.aggregate``).  The paths are
printed, one per line, or with ``--json`` one object: ``{"ok", "trust",
"lang", "formats", "reports": [paths], "findings": {"error", "warning",
"info"}}``.

Every document is headed as an official form (docs/reports.md, Official form): 宛名, 文書番号, 発行日
and the issuer with a seal box.  ``--calendar western`` dates Japanese documents 2026年12月6日 instead
of 令和8年12月6日; ``--issued`` sets the date of issue (default: the date of the ledger's last entry, so
that the same bundle gives the same reports); ``--document-number`` the number's prefix (default: the
contract id); ``--addressee`` and ``--representative`` what the contract does not say
(``reports.form``).

Exit codes: 0 written, no finding is an error; 3 written, but the
verification found errors -- the reports are still produced, because the
findings are part of them, and a warning on stderr says so -- or, with
nothing written, the bundle itself is unusable (as ``custody verify``); 2
usage; 4 the trust store cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from custody.cli.clitext import AtLeast
from custody.cli.common import (
    EXIT_OK,
    EXIT_VERIFY,
    Command,
    Shared,
    err,
    json_option,
    new_app,
    out,
    print_json,
    signature_with,
    take,
)
from custody.cli.trustopts import authority_option, integrity_only_option, require_trust
from custody.ledger.i18n import _

if TYPE_CHECKING:  # verify.reports imports ReportLab (~75 ms): only `custody report` pays for it
    from custody.verify.reports.document import Lang
    from custody.verify.reports.form import FormOptions
    from custody.verify.reports.produce import Produced

KINDS = ("register", "disposal", "completion", "inspection", "inspection-record", "findings", "staff", "incident",
         "periodic")


def register(app: typer.Typer, only: str | None = None) -> None:
    del only  # custody.cli.main keeps the one it builds
    report_app = new_app(_(
        "Reports for the municipality from a verified evidence bundle (PDF, HTML, JSON; CSV and XLSX for Excel). "
        "The reports are written even when the verification finds errors (they list them); the exit status is then 3."))
    helps = {
        "register": _("Media register (媒体管理台帳): every medium, its state and history."),
        "disposal": _("Disposal certificates (廃棄証明書), one per medium, with the tlog-proof of its entry."),
        "completion": _("Completion report (返還・廃棄完了報告) with the reconciliation of media."),
        "inspection": _("The MIC inspection form (別紙報告票) for the vendor and each subcontractor."),
        "inspection-record": _("The municipality's signed inspections (検査記録): checks per party, findings, "
                               "corrective actions and their due dates."),
        "findings": _("The verifier's findings as a report (検証結果報告)."),
        "staff": _("Staff list (作業従事者名簿): registration, pledge, training, exit check, no-data statement."),
        "incident": _("Incident report (事故報告書): each incident, its detailed report and the reporting findings."),
        "periodic": _("Periodic report (定期報告書): the reports made and whether the contract's cadence was kept."),
        "all": _("Every report."),
    }
    for kind, text in helps.items():
        report_app.command(kind, help=text)(_inspection_command() if kind == "inspection" else _command(kind))
    app.add_typer(report_app, name="report")


def _formats_option() -> Any:
    return typer.Option(
        ["pdf"], "--format", "-f",
        help=_("pdf, html, json, csv, xlsx or all; repeat for several. csv and xlsx: the tables of the "
               "register, completion (staff, incidents), inspection and findings reports."),
    )


def _lang_option() -> Any:
    return typer.Option(None, "--lang", help=_("Language of the reports: ja (default) or en."))


def _output_option() -> Any:
    return typer.Option(Path("reports"), "--output", "-o", help=_("Directory to write the reports to."))


def _workers_option() -> Any:
    return typer.Option(
        None, "--workers", click_type=AtLeast(int, 1),
        help=_("Processes for verification and rendering (default: the cores this process may use, within any "
               "CPU quota)."),
    )


def _calendar_option() -> Any:
    return typer.Option(
        "era", "--calendar",
        help=_("Dates of Japanese reports: era (和暦, 令和8年12月6日; default) or western (2026年12月6日)."),
    )


def _issued_option() -> Any:
    return typer.Option(
        None, "--issued", help=_("Date of issue YYYY-MM-DD (default: the date of the ledger's last entry)."),
    )


def _number_option() -> Any:
    return typer.Option(
        None, "--document-number", help=_("Prefix of the document numbers (default: the contract id)."),
    )


def _addressee_option() -> Any:
    return typer.Option(
        None, "--addressee",
        help=_("Addressee without 様 (default: the contract's, else the municipality's head, e.g. 例市長)."),
    )


def _representative_option() -> Any:
    return typer.Option(
        None, "--representative",
        help=_("The vendor's representative in the issuer block, e.g. '代表取締役 鈴木 太郎' "
               "(default: the contract's, else the responsible person)."),
    )


class Reporting:
    """What every ``custody report`` command gets besides its own arguments: the options they all take after
    them (--authority ... --representative, declared once in ``_SHARED``), checked."""

    def __init__(self, ctx: typer.Context, options: dict[str, Any]) -> None:
        require_trust(options["authority"], options["integrity_only"])  # before anything is read or written
        self.ctx = ctx
        self.authority: Path | None = options["authority"]
        self.formats: list[str] = options["formats"]
        self.lang: str | None = options["lang"]
        self.output: Path = options["output"]
        self.workers: int | None = options["workers"]
        self.json_out: bool = options["json_out"]
        self.form = _form(options["calendar"], options["issued"], options["number"], options["addressee"],
                          options["representative"])

    def run(self, kind: str, bundle: Path) -> None:
        _run(self.ctx, kind, bundle, self.authority, self.formats, self.lang, self.output, self.workers,
             self.json_out, self.form)


#: The options every report command takes after its own.
_SHARED: tuple[Shared, ...] = (
    ("authority", Path | None, authority_option), ("integrity_only", bool, integrity_only_option),
    ("formats", list[str], _formats_option), ("lang", str | None, _lang_option), ("output", Path, _output_option),
    ("workers", int | None, _workers_option), ("json_out", bool, json_option), ("calendar", str, _calendar_option),
    ("issued", str | None, _issued_option), ("number", str | None, _number_option),
    ("addressee", str | None, _addressee_option), ("representative", str | None, _representative_option),
)


def _reporting(name: str, command: Callable[..., None]) -> Callable[..., None]:
    """``command(r: Reporting, ctx, **own)`` as the typer command ``name``, its own parameters then ``_SHARED``."""

    def run(**options: Any) -> None:
        command(Reporting(options["ctx"], take(options, _SHARED)), **options)

    return Command(run, name, signature_with(command, after=_SHARED, keyword_only=False))


def _command(kind: str) -> Any:
    def report(r: Reporting, ctx: typer.Context,
               bundle: Path = typer.Argument(..., help=_("Bundle directory or .zip."))) -> None:
        r.run(kind, bundle)

    return _reporting(f"report_{kind}", report)


def _inspection_command() -> Any:
    """``report inspection``: one bundle's form, or with --aggregate the form over several (docs/reports.md)."""

    def report_inspection(
        r: Reporting,
        ctx: typer.Context,
        bundles: list[Path] = typer.Argument(..., help=_(
            "Bundle directory or .zip; several with --aggregate.")),
        aggregate: bool = typer.Option(False, "--aggregate", help=_(
            "One 別紙報告票 over every bundle given: a row per municipality, each the sum of its contracts "
            "(one \"1\" in any contract makes the column 1), and the contracts behind it. Needs --authority.")),
    ) -> None:
        if not aggregate:
            if len(bundles) != 1:
                raise typer.BadParameter(_("give one bundle, or several with --aggregate"), param_hint="BUNDLE")
            r.run("inspection", bundles[0])
            return
        if r.authority is None:
            raise typer.BadParameter(_("the aggregated form counts only bundles verified against the "
                                       "municipality's trust store: give --authority"), param_hint="--aggregate")
        _run_aggregate(ctx, bundles, r.authority, r.formats, r.lang, r.output, r.workers, r.json_out)

    return _reporting("report_inspection", report_inspection)


def _run_aggregate(ctx: typer.Context, bundles: list[Path], authority: Path, formats: list[str], lang: str | None,
                   output: Path, workers: int | None, json_out: bool) -> None:
    from custody.verify.reports.aggregate import produce_aggregate
    from custody.verify.reports.produce import expand_formats

    language = _language(ctx, lang)
    try:
        chosen = expand_formats(formats)
    except ValueError:
        raise typer.BadParameter(_("choose pdf, html, json, csv, xlsx or all"), param_hint="--format") from None
    if not json_out:
        err.print(_("Verifying {n} bundles and writing the aggregated form ...").format(n=len(bundles)),
                  markup=False, highlight=False)
    produced = produce_aggregate(bundles, authority, chosen, language, output, workers=workers)
    counts = {"error": 0, "warning": 0, "info": 0}
    for result in produced.results.values():
        for f in result.findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
    if json_out:
        print_json({"ok": produced.ok, "trust": "pinned", "lang": language, "formats": chosen,
                    "bundles": {path: result.ok for path, result in produced.results.items()},
                    "reports": [str(p) for p in produced.paths], "findings": counts})
    else:
        for path in produced.paths:
            out.print(str(path), markup=False, highlight=False)
    if not produced.ok:
        err.print(
            _("custody: warning: the verification found {n} error(s); the reports were written and list them. "
              "Exit status 3.").format(n=counts.get("error", 0)),
            markup=False,
        )
        raise typer.Exit(EXIT_VERIFY)
    raise typer.Exit(EXIT_OK)


def _form(calendar: str, issued: str | None, number: str | None, addressee: str | None,
          representative: str | None) -> FormOptions:
    """The official form's options, checked (usage errors, exit 2)."""
    import datetime as dt

    from custody.verify.reports.form import FormOptions

    if calendar not in ("era", "western"):
        raise typer.BadParameter(_("choose era or western"), param_hint="--calendar")
    if issued is not None:
        try:
            dt.date.fromisoformat(issued)
        except ValueError:
            raise typer.BadParameter(_("a date YYYY-MM-DD"), param_hint="--issued") from None
        if len(issued) != 10:
            raise typer.BadParameter(_("a date YYYY-MM-DD"), param_hint="--issued")
    texts = {"--document-number": number, "--addressee": addressee, "--representative": representative}
    for hint, value in texts.items():
        if value is not None and (not value.strip() or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)):
            raise typer.BadParameter(_("a non-empty text on one line"), param_hint=hint)
    return FormOptions(calendar="western" if calendar == "western" else "era", issued=issued or "",
                       number_prefix=(number or "").strip(), addressee=(addressee or "").strip(),
                       representative=(representative or "").strip())


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
                   output: Path, workers: int | None, form: FormOptions) -> Produced:
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
                       progress=lambda n: bar.advance(verifying, n), rendered=rendered, form=form)


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
    form: FormOptions,
) -> None:
    from custody.verify.reports.produce import expand_formats, produce
    from custody.verify.trust import trust_of

    language = _language(ctx, lang)
    try:
        chosen = expand_formats(formats)
    except ValueError:
        raise typer.BadParameter(_("choose pdf, html, json, csv, xlsx or all"), param_hint="--format") from None
    kinds = list(KINDS) if kind == "all" else [kind]
    if kind == "disposal" and not set(chosen) & {"pdf", "html", "json"}:
        raise typer.BadParameter(_("a disposal certificate has no table: choose pdf, html or json"),
                                 param_hint="--format")
    if authority is None:
        err.print(_("custody: note: --integrity-only: every report is marked UNCHECKED (not checked against the "
                    "municipality's pinned keys) and gives no pass."), markup=False)
    if json_out or not err.is_terminal:
        if not json_out:
            err.print(_("Verifying {bundle} and writing reports ...").format(bundle=bundle), markup=False,
                      highlight=False)
        produced = produce(bundle, authority, kinds, chosen, [language], output, workers=workers, form=form)
    else:
        produced = _with_progress(bundle, authority, kinds, chosen, language, output, workers, form)
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
