"""``make demo``: the main job end to end on the embedded SQLite default.

Runs the real ``custody`` commands (in this process, through the same entry
point as the console script) for a demo contract and leaves, under
``demo-output/`` (docs/spec.md §13 (Command line)):

    ledger/     the vendor's ledger
    authority/  the municipality's trust store
    bundle/     the exported evidence bundle, unzipped
    reports/    the reports
    keys/       the demo's key files and passphrase files (demo only!)

Passphrases are written to files here only because a demo has no person to
type them; real keys take theirs from a prompt.  The files are mode 0600 in a
0700 directory, as custody requires of a passphrase file.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from custody.cli.main import main as custody_main
from custody.ledger.keyfile import write_passphrase_file

DEMO_ORIGIN = "city.example.lg.jp/custody/2026-017/site-1"
#: The municipality's people who sign its own acts (custody attest ...), by role (docs/spec.md §9.6).
ATTESTERS = {"witness": "city-witness", "receiver": "city-receiver", "inspector": "city-inspector",
             "completion": "city-checker"}


class DemoError(RuntimeError):
    pass


class Demo:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.keys = self.root / "keys"
        self.ledger = self.root / "ledger"
        self.authority = self.root / "authority"
        self.bundle = self.root / "bundle"
        self.reports = self.root / "reports"
        self.work = self.root / "work"
        self.vkeys: dict[str, str] = {}

    # --- plumbing ---

    def custody(self, *args: str, expect: int = 0) -> None:
        shown = " ".join(a if " " not in a else repr(a) for a in args)
        print(f"$ custody {shown}", flush=True)
        try:
            custody_main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code != expect:
            raise DemoError(f"'custody {shown}' exited {code}, expected {expect}")

    def passfile(self, name: str) -> Path:
        return self.keys / f"{_stem(name)}.pass"

    def keyfile(self, name: str) -> Path:
        return self.keys / f"{_stem(name)}.key"

    def key(self, name: str, *, witness: bool = False) -> Path:
        path = self.keyfile(name)
        write_passphrase_file(self.passfile(name), f"demo passphrase of {name}".encode())
        args = ["key", "new", name, "-o", str(path), "--passphrase-file", str(self.passfile(name))]
        if witness:
            args.append("--witness")
        self.custody(*args, "--json")
        from custody.ledger.keyfile import key_file_info
        from custody.ledger.note import ALG_COSIGNATURE_V1, ALG_ED25519, Verifier

        kname, public = key_file_info(path)
        self.vkeys[name] = Verifier(kname, ALG_COSIGNATURE_V1 if witness else ALG_ED25519, public).vkey
        return path

    def as_(self, name: str) -> list[str]:
        return ["--key", str(self.keyfile(name)), "--passphrase-file", str(self.passfile(name))]

    def trust(self) -> list[str]:
        """What verify and report check against: the municipality's trust store, made by the municipality
        phases (custody.cli.demo_phases); without them, the bundle's own keys, which the outputs mark 未確認."""
        if (self.authority / "authority.json").exists():
            return ["--authority", str(self.authority)]
        return ["--integrity-only"]

    def last_seq(self) -> int:
        """The seq of the ledger's latest entry (to cite it, e.g. an incident's detailed report)."""
        from custody.ledger.ledger import Ledger

        with Ledger.open(self.ledger, readonly=True) as ledger:
            return ledger.store.size - 1

    def cite(self, seq: int) -> str:
        """``SEQ:HASH`` of entry ``seq`` (its RFC 6962 leaf hash), as an attestation names the entry it concerns."""
        from custody.ledger.ledger import Ledger
        from custody.ledger.rfc6962 import leaf_hash

        with Ledger.open(self.ledger, readonly=True) as ledger:
            return f"{seq}:{leaf_hash(ledger.store.leaf(seq)).hex()}"

    def on_ledger(self) -> list[str]:
        return ["--ledger", str(self.ledger), "--log-passphrase-file", str(self.passfile("log"))]

    # --- phases ---

    def setup(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        for d in (self.keys, self.reports, self.work):
            d.mkdir(parents=True)
        # Keys and passphrases as an operator keeps them: the directory and every passphrase file for
        # the owner only (custody refuses a passphrase file others may read; key files are 0600 anyway).
        self.keys.chmod(0o700)
        write_passphrase_file(self.passfile("log"), b"demo passphrase of the log key")
        self.key("resp-sato")
        self.key("city-approver")
        for attester in ATTESTERS.values():
            self.key(attester)
        self.key("city.example.lg.jp/witness", witness=True)
        contract = self.root / "contract.toml"
        contract.write_text(
            DEMO_CONTRACT.format(
                origin=DEMO_ORIGIN,
                approver=self.vkeys["city-approver"],
                witness=self.vkeys["city.example.lg.jp/witness"],
                **{("witness_" if role == "witness" else role): self.vkeys[name] for role, name in ATTESTERS.items()},
            ),
            encoding="utf-8",
        )
        self.custody(
            "init", str(self.ledger), "--contract", str(contract), *self.as_("resp-sato"),
            "--log-passphrase-file", str(self.passfile("log")), "--checkpoint-every", "25",
        )

    def core(self) -> None:
        photo = self.work / "whiteboard.txt"
        photo.write_text("作業開始時の確認事項: 施錠保管庫の封印番号 S-0001 を確認\n", encoding="utf-8")
        self.custody("note", "作業開始。施錠保管庫の封印を確認した。", "--attach", str(photo),
                     *self.as_("resp-sato"), *self.on_ledger())
        self.custody("checkpoint", *self.on_ledger())

    def export_and_verify(self) -> None:
        self.custody("checkpoint", *self.on_ledger())
        self.custody("export", str(self.bundle), "--ledger", str(self.ledger))
        first_proof = self.work / "entry-1.tlog-proof"
        self.custody("prove", "1", "-o", str(first_proof), "--ledger", str(self.ledger))
        verify_args = ["verify", str(self.bundle), *self.trust()]
        self.custody(*verify_args)
        self.custody(*verify_args, "--json")


Phase = Callable[[Demo], None]


def _stem(name: str) -> str:
    return name.replace("/", "_")


def run(root: Path) -> None:
    os.environ.setdefault("CUSTODY_KDF_N", str(2**15))  # demo keys: the floor, to keep the demo quick
    os.environ.setdefault("CUSTODY_LANG", "ja")
    demo = Demo(root)
    phases: list[Phase] = [Demo.setup, Demo.core]
    phases += _optional_phases()
    phases.append(Demo.export_and_verify)
    phases += _optional_phases(after_export=True)
    for phase in phases:
        phase(demo)
    print()
    print("custody demo finished. Outputs:")
    for label, path in (
        ("vendor ledger", demo.ledger),
        ("municipality trust store", demo.authority),
        ("evidence bundle", demo.bundle),
        ("reports", demo.reports),
    ):
        print(f"  {label:26} {path}")
    print()
    print("The municipality's desk on this trust store (approver key of the demo: keys/city-approver.key):")
    print(f"  .venv/bin/custody desk --authority {demo.authority} --key {demo.keyfile('city-approver')}")


def _optional_phases(*, after_export: bool = False) -> list[Phase]:
    """Phases contributed by the workflow, agent and municipality packages."""
    from importlib import import_module

    out: list[Phase] = []
    for module in ("custody.cli.demo_phases",):
        try:
            mod = import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        out += mod.AFTER_EXPORT if after_export else mod.BEFORE_EXPORT
    return out


DEMO_CONTRACT = """\
# Demo contract: what contract.opened records (see docs/contract.example.toml)
[contract]
id = "2026-017"
origin = "{origin}"
title = "住民記録システム改修及びデータ移行業務"
start = 2026-04-01
end = 2027-03-31
my_number = true
inspection_interval_months = 12

[municipality]
name = "例市"
department = "市民部 市民課"
approver_vkeys = ["{approver}"]
witness_vkeys = ["{witness}"]

[municipality.attesters]
witness = ["{witness_}"]
receiver = ["{receiver}"]
inspector = ["{inspector}"]
completion = ["{completion}"]

[vendor]
name = "株式会社サンプル情報システム"
address = "東京都千代田区霞が関1-1"
representative = "鈴木 太郎"
representative_title = "代表取締役"

[responsible]
name = "佐藤 一郎"
organisation = "株式会社サンプル情報システム"
title = "作業責任者"
pledge_date = 2026-03-20
training_date = 2026-03-25

[[work_locations]]
id = "site-1"
name = "本社 第2開発室(入退室管理区画)"
address = "東京都千代田区霞が関1-1 5階"

[[data_items]]
name = "住民基本台帳(異動履歴を含む)"
records = 460517
my_number = true
classification = "機密性3"

[[data_items]]
name = "印鑑登録原票"
records = 120034
classification = "機密性3"

[permits]
takeout = true
copy = true
subcontracting = true
"""


if __name__ == "__main__":
    try:
        run(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output"))
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        sys.exit(1)
