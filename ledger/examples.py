"""The example files an installed custody carries: the contract, the agent's service files, the template of a
handover receipt for ``custody media receive --from-csv``.

They live in the repository's ``docs/`` folder, which installs as the package
data of ``custody.docs``; ``custody example NAME`` (and ``custody init
--example-contract FILE``) write them out.  Two placeholders are filled in with
this installation's own paths, so that a written-out unit points at files that
exist: ``@CUSTODY@`` (the ``custody`` executable) and ``@DOCS@`` (the
installed documentation folder).
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from custody.ledger.errors import OutputError, UsageError
from custody.ledger.i18n import _

# Where a Windows install puts custody (agent-windows.md), used when the script is written out elsewhere.
WINDOWS_DEFAULT_EXE = r"C:\Program Files\custody\venv\Scripts\custody.exe"


@dataclass(frozen=True)
class Example:
    name: str
    filename: str
    windows: bool = False


EXAMPLES = {
    example.name: example
    for example in (
        Example("contract", "contract.example.toml"),
        Example("systemd-unit", "custody-agent.service"),
        Example("windows-service", "custody-agent-windows.ps1", windows=True),
        Example("receipt-csv", "receipt-import.example.csv"),  # media receive --from-csv (docs/receipt-import.md)
    )
}


def docs_dir() -> Path:
    """The installed documentation folder (``custody.docs``, a folder of data with no ``__init__.py``)."""
    spec = importlib.util.find_spec("custody.docs")
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not locations:
        raise UsageError(_("custody's documentation folder is not installed."),
                         hint=_("Reinstall custody (pip install --force-reinstall custody-ledger)."))
    return Path(locations[0])


def custody_executable(*, windows: bool = False) -> str:
    """The ``custody`` command of this installation: beside the running interpreter, else on PATH."""
    if windows and os.name != "nt":
        return WINDOWS_DEFAULT_EXE
    name = "custody.exe" if os.name == "nt" else "custody"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which("custody")
    return found if found is not None else str(beside)


def render(name: str) -> str:
    """The text of example ``name`` with this installation's paths filled in."""
    example = EXAMPLES.get(name)
    if example is None:
        raise UsageError(
            _("Unknown example {name!r}.").format(name=name),
            hint=_("Choose one of: {names}.").format(names=", ".join(EXAMPLES)),
        )
    text = (docs_dir() / example.filename).read_text(encoding="utf-8")
    return text.replace("@CUSTODY@", custody_executable(windows=example.windows)).replace(
        "@DOCS@", docs_dir().as_posix())


def _taken(path: Path) -> OutputError:
    return OutputError(
        _("{path} exists already; custody does not replace it.").format(path=path),
        hint=_("Choose another name with -o, or move the existing file away first."),
    )


def write_new(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, which must not exist yet; nothing half-written is left under its name.

    The file is written under a temporary name and then hard-linked to ``path``
    (which fails if a file took the name meanwhile): an example never replaces
    a contract or a unit someone already edited.
    """
    if path.exists() or path.is_symlink():
        raise _taken(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        try:
            os.link(tmp, path)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise
            os.rename(tmp, path)  # no hard links on this filesystem (FAT): checked above that the name was free
    except FileExistsError:
        raise _taken(path) from None
    except OSError as exc:
        raise OutputError(
            _("Cannot write {path}: {why}").format(path=path, why=exc.strerror or exc),
            hint=_("Nothing was left at {path}. Free space on that disk or choose another place.").format(path=path),
        ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
