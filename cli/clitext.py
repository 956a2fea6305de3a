"""click's and typer's own words -- usage lines, help headings, the help option, usage errors -- in Japanese.

click and ``typer.core`` write their messages through gettext's global
domain (``from gettext import gettext as _``, ``ngettext``).  ``install``
gives that domain a catalogue in the process's language (``ledger.i18n``):
``ledger/locale/ja/click.po``, whose msgids are click's and typer's texts as
they write them, compiled with Babel into a ``.mo`` file in the user's cache
(``ledger.usercache``) at first use, and bound with gettext's public
``bindtextdomain``/``textdomain``.  gettext picks the language of a global
domain from the environment (``LANGUAGE`` first, docs.python.org gettext
``find``), so ``install`` sets ``LANGUAGE`` to custody's language: custody
speaks Japanese whatever the locale says (docs/spec.md §13).  English is
click's own text, untouched.

A few things gettext cannot reach, handled through click's public API in
``custody.cli.common`` (``CustodyGroup``):

- typer's shell-completion options and its "Did you mean" suggestion for a
  misspelt command are fixed English: the help formatter (``Formatter``)
  and ``CustodyGroup.resolve_command`` use custody's catalogue instead;
- click builds "Missing option '--x'." from a translated "Missing option"
  and the option's name, an order Japanese cannot follow: ``missing_message``
  says it in custody's words from the exception's fields;
- custody's number options use ``AtLeast`` (custody's words for a number
  out of range).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from custody.ledger import usercache
from custody.ledger.i18n import _, language, sources

DOMAIN = "custody-click"
_PYTHON_DOMAIN = gettext.textdomain()  # "messages", gettext's default: no catalogue, click's English
_LANGUAGE = os.environ.get("LANGUAGE")  # the environment's own, put back for English

# typer/completion.py: the root's --install-completion and --show-completion, in fixed English (not gettext).
_FIXED = ("Install completion for the current shell.",
          "Show completion for the current shell, to copy it or customize the installation.")


def install() -> None:
    """click's and typer's messages in the process's language: custody's catalogue for Japanese, theirs for
    English (also after a Japanese command in the same process, as in the tests)."""
    lang = language()
    folder = None if lang == "en" else catalogue_dir(lang)
    if folder is None:
        gettext.textdomain(_PYTHON_DOMAIN)
        if _LANGUAGE is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = _LANGUAGE
        return
    gettext.bindtextdomain(DOMAIN, str(folder))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = lang


def catalogue_dir(lang: str) -> Path | None:
    """A folder holding ``<lang>/LC_MESSAGES/custody-click.mo`` compiled from ``ledger/locale/<lang>/click.po``.

    Kept in the user's cache under the digest of the language's .po files (``ledger.i18n.sources``), made at
    first use; when the cache cannot be written, in a private temporary folder for this process.  None when
    there is no such .po file.
    """
    files, digest = sources(lang)
    source = files.get("click.po")
    if source is None:
        return None
    name = f"gettext-{lang}-{digest}"
    relative = f"{name}/{lang}/LC_MESSAGES/{DOMAIN}.mo"
    cached = usercache.cache_dir()
    if cached is not None and (cached / relative).is_file():
        return cached / name
    try:
        compiled = _compile(source.read_bytes(), lang)
    except OSError:
        return None
    usercache.write(relative, compiled)
    usercache.prune(f"gettext-{lang}-*", keep=name)
    if cached is not None and (cached / relative).is_file():
        return cached / name
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="custody-gettext-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = folder / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    target.parent.mkdir(parents=True)
    target.write_bytes(compiled)
    return folder


def _compile(po: bytes, lang: str) -> bytes:
    """The .po file's catalogue as gettext's binary .mo (Babel reads and writes both)."""
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    out = io.BytesIO()
    write_mo(out, read_po(io.BytesIO(po), locale=lang))
    return out.getvalue()


class Formatter(click.HelpFormatter):
    """click's help formatter, for Japanese: typer's fixed English option texts translated, and lines wrapped by
    terminal cells.  English is click's own."""

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        if language() == "en":
            super().write_dl(rows, col_max, col_spacing)
            return
        rows = [(term, _(text) if text in _FIXED else text) for term, text in rows]
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


def missing_message(error: click.MissingParameter) -> str:
    """What a MissingParameter says, in custody's words ("オプション '--x' が指定されていません。")."""
    ctx = error.ctx
    hint: Any = error.param_hint
    if hint is None and error.param is not None:
        hint = error.param.get_error_hint(ctx) if ctx is not None else None
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(item) for item in hint)
    kind = error.param_type or (error.param.param_type_name if error.param is not None else "parameter")
    if kind == "option":
        text = _("Missing option {parameter}.").format(parameter=hint or "")
    elif kind == "argument":
        text = _("Missing argument {parameter}.").format(parameter=hint or "")
    else:
        text = _("Missing parameter {parameter}.").format(parameter=hint or "")
    extra = [error.message] if error.message else []
    if error.param is not None:
        more = error.param.type.get_missing_message(param=error.param, ctx=ctx)
        if more:
            extra.append(more)
    return " ".join([text, *extra])


class AtLeast(click.FloatRange):
    """A whole number (``int``) or a number (``float``) of at least ``minimum``, refused in custody's words.

    A click range type, so that the help shows the range as click shows it (``x>=1``); only the refusal is
    custody's (click's "0 is not in the range x>=1." reads as a formula)."""

    def __init__(self, kind: type[int] | type[float], minimum: float) -> None:
        super().__init__(min=minimum)
        self.kind = kind
        self.minimum = minimum
        self.name = "integer range" if kind is int else "float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.kind) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = self.kind(str(value).strip())
            except ValueError:
                self.fail(_("Enter a whole number.") if self.kind is int else _("Enter a number."), param, ctx)
        if number < self.minimum:
            self.fail(_("Enter {n} or more.").format(n=self.minimum), param, ctx)
        return number

    def __repr__(self) -> str:
        return f"AtLeast({self.kind.__name__}, {self.minimum})"
