"""The work-location agent: what it observes becomes ledger events.

``Agent`` ties together a ``VolumeMonitor`` (mounts), one ``VolumeWatcher`` per
candidate volume (files written), heartbeats and alerts, and hands every
observation to an ``EventSink``.  Events (docs/spec-events.md, "Observed by the work-location agent"):

``observation.gap``   first, at start, when the last heartbeat the caller knows of is older than
                      allowed (C13); also while running when the wall clock jumps past the
                      allowance between two heartbeats (suspend, a stalled process)
``agent.started``     host, version, pid, configuration summary
``volume.attached``   volume id, uuid, label, serial, filesystem, device, mount point,
                      matched media id (or null) and its state
``files.written``     volume, media id, files: [{path, size, sha256}], truncated flag
``volume.detached``   the same volume fields, files recorded while attached
``alert.raised``      ``{"code": "C10"|"C11"|"C12", ...}``: also a line on stderr and, if
                      configured, an ``on_alert`` command (argv, no shell) with the JSON on stdin,
                      run one at a time in the order the alerts were raised
``agent.heartbeat``   every ``heartbeat_interval``
``agent.stopped``     on a clean ``stop()``

Emission goes through one lock and an in-order outbox: when the sink raises
(ledger locked too long, disk full), the event stays queued and is retried,
in order, every ``retry_interval``; a body the ledger refuses as malformed
(``FormatError``) is dropped with a message, since retrying cannot help.

Signals belong to the CLI: it calls ``run_forever(stop_event)`` and sets the
event from its SIGTERM/SIGINT handler.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import metadata
from typing import TextIO

from custody.agents.errors import AgentError, BodyError
from custody.agents.interfaces import UNREGISTERED, EventSink, MediaIndex, MediaMatch, VolumeInfo
from custody.agents.jsonsafe import Clock, check_body, rfc3339, system_clock
from custody.agents.monitor import VolumeMonitor, default_filter
from custody.agents.mountinfo import MountFilter, MountRecord, needs_polling
from custody.agents.volumes import VolumeProber
from custody.agents.watcher import FileRecord, VolumeWatcher, WatcherConfig
from custody.ledger.errors import CustodyError, FormatError, StoreFullError
from custody.ledger.i18n import _

log = logging.getLogger(__name__)

# English source texts: the English form goes into alert bodies, the translated one to stderr.
MSG_C10 = "Unregistered removable medium attached: {volume} at {mount_point}"
MSG_C11 = "Files written with no covering copy or takeout approval: {count} file(s) on {volume} ({media})"
MSG_C12 = "A medium recorded as {state} was attached again: {media} ({volume}) at {mount_point}"
MSG_GAP = "Observation gap: no heartbeat since {last} ({seconds} s; {allowed} s allowed)"
MSG_SINK_RETRY = "The ledger did not accept an event ({event}); it is kept and retried: {error}"
MSG_SINK_BACK = "The ledger accepts events again; {count} queued event(s) are being written"
MSG_SINK_DROP = "The ledger refused an event as malformed ({event}); it was dropped: {error}"
MSG_ALERT_FAILED = "The alert command failed for {code}: {error}"
MSG_ALERT_TIMEOUT = "The alert command for {code} did not finish within {seconds} s and was stopped"
MSG_LOOKUP_FAILED = "Could not look up the medium for {volume}: {error}"
MSG_WATCH_FAILED = "Cannot watch {mount_point}: {error}"
MSG_ALERT_PREFIX = "ALERT"
STATE_WORDS = {"disposed": "disposed (medium state)", "returned": "returned (medium state)"}
_FILES_VOLUME_FIELDS = ("volume_id", "uuid", "label", "serial", "mount_point")


def _version() -> str:
    try:
        return metadata.version("custody-ledger")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


@dataclass(frozen=True)
class AgentConfig:
    """How the agent observes.  Durations are seconds (floats here; integers in event bodies)."""

    mount_table: str | None = None  # None: /proc/self/mountinfo on Linux, psutil elsewhere
    monitor_mode: str = "auto"
    mount_filter: MountFilter | None = None
    poll_timeout: float = 5.0
    stat_interval: float = 0.2
    heartbeat_interval: float = 60.0
    gap_tolerance: float | None = None  # default: twice the heartbeat interval
    retry_interval: float = 5.0
    watcher: WatcherConfig = field(default_factory=WatcherConfig)
    on_alert: tuple[str, ...] | None = None
    on_alert_timeout: float = 10.0
    alert_repeat_interval: float = 60.0  # C11: at most one alert per volume per interval
    alert_paths: int = 20
    seen_again_states: frozenset[str] = frozenset({"disposed", "returned"})
    host: str | None = None

    @property
    def allowed_gap(self) -> float:
        return self.gap_tolerance if self.gap_tolerance is not None else 2 * self.heartbeat_interval


@dataclass
class _Attached:
    record: MountRecord
    info: VolumeInfo
    match: MediaMatch
    attached_at: datetime
    watcher: VolumeWatcher | None = None
    files: int = 0
    batches: int = 0
    c11_last: float = float("-inf")
    c11_suppressed: int = 0
    c11_files_suppressed: int = 0


@dataclass
class AgentCounters:
    emitted: int = 0
    dropped: int = 0
    sink_failures: int = 0
    alerts: int = 0
    heartbeats: int = 0
    gaps: int = 0


class Agent:
    """Observe volumes and files at a work location and emit ledger events."""

    def __init__(
        self,
        sink: EventSink,
        media: MediaIndex,
        config: AgentConfig | None = None,
        *,
        clock: Clock = system_clock,
        last_heartbeat: datetime | None = None,
        prober: VolumeProber | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.sink = sink
        self.media = media
        self.config = config if config is not None else AgentConfig()
        self.clock = clock
        self.last_heartbeat = last_heartbeat
        self.prober = prober if prober is not None else VolumeProber()
        self.stderr = stderr if stderr is not None else sys.stderr
        self.counters = AgentCounters()
        self.mount_filter = self.config.mount_filter or default_filter()
        self.monitor = VolumeMonitor(
            self._on_attach,
            self._on_detach,
            mount_table=self.config.mount_table,
            mode=self.config.monitor_mode,
            mount_filter=self.mount_filter,
            poll_timeout=self.config.poll_timeout,
            stat_interval=self.config.stat_interval,
        )
        self._emit_lock = threading.Lock()
        self._outbox: deque[tuple[str, dict[str, object]]] = deque()
        self._sink_failing = False
        self._state_lock = threading.RLock()
        self._attached: dict[tuple[int, int, int, str, str, str], _Attached] = {}
        self._threads: list[threading.Thread] = []
        self._alert_lock = threading.Lock()
        self._alerts: deque[tuple[str, bytes]] = deque()
        self._alert_worker: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None
        self._err_lock = threading.Lock()
        self._started = False
        self._stopped = False
        self._started_mono = 0.0
        self._last_beat_wall: datetime | None = None

    # --- public ---

    def start(self) -> None:
        """Emit the gap (if any) and ``agent.started``, report mounted volumes, start watching."""
        with self._state_lock:
            if self._started:
                raise AgentError(_("The agent is already started"))
            self._started = True
        now = self._now()
        self._started_mono = time.monotonic()
        if self.last_heartbeat is not None:
            self._check_gap(self.last_heartbeat, now, reason="restart")
        self._emit("agent.started", self._started_body(now))
        self._last_beat_wall = now
        try:
            self.monitor.start()
        except (CustodyError, OSError) as exc:
            self.stop(reason=f"start failed: {exc}")
            raise
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name="custody-heartbeat", daemon=True
        )
        self._heartbeat_thread.start()

    def stop(self, reason: str = "stop") -> None:
        """Stop observing, hand over everything pending, emit ``agent.stopped``.  Idempotent."""
        with self._state_lock:
            if not self._started or self._stopped:
                return
            self._stopped = True
        self.monitor.stop()
        with self._state_lock:
            remaining = list(self._attached.values())
        for attached in remaining:
            if attached.watcher is not None:
                attached.watcher.stop(unmounted=False)
        self._join_threads(timeout=60.0)
        self._stop_event.set()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(10)
        now = self._now()
        self._emit(
            "agent.stopped",
            {
                "reason": reason,
                "observed_at": rfc3339(now),
                "uptime_seconds": int(time.monotonic() - self._started_mono),
                "volumes": [self._volume_summary(a) for a in remaining],
                "emitted": self.counters.emitted,
                "alerts": self.counters.alerts,
                "undelivered": len(self._outbox),
            },
        )
        self._join_threads(timeout=self.config.on_alert_timeout + 5)
        if self._outbox:
            self._say(_("{count} event(s) could not be handed to the ledger").format(count=len(self._outbox)))

    def run_forever(self, stop_event: threading.Event) -> None:
        """Start (if needed), observe until ``stop_event`` is set, then stop cleanly."""
        with self._state_lock:
            started = self._started
        if not started:
            self.start()
        try:
            while not stop_event.wait(1.0):
                pass
        finally:
            self.stop(reason="signal" if stop_event.is_set() else "error")

    def __enter__(self) -> Agent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def volumes(self) -> list[VolumeInfo]:
        with self._state_lock:
            return [a.info for a in self._attached.values()]

    def watcher_for(self, mount_point: str) -> VolumeWatcher | None:
        with self._state_lock:
            for attached in self._attached.values():
                if attached.info.mount_point == mount_point:
                    return attached.watcher
        return None

    @property
    def undelivered(self) -> int:
        with self._emit_lock:
            return len(self._outbox)

    # --- emission ---

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise AgentError(_("The agent's clock must return times with a UTC offset"))
        return now

    def _emit(self, event_type: str, body: dict[str, object]) -> None:
        try:
            check_body(body)
        except BodyError as exc:  # a bug: say so loudly, do not poison the outbox
            self.counters.dropped += 1
            log.exception("agent built an invalid %s body", event_type)
            self._say(_(MSG_SINK_DROP).format(event=event_type, error=exc.message))
            return
        with self._emit_lock:
            self._outbox.append((event_type, body))
            self._drain_locked()

    def flush_outbox(self) -> int:
        """Try to hand queued events to the sink now; returns how many are still queued."""
        with self._emit_lock:
            self._drain_locked()
            return len(self._outbox)

    def _drain_locked(self) -> None:
        while self._outbox:
            event_type, body = self._outbox[0]
            try:
                self.sink.emit(event_type, body)
            except FormatError as exc:
                self._outbox.popleft()
                self.counters.dropped += 1
                self._say(_(MSG_SINK_DROP).format(event=event_type, error=exc.message))
                continue
            except CustodyError as exc:
                self._sink_trouble(event_type, exc.message, full=isinstance(exc, StoreFullError))
                return
            except Exception as exc:
                log.exception("the event sink failed on %s", event_type)
                self._sink_trouble(event_type, repr(exc))
                return
            self._outbox.popleft()
            self.counters.emitted += 1
            if self._sink_failing:
                self._sink_failing = False
                self._say(_(MSG_SINK_BACK).format(count=len(self._outbox) + 1))

    def _sink_trouble(self, event_type: str, error: str, *, full: bool = False) -> None:
        """The first failure of a run of them: a line on stderr and, if configured, the alert command
        (code ``LEDGER_FULL`` or ``LEDGER_UNAVAILABLE``; no entry: the ledger is what failed)."""
        self.counters.sink_failures += 1
        if self._sink_failing:
            return
        self._sink_failing = True
        code = "LEDGER_FULL" if full else "LEDGER_UNAVAILABLE"
        if full:
            self._say(f"{_(MSG_ALERT_PREFIX)} {code}: {error}")
        else:
            self._say(_(MSG_SINK_RETRY).format(event=event_type, error=error))
        if self.config.on_alert:
            payload = {
                "code": code,
                "message": error,
                "event": event_type,
                "undelivered": len(self._outbox),
                "observed_at": rfc3339(self._now()),
            }
            self._start_alert_command(code, json.dumps(payload, ensure_ascii=False, sort_keys=True).encode())

    def _say(self, line: str) -> None:
        with self._err_lock:
            try:
                self.stderr.write(f"custody-agent: {line}\n")
                self.stderr.flush()
            except (OSError, ValueError):
                pass

    # --- start, gaps, heartbeats ---

    def _started_body(self, now: datetime) -> dict[str, object]:
        cfg = self.config
        wcfg = cfg.watcher
        return {
            "host": cfg.host or socket.gethostname(),
            "version": _version(),
            "pid": os.getpid(),
            "platform": sys.platform,
            "observed_at": rfc3339(now),
            "config": {
                "monitor_mode": self.monitor.mode,
                "mount_table": str(self.monitor.mount_table) if self.monitor.mount_table else None,
                **self.mount_filter.summary(),
                "heartbeat_interval_ms": _ms(cfg.heartbeat_interval),
                "allowed_gap_ms": _ms(cfg.allowed_gap),
                "batch_interval_ms": _ms(wcfg.batch_interval),
                "batch_limit": wcfg.batch_limit,
                "reconcile_interval_ms": _ms(wcfg.reconcile_interval),
                "settle_ms": _ms(wcfg.settle),
                "on_alert": os.path.basename(cfg.on_alert[0]) if cfg.on_alert else None,
                "seen_again_states": sorted(cfg.seen_again_states),
            },
        }

    def _check_gap(self, last: datetime, now: datetime, *, reason: str) -> bool:
        seconds = (now - last).total_seconds()
        allowed = self.config.allowed_gap
        if seconds <= allowed:
            return False
        self.counters.gaps += 1
        self._emit(
            "observation.gap",
            {
                "code": "C13",
                "last_heartbeat": rfc3339(last),
                "detected_at": rfc3339(now),
                "gap_seconds": int(seconds),
                "allowed_seconds": int(allowed),
                "reason": reason,
            },
        )
        self._say(_(MSG_GAP).format(last=rfc3339(last), seconds=int(seconds), allowed=int(allowed)))
        return True

    def _heartbeat_loop(self) -> None:
        interval = self.config.heartbeat_interval
        retry = min(self.config.retry_interval, interval)
        next_beat = time.monotonic() + interval
        while not self._stop_event.wait(max(0.0, min(retry, next_beat - time.monotonic()))):
            if self.undelivered:
                self.flush_outbox()
            if time.monotonic() < next_beat:
                continue
            next_beat += interval
            if next_beat < time.monotonic():  # fell behind (stalled): do not burst
                next_beat = time.monotonic() + interval
            try:
                self.beat()
            except Exception:
                log.exception("heartbeat failed")

    def beat(self) -> None:
        """Emit one heartbeat now (preceded by ``observation.gap`` if the wall clock jumped)."""
        now = self._now()
        if self._last_beat_wall is not None:
            self._check_gap(self._last_beat_wall, now, reason="clock-jump")
        self._last_beat_wall = now
        self.counters.heartbeats += 1
        with self._state_lock:
            attached = list(self._attached.values())
        self._emit(
            "agent.heartbeat",
            {
                "observed_at": rfc3339(now),
                "sequence": self.counters.heartbeats,
                "interval_ms": _ms(self.config.heartbeat_interval),
                "uptime_seconds": int(time.monotonic() - self._started_mono),
                "volumes": [self._volume_summary(a) for a in attached],
                "undelivered": len(self._outbox),
            },
        )

    def _volume_summary(self, attached: _Attached) -> dict[str, object]:
        out: dict[str, object] = {
            "volume_id": attached.info.volume_id,
            "mount_point": attached.info.mount_point,
            "files_recorded": attached.files,
        }
        if attached.watcher is not None:
            out["pending"] = attached.watcher.pending
            out.update(attached.watcher.stats.body())
        return out

    # --- volumes ---

    def _lookup(self, info: VolumeInfo) -> tuple[MediaMatch, str | None]:
        try:
            return self.media.match(info), None
        except CustodyError as exc:
            error = exc.message
        except Exception as exc:
            log.exception("media lookup failed")
            error = repr(exc)
        self._say(_(MSG_LOOKUP_FAILED).format(volume=info.volume_id, error=error))
        return UNREGISTERED, error

    def _on_attach(self, record: MountRecord, initial: bool) -> None:
        now = self._now()
        placeholder = VolumeInfo(volume_id="", mount_point=record.mount_point, filesystem=record.fs_type)
        attached = _Attached(record=record, info=placeholder, match=UNREGISTERED, attached_at=now)
        # The watch goes on first: the identification and the ledger may take a while.
        watcher_config = self.config.watcher
        if needs_polling(record.fs_type) and not watcher_config.polling:
            watcher_config = replace(watcher_config, polling=True)
        watcher = VolumeWatcher(
            record.mount_point,
            lambda w, files, truncated: self._on_batch(attached, files, truncated),
            config=watcher_config,
            flush_enabled=False,
        )
        watch_error: str | None = None
        try:
            watcher.start()
            attached.watcher = watcher
        except (OSError, AgentError) as exc:
            watch_error = str(exc)
            self._say(_(MSG_WATCH_FAILED).format(mount_point=record.mount_point, error=exc))
        info = self.prober.identify(record)
        watcher.volume_id = info.volume_id
        match, lookup_error = self._lookup(info)
        attached.info, attached.match = info, match
        with self._state_lock:
            self._attached[record.key] = attached
        body: dict[str, object] = {
            **info.body_fields(),
            **match.body_fields(),
            "present_at_start": initial,
            "observed_at": rfc3339(now),
            "identified_by": list(info.sources),
        }
        if lookup_error is not None:
            body["media_lookup_error"] = lookup_error
        if watch_error is not None:
            body["watch_error"] = watch_error
        self._emit("volume.attached", body)
        if lookup_error is None:
            if not match.registered:
                self._alert("C10", attached, MSG_C10)
            elif match.state in self.config.seen_again_states:
                self._alert("C12", attached, MSG_C12)
        if attached.watcher is not None:
            attached.watcher.enable_flush()

    def _on_detach(self, record: MountRecord) -> None:
        with self._state_lock:
            attached = self._attached.pop(record.key, None)
        if attached is None:
            return
        thread = threading.Thread(
            target=self._finish_detach,
            args=(attached,),
            name=f"custody-detach:{record.mount_point}",
            daemon=True,
        )
        with self._state_lock:
            self._threads.append(thread)
        thread.start()

    def _finish_detach(self, attached: _Attached) -> None:
        if attached.watcher is not None:
            attached.watcher.stop(unmounted=True)
        now = self._now()
        self._emit(
            "volume.detached",
            {
                **attached.info.body_fields(),
                "media_id": attached.match.media_id,
                "observed_at": rfc3339(now),
                "attached_at": rfc3339(attached.attached_at),
                "files_recorded": attached.files,
                "batches": attached.batches,
            },
        )

    def _on_batch(self, attached: _Attached, files: list[FileRecord], truncated: bool) -> None:
        now = self._now()
        info = attached.info
        match, lookup_error = self._lookup(info)
        attached.match = match
        attached.batches += 1
        attached.files += len(files)
        body: dict[str, object] = {
            key: value
            for key, value in info.body_fields().items()
            if key.removesuffix("_b64") in _FILES_VOLUME_FIELDS
        }
        body.update(
            {
                "media_id": match.media_id,
                "write_covered": match.write_covered,
                "approval": match.approval,
                "observed_at": rfc3339(now),
                "batch": attached.batches,
                "count": len(files),
                "truncated": truncated,
                "files": [f.body() for f in files],
            }
        )
        if lookup_error is not None:
            body["media_lookup_error"] = lookup_error
        self._emit("files.written", body)
        if lookup_error is None and not match.write_covered:
            self._maybe_alert_c11(attached, files)

    def _maybe_alert_c11(self, attached: _Attached, files: list[FileRecord]) -> None:
        now = time.monotonic()
        if now - attached.c11_last < self.config.alert_repeat_interval:
            attached.c11_suppressed += 1
            attached.c11_files_suppressed += len(files)
            return
        extra: dict[str, object] = {
            "file_count": len(files),
            "paths": [f.body()["path"] for f in files[: self.config.alert_paths]],
            "suppressed_alerts": attached.c11_suppressed,
            "suppressed_files": attached.c11_files_suppressed,
        }
        attached.c11_last = now
        attached.c11_suppressed = attached.c11_files_suppressed = 0
        self._alert("C11", attached, MSG_C11, extra, count=len(files))

    # --- alerts ---

    def _alert(
        self,
        code: str,
        attached: _Attached,
        template: str,
        extra: dict[str, object] | None = None,
        **fmt: object,
    ) -> None:
        info, match = attached.info, attached.match
        volume_text = info.label or info.uuid or info.serial or info.volume_id
        values = {
            "volume": volume_text,
            "mount_point": info.mount_point,
            "media": match.media_id or "-",
            "state": match.state or "-",
            **fmt,
        }
        message = template.format(**values)
        local_values = dict(values)
        if match.state in STATE_WORDS:
            word = _(STATE_WORDS[match.state])
            local_values["state"] = match.state if word == STATE_WORDS[match.state] else word
        body: dict[str, object] = {
            "code": code,
            "message": message,
            **info.body_fields(),
            "media_id": match.media_id,
            "media_state": match.state,
            "observed_at": rfc3339(self._now()),
            **(extra or {}),
        }
        self.counters.alerts += 1
        self._emit("alert.raised", body)
        self._say(f"{_(MSG_ALERT_PREFIX)} {code}: {_(template).format(**local_values)}")
        if self.config.on_alert:
            payload = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
            self._start_alert_command(code, payload)

    def _start_alert_command(self, code: str, payload: bytes) -> None:
        # One worker runs the commands one after another, in the order the alerts were raised: a pager or
        # mail hook sees C10 before the C11 that followed it, and a burst of alerts is never a burst of
        # processes.  The worker ends when the queue is empty (so stop() can join it) and is started again
        # by the next alert.
        with self._alert_lock:
            self._alerts.append((code, payload))
            if self._alert_worker is not None:
                return
            thread = threading.Thread(target=self._alert_loop, name="custody-alerts", daemon=True)
            self._alert_worker = thread
        with self._state_lock:
            self._threads.append(thread)
        thread.start()

    def _alert_loop(self) -> None:
        while True:
            with self._alert_lock:
                if not self._alerts:
                    self._alert_worker = None
                    return
                code, payload = self._alerts.popleft()
            self._run_alert_command(code, payload)

    def _run_alert_command(self, code: str, payload: bytes) -> None:
        argv = list(self.config.on_alert or ())
        env = dict(os.environ, CUSTODY_ALERT_CODE=code)
        try:
            result = subprocess.run(
                argv,
                input=payload,
                capture_output=True,
                timeout=self.config.on_alert_timeout,
                check=False,
                env=env,
            )
        except subprocess.TimeoutExpired:
            self._say(_(MSG_ALERT_TIMEOUT).format(code=code, seconds=self.config.on_alert_timeout))
            return
        except OSError as exc:
            self._say(_(MSG_ALERT_FAILED).format(code=code, error=exc))
            return
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip()[:200]
            self._say(
                _(MSG_ALERT_FAILED).format(code=code, error=f"exit {result.returncode} {detail}".strip())
            )

    def _join_threads(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._state_lock:
                threads = [t for t in self._threads if t.is_alive()]
                self._threads = threads
            if not threads:
                return
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return
