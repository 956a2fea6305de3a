"""Real ledgers for the report tests and the report benchmark, built with the Ledger API.

Bodies are built here and match the schemas; keys are deterministic, the clock
steps one minute per entry from 2026-04-01 10:00 JST, so the same scenario gives the same bundle
and the same reports, byte for byte.

``build(tmp, variant)``:

* ``"clean"``: a contract carried out by the book -- two media received under one handover
  receipt, a vendor medium, an approved copy, an approved and encrypted takeout that came back,
  an approved subcontractor whose operator works on a medium, an approved disposal of the
  original and the copy (witnessed and signed by the municipality's witness, photos with the serial,
  certificates), a return against the receiver's signed receipt, an erasure, an on-site inspection of
  the vendor and the subcontractor with a corrective action and its re-check, the agent seeing the copy
  attached, and the completion statement with the municipality's signed completion check; the
  municipality cosigned the final checkpoint (the contract pins the municipality's attester keys).
* ``"violations"``: the same, plus an unapproved sub-subcontractor (有限会社孫請) whose employee is
  registered, checks a medium out and carries it off site under an approval the municipality never
  signed (C9, C2), and a third medium that is lost (C14, 紛失).

``build_many(tmp, n)`` (the benchmark): n media received, checked out and in, half returned, half
disposed with full evidence, closed; appended in batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.cli.demo_photo import serial_photo
from custody.ledger.approval import sign_approval
from custody.ledger.attestation import sign_attestation
from custody.ledger.bundle import export_bundle
from custody.ledger.cosignature import cosign
from custody.ledger.entry import sign_entry
from custody.ledger.ledger import Ledger
from custody.ledger.note import ALG_COSIGNATURE_V1, Signer, add_signatures, parse_note
from custody.verify.authority import Authority, Pin
from custody.verify.trust import TrustAnchor
from tests.helpers import LOG_PASSPHRASE, TEST_KDF_N, Parties, contract_toml
from tests.world import (
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

ORIGIN = "city.example.lg.jp/custody/2026-017/site-1"
JST = timezone(timedelta(hours=9))
START = datetime(2026, 4, 1, 10, 0, tzinfo=JST)
COSIGN_TIME = int(datetime(2026, 4, 2, 9, 0, tzinfo=JST).timestamp())


RESPONSIBLE = signer("resp-sato")
APPROVER = signer("city-approver")
OTHER_APPROVER = signer("other-city-approver")
WITNESS = signer("city.example.lg.jp/witness", ALG_COSIGNATURE_V1)
PARTIES = Parties(responsible=RESPONSIBLE, approver=APPROVER, witness=WITNESS)
#: The municipality's people who sign its own acts (docs/spec.md §9.6), pinned by the contract per role.
ATTESTERS = {"witness": signer("city-witness-yamada"), "receiver": signer("city-receiver"),
             "inspector": signer("city-inspector"), "completion": signer("city-checker")}
_ROLE = {"disposal_witness": "witness", "return_receipt": "receiver", "inspection": "inspector",
         "completion_check": "completion"}


def attest(kind: str, number: str, media: list[str], *, origin: str = ORIGIN, **extra: Any) -> str:
    """The municipality's signed act (deterministic: fixed times, Ed25519)."""
    role = _ROLE[kind]
    body = {"kind": kind, "id": number, "media": media, "concerns": extra.pop("concerns", {}),
            "seen": extra.pop("seen", "確認した"), "acted_at": "2026-04-01T12:00:00+09:00",
            "attested_at": "2026-04-01T12:30:00+09:00", "place": "本社 第2開発室",
            "attester": {"name": "山田 花子", "title": "主査", "organisation": "例市 市民課", "role": role}, **extra}
    return sign_attestation(origin, body, ATTESTERS[role]).decode()


# --- the report scenario's own bodies (the common ones come from tests/world.py) ---


def received_body(media_id: str, serial: str, *, receipt: dict[str, Any]) -> dict[str, Any]:
    return {**medium_fields(media_id, serial), "receipt": receipt}


def registered_body(media_id: str, serial: str) -> dict[str, Any]:
    body = medium_fields(media_id, serial, my_number=False, records=0)
    body["contents"] = {"items": [], "records": 0, "my_number": False}
    return {**body, "source": "vendor stock", "purpose": "作業用の複製先"}


def approve(kind: str, approval_id: str, media: list[str], *, by: Signer = APPROVER,
            serials: dict[str, str] | None = None, carriers: list[str] | None = None, origin: str = ORIGIN) -> str:
    body: dict[str, Any] = {
        "kind": kind, "id": approval_id, "media": media, "purpose": "データ移行のため",
        "encryption_required": kind == "takeout",
        "valid_from": "2026-04-01T00:00:00+09:00", "valid_until": "2026-06-30T23:59:59+09:00",
        "max_uses": 1, "conditions": ["施錠ケースで運搬すること"],
        "approver": {"name": "鈴木 次郎", "title": "市民課長", "organisation": "例市"},
        "approved_at": "2026-03-31T15:00:00+09:00",
    }
    if kind == "takeout":
        body.update(destination="例市役所 情報政策課", transport="by hand in a locked case",
                    carriers=carriers or ["op-tanaka"], encryption_min="AES-256")
    elif kind == "copy":
        body.update(copies=1, disposal={"method": "erase", "by": "2026-06-30T23:59:59+09:00"})
    elif kind == "dispose":
        body["application"] = {
            "number": "D-2026-001",
            "items": [{"name": "住民基本台帳", "media_name": "USBメモリ", "media_id": m,
                       "serial": (serials or {}).get(m, m), "quantity": 1} for m in media],
            "method": {"category": "destroy", "technique": "shred"},
            "tool": "shredder X-1", "planned_date": "2026-05-01", "place": "第2開発室", "witness_required": True,
        }
    elif kind == "subcontract":
        body.update(media=[], subcontractor={
            "name": "株式会社下請", "tier": "subcontractor", "reason": "繁忙期の入力作業", "scope": "データ入力",
            "data_handled": "住民基本台帳の氏名・住所(個人番号を含む)", "safeguards": "特記事項の遵守", "supervision": "週次報告と実地確認",
        })
    return sign_approval(origin, body, by).decode("utf-8")


def departed_body(note: str, media_ids: list[str], *, carriers: list[str] | None = None,
                  destination: str = "例市役所 情報政策課") -> dict[str, Any]:
    return {"approval": note, "media_ids": media_ids, "destination": destination,
            "transport": "by hand in a locked case", "carriers": carriers or ["op-tanaka"],
            "encryption": {"method": "software", "algorithm": "AES-256-XTS", "verified_by": "resp-sato",
                           "password_channel": "separately by phone"},
            "purpose": "データ移行", "planned_return": "2026-04-10T17:00:00+09:00", "seals": ["S-0100"]}


def volume(media_id: str, serial: str, at: str) -> dict[str, Any]:
    return {"volume_id": f"uuid:{serial}", "uuid": f"uuid-{serial}", "label": "USB", "serial": serial,
            "filesystem": "vfat", "mount_point": "/media/usb", "read_only": False, "media_id": media_id,
            "media_state": None, "matched_by": "serial", "write_covered": False, "approval": None,
            "observed_at": at}


class MinuteClock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def peek(self) -> str:
        return iso(self.now + timedelta(minutes=1))


def log_key(origin: str = ORIGIN) -> Ed25519PrivateKey:
    return key(origin)


@dataclass
class Built:
    ledger: Ledger
    bundle: Path
    trust: TrustAnchor
    cosigned: bytes


def new(tmp: Path, *, origin: str = ORIGIN, municipality: str = "例市", contract_id: str = "2026-017",
        attesters: bool = False) -> tuple[Ledger, MinuteClock]:
    clock = MinuteClock()
    pinned = {role: s.verifier().vkey for role, s in ATTESTERS.items()} if attesters else None
    toml = contract_toml(PARTIES, origin=origin, attesters=pinned).decode("utf-8").replace(
        '[municipality]\nname = "例市"', f'[municipality]\nname = "{municipality}"').replace(
        'id = "2026-017"', f'id = "{contract_id}"')
    ledger = Ledger.create(tmp / "ledger", contract_toml=toml.encode("utf-8"), responsible=RESPONSIBLE,
                           log_key=log_key(origin), log_passphrase=LOG_PASSPHRASE, kdf_n=TEST_KDF_N, clock=clock)
    return ledger, clock


def finish(ledger: Ledger, tmp: Path, *, cosign_final: bool = True) -> Built:
    """Checkpoint, have the municipality cosign it, export the bundle; the trust the municipality holds.

    With ``cosign_final=False`` the municipality cosigned only the first checkpoint (the genesis).
    """
    ledger.checkpoint(Signer(ledger.origin, log_key(ledger.origin)))
    latest = ledger.store.latest_checkpoint()
    assert latest is not None
    size, note = latest
    if not cosign_final:
        first = ledger.store.checkpoint(1)
        assert first is not None
        size, note = 1, first
    merged = add_signatures(note, [cosign(parse_note(note).text, COSIGN_TIME, WITNESS)])
    ledger.store.add_checkpoint(size, merged, "2026-04-02T09:00:00.000+09:00")
    bundle = tmp / "bundle"
    export_bundle(ledger.store, ledger.log_verifier().vkey, bundle)
    trust = TrustAnchor(
        origin=ledger.origin,
        log_vkey=ledger.log_verifier().vkey,
        genesis_leaf_hash=ledger.genesis().leaf_hash,
        approver_vkeys=(APPROVER.verifier().vkey,),
        witness_vkeys=(WITNESS.verifier().vkey,),
        held_checkpoints=(merged,),
    )
    return Built(ledger, bundle, trust, merged)


def make_authority(built: Built, path: Path) -> Path:
    """A municipality trust store on disk that pinned the ledger and holds the cosigned checkpoint (made, or
    added to when ``path`` holds one already)."""
    witness_key = key(WITNESS.name)
    # A store that exists already (one municipality's, or a prefecture's) pins one more contract.
    exists = path.is_dir() and any(path.iterdir())
    authority = Authority.open(path) if exists else Authority.create(
        path, WITNESS.name, b"witness-pass", private_key=witness_key, kdf_n=TEST_KDF_N)
    authority.pin(Pin.from_entry(built.ledger.genesis(), pinned_at="2026-03-31T12:00:00+09:00"))
    authority.record_cosigned(built.trust.origin, built.cosigned)
    return path


def _disposed(ledger: Ledger, media_id: str, serial: str, approval_id: str, number: str, clock: MinuteClock,
              **over: Any) -> dict[str, Any]:
    photo = ledger.store.put_attachment(serial_photo(serial, "Buffalo", "RUF3-K32GA"))  # a real JPEG
    photo2 = ledger.store.put_attachment(f"photo of the shredder, {media_id}".encode())
    cert = ledger.store.put_attachment(f"certificate of destruction {number} for {serial}".encode())
    start = datetime.fromisoformat(clock.peek()) - timedelta(minutes=30)
    person = {"name": "佐藤 一郎", "organisation": "株式会社サンプル", "title": "作業責任者"}
    body: dict[str, Any] = {
        "certificate_number": number, "approval_id": approval_id, "media_id": media_id, "serial": serial,
        "make": "Buffalo", "model": "RUF3-K32GA", "backup": {"made": False},
        "method": {"category": "destroy", "technique": "shred", "tool": {"name": "shredder X-1"}},
        "start": iso(start), "end": iso(start + timedelta(minutes=20)), "place": "第2開発室",
        "operator": {"name": "田中 二郎", "organisation": "株式会社サンプル", "title": "作業従事者",
                     "contact": "03-0000-0000"},
        "responsible": person,
        "witness": {"name": "山田 花子", "organisation": "例市", "title": "主査"},
        "verification": {"method": "visual inspection of fragments", "result": "pass", "verifier": "resp-sato"},
        "photos": [{"attachment": photo, "name": f"{media_id}-serial.jpg", "serial_visible": True},
                   {"attachment": photo2, "name": f"{media_id}-shredder.jpg", "serial_visible": False}],
        "certificate": {"attachment": cert, "name": f"{number}.pdf"},
        "property_number": f"P-{serial}", "classification_before": "機密性3",
        "classification_after": "廃棄済(復元不能)", "remains_destination": "産業廃棄物処理業者 株式会社リサイクル",
        "validation": {"accepted_by": {"name": "山田 花子", "organisation": "例市", "title": "主査"},
                       "at": iso(start + timedelta(minutes=25))},
    }
    body.update(over)
    return body


approve_for = approve
attest_for = attest


def build(tmp: Path, variant: str = "clean", *, cosign_final: bool = True, close: bool = True,
          origin: str = ORIGIN, municipality: str = "例市", contract_id: str = "2026-017") -> Built:
    """One of the scenarios (module documentation); ``origin``, ``municipality`` and ``contract_id`` make
    another contract."""
    ledger, clock = new(tmp, origin=origin, municipality=municipality, contract_id=contract_id,
                        attesters=True)

    def approve(*args: Any, **kw: Any) -> str:
        return approve_for(*args, origin=origin, **kw)

    def attest(*args: Any, **kw: Any) -> str:
        return attest_for(*args, origin=origin, **kw)

    op = signer("op-tanaka")
    sub = signer("sub-suzuki")
    resp = RESPONSIBLE

    def do(type_: str, body: dict[str, Any], who: Signer = resp) -> int:
        return ledger.append(type_, body, who).seq

    do("personnel.registered", person_body("op-tanaka"))
    do("personnel.registered", person_body("agent-ws01", role="agent"))
    do("subcontract.approved", {"approval": approve("subcontract", "S-1", [])})
    do("personnel.registered", person_body("sub-suzuki", tier="subcontractor", organisation="株式会社下請",
                                           subcontract_id="S-1"))
    three = variant == "violations"
    quantity = 3 if three else 2
    rec = receipt("R-2026-001", quantity=quantity, records=1200 * quantity)
    do("media.received", received_body("M-001", "SN-001", receipt=rec))
    do("media.received", received_body("M-002", "SN-002", receipt=rec))
    if three:
        do("media.received", received_body("M-003", "SN-003", receipt=rec))
    do("media.registered", registered_body("V-001", "VSN-001"))
    do("media.checked_out", {"media_id": "M-001", "person": "op-tanaka", "purpose": "データ移行作業",
                             "workstation": "ws-01", "seals": ["S-0001"]}, op)
    do("copy.made", {"approval": approve("copy", "K-1", ["M-001"]), "source_media_id": "M-001",
                     **medium_fields("C-001", "CSN-001"), "copied_by": "op-tanaka"}, op)
    do("agent.started", {"host": "ws-01", "observed_at": clock.peek(),
                         "config": {"heartbeat_interval_ms": 60000, "allowed_gap_ms": 120000}},
       signer("agent-ws01"))
    do("volume.attached", volume("C-001", "CSN-001", clock.peek()), signer("agent-ws01"))
    do("agent.stopped", {"observed_at": clock.peek(), "reason": "作業終了"}, signer("agent-ws01"))
    do("media.checked_in", {"media_id": "M-001", "person": "op-tanaka", "seals_intact": True}, op)
    departed = do("takeout.departed", departed_body(approve("takeout", "T-1", ["M-002"]), ["M-002"]), op)
    do("takeout.returned", {"takeout_seq": departed, "media_ids": ["M-002"], "check": return_check()}, op)
    do("media.checked_out", {"media_id": "M-002", "person": "sub-suzuki", "purpose": "入力作業"}, sub)
    do("media.checked_in", {"media_id": "M-002", "person": "sub-suzuki", "seals_intact": True}, sub)
    if three:
        kato = signer("sub-kato")
        do("personnel.registered", person_body("sub-kato", tier="sub-subcontractor", organisation="有限会社孫請",
                                               subcontract_id="S-9"))
        do("media.checked_out", {"media_id": "M-002", "person": "sub-kato", "purpose": "自宅での入力作業"}, kato)
        forged = approve("takeout", "T-9", ["M-002"], by=OTHER_APPROVER, carriers=["sub-kato"])
        out = do("takeout.departed", departed_body(forged, ["M-002"], carriers=["sub-kato"],
                                                   destination="孫請の事務所"), kato)
        do("takeout.returned", {"takeout_seq": out, "media_ids": ["M-002"], "check": return_check()}, kato)
        detected = clock.peek()
        lost = do("incident.reported", {"kind": "lost", "detected_at": detected, "notified_at": detected,
                                        "media_ids": ["M-003"], "records": 1200, "encrypted": True,
                                        "place": "保管庫", "situation": "棚卸しで所在不明", "status": "open",
                                        "police_report": {"filed": True, "reference": "丸の内署 第123号"}})
        do("incident.reported", {"kind": "lost", "detected_at": detected, "detail_of": lost, "media_ids": ["M-003"],
                                 "records": 1200, "situation": "詳細報告: 保管庫の棚卸し漏れ。捜索を継続",
                                 "measures": "保管庫の出入記録を毎日照合する", "status": "contained"})
    do("disposal.approved", {"approval": approve("dispose", "D-1", ["M-001", "C-001"],
                                                 serials={"M-001": "SN-001", "C-001": "CSN-001"})})
    for media_id, serial, number in (("M-001", "SN-001", "C-0001"), ("C-001", "CSN-001", "C-0002")):
        witnessed = attest("disposal_witness", f"W-{media_id}", [media_id], concerns={"approval_id": "D-1"},
                           seen=f"{serial} の破砕を確認した")
        do("media.disposed", _disposed(ledger, media_id, serial, "D-1", number, clock, attestation=witnessed))
    do("media.returned", {**returned_body("M-002"), "attestation": attest("return_receipt", "R-M-002", ["M-002"])})
    do("media.erased", erased_body("V-001"), op)
    action = {"id": "CA-1", "what": "保管庫の鍵管理簿の様式を改める", "party": "株式会社サンプル", "due": "2026-04-30"}
    checks = [{"party": "株式会社サンプル", "item": "register", "complied": True, "evidence": "台帳と現物が一致"},
              {"party": "株式会社下請", "item": "subcontracting", "complied": True, "evidence": "誓約書を確認"}]
    inspected = attest("inspection", "I-1", [], inspection={
        "method": "on_site", "checks": checks, "findings": ["なし"], "corrective_actions": [action],
        "result": "適正"})
    do("inspection.recorded", {
        "date": "2026-04-01", "type": "on_site",
        "inspector": {"name": "山田 花子", "organisation": "例市 市民課", "title": "主査"},
        "tasks": ["媒体管理台帳と現物の照合", "作業場所の確認"],
        "checks": [{**c, "in_contract": True} for c in checks],
        "findings": ["なし"], "corrective_actions": [{"what": action["what"], "who": "佐藤 一郎", "by": action["due"]}],
        "result": "適正", "attestation": inspected})
    rechecked = attest("inspection", "I-2", [], inspection={
        "method": "paper", "checks": checks[:1], "closed_actions": [{"id": "CA-1", "closed_on": "2026-04-01"}],
        "result": "是正を確認"})
    do("inspection.recorded", {"date": "2026-04-01", "type": "paper",
                               "inspector": {"name": "山田 花子", "organisation": "例市 市民課", "title": "主査"},
                               "result": "是正を確認", "attestation": rechecked})
    if not close:
        return finish(ledger, tmp, cosign_final=cosign_final)
    for name in ("op-tanaka", "sub-suzuki", *(("sub-kato",) if three else ())):
        do("personnel.statement", statement_body(name), signer(name))
    do("contract.closed", {
        "statement": {"no_data_remains": True, "scope": ["work_pcs", "backups", "mail"],
                      "text": "作業用PC・バックアップ・電子メールを含め、データは残存していません。"},
        "completed_at": clock.peek(),
        "municipality_check": {"inspector": {"name": "山田 花子", "organisation": "例市", "title": "主査"},
                               "method": "実地確認及び証跡の検証", "date": "2026-04-02", "result": "適正に完了"},
        "attestation": attest("completion_check", "CC-1", [], seen="証跡を検証し、適正に完了したことを確認した")})
    return finish(ledger, tmp, cosign_final=cosign_final)


# What changes from one disposal to the next in a real contract: who shredded, which municipal officer
# witnessed, where, which media model, who took the remains.  ``build_many(varied=True)`` (the report
# benchmark) draws them from these, so that certificates do not all use the same characters (which would
# flatter the PDF font-subset cache, verify/reports/fontembed.py).
_OPERATORS = ("田中 二郎", "鈴木 健太", "高橋 美咲", "伊藤 翔", "渡辺 由紀子", "中村 剛")
_WITNESSES = ("山田 花子", "小林 誠", "加藤 恵美", "吉田 智之")
# Every place lies within the contract's work location (本社 第2開発室, C19).
_PLACES = ("第2開発室", "本社 第2開発室 破砕作業区画（3階）", "本社 第2開発室 搬出準備室")
_MODELS = (("Buffalo", "RUF3-K32GA"), ("I-O DATA", "EU3-PW/32GR"), ("ELECOM", "MF-ENU3A32GBK"),
           ("Logitec", "LMD-PBR20U3BK"))
_REMAINS = ("産業廃棄物処理業者 株式会社リサイクル", "廃棄物処理センター（例市清掃局）")


def varied_disposal(i: int) -> dict[str, Any]:
    make, model = _MODELS[i % len(_MODELS)]
    witness = _WITNESSES[i % len(_WITNESSES)]
    return {
        "operator": {"name": _OPERATORS[i % len(_OPERATORS)], "organisation": "株式会社サンプル",
                     "title": "作業従事者", "contact": "03-0000-0000"},
        "witness": {"name": witness, "organisation": "例市", "title": "主査"},
        "place": _PLACES[i % len(_PLACES)], "make": make, "model": model,
        "remains_destination": _REMAINS[i % len(_REMAINS)],
    }


def build_many(tmp: Path, n: int, *, batch: int = 500, varied: bool = False) -> Built:
    """n media: received, checked out and in, then half returned and half disposed; closed (valid entries).

    As a current contract: the municipality inspects, witnesses each disposal, signs each receipt and the
    completion check (docs/spec.md §9.6).  ``varied``: the disposals differ in people, place and model
    (``varied_disposal``), as a real contract's do.
    """
    ledger, clock = new(tmp, attesters=True)
    op = signer("op-tanaka")
    ledger.append("personnel.registered", person_body("op-tanaka"), RESPONSIBLE)
    pending: list[tuple[str, dict[str, Any], Signer]] = []

    def flush() -> None:
        makers = []
        for type_, body, who in pending:
            def make(head: Any, type_: str = type_, body: dict[str, Any] = body, who: Signer = who) -> Any:
                return sign_entry(origin=ledger.origin, seq=head.size, prev=head.last_leaf_hash, type=type_,
                                  at=iso(clock()), body=body, signer=who)
            makers.append(make)
        ledger.store.append_many(makers)
        pending.clear()

    def add(type_: str, body: dict[str, Any], who: Signer = RESPONSIBLE) -> None:
        pending.append((type_, body, who))
        if len(pending) >= batch:
            flush()

    ids = [f"M-{i:04d}" for i in range(n)]
    for i, media_id in enumerate(ids):
        rec = receipt(f"R-{i // 100:03d}", quantity=min(100, n - (i // 100) * 100),
                      records=1200 * min(100, n - (i // 100) * 100))
        add("media.received", received_body(media_id, f"SN-{i:06d}", receipt=rec))
    for media_id in ids:
        add("media.checked_out", {"media_id": media_id, "person": "op-tanaka", "purpose": "データ移行作業"}, op)
        add("media.checked_in", {"media_id": media_id, "person": "op-tanaka", "seals_intact": True}, op)
    dispose = ids[: n // 2]
    for start in range(0, len(dispose), 100):
        chunk = dispose[start:start + 100]
        note = approve("dispose", f"D-{start // 100 + 1:03d}", chunk,
                       serials={m: f"SN-{int(m[2:]):06d}" for m in chunk})
        add("disposal.approved", {"approval": note})
    flush()
    for i, media_id in enumerate(dispose):
        serial = f"SN-{int(media_id[2:]):06d}"
        approval_id = f"D-{i // 100 + 1:03d}"
        witnessed = attest("disposal_witness", f"W-{media_id}", [media_id], concerns={"approval_id": approval_id})
        add("media.disposed", _disposed(ledger, media_id, serial, approval_id, f"C-{i + 1:05d}", clock,
                                        attestation=witnessed, **(varied_disposal(i) if varied else {})))
    for media_id in ids[n // 2:]:
        add("media.returned", {**returned_body(media_id),
                               "attestation": attest("return_receipt", f"R-{media_id}", [media_id])})
    checks = [{"party": "株式会社サンプル", "item": "register", "complied": True}]
    add("inspection.recorded", {"date": "2026-04-01", "type": "on_site", "inspector": {"name": "山田 花子"},
                                "attestation": attest("inspection", "I-1", [], inspection={
                                    "method": "on_site", "checks": checks})})
    flush()
    ledger.append("personnel.statement", statement_body("op-tanaka"), signer("op-tanaka"))
    ledger.append("contract.closed", {"statement": {"no_data_remains": True, "scope": ["work_pcs", "backups"]},
                                      "attestation": attest("completion_check", "CC-1", [])}, RESPONSIBLE)
    return finish(ledger, tmp)
