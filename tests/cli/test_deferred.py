"""What an operator's command defers until first use (custody.cli.deferred, custody.cli.common.DeferredOption)
behaves as what it stands for: the same module, the same typer option, only made later."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.models import OptionInfo

from custody.cli.common import DeferredOption, option

# Runs in a fresh interpreter: a module of its own on sys.path, deferred, then used in the ways code uses one.
PROGRAM = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    from custody.cli import deferred
    assert deferred.defer(("probe_mod", "no_such_module_here", "sys")) == ["probe_mod"]
    import probe_mod                      # binds the stand-in: nothing runs yet
    assert not deferred.loaded("probe_mod") and "probe_mod_ran" not in sys.modules
    assert probe_mod.__name__ == "probe_mod" and probe_mod.__spec__.name == "probe_mod"
    import probe_mod as again             # an import statement looks at __spec__ only
    assert again is probe_mod and not deferred.loaded("probe_mod")
    from probe_mod import VALUE           # the first use of a name loads it, into the same object
    assert VALUE == 42 and deferred.loaded("probe_mod") and type(probe_mod).__name__ == "module"
    assert probe_mod.twice(21) == 42 and sys.modules["probe_mod"] is probe_mod
    assert sys.modules["probe_mod_ran"].count == 1  # once
    try:
        probe_mod.missing
    except AttributeError:
        pass
    else:
        raise AssertionError("a missing name must stay missing")
    print("ok")
""")

FAILING = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    from custody.cli import deferred
    deferred.defer(("broken_mod",))
    import broken_mod
    try:
        broken_mod.anything
    except ZeroDivisionError:
        pass
    assert "broken_mod" not in sys.modules  # as after a failed import: the next import tries again
    try:
        import broken_mod
    except ZeroDivisionError:
        print("ok")
""")


def _run(program: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", program, str(folder)], capture_output=True, text=True, timeout=60,
                          check=False)


def test_a_deferred_module_loads_once_on_first_use(tmp_path: Path) -> None:
    (tmp_path / "probe_mod.py").write_text(
        "import sys, types\n"
        "ran = sys.modules.setdefault('probe_mod_ran', types.SimpleNamespace(count=0))\n"
        "ran.count += 1\n"
        "VALUE = 42\n"
        "def twice(x):\n    return 2 * x\n"
    )
    done = _run(PROGRAM, tmp_path)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


def test_a_deferred_module_that_fails_fails_as_its_import_would(tmp_path: Path) -> None:
    (tmp_path / "broken_mod.py").write_text("1 / 0\n")
    done = _run(FAILING, tmp_path)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


CASES: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((None, "--media-id", "-m"), {"help": "Media id.", "metavar": "MEDIA_ID"}),
    (([], "--seal"), {"help": "Seal number, repeatable."}),
    ((False, "--json"), {"help": "JSON."}),
    ((".", "--ledger", "-l"), {"envvar": "CUSTODY_LEDGER", "metavar": "DIR", "help": "Ledger."}),
    ((..., "--purpose"), {"help": "Why."}),
]


@pytest.mark.parametrize(("args", "kw"), CASES)
def test_a_deferred_option_is_the_option_typer_makes(args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    made = option(*args, **kw)
    assert isinstance(made, OptionInfo) and "_deferred" in vars(made)
    copied = copy.copy(made)  # what typer does with a parameter's default before reading it
    assert isinstance(copied, DeferredOption)
    eager = typer.Option(*args, **kw)
    assert made.param_decls == eager.param_decls  # the first read makes it
    assert vars(made) == vars(eager)
    assert "_deferred" in vars(copied) and copied.help == eager.help  # the copy is made on its own first read
    assert vars(copied) == vars(eager)
    with pytest.raises(AttributeError):
        made.not_an_attribute  # type: ignore[attr-defined]  # noqa: B018


def test_a_command_with_deferred_options_parses_as_with_typer_options() -> None:
    from typer.testing import CliRunner

    def build(make: object) -> typer.Typer:
        app = typer.Typer()

        @app.command()
        def cmd(
            media_id: str = make(..., "--media-id", "-m", help="id"),  # type: ignore[operator]
            seal: list[str] = make([], "--seal", help="seal"),  # type: ignore[operator]  # noqa: B008
            flag: bool = make(False, "--flag", help="flag"),  # type: ignore[operator]
        ) -> None:
            typer.echo(f"{media_id} {seal} {flag}")

        @app.command()
        def other() -> None:
            pass

        return app

    runner = CliRunner()
    for args in (["cmd", "-m", "M-1", "--seal", "a", "--seal", "b", "--flag"], ["cmd"], ["cmd", "--help"]):
        deferred = runner.invoke(build(option), args)
        eager = runner.invoke(build(typer.Option), args)
        assert (deferred.exit_code, deferred.output) == (eager.exit_code, eager.output), args
