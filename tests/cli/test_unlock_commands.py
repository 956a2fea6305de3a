"""``custody unlock`` / ``custody lock`` as an operator uses them, and the log key opened only when it signs.

The ledger is the workflow tests' (tests/cli/workflow_world.py); each test has a folder of its own for the
agent's socket (XDG_RUNTIME_DIR) and ends the agents it started, by process id.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from custody.ledger.keyagent import client, paths
from custody.ledger.ledger import Ledger
from tests.agents.conftest import wait_until
from tests.cli.conftest import Run
from tests.cli.workflow_world import CliWorld
from tests.ledger.test_keyagent import gone


@pytest.fixture
def agent_pids(w: CliWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("CUSTODY_AGENT", raising=False)
    client.forget()
    started: list[int] = []
    yield started
    client.forget()
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        wait_until(lambda pid=pid: gone(pid), what=f"agent {pid} to end")  # type: ignore[misc]


def unlock(w: CliWorld, pids: list[int], *args: str, as_: str = "op-tanaka") -> dict[str, Any]:
    run = w.custody("unlock", "--ledger", str(w.ledger), "--key", str(w.key(as_)), "--json", *args)
    assert run.code == 0, run.stderr
    reply = json.loads(run.stdout)
    pids.append(int(reply["pid"]))
    return cast(dict[str, Any], reply)


def without_passphrases(w: CliWorld) -> None:
    """Commands from here on find no passphrase: a key file could only be opened by asking for it."""
    w.custody.env.pop("CUSTODY_PASSPHRASE", None)
    w.custody.env.pop("CUSTODY_LOG_PASSPHRASE", None)


def asked_for_passphrase(run: Run) -> bool:
    return run.code == 5 and "No passphrase given" in run.stderr


def test_unlocked_commands_ask_nothing_and_lock_ends_that(w: CliWorld, agent_pids: list[int]) -> None:
    w.receive("M-1")
    reply = unlock(w, agent_pids)
    assert reply["origin"] == "city.example.lg.jp/custody/2026-017/site-1"
    without_passphrases(w)
    w.checkout("M-1")
    w.checkin("M-1")
    # No --key at all: the agent's only key.
    run = w.run("note", "シフト中の記録", as_=None)
    assert run.code == 0, run.stderr
    assert w.state_of("M-1") == "in_storage"
    locked = w.custody("lock")
    assert locked.code == 0
    assert f"process {reply['pid']}" in locked.stdout
    assert not paths.socket_path().exists()
    assert asked_for_passphrase(w.run("media", "checkout", "--media-id", "M-1", "--purpose", "x", as_="op-tanaka"))
    assert w.custody("lock").stdout.strip() == "No key agent was running."


def test_after_the_idle_time_commands_ask_again(w: CliWorld, agent_pids: list[int]) -> None:
    w.receive("M-1")
    reply = unlock(w, agent_pids, "--idle", "1s")
    without_passphrases(w)
    wait_until(lambda: gone(int(reply["pid"])), what="the agent to end after 1 s without a signature")
    assert asked_for_passphrase(w.run("media", "checkout", "--media-id", "M-1", "--purpose", "x", as_="op-tanaka"))


def test_after_the_shift_commands_ask_again(w: CliWorld, agent_pids: list[int]) -> None:
    reply = unlock(w, agent_pids, "--shift", "0.5s")
    without_passphrases(w)
    wait_until(lambda: gone(int(reply["pid"])), what="the agent to end at the end of its shift")
    assert asked_for_passphrase(w.run("note", "x", as_="op-tanaka"))


def test_status(w: CliWorld, agent_pids: list[int]) -> None:
    none = w.custody("unlock", "--status", "--json")
    assert json.loads(none.stdout) == {"running": False}
    assert "No key agent is running" in w.custody("unlock", "--status").stdout
    unlock(w, agent_pids, "--shift", "2h", "--idle", "15m")
    shown = w.custody("unlock", "--status")
    assert shown.code == 0
    assert "op-tanaka" in shown.stdout
    assert "2 h" in shown.stdout
    assert "15 min" in shown.stdout
    status = json.loads(w.custody("unlock", "--status", "--json").stdout)
    assert status["running"] is True
    assert status["hardening"]["dumpable"] is False


def test_a_second_unlock_is_refused(w: CliWorld, agent_pids: list[int]) -> None:
    unlock(w, agent_pids)
    run = w.custody("unlock", "--ledger", str(w.ledger), "--key", str(w.key("op-tanaka")))
    assert run.code == 2
    assert "already running" in run.stderr


@pytest.mark.parametrize("value", ["8", "8x", "h", "-1h", "0s", ""])
def test_durations(w: CliWorld, agent_pids: list[int], value: str) -> None:
    run = w.custody("unlock", "--ledger", str(w.ledger), "--key", str(w.key("op-tanaka")), "--shift", value)
    assert run.code == 2, run.stderr
    assert "--shift" in run.stderr
    assert not agent_pids


def test_a_revoked_key_is_refused_at_unlock(w: CliWorld, agent_pids: list[int]) -> None:
    w.ok("key", "revoke", "--key-name", "op-tanaka", "--vkey", w.vkey("op-tanaka"), "--reason", "紛失")
    run = w.custody("unlock", "--ledger", str(w.ledger), "--key", str(w.key("op-tanaka")))
    assert run.code == 6
    assert "[C9]" in run.stderr
    assert "revoked" in run.stderr


def test_init_opens_its_key_file_even_with_an_agent(w: CliWorld, agent_pids: list[int], tmp_path: Path) -> None:
    """The agent signs for the ledger it was unlocked for; a new ledger's genesis entry is signed by the key file."""
    unlock(w, agent_pids, as_="resp-sato")
    contract = w.root / "contract.toml"
    run = w.custody("init", str(tmp_path / "L2"), "--contract", str(contract), "--key", str(w.key("resp-sato")))
    assert run.code == 0, run.stderr


def test_unsupported_systems_say_so(w: CliWorld, agent_pids: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "SUPPORTED", False)
    run = w.custody("unlock", "--ledger", str(w.ledger), "--key", str(w.key("op-tanaka")))
    assert run.code == 5
    assert "not supported on this system" in run.stderr
    w.receive("M-1")  # commands open their key file as before


def _checkpoint_every(w: CliWorld, entries: int) -> None:
    config = w.ledger / "custody.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("every_entries = 100", f"every_entries = {entries}"), encoding="utf-8")


def _checkpoints(w: CliWorld) -> int:
    with Ledger.open(w.ledger, readonly=True) as ledger:
        return len(ledger.store.checkpoints())


def test_the_log_key_is_opened_only_when_a_checkpoint_is_signed(w: CliWorld, agent_pids: list[int]) -> None:
    """A wrong log passphrase goes unnoticed while no checkpoint is due: the log key is never opened.  Once
    one is due, the same command opens it, and says the passphrase is wrong."""
    wrong = {"CUSTODY_LOG_PASSPHRASE": "not the log passphrase"}
    before = _checkpoints(w)
    run = w.run("note", "まだチェックポイントは不要", env=wrong)
    assert run.code == 0, run.stderr
    assert _checkpoints(w) == before
    _checkpoint_every(w, 1)
    size = w.size()
    run = w.run("note", "ここでチェックポイント", env=wrong)
    # The entry is durable before the log key is opened: CheckpointPendingError (docs/spec.md §13.1, exit 4)
    # says so, with the passphrase's own message, so that nobody repeats the command.
    assert run.code == 4, run.stderr
    assert f"entry {size} was recorded" in run.stderr
    assert "does not open" in run.stderr
    assert "do not repeat the command" in run.stderr
    assert w.size() == size + 1
    run = w.run("note", "正しいパスフレーズで")
    assert run.code == 0, run.stderr
    assert _checkpoints(w) == before + 1


def test_the_agent_signs_checkpoints_with_the_log_key(w: CliWorld, agent_pids: list[int]) -> None:
    reply = unlock(w, agent_pids, "--log-key", as_="resp-sato")
    assert sorted(k["role"] for k in reply["keys"]) == ["log", "person"]
    without_passphrases(w)
    before = _checkpoints(w)
    _checkpoint_every(w, 1)
    w.receive("M-1")
    assert _checkpoints(w) == before + 1
    run = w.run("checkpoint", as_=None)
    assert run.code == 0, run.stderr
    assert "already covers" in run.stdout


def test_the_log_key_needs_the_ledger(w: CliWorld, agent_pids: list[int], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = w.custody("unlock", "--key", str(w.key("resp-sato")), "--log-key")
    assert run.code == 2
    assert "--ledger" in run.stderr
