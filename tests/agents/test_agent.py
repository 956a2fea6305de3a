"""The Agent end to end: mount table -> volumes -> files -> events and alerts, into an in-memory sink."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, cast

import psutil
import pytest

from custody.agents.agent import Agent, AgentConfig
from custody.agents.interfaces import EventSink, MediaIndex, MediaMatch, VolumeInfo
from custody.agents.memory import KnownMedium, StaticMediaIndex
from custody.agents.mountinfo import MountFilter
from custody.agents.volumes import VolumeProber
from custody.agents.watcher import WatcherConfig
from custody.ledger import i18n
from custody.ledger.errors import SchemaError, StoreBusyError
from tests.agents.conftest import WAIT, CheckedSink, MountTableFile, umount, wait_until

FAST_WATCH = WatcherConfig(batch_interval=1.0, settle=0.2, reconcile_interval=1.0, baseline_grace=0.0)


class FakeClock:
    """An injectable wall clock: real time plus an offset the test can move, or a time it holds still."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        if self.frozen is not None:
            return self.frozen
        return datetime.now(UTC).astimezone() + self.offset


def udev_serial(root: Path, minor: int, serial: str, fs_uuid: str | None = None) -> None:
    data = root / "run/udev/data"
    data.mkdir(parents=True, exist_ok=True)
    lines = [f"E:ID_SERIAL_SHORT={serial}", "E:ID_BUS=usb"]
    if fs_uuid:
        lines.append(f"E:ID_FS_UUID={fs_uuid}")
    (data / f"b8:{minor}").write_text("\n".join(lines) + "\n")


class Rig:
    """An agent over a mount-table file, with directories under tmp/media standing in for volumes."""

    def __init__(self, tmp_path: Path, sink: CheckedSink) -> None:
        self.tmp = tmp_path
        self.media = tmp_path / "media"
        self.media.mkdir()
        self.table = MountTableFile(tmp_path / "mountinfo")
        self.sink = sink
        self.index = StaticMediaIndex()
        self.stderr = io.StringIO()
        self.clock = FakeClock()
        self.prober = VolumeProber(dev_root=tmp_path / "dev", sys_root=tmp_path / "sys",
                                   udev_root=tmp_path / "run/udev/data")
        self.agent: Agent | None = None

    def config(self, **changes: object) -> AgentConfig:
        base: dict[str, object] = {
            "mount_table": str(self.table.path),
            "mount_filter": MountFilter(roots=(str(self.media),)),
            "stat_interval": 0.05,
            "heartbeat_interval": 30.0,
            "watcher": FAST_WATCH,
            "alert_repeat_interval": 60.0,
            "host": "work-pc-01",
        }
        base.update(changes)
        return AgentConfig(**base)  # type: ignore[arg-type]

    def start(self, *, last_heartbeat: datetime | None = None, sink: EventSink | None = None,
              media: MediaIndex | None = None, **changes: object) -> Agent:
        self.agent = Agent(sink or self.sink, media or self.index, self.config(**changes), clock=self.clock,
                           last_heartbeat=last_heartbeat, prober=self.prober, stderr=self.stderr)
        self.agent.start()
        return self.agent

    def volume(self, name: str, minor: int = 17, serial: str | None = None) -> Path:
        path = self.media / name
        path.mkdir()
        if serial is not None:
            udev_serial(self.tmp, minor, serial)
        self.table.attach(path, source=f"/dev/sd{name[0]}1", minor=minor)
        return path

    def wait(self, predicate: Callable[[CheckedSink], bool], timeout: float = WAIT) -> None:
        assert self.sink.wait_for(predicate, timeout), f"not within {timeout:g} s; events: {self.sink.types()}"


@pytest.fixture
def rig(tmp_path: Path, sink: CheckedSink) -> Iterator[Rig]:
    rig = Rig(tmp_path, sink)
    yield rig
    if rig.agent is not None:
        rig.agent.stop()


def alerts(sink: CheckedSink, code: str) -> list[dict[str, object]]:
    return [b for b in sink.of_type("alert.raised") if b["code"] == code]


def test_lifecycle_events_and_shapes(rig: Rig) -> None:
    agent = rig.start()
    rig.index.add(KnownMedium("M-001", serial="SER1", write_covered=True, approval="copy-2026-001"))
    usb = rig.volume("usb", serial="SER1")
    rig.wait(lambda s: s.count("volume.attached") == 1)
    (usb / "report.csv").write_bytes(b"a,b\n")
    rig.wait(lambda s: s.count("files.written") == 1)
    rig.table.detach(rig.table.records[0])
    rig.wait(lambda s: s.count("volume.detached") == 1)
    agent.stop()
    agent.stop()  # idempotent
    types = rig.sink.types()
    assert types[0] == "agent.started"
    assert types[-1] == "agent.stopped"
    assert types.index("volume.attached") < types.index("files.written") < types.index("volume.detached")
    assert alerts(rig.sink, "C10") == [] and alerts(rig.sink, "C11") == []
    started = rig.sink.of_type("agent.started")[0]
    assert started["host"] == "work-pc-01" and isinstance(started["version"], str)
    assert started["config"]["batch_interval_ms"] == 1000  # type: ignore[index]
    attached = rig.sink.of_type("volume.attached")[0]
    assert attached["serial"] == "SER1" and attached["media_id"] == "M-001"
    assert attached["mount_point"] == str(usb) and attached["filesystem"] == "vfat"
    assert attached["present_at_start"] is False
    written = rig.sink.of_type("files.written")[0]
    assert written["files"] == [{"path": "report.csv", "size": 4, "sha256": hashlib.sha256(b"a,b\n").hexdigest()}]
    assert written["media_id"] == "M-001" and written["write_covered"] is True
    assert written["approval"] == "copy-2026-001" and written["truncated"] is False
    detached = rig.sink.of_type("volume.detached")[0]
    assert detached["files_recorded"] == 1 and detached["media_id"] == "M-001"
    for _, body in rig.sink.events:
        for key in ("observed_at", "detected_at"):
            if key in body:
                assert datetime.fromisoformat(str(body[key])).utcoffset() is not None


def test_volumes_present_at_start_are_reported(rig: Rig) -> None:
    rig.volume("early")
    rig.start()
    attached = rig.sink.of_type("volume.attached")
    assert len(attached) == 1 and attached[0]["present_at_start"] is True
    assert rig.sink.types()[:2] == ["agent.started", "volume.attached"]


def test_c10_unregistered_medium_runs_on_alert_with_json(rig: Rig, tmp_path: Path) -> None:
    received = tmp_path / "alert.json"
    # Written aside, then renamed: the file appears complete or not at all.
    script = (
        "import os, sys; data = sys.stdin.buffer.read(); "
        f"open({str(received)!r} + '.tmp', 'wb').write(os.environ['CUSTODY_ALERT_CODE'].encode() + b'\\n' + data); "
        f"os.replace({str(received)!r} + '.tmp', {str(received)!r})"
    )
    hook = [sys.executable, "-c", script]
    rig.start(on_alert=tuple(hook))
    rig.volume("stray", serial="UNKNOWN-42")
    rig.wait(lambda s: len(alerts(s, "C10")) == 1)
    alert = alerts(rig.sink, "C10")[0]
    assert alert["serial"] == "UNKNOWN-42" and alert["media_id"] is None
    assert "Unregistered removable medium" in str(alert["message"])
    assert "C10" in rig.stderr.getvalue()
    wait_until(received.exists, what="the on_alert command wrote nothing")
    code, _, payload = received.read_bytes().partition(b"\n")
    assert code == b"C10"
    assert json.loads(payload) == alert


def test_alert_commands_run_one_at_a_time_in_order(rig: Rig, tmp_path: Path) -> None:
    # The first alert's command waits until the test has seen all three alerts recorded: run concurrently,
    # the later commands would finish first (and the lock file would show an overlap).  One worker runs
    # them in the order they were raised.
    log, busy, release = tmp_path / "alerts.log", tmp_path / "busy", tmp_path / "release"
    script = (
        "import json, os, sys, time; body = json.loads(sys.stdin.buffer.read()); "
        f"fd = os.open({str(busy)!r}, os.O_CREAT | os.O_EXCL | os.O_WRONLY); "
        f"[time.sleep(0.05) for _ in range(400) if not os.path.exists({str(release)!r})]; "
        f"open({str(log)!r}, 'a').write(body['serial'] + chr(10)); "
        f"os.close(fd); os.unlink({str(busy)!r})"
    )
    for n in (1, 2, 3):
        rig.volume(f"stray{n}", serial=f"STRAY-{n}")
    rig.start(on_alert=(sys.executable, "-c", script))
    rig.wait(lambda s: len(alerts(s, "C10")) == 3)
    release.touch()
    raised = [str(a["serial"]) for a in alerts(rig.sink, "C10")]
    wait_until(lambda: log.exists() and len(log.read_text().splitlines()) == 3,
               what=lambda: f"alert commands that ran: {log.read_text() if log.exists() else '(none)'}; "
                            f"stderr: {rig.stderr.getvalue()}")
    assert log.read_text().splitlines() == raised


def test_c11_files_written_without_covering_approval(rig: Rig) -> None:
    rig.index.add(KnownMedium("M-002", serial="SER2", write_covered=False))
    rig.start(alert_repeat_interval=60.0)
    usb = rig.volume("work", serial="SER2")
    rig.wait(lambda s: s.count("volume.attached") == 1)
    assert alerts(rig.sink, "C10") == []
    for i in range(3):
        (usb / f"copy{i}.csv").write_bytes(b"row %d" % i)
    rig.wait(lambda s: len(alerts(s, "C11")) == 1)
    alert = alerts(rig.sink, "C11")[0]
    assert alert["media_id"] == "M-002" and alert["file_count"] == 3
    assert sorted(cast(list[str], alert["paths"])) == ["copy0.csv", "copy1.csv", "copy2.csv"]
    # More writes within the repeat interval: recorded, but no second alert yet.
    (usb / "more.csv").write_bytes(b"more")
    rig.wait(lambda s: sum(int(b["count"]) for b in s.of_type("files.written")) == 4)  # type: ignore[call-overload]
    assert len(alerts(rig.sink, "C11")) == 1
    # The approval arrives: no further C11.
    rig.index.update("M-002", write_covered=True)
    (usb / "approved.csv").write_bytes(b"ok")
    rig.wait(lambda s: sum(int(b["count"]) for b in s.of_type("files.written")) == 5)  # type: ignore[call-overload]
    assert rig.sink.of_type("files.written")[-1]["write_covered"] is True
    assert len(alerts(rig.sink, "C11")) == 1


def written_count(sink: CheckedSink) -> int:
    return sum(int(b["count"]) for b in sink.of_type("files.written"))  # type: ignore[call-overload]


def test_c11_repeats_after_the_interval_with_suppressed_counts(rig: Rig) -> None:
    """One file per batch: the first batch alerts, the second falls within the repeat interval (suppressed),
    the third comes after it and alerts again, with the suppressed counts.

    Which batch falls within the interval is the test's doing, not the machine's speed: the interval is an
    hour while the second batch is written, and 1.5 s (already past) for the third."""
    rig.index.add(KnownMedium("M-003", serial="SER3"))
    agent = rig.start(alert_repeat_interval=3600.0)
    usb = rig.volume("rep", serial="SER3")
    rig.wait(lambda s: s.count("volume.attached") == 1)
    watcher = agent.watcher_for(str(usb))
    assert watcher is not None
    (usb / "f0").write_bytes(b"0")
    rig.wait(lambda s: written_count(s) == 1 and len(alerts(s, "C11")) == 1)
    first_alert = next(t for kind, t in rig.sink.arrivals if kind == "alert.raised")
    (usb / "f1").write_bytes(b"1")
    rig.wait(lambda s: written_count(s) == 2)
    # The watcher counts a batch once the agent's handling of it (the C11 decision too) has returned.
    wait_until(lambda: watcher.stats.batches >= 2, what="the second batch was not handled")
    assert len(alerts(rig.sink, "C11")) == 1
    wait_until(lambda: time.monotonic() >= first_alert + 1.5, what="1.5 s did not pass")
    agent.config = replace(agent.config, alert_repeat_interval=1.5)
    (usb / "f2").write_bytes(b"2")
    rig.wait(lambda s: len(alerts(s, "C11")) == 2)
    assert written_count(rig.sink) == 3
    second = alerts(rig.sink, "C11")[1]
    assert second["suppressed_alerts"] == 1 and second["suppressed_files"] == 1


@pytest.mark.parametrize("state", ["disposed", "returned"])
def test_c12_disposed_or_returned_medium_seen_again(rig: Rig, state: str) -> None:
    rig.index.add(KnownMedium("M-OLD", state=state, serial="SER-OLD"))
    rig.start()
    rig.volume("back", serial="SER-OLD")
    rig.wait(lambda s: len(alerts(s, "C12")) == 1)
    alert = alerts(rig.sink, "C12")[0]
    assert alert["media_id"] == "M-OLD" and alert["media_state"] == state
    assert alerts(rig.sink, "C10") == []
    assert f"recorded as {state}" in rig.stderr.getvalue()


def test_alert_text_in_japanese(rig: Rig) -> None:
    previous = i18n.language()
    i18n.set_language("ja")
    try:
        rig.index.add(KnownMedium("M-JP", state="disposed", serial="SER-JP"))
        rig.start()
        rig.volume("jp", serial="SER-JP")
        rig.wait(lambda s: len(alerts(s, "C12")) == 1)
        assert "警告 C12: 廃棄済みとして記録された媒体が再び接続されました" in rig.stderr.getvalue()
        assert "A medium recorded as disposed" in str(alerts(rig.sink, "C12")[0]["message"])  # bodies stay English
    finally:
        i18n.set_language(previous)


def test_observation_gap_is_emitted_first(rig: Rig) -> None:
    rig.clock.frozen = datetime.now(UTC).astimezone()  # the gap does not grow with the time start() takes
    last = rig.clock() - timedelta(hours=3)
    rig.start(last_heartbeat=last, heartbeat_interval=60.0)
    types = rig.sink.types()
    assert types[:2] == ["observation.gap", "agent.started"]
    gap = rig.sink.of_type("observation.gap")[0]
    assert gap["code"] == "C13" and gap["reason"] == "restart"
    assert gap["allowed_seconds"] == 120 and 3 * 3600 - 2 <= int(gap["gap_seconds"]) <= 3 * 3600 + 2  # type: ignore[call-overload]
    assert gap["last_heartbeat"] == last.isoformat(timespec="milliseconds")
    assert "Observation gap" in rig.stderr.getvalue()


def test_recent_heartbeat_is_no_gap(rig: Rig) -> None:
    rig.clock.frozen = datetime.now(UTC).astimezone()
    rig.start(last_heartbeat=rig.clock() - timedelta(seconds=30), heartbeat_interval=60.0)
    assert rig.sink.types()[0] == "agent.started"
    assert rig.sink.count("observation.gap") == 0


def test_heartbeats_and_a_clock_jump_while_running(rig: Rig) -> None:
    # A tolerance far above the interval: only the 10-minute jump is a gap, not a busy machine's late beat.
    rig.start(heartbeat_interval=0.2, gap_tolerance=120.0)
    rig.wait(lambda s: s.count("agent.heartbeat") >= 2)
    beat = rig.sink.of_type("agent.heartbeat")[-1]
    assert beat["interval_ms"] == 200 and beat["undelivered"] == 0
    rig.clock.offset = timedelta(minutes=10)  # e.g. the machine was suspended
    rig.wait(lambda s: s.count("observation.gap") == 1)
    gap = rig.sink.of_type("observation.gap")[0]
    assert gap["reason"] == "clock-jump"
    types = rig.sink.types()
    assert types[types.index("observation.gap") + 1] == "agent.heartbeat"


class FlakySink(CheckedSink):
    """An EventSink whose ledger is busy for the first ``busy`` calls and refuses one body type."""

    def __init__(self, busy: int) -> None:
        super().__init__()
        self.busy = busy
        self.calls = 0

    def emit(self, event_type: str, body: dict[str, object]) -> None:
        self.calls += 1
        if self.calls <= self.busy:
            raise StoreBusyError("ledger locked by another process")
        if event_type == "agent.heartbeat":
            raise SchemaError("heartbeat refused", field="body")
        super().emit(event_type, body)


def test_sink_failures_are_retried_in_order_and_malformed_dropped(rig: Rig) -> None:
    flaky = FlakySink(busy=3)
    rig.sink = flaky
    agent = rig.start(sink=flaky, heartbeat_interval=0.3, retry_interval=0.1)
    rig.volume("busy")
    assert flaky.wait_for(lambda s: s.count("volume.attached") == 1, WAIT)
    assert flaky.types()[:3] == ["agent.started", "volume.attached", "alert.raised"]
    assert "kept and retried" in rig.stderr.getvalue()
    wait_until(lambda: "dropped" in rig.stderr.getvalue(), what="no heartbeat was refused and dropped")
    assert agent.counters.dropped >= 1
    wait_until(lambda: agent.undelivered == 0, what=lambda: f"{agent.undelivered} event(s) still undelivered")


class BrokenIndex:
    def match(self, volume: VolumeInfo) -> MediaMatch:
        raise StoreBusyError("media table locked")


def test_media_lookup_failure_is_recorded_not_alerted(rig: Rig) -> None:
    rig.start(media=BrokenIndex())
    rig.volume("unknown")
    rig.wait(lambda s: s.count("volume.attached") == 1)
    attached = rig.sink.of_type("volume.attached")[0]
    assert attached["media_lookup_error"] == "media table locked"
    assert rig.sink.count("alert.raised") == 0
    assert "Could not look up" in rig.stderr.getvalue()


def test_alert_command_timeout_and_failure_are_reported(rig: Rig) -> None:
    rig.start(on_alert=(sys.executable, "-c", "import time; time.sleep(5)"), on_alert_timeout=0.3)
    rig.volume("slow")
    wait_until(lambda: "did not finish" in rig.stderr.getvalue(), what="the slow alert command was not stopped")
    assert "did not finish within 0.3 s" in rig.stderr.getvalue()
    assert rig.agent is not None
    rig.agent.stop()
    rig2_err = io.StringIO()
    agent = Agent(CheckedSink(), StaticMediaIndex(), rig.config(on_alert=("/nonexistent/hook",)),
                  prober=rig.prober, stderr=rig2_err)
    agent.start()
    rig.table.detach(rig.table.records[0])
    rig.volume("slow2", minor=18)
    wait_until(lambda: "alert command failed" in rig2_err.getvalue(), what="the missing alert command was not reported")
    agent.stop()
    assert "alert command failed for C10" in rig2_err.getvalue()


def test_run_forever_stops_on_the_event(rig: Rig) -> None:
    agent = Agent(rig.sink, rig.index, rig.config(), prober=rig.prober, stderr=rig.stderr)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run_forever, args=(stop,))
    thread.start()
    rig.wait(lambda s: s.count("agent.started") == 1)
    stop.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert rig.sink.types()[-1] == "agent.stopped"
    assert rig.sink.of_type("agent.stopped")[0]["reason"] == "signal"


def test_burst_of_10000_files(rig: Rig) -> None:
    """10,000 small files in one go: every (path, sha256) exactly once, at most one entry per second."""
    rig.index.add(KnownMedium("M-BURST", serial="SER-B", write_covered=True))
    rig.start(watcher=WatcherConfig(batch_interval=1.0, batch_limit=1000, settle=0.3, reconcile_interval=2.0,
                                    baseline_grace=0.0))
    usb = rig.volume("burst", serial="SER-B")
    rig.wait(lambda s: s.count("volume.attached") == 1)
    assert rig.agent is not None
    watcher = rig.agent.watcher_for(str(usb))
    assert watcher is not None
    started = time.monotonic()
    for d in range(10):
        folder = usb / f"d{d}"
        folder.mkdir()
        for i in range(1000):
            (folder / f"f{i:04}.txt").write_bytes(b"resident-row %d-%d" % (d, i))
    written = time.monotonic() - started
    rig.wait(lambda s: written_count(s) >= 10_000, timeout=120)
    recorded = time.monotonic() - started
    entries = rig.sink.of_type("files.written")
    pairs = [(f["path"], f["sha256"]) for b in entries for f in b["files"]]  # type: ignore[attr-defined]
    expected = {(f"d{d}/f{i:04}.txt", hashlib.sha256(b"resident-row %d-%d" % (d, i)).hexdigest())
                for d in range(10) for i in range(1000)}
    assert len(pairs) == 10_000 and set(pairs) == expected  # none missed, none twice
    times = [t for kind, t in rig.sink.arrivals if kind == "files.written"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g >= 0.99 for g in gaps), gaps
    assert all(len(b["files"]) <= 1000 for b in entries)  # type: ignore[arg-type]
    assert [b["truncated"] for b in entries][-1] is False
    print(f"\nburst: wrote 10000 files in {written:.2f}s, all recorded after {recorded:.2f}s in {len(entries)} "
          f"entries; events={watcher.stats.events} overflows={watcher.stats.overflows} "
          f"found_by_reconcile={watcher.stats.found_by_reconcile}")


def test_real_tmpfs_through_proc_mountinfo(tmp_path: Path, sink: CheckedSink,
                                           tmpfs_mounter: Callable[[str], Path]) -> None:
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    # The poll timeout is an hour, far beyond the test's waits: the attach seen at all, with a wake-up of
    # poll() counted, came from the kernel's notification (not from how fast the machine is).
    config = AgentConfig(mount_filter=MountFilter(roots=(str(media),)), heartbeat_interval=30,
                         watcher=FAST_WATCH, poll_timeout=3600)
    agent = Agent(sink, StaticMediaIndex(), config, stderr=io.StringIO())
    agent.start()
    try:
        assert agent.monitor.mode == "poll"
        before = time.monotonic()
        target = tmpfs_mounter("real")
        assert sink.wait_for(lambda s: s.count("volume.attached") == 1, WAIT), sink.types()
        latency = next(t for kind, t in sink.arrivals if kind == "volume.attached") - before
        assert agent.monitor.wakeups >= 1
        attached = sink.of_type("volume.attached")[0]
        assert attached["filesystem"] == "tmpfs" and attached["mount_point"] == str(target)
        (target / "名簿.csv").write_bytes(b"x" * 1000)
        assert sink.wait_for(lambda s: s.count("files.written") == 1, WAIT), sink.types()
        assert sink.of_type("files.written")[0]["files"][0]["path"] == "名簿.csv"  # type: ignore[index]
        umount(target)
        assert sink.wait_for(lambda s: s.count("volume.detached") == 1, WAIT), sink.types()
        print(f"\nattach latency (mount returned -> volume.attached emitted): {latency * 1000:.1f} ms")
    finally:
        agent.stop()


def test_real_loop_ext4_disposed_medium(tmp_path: Path, sink: CheckedSink,
                                        ext4_image: Callable[[str], tuple[Path, str]],
                                        loop_mounter: Callable[[Path, str], Path]) -> None:
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    image, fs_uuid = ext4_image("日本")
    index = StaticMediaIndex([KnownMedium("M-DISPOSED", state="disposed", uuid=fs_uuid)])
    agent = Agent(sink, index, AgentConfig(mount_filter=MountFilter(roots=(str(media),)), watcher=FAST_WATCH),
                  stderr=io.StringIO())
    agent.start()
    try:
        loop_mounter(image, "usb")
        assert sink.wait_for(lambda s: len(alerts(s, "C12")) == 1, WAIT), sink.types()
        attached = sink.of_type("volume.attached")[0]
        assert attached["uuid"] == fs_uuid and attached["label"] == "日本"
        assert attached["media_id"] == "M-DISPOSED" and attached["matched_by"] == "uuid"
    finally:
        agent.stop()


def _json_lines(stream: IO[bytes] | None) -> tuple[queue.Queue[dict[str, object]], threading.Thread]:
    """The JSON lines of a child's stdout, read by a thread of their own (so that waits can be bounded)."""
    assert stream is not None
    lines: queue.Queue[dict[str, object]] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def test_idle_cpu_of_a_running_agent(tmp_path: Path) -> None:
    """The development runner, idle with one watched volume: CPU over 3 s stays far below 5 %.

    The window opens once the runner has reported the volume and its alert (start-up done), not after a
    guessed pause; it measures CPU time, which a busy machine does not add to."""
    media = tmp_path / "media"
    (media / "idle").mkdir(parents=True)
    table = MountTableFile(tmp_path / "mountinfo")
    table.attach(media / "idle")
    proc = subprocess.Popen([sys.executable, "-m", "custody.agents", "--mount-table", str(table.path), "--root", str(media)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[2])
    try:
        lines, reader = _json_lines(proc.stdout)
        seen = [lines.get(timeout=WAIT)["type"] for _ in range(3)]
        assert seen == ["agent.started", "volume.attached", "alert.raised"], seen  # the medium is unregistered
        ps = psutil.Process(proc.pid)
        before = ps.cpu_times()
        time.sleep(3.0)
        after = ps.cpu_times()
        used = (after.user - before.user) + (after.system - before.system)
        print(f"\nidle agent CPU: {used / 3.0 * 100:.2f} % of one core")
        assert used / 3.0 < 0.05
    finally:
        proc.terminate()
        proc.wait(timeout=WAIT)
    assert proc.returncode == 0
    reader.join(WAIT)  # the end of its output
    assert not reader.is_alive()
    rest = [lines.get_nowait()["type"] for _ in range(lines.qsize())]
    assert rest and rest[-1] == "agent.stopped", rest


def test_start_failure_is_closed_with_agent_stopped(tmp_path: Path, sink: CheckedSink) -> None:
    from custody.agents.errors import MountTableError

    agent = Agent(sink, StaticMediaIndex(), AgentConfig(mount_table=str(tmp_path / "missing"), monitor_mode="stat"),
                  stderr=io.StringIO())
    with pytest.raises(MountTableError):
        agent.start()
    assert sink.types() == ["agent.started", "agent.stopped"]
    assert str(sink.of_type("agent.stopped")[0]["reason"]).startswith("start failed")
    agent.stop()  # still idempotent
    assert sink.count("agent.stopped") == 1
