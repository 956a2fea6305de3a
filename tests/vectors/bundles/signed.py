"""A contract that pins the municipality's attesters, and the vendor's ledger of it, for the golden bundles of
the special terms' duties (C16-C24; docs/spec-rules.md §9).

:class:`SignedSite` is the verifier's adversarial :class:`~tests.verify.builders.Site` (the vendor appends with
the Ledger API, no rule checks) on a contract whose ``[municipality.attesters]`` pins a witness, a receiver, an
inspector and a completion checker (docs/spec.md §9.6).  Its acts carry what such a contract asks for: the
witness's signed attestation and the responsible person on every erasure and disposal of My Number media, the
receiver's signed receipt on a return, the inspector's signed inspection, the completion check on the close,
every worker's own no-data statement.  :func:`clean` is the complete, compliant contract with no finding at
all; each C16-C24 case of ``generate.py`` is a shorter story on the same contract (:func:`opened` ..
:func:`closed`) with one duty broken.

The attesters' keys come from fixed seeds (``tests/world.py``: ``key(name)``) and every attestation's times
are the site's fixed clock, so the ledgers are the same bytes each time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from custody.ledger.attestation import sign_attestation
from custody.ledger.entry import Entry
from custody.ledger.note import Signer
from tests.helpers import contract_text
from tests.verify.builders import START, Site, municipality_parties
from tests.world import ORIGIN, approve, erased_body, iso, receipt, returned_body, signer, statement_body

#: The municipality's people the contract pins, by role (docs/spec.md §9.6).
ATTESTERS: dict[str, Signer] = {
    "witness": signer("city-witness-yamada"),
    "receiver": signer("city-receiver"),
    "inspector": signer("city-inspector"),
    "completion": signer("city-checker"),
}
ROLE_OF = {"disposal_witness": "witness", "erasure_witness": "witness", "waiver": "witness",
           "return_receipt": "receiver", "inspection": "inspector", "completion_check": "completion"}
MUNICIPALITY = "例市"
VENDOR = "株式会社サンプル"
RESPONSIBLE_PERSON = {"name": "佐藤 一郎", "organisation": VENDOR, "title": "作業責任者"}
WITNESS_PERSON = {"name": "山田 花子", "organisation": MUNICIPALITY, "title": "主査"}


def contract(*, periodic_days: int = 400) -> bytes:
    """The tests' contract (tests/helpers.py) pinning :data:`ATTESTERS`; ``periodic_days``: the cadence of
    periodic reports and cosigned checkpoints (C22)."""
    parties = municipality_parties()
    text = contract_text(approver_vkey=parties.approver.verifier().vkey,
                         witness_vkey=parties.witness.verifier().vkey,
                         attesters={role: s.verifier().vkey for role, s in ATTESTERS.items()})
    return text.replace("periodic_days = 400", f"periodic_days = {periodic_days}").encode()


class SignedSite(Site):
    """A vendor's ledger of :func:`contract`, its acts signed by the municipality where the contract asks."""

    def __init__(self, root: Path, *, periodic_days: int = 400, start: datetime = START) -> None:
        super().__init__(root, parties=municipality_parties(), contract=contract(periodic_days=periodic_days),
                         start=start)
        self._attested = 0

    # --- the municipality's signed acts ---

    def attest(self, kind: str, media: list[str], *, by: Signer | None = None, **extra: Any) -> str:
        """An attestation of ``kind`` signed by the attester pinned for its role (or ``by``), made now."""
        role = ROLE_OF[kind]
        self._attested += 1
        now = iso(self.clock.now)
        body = {"kind": kind, "id": f"A-{self._attested:03d}", "media": media, "concerns": {},
                "seen": "確認した", "acted_at": now, "attested_at": now, "place": "本社 第2開発室",
                "attester": {**{k: WITNESS_PERSON[k] for k in ("name", "title", "organisation")}, "role": role},
                **extra}
        return sign_attestation(ORIGIN, body, by or ATTESTERS[role]).decode()

    # --- the vendor's acts, as the pinned contract asks for them ---

    def erase(self, media_id: str, actor: str = "op-tanaka", **over: Any) -> Entry:
        """Erasure with the responsible person and the witness's signed attestation (第11-3/5)."""
        body = {**erased_body(media_id), "responsible": RESPONSIBLE_PERSON, "witness": WITNESS_PERSON,
                "attestation": self.attest("erasure_witness", [media_id]), **over}
        return self.do("media.erased", body, actor=actor)

    def dispose(self, media_id: str = "M-001", serial: str = "SN-001", approval_id: str = "D-1",
                actor: str = "resp-sato", **over: Any) -> Entry:
        """Disposal with the witness's signed attestation unless ``over`` says otherwise (None: leave it out)."""
        over.setdefault("attestation", self.attest("disposal_witness", [media_id]))
        body = {k: v for k, v in self.disposed_body(media_id, serial, approval_id, **over).items() if v is not None}
        return self.do("media.disposed", body, actor=actor)

    def give_back(self, media_id: str = "M-001") -> Entry:
        """A return with the receiver's signed receipt."""
        return self.do("media.returned", {**returned_body(media_id),
                                          "attestation": self.attest("return_receipt", [media_id])})

    def inspect(self, parties: tuple[str, ...] = (VENDOR,)) -> Entry:
        """An on-site inspection by the municipality's inspector, checking ``parties``."""
        note = self.attest("inspection", [], inspection={
            "method": "on_site", "checks": [{"party": p, "item": "register", "complied": True} for p in parties],
            "result": "適合"})
        return self.do("inspection.recorded", {
            "date": iso(self.clock.now)[:10], "type": "on_site",
            "inspector": {"name": WITNESS_PERSON["name"], "organisation": MUNICIPALITY}, "attestation": note})

    def periodic(self, start: str, end: str) -> Entry:
        """A periodic report to the municipality (3(6)) for ``start`` .. ``end`` (dates)."""
        return self.do("report.periodic", {"period": {"from": start, "to": end}, "summary": "作業と媒体の状況の報告",
                                           "submitted_to": {"organisation": MUNICIPALITY, "person": "山田 花子"}})

    def close(self, *, without: tuple[str, ...] = ()) -> Entry:
        """Every registered person's own no-data statement but ``without``'s (C23), then the close with the
        completion check."""
        for name in dict.fromkeys(self.people):
            if name not in without:
                self.do("personnel.statement", statement_body(name), actor=name)
        return self.do("contract.closed", {
            "statement": {"no_data_remains": True, "scope": ["work_pcs", "backups", "mail"],
                          "text": "作業用PC・バックアップを含め、データは残存していません。"},
            "attestation": self.attest("completion_check", [])})

    def later(self, days: float) -> None:
        """Move the vendor's clock ``days`` forward (the work of the days between is not recorded)."""
        self.clock.jump(self.clock.now + timedelta(days=days))

    def cosign_now(self) -> bytes:
        """A checkpoint of the head, cosigned by the municipality's witness at the site's present time."""
        return self.cosign(at=self.clock.now)


# --- the stories -------------------------------------------------------------------------------------------


def opened(tmp: Path, *, periodic_days: int = 400) -> SignedSite:
    """The start of every signed case: the contract, the vendor's operator and agent, M-001 received."""
    site = SignedSite(tmp / "vendor", periodic_days=periodic_days)
    site.staff()
    site.receive()
    return site


def closed(site: SignedSite, *, inspect: tuple[str, ...] | None = (VENDOR,),
           without: tuple[str, ...] = ()) -> tuple[Site, Path]:
    """The end of every signed case: the inspection (none when ``inspect`` is None), agent stopped, contract
    closed with the statements and the completion check, the head cosigned."""
    if inspect is not None:
        site.inspect(inspect)
    site.agent_stop()
    site.close(without=without)
    site.cosign_now()
    return site, site.export()


def clean(tmp: Path) -> tuple[Site, Path]:
    """A complete, compliant contract in which the municipality signs its own acts: receipt, checkout, an
    approved copy erased after use under a signed witness, an approved encrypted takeout returned, a second
    medium returned against the receiver's signed receipt, a periodic report, the signed inspection, witnessed
    per-serial destruction, every worker's statement, the close with the completion check; cosigned half-way
    and at the end.  No finding at all."""
    site = opened(tmp)
    site.receive("M-002", "SN-002", receipt={**receipt("R-2026-002"), "seals": ["S-0002"]})
    site.checkout()
    site.attached("M-001", "SN-001")
    site.copy()
    site.written("C-001", "CSN-001")
    site.erase("C-001")
    site.checkin()
    departed = site.depart(["M-001"])
    site.takeout_returned(departed, ["M-001"])
    site.cosign_now()
    site.give_back("M-002")
    site.periodic("2026-04-01", "2026-04-01")
    site.destroy()
    return closed(site)


# --- one duty broken (each a golden case of generate.py) ---------------------------------------------------


def subcontractor_outside_its_data(tmp: Path) -> tuple[Site, Path]:
    """C16: the subcontractor approved for 印鑑登録原票 only checks out a medium of 住民基本台帳."""
    site = opened(tmp)
    subcontractor = {"name": "株式会社下請", "tier": "subcontractor", "reason": "繁忙期の入力作業",
                     "scope": "データ入力", "data_handled": "印鑑登録原票(氏名・住所の表示のみ)",
                     "safeguards": "特記事項の遵守", "supervision": "週次報告と実地確認"}
    site.do("subcontract.approved", {"approval": approve("subcontract", "SC-1", [], subcontractor=subcontractor)})
    site.person("sub-ito", tier="subcontractor", organisation="株式会社下請", subcontract_id="SC-1")
    site.checkout(person="sub-ito")
    site.checkin(person="sub-ito")
    site.give_back()
    return closed(site, inspect=(VENDOR, "株式会社下請"))


def disposal_started_before_its_approval(tmp: Path) -> tuple[Site, Path]:
    """C17: the destruction's own recorded start lies before the disposal approval was signed."""
    site = opened(tmp)
    site.approve_disposal(["M-001"], "D-1", serials={"M-001": "SN-001"})
    site.dispose(start="2026-03-31T14:00:00+09:00")  # the approval: approved_at 2026-03-31T15:00
    return closed(site)


def checkout_cites_another_seal(tmp: Path) -> tuple[Site, Path]:
    """C18: the check-out cites a seal the medium was never known to carry (received under S-0001)."""
    site = opened(tmp)
    site.do("media.checked_out", {"media_id": "M-001", "person": "op-tanaka", "purpose": "データ移行作業",
                                  "seals": ["S-0999"]}, actor="op-tanaka")
    site.checkin()
    site.give_back()
    return closed(site)


def disposal_outside_the_work_locations(tmp: Path) -> tuple[Site, Path]:
    """C19: the medium is destroyed at a place that is not a designated work location."""
    site = opened(tmp)
    site.approve_disposal(["M-001"], "D-1", serials={"M-001": "SN-001"})
    site.dispose(place="委託先の倉庫(未承認)")
    return closed(site)


def closed_without_inspection(tmp: Path) -> tuple[Site, Path]:
    """C20: the contract closes with no inspection by the municipality (3(7))."""
    site = opened(tmp)
    site.give_back()
    return closed(site, inspect=None)


def incident_reported_late(tmp: Path) -> tuple[Site, Path]:
    """C21: a suspected incident is notified to the municipality 30 hours after it was detected (the contract
    allows 24); its detailed report follows."""
    site = opened(tmp)
    site.later(2)
    detected = iso(site.clock.now - timedelta(hours=30))
    first = site.incident("suspicion", ["M-001"], "保管庫の封印に剥がれの疑い", detected_at=detected)
    site.incident("suspicion", ["M-001"], "詳細報告: 封印の剥がれは搬入時の貼付不良", detected_at=detected,
                  detail_of=first.seq)
    site.give_back()
    return closed(site)


def no_periodic_report(tmp: Path) -> tuple[Site, Path]:
    """C22: a contract that asks for a report every 7 days runs 10 days with none (its checkpoints are cosigned
    every 5 days)."""
    site = opened(tmp, periodic_days=7)
    site.cosign_now()
    site.later(5)
    site.checkout()
    site.cosign_now()
    site.later(5)
    site.checkin()
    site.give_back()
    return closed(site)


def cosigned_checkpoints_too_far_apart(tmp: Path) -> tuple[Site, Path]:
    """C22: a contract that asks for a cosigned checkpoint and a periodic report every 7 days; the reports come
    every 5 days, but no checkpoint is cosigned for 10 days."""
    site = opened(tmp, periodic_days=7)
    site.cosign_now()
    site.later(5)
    site.periodic("2026-04-01", "2026-04-06")
    site.later(5)
    site.periodic("2026-04-06", "2026-04-11")
    site.give_back()
    return closed(site)


def worker_without_a_statement(tmp: Path) -> tuple[Site, Path]:
    """C23: the contract closes while the operator has signed no statement that they keep no data."""
    site = opened(tmp)
    site.give_back()
    return closed(site, without=("op-tanaka",))


def disposal_with_a_typed_witness(tmp: Path) -> tuple[Site, Path]:
    """C24: My Number media destroyed with the witness's name typed into the record, no signed attestation."""
    site = opened(tmp)
    site.approve_disposal(["M-001"], "D-1", serials={"M-001": "SN-001"})
    site.dispose(attestation=None)
    return closed(site)


def witness_of_another_municipality(tmp: Path) -> tuple[Site, Path]:
    """C24: the destruction's witness attestation is signed by another municipality's witness key."""
    site = opened(tmp)
    site.approve_disposal(["M-001"], "D-1", serials={"M-001": "SN-001"})
    site.dispose(attestation=site.attest("disposal_witness", ["M-001"], by=signer("other-city-witness")))
    return closed(site)
