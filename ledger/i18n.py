"""Japanese and English messages (DESIGN.md, Commands: --lang or CUSTODY_LANG).

Source strings are English; Japanese translations live in gettext ``.po``
files under ``ledger/locale/ja/`` (one file per area, so that each area owns
its file).  They are read with Babel at first use, so there is no compile
step and no binary ``.mo`` file in the tree.

The language is chosen once per process: ``set_language()`` (the CLI does it
before building its help text, NOTES.md typer), else ``CUSTODY_LANG``, else the
locale (``LC_ALL``/``LC_MESSAGES``/``LANG``), else Japanese -- the people who
read custody's output at a municipality read Japanese.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from functools import cache
from importlib import resources
from pathlib import Path

SUPPORTED = ("ja", "en")
_language: str | None = None


def _from_environment() -> str:
    for var in ("CUSTODY_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            code = value.split(".")[0].split("_")[0].lower()
            if code in SUPPORTED:
                return code
            if var == "CUSTODY_LANG":
                break
            if code in ("c", "posix"):
                continue
    return "ja"


def set_language(lang: str | None) -> str:
    """Fix the language for this process; None means: from the environment."""
    global _language  # noqa: PLW0603 - one process-wide choice, by design
    code = (lang or "").lower().split("_")[0]
    _language = code if code in SUPPORTED else _from_environment()
    return _language


def language() -> str:
    if _language is None:
        return set_language(None)
    return _language


@cache
def _catalog(lang: str) -> dict[str, str]:
    """The translations for ``lang``, parsed with Babel.

    Parsing the .po files costs ~50 ms, paid by every command a person types;
    the parsed table is therefore kept in the user's cache directory as JSON,
    keyed by a digest of the .po files' bytes, and rebuilt whenever one of
    them changes.  A cache that cannot be read or written is simply skipped.
    """
    if lang == "en":
        return {}
    folder = resources.files("ledger") / "locale" / lang
    sources = [(item.name, item.read_bytes()) for item in sorted(folder.iterdir(), key=lambda p: p.name)
               if item.name.endswith(".po")]
    digest = hashlib.sha256(b"".join(name.encode() + b"\0" + data for name, data in sources)).hexdigest()[:24]
    cached = _cache_dir() / f"i18n-{lang}-{digest}.json"
    try:
        table = json.loads(cached.read_text(encoding="utf-8"))
        if isinstance(table, dict):
            return table
    except (OSError, ValueError):
        pass
    from babel.messages.pofile import read_po

    table = {}
    for _name, data in sources:
        for message in read_po(io.BytesIO(data), locale=lang):
            if message.id and message.string and isinstance(message.id, str):
                table[message.id] = str(message.string)
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cached)
    return table


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "custody"


def _(message: str) -> str:
    """Translate an English source string into the current language."""
    return _catalog(language()).get(message, message)


def text(en: str, ja: str) -> str:
    """Pick between two literal texts (report labels, where a .po entry would only add noise)."""
    return ja if language() == "ja" else en
