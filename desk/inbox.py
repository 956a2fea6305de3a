"""The approvals inbox: the vendor's applications and the approver's decisions on them.

An application is a ``custody/request/v1`` document (``custody takeout request``, ``copy request``,
``dispose request``, ``subcontract request``; docs/fields.md) uploaded in the page or dropped into
the workspace's ``inbox/`` folder.  It is known by its request digest (SHA-256 of its canonical bytes,
``custody.ledger.approval.request_digest``), which an approval quotes as ``request_sha256``: the same
application dropped twice is one application.

A file dropped in that is not a valid application is listed with the reason and cannot be decided; an
upload that is not one is refused and nothing is stored.  A decision -- approved (with the signed
approval) or rejected (with the reason) -- is written once and never replaced.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custody.desk.workspace import Workspace, json_bytes, write_atomic
from custody.ledger import canonical
from custody.ledger.approval import REQUEST_FORMAT, request_digest
from custody.ledger.errors import CanonicalJSONError, SchemaError, StoreError, UsageError
from custody.ledger.i18n import _
from custody.ledger.validation import validate

#: Largest application read, as ``custody approve`` reads one (cli/common.py, DOCUMENT_LIMIT).
MAX_APPLICATION = 4 * 1024 * 1024
_DIGEST = re.compile(r"[0-9a-f]{64}")
APPROVED = "approved"
REJECTED = "rejected"


class NotAnApplication(UsageError):
    """Bytes that are not a custody application (exit 2 in the CLI's terms: unusable input)."""


class AlreadyDecided(UsageError):
    """The application was decided before: a decision is written once and never replaced."""


@dataclass(frozen=True)
class Application:
    """One file of the inbox: a valid application (``doc``), or the reason it is not one (``problem``)."""

    file: str
    received_at: str
    digest: str = ""
    doc: Mapping[str, Any] = field(default_factory=dict)
    problem: str = ""

    @property
    def valid(self) -> bool:
        return not self.problem

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", ""))

    @property
    def origin(self) -> str:
        return str(self.doc.get("origin", ""))

    @property
    def media(self) -> list[str]:
        if self.kind == "dispose":
            items = self.doc.get("application", {}).get("items", [])
            return [str(i.get("media_id")) for i in items if isinstance(i, dict)]
        return [str(m) for m in self.doc.get("media", [])]


@dataclass(frozen=True)
class Decision:
    """What the approver decided on one application."""

    digest: str
    decision: str  # approved | rejected
    at: str
    approver: Mapping[str, str]
    reason: str = ""
    approval_id: str = ""
    signed_by: str = ""
    kind: str = ""

    @property
    def approved(self) -> bool:
        return self.decision == APPROVED

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "decision": self.decision, "at": self.at, "approver": dict(self.approver),
                "reason": self.reason, "approval_id": self.approval_id, "signed_by": self.signed_by,
                "kind": self.kind}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Decision:
        return cls(str(doc["digest"]), str(doc["decision"]), str(doc["at"]),
                   {str(k): str(v) for k, v in dict(doc.get("approver") or {}).items()},
                   str(doc.get("reason", "")), str(doc.get("approval_id", "")), str(doc.get("signed_by", "")),
                   str(doc.get("kind", "")))


def parse_application(data: bytes) -> tuple[str, dict[str, Any]]:
    """(request digest, document) of an application; NotAnApplication saying why it is not one."""
    if len(data) > MAX_APPLICATION:
        raise NotAnApplication(_("The file is larger than an application can be ({n} MiB).").format(
            n=MAX_APPLICATION >> 20))
    try:
        doc = canonical.loads(data)
    except CanonicalJSONError as exc:
        raise NotAnApplication(_("The file is not an application (not valid JSON: {why}).").format(
            why=exc.message)) from None
    if not isinstance(doc, dict) or doc.get("format") != REQUEST_FORMAT:
        raise NotAnApplication(_("The file is not an application (format {format} expected).").format(
            format=REQUEST_FORMAT))
    try:
        validate("request", doc)
    except SchemaError as exc:
        raise NotAnApplication(_("The application is not valid: {why}").format(why=exc.message)) from None
    if not isinstance(doc.get("origin"), str):
        raise NotAnApplication(_("The application names no ledger (origin); ask the vendor to make it again "
                                 "with the custody command."))
    return request_digest(doc), doc


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).astimezone().isoformat(timespec="seconds")


class Inbox:
    """The applications in the workspace's inbox and the decisions on them."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[tuple[int, int], Application]] = {}

    def applications(self) -> list[Application]:
        """Every file in the inbox, newest first; one entry per application (the first file naming it)."""
        out: dict[str, Application] = {}
        bad: list[Application] = []
        try:
            paths = sorted(p for p in self.workspace.inbox.iterdir() if p.is_file() and not p.name.startswith("."))
        except OSError as exc:
            raise StoreError(_("Cannot read {path}: {why}").format(path=self.workspace.inbox,
                                                                  why=exc.strerror or exc)) from None
        for path in paths:
            app = self._read(path)
            if app is None:
                continue
            if not app.valid:
                bad.append(app)
            elif app.digest not in out:
                out[app.digest] = app
        return sorted([*out.values(), *bad], key=lambda a: (a.received_at, a.file), reverse=True)

    def _read(self, path: Path) -> Application | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        stamp = (stat.st_size, stat.st_mtime_ns)
        cached = self._seen.get(path.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        received = _mtime(path)
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_APPLICATION + 1)
            digest, doc = parse_application(data)
            app = Application(path.name, received, digest, doc)
        except NotAnApplication as exc:
            app = Application(path.name, received, problem=exc.message)
        except OSError as exc:
            app = Application(path.name, received, problem=_("Cannot read {path}: {why}").format(
                path=path.name, why=exc.strerror or exc))
        self._seen[path.name] = (stamp, app)
        return app

    def get(self, digest: str) -> Application | None:
        return next((a for a in self.applications() if a.valid and a.digest == digest), None)

    def add(self, data: bytes) -> Application:
        """Store an uploaded application (NotAnApplication, and nothing stored, when it is not one)."""
        digest, doc = parse_application(data)
        existing = self.get(digest)
        if existing is not None:
            return existing
        name = f"{doc['kind']}-{digest[:16]}.json"
        write_atomic(self.workspace.inbox / name, data)
        app = self._read(self.workspace.inbox / name)
        assert app is not None
        return app

    # --- decisions ---

    def _decision_path(self, digest: str, suffix: str) -> Path:
        if not _DIGEST.fullmatch(digest):
            raise UsageError(_("No such application."))
        return self.workspace.decisions / f"{digest}{suffix}"

    def decision(self, digest: str) -> Decision | None:
        path = self._decision_path(digest, ".json")
        try:
            doc = canonical.loads(path.read_bytes())
            return Decision.from_json(doc)
        except FileNotFoundError:
            return None
        except (OSError, CanonicalJSONError, KeyError, TypeError, AttributeError):
            raise StoreError(_("The decision file {path} is damaged.").format(path=path),
                             hint=_("Restore the desk's folder from its backup.")) from None

    def approval_note(self, digest: str) -> bytes | None:
        try:
            return self._decision_path(digest, ".approval").read_bytes()
        except FileNotFoundError:
            return None

    def record(self, decision: Decision, approval: bytes | None = None) -> None:
        """Write a decision once (AlreadyDecided when the application was already decided)."""
        with self._lock:
            if self.decision(decision.digest) is not None:
                raise AlreadyDecided(_("This application was already decided; a decision is never replaced."))
            if approval is not None:
                write_atomic(self._decision_path(decision.digest, ".approval"), approval)
            try:
                write_atomic(self._decision_path(decision.digest, ".json"), json_bytes(decision.to_json()),
                             exclusive=True)
            except FileExistsError:
                raise AlreadyDecided(_("This application was already decided; a decision is never replaced.")) \
                    from None
