"""Reading a hostile bundle (docs/spec.md §10.8, §10.5, §10.2): every file a regular file within its limit,
every zip member safe, the manifest strict, every line read in linear time and memory.

Each row breaks one thing in a real exported bundle and names the words of
the refusal; opening (or reading) must raise BundleFormatError, never hang,
never another exception.  The control rows open the same bundle unbroken.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.cli.common import ATTACHMENT_LIMIT
from custody.ledger.bundle import (
    MAX_ATTACHMENT_BYTES,
    MAX_CHECKPOINT_BYTES,
    MAX_ENTRIES_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_OTHER_BYTES,
    MAX_PROOF_BYTES,
    Bundle,
    LineSplitter,
    LongLine,
    export_bundle,
)
from custody.ledger.entry import MAX_LEAF_BYTES, sign_entry
from custody.ledger.errors import BundleFormatError, SchemaError
from custody.ledger.rfc6962 import leaf_hash
from tests.helpers import new_ledger
from tests.verify.hostile import edit_manifest, manifest, write_manifest, zip_bundle


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bundle: entries, checkpoints, an attachment and a disposal's tlog-proof."""
    root = tmp_path_factory.mktemp("exported")
    ledger, parties, log = new_ledger(root)
    digest = ledger.store.put_attachment(b"certificate pdf")
    ledger.append("media.disposed", {"media_id": "M-1", "certificate": {"attachment": digest}}, parties.responsible)
    ledger.checkpoint(log)
    out = root / "bundle"
    export_bundle(ledger.store, ledger.log_verifier().vkey, out)
    return out


@pytest.fixture
def bundle(exported: Path, tmp_path: Path) -> Path:
    return shutil.copytree(exported, tmp_path / "bundle")


def _read_all(path: Path) -> None:
    """Open the bundle and read every file as the verifier does."""
    with Bundle(path) as opened:
        list(opened.iter_lines())
        for name in opened.files():
            opened.digest(name)


def _sparse(path: Path, size: int) -> None:
    """A file of ``size`` bytes that takes no room on disk: its size is what counts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.truncate(size)


def _replace(path: Path, make: Callable[[Path], None]) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    make(path)


def _attachment(bundle: Path) -> Path:
    return next((bundle / "attachments").iterdir())


def _linked_folder(bundle: Path) -> None:
    shutil.move(bundle / "checkpoints", bundle.parent / "elsewhere")
    (bundle / "checkpoints").symlink_to(bundle.parent / "elsewhere")


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(os.fspath(path))
    server.close()  # the socket file stays


# (break the directory bundle, words of the refusal)
DIRECTORY_ROWS: dict[str, tuple[Callable[[Path], object], str]] = {
    "manifest.json is a FIFO": (lambda b: _replace(b / "manifest.json", os.mkfifo),
                                "manifest.json is a named pipe (FIFO), not a regular file"),
    "entries.jsonl is a FIFO": (lambda b: _replace(b / "entries.jsonl", os.mkfifo),
                                "entries.jsonl is a named pipe (FIFO), not a regular file"),
    "manifest.json links to /dev/zero": (
        lambda b: _replace(b / "manifest.json", lambda p: p.symlink_to("/dev/zero")),
        "manifest.json is a symbolic link, not a regular file"),
    "entries.jsonl links to /dev/zero": (
        lambda b: _replace(b / "entries.jsonl", lambda p: p.symlink_to("/dev/zero")),
        "entries.jsonl is a symbolic link, not a regular file"),
    "entries.jsonl links to a regular file": (
        lambda b: _replace(b / "entries.jsonl", lambda p: p.symlink_to(b / "log.vkey")),
        "entries.jsonl is a symbolic link, not a regular file"),
    "the checkpoints folder is a link": (_linked_folder, "checkpoints is a symbolic link, not a regular file"),
    "an unlisted FIFO": (lambda b: os.mkfifo(b / "attachments" / "pipe"),
                         "attachments/pipe is a named pipe (FIFO), not a regular file"),
    "an unlisted socket": (lambda b: _socket(b / "s"), "s is a socket, not a regular file"),
    "manifest.json is a directory": (lambda b: _replace(b / "manifest.json", lambda p: p.mkdir()),
                                     "manifest.json is a directory, not a regular file"),
    "manifest.json beyond 64 MiB": (lambda b: _sparse(b / "manifest.json", MAX_MANIFEST_BYTES + 1),
                                    "manifest.json is larger than the 67,108,864 bytes"),
    "entries.jsonl beyond 64 GiB": (lambda b: _sparse(b / "entries.jsonl", MAX_ENTRIES_BYTES + 1),
                                    "entries.jsonl is larger than the 68,719,476,736 bytes"),
    "an attachment beyond 64 MiB": (lambda b: _sparse(_attachment(b), MAX_ATTACHMENT_BYTES + 1),
                                    "is larger than the 67,108,864 bytes"),
    "a checkpoint beyond 1 MiB": (lambda b: _sparse(b / "checkpoints" / "000000000001.checkpoint",
                                                    MAX_CHECKPOINT_BYTES + 1),
                                  "checkpoints/000000000001.checkpoint is larger than the 1,048,576 bytes"),
    "a proof beyond 2 MiB": (lambda b: _sparse(b / "proofs" / "1.tlog-proof", MAX_PROOF_BYTES + 1),
                             "proofs/1.tlog-proof is larger than the 2,097,152 bytes"),
    "an unlisted file beyond 64 MiB": (lambda b: _sparse(b / "extra" / "big.iso", MAX_OTHER_BYTES + 1),
                                       "extra/big.iso is larger than the 67,108,864 bytes"),
    "a file name with a backslash": (lambda b: (b / "a\\b").write_bytes(b"x"), "unsafe file name in bundle"),
    "a file name with a line break": (lambda b: (b / "a\nb").write_bytes(b"x"), "unsafe file name in bundle"),
    "a file name with an escape": (lambda b: (b / "a\x1b[2Jb").write_bytes(b"x"), "'a\\x1b[2Jb'"),
}


@pytest.mark.parametrize("row", sorted(DIRECTORY_ROWS))
def test_a_directory_bundle_holds_only_regular_files_within_limits(bundle: Path, row: str) -> None:
    _read_all(bundle)  # the control: the same bundle unbroken
    make, words = DIRECTORY_ROWS[row]
    make(bundle)
    with pytest.raises(BundleFormatError) as caught:
        _read_all(bundle)
    assert words in caught.value.message
    assert len(caught.value.diagnostic()) < 600


def test_entries_that_are_a_directory(bundle: Path) -> None:
    _replace(bundle / "entries.jsonl", lambda p: p.mkdir())
    with Bundle(bundle) as opened, pytest.raises(BundleFormatError, match=r"entries\.jsonl is a directory"):
        list(opened.iter_lines())


# --- the zip form ------------------------------------------------------------------------------------------


def _member(name: str, data: bytes = b"x", *, mode: int = stat.S_IFREG | 0o644,
            compression: int = zipfile.ZIP_DEFLATED) -> Callable[[zipfile.ZipFile], None]:
    def add(archive: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = mode << 16
        info.compress_type = compression
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: that is the point
            archive.writestr(info, data)
    return add


def _patched(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 2  # the local header and the central directory
    return data.replace(old, new)


def _lying_size(data: bytes, name: bytes, size: int) -> bytes:
    """Declare ``size`` as the uncompressed size of member ``name`` in both of its headers."""
    out = bytearray(data)
    local = out.find(b"PK\x03\x04")
    while local >= 0:
        if out[local + 30 : local + 30 + len(name)] == name:
            struct.pack_into("<I", out, local + 22, size)
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central >= 0:
        if out[central + 46 : central + 46 + len(name)] == name:
            struct.pack_into("<I", out, central + 24, size)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def _encrypted(data: bytes, name: bytes = b"notes.txt") -> bytes:
    """Set the 'encrypted' flag of member ``name`` in both of its headers (zipfile writes none)."""
    out = bytearray(data)
    for signature, flags, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = out.find(signature)
        while at >= 0:
            if out[at + name_at : at + name_at + len(name)] == name:
                out[at + flags] |= 0x1
            at = out.find(signature, at + 4)
    return bytes(out)


def _overlapping(data: bytes) -> bytes:
    """Point the central directory's last member at the first member's local header."""
    out = bytearray(data)
    centrals = []
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        centrals.append(at)
        at = out.find(b"PK\x01\x02", at + 4)
    struct.pack_into("<I", out, centrals[-1] + 42, 0)
    return bytes(out)


ZipRow = tuple[Callable[[zipfile.ZipFile], None] | None, Callable[[bytes], bytes] | None, str]
ZIP_ROWS: dict[str, ZipRow] = {
    "a member named ../evil": (_member("../evil"), None, "unsafe file name in bundle: '../evil'"),
    "a member named attachments/../../x": (_member("attachments/../../x"), None, "unsafe file name"),
    "an absolute member name": (_member("/etc/cron.d/x"), None, "unsafe file name in bundle: '/etc/cron.d/x'"),
    "a member name with a backslash": (_member("..\\evil"), None, "unsafe file name"),
    "a member name with an empty part": (_member("proofs//1.tlog-proof"), None, "unsafe file name"),
    "a member name with a . part": (_member("./manifest.json"), None, "unsafe file name"),
    "a member name with NUL": (_member("manifest.jsonZ.txt"),
                               lambda d: _patched(d, b"manifest.jsonZ.txt", b"manifest.json\x00.txt"),
                               "unsafe file name"),
    "a directory member named ../": (_member("../", b"", mode=stat.S_IFDIR | 0o755), None, "unsafe file name"),
    "manifest.json twice": (_member("manifest.json", b"{}"), None, "the zip holds manifest.json twice"),
    "a symbolic-link member": (_member("attachments/link", b"/etc/passwd", mode=stat.S_IFLNK | 0o777), None,
                               "attachments/link is a symbolic link, not a regular file"),
    "a FIFO member": (_member("pipe", b"", mode=stat.S_IFIFO | 0o644), None, "pipe is a named pipe (FIFO)"),
    "a directory mode on a file name": (_member("notes", b"", mode=stat.S_IFDIR | 0o755), None,
                                        "notes is a directory, not a regular file"),
    "an encrypted member": (_member("notes.txt"), _encrypted, "notes.txt is encrypted"),
    "a bzip2 member": (_member("notes.txt", b"x" * 100, compression=zipfile.ZIP_BZIP2), None,
                       "notes.txt uses a compression other than DEFLATE"),
    "a zip bomb declaring 64 MiB + 1": (_member("attachments/bomb", bytes(MAX_ATTACHMENT_BYTES + 1)), None,
                                        "attachments/bomb is larger than the 67,108,864 bytes"),
    "overlapping members": (_member("notes.txt"), _overlapping, "overlaps another member"),
    "a truncated zip": (None, lambda d: d[:-60], "is neither a bundle directory nor a valid zip"),
}


@pytest.mark.parametrize("row", sorted(ZIP_ROWS))
def test_a_zip_bundle_refuses_unsafe_members(bundle: Path, tmp_path: Path, row: str) -> None:
    _read_all(zip_bundle(bundle, tmp_path / "control.zip"))
    extra, patch, words = ZIP_ROWS[row]
    path = zip_bundle(bundle, tmp_path / "b.zip", extra=extra)
    if patch is not None:
        path.write_bytes(patch(path.read_bytes()))
    with pytest.raises(BundleFormatError) as caught:
        _read_all(path)
    assert words in caught.value.message, caught.value.message


def test_a_member_is_never_inflated_beyond_its_declared_size(bundle: Path, tmp_path: Path) -> None:
    """The header says 100 bytes, the data inflate to 1 MiB: reading stops at 100 and the damage is reported."""
    (bundle / "entries.jsonl").write_bytes(b"x" * (1 << 20) + b"\n")
    path = zip_bundle(bundle, tmp_path / "b.zip")
    path.write_bytes(_lying_size(path.read_bytes(), b"entries.jsonl", 100))
    with Bundle(path) as opened:
        assert opened.entries_size_bytes() == 100
        stream = opened.open_stream("entries.jsonl")
        with pytest.raises(BundleFormatError, match=r"entries\.jsonl is missing or unreadable .*CRC"):
            read = 0
            while block := stream.read(1 << 16):
                read += len(block)
                assert read <= 100
        stream.close()


@pytest.mark.parametrize("member", ["entries.jsonl", "manifest.json", "log.vkey"])
def test_a_damaged_member_is_an_unusable_bundle(bundle: Path, tmp_path: Path, member: str) -> None:
    path = zip_bundle(bundle, tmp_path / "b.zip")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    start = info.header_offset + 30 + len(member.encode())
    data[start + info.compress_size // 2] ^= 0x55  # inside the member's compressed data
    path.write_bytes(bytes(data))
    with pytest.raises(BundleFormatError, match=f"{member} is missing or unreadable"):
        _read_all(path)


# --- lines ---------------------------------------------------------------------------------------------------


def _reference(data: bytes, limit: int) -> list[bytes | LongLine]:
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [p if len(p) <= limit else LongLine(len(p), leaf_hash(p)) for p in parts]


def _split(data: bytes, cuts: list[int], limit: int) -> list[bytes | LongLine]:
    splitter = LineSplitter(limit)
    got: list[bytes | LongLine] = []
    for begin, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        lines, longs = splitter.feed(data[begin:end])
        got.extend(longs.get(i, line) for i, line in enumerate(lines))
        assert all(lines[i] == b"" for i in longs)
    last = splitter.end()
    if last is not None:
        got.append(last)
    return got


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=12),
    final_newline=st.booleans(),
    limit=st.integers(min_value=0, max_value=8),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6),
)
def test_line_splitter_agrees_with_split_at_any_blocks(lines: list[bytes], final_newline: bool, limit: int,
                                                       cuts: list[int]) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    blocks = sorted({c for c in cuts if 0 < c < len(data)})
    assert _split(data, blocks, limit) == _reference(data, limit)


def test_a_long_line_is_hashed_not_held(tmp_path: Path) -> None:
    """A line of 64 blocks under a limit of 3 blocks: LongLine with the leaf hash of all its bytes."""
    line = os.urandom(64 * 1024).replace(b"\n", b"x")
    splitter = LineSplitter(3 * 1024)
    for at in range(0, len(line), 1024):
        assert splitter.feed(line[at : at + 1024]) == ([], {})
        assert splitter._held <= 3 * 1024  # never more than the limit is kept
    assert splitter.feed(b"\nnext\n") == ([b"", b"next"], {0: LongLine(len(line), leaf_hash(line))})
    assert splitter.end() is None


def test_iter_lines_refuses_a_line_longer_than_an_entry(bundle: Path) -> None:
    first = (bundle / "entries.jsonl").read_bytes().split(b"\n")[0]
    (bundle / "entries.jsonl").write_bytes(first + b"\n" + b"x" * (MAX_LEAF_BYTES + 1) + b"\n")
    with Bundle(bundle) as opened:
        lines = opened.iter_lines()
        assert next(lines) == first
        with pytest.raises(BundleFormatError, match=r"line 1 of entries\.jsonl is longer than the 16,777,216 bytes"):
            next(lines)


def test_the_ledger_signs_no_entry_longer_than_the_verifier_reads(tmp_path: Path) -> None:
    _ledger, parties, _log = new_ledger(tmp_path)
    with pytest.raises(SchemaError, match="more than the 16777216"):
        sign_entry(origin="o.example/x", seq=1, prev=bytes(32), type="note.recorded", at="2026-04-01T09:00:00+09:00",
                   body={"text": "x" * MAX_LEAF_BYTES}, signer=parties.responsible)


def test_the_attachment_limits_agree() -> None:
    """The bundle can hold every attachment the CLI accepts, and no larger one."""
    assert MAX_ATTACHMENT_BYTES == ATTACHMENT_LIMIT


# --- the manifest ---------------------------------------------------------------------------------------------


def _set_file(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc["files"]["log.vkey"].__setitem__(field, value)


MANIFEST_ROWS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a negative file size": (_set_file("size", -1), "entry for log.vkey is malformed"),
    "a file size true": (_set_file("size", True), "entry for log.vkey is malformed"),
    "a file size as text": (_set_file("size", "97"), "entry for log.vkey is malformed"),
    "an upper-case SHA-256": (lambda d: _set_file("sha256", d["files"]["log.vkey"]["sha256"].upper())(d),
                              "entry for log.vkey is malformed"),
    "a short SHA-256": (_set_file("sha256", "abc"), "entry for log.vkey is malformed"),
    "an extra member in a file entry": (_set_file("mode", 420), "entry for log.vkey is malformed"),
    "the manifest lists itself": (lambda d: d["files"].__setitem__("manifest.json", d["files"]["log.vkey"]),
                                  "entry for manifest.json is malformed"),
    "an unsafe listed name": (lambda d: d["files"].__setitem__("../x", d["files"]["log.vkey"]),
                              "unsafe file name in bundle: '../x'"),
    "a listed name of 2 MiB": (lambda d: d["files"].__setitem__("/" + "a" * (2 << 20), d["files"]["log.vkey"]),
                               "characters in all"),
    "a negative entry count": (lambda d: d.__setitem__("size", -3), "'size' must not be negative"),
    "an entry count true": (lambda d: d.__setitem__("size", True), "'size' is missing or has the wrong type"),
    "checkpoints out of order": (lambda d: d.__setitem__("checkpoints", [2, 1]), "ascending order"),
    "a checkpoint listed twice": (lambda d: d.__setitem__("checkpoints", [1, 1, 2]), "ascending order"),
    "a negative checkpoint": (lambda d: d.__setitem__("checkpoints", [-1, 1, 2]), "ascending order"),
    "a checkpoint true": (lambda d: d.__setitem__("checkpoints", [True, 2]), "ascending order"),
    "an origin that is no text": (lambda d: d.__setitem__("origin", 7), "'origin' is missing or has the wrong type"),
}


@pytest.mark.parametrize("row", sorted(MANIFEST_ROWS))
def test_a_malformed_manifest_is_refused(bundle: Path, row: str) -> None:
    change, words = MANIFEST_ROWS[row]
    edit_manifest(bundle, change)
    with pytest.raises(BundleFormatError) as caught:
        Bundle(bundle)
    assert words in caught.value.message
    assert len(caught.value.message) < 600


def test_the_control_manifest_opens(bundle: Path) -> None:
    write_manifest(bundle, manifest(bundle))
    with Bundle(bundle) as opened:
        assert opened.unlisted_files() == [] and opened.declared_size == 2
        assert opened.digest("log.vkey") == (hashlib.sha256((bundle / "log.vkey").read_bytes()).hexdigest(),
                                             (bundle / "log.vkey").stat().st_size)


def test_a_manifest_of_floats_is_refused(bundle: Path) -> None:
    doc = manifest(bundle)
    text = json.dumps(doc).replace('"size": 2', '"size": 2.0')
    (bundle / "manifest.json").write_text(text)
    with pytest.raises(BundleFormatError, match=r"manifest\.json is malformed"):
        Bundle(bundle)
