"""What the reports are written from: the verification result, the final lifecycle state and
the facts read from the evidence bundle itself.

:func:`load_report_data` reads a bundle the verifier has already checked
(``verify.engine.verify_bundle`` with ``verify.rules.default_rules()``, whose
``Result.state`` is the final ``custody.ledger.lifecycle.LedgerState``) and gathers
what the state does not keep:

* every human entry (all types but the agent's observations): seq, type,
  time, actor, leaf hash and body -- the histories, certificates, approvals,
  incidents and inspections are printed from these;
* the bundle's final checkpoint and the latest checkpoint the municipality
  cosigned (from the bundle, or from the trust store's own copies), with
  their cosigners;
* for every disposal and erasure entry, a C2SP ``tlog-proof`` built from
  the bundle against the latest municipality-cosigned checkpoint that
  contains it (else the latest checkpoint that does, marked as not
  cosigned), verified here; and whether the bundle's own
  ``proofs/<seq>.tlog-proof`` verifies;
* whether each attachment an entry references is in the bundle with its hash.

Memory stays bounded for long ledgers: agent observations (the bulk of a
long ledger) are skipped without parsing, and proofs are built in a second
streaming pass that keeps only the O(log n) subtree hashes the proofs need
(RFC 6962 stored-hash order, ``ledger.tlog``), never all leaf hashes.

Nothing here is trusted more than the verifier: a proof that does not
verify is reported as such in the certificate, next to the findings.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from custody.ledger.bundle import Bundle, attachment_refs
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosignatures_by
from custody.ledger.entry import parse_entry
from custody.ledger.errors import CustodyError, ProofError
from custody.ledger.events import AGENT_TYPES
from custody.ledger.lifecycle import LedgerState, new_state
from custody.ledger.note import open_note, parse_note
from custody.ledger.proof import root_from_inclusion, verify_inclusion
from custody.ledger.rfc6962 import leaf_hash, node_hash
from custody.ledger.tlog import prove_record, split_stored_hash_index, tree_hash
from custody.ledger.tlogproof import TlogProof, format_tlog_proof, parse_tlog_proof
from custody.verify.certificate import SANITIZING as CERTIFIED
from custody.verify.engine import EntryView, Result
from custody.verify.reports.form import FormOptions
from custody.verify.trust import TrustAnchor

#: Entries whose certificates carry an inclusion proof: the sanitizing entries a certificate is made from.
PROOF_TYPES = CERTIFIED
_AGENT = frozenset(AGENT_TYPES)
_TYPE_KEY = b',"type":"'


@dataclass(frozen=True)
class CheckpointView:
    """A checkpoint note that verified with the pinned log key, and who cosigned it."""

    size: int
    root_hash: bytes
    note: bytes
    cosigners: tuple[tuple[str, int], ...]  # (witness key name, cosignature timestamp), by name
    source: str  # "bundle" or "authority"

    @property
    def cosigned(self) -> bool:
        return bool(self.cosigners)


@dataclass(frozen=True)
class EntryProof:
    """A tlog-proof of one entry, built from the bundle, and what checking it found."""

    seq: int
    checkpoint: CheckpointView | None
    text: bytes  # the .tlog-proof file; b"" when none could be built
    verified: bool
    problem: str  # why not: "" (verified) | no_checkpoint | short_bundle | root_differs | inclusion_fails
    bundle_proof: str  # "absent" | "verified" | "invalid"
    bundle_proof_size: int | None = None


@dataclass
class ReportData:
    """Everything a report is written from (see the module documentation)."""

    result: Result
    state: LedgerState
    entries: dict[int, EntryView] = field(default_factory=dict)
    size: int = 0
    final_checkpoint: CheckpointView | None = None
    cosigned_checkpoint: CheckpointView | None = None
    proofs: dict[int, EntryProof] = field(default_factory=dict)
    attachments: dict[str, bool] = field(default_factory=dict)  # sha256 hex -> present with that hash
    lines: dict[int, bytes] = field(default_factory=dict)  # seq -> the signed line, for sanitization entries
    photos: dict[str, bytes] = field(default_factory=dict)  # sha256 hex -> bytes, for photos that are images
    form: FormOptions = field(default_factory=FormOptions)  # the official form's choices (reports.form)

    @property
    def genesis(self) -> dict[str, Any]:
        if self.state.genesis is not None:
            return self.state.genesis
        first = self.entries.get(0)
        return first.body if first is not None and first.type == "contract.opened" else {}

    @property
    def last_at(self) -> str:
        return self.state.last_at or max((e.at for e in self.entries.values()), default="")

    def of_type(self, *types: str) -> list[EntryView]:
        return [e for _seq, e in sorted(self.entries.items()) if e.type in types]


def _entry_type(line: bytes) -> str:
    """The entry's type from its JCS bytes: "type" is the last key of the envelope."""
    pos = line.rfind(_TYPE_KEY)
    if pos < 0 or not line.endswith(b'"}'):
        return ""
    return line[pos + len(_TYPE_KEY) : -2].decode("utf-8", errors="replace")


# The entries a disposal or erasure certificate is made from (reports.disposal).
SANITIZING = frozenset(CERTIFIED)


def _read_entries(lines: Iterable[bytes], data: ReportData) -> None:
    size = 0
    for seq, line in enumerate(lines):
        size = seq + 1
        if _entry_type(line) in _AGENT:
            continue
        try:
            entry = parse_entry(line)
        except CustodyError:
            continue  # malformed: the verifier's I7
        data.entries[seq] = EntryView(seq, entry.type, entry.at, entry.actor, entry.body, leaf_hash(line))
        if entry.type in SANITIZING:
            data.lines[seq] = line  # a certificate carries its entry as signed (verify-certificate)
    data.size = size


def _view(note: bytes, trust: TrustAnchor, source: str) -> CheckpointView | None:
    try:
        parsed, _ok = open_note(note, [trust.log_verifier()])
        checkpoint = Checkpoint.parse(parsed.text)
    except (CustodyError, ValueError):
        return None
    if checkpoint.origin != trust.origin:
        return None
    try:
        stamps = cosignatures_by(parsed, trust.witness_verifiers())
    except CustodyError:
        stamps = {}  # a forged cosignature counts as none (the verifier reports I3)
    cosigners = tuple(sorted((vkey.split("+", 1)[0], ts) for vkey, ts in stamps.items()))
    return CheckpointView(checkpoint.size, checkpoint.root_hash, note, cosigners, source)


def _checkpoints(bundle: Bundle, trust: TrustAnchor, size: int, data: ReportData) -> None:
    """The final checkpoint and the latest cosigned one, opening notes from the largest size down."""
    held = [v for v in (_view(n, trust, "authority") for n in trust.held_checkpoints) if v is not None]
    best_held = max((v for v in held if v.cosigned and v.size <= size), key=lambda v: v.size, default=None)
    notes = sorted(bundle.checkpoint_notes(), key=lambda item: (_size_of(item[0]), item[0]), reverse=True)
    cosigned: CheckpointView | None = None
    for _name, note in notes:
        view = _view(note, trust, "bundle")
        if view is None or view.size > size:
            continue
        if data.final_checkpoint is None or view.size > data.final_checkpoint.size:
            data.final_checkpoint = view
        if view.cosigned and (cosigned is None or view.size > cosigned.size):
            cosigned = view
        if cosigned is not None and (best_held is None or cosigned.size >= best_held.size):
            break
    # The largest size; at equal size the bundle's copy (it merges every cosignature) first.
    candidates = [v for v in (cosigned, best_held) if v is not None]
    if candidates:
        data.cosigned_checkpoint = max(candidates, key=lambda v: (v.size, v.source == "bundle", len(v.cosigners)))


def _size_of(name: str) -> int:
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0]
    return int(stem) if stem.isdigit() else -1


class _Needed:
    """A HashReader that records which stored hashes a proof asks for (answers with zeros)."""

    def __init__(self) -> None:
        self.pairs: set[tuple[int, int]] = set()

    def __call__(self, indexes: Sequence[int]) -> list[bytes]:
        self.pairs.update(split_stored_hash_index(i) for i in indexes)
        return [bytes(32)] * len(indexes)


def _subtree_hashes(lines: Iterator[bytes], upto: int, need: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stream the first ``upto`` leaves and keep the complete-subtree hashes in ``need``.

    (level, n) names the n-th subtree of 2^level leaves; the stack holds the
    compact range of the leaves so far (at most log2(n) + 1 hashes).
    """
    saved: dict[tuple[int, int], bytes] = {}
    stack: list[tuple[int, bytes]] = []
    for n, line in enumerate(lines):
        if n >= upto:
            break
        h = leaf_hash(line)
        if (0, n) in need:
            saved[(0, n)] = h
        level, index = 0, n
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level, index = level + 1, index >> 1
            if (level, index) in need:
                saved[(level, index)] = h
        stack.append((level, h))
    return saved


def _proof_checkpoint(seq: int, data: ReportData) -> CheckpointView | None:
    cosigned = data.cosigned_checkpoint
    if cosigned is not None and seq < cosigned.size:
        return cosigned
    final = data.final_checkpoint
    if final is not None and seq < final.size:
        return final
    return None


class _BundleProofs:
    """Checks the bundle's own ``proofs/<seq>.tlog-proof`` files.

    The proofs of one bundle mostly carry the same checkpoint note; its
    signature is checked and its text parsed once per distinct note, not once
    per proof (500 certificates: 500 Ed25519 verifications otherwise).
    """

    def __init__(self, bundle: Bundle, trust: TrustAnchor) -> None:
        self.bundle = bundle
        self.trust = trust
        self.opened: dict[bytes, Checkpoint | None] = {}

    def checkpoint(self, note: bytes) -> Checkpoint | None:
        """The checkpoint of a note signed by the pinned log key; None if it is not."""
        if note not in self.opened:
            try:
                parsed, _ok = open_note(note, [self.trust.log_verifier()])
                self.opened[note] = Checkpoint.parse(parsed.text)
            except (CustodyError, ValueError):
                self.opened[note] = None
        return self.opened[note]

    def status(self, seq: int, leaf: bytes) -> tuple[str, int | None]:
        name = f"proofs/{seq}.tlog-proof"
        if not self.bundle.has(name):
            return "absent", None
        try:
            proof = parse_tlog_proof(self.bundle.read(name))
            checkpoint = self.checkpoint(proof.checkpoint)
            if checkpoint is None:
                return "invalid", None
            if proof.index != seq or checkpoint.origin != self.trust.origin:
                return "invalid", checkpoint.size
            if root_from_inclusion(leaf, seq, checkpoint.size, list(proof.hashes)) != checkpoint.root_hash:
                return "invalid", checkpoint.size
        except (CustodyError, ValueError):
            return "invalid", None
        return "verified", checkpoint.size


def _proofs(bundle: Bundle, trust: TrustAnchor, data: ReportData) -> None:
    targets = [(e.seq, _proof_checkpoint(e.seq, data)) for e in data.of_type(*PROOF_TYPES)]
    # Usually one or two checkpoints for all targets: each tree root is computed once.
    sizes = sorted({cp.size for _s, cp in targets if cp is not None})
    needed = _Needed()
    for seq, checkpoint in targets:
        if checkpoint is not None:
            prove_record(checkpoint.size, seq, needed)
    for size in sizes:
        tree_hash(size, needed)
    upto = sizes[-1] if sizes else 0
    saved = _subtree_hashes(iter(bundle.iter_lines()), upto, needed.pairs) if upto else {}

    def read(indexes: Sequence[int]) -> list[bytes]:
        return [saved[split_stored_hash_index(i)] for i in indexes]

    roots: dict[int, bytes | None] = {}
    for size in sizes:
        try:
            roots[size] = tree_hash(size, read)
        except KeyError:
            roots[size] = None  # the bundle holds fewer entries than the checkpoint
    own = _BundleProofs(bundle, trust)
    for seq, checkpoint in targets:
        leaf = data.entries[seq].leaf_hash
        status, status_size = own.status(seq, leaf)
        if checkpoint is None:
            data.proofs[seq] = EntryProof(seq, None, b"", False, "no_checkpoint", status, status_size)
            continue
        root = roots[checkpoint.size]
        try:
            hashes = prove_record(checkpoint.size, seq, read) if root is not None else None
        except KeyError:
            hashes = None
        if root is None or hashes is None:
            data.proofs[seq] = EntryProof(seq, checkpoint, b"", False, "short_bundle", status, status_size)
            continue
        text = format_tlog_proof(TlogProof(index=seq, hashes=tuple(hashes), checkpoint=checkpoint.note))
        problem = ""
        if root != checkpoint.root_hash:
            problem = "root_differs"
        else:
            try:
                verify_inclusion(leaf, seq, checkpoint.size, hashes, checkpoint.root_hash)
            except (ProofError, CustodyError):
                problem = "inclusion_fails"
        data.proofs[seq] = EntryProof(seq, checkpoint, text, not problem, problem, status, status_size)


def _photo_refs(body: dict[str, Any]) -> set[str]:
    photos = body.get("photos")
    out: set[str] = set()
    for photo in photos if isinstance(photos, list) else ():
        digest = photo.get("attachment") if isinstance(photo, dict) else None
        if isinstance(digest, str):
            out.add(digest)
    return out


def _attachments(bundle: Bundle, data: ReportData) -> None:
    wanted: set[str] = set()
    photos: set[str] = set()
    for entry in data.entries.values():
        wanted.update(attachment_refs(entry.body))
        photos.update(_photo_refs(entry.body))
    for digest in sorted(wanted):
        blob = bundle.attachment(digest) if len(digest) == 64 and digest.isalnum() else None
        data.attachments[digest] = good = blob is not None and hashlib.sha256(blob).hexdigest() == digest
        if good and blob is not None and digest in photos and blob[:4] in IMAGE_MAGIC:
            data.photos[digest] = thumbnail(blob)  # the certificate embeds it; other attachments are not kept


THUMBNAIL_PX = 640  # the longest side of a certificate's photo: ~270 dpi at the 60 mm it is printed
THUMBNAIL_BYTES = 96 * 1024  # a photo this small is embedded as it is


def thumbnail(blob: bytes) -> bytes:
    """A camera photo (several MB) as a JPEG of at most 640 px a side; a small one as it is.

    500 certificates of a contract each embed their medium's serial photo: kept whole, 4 MB photos would
    hold 2 GB here and in every document.  The certificate prints the original's SHA-256 beside the
    thumbnail, so the original in the bundle stays the evidence.  Bytes Pillow cannot read are returned as
    they are (the certificate then lists the photo by name and hash only).
    """
    if len(blob) <= THUMBNAIL_BYTES:
        return blob
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(blob)) as image:
            image.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))  # JPEG: decode at 1/2, 1/4 or 1/8 scale at once
            small = image.convert("RGB")
            small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=80)
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return blob
    return out.getvalue()


# JPEG and PNG, the photo types a certificate shows (document.IMAGE_TYPES); the reader checks the rest.
IMAGE_MAGIC = (b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"\xff\xd8\xff\xdb", b"\xff\xd8\xff\xee",
               b"\x89PNG")


def load_report_data(bundle: Bundle, trust: TrustAnchor, result: Result) -> ReportData:
    """Read what the reports need from a verified bundle (see the module documentation)."""
    state = result.state or new_state(trust.origin)  # the rules did not run: an empty state
    data = ReportData(result=result, state=state)
    _read_entries(bundle.iter_lines(), data)
    _checkpoints(bundle, trust, data.size, data)
    _proofs(bundle, trust, data)
    _attachments(bundle, data)
    return data


def checkpoint_text(view: CheckpointView) -> str:
    """The checkpoint's note text (origin, size, root hash) without signatures."""
    try:
        return parse_note(view.note).text
    except CustodyError:
        return ""


__all__ = [
    "PROOF_TYPES",
    "CheckpointView",
    "EntryProof",
    "ReportData",
    "checkpoint_text",
    "load_report_data",
]
