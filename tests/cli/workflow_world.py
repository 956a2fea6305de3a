"""A small custody world driven through the real CLI, for the workflow command tests.

``template(dir)`` builds once (per test module) the keys and a ledger with the
responsible person (resp-sato, in the genesis entry) and one operator
(op-tanaka) registered; ``CliWorld.copy_of(template, tmp)`` gives every test its
own copy.  Helpers run one command each and check its exit code; ``refused``
checks a refusal: exit 6, the rule code and texts on stderr, and the ledger
unchanged (same size and root).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from custody.ledger.approval import sign_approval
from custody.ledger.keyfile import read_key_file
from custody.ledger.ledger import Ledger
from custody.ledger.note import Signer
from tests.cli.conftest import Custody, Run
from tests.helpers import contract_text

PASSPHRASE = "operator pass"  # tests/cli/conftest.py: CUSTODY_PASSPHRASE
ORIGIN = "city.example.lg.jp/custody/2026-017/site-1"
APPROVER = ["--approver-name", "鈴木 次郎", "--approver-title", "市民課長", "--approver-organisation", "例市"]
KEY_NAMES = ("resp-sato", "city-approver", "op-tanaka", "op-kato", "sub-yamamoto", "subsub-ito")

# CliWorld.template's worlds as built, by its arguments (my_number, attesters, extra_keys), for this process.
_BUILT: dict[tuple[bool, tuple[tuple[str, str], ...], tuple[str, ...]], Path] = {}


def now(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC).astimezone() + delta).isoformat(timespec="seconds")


@dataclass
class CliWorld:
    root: Path
    custody: Custody

    # --- building ---

    @property
    def ledger(self) -> Path:
        return self.root / "L"

    def key(self, name: str) -> Path:
        return self.root / "keys" / f"{name.replace('/', '_')}.key"

    def vkey(self, name: str) -> str:
        return (self.root / "keys" / f"{name.replace('/', '_')}.vkey").read_text(encoding="utf-8").strip()

    def signer(self, name: str) -> Signer:
        key_name, private = read_key_file(self.key(name), PASSPHRASE.encode())
        return Signer(key_name, private)

    @classmethod
    def template(cls, root: Path, custody: Custody, *, my_number: bool = True,
                 attesters: dict[str, str] | None = None, extra_keys: tuple[str, ...] = ()) -> CliWorld:
        """``attesters``: role -> the key name the contract pins for it (keys made here, with ``extra_keys``).

        Built by the commands once per test process and arguments (kept aside as built, in ``_BUILT``); a later
        call copies that into ``root``: the same keys, contract and ledger, as ``copy_of`` gives each test."""
        made = (my_number, tuple(sorted((attesters or {}).items())), tuple(extra_keys))
        pristine = _BUILT.get(made)
        if pristine is not None:
            shutil.copytree(pristine, root, dirs_exist_ok=True)
            return cls(root, custody)
        w = cls(root, custody)
        (root / "keys").mkdir(parents=True)
        for name in (*KEY_NAMES, *(attesters or {}).values(), *extra_keys, "city.example.lg.jp/witness"):
            extra = ["--witness"] if name.endswith("witness") else []
            run = custody("key", "new", name, "-o", str(w.key(name)), "--json", *extra)
            assert run.code == 0, run.stderr
            (root / "keys" / f"{name.replace('/', '_')}.vkey").write_text(json.loads(run.stdout)["vkey"])
        contract = root / "contract.toml"
        # The CLI runs on the real clock: a contract period that does not end while these tests are kept.
        contract.write_text(contract_text(
            approver_vkey=w.vkey("city-approver"), witness_vkey=w.vkey("city.example.lg.jp/witness"),
            origin=ORIGIN, my_number=my_number, end="2036-03-31",
            data_items=(("住民基本台帳", 1200, my_number), ("印鑑登録原票", 300, None)),
            attesters={role: w.vkey(name) for role, name in (attesters or {}).items()},
        ), encoding="utf-8")
        run = custody("init", str(w.ledger), "--contract", str(contract), "--key", str(w.key("resp-sato")))
        assert run.code == 0, run.stderr
        w.ok("person", "add", "--vkey", w.vkey("op-tanaka"), "--name", "田中 二郎", "--pledge-date", "2026-03-27",
             "--training-date", "2026-03-28")
        # Aside from root, which callers go on to change (a zoo of media, a desk world): beside it, in the same
        # pytest temporary folder, kept for the session.
        pristine = root.with_name(f"{root.name}-pristine")
        shutil.copytree(root, pristine)
        _BUILT[made] = pristine
        return w

    @classmethod
    def copy_of(cls, template: CliWorld, root: Path, custody: Custody) -> CliWorld:
        shutil.copytree(template.root, root, dirs_exist_ok=True)
        return cls(root, custody)

    # --- running ---

    def run(self, *args: str, as_: str | None = "resp-sato", env: dict[str, str] | None = None) -> Run:
        extra = ["--ledger", str(self.ledger)]
        if as_ is not None:
            extra += ["--key", str(self.key(as_))]
        return self.custody(*args, *extra, env=env)

    def ok(self, *args: str, as_: str | None = "resp-sato") -> Run:
        run = self.run(*args, as_=as_)
        assert run.code == 0, f"custody {' '.join(args)} exited {run.code}:\n{run.stderr}"
        return run

    def snapshot(self) -> tuple[int, bytes, int]:
        with Ledger.open(self.ledger, readonly=True) as ledger:
            return ledger.store.size, ledger.store.root(), len(ledger.store.attachment_digests())

    def size(self) -> int:
        return self.snapshot()[0]

    def refused(self, *args: str, code: str, says: tuple[str, ...] = (), as_: str | None = "resp-sato",
                env: dict[str, str] | None = None) -> Run:
        """Exit 6, ``[code]`` and every text of ``says`` on stderr, and nothing written."""
        before = self.snapshot()
        run = self.run(*args, as_=as_, env=env)
        assert run.code == 6, f"custody {' '.join(args)} exited {run.code}, expected 6:\n{run.stdout}\n{run.stderr}"
        assert f"[{code}]" in run.stderr, run.stderr
        flat = " ".join(run.stderr.split())
        for text in says:
            assert " ".join(text.split()) in flat, f"{text!r} not in:\n{run.stderr}"
        assert self.snapshot() == before, "a refused command changed the ledger"
        return run

    def state(self) -> Any:
        from custody.ledger.workflow import current_state

        with Ledger.open(self.ledger) as ledger:
            return current_state(ledger)

    def state_of(self, media_id: str) -> str:
        return str(self.state().state_of(media_id))

    # --- the everyday steps ---

    def receive(self, media_id: str, serial: str | None = None, *, my_number: bool = False,
                item: str = "印鑑登録原票:300", as_: str = "resp-sato") -> None:
        args = ["media", "receive", "--media-id", media_id, "--kind", "usb", "--serial", serial or f"SN-{media_id}",
                "--item", item, "--receipt-number", f"R-{media_id}", "--from-person", "山田 花子",
                "--cabinet", "施錠保管庫A"]
        args.append("--my-number" if my_number else "--no-my-number")
        self.ok(*args, as_=as_)

    def checkout(self, media_id: str, as_: str = "op-tanaka") -> None:
        self.ok("media", "checkout", "--media-id", media_id, "--purpose", "データ移行作業", "--seal", "S-0001", as_=as_)

    def checkin(self, media_id: str, as_: str = "op-tanaka") -> None:
        self.ok("media", "checkin", "--media-id", media_id, "--seal", "S-0002", as_=as_)

    def request(self, kind: str, *args: str, name: str = "request", as_: str = "op-tanaka") -> Path:
        path = self.root / f"{name}.{kind}.request.json"
        self.ok(kind, "request", *args, "--output", str(path), "--key", str(self.key(as_)), as_=None)
        return path

    def approve(self, kind: str, request: Path, approval_id: str, *args: str, by: str = "city-approver") -> Path:
        path = self.root / f"{approval_id}.approval"
        run = self.custody("approve", kind, "--request", str(request), "--id", approval_id, "--output", str(path),
                           *APPROVER, *args, "--key", str(self.key(by)))
        assert run.code == 0, run.stderr
        return path

    def takeout_approval(self, media: list[str], approval_id: str, *args: str,
                         carriers: tuple[str, ...] = ("op-tanaka",)) -> Path:
        request = self.request(
            "takeout", *[a for m in media for a in ("--media-id", m)], "--purpose", "移行リハーサル",
            "--destination", "例市役所 情報政策課", "--transport", "施錠ケースで手持ち",
            *[a for c in carriers for a in ("--carrier", c)], "--planned-return", now(timedelta(days=2)),
            "--encryption-method", "software", "--encryption-algorithm", "AES-256-XTS",
            "--erasure-plan", "返却後に保管庫へ戻す", name=approval_id,
        )
        return self.approve("takeout", request, approval_id, *args)

    def depart_args(self, approval: Path, *extra: str) -> list[str]:
        return ["takeout", "depart", "--approval", str(approval), "--transport", "施錠ケースで手持ち",
                "--carrier", "op-tanaka", "--encryption-method", "software", "--encryption-algorithm", "AES-256-XTS",
                *extra]

    def depart(self, media: list[str], approval_id: str) -> int:
        approval = self.takeout_approval(media, approval_id)
        run = self.ok(*self.depart_args(approval), "--json", as_="op-tanaka")
        return int(json.loads(run.stdout)["seq"])

    def copy_approval(self, source: str, target: str, approval_id: str, *args: str) -> Path:
        request = self.request("copy", "--media-id", source, "--target", target, "--purpose", "検証用",
                               "--disposal-method", "erase", "--disposal-by", now(timedelta(days=10)),
                               name=approval_id)
        return self.approve("copy", request, approval_id, *args)

    def copy_args(self, approval: Path, source: str, target: str, serial: str | None = None) -> list[str]:
        return ["copy", "make", "--approval", str(approval), "--source", source, "--media-id", target,
                "--serial", serial or f"SN-{target}"]

    def erase_args(self, media_id: str) -> list[str]:
        return ["media", "erase", "--media-id", media_id, "--category", "purge", "--technique", "cryptographic erase",
                "--tool", "blkdiscard", "--tool-version", "2.39", "--verification-method", "read-back"]

    def dispose_approval(self, media: list[str], approval_id: str, *args: str, category: str = "destroy",
                         technique: str = "shred", witness: bool = True) -> Path:
        request = self.request(
            "dispose", *[a for m in media for a in ("--media-id", m)], "--number", f"A-{approval_id}",
            "--category", category, "--technique", technique, "--tool", "shredder X-1",
            "--witness-required" if witness else "--no-witness-required", name=approval_id, as_="resp-sato",
        )
        return self.approve("dispose", request, approval_id, *args)

    def record_args(self, media_id: str, *, witness: bool = True, photo: bool = True,
                    certificate: bool = True, extra: tuple[str, ...] = ()) -> list[str]:
        files = []
        if photo:
            p = self.root / f"{media_id}.jpg"
            p.write_bytes(b"\xff\xd8 photo of " + media_id.encode())
            files += ["--photo", str(p)]
        if certificate:
            c = self.root / f"{media_id}.pdf"
            c.write_bytes(b"%PDF certificate of " + media_id.encode())
            files += ["--certificate", str(c)]
        w = ["--witness", "山田 花子", "--witness-organisation", "例市 市民課", "--witness-title", "主査"] if witness else []
        return ["dispose", "record", "--media-id", media_id, "--operator", "op-tanaka",
                "--verification-method", "破片の目視確認", *w, *files, *extra]

    def dispose(self, media_id: str, approval_id: str) -> None:
        self.ok("dispose", "approved", "--approval", str(self.dispose_approval([media_id], approval_id)))
        self.ok(*self.record_args(media_id))

    def return_args(self, media_id: str) -> list[str]:
        return ["media", "return", "--media-id", media_id, "--receipt-number", f"RET-{media_id}",
                "--to-person", "山田 花子"]

    def sign_approval(self, kind: str, body: dict[str, Any], *, by: str = "city-approver",
                      origin: str = ORIGIN) -> Path:
        """An approval signed through the API (bodies the approve command would not produce, e.g. expired)."""
        path = self.root / f"{body['id']}.approval"
        path.write_bytes(sign_approval(origin, body, self.signer(by)))
        return path


def approval_body(kind: str, approval_id: str, media: list[str], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": kind, "id": approval_id, "media": media, "purpose": "テスト",
        "encryption_required": kind == "takeout", "valid_from": now(timedelta(days=-30)),
        "valid_until": now(timedelta(days=30)), "max_uses": 1, "conditions": [],
        "approver": {"name": "鈴木 次郎", "title": "市民課長", "organisation": "例市"},
        "approved_at": now(timedelta(days=-30)),
    }
    if kind == "takeout":
        body.update(destination="例市役所 情報政策課", transport="施錠ケースで手持ち", carriers=["op-tanaka"],
                    encryption_min="AES-256")
    elif kind == "copy":
        body.update(copies=1, disposal={"method": "erase"})
    body.update(over)
    return body
