"""ledger.bundle: unsafe file names in a manifest are refused when the bundle is opened (docs/spec.md §10.2).

Found while fuzzing the manifest parser (``make fuzz``, target ``manifest``, which
looks up and reads every listed name): a name holding NUL passed the manifest
check, and reading that file raised ValueError ("embedded null byte"); a listed
name longer than the file system allows made ``Bundle.has`` raise OSError
(ENAMETOOLONG).  The CLI reports both as a bug (exit 1) instead of a malformed
bundle (exit 3).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custody.ledger.bundle import FORMAT, MANIFEST, Bundle
from custody.ledger.errors import BundleFormatError


def _bundle_with(tmp_path: Path, name: str) -> Path:
    manifest = {"format": FORMAT, "origin": "example.org/log", "size": 0, "checkpoints": [],
                "files": {name: {"sha256": "00" * 32, "size": 0}}}
    (tmp_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "name",
    ["attachments/a\x00b", "\x00", "entries.jsonl\x00", "/etc/passwd", "../outside", "a/../../b", "a\\b", ""],
    ids=["nul-inside", "nul-only", "nul-after-a-real-name", "absolute", "parent", "parent-inside", "backslash",
         "empty"],
)
def test_a_manifest_listing_an_unsafe_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(BundleFormatError):
        Bundle(_bundle_with(tmp_path, name))


def test_reading_a_name_with_nul_is_a_bundle_error_not_a_crash(tmp_path: Path) -> None:
    with Bundle(_bundle_with(tmp_path, "entries.jsonl")) as bundle:
        with pytest.raises(BundleFormatError):
            bundle.read("attachments/a\x00b")
        with pytest.raises(BundleFormatError):
            bundle.open_stream("entries.jsonl\x00")


def test_a_listed_name_too_long_for_the_file_system_is_a_missing_file(tmp_path: Path) -> None:
    name = "attachments/" + "a" * 300  # one component longer than NAME_MAX (255 on Linux, macOS, Windows)
    (tmp_path / "attachments").mkdir()  # (where the folder is missing, the lookup fails early: ENOENT)
    with Bundle(_bundle_with(tmp_path, name)) as bundle:
        assert bundle.listed(name) is not None
        assert not bundle.has(name)
        with pytest.raises(BundleFormatError):
            bundle.read(name)
