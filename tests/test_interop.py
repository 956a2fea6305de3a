"""Interoperability: our bundles verify with Go's reference code, and tampered ones do not.

``interop/run`` builds and runs ``interop/main.go``, which checks a bundle with golang.org/x/mod's
``sumdb/note`` and ``sumdb/tlog`` and Go's crypto/ed25519 (interop/README.md): checkpoints against
log.vkey, roots against entries.jsonl, cosignatures against the genesis witness keys, consistency between
checkpoints, and tlog-proofs.  The tests that need Go skip where Go or x/mod is not installed, and fail
there instead when the environment variable CI is set (CI installs them first).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger.bundle import build_tlog_proof, checkpoint_name, export_bundle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosign
from custody.ledger.note import ALG_COSIGNATURE_V1, Signer, add_signatures, parse_note, sign_note
from tests.conftest import ROOT
from tests.helpers import new_ledger

RUN = ROOT / "interop" / "run"
X_MOD = Path("/usr/share/gocode/src/golang.org/x/mod/sumdb")  # where Debian's golang-golang-x-mod-dev puts it
INSTALL = "apt-get install golang-go golang-golang-x-mod-dev"
OK_LINE = re.compile(
    r"^interop-check OK: (\d+) entries, (\d+) checkpoints \(largest (\d+)\), (\d+) cosignatures, (\d+) proofs$",
    re.MULTILINE,
)
SUMMARIES = ("entries:", "keys:", "checkpoints:", "cosignatures:", "consistency:", "proofs:")
WITNESS_TIMES = (1_775_000_000, 1_775_003_600)


def _go_missing() -> str | None:
    """Why the Go check cannot run here (with what to install), or None."""
    missing = []
    if shutil.which("go") is None:
        missing.append("the Go toolchain (go)")
    if not all((X_MOD / package).is_dir() for package in ("note", "tlog")):
        missing.append(f"golang.org/x/mod (expected in {X_MOD.parent.parent})")
    if not missing:
        return None
    return f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed; install with: {INSTALL}"


@pytest.fixture(scope="module")
def go_installed() -> None:
    why = _go_missing()
    if why is None:
        return
    if "CI" in os.environ:
        pytest.fail(f"CI must install Go before running the tests: {why}")
    pytest.skip(why)


def interop(*args: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RUN), *map(str, args)], capture_output=True, text=True, timeout=600, check=False)


def ok_counts(proc: subprocess.CompletedProcess[str]) -> tuple[int, ...]:
    """The numbers of the OK line, after checking the run passed with one summary line per check."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for summary in SUMMARIES:
        assert re.search(f"^{summary} ", proc.stdout, re.MULTILINE), proc.stdout
    match = OK_LINE.search(proc.stdout)
    assert match is not None, proc.stdout
    return tuple(int(n) for n in match.groups())


@dataclass(frozen=True)
class Built:
    """A bundle with several checkpoints, cosignatures and proofs, and what went into it."""

    bundle: Path
    zip: Path
    extra: Path  # entry 3's tlog-proof against the latest checkpoint, given on the command line
    log: Signer
    origin: str
    entries: int
    checkpoints: tuple[int, ...]
    cosigned: tuple[int, ...]
    proofs: tuple[str, ...]  # proofs/*.tlog-proof in the bundle


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    tmp = tmp_path_factory.mktemp("interop")
    ledger, parties, log = new_ledger(tmp)
    with ledger:
        for i in range(40):
            ledger.append("note.recorded", {"text": f"n{i}"}, parties.responsible)
            if i == 5:
                ledger.append("media.disposed", {"media_id": "M-000"}, parties.responsible)
            if i % 13 == 0:
                ledger.checkpoint(log)
        ledger.append("media.disposed", {"media_id": "M-001"}, parties.responsible)
        for i in range(5):
            ledger.append("note.recorded", {"text": f"tail {i}"}, parties.responsible)
        ledger.checkpoint(log)
        sizes = tuple(size for size, _note in ledger.store.checkpoints())
        assert sizes == (1, 2, 16, 29, 42, 48), "the checkpoints the tamper cases name"  # 1: Ledger.create's
        cosigned = (16, 48)  # a witness cosigned an early checkpoint and the latest
        for size, at in zip(cosigned, WITNESS_TIMES, strict=True):
            note = ledger.store.checkpoint(size)
            assert note is not None
            ledger.merge_cosignatures(add_signatures(note, [cosign(parse_note(note).text, at, parties.witness)]))
        bundle, as_zip, extra = tmp / "bundle", tmp / "bundle.zip", tmp / "entry-3.tlog-proof"
        export_bundle(ledger.store, ledger.log_verifier().vkey, bundle)
        export_bundle(ledger.store, ledger.log_verifier().vkey, as_zip, as_zip=True)
        latest = ledger.store.latest_checkpoint()
        assert latest is not None
        extra.write_bytes(build_tlog_proof(ledger.store, 3, *latest))
        proofs = tuple(sorted(p.name for p in (bundle / "proofs").glob("*.tlog-proof")))
        assert len(proofs) == 2, "each disposal entry gets a proof"
        yield Built(bundle, as_zip, extra, log, ledger.origin, ledger.store.size, sizes, cosigned, proofs)


@pytest.mark.usefixtures("go_installed")
def test_go_accepts_our_bundle(built: Built) -> None:
    proc = interop(built.bundle, built.extra)
    assert ok_counts(proc) == (
        built.entries, len(built.checkpoints), built.checkpoints[-1], len(built.cosigned), len(built.proofs) + 1,
    )
    assert f"consistency: {len(built.checkpoints) - 1} consecutive" in proc.stdout


@pytest.mark.usefixtures("go_installed")
def test_go_accepts_our_zip_bundle(built: Built) -> None:
    proc = interop(built.zip)
    assert ok_counts(proc) == (
        built.entries, len(built.checkpoints), built.checkpoints[-1], len(built.cosigned), len(built.proofs),
    )


# --- tampered copies: each must fail in Go with exit status 1 ---------------------------------------------


def _flip_entry_byte(bundle: Path, built: Built) -> list[Path]:
    path = bundle / "entries.jsonl"
    data = bytearray(path.read_bytes())
    line_20 = sum(len(line) for line in data.splitlines(keepends=True)[:20])
    at = data.index(b'"text":"', line_20) + len(b'"text":"')
    data[at] ^= 0x01  # "n17" becomes "o17": still JSON, another leaf
    path.write_bytes(bytes(data))
    return [built.extra]


def _alter_signature(bundle: Path, size: int, name: str, offset: int) -> None:
    """Flip one bit of the signature bytes (after the 4-byte key ID) of ``name``'s line on a checkpoint."""
    path = bundle / checkpoint_name(size)
    prefix = f"\u2014 {name} ".encode()
    lines = path.read_bytes().split(b"\n")
    (i,) = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    raw = bytearray(base64.b64decode(lines[i][len(prefix) :]))
    raw[4 + offset] ^= 0x01
    lines[i] = prefix + base64.b64encode(bytes(raw))
    path.write_bytes(b"\n".join(lines))


def _alter_log_signature(bundle: Path, built: Built) -> list[Path]:
    _alter_signature(bundle, 29, built.origin, offset=10)
    return [built.extra]


def _alter_cosignature(bundle: Path, built: Built) -> list[Path]:
    _alter_signature(bundle, 48, "city.example.lg.jp/witness", offset=8 + 20)  # in the Ed25519 signature
    return [built.extra]


def _alter_cosignature_time(bundle: Path, built: Built) -> list[Path]:
    _alter_signature(bundle, 16, "city.example.lg.jp/witness", offset=7)  # in the u64 timestamp
    return [built.extra]


def _cosign_with_unknown_key(bundle: Path, built: Built) -> list[Path]:
    path = bundle / checkpoint_name(42)
    stranger = Signer("city.example.lg.jp/witness", Ed25519PrivateKey.generate(), alg=ALG_COSIGNATURE_V1)
    note = path.read_bytes()
    path.write_bytes(add_signatures(note, [cosign(parse_note(note).text, WITNESS_TIMES[1], stranger)]))
    return [built.extra]


def _alter_bundle_proof(bundle: Path, built: Built) -> list[Path]:
    path = bundle / "proofs" / built.proofs[0]
    lines = path.read_bytes().split(b"\n")
    assert lines[1].startswith(b"index ") and len(lines[2]) == 44
    raw = bytearray(base64.b64decode(lines[2]))
    raw[0] ^= 0x80
    lines[2] = base64.b64encode(bytes(raw))
    path.write_bytes(b"\n".join(lines))
    return [built.extra]


def _alter_extra_proof_index(bundle: Path, built: Built) -> list[Path]:
    altered = bundle.parent / "entry-4.tlog-proof"
    altered.write_bytes(built.extra.read_bytes().replace(b"\nindex 3\n", b"\nindex 4\n", 1))
    return [altered]


def _replace_checkpoint_root(bundle: Path, built: Built) -> list[Path]:
    """A checkpoint the log key did sign, but over another root: a forked history."""
    size = 16
    forged = Checkpoint(built.origin, size, hashlib.sha256(b"another history").digest()).to_text()
    (bundle / checkpoint_name(size)).write_bytes(sign_note(forged, [built.log]))
    return [built.extra]


TAMPERS: dict[str, tuple[Callable[[Path, Built], list[Path]], str]] = {
    "entry byte flipped": (_flip_entry_byte, r"checkpoints/000000000029\.checkpoint: root .* differs"),
    "checkpoint signature altered": (_alter_log_signature, r"000000000029\.checkpoint: does not verify with log\.vkey"),
    "cosignature altered": (_alter_cosignature, r"000000000048\.checkpoint: cosignature by .* does not verify"),
    "cosignature time altered": (_alter_cosignature_time, r"000000000016\.checkpoint: cosignature by .* does not verify"),
    "cosignature by an unknown key": (_cosign_with_unknown_key, r"42\.checkpoint: signature by unknown key city\.example"),
    "bundle proof altered": (_alter_bundle_proof, r"proofs/\d+\.tlog-proof: inclusion proof of entry \d+ .* rejected"),
    "extra proof index altered": (_alter_extra_proof_index, r"entry-4\.tlog-proof: inclusion proof of entry 4 .* rejected"),
    "checkpoint root replaced": (_replace_checkpoint_root, r"checkpoints/000000000016\.checkpoint: root .* differs"),
}


@pytest.mark.usefixtures("go_installed")
@pytest.mark.parametrize("case", TAMPERS)
def test_go_rejects_tampered_bundle(built: Built, tmp_path: Path, case: str) -> None:
    tamper, expected = TAMPERS[case]
    bundle = tmp_path / "bundle"
    shutil.copytree(built.bundle, bundle)
    extras = tamper(bundle, built)
    proc = interop(bundle, *extras)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("interop-check FAIL: ") and re.search(expected, last), proc.stdout
    assert "interop-check OK" not in proc.stdout


@pytest.mark.usefixtures("go_installed")
def test_usage_errors_exit_2(built: Built, tmp_path: Path) -> None:
    for args in ((), (tmp_path / "no-such-bundle",), (built.bundle, tmp_path / "no-such.tlog-proof")):
        proc = interop(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "usage: interop-check BUNDLE" in proc.stderr
        assert "interop-check OK" not in proc.stdout


def test_run_without_go_says_what_to_install(tmp_path: Path) -> None:
    """interop/run never installs Go itself: it names the packages and exits 3."""
    bash = shutil.which("bash")
    assert bash is not None
    installed = tmp_path / "apt-get-was-called"
    for tool in ("apt-get", "apt", "sudo"):  # the only commands on its PATH, and no go among them
        (tmp_path / tool).write_text(f"#!/bin/sh\n: > {installed}\n", encoding="utf-8")
        (tmp_path / tool).chmod(0o755)
    proc = subprocess.run([bash, str(RUN), str(tmp_path)], capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert INSTALL in proc.stderr
    assert not installed.exists()


@pytest.mark.usefixtures("go_installed")
def test_go_accepts_the_demo_bundle(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    made = subprocess.run([sys.executable, "-m", "custody.cli.demo", str(demo)], capture_output=True, text=True,
                          timeout=600, check=False, env={**os.environ, "CUSTODY_KDF_N": str(2**15)})
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    bundle = demo / "bundle"
    extras = [p for p in (demo / "work" / "entry-1.tlog-proof",) if p.exists()]
    notes = [parse_note(p.read_bytes()) for p in sorted((bundle / "checkpoints").iterdir())]
    proofs = list((bundle / "proofs").glob("*.tlog-proof"))
    expected = (
        len((bundle / "entries.jsonl").read_bytes().splitlines()),
        len(notes),
        Checkpoint.parse(notes[-1].text).size,
        sum(len(n.signatures) - 1 for n in notes),  # every line but the log's is a cosignature
        len(proofs) + len(extras),
    )
    assert expected[3] >= 1, "the demo's witness cosigns"
    assert ok_counts(interop(bundle, *extras)) == expected
