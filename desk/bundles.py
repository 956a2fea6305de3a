"""The evidence bundles the desk was given: uploaded ``.zip`` files (custody export --zip) or paths.

An upload is checked before anything is kept -- a zip whose member names are safe, whose declared
sizes are sane (no zip bomb), with a bundle manifest for a contract the trust store pins -- and then
kept in the workspace as ``bundles/<id>/bundle.zip``, ``<id>`` being the first 20 hex digits of its
manifest's SHA-256 (the same bundle uploaded twice is one bundle).  A path (a bundle directory or zip on
this computer, e.g. a shared folder) is recorded, not copied, and read again at every verification: its
``version`` (the manifest's digest) tells when the vendor exported it anew.

What is checked here is only enough to refuse what is not a bundle; the verification
(custody.verify.engine, in custody.desk.jobs) checks everything else and says it in findings.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from custody.desk.workspace import Workspace, json_bytes, write_atomic
from custody.ledger import canonical
from custody.ledger.bundle import MANIFEST, Bundle
from custody.ledger.errors import BundleFormatError, CanonicalJSONError, CustodyError, StoreError, UsageError
from custody.ledger.i18n import _
from custody.verify.authority import Authority

MAX_MEMBERS = 2_000_000
MAX_EXPANDED = 64 << 30  # bytes, all members together as declared
MAX_RATIO = 200  # declared / compressed, for members over 1 MiB: a zip bomb's is in the thousands


class NotABundle(UsageError):
    """What was given is not an evidence bundle the desk can take; nothing was kept."""


@dataclass(frozen=True)
class BundleRecord:
    id: str
    source: str  # upload | path
    path: Path
    name: str  # the uploaded file's name, or the path as given
    added_at: str
    origin: str
    size: int  # entries the manifest declares
    version: str  # the manifest's SHA-256 when it was added (a path's may change)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "path": str(self.path), "name": self.name,
                "added_at": self.added_at, "origin": self.origin, "size": self.size, "version": self.version}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> BundleRecord:
        return cls(str(doc["id"]), str(doc["source"]), Path(str(doc["path"])), str(doc["name"]),
                   str(doc["added_at"]), str(doc["origin"]), int(doc["size"]), str(doc["version"]))


def check_zip(path: Path) -> None:
    """Refuse (NotABundle) a zip with unsafe names or sizes no bundle has."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NotABundle(_("The file is not a zip archive ({why}).").format(why=exc)) from None
    if len(infos) > MAX_MEMBERS:
        raise NotABundle(_("The zip holds too many files to be a bundle."))
    total = 0
    for info in infos:
        parts = PurePosixPath(info.filename).parts
        if info.filename.startswith("/") or ".." in parts or "\\" in info.filename or ":" in info.filename:
            raise NotABundle(_("The zip holds an unsafe file name: {name!r}").format(name=info.filename))
        total += info.file_size
        if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise NotABundle(_("The zip member {name} would expand {ratio}-fold: refused as a zip bomb.").format(
                name=info.filename, ratio=info.file_size // max(info.compress_size, 1)))
    if total > MAX_EXPANDED:
        raise NotABundle(_("The zip would expand to more than {n} GiB: refused.").format(n=MAX_EXPANDED >> 30))


def manifest_version(bundle: Bundle) -> str:
    return hashlib.sha256(bundle.read(MANIFEST)).hexdigest()


def describe(path: Path, authority: Authority) -> tuple[str, int, str]:
    """(origin, declared size, version) of the bundle at ``path``; NotABundle when it cannot be one here."""
    try:
        with Bundle(path) as bundle:
            origin, size, version = bundle.origin, bundle.declared_size, manifest_version(bundle)
    except (BundleFormatError, CanonicalJSONError) as exc:
        raise NotABundle(_("This is not an evidence bundle: {why}").format(why=exc.message)) from None
    except CustodyError as exc:
        raise NotABundle(exc.message) from None
    if not authority.is_pinned(origin):
        raise NotABundle(
            _("The bundle is for the ledger {origin}, which the trust store does not pin.").format(origin=origin),
            hint=_("Pin the contract first (custody authority trust --bundle ...), then add the bundle again."),
        )
    return origin, size, version


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


class Shelf:
    """The bundles in the workspace."""

    def __init__(self, workspace: Workspace, authority_dir: Path) -> None:
        self.workspace = workspace
        self.authority_dir = authority_dir
        self._lock = threading.Lock()

    def records(self) -> list[BundleRecord]:
        out = []
        for folder in sorted(self.workspace.bundles.iterdir()):
            record = self._load(folder)
            if record is not None:
                out.append(record)
        return sorted(out, key=lambda r: (r.added_at, r.id), reverse=True)

    def _load(self, folder: Path) -> BundleRecord | None:
        try:
            return BundleRecord.from_json(canonical.loads((folder / "source.json").read_bytes()))
        except (OSError, CanonicalJSONError, KeyError, TypeError, ValueError):
            return None

    def get(self, bundle_id: str) -> BundleRecord | None:
        if not bundle_id.isalnum():
            return None
        return self._load(self.workspace.bundles / bundle_id)

    def of_origin(self, origin: str) -> list[BundleRecord]:
        return [r for r in self.records() if r.origin == origin]

    def add_upload(self, uploaded: Path, name: str) -> BundleRecord:
        """Keep an uploaded zip (``uploaded`` is moved) once it passed the checks; else NotABundle."""
        check_zip(uploaded)
        origin, size, version = describe(uploaded, Authority.open(self.authority_dir))
        bundle_id = version[:20]
        with self._lock:
            existing = self.get(bundle_id)
            if existing is not None:
                return existing
            folder = self.workspace.bundles / bundle_id
            folder.mkdir(mode=0o700, exist_ok=True)
            target = folder / "bundle.zip"
            try:
                shutil.move(str(uploaded), target)
            except OSError as exc:
                shutil.rmtree(folder, ignore_errors=True)
                raise StoreError(_("Cannot keep the bundle in {path}: {why}").format(
                    path=folder, why=exc.strerror or exc)) from None
            record = BundleRecord(bundle_id, "upload", target, PurePosixPath(name).name or "bundle.zip", _now(),
                                  origin, size, version)
            write_atomic(folder / "source.json", json_bytes(record.to_json()))
            return record

    def add_path(self, text: str) -> BundleRecord:
        """Record a bundle directory or zip on this computer; NotABundle when it is not one."""
        raw = text.strip().strip('"')
        if not raw:
            raise NotABundle(_("Give the path of a bundle directory or zip."))
        path = Path(raw).expanduser()
        if not path.is_absolute():
            raise NotABundle(_("Give the whole path (starting from the drive or /), not {path}.").format(path=raw))
        if path.is_file():
            check_zip(path)
        origin, size, version = describe(path, Authority.open(self.authority_dir))
        bundle_id = "p" + hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:19]
        with self._lock:
            folder = self.workspace.bundles / bundle_id
            folder.mkdir(mode=0o700, exist_ok=True)
            record = BundleRecord(bundle_id, "path", path.resolve(), raw, _now(), origin, size, version)
            write_atomic(folder / "source.json", json_bytes(record.to_json()))
            return record

    def current_version(self, record: BundleRecord) -> str:
        """The manifest digest as the bundle is now (a path may have been exported anew)."""
        try:
            with Bundle(record.path) as bundle:
                return manifest_version(bundle)
        except CustodyError:
            return ""
