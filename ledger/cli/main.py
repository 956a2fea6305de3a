"""The ``custody`` command.

The language must be known before any help text is built (NOTES.md, typer),
so ``main`` reads ``--lang`` from the arguments (else CUSTODY_LANG, else the
locale) first, then builds the application.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from ledger.cli.common import new_app
from ledger.i18n import SUPPORTED, _, set_language


def _language_from_args(args: Sequence[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


# Top-level commands a module registers on its own: a command line naming one of them builds the
# application from that module only, so that one everyday command does not import every other
# command's dependencies (verifier, reports, witness, agent).  ``--help`` without a command, and
# every other command, build the whole application.
_OWN_COMMANDS = {
    "ledger.cli.workflow": frozenset({
        "person", "subcontract", "media", "takeout", "copy", "dispose", "approve", "incident", "close", "status",
    }),
}


def _command_from_args(args: Sequence[str]) -> str | None:
    """The first word of the command line that is not an option (the top-level command), if any."""
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--lang":
            skip = True
            continue
        if not arg.startswith("-"):
            return arg
    return None


def build_app(args: Sequence[str] | None = None) -> typer.Typer:
    app = new_app(_("custody: evidence ledger for outsourced processing of residents' personal data."))
    command = _command_from_args(args) if args is not None else None
    owner = next((module for module, names in _OWN_COMMANDS.items() if command in names), None)

    @app.callback()
    def _root(
        lang: str = typer.Option(
            None, "--lang", envvar="CUSTODY_LANG", help=_("Language of messages: ja or en."),
        ),
    ) -> None:
        if lang is not None and lang not in SUPPORTED:
            raise typer.BadParameter(_("choose ja or en"), param_hint="--lang")

    if owner is not None:
        from importlib import import_module

        import_module(owner).register(app, only=command)
        return app
    from ledger.cli import core, verifycmd

    core.register(app)
    verifycmd.register(app)
    _register_optional(app)
    return app


def _register_optional(app: typer.Typer) -> None:
    """Command groups from the other packages, registered when present."""
    from importlib import import_module

    for module in ("ledger.cli.workflow", "ledger.cli.municipality", "ledger.cli.agentcmd", "ledger.cli.reportcmd"):
        try:
            mod = import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(app)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    set_language(_language_from_args(args))
    app = build_app(args)
    app(args=args, prog_name="custody")


if __name__ == "__main__":
    main()
