"""Builders shared by the tests: keys, a contract file, a fresh ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger.entry import parse_entry
from custody.ledger.ledger import Ledger
from custody.ledger.note import ALG_COSIGNATURE_V1, Signer
from custody.ledger.proof import verify_consistency, verify_inclusion
from custody.ledger.rfc6962 import leaf_hash, root_from_leaf_hashes
from custody.ledger.store import Store

ORIGIN = "city.example.lg.jp/custody/2026-017/site-1"
TEST_KDF_N = 2**15
LOG_PASSPHRASE = b"log-pass"


@dataclass
class Parties:
    responsible: Signer
    approver: Signer
    witness: Signer


def make_parties() -> Parties:
    return Parties(
        responsible=Signer("resp-sato", Ed25519PrivateKey.generate()),
        approver=Signer("city-approver", Ed25519PrivateKey.generate()),
        witness=Signer("city.example.lg.jp/witness", Ed25519PrivateKey.generate(), alg=ALG_COSIGNATURE_V1),
    )


# A data item of the contract: name, records, and its own my_number flag (None: not stated).
DataItem = tuple[str, int, bool | None]


def contract_text(*, approver_vkey: str, witness_vkey: str, origin: str = ORIGIN, my_number: bool = True,
                  end: str = "2027-03-31", data_items: Sequence[DataItem] = (("住民基本台帳", 1200, None),),
                  attesters: dict[str, str] | None = None) -> str:
    """The tests' contract file (docs/contract.example.toml has every field explained); ``attesters``: role ->
    the vkey the municipality pins for it (``[municipality.attesters]``)."""
    pinned = "".join(f'{role} = ["{vkey}"]\n' for role, vkey in (attesters or {}).items())
    table = f"\n[municipality.attesters]\n{pinned}" if pinned else ""
    return f"""
[contract]
id = "2026-017"
origin = "{origin}"
title = "住民記録システム改修業務"
start = 2026-04-01
end = {end}
my_number = {_toml_bool(my_number)}

[municipality]
name = "例市"
department = "市民課"
approver_vkeys = ["{approver_vkey}"]
witness_vkeys = ["{witness_vkey}"]
{table}
[vendor]
name = "株式会社サンプル"

[responsible]
name = "佐藤 一郎"
organisation = "株式会社サンプル"
pledge_date = 2026-03-20
training_date = 2026-03-25

[[work_locations]]
id = "site-1"
name = "本社 第2開発室"
{"".join(_data_item(*item) for item in data_items)}
[permits]
takeout = true
copy = true
subcontracting = true

# Periodic reports (C22) are tested on their own; these contracts run months of ledger time without them.
[reporting]
periodic_days = 400
"""


def _toml_bool(value: bool) -> str:
    return "true" if value else "false"


def _data_item(name: str, records: int, my_number: bool | None) -> str:
    flag = "" if my_number is None else f"my_number = {_toml_bool(my_number)}\n"
    return f'\n[[data_items]]\nname = "{name}"\nrecords = {records}\n{flag}'


def contract_toml(parties: Parties, *, origin: str = ORIGIN, my_number: bool = True,
                  attesters: dict[str, str] | None = None) -> bytes:
    return contract_text(
        approver_vkey=parties.approver.verifier().vkey,
        witness_vkey=parties.witness.verifier().vkey,
        origin=origin,
        my_number=my_number,
        attesters=attesters,
    ).encode()


class StepClock:
    """A clock that advances one second per call (deterministic timestamps)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 4, 1, 9, 0, tzinfo=UTC).astimezone()

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def new_ledger(tmp: Path, parties: Parties | None = None, **kw: object) -> tuple[Ledger, Parties, Signer]:
    """A fresh ledger in tmp/ledger; returns (ledger, parties, log signer)."""
    parties = parties or make_parties()
    log_key = Ed25519PrivateKey.generate()
    ledger = Ledger.create(
        tmp / "ledger",
        contract_toml=contract_toml(parties),
        responsible=parties.responsible,
        log_key=log_key,
        log_passphrase=LOG_PASSPHRASE,
        kdf_n=TEST_KDF_N,
        clock=kw.get("clock", StepClock()),  # type: ignore[arg-type]
    )
    return ledger, parties, Signer(ledger.origin, log_key)


def check_chain(store: Store) -> None:
    """Links, roots of every size and proofs, all against the RFC 6962 reference."""
    leaves = [leaf for _s, leaf in store.leaves()]
    prev = bytes(32)
    for seq, leaf in enumerate(leaves):
        entry = parse_entry(leaf)
        assert entry.seq == seq and entry.prev == prev
        prev = leaf_hash(leaf)
    hashes = [leaf_hash(x) for x in leaves]
    size = len(leaves)
    assert store.size == size
    for n in range(size + 1):
        assert store.root(n) == root_from_leaf_hashes(hashes[:n])
    root = store.root()
    for i in range(size):
        verify_inclusion(hashes[i], i, size, store.inclusion_proof(i, size), root)
    for old in range(1, size):
        verify_consistency(old, size, store.consistency_proof(old, size), store.root(old), root)
