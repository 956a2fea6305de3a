"""Builders for the authority and witness tests: a trust store whose witness key is the contract's,
real ledgers (made with the Ledger API), forks of them, and request bodies."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.ledger import Ledger
from custody.ledger.note import ALG_COSIGNATURE_V1, Signer, parse_note
from custody.ledger.witness_protocol import AddCheckpointRequest, format_add_checkpoint
from custody.verify.authority import Authority, Pin
from tests.helpers import LOG_PASSPHRASE, TEST_KDF_N, Parties, StepClock, contract_toml

WITNESS_NAME = "city.example.lg.jp/witness"
WITNESS_PASSPHRASE = b"witness pass"


@dataclass
class World:
    """A vendor's ledger and the municipality's trust store that pinned it."""

    root: Path
    ledger: Ledger
    parties: Parties
    log: Signer
    authority: Authority
    witness: Signer

    def note(self, n: int = 1) -> None:
        for _ in range(n):
            self.ledger.append("note.recorded", {"text": f"note {self.ledger.store.size}"}, self.parties.responsible)

    def checkpoint(self) -> int:
        return self.ledger.checkpoint(self.log).size

    def grow(self, n: int = 1) -> int:
        """Append n entries and sign a checkpoint; its size."""
        self.note(n)
        return self.checkpoint()

    def request(self, size: int | None = None, old: int = 0, *, ledger: Ledger | None = None) -> bytes:
        return request_body(ledger or self.ledger, size, old)

    def seed(self, timestamp: int = 1) -> None:
        """The witness's first cosignature, of the genesis tree (size 1): every later one extends it
        (docs/spec.md §8.2)."""
        decision = self.authority.add_checkpoint(self.request(1), self.witness, timestamp)
        assert decision.ok, decision.reason

    def close(self) -> None:
        self.ledger.close()


def request_body(ledger: Ledger, size: int | None, old: int) -> bytes:
    """The add-checkpoint body for the stored checkpoint of ``size`` (latest if None) from ``old``."""
    if size is None:
        latest = ledger.latest_checkpoint()
        assert latest is not None
        size, note = latest
    else:
        stored = ledger.store.checkpoint(size)
        assert stored is not None, f"no checkpoint of size {size}"
        note = stored
    proof = tuple(ledger.store.consistency_proof(old, size)) if 0 < old < size else ()
    return format_add_checkpoint(AddCheckpointRequest(old, proof, note))


def checkpoint_of(note: bytes) -> Checkpoint:
    return Checkpoint.parse(parse_note(note).text)


def make_world(root: Path, *, pin: bool = True, start: datetime | None = None,
               log_key: Ed25519PrivateKey | None = None, origin: str | None = None) -> World:
    """A trust store (witness key in the contract) and a ledger made with the Ledger API, pinned."""
    root.mkdir(parents=True, exist_ok=True)
    witness_key = Ed25519PrivateKey.generate()
    authority = Authority.create(root / "authority", WITNESS_NAME, WITNESS_PASSPHRASE,
                                 private_key=witness_key, kdf_n=TEST_KDF_N)
    witness = Signer(WITNESS_NAME, witness_key, alg=ALG_COSIGNATURE_V1)
    parties = Parties(
        responsible=Signer("resp-sato", Ed25519PrivateKey.generate()),
        approver=Signer("city-approver", Ed25519PrivateKey.generate()),
        witness=witness,
    )
    key = log_key or Ed25519PrivateKey.generate()
    ledger = Ledger.create(
        root / "ledger",
        contract_toml=contract_toml(parties) if origin is None else contract_toml(parties, origin=origin),
        responsible=parties.responsible,
        log_key=key,
        log_passphrase=LOG_PASSPHRASE,
        kdf_n=TEST_KDF_N,
        clock=StepClock(start),
    )
    if pin:
        authority.pin(Pin.from_genesis(ledger.store.leaf(0), log_vkey=ledger.log_verifier().vkey))
    return World(root, ledger, parties, Signer(ledger.origin, key), authority, witness)


def fork_ledger(world: World, dest: Path) -> Ledger:
    """A copy of the world's ledger as it stands (same origin, log key and genesis): append to
    each and their histories diverge."""
    world.ledger.close()
    shutil.copytree(world.root / "ledger", dest)
    world.ledger = Ledger.open(world.root / "ledger", clock=StepClock(datetime(2026, 5, 1, 9, 0, tzinfo=UTC)))
    return Ledger.open(dest, clock=StepClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC)))
