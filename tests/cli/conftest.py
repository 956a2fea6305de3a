"""CLI fixtures: run `custody` in-process (CliRunner) or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from custody.cli.main import build_app, hoist_lang
from custody.ledger.i18n import language, set_language

if TYPE_CHECKING:
    from click import Command

    from tests.cli.workflow_world import CliWorld


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


# The whole application as click sees it, one per language (its help texts are made in the language current
# when it is built).  typer turns all of custody's ~60 commands into click commands each time it is handed
# the application (~0.2 s, far more than most commands take to run); what it makes is the same every time
# (build_app reads nothing but the language), and click makes a new context for every invocation, so one
# conversion serves every in-process run.  The real process (Custody.process) builds its own, as ever.
_COMMANDS: dict[str, Command] = {}


def whole_command() -> Command:
    """The click command of ``build_app()`` in the current language (made once per language)."""
    lang = language()
    command = _COMMANDS.get(lang)
    if command is None:
        command = _COMMANDS[lang] = get_command(build_app())
    return command


def invoke(args: list[str], env: dict[str, str]) -> Run:
    """``CliRunner().invoke(build_app(), args, env=env, catch_exceptions=False)`` on :func:`whole_command`:
    the same isolation (streams, environment, prompts) and the same exit codes; ``--lang`` moved to the root as
    ``custody`` moves it (``custody.cli.main.hoist_lang``)."""
    args = hoist_lang(args)
    runner = CliRunner()
    command = whole_command()
    with runner.isolation(env=env) as (stdout, stderr, _output):
        code: int = 0
        try:
            command.main(args=args, prog_name=runner.get_default_prog_name(command))
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:  # as typer's runner: a non-integer exit code is printed, and the exit is 1
                sys.stdout.write(f"{exc.code}\n")
                code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        out, err = (stream.getvalue().decode(runner.charset, "replace").replace("\r\n", "\n")
                    for stream in (stdout, stderr))
    return Run(code, out, err)


class Custody:
    """Runs custody commands with a fixed environment (passphrases, language)."""

    def __init__(self, tmp: Path, lang: str = "en") -> None:
        self.tmp = tmp
        self.lang = lang
        self.env = {
            "CUSTODY_PASSPHRASE": "operator pass",
            "CUSTODY_LOG_PASSPHRASE": "log pass",
            "CUSTODY_KDF_N": str(2**15),
            "CUSTODY_LANG": lang,
        }

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Run:
        set_language(self.lang)
        return invoke(list(args), {**self.env, **(env or {})})

    def process(self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
        merged = {**os.environ, **self.env, **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "custody.cli.main", *args],
            capture_output=True, text=True, env=merged, input=stdin, timeout=120, check=False,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def custody(tmp_path: Path) -> Custody:
    return Custody(tmp_path)


# A ledger of the workflow tests (tests/cli/workflow_world.py), made once per module and copied per test.
# workflow_world imports this module, hence the imports inside the fixtures.


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> CliWorld:
    from tests.cli.workflow_world import CliWorld

    root = tmp_path_factory.mktemp("template")
    return CliWorld.template(root, Custody(root))


@pytest.fixture
def w(template: CliWorld, tmp_path: Path) -> CliWorld:
    from tests.cli.workflow_world import CliWorld

    return CliWorld.copy_of(template, tmp_path / "w", Custody(tmp_path))
