"""The demo's agent phase: the work-location agent records a medium attached, files written, the medium removed.

``agent_phase(demo)`` (``custody.cli.demo``; it must run before the contract is
closed):

1. creates the agent's own key and registers it (``custody agent register``,
   signed by the responsible person; the agent never needs an operator's
   passphrase);
2. registers a vendor medium and makes an approved copy onto a USB stick whose
   serial number and filesystem UUID are in the copy entry, so that the agent
   matches the stick and the copy approval covers the files written to it
   (no C10, no C11: the verify at the end of the demo stays clean);
3. runs ``custody agent run`` in a subprocess, presents the stick, writes
   three files to it, removes it, and stops the agent with SIGTERM;
4. erases both media (``custody media erase``), so that the register balances
   at close, and checks that the ledger holds ``agent.started``,
   ``agent.heartbeat``, ``volume.attached``, ``files.written`` (with the right
   SHA-256), ``volume.detached`` and ``agent.stopped``, signed by the agent key.

The stick is a real ext4 filesystem on a loop device when the demo runs as
root (a real mount, which the agent sees through ``/proc/self/mountinfo`` and
identifies by the UUID in its superblock); otherwise it is a directory
presented through a mount-table file, with a udev database entry giving its
serial number and UUID, as the agent would read them on a real machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from custody.agents.mountinfo import MountRecord
from custody.ledger.entry import Entry
from custody.ledger.ledger import Ledger

if TYPE_CHECKING:
    from custody.cli.demo import Demo

AGENT = "agent-ws01"
SOURCE_ID, COPY_ID = "V-101", "C-101"
COPY_SERIAL = "DEMO-USB-7C2D41"
APPROVER = ["--approver-name", "鈴木 次郎", "--approver-title", "市民課長", "--approver-organisation", "例市"]
FILES = {
    "移行データ/01-異動履歴-件数表.csv": "区分,件数\n転入,1203\n転出,1187\n",
    "移行データ/02-検証結果.txt": "移行ツール検証: 件数一致 (個人データは含まない)\n",
    "manifest.sha256": "see custody ledger\n",
}
BASE_TABLE = "22 27 0:21 / /proc rw,relatime - proc proc rw\n27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
WAIT = 60.0


class AgentPhaseError(RuntimeError):
    pass


def _at(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC).astimezone() + delta).isoformat(timespec="seconds")


def _agent_entries(ledger_dir: Path) -> list[Entry]:
    with Ledger.open(ledger_dir) as ledger:
        return [e for e in ledger.store.entries() if e.actor == AGENT]


def _wait(ledger_dir: Path, what: str, predicate: Callable[[list[Entry]], bool], proc: subprocess.Popen[bytes],
          log: Path) -> list[Entry]:
    deadline = time.monotonic() + WAIT
    while True:
        entries = _agent_entries(ledger_dir)
        if predicate(entries):
            return entries
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AgentPhaseError(f"the agent did not record {what}:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)


def _count(entries: list[Entry], type_: str) -> int:
    return sum(1 for e in entries if e.type == type_)


class _Stick:
    """The demo's USB stick: a loop-mounted ext4 image (root) or a directory in a mount-table file."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.media = work / "media"
        self.mount_point = self.media / "usb-c101"
        self.fs_uuid = str(uuid.uuid4())
        self.table = work / "mountinfo"
        self.udev = work / "udev"
        self.image = work / "usb-c101.img"
        self.mode = "loop" if self._loop_possible() else "table"

    def _loop_possible(self) -> bool:
        return os.name == "posix" and os.geteuid() == 0 and shutil.which("mkfs.ext4") is not None

    def prepare(self) -> None:
        self.mount_point.mkdir(parents=True, exist_ok=True)
        if self.mode == "loop":
            with self.image.open("wb") as fh:
                fh.truncate(16 * 1024 * 1024)
            made = subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "C-101", "-U", self.fs_uuid, str(self.image)],
                                  capture_output=True, check=False)
            if made.returncode != 0 or not self._trial_mount():
                self.mode = "table"
        if self.mode == "table":
            self.fs_uuid = self.fs_uuid[:4].upper() + "-" + self.fs_uuid[4:8].upper()  # a FAT-style volume id
            self.udev.mkdir(parents=True, exist_ok=True)
            (self.udev / "b8:33").write_text(
                f"E:ID_BUS=usb\nE:ID_SERIAL_SHORT={COPY_SERIAL}\nE:ID_FS_UUID={self.fs_uuid}\nE:ID_FS_TYPE=vfat\n",
                encoding="utf-8")
            self._write_table(present=False)

    def _trial_mount(self) -> bool:
        """Whether loop mounts work here (containers often forbid them); before the agent runs."""
        mounted = subprocess.run(["mount", "-o", "loop", str(self.image), str(self.mount_point)],
                                 capture_output=True, check=False)
        if mounted.returncode != 0:
            return False
        subprocess.run(["umount", str(self.mount_point)], capture_output=True, check=False)
        return True

    def agent_args(self) -> list[str]:
        args = ["--media-root", str(self.media)]
        if self.mode == "table":
            args += ["--mount-table", str(self.table), "--udev-root", str(self.udev),
                     "--sys-root", str(self.work / "sys"), "--dev-root", str(self.work / "dev")]
        return args

    def _write_table(self, *, present: bool) -> None:
        lines = BASE_TABLE
        if present:
            record = MountRecord(101, 27, 8, 33, "/", str(self.mount_point), ("rw", "relatime"), (), "vfat",
                                 "/dev/sdz1", ("rw",))
            lines += record.to_line() + "\n"
        tmp = self.table.with_suffix(".tmp")
        tmp.write_text(lines, encoding="utf-8")
        os.replace(tmp, self.table)

    def attach(self) -> None:
        if self.mode == "loop":
            mounted = subprocess.run(["mount", "-o", "loop", str(self.image), str(self.mount_point)],
                                     capture_output=True, text=True, check=False)
            if mounted.returncode != 0:
                raise AgentPhaseError(f"mount -o loop failed: {mounted.stderr.strip()}")
            return
        self._write_table(present=True)

    def detach(self) -> None:
        if self.mode == "loop":
            for _ in range(50):
                if subprocess.run(["umount", str(self.mount_point)], capture_output=True, check=False).returncode == 0:
                    return
                time.sleep(0.1)
            subprocess.run(["umount", "-l", str(self.mount_point)], capture_output=True, check=False)
            return
        self._write_table(present=False)


def _closed(ledger_dir: Path) -> bool:
    with Ledger.open(ledger_dir) as ledger:
        return bool(ledger.store.seqs_of_type("contract.closed"))


def agent_phase(demo: Demo) -> None:
    from custody.cli.demo import DemoError

    if _closed(demo.ledger):
        raise DemoError("the agent phase must run before the contract is closed (custody.cli.demo_phases: put "
                        "agent_phase before the phase that runs 'custody close')")
    work = demo.work / "agent"
    work.mkdir(parents=True, exist_ok=True)
    ledger = demo.on_ledger()
    resp = demo.as_("resp-sato")
    stick = _Stick(work)
    stick.prepare()
    shown = "a loop-mounted ext4 image" if stick.mode == "loop" else "a directory in a mount table"
    print(f"# agent phase: the USB stick is {shown} (UUID {stick.fs_uuid})", flush=True)

    # 1. The agent's own key, registered by the responsible person.
    demo.key(AGENT)
    demo.custody("agent", "register", "--agent-key", str(demo.keyfile(AGENT)), "--host", "ws-01",
                 "--name", "作業用PC WS-01 の監視エージェント", *resp, *ledger)

    # 2. A vendor medium and an approved copy onto the stick the agent will see.
    demo.custody("media", "register", "--media-id", SOURCE_ID, "--kind", "ssd", "--make", "Samsung",
                 "--model", "T7", "--serial", "S5T7-DEMO-0101", "--capacity", "500 GB",
                 "--purpose", "移行ツール検証用の作業データ領域", "--cabinet", "施錠保管庫A", *resp, *ledger)
    request, approval = work / "copy.request.json", work / "copy.approval"
    demo.custody("copy", "request", "--media-id", SOURCE_ID, "--target", COPY_ID,
                 "--purpose", "移行ツール検証結果の受け渡し用", "--disposal-method", "erase",
                 "--disposal-by", _at(timedelta(days=14)), "--output", str(request),
                 "--key", str(demo.keyfile("resp-sato")), "--ledger", str(demo.ledger))
    demo.custody("approve", "copy", "--request", str(request), "--id", "例市複製承認-2026-WS01",
                 "--output", str(approval), "--valid-days", "14", *APPROVER, *demo.as_("city-approver"))
    demo.custody("copy", "make", "--approval", str(approval), "--source", SOURCE_ID, "--media-id", COPY_ID,
                 "--kind", "usb", "--make", "Buffalo", "--model", "RUF3-KV32G", "--serial", COPY_SERIAL,
                 "--volume-uuid", stick.fs_uuid, "--cabinet", "施錠保管庫A", *resp, *ledger)

    # 3. The agent observes: attach, write, remove.
    _observe(demo, stick)

    # 4. Both media erased: nothing left to account for at close.
    for media_id in (COPY_ID, SOURCE_ID):
        demo.custody("media", "erase", "--media-id", media_id, "--category", "purge",
                     "--technique", "cryptographic erase", "--tool", "blkdiscard", "--tool-version", "2.39",
                     "--verification-method", "全セクタの読み出し確認", "--verifier", "resp-sato", *resp, *ledger)


def _observe(demo: Demo, stick: _Stick) -> None:
    log = stick.work / "agent.log"
    args = [sys.executable, "-m", "custody.cli.main", "agent", "run", "--ledger", str(demo.ledger),
            "--key", str(demo.keyfile(AGENT)), "--passphrase-file", str(demo.passfile(AGENT)),
            "--log-passphrase-file", str(demo.passfile("log")), "--heartbeat", "1", "--reconcile", "2",
            "--host", "ws-01", *stick.agent_args()]
    print("$ custody " + " ".join(args[3:]), flush=True)
    with log.open("wb") as fh:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=fh, env=dict(os.environ))
    attached = False
    try:
        _wait(demo.ledger, "agent.started", lambda es: _count(es, "agent.started") == 1, proc, log)
        stick.attach()
        attached = True
        entries = _wait(demo.ledger, "volume.attached", lambda es: _count(es, "volume.attached") == 1, proc, log)
        attach = next(e for e in entries if e.type == "volume.attached")
        print(f"  volume.attached: {attach.body['volume_id']} -> {attach.body['media_id']} "
              f"(matched by {attach.body['matched_by']}, covered by {attach.body['approval']})", flush=True)
        for rel, text in FILES.items():
            path = stick.mount_point / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        entries = _wait(demo.ledger, "files.written", lambda es: len(_recorded(es)) == len(FILES), proc, log)
        _wait(demo.ledger, "agent.heartbeat", lambda es: _count(es, "agent.heartbeat") >= 1, proc, log)
        stick.detach()
        attached = False
        _wait(demo.ledger, "volume.detached", lambda es: _count(es, "volume.detached") == 1, proc, log)
    finally:
        if attached:
            stick.detach()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AgentPhaseError(f"the agent did not stop on SIGTERM:\n{log.read_text(errors='replace')}") from None
    sys.stderr.write(log.read_text(encoding="utf-8", errors="replace"))
    if code != 0:
        raise AgentPhaseError(f"custody agent run exited {code}")
    _check(_agent_entries(demo.ledger))


def _recorded(entries: list[Entry]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for e in entries:
        if e.type == "files.written":
            for f in e.body["files"]:
                out[str(f["path"])] = f["sha256"]
    return out


def _check(entries: list[Entry]) -> None:
    seen = [e.type for e in entries]
    wanted = ["agent.started", "agent.heartbeat", "volume.attached", "files.written", "volume.detached",
              "agent.stopped"]
    missing = [t for t in wanted if t not in seen]
    if missing:
        raise AgentPhaseError(f"the ledger lacks {missing}; the agent recorded {seen}")
    expected = {rel: hashlib.sha256(text.encode("utf-8")).hexdigest() for rel, text in FILES.items()}
    if _recorded(entries) != expected:
        raise AgentPhaseError(f"files.written records {_recorded(entries)}, expected {expected}")
    alerts = [e.body.get("code") for e in entries if e.type == "alert.raised"]
    if alerts:
        raise AgentPhaseError(f"the agent raised alerts {alerts}")
    print(f"  the agent signed {len(entries)} entries: " + ", ".join(
        f"{t} x{seen.count(t)}" for t in dict.fromkeys(seen)), flush=True)
    for rel, digest in expected.items():
        print(f"  files.written: {rel}  sha256 {digest}", flush=True)


__all__ = ["agent_phase"]
