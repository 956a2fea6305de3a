"""Cosigning requests waiting for the municipality's witness, and what each would cosign.

A request is the file ``custody witness-request`` writes (a C2SP tlog-witness add-checkpoint body),
uploaded in the page or dropped into the workspace's ``witness/requests/`` folder.  Before anything is
signed the desk shows, for each, the contract it is for, the checkpoint (size, root hash), the size the
witness last cosigned and what the witness would answer: the witness's own decision
(``custody.verify.witness.add_checkpoint``, a dry run with no persistence) made with a throwaway key, so
the witness key stays sealed until the person cosigns.  Cosigning calls
``custody.verify.authority.Authority.add_checkpoint`` -- what ``custody witness cosign`` calls -- with the
witness key decrypted for that one signature; the answered request moves to ``witness/answered/`` with the
response file (``<name>.response``, for ``custody witness import``) or the refusal.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.desk.workspace import Workspace, json_bytes, write_atomic
from custody.ledger.errors import UsageError
from custody.ledger.i18n import _
from custody.ledger.note import ALG_COSIGNATURE_V1, Signer
from custody.verify.authority import Authority
from custody.verify.witness import Decision, ParsedRequest, add_checkpoint, parse_request, status_meaning

#: Largest request file read, as ``custody witness cosign`` (cli/municipality.py, MAX_FILE).
MAX_REQUEST = 1 << 20
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")


class NotARequest(UsageError):
    """A file that is not a witness request; nothing was kept."""


@dataclass(frozen=True)
class Waiting:
    """A request in the folder and the witness's answer if it cosigned now."""

    name: str
    received_at: str
    origin: str
    title: str
    size: int | None
    old_size: int | None
    root_hash: str
    proof_lines: int
    witness_size: int | None
    would_cosign: bool
    answer: str  # the status's meaning
    reason: str


@dataclass(frozen=True)
class Answered:
    name: str
    cosigned: bool
    answer: str
    reason: str
    at: str
    size: int | None


def _throwaway(authority: Authority) -> Signer:
    """A key to let the witness logic decide without the witness key (its signature is discarded)."""
    return Signer(authority.witness_key_name(), Ed25519PrivateKey.generate(), ALG_COSIGNATURE_V1)


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).astimezone().isoformat(timespec="seconds")


class WitnessDesk:
    def __init__(self, workspace: Workspace, authority_dir: Path) -> None:
        self.workspace = workspace
        self.authority_dir = authority_dir

    def _authority(self) -> Authority:
        return Authority.open(self.authority_dir)

    def _path(self, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise UsageError(_("No such request."))
        return self.workspace.witness_requests / name

    def waiting(self) -> list[Waiting]:
        authority = self._authority()
        paths = sorted(self.workspace.witness_requests.iterdir())
        return [self._preview(p, authority) for p in paths if p.is_file() and _NAME.fullmatch(p.name)]

    def _preview(self, path: Path, authority: Authority) -> Waiting:
        received = _mtime(path)
        data = path.read_bytes()[: MAX_REQUEST + 1]
        parsed = parse_request(data) if len(data) <= MAX_REQUEST else None
        if not isinstance(parsed, ParsedRequest):
            reason = parsed.reason if isinstance(parsed, Decision) else _("The file is too large to be a request.")
            return Waiting(path.name, received, "", "", None, None, "", 0, None, False,
                           status_meaning(400), reason)
        cp = parsed.checkpoint
        state = authority.log_state(cp.origin)
        title = str(authority.get_pin(cp.origin).contract.get("title") or "") if state is not None else ""
        decision = add_checkpoint(data, {cp.origin: state} if state is not None else {}, _throwaway(authority),
                                  int(time.time()))
        return Waiting(path.name, received, cp.origin, title, cp.size, parsed.request.old_size, cp.root_hash.hex(),
                       len(parsed.request.proof), None if state is None else state.size, decision.ok,
                       status_meaning(decision.status), decision.reason)

    def add(self, data: bytes, name: str) -> str:
        """Keep an uploaded request (NotARequest, nothing kept, when it is not one); returns its file name."""
        if len(data) > MAX_REQUEST:
            raise NotARequest(_("The file is too large to be a witness request."))
        parsed = parse_request(data)
        if isinstance(parsed, Decision):
            raise NotARequest(_("This is not a witness request: {why}").format(why=parsed.reason))
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).stem).strip("-.")[:60] or "request"
        final = f"{stem}-size{parsed.checkpoint.size}.txt"
        write_atomic(self.workspace.witness_requests / final, data)
        return final

    def cosign(self, name: str, passphrase: bytes) -> Answered:
        """Answer the request ``name`` as ``custody witness cosign``; the request moves to answered/."""
        path = self._path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UsageError(_("No such request (it may have been answered already).")) from None
        authority = self._authority()
        signer = authority.witness_signer(passphrase)
        decision = authority.add_checkpoint(data, signer, int(time.time()))
        del signer
        return self._file(path, data, decision)

    def _file(self, path: Path, data: bytes, decision: Decision) -> Answered:
        answered = self.workspace.witness_answered
        at = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
        size = None if decision.checkpoint is None else decision.checkpoint.size
        record = {"name": path.name, "cosigned": decision.ok, "status": decision.status, "reason": decision.reason,
                  "at": at, "size": size}
        if decision.ok:
            write_atomic(answered / f"{path.name}.response", decision.body)
        write_atomic(answered / path.name, data)
        write_atomic(answered / f"{path.name}.json", json_bytes(record))
        path.unlink(missing_ok=True)
        return Answered(path.name, decision.ok, status_meaning(decision.status), decision.reason, at, size)

    def answered(self) -> list[Answered]:
        import json

        out = []
        for path in sorted(self.workspace.witness_answered.glob("*.json"), reverse=True):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                out.append(Answered(str(doc["name"]), bool(doc["cosigned"]), status_meaning(int(doc["status"])),
                                    str(doc["reason"]), str(doc["at"]), doc.get("size")))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return sorted(out, key=lambda a: a.at, reverse=True)

    def response(self, name: str) -> bytes | None:
        if not _NAME.fullmatch(name):
            return None
        try:
            return (self.workspace.witness_answered / f"{name}.response").read_bytes()
        except OSError:
            return None


__all__ = ["Answered", "NotARequest", "Waiting", "WitnessDesk"]
