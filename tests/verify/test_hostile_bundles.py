"""What the verifier finds in a bundle that was damaged or edited after export: the manifest and the tlog-proofs.

Each row copies one honest, cosigned bundle (tests/verify/hostile.py), breaks
one thing and names the findings that must come out (code, severity, words
of the message).  The control row breaks nothing and gives no integrity
finding, so a row fails when its check is removed.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from custody.ledger.bundle import Bundle, build_tlog_proof, checkpoint_name
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosign
from custody.ledger.note import NoteSignature, Signer, format_note, parse_note, sign_note
from custody.ledger.rfc6962 import largest_power_of_two_below, leaf_hash, root_from_leaf_hashes
from custody.ledger.tlogproof import TlogProof, format_tlog_proof, parse_tlog_proof
from custody.verify import pool
from custody.verify.engine import Result, verify_bundle
from custody.verify.findings import ERROR, WARNING
from custody.verify.rules import default_rules, proofs
from custody.verify.rules.entries import Checked
from tests.verify.builders import (
    ORIGIN,
    WITNESS,
    WITNESS_NAME,
    Site,
    describe,
    entry_lines,
    forged_witness,
    verify,
)
from tests.verify.hostile import edit_manifest, honest_site, list_file, replace_file, zip_bundle
from tests.world import key


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, Path]:
    return honest_site(tmp_path_factory.mktemp("honest"))


def _proof_name(bundle: Path) -> str:
    names = sorted(p.relative_to(bundle).as_posix() for p in (bundle / "proofs").iterdir())
    assert len(names) == 1, names
    return names[0]


def _seq(name: str) -> int:
    return int(name.removeprefix("proofs/").removesuffix(".tlog-proof"))


def _checkpoints(bundle: Path) -> list[str]:
    return sorted(p.relative_to(bundle).as_posix() for p in (bundle / "checkpoints").iterdir())


def audit_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, from the leaf hashes: the tests' own, independent of the ledger's."""
    if len(leaves) == 1:
        return []
    k = largest_power_of_two_below(len(leaves))
    if index < k:
        return [*audit_path(index, leaves[:k]), root_from_leaf_hashes(leaves[k:])]
    return [*audit_path(index - k, leaves[k:]), root_from_leaf_hashes(leaves[:k])]


def _proof(site: Site, bundle: Path, seq: int, *, size: int | None = None, leaves: list[bytes] | None = None,
           origin: str = ORIGIN, signer: Signer | None = None) -> bytes:
    """A tlog-proof of entry ``seq`` over ``leaves`` (default: the bundle's entries), its checkpoint signed by
    ``signer`` (default: the log key)."""
    hashes = leaves if leaves is not None else [leaf_hash(line) for line in entry_lines(bundle)]
    size = len(hashes) if size is None else size
    text = Checkpoint(origin, size, root_from_leaf_hashes(hashes[:size])).to_text()
    note = sign_note(text, [signer or site.log])
    return format_tlog_proof(TlogProof(seq, tuple(audit_path(seq, hashes[:size])), note))


def _flip_hash(data: bytes) -> bytes:
    proof = parse_tlog_proof(data)
    first = bytes([proof.hashes[0][0] ^ 1]) + proof.hashes[0][1:]
    return format_tlog_proof(TlogProof(proof.index, (first, *proof.hashes[1:]), proof.checkpoint))


def _rename(bundle: Path, old: str, new: str) -> None:
    (bundle / old).rename(bundle / new)
    edit_manifest(bundle, lambda doc: doc["files"].__setitem__(new, doc["files"].pop(old)))


# --- the rows --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    edit: Callable[[Site, Path], None]
    expect: tuple[tuple[str, str, str], ...]  # (code, severity, words of the message)


def _nothing(site: Site, bundle: Path) -> None:
    pass


def _missing_log_vkey(site: Site, bundle: Path) -> None:
    (bundle / "log.vkey").unlink()  # unused with a trust store: only the manifest shows it is gone


def _missing_attachment(site: Site, bundle: Path) -> None:
    next((bundle / "attachments").iterdir()).unlink()


def _altered_log_vkey(site: Site, bundle: Path) -> None:
    with (bundle / "log.vkey").open("ab") as fh:
        fh.write(b"\n")


def _listed_size(site: Site, bundle: Path) -> None:
    edit_manifest(bundle, lambda doc: doc["files"]["log.vkey"].__setitem__("size", doc["files"]["log.vkey"]["size"] + 1))


def _listed_sha256(site: Site, bundle: Path) -> None:
    name = _checkpoints(bundle)[0]
    edit_manifest(bundle, lambda doc: doc["files"][name].__setitem__("sha256", "0" * 64))


def _entries_unlisted(site: Site, bundle: Path) -> None:
    edit_manifest(bundle, lambda doc: doc["files"].pop("entries.jsonl"))


def _checkpoint_list(site: Site, bundle: Path) -> None:
    edit_manifest(bundle, lambda doc: doc["checkpoints"].pop(0))


def _checkpoint_file_missing(site: Site, bundle: Path) -> None:
    (bundle / _checkpoints(bundle)[0]).unlink()


def _checkpoint_misnamed(site: Site, bundle: Path) -> None:
    first = _checkpoints(bundle)[0]
    assert first == checkpoint_name(1)
    _rename(bundle, first, checkpoint_name(3))
    edit_manifest(bundle, lambda doc: doc.__setitem__("checkpoints", sorted({3, *doc["checkpoints"]} - {1})))


def _unlisted_file(site: Site, bundle: Path) -> None:
    (bundle / "notes.txt").write_bytes(b"a remark the vendor added\n")


def _proof_garbage(site: Site, bundle: Path) -> None:
    replace_file(bundle, _proof_name(bundle), b"not a tlog-proof\n")


def _proof_index(site: Site, bundle: Path) -> None:
    name = _proof_name(bundle)
    _rename(bundle, name, f"proofs/{_seq(name) - 1}.tlog-proof")


def _proof_misnamed(site: Site, bundle: Path) -> None:
    replace_file(bundle, "proofs/readme.txt", b"the proofs of the disposals\n")


def _proof_other_key(site: Site, bundle: Path) -> None:
    name = _proof_name(bundle)
    replace_file(bundle, name, _proof(site, bundle, _seq(name), signer=Signer(ORIGIN, key("not the log key"))))


def _proof_other_origin(site: Site, bundle: Path) -> None:
    name = _proof_name(bundle)
    replace_file(bundle, name, _proof(site, bundle, _seq(name), origin="other.example.jp/custody/x"))


def _proof_forged_cosignature(site: Site, bundle: Path) -> None:
    """A line under the municipality's witness key ID, with a signature the vendor made."""
    name = _proof_name(bundle)
    proof = parse_tlog_proof((bundle / name).read_bytes())
    parsed = parse_note(proof.checkpoint)
    fake = cosign(parsed.text, 1_775_100_000, forged_witness())
    bad = NoteSignature(WITNESS_NAME, WITNESS.key_id, fake.signature)
    forged = format_note(type(parsed)(parsed.text, (*parsed.signatures, bad)))
    replace_file(bundle, name, format_tlog_proof(TlogProof(proof.index, proof.hashes, forged)))


def _proof_path_altered(site: Site, bundle: Path) -> None:
    name = _proof_name(bundle)
    replace_file(bundle, name, _flip_hash((bundle / name).read_bytes()))


def _proof_of_another_entry(site: Site, bundle: Path) -> None:
    """The path of the entry before, under the name and index of the disposal."""
    name = _proof_name(bundle)
    seq = _seq(name)
    other = parse_tlog_proof(_proof(site, bundle, seq - 1))
    replace_file(bundle, name, format_tlog_proof(TlogProof(seq, other.hashes, other.checkpoint)))


def _proof_beyond_entries(site: Site, bundle: Path) -> None:
    """A log-signed tree four entries longer than the bundle, and a proof of an entry only it holds."""
    leaves = [leaf_hash(line) for line in entry_lines(bundle)]
    longer = leaves + [hashlib.sha256(b"%d" % i).digest() for i in range(4)]
    seq = len(leaves) + 2
    replace_file(bundle, f"proofs/{seq}.tlog-proof", _proof(site, bundle, seq, leaves=longer))


def _proof_of_another_tree(site: Site, bundle: Path) -> None:
    """The log signed a tree of the same size in which one other entry differs: a fork, seen in the proof."""
    name = _proof_name(bundle)
    leaves = [leaf_hash(line) for line in entry_lines(bundle)]
    leaves[1] = hashlib.sha256(b"another entry 1").digest()
    replace_file(bundle, name, _proof(site, bundle, _seq(name), leaves=leaves))


ROWS = [
    Row("control: nothing changed", _nothing, ()),
    Row("a listed file is missing", _missing_log_vkey,
        (("I7", ERROR, "log.vkey is listed in the bundle manifest but missing"),)),
    Row("a listed attachment is missing", _missing_attachment,
        (("I7", ERROR, "is listed in the bundle manifest but missing"), ("I8", ERROR, "is missing"))),
    Row("a listed file was altered", _altered_log_vkey, (("I7", ERROR, "log.vkey differs from the bundle manifest"),)),
    Row("a listed size differs", _listed_size, (("I7", ERROR, "log.vkey differs from the bundle manifest"),)),
    Row("a listed SHA-256 differs", _listed_sha256,
        (("I7", ERROR, "checkpoints/000000000001.checkpoint differs from the bundle manifest"),)),
    Row("entries.jsonl is not listed", _entries_unlisted,
        (("I7", ERROR, "entries.jsonl differs from the bundle manifest"),)),
    Row("the checkpoint list differs from the files", _checkpoint_list,
        (("I7", ERROR, "the bundle manifest lists the checkpoints"),)),
    Row("a listed checkpoint file is missing", _checkpoint_file_missing,
        (("I7", ERROR, "checkpoints/000000000001.checkpoint is listed in the bundle manifest but missing"),
         ("I7", ERROR, "the bundle manifest lists the checkpoints 1, "))),
    Row("a checkpoint file is named after another size", _checkpoint_misnamed,
        (("I7", ERROR, "holds the checkpoint of size 1, but is not named checkpoints/000000000001.checkpoint"),)),
    Row("a file is not listed", _unlisted_file, (("I7", WARNING, "notes.txt is in the bundle but not in its manifest"),)),
    Row("a proof that does not parse", _proof_garbage, (("I7", ERROR, ".tlog-proof is malformed"),)),
    Row("a proof under another entry's name", _proof_index, (("I7", ERROR, "not entry"),)),
    Row("a file under proofs/ that is no proof", _proof_misnamed,
        (("I7", WARNING, "proofs/readme.txt is not a proof file of the bundle"),)),
    Row("a proof's checkpoint signed by another key", _proof_other_key,
        (("I3", ERROR, "does not verify with the log key"),)),
    Row("a proof's checkpoint for another origin", _proof_other_origin, (("I3", ERROR, "is for another origin"),)),
    Row("a proof's checkpoint with a forged cosignature", _proof_forged_cosignature,
        (("I3", ERROR, "carries a forged cosignature"),)),
    Row("a proof whose audit path was altered", _proof_path_altered,
        (("I4", ERROR, "does not lead to the root of the checkpoint it carries"),)),
    Row("a proof whose path is another entry's", _proof_of_another_entry,
        (("I4", ERROR, "does not lead to the root of the checkpoint it carries"),)),
    Row("a proof of an entry the bundle does not hold", _proof_beyond_entries,
        (("I4", ERROR, "which the bundle does not hold"), ("I4", ERROR, "beyond the"))),
    Row("a proof against a tree the entries do not make", _proof_of_another_tree,
        (("I4", ERROR, ".tlog-proof: tree root differs from the entries"),)),
]


def _integrity(result: Result) -> set[tuple[str, str, str]]:
    return {(f.code, f.severity, f.message) for f in result.findings if f.code.startswith("I")}


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_an_edited_bundle_gives_its_findings(honest: tuple[Site, Path], tmp_path: Path, row: Row) -> None:
    site, original = honest
    bundle = shutil.copytree(original, tmp_path / "bundle")
    row.edit(site, bundle)
    result = verify(bundle, site.trust())
    found = _integrity(result)
    for code, severity, words in row.expect:
        assert any(c == code and s == severity and words in m for c, s, m in found), (words, describe(result))
    if not row.expect:
        assert not found and result.ok, describe(result)
    # Nothing else: each row breaks one thing (an I8 or I4 that follows from it is named in the row).
    assert {c for c, _s, _m in found} == {code for code, _s, _w in row.expect}, describe(result)


@pytest.mark.parametrize("unlisted", [False, True], ids=["as exported", "one file not listed"])
def test_the_zip_form_is_checked_against_its_manifest(honest: tuple[Site, Path], tmp_path: Path,
                                                      unlisted: bool) -> None:
    site, original = honest

    def extra(archive: zipfile.ZipFile) -> None:
        if unlisted:
            archive.writestr("extra/notes.txt", b"unlisted")

    bundle = zip_bundle(original, tmp_path / "b.zip", extra=extra)
    result = verify(bundle, site.trust())
    expected = {("I7", WARNING, "extra/notes.txt is in the bundle but not in its manifest")} if unlisted else set()
    assert _integrity(result) == expected, describe(result)


def test_a_zip_without_a_listed_file(honest: tuple[Site, Path], tmp_path: Path) -> None:
    site, original = honest
    bundle = shutil.copytree(original, tmp_path / "dir")
    (bundle / "log.vkey").unlink()
    result = verify(zip_bundle(bundle, tmp_path / "b.zip"), site.trust())
    assert ("I7", ERROR) in {(f.code, f.severity) for f in result.findings}
    assert any("log.vkey is listed in the bundle manifest but missing" in f.message for f in result.findings)


@pytest.mark.parametrize(("chunk", "chunk_bytes", "block"), [(4, 1, 700), (2, 1, 64), (8, 3000, 1 << 20), (1, 1, 1)])
def test_chunks_cut_short_by_their_bytes_give_the_same_verdict(
    honest: tuple[Site, Path], monkeypatch: pytest.MonkeyPatch, chunk: int, chunk_bytes: int, block: int
) -> None:
    """Chunks cut at any aligned power of two (big entries) check the same roots, proofs and chain."""
    site, bundle = honest
    expected = verify(bundle, site.trust())
    monkeypatch.setattr(pool, "CHUNK", chunk)
    monkeypatch.setattr(pool, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(pool, "BLOCK", block)
    sizes: list[tuple[int, int]] = []
    real = pool._check_chunk

    def recording(start: int, lines: list[bytes], *args: object) -> Checked:
        sizes.append((start, len(lines)))
        return real(start, lines, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(pool, "_check_chunk", recording)
    with Bundle(bundle) as opened:
        got = verify_bundle(opened, site.trust(), default_rules(), workers=1)
    assert got.findings == expected.findings and got.ok == expected.ok
    for start, count in sizes:  # each chunk starts at a multiple of a power of two at least its length
        assert 0 < count <= chunk and start % (1 << (count - 1).bit_length()) == 0, sizes
    assert sum(count for _s, count in sizes) == site.size


def test_each_proof_checkpoint_is_opened_once(honest: tuple[Site, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Many proofs carrying the same checkpoint cost one signature check, and every one is verified."""
    site, original = honest
    bundle = shutil.copytree(original, tmp_path / "bundle")
    checkpoint = parse_tlog_proof((bundle / _proof_name(bundle)).read_bytes()).checkpoint
    size = Checkpoint.parse(parse_note(checkpoint).text).size
    for seq in range(size):
        replace_file(bundle, f"proofs/{seq}.tlog-proof", build_tlog_proof(site.ledger.store, seq, size, checkpoint))
    opened: list[bytes] = []
    real = proofs.open_proof_checkpoint

    def counting(note: bytes, *args: Any) -> tuple[Checkpoint | None, str, str]:
        opened.append(note)
        return real(note, *args)

    monkeypatch.setattr(proofs, "open_proof_checkpoint", counting)
    assert not _integrity(verify(bundle, site.trust()))
    assert opened == [checkpoint]
    replace_file(bundle, "proofs/2.tlog-proof", _flip_hash((bundle / "proofs/2.tlog-proof").read_bytes()))
    assert [(f.code, f.seq) for f in verify(bundle, site.trust()).findings if f.code.startswith("I")] == [("I4", 2)]


def test_list_file_fixes_the_manifest(honest: tuple[Site, Path], tmp_path: Path) -> None:
    """The rows' helper: a file added and listed is no finding (so rows test what they mean to)."""
    site, original = honest
    bundle = shutil.copytree(original, tmp_path / "bundle")
    (bundle / "notes.txt").write_bytes(b"listed")
    list_file(bundle, "notes.txt")
    assert not _integrity(verify(bundle, site.trust()))
