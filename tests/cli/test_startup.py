"""What a command loads at start-up, without timing anything.

Most of an operator's round trip (``custody media checkout`` as a process) is
the interpreter starting and importing (BENCHMARKS.md, Round trip).  These
tests run real commands in fresh processes and check that the heavy modules
kept off that path stay off it: pydantic (which typer >= 0.29 converts
parameters with; custody pins typer 0.25, docs/dependency-notes.md),
jsonschema (ledger/validation.py: jsonschema_rs accepts), Babel (ledger/i18n.py: cached catalogue), rich (cli/common.py:
LazyConsole), and everything of the verifier, the reports and the agent.
They also check that the shortcuts print and convert exactly as before.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from custody.cli.common import LazyConsole
from tests.cli.conftest import Custody
from tests.cli.test_unlock_commands import agent_pids, unlock
from tests.cli.workflow_world import CliWorld

__all__ = ["agent_pids"]  # the fixture, for the signing test below

# Runs `custody ARGS...` like the console script, then writes the names of every module loaded.
PROBE = """
import json, os, sys
from custody.cli.main import main
try:
    main(sys.argv[1:])
finally:
    from custody.cli.deferred import loaded  # a deferred stand-in not used yet is not loaded
    with open(os.environ["PROBE_OUT"], "w", encoding="utf-8") as fh:
        json.dump(sorted(name for name in sys.modules if loaded(name)), fh)
"""

OFF_THE_OPERATOR_PATH = ("pydantic", "jsonschema", "referencing", "babel", "rich", "reportlab", "pypdf", "custody.verify",
                         "custody.agents", "watchdog", "psutil", "custody.cli.core", "custody.cli.verifycmd")
# ... and what a signing command with the key agent (the round trip of issue 19) does not load either: the
# approval rules (an entry without an approval), tomllib (custody.toml's values come from the user cache),
# subprocess (custody.cli.deferred), the bundle and witness code, the schema validators (the agent judges the
# body), the key file's code, the attestations' and the checkpoints' (none is opened or signed).
OFF_THE_SIGNING_PATH = (*OFF_THE_OPERATOR_PATH, "custody.ledger.approval", "tomllib", "subprocess",
                        "custody.ledger.lifecycle.applications", "custody.ledger.bundle", "custody.ledger.witness_client",
                        "jsonschema_rs", "custody.ledger.keyenvelope", "custody.ledger.keyfile",
                        "custody.ledger.attestation", "custody.ledger.checkpoint", "cryptography")
OFF_EVERY_HELP = ("pydantic", "jsonschema", "babel", "reportlab", "pypdf", "custody.verify.engine", "custody.verify.reports",
                  "custody.agents", "watchdog", "psutil", "rich.progress", "rich.table", "custody.ledger.witness_client")


def _heavy(modules: list[str], banned: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == b or m.startswith(b + ".") for b in banned)]


def _probe(tmp: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    out = tmp / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env, "PROBE_OUT": str(out)}, check=False)
    modules: list[str] = json.loads(out.read_text(encoding="utf-8"))
    return proc, modules


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> CliWorld:
    root = tmp_path_factory.mktemp("startup")
    w = CliWorld.template(root, Custody(root))
    w.receive("M-001")
    return w


def test_an_operator_command_imports_nothing_heavy(world: CliWorld, tmp_path: Path) -> None:
    # Japanese, and a cache directory of its own: the first check-out fills it (the catalogue); from then on
    # a round trip loads neither Babel nor jsonschema (valid bodies are accepted by jsonschema_rs).
    env = {**world.custody.env, "CUSTODY_LANG": "ja", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    common = ["--ledger", str(world.ledger), "--key", str(world.key("op-tanaka"))]
    # The broken seal is not cited: the second round would cite one the check-in replaced (C18, a finding).
    checkout = ["media", "checkout", "--media-id", "M-001", "--purpose", "データ移行作業", *common]
    checkin = ["media", "checkin", "--media-id", "M-001", "--seal", "S-0002", *common]
    warm: list[str] = []
    for run, (args, recorded) in enumerate([(checkout, "media.checked_out"), (checkin, "media.checked_in")] * 2):
        proc, modules = _probe(tmp_path, env, *args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("通番 ") and proc.stdout.endswith(f"として記録しました（{recorded}）。\n"), proc.stdout
        assert "custody.ledger.workflow" in modules
        if run >= 2:
            warm += modules
    assert _heavy(warm, OFF_THE_OPERATOR_PATH) == []
    assert list((tmp_path / "cache" / "custody").glob("i18n-ja-*.json"))


def test_a_signing_command_with_the_key_agent_loads_only_its_own_path(
    w: CliWorld, agent_pids: list[int], tmp_path: Path
) -> None:
    """The round trip the operator meets all day (issue 19): a check-out and a check-in signed by the key
    agent load neither the approval rules, nor tomllib, nor subprocess, and print what they printed before."""
    w.receive("M-1")
    unlock(w, agent_pids)
    env = {k: v for k, v in w.custody.env.items() if k not in ("CUSTODY_PASSPHRASE", "CUSTODY_LOG_PASSPHRASE")}
    env.update(CUSTODY_LANG="ja", XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_RUNTIME_DIR=os.environ["XDG_RUNTIME_DIR"])
    checkout = ["media", "checkout", "--media-id", "M-1", "--purpose", "データ移行作業", "--seal", "S-0001",
                "--ledger", str(w.ledger)]
    checkin = ["media", "checkin", "--media-id", "M-1", "--seal", "S-0001", "--ledger", str(w.ledger)]
    for run, (args, recorded) in enumerate([(checkout, "media.checked_out"), (checkin, "media.checked_in")] * 2):
        proc, modules = _probe(tmp_path, {**os.environ, **env}, *args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.endswith(f"として記録しました（{recorded}）。\n"), proc.stdout
        assert "custody.ledger.keyagent.client" in modules and "custody.ledger.lifecycle.engine" in modules
        if run >= 1:  # the first filled the user cache (the catalogue, custody.toml's values)
            assert _heavy(modules, OFF_THE_SIGNING_PATH) == [], run
    assert [p.name for p in (tmp_path / "cache" / "custody").glob("config-*.json")]


def test_note_attach_and_checkpoint_import_nothing_heavy(world: CliWorld, tmp_path: Path) -> None:
    """The core commands an operator runs during the work take the same short path as the workflow's."""
    env = {**world.custody.env, "CUSTODY_LANG": "en", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    photo = tmp_path / "seal.jpg"
    photo.write_bytes(b"\xff\xd8 a seal photo")
    ledger = ["--ledger", str(world.ledger)]
    runs = [
        (["note", "seal S-0001 checked", *ledger, "--key", str(world.key("op-tanaka"))], "Recorded as entry "),
        (["attach", str(photo), *ledger], hashlib.sha256(photo.read_bytes()).hexdigest()),
        (["checkpoint", *ledger], "Checkpoint signed at size "),
    ]
    for args, printed in runs:
        proc, modules = _probe(tmp_path, env, *args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(printed), proc.stdout
        assert _heavy(modules, tuple(m for m in OFF_THE_OPERATOR_PATH if m != "custody.cli.core")) == []
        assert "custody.cli.workflow" not in modules


@pytest.mark.parametrize("args", [["--help"], ["media", "--help"], ["media", "checkout", "--help"]])
def test_help_imports_no_verifier_reports_or_agent(args: list[str], tmp_path: Path) -> None:
    proc, modules = _probe(tmp_path, {"CUSTODY_LANG": "en"}, *args)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: custody" in proc.stdout
    assert _heavy(modules, OFF_EVERY_HELP) == []


def test_the_subcommand_named_is_the_only_one_built(world: CliWorld) -> None:
    import click
    from typer.main import get_command

    from custody.cli.main import build_app

    def media_commands(*args: str) -> list[str | None]:
        root = get_command(build_app(list(args)))
        assert isinstance(root, click.Group)
        media = root.get_command(click.Context(root), "media")
        assert isinstance(media, click.Group)
        return list(media.commands)

    assert media_commands("media", "checkout", "--media-id", "M-001") == ["checkout"]
    everything = media_commands("media", "--help")
    assert len(everything) > 1 and "checkout" in everything
    assert media_commands("media", "chekout") == everything  # typer suggests 'checkout' from all of them
    assert media_commands("media", "-h", "checkout") == everything
    run = world.custody.process("media", "chekout", "--ledger", str(world.ledger))
    assert run.code == 2 and "No such command 'chekout'" in run.stderr and "checkout" in run.stderr.split("chekout")[-1]


LISTINGS = [[], ["--help"], ["-h"], ["media"], ["media", "--help"], ["key", "--help"], ["report", "-h"],
            ["witness", "--help"], ["--lang", "en", "--help"], ["unlock", "--help"], ["verify", "--help"],
            ["media", "chekout"], ["medai", "--help"]]


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("args", LISTINGS, ids=lambda a: " ".join(a) or "(none)")
def test_a_listing_prints_what_the_whole_application_prints(args: list[str], lang: str) -> None:
    """``custody --help`` and a group's help list commands without building their parameters
    (custody.cli.main, ``_list_only``): the text and the exit status are those of the application
    with every command built."""
    from custody.cli import clitext
    from custody.cli.main import build_app
    from custody.ledger.i18n import set_language

    set_language(lang)
    clitext.install()
    runner = CliRunner()
    listed = runner.invoke(build_app(args), args, prog_name="custody")
    whole = runner.invoke(build_app(None), args, prog_name="custody")
    assert (listed.exit_code, listed.stdout, listed.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
    assert "Usage" in whole.stdout + whole.stderr or "使い方" in whole.stdout + whole.stderr


PLAIN = ["通番 12 として記録しました（media.checked_out）。", "Recorded as entry 3 (media.checked_in).", "  spaced  ",
         "x" * 300, "[bold]not markup[/]", "5 entries, 1.5 MB, True, None, 'quoted'", ""]
NOT_PLAIN = ["tab\there", "emoji :thumbs_up: code", "ctrl\x07bell", "cr\rreturn", "two\nlines", "esc \x1b[31m"]


@pytest.mark.parametrize("terminal", [False, True])
@pytest.mark.parametrize("text", PLAIN + NOT_PLAIN)
def test_a_plain_line_prints_as_rich_prints_it(text: str, terminal: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    expected = io.StringIO()
    Console(file=expected, force_terminal=terminal, width=40, soft_wrap=True, highlight=False).print(text, markup=False)
    got = io.StringIO()
    monkeypatch.setattr(sys, "stdout", got)
    console = LazyConsole(soft_wrap=True, highlight=False)  # as cli.common.out

    def real(self: LazyConsole) -> Console:  # the same console, on the same (maybe) terminal
        self._console = Console(file=got, force_terminal=terminal, width=40, soft_wrap=True, highlight=False)
        return self._console

    monkeypatch.setattr(LazyConsole, "real", real)
    console.line(text)
    assert got.getvalue() == expected.getvalue()
    assert (console._console is None) == (text in PLAIN)  # the plain ones did without rich


def test_a_line_goes_to_the_consoles_file_and_other_options_take_rich() -> None:
    screen = io.StringIO()
    LazyConsole(file=screen, soft_wrap=True, highlight=False).line("plain")
    assert screen.getvalue() == "plain\n"
    quiet = LazyConsole(file=screen, soft_wrap=True, highlight=False, quiet=True)
    quiet.line("not printed")
    assert quiet._console is not None and screen.getvalue() == "plain\n"


def test_text_and_flag_parameters_convert_as_typer_converts_them() -> None:
    app = typer.Typer()

    @app.command()
    def cmd(
        name: str = typer.Option(...),
        tag: list[str] = typer.Option([], "--tag"),  # noqa: B008 - typer declares options as defaults
        flag: bool = typer.Option(False, "--flag"),
        maybe: str | None = typer.Option(None, "--maybe"),
        count: int = typer.Option(1, "--count"),
        where: Path = typer.Option(Path("."), "--where"),  # noqa: B008
    ) -> None:
        typer.echo(json.dumps([name, tag, type(tag).__name__, flag, maybe, count, str(where)], ensure_ascii=False))

    runner = CliRunner()
    result = runner.invoke(app, ["--name", "名前", "--tag", "a", "--tag", "b", "--flag", "--count", "3",
                                 "--where", "x/y"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ["名前", ["a", "b"], "list", True, None, 3, "x/y"]
    bad = runner.invoke(app, ["--name", "n", "--count", "three"])
    assert bad.exit_code == 2 and "--count" in bad.output



def test_commands_is_the_top_level_the_modules_declare() -> None:
    """custody.cli.main.COMMANDS, the one list of top-level commands the root builds from, names what each
    module registers, in the order typer lists a whole application (its commands, then its groups)."""
    from importlib import import_module

    from custody.cli import main

    modules = ["custody.cli.core", "custody.cli.verifycmd", "custody.cli.workflow", "custody.cli.attestcmd",
               "custody.cli.unlockcmd", "custody.cli.municipality", "custody.cli.agentcmd", "custody.cli.reportcmd",
               "custody.desk.command"]
    assert set(modules) == {module for owners in main.COMMANDS.values() for module in owners}
    whole = typer.Typer()
    for module in modules:
        alone = typer.Typer()
        import_module(module).register(alone)
        import_module(module).register(whole)
        names = {c.name for c in alone.registered_commands} | {g.name for g in alone.registered_groups}
        assert names == {name for name, owners in main.COMMANDS.items() if module in owners}, module
    order = [c.name for c in whole.registered_commands] + [g.name for g in whole.registered_groups]
    assert list(dict.fromkeys(order)) == list(main.COMMANDS)


def test_a_command_of_a_module_that_is_not_installed_is_not_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    from custody.cli import main

    monkeypatch.setitem(main.COMMANDS, "absent", ("custody.cli.not_installed",))
    result = CliRunner().invoke(main.build_app(["--lang", "en", "--help"]), ["--lang", "en", "--help"])
    assert result.exit_code == 0 and "absent" not in result.stdout and "report" in result.stdout
