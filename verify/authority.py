"""The municipality's trust store ("authority"): pins and the witness's state.

docs/spec.md §11 (The trust store): at contract start the municipality pins, in its own
trust store, the origin, the log vkey, the genesis entry hash, its approver
and witness vkeys, and then keeps every checkpoint it cosigns.  The verifier
takes its trust from here (:meth:`Authority.trust_anchor`), never from a
bundle alone.  One trust store serves many ledgers (one per origin).

Layout of the directory (``custody authority init DIR``)::

    DIR/
      authority.json              {"format": "custody-authority/v1", "witness_vkey": ..., "created_at": ...}
      witness.key                 the witness's Ed25519 private key (cosignature/v1, 0x04) in a
                                  scrypt + AES-GCM envelope, mode 0600 (ledger.keyfile)
      locks/<key>.lock            one lock file per origin (fcntl.flock), and authority.lock
      logs/<key>/                 one directory per pinned origin; <key> below
        pin.json                  {"format": "custody-pin/v1", "origin", "log_vkey",
                                   "genesis_leaf_hash" (hex), "approver_vkeys", "witness_vkeys",
                                   "contract" (summary shown when pinning), "pinned_at"}
        checkpoints/<size>.checkpoint
                                  every checkpoint the witness cosigned: the checkpoint text, the
                                  log signature(s) that verified and the witness's cosignature
                                  (size zero-padded to 12 digits, as in a bundle)
        latest.json               the witness's state: {"origin", "size", "root_hash" (base64),
                                   "timestamp", "checkpoint" (file name)}; absent until the first
                                  cosignature (size 0)
        cosigned.jsonl            append-only journal, one line per cosignature in the order given:
                                  {"size", "root_hash", "timestamp"}
        evidence/                 refused requests that the log signed and that show a fork
                                  (the spec lets a witness keep them as proof of misbehaviour)

``<key>`` is the origin made safe as one file name on every file system: its
lowercased letters, digits, dots and hyphens (anything else becomes ``_``,
at most 60 characters), a hyphen, and the first 16 hex digits of SHA-256 of
the origin's UTF-8 bytes (so that case-insensitive file systems and
look-alike origins never collide).  ``pin.json`` holds the exact origin and
is checked on every read.

Every write is atomic (a temporary file in the same directory, fsync,
rename, fsync of the directory).  Every change for an origin -- pinning,
and the witness's read-check-persist cycle -- runs under that origin's
exclusive ``flock``, which excludes other processes and other threads alike
(each acquisition opens the lock file anew; the lock is re-entrant within a
thread).  So concurrent witness requests never lose an update or fork the
state: the spec's atomicity rule (tlog-witness, add-checkpoint).

A cosignature is recorded in three writes: the checkpoint file, ``latest.json``,
the journal line.  A witness killed between two of them, or inside an atomic
write, leaves what :meth:`Authority.recover` cleans up when the next one
starts (docs/spec.md §11.1).  The verifier reads all three copies and every
disagreement between them (:meth:`Authority.witness_record`,
``verify.witness_record``; docs/spec.md §11.3).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger.bundle import checkpoint_name
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosignatures_by
from custody.ledger.dirsync import fsync_directory
from custody.ledger.entry import ZERO_HASH, Entry, parse_entry, verify_entry_signature
from custody.ledger.errors import (
    CustodyError,
    FormatError,
    KeyFileError,
    RuleRefusal,
    SignatureError,
    StoreCorruptError,
    StoreError,
    VerificationError,
)
from custody.ledger.i18n import _
from custody.ledger.keyenvelope import DEFAULT_N
from custody.ledger.keyfile import key_file_info, read_key_file, write_key_file
from custody.ledger.note import ALG_COSIGNATURE_V1, ALG_ED25519, Signer, Verifier, open_note, parse_note
from custody.ledger.quoting import quote
from custody.ledger.registry import GENESIS
from custody.verify.trust import RecordedHead, TrustAnchor
from custody.verify.witness import Decision, LogState, WitnessHead, decide, parse_request
from custody.verify.witness_record import RecordCheck, cross_check, journal_gap, parse_journal, parse_latest

__all__ = [
    "AUTHORITY_FILE",
    "Authority",
    "CosignedHead",
    "NotPinnedError",
    "Pin",
    "Recovery",
    "origin_key",
]

AUTHORITY_FILE: Final = "authority.json"
AUTHORITY_FORMAT: Final = "custody-authority/v1"
PIN_FORMAT: Final = "custody-pin/v1"
WITNESS_KEY_FILE: Final = "witness.key"
_LOGS = "logs"
_LOCKS = "locks"
_PIN = "pin.json"
_LATEST = "latest.json"
_JOURNAL = "cosigned.jsonl"
_EVIDENCE = "evidence"
_MAX_JSON = 1 << 20
_SLUG = re.compile(r"[^a-z0-9.-]+")


class NotPinnedError(VerificationError):
    """The trust store holds no pin for an origin (exit 3: nothing can be verified against it)."""


def origin_key(origin: str) -> str:
    """The directory name for ``origin`` (see the module docstring)."""
    slug = _SLUG.sub("_", origin.lower()).strip("._-")[:60] or "log"
    digest = hashlib.sha256(origin.encode("utf-8")).hexdigest()[:16]
    return f"{slug}-{digest}"


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- atomic files ---------------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` whole or not at all: temp file, fsync, rename, fsync the directory."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StoreError(
            _("Cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise StoreError(
                _("Cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)
            ) from None
        raise
    fsync_directory(path.parent)


def _append_line(path: Path, line: str) -> None:
    try:
        with path.open("ab") as fh:
            fh.write(line.encode("utf-8") + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise StoreError(_("Cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)) from None


def _read_optional(path: Path) -> bytes | None:
    """A file of the store whole, None if it does not exist (StoreError if it cannot be read)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(_("Cannot read {path}: {why}").format(path=path, why=exc.strerror or exc)) from None


# The temporary names _atomic_write gives (tempfile.mkstemp: ".<name>." + 8 characters + ".tmp"), by folder.
_MKSTEMP = r"\.[a-z0-9_]{8}\.tmp"
_TEMP: Final = {
    "": re.compile(r"\.authority\.json" + _MKSTEMP),
    "log": re.compile(r"\.(?:pin|latest)\.json" + _MKSTEMP),
    "checkpoints": re.compile(r"\.\d{12}\.checkpoint" + _MKSTEMP),
    "evidence": re.compile(r"\.\d{20}-\d{3}-[0-9a-f]{16}\.request" + _MKSTEMP),
}


def _remove_temp(directory: Path, pattern: re.Pattern[str]) -> int:
    """Remove the regular files in ``directory`` whose whole name matches ``pattern``; how many."""
    removed = 0
    try:
        names = [entry.name for entry in os.scandir(directory)
                 if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return 0
    except OSError as exc:
        raise StoreError(_("Cannot read {path}: {why}").format(path=directory, why=exc.strerror or exc)) from None
    for name in names:
        try:
            os.unlink(directory / name)
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StoreError(_("Cannot remove {path}: {why}").format(path=directory / name,
                                                                    why=exc.strerror or exc)) from None
    if removed:
        fsync_directory(directory)
    return removed


def _latest_doc(origin: str, head: RecordedHead) -> dict[str, Any]:
    return {
        "origin": origin,
        "size": head.size,
        "root_hash": _b64(head.root_hash),
        "timestamp": head.timestamp,
        "checkpoint": Path(checkpoint_name(head.size)).name,
    }


def _journal_line(head: RecordedHead) -> str:
    return json.dumps({"size": head.size, "root_hash": _b64(head.root_hash), "timestamp": head.timestamp},
                      sort_keys=True)


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _not_json(constant: str) -> None:
    raise ValueError(constant)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_JSON + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StoreError(_("Cannot read {path}: {why}").format(path=path, why=exc.strerror or exc)) from None
    try:
        # NaN and Infinity are not JSON (RFC 8259 §6); Python's reader accepts them unless told not to.
        value = json.loads(data.decode("utf-8"), parse_constant=_not_json) if len(data) <= _MAX_JSON else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise StoreCorruptError(
            _("{path} is damaged (not a JSON object).").format(path=path),
            hint=_("Restore the trust store from its backup."),
        )
    return value


def _require(condition: bool, what: str) -> None:
    """Raise ValueError(what) unless ``condition``: for parsers that map it to one store error."""
    if not condition:
        raise ValueError(what)


def _mkdir(path: Path, mode: int = 0o755) -> None:
    try:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(_("Cannot create {path}: {why}").format(path=path, why=exc.strerror or exc)) from None


# --- pins -----------------------------------------------------------------------------------------


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    """What the municipality is shown (and keeps) of the contract when pinning."""

    def sub(name: str, *keys: str) -> dict[str, Any]:
        value = body.get(name)
        table = value if isinstance(value, dict) else {}
        return {k: table[k] for k in keys if k in table}

    attesters = body.get("attester_vkeys")
    extra = {"attester_vkeys": attesters} if isinstance(attesters, dict) else {}  # docs/spec.md §9.6
    return {
        **extra,
        "contract_id": body.get("contract_id"),
        "title": body.get("title"),
        "municipality": sub("municipality", "name", "department"),
        "vendor": sub("vendor", "name", "address"),
        "period": sub("period", "start", "end"),
        "responsible": sub("responsible", "name", "organisation", "title", "vkey"),
        "my_number": body.get("my_number"),
        "permits": body.get("permits"),
        "work_locations": [
            {k: loc.get(k) for k in ("id", "name")} for loc in body.get("work_locations", []) if isinstance(loc, dict)
        ],
    }


def _vkey_list(value: Any, alg: int, what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise FormatError(_("the genesis entry has no list of {what}").format(what=what))
    out: list[str] = []
    for item in value:
        verifier = Verifier.from_vkey(str(item))
        if verifier.alg != alg:
            raise FormatError(_("the genesis entry lists {name} among the {what} with the wrong key type").format(
                name=verifier.name, what=what))
        out.append(verifier.vkey)
    return tuple(out)


@dataclass(frozen=True)
class Pin:
    """What the municipality pinned for one ledger."""

    origin: str
    log_vkey: str
    genesis_leaf_hash: bytes
    approver_vkeys: tuple[str, ...]
    witness_vkeys: tuple[str, ...]
    contract: dict[str, Any] = field(default_factory=dict, compare=False)
    pinned_at: str = field(default="", compare=False)

    def same_trust(self, other: Pin) -> bool:
        """Whether two pins trust the same things (the contract summary and time aside)."""
        return (
            self.origin == other.origin
            and self.log_vkey == other.log_vkey
            and self.genesis_leaf_hash == other.genesis_leaf_hash
            and set(self.approver_vkeys) == set(other.approver_vkeys)
            and set(self.witness_vkeys) == set(other.witness_vkeys)
        )

    @classmethod
    def from_genesis(cls, leaf: bytes, *, log_vkey: str | None = None, pinned_at: str = "") -> Pin:
        """Build a pin from the genesis entry's leaf bytes (the first line of entries.jsonl).

        Checks that it is a ``contract.opened`` entry at seq 0 with a zero
        ``prev``, signed by the responsible person's key that it names, and
        that it names the log key (equal to ``log_vkey`` when given, which
        comes from the ledger or bundle).  VerificationError otherwise.
        """
        try:
            entry = parse_entry(leaf)
        except FormatError as exc:
            raise VerificationError(_("the genesis entry is malformed: {why}").format(why=exc.message)) from None
        return cls.from_entry(entry, log_vkey=log_vkey, pinned_at=pinned_at)

    @classmethod
    def from_entry(cls, entry: Entry, *, log_vkey: str | None = None, pinned_at: str = "") -> Pin:
        if entry.type != GENESIS or entry.seq != 0 or entry.prev != ZERO_HASH:
            raise VerificationError(
                _("the first entry is not a genesis entry (contract.opened at seq 0)"),
                hint=_("Give the ledger's first entry, the bundle or the ledger directory."),
            )
        body = entry.body
        try:
            responsible = body.get("responsible")
            vkey = responsible.get("vkey") if isinstance(responsible, dict) else None
            verify_entry_signature(entry, Verifier.from_vkey(str(vkey)))
            declared_log = Verifier.from_vkey(str(body.get("log_vkey")))
            approvers = _vkey_list(body.get("approver_vkeys"), ALG_ED25519, _("approver keys"))
            witnesses = _vkey_list(body.get("witness_vkeys"), ALG_COSIGNATURE_V1, _("witness keys"))
        except (SignatureError, FormatError) as exc:
            raise VerificationError(
                _("the genesis entry does not check out: {why}").format(why=exc.message)
            ) from None
        if declared_log.alg != ALG_ED25519 or declared_log.name != entry.origin:
            raise VerificationError(_("the genesis entry's log key is not an Ed25519 key named after the origin"))
        try:
            given_log = None if log_vkey is None else Verifier.from_vkey(log_vkey).vkey
        except FormatError:
            given_log = log_vkey
        if given_log is not None and given_log != declared_log.vkey:
            raise VerificationError(
                _("the log key {given} differs from the one in the genesis entry ({declared})").format(
                    given=log_vkey, declared=declared_log.vkey),
            )
        return cls(
            origin=entry.origin,
            log_vkey=declared_log.vkey,
            genesis_leaf_hash=entry.leaf_hash,
            approver_vkeys=approvers,
            witness_vkeys=witnesses,
            contract=_summary(body),
            pinned_at=pinned_at,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PIN_FORMAT,
            "origin": self.origin,
            "log_vkey": self.log_vkey,
            "genesis_leaf_hash": self.genesis_leaf_hash.hex(),
            "approver_vkeys": list(self.approver_vkeys),
            "witness_vkeys": list(self.witness_vkeys),
            "contract": self.contract,
            "pinned_at": self.pinned_at,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: Path) -> Pin:
        try:
            _require(doc.get("format") == PIN_FORMAT, "format")
            genesis = bytes.fromhex(str(doc["genesis_leaf_hash"]))
            _require(len(genesis) == 32, "genesis_leaf_hash")
            pin = cls(
                origin=str(doc["origin"]),
                log_vkey=Verifier.from_vkey(str(doc["log_vkey"])).vkey,
                genesis_leaf_hash=genesis,
                approver_vkeys=tuple(Verifier.from_vkey(str(v)).vkey for v in doc["approver_vkeys"]),
                witness_vkeys=tuple(Verifier.from_vkey(str(v)).vkey for v in doc["witness_vkeys"]),
                contract=dict(doc.get("contract") or {}),
                pinned_at=str(doc.get("pinned_at", "")),
            )
        except (KeyError, TypeError, ValueError, CustodyError):
            raise StoreCorruptError(
                _("{path} is damaged or not a custody pin.").format(path=where),
                hint=_("Restore the trust store from its backup."),
            ) from None
        return pin


@dataclass(frozen=True)
class Recovery:
    """What :meth:`Authority.recover` did: temporary files removed, origins whose record it completed."""

    removed: int
    completed: tuple[str, ...]


@dataclass(frozen=True)
class CosignedHead:
    """The latest checkpoint the witness cosigned for an origin."""

    origin: str
    size: int
    root_hash: bytes
    timestamp: int
    note: bytes


# --- the trust store ------------------------------------------------------------------------------


class Authority:
    """A municipality's trust store directory (see the module docstring)."""

    def __init__(self, path: Path, witness_vkey: str) -> None:
        self.path = path
        self.witness_vkey = witness_vkey
        self._local = threading.local()

    # --- creating and opening ---

    @classmethod
    def create(
        cls,
        path: Path,
        witness_name: str,
        passphrase: bytes,
        *,
        private_key: Ed25519PrivateKey | None = None,
        kdf_n: int = DEFAULT_N,
    ) -> Authority:
        """Create a trust store with a new witness key; refuse a non-empty directory."""
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise StoreError(
                _("{path} already exists and is not an empty directory; nothing was created.").format(path=path),
                hint=_("Choose a new directory for the trust store."),
            )
        key = private_key or Ed25519PrivateKey.generate()
        signer = Signer(witness_name, key, alg=ALG_COSIGNATURE_V1)
        _mkdir(path, 0o700)
        for sub in (_LOGS, _LOCKS):
            _mkdir(path / sub)
        write_key_file(path / WITNESS_KEY_FILE, witness_name, key, passphrase, n=kdf_n)
        vkey = signer.verifier().vkey
        _atomic_write(
            path / AUTHORITY_FILE,
            _json_bytes({"format": AUTHORITY_FORMAT, "witness_vkey": vkey, "created_at": _now()}),
        )
        return cls(path, vkey)

    @classmethod
    def open(cls, path: Path) -> Authority:
        """Open an existing trust store; StoreError if ``path`` is not one."""
        marker = path / AUTHORITY_FILE
        not_a_store = StoreError(
            _("{path} is not a municipality trust store (no {file}).").format(path=path, file=AUTHORITY_FILE),
            hint=_("Create one with 'custody authority init DIR', or give the right --authority directory."),
        )
        if not path.is_dir():  # a file given for the directory: the same answer, not "Not a directory"
            raise not_a_store
        try:
            doc = _read_json(marker)
        except FileNotFoundError:
            raise not_a_store from None
        try:
            _require(doc.get("format") == AUTHORITY_FORMAT, "format")
            vkey = Verifier.from_vkey(str(doc["witness_vkey"]))
            _require(vkey.alg == ALG_COSIGNATURE_V1, "alg")
        except (KeyError, ValueError, CustodyError):
            raise StoreCorruptError(
                _("{path} is damaged or not a custody trust store.").format(path=marker),
                hint=_("Restore the trust store from its backup."),
            ) from None
        return cls(path, vkey.vkey)

    # --- the witness key ---

    def witness_verifier(self) -> Verifier:
        return Verifier.from_vkey(self.witness_vkey)

    def witness_signer(self, passphrase: bytes) -> Signer:
        """Open the witness key (cosignature/v1); KeyFileError / PassphraseError."""
        name, key = read_key_file(self.path / WITNESS_KEY_FILE, passphrase)
        signer = Signer(name, key, alg=ALG_COSIGNATURE_V1)
        if signer.verifier().vkey != self.witness_vkey:
            raise KeyFileError(
                _("{path} does not hold the witness key named in {file}.").format(
                    path=self.path / WITNESS_KEY_FILE, file=AUTHORITY_FILE),
            )
        return signer

    def witness_key_name(self) -> str:
        name, _public = key_file_info(self.path / WITNESS_KEY_FILE)
        return name

    # --- locking ---

    @contextlib.contextmanager
    def lock(self, origin: str | None = None) -> Iterator[None]:
        """Hold the exclusive lock of ``origin`` (None: the whole store's lock).

        ``flock`` on a freshly opened file: excludes other processes and
        other threads of this one; re-entrant within a thread.
        """
        with self._locked((origin_key(origin) if origin is not None else "authority") + ".lock") as got:
            assert got
            yield

    @contextlib.contextmanager
    def _locked(self, name: str, *, wait: bool = True) -> Iterator[bool]:
        """Hold ``locks/<name>``; with ``wait=False`` yield False at once if another holder has it."""
        held: dict[str, int] = self._local.__dict__.setdefault("held", {})
        if held.get(name):
            held[name] += 1
            try:
                yield True
            finally:
                held[name] -= 1
            return
        _mkdir(self.path / _LOCKS)
        try:
            fd = os.open(self.path / _LOCKS / name, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise StoreError(
                _("Cannot lock the trust store {path}: {why}").format(path=self.path, why=exc.strerror or exc)
            ) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            held[name] = 1
            try:
                yield True
            finally:
                held.pop(name, None)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # --- recovery after a crash ---

    def recover(self) -> Recovery:
        """Clean up after a witness that was killed mid-write (at its start: ``custody witness serve|cosign``).

        For each origin whose lock is free (a held lock means a live writer:
        that origin is left alone): remove the temporary files the atomic
        writes leave behind -- only names of this store's own pattern
        (``_TEMP``), only regular files -- and complete the witness's record
        where a kill cut it between its writes (``verify.witness_record``):
        a journal line cut short is dropped, a cosignature whose checkpoint
        file was written but not the state is recorded, a state whose journal
        line is missing gets it.  Nothing else is changed.
        """
        removed = 0
        completed: list[str] = []
        with self._locked("authority.lock", wait=False) as free:
            if free and (self.path / AUTHORITY_FILE).is_file():
                removed += _remove_temp(self.path, _TEMP[""])
        logs = self.path / _LOGS
        try:
            directories = sorted(p for p in logs.iterdir() if p.is_dir() and not p.is_symlink())
        except FileNotFoundError:
            directories = []
        except OSError as exc:
            raise StoreError(_("Cannot read {path}: {why}").format(path=logs, why=exc.strerror or exc)) from None
        for directory in directories:
            with self._locked(directory.name + ".lock", wait=False) as free:
                if not free:
                    continue
                removed += _remove_temp(directory, _TEMP["log"])
                removed += _remove_temp(directory / "checkpoints", _TEMP["checkpoints"])
                removed += _remove_temp(directory / _EVIDENCE, _TEMP["evidence"])
                if not (directory / _PIN).is_file():
                    continue
                try:
                    origin = Pin.from_json(_read_json(directory / _PIN), directory / _PIN).origin
                except StoreCorruptError:
                    continue  # a damaged pin is reported when its origin is used, not guessed at here
                if directory.name == origin_key(origin) and self._complete_record(origin):
                    completed.append(origin)
        return Recovery(removed, tuple(completed))

    def _complete_record(self, origin: str) -> bool:
        """Finish a record that a kill cut between its writes (see ``recover``); True if it changed anything."""
        directory = self._dir(origin)
        journal_path = directory / _JOURNAL
        changed = False
        data = _read_optional(journal_path)
        if data and not data.endswith(b"\n"):
            # The last line was cut short: the cosignature it was recording is completed below, from the state.
            keep = data[: data.rfind(b"\n") + 1]
            try:
                with journal_path.open("r+b") as fh:
                    fh.truncate(len(keep))
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                raise StoreError(_("Cannot write {path}: {why}").format(path=journal_path, why=exc.strerror or exc)) \
                    from None
            data, changed = keep, True
        journal, _damaged, _torn = parse_journal(data or b"")
        pin = self.get_pin(origin)
        log, witness = Verifier.from_vkey(pin.log_vkey), self.witness_verifier()
        kept = dict(self.cosigned_checkpoints(origin))
        latest_data = _read_optional(directory / _LATEST)
        try:
            state = None if latest_data is None else parse_latest(latest_data, origin).head
        except ValueError:
            return changed  # a damaged state is not a crash's doing: left for a person (the verifier reports it)
        beyond = [size for size in kept if size > (0 if state is None else state.size)]
        if len(beyond) == 1 and (state is not None or not journal):
            # The checkpoint file was written, the state not: the witness had decided; record it now.
            note = kept[beyond[0]]
            try:
                parsed, _ok = open_note(note, [log])
                checkpoint = Checkpoint.parse(parsed.text)
                stamps = cosignatures_by(parsed, [witness])
            except CustodyError:
                return changed
            if checkpoint.origin != origin or checkpoint.size != beyond[0] or not stamps:
                return changed
            state = RecordedHead(checkpoint.size, checkpoint.root_hash, max(stamps.values()))
            _atomic_write(directory / _LATEST, _json_bytes(_latest_doc(origin, state)))
            changed = True
        if state is not None:
            roots = {}
            for size, note in kept.items():
                with contextlib.suppress(CustodyError):
                    roots[size] = Checkpoint.parse(parse_note(note).text).root_hash
            if journal_gap(state, journal, roots):
                _append_line(journal_path, _journal_line(state))
                changed = True
        return changed

    # --- pins ---

    def _dir(self, origin: str) -> Path:
        return self.path / _LOGS / origin_key(origin)

    def origins(self) -> list[str]:
        """Every pinned origin, sorted."""
        out = []
        logs = self.path / _LOGS
        if not logs.is_dir():
            return []
        for sub in sorted(logs.iterdir()):
            pin_path = sub / _PIN
            if pin_path.is_file():
                out.append(Pin.from_json(_read_json(pin_path), pin_path).origin)
        return sorted(out)

    def is_pinned(self, origin: str) -> bool:
        return (self._dir(origin) / _PIN).is_file()

    def get_pin(self, origin: str) -> Pin:
        """The pin for ``origin``; NotPinnedError, with what to do, if there is none."""
        pin_path = self._dir(origin) / _PIN
        try:
            doc = _read_json(pin_path)
        except FileNotFoundError:
            known = self.origins()
            raise NotPinnedError(
                _("The trust store {path} has not pinned the origin {origin}.").format(path=self.path,
                                                                                     origin=quote(origin)),
                hint=_(
                    "Pin the contract first: custody authority trust --authority {path} --bundle BUNDLE "
                    "(or --ledger / --genesis). Pinned origins: {known}"
                ).format(path=self.path, known=", ".join(known) or _("no origin is pinned yet")),
            ) from None
        pin = Pin.from_json(doc, pin_path)
        if pin.origin != origin:
            raise StoreCorruptError(
                _("{path} holds the pin of {other}, not {origin}.").format(path=pin_path, other=quote(pin.origin),
                                                                           origin=quote(origin)),
                hint=_("Restore the trust store from its backup."),
            )
        return pin

    def pin(self, pin: Pin) -> bool:
        """Store ``pin``; True if new, False if the same pin was already there.

        A different pin for an already pinned origin (other log key, genesis
        or keys) is refused (exit 6): the municipality never re-pins
        silently, since that is how a rebuilt history would be accepted.
        """
        if not pin.pinned_at:
            pin = Pin(pin.origin, pin.log_vkey, pin.genesis_leaf_hash, pin.approver_vkeys, pin.witness_vkeys,
                      pin.contract, _now())
        with self.lock(pin.origin):
            directory = self._dir(pin.origin)
            if (directory / _PIN).is_file():
                existing = self.get_pin(pin.origin)
                if existing.same_trust(pin):
                    return False
                raise RuleRefusal(
                    "I5",
                    _("The origin {origin} is already pinned with another log key, genesis entry or keys.").format(
                        origin=pin.origin),
                    missing=_("pinned genesis {old}, offered {new}").format(
                        old=existing.genesis_leaf_hash.hex(), new=pin.genesis_leaf_hash.hex()),
                    todo=_(
                        "Nothing was changed. If the vendor rebuilt the ledger, treat it as an incident; "
                        "a new contract needs a new origin."
                    ),
                )
            _mkdir(directory / "checkpoints")
            _atomic_write(directory / _PIN, _json_bytes(pin.to_json()))
            return True

    def trust_anchor(self, origin: str) -> TrustAnchor:
        """What the verifier trusts for ``origin``: the pin, every checkpoint cosigned here, and the
        witness's own record of what it cosigned with any disagreement in it (docs/spec.md §11.3)."""
        pin = self.get_pin(origin)
        witnesses = list(pin.witness_vkeys)
        if self.witness_vkey not in witnesses:
            witnesses.append(self.witness_vkey)
        record = self.witness_record(origin)
        return TrustAnchor(
            origin=pin.origin,
            log_vkey=pin.log_vkey,
            genesis_leaf_hash=pin.genesis_leaf_hash,
            approver_vkeys=pin.approver_vkeys,
            witness_vkeys=tuple(witnesses),
            held_checkpoints=tuple(note for _size, note in self.cosigned_checkpoints(origin)),
            pinned=True,
            recorded_heads=record.heads,
            record_problems=record.problems,
        )

    # --- the witness's state ---

    def cosigned_checkpoints(self, origin: str) -> list[tuple[int, bytes]]:
        """Every checkpoint cosigned for ``origin``: (size, note), by size."""
        directory = self._dir(origin) / "checkpoints"
        out: list[tuple[int, bytes]] = []
        if not directory.is_dir():
            return out
        for path in directory.glob("*.checkpoint"):
            if not path.stem.isdigit():
                continue
            try:
                out.append((int(path.stem), path.read_bytes()))
            except OSError as exc:
                raise StoreError(
                    _("Cannot read {path}: {why}").format(path=path, why=exc.strerror or exc)
                ) from None
        return sorted(out)

    def latest(self, origin: str) -> CosignedHead | None:
        """The latest checkpoint cosigned for ``origin``; None before the first (size 0)."""
        self.get_pin(origin)
        directory = self._dir(origin)
        path = directory / _LATEST
        try:
            doc = _read_json(path)
        except FileNotFoundError:
            if self.cosigned_checkpoints(origin):
                raise StoreCorruptError(
                    _("{path} is missing although checkpoints were cosigned for {origin}.").format(
                        path=path, origin=origin),
                    hint=_("Restore the trust store from its backup; the witness refuses to guess its state."),
                ) from None
            return None
        try:
            size = int(doc["size"])
            root = base64.b64decode(str(doc["root_hash"]), validate=True)
            timestamp = int(doc["timestamp"])
            note = (directory / "checkpoints" / Path(str(doc["checkpoint"])).name).read_bytes()
            checkpoint = Checkpoint.parse(parse_note(note).text)
            _require(doc.get("origin") == origin and checkpoint.origin == origin, "origin")
            _require(checkpoint.size == size and checkpoint.root_hash == root, "size or root")
        except (KeyError, TypeError, ValueError, OverflowError, OSError, CustodyError):
            raise StoreCorruptError(
                _("The witness state {path} is damaged or does not match its checkpoint.").format(path=path),
                hint=_("Restore the trust store from its backup; the witness refuses to guess its state."),
            ) from None
        return CosignedHead(origin, size, root, timestamp, note)

    def log_state(self, origin: str) -> LogState | None:
        """The witness logic's view of ``origin``; None if it is not pinned."""
        if not self.is_pinned(origin):
            return None
        pin = self.get_pin(origin)
        head = self.latest(origin)
        return LogState(
            origin=origin,
            log_verifiers=(Verifier.from_vkey(pin.log_vkey),),
            latest=None if head is None else WitnessHead(head.size, head.root_hash),
            genesis_leaf_hash=pin.genesis_leaf_hash,
        )

    def record_cosigned(self, origin: str, note: bytes) -> CosignedHead:
        """Persist a checkpoint this witness cosigned as the origin's latest.

        Checks what can be checked without a proof: the pinned log key signed
        it, this witness's key cosigned it, and it is neither smaller than
        the latest nor another root at the same size (StoreError otherwise;
        nothing is written).  Consistency with the previous state is the
        witness logic's job: call this inside ``with authority.lock(origin)``
        after ``verify.witness.decide`` said 200, as ``add_checkpoint`` does.
        Order: the checkpoint file, then ``latest.json``, then the journal.
        """
        pin = self.get_pin(origin)
        try:
            parsed, _ok = open_note(note, [Verifier.from_vkey(pin.log_vkey)])
            checkpoint = Checkpoint.parse(parsed.text)
            stamps = cosignatures_by(parsed, [self.witness_verifier()])
        except (FormatError, SignatureError) as exc:
            raise StoreError(
                _("Refusing to record a checkpoint that does not verify: {why}").format(why=exc.message)
            ) from None
        if checkpoint.origin != origin or not stamps:
            raise StoreError(_("Refusing to record a checkpoint that this witness did not cosign for {origin}.").format(
                origin=origin))
        timestamp = max(stamps.values())
        with self.lock(origin):
            head = self.latest(origin)
            if head is not None and (
                checkpoint.size < head.size or (checkpoint.size == head.size and checkpoint.root_hash != head.root_hash)
            ):
                raise StoreError(
                    _("Refusing to record size {size}: the witness already cosigned size {latest}.").format(
                        size=checkpoint.size, latest=head.size)
                )
            directory = self._dir(origin)
            _mkdir(directory / "checkpoints")
            name = Path(checkpoint_name(checkpoint.size)).name
            recorded = RecordedHead(checkpoint.size, checkpoint.root_hash, timestamp)
            _atomic_write(directory / "checkpoints" / name, note)
            _atomic_write(directory / _LATEST, _json_bytes(_latest_doc(origin, recorded)))
            _append_line(directory / _JOURNAL, _journal_line(recorded))
        return CosignedHead(origin, checkpoint.size, checkpoint.root_hash, timestamp, note)

    def journal(self, origin: str) -> list[dict[str, Any]]:
        """The cosignature journal of ``origin``, in the order the cosignatures were made (damaged lines skipped)."""
        heads, _damaged, _torn = parse_journal(_read_optional(self._dir(origin) / _JOURNAL) or b"")
        return [{"size": h.size, "root_hash": _b64(h.root_hash), "timestamp": h.timestamp} for h in heads]

    def witness_record(self, origin: str) -> RecordCheck:
        """The witness's record for ``origin`` (latest.json, the journal, the kept checkpoints), cross-checked.

        Never refuses a damaged record: every disagreement is in
        ``RecordCheck.problems``, for the verifier to report.
        """
        pin = self.get_pin(origin)
        directory = self._dir(origin)
        kept = [(Path(checkpoint_name(size)).name, note) for size, note in self.cosigned_checkpoints(origin)]
        return cross_check(
            _read_optional(directory / _LATEST), _read_optional(directory / _JOURNAL), kept,
            origin=origin, log=Verifier.from_vkey(pin.log_vkey), witness=[self.witness_verifier()],
        )

    def evidence(self, origin: str) -> list[Path]:
        """Refused requests kept as evidence of a fork, oldest first."""
        directory = self._dir(origin) / _EVIDENCE
        return sorted(directory.glob("*.request")) if directory.is_dir() else []

    def _keep_evidence(self, origin: str, decision: Decision, body: bytes, timestamp: int) -> None:
        directory = self._dir(origin) / _EVIDENCE
        _mkdir(directory)
        digest = hashlib.sha256(body).hexdigest()[:16]
        _atomic_write(directory / f"{timestamp:020d}-{decision.status}-{digest}.request", body)

    # --- the witness ---

    def add_checkpoint(self, body: bytes, signer: Signer, timestamp: int) -> Decision:
        """Decide one add-checkpoint request and persist the result atomically.

        Under the origin's lock: read the state, decide (verify.witness),
        and on 200 record the cosigned checkpoint; only then return.  A
        refused request that shows a fork is kept under ``evidence/``.
        """
        if signer.verifier().vkey != self.witness_vkey:
            raise KeyFileError(_("The witness key does not belong to this trust store."))
        parsed = parse_request(body)
        if isinstance(parsed, Decision):
            return parsed
        origin = parsed.checkpoint.origin
        if not self.is_pinned(origin):
            return decide(parsed, None, signer, timestamp)
        with self.lock(origin):
            decision = decide(parsed, self.log_state(origin), signer, timestamp)
            if decision.ok and decision.note is not None:
                self.record_cosigned(origin, decision.note)
            elif decision.evidence:
                self._keep_evidence(origin, decision, body, timestamp)
        return decision
