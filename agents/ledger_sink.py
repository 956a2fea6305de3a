"""The agent's seams implemented by the ledger: signed entries, media lookups, checkpoints, witnessing.

``LedgerSink`` (an ``EventSink``) appends every observation as an entry signed
with the agent's own key through ``Ledger.append``; ``LedgerMediaIndex`` (a
``MediaIndex``) answers from the lifecycle state projected from the same
ledger; ``WitnessQueue`` submits signed checkpoints to the municipality's
witness (C2SP tlog-witness) in a thread of its own.

Connections and threads (docs/dependency-notes.md, apsw).  An apsw connection may be used from
several threads one at a time, but a transaction spans several statements, so
each object here owns its own connection and serialises its use with a lock:
the sink's (appends and checkpoints), the index's (reads; in WAL mode they
never wait for a writer), and the witness queue's, which is opened and used in
its own thread only.  Other processes (the CLI) append to the same store; each
append is one ``BEGIN IMMEDIATE`` transaction, so the chain stays linear.

What "never drop, never duplicate" means here.  ``emit`` returns only once the
entry is committed (durable).  It raises only when nothing was written:

* the ledger is locked by another process: SQLite waits up to the store's busy
  timeout (60 s) inside each attempt; on ``StoreBusyError`` the sink tries again
  until ``busy_patience`` has passed, then raises ``StoreBusyError`` -- the agent
  keeps the event in its outbox and retries it in order;
* the disk is full: ``StoreFullError`` at once, with a message that says so;
  the agent keeps the event (and every later one) and alerts;
* a body that does not match its schema: ``SchemaError`` (a ``FormatError``),
  which the agent drops loudly -- written, it would be an I7 finding.

Anything that goes wrong *after* the commit (an automatic checkpoint that cannot
be signed or stored) is reported and retried at the next append, never raised:
raising would make the agent append the same event twice.

Checkpoints: after each append, when ``Ledger.checkpoint_due()`` (every N
entries or T minutes, ``custody.toml``), the sink signs one with the log key,
whose passphrase the agent's service account holds in a file.  With a witness
URL, every new checkpoint wakes the ``WitnessQueue``; while the witness cannot
be reached the queue backs off (doubling up to a limit) and tries again.  Only
the latest checkpoint is ever sent: the witness checks consistency from the
size it last cosigned, so a queue of older checkpoints would add nothing.  The
queue is the store itself (the latest checkpoint against the largest
cosigned one), so it survives a restart of the agent.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TextIO

from custody.agents.interfaces import UNREGISTERED, MediaMatch, VolumeInfo
from custody.ledger.entry import Entry
from custody.ledger.errors import (
    CustodyError,
    RuleRefusal,
    StoreBusyError,
    StoreError,
    StoreFullError,
    VerificationError,
)
from custody.ledger.events import AGENT_TYPES, validate_body
from custody.ledger.i18n import _
from custody.ledger.ledger import CheckpointInfo, Ledger
from custody.ledger.lifecycle import LedgerState, advance, new_state
from custody.ledger.note import Signer
from custody.ledger.registry import KeyStatus
from custody.ledger.timefmt import Clock, format_at, parse_at, system_clock
from custody.ledger.workflow import CacheKeeper, projection

log = logging.getLogger(__name__)

Say = Callable[[str], None]

MSG_FULL = (
    "The ledger's disk is full ({path}): nothing was written; the agent keeps its observations in memory "
    "and writes them, in order, once space is freed"
)
MSG_BUSY_WAIT = "The ledger is locked by another custody command; the agent waits (nothing is dropped)"
MSG_BUSY_OVER = "The ledger was locked for more than {seconds} s; the agent keeps the event and retries"
MSG_CHECKPOINT_FAILED = "Could not sign an automatic checkpoint (retried after the next entry): {error}"
MSG_NO_LOG_KEY = "No log-key passphrase given: the agent signs no automatic checkpoints"
MSG_WITNESS_DOWN = "The witness at {url} cannot be reached; checkpoints are kept and submitted later: {error}"
MSG_WITNESS_REFUSED = "The witness at {url} refused the checkpoint of size {size}: {error}"
MSG_WITNESS_BACK = "The witness cosigned the checkpoint of size {size} ({names})"
MSG_SINK_CLOSED = "The agent's ledger connection is closed"
MSG_KEY_UNREGISTERED = "The agent key {name!r} is not registered in this ledger as an agent"
MSG_KEY_NOT_VALID = "The agent key {name!r} is {status} in this ledger"
MSG_KEY_NOT_AGENT = "The key {name!r} is registered for a person (role {role}), not for the agent"
HINT_REGISTER = (
    "Register it first, signed by the responsible person: custody agent register --agent-key FILE "
    "--key RESPONSIBLE.key"
)


def stderr_say(stream: TextIO | None = None) -> Say:
    """A ``say`` that writes ``custody-agent: <line>`` to stderr (thread-safe)."""
    lock = threading.Lock()

    def say(line: str) -> None:
        target = stream if stream is not None else sys.stderr
        with lock:
            try:
                target.write(f"custody-agent: {line}\n")
                target.flush()
            except (OSError, ValueError):
                pass

    return say


def _set_busy_timeout(ledger: Ledger, seconds: float) -> None:
    """Shorten (tests) or lengthen the store's busy timeout on this connection only."""
    ledger.store.set_busy_timeout(seconds)


# --- the sink ---------------------------------------------------------------------------------------


class LedgerSink:
    """Append the agent's observations as entries signed with the agent key (an ``EventSink``)."""

    def __init__(
        self,
        root: Path,
        signer: Signer,
        *,
        log_signer: Signer | None = None,
        witness_url: str | None = None,
        clock: Clock = system_clock,
        say: Say | None = None,
        busy_patience: float = 600.0,
        busy_timeout: float | None = None,
        busy_pause: float = 0.5,
        validate: bool = True,
        witness_min_delay: float = 2.0,
        witness_max_delay: float = 300.0,
        witness_timeout: float = 30.0,
    ) -> None:
        self.root = Path(root)
        self.signer = signer
        self.log_signer = log_signer
        self.say = say if say is not None else stderr_say()
        self.busy_patience = busy_patience
        self.busy_pause = busy_pause
        self.validate = validate
        self._lock = threading.RLock()
        self._closed = False
        self._busy_reported = False
        self._checkpoint_failing = False
        self.appended = 0
        self.busy_retries = 0
        self.full_errors = 0
        self.checkpoints = 0
        self.last_entry: Entry | None = None
        if witness_url:
            from custody.ledger.witness_client import witness_url as check_url

            check_url(witness_url)  # UsageError now, before anything is opened
        self.ledger = Ledger.open(self.root, clock=clock)
        # The commands' state cache, kept current as observations are appended (custody.ledger.workflow).
        self._cache = CacheKeeper(self.ledger)
        if busy_timeout is not None:
            _set_busy_timeout(self.ledger, busy_timeout)
        self.witness: WitnessQueue | None = None
        if witness_url:
            self.witness = WitnessQueue(
                self.root, witness_url, say=self.say, clock=clock, min_delay=witness_min_delay,
                max_delay=witness_max_delay, timeout=witness_timeout,
            )
            self.witness.start()

    @property
    def actor(self) -> str:
        return self.signer.name

    # --- EventSink ---

    def emit(self, event_type: str, body: dict[str, object]) -> None:
        if self.validate:
            validate_body(event_type, body)  # SchemaError: the agent drops it, loudly
        with self._lock:
            if self._closed:
                raise StoreError(_(MSG_SINK_CLOSED))
            entry = self._append(event_type, body)
            self.appended += 1
            self.last_entry = entry
            self._after_append()

    def _append(self, event_type: str, body: dict[str, object]) -> Entry:
        deadline = time.monotonic() + self.busy_patience
        while True:
            try:
                # The commands' pre-write check (docs/spec.md §13.4): a refused key or rule is a RuleRefusal,
                # which the agent keeps queued and reports (the observation is not lost), never an entry
                # that verify would reject.
                entry, _found = self._cache.append(event_type, body, self.signer)
            except StoreFullError as exc:
                self.full_errors += 1
                if exc.uncertain:  # its message says that the entry may be recorded; MSG_FULL would deny it
                    raise
                raise StoreFullError(_(MSG_FULL).format(path=self.ledger.paths.store)) from None
            except StoreBusyError:
                self.busy_retries += 1
                if time.monotonic() >= deadline:
                    raise StoreBusyError(_(MSG_BUSY_OVER).format(seconds=int(self.busy_patience))) from None
                if not self._busy_reported:
                    self._busy_reported = True
                    self.say(_(MSG_BUSY_WAIT))
                time.sleep(self.busy_pause)
                continue
            self._busy_reported = False
            return entry

    def _after_append(self) -> None:
        """The automatic checkpoint; the entry is already durable, so nothing here may raise."""
        if self.log_signer is None:
            return
        try:
            if not self.ledger.checkpoint_due():
                return
            info = self.ledger.checkpoint(self.log_signer)
        except CustodyError as exc:
            if not self._checkpoint_failing:
                self._checkpoint_failing = True
                self.say(_(MSG_CHECKPOINT_FAILED).format(error=exc.message))
            return
        self._checkpoint_failing = False
        if info.created:
            self.checkpoints += 1
            if self.witness is not None:
                self.witness.kick()

    # --- checkpoints and closing ---

    def checkpoint_now(self) -> CheckpointInfo | None:
        """Sign a checkpoint of the current tree (None without the log key, or when it fails)."""
        if self.log_signer is None:
            return None
        with self._lock:
            if self._closed:
                return None
            try:
                info = self.ledger.checkpoint(self.log_signer)
            except CustodyError as exc:
                self.say(_(MSG_CHECKPOINT_FAILED).format(error=exc.message))
                return None
        if info.created:
            self.checkpoints += 1
            if self.witness is not None:
                self.witness.kick()
        return info

    def close(self, *, final_checkpoint: bool = True, witness_grace: float = 10.0) -> None:
        """Sign a last checkpoint (so that ``agent.stopped`` is covered), stop the witness queue, close."""
        with self._lock:
            if self._closed:
                return
        if final_checkpoint:
            self.checkpoint_now()
        if self.witness is not None:
            self.witness.stop(grace=witness_grace)
        with self._lock:
            self._closed = True
            self.ledger.close()

    def __enter__(self) -> LedgerSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def locked(self) -> Iterator[Ledger]:
        """The sink's own ledger connection, with appends held off (tests: ``store.set_page_limit``)."""
        with self._lock:
            yield self.ledger


# --- the media index --------------------------------------------------------------------------------


def replay_state(ledger: Ledger, state: LedgerState | None = None, end: int | None = None) -> LedgerState:
    """The lifecycle state after the entries ``[state.last_seq + 1, end)`` (from scratch without ``state``)."""
    st = state if state is not None else new_state(ledger.origin)
    for entry in ledger.store.entries(st.last_seq + 1, end):
        advance(st, entry)
    return st


class LedgerMediaIndex:
    """Which registered medium a volume is, from the lifecycle state of the ledger (a ``MediaIndex``).

    A volume matches a medium by its device serial, else by its filesystem
    UUID (``volume_uuid`` in the medium's record) -- never by its label alone,
    which anyone can set.  The state is projected once (``custody.ledger.workflow``:
    its cache plus the entries appended since) and then advanced in memory
    past new entries whenever the ledger has grown.
    """

    def __init__(self, root: Path, *, clock: Clock = system_clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.ledger = Ledger.open(Path(root), clock=clock)
        self._state: LedgerState | None = None
        self.lookups = 0
        self.refreshes = 0

    def close(self) -> None:
        with self._lock:
            self.ledger.close()

    def state(self) -> LedgerState:
        """The current state (a live object: do not change it; ``clone()`` it to keep it)."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> LedgerState:
        size = self.ledger.store.size
        if self._state is None:
            # The workflow's cached projection (not saved back: a lookup must never wait for the write lock).
            self._state = projection(self.ledger, save=False).state
            replay_state(self.ledger, self._state, size)
            self.refreshes += 1
        elif self._state.last_seq + 1 < size:
            replay_state(self.ledger, self._state, size)
            self.refreshes += 1
        return self._state

    def match(self, volume: VolumeInfo) -> MediaMatch:
        with self._lock:
            self.lookups += 1
            st = self._refresh()
            for attribute in ("serial", "uuid"):
                value = getattr(volume, attribute)
                if not value:
                    continue
                medium = st.match_volume(**{attribute: value})
                if medium is None:
                    continue
                approval = st.write_covered(medium.id, format_at(self.clock()))
                return MediaMatch(
                    media_id=medium.id,
                    state=medium.state,
                    write_covered=approval is not None,
                    approval=approval,
                    matched_by=attribute,
                )
        return UNREGISTERED


# --- the agent's key and its last sign of life ---------------------------------------------------------


def check_agent_key(ledger: Ledger, signer: Signer) -> None:
    """Refuse to run with a key the ledger does not hold as a valid agent key (every entry would be C9)."""
    proj = projection(ledger)
    registry, size = proj.registry, proj.size
    person = registry.person(signer.name)
    if person is None:
        raise RuleRefusal("C9", _(MSG_KEY_UNREGISTERED).format(name=signer.name), todo=_(HINT_REGISTER))
    status, _verifier = registry.key_status(signer.name, signer.key_id, size)
    if status != KeyStatus.VALID:
        raise RuleRefusal("C9", _(MSG_KEY_NOT_VALID).format(name=signer.name, status=_(status)),
                          todo=_(HINT_REGISTER))
    if person.role != "agent":
        raise RuleRefusal("C9", _(MSG_KEY_NOT_AGENT).format(name=signer.name, role=person.role),
                          todo=_(HINT_REGISTER))


def last_seen(ledger: Ledger, actor: str) -> datetime | None:
    """When the agent ``actor`` last showed it was alive: its latest entry's ``observed_at`` (else ``at``)."""
    store = ledger.store
    for seq in reversed(store.seqs_of_type(*AGENT_TYPES)):
        entry = store.entry(seq)
        if entry.actor != actor:
            continue
        observed = entry.body.get("observed_at")
        for text in (observed, entry.at):
            if isinstance(text, str):
                try:
                    return parse_at(text)
                except CustodyError:
                    continue
        return None
    return None


# --- witnessing ---------------------------------------------------------------------------------------


class WitnessQueue:
    """Submit the latest checkpoint to the witness whenever it is newer than the last cosigned one.

    Runs in its own thread with its own ledger connection.  ``kick()`` after a
    new checkpoint; failures back off from ``min_delay`` doubling to
    ``max_delay``.  Never blocks the agent: observation goes on whatever the
    witness does.
    """

    def __init__(
        self,
        root: Path,
        url: str,
        *,
        say: Say,
        clock: Clock = system_clock,
        min_delay: float = 2.0,
        max_delay: float = 300.0,
        timeout: float = 30.0,
    ) -> None:
        from custody.ledger.witness_client import witness_url

        self.root = Path(root)
        self.url = url
        witness_url(url)  # UsageError now for a malformed URL, not later in the thread
        self.say = say
        self.clock = clock
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self.cosigned = 0
        self.submitted = 0
        self.failures = 0
        self.last_error: str | None = None
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._failing = False
        self._thread: threading.Thread | None = None
        self._final_grace = 10.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="custody-witness", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._kick.set()

    def stop(self, grace: float = 10.0) -> None:
        """Stop; one last submission is tried (within ``grace`` seconds) if one is pending and the witness
        answered last time."""
        self._final_grace = grace
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(grace + self.timeout + 5)

    def wait_cosigned(self, size: int, timeout: float) -> bool:
        """Wait until a checkpoint of at least ``size`` is cosigned (tests, the demo)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self.cosigned < size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return True

    def _run(self) -> None:
        from custody.ledger.witness_client import cosigned_size

        ledger: Ledger | None = None
        delay: float | None = 0.0
        while True:
            if delay is None:
                self._kick.wait()
            elif delay > 0:
                self._kick.wait(delay)
            self._kick.clear()
            stopping = self._stop.is_set()
            if stopping and (self._failing or ledger is None):
                break
            try:
                if ledger is None:
                    ledger = Ledger.open(self.root, clock=self.clock)
                    self._set_cosigned(cosigned_size(ledger))
                delay = self._attempt(ledger, timeout=min(self.timeout, self._final_grace) if stopping
                                      else self.timeout)
            except Exception as exc:  # the thread must survive anything: observation does not depend on it
                log.exception("witness submission failed")
                delay = self._failed(exc)
            if stopping:
                break
        if ledger is not None:
            ledger.close()

    def _set_cosigned(self, size: int) -> None:
        with self._idle:
            self.cosigned = max(self.cosigned, size)
            self._idle.notify_all()

    def _attempt(self, ledger: Ledger, *, timeout: float) -> float | None:
        """One submission if one is pending; the delay before the next look (None: wait for a kick)."""
        from custody.ledger.witness_client import WitnessRefusedError, WitnessUnreachableError, submit_checkpoint

        latest = ledger.latest_checkpoint()
        if latest is None or latest[0] <= self.cosigned:
            return None
        size = latest[0]
        try:
            names = submit_checkpoint(ledger, self.url, timeout=timeout)
        except WitnessUnreachableError as exc:
            if not self._failing:
                self.say(_(MSG_WITNESS_DOWN).format(url=self.url, error=exc.message))
            return self._failed(exc)
        except (WitnessRefusedError, VerificationError) as exc:
            self.say(_(MSG_WITNESS_REFUSED).format(url=self.url, size=size, error=exc.message))
            return self._failed(exc)
        except StoreError as exc:  # busy or full while importing the cosignature: try again later
            return self._failed(exc)
        self.submitted += 1
        if self._failing:
            self.say(_(MSG_WITNESS_BACK).format(size=size, names=", ".join(names) or "-"))
        self._failing = False
        self.failures = 0
        self.last_error = None
        self._set_cosigned(size)
        return 0.0 if ledger.latest_checkpoint() != latest else None

    def _failed(self, exc: BaseException) -> float:
        self._failing = True
        self.failures += 1
        self.last_error = exc.message if isinstance(exc, CustodyError) else repr(exc)
        return float(min(self.max_delay, self.min_delay * 2 ** min(self.failures - 1, 30)))
