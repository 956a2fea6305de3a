"""Where the key agent's socket lives, and the checks that keep it private (docs/spec.md §6.7).

The socket is ``$XDG_RUNTIME_DIR/custody/agent.sock``: the login manager
(systemd-logind, pam_systemd) makes ``$XDG_RUNTIME_DIR`` for the user alone
and removes it when the user's last session ends, which also ends the agent.
Without it the socket is ``custody-<uid>/agent.sock`` in the temporary
directory (``$TMPDIR``, else ``/tmp``).  Either way the folder is the
user's own with mode 0700 and the socket has mode 0600; a folder that
exists with another owner or a wider mode (someone else made it first in a
shared ``/tmp``) is never used.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from custody.ledger.errors import KeyAgentError
from custody.ledger.i18n import _

SOCKET_NAME = "agent.sock"
# Linux: the agent and its clients check each other with SO_PEERCRED, and the agent hardens itself with
# prctl and mlock (custody.ledger.keyagent.hardening).  Elsewhere `custody unlock` says it is not supported.
SUPPORTED = sys.platform.startswith("linux")


def agent_dir() -> Path:
    """The key agent's folder for this user (see the module documentation)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base):
        return Path(base) / "custody"
    import tempfile  # here only: it imports random and shutil, which a command need not load

    return Path(tempfile.gettempdir()) / f"custody-{os.getuid()}"


def socket_path() -> Path:
    return agent_dir() / SOCKET_NAME


def private_problem(directory: Path) -> str | None:
    """Why ``directory`` is not a folder of this user's alone (None when it is, or does not exist)."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    if not stat.S_ISDIR(info.st_mode):
        return _("it is not a folder")
    if info.st_uid != os.getuid():
        return _("it belongs to another user (uid {uid})").format(uid=info.st_uid)
    if info.st_mode & 0o077:
        return _("others may use it (mode {mode})").format(mode=f"{stat.S_IMODE(info.st_mode):04o}")
    return None


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` with mode 0700 (its parent must exist), or check the one there; KeyAgentError."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise KeyAgentError(
            _("Cannot create the key agent's folder {path}: {why}").format(path=directory, why=exc.strerror or exc)
        ) from None
    problem = private_problem(directory)
    if problem is not None:
        raise KeyAgentError(
            _("The key agent's folder {path} is not private: {why}.").format(path=directory, why=problem),
            hint=_("Remove it (it may have been made by someone else), or set XDG_RUNTIME_DIR to a folder "
                   "of your own, then run 'custody unlock' again."),
        )
