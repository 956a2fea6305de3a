"""typer's own words -- the usage line, help headings, the help option and usage errors -- in Japanese.

typer 0.29 vendors click (``typer._click``), which writes its text in fixed
English: "Usage:", "Show this message and exit.", "Error: Missing option
'--media-id'".  Only the headings and markers that ``typer.core`` writes
("Options", "[required]", "[env var: ...]") go through gettext, in gettext's
global domain, which custody does not use.  An operator or an auditor who
mistypes a command should read what went wrong in the language of the rest
of the output, so ``install`` (for Japanese only; English output stays
typer's, byte for byte):

- sends ``typer.core``'s gettext calls to custody's catalogue (``ledger.i18n``);
- gives click's contexts a help formatter that writes the usage prefix and
  the help option's description in Japanese;
- replaces how a usage error is shown (``UsageError.show``), which typer
  calls before it exits with 2.  Each kind of usage error is rebuilt from
  its fields; the English details typer and click put in messages are
  matched against the few forms they take (``_DETAILS``) and anything else is
  shown as it is.

These reach into typer's private modules; pyproject.toml pins typer below
0.30, and tests/cli/test_clitext.py fails if a typer release moves them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import IO, Any

from typer import core as typer_core
from typer._click import core as click_core
from typer._click import exceptions as click_exceptions
from typer._click import formatting
from typer._click.utils import echo

from custody.ledger.i18n import _, language

_HELP_OPTION = "Show this message and exit."  # typer/_click/decorators.py, help_option: click's fixed text
# typer/completion.py: the root's --install-completion and --show-completion, in fixed English.
_INSTALL_COMPLETION = "Install completion for the current shell."
_SHOW_COMPLETION = "Show completion for the current shell, to copy it or customize the installation."

# English details that typer and click build into messages (typer/_click/core.py, parser.py,
# typer/_coercion.py, typer/_param_types.py), and custody's message for each.
# (pattern, flags, render): compiled when a usage error is shown (re's own cache), not by every command's start-up.
_DETAILS: list[tuple[str, int, Callable[..., str]]] = [
    (r"Got unexpected extra argument\(s\) \((?P<args>.*)\)", re.DOTALL,
     lambda args: _("Got unexpected extra argument(s) ({args})").format(args=args)),
    (r"Option (?P<option>'[^']*') does not take a value\.", 0,
     lambda option: _("Option {option} does not take a value.").format(option=option)),
    (r"Option (?P<option>'[^']*') requires an argument\.", 0,
     lambda option: _("Option {option} requires a value.").format(option=option)),
    (r"Option (?P<option>'[^']*') requires (?P<n>\d+) arguments\.", 0,
     lambda option, n: _("Option {option} requires {n} values.").format(option=option, n=n)),
    (r"Argument (?P<argument>'[^']*') takes (?P<n>\d+) values\.", 0,
     lambda argument, n: _("Argument {argument} takes {n} values.").format(argument=argument, n=n)),
    (r"Value (?P<value>.*) is not a valid (?P<kind>[^.]+)\.", re.DOTALL,
     lambda value, kind: _("{value} is not a valid {kind}.").format(value=value, kind=kind)),
    (r"(?P<value>.*) is not one of (?P<choices>.*)\.", re.DOTALL,
     lambda value, choices: _("{value} is not one of {choices}.").format(value=value, choices=choices)),
    (r"(?P<message>.*)\. Did you mean (?P<suggestions>.*)\?", re.DOTALL,  # typer/core.py
     lambda message, suggestions: _("{message}. Did you mean {suggestions}?").format(
         message=message.rstrip("。."), suggestions=suggestions)),
    # pydantic's messages, for the options typer converts with it (numbers and their bounds)
    (r"Input should be a valid integer.*", re.DOTALL, lambda: _("Enter a whole number.")),
    (r"Input should be greater than or equal to (?P<n>.+)", 0,
     lambda n: _("Enter {n} or more.").format(n=n)),
    (r"Input should be less than or equal to (?P<n>.+)", 0,
     lambda n: _("Enter {n} or less.").format(n=n)),
    (r"Choose from:(?P<choices>.*)", re.DOTALL,
     lambda choices: _("Choose from:{choices}").format(choices=choices)),
]


# typer's own, put back for English.
_TYPER_GETTEXT = typer_core._  # type: ignore[attr-defined]
_TYPER_FORMATTER = click_core.Context.formatter_class
_TYPER_SHOW = click_exceptions.UsageError.show


def install() -> None:
    """typer's own words in the process's language (``ledger.i18n``): custody's for Japanese, typer's for English.

    English puts typer's own back, so that a process (a test) that ran a
    Japanese command and then an English one prints typer's English exactly.
    """
    if language() == "en":
        typer_core._ = _TYPER_GETTEXT  # type: ignore[attr-defined]
        click_core.Context.formatter_class = _TYPER_FORMATTER
        click_exceptions.UsageError.show = _TYPER_SHOW  # type: ignore[method-assign]
        return
    typer_core._ = _  # type: ignore[attr-defined]  # typer.core: from gettext import gettext as _
    click_core.Context.formatter_class = _Formatter
    click_exceptions.UsageError.show = _show_usage_error  # type: ignore[method-assign]


class _Formatter(formatting.HelpFormatter):
    """click's help formatter with the usage prefix and the fixed options' descriptions translated."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        fixed = {
            _HELP_OPTION: _("Show this message and exit."),
            _INSTALL_COMPLETION: _("Install completion for the current shell."),
            _SHOW_COMPLETION: _("Show completion for the current shell, to copy it or customize the installation."),
        }
        rows = [(term, fixed.get(text, text)) for term, text in rows]
        # click wraps by characters, as if each took one column: Japanese lines ran twice the terminal's width,
        # and options, numbers and words were cut anywhere ("--from-|csv", "pa|per").  custody.cli.common's
        # wrap_cells counts terminal cells and breaks between Japanese characters or at spaces only.
        from custody.cli.common import wrap_cells

        first_col = min(max((len(term) for term, _text in rows), default=0), col_max) + col_spacing
        indent = " " * self.current_indent
        for term, text in rows:
            self.write(f"{indent}{term}")
            if not text:
                self.write("\n")
                continue
            if len(term) <= first_col - col_spacing:
                self.write(" " * (first_col - len(term)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = [line for paragraph in text.split("\n\n")
                     for line in wrap_cells(paragraph, max(self.width - first_col - 2, 10))]
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{indent}{' ' * first_col}{line}\n")


def _show_usage_error(self: click_exceptions.UsageError, file: IO[Any] | None = None) -> None:
    """``UsageError.show`` in custody's words: the usage line, where to find help, and what is wrong."""
    ctx = self.ctx
    if ctx is not None:
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = _("Try '{command} {option}' for help.").format(
                command=ctx.command_path, option=ctx.help_option_names[0]) + "\n"
        echo(f"{ctx.get_usage()}\n{hint}", file=file, err=file is None, color=ctx.color)
    try:
        what = message(self)
    except Exception:  # noqa: BLE001 - a typer that changed its fields: its own English rather than a traceback
        what = self.format_message()
    echo(_("Error: {message}").format(message=what), file=file, err=file is None,
         color=ctx.color if ctx is not None else None)


def message(error: click_exceptions.UsageError) -> str:
    """What is wrong, in custody's words (the text after "Error: ")."""
    if isinstance(error, click_exceptions.MissingParameter):
        return _missing(error)
    if isinstance(error, click_exceptions.BadParameter):
        hint = _param_hint(error)
        if hint is None:
            return _("Invalid value: {detail}").format(detail=detail(error.message))
        return _("Invalid value for {parameter}: {detail}").format(parameter=hint, detail=detail(error.message))
    if isinstance(error, click_exceptions.NoSuchOption):
        text = _("No such option: {option}").format(option=error.option_name)
        if error.possibilities:
            text += " " + _("(Possible options: {options})").format(options=", ".join(sorted(error.possibilities)))
        return text
    return detail(error.message)


def detail(text: str) -> str:
    """An English detail from typer or click in custody's words, when it is one of their known forms."""
    for pattern, flags, render in _DETAILS:
        found = re.fullmatch(pattern, text, flags)
        if found:
            return render(**found.groupdict())
    return text


def _param_hint(error: click_exceptions.BadParameter) -> str | None:
    """The parameter's names as click quotes them ("'--media-id' / '-m'"), or None."""
    hint: Any = error.param_hint
    if hint is None and error.param is not None:
        hint = error.param.get_error_hint()
    return click_exceptions._join_param_hints(hint)


def _missing(error: click_exceptions.MissingParameter) -> str:
    kind = error.param_type or (error.param.param_type_name if error.param is not None else "parameter")
    hint = _param_hint(error) or ""
    if kind == "option":
        text = _("Missing option {parameter}.").format(parameter=hint)
    elif kind == "argument":
        text = _("Missing argument {parameter}.").format(parameter=hint)
    else:
        text = _("Missing parameter {parameter}.").format(parameter=hint)
    extra = [error.message] if error.message else []
    if error.param is not None:
        more = error.param.get_missing_message(ctx=error.ctx)
        if more:
            extra.append(more)
    return " ".join([text, *(detail(e) for e in extra)])
