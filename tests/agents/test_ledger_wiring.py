"""The agent on a real ledger: signed entries, lock waits, a full disk, restarts, witnessing, C10 and C12.

Real ledgers (Ledger API and the workflow service), real observers (watchdog on
directories or real tmpfs mounts where the tests run as root), real processes
(``custody agent run``, ``custody witness serve``).  Waits are bounded; nothing
here measures time (bench/agent.py does).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.agents.agent import Agent, AgentConfig
from custody.agents.interfaces import VolumeInfo
from custody.agents.ledger_sink import LedgerMediaIndex, LedgerSink, last_seen, stderr_say
from custody.agents.mountinfo import MountFilter
from custody.agents.volumes import VolumeProber
from custody.agents.watcher import WatcherConfig
from custody.ledger import workflow
from custody.ledger.approval import sign_approval
from custody.ledger.bundle import Bundle, export_bundle
from custody.ledger.config import LedgerConfig
from custody.ledger.entry import Entry, verify_entry_signature
from custody.ledger.keyfile import write_key_file, write_passphrase_file
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer
from custody.ledger.witness_client import cosigned_size
from custody.verify.engine import verify_bundle
from custody.verify.rules import default_rules
from custody.verify.trust import from_bundle_unpinned
from tests.agents.conftest import WAIT, MountTableFile, wait_until
from tests.helpers import LOG_PASSPHRASE, TEST_KDF_N, Parties, contract_toml, make_parties

ROOT = Path(__file__).resolve().parents[2]
AGENT_NAME = "agent-ws01"
AGENT_PASS = b"agent pass"
FAST_WATCH = WatcherConfig(batch_interval=0.5, settle=0.2, reconcile_interval=1.0, baseline_grace=0.0)
IS_ROOT = os.geteuid() == 0


PARTIES = make_parties()
RESPONSIBLE, APPROVER = PARTIES.responsible, PARTIES.approver


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# --- bodies (schemas/events/*): a vendor medium, a copy, a disposal -------------------------------------------


def medium_fields(media_id: str, serial: str, **extra: Any) -> dict[str, Any]:
    return {"media_id": media_id, "kind": "usb", "make": "Buffalo", "model": "RUF3-K32GA", "serial": serial,
            "capacity": "32 GB", "contents": {"items": [], "records": 0, "my_number": False},
            "storage": {"place": "第2開発室", "cabinet": "施錠保管庫A"}, "custodian": "resp-sato", **extra}


def registered_body(media_id: str, serial: str, **extra: Any) -> dict[str, Any]:
    return {**medium_fields(media_id, serial, **extra), "source": "vendor stock", "purpose": "作業用の複製先"}


def approval_body(kind: str, approval_id: str, media: list[str], window: dict[str, str],
                  **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "id": approval_id, "media": media, "purpose": "データ移行のため",
            "encryption_required": False, "max_uses": 1, "conditions": ["施錠保管すること"],
            "approver": {"name": "鈴木 次郎", "title": "市民課長", "organisation": "例市"}, **window, **extra}


def disposal_application(media_id: str, serial: str) -> dict[str, Any]:
    return {"number": "D-2026-001",
            "items": [{"name": "住民基本台帳", "media_name": "USBメモリ", "media_id": media_id, "serial": serial,
                       "quantity": 1}],
            "method": {"category": "destroy", "technique": "shred"}, "tool": "shredder X-1",
            "planned_date": datetime.now(UTC).astimezone().date().isoformat(), "place": "第2開発室",
            "witness_required": True}


def disposed_body(media_id: str, serial: str, approval_id: str, photo: bytes, certificate: bytes) -> dict[str, Any]:
    person = {"name": "佐藤 一郎", "organisation": "株式会社サンプル", "title": "作業責任者"}
    now = datetime.now(UTC).astimezone()
    return {
        "certificate_number": "C-0001", "approval_id": approval_id, "media_id": media_id, "serial": serial,
        "make": "Buffalo", "model": "RUF3-K32GA", "backup": {"made": False},
        "method": {"category": "destroy", "technique": "shred", "tool": {"name": "shredder X-1"}},
        "start": iso(now - timedelta(minutes=30)), "end": iso(now - timedelta(minutes=10)), "place": "第2開発室",
        "operator": person, "responsible": person,
        "witness": {"name": "山田 花子", "organisation": "例市", "title": "主査"},
        "verification": {"method": "visual inspection of fragments", "result": "pass", "verifier": "resp-sato"},
        "photos": [{"attachment": hashlib.sha256(photo).hexdigest(), "name": "serial.jpg", "serial_visible": True}],
        "certificate": {"attachment": hashlib.sha256(certificate).hexdigest(), "name": "certificate.pdf"},
    }


# --- a work location: a ledger, the agent's key registered, files for the CLI ------------------------------


@dataclass
class Site:
    tmp: Path
    ledger_dir: Path
    agent: Signer
    log: Signer
    agent_key: Path
    agent_pass: Path
    log_pass: Path

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        with Ledger.open(self.ledger_dir) as ledger:
            yield ledger

    def act(self, type_: str, body: dict[str, Any], **kw: Any) -> Entry:
        with self.ledger() as ledger:
            return workflow.act(ledger, type_, body, RESPONSIBLE, **kw)

    def window(self) -> dict[str, str]:
        now = datetime.now(UTC).astimezone()
        return {"valid_from": iso(now - timedelta(hours=1)), "valid_until": iso(now + timedelta(days=1)),
                "approved_at": iso(now - timedelta(hours=1))}

    def register_medium(self, media_id: str, serial: str, **fields: Any) -> None:
        self.act("media.registered", registered_body(media_id, serial, **fields))

    def copy_medium(self, source: str, target: str, serial: str, volume_uuid: str, approval_id: str = "K-1") -> None:
        """A copy made under a copy approval valid now: writes to it are covered (no C11)."""
        due = iso(datetime.now(UTC).astimezone() + timedelta(days=7))
        body = approval_body("copy", approval_id, [source], self.window(), copies=1,
                             disposal={"method": "erase", "by": due})
        note = sign_approval(self.ledger_origin(), body, APPROVER).decode()
        self.act("copy.made", {"approval": note, "source_media_id": source,
                               **medium_fields(target, serial, volume_uuid=volume_uuid)})

    def dispose_medium(self, media_id: str, serial: str) -> None:
        body = approval_body("dispose", "D-1", [media_id], self.window(),
                             application=disposal_application(media_id, serial))
        self.act("disposal.approved", {"approval": sign_approval(self.ledger_origin(), body, APPROVER).decode()})
        photo, certificate = f"photo of {serial}".encode(), b"certificate of destruction"
        self.act("media.disposed", disposed_body(media_id, serial, "D-1", photo, certificate),
                 attachments=[photo, certificate])

    def ledger_origin(self) -> str:
        with self.ledger() as ledger:
            return ledger.origin

    def set_config(self, **changes: Any) -> None:
        with self.ledger() as ledger:
            config = replace(ledger.config, **changes)
        (self.ledger_dir / "custody.toml").write_text(config.to_toml(), encoding="utf-8")

    def entries(self) -> list[Entry]:
        with self.ledger() as ledger:
            return list(ledger.store.entries())

    def agent_entries(self) -> list[Entry]:
        return [e for e in self.entries() if e.actor == AGENT_NAME]

    def wait(self, predicate: Callable[[list[Entry]], bool], timeout: float = WAIT) -> list[Entry]:
        """Poll the ledger (its own connection) until ``predicate(agent entries)`` holds."""
        entries: list[Entry] = []

        def holds() -> bool:
            entries[:] = self.agent_entries()
            return predicate(entries)

        wait_until(holds, timeout=timeout, interval=0.05, what=lambda: f"agent entries: {[e.type for e in entries]}")
        return entries

    def verify(self) -> list[tuple[str, str]]:
        """Export the bundle and verify it (unpinned): (code, severity) of every finding."""
        bundle_dir = self.tmp / f"bundle-{time.monotonic_ns()}"
        with self.ledger() as ledger:
            export_bundle(ledger.store, ledger.log_verifier().vkey, bundle_dir)
        with Bundle(bundle_dir) as bundle:
            result = verify_bundle(bundle, from_bundle_unpinned(bundle), default_rules(), workers=1)
        return [(f.code, f.severity) for f in result.findings]


def make_site(tmp: Path, *, parties: Parties | None = None, register_agent: bool = True) -> Site:
    parties = parties or PARTIES
    log_key = Ed25519PrivateKey.generate()
    ledger = Ledger.create(tmp / "ledger", contract_toml=contract_toml(parties), responsible=parties.responsible,
                           log_key=log_key, log_passphrase=LOG_PASSPHRASE, kdf_n=TEST_KDF_N)
    origin = ledger.origin
    agent = Signer(AGENT_NAME, Ed25519PrivateKey.generate())
    if register_agent:
        workflow.act(ledger, "personnel.registered", {
            "vkey": agent.verifier().vkey, "name": "作業PCエージェント", "organisation": "株式会社サンプル",
            "tier": "vendor", "role": "agent", "host": "ws-01",
        }, parties.responsible)
    ledger.close()
    keys = tmp / "keys"
    keys.mkdir()
    agent_key, agent_pass, log_pass = keys / "agent.key", keys / "agent.pass", keys / "log.pass"
    write_key_file(agent_key, AGENT_NAME, agent._key, AGENT_PASS, n=TEST_KDF_N)
    write_passphrase_file(agent_pass, AGENT_PASS)
    write_passphrase_file(log_pass, LOG_PASSPHRASE)
    return Site(tmp, tmp / "ledger", agent, Signer(origin, log_key), agent_key, agent_pass, log_pass)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


def types(entries: list[Entry]) -> list[str]:
    return [e.type for e in entries]


def count(entries: list[Entry], type_: str) -> int:
    return sum(1 for e in entries if e.type == type_)


def recorded_files(entries: list[Entry]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for e in entries:
        if e.type == "files.written":
            for f in e.body["files"]:
                out[f["path"]] = f["sha256"]
    return out


def udev(root: Path, minor: int, *, serial: str | None = None, fs_uuid: str | None = None) -> None:
    data = root / "run/udev/data"
    data.mkdir(parents=True, exist_ok=True)
    lines = ["E:ID_BUS=usb"]
    if serial:
        lines.append(f"E:ID_SERIAL_SHORT={serial}")
    if fs_uuid:
        lines.append(f"E:ID_FS_UUID={fs_uuid}")
    (data / f"b8:{minor}").write_text("\n".join(lines) + "\n")


# --- the agent in this process, on the site's ledger -----------------------------------------------------------


class LedgerRig:
    """An Agent with a LedgerSink and a LedgerMediaIndex, over a mount-table file and directories."""

    def __init__(self, site: Site, **sink_kw: Any) -> None:
        self.site = site
        self.media = site.tmp / "media"
        self.media.mkdir(exist_ok=True)
        self.table = MountTableFile(site.tmp / "mountinfo")
        self.stderr = io.StringIO()
        kw: dict[str, Any] = {"log_signer": site.log, "say": stderr_say(self.stderr), **sink_kw}
        self.sink = LedgerSink(site.ledger_dir, site.agent, **kw)
        self.index = LedgerMediaIndex(site.ledger_dir)
        self.agent: Agent | None = None

    def start(self, **changes: Any) -> Agent:
        base: dict[str, Any] = {
            "mount_table": str(self.table.path), "mount_filter": MountFilter(roots=(str(self.media),)),
            "stat_interval": 0.05, "heartbeat_interval": 30.0, "retry_interval": 0.2, "watcher": FAST_WATCH,
            "host": "ws-01",
        }
        base.update(changes)
        prober = VolumeProber(dev_root=self.site.tmp / "dev", sys_root=self.site.tmp / "sys",
                              udev_root=self.site.tmp / "run/udev/data")
        with self.sink.locked() as ledger:
            last = last_seen(ledger, AGENT_NAME)
        self.agent = Agent(self.sink, self.index, AgentConfig(**base), prober=prober, stderr=self.stderr,
                           last_heartbeat=last)
        self.agent.start()
        return self.agent

    def volume(self, name: str, minor: int, *, serial: str | None = None, fs_uuid: str | None = None) -> Path:
        path = self.media / name
        path.mkdir()
        udev(self.site.tmp, minor, serial=serial, fs_uuid=fs_uuid)
        self.table.attach(path, source=f"/dev/sd{name[0]}1", minor=minor)
        return path

    def detach_all(self) -> None:
        for record in list(self.table.records):
            self.table.detach(record)

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        self.sink.close()
        self.index.close()


@pytest.fixture
def rig_factory(site: Site) -> Iterator[Callable[..., LedgerRig]]:
    rigs: list[LedgerRig] = []

    def make(**sink_kw: Any) -> LedgerRig:
        rigs.append(LedgerRig(site, **sink_kw))
        return rigs[-1]

    yield make
    for rig in rigs:
        rig.stop()


# --- `custody agent run` in its own process ---------------------------------------------------------------------


def cli_env() -> dict[str, str]:
    return {**os.environ, "CUSTODY_LANG": "en", "CUSTODY_KDF_N": str(TEST_KDF_N), "PYTHONPATH": str(ROOT)}


class AgentProcess:
    def __init__(self, site: Site, *extra: str, log_name: str = "agent.log") -> None:
        self.log = site.tmp / log_name
        args = [sys.executable, "-m", "custody.cli.main", "agent", "run", "--ledger", str(site.ledger_dir),
                "--key", str(site.agent_key), "--passphrase-file", str(site.agent_pass),
                "--log-passphrase-file", str(site.log_pass), "--reconcile", "1", *extra]
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=fh, env=cli_env(), cwd=ROOT)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 60.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"the agent did not stop on SIGTERM:\n{self.text()}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def processes() -> Iterator[list[AgentProcess]]:
    procs: list[AgentProcess] = []
    yield procs
    for p in procs:
        p.kill()


def started_run(site: Site, procs: list[AgentProcess], *extra: str, log_name: str = "agent.log") -> AgentProcess:
    before = count(site.agent_entries(), "agent.started")
    proc = AgentProcess(site, *extra, log_name=log_name)
    procs.append(proc)
    try:
        site.wait(lambda es: count(es, "agent.started") > before, timeout=60)
    except AssertionError:
        raise AssertionError(proc.text()) from None
    return proc


# --- tests --------------------------------------------------------------------------------------------------------


def test_observations_land_signed_by_the_agent_key_and_verify(site: Site, rig_factory: Callable[..., LedgerRig]) -> None:
    site.register_medium("V-001", "VSN-001")
    site.copy_medium("V-001", "C-001", "CSN-001", volume_uuid="6A1F-0C2D")
    rig = rig_factory()
    rig.start()
    usb = rig.volume("usb", 33, serial="CSN-001", fs_uuid="6A1F-0C2D")
    site.wait(lambda es: count(es, "volume.attached") == 1)
    contents = {f"export/part-{i}.csv": f"item,{i}\n".encode() * (i + 1) for i in range(5)}
    (usb / "export").mkdir()
    for rel, data in contents.items():
        (usb / rel).write_bytes(data)
    site.wait(lambda es: len(recorded_files(es)) == len(contents))
    rig.detach_all()
    site.wait(lambda es: count(es, "volume.detached") == 1)
    rig.stop()

    entries = site.agent_entries()
    assert types(entries)[0] == "agent.started" and types(entries)[-1] == "agent.stopped"
    attached = next(e for e in entries if e.type == "volume.attached")
    assert attached.body["media_id"] == "C-001" and attached.body["matched_by"] == "serial"
    assert attached.body["write_covered"] is True and attached.body["approval"] == "K-1"
    assert recorded_files(entries) == {rel: hashlib.sha256(data).hexdigest() for rel, data in contents.items()}
    assert "alert.raised" not in types(entries)
    assert all(e.actor == AGENT_NAME for e in entries)
    for e in entries:
        verify_entry_signature(e, site.agent.verifier())  # raises unless signed by the agent's own key
    with site.ledger() as ledger:
        latest = ledger.latest_checkpoint()
        assert latest is not None and latest[0] == ledger.store.size  # the last checkpoint covers agent.stopped
    findings = site.verify()
    assert not [f for f in findings if f[1] == "error"], findings
    assert not [f for f in findings if f[0] in ("C9", "C10", "C11", "C12", "I2")], findings


def test_cli_run_stops_cleanly_on_sigterm(site: Site, processes: list[AgentProcess]) -> None:
    site.register_medium("V-001", "VSN-001")
    site.copy_medium("V-001", "C-002", "CSN-002", volume_uuid="0B5E-7A1C")
    media = site.tmp / "media"
    media.mkdir()
    table = MountTableFile(site.tmp / "mountinfo")
    udev(site.tmp, 49, serial="CSN-002", fs_uuid="0B5E-7A1C")
    proc = started_run(site, processes, "--mount-table", str(table.path), "--media-root", str(media),
                       "--heartbeat", "0.5", "--udev-root", str(site.tmp / "run/udev/data"),
                       "--sys-root", str(site.tmp / "sys"), "--dev-root", str(site.tmp / "dev"))
    usb = media / "usb"
    usb.mkdir()
    record = table.attach(usb, minor=49, source="/dev/sdq1")
    site.wait(lambda es: count(es, "volume.attached") == 1)
    (usb / "a.txt").write_bytes(b"alpha\n")
    site.wait(lambda es: "a.txt" in recorded_files(es))
    table.detach(record)
    site.wait(lambda es: count(es, "volume.detached") == 1 and count(es, "agent.heartbeat") >= 1)
    assert proc.terminate() == 0, proc.text()
    entries = site.agent_entries()
    assert types(entries)[-1] == "agent.stopped"
    assert entries[-1].body["reason"] == "signal" and entries[-1].body["undelivered"] == 0
    assert next(e for e in entries if e.type == "volume.attached").body["media_id"] == "C-002"
    assert "stopped: " in proc.text()
    findings = site.verify()
    assert not [f for f in findings if f[1] == "error"], findings


def test_cli_refuses_an_unregistered_agent_key(tmp_path: Path) -> None:
    site = make_site(tmp_path, register_agent=False)
    proc = subprocess.run(
        [sys.executable, "-m", "custody.cli.main", "agent", "run", "--ledger", str(site.ledger_dir), "--key",
         str(site.agent_key), "--passphrase-file", str(site.agent_pass)],
        capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=60, check=False,
    )
    assert proc.returncode == 6, proc.stderr
    assert "C9" in proc.stderr and "custody agent register" in proc.stderr
    assert site.agent_entries() == []


def test_cli_refuses_a_wrong_log_passphrase_at_start(site: Site) -> None:
    """The log key is opened when the agent starts (commands open it only for a checkpoint, custody.ledger.deferredkey):
    a wrong log passphrase stops it at once, before it records anything."""
    wrong = site.tmp / "keys" / "wrong.pass"
    wrong.write_text("not the log passphrase\n")
    wrong.chmod(0o600)
    proc = subprocess.run(
        [sys.executable, "-m", "custody.cli.main", "agent", "run", "--ledger", str(site.ledger_dir), "--key",
         str(site.agent_key), "--passphrase-file", str(site.agent_pass), "--log-passphrase-file", str(wrong)],
        capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=60, check=False,
    )
    assert proc.returncode == 5, proc.stderr
    assert "does not open" in proc.stderr
    assert site.agent_entries() == []


def test_agent_register_command(tmp_path: Path) -> None:
    site = make_site(tmp_path, register_agent=False)
    keys = tmp_path / "keys"
    resp_pass = keys / "resp.pass"
    write_passphrase_file(resp_pass, b"resp pass")
    write_key_file(keys / "resp.key", RESPONSIBLE.name, RESPONSIBLE._key, b"resp pass", n=TEST_KDF_N)
    run = subprocess.run(
        [sys.executable, "-m", "custody.cli.main", "agent", "register", "--ledger", str(site.ledger_dir),
         "--agent-key", str(site.agent_key), "--host", "ws-01", "--key", str(keys / "resp.key"),
         "--passphrase-file", str(resp_pass), "--json"],
        capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=60, check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["key_name"] == AGENT_NAME and out["vkey"] == site.agent.verifier().vkey
    entry = site.entries()[-1]
    assert entry.type == "personnel.registered" and entry.actor == RESPONSIBLE.name
    assert entry.body["role"] == "agent" and entry.body["host"] == "ws-01"
    again = subprocess.run(run.args, capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=60, check=False)
    assert again.returncode == 6, again.stderr  # already registered: refused, nothing written


def _hold_write_lock(db: Path, marker: Path) -> subprocess.Popen[bytes]:
    """Another process in a write transaction (BEGIN IMMEDIATE), as a custody command is while it appends.

    It holds the lock until the test closes its stdin (the test decides when, not a timer)."""
    script = (
        "import apsw, sys, pathlib\n"
        "db = apsw.Connection(sys.argv[1]); db.set_busy_timeout(60000)\n"
        "db.execute('BEGIN IMMEDIATE')\n"
        "pathlib.Path(sys.argv[2]).write_text('locked')\n"
        "sys.stdin.read()\n"
        "db.execute('COMMIT')\n"
    )
    return subprocess.Popen([sys.executable, "-c", script, str(db), str(marker)], stdin=subprocess.PIPE)


def test_waits_while_another_process_holds_the_write_lock(site: Site, rig_factory: Callable[..., LedgerRig]) -> None:
    site.register_medium("V-001", "VSN-001")
    site.copy_medium("V-001", "C-001", "CSN-001", volume_uuid="6A1F-0C2D")
    rig = rig_factory(busy_timeout=0.2, busy_pause=0.05)  # short SQLite waits: the sink's own retry loop runs
    agent = rig.start(heartbeat_interval=3600.0)  # the one heartbeat is the test's
    usb = rig.volume("usb", 33, serial="CSN-001")
    site.wait(lambda es: count(es, "volume.attached") == 1)
    marker = site.tmp / "locked"
    holder = _hold_write_lock(site.ledger_dir / "ledger.db", marker)
    beat = threading.Thread(target=agent.beat)
    try:
        wait_until(lambda: marker.exists() or holder.poll() is not None, what="the lock holder did not start")
        assert holder.poll() is None, "the lock holder ended before locking"
        for i in range(20):
            (usb / f"f{i:02}.bin").write_bytes(os.urandom(100 + i))
        wait_until(lambda: rig.sink.busy_retries > 0 and "locked by another custody command" in rig.stderr.getvalue(),
                   what="the agent's batch did not meet the lock")
        beat.start()  # a heartbeat while the ledger is locked: it waits too
        wait_until(lambda: agent.counters.heartbeats == 1, what="the heartbeat was not begun")
        assert beat.is_alive()  # still waiting for the ledger
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the lock is released
        try:
            assert holder.wait(timeout=WAIT) == 0
        finally:
            if holder.poll() is None:
                holder.kill()
    beat.join(WAIT)
    assert not beat.is_alive()
    entries = site.wait(lambda es: len(recorded_files(es)) == 20)
    assert rig.sink.busy_retries > 0
    assert "locked by another custody command" in rig.stderr.getvalue()
    assert agent.counters.dropped == 0 and agent.undelivered == 0
    assert count(entries, "agent.heartbeat") == 1
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)


def test_cli_commands_and_the_agent_append_to_one_chain(site: Site, rig_factory: Callable[..., LedgerRig]) -> None:
    """Operators' custody commands (other processes) and the agent's observations interleave; none is lost."""
    site.register_medium("V-001", "VSN-001")
    site.copy_medium("V-001", "C-001", "CSN-001", volume_uuid="6A1F-0C2D")
    keys = site.tmp / "keys"
    write_key_file(keys / "resp.key", RESPONSIBLE.name, RESPONSIBLE._key, b"resp pass", n=TEST_KDF_N)
    write_passphrase_file(keys / "resp.pass", b"resp pass")
    rig = rig_factory()
    agent = rig.start(heartbeat_interval=0.2)
    usb = rig.volume("usb", 33, serial="CSN-001")
    site.wait(lambda es: count(es, "volume.attached") == 1)
    notes = [subprocess.Popen(
        [sys.executable, "-m", "custody.cli.main", "note", f"operator note {i}", "--ledger", str(site.ledger_dir),
         "--key", str(keys / "resp.key"), "--passphrase-file", str(keys / "resp.pass")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env(), cwd=ROOT) for i in range(4)]
    for i in range(60):
        (usb / f"n{i:02}.txt").write_bytes(b"%d\n" % i)
        time.sleep(0.01)
    for proc in notes:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    site.wait(lambda es: len(recorded_files(es)) == 60)
    rig.stop()
    entries = site.entries()
    assert sorted(e.body["text"] for e in entries if e.type == "note.recorded") == [f"operator note {i}" for i in range(4)]
    assert agent.counters.dropped == 0 and agent.undelivered == 0
    assert [e.seq for e in entries] == list(range(len(entries)))
    findings = site.verify()
    # C13 (a heartbeat of 0.2 s late on a loaded machine, an error while the copy is out of storage) is about
    # the observation, not the chain: tests/ledger/test_duties.py covers it without timing.
    assert not [f for f in findings if f[1] == "error" and f[0] != "C13"], findings


def test_full_disk_keeps_events_alerts_and_writes_them_later(site: Site, rig_factory: Callable[..., LedgerRig]) -> None:
    site.register_medium("V-001", "VSN-001")
    site.copy_medium("V-001", "C-001", "CSN-001", volume_uuid="6A1F-0C2D")
    alerts = site.tmp / "alerts.jsonl"
    rig = rig_factory()
    agent = rig.start(heartbeat_interval=3600.0,  # the one heartbeat is the test's
                      on_alert=(sys.executable, "-c",
                                f"import sys; open({str(alerts)!r}, 'a').write(sys.stdin.read() + '\\n')"))
    usb = rig.volume("usb", 33, serial="CSN-001")
    site.wait(lambda es: count(es, "volume.attached") == 1)
    with rig.sink.locked() as ledger:
        ledger.store.set_page_limit(1)  # SQLite keeps the current size: nothing more fits
    names = [f"dump/{i:03}-{'x' * 60}.bin" for i in range(200)]
    (usb / "dump").mkdir()
    for name in names:
        (usb / name).write_bytes(os.urandom(64))
    wait_until(lambda: agent.undelivered > 0 and "LEDGER_FULL" in rig.stderr.getvalue(),
               what=lambda: f"no LEDGER_FULL with events kept; stderr: {rig.stderr.getvalue()}")
    assert "disk is full" in rig.stderr.getvalue()
    assert rig.sink.full_errors > 0
    wait_until(lambda: alerts.exists() and "LEDGER_FULL" in alerts.read_text(),
               what="the alert command did not receive LEDGER_FULL")
    alert = json.loads(alerts.read_text().splitlines()[0])
    assert alert["code"] == "LEDGER_FULL" and alert["event"] == "files.written" and "disk is full" in alert["message"]
    agent.beat()  # more observations while full: queued behind the first, in order
    assert len(recorded_files(site.agent_entries())) < len(names)
    with rig.sink.locked() as ledger:
        ledger.store.set_page_limit(1 << 30)  # space freed
    entries = site.wait(lambda es: len(recorded_files(es)) == len(names) and count(es, "agent.heartbeat") == 1)
    assert agent.undelivered == 0 and agent.counters.dropped == 0
    assert "accepts events again" in rig.stderr.getvalue()
    assert set(recorded_files(entries)) == set(names)
    written = [e.type for e in entries if e.type in ("files.written", "agent.heartbeat")]
    assert written.index("agent.heartbeat") > 0  # the heartbeat came after the first (stuck) batch


def test_kill_and_restart_records_an_observation_gap(site: Site, processes: list[AgentProcess]) -> None:
    media = site.tmp / "media"
    media.mkdir()
    table = MountTableFile(site.tmp / "mountinfo")
    args = ("--mount-table", str(table.path), "--media-root", str(media), "--heartbeat", "0.5", "--allowed-gap", "1.5")
    first = started_run(site, processes, *args)
    site.wait(lambda es: count(es, "agent.heartbeat") >= 1)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    killed_at = site.agent_entries()[-1]
    time.sleep(2.5)
    second = started_run(site, processes, *args, log_name="agent2.log")
    entries = site.agent_entries()
    after = entries[entries.index(killed_at) + 1:]
    assert types(after)[:2] == ["observation.gap", "agent.started"], types(after)
    gap = after[0].body
    assert gap["code"] == "C13" and gap["reason"] == "restart" and gap["gap_seconds"] >= 2
    assert gap["last_heartbeat"] == killed_at.body["observed_at"]
    assert "Observation gap" in second.text()
    assert second.terminate() == 0, second.text()
    findings = site.verify()
    assert ("C13", "warning") in findings, findings
    assert not [f for f in findings if f[1] == "error"], findings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_checkpoints_wait_for_an_unreachable_witness(tmp_path: Path) -> None:
    from tests.verify.witness_fixtures import WITNESS_PASSPHRASE, make_world

    world = make_world(tmp_path / "w")
    workflow.act(world.ledger, "personnel.registered", {
        "vkey": Signer(AGENT_NAME, key := Ed25519PrivateKey.generate()).verifier().vkey, "name": "agent",
        "organisation": "株式会社サンプル", "tier": "vendor", "role": "agent", "host": "ws-01",
    }, world.parties.responsible)
    world.ledger.close()
    ledger_dir = world.root / "ledger"
    config = LedgerConfig.from_toml((ledger_dir / "custody.toml").read_text())
    (ledger_dir / "custody.toml").write_text(replace(config, checkpoint_every_entries=3).to_toml())
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    sink = LedgerSink(ledger_dir, Signer(AGENT_NAME, key), log_signer=world.log, witness_url=url, say=lines.append,
                      witness_min_delay=0.1, witness_max_delay=0.5, witness_timeout=2.0)
    server: subprocess.Popen[bytes] | None = None
    try:
        now = datetime.now(UTC).astimezone()
        for i in range(10):
            sink.emit("agent.heartbeat", {"observed_at": (now + timedelta(seconds=i)).isoformat(timespec="milliseconds"),
                                          "sequence": i + 1, "interval_ms": 1000, "uptime_seconds": i, "volumes": [],
                                          "undelivered": 0})
        assert sink.checkpoints >= 3
        witness = sink.witness
        assert witness is not None
        wait_until(lambda: witness.failures >= 2, what="the witness queue did not try (and fail) twice")
        assert any("cannot be reached" in line for line in lines), lines
        with Ledger.open(ledger_dir) as reader:
            assert cosigned_size(reader) == 0
            latest = reader.latest_checkpoint()
        assert latest is not None
        env = {**cli_env(), "CUSTODY_PASSPHRASE": WITNESS_PASSPHRASE.decode()}
        server = subprocess.Popen(
            [sys.executable, "-m", "custody.cli.main", "witness", "serve", "--authority", str(world.authority.path),
             "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        assert witness.wait_cosigned(latest[0], timeout=60), (witness.last_error, lines)
        with Ledger.open(ledger_dir) as reader:
            assert cosigned_size(reader) == latest[0]
        assert any("cosigned the checkpoint" in line for line in lines), lines
        sink.emit("agent.stopped", {"reason": "test", "observed_at": datetime.now(UTC).astimezone().isoformat(),
                                    "uptime_seconds": 10, "volumes": [], "emitted": 11, "alerts": 0,
                                    "undelivered": 0})
        sink.close()  # a final checkpoint, submitted while the witness answers
        with Ledger.open(ledger_dir) as reader:
            assert cosigned_size(reader) == reader.store.size
    finally:
        sink.close()
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


@contextmanager
def presented_volume(site: Site, name: str) -> Iterator[tuple[Path, list[str]]]:
    """A volume under site/media: a real tmpfs when root, else a directory in a mount-table file.

    Yields (mount point, extra agent arguments); unmounted at the end."""
    media = site.tmp / "media"
    target = media / name
    target.mkdir(parents=True)
    if IS_ROOT and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", f"custody-{name}", str(target)],
                                  capture_output=True, check=False).returncode == 0:
        try:
            yield target, ["--media-root", str(media)]
        finally:
            subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)
        return
    table = MountTableFile(site.tmp / "mountinfo")
    record = table.attach(target, fs_type="tmpfs", source=f"custody-{name}", major=0, minor=77)
    try:
        yield target, ["--media-root", str(media), "--mount-table", str(table.path)]
    finally:
        if record in table.records:
            table.detach(record)


def test_unregistered_volume_is_c10_in_the_ledger_on_stderr_and_through_the_alert_command(
        site: Site, processes: list[AgentProcess]) -> None:
    alerts = site.tmp / "alerts.jsonl"
    hook = f"{sys.executable} -c \"import sys; open('{alerts}', 'a').write(sys.stdin.read() + chr(10))\""
    with presented_volume(site, "stick") as (mount_point, extra):
        proc = started_run(site, processes, *extra, "--on-alert", hook)
        entries = site.wait(lambda es: any(e.type == "alert.raised" for e in es))
        (mount_point / "leak.csv").write_bytes(b"not allowed\n")
        entries = site.wait(lambda es: count(es, "alert.raised") >= 2)
    attached = next(e for e in entries if e.type == "volume.attached")
    assert attached.body["media_id"] is None and attached.body["mount_point"] == str(mount_point)
    codes = [e.body["code"] for e in entries if e.type == "alert.raised"]
    assert codes[:2] == ["C10", "C11"]
    assert "ALERT C10" in proc.text()
    wait_until(lambda: alerts.exists() and len(alerts.read_text().splitlines()) >= 2,
               what=lambda: f"the alert command did not receive two alerts; agent log:\n{proc.text()}")
    assert [json.loads(line)["code"] for line in alerts.read_text().splitlines()[:2]] == ["C10", "C11"]
    assert proc.terminate() == 0, proc.text()
    findings = site.verify()
    assert ("C10", "error") in findings and ("C11", "error") in findings, findings


def test_disposed_medium_seen_again_is_c12(site: Site, rig_factory: Callable[..., LedgerRig]) -> None:
    site.register_medium("V-009", "VSN-009", volume_uuid="1C2D-3E4F")
    site.dispose_medium("V-009", "VSN-009")
    rig = rig_factory()
    rig.start()
    rig.volume("old", 65, serial="VSN-009")
    entries = site.wait(lambda es: any(e.type == "alert.raised" for e in es))
    attached = next(e for e in entries if e.type == "volume.attached")
    assert attached.body["media_id"] == "V-009" and attached.body["media_state"] == "disposed"
    alert = next(e for e in entries if e.type == "alert.raised")
    assert alert.body["code"] == "C12" and alert.body["media_id"] == "V-009"
    assert "ALERT C12" in rig.stderr.getvalue()
    rig.stop()
    findings = site.verify()
    assert ("C12", "error") in findings, findings


def test_media_index_matches_serial_or_uuid_never_label_alone(site: Site) -> None:
    site.register_medium("V-001", "VSN-001", volume_uuid="AAAA-0001", volume_label="WORK")
    index = LedgerMediaIndex(site.ledger_dir)
    try:
        by_serial = index.match(VolumeInfo("v1", "/m", "vfat", serial="VSN-001", label="WORK"))
        assert (by_serial.media_id, by_serial.matched_by, by_serial.state) == ("V-001", "serial", "in_storage")
        assert by_serial.write_covered is False and by_serial.approval is None
        by_uuid = index.match(VolumeInfo("v2", "/m", "vfat", uuid="AAAA-0001"))
        assert (by_uuid.media_id, by_uuid.matched_by) == ("V-001", "uuid")
        assert not index.match(VolumeInfo("v3", "/m", "vfat", label="WORK")).registered
        assert not index.match(VolumeInfo("v4", "/m", "vfat", serial="OTHER", uuid="BBBB-0002")).registered
        refreshes = index.refreshes
        site.copy_medium("V-001", "C-001", "CSN-001", volume_uuid="CCCC-0003")  # the ledger grows: seen at once
        copy = index.match(VolumeInfo("v5", "/m", "vfat", uuid="CCCC-0003"))
        assert (copy.media_id, copy.state, copy.write_covered, copy.approval) == ("C-001", "checked_out", True, "K-1")
        assert index.refreshes == refreshes + 1
        index.match(VolumeInfo("v5", "/m", "vfat", uuid="CCCC-0003"))
        assert index.refreshes == refreshes + 1  # unchanged ledger: no replay
    finally:
        index.close()


def test_schema_invalid_body_is_refused_before_writing(site: Site) -> None:
    from custody.ledger.errors import SchemaError

    with LedgerSink(site.ledger_dir, site.agent, say=lambda _line: None) as sink:
        size = sink.ledger.store.size
        with pytest.raises(SchemaError):
            sink.emit("volume.attached", {"volume_id": "", "media_id": None, "observed_at": "yesterday"})
        assert sink.ledger.store.size == size


@pytest.mark.parametrize("change", ["revoked", "removed"])
def test_a_revoked_or_removed_agent_key_writes_nothing(site: Site, change: str) -> None:
    # The agent appends through the commands' pre-write check (docs/spec.md §13.4): an entry the verifier
    # would reject for good (I2/C9) is refused before anything is written; the agent keeps it queued.
    from custody.ledger.errors import RuleRefusal

    heartbeat = {"observed_at": iso(datetime.now(UTC)), "sequence": 1, "interval_ms": 60_000}
    with LedgerSink(site.ledger_dir, site.agent, say=lambda _line: None) as sink:
        sink.emit("agent.heartbeat", heartbeat)  # accepted while the key is valid
        if change == "revoked":
            site.act("key.revoked", {"key_name": AGENT_NAME, "vkey": site.agent.verifier().vkey,
                                     "reason": "作業PCの入替え"})
        else:
            site.act("personnel.removed", {"key_name": AGENT_NAME, "reason": "作業PCの撤去"})
        size = sink.ledger.store.size
        with pytest.raises(RuleRefusal) as refused:
            sink.emit("agent.heartbeat", {**heartbeat, "sequence": 2})
        assert refused.value.code == "C9"
        assert sink.ledger.store.size == size
    assert ("I2", "error") not in site.verify()
