"""CLI fixtures: run `custody` in-process (CliRunner) or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from custody.cli.main import build_app
from custody.ledger.i18n import set_language

if TYPE_CHECKING:
    from tests.cli.workflow_world import CliWorld


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


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
        runner = CliRunner()
        merged = {**self.env, **(env or {})}
        result = runner.invoke(build_app(), list(args), env=merged, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

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
