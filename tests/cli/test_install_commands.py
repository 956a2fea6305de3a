"""What an installed custody offers before any ledger exists: its version, shell completion, and the
example files (contract, systemd unit, Windows service script) shipped as package data."""

from __future__ import annotations

import json
import os
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from custody.ledger import examples
from tests.cli.conftest import Custody


def test_version_prints_the_installed_distribution(custody: Custody) -> None:
    run = custody.process("--version")
    assert run.code == 0, run.stderr
    assert run.stdout == f"custody {version('custody-ledger')}\n"
    assert re.fullmatch(r"custody \d+\.\d+\.\d+\S*\n", run.stdout)


def test_version_needs_no_other_argument_and_is_translated(custody: Custody) -> None:
    assert custody("--version").code == 0
    ja = Custody(custody.tmp, lang="ja")
    run = ja.process("--help")
    assert "custody のバージョンを表示して終了します。" in run.stdout
    assert "今のシェルにコマンド補完を組み込みます。" in run.stdout


def test_shell_completion_is_on(custody: Custody) -> None:
    run = custody.process("--show-completion", env={"SHELL": "/bin/bash"})
    assert run.code == 0, run.stderr
    assert "_CUSTODY_COMPLETE=complete_bash" in run.stdout
    # The completion itself: bash asks, custody answers with its commands.
    run = custody.process(env={"_CUSTODY_COMPLETE": "complete_bash", "COMP_WORDS": "custody med", "COMP_CWORD": "1"})
    assert run.code == 0, run.stderr
    assert run.stdout.split() == ["media"]


@pytest.mark.parametrize("name", sorted(examples.EXAMPLES))
def test_every_example_prints_with_this_installations_paths(custody: Custody, name: str) -> None:
    run = custody("example", name)
    assert run.code == 0, run.stderr
    assert "@CUSTODY@" not in run.stdout and "@DOCS@" not in run.stdout
    assert run.stdout == examples.render(name)
    assert len(run.stdout.splitlines()) > (3 if name == "receipt-csv" else 20)


def test_the_receipt_template_written_out_is_a_receipt_file(custody: Custody, tmp_path: Path) -> None:
    from custody.cli.receipt_import import read_rows

    path = tmp_path / "預り証.csv"
    run = custody("example", "receipt-csv", "-o", str(path))
    assert run.code == 0, run.stderr
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens it as UTF-8
    rows = read_rows(path)
    assert [r.values["media_id"] for r in rows] == ["M-101", "M-102", "M-103"]
    assert rows[1].values["kind"] == "usb" and rows[1].values["items"] == ["住民基本台帳:800", "印鑑登録原票:300"]


def test_example_contract_is_the_contract_init_reads(custody: Custody, tmp_path: Path) -> None:
    contract = tmp_path / "contract.toml"
    run = custody("init", "--example-contract", str(contract))
    assert run.code == 0, run.stderr
    assert "custody init DIR --contract" in run.stderr
    text = contract.read_text(encoding="utf-8")
    assert text == examples.render("contract")
    parsed = tomllib.loads(text)
    assert parsed["contract"]["origin"] == "city.example.lg.jp/custody/2026-017/site-1"
    vkeys = {}
    for name, extra in (("resp-sato", []), ("city-approver", []), ("city.example.lg.jp/witness", ["--witness"])):
        run = custody("key", "new", name, "-o", str(tmp_path / f"{name.replace('/', '_')}.key"), "--json", *extra)
        vkeys[name] = json.loads(run.stdout)["vkey"]
    # As shipped, the witness key is a placeholder to paste over: init says which field is wrong.
    run = custody("init", str(tmp_path / "L0"), "--contract", str(contract), "--key", str(tmp_path / "resp-sato.key"))
    assert run.code == 3
    assert "witness_vkeys" in run.stderr
    assert not (tmp_path / "L0").exists()
    # With the municipality's real keys pasted in, it is a contract custody opens a ledger for.
    for field in ("approver_vkeys", "witness_vkeys"):
        text = re.sub(rf"^{field} = .*$", f"{field} = [{json.dumps(vkeys['city-approver' if field[0] == 'a' else 'city.example.lg.jp/witness'])}]",
                      text, count=1, flags=re.M)
    contract.write_text(text, encoding="utf-8")
    run = custody("init", str(tmp_path / "L"), "--contract", str(contract), "--key", str(tmp_path / "resp-sato.key"),
                  "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["origin"] == parsed["contract"]["origin"]


def test_systemd_unit_points_at_files_that_exist(custody: Custody, tmp_path: Path) -> None:
    unit = tmp_path / "custody-agent.service"
    run = custody("example", "systemd-unit", "-o", str(unit))
    assert run.code == 0, run.stderr
    text = unit.read_text(encoding="utf-8")
    doc = re.search(r"^Documentation=file://(\S+)$", text, re.M)
    exe = re.search(r"^ExecStart=(\S+) agent run", text, re.M)
    assert doc is not None and exe is not None
    assert Path(doc.group(1)).is_file()
    assert Path(doc.group(1)).name == "agent-systemd.md"
    assert os.access(exe.group(1), os.X_OK)
    assert Path(exe.group(1)).name == "custody"


def test_windows_script_names_a_windows_executable(custody: Custody) -> None:
    text = custody("example", "windows-service").stdout
    line = next(line for line in text.splitlines() if line.startswith("$exe"))
    assert line.endswith('"C:\\Program Files\\custody\\venv\\Scripts\\custody.exe"') or os.name == "nt"


def test_an_example_never_replaces_a_file(custody: Custody, tmp_path: Path) -> None:
    target = tmp_path / "contract.toml"
    target.write_text("mine\n", encoding="utf-8")
    for args in (("init", "--example-contract", str(target)), ("example", "contract", "-o", str(target))):
        run = custody(*args)
        assert run.code == 2
        assert "exists already" in run.stderr
        assert target.read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contract.toml"]


def test_an_unwritable_place_exits_2_and_leaves_nothing(custody: Custody, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n", encoding="utf-8")
    # A missing directory, and a path through a regular file (refused even for root).
    for target in (tmp_path / "missing" / "contract.toml", blocker / "contract.toml"):
        run = custody("example", "contract", "-o", str(target))
        assert run.code == 2, run.stderr
        assert "Cannot write" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize("name", ["", "contracts", "../contract", "systemd"])
def test_an_unknown_example_is_a_usage_error(custody: Custody, name: str) -> None:
    run = custody("example", name)
    assert run.code == 2
    assert "contract, systemd-unit, windows-service" in run.stderr
