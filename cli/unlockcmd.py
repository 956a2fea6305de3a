"""``custody unlock`` and ``custody lock``: a person's key kept open for a shift (docs/spec.md §6.7).

The key agent itself is ``custody.ledger.keyagent``; these commands start it
(asking the passphrase once), show it, and end it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from custody.cli.common import (
    CommandTree,
    err,
    json_option,
    key_option,
    log_passphrase_option,
    out,
    passphrase,
    passphrase_file_option,
    print_json,
    register_tree,
)
from custody.ledger.errors import KeyFileError, UsageError
from custody.ledger.i18n import _

DEFAULT_SHIFT = "8h"
DEFAULT_IDLE = "1h"
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def register(app: typer.Typer, only: str | None = None) -> None:
    tree: CommandTree = {
        "unlock": (None, [("unlock", _(
            "Open your key once for a shift: a background key agent signs your commands without asking "
            "the passphrase again, until 'custody lock', the end of the shift or a pause."), unlock)]),
        "lock": (None, [("lock", _("End the key agent now: commands ask for the passphrase again."), lock)]),
    }
    register_tree(app, tree, only)


def parse_duration(text: str, option: str) -> float:
    """Seconds in ``text``: hours, minutes and seconds such as 8h, 30m, 90s or 1h30m."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise UsageError(
            _("{option} {value} is not a duration.").format(option=option, value=text),
            hint=_("Write hours, minutes or seconds, e.g. 8h, 30m, 90s or 1h30m."),
        )
    hours, minutes, seconds = (float(group or 0) for group in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise UsageError(_("{option} must be longer than zero.").format(option=option))
    return total


def _human(seconds: float) -> str:
    seconds = round(seconds)  # what is left of a shift a moment after it began reads as the whole of it
    if seconds >= 3600:
        return _("{n:g} h").format(n=round(seconds / 3600, 1))
    if seconds >= 60:
        return _("{n:g} min").format(n=round(seconds / 60, 1))
    return _("{n:g} s").format(n=round(seconds, 1))


def _ledger_dir(value: str | None) -> Path | None:
    """The ledger named by --ledger (it must be one), else the current folder when it is one, else none."""
    from custody.ledger.config import LedgerPaths

    if value is None:
        here = LedgerPaths(Path("."))
        return here.root if here.config.is_file() else None
    paths = LedgerPaths(Path(value))
    paths.load_config()  # StoreError (exit 4) when it is not a ledger
    return paths.root


def unlock(
    ledger_dir: str | None = typer.Option(
        None, "--ledger", "-l", envvar="CUSTODY_LEDGER", metavar="DIR",
        help=_("The ledger the key signs for (default: the current folder when it is one). Without a ledger "
               "the agent signs approvals only.")),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_key: bool = typer.Option(
        False, "--log-key", help=_("Also open the ledger's log key, so that checkpoints are signed on time "
                                   "(the responsible person).")),
    log_passphrase_file: str | None = log_passphrase_option(),
    shift: str = typer.Option(
        DEFAULT_SHIFT, "--shift", envvar="CUSTODY_SHIFT", metavar="DURATION",
        help=_("How long the key stays open at most, e.g. 8h.")),
    idle: str = typer.Option(
        DEFAULT_IDLE, "--idle", envvar="CUSTODY_IDLE", metavar="DURATION",
        help=_("The key closes after this long without a signature, e.g. 30m.")),
    status: bool = typer.Option(False, "--status", help=_("Show the running key agent; open nothing.")),
    json_out: bool = json_option(),
) -> None:
    from custody.ledger.keyagent import launch

    if status:
        _show(launch.status(), json_out)
        return
    shift_seconds = parse_duration(shift, "--shift")
    idle_seconds = parse_duration(idle, "--idle")
    if key is None:
        raise KeyFileError(
            _("No signing key given."),
            hint=_("Give your key file with --key FILE or the environment variable CUSTODY_KEY."),
        )
    ledger = _ledger_dir(ledger_dir)
    if log_key and ledger is None:
        raise UsageError(_("--log-key needs the ledger: give --ledger DIR."))
    running = launch.status()
    if running is not None:
        raise UsageError(
            _("A key agent is already running (process {pid}).").format(pid=running.get("pid")),
            hint=_("End it with 'custody lock' first, or keep using it ('custody unlock --status')."),
        )
    secret = passphrase(Path(passphrase_file) if passphrase_file else None,
                        prompt=_("Passphrase for {key}: ").format(key=key))
    log_secret = None
    if log_key:
        log_secret = passphrase(Path(log_passphrase_file) if log_passphrase_file else None,
                                prompt=_("Passphrase for the log key: "), env_var="CUSTODY_LOG_PASSPHRASE")
    reply = launch.start(key=Path(key), passphrase=secret, ledger=ledger, log_passphrase=log_secret,
                         shift_seconds=shift_seconds, idle_seconds=idle_seconds)
    if json_out:
        print_json(reply)
        return
    _describe(reply)
    out.line(_("Until then commands sign without asking; 'custody lock' ends it now."))


def _describe(reply: dict[str, Any]) -> None:
    names = ", ".join(key["name"] + (_(" (log key)") if key["role"] == "log" else "") for key in reply["keys"])
    out.line(_("Key agent running (process {pid}): {names}.").format(pid=reply["pid"], names=names))
    if reply.get("origin"):
        out.line(_("Ledger: {origin} ({path}).").format(origin=reply["origin"], path=reply["ledger"]))
    else:
        out.line(_("No ledger: the agent signs approvals only."))
    out.line(_("It ends in {shift}, or after {idle} without a signature.").format(
        shift=_human(reply["shift_left"]), idle=_human(reply["idle_left"])))
    hardening = reply.get("hardening", {})
    if hardening.get("dumpable"):
        err.print(_("warning: the agent could not make itself undumpable (prctl PR_SET_DUMPABLE)."), markup=False)
    if hardening.get("all_locked"):
        out.line(_("Its memory is locked against swap."))
    elif hardening.get("seeds_locked"):
        out.line(_("The keys' memory is locked against swap (the rest of the agent is not: RLIMIT_MEMLOCK "
                   "is not unlimited)."))
    else:
        limit = hardening.get("memlock_limit", 0)
        err.print(_("warning: the keys' memory could not be locked against swap ({why}; RLIMIT_MEMLOCK "
                    "{limit}). Raise the limit (ulimit -l, LimitMEMLOCK= in systemd, memlock in "
                    "limits.conf) to lock it.").format(
            why=hardening.get("mlock_error") or "-",
            limit=_("unlimited") if limit == -1 else f"{limit // 1024} KiB"), markup=False)


def _show(reply: dict[str, Any] | None, json_out: bool) -> None:
    if json_out:
        print_json({"running": reply is not None, **(reply or {})})
        return
    if reply is None:
        out.line(_("No key agent is running: commands ask for the passphrase."))
        return
    _describe(reply)


def lock(json_out: bool = json_option()) -> None:
    from custody.ledger.keyagent import launch

    pid = launch.lock()
    if json_out:
        print_json({"ended": pid is not None, "pid": pid})
    elif pid is None:
        out.line(_("No key agent was running."))
    else:
        out.line(_("Key agent ended (process {pid}): commands ask for the passphrase again.").format(pid=pid))
