"""Valid inputs to start from: the files of a real run of ``make demo``.

Every fuzz target damages inputs that custody itself wrote, so that most
cases get past the first byte and reach the checks deep inside a parser.
The demo's output directory (``demo-output`` by default) holds them:

* ``bundle/``: ``entries.jsonl``, ``manifest.json``, ``log.vkey``,
  ``checkpoints/*.checkpoint`` (with the witness's cosignatures),
  ``proofs/*.tlog-proof``;
* ``work/``: the approvals, the request documents given to ``--from-file``,
  the witness request and response, a tlog-proof;
* ``contract.toml``; ``ledger/ledger.db``, read only, for the inclusion and
  consistency proofs between the demo's checkpoints;
* ``keys/*.key`` with their ``.pass`` files (sealed private keys);
* ``authority/``: the municipality's trust store (``pin.json``,
  ``latest.json``, ``cosigned.jsonl`` and the cosigned checkpoints).

Keys the fuzzers sign with (an approver, a witness) are made here; nothing
the demo's keys signed is trusted by anything but the parsers themselves.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.note import ALG_COSIGNATURE_V1, Signer, Verifier, parse_note, sign_note
from custody.ledger.rfc6962 import leaf_hash
from custody.ledger.store import Store
from custody.ledger.tlogproof import TlogProof, format_tlog_proof
from custody.verify.witness import LogState, WitnessHead

REPO = Path(__file__).resolve().parent.parent
_VKEY = re.compile(r'"([^"\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+)"')


class SeedError(RuntimeError):
    """The demo's output is missing or incomplete (run ``make demo``)."""


@dataclass(frozen=True)
class Seeds:
    origin: str
    entries: tuple[bytes, ...]
    checkpoint_notes: tuple[bytes, ...]
    approvals: tuple[bytes, ...]  # re-signed with ``approver``: the note a vendor would be handed
    approval_bodies: tuple[Any, ...]  # the approvals' JSON bodies, for structure-aware mutation
    vkeys: tuple[bytes, ...]
    tlog_proofs: tuple[bytes, ...]
    manifest: bytes
    contracts: tuple[bytes, ...]
    json_documents: tuple[bytes, ...]  # the demo's --from-file bodies and request documents
    toml_documents: tuple[bytes, ...]
    witness_requests: tuple[bytes, ...]
    cosignature_responses: tuple[bytes, ...]
    log_verifier: Verifier
    witness_verifier: Verifier  # the demo's witness (its cosignatures are on the checkpoints)
    approver: Signer  # the fuzzers' approver, trusted by the approval target
    witness: Signer  # the fuzzers' witness, for the witness target's decisions
    witness_states: tuple[LogState, ...]  # the witness's state after each demo checkpoint (and before any)
    responsible_vkey: str
    key_files: tuple[tuple[bytes, bytes], ...]  # (key envelope, its passphrase) of the demo's people
    authority: Path  # the demo's municipality trust store, read only (the authority targets copy it)
    attestations: tuple[bytes, ...]  # the municipality's acts, re-signed with ``attester`` (its role's key)
    attestation_bodies: tuple[Any, ...]
    attester: Signer  # the fuzzers' attester, pinned for every role by the attestation target

    def json_seeds(self) -> tuple[bytes, ...]:
        """Every JSON text among the seeds, for the canonical-JSON target."""
        bodies = tuple(json.dumps(b, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
                       for b in self.approval_bodies)
        return (*self.entries, self.manifest, *self.json_documents, *bodies)


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file())


def load(demo: Path) -> Seeds:
    """The seeds of the demo output at ``demo``; SeedError if it is not there."""
    bundle, work = demo / "bundle", demo / "work"
    if not (bundle / "manifest.json").is_file() or not (demo / "ledger" / "ledger.db").is_file():
        raise SeedError(f"{demo} does not hold a demo run: run 'make demo' first")
    entries = tuple((bundle / "entries.jsonl").read_bytes().splitlines())
    checkpoint_notes = tuple(p.read_bytes() for p in _files(bundle / "checkpoints", "*.checkpoint"))
    log_vkey = (bundle / "log.vkey").read_text(encoding="utf-8").strip()
    log_verifier = Verifier.from_vkey(log_vkey)
    contract = (demo / "contract.toml").read_bytes()
    contract_vkeys = _VKEY.findall(contract.decode("utf-8"))
    witness_verifier = next(v for v in map(Verifier.from_vkey, contract_vkeys) if v.alg == ALG_COSIGNATURE_V1)
    genesis = json.loads(entries[0])

    approver = Signer("city-approver", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    witness = Signer("fuzz.example/witness", Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))),
                     ALG_COSIGNATURE_V1)
    approvals, bodies = [], []
    for path in _files(work, "*.approval"):
        text = parse_note(path.read_bytes()).text
        approvals.append(sign_note(text, [approver]))
        bodies.append(json.loads(text.split("\n")[2]))

    checkpoints = {Checkpoint.parse(parse_note(n).text).size: n for n in checkpoint_notes}
    heads = {size: Checkpoint.parse(parse_note(n).text).root_hash for size, n in checkpoints.items()}
    genesis_hash = leaf_hash(entries[0])
    states = [LogState(log_verifier.name, (log_verifier,), None, genesis_hash)]
    states += [LogState(log_verifier.name, (log_verifier,), WitnessHead(s, heads[s]), genesis_hash) for s in heads]

    witness_requests = [p.read_bytes() for p in _files(work, "witness-request.txt")]
    proofs = [p.read_bytes() for p in (*_files(bundle / "proofs", "*.tlog-proof"), *_files(work, "*.tlog-proof"))]
    store = Store.open(demo / "ledger" / "ledger.db", readonly=True)
    try:
        sizes = sorted(checkpoints)
        for i, new in enumerate(sizes):
            for old in (0, *sizes[:i]):
                lines = [f"old {old}\n".encode()]
                if old:
                    lines += [base64.b64encode(h) + b"\n" for h in store.consistency_proof(old, new)]
                witness_requests.append(b"".join(lines) + b"\n" + checkpoints[new])
        largest = sizes[-1]
        for seq in range(0, largest, 3):
            hashes = tuple(store.inclusion_proof(seq, largest))
            proofs.append(format_tlog_proof(TlogProof(seq, hashes, checkpoints[largest], b"x" if seq % 2 else None)))
    finally:
        store.close()

    attester = Signer("city-attester", Ed25519PrivateKey.from_private_bytes(bytes(range(3, 35))))
    attestations, attestation_bodies = [], []
    for path in sorted(p for p in work.iterdir() if p.is_file() and p.suffix in (".attestation", ".disposal-witness",
                                                                                 ".erasure-witness", ".receipt",
                                                                                 ".instruction", ".incident-ack")):
        text = parse_note(path.read_bytes()).text
        attestations.append(sign_note(text, [attester]))
        attestation_bodies.append(json.loads(text.split("\n")[2]))

    json_documents = [p.read_bytes() for p in _files(work, "*.json")]
    toml_documents = [contract, (REPO / "docs" / "contract.example.toml").read_bytes()]
    toml_documents += [p.read_bytes() for p in _files(demo / "ledger", "*.toml")]
    return Seeds(
        origin=log_verifier.name,
        entries=entries,
        checkpoint_notes=checkpoint_notes,
        approvals=tuple(approvals),
        approval_bodies=tuple(bodies),
        vkeys=tuple(v.encode() for v in (log_vkey, *contract_vkeys)),
        tlog_proofs=tuple(proofs),
        manifest=(bundle / "manifest.json").read_bytes(),
        contracts=(contract, (REPO / "docs" / "contract.example.toml").read_bytes()),
        json_documents=tuple(json_documents),
        toml_documents=tuple(toml_documents),
        witness_requests=tuple(witness_requests),
        cosignature_responses=tuple(p.read_bytes() for p in _files(work, "witness-response.txt")),
        log_verifier=log_verifier,
        witness_verifier=witness_verifier,
        approver=approver,
        witness=witness,
        witness_states=tuple(states),
        responsible_vkey=str(genesis["body"]["responsible"]["vkey"]),
        key_files=tuple((p.read_bytes(), p.with_suffix(".pass").read_bytes().rstrip(b"\r\n"))
                        for p in _files(demo / "keys", "*.key") if p.with_suffix(".pass").is_file()),
        authority=demo / "authority",
        attestations=tuple(attestations),
        attestation_bodies=tuple(attestation_bodies),
        attester=attester,
    )
