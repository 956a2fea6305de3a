"""The desk's own folder: what it was handed and what it decided (docs/desk.md, "Where the desk keeps things").

Layout (default ``<trust store>/desk``, or ``custody desk --workspace DIR``)::

    inbox/                       applications (custody/request/v1), uploaded in the page or dropped here
    decisions/<digest>.json      the decision on the application whose request digest is <digest>
    decisions/<digest>.approval  the signed approval handed to the vendor
    bundles/<id>/source.json     a bundle the desk was given: an upload (bundle.zip beside it) or a path
    reports/<id>/<version>/<lang>/  the reports written from a bundle, by its manifest's digest
    witness/requests/            cosigning requests (custody witness-request files) waiting
    witness/answered/            the requests answered, each with its response or the refusal
    settings.json                the approver's name, title and organisation as last used (to prefill)

The trust store's own files are changed only through ``custody.verify.authority`` (the witness's
cosignatures); the desk's files are its own.  Every file is written whole or not at all (a temporary
file, fsync, rename), mode 0600 in folders of mode 0700: approvals and bundles are the municipality's
records.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.ledger.dirsync import fsync_directory
from custody.ledger.errors import StoreError
from custody.ledger.i18n import _

FOLDERS = ("inbox", "decisions", "bundles", "reports", "witness/requests", "witness/answered")
MAX_SETTINGS = 64 * 1024


def write_atomic(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``path`` whole or not at all; with ``exclusive``, refuse (FileExistsError) if it exists."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StoreError(_("Cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if ``path`` exists: never replaces a decision already made
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, FileExistsError):
            raise
        if isinstance(exc, OSError):
            raise StoreError(_("Cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)) from None
        raise
    fsync_directory(path.parent)


def json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """The workspace at ``root``, its folders created when missing (StoreError when they cannot be)."""
        for name in ("", *FOLDERS):
            folder = root / name
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    _("Cannot create the desk's folder {path}: {why}").format(path=folder, why=exc.strerror or exc),
                    hint=_("Choose another folder with --workspace."),
                ) from None
            if not folder.is_dir():
                raise StoreError(_("The desk's folder {path} is not a directory.").format(path=folder))
        return cls(root)

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def decisions(self) -> Path:
        return self.root / "decisions"

    @property
    def bundles(self) -> Path:
        return self.root / "bundles"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def witness_requests(self) -> Path:
        return self.root / "witness" / "requests"

    @property
    def witness_answered(self) -> Path:
        return self.root / "witness" / "answered"

    def settings(self) -> dict[str, Any]:
        """What the desk remembers between runs (the approver's name, title, organisation); {} when none."""
        path = self.root / "settings.json"
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_SETTINGS + 1)
            value = json.loads(data.decode("utf-8")) if len(data) <= MAX_SETTINGS else None
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        return value if isinstance(value, dict) else {}

    def save_settings(self, values: dict[str, Any]) -> None:
        write_atomic(self.root / "settings.json", json_bytes({**self.settings(), **values}))
