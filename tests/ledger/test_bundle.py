"""The evidence bundle: layout of docs/spec.md, manifest hashes, strict reading."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.ledger.bundle import Bundle, export_bundle
from custody.ledger.errors import BundleFormatError, OutputError
from custody.ledger.ledger import Ledger
from custody.ledger.tlogproof import parse_tlog_proof
from tests.conftest import SmallDisk
from tests.helpers import new_ledger


def test_layout_and_manifest(tmp_path: Path) -> None:
    ledger, parties, log = new_ledger(tmp_path)
    digest = ledger.store.put_attachment(b"certificate pdf")
    ledger.append("media.disposed", {"media_id": "M-1", "certificate": {"attachment": digest}}, parties.responsible)
    ledger.checkpoint(log)
    out = tmp_path / "b"
    manifest = export_bundle(ledger.store, ledger.log_verifier().vkey, out)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == sorted(
        ["manifest.json", "entries.jsonl", "log.vkey", f"attachments/{digest}", "proofs/1.tlog-proof",
         "checkpoints/000000000001.checkpoint", "checkpoints/000000000002.checkpoint"]
    )
    lines = (out / "entries.jsonl").read_bytes().splitlines()
    assert lines == [leaf for _s, leaf in ledger.store.leaves()]
    for name, info in manifest["files"].items():
        data = (out / name).read_bytes()
        assert info == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert manifest["size"] == 2 and manifest["origin"] == ledger.origin
    proof = parse_tlog_proof((out / "proofs" / "1.tlog-proof").read_bytes())
    assert proof.index == 1
    with Bundle(out) as bundle:
        assert bundle.unlisted_files() == []
        assert list(bundle.iter_lines()) == lines


def test_export_refuses_existing_path(tmp_path: Path) -> None:
    ledger, _p, _log = new_ledger(tmp_path)
    (tmp_path / "b").mkdir()
    with pytest.raises(BundleFormatError):
        export_bundle(ledger.store, ledger.log_verifier().vkey, tmp_path / "b")


def _busy_ledger(tmp_path: Path, notes: int = 300) -> Ledger:
    """A ledger whose bundle is ~250 KB (~150 KB zipped), with a checkpoint, an attachment and a disposal proof."""
    ledger, parties, log = new_ledger(tmp_path)
    digest = ledger.store.put_attachment(b"certificate pdf" * 100)
    ledger.append("media.disposed", {"media_id": "M-1", "certificate": {"attachment": digest}}, parties.responsible)
    for i in range(notes):
        ledger.append("note.recorded", {"text": f"remark {i} " + os.urandom(200).hex()}, parties.responsible)
    ledger.checkpoint(log)
    return ledger


@pytest.mark.parametrize("as_zip", [False, True], ids=["directory", "zip"])
@pytest.mark.parametrize("free", [0, 8 << 10, 96 << 10])
def test_export_to_a_full_disk_leaves_nothing(tmp_path: Path, small_disk: SmallDisk, as_zip: bool, free: int) -> None:
    """A real full disk, at several points of the export: a clear error, and no partial bundle under any name."""
    ledger = _busy_ledger(tmp_path)
    vkey = ledger.log_verifier().vkey
    out = small_disk.root / ("b.zip" if as_zip else "b")
    small_disk.leave(free)
    with pytest.raises(OutputError, match=r"Cannot write the bundle .*b(\.zip)?: No space left on device") as caught:
        export_bundle(ledger.store, vkey, out, as_zip=as_zip)
    assert caught.value.exit_code == 2 and caught.value.hint and "Nothing was left" in caught.value.hint
    assert small_disk.contents() == []
    small_disk.free()  # the same export, once there is room, writes the whole bundle
    export_bundle(ledger.store, vkey, out, as_zip=as_zip)
    with Bundle(out) as bundle:
        assert list(bundle.iter_lines()) == [leaf for _s, leaf in ledger.store.leaves()]


def test_export_where_a_file_stands_in_the_way(tmp_path: Path) -> None:
    ledger, _p, _log = new_ledger(tmp_path)
    (tmp_path / "afile").write_text("not a directory")
    with pytest.raises(OutputError, match="afile is not a directory"):
        export_bundle(ledger.store, ledger.log_verifier().vkey, tmp_path / "afile" / "b")
    with pytest.raises(OutputError, match="Not a directory"):
        export_bundle(ledger.store, ledger.log_verifier().vkey, tmp_path / "afile" / "c" / "b")


@pytest.mark.parametrize("as_zip", [False, True], ids=["directory", "zip"])
def test_an_interrupted_export_leaves_no_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_zip: bool) -> None:
    """Ctrl-C half-way (here: while the proofs are written): the partial copy is gone, the interrupt goes on."""
    import custody.ledger.bundle as bundle_module

    ledger = _busy_ledger(tmp_path, notes=3)

    def interrupted(*args: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle_module, "build_tlog_proof", interrupted)
    out = tmp_path / "out" / "b"
    with pytest.raises(KeyboardInterrupt):
        export_bundle(ledger.store, ledger.log_verifier().vkey, out, as_zip=as_zip)
    assert list((tmp_path / "out").iterdir()) == []


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(
    st.sampled_from(["format", "origin", "size", "files", "checkpoints", "x"]),
    st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=8), st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=4)),
                      max_size=2),
)))
def test_manifest_fuzz_only_bundle_errors(tmp_path: Path, data: bytes) -> None:
    d = tmp_path / "fuzz"
    d.mkdir(exist_ok=True)
    (d / "manifest.json").write_bytes(data)
    try:
        Bundle(d).close()
    except BundleFormatError:
        pass


@pytest.mark.parametrize(("as_zip", "theirs_a_file"), [(False, False), (False, True), (True, True)],
                         ids=["directory", "directory, a file took the name", "zip"])
def test_export_never_replaces_a_bundle_that_took_the_name_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_zip: bool, theirs_a_file: bool
) -> None:
    """Two exports to one name: the one that finishes second says the name is taken and leaves the other's bundle."""
    import custody.ledger.bundle as bundle_module

    ledger = _busy_ledger(tmp_path, notes=3)
    out = tmp_path / ("b.zip" if as_zip else "b")
    real_export = bundle_module._export

    def other_export_finishes_first(*args: Any) -> dict[str, Any]:
        manifest = real_export(*args)
        if theirs_a_file:
            out.write_bytes(b"the other export's zip")
        else:
            out.mkdir()
            (out / "manifest.json").write_bytes(b"the other export's bundle")
        return manifest

    monkeypatch.setattr(bundle_module, "_export", other_export_finishes_first)
    with pytest.raises(BundleFormatError, match="already exists"):
        export_bundle(ledger.store, ledger.log_verifier().vkey, out, as_zip=as_zip)
    theirs = out.read_bytes() if theirs_a_file else (out / "manifest.json").read_bytes()
    assert theirs.startswith(b"the other export's")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_zip_takes_its_name_where_the_disk_has_no_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAT and exFAT media refuse hard links (EPERM).  No FAT filesystem can be made here (no mkfs.vfat, and
    mounting needs root), so the refusal is injected at os.link; everything else is the real disk."""
    ledger = _busy_ledger(tmp_path, notes=3)

    def no_hard_links(*_args: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    out = tmp_path / "b.zip"
    export_bundle(ledger.store, ledger.log_verifier().vkey, out, as_zip=True)
    with Bundle(out) as bundle:
        assert list(bundle.iter_lines()) == [leaf for _s, leaf in ledger.store.leaves()]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _partial(where: Path, name: str, *, as_dir: bool, age: float) -> Path:
    path = where / name
    if as_dir:
        (path / "checkpoints").mkdir(parents=True)
        (path / "entries.jsonl").write_bytes(b"{}\n")
    else:
        path.write_bytes(b"PK partial zip")
    when = time.time() - age
    for p in (path, *path.rglob("*")):
        os.utime(p, (when, when))
    return path


def test_an_export_removes_the_partial_copies_killed_exports_left(tmp_path: Path) -> None:
    """Only those of the same name, nothing has written to for an hour, and whose process is gone."""
    from custody.ledger.bundle import ABANDONED_AFTER_SECONDS

    ledger = _busy_ledger(tmp_path, notes=3)
    gone = 2**22 + 7  # above Linux's largest pid: no such process
    old, recent = ABANDONED_AFTER_SECONDS + 60, ABANDONED_AFTER_SECONDS - 60
    abandoned = [
        _partial(tmp_path, f".b.partial-{gone}", as_dir=True, age=old),
        _partial(tmp_path, f".b.partial-{gone + 1}", as_dir=False, age=old),
    ]
    kept = [
        _partial(tmp_path, f".b.partial-{gone + 2}", as_dir=True, age=recent),  # maybe another machine's, writing
        _partial(tmp_path, f".b.partial-{gone + 3}", as_dir=False, age=recent),
        _partial(tmp_path, f".c.partial-{gone}", as_dir=True, age=old),  # another bundle's
        _partial(tmp_path, ".b.partial-x", as_dir=False, age=old),  # not one of ours
    ]
    if os.name == "posix":
        kept.append(_partial(tmp_path, f".b.partial-{os.getppid()}", as_dir=True, age=old))  # its process runs
    ledger_file = tmp_path / "b"
    export_bundle(ledger.store, ledger.log_verifier().vkey, ledger_file)
    assert not any(p.exists() for p in abandoned)
    assert all(p.exists() for p in kept)
    assert (ledger_file / "manifest.json").is_file()
