"""The ``custody`` command.

The language must be known before any help text is built (docs/dependency-notes.md, typer),
so ``main`` reads ``--lang`` from the arguments, wherever it is given (else CUSTODY_LANG, else
Japanese) first, moves it before the command (``hoist_lang``), then builds the application.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # typer and the rest are imported by main, once the garbage collector is paused (main)
    import typer
    from typer.core import TyperGroup


def _language_from_args(args: Sequence[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def hoist_lang(args: Sequence[str]) -> list[str]:
    """The command line with every ``--lang X`` moved to the front, where the root command reads it.

    ``--lang`` is the root's option (the language is chosen before any help text is built), but people
    type it where they type every other option, after the command: ``custody verify B --lang en``.
    ``custody report`` reads the root's --lang for the reports' language too.  Nothing after ``--`` moves.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg == "--lang" and i + 1 < len(args):
            front += args[i:i + 2]
            i += 2
            continue
        (front if arg.startswith("--lang=") else rest).append(arg)
        i += 1
    return [*front, *rest]


# The command tree's top level, in the order ``custody --help`` lists it: each command or group and the
# modules that declare it (their ``register(app, only=name)``; ``key`` has commands from two).  It is the
# only list of commands: the root group (``_root_class``) lists these names and, when one is used, imports
# its modules and builds that command alone, so that one everyday command does not import every other
# command's dependencies (verifier, reports, witness, agent).
_CORE, _WORKFLOW, _ATTEST = "custody.cli.core", "custody.cli.workflow", "custody.cli.attestcmd"
_VERIFY, _UNLOCK, _MUNICIPALITY = "custody.cli.verifycmd", "custody.cli.unlockcmd", "custody.cli.municipality"
COMMANDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("init", "note", "attach", "checkpoint", "export", "prove", "example"), (_CORE,)),
    **dict.fromkeys(("verify", "verify-certificate"), (_VERIFY,)),
    **dict.fromkeys(("incident", "close", "status"), (_WORKFLOW,)),
    **dict.fromkeys(("unlock", "lock"), (_UNLOCK,)),
    "witness-request": (_MUNICIPALITY,),
    "desk": ("custody.desk.command",),
    "key": (_CORE, _WORKFLOW),
    **dict.fromkeys(("person", "subcontract", "media", "takeout", "copy", "dispose", "approve", "periodic"),
                    (_WORKFLOW,)),
    **dict.fromkeys(("attest", "inspection", "attestation"), (_ATTEST,)),
    **dict.fromkeys(("authority", "witness"), (_MUNICIPALITY,)),
    "agent": ("custody.cli.agentcmd",),
    "report": ("custody.cli.reportcmd",),
}


def _command_path(args: Sequence[str]) -> tuple[str | None, str | None]:
    """The top-level command (the first word of the command line that is not an option), if any, and the
    word right after it (its subcommand, when it names one) unless that is an option."""
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "--lang":
            skip = True
            continue
        if not arg.startswith("-"):
            following = args[i + 1] if i + 1 < len(args) else None
            return arg, (following if following is not None and not following.startswith("-") else None)
    return None, None


DISTRIBUTION = "custody-ledger"


def _print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    import typer

    from custody.ledger.i18n import _

    try:
        number = version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        number = _("unknown (not installed)")
    sys.stdout.write(f"custody {number}\n")
    raise typer.Exit(0)


def build_app(args: Sequence[str] | None = None) -> typer.Typer:
    """The ``custody`` application; with ``args`` (the command line it will run), built for that line only
    (``_Plan``): the commands it does not name are not built, and a listing builds no parameters."""
    import typer

    from custody.cli.common import new_app
    from custody.ledger.i18n import SUPPORTED, _

    command, subcommand = _command_path(args) if args is not None else (None, None)
    plan = _Plan(command, subcommand, args is not None and _lists_only(args, command, subcommand), args is None)
    app = new_app(_("custody: evidence ledger for outsourced processing of residents' personal data."), root=True,
                  cls=_root_class(plan))

    @app.callback()
    def _root(
        lang: str = typer.Option(
            None, "--lang", envvar="CUSTODY_LANG", help=_("Language of messages: ja or en."),
        ),
        _version: bool = typer.Option(
            False, "--version", is_eager=True, expose_value=False, callback=_print_version,
            help=_("Print custody's version and exit."),
        ),
    ) -> None:
        if lang is not None and lang not in SUPPORTED:
            raise typer.BadParameter(_("choose ja or en"), param_hint="--lang")

    return app


class _Plan(NamedTuple):
    """What the command line names (``_command_path``) and whether it only lists commands; ``whole``: no
    command line known (the tests' applications), every command built as it is."""

    command: str | None
    subcommand: str | None
    lists_only: bool
    whole: bool


def _root_class(plan: _Plan) -> type[TyperGroup]:
    """The root group for ``plan``: ``COMMANDS`` are its commands, each built when click first asks for it
    (click's public ``Group.list_commands`` and ``Group.get_command``)."""
    from custody.cli.common import CustodyGroup

    class Root(CustodyGroup):
        def list_commands(self, ctx: Any) -> list[str]:
            return list(COMMANDS)

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            if cmd_name not in self.commands and cmd_name in COMMANDS:
                # A command line that names a command builds that one; a listing (custody --help) or an
                # application for any command line (the tests') builds them all at once, as typer would.
                names = [cmd_name] if plan.command is not None else [n for n in COMMANDS if n not in self.commands]
                for name, built in _build(names, plan).items():
                    self.add_command(built, name)
            return super().get_command(ctx, cmd_name)

        def resolve_command(self, ctx: Any, args: list[str]) -> Any:
            """click's, suggesting close names among every command, not only those built so far."""
            import click

            try:
                return super().resolve_command(ctx, args)
            except click.NoSuchCommand as exc:
                raise click.NoSuchCommand(exc.command_name, possibilities=COMMANDS, ctx=ctx) from None

    return Root


def _build(names: list[str], plan: _Plan) -> dict[str, Any]:
    """The click commands ``names`` from the modules that declare them (``COMMANDS``), converted by typer in
    one application; a command whose module is not installed is left out."""
    from importlib import import_module

    from typer.main import get_group

    from custody.cli.common import new_app

    part = new_app("")
    only = names[0] if len(names) == 1 else None
    missing: set[str] = set()
    for module in dict.fromkeys(module for name in names for module in COMMANDS[name]):
        try:
            mod = import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            missing.add(module)
            continue
        mod.register(part, only=only)
    wanted = [name for name in names if not set(COMMANDS[name]) <= missing]
    part.registered_commands = [info for info in part.registered_commands if info.name in wanted]
    part.registered_groups = [info for info in part.registered_groups if info.name in wanted]
    if not plan.whole:
        if plan.command is None and plan.lists_only:  # custody --help: a line for each command
            _list_only(part, None)
        elif plan.command in wanted and plan.subcommand is not None:
            _only_subcommand(part, plan.command, plan.subcommand)
        elif plan.command in wanted and plan.lists_only:
            _list_only(part, plan.command)
    commands = get_group(part).commands
    return {name: commands[name] for name in wanted if name in commands}


def _lists_only(args: Sequence[str], command: str | None, subcommand: str | None) -> bool:
    """Whether the command line only lists commands: ``custody [--help]`` or ``custody GROUP [--help]``."""
    if subcommand is not None:
        return False
    helps = any(arg in ("--help", "-h") for arg in args)
    return helps or not [arg for arg in args if arg.startswith("-") and arg != "--lang" and not
                         arg.startswith("--lang=")]


def _listed() -> None:
    """Stands in for a command whose help line is all a listing shows (see ``_list_only``)."""


def _list_only(app: typer.Typer, group_name: str | None) -> None:
    """Give the commands a listing shows no parameters to convert.

    typer turns every command below the one it runs into a click command,
    reading each function's signature and evaluating its type hints: for
    ``custody --help`` that was all 60 commands, two thirds of the time it
    took.  A listing (the root's, or a group's) prints each command's name and
    help line, which the registration holds; so the listed commands get a
    function without parameters (``_listed``), and the groups below a listed
    level keep their help line and no commands.  What is printed stays the
    same (tests/cli/test_startup.py compares).
    """
    if group_name is None:
        target = app
        for info in app.registered_groups:
            if info.typer_instance is not None:
                info.typer_instance.registered_commands = []
                info.typer_instance.registered_groups = []
    else:
        found = next((info.typer_instance for info in app.registered_groups
                      if info.name == group_name and info.typer_instance is not None), None)
        if found is None:
            return
        target = found
    for command in target.registered_commands:
        command.callback = _listed


def _only_subcommand(app: typer.Typer, group_name: str | None, subcommand: str) -> None:
    """Keep only ``subcommand`` in the group ``group_name`` when the command line runs it.

    typer turns every command of a group into a click command (reading each
    function's signature and type hints) before it runs the one named: for
    ``custody media checkout`` that was all eight media commands.  A group
    whose subcommand is not named right after it (``custody media``,
    ``custody media --help``, a misspelt name that typer suggests a
    correction for) keeps all of them.
    """
    group = next((info.typer_instance for info in app.registered_groups
                  if info.name == group_name and info.typer_instance is not None), None)
    if group is None:
        return
    names = [info.name for info in group.registered_commands]
    if None not in names and names.count(subcommand) == 1:
        group.registered_commands = [info for info in group.registered_commands if info.name == subcommand]


# The commands an operator types all day (the workflow's, the core's, unlock and lock): their start-up is
# the round trip of a signing command (issue 19), and they never use what custody.cli.deferred defers.
OPERATOR_MODULES = ("custody.cli.core", "custody.cli.workflow", "custody.cli.unlockcmd")


def main(argv: Sequence[str] | None = None) -> None:
    # Imports and the application made below live until the process ends: the cyclic garbage collector would
    # walk them again and again for nothing, and once more at exit.  It is paused until the command runs, and
    # what exists by then, and again at the end, is frozen out of its sight (gc.freeze).
    gc.disable()
    args = hoist_lang(sys.argv[1:] if argv is None else argv)
    command, _subcommand = _command_path(args)
    if command in COMMANDS and set(COMMANDS[command]) <= set(OPERATOR_MODULES):
        from custody.cli.deferred import defer

        defer()  # before typer is imported (custody.cli.deferred)
    from custody.cli import clitext
    from custody.ledger.i18n import set_language

    set_language(_language_from_args(args))
    app = build_app(args)
    clitext.install()
    gc.freeze()
    gc.enable()
    try:
        app(args=args, prog_name="custody")
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
