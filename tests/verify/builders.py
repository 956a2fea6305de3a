"""Builders for the verifier's adversarial tests: ledgers as a dishonest vendor writes them.

The vendor controls its ledger and its keys and can bypass the operator CLI
entirely, so everything here appends with the Ledger API (``Ledger.append``:
signed, hash-chained, no rule checks) and, for attacks on the evidence
bundle itself, edits the exported files.  Only the municipality's keys are
out of the vendor's reach: the approver key that signs approvals and the
witness key that cosigns checkpoints.

:class:`Site` is one contract's ledger plus what the municipality holds of it:
either checkpoints cosigned directly with ``ledger.cosignature.cosign`` and
kept in a hand-built :class:`~verify.trust.TrustAnchor`, or the real trust
store (:class:`verify.authority.Authority`: ``pin`` + ``add_checkpoint``).
Event bodies are realistic and built here (the same shapes as
``tests/world.py``'s, kept separate so that this suite does not move with
the lifecycle tests); every body appended with ``Site.do`` is validated
against its event schema first, so that a row's finding comes from the rule
it targets, not from a malformed body (I7).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger import canonical
from custody.ledger.bundle import Bundle, export_bundle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosign
from custody.ledger.entry import Entry, sign_entry
from custody.ledger.events import validate_body
from custody.ledger.ledger import Ledger
from custody.ledger.note import ALG_COSIGNATURE_V1, Signer, add_signatures, parse_note, sign_note
from custody.ledger.rfc6962 import leaf_hash, root_from_leaf_hashes
from custody.ledger.store import Head
from custody.verify.authority import Authority, Pin
from custody.verify.engine import Result, verify_bundle
from custody.verify.findings import ERROR, Finding
from custody.verify.rules import default_rules
from custody.verify.trust import TrustAnchor
from tests.helpers import LOG_PASSPHRASE, TEST_KDF_N, Parties, contract_toml
from tests.world import (
    approve,
    closed_body,
    departed_body,
    erased_body,
    iso,
    key,
    medium_fields,
    person_body,
    receipt,
    return_check,
    returned_body,
    signer,
    statement_body,
)

ORIGIN = "city.example.lg.jp/custody/2026-017/site-1"  # tests/helpers.py
AUTHORITY_PASSPHRASE = b"operator pass"  # tests/cli/conftest.py: CUSTODY_PASSPHRASE
# Agents in these stories are not watched for silence (C13 is a warning, tested elsewhere).
QUIET_OK_MS = 400 * 24 * 3600 * 1000


# --- keys and realistic event bodies (each fits its schema; ``Site.do`` checks) ---------------------------

JST = timezone(timedelta(hours=9))
START = datetime(2026, 4, 1, 9, 0, tzinfo=JST)  # approvals below run 04-01 .. 06-30




RESPONSIBLE = signer("resp-sato")
APPROVER = signer("city-approver")
WITNESS = signer("city.example.lg.jp/witness", ALG_COSIGNATURE_V1)
WITNESS_NAME = WITNESS.name


def municipality_parties() -> Parties:
    """The contract's keys: ``approve`` signs with its approver key."""
    return Parties(responsible=RESPONSIBLE, approver=APPROVER, witness=WITNESS)


class Clock:
    """The vendor's clock: one minute per entry; ``jump`` moves it (forward) to a given moment."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(minutes=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now

    def peek(self) -> datetime:
        return self.now + self.step

    def jump(self, moment: datetime) -> None:
        self.now = moment


# (contract, responsible vkey, log key, start) -> a closed ledger made by Ledger.create, and its clock after it.
_TEMPLATES: dict[tuple[bytes, str, bytes, datetime], tuple[Path, datetime]] = {}


def _new_ledger(path: Path, contract: bytes, responsible: Signer, log_key: Ed25519PrivateKey, clock: Clock) -> Ledger:
    """``Ledger.create`` at ``path``, made once per process for the same contract, keys and start and then copied:
    sealing the log key file (scrypt) is most of a new ledger's cost, and the copy is the same ledger byte for
    byte (the golden bundles, tests/vectors/bundles, rely on that)."""
    ident = (contract, responsible.verifier().vkey, log_key.private_bytes_raw(), clock.now)
    template = _TEMPLATES.get(ident)
    if template is None:
        # In the test run's shared folder (tests/conftest.py), removed when the run ends, whatever ends this process.
        home = Path(tempfile.mkdtemp(prefix="custody-site-template-", dir=os.environ.get("CUSTODY_TEST_SHARED_TMP")))
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        made = Clock(clock.now, clock.step)
        Ledger.create(home / "ledger", contract_toml=contract, responsible=responsible, log_key=log_key,
                      log_passphrase=LOG_PASSPHRASE, kdf_n=TEST_KDF_N, clock=made).close()
        template = _TEMPLATES[ident] = (home / "ledger", made.now)
    shutil.copytree(template[0], path)
    clock.jump(template[1])
    return Ledger.open(path, clock=clock)


class Site:
    """A vendor's ledger for the contract of tests/helpers.py and the municipality's view of it."""

    def __init__(self, root: Path, *, parties: Parties | None = None, log_key: Ed25519PrivateKey | None = None,
                 authority: bool = False, start: datetime = START, contract: bytes | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.parties = parties or municipality_parties()
        self.clock = Clock(start)
        self._log_key = log_key or key("log:" + ORIGIN)
        self.ledger = _new_ledger(root / "ledger", contract or contract_toml(self.parties), self.parties.responsible,
                                  self._log_key, self.clock)
        self.log = Signer(self.ledger.origin, self._log_key)
        self.signers: dict[str, Signer] = {self.parties.responsible.name: self.parties.responsible}
        self.people: list[str] = []  # registered people (not agents): each signs a statement before the close
        self.held: list[bytes] = []  # checkpoints the municipality cosigned (the hand-built trust store)
        self.authority: Authority | None = None
        self._stamp = 1_775_000_000
        if authority:
            self.use_authority()

    # --- the vendor's acts (no rule checks: the CLI is bypassed) ---

    def signer(self, actor: str) -> Signer:
        if actor not in self.signers:
            self.signers[actor] = signer(actor)
        return self.signers[actor]

    def do(self, type_: str, body: dict[str, Any], actor: str = "resp-sato") -> Entry:
        """Append a signed entry, whatever rule it breaks (its body must fit its schema)."""
        validate_body(type_, body)
        return self.ledger.append(type_, body, self.signer(actor))

    def backdated(self, type_: str, body: dict[str, Any], at: str, actor: str = "resp-sato") -> Entry:
        """Append an entry whose ``at`` the vendor chose, bypassing the ledger's clock check."""
        validate_body(type_, body)
        signer = self.signer(actor)

        def make(head: Head) -> Entry:
            return sign_entry(origin=self.ledger.origin, seq=head.size, prev=head.last_leaf_hash, type=type_, at=at,
                              body=body, signer=signer)

        return self.ledger.store.append(make)

    @property
    def size(self) -> int:
        return self.ledger.store.size

    def next_at(self) -> str:
        return iso(self.clock.peek())

    def attach(self, data: bytes) -> str:
        return self.ledger.store.put_attachment(data)

    # --- common sequences (honest unless told otherwise) ---

    def person(self, name: str, **kw: Any) -> Entry:
        if kw.get("role") != "agent":
            self.people.append(name)
        return self.do("personnel.registered", person_body(name, **kw))

    def staff(self) -> None:
        """The vendor's operator and the work-location agent, then the agent starts."""
        self.person("op-tanaka")
        self.person("agent-ws01", role="agent")
        self.do("agent.started", {"host": "ws-01", "observed_at": self.next_at(),
                                  "config": {"heartbeat_interval_ms": 60000, "allowed_gap_ms": QUIET_OK_MS}},
                actor="agent-ws01")

    def receive(self, media_id: str = "M-001", serial: str = "SN-001", **kw: Any) -> Entry:
        rec = kw.pop("receipt", None) or receipt()
        return self.do("media.received", {**medium_fields(media_id, serial, **kw), "receipt": rec})

    def register(self, media_id: str = "V-001", serial: str = "VSN-001", actor: str = "resp-sato") -> Entry:
        body = {**medium_fields(media_id, serial, records=0, my_number=False), "source": "vendor stock",
                "purpose": "作業用の複製先"}
        body["contents"] = {"items": [], "records": 0, "my_number": False}
        return self.do("media.registered", body, actor=actor)

    def checkout(self, media_id: str = "M-001", person: str = "op-tanaka") -> Entry:
        return self.do("media.checked_out", {"media_id": media_id, "person": person, "purpose": "データ移行作業"},
                       actor=person)

    def checkin(self, media_id: str = "M-001", person: str = "op-tanaka") -> Entry:
        return self.do("media.checked_in", {"media_id": media_id, "person": person, "seals_intact": True},
                       actor=person)

    def copy(self, source: str = "M-001", target: str = "C-001", serial: str = "CSN-001", *,
             note: str | None = None, actor: str = "op-tanaka", **contents: Any) -> Entry:
        note = note or approve("copy", "K-1", [source])
        return self.do("copy.made", {"approval": note, "source_media_id": source,
                                     **medium_fields(target, serial, **contents)}, actor=actor)

    def erase(self, media_id: str, actor: str = "op-tanaka") -> Entry:
        return self.do("media.erased", erased_body(media_id), actor=actor)

    def depart(self, media_ids: list[str], *, note: str | None = None, actor: str = "op-tanaka",
               **over: Any) -> Entry:
        note = note or approve("takeout", "T-1", media_ids)
        return self.do("takeout.departed", departed_body(note, media_ids, **over), actor=actor)

    def takeout_returned(self, departed: Entry, media_ids: list[str], actor: str = "op-tanaka") -> Entry:
        return self.do("takeout.returned", {"takeout_seq": departed.seq, "media_ids": media_ids,
                                            "check": return_check()}, actor=actor)

    def approve_disposal(self, media_ids: list[str], approval_id: str = "D-1", **over: Any) -> Entry:
        return self.do("disposal.approved", {"approval": approve("dispose", approval_id, media_ids, **over)})

    def disposed_body(self, media_id: str = "M-001", serial: str = "SN-001", approval_id: str = "D-1",
                      **over: Any) -> dict[str, Any]:
        """A complete per-serial disposal record with a real photo and certificate attachment."""
        photo = self.attach(f"photo of {serial} in the shredder".encode())
        cert = self.attach(f"destruction certificate for {serial}".encode())
        person = {"name": "佐藤 一郎", "organisation": "株式会社サンプル", "title": "作業責任者"}
        body: dict[str, Any] = {
            "certificate_number": "C-0001", "approval_id": approval_id, "media_id": media_id, "serial": serial,
            "make": "Buffalo", "model": "RUF3-K32GA", "backup": {"made": False},
            "method": {"category": "destroy", "technique": "shred", "tool": {"name": "shredder X-1"}},
            # The act's own times: over by the time it is recorded (C17).
            "start": iso(self.clock.now - timedelta(minutes=1)), "end": iso(self.clock.now), "place": "第2開発室",
            "operator": person, "responsible": person,
            "witness": {"name": "山田 花子", "organisation": "例市", "title": "主査"},
            "verification": {"method": "visual inspection of fragments", "result": "pass", "verifier": "resp-sato"},
            "photos": [{"attachment": photo, "name": f"{serial}.jpg", "serial_visible": True}],
            "certificate": {"attachment": cert, "name": f"{serial}.pdf"},
        }
        body.update(over)
        return body

    def dispose(self, media_id: str = "M-001", serial: str = "SN-001", approval_id: str = "D-1",
                actor: str = "resp-sato", **over: Any) -> Entry:
        return self.do("media.disposed", self.disposed_body(media_id, serial, approval_id, **over), actor=actor)

    def destroy(self, media_id: str = "M-001", serial: str = "SN-001", approval_id: str = "D-1") -> None:
        """Approved, witnessed, per-serial destruction of one medium."""
        self.approve_disposal([media_id], approval_id, serials={media_id: serial})
        self.dispose(media_id, serial, approval_id)

    def volume(self, media_id: str | None, serial: str | None, **over: Any) -> dict[str, Any]:
        """What the agent reports of a volume (matched to a medium or not)."""
        body = {"volume_id": f"uuid:{serial}", "uuid": f"uuid-{serial}" if serial else None, "label": "USB",
                "serial": serial, "filesystem": "vfat", "mount_point": "/media/usb", "read_only": False,
                "media_id": media_id, "media_state": None, "matched_by": "serial" if media_id else None,
                "write_covered": False, "approval": None, "observed_at": self.next_at()}
        body.update(over)
        return body

    def attached(self, media_id: str | None, serial: str | None, **over: Any) -> Entry:
        return self.do("volume.attached", self.volume(media_id, serial, **over), actor="agent-ws01")

    def written(self, media_id: str | None, serial: str | None, n: int = 3, **over: Any) -> Entry:
        files = [{"path": f"/media/usb/export-{i}.csv", "size": 1024 * (i + 1), "sha256": f"{i:02x}" * 32}
                 for i in range(n)]
        body = {**self.volume(media_id, serial), "count": n, "files": files, **over}
        return self.do("files.written", body, actor="agent-ws01")

    def give_back(self, media_id: str = "M-001") -> Entry:
        """Return a medium to the municipality, with a receipt."""
        return self.do("media.returned", returned_body(media_id))

    def incident(self, kind: str, media_ids: list[str], situation: str, **over: Any) -> Entry:
        body = {"kind": kind, "detected_at": self.next_at(), "notified_at": self.next_at(), "media_ids": media_ids,
                "situation": situation, **over}
        return self.do("incident.reported", body)

    def agent_stop(self) -> Entry:
        return self.do("agent.stopped", {"host": "ws-01", "observed_at": self.next_at()}, actor="agent-ws01")

    def close(self) -> Entry:
        """Every registered person's own no-data statement (C23), then the close."""
        for name in dict.fromkeys(self.people):
            self.do("personnel.statement", statement_body(name), actor=name)
        return self.do("contract.closed", closed_body())

    # --- the municipality's side ---

    def use_authority(self, *, pin: bool = True) -> Authority:
        """The real trust store (witness key of the contract); with ``pin``, the ledger pinned from its genesis
        entry (else pin it with ``custody authority trust``)."""
        if self.authority is None:
            self.authority = Authority.create(self.root / "authority", WITNESS_NAME, AUTHORITY_PASSPHRASE,
                                              private_key=key(WITNESS_NAME), kdf_n=TEST_KDF_N)
            if pin:
                self.authority.pin(Pin.from_genesis(self.ledger.store.leaf(0),
                                                    log_vkey=self.ledger.log_verifier().vkey))
        return self.authority

    def checkpoint(self) -> tuple[int, bytes]:
        info = self.ledger.checkpoint(self.log)
        return info.size, info.note

    def cosign(self, at: datetime | None = None) -> bytes:
        """Sign a checkpoint of the head and have the municipality cosign it (at ``at``, its witness's time;
        default a minute after the previous cosignature) and keep it.

        With a trust store (``use_authority``) this is the real witness (``add_checkpoint``, with a
        consistency proof from the size it last cosigned); else a direct cosignature by the witness key.
        The cosigned note is merged into the vendor's ledger, as ``custody witness import`` does.
        """
        size, note = self.checkpoint()
        self._stamp = int(at.timestamp()) if at is not None else self._stamp + 60
        if self.authority is not None:
            from tests.verify.witness_fixtures import request_body

            head = self.authority.latest(self.ledger.origin)
            old = 0 if head is None else head.size
            signer = self.authority.witness_signer(AUTHORITY_PASSPHRASE)
            if old == 0 and size > 1:
                # The witness's first cosignature is of the genesis tree (docs/spec.md §8.2), as the client sends it.
                first = self.authority.add_checkpoint(request_body(self.ledger, 1, 0), signer, self._stamp)
                assert first.ok and first.note is not None, (first.status, first.reason)
                self.ledger.merge_cosignatures(first.note)
                old = 1
            decision = self.authority.add_checkpoint(request_body(self.ledger, size, old), signer, self._stamp)
            assert decision.ok and decision.note is not None, (decision.status, decision.reason)
            cosigned = decision.note
        else:
            cosigned = add_signatures(note, [cosign(parse_note(note).text, self._stamp, self.parties.witness)])
            self.held.append(cosigned)
        self.ledger.merge_cosignatures(cosigned)
        return cosigned

    def trust(self) -> TrustAnchor:
        """What the municipality holds: its pins and the checkpoints it cosigned."""
        if self.authority is not None:
            return self.authority.trust_anchor(self.ledger.origin)
        return TrustAnchor(
            origin=self.ledger.origin,
            log_vkey=self.ledger.log_verifier().vkey,
            genesis_leaf_hash=self.ledger.genesis().leaf_hash,
            approver_vkeys=(self.parties.approver.verifier().vkey,),
            witness_vkeys=(self.parties.witness.verifier().vkey,),
            held_checkpoints=tuple(self.held),
        )

    # --- handing over ---

    def export(self, name: str = "bundle") -> Path:
        out = self.root / name
        export_bundle(self.ledger.store, self.ledger.log_verifier().vkey, out)
        return out

    def fork(self, dest: Path, start: datetime) -> Site:
        """A copy of this ledger as it stands (same origin, keys and genesis): append to each and they diverge."""
        self.ledger.close()
        shutil.copytree(self.root / "ledger", dest / "ledger")
        self.ledger = Ledger.open(self.root / "ledger", clock=self.clock)
        other = object.__new__(Site)
        other.root, other.parties, other._log_key, other.log = dest, self.parties, self._log_key, self.log
        other.clock = Clock(start)
        other.ledger = Ledger.open(dest / "ledger", clock=other.clock)
        other.signers, other.held, other.authority, other._stamp = dict(self.signers), [], None, self._stamp
        other.people = list(self.people)
        return other

    def close_ledger(self) -> None:
        self.ledger.close()


# --- tampering ---


def rewrite_lines(bundle: Path, change: Callable[[list[bytes]], list[bytes]], *, fix_manifest: bool = True) -> None:
    """Rewrite an exported bundle's entries.jsonl with ``change(lines)``; ``fix_manifest``: as a careful forger
    would, the manifest made to match."""
    path = bundle / "entries.jsonl"
    lines = path.read_bytes().splitlines()
    data = b"".join(x + b"\n" for x in change(lines))
    path.write_bytes(data)
    if fix_manifest:
        manifest = json.loads((bundle / "manifest.json").read_bytes())
        manifest["files"]["entries.jsonl"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        manifest["size"] = len(data.splitlines())
        (bundle / "manifest.json").write_bytes(canonical.dumps(manifest) + b"\n")


# --- verifying ---


def verify(bundle: Path, trust: TrustAnchor) -> Result:
    with Bundle(bundle) as b:
        return verify_bundle(b, trust, default_rules(), workers=1)


def errors(result: Result) -> set[str]:
    return {f.code for f in result.findings if f.severity == ERROR}


def findings(result: Result, code: str, severity: str = ERROR) -> list[Finding]:
    return [f for f in result.findings if f.code == code and f.severity == severity]


def describe(result: Result) -> str:
    return "\n".join(f"{f.severity:7} {f.code:3} seq={f.seq} media={f.media} {f.message}" for f in result.findings)


# --- editing an exported bundle (the careful forger keeps the manifest consistent) ---


def entry_lines(bundle: Path) -> list[bytes]:
    return (bundle / "entries.jsonl").read_bytes().splitlines()


def seq_of(bundle: Path, type_: str, nth: int = 0) -> int:
    seqs = [i for i, line in enumerate(entry_lines(bundle)) if json.loads(line)["type"] == type_]
    return seqs[nth]


def fix_manifest(bundle: Path) -> None:
    """Recompute the manifest over the files as they now are (what a forger does after editing)."""
    manifest = json.loads((bundle / "manifest.json").read_bytes())
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in bundle.rglob("*") if p.is_file() and p.name != "manifest.json"):
        data = path.read_bytes()
        files[path.relative_to(bundle).as_posix()] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    manifest["files"] = files
    manifest["size"] = len(entry_lines(bundle))
    manifest["checkpoints"] = sorted(int(p.stem) for p in (bundle / "checkpoints").glob("*.checkpoint"))
    (bundle / "manifest.json").write_bytes(canonical.dumps(manifest) + b"\n")


def rewrite_entries(bundle: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    lines = change(entry_lines(bundle))
    (bundle / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    fix_manifest(bundle)


def checkpoint_files(bundle: Path) -> Iterator[tuple[int, Path]]:
    for path in sorted((bundle / "checkpoints").glob("*.checkpoint")):
        yield int(path.stem), path


def resign_history(bundle: Path, site: Site, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    """Rewrite the history with the vendor's own keys: edit the entries, re-chain and re-sign every one with
    its actor's key, re-sign a checkpoint at each size the bundle had with the log key (the municipality's
    cosignatures no longer fit and are dropped), and fix the manifest.  Nothing in the bundle shows it."""
    objs = change([json.loads(line) for line in entry_lines(bundle)])
    prev, leaves = bytes(32), []
    for seq, obj in enumerate(objs):
        entry = sign_entry(origin=site.ledger.origin, seq=seq, prev=prev, type=obj["type"], at=obj["at"],
                           body=obj["body"], signer=site.signer(obj["actor"]))
        leaves.append(entry.leaf)
        prev = entry.leaf_hash
    (bundle / "entries.jsonl").write_bytes(b"".join(leaf + b"\n" for leaf in leaves))
    hashes = [leaf_hash(leaf) for leaf in leaves]
    for size, path in list(checkpoint_files(bundle)):
        path.unlink()
        if 0 < size <= len(leaves):
            text = Checkpoint(site.ledger.origin, size, root_from_leaf_hashes(hashes[:size])).to_text()
            path.write_bytes(sign_note(text, [site.log]))
    shutil.rmtree(bundle / "proofs", ignore_errors=True)
    fix_manifest(bundle)


def forged_witness() -> Signer:
    """A key the vendor made and named like the municipality's witness."""
    return Signer(WITNESS_NAME, key("vendor-made witness"), alg=ALG_COSIGNATURE_V1)
