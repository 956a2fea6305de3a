"""Start the key agent (``custody unlock``) and end it (``custody lock``) (docs/spec.md §6.7).

The agent is a new Python process (``custody.ledger.keyagent.server``) in a
session of its own, so that closing the terminal does not end it; it is given
the key files and their passphrases on a pipe, never on its command line or
in its environment (both are readable in ``/proc`` by the same user), and it
opens the keys itself.  ``start`` waits for its one-line answer and returns
it; the agent then serves on its own.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from custody.ledger.errors import CustodyError, KeyAgentError, RuleRefusal
from custody.ledger.i18n import _, language
from custody.ledger.keyagent import client, paths
from custody.ledger.signing_domain import LOG_KEY, PERSON_KEY

# How long `custody lock` waits for the agent to remove its socket.
LOCK_WAIT_SECONDS = 5.0
_PASSING_OVER = ("CUSTODY_PASSPHRASE", "CUSTODY_LOG_PASSPHRASE")


def unsupported() -> KeyAgentError:
    return KeyAgentError(
        _("The key agent is not supported on this system yet; every command opens the key file itself."),
        hint=_("On Windows, give the passphrase to each command (--passphrase-file, or the prompt)."),
    )


def start(*, key: Path, passphrase: bytes, ledger: Path | None, log_passphrase: bytes | None,
          shift_seconds: float, idle_seconds: float) -> dict[str, Any]:
    """Start an agent holding ``key`` (and, with ``log_passphrase``, the ledger's log key); its answer."""
    if not paths.SUPPORTED:
        raise unsupported()
    keys = [{"file": str(key.resolve()), "role": PERSON_KEY, "passphrase": base64.b64encode(passphrase).decode()}]
    if log_passphrase is not None:
        if ledger is None:
            raise KeyAgentError(_("The log key belongs to a ledger: give --ledger DIR with --log-key."))
        keys.append({"file": str((ledger / "log.key").resolve()), "role": LOG_KEY,
                     "passphrase": base64.b64encode(log_passphrase).decode()})
    config = {
        "keys": keys,
        "ledger": str(ledger.resolve()) if ledger is not None else None,
        "shift_seconds": shift_seconds,
        "idle_seconds": idle_seconds,
        "socket": str(paths.socket_path()),
    }
    env = {k: v for k, v in os.environ.items() if k not in _PASSING_OVER}
    env["CUSTODY_LANG"] = language()
    proc = subprocess.Popen(
        [sys.executable, "-m", "custody.ledger.keyagent.server"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        start_new_session=True, close_fds=True, cwd="/",
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        proc.stdin.write(json.dumps(config).encode("utf-8") + b"\n")
        proc.stdin.close()
    except BrokenPipeError:
        pass
    line = proc.stdout.readline()
    proc.stdout.close()
    try:
        reply = json.loads(line) if line else None
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        proc.wait()
        detail = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
        proc.stderr.close()
        raise KeyAgentError(_("The key agent did not start: {why}").format(
            why=detail[-1] if detail else _("exit status {code}").format(code=proc.returncode)))
    proc.stderr.close()
    if not reply.get("ok"):
        proc.wait()
        raise _error_from(reply)
    return reply


def _error_from(reply: dict[str, Any]) -> CustodyError:
    """The error the agent reported, as the same class (custody.ledger.errors) with its message and hint."""
    from custody.ledger import errors

    message, hint = str(reply.get("message")), reply.get("hint")
    kind = getattr(errors, str(reply.get("kind")), None)
    if isinstance(kind, type) and issubclass(kind, RuleRefusal):
        return kind(str(reply.get("code") or "C9"), message, todo=hint or "")
    if isinstance(kind, type) and issubclass(kind, CustodyError):
        return kind(message, hint=hint)
    error = CustodyError(message, hint=hint)
    code = reply.get("exit_code")
    error.exit_code = code if isinstance(code, int) else 1
    return error


def status() -> dict[str, Any] | None:
    """What the running agent holds (its ``hello``), or None when none runs."""
    if not paths.SUPPORTED:
        return None
    agent = client.connect(fresh=True)
    return None if agent is None else agent.hello()


def lock() -> int | None:
    """End the running agent; its process id, or None when none was running."""
    if not paths.SUPPORTED:
        return None
    agent = client.connect(fresh=True)
    if agent is None:
        return None
    try:
        reply = agent.lock()
    finally:
        client.forget()
    if not reply.get("ok"):
        return None
    # The agent removes its socket as it ends: wait for that (bounded), so that the next command finds none.
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while agent.path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return int(reply["pid"])
