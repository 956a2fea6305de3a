"""`custody verify` and `custody report` against the hostile bundles of issue 20, as an auditor runs them.

Each probe is a real process (a pipe or a device must not hang it; the
subprocess timeout of tests/cli/conftest.py is the guard, not a measured
time): it ends with exit 3 and a clear message, never exit 1, never a
traceback, whatever the bundle holds.  The 150 byte flips of a zip run
in-process, each a row of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.ledger.bundle import Bundle
from tests.cli.conftest import Custody, Run
from tests.verify.builders import Site
from tests.verify.hostile import edit_manifest, honest_site, zip_bundle

LONG = 40 << 20  # a 40 MB line: far beyond an entry's 16 MiB, and quadratic to read before the fix


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, Path]:
    return honest_site(tmp_path_factory.mktemp("honest"))


@pytest.fixture
def auditor(tmp_path: Path) -> Custody:
    return Custody(tmp_path)


def _authority(site: Site) -> str:
    return os.fspath(site.root / "authority")


def _clean(run: Run) -> None:
    """Never a bug: no exit 1, no traceback, no 'bug in custody'."""
    assert run.code != 1, run.stderr
    assert "Traceback" not in run.stderr and "bug in custody" not in run.stderr, run.stderr


def _replace(path: Path, make: Callable[[Path], None]) -> None:
    path.unlink()
    make(path)


def _long_second_line(bundle: Path) -> None:
    first = (bundle / "entries.jsonl").read_bytes().split(b"\n")[0]
    with (bundle / "entries.jsonl").open("wb") as fh:
        fh.write(first + b"\n")
        block = b"a" * (1 << 20)
        for _ in range(LONG >> 20):
            fh.write(block)
        fh.write(b"\n")


def _origin(text: str) -> Callable[[Path], None]:
    return lambda bundle: edit_manifest(bundle, lambda doc: doc.__setitem__("origin", text))


# (break the bundle, words on stderr)
STOPS: dict[str, tuple[Callable[[Path], None], str]] = {
    "manifest.json is a FIFO": (lambda b: _replace(b / "manifest.json", os.mkfifo),
                                "manifest.json is a named pipe (FIFO), not a regular file"),
    "entries.jsonl is a FIFO": (lambda b: _replace(b / "entries.jsonl", os.mkfifo),
                                "entries.jsonl is a named pipe (FIFO), not a regular file"),
    "manifest.json links to /dev/zero": (lambda b: _replace(b / "manifest.json", lambda p: p.symlink_to("/dev/zero")),
                                         "manifest.json is a symbolic link, not a regular file"),
    "entries.jsonl links to /dev/zero": (lambda b: _replace(b / "entries.jsonl", lambda p: p.symlink_to("/dev/zero")),
                                         "entries.jsonl is a symbolic link, not a regular file"),
    "entries.jsonl is a directory": (lambda b: _replace(b / "entries.jsonl", lambda p: p.mkdir()),
                                     "entries.jsonl is a directory, not a regular file"),
    "an origin of 64 KiB": (_origin("city.example.lg.jp/custody/" + "a" * (64 << 10)),
                            "has not pinned the origin city.example.lg.jp/custody/aaa"),
    "an origin of 2 MiB": (_origin("city.example.lg.jp/custody/" + "a" * (2 << 20)),
                           "… (2,097,179 characters in all)"),
    "an origin with markup and escapes": (_origin("[bold red]OK[/] \x1b[2J[/x]"), "[bold red]OK[/] \\x1b[2J[/x]"),
}


@pytest.mark.parametrize("row", sorted(STOPS))
def test_verify_stops_at_an_unusable_bundle(honest: tuple[Site, Path], auditor: Custody, tmp_path: Path,
                                            row: str) -> None:
    site, original = honest
    bundle = shutil.copytree(original, tmp_path / "bundle")
    make, words = STOPS[row]
    make(bundle)
    run = auditor.process("verify", os.fspath(bundle), "--authority", _authority(site))
    _clean(run)
    assert run.code == 3
    assert words in run.stderr
    assert len(run.stderr) < 2_000, len(run.stderr)  # what the bundle said is quoted shortened
    as_json = auditor("verify", os.fspath(bundle), "--authority", _authority(site), "--json")  # in-process
    _clean(as_json)
    doc = json.loads(as_json.stdout)
    assert as_json.code == 3 and not doc["ok"] and [f["code"] for f in doc["findings"]] == ["I7"]
    assert words in doc["findings"][0]["message"]


def _findings(run: Run) -> list[tuple[str, int | None, str]]:
    return [(f["code"], f["seq"], f["message"]) for f in json.loads(run.stdout)["findings"]]


@pytest.mark.parametrize("form", ["directory", "zip"])
def test_a_line_longer_than_an_entry_is_one_finding(honest: tuple[Site, Path], auditor: Custody, tmp_path: Path,
                                                    form: str) -> None:
    """The 40 MB line is read once, as it streams (the zip holds it in ~40 KB), and reported as I7 at its seq;
    its leaf hash still counts, so the tree and the checkpoints disagree with it (I4, I5), nothing worse."""
    site, original = honest
    bundle = shutil.copytree(original, tmp_path / "bundle")
    _long_second_line(bundle)
    target = zip_bundle(bundle, tmp_path / "b.zip") if form == "zip" else bundle
    run = auditor.process("verify", os.fspath(target), "--authority", _authority(site), "--json")
    _clean(run)
    assert run.code == 3
    found = _findings(run)
    too_long = "entry is malformed: it is 41,943,040 bytes long, more than the 16,777,216 bytes an entry may have"
    assert ("I7", 1, too_long) in found
    assert {code for code, _seq, _m in found} <= {"I4", "I5", "I6", "I7", "I8"}, found


def test_report_refuses_a_bundle_with_a_line_longer_than_an_entry(honest: tuple[Site, Path], auditor: Custody,
                                                                  tmp_path: Path) -> None:
    site, original = honest
    bundle = shutil.copytree(original, tmp_path / "bundle")
    _long_second_line(bundle)
    run = auditor.process("report", "register", os.fspath(bundle), "--authority", _authority(site),
                          "-o", os.fspath(tmp_path / "reports"), "--format", "json")
    _clean(run)
    assert run.code == 3
    assert "line 1 of entries.jsonl is longer than the 16,777,216 bytes an entry may have" in run.stderr


def test_a_zip_bomb_is_refused_before_it_is_inflated(honest: tuple[Site, Path], auditor: Custody,
                                                     tmp_path: Path) -> None:
    site, original = honest

    def bomb(archive: zipfile.ZipFile) -> None:
        with archive.open("attachments/bomb", "w", force_zip64=True) as fh:
            block = bytes(1 << 20)
            for _ in range(65):
                fh.write(block)

    target = zip_bundle(original, tmp_path / "b.zip", extra=bomb)
    assert target.stat().st_size < 1 << 20
    run = auditor.process("verify", os.fspath(target), "--authority", _authority(site))
    _clean(run)
    assert run.code == 3 and "attachments/bomb is larger than the 67,108,864 bytes" in run.stderr


# --- 150 byte flips of a zip bundle ------------------------------------------------------------------------

FLIPS = 150


@pytest.fixture(scope="module")
def honest_zip(honest: tuple[Site, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zip_bundle(honest[1], tmp_path_factory.mktemp("zip") / "honest.zip")


def _contents(path: Path) -> dict[str, str]:
    with Bundle(path) as opened:
        return {name: opened.digest(name)[0] for name in opened.files()}


@pytest.mark.parametrize("flip", range(FLIPS))
def test_a_flipped_byte_is_a_finding_or_an_unusable_bundle(honest: tuple[Site, Path], honest_zip: Path,
                                                           tmp_path: Path, flip: int) -> None:
    """Byte ``flip`` * size / 150, one bit flipped: exit 3 with findings or the reason the bundle is unusable,
    or -- where the byte carries nothing that is read (a timestamp, a copy in the local header, padding
    bits of DEFLATE data) -- exit 0 with every file's content unchanged.  Never exit 1."""
    site, _bundle = honest
    data = bytearray(honest_zip.read_bytes())
    data[flip * len(data) // FLIPS] ^= 1 << (flip % 8)
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    run = Custody(tmp_path)("verify", os.fspath(damaged), "--authority", _authority(site), "--json")
    _clean(run)
    assert run.code in (0, 3), run.stderr
    doc = json.loads(run.stdout)
    if run.code == 3:
        assert not doc["ok"] and doc["findings"], doc
        assert all(f["message"] for f in doc["findings"])
    else:
        assert doc["ok"] and _contents(damaged) == _contents(honest_zip)
