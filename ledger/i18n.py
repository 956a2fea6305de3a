"""Japanese and English messages (docs/spec.md §13 (Command line): --lang or CUSTODY_LANG).

Source strings are English; Japanese translations live in gettext ``.po``
files under ``ledger/locale/ja/`` (one file per area, so that each area owns
its file).  Where one English text is translated two ways, the entries differ
by their context (``msgctxt``, looked up with :func:`pgettext` or
:func:`translate`); the reports' labels all carry one (``report``, see
``verify.reports.labels``), since an official document's wording is not the
command line's.  They are read with Babel at first use, so there is no compile
step and no binary ``.mo`` file in the tree.

The language is chosen once per process: ``set_language()`` (the CLI does it
before building its help text, docs/dependency-notes.md typer), else ``CUSTODY_LANG``, else
Japanese -- the people who read custody's output at a municipality read Japanese.  The
locale (``LANG``, ``LC_ALL``) is not consulted: servers and terminals at a vendor often run
``en_US.UTF-8`` or ``C.UTF-8`` for reasons that have nothing to do with who reads the output,
and custody would then speak English to Japanese operators (docs/spec.md §13).  A server that answers
people in several languages at once (the desk, custody.desk) picks one for the
work of one request with ``using(lang)``: a context variable, so that threads and
tasks serving other requests keep theirs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from custody.ledger import usercache

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

SUPPORTED = ("ja", "en")
_language: str | None = None
_chosen_here: ContextVar[str | None] = ContextVar("custody_language", default=None)


def _from_environment() -> str:
    """CUSTODY_LANG when it names a supported language, else Japanese (the locale is not read)."""
    value = os.environ.get("CUSTODY_LANG", "")
    code = value.split(".")[0].split("_")[0].lower()
    return code if code in SUPPORTED else "ja"


def set_language(lang: str | None) -> str:
    """Fix the language for this process; None means: from the environment."""
    global _language  # noqa: PLW0603 - one process-wide choice, by design
    code = (lang or "").lower().split("_")[0]
    _language = code if code in SUPPORTED else _from_environment()
    return _language


def language() -> str:
    here = _chosen_here.get()
    if here is not None:
        return here
    if _language is None:
        return set_language(None)
    return _language


@contextmanager
def using(lang: str) -> Iterator[str]:
    """Messages in ``lang`` (ja or en; anything else: the process's language) inside the block, in this thread or
    task only; the process's language is untouched."""
    code = lang if lang in SUPPORTED else language()
    token = _chosen_here.set(code)
    try:
        yield code
    finally:
        _chosen_here.reset(token)


#: Changes when the table's keys change meaning, so that a table cached by an older custody is not read.
_TABLE_FORMAT = b"custody-i18n-2\0"


def _key(msgid: str, context: str | None) -> str:
    """The table's key of a message: its msgid, prefixed by its msgctxt and EOT where it has one (as GNU
    gettext keys its .mo files)."""
    return msgid if not context else f"{context}\x04{msgid}"


@cache
def _catalog(lang: str) -> dict[str, str]:
    """The translations for ``lang``, parsed with Babel.

    Parsing the .po files costs ~50 ms, paid by every command a person types;
    the parsed table is therefore kept in the user's cache directory as JSON,
    keyed by a digest of the .po files' bytes, and rebuilt whenever one of
    them changes (``ledger.usercache``).  A cache that cannot be read or
    written is simply skipped.
    """
    if lang == "en":
        return {}
    files, digest = sources(lang)
    # The table's own format is part of its name: a table made by an older custody is not read as this one.
    digest = hashlib.sha256(_TABLE_FORMAT + digest.encode()).hexdigest()[:24]
    cache_name = f"i18n-{lang}-{digest}.json"
    cached = _read_cached(cache_name)
    if cached is not None:
        return cached
    from babel.messages.pofile import read_po

    table: dict[str, str] = {}
    for item in files.values():
        try:
            data = item.read_bytes()
        except OSError:
            continue
        for message in read_po(io.BytesIO(data), locale=lang):
            if message.id and message.string and isinstance(message.id, str):
                table[_key(message.id, message.context)] = str(message.string)
    usercache.write(cache_name, json.dumps(table, ensure_ascii=False).encode("utf-8"))
    usercache.prune(f"i18n-{lang}-*.json", keep=cache_name)
    return table


def _read_cached(name: str) -> dict[str, str] | None:
    """A catalogue from the user cache; None when absent or damaged."""
    data = usercache.read(name)
    if data is None:
        return None
    try:
        table = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return table if isinstance(table, dict) else None


@cache
def sources(lang: str) -> tuple[dict[str, Traversable], str]:
    """The .po files of ``ledger/locale/<lang>/`` by name, and a digest naming them, which names what is derived
    from them in the user cache (here, and custody.cli.clitext's catalogue for click): their paths, sizes and
    modification times (``usercache.stamp``), or their bytes where they are not plain files (a zip)."""
    try:
        items = sorted((item for item in (_package() / "locale" / lang).iterdir() if item.name.endswith(".po")),
                       key=lambda item: item.name)
        if all(isinstance(item, Path) for item in items):
            digest = usercache.stamp(item for item in items if isinstance(item, Path))[:24]
        else:
            digest = hashlib.sha256(b"".join(i.name.encode() + b"\0" + i.read_bytes() for i in items)).hexdigest()[:24]
    except OSError:
        return {}, ""
    return {item.name: item for item in items}, digest


def _package() -> Traversable:
    """The ``ledger`` package's folder; through ``importlib.resources`` (~8 ms of imports) only when it is not a
    directory (a zip)."""
    here = Path(__file__).parent
    if here.is_dir():
        return here
    from importlib import resources

    return resources.files("custody.ledger")


class Message(str):
    """A text translated into the current language that remembers its English source and the values filled
    into it, so that it can be shown again in another language (:meth:`render`).

    It is a ``str``: everything that prints, joins or compares texts takes it as it is.  A finding of the
    verifier keeps it, and the reports render it in their own language, so that one verification serves
    the reports of every language (docs/spec-rules.md §1).
    """

    msgid: str
    params: tuple[tuple[str, object], ...]

    def __new__(cls, text: str, msgid: str, params: tuple[tuple[str, object], ...] = ()) -> Message:
        made = super().__new__(cls, text)
        made.msgid = msgid
        made.params = params
        return made

    def format(self, *args: object, **kwargs: object) -> str:
        """``str.format``; with keyword values only (custody's messages), a Message that can be rendered again."""
        text = str.format(self, *args, **kwargs)
        return text if args else Message(text, self.msgid, tuple(kwargs.items()))

    def render(self, lang: str) -> str:
        """This text in ``lang`` (``"ja"`` or ``"en"``), its values rendered in ``lang`` too."""
        template = _catalog(lang).get(self.msgid, self.msgid)
        if not self.params:
            return template
        values = {k: v.render(lang) if isinstance(v, Message) else v for k, v in self.params}
        return template.format(**values)

    def __reduce__(self) -> tuple[type[Message], tuple[str, str, tuple[tuple[str, object], ...]]]:
        return (Message, (str(self), self.msgid, self.params))


def _(message: str) -> str:
    """Translate an English source string into the current language (a :class:`Message`)."""
    return Message(_catalog(language()).get(message, message), message)


def render(text: str, lang: str) -> str:
    """``text`` in ``lang`` when it is a :class:`Message` (a text of custody's catalogue), else as it is."""
    return text.render(lang) if isinstance(text, Message) else text


def translate(message: str, lang: str, context: str | None = None) -> str:
    """``message`` (an English msgid) in ``lang``, whatever the process's or this task's language: an explicit
    lookup, for documents written in a language of their own (the reports, ``verify.reports.labels.Tr``).
    ``context``: the msgctxt, which tells apart one English text translated two ways; the English text
    itself where the catalogue has no translation."""
    return _catalog(lang).get(_key(message, context), message)


def pgettext(context: str, message: str) -> str:
    """``message`` with msgctxt ``context`` in the current language (gettext's pgettext)."""
    return translate(message, language(), context)

