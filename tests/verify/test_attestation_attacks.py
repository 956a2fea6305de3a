"""The verifier and the municipality's signed acts (docs/spec.md §9.6, C24): a dishonest vendor bypasses the CLI
(Ledger API) and records a disposal witness attestation that is forged, signed by another municipality's witness
key, or signed by its own key posing as the municipality; each is a C24 error naming the medium, verified against
the keys the municipality pinned (the real trust store and a hand-built one)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from custody.ledger.attestation import sign_attestation
from custody.ledger.note import Signer
from tests.helpers import contract_toml
from tests.verify.builders import Site, municipality_parties, verify
from tests.world import ORIGIN, signer, statement_body

WITNESS = signer("city-witness-yamada")
INSPECTOR = signer("city-inspector")
CHECKER = signer("city-checker")
RECEIVER = signer("city-receiver")
PINNED = {"witness": WITNESS, "inspector": INSPECTOR, "completion": CHECKER, "receiver": RECEIVER}


def note(kind: str, media: list[str], by: Signer, *, role: str, **extra: object) -> str:
    return sign_attestation(ORIGIN, {
        "kind": kind, "id": f"{kind}-1", "media": media, "concerns": {}, "seen": "確認した",
        "acted_at": "2026-04-01T12:00:00+09:00", "attested_at": "2026-04-01T12:00:00+09:00", "place": "例市役所",
        "attester": {"name": "山田 花子", "title": "主査", "organisation": "例市", "role": role}, **extra,
    }, by).decode()


def site(tmp: Path, authority: bool) -> Site:
    parties = municipality_parties()
    pinned = {role: s.verifier().vkey for role, s in PINNED.items()}
    s = Site(tmp / "vendor", parties=parties, authority=authority,
             contract=contract_toml(parties, attesters=pinned))
    s.staff()
    s.receive()
    s.approve_disposal(["M-001"], "D-1", serials={"M-001": "SN-001"})
    return s


def finish(s: Site) -> Path:
    s.do("inspection.recorded", {"date": "2026-04-01", "type": "on_site", "inspector": {"name": "山田 花子"},
                                 "attestation": note("inspection", [], INSPECTOR, role="inspector", inspection={
                                     "method": "on_site",
                                     "checks": [{"party": "株式会社サンプル", "item": "register", "complied": True}]})})
    s.agent_stop()
    for name in dict.fromkeys(s.people):  # each worker's own no-data statement before the close (C23)
        s.do("personnel.statement", statement_body(name), actor=name)
    s.do("contract.closed", {"statement": {"no_data_remains": True, "scope": ["work_pcs"]},
                             "attestation": note("completion_check", [], CHECKER, role="completion")})
    s.cosign()
    return s.export()


@pytest.mark.parametrize("authority", [False, True], ids=["direct", "authority"])
def test_the_signed_story_is_clean(tmp_path: Path, authority: bool) -> None:
    s = site(tmp_path, authority)
    s.dispose(attestation=note("disposal_witness", ["M-001"], WITNESS, role="witness"))
    result = verify(finish(s), s.trust())
    assert result.ok and not result.findings, result.findings


ATTACKS: dict[str, tuple[Callable[[], str | None], str]] = {
    "forged": (lambda: note("disposal_witness", ["M-001"], WITNESS, role="witness").replace("確認した", "見ていない"),
               "altered or forged"),
    "other municipality's witness key": (
        lambda: note("disposal_witness", ["M-001"], signer("other-city-witness"), role="witness"),
        "not signed by a municipality key pinned for the witness"),
    "vendor key posing as the municipality": (
        lambda: note("disposal_witness", ["M-001"], signer("resp-sato"), role="witness"),
        "the vendor's key resp-sato"),
    "no signature, only a typed name": (lambda: None, "is not a witness"),
}


@pytest.mark.parametrize("authority", [False, True], ids=["direct", "authority"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_each_attack_is_caught(tmp_path: Path, attack: str, authority: bool) -> None:
    make, says = ATTACKS[attack]
    s = site(tmp_path, authority)
    attestation = make()
    s.dispose(**({} if attestation is None else {"attestation": attestation}))
    result = verify(finish(s), s.trust())
    assert not result.ok
    caught = [f for f in result.findings if f.code == "C24" and f.severity == "error"]
    assert caught and caught[0].media == "M-001" and caught[0].seq is not None
    assert any(says in f.message_in("en") for f in caught), [f.message_in("en") for f in caught]
    assert not {f.code for f in result.findings if f.severity == "error"} - {"C24"}, result.findings
