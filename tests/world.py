"""A small custody world for the rule tests: deterministic keys, realistic bodies, approvals, a clock.

Every body built here matches its schema (tests/schemas/test_event_schemas.py checks that), so the
lifecycle tests exercise the shapes the CLI will write.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger.approval import sign_approval
from custody.ledger.lifecycle import Event, LedgerState, apply, check, new_state
from custody.ledger.note import ALG_COSIGNATURE_V1, Signer
from custody.ledger.violation import Violation

ORIGIN = "city.example.lg.jp/custody/2026-017/site-1"
JST = timezone(timedelta(hours=9))
START = datetime(2026, 4, 1, 9, 0, tzinfo=JST)
SHA = "ab" * 32
SHA2 = "cd" * 32


def key(name: str) -> Ed25519PrivateKey:
    """A deterministic private key for ``name``: every test module derives the same one."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"custody-test-key:" + name.encode()).digest())


def signer(name: str, alg: int = 0x01) -> Signer:
    return Signer(name, key(name), alg)


RESPONSIBLE = signer("resp-sato")
APPROVER = signer("city-approver")
OTHER_APPROVER = signer("other-city-approver")
WITNESS = signer("city.example.lg.jp/witness", ALG_COSIGNATURE_V1)
LOG = signer(ORIGIN)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def genesis_body(*, my_number: bool = True, takeout: bool = True, copy: bool = True,
                 subcontracting: bool = True) -> dict[str, Any]:
    return {
        "contract_id": "2026-017",
        "title": "住民記録システム改修業務",
        "municipality": {"name": "例市", "department": "市民課"},
        "vendor": {"name": "株式会社サンプル", "address": ""},
        "period": {"start": "2026-04-01", "end": "2027-03-31"},
        "work_locations": [{"id": "site-1", "name": "本社 第2開発室", "address": ""}],
        "data_items": [{"name": "住民基本台帳", "records": 1200, "my_number": my_number, "classification": "機密性3"}],
        "my_number": my_number,
        "permits": {"takeout": takeout, "copy": copy, "subcontracting": subcontracting},
        "approver_vkeys": [APPROVER.verifier().vkey],
        "witness_vkeys": [WITNESS.verifier().vkey],
        "responsible": {
            "name": "佐藤 一郎", "organisation": "株式会社サンプル", "title": "作業責任者",
            "vkey": RESPONSIBLE.verifier().vkey, "pledge_date": "2026-03-20", "training_date": "2026-03-25",
        },
        "log_vkey": LOG.verifier().vkey,
        # Periodic reports (C22) are tested on their own (tests/ledger/test_duties.py); the other tests run
        # months of ledger time without them.
        "reporting": {"periodic_days": 400},
    }


def person_body(name: str, *, tier: str = "vendor", role: str = "operator", organisation: str = "株式会社サンプル",
                subcontract_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "vkey": signer(name).verifier().vkey, "name": f"{name} さん", "organisation": organisation,
        "tier": tier, "role": role,
    }
    if role != "agent":
        # reported_at: a change of staff is reported to the municipality before the person acts (C23).
        body.update(pledge_date="2026-03-28", training_date="2026-03-29", reported_at="2026-04-01T08:00:00+09:00")
    else:
        body["host"] = "ws-01"
    if subcontract_id:
        body["subcontract_id"] = subcontract_id
    return body


def contents(*, my_number: bool = True, records: int = 1200) -> dict[str, Any]:
    return {"items": [{"name": "住民基本台帳", "records": records, "my_number": my_number}],
            "records": records, "my_number": my_number, "classification": "機密性3"}


def medium_fields(media_id: str, serial: str, *, kind: str = "usb", my_number: bool = True,
                  records: int = 1200) -> dict[str, Any]:
    return {
        "media_id": media_id, "kind": kind, "make": "Buffalo", "model": "RUF3-K32GA", "serial": serial,
        "capacity": "32 GB", "hardware_encryption": True, "volume_uuid": f"uuid-{serial}",
        "contents": contents(my_number=my_number, records=records),
        "storage": {"place": "第2開発室", "cabinet": "施錠保管庫A"}, "custodian": "resp-sato",
    }


def receipt(number: str = "R-2026-001", *, quantity: int = 1, records: int = 1200) -> dict[str, Any]:
    return {
        "number": number, "at": "2026-04-01T10:00:00+09:00", "place": "例市役所 市民課", "means": "by_hand",
        "from": {"organisation": "例市 市民課", "person": "山田 花子"},
        "to": {"organisation": "株式会社サンプル", "person": "佐藤 一郎"},
        "items": [{"name": "住民基本台帳", "media_name": "USBメモリ", "quantity": quantity, "records": records}],
        "seals": ["S-0001"], "encrypted": True, "return_due": "2027-03-31T17:00:00+09:00",
    }


def received_body(media_id: str = "M-001", serial: str = "SN-001", **kw: Any) -> dict[str, Any]:
    rec = kw.pop("receipt", None) or receipt()
    return {**medium_fields(media_id, serial, **kw), "receipt": rec}


def registered_body(media_id: str = "V-001", serial: str = "VSN-001", **kw: Any) -> dict[str, Any]:
    kw.setdefault("my_number", False)
    kw.setdefault("records", 0)
    body = medium_fields(media_id, serial, **kw)
    body["contents"] = {"items": [], "records": 0, "my_number": False}
    return {**body, "source": "vendor stock", "purpose": "作業用の複製先"}


def approval_body(kind: str, approval_id: str, media_ids: list[str], *, serials: dict[str, str] | None = None,
                  **over: Any) -> dict[str, Any]:
    """A valid approval body; ``over`` replaces fields (None removes one); ``serials``: a disposal item's serial
    by media id (default SN-<number>)."""
    media = media_ids
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
                    carriers=["op-tanaka"], encryption_min="AES-256")
    elif kind == "copy":
        body.update(copies=1, disposal={"method": "erase", "by": "2026-06-30T23:59:59+09:00"})
    elif kind == "dispose":
        body.update(application={
            "number": "D-2026-001",
            "items": [{"name": "住民基本台帳", "media_name": "USBメモリ", "media_id": m, "serial": (serials or {}).get(
                m, "SN-" + m.split("-")[-1]), "quantity": 1} for m in media],
            "method": {"category": "destroy", "technique": "shred"},
            "tool": "shredder X-1", "planned_date": "2026-05-01", "place": "第2開発室",
            "witness_required": True,
        })
    elif kind == "subcontract":
        body.update(media=[], subcontractor={
            "name": "株式会社下請", "tier": "subcontractor", "reason": "繁忙期の入力作業",
            "scope": "データ入力", "data_handled": "住民基本台帳の氏名・住所(個人番号を含む)", "safeguards": "特記事項の遵守",
            "supervision": "週次報告と実地確認",
        })
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}  # None: leave the field out


def approve(kind: str, approval_id: str, media_ids: list[str], *, by: Signer = APPROVER, origin: str = ORIGIN,
            serials: dict[str, str] | None = None, **over: Any) -> str:
    """A signed approval note (as text, the form an entry embeds)."""
    body = approval_body(kind, approval_id, media_ids, serials=serials, **over)
    return sign_approval(origin, body, by).decode("utf-8")


def encryption() -> dict[str, Any]:
    return {"method": "software", "algorithm": "AES-256-XTS", "verified_by": "resp-sato",
            "password_channel": "separately by phone"}


def departed_body(note: str, media_ids: list[str], **over: Any) -> dict[str, Any]:
    body = {"approval": note, "media_ids": media_ids, "destination": "例市役所 情報政策課",
            "transport": "by hand in a locked case", "carriers": ["op-tanaka"], "encryption": encryption(),
            "purpose": "データ移行", "planned_return": "2026-04-10T17:00:00+09:00", "seals": ["S-0100"]}
    body.update(over)
    return body


def return_check() -> dict[str, Any]:
    return {"count_out": 1, "count_in": 1, "count_match": True, "seals_intact": True, "checked_by": "resp-sato"}


def verification() -> dict[str, Any]:
    return {"method": "read-back of every sector", "result": "pass", "verifier": "resp-sato"}


def erased_body(media_id: str, category: str = "purge") -> dict[str, Any]:
    return {"media_id": media_id, "method": {"category": category, "technique": "cryptographic erase",
                                             "tool": {"name": "blkdiscard", "version": "2.39"}},
            "verification": verification(), "operator": "op-tanaka"}


def disposed_body(media_id: str, serial: str, approval_id: str = "D-1", **over: Any) -> dict[str, Any]:
    person = {"name": "佐藤 一郎", "organisation": "株式会社サンプル", "title": "作業責任者"}
    body: dict[str, Any] = {
        "certificate_number": "C-0001", "approval_id": approval_id, "media_id": media_id, "serial": serial,
        "make": "Buffalo", "model": "RUF3-K32GA", "backup": {"made": False},
        "method": {"category": "destroy", "technique": "shred", "tool": {"name": "shredder X-1"}},
        "start": "2026-04-01T09:00:00+09:00", "end": "2026-04-01T09:00:30+09:00", "place": "第2開発室",
        "operator": person, "responsible": person,
        "witness": {"name": "山田 花子", "organisation": "例市", "title": "主査"},
        "verification": {"method": "visual inspection of fragments", "result": "pass", "verifier": "resp-sato"},
        "photos": [{"attachment": SHA, "name": "serial.jpg", "serial_visible": True}],
        "certificate": {"attachment": SHA2, "name": "certificate.pdf"},
    }
    body.update(over)
    return body


def returned_body(media_id: str) -> dict[str, Any]:
    handover = {k: v for k, v in receipt("RET-001").items() if k != "seals"}  # seals: tests/ledger/test_duties.py
    return {"media_id": media_id, "receipt": {**handover, "items": [
        {"name": "住民基本台帳", "media_name": "USBメモリ", "media_id": media_id, "quantity": 1}]}}


def statement_body(key_name: str) -> dict[str, Any]:
    """A person's own no-data statement (personnel.statement, C23)."""
    return {"key_name": key_name, "no_data_kept": True, "statement": "委託者のデータを一切保持していません。",
            "scope": ["work_pcs", "personal_devices"]}


def closed_body() -> dict[str, Any]:
    return {"statement": {"no_data_remains": True, "scope": ["work_pcs", "backups", "mail"],
                          "text": "作業用PC・バックアップを含め、データは残存していません。"}}


def volume(media_id: str | None, serial: str | None, at: datetime, **over: Any) -> dict[str, Any]:
    body = {"volume_id": f"uuid:{serial}", "uuid": f"uuid-{serial}" if serial else None, "label": "USB",
            "serial": serial, "filesystem": "vfat", "mount_point": "/media/usb", "read_only": False,
            "media_id": media_id, "media_state": None, "matched_by": "serial" if media_id else None,
            "write_covered": False, "approval": None, "observed_at": iso(at)}
    body.update(over)
    return body


class World:
    """A ledger state driven by events with increasing seq and time (one minute apart)."""

    #: The municipality's attester keys the genesis pins (role -> vkeys); none, as in a contract made before
    #: attestations (a subclass pins some: tests/ledger/test_lifecycle_attestations.py).
    attesters: dict[str, list[str]] = {}  # noqa: RUF012 - read only

    def __init__(self, *, my_number: bool = True, with_people: bool = True, **permits: bool) -> None:
        self.state: LedgerState = new_state(ORIGIN)
        self.seq = 0
        self.now = START
        self.log: list[Violation] = []
        self.events: list[Event] = []
        self.takeout_of: dict[str, int] = {}
        self.serial_of: dict[str, str] = {}
        self._approvals = 0
        genesis = genesis_body(my_number=my_number, **permits)
        if self.attesters:
            genesis["attester_vkeys"] = self.attesters
        self.do("contract.opened", genesis)
        if with_people:
            self.do("personnel.registered", person_body("op-tanaka"))
            self.do("personnel.registered", person_body("agent-ws01", role="agent"))

    def event(self, type_: str, body: dict[str, Any], actor: str = "resp-sato",
              at: datetime | None = None) -> Event:
        self.now = at or self.now + timedelta(minutes=1)
        return Event(self.seq, type_, iso(self.now), actor, body)

    def do(self, type_: str, body: dict[str, Any], actor: str = "resp-sato",
           at: datetime | None = None) -> list[Violation]:
        """Apply (as the verifier does) and return the violations."""
        e = self.event(type_, body, actor, at)
        self.seq += 1
        self.events.append(e)
        found = apply(self.state, e)
        self.log.extend(found)
        return found

    def try_(self, type_: str, body: dict[str, Any], actor: str = "resp-sato",
             at: datetime | None = None) -> list[Violation]:
        """Check without applying (as the CLI does before writing); time does not advance."""
        saved = self.now
        e = self.event(type_, body, actor, at)
        self.now = saved
        return check(self.state, e)

    def ok(self, type_: str, body: dict[str, Any], actor: str = "resp-sato",
           at: datetime | None = None) -> None:
        found = self.do(type_, body, actor, at)
        errors = [v for v in found if v.severity == "error"]
        assert not errors, [(v.code, v.message_en) for v in errors]

    # --- common sequences ---

    def receive(self, media_id: str = "M-001", serial: str = "SN-001", **kw: Any) -> None:
        self.ok("media.received", received_body(media_id, serial, **kw))

    def register(self, media_id: str = "V-001", serial: str = "VSN-001") -> None:
        self.ok("media.registered", registered_body(media_id, serial))

    def checkout(self, media_id: str = "M-001") -> None:
        self.ok("media.checked_out", {"media_id": media_id, "person": "op-tanaka", "purpose": "データ移行作業"},
                actor="op-tanaka")

    def checkin(self, media_id: str = "M-001") -> None:
        self.ok("media.checked_in", {"media_id": media_id, "person": "op-tanaka", "seals_intact": True},
                actor="op-tanaka")

    def depart(self, media_ids: list[str], approval_id: str = "T-1", **over: Any) -> int:
        note = approve("takeout", approval_id, media_ids)
        seq = self.seq
        self.ok("takeout.departed", departed_body(note, media_ids, **over), actor="op-tanaka")
        for media_id in media_ids:
            self.takeout_of[media_id] = seq
        return seq

    def copy(self, source: str = "M-001", target: str = "C-001", serial: str = "CSN-001",
             approval_id: str = "K-1", **over: Any) -> None:
        note = approve("copy", approval_id, [source], **over)
        self.ok("copy.made", {"approval": note, "source_media_id": source, **medium_fields(target, serial)},
                actor="op-tanaka")

    def approve_disposal(self, media_ids: list[str], approval_id: str = "D-1", **over: Any) -> None:
        self.ok("disposal.approved", {"approval": approve("dispose", approval_id, media_ids, **over)})

    def dispose(self, media_id: str = "M-001", serial: str = "SN-001", approval_id: str = "D-1") -> None:
        # The act's own times lie before the entry (C17): it started and ended in the minute before it was recorded.
        self.ok("media.disposed", disposed_body(media_id, serial, approval_id, start=iso(self.now),
                                                end=iso(self.now + timedelta(seconds=30))))

    def statements(self) -> None:
        """Every registered person but the responsible signs their own no-data statement (C23)."""
        for person in list(self.state.people.values()):
            if person.role not in ("agent", "responsible"):
                self.ok("personnel.statement", statement_body(person.key_name), actor=person.key_name)

    def close(self) -> None:
        """The statements, then contract.closed (refused while anything is outstanding)."""
        self.statements()
        self.ok("contract.closed", closed_body())

    def fresh(self, prefix: str) -> str:
        self._approvals += 1
        return f"{prefix}-{self._approvals:03d}"

    def put(self, media_id: str, state: str, *, pending_disposal: bool = False) -> None:
        """Drive ``media_id`` into ``state`` through real, valid events (absent: do nothing).

        ``erased`` is reached by a plain erasure, or with ``pending_disposal`` by a destroy approval
        followed by an erasure (the approved destruction still to come).
        """
        serial = f"SN-{media_id}"
        self.serial_of[media_id] = serial
        if state == "absent":
            return
        self.receive(media_id, serial, receipt=receipt(f"R-{media_id}"), my_number=self.state.my_number)
        if state == "checked_out":
            self.checkout(media_id)
        elif state == "taken_out":
            self.depart([media_id], self.fresh("T"))
        elif state == "erased" and not pending_disposal:
            self.ok("media.erased", erased_body(media_id))
        elif state in ("disposal_approved", "erased", "disposed"):
            self.approve_disposal([media_id], self.fresh("D"), serials={media_id: serial})
            if state == "erased":
                self.ok("media.erased", erased_body(media_id))
            elif state == "disposed":
                approval_id = self.state.media[media_id].disposal_id
                assert approval_id is not None
                self.dispose(media_id, serial, approval_id)
        elif state == "returned":
            self.ok("media.returned", returned_body(media_id))
        elif state == "lost":
            self.do("incident.reported", {"kind": "lost", "detected_at": iso(self.now), "media_ids": [media_id],
                                          "situation": "保管庫の棚卸しで所在不明", "notified_at": iso(self.now)})
        assert self.state.state_of(media_id) == state, (media_id, self.state.state_of(media_id), state)

    def agent_start(self, allowed_ms: int = 86_400_000) -> None:
        """Start the agent (by default it may stay silent for a day: the test clock has no heartbeats)."""
        self.ok("agent.started", {"host": "ws-01", "observed_at": iso(self.now + timedelta(minutes=1)),
                                  "config": {"heartbeat_interval_ms": 60000, "allowed_gap_ms": allowed_ms}},
                actor="agent-ws01")


def codes(violations: list[Violation], *, severity: str | None = None) -> list[str]:
    return sorted({v.code for v in violations if severity is None or v.severity == severity})


def errors(violations: list[Violation]) -> list[str]:
    return codes(violations, severity="error")
