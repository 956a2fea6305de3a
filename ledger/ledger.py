"""A ledger: a directory with its settings, store and log key.

This is the layer the CLI and the agent call to append signed entries and
sign checkpoints.  It owns the clock (entries' ``at``) and the automatic
checkpoint policy; rule checks run inside the append transaction through the
``precheck`` hook so that no other process can change the state between the
check and the write.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from custody.ledger.config import LedgerConfig, LedgerPaths
from custody.ledger.contract import parse_contract
from custody.ledger.entry import Entry, sign_entry
from custody.ledger.errors import CheckpointPendingError, CustodyError, OutputError, StoreError
from custody.ledger.i18n import _
from custody.ledger.note import Signer, Verifier, add_signatures, open_note, parse_note, sign_note
from custody.ledger.registry import GENESIS
from custody.ledger.store import AfterInsert, Head, Store
from custody.ledger.timefmt import Clock, format_at, parse_at, system_clock

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

Precheck = Callable[[Store, int], None]
LogSignerOpener = Callable[[], Signer | None]  # opens the log key when a checkpoint is due (None: no key)


class CheckpointInfo(NamedTuple):
    size: int
    note: bytes
    created: bool  # False when the latest checkpoint already covered the head


class Ledger:
    def __init__(self, paths: LedgerPaths, config: LedgerConfig, store: Store, clock: Clock) -> None:
        self.paths = paths
        self.config = config
        self.store = store
        self.clock = clock

    @property
    def origin(self) -> str:
        return self.config.origin

    # --- opening and creating ---

    @classmethod
    def open(cls, root: Path, *, readonly: bool = False, clock: Clock = system_clock) -> Ledger:
        paths = LedgerPaths(root)
        config = paths.load_config()
        store = Store.open(paths.store, readonly=readonly)
        try:
            origin = store.origin  # may fail (an I/O error): the connection must not stay open behind it
        except BaseException:
            store.close()
            raise
        if origin != config.origin:
            store.close()
            raise StoreError(
                _("{path} belongs to {origin!r}, not {expected!r}").format(
                    path=paths.store, origin=origin, expected=config.origin
                )
            )
        return cls(paths, config, store, clock)

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        contract_toml: bytes,
        responsible: Signer,
        log_key: Ed25519PrivateKey,
        log_passphrase: bytes,
        kdf_n: int = 2**17,
        clock: Clock = system_clock,
        config_overrides: dict[str, Any] | None = None,
    ) -> Ledger:
        paths = LedgerPaths(root)
        # Parse the contract first: a bad contract file must leave nothing behind.
        origin, body = parse_contract(contract_toml, responsible_vkey=responsible.verifier().vkey)
        # The log key is named after the origin the contract gives (C2SP checkpoint: key name = origin).
        log_signer = Signer(origin, log_key)
        body["log_vkey"] = log_signer.verifier().vkey
        # The body the verifier will check (docs/spec-events.md, contract.opened): a contract file whose
        # values pass parse_contract but not the schema (a date 2026-02-30, a control character in a name)
        # is refused here, before anything is written, not found later as a genesis entry that fails for good.
        from custody.ledger.events import validate_body  # the schemas load only where a ledger is made

        validate_body(GENESIS, body)
        if any(path.exists() for path in (paths.config, paths.store, paths.log_key, paths.log_vkey)):
            raise StoreError(
                _("{path} already holds a ledger; refusing to overwrite it").format(path=root),
                hint=_("If an earlier 'custody init' of this directory was interrupted, move its files "
                       "(custody.toml, ledger.db*, log.key, log.vkey) away, then run it again."),
            )
        config = LedgerConfig(origin=origin, **(config_overrides or {}))
        # All or nothing: until the genesis entry and the first checkpoint are
        # in, a failure (a full disk, Ctrl-C) removes what this call made, so
        # that running it again just works.  Nothing was acknowledged yet.
        made_root = not root.exists()
        made: list[Path] = []
        store: Store | None = None
        # Only files this call created are removed: each is created exclusively
        # ("x"; the key file with O_EXCL), never one that appeared meanwhile.
        from custody.ledger.keyfile import write_key_file

        try:
            root.mkdir(parents=True, exist_ok=True)
            write_key_file(paths.log_key, origin, log_key, log_passphrase, n=kdf_n)  # removes its own partial
            made.append(paths.log_key)
            with paths.log_vkey.open("x", encoding="utf-8") as fh:
                made.append(paths.log_vkey)
                fh.write(log_signer.verifier().vkey + "\n")
            store_files = [paths.store.with_name(paths.store.name + end) for end in ("", "-wal", "-shm", "-journal")]
            made += [path for path in store_files if not path.exists()]
            store = Store.create(paths.store, origin)
            with paths.config.open("x", encoding="utf-8") as fh:
                made.append(paths.config)
                fh.write(config.to_toml())
            ledger = cls(paths, config, store, clock)
            ledger.append(GENESIS, body, responsible)
            ledger.checkpoint(log_signer)
        except BaseException as exc:
            if store is not None:
                store.close()
            for path in reversed(made):
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            if made_root:
                with contextlib.suppress(OSError):
                    root.rmdir()
            if isinstance(exc, OSError):
                raise OutputError(
                    _("Cannot create the ledger in {path}: {why}").format(path=root, why=exc.strerror or exc),
                    hint=_("Nothing was left behind. Free space on that disk or choose another directory, "
                           "then run 'custody init' again."),
                ) from None
            raise
        return ledger

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- keys ---

    def log_signer(self, passphrase: bytes) -> Signer:
        from custody.ledger.keyfile import read_key_file  # the key file's code: not when the key agent signs

        name, key = read_key_file(self.paths.log_key, passphrase)
        return Signer(name, key)

    def log_verifier(self) -> Verifier:
        return Verifier.from_vkey(self.paths.log_vkey.read_text(encoding="utf-8").strip())

    def genesis(self) -> Entry:
        return self.store.entry(0)

    # --- appending ---

    def append(
        self,
        type: str,  # noqa: A002 - the entry field's name
        body: dict[str, Any],
        signer: Signer,
        *,
        precheck: Precheck | None = None,
        log_signer: Signer | None = None,
        after: AfterInsert | None = None,
    ) -> Entry:
        """Sign and append one entry; durable when this returns.

        ``precheck(store, seq)`` runs under the write lock before signing and
        may raise a RuleRefusal: then nothing is written.  With ``log_signer``
        the automatic checkpoint follows when one is due (``checkpoint_after``).
        """

        origin = self.config.origin

        def make(head: Head) -> Entry:
            if precheck is not None:
                precheck(self.store, head.size)
            at = self.now_after(head)
            return sign_entry(
                origin=origin, seq=head.size, prev=head.last_leaf_hash, type=type, at=at, body=body, signer=signer
            )

        entry = self.store.append_many((make,), after=after)[0]  # Store.append, one call less per append
        if log_signer is not None:
            self.checkpoint_after(entry, log_signer)
        return entry

    def now_after(self, head: Head) -> str:
        """The time to record after ``head``; refuses to run backwards (finding I9).

        Callers that build entries under the write lock themselves (the
        workflow's rule check needs the same ``at``) use this clock too.
        """
        now = self.clock()
        # format_at, inline on every append; format_at itself refuses a time without an offset.
        at = format_at(now) if now.tzinfo is None else now.isoformat(timespec="milliseconds")
        last = head.last_at
        # Two times of one length and one offset (format_at writes every entry's: to the millisecond) are in
        # order when their text is -- RFC 3339's fields are fixed-width, largest first -- and a later text is
        # never an earlier time: the common case, decided without parsing the last one.  Any other pair is
        # compared as times.
        if last is not None and not (len(at) == len(last) and at[-6:] == last[-6:] and at >= last):
            previous = parse_at(last)
            if now < previous:
                raise StoreError(
                    _(
                        "this computer's clock ({now}) is behind the ledger's last entry "
                        "({last}); nothing was written"
                    ).format(now=format_at(now), last=format_at(previous)),
                    hint=_("correct the system clock (NTP), then repeat the command"),
                )
        return at

    # --- checkpoints ---

    def checkpoint_due(self) -> bool:
        latest = self.store.latest_checkpoint()
        size = self.store.size
        if latest is None:
            return size > 0
        last_size, _note = latest
        if size - last_size >= self.config.checkpoint_every_entries:
            return True
        if size == last_size:
            return False
        created = self.store.checkpoint_created(last_size)
        if created is None:
            return True
        return (self.clock() - datetime.fromisoformat(created)).total_seconds() >= (
            self.config.checkpoint_every_minutes * 60
        )

    def checkpoint(self, log_signer: Signer) -> CheckpointInfo:
        """Sign a C2SP checkpoint of the current tree with the log key."""
        if log_signer.name != self.origin:
            raise StoreError(
                _("the log key is named {name!r}, not the origin {origin!r}").format(
                    name=log_signer.name, origin=self.origin
                )
            )
        size = self.store.size
        existing = self.store.checkpoint(size)
        if existing is not None:
            return CheckpointInfo(size, existing, created=False)
        from custody.ledger.checkpoint import Checkpoint  # when one is signed: not on every command's path

        text = Checkpoint(self.origin, size, self.store.root(size)).to_text()
        note = sign_note(text, [log_signer])
        self.store.add_checkpoint(size, note, format_at(self.clock()))
        return CheckpointInfo(size, note, created=True)

    def checkpoint_after(self, entry: Entry, log_signer: Signer | LogSignerOpener | None) -> CheckpointInfo | None:
        """The automatic checkpoint after ``entry`` was committed, if one is due (None: none signed).

        ``log_signer`` may be a function that opens the log key, called only
        when a checkpoint is due (opening it costs a scrypt); None means no log
        key, and no checkpoint.  The entry is durable by now, so any failure
        here -- the store, the key file, its passphrase -- is raised as
        ``CheckpointPendingError``, whose message says that the entry was
        recorded: an error that read as if nothing had happened would have the
        person record it again.
        """
        if log_signer is None:
            return None
        try:
            if not self.checkpoint_due():
                return None
            signer = log_signer if isinstance(log_signer, Signer) else log_signer()
            return None if signer is None else self.checkpoint(signer)
        except CustodyError as exc:
            raise CheckpointPendingError(
                _("entry {seq} was recorded, but the automatic checkpoint after it could not be signed: "
                  "{why}").format(seq=entry.seq, why=exc.message),
                seq=entry.seq,
                hint=_("do not repeat the command; the checkpoint is signed after the next entry, or now with "
                       "'custody checkpoint'"),
            ) from None

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        return self.store.latest_checkpoint()

    def merge_cosignatures(self, note: bytes) -> int:
        """Add cosignatures on one of our checkpoints (the log signature must verify)."""
        from custody.ledger.checkpoint import Checkpoint

        parsed, _ok = open_note(note, [self.log_verifier()])
        size = Checkpoint.parse(parsed.text).size
        ours = self.store.checkpoint(size)
        if ours is None or parse_note(ours).text != parsed.text:
            raise StoreError(_("the ledger holds no checkpoint with this text at size {size}").format(size=size))
        merged = add_signatures(ours, list(parsed.signatures))
        self.store.add_checkpoint(size, merged, format_at(self.clock()))
        return size

