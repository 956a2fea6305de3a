"""``custody note`` passes the same write-time checks as every workflow command, and every file an
operator names is read as a regular file within a size limit: nothing the verifier would reject for good
is ever acknowledged, and a refused command writes nothing (not even an attachment)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.cli.common import ATTACHMENT_LIMIT, DOCUMENT_LIMIT
from tests.cli.workflow_world import CliWorld


def _unchanged(w: CliWorld, run_it: Callable[[], int], code: int) -> None:
    before = w.snapshot()
    assert run_it() == code
    assert w.snapshot() == before, "a refused note changed the ledger"


def _new_key(w: CliWorld, name: str, file: str) -> Path:
    path = w.root / "keys" / file
    assert w.custody("key", "new", name, "-o", str(path)).code == 0
    return path


def test_a_note_by_a_registered_key_is_recorded(w: CliWorld) -> None:
    photo = w.root / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 photo")
    before = w.snapshot()
    w.ok("note", "作業開始", "--attach", str(photo), as_="op-tanaka")
    size, _root, attachments = w.snapshot()
    assert (size, attachments) == (before[0] + 1, before[2] + 1)


@pytest.mark.parametrize(("key_name", "why"), [
    ("op-tanaka", "is not a registered key of op-tanaka"),  # a self-made key named like a registered person
    ("op-nobody", "op-nobody is not registered personnel"),  # a person the ledger does not know
])
def test_a_key_the_ledger_does_not_hold_is_refused(w: CliWorld, key_name: str, why: str) -> None:
    forged = _new_key(w, key_name, f"forged-{key_name}.key")
    before = w.snapshot()
    run = w.custody("note", "なりすまし", "--ledger", str(w.ledger), "--key", str(forged))
    assert run.code == 6, run.stderr
    assert "[C9]" in run.stderr
    assert why in run.stderr
    assert w.snapshot() == before


def test_a_revoked_key_is_refused(w: CliWorld) -> None:
    w.ok("key", "revoke", "--key-name", "op-tanaka", "--vkey", w.vkey("op-tanaka"), "--reason", "紛失")
    w.refused("note", "失効した鍵で", as_="op-tanaka", code="C9", says=("revoked",))


def test_a_rotated_out_key_is_refused(w: CliWorld) -> None:
    new = _new_key(w, "op-tanaka", "op-tanaka-2.key")
    w.ok("key", "rotate", "--key-name", "op-tanaka", "--new-key", str(new))
    w.refused("note", "古い鍵で", as_="op-tanaka", code="C9", says=("replaced",))


@pytest.mark.parametrize("text", ["", "x" * 100_000, "bell\x07", "nul\x00x", "esc\x1b[31m", "del\x7f"])
def test_a_text_the_schema_refuses_is_a_usage_error(w: CliWorld, text: str) -> None:
    _unchanged(w, lambda: w.run("note", text, as_="op-tanaka").code, 2)


def test_attachments_of_a_refused_note_are_not_stored(w: CliWorld) -> None:
    photo = w.root / "p.jpg"
    photo.write_bytes(b"evidence")
    _unchanged(w, lambda: w.run("note", "", "--attach", str(photo), as_="op-tanaka").code, 2)


@pytest.mark.parametrize("command", [("note", "x", "--attach"), ("attach",)])
@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", "directory"])
def test_only_regular_files_are_read(w: CliWorld, command: tuple[str, ...], special: str) -> None:
    path = str(w.root) if special == "directory" else special
    run = w.run(*command, path, as_="op-tanaka" if command[0] == "note" else None)
    assert run.code == 2, run.stderr
    assert "is not a regular file" in run.stderr


def test_a_fifo_is_refused_without_waiting_for_a_writer(w: CliWorld) -> None:
    fifo = w.root / "pipe"
    os.mkfifo(fifo)
    result: list[int] = []
    # A thread, so that a hang (the old behaviour) fails the test instead of stalling the suite.
    thread = threading.Thread(target=lambda: result.append(
        w.run("note", "x", "--attach", str(fifo), as_="op-tanaka").code), daemon=True)
    thread.start()
    thread.join(120)
    if thread.is_alive():
        with fifo.open("wb"):  # release the reader, then fail
            pass
        pytest.fail("custody note waited for a writer on a FIFO")
    assert result == [2]


def test_files_over_the_limit_are_refused(w: CliWorld) -> None:
    big = w.root / "big.bin"
    with big.open("wb") as fh:
        fh.truncate(ATTACHMENT_LIMIT + 1)  # sparse: no real disk space
    _unchanged(w, lambda: w.run("note", "x", "--attach", str(big), as_="op-tanaka").code, 2)
    doc = w.root / "receipt.json"
    with doc.open("wb") as fh:
        fh.truncate(DOCUMENT_LIMIT + 1)
    run = w.run("media", "receive", "--media-id", "M-9", "--kind", "usb", "--from-file", str(doc))
    assert run.code == 2
    assert "MiB" in run.stderr


@pytest.mark.parametrize(("content", "says"), [
    ('{"receipt": {"number": "A"}, "receipt": {"number": "B"}}', "appears twice"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    # Deep enough to pass json.loads, too deep for the conversion after it (found by make fuzz).
    ('{"a":' + "[" * 600 + "]" * 600 + "}", "nested too deeply"),
    ('{"a":' + "[" * 990 + "]" * 990 + "}", "nested too deeply"),
])
def test_from_file_is_strict_json(w: CliWorld, content: str, says: str) -> None:
    doc = w.root / "body.json"
    doc.write_text(content, encoding="utf-8")
    before = w.snapshot()
    run = w.run("media", "receive", "--media-id", "M-9", "--kind", "usb", "--from-file", str(doc))
    assert run.code == 2, run.stderr
    assert says in run.stderr
    assert w.snapshot() == before
