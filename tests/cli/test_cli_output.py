"""The command line as a person reads it (issue 17, item 6), each through the real ``custody`` process:
findings wrapped and never cut, Japanese command listings whole, ``--lang`` anywhere, Japanese whatever
the locale, choices checked before the key is opened, required options marked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.verify.reports.scenario import Built, build, make_authority

BOX = "│┃"


def custody(*args: str, env: dict[str, str] | None = None, columns: int = 80) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CUSTODY_LANG", "LANG", "LC_ALL", "LC_MESSAGES")}
    merged = {**base, "COLUMNS": str(columns), **(env or {})}
    return subprocess.run([sys.executable, "-m", "custody.cli.main", *args], capture_output=True, text=True,
                          env=merged, timeout=300, check=False)


@pytest.fixture(scope="module")
def violations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, Path]:
    root = tmp_path_factory.mktemp("violations")
    built = build(root, "violations")
    return built, make_authority(built, root / "authority")


def last_cells(output: str) -> str:
    """The text of the table's last column (the finding), line after line, without spaces."""
    parts = []
    for line in output.splitlines():
        cells = list(line.replace("┃", "│").split("│"))
        if len(cells) >= 3:
            parts.append(cells[-2].strip())
    return "".join("".join(parts).split())


@pytest.mark.parametrize("columns", [80, 60])
def test_verify_wraps_japanese_findings_and_never_cuts_them(violations: tuple[Built, Path], columns: int) -> None:
    built, authority = violations
    doc = json.loads(custody("verify", str(built.bundle), "--authority", str(authority), "--json",
                             env={"CUSTODY_LANG": "ja"}).stdout)
    messages = [f["message"] for f in doc["findings"]]
    assert messages and any("承諾" in m for m in messages)
    run = custody("verify", str(built.bundle), "--authority", str(authority), env={"CUSTODY_LANG": "ja"},
                  columns=columns)
    assert run.returncode == 3, run.stderr
    assert "…" not in run.stdout and "..." not in run.stdout
    assert all(len(line) <= columns for line in run.stdout.splitlines()[1:])
    column = last_cells(run.stdout)
    for message in messages:
        assert "".join(message.split()) in column, f"cut: {message}"


def command_lines(help_text: str) -> dict[str, str]:
    """Each command of a listing and its description (continuation lines joined)."""
    found: dict[str, str] = {}
    current = None
    in_commands = False
    for line in help_text.splitlines():
        if line.strip() in ("コマンド:", "Commands:"):
            in_commands = True
            continue
        if not in_commands or not line.strip():
            continue
        if not line.startswith("  "):
            break
        if line.startswith("   "):  # a continuation line
            assert current is not None
            found[current] += line.strip()
            continue
        name, _, text = line.strip().partition(" ")
        current = name
        found[name] = text.strip()
    return found


def test_japanese_help_lists_every_command_with_its_description() -> None:
    run = custody("--help", env={"CUSTODY_LANG": "ja"})
    assert run.returncode == 0
    lines = command_lines(run.stdout)
    assert lines["report"].startswith("検証した証跡一式から委託者向けの帳票を作成します")
    assert lines["verify"].startswith("証跡一式を検証します") and "自治体の信頼ストア" in lines["verify"]
    for name, text in lines.items():
        assert text and not text.endswith("..."), f"{name}: {text!r}"
    from custody.cli.common import _cells

    assert all(sum(_cells(c) for c in line) <= 80 for line in run.stdout.splitlines()), "wider than the terminal"
    group = custody("report", "--help", env={"CUSTODY_LANG": "ja"})
    assert command_lines(group.stdout)["inspection"].startswith("総務省の別紙報告票")


def test_lang_is_accepted_after_the_command() -> None:
    for args in (["media", "list", "--ledger", "/nonexistent", "--lang", "en"],
                 ["media", "list", "--lang=en", "--ledger", "/nonexistent"],
                 ["--lang", "en", "media", "list", "--ledger", "/nonexistent"]):
        run = custody(*args)
        assert run.returncode == 4, run.stderr
        assert "is not a custody ledger directory" in run.stderr, args
    run = custody("media", "list", "--ledger", "/nonexistent", "--lang", "ja", env={"CUSTODY_LANG": "en"})
    assert "custody の台帳ディレクトリではありません" in run.stderr


@pytest.mark.parametrize("locale", ["en_US.UTF-8", "C.UTF-8", "POSIX"])
def test_japanese_is_the_default_whatever_the_locale(locale: str) -> None:
    run = custody("media", "list", "--ledger", "/nonexistent", env={"LANG": locale, "LC_ALL": locale})
    assert "custody の台帳ディレクトリではありません" in run.stderr, run.stderr
    english = custody("media", "list", "--ledger", "/nonexistent", env={"LANG": locale, "CUSTODY_LANG": "en"})
    assert "is not a custody ledger directory" in english.stderr


@pytest.mark.parametrize(("args", "allowed"), [
    (["media", "receive", "--kind", "usbstick", "--media-id", "M-1", "--serial", "S", "--receipt-number", "R"],
     "usb, hdd, ssd, sd, optical, tape, paper, other"),
    (["media", "register", "--kind", "floppy", "--media-id", "V-1", "--serial", "S"], "usb, hdd"),
    (["media", "receive", "--kind", "usb", "--means", "pigeon", "--media-id", "M-1", "--serial", "S",
      "--receipt-number", "R"], "by_hand, transport, online, mail, other"),
    (["person", "add", "--tier", "boss", "--name", "x", "--vkey", "x"], "vendor, subcontractor, sub-subcontractor"),
])
def test_a_choice_is_checked_before_the_key_is_opened_and_in_japanese(tmp_path: Path, args: list[str],
                                                                       allowed: str) -> None:
    key = tmp_path / "no-such.key"  # never read: the value is refused while the command line is parsed
    run = custody(*args, "--ledger", str(tmp_path), "--key", str(key), env={"CUSTODY_LANG": "ja"})
    assert run.returncode == 2, run.stderr
    assert "は使えません。次のいずれかを指定してください" in run.stderr and allowed in run.stderr
    assert "is not one of" not in run.stderr and "jsonschema" not in run.stderr and "Traceback" not in run.stderr


def test_required_options_of_media_receive_are_marked() -> None:
    run = custody("media", "receive", "--help", env={"CUSTODY_LANG": "ja"}, columns=100)
    text = "".join(run.stdout.split())
    for option in ("--media-id", "--kind", "--serial", "--receipt-number"):
        start = text.index(option)
        following = text[start:start + 200]
        assert "[必須。--from-fileまたは--from-csvで指定する場合を除く]" in following, option
    assert text.count("[必須") == 4
    english = custody("media", "receive", "--help", env={"CUSTODY_LANG": "en"}, columns=100)
    assert "".join(english.stdout.split()).count("[requiredunlessgivenby--from-fileor--from-csv]") == 4


def test_missing_required_options_are_named_before_the_key_is_opened(tmp_path: Path) -> None:
    run = custody("media", "receive", "--kind", "usb", "--ledger", str(tmp_path), "--key", str(tmp_path / "none"),
                  env={"CUSTODY_LANG": "ja"})
    assert run.returncode == 2, run.stderr
    assert "--media-id" in run.stderr and "--serial" in run.stderr and "--receipt-number" in run.stderr
    assert "必須のオプションがありません" in run.stderr


def test_help_never_breaks_an_option_name_or_a_word() -> None:
    run = custody("media", "receive", "--help", env={"CUSTODY_LANG": "ja"})
    lines = run.stdout.splitlines()
    for line in lines:
        assert not line.rstrip().endswith(("--from-", "pa", "ボリ")), line
    assert "--from-csv" in run.stdout


def test_lang_after_report_chooses_the_reports_language_too(violations: tuple[Built, Path], tmp_path: Path) -> None:
    built, authority = violations
    run = custody("report", "register", str(built.bundle), "--authority", str(authority), "-f", "csv",
                  "-o", str(tmp_path), "--lang", "en")
    assert run.returncode == 3, run.stderr  # written; the violations bundle has errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["register-history.en.csv", "register.en.csv"]
    assert (tmp_path / "register.en.csv").read_text(encoding="utf-8-sig").startswith("Media ID,")
    assert "the verification found" in run.stderr  # and the messages are English
