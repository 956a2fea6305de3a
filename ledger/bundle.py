"""The evidence bundle the vendor hands over (docs/spec.md §10 (The evidence bundle)).

A directory, or a .zip of it::

    manifest.json               format, origin, size, SHA-256 of every other file
    entries.jsonl               leaf bytes, one per line, seq order (exactly what was hashed)
    checkpoints/<size>.checkpoint  every signed checkpoint with all cosignatures, one note a file
    log.vkey                    the log's C2SP vkey
    attachments/<sha256 hex>    photos and certificates referenced by entries
    proofs/<seq>.tlog-proof     C2SP tlog-proof, one for each disposal entry

Nothing in the bundle is trusted by itself: the verifier checks it against
the municipality's own trust store.  Export is deterministic -- the same
ledger state gives the same bytes, zip included.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import itertools
import os
import re
import shutil
import stat
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from custody.ledger import canonical
from custody.ledger.dirsync import fsync_directory
from custody.ledger.entry import MAX_LEAF_BYTES
from custody.ledger.errors import BundleFormatError, CanonicalJSONError, OutputError
from custody.ledger.i18n import _
from custody.ledger.quoting import REASON_LIMIT, quote
from custody.ledger.rfc6962 import leaf_hash
from custody.ledger.store import Store
from custody.ledger.tlogproof import TlogProof, format_tlog_proof

FORMAT = "custody-bundle/v1"
MANIFEST = "manifest.json"
ENTRIES = "entries.jsonl"
LOG_VKEY = "log.vkey"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
PROOF_TYPES = ("media.disposed",)


def checkpoint_name(size: int) -> str:
    return f"checkpoints/{size:012d}.checkpoint"


def attachment_refs(value: Any) -> Iterator[str]:
    """Every attachment an entry body references: objects with an ``attachment`` hash."""
    if isinstance(value, dict):
        ref = value.get("attachment")
        if isinstance(ref, str):
            yield ref
        for item in value.values():
            yield from attachment_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from attachment_refs(item)


def build_tlog_proof(store: Store, seq: int, checkpoint_size: int, checkpoint_note: bytes) -> bytes:
    hashes = store.inclusion_proof(seq, checkpoint_size)
    return format_tlog_proof(TlogProof(index=seq, hashes=tuple(hashes), checkpoint=checkpoint_note))


class _Writer:
    """Writes bundle files to a directory or a zip, hashing each for the manifest."""

    def __init__(self, out: Path, as_zip: bool) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self._zip: zipfile.ZipFile | None = None
        self._dir = out
        if as_zip:
            self._zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
        else:
            out.mkdir(parents=True, exist_ok=False)

    def write_stream(self, name: str, chunks: Iterator[bytes]) -> None:
        digest = hashlib.sha256()
        size = 0
        if self._zip is not None:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with self._zip.open(info, "w", force_zip64=True) as fh:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    fh.write(chunk)
        else:
            path = self._dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        if name != MANIFEST:
            self.files[name] = {"sha256": digest.hexdigest(), "size": size}

    def write(self, name: str, data: bytes) -> None:
        self.write_stream(name, iter([data]))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None
            with self._dir.open("rb+") as fh:  # a zip is one file: on disk before it takes its name
                os.fsync(fh.fileno())


def export_bundle(store: Store, log_vkey: str, out: Path, *, as_zip: bool = False) -> dict[str, Any]:
    """Write the bundle for the store's current state; returns the manifest.

    The bundle is written under a temporary name next to ``out`` and takes
    the name ``out`` once complete, never replacing what another export put
    there meanwhile, so ``out`` is either this whole bundle or absent: a full
    disk or a killed export leaves no bundle that looks complete.  A killed
    export leaves a hidden ``.NAME.partial-PID``, which a later export to the
    same name removes once nothing has written to it for an hour
    (``_remove_abandoned``): it holds residents' data.  OutputError when the
    bundle cannot be written; the partial copy is removed.
    """
    if out.exists():
        raise _exists(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # what mkdir says where a file stands in the way of a directory
        raise _cannot_write(out, _("{path} is not a directory").format(path=exc.filename)) from None
    except OSError as exc:
        raise _cannot_write(out, exc.strerror or str(exc)) from None
    _remove_abandoned(out)
    partial = out.with_name(f"{_PARTIAL_PREFIX.format(name=out.name)}{os.getpid()}")
    try:
        manifest = _export(store, log_vkey, partial, as_zip)
        _take_name(partial, out)
        fsync_directory(out.parent)
    except BaseException as exc:
        _remove(partial)
        if isinstance(exc, OSError):
            raise _cannot_write(out, exc.strerror or str(exc)) from None
        raise
    return manifest


_PARTIAL_PREFIX = ".{name}.partial-"
# An export writes without pause, so a partial copy nobody has written to for this long was abandoned.
ABANDONED_AFTER_SECONDS = 3600


def _exists(out: Path) -> BundleFormatError:
    return BundleFormatError(_("{path} already exists; choose a new path for the bundle").format(path=out))


def _take_name(partial: Path, out: Path) -> None:
    """Give the complete bundle its name, unless something took that name since the export began.

    A directory's rename fails onto a directory that is not empty.  A
    file's rename would replace another export's zip, so a zip is linked to
    its name, which fails if the name exists, where the filesystem has hard
    links (FAT and exFAT media do not: there the name is checked just before
    the rename).
    """
    if partial.is_dir():
        try:
            os.rename(partial, out)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
                raise _exists(out) from None
            raise
        return
    try:
        os.link(partial, out)
    except FileExistsError:
        raise _exists(out) from None
    except OSError:
        if out.exists():
            raise _exists(out) from None
        os.rename(partial, out)
        return
    with contextlib.suppress(OSError):  # the bundle has its name; a hidden second link is removed later
        partial.unlink()


def _remove_abandoned(out: Path) -> None:
    """Remove the partial copies of ``out`` that killed exports left behind.

    Only those nothing has written to for ``ABANDONED_AFTER_SECONDS``: a
    partial copy on a shared disk may be another machine's export in
    progress.  On POSIX one whose process still runs here is kept too.
    """
    prefix = _PARTIAL_PREFIX.format(name=out.name)
    now = time.time()
    try:
        candidates = [p for p in out.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for partial in candidates:
        pid = partial.name[len(prefix) :]
        if not pid.isdigit() or (os.name == "posix" and _running(int(pid))):
            continue
        try:
            written = max(p.lstat().st_mtime for p in (partial, *partial.rglob("*")))
        except OSError:
            continue
        if now - written >= ABANDONED_AFTER_SECONDS:
            _remove(partial)


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (POSIX only: on Windows this signal would end it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, as another user's
    return True


def _cannot_write(out: Path, why: str) -> OutputError:
    return OutputError(
        _("Cannot write the bundle {path}: {why}").format(path=out, why=why),
        hint=_("Nothing was left at {path}. Free space on that disk or choose another place, "
               "then export again.").format(path=out),
    )


def _remove(path: Path) -> None:
    """Remove a partial bundle (a directory or a zip), as far as the filesystem lets us."""
    with contextlib.suppress(OSError):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _export(store: Store, log_vkey: str, out: Path, as_zip: bool) -> dict[str, Any]:
    size = store.size
    checkpoints = [(s, n) for s, n in store.checkpoints() if s <= size]
    writer = _Writer(out, as_zip)
    try:

        def lines() -> Iterator[bytes]:
            buf = io.BytesIO()
            for _seq, leaf in store.leaves(0, size):
                buf.write(leaf)
                buf.write(b"\n")
                if buf.tell() > 1 << 20:
                    yield buf.getvalue()
                    buf = io.BytesIO()
            yield buf.getvalue()

        writer.write_stream(ENTRIES, lines())
        writer.write(LOG_VKEY, log_vkey.strip().encode("utf-8") + b"\n")
        for cp_size, note in checkpoints:
            writer.write(checkpoint_name(cp_size), note)
        referenced: set[str] = set()
        for seq in store.seqs_of_type(*_ATTACHING_TYPES):
            referenced.update(attachment_refs(store.entry(seq).body))
        for digest in sorted(referenced):
            data = store.attachment(digest)
            if data is not None:  # a missing one is the verifier's finding I8
                writer.write(f"attachments/{digest}", data)
        if checkpoints:
            cp_size, note = checkpoints[-1]
            for seq in store.seqs_of_type(*PROOF_TYPES):
                if seq < cp_size:
                    writer.write(f"proofs/{seq}.tlog-proof", build_tlog_proof(store, seq, cp_size, note))
        manifest = {
            "format": FORMAT,
            "origin": store.origin,
            "size": size,
            "checkpoints": [s for s, _note in checkpoints],
            "files": dict(sorted(writer.files.items())),
        }
        writer.write(MANIFEST, canonical.dumps(manifest) + b"\n")
    finally:
        writer.close()
    return manifest


# Entry types whose bodies may reference attachments (scanning only these
# keeps export linear in the attaching entries, not the whole ledger).
_ATTACHING_TYPES = (
    "note.recorded",
    "media.received",
    "media.registered",
    "media.erased",
    "media.disposed",
    "media.returned",
    "takeout.departed",
    "takeout.returned",
    "takeout.erased_at_destination",
    "copy.made",
    "disposal.approved",
    "incident.reported",
    "inspection.recorded",
    "attestation.recorded",
    "contract.closed",
    "subcontract.approved",
)


# --- reading (docs/spec.md §10.8): every file a regular file within its limit, every cost linear ---

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
MAX_MANIFEST_BYTES = 64 * MIB
MAX_ENTRIES_BYTES = 64 * GIB
MAX_LOG_VKEY_BYTES = 64 * KIB
MAX_CHECKPOINT_BYTES = 1 * MIB
MAX_PROOF_BYTES = 2 * MIB
# What `custody attach` and the recording commands accept (cli/common.py ATTACHMENT_LIMIT; a test
# keeps the two equal): the bundle can hold no larger attachment the ledger recorded.
MAX_ATTACHMENT_BYTES = 64 * MIB
MAX_OTHER_BYTES = 64 * MIB  # any other file, listed or not
MAX_NAME_BYTES = 1024  # a path inside the bundle, UTF-8
READ_BLOCK = 1 << 20  # bytes read at a time

_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What zipfile and zlib raise for a damaged archive or member (a flipped byte, a truncated file).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
               NotImplementedError, RuntimeError, struct.error)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def size_limit(name: str) -> int:
    """The largest size the bundle file ``name`` may have (docs/spec.md §10.8)."""
    if name == MANIFEST:
        return MAX_MANIFEST_BYTES
    if name == ENTRIES:
        return MAX_ENTRIES_BYTES
    if name == LOG_VKEY:
        return MAX_LOG_VKEY_BYTES
    if name.startswith("checkpoints/"):
        return MAX_CHECKPOINT_BYTES
    if name.startswith("proofs/"):
        return MAX_PROOF_BYTES
    if name.startswith("attachments/"):
        return MAX_ATTACHMENT_BYTES
    return MAX_OTHER_BYTES


@dataclass(frozen=True)
class BundleFile:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class LongLine:
    """A line of entries.jsonl longer than an entry may be (``MAX_LEAF_BYTES``): its length and leaf hash.

    The line still counts -- its leaf hash chains and enters the tree -- but
    its bytes are hashed as they stream past, never held (docs/spec.md §10.3).
    """

    size: int
    leaf_hash: bytes


class LineSplitter:
    """Splits blocks of entries.jsonl at LF, in time and memory linear in the bytes fed.

    A line that spans blocks is kept as pieces and joined once, when its LF
    arrives; one that grows beyond ``limit`` is hashed as it streams and
    reported as a ``LongLine`` (its place in the list of lines holds ``b""``).
    """

    def __init__(self, limit: int = MAX_LEAF_BYTES) -> None:
        self.limit = limit
        self._pieces: list[bytes] = []
        self._held = 0
        self._long: Any = None  # SHA-256 of 0x00 and the long line so far (its leaf hash when done)
        self._long_size = 0

    def feed(self, block: bytes) -> tuple[list[bytes], dict[int, LongLine]]:
        """The lines ``block`` completes, and the long ones among them by their index in that list."""
        parts = block.split(b"\n")
        if len(parts) == 1:
            self._add(block)
            return [], {}
        longs: dict[int, LongLine] = {}
        first = self._finish(parts[0])
        if isinstance(first, LongLine):
            longs[0], parts[0] = first, b""
        else:
            parts[0] = first
        self._add(parts.pop())
        if max(map(len, parts)) > self.limit:
            for index, part in enumerate(parts):
                if len(part) > self.limit:
                    longs[index] = LongLine(len(part), leaf_hash(part))
                    parts[index] = b""
        return parts, longs

    def end(self) -> bytes | LongLine | None:
        """The last line, when the stream does not end with LF; None when it does."""
        if self._long is None and not self._pieces:
            return None
        return self._finish(b"")

    def _add(self, piece: bytes) -> None:
        if not piece:
            return
        if self._long is not None:
            self._long.update(piece)
            self._long_size += len(piece)
        elif self._held + len(piece) > self.limit:
            self._long = hashlib.sha256(b"\x00")
            for held in self._pieces:
                self._long.update(held)
            self._long.update(piece)
            self._long_size = self._held + len(piece)
            self._pieces, self._held = [], 0
        else:
            self._pieces.append(piece)
            self._held += len(piece)

    def _finish(self, head: bytes) -> bytes | LongLine:
        if self._long is None and self._held + len(head) <= self.limit:
            line = b"".join((*self._pieces, head)) if self._pieces else head
            self._pieces, self._held = [], 0
            return line
        self._add(head)
        done = LongLine(self._long_size, self._long.digest())
        self._long, self._long_size = None, 0
        return done


class BundleStream(io.BufferedIOBase):
    """A bundle file opened for reading: at most its size limit, any failure a BundleFormatError.

    Whatever a zip member's header declares, no more than the limit is ever
    decompressed; a damaged member (a bad CRC, broken DEFLATE data, a
    truncated archive) is an unusable bundle, not a crash.
    """

    def __init__(self, name: str, raw: IO[bytes], limit: int) -> None:
        super().__init__()
        self.name = name
        self._raw = raw
        self._limit = limit
        self._count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:  # to the end, a block at a time: nothing is allocated at the limit's size
            blocks = []
            while block := self.read(READ_BLOCK):
                blocks.append(block)
            return b"".join(blocks)
        try:
            data = self._raw.read(min(size, self._limit + 1 - self._count))
        except _ZIP_ERRORS as exc:
            raise _unreadable(self.name, exc) from None
        self._count += len(data)
        if self._count > self._limit:
            raise _too_large(self.name, self._limit)
        return data

    read1 = read

    def close(self) -> None:
        with contextlib.suppress(*_ZIP_ERRORS):
            self._raw.close()
        super().close()


class Bundle:
    """Read access to a bundle directory or zip.  Trusts nothing it reads.

    Opening it checks the container (docs/spec.md §10.8): every file is a
    regular file (no link, pipe, device or socket) within its size limit,
    every name is a safe relative path; a zip has no duplicate, symbolic-link,
    encrypted or overlapping member and only stored or DEFLATE data.  Then
    the manifest is read and checked (§10.2).  Anything else is a
    BundleFormatError: the bundle is unusable.  What the files say is the
    verifier's business (verify.engine).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, zipfile.ZipInfo] = {}
        self._sizes: dict[str, int] = {}  # every regular file -> its size as the container states it
        self._digests: dict[str, tuple[str, int]] = {}
        if path.is_dir():
            self._sizes = _walk(path)
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except _ZIP_ERRORS as exc:
                raise BundleFormatError(
                    _("{path} is neither a bundle directory nor a valid zip ({why})").format(
                        path=path, why=quote(exc, REASON_LIMIT))
                ) from None
            try:
                self._members = _zip_members(self._zip)
            except BaseException:
                self._zip.close()
                raise
            self._sizes = {name: info.file_size for name, info in self._members.items()}
        else:
            raise BundleFormatError(
                _("no bundle at {path}").format(path=path),
                hint=_("Give a bundle directory or a .zip file (not a pipe or a device)."),
            )
        try:
            self.manifest = self._load_manifest()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- raw access ---

    def files(self) -> list[str]:
        """Every file of the bundle (directory members of a zip aside), sorted."""
        return sorted(self._sizes)

    def has(self, name: str) -> bool:
        return name in self._sizes

    def read(self, name: str) -> bytes:
        with self.open_stream(name) as stream:
            return stream.read()

    def open_stream(self, name: str) -> BundleStream:
        """The file ``name``, read in blocks, never beyond its size limit."""
        _check_name(name)
        if name not in self._sizes:
            raise self._absent(name)
        limit = size_limit(name)
        if self._zip is not None:
            try:
                raw: IO[bytes] = self._zip.open(self._members[name])
            except _ZIP_ERRORS as exc:
                raise _unreadable(name, exc) from None
            return BundleStream(name, raw, limit)
        fd = _open_regular(self.path, name, limit)
        return BundleStream(name, os.fdopen(fd, "rb"), limit)

    def local_path(self, name: str) -> Path | None:
        """Where file ``name`` lies when the bundle is a directory (it can be read at any offset); None in a zip.

        Only a regular file within its limit, as ``open_stream`` would open it.
        """
        _check_name(name)
        if self._zip is not None:
            return None
        if name not in self._sizes:
            raise self._absent(name)
        os.close(_open_regular(self.path, name, size_limit(name)))
        return self.path / name

    def _absent(self, name: str) -> BundleFormatError:
        """The error for a file the bundle does not hold: a directory in its place, or nothing."""
        if self._zip is None:
            with contextlib.suppress(OSError):
                mode = (self.path / name).lstat().st_mode
                if not stat.S_ISREG(mode):
                    return _not_regular(name, mode)
        return _unreadable(name, _("no such file"))

    def digest(self, name: str) -> tuple[str, int]:
        """(hex SHA-256, size in bytes) of file ``name``, read once and remembered."""
        if name not in self._digests:
            sha256 = hashlib.sha256()
            size = 0
            with self.open_stream(name) as stream:
                while block := stream.read(READ_BLOCK):
                    sha256.update(block)
                    size += len(block)
            self._digests[name] = (sha256.hexdigest(), size)
        return self._digests[name]

    def file_digest(self, name: str) -> str:
        return self.digest(name)[0]

    def _load_manifest(self) -> dict[str, Any]:
        try:
            manifest = canonical.loads(self.read(MANIFEST))
        except CanonicalJSONError as exc:
            raise BundleFormatError(
                _("manifest.json is malformed: {why}").format(why=quote(exc.message, REASON_LIMIT))) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BundleFormatError(_("manifest.json is not a {format} manifest").format(format=FORMAT))
        for key, kind in (("origin", str), ("size", int), ("files", dict), ("checkpoints", list)):
            if type(manifest.get(key)) is not kind:
                raise BundleFormatError(_("manifest.json: '{key}' is missing or has the wrong type").format(key=key))
        if manifest["size"] < 0:
            raise BundleFormatError(_("manifest.json: 'size' must not be negative"))
        sizes = manifest["checkpoints"]
        if any(type(s) is not int or s < 0 for s in sizes) or any(a >= b for a, b in itertools.pairwise(sizes)):
            raise BundleFormatError(_("manifest.json: 'checkpoints' must list checkpoint sizes in ascending order"))
        for name, info in manifest["files"].items():
            _check_name(name)
            if (
                name == MANIFEST
                or type(info) is not dict
                or info.keys() != {"sha256", "size"}
                or type(info["sha256"]) is not str
                or not _HEX64.fullmatch(info["sha256"])
                or type(info["size"]) is not int
                or info["size"] < 0
            ):
                raise BundleFormatError(_("manifest.json: entry for {name} is malformed").format(name=quote(name)))
        return manifest

    # --- typed views ---

    @property
    def origin(self) -> str:
        return str(self.manifest["origin"])

    @property
    def declared_size(self) -> int:
        return int(self.manifest["size"])

    def listed(self, name: str) -> BundleFile | None:
        info = self.manifest["files"].get(name)
        if info is None:
            return None
        return BundleFile(name, str(info["sha256"]), int(info["size"]))

    def log_vkey(self) -> str:
        return self.read(LOG_VKEY).decode("utf-8", errors="replace").strip()

    def iter_lines(self) -> Iterator[bytes]:
        """entries.jsonl line by line, without the newline (streaming).

        BundleFormatError at a line longer than an entry may be: what reads
        lines here (the reports, pinning) needs their bytes.  The verifier
        reads the file with ``LineSplitter`` itself and reports such a line
        as I7.
        """
        splitter = LineSplitter()
        seq = 0
        with self.open_stream(ENTRIES) as stream:
            while block := stream.read(READ_BLOCK):
                lines, longs = splitter.feed(block)
                if longs:
                    raise _long_line(seq + min(longs))
                yield from lines
                seq += len(lines)
        last = splitter.end()
        if isinstance(last, LongLine):
            raise _long_line(seq)
        if last is not None:
            yield last

    def entries_size_bytes(self) -> int:
        """The size of entries.jsonl as the directory or the zip states it (0 if absent): the progress total."""
        return self._sizes.get(ENTRIES, 0)

    def checkpoint_notes(self) -> list[tuple[str, bytes]]:
        return [(n, self.read(n)) for n in self.files() if n.startswith("checkpoints/")]

    def proof_files(self) -> list[tuple[str, bytes]]:
        names = [n for n in self.files() if n.startswith("proofs/") and n.endswith(".tlog-proof")]
        return [(n, self.read(n)) for n in names]

    def attachment(self, digest: str) -> bytes | None:
        name = f"attachments/{digest}"
        if not self.has(name):
            return None
        return self.read(name)

    def unlisted_files(self) -> list[str]:
        listed = self.manifest["files"]
        return [n for n in self.files() if n != MANIFEST and n not in listed]


def _check_name(name: object) -> None:
    """A bundle path (docs/spec.md §10.1): relative POSIX, no '..', '.' or empty part, no '\\', no control character."""
    if (
        not isinstance(name, str)
        or not name
        or name.startswith("/")
        or "\\" in name
        or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES
        or _CONTROL.search(name)
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        raise BundleFormatError(_("unsafe file name in bundle: {name}").format(name=quote(repr(name))))


def _unreadable(name: str, why: object) -> BundleFormatError:
    return BundleFormatError(
        _("bundle file {name} is missing or unreadable ({why})").format(name=quote(name), why=quote(why, REASON_LIMIT))
    )


def _too_large(name: str, limit: int) -> BundleFormatError:
    return BundleFormatError(
        _("bundle file {name} is larger than the {limit} bytes such a file may have").format(
            name=quote(name), limit=f"{limit:,}")
    )


def _not_regular(name: str, mode: int) -> BundleFormatError:
    if stat.S_ISLNK(mode):
        what = _("a symbolic link")
    elif stat.S_ISFIFO(mode):
        what = _("a named pipe (FIFO)")
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = _("a device")
    elif stat.S_ISDIR(mode):
        what = _("a directory")
    elif stat.S_ISSOCK(mode):
        what = _("a socket")
    else:
        what = _("of an unknown kind")
    return BundleFormatError(
        _("bundle file {name} is {what}, not a regular file").format(name=quote(name), what=what),
        hint=_("A bundle holds only regular files; ask for the bundle as custody export wrote it."),
    )


def _long_line(seq: int) -> BundleFormatError:
    return BundleFormatError(
        _("line {seq} of entries.jsonl is longer than the {limit} bytes an entry may have").format(
            seq=seq, limit=f"{MAX_LEAF_BYTES:,}")
    )


def _walk(root: Path) -> dict[str, int]:
    """Every regular file under the directory ``root`` -> its size; BundleFormatError for anything else.

    Links are not followed: a symbolic link, pipe, device or socket anywhere
    in the tree makes the bundle unusable, as does a file beyond its limit.
    """
    found: dict[str, int] = {}
    pending = [""]
    while pending:
        prefix = pending.pop()
        try:
            with os.scandir(root / prefix if prefix else root) as listing:
                entries = list(listing)
        except OSError as exc:
            raise _unreadable(prefix or ".", exc.strerror or exc) from None
        for entry in entries:
            name = f"{prefix}{entry.name}"
            _check_name(name)
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                raise _unreadable(name, exc.strerror or exc) from None
            if stat.S_ISDIR(info.st_mode):
                pending.append(name + "/")
                continue
            if not stat.S_ISREG(info.st_mode):
                raise _not_regular(name, info.st_mode)
            size = info.st_size
            if size > size_limit(name):
                raise _too_large(name, size_limit(name))
            found[name] = size
    return found


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a pipe must not wait for a writer
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _open_regular(root: Path, name: str, limit: int) -> int:
    """A descriptor of the regular file ``root/name``, reached without following any link, within ``limit``."""
    parts = name.split("/")
    try:
        if os.open in os.supports_dir_fd and _NOFOLLOW:
            directory = os.open(root, os.O_RDONLY | _DIRECTORY)
            try:
                for part in parts[:-1]:
                    inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=directory)
                    os.close(directory)
                    directory = inner
                fd = os.open(parts[-1], os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _BINARY, dir_fd=directory)
            finally:
                os.close(directory)
        else:  # no openat (Windows): each part checked, then opened
            for end in range(1, len(parts) + 1):
                mode = (root.joinpath(*parts[:end])).lstat().st_mode
                if stat.S_ISLNK(mode) or (end < len(parts) and not stat.S_ISDIR(mode)):
                    raise _not_regular(name, mode)
            fd = os.open(root / name, os.O_RDONLY | _NONBLOCK | _BINARY)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _not_regular(name, stat.S_IFLNK) from None
        raise _unreadable(name, exc.strerror or exc) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        os.close(fd)
        raise _not_regular(name, info.st_mode) if not stat.S_ISREG(info.st_mode) else _too_large(name, limit)
    return fd


def _zip_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The zip's files by name, after the checks of docs/spec.md §10.5; BundleFormatError for the first that fails."""
    members: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    for info in archive.infolist():
        name = info.orig_filename
        if "\x00" in name:  # zipfile cuts a name at NUL: "manifest.json\0x" would read as manifest.json
            raise BundleFormatError(_("unsafe file name in bundle: {name}").format(name=quote(repr(name))))
        if name in seen:
            raise BundleFormatError(_("the zip holds {name} twice").format(name=quote(name)))
        seen.add(name)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if name.endswith("/"):  # a directory member: only its name is checked
            _check_name(name[:-1])
            if kind not in (0, stat.S_IFDIR):
                raise _not_regular(name, kind)
            continue
        _check_name(name)
        if kind not in (0, stat.S_IFREG):
            raise _not_regular(name, kind)
        if info.flag_bits & 0x1:
            raise BundleFormatError(_("bundle file {name} is encrypted").format(name=quote(name)))
        if info.compress_type not in _COMPRESSIONS:
            raise BundleFormatError(_("bundle file {name} uses a compression other than DEFLATE").format(
                name=quote(name)))
        if info.file_size > size_limit(name):
            raise _too_large(name, size_limit(name))
        members[name] = info
    _check_no_overlap(archive)
    return members


_LOCAL_HEADER = 30  # bytes of a zip local file header before its name (APPNOTE 4.3.7)


def _check_no_overlap(archive: zipfile.ZipFile) -> None:
    """Members whose data overlap (the construction of zip bombs that reuse one compressed kernel) are refused."""
    spans = sorted((info.header_offset, info.header_offset + _LOCAL_HEADER + info.compress_size, info.orig_filename)
                   for info in archive.infolist())
    end_of_data = getattr(archive, "start_dir", None)
    for (start, end, name), following in itertools.zip_longest(spans, spans[1:]):
        limit = following[0] if following is not None else end_of_data
        if start < 0 or (limit is not None and end > limit):
            raise BundleFormatError(_("zip member {name} overlaps another member").format(name=quote(name)))
