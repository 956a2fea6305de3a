"""``custody agent run`` and ``custody agent register``: the work-location agent on a real ledger.

``agent register`` records the agent's key (``personnel.registered`` with role
``agent``), signed by the responsible person, from the agent's key file alone
(its passphrase is not needed).  ``agent run`` observes in the foreground
until SIGTERM or SIGINT, then stops cleanly (``agent.stopped``, a last
checkpoint).  It signs with the agent's own key, never an operator's; it needs
the passphrases of the agent key and, for automatic checkpoints, of the log
key, both as files the agent's service account alone can read
(docs/agent-systemd.md, docs/agent-windows.md).
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
from pathlib import Path
from typing import Any

import typer

from custody.cli.clitext import AtLeast
from custody.cli.common import (
    json_option,
    key_option,
    ledger_option,
    load_signer,
    log_passphrase_option,
    new_app,
    optional_log_signer,
    out,
    passphrase_file_option,
    print_json,
)
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _
from custody.ledger.keyfile import key_file_info
from custody.ledger.ledger import Ledger
from custody.ledger.note import ALG_ED25519, Verifier


def register(app: typer.Typer, only: str | None = None) -> None:
    del only  # custody.cli.main keeps the one it builds
    agent_app = new_app(_("The work-location agent: media attached and files written, recorded in the ledger."))
    agent_app.command("run", help=_(
        "Observe media and files at this work location and record them in the ledger, signed with the "
        "agent's key (foreground; SIGTERM or SIGINT stops it cleanly)."))(run)
    agent_app.command("register", help=_(
        "Register the agent's key in the ledger (personnel.registered, role agent), signed by the "
        "responsible person."))(register_agent)
    app.add_typer(agent_app, name="agent")


# --- agent register -------------------------------------------------------------------------------


def register_agent(
    agent_key: Path = typer.Option(..., "--agent-key", help=_("The agent's key file (its passphrase is not needed).")),
    host: str | None = typer.Option(None, "--host", help=_("The machine the agent runs on (default: this one).")),
    name: str | None = typer.Option(None, "--name", help=_("A name for the agent (default: from the host).")),
    organisation: str | None = typer.Option(
        None, "--organisation", help=_("Its organisation (default: the vendor in the contract).")),
    remarks: str | None = typer.Option(None, "--remarks", help=_("Remarks.")),
    ledger_dir: Path = ledger_option(),
    key: Path | None = key_option(),
    passphrase_file: Path | None = passphrase_file_option(),
    log_passphrase_file: Path | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    from custody.ledger import workflow

    key_name, public = key_file_info(agent_key)
    vkey = Verifier(key_name, ALG_ED25519, public).vkey
    signer = load_signer(key, passphrase_file)
    import socket

    machine = host or socket.gethostname()
    with Ledger.open(ledger_dir) as ledger:
        vendor = ledger.genesis().body.get("vendor")
        vendor_name = vendor.get("name") if isinstance(vendor, dict) else None
        body: dict[str, Any] = {
            "vkey": vkey,
            "name": name or _("Work-location agent on {host}").format(host=machine),
            "organisation": organisation or (vendor_name if isinstance(vendor_name, str) and vendor_name else "-"),
            "tier": "vendor",
            "role": "agent",
            "host": machine,
        }
        if remarks:
            body["remarks"] = remarks
        entry = workflow.act(ledger, "personnel.registered", body, signer,
                             log_signer=optional_log_signer(ledger, log_passphrase_file))
    if json_out:
        print_json({"seq": entry.seq, "key_name": key_name, "vkey": vkey, "host": machine})
    else:
        out.print(_("Agent key {name} registered as entry {seq}.").format(name=key_name, seq=entry.seq),
                  markup=False)
        out.print(vkey, markup=False)


# --- agent run ------------------------------------------------------------------------------------


def _alert_argv(command: str | None) -> tuple[str, ...] | None:
    if not command:
        return None
    try:
        if os.name == "posix":
            argv = tuple(shlex.split(command))
        else:  # Windows paths hold backslashes: no escapes there, double quotes only group
            argv = tuple(t[1:-1] if len(t) > 1 and t[0] == t[-1] == '"' else t
                         for t in shlex.split(command, posix=False))
    except ValueError as exc:
        raise UsageError(_("Cannot read the --on-alert command: {why}").format(why=exc)) from None
    if not argv:
        raise UsageError(_("The --on-alert command is empty."))
    return argv


def run(
    ledger_dir: Path = ledger_option(),
    key: Path | None = key_option(),
    passphrase_file: Path | None = passphrase_file_option(),
    log_passphrase_file: Path | None = log_passphrase_option(),
    mount_table: Path | None = typer.Option(
        None, "--mount-table",
        help=_("Read mounts from this mountinfo-format file (default: /proc/self/mountinfo; "
               "psutil on Windows and macOS)."),
    ),
    media_root: list[Path] = typer.Option(
        [], "--media-root",
        help=_("Watch volumes mounted at or below this directory (repeatable; default: /media, /mnt, /run/media)."),
    ),
    heartbeat: float | None = typer.Option(
        None, "--heartbeat", click_type=AtLeast(float, 0.1),
        help=_("Seconds between heartbeats (default: custody.toml [agent] heartbeat_seconds)."),
    ),
    allowed_gap: float | None = typer.Option(
        None, "--allowed-gap", click_type=AtLeast(float, 0.1),
        help=_("Silence in seconds after which a restart records observation.gap (default: custody.toml, "
               "at least twice the heartbeat)."),
    ),
    on_alert: str | None = typer.Option(
        None, "--on-alert",
        help=_("Command run for every alert with the alert as JSON on its standard input (split into "
               "arguments like a shell would, but not run by a shell)."),
    ),
    witness: str | None = typer.Option(
        None, "--witness",
        help=_("Witness URL (C2SP tlog-witness) for automatic checkpoints (default: custody.toml [witness] url; "
               "\"\" for none)."),
    ),
    reconcile: float = typer.Option(
        10.0, "--reconcile", click_type=AtLeast(float, 0.1),
        help=_("Seconds between snapshot walks of each watched volume."),
    ),
    host: str | None = typer.Option(None, "--host", help=_("Host name recorded in agent.started.")),
    dev_root: Path = typer.Option(Path("/dev"), "--dev-root", hidden=True),
    sys_root: Path = typer.Option(Path("/sys"), "--sys-root", hidden=True),
    udev_root: Path = typer.Option(Path("/run/udev/data"), "--udev-root", hidden=True),
) -> None:
    # The agent's modules (watchdog, psutil) are imported here, not by every command that builds this help.
    from custody.agents.agent import Agent, AgentConfig
    from custody.agents.ledger_sink import (
        MSG_NO_LOG_KEY,
        LedgerMediaIndex,
        LedgerSink,
        check_agent_key,
        last_seen,
        stderr_say,
    )
    from custody.agents.mountinfo import MountFilter
    from custody.agents.volumes import VolumeProber
    from custody.agents.watcher import WatcherConfig
    from custody.ledger.deferredkey import DeferredSigner

    argv = _alert_argv(on_alert)
    signer = load_signer(key, passphrase_file)
    with Ledger.open(ledger_dir) as ledger:
        check_agent_key(ledger, signer)
        log_signer = optional_log_signer(ledger, log_passphrase_file)
        if isinstance(log_signer, DeferredSigner):
            log_signer.open()  # a wrong log passphrase stops the agent now, not at its first checkpoint
        last = last_seen(ledger, signer.name)
        settings = ledger.config
    say = stderr_say()
    if log_signer is None:
        say(_(MSG_NO_LOG_KEY))
    interval = float(heartbeat if heartbeat is not None else settings.heartbeat_seconds)
    gap = float(allowed_gap if allowed_gap is not None else max(settings.allowed_gap_seconds, 2 * interval))
    url = settings.witness_url if witness is None else witness
    roots = tuple(str(p.resolve()) for p in media_root)
    config = AgentConfig(
        mount_table=str(mount_table.resolve()) if mount_table is not None else None,
        mount_filter=MountFilter(roots=roots) if roots else None,
        heartbeat_interval=interval,
        gap_tolerance=gap,
        watcher=WatcherConfig(reconcile_interval=reconcile),
        on_alert=argv,
        host=host,
    )
    prober = VolumeProber(dev_root=dev_root, sys_root=sys_root, udev_root=udev_root)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _signum, _frame: stop.set())
    sink = LedgerSink(ledger_dir, signer, log_signer=log_signer, witness_url=url or None, say=say)
    index: LedgerMediaIndex | None = None
    try:
        index = LedgerMediaIndex(ledger_dir)
        agent = Agent(sink, index, config, last_heartbeat=last, prober=prober)
        say(_("running as {actor} on {ledger} (pid {pid}); heartbeat every {hb} s, witness: {witness}").format(
            actor=signer.name, ledger=ledger_dir, pid=os.getpid(), hb=f"{interval:g}", witness=url or "-"))
        agent.run_forever(stop)
    finally:
        sink.close()
        if index is not None:
            index.close()
    say(_("stopped: {n} entries written, {a} alert(s), {u} event(s) not written").format(
        n=sink.appended, a=agent.counters.alerts, u=agent.undelivered))
    if agent.undelivered:
        raise typer.Exit(4)
