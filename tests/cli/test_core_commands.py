"""The core commands end to end, with their exit codes (docs/spec.md §13 (Command line))."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from custody.ledger.ledger import Ledger
from tests.cli.conftest import Custody, Run
from tests.conftest import SmallDisk
from tests.helpers import contract_text


@pytest.fixture(scope="module")
def ledger_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three keys, a contract and a ledger made by the commands, once per module; ``ledger_dir`` copies them."""
    root = tmp_path_factory.mktemp("core")
    custody = Custody(root)
    vk = {}
    for name, extra in (("resp-sato", []), ("city-approver", []), ("city.example.lg.jp/witness", ["--witness"])):
        stem = name.replace("/", "_")
        run = custody("key", "new", name, "-o", str(root / f"{stem}.key"), "--json", *extra)
        assert run.code == 0, run.stderr
        vk[stem] = json.loads(run.stdout)["vkey"]
    (root / "contract.toml").write_text(
        contract_text(approver_vkey=vk["city-approver"], witness_vkey=vk["city.example.lg.jp_witness"]),
        encoding="utf-8",
    )
    run = custody("init", str(root / "L"), "--contract", str(root / "contract.toml"),
                  "--key", str(root / "resp-sato.key"), "--json")
    assert run.code == 0, run.stderr
    info = json.loads(run.stdout)
    assert info["origin"] == "city.example.lg.jp/custody/2026-017/site-1"
    assert len(info["genesis_leaf_hash"]) == 64
    return root


@pytest.fixture
def ledger_dir(ledger_template: Path, tmp_path: Path) -> Path:
    """The keys, contract.toml and the ledger L in tmp_path, a copy of the module's (modes kept)."""
    shutil.copytree(ledger_template, tmp_path, dirs_exist_ok=True)
    return tmp_path / "L"


def test_note_checkpoint_export_prove_verify(custody: Custody, ledger_dir: Path, tmp_path: Path) -> None:
    key = str(tmp_path / "resp-sato.key")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 fake jpeg")
    run = custody("note", "作業開始", "--attach", str(photo), "-l", str(ledger_dir), "-k", key, "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["seq"] == 1
    run = custody("attach", str(photo), "-l", str(ledger_dir))
    assert run.code == 0 and len(run.stdout.strip()) == 64
    assert custody("checkpoint", "-l", str(ledger_dir)).code == 0
    assert custody("export", str(tmp_path / "B"), "-l", str(ledger_dir)).code == 0
    assert (tmp_path / "B" / "attachments").is_dir()
    assert custody("export", str(tmp_path / "B.zip"), "--zip", "-l", str(ledger_dir)).code == 0
    proof = tmp_path / "p.tlog-proof"
    assert custody("prove", "1", "-o", str(proof), "-l", str(ledger_dir)).code == 0
    assert proof.read_bytes().startswith(b"c2sp.org/tlog-proof@v1\n")
    for bundle in ("B", "B.zip"):  # the vendor's self-check before handing over: no trust store at hand
        run = custody("verify", str(tmp_path / bundle), "--integrity-only", "--json")
        assert run.code == 0, run.stdout
        doc = json.loads(run.stdout)
        assert doc["ok"] is True and doc["size"] == 2
        assert doc["trust"] == "unchecked" and doc["pinned"] is False
        assert {"ok", "origin", "size", "findings", "trust"} <= set(doc)


def test_a_full_disk_exits_2_with_a_message_not_a_bug_report(
    custody: Custody, ledger_dir: Path, tmp_path: Path, small_disk: SmallDisk
) -> None:
    """export, report and init on a real full disk: exit 2 or 4, what happened and what to do, nothing half-made."""
    key = str(tmp_path / "resp-sato.key")
    assert custody("note", "x" * 2000, "-l", str(ledger_dir), "-k", key).code == 0
    assert custody("checkpoint", "-l", str(ledger_dir)).code == 0
    assert custody("export", str(tmp_path / "B"), "-l", str(ledger_dir)).code == 0
    small_disk.leave(0)
    runs = {
        "export": custody("export", str(small_disk.root / "B"), "-l", str(ledger_dir)),
        "export --zip": custody("export", str(small_disk.root / "B.zip"), "--zip", "-l", str(ledger_dir)),
        "report": custody("report", "all", str(tmp_path / "B"), "--integrity-only", "-o", str(small_disk.root / "r")),
        "init": custody("init", str(small_disk.root / "L"), "--contract", str(tmp_path / "contract.toml"),
                        "--key", key),
    }
    for what, run in runs.items():
        assert run.code in (2, 4, 5), (what, run.code, run.stderr)
        assert "No space left on device" in run.stderr or "disk is full" in run.stderr, (what, run.stderr)
        assert "bug" not in run.stderr and "Traceback" not in run.stderr, (what, run.stderr)
    assert small_disk.contents() in ([], ["r/"])  # the report directory, empty: its files had no room


def test_wrong_passphrase_exits_5(custody: Custody, ledger_dir: Path, tmp_path: Path) -> None:
    run = custody("note", "x", "-l", str(ledger_dir), "-k", str(tmp_path / "resp-sato.key"),
                  env={"CUSTODY_PASSPHRASE": "wrong"})
    assert run.code == 5
    assert "passphrase" in run.stderr.lower()
    assert "Traceback" not in run.stderr


def test_world_readable_key_exits_5(custody: Custody, ledger_dir: Path, tmp_path: Path) -> None:
    key = tmp_path / "resp-sato.key"
    os.chmod(key, 0o644)
    run = custody("note", "x", "-l", str(ledger_dir), "-k", str(key))
    assert run.code == 5 and "chmod 600" in run.stderr


PASSPHRASE_FILES = [  # (command, option naming the file, passphrase it must hold)
    pytest.param("note", "--passphrase-file", "operator pass", id="key passphrase"),
    pytest.param("checkpoint", "--log-passphrase-file", "log pass", id="log passphrase"),
]


def _recorded(ledger_dir: Path) -> tuple[int, list[tuple[int, bytes]]]:
    """The entries and checkpoints a ledger holds."""
    with Ledger.open(ledger_dir, readonly=True) as ledger:
        return ledger.store.size, ledger.store.checkpoints()


def _passphrase_run(custody: Custody, ledger_dir: Path, tmp_path: Path, command: str, option: str, path: Path,
                    lang: str = "en") -> Run:
    args = ["note", "x", "-k", str(tmp_path / "resp-sato.key")] if command == "note" else ["checkpoint"]
    # The environment holds the right passphrases too: a file given is the source, never silently passed over.
    return Custody(custody.tmp, lang=lang)(*args, "-l", str(ledger_dir), option, str(path))


@pytest.mark.parametrize(("command", "option", "secret"), PASSPHRASE_FILES)
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620, 0o606])
def test_passphrase_file_others_may_read_or_write_exits_5(custody: Custody, ledger_dir: Path, tmp_path: Path,
                                                          command: str, option: str, secret: str, mode: int) -> None:
    path = tmp_path / "secret.pass"
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(mode)
    before = _recorded(ledger_dir)
    run = _passphrase_run(custody, ledger_dir, tmp_path, command, option, path)
    assert run.code == 5, (run.code, run.stderr)
    assert f"Passphrase file {path} can be accessed by other users (mode {mode:04o}); it was not used." in run.stderr
    assert f"chmod 600 {path}" in run.stderr and "Traceback" not in run.stderr
    assert _recorded(ledger_dir) == before  # nothing written
    ja = _passphrase_run(custody, ledger_dir, tmp_path, command, option, path, lang="ja")
    assert ja.code == 5
    assert f"パスフレーズファイル {path} は他のユーザーからアクセスできます (モード {mode:04o})" in ja.stderr
    assert f"chmod 600 {path}" in ja.stderr
    path.chmod(0o600)  # the fix the message names works
    assert _passphrase_run(custody, ledger_dir, tmp_path, command, option, path).code == 0


@pytest.mark.parametrize(("command", "option", "secret"), PASSPHRASE_FILES)
@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                    reason="only root can give a file away, and open another user's owner-only file at all")
def test_passphrase_file_of_another_user_exits_5(custody: Custody, ledger_dir: Path, tmp_path: Path,
                                                 command: str, option: str, secret: str) -> None:
    path = tmp_path / "secret.pass"
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(0o600)
    os.chown(path, 4321, 4321)
    run = _passphrase_run(custody, ledger_dir, tmp_path, command, option, path)
    assert run.code == 5, run.stderr
    assert f"Passphrase file {path} belongs to another user (uid 4321)" in run.stderr
    assert f"chown {os.geteuid()} {path}" in run.stderr


def test_corrupt_store_exits_4(custody: Custody, ledger_dir: Path, tmp_path: Path) -> None:
    for extra in ledger_dir.glob("ledger.db-*"):
        extra.unlink()
    (ledger_dir / "ledger.db").write_bytes(b"garbage" * 1000)
    run = custody("note", "x", "-l", str(ledger_dir), "-k", str(tmp_path / "resp-sato.key"))
    assert run.code == 4
    assert "Traceback" not in run.stderr


def test_not_a_ledger_directory_exits_4(custody: Custody, tmp_path: Path) -> None:
    run = custody("export", str(tmp_path / "B"), "-l", str(tmp_path))
    assert run.code == 4 and "custody init" in run.stderr


def test_usage_errors_exit_2(custody: Custody) -> None:
    assert custody("note").code == 2
    assert custody("no-such-command").code == 2
    assert custody("--lang", "fr", "verify", "x").code == 2
    for workers in ("0", "-1"):  # no verification with no worker, nor a silent fallback to one
        run = custody("verify", "x", "--workers", workers)
        assert run.code == 2 and "--workers" in run.stderr


def test_tampered_bundle_exits_3(custody: Custody, ledger_dir: Path, tmp_path: Path) -> None:
    custody("note", "作業開始", "-l", str(ledger_dir), "-k", str(tmp_path / "resp-sato.key"))
    custody("checkpoint", "-l", str(ledger_dir))
    custody("export", str(tmp_path / "B"), "-l", str(ledger_dir))
    entries = tmp_path / "B" / "entries.jsonl"
    entries.write_bytes(entries.read_bytes().replace("作業開始".encode(), "作業終了".encode()))
    run = custody("verify", str(tmp_path / "B"), "--integrity-only", "--json")  # caught even by its own keys
    assert run.code == 3
    codes = {f["code"] for f in json.loads(run.stdout)["findings"] if f["severity"] == "error"}
    assert "I2" in codes


def test_corrupted_bundle_zip_exits_3_with_message(custody: Custody, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 broken")
    run = custody("verify", str(bad), "--integrity-only")
    assert run.code == 3 and "zip" in run.stderr


def test_key_show_and_refusal_to_overwrite(custody: Custody, tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    assert custody("key", "new", "op-tanaka", "-o", str(key)).code == 0
    run = custody("key", "show", str(key), "--json")
    assert json.loads(run.stdout)["name"] == "op-tanaka"
    assert custody("key", "new", "op-tanaka", "-o", str(key)).code == 5
    assert custody("key", "new", "bad name", "-o", str(tmp_path / "x.key")).code == 2


def test_help_in_japanese_and_english(custody: Custody) -> None:
    en = custody("--help")
    assert en.code == 0 and "evidence ledger" in en.stdout
    ja = Custody(custody.tmp, lang="ja")("--help")
    assert ja.code == 0 and "証跡" in ja.stdout


def test_real_subprocess_round_trip(custody: Custody, ledger_dir: Path, tmp_path: Path) -> None:
    run = custody.process("note", "subprocess", "-l", str(ledger_dir), "-k", str(tmp_path / "resp-sato.key"))
    assert run.code == 0, run.stderr
    run = custody.process("note", "x", "-l", str(ledger_dir), "-k", str(tmp_path / "resp-sato.key"),
                          env={"CUSTODY_PASSPHRASE": "nope"})
    assert run.code == 5 and "Traceback" not in run.stderr


def test_passphrase_missing_non_interactive(custody: Custody, ledger_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CUSTODY_PASSPHRASE"}
    run = custody.process("note", "x", "-l", str(ledger_dir), "-k", str(tmp_path / "resp-sato.key"),
                          env={**env, "CUSTODY_PASSPHRASE": ""})
    assert run.code == 5


def test_verify_json_on_an_unusable_bundle_is_still_one_object(custody: Custody, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 broken")
    run = custody("verify", str(bad), "--integrity-only", "--json")
    assert run.code == 3
    doc = json.loads(run.stdout)
    assert doc["ok"] is False and doc["findings"][0]["code"] == "I7" and doc["trust"] == "unchecked"


def test_ctrl_c_says_the_command_stopped(custody: Custody, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Interrupted, a command exits 130 as shells expect, and says so instead of ending in silence."""
    from custody.cli import verifycmd

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(verifycmd, "run_verification", interrupted)
    run = custody("verify", str(tmp_path), "--integrity-only", "--json")
    assert run.code == 130 and run.stdout == ""
    assert "interrupted (Ctrl-C); the command did not finish" in run.stderr
