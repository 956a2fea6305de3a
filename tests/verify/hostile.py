"""Hostile bundles (issue 20's probes): an honest bundle to start from, and the edits an attacker makes.

The honest bundle is a real export of a contract with a witnessed disposal
(so it holds attachments, checkpoints and a tlog-proof), cosigned by the
municipality's real trust store (``verify.authority``).  Each hostile case
copies it and breaks one thing: the container (a pipe, a device, a link, a
size), the zip (names, modes, damaged bytes), the manifest, a proof.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from custody.ledger import canonical
from tests.verify.builders import Site


def honest_site(root: Path) -> tuple[Site, Path]:
    """A contract with a witnessed per-serial disposal, cosigned by the trust store; and its exported bundle."""
    site = Site(root / "vendor", authority=True)
    site.staff()
    site.receive()
    site.checkout()
    site.checkin()
    site.destroy()
    site.cosign()
    return site, site.export()


def copy_bundle(bundle: Path, dest: Path) -> Path:
    shutil.copytree(bundle, dest)
    return dest


def zip_bundle(bundle: Path, out: Path, *, extra: Callable[[zipfile.ZipFile], None] | None = None) -> Path:
    """The directory ``bundle`` as custody export --zip writes it (DEFLATE, manifest.json last); ``extra`` adds
    members after the others."""
    names = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    names = [n for n in names if n != "manifest.json"] + ["manifest.json"]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, (bundle / name).read_bytes())
        if extra is not None:
            extra(archive)
    return out


def manifest(bundle: Path) -> dict[str, Any]:
    return dict(json.loads((bundle / "manifest.json").read_bytes()))


def write_manifest(bundle: Path, doc: dict[str, Any]) -> None:
    (bundle / "manifest.json").write_bytes(canonical.dumps(doc) + b"\n")


def edit_manifest(bundle: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = manifest(bundle)
    change(doc)
    write_manifest(bundle, doc)


def list_file(bundle: Path, name: str) -> None:
    """Put ``name`` into the manifest as it now is (what export would have written for it)."""
    data = (bundle / name).read_bytes()
    edit_manifest(bundle, lambda doc: doc["files"].__setitem__(
        name, {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}))


def replace_file(bundle: Path, name: str, data: bytes, *, listed: bool = True) -> None:
    """Write ``data`` as ``name``; with ``listed`` the manifest is fixed to match (a careful forger)."""
    path = bundle / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if listed:
        list_file(bundle, name)
