"""The embedded ledger store: one SQLite file per ledger, through apsw.

Durability and concurrency (docs/dependency-notes.md, apsw): WAL with ``synchronous=FULL``
so that an acknowledged append survives power loss; every append is one
``BEGIN IMMEDIATE`` transaction that takes the head, inserts the entry and
the new stored tree hashes, so several processes (CLI and agent) append to
one linear chain.  The head and the tree hashes the next append needs are
kept in memory between appends and read again only when another connection
has committed (``_Tip``): a lone writer's append costs one INSERT.  Tables
are STRICT and triggers refuse UPDATE and DELETE of entries and tree hashes
-- a guard against mistakes, not against an attacker who can write the file:
tamper evidence comes from signatures and the tree.

Tree hashes are kept in Go ``sumdb/tlog`` storage order (``ledger.tlog``), so
roots and proofs cost O(log n) reads.  The stored hashes that appending leaf n
completes (its leaf hash and the internal nodes it closes) form one contiguous
run of that order; they are kept in the entry's own row (``tree``), so that
an append writes exactly one row -- the same footprint as a bare insert.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import apsw

from custody.ledger import tlog
from custody.ledger.entry import ZERO_HASH, Entry, parse_entry
from custody.ledger.errors import (
    CustodyError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
)
from custody.ledger.i18n import _

SCHEMA_VERSION = 1
APPLICATION_ID = 0x43535459  # "CSTY": marks the file as a custody ledger
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE entries(
    seq INTEGER PRIMARY KEY,
    leaf BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    tree BLOB NOT NULL
) STRICT;
CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, note BLOB NOT NULL, created TEXT NOT NULL) STRICT;
CREATE TABLE attachments(sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB NOT NULL) STRICT;
CREATE TABLE state_cache(name TEXT PRIMARY KEY, size INTEGER NOT NULL, state BLOB NOT NULL) STRICT;
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'custody entries are append-only'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'custody entries are append-only'); END;
CREATE TRIGGER attachments_no_update BEFORE UPDATE ON attachments
    BEGIN SELECT RAISE(ABORT, 'custody attachments are immutable'); END;
CREATE TRIGGER attachments_no_delete BEFORE DELETE ON attachments
    BEGIN SELECT RAISE(ABORT, 'custody attachments are immutable'); END;
"""

class Head(NamedTuple):
    """The end of the chain: what the next entry follows.  A NamedTuple: one is made per append."""

    size: int
    last_leaf_hash: bytes  # ZERO_HASH when empty: the genesis entry's ``prev``
    last_at: str | None = None  # the last entry's recorded time


class _Tip(NamedTuple):
    """What the next append needs: the head and the tree's frontier (``tlog.frontier``).

    Valid while ``version`` equals the connection's ``data_version()`` (the
    pager's SQLITE_FCNTL_DATA_VERSION), taken right after this connection's
    own commit.  SQLite changes that number whenever the database changes,
    by this connection or by any other connection or process, so a CLI
    command and the agent appending to one file each notice the other's
    entries and read the head again.  Were a tip ever used after another
    writer's append all the same, the INSERT would collide with that entry's
    ``seq`` (PRIMARY KEY) and fail: the chain cannot fork.  A NamedTuple
    because one is built per append and it is the cheapest immutable record.
    """

    version: int
    head: Head
    frontier: Sequence[bytes]


# What a NamedTuple's own __new__ (a Python function) calls: Head and _Tip are made so on every append.
_new_tuple = tuple.__new__
_LEAF = b"\x00"  # the prefix of a leaf's hash (RFC 9162 §2.1.1, rfc6962.leaf_hash)
_INSERT_ENTRY = "INSERT INTO entries(seq, leaf, leaf_hash, type, at, actor, tree) VALUES(?,?,?,?,?,?,?)"

EntryMaker = Callable[[Head], Entry]
AfterInsert = Callable[[list[Entry]], None]


def _refuse_built(entry: Entry, head: Head) -> NoReturn:
    """A maker returned an entry that does not follow ``head`` (or has no leaf bytes): a bug."""
    raise StoreError(
        _("internal error: entry built for seq {seq}, head is {size}").format(seq=entry.seq, size=head.size)
    )


def _translate(
    exc: apsw.Error, db: apsw.Connection | None = None, *, committing: _Committing | None = None
) -> CustodyError:
    """Map SQLite failures onto the store's errors (exit 4).

    ``db``, where known, tells a full disk apart from other I/O errors: SQLite
    reports ENOSPC as SQLITE_FULL when writing the database or the WAL, but
    as a plain I/O error when it cannot grow the WAL index (``-shm``).

    ``committing``: the error came from COMMIT.  A full disk (SQLITE_FULL: a
    WAL frame could not be written) or a lock there leaves nothing behind, but
    any other I/O error may come after the commit's frames reached the WAL --
    a failed fsync, or growing the WAL index once they are synced.  SQLite then
    calls the transaction rolled back, yet the next connection to recover the
    WAL (after a crash, or when this one could not checkpoint it) finds it
    committed.  Saying "nothing was written" there would be false, and a person
    who repeats the command would record it twice; the message says that it is
    not certain and how to find out (docs/dependency-notes.md, apsw).
    """
    exc = _first_error(exc)
    why = _why(exc)
    full = isinstance(exc, apsw.FullError) or (isinstance(exc, apsw.IOError) and _system_errno(db) == errno.ENOSPC)
    if committing is not None and isinstance(exc, apsw.IOError):
        return committing.uncertain(why, full=full)
    if full:
        return StoreFullError(
            _("the ledger's disk is full; nothing was written"),
            hint=_("free disk space, then repeat the command"),
        )
    if isinstance(exc, apsw.BusyError | apsw.LockedError):
        return StoreBusyError(
            _("the ledger stayed locked by another process for too long; nothing was written"),
            hint=_("wait for the other custody command or agent to finish, then repeat"),
        )
    if isinstance(exc, apsw.NotADBError | apsw.CorruptError):
        return StoreCorruptError(_("the ledger file is not a custody database or is damaged ({why})").format(why=why))
    if isinstance(exc, apsw.CantOpenError):
        return StoreError(_("cannot open the ledger file ({why})").format(why=why))
    if isinstance(exc, apsw.ReadOnlyError):
        return StoreError(_("the ledger file is read-only; nothing was written"))
    if isinstance(exc, apsw.IOError):
        return StoreError(
            _("I/O error on the ledger file ({why}); nothing was written").format(why=why),
            hint=_("check the disk (the system log names the device's errors), then repeat the command"),
        )
    return StoreError(_("ledger store error: {why}").format(why=why))


class _Committing(NamedTuple):
    """What a COMMIT was making durable, for the message when its outcome is uncertain (``_translate``)."""

    first: int | None = None  # the first entry's seq; None: not entries (a checkpoint, an attachment, the cache)
    entries: int = 0  # how many

    def uncertain(self, why: str, *, full: bool) -> StoreError:
        if self.first is None:
            if full:
                message = _("the ledger's disk filled up while saving; it is not certain whether the change was saved")
                hint = _("free disk space, then repeat the command: saving the same again does no harm")
            else:
                message = _("I/O error on the ledger file while saving ({why}); it is not certain whether the change "
                            "was saved").format(why=why)
                hint = _("check the disk, then repeat the command: saving the same again does no harm")
        else:
            last = self.first + self.entries - 1
            seq = str(self.first) if last == self.first else f"{self.first}-{last}"
            if full:
                message = _("the ledger's disk filled up while committing; it is not certain whether entry {seq} "
                            "was recorded").format(seq=seq)
                hint = _("free disk space; before repeating the command, see whether the entry is in the ledger: "
                         "'custody status' reports {count} entries if it was recorded").format(count=last + 1)
            else:
                message = _("I/O error on the ledger file while committing ({why}); it is not certain whether entry "
                            "{seq} was recorded").format(why=why, seq=seq)
                hint = _("check the disk; before repeating the command, see whether the entry is in the ledger: "
                         "'custody status' reports {count} entries if it was recorded").format(count=last + 1)
        error = (StoreFullError if full else StoreError)(message, hint=hint)
        error.uncertain = True
        return error


def _why(exc: apsw.Error) -> str:
    """SQLite's own words for the error (the exception's name when it gave none: an error a VFS raised)."""
    return str(exc).strip() or type(exc).__name__


def _first_error(exc: apsw.Error) -> apsw.Error:
    """The SQLite error that started it all.

    A rollback after a failed statement can fail in turn ("cannot rollback -
    no transaction is active", when SQLite already rolled back on a full
    disk); that second error says nothing to a person, the first one does.
    """
    while isinstance(exc.__context__, apsw.Error):
        exc = exc.__context__
    return exc


def _system_errno(db: apsw.Connection | None) -> int:
    """The OS error number behind the connection's last I/O error (0 if unknown)."""
    if db is None:
        return 0
    try:
        return int(db.system_errno)
    except apsw.Error:  # a closed connection
        return 0


def _close(db: apsw.Connection) -> None:
    """Close a connection; what apsw raises on the way is not an error of the ledger's (``Store.close``)."""
    with contextlib.suppress(apsw.Error):
        db.close()


@contextmanager
def _sqlite_errors(db: apsw.Connection | None = None) -> Iterator[None]:
    try:
        yield
    except apsw.Error as exc:
        raise _translate(exc, db) from None


class Store:
    """An open ledger store.  Not shared between threads; open one per process."""

    def __init__(self, connection: apsw.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._tip: _Tip | None = None  # set by append_many after each commit
        # append_many's statements go through one cursor: Connection.execute
        # makes a new cursor per call, ~0.5 us each, three times per append.
        self._append_cursor = connection.cursor()

    # --- opening ---

    @classmethod
    def create(cls, path: Path, origin: str) -> Store:
        if path.exists():
            raise StoreError(_("{path} already exists; refusing to overwrite a ledger").format(path=path))
        with _sqlite_errors():
            db = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE)
        try:
            with _sqlite_errors(db):
                store = cls(db, path)
                store._configure()
                db.execute("PRAGMA journal_mode=WAL")
                with db:
                    db.execute(_SCHEMA)
                    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    db.execute("INSERT INTO meta(key, value) VALUES('origin', ?)", (origin,))
        except BaseException:
            _close(db)
            raise
        return store

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> Store:
        if not path.is_file():
            raise StoreError(
                _("no ledger at {path}").format(path=path), hint=_("run 'custody init' first, or check --ledger")
            )
        flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE
        with _sqlite_errors():
            db = apsw.Connection(str(path), flags=flags)
        try:
            with _sqlite_errors(db):
                store = cls(db, path)
                store._configure()
                app_id = db.execute("PRAGMA application_id").fetchone()
                version = db.execute("PRAGMA user_version").fetchone()
        except BaseException:
            _close(db)
            raise
        if app_id is None or app_id[0] != APPLICATION_ID:
            _close(db)
            raise StoreCorruptError(_("{path} is an SQLite file but not a custody ledger").format(path=path))
        if version is None or version[0] != SCHEMA_VERSION:
            _close(db)
            raise StoreCorruptError(
                _("{path}: unsupported ledger schema version {version}").format(path=path, version=version)
            )
        return store

    def _configure(self) -> None:
        self._db.set_busy_timeout(BUSY_TIMEOUT_MS)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")

    def close(self) -> None:
        """Close the connection.  Never raises: nothing is left to lose.

        Every transaction has ended by now (appends commit or roll back before
        they return), so closing only lets SQLite copy the WAL into the
        database file (its checkpoint on close).  SQLite ignores a failure of
        that copy -- the WAL keeps every commit, and the next connection copies
        it -- but apsw raises an error that a VFS reported meanwhile, after the
        connection is closed all the same (docs/dependency-notes.md, apsw).
        Raising it would turn a recorded entry into an error message.
        """
        _close(self._db)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- metadata ---

    @property
    def origin(self) -> str:
        value = self.get_meta("origin")
        if value is None:
            raise StoreCorruptError(_("ledger has no origin"))
        return value

    def get_meta(self, key: str) -> str | None:
        with _sqlite_errors(self._db):
            row: Any = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_busy_timeout(self, seconds: float) -> None:
        """How long this connection waits for another writer (default 60 s)."""
        with _sqlite_errors(self._db):
            self._db.set_busy_timeout(max(1, round(seconds * 1000)))

    def set_page_limit(self, pages: int) -> None:
        """Cap the file size (tests use it to simulate a full disk)."""
        with _sqlite_errors(self._db):
            self._db.execute(f"PRAGMA max_page_count={int(pages)}")

    # --- reading ---

    def head(self) -> Head:
        with _sqlite_errors(self._db):
            row: Any = self._db.execute("SELECT seq, leaf_hash, at FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return Head(0, ZERO_HASH)
        return Head(int(row[0]) + 1, bytes(row[1]), str(row[2]))

    @property
    def size(self) -> int:
        return self.head().size

    def leaf(self, seq: int) -> bytes:
        with _sqlite_errors(self._db):
            row: Any = self._db.execute("SELECT leaf FROM entries WHERE seq=?", (seq,)).fetchone()
        if row is None:
            raise StoreError(_("no entry {seq} in the ledger").format(seq=seq))
        return bytes(row[0])

    def entry(self, seq: int) -> Entry:
        return parse_entry(self.leaf(seq))

    def leaves(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(seq, leaf bytes) in order, read in pages to keep memory flat."""
        stop = self.size if end is None else end
        page = 5000
        pos = start
        while pos < stop:
            with _sqlite_errors(self._db):
                rows: Any = self._db.execute(
                    "SELECT seq, leaf FROM entries WHERE seq>=? AND seq<? ORDER BY seq",
                    (pos, min(stop, pos + page)),
                ).fetchall()
            if not rows:
                return
            for seq, leaf in rows:
                yield int(seq), bytes(leaf)
            pos = int(rows[-1][0]) + 1

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[Entry]:
        for _seq, leaf in self.leaves(start, end):
            yield parse_entry(leaf)

    def seqs_of_type(self, *types: str) -> list[int]:
        """Entries of these types, by a scan (no index: it would cost every append a second B-tree write)."""
        wanted = set(types)
        out: list[int] = []
        pos, size, page = 0, self.size, 20000
        while pos < size:
            with _sqlite_errors(self._db):
                rows: Any = self._db.execute(
                    "SELECT seq, type FROM entries WHERE seq>=? AND seq<? ORDER BY seq", (pos, pos + page)
                ).fetchall()
            out.extend(int(seq) for seq, kind in rows if kind in wanted)
            pos += page
        return out

    # --- the tree ---

    def _read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Stored tree hashes by storage index, in one query (ledger.tlog's HashReader)."""
        if not indexes:
            return []
        where: list[tuple[int, int]] = []
        for index in indexes:
            level, k = tlog.split_stored_hash_index(index)
            leaf = ((k + 1) << level) - 1  # the append that completed node (level, k)
            where.append((leaf, index - tlog.stored_hash_index(0, leaf)))
        leaves = sorted({leaf for leaf, _off in where})
        marks = ",".join("?" for _leaf in leaves)
        with _sqlite_errors(self._db):
            rows: Any = self._db.execute(
                f"SELECT seq, tree FROM entries WHERE seq IN ({marks})",  # noqa: S608 - placeholders only
                leaves,
            ).fetchall()
        runs = {int(seq): bytes(tree) for seq, tree in rows}
        out = []
        for (leaf, offset), index in zip(where, indexes, strict=True):
            run = runs.get(leaf, b"")
            h = run[offset * 32 : offset * 32 + 32]
            if len(h) != 32:
                raise StoreCorruptError(_("stored tree hash {index} is missing").format(index=index))
            out.append(h)
        return out

    def root(self, size: int | None = None) -> bytes:
        n = self.size if size is None else size
        return tlog.tree_hash(n, self._read_hashes)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return tlog.prove_record(size, index, self._read_hashes)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return tlog.prove_tree(new_size, old_size, self._read_hashes)

    # --- appending ---

    def append(self, make: EntryMaker, *, after: AfterInsert | None = None) -> Entry:
        """Append one entry in its own durable transaction.

        ``make(head)`` builds and signs the entry once the head is known
        under the write lock; it may raise (a refused rule) and then nothing is
        written.  Returns only after the commit: an entry returned is durable.
        """
        return self.append_many([make], after=after)[0]

    def append_many(self, makers: Sequence[EntryMaker], *, after: AfterInsert | None = None) -> list[Entry]:
        """Append several entries in one transaction (all or nothing).

        ``after(entries)`` runs after the inserts and before the commit (e.g.
        to save a derived-state cache atomically with the entries).

        The head and the tree's frontier come from ``self._tip`` when no
        other connection has committed since this one last appended, so a
        lone writer reads nothing here: one BEGIN IMMEDIATE, one INSERT per
        entry, one COMMIT, as a bare insert does.
        """
        db, cursor = self._db, self._append_cursor
        # Taken out for the whole transaction and put back only after a
        # successful COMMIT: an error or an interrupt anywhere in between
        # leaves no tip, and the next append reads the database.
        tip, self._tip = self._tip, None
        entries: list[Entry] = []
        committing = False  # set just before COMMIT (see _translate)
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                # BEGIN IMMEDIATE has taken the write lock on the newest
                # snapshot, so the pager has seen any other connection's
                # commit and data_version() moved past the tip's (see _Tip).
                if tip is None or tip.version != db.data_version():
                    tip = self._read_tip()
                head, frontier = tip.head, tip.frontier
                rows = []
                for make in makers:
                    entry = make(head)
                    size, leaf = head.size, entry.leaf
                    if entry.seq != size or entry.prev != head.last_leaf_hash or not leaf:
                        _refuse_built(entry, head)
                    leaf_hash = hashlib.sha256(_LEAF + leaf).digest()  # rfc6962.leaf_hash, inline: every append
                    stored, frontier = tlog.append_to_frontier(size, frontier, leaf_hash)
                    # The stored hashes leaf n completes go in its own row (module doc).
                    rows.append((size, leaf, leaf_hash, entry.type, entry.at, entry.actor, b"".join(stored)))
                    entries.append(entry)
                    head = _new_tuple(Head, (size + 1, leaf_hash, entry.at))
                # Inserted once every entry is built, so that makers all see the
                # database as it was at BEGIN.  One row (every Ledger.append) is a
                # plain execute: executemany costs more for a single row.
                if len(rows) == 1:
                    cursor.execute(_INSERT_ENTRY, rows[0])
                elif rows:
                    cursor.executemany(_INSERT_ENTRY, rows)
                if after is not None:
                    after(entries)
                committing = True
                cursor.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    cursor.execute("ROLLBACK")
                raise
            # Our own commit moves data_version() too; what it says now is what
            # the next append compares with.
            self._tip = _new_tuple(_Tip, (db.data_version(), head, frontier))
        except apsw.Error as exc:
            what = None
            if committing:  # what the COMMIT was making durable, for its message (made here: rare)
                what = _Committing(entries[0].seq, len(entries)) if entries else _Committing()
            raise _translate(exc, db, committing=what) from None
        return entries

    def _read_tip(self) -> _Tip:
        """The head and the frontier from the database (inside the write transaction)."""
        head = self.head()
        return _Tip(-1, head, tlog.frontier(head.size, self._read_hashes))

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write: its own transaction, or a savepoint inside an append (``append_many``'s ``after``).

        Outside an append the COMMIT at the end of the block is told apart
        from the statements before it: an I/O error there leaves the outcome
        uncertain (``_translate``).  Inside one, the append's COMMIT decides.
        """
        db = self._db
        if db.in_transaction:
            with _sqlite_errors(db), db:
                yield
            return
        committing: _Committing | None = None
        try:
            with db:
                yield
                committing = _Committing()  # the statements ran: leaving the block commits
        except apsw.Error as exc:
            raise _translate(exc, db, committing=committing) from None

    # --- checkpoints ---

    def add_checkpoint(self, size: int, note: bytes, created: str) -> None:
        """Store a signed checkpoint; a later copy with more cosignatures replaces it."""
        with self._writing():
            self._db.execute(
                "INSERT INTO checkpoints(size, note, created) VALUES(?, ?, ?) "
                "ON CONFLICT(size) DO UPDATE SET note=excluded.note",
                (size, note, created),
            )

    def checkpoint_created(self, size: int) -> str | None:
        with _sqlite_errors(self._db):
            row: Any = self._db.execute("SELECT created FROM checkpoints WHERE size=?", (size,)).fetchone()
        return None if row is None else str(row[0])

    def checkpoint(self, size: int) -> bytes | None:
        with _sqlite_errors(self._db):
            row: Any = self._db.execute("SELECT note FROM checkpoints WHERE size=?", (size,)).fetchone()
        return None if row is None else bytes(row[0])

    def checkpoints(self) -> list[tuple[int, bytes]]:
        with _sqlite_errors(self._db):
            rows: Any = self._db.execute("SELECT size, note FROM checkpoints ORDER BY size").fetchall()
        return [(int(s), bytes(n)) for s, n in rows]

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        with _sqlite_errors(self._db):
            row: Any = self._db.execute("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    # --- attachments (content-addressed) ---

    def put_attachment(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        with self._writing():
            self._db.execute(
                "INSERT OR IGNORE INTO attachments(sha256, size, data) VALUES(?, ?, ?)",
                (digest, len(data), data),
            )
        return digest

    def attachment(self, digest: str) -> bytes | None:
        with _sqlite_errors(self._db):
            row: Any = self._db.execute("SELECT data FROM attachments WHERE sha256=?", (digest,)).fetchone()
        return None if row is None else bytes(row[0])

    def attachment_digests(self) -> list[str]:
        with _sqlite_errors(self._db):
            rows: Any = self._db.execute("SELECT sha256 FROM attachments ORDER BY sha256").fetchall()
        return [str(r[0]) for r in rows]

    # --- derived-state cache (not evidence: rebuilt from the entries at will) ---

    def load_state(self, name: str) -> tuple[int, bytes] | None:
        """A cached projection of the entries [0, size), e.g. the lifecycle state."""
        with _sqlite_errors(self._db):
            row: Any = self._db.execute("SELECT size, state FROM state_cache WHERE name=?", (name,)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def save_state(self, name: str, size: int, state: bytes) -> None:
        """Replace the cached projection; inside an append it commits with the entry."""
        with self._writing():
            self._db.execute(
                "INSERT INTO state_cache(name, size, state) VALUES(?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET size=excluded.size, state=excluded.state",
                (name, size, state),
            )

    def integrity_check(self) -> list[str]:
        """SQLite's own check; returns problems (an empty list when fine)."""
        with _sqlite_errors(self._db):
            rows: Any = self._db.execute("PRAGMA integrity_check").fetchall()
        problems = [str(r[0]) for r in rows]
        return [] if problems == ["ok"] else problems
