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
import os
import shutil
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from custody.ledger import canonical
from custody.ledger.dirsync import fsync_directory
from custody.ledger.errors import BundleFormatError, CanonicalJSONError, OutputError
from custody.ledger.i18n import _
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
    "contract.closed",
    "subcontract.approved",
)


@dataclass(frozen=True)
class BundleFile:
    name: str
    sha256: str
    size: int


class Bundle:
    """Read access to a bundle directory or zip.  Trusts nothing it reads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            pass
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise BundleFormatError(
                    _("{path} is neither a bundle directory nor a valid zip ({why})").format(path=path, why=exc)
                ) from None
        else:
            raise BundleFormatError(_("no bundle at {path}").format(path=path))
        self.manifest = self._load_manifest()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- raw access ---

    def _names(self) -> list[str]:
        if self._zip is not None:
            return [n for n in self._zip.namelist() if not n.endswith("/")]
        root = self.path
        return sorted(
            p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
        )

    def has(self, name: str) -> bool:
        if self._zip is not None:
            try:
                self._zip.getinfo(name)
            except KeyError:
                return False
            return True
        try:
            return (self.path / name).is_file()
        except (OSError, ValueError):  # e.g. ENAMETOOLONG, which is_file() does not treat as "no such file"
            return False

    def read(self, name: str) -> bytes:
        _check_name(name)
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.path / name).read_bytes()
        except (KeyError, OSError, zipfile.BadZipFile) as exc:
            raise BundleFormatError(
                _("bundle file {name} is missing or unreadable ({why})").format(name=name, why=exc)
            ) from None

    def open_stream(self, name: str) -> io.BufferedIOBase:
        _check_name(name)
        try:
            if self._zip is not None:
                return self._zip.open(name)  # type: ignore[return-value]
            return (self.path / name).open("rb")
        except (KeyError, OSError, zipfile.BadZipFile) as exc:
            raise BundleFormatError(
                _("bundle file {name} is missing or unreadable ({why})").format(name=name, why=exc)
            ) from None

    def local_path(self, name: str) -> Path | None:
        """Where file ``name`` lies when the bundle is a directory (it can be read at any offset); None in a zip."""
        _check_name(name)
        return None if self._zip is not None else self.path / name

    def _load_manifest(self) -> dict[str, Any]:
        try:
            manifest = canonical.loads(self.read(MANIFEST))
        except CanonicalJSONError as exc:
            raise BundleFormatError(_("manifest.json is malformed: {why}").format(why=exc.message)) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BundleFormatError(_("manifest.json is not a {format} manifest").format(format=FORMAT))
        for key, kind in (("origin", str), ("size", int), ("files", dict), ("checkpoints", list)):
            if not isinstance(manifest.get(key), kind):
                raise BundleFormatError(_("manifest.json: '{key}' is missing or has the wrong type").format(key=key))
        for name, info in manifest["files"].items():
            _check_name(name)
            if (
                not isinstance(info, dict)
                or not isinstance(info.get("sha256"), str)
                or not isinstance(info.get("size"), int)
            ):
                raise BundleFormatError(_("manifest.json: entry for {name} is malformed").format(name=name))
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
        """entries.jsonl line by line, without the newline (streaming)."""
        with self.open_stream(ENTRIES) as fh:
            for line in fh:
                yield line[:-1] if line.endswith(b"\n") else line

    def entries_size_bytes(self) -> int:
        listed = self.listed(ENTRIES)
        return listed.size if listed else 0

    def checkpoint_notes(self) -> list[tuple[str, bytes]]:
        names = sorted(n for n in self._names() if n.startswith("checkpoints/"))
        return [(n, self.read(n)) for n in names]

    def proof_files(self) -> list[tuple[str, bytes]]:
        names = sorted(n for n in self._names() if n.startswith("proofs/") and n.endswith(".tlog-proof"))
        return [(n, self.read(n)) for n in names]

    def attachment(self, digest: str) -> bytes | None:
        name = f"attachments/{digest}"
        if not self.has(name):
            return None
        return self.read(name)

    def unlisted_files(self) -> list[str]:
        listed = set(self.manifest["files"]) | {MANIFEST}
        return [n for n in self._names() if n not in listed]

    def file_digest(self, name: str) -> str:
        digest = hashlib.sha256()
        with self.open_stream(name) as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()


def _check_name(name: str) -> None:
    # docs/spec.md §10.2: a manifest listing an unsafe name is refused.  NUL is one: no file system has
    # it in a name, and pathlib raises ValueError (not OSError) for it when the file is opened.
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or "\x00" in name or not name:
        raise BundleFormatError(_("unsafe file name in bundle: {name!r}").format(name=name))
