"""``custody desk``: the municipality's desk in a browser (custody.desk).

    custody desk --authority DIR [--key APPROVER.key ...] [--workspace DIR] [--listen HOST:PORT]
                 [--token-file FILE] [--max-upload-mb N] [--no-browser]

Exit codes (docs/spec.md §13): 0 stopped (Ctrl-C, SIGTERM); 2 usage (a port that cannot be bound, an
unreadable token file); 4 the trust store or the desk's folder cannot be read or made; 5 an approver
key file that cannot be read.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from custody.ledger.i18n import _, language


def register(app: typer.Typer, only: str | None = None) -> None:
    del only
    app.command("desk", help=_("Municipality: open the desk in a browser (approvals, contracts and evidence, "
                               "witness)."))(desk)


def desk(
    authority: Path = typer.Option(
        ..., "--authority", "-a", envvar="CUSTODY_AUTHORITY",
        help=_("The municipality's trust store (custody authority init)."),
    ),
    keys: list[Path] = typer.Option(
        [], "--key", "-k", metavar="FILE", help=_("An approver's key file to sign approvals with (repeatable)."),
    ),
    workspace: Path | None = typer.Option(
        None, "--workspace", help=_("Where the desk keeps applications, decisions and bundles "
                                    "(default: the folder desk in the trust store)."),
    ),
    listen: str = typer.Option("127.0.0.1:0", "--listen", help=_("Address and port (PORT 0: any free port).")),
    token_file: Path | None = typer.Option(
        None, "--token-file",
        help=_("A file holding the token the page asks for (required beyond loopback; else one is made)."),
    ),
    max_upload_mb: int = typer.Option(512, "--max-upload-mb", help=_("Largest bundle upload in MiB.")),
    no_browser: bool = typer.Option(False, "--no-browser", help=_("Print the address but open no browser.")),
    approver_name: str | None = typer.Option(None, "--approver-name", envvar="CUSTODY_APPROVER_NAME",
                                             help=_("Approver's name.")),
    approver_title: str | None = typer.Option(None, "--approver-title", envvar="CUSTODY_APPROVER_TITLE",
                                              help=_("Approver's title.")),
    approver_organisation: str | None = typer.Option(
        None, "--approver-organisation", envvar="CUSTODY_APPROVER_ORGANISATION",
        help=_("Approver's organisation."),
    ),
) -> None:
    if max_upload_mb < 1:  # in the words the CLI's number options use (custody.cli.clitext.AtLeast), not a formula
        raise typer.BadParameter(_("Enter {n} or more.").format(n=1), param_hint="'--max-upload-mb'")
    from custody.desk.server import parse_listen, serve
    from custody.desk.state import Settings

    host, port = parse_listen(listen)
    env_key = os.environ.get("CUSTODY_KEY")
    if not keys and env_key:
        keys = [Path(env_key)]
    approver = {k: v for k, v in (("name", approver_name), ("title", approver_title),
                                  ("organisation", approver_organisation)) if v}
    settings = Settings(
        authority=authority, workspace=workspace if workspace is not None else authority / "desk",
        keys=tuple(keys), host=host, port=port, max_upload=max_upload_mb << 20, lang=language(), approver=approver,
    )
    serve(settings, token_file=token_file, open_browser=not no_browser,
          announce=lambda line: print(line, flush=True))
