"""The key agent process (docs/spec.md §6.7), started by ``custody unlock``.

``custody unlock`` starts this module in a session of its own and writes
one JSON line to its standard input: the key files, their passphrases, the
ledger and the timeouts.  The agent opens the keys itself (the decrypted
keys never exist in any other process), checks them against the ledger,
hardens itself (``hardening``), listens on its socket (``paths``) and
answers with one JSON line on its standard output: what it holds and what
it achieved, or the error that stopped it.  Then it closes both and serves.

What it serves (``protocol``): ``hello`` (the keys it holds, by name and
public key, and the ledger it was unlocked for), ``sign``, ``fits`` and
``lock``.  ``fits`` answers whether a document a command is about to sign
fits its schema, with the validators the agent keeps compiled (a command
would load and compile them again each time: ~15 ms of its start-up, issue
19); it answers only for the same schema files as the command's and never
signs anything, and "no" only sends the command to judge the document
itself, as it does without an agent.  It
signs only custody's own signing inputs (``custody.ledger.signing_domain``)
and, for entries and checkpoints, only for the ledger it was unlocked for:

* an entry must be the next one of that ledger (its ``seq`` is the ledger's
  size and its ``prev`` the leaf hash of the last entry), and its actor's key
  must be valid there at that ``seq`` -- a key the ledger revoked, or
  replaced by rotation or removal, is refused and forgotten;
* a checkpoint must commit to that ledger's tree: its root hash is the
  ledger's root at its size.

A connection from a process of another user is refused (``SO_PEERCRED``),
before any request is read; the socket's mode (0600) and folder (0700)
already keep other users out unless someone widened them.

It ends, wiping the keys' pages, on ``lock``; when the shift is over
(``shift_seconds`` after unlocking, counted on the boot-time clock, so a
suspended laptop's sleep counts); after ``idle_seconds`` without a
signature; when its socket disappears (the login manager removes
``$XDG_RUNTIME_DIR`` when the user logs out, or a second ``custody unlock``
replaced it); on SIGTERM, SIGHUP or SIGINT; and when its ledger revokes the
last key it holds.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custody.ledger.errors import CustodyError, KeyAgentError, RuleRefusal
from custody.ledger.i18n import _, set_language
from custody.ledger.keyagent import protocol
from custody.ledger.keyagent.hardening import LockedSeed, lock_everything, memlock_limit, set_not_dumpable
from custody.ledger.keyagent.paths import make_private_dir
from custody.ledger.note import ALG_ED25519, key_id
from custody.ledger.signing_domain import CHECKPOINT, ENTRY, LOG_KEY, classify

# How often the loop wakes without requests to check its socket and its deadlines.
POLL_SECONDS = 2.0
# A client that starts a request and stops sending is dropped after this long.
REQUEST_SECONDS = 10.0


def clock() -> float:
    """Seconds on the boot-time clock, which keeps counting while the machine sleeps (Linux)."""
    return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


@dataclass
class HeldKey:
    name: str
    role: str  # signing_domain.PERSON_KEY or LOG_KEY
    public: bytes
    seed: LockedSeed

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, ALG_ED25519, self.public)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "public": base64.b64encode(self.public).decode("ascii")}


@dataclass
class _Connection:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    started: float | None = None  # when the request being read began


class LedgerView:
    """The ledger the agent was unlocked for, read-only: its head, its key registry and its tree."""

    def __init__(self, root: Path) -> None:
        from custody.ledger.ledger import Ledger

        self.root = root
        self.ledger = Ledger.open(root, readonly=True)
        self._load()

    def _load(self) -> None:
        from custody.ledger.workflow import projection

        proj = projection(self.ledger, save=False)  # the state cache and the entries written since
        self.registry = proj.registry
        self.size = proj.size
        self.last_leaf_hash = proj.last_leaf_hash

    @property
    def origin(self) -> str:
        return self.ledger.origin

    def refresh(self) -> None:
        """Advance the registry over the entries appended since it was last read."""
        from custody.ledger.rfc6962 import leaf_hash

        store = self.ledger.store
        head = store.head()
        if head.size < self.size or (
            self.size and leaf_hash(store.leaf(self.size - 1)) != self.last_leaf_hash
        ):
            self._load()  # the store was replaced under us: start again from its own state
            return
        if head.size > self.size:
            for entry in store.entries(self.size, head.size):
                self.registry.apply(entry)
            self.size, self.last_leaf_hash = head.size, head.last_leaf_hash

    def key_status(self, name: str, key_id: bytes, seq: int) -> str:
        status, _verifier = self.registry.key_status(name, key_id, seq)
        return status

    def close(self) -> None:
        self.ledger.close()


class Agent:
    """The agent's state and its answers; ``serve`` runs it on a listening socket."""

    def __init__(self, keys: list[HeldKey], ledger: LedgerView | None, *, shift_seconds: float,
                 idle_seconds: float, now: Callable[[], float] = clock) -> None:
        self.keys = keys
        self.ledger = ledger
        self.now = now
        self.started = now()
        self.shift_seconds = shift_seconds
        self.idle_seconds = idle_seconds
        self.last_used = self.started
        self.uid = os.getuid()
        self.running = True
        self.hardening: dict[str, Any] = {}
        # Schema name -> (mtime_ns, size) of its files when first judged: a file changed since (custody upgraded
        # in place while the agent runs) makes the agent stop judging that schema (``fits``).
        self._schema_stamps: dict[str, dict[str, tuple[int, int]]] = {}

    # --- lifetime ---

    def deadline(self) -> float:
        return min(self.started + self.shift_seconds, self.last_used + self.idle_seconds)

    def expired(self) -> bool:
        return self.now() >= self.deadline()

    def forget(self, key: HeldKey) -> None:
        key.seed.wipe()
        self.keys.remove(key)
        if not self.keys:
            self.running = False

    def wipe(self) -> None:
        for key in self.keys:
            key.seed.wipe()
        self.keys.clear()
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None

    # --- requests ---

    def describe(self) -> dict[str, Any]:
        now = self.now()
        return {
            "ok": True,
            "pid": os.getpid(),
            "keys": [key.describe() for key in self.keys],
            "origin": self.ledger.origin if self.ledger is not None else None,
            "ledger": str(self.ledger.root) if self.ledger is not None else None,
            "shift_left": max(0.0, self.started + self.shift_seconds - now),
            "idle_left": max(0.0, self.last_used + self.idle_seconds - now),
            "hardening": self.hardening,
        }

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "hello":
            return self.describe()
        if op == "lock":
            self.running = False
            return {"ok": True, "pid": os.getpid()}
        if op == "sign":
            return self.sign(request)
        if op == "fits":
            return {"ok": True, "fits": self.fits(request)}
        return _error(protocol.BAD_REQUEST, f"unknown request {op!r}")

    def sign(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            role = request["role"]
            public = base64.b64decode(request["public"], validate=True)
            message = base64.b64decode(request["message"], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error):
            return _error(protocol.BAD_REQUEST, "a sign request needs role, public and message (base64)")
        key = next((k for k in self.keys if k.role == role and k.public == public), None)
        if key is None:
            return _error(protocol.NO_KEY, "the agent holds no such key")
        try:
            found = classify(message, key_name=key.name, role=role)
        except KeyAgentError as exc:
            return _error(protocol.REFUSED, exc.message)
        if found.domain in (ENTRY, CHECKPOINT):
            problem = self._check_ledger(key, found.domain, found.origin, found.seq, found.hash)
            if problem is not None:
                return problem
        signature = key.seed.private_key().sign(message)
        self.last_used = self.now()
        return {"ok": True, "signature": base64.b64encode(signature).decode("ascii")}

    def fits(self, request: dict[str, Any]) -> bool:
        """Whether ``request["document"]`` fits the schema ``request["schema"]``, judged with the schema files of
        this installation when the command reads the same ones (``request["schemas"]``, their folder) and they
        have not changed since the agent first read them; False when it does not fit, or the agent cannot tell."""
        from custody import schemas
        from custody.ledger.errors import SchemaError
        from custody.ledger.validation import acceptor

        name = request.get("schema")
        if not isinstance(name, str) or request.get("schemas") != schemas.location() or "document" not in request:
            return False
        try:
            accepts = acceptor(name)
        except SchemaError:
            return False
        stamps = _stamps(schemas.files(name))
        if not stamps or self._schema_stamps.setdefault(name, stamps) != stamps:
            return False
        return accepts(request["document"])

    def _check_ledger(self, key: HeldKey, domain: str, origin: str, seq: int | None,
                      digest: bytes | None) -> dict[str, Any] | None:
        view = self.ledger
        if view is None:
            return _error(protocol.OTHER_LEDGER, "the agent was unlocked without a ledger", origin=None)
        if origin != view.origin:
            return _error(protocol.OTHER_LEDGER, f"the agent was unlocked for {view.origin}", origin=view.origin)
        assert seq is not None
        assert digest is not None
        view.refresh()
        if domain == CHECKPOINT:
            if seq > view.size or view.ledger.store.root(seq) != digest:
                return _error(protocol.REFUSED, "the checkpoint is not the ledger's tree")
            return None
        if seq != view.size or digest != view.last_leaf_hash:
            return _error(protocol.REFUSED, f"the entry is not the next one of the ledger (size {view.size})")
        status = view.key_status(key.name, key.key_id, seq)
        if status != "valid":
            self.forget(key)
            return _error(protocol.REVOKED, f"the ledger says the key is {status}", status=status)
        return None

    # --- the socket ---

    def serve(self, listener: socket.socket, path: Path) -> None:
        """Answer requests until locked, expired, revoked out of keys, signalled, or the socket is gone."""
        inode = os.stat(path).st_ino
        selector = selectors.DefaultSelector()
        listener.setblocking(False)
        selector.register(listener, selectors.EVENT_READ)
        connections: dict[int, _Connection] = {}
        try:
            while self.running and not self.expired():
                timeout = max(0.0, min(POLL_SECONDS, self.deadline() - self.now()))
                for key, _mask in selector.select(timeout):
                    if key.fileobj is listener:
                        self._accept(listener, selector, connections)
                    else:
                        self._read(connections[key.fd], selector, connections)
                self._drop_stalled(selector, connections)
                try:
                    if os.stat(path).st_ino != inode:
                        break  # replaced by another agent
                except FileNotFoundError:
                    break  # removed: the user logged out (XDG_RUNTIME_DIR), or someone ended us by hand
        finally:
            for conn in connections.values():
                conn.sock.close()
            selector.close()
            listener.close()
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == inode:
                    os.unlink(path)
            self.wipe()

    def _accept(self, listener: socket.socket, selector: selectors.BaseSelector,
                connections: dict[int, _Connection]) -> None:
        try:
            sock, _addr = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if protocol.peer_uid(sock) != self.uid:
            with contextlib.suppress(OSError):
                sock.settimeout(1.0)
                sock.sendall(protocol.encode(_error(protocol.OTHER_USER, "the key agent serves its own user only")))
            sock.close()
            return
        sock.setblocking(False)
        connections[sock.fileno()] = _Connection(sock)
        selector.register(sock, selectors.EVENT_READ)

    def _close(self, conn: _Connection, selector: selectors.BaseSelector, connections: dict[int, _Connection]) -> None:
        selector.unregister(conn.sock)
        connections.pop(conn.sock.fileno(), None)
        conn.sock.close()

    def _read(self, conn: _Connection, selector: selectors.BaseSelector, connections: dict[int, _Connection]) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close(conn, selector, connections)
            return
        if conn.started is None:
            conn.started = self.now()
        conn.buffer += chunk
        while len(conn.buffer) >= 4:
            try:
                length = protocol.frame_length(bytes(conn.buffer[:4]))
            except protocol.ProtocolError:
                self._close(conn, selector, connections)
                return
            if len(conn.buffer) < 4 + length:
                return
            frame = bytes(conn.buffer[4:4 + length])
            del conn.buffer[:4 + length]
            conn.started = self.now() if conn.buffer else None
            try:
                reply = self.handle(protocol.decode(frame))
            except protocol.ProtocolError as exc:
                reply = _error(protocol.BAD_REQUEST, str(exc))
            except Exception as exc:  # noqa: BLE001 - one bad request must not end the agent's shift
                reply = _error(protocol.BAD_REQUEST, f"{type(exc).__name__}: {exc}")
            try:
                conn.sock.setblocking(True)
                conn.sock.settimeout(REQUEST_SECONDS)
                conn.sock.sendall(protocol.encode(reply))
                conn.sock.setblocking(False)
            except OSError:
                self._close(conn, selector, connections)
                return

    def _drop_stalled(self, selector: selectors.BaseSelector, connections: dict[int, _Connection]) -> None:
        now = self.now()
        for conn in list(connections.values()):
            if conn.started is not None and now - conn.started > REQUEST_SECONDS:
                self._close(conn, selector, connections)


def _warm_schemas() -> None:
    """Compile every entry body's validator now (~0.1 s, while ``custody unlock`` waits), so that the shift's
    first command is answered as quickly as the rest (``fits``); a schema that cannot be compiled is judged by
    the command, as always."""
    from custody.ledger.errors import SchemaError
    from custody.ledger.events import EVENT_TYPES, body_schema_name
    from custody.ledger.validation import acceptor

    for event_type in EVENT_TYPES:
        with contextlib.suppress(SchemaError):
            acceptor(body_schema_name(event_type))


def _stamps(files: dict[str, Path]) -> dict[str, tuple[int, int]]:
    """(mtime_ns, size) of each file; empty when one cannot be read."""
    found: dict[str, tuple[int, int]] = {}
    for name, path in files.items():
        try:
            info = path.stat()
        except OSError:
            return {}
        found[name] = (info.st_mtime_ns, info.st_size)
    return found


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message, **extra}


# --- starting ---


def _open_keys(config: dict[str, Any]) -> list[HeldKey]:
    from custody.ledger.keyfile import read_key_file

    held: list[HeldKey] = []
    for item in config["keys"]:
        passphrase = base64.b64decode(item["passphrase"])
        name, private = read_key_file(Path(item["file"]), passphrase)
        seed = LockedSeed(private.private_bytes_raw())
        held.append(HeldKey(name, item["role"], private.public_key().public_bytes_raw(), seed))
        del private
    return held


def _check_keys(keys: list[HeldKey], view: LedgerView | None) -> None:
    """Refuse to unlock a person's key the ledger does not let sign, or a log key that is not the ledger's."""
    if view is None:
        return
    view.refresh()
    for key in keys:
        if key.role == LOG_KEY:
            log = view.ledger.log_verifier()
            if key.name != view.origin or key.public != log.public_key:
                raise KeyAgentError(_("{name} is not the log key of the ledger {origin}.").format(
                    name=key.name, origin=view.origin))
            continue
        status = view.key_status(key.name, key.key_id, view.size)
        if status == "valid":
            continue
        values = {"name": key.name, "key_id": key.key_id.hex()}
        if status == "revoked":
            message = _("The key {key_id} of {name} was revoked; it can no longer sign.")
        elif status == "ended":
            message = _("The key {key_id} of {name} was replaced by a newer key (custody key rotate).")
        else:
            message = _("The key {key_id} is not a registered key of {name}.")
        raise RuleRefusal("C9", message.format(**values), todo=_("Unlock a key that is valid in this ledger."))


def _listen(path: Path) -> socket.socket:
    """Bind the socket (mode 0600 in a 0700 folder); KeyAgentError when an agent already answers there."""
    make_private_dir(path.parent)
    if path.exists() or path.is_symlink():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(2.0)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # left by an agent that did not end cleanly
        else:
            raise KeyAgentError(
                _("A key agent is already running ({path}).").format(path=path),
                hint=_("End it with 'custody lock' first, or keep using it."),
            )
        finally:
            probe.close()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    listener.listen(16)
    return listener


def start(config: dict[str, Any]) -> tuple[Agent, socket.socket, Path]:
    """Everything up to serving: harden, open the keys, check them, lock memory, listen."""
    dumpable_off = set_not_dumpable()
    keys = _open_keys(config)
    view = None
    try:
        if config.get("ledger"):
            view = LedgerView(Path(config["ledger"]))
        _check_keys(keys, view)
        all_locked, why_not = lock_everything()
        path = Path(config["socket"])
        listener = _listen(path)
    except BaseException:
        for key in keys:
            key.seed.wipe()
        if view is not None:
            view.close()
        raise
    agent = Agent(keys, view, shift_seconds=float(config["shift_seconds"]), idle_seconds=float(config["idle_seconds"]))
    if view is not None:
        _warm_schemas()
    agent.hardening = {
        "dumpable": not dumpable_off,
        "all_locked": all_locked,
        "mlockall_error": why_not,
        "seeds_locked": all(key.seed.locked for key in keys),
        "mlock_error": next((key.seed.detail for key in keys if not key.seed.locked), ""),
        "memlock_limit": memlock_limit(),
    }
    return agent, listener, path


def _detach() -> None:
    """Standard input, output and error to /dev/null: nobody reads them once custody unlock has ended."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def main() -> None:
    set_language(os.environ.get("CUSTODY_LANG"))
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _stop)
    try:
        config = json.loads(sys.stdin.readline())
        agent, listener, path = start(config)
    except CustodyError as exc:
        _reply({"ok": False, "kind": type(exc).__name__, "exit_code": exc.exit_code, "message": exc.message,
                "hint": exc.hint, "code": getattr(exc, "code", None)})
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - reported to custody unlock, which prints it
        _reply({"ok": False, "exit_code": 1, "message": f"{type(exc).__name__}: {exc}", "hint": None, "code": None})
        sys.exit(1)
    _reply(agent.describe() | {"socket": str(path)})
    _detach()
    try:
        agent.serve(listener, path)
    except _Stopped:
        pass
    finally:
        agent.wipe()


class _Stopped(Exception):
    pass


def _stop(_signum: int, _frame: object) -> None:
    raise _Stopped


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
