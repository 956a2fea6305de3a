"""What every custody command shares: options, key loading, output, errors.

Only the CLI maps errors to exit codes (docs/spec.md §13 (Command line)): the
``CustodyGroup`` below catches ``CustodyError`` around every command, prints
its diagnostic in the user's language and exits with its code.  Anything else
is a bug: exit 1 with a short message (the traceback only with
``CUSTODY_DEBUG=1``).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import stat
import sys
import traceback
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import typer
from typer.core import TyperGroup
from typer.models import OptionInfo

from custody.cli.clitext import Formatter, missing_message
from custody.ledger.errors import CustodyError, KeyFileError, RuleRefusal, UsageError
from custody.ledger.i18n import _, language
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer

if TYPE_CHECKING:
    from rich.console import Console


class LazyConsole:
    """A rich ``Console``, made (and rich imported, ~20 ms) when first used.

    An everyday command prints one plain line (``line``), which needs no rich
    at all; tables, progress bars, colours and errors use the console itself,
    through this object (``real()`` gives it to rich's own classes).
    """

    # Console options under which rich prints a plain text (below) as it is: no wrapping, no highlighting.
    _PLAIN_OPTIONS = frozenset({"soft_wrap", "highlight", "stderr", "file"})

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not set yet (copy, pickle): not the console's
            raise AttributeError(name)
        return getattr(self.real(), name)

    def line(self, text: str) -> None:
        """``print(text, markup=False)``, written directly when rich would print it unchanged.

        That is: no console made yet (no live display to keep in order), soft
        wrapping and no highlighting, and a text of printable characters
        without ``:`` (rich strips control characters, expands tabs and turns
        ``:name:`` into emoji).  tests/cli/test_startup.py compares both ways.
        """
        options = self._options
        if (self._console is None and options.keys() <= self._PLAIN_OPTIONS and options.get("soft_wrap") is True
                and options.get("highlight") is False and text.isprintable() and ":" not in text):
            stream = options.get("file") or (sys.stderr if options.get("stderr") else sys.stdout)
            try:
                stream.write(text + "\n")
            except UnicodeEncodeError:
                pass  # rich reports it in its own words
            else:
                stream.flush()
                return
        self.real().print(text, markup=False)


err = LazyConsole(stderr=True, soft_wrap=True)
out = LazyConsole(soft_wrap=True, highlight=False)

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_VERIFY, EXIT_STORE, EXIT_KEY, EXIT_REFUSED = range(7)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def report_error(exc: CustodyError) -> None:
    label = _("refused") if isinstance(exc, RuleRefusal) else _("error")
    err.print(f"[bold red]custody: {label}:[/] ", end="", markup=True)
    # The message may quote what a bundle or a document said: no markup, and no highlighting, whose
    # regular expressions take time quadratic in a long line (ledger/quoting.py shortens such values).
    err.print(exc.diagnostic(), markup=False, highlight=False, emoji=False)


def _cells(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


# May not start a line (行頭禁則): they hang at the end of the previous one.
_HANGING = frozenset("、。，．）」』】〕・ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々")
_TOKENS = re.compile(r"[!-~]+| +|.", re.DOTALL)


def wrap_cells(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal cells (a Japanese character takes two).

    Breaks at spaces or between Japanese characters, never inside a run of ASCII (a command, an option, a
    number) unless it is longer than a line; closing punctuation (。、」) and small kana never start a line:
    the character before them moves down with them.
    """
    lines: list[str] = []
    line, used = "", 0
    for token in _TOKENS.findall(" ".join(text.split("\n"))):
        size = sum(_cells(c) for c in token)
        if token.isspace():
            if line:
                line, used = line + " ", used + 1
            continue
        if used + size > width and line.strip():
            if len(token) == 1 and token in _HANGING and len(line) > 1 and not line[-1].isascii():
                # 追い出し: the closing mark may not start the next line, so the character before it goes too.
                token, line = line[-1] + token, line[:-1]
                size = sum(_cells(c) for c in token)
            lines.append(line.rstrip())
            line, used = "", 0
        while size > width:  # a run longer than a whole line: cut where it overflows
            cut, taken = 0, 0
            while cut < len(token) and taken + _cells(token[cut]) <= width:
                taken += _cells(token[cut])
                cut += 1
            lines.append(token[:cut])
            token = token[cut:]
            size -= taken
        line, used = line + token, used + size
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def short_help_ja(text: str) -> str:
    """A command's line in a Japanese listing: its help's first sentence, whole (click would cut a text
    without spaces to "...")."""
    first = " ".join(text.split("\n\n", maxsplit=1)[0].split())
    end = first.find("。")
    return first[: end + 1] if 0 <= end < len(first) - 1 else first


class CustodyContext(typer.Context):
    """click's context with custody's help formatter (click's public ``Context.formatter_class``)."""

    formatter_class = Formatter


class CustodyGroup(TyperGroup):
    """Maps custody's errors to exit codes for every subcommand; lists its commands whole in Japanese.

    Its commands' contexts are ``CustodyContext`` (click's public ``Command.context_class``, set on each
    command the group hands out), and what click and typer say that gettext cannot translate is said
    here in custody's words (custody.cli.clitext).
    """

    context_class = CustodyContext

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None and not issubclass(command.context_class, CustodyContext):
            command.context_class = CustodyContext
        return command

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.MissingParameter as exc:
            raise _missing(exc) from None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """In Japanese, each command's first sentence wrapped to the terminal (never "..."); English as typer."""
        if language() != "ja":
            super().format_commands(ctx, formatter)
            return
        commands = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands.append((name, short_help_ja(command.short_help or command.help or "")))
        if not commands:
            return
        with formatter.section(_("Commands")):
            first = min(max(len(name) for name, _text in commands), 30)
            indent = " " * formatter.current_indent
            width = max(formatter.width - formatter.current_indent - first - 2, 20)
            for name, text in commands:
                lines = wrap_cells(text, width)
                if len(name) > first:
                    formatter.write(f"{indent}{name}\n")
                    if lines == [""]:
                        lines = []
                    head = " " * (first + 2)
                else:
                    head = f"{name:<{first}}  "
                    formatter.write(f"{indent}{head}{lines[0]}\n")
                    lines = lines[1:]
                    head = " " * (first + 2)
                for line in lines:
                    formatter.write(f"{indent}{head}{line}\n")

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except click.MissingParameter as exc:  # a subcommand's (its parse_args runs in here)
            raise _missing(exc) from None
        except CustodyError as exc:
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            # typer would end with 130 and say nothing; an auditor should see that the command stopped.
            err.print(_("custody: interrupted (Ctrl-C); the command did not finish."), markup=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if isinstance(exc, click.ClickException | typer.Exit) or type(exc).__module__.startswith(
                    ("typer", "click")):
                raise
            if os.environ.get("CUSTODY_DEBUG"):
                traceback.print_exc()
            err.print(
                _("custody: unexpected error: {what}").format(what=f"{type(exc).__name__}: {exc}"),
                markup=False,
            )
            err.print(_("This is a bug in custody; set CUSTODY_DEBUG=1 for details."), markup=False)
            raise typer.Exit(EXIT_UNEXPECTED) from None


def _missing(error: click.MissingParameter) -> click.ClickException:
    """A missing option or argument in custody's words (Japanese word order); English as click says it."""
    if language() == "en":
        return error
    return click.UsageError(missing_message(error), ctx=error.ctx)


def new_app(help_text: str, *, root: bool = False, cls: type[TyperGroup] | None = None) -> typer.Typer:
    """A command group (of class ``cls``, a CustodyGroup); the ``root`` one carries typer's shell completion
    (--install-completion)."""
    return typer.Typer(
        cls=cls or CustodyGroup,
        help=help_text,
        no_args_is_help=True,
        add_completion=root,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        suggest_commands=False,  # click suggests a close command name itself, in the user's language (gettext)
        context_settings={"help_option_names": ["-h", "--help"]},
    )


# A top-level name -> (its group's help, or None for a single command; [(command, help, function)]).
CommandTree = dict[str, tuple[str | None, list[tuple[str, str, Callable[..., Any]]]]]


#: An option a family of commands all take besides their own: (parameter name, annotation, the option's maker).
Shared = tuple[str, Any, Callable[[], Any]]


def signature_with(command: Callable[..., Any], *, before: Sequence[Shared] = (), after: Sequence[Shared] = (),
                   first: bool = True, keyword_only: bool = True) -> Callable[[], inspect.Signature]:
    """The signature typer reads for ``command`` with a family's shared options ``before`` and ``after`` its own
    parameters (without its first, the object the family hands it, when ``first``); made when called
    (``Command``).  ``keyword_only``: every parameter keyword-only, as typer needs when an option follows an
    argument of the command's own."""

    def signature() -> inspect.Signature:
        kind = inspect.Parameter.KEYWORD_ONLY if keyword_only else inspect.Parameter.POSITIONAL_OR_KEYWORD
        own = list(inspect.signature(command, eval_str=True).parameters.values())[1 if first else 0:]

        def shared(options: Sequence[Shared]) -> list[inspect.Parameter]:
            return [inspect.Parameter(name, kind, default=make(), annotation=annotation)
                    for name, annotation, make in options]

        return inspect.Signature(
            [*shared(before), *(p.replace(kind=kind) if keyword_only else p for p in own), *shared(after)],
            return_annotation=None)

    return signature


def take(options: dict[str, Any], shared: Sequence[Shared]) -> dict[str, Any]:
    """The values of the ``shared`` options, taken out of ``options`` (what remains are the command's own)."""
    return {name: options.pop(name) for name, _annotation, _make in shared}


class Command:
    """A command function for typer whose signature -- the options typer reads with ``inspect.signature`` -- is
    made when typer first reads it.

    A module declares all its commands when it is imported, and typer converts only the one a command line runs
    (``custody.cli.main``): making every command's options and reading every one's type hints at import cost
    the command that runs ~5 ms of its start-up (issue 19).  ``@recording`` (custody.cli.acting), ``@approving``
    (custody.cli.approvecmd) and ``custody attest`` (custody.cli.attestcmd) add their shared options this way.
    """

    def __init__(self, run: Callable[..., None], like: Callable[..., Any] | str,
                 signature: Callable[[], inspect.Signature]) -> None:
        self._run = run
        self._make = signature
        self._signature: inspect.Signature | None = None
        name = like if isinstance(like, str) else like.__name__
        self.__name__ = name
        self.__qualname__ = name if isinstance(like, str) else like.__qualname__
        self.__doc__ = None if isinstance(like, str) else like.__doc__
        self.__module__ = run.__module__ if isinstance(like, str) else like.__module__
        # typer reads the type hints too (typing.get_type_hints): the signature's annotations are final.
        self.__annotations__: dict[str, Any] = {}

    @property
    def __signature__(self) -> inspect.Signature:
        if self._signature is None:
            self._signature = self._make()
        return self._signature

    def __call__(self, **options: Any) -> None:
        self._run(**options)


def register_tree(app: typer.Typer, tree: CommandTree, only: str | None = None) -> None:
    """Add ``tree``'s commands to ``app``; with ``only``, just that top-level name (custody.cli.main)."""
    for name, (group_help, commands) in tree.items():
        if only is not None and only != name:
            continue
        target = app if group_help is None else _group(app, name, group_help)
        for command, help_text, function in commands:
            target.command(command, help=help_text)(function)


def _group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The sub-command group ``name`` (an existing one, e.g. core's ``key`` for the workflow, or a new one)."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = new_app(help_text)
    app.add_typer(group, name=name)
    return group


# What a command reads from a path the operator names (docs/spec.md §13): a regular file within a size
# limit, never a FIFO or a device (/dev/zero would be read until the kernel kills the process).
DOCUMENT_LIMIT = 4 * 1024 * 1024  # --from-file bodies, approvals, requests, key files
ATTACHMENT_LIMIT = 64 * 1024 * 1024  # photos, certificates, any file stored with an entry


def read_input_file(path: Path, what: str, limit: int = DOCUMENT_LIMIT) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``); UsageError (exit 2) for anything else."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise UsageError(_("Cannot read {what} {path}: {why}").format(what=what, path=path, why=exc.strerror)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(
            _("{what} {path} is not a regular file.").format(what=what, path=path),
            hint=_("Give the path of an ordinary file (not a pipe, a device or a directory)."),
        )
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise UsageError(
                _("Cannot read {what} {path}: {why}").format(what=what, path=path, why=exc.strerror)) from None
    if len(data) > limit:
        raise UsageError(
            _("{what} {path} is larger than {limit} MiB.").format(what=what, path=path, limit=limit // (1024 * 1024)),
            hint=_("Nothing was recorded. Give a smaller file."),
        )
    return data


def read_attachments(paths: list[str]) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Each file's reference for an entry body (``attachment_ref``) and its bytes, which
    ``custody.ledger.workflow.act`` stores in the same transaction as the entry."""
    from custody.ledger.workflow import attachment_ref

    refs, blobs = [], []
    for path in paths:
        data = read_input_file(Path(path), _("the attachment"), ATTACHMENT_LIMIT)
        refs.append(attachment_ref(data, Path(path).name))
        blobs.append(data)
    return refs, blobs


def kdf_n() -> int:
    """scrypt cost for new keys; CUSTODY_KDF_N may lower it to the 2^15 floor (tests)."""
    from custody.ledger.keyenvelope import DEFAULT_N, MIN_N

    value = os.environ.get("CUSTODY_KDF_N")
    if not value:
        return DEFAULT_N
    try:
        n = int(value)
    except ValueError:
        raise KeyFileError(_("CUSTODY_KDF_N must be a power of two")) from None
    return max(n, MIN_N)


def interactive() -> bool:
    return sys.stdin.isatty() and not os.environ.get("CI")


def passphrase(passphrase_file: Path | None, *, prompt: str, confirm: bool = False,
               env_var: str = "CUSTODY_PASSPHRASE") -> bytes:
    from custody.ledger.keyfile import resolve_passphrase  # the key file's code: not when the key agent signs

    return resolve_passphrase(
        passphrase_file=passphrase_file, env_var=env_var, prompt=prompt, confirm=confirm,
        interactive=interactive(),
    )


def load_signer(key: Path | None, passphrase_file: Path | None, *, agent: bool = True) -> Signer:
    """The person's key: the key agent's (``custody unlock``) when it holds it, else the key file opened now."""
    if agent:
        from custody.ledger.keyagent.hooks import agent_person_signer

        held = agent_person_signer(key)
        if held is not None:
            return held
    if key is None:
        raise KeyFileError(
            _("No signing key given."),
            hint=_("Give your key file with --key FILE or the environment variable CUSTODY_KEY."),
        )
    from custody.ledger.keyfile import read_key_file

    secret = passphrase(passphrase_file, prompt=_("Passphrase for {key}: ").format(key=key))
    name, private = read_key_file(key, secret)
    return Signer(name, private)


def optional_log_signer(ledger: Ledger, log_passphrase_file: Path | None) -> Signer | None:
    """The log key when it is at hand without asking (automatic checkpoints): the key agent's, else the
    key file with its passphrase, opened only if a checkpoint is signed (``custody.ledger.deferredkey``)."""
    from custody.ledger.keyagent.hooks import agent_log_signer, deferred_log_signer

    held = agent_log_signer(ledger)
    if held is not None:
        return held
    if log_passphrase_file is None and not os.environ.get("CUSTODY_LOG_PASSPHRASE"):
        return None
    from custody.ledger.keyfile import resolve_passphrase

    secret = resolve_passphrase(
        passphrase_file=log_passphrase_file, env_var="CUSTODY_LOG_PASSPHRASE", prompt=None, interactive=False
    )
    return deferred_log_signer(ledger, secret)


def log_signer(ledger: Ledger, log_passphrase_file: Path | None) -> Signer:
    from custody.ledger.keyagent.hooks import agent_log_signer

    held = agent_log_signer(ledger)
    if held is not None:
        return held
    secret = passphrase(
        log_passphrase_file, prompt=_("Passphrase for the log key: "), env_var="CUSTODY_LOG_PASSPHRASE"
    )
    return ledger.log_signer(secret)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


# Reusable option declarations (typer builds help at import time, after the
# language is chosen in cli.main).


class DeferredOption(OptionInfo):
    """``typer.Option(default, *names, **kw)``, made when typer first reads it.

    An option is the default value of a command function's parameter, so a module of commands makes every
    command's options as it is imported: about 500 for the workflow's and the core's, ~10 us each, while
    one command runs (custody.cli.main builds only that one).  This stand-in keeps the arguments and
    becomes the very option ``typer.Option`` makes (its attributes copied) when any attribute is first read;
    ``isinstance`` and ``copy`` see an ``OptionInfo`` throughout.
    """

    def __init__(self, default: Any, names: tuple[str, ...], kw: dict[str, Any]) -> None:
        self.__dict__["_deferred"] = (default, names, kw)  # OptionInfo.__init__ runs when it is read

    def __getattr__(self, name: str) -> Any:  # only for names the instance does not hold yet
        deferred = self.__dict__.get("_deferred")
        if deferred is None or (name.startswith("__") and name.endswith("__")):  # copy's, pickle's probes
            raise AttributeError(name)
        default, names, kw = deferred
        self.__dict__.update(typer.Option(default, *names, **kw).__dict__)
        del self.__dict__["_deferred"]
        return getattr(self, name)


def option(default: Any, *names: str, **kw: Any) -> Any:
    """``typer.Option``, made when typer reads it (:class:`DeferredOption`)."""
    return DeferredOption(default, names, kw)


# Path options of the everyday commands are declared as text and turned into paths by the commands
# (``optional_path``); the rarer commands that declare ``ledger_dir: Path`` get the text default converted
# by typer.


def ledger_option() -> Any:
    return option(".", "--ledger", "-l", envvar="CUSTODY_LEDGER", metavar="DIR",
                        help=_("Ledger directory (made by 'custody init')."))


def optional_path(value: str | None) -> Path | None:
    """A path option's value, declared as text (see above)."""
    return None if value is None else Path(value)


def key_option() -> Any:
    return option(None, "--key", "-k", envvar="CUSTODY_KEY", metavar="FILE", help=_("Your signing key file."))


def passphrase_file_option() -> Any:
    return option(
        None, "--passphrase-file", metavar="FILE",
        help=_("File holding the key's passphrase (else CUSTODY_PASSPHRASE, else a prompt)."),
    )


def log_passphrase_option() -> Any:
    return option(
        None, "--log-passphrase-file", metavar="FILE",
        help=_("File holding the log key's passphrase (else CUSTODY_LOG_PASSPHRASE)."),
    )


def json_option() -> Any:
    return option(False, "--json", help=_("Print the result as JSON."))
