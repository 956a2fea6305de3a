"""One fuzz target per parser of input custody did not make itself.

Each target names the parser it drives, the strategy of inputs (damaged
seeds from the demo, structure-aware mutants, random bytes) and the
exceptions the parser may raise on bad input: the format error of its
format (docs/spec.md §13 (Command line): malformed input is exit 2 or 3, never
a traceback), plus, where the target goes on to check signatures, the
verification error.  Any other exception -- ValueError, KeyError,
UnicodeDecodeError, RecursionError, MemoryError, OverflowError, another
CustodyError -- is a crash.  A target whose parser accepts an input also
checks what the parser promises about it (canonical bytes round-trip, one
encoding per value).

The key envelope is opened only when a mutant still parses: scrypt at the
demo's cost is ~70 ms a case, and the parser is what the outside controls.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st

from custody.ledger import canonical
from custody.ledger.approval import CONTEXT, coverage_problems, open_approval
from custody.ledger.attestation import CONTEXT as ATTESTATION_CONTEXT
from custody.ledger.attestation import ROLE_OF_KIND, open_attestation
from custody.ledger.bundle import MANIFEST, Bundle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.contract import parse_contract
from custody.ledger.cosignature import cosignatures_by
from custody.ledger.entry import parse_entry
from custody.ledger.errors import (
    ApprovalError,
    AttestationError,
    BundleFormatError,
    CanonicalJSONError,
    CheckpointFormatError,
    KeyFileError,
    NoteFormatError,
    PassphraseError,
    ProofError,
    ProofFormatError,
    SchemaError,
    SignatureError,
    StoreCorruptError,
    UsageError,
)
from custody.ledger.events import validate_body
from custody.ledger.keyenvelope import envelope_info, open_private_key
from custody.ledger.note import Note, NoteSignature, Signer, Verifier, format_note, open_note, parse_note, sign_note
from custody.ledger.proof import root_from_inclusion
from custody.ledger.registry import GENESIS
from custody.ledger.rfc6962 import leaf_hash
from custody.ledger.tlogproof import format_tlog_proof, parse_tlog_proof
from custody.ledger.witness_protocol import parse_add_checkpoint, parse_cosignature_response, parse_size_response
from custody.verify.authority import Authority, origin_key
from custody.verify.witness import Decision, add_checkpoint
from fuzz.mutate import json_mutants, mutants, random_bytes, toml_mutants
from fuzz.seeds import Seeds

Errors = tuple[type[BaseException], ...]


class PromiseBroken(AssertionError):
    """A parser accepted an input but broke what it promises about accepted inputs (a round trip)."""


@dataclass(frozen=True)
class Target:
    name: str
    parser: str  # the function(s) under test, for the report
    expected: Errors
    strategy: Callable[[Seeds], st.SearchStrategy[bytes]]
    run: Callable[[Seeds, bytes], object]


def _mix(*parts: tuple[int, st.SearchStrategy[bytes]]) -> st.SearchStrategy[bytes]:
    """Strategies chosen with the given weights."""
    pool = [strategy for weight, strategy in parts for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda i: pool[i])


def _promise(ok: bool, what: str) -> None:
    if not ok:
        raise PromiseBroken(what)


def _text(data: bytes) -> str:
    # Undecodable bytes become lone surrogates: what a str-taking parser must refuse.
    return data.decode("utf-8", "surrogateescape")


# --- entry line (ledger/entry.py) ---


def _entry_strategy(s: Seeds) -> st.SearchStrategy[bytes]:
    docs = [json.loads(line) for line in s.entries]
    return _mix((4, mutants(s.entries)), (5, json_mutants(docs, s.entries)), (1, random_bytes()))


def _entry_run(s: Seeds, data: bytes) -> object:
    entry = parse_entry(data)
    entry.signed_message()
    _promise(canonical.dumps(entry.to_json()) == data, "an accepted entry line is not its canonical form")
    # What the verifier does next with a parsed entry (ledger/lifecycle.py): check the body against
    # the schema of its type; an unknown type is a SchemaError too.
    validate_body(entry.type, entry.body)
    return entry


# --- signed note (ledger/note.py) ---


def _note_seeds(s: Seeds) -> tuple[bytes, ...]:
    return (*s.checkpoint_notes, *s.approvals)


def _note_run(s: Seeds, data: bytes) -> object:
    note = parse_note(data)
    _promise(format_note(note) == data, "an accepted note does not format back to its bytes")
    return open_note(data, [s.log_verifier, s.approver.verifier()])


def _vkey_run(s: Seeds, data: bytes) -> object:
    verifier = Verifier.from_vkey(_text(data))
    _promise(Verifier.from_vkey(verifier.vkey) == verifier, "an accepted vkey does not round-trip")
    return verifier


# --- checkpoint (ledger/checkpoint.py) ---


def _checkpoint_run(s: Seeds, data: bytes) -> object:
    text = _text(data)
    try:
        cp = Checkpoint.parse(text)
        _promise(cp.to_text() == text, "an accepted checkpoint text does not format back to itself")
    except CheckpointFormatError:
        pass
    cp = Checkpoint.parse(parse_note(data).text)
    _promise(Checkpoint.parse(cp.to_text()) == cp, "a checkpoint does not round-trip")
    return cp


# --- cosignature (ledger/cosignature.py, witness responses) ---


def _cosignature_seeds(s: Seeds) -> tuple[bytes, ...]:
    return (*s.checkpoint_notes, *s.cosignature_responses)


def _cosignature_run(s: Seeds, data: bytes) -> object:
    witnesses = [s.witness_verifier, s.witness.verifier()]
    found: dict[str, int] = {}
    with contextlib.suppress(NoteFormatError, CheckpointFormatError, SignatureError):
        found.update(cosignatures_by(parse_note(data), witnesses))
    tail = data[data.rfind(b"\n\n") + 2:] if b"\n\n" in data else data
    signatures = parse_cosignature_response(tail)
    text = parse_note(s.checkpoint_notes[0]).text
    found.update(cosignatures_by(Note(text, signatures), witnesses))
    return found


# --- approval (ledger/approval.py) ---


def _approval_strategy(s: Seeds) -> st.SearchStrategy[bytes]:
    lines = [parse_note(a).text.split("\n")[2].encode() for a in s.approvals]

    @st.composite
    def signed(draw: st.DrawFn) -> bytes:
        # Canonical bodies, one or two changes, so that most cases reach the schema and the rules behind it.
        line = draw(json_mutants(s.approval_bodies, lines, layouts=("canonical",), most=2, damage_rate=0.1))
        rnd = random.Random(draw(st.integers(0, 2**32)))
        origin = s.origin if rnd.random() < 0.95 else rnd.choice(("other.example/log", "", "a b", s.origin + " "))
        # Bodies that are not UTF-8 stop at the note's first check: only a few are kept as they are.
        text = f"{CONTEXT}\n{origin}\n" + line.decode("utf-8", "surrogateescape" if rnd.random() < 0.2 else "replace")
        text += "\n"
        if rnd.random() < 0.05:
            text = rnd.choice((text + "extra\n", text.replace(CONTEXT, "custody/approval/v2")))
        try:
            return sign_note(text, [s.approver])
        except (NoteFormatError, UnicodeEncodeError):
            # A text that cannot be signed: framed as a note with a signature that cannot verify.
            sig = NoteSignature(s.approver.name, s.approver.key_id, bytes(64)).line()
            return (text + "\n" + sig).encode("utf-8", "surrogateescape")

    return _mix((8, signed()), (1, mutants(s.approvals)), (1, random_bytes()))


def _approval_run(s: Seeds, data: bytes) -> object:
    approval = open_approval(data, origin=s.origin, approver_vkeys=[s.approver.verifier().vkey])
    body = approval.body
    # What every use of an approval computes next (the workflow and the verifier's rules).
    (body.valid_from_ms, body.valid_until_ms, body.approved_at_ms, body.deadline, body.use_limit, body.to_json())
    coverage_problems(approval, kind=body.kind, media_ids=list(body.media), at=body.valid_from, uses_so_far=0)
    return approval


# --- attestation (ledger/attestation.py) ---


def _attestation_strategy(s: Seeds) -> st.SearchStrategy[bytes]:
    lines = [parse_note(a).text.split("\n")[2].encode() for a in s.attestations]

    @st.composite
    def signed(draw: st.DrawFn) -> bytes:
        # As the approval target: canonical bodies with one or two changes, signed by the pinned attester.
        line = draw(json_mutants(s.attestation_bodies, lines, layouts=("canonical",), most=2, damage_rate=0.1))
        rnd = random.Random(draw(st.integers(0, 2**32)))
        origin = s.origin if rnd.random() < 0.95 else rnd.choice(("other.example/log", "", "a b", s.origin + " "))
        text = f"{ATTESTATION_CONTEXT}\n{origin}\n"
        text += line.decode("utf-8", "surrogateescape" if rnd.random() < 0.2 else "replace") + "\n"
        if rnd.random() < 0.05:
            text = rnd.choice((text + "extra\n", text.replace(ATTESTATION_CONTEXT, "custody/attestation/v2")))
        try:
            return sign_note(text, [s.attester])
        except (NoteFormatError, UnicodeEncodeError):
            sig = NoteSignature(s.attester.name, s.attester.key_id, bytes(64)).line()
            return (text + "\n" + sig).encode("utf-8", "surrogateescape")

    return _mix((8, signed()), (1, mutants(s.attestations)), (1, random_bytes()))


def _attestation_run(s: Seeds, data: bytes) -> object:
    # The fuzzers' attester is pinned for every role, so that every kind reaches its schema and cross-checks.
    vkey = s.attester.verifier().vkey
    pinned = {role: [vkey] for role in set(ROLE_OF_KIND.values())}
    attestation = open_attestation(data, origin=s.origin, pinned=pinned)
    body = attestation.body
    (body.role, body.acted_at_ms, body.to_json())
    return attestation


# --- tlog-proof (ledger/tlogproof.py) ---


def _tlog_proof_run(s: Seeds, data: bytes) -> object:
    proof = parse_tlog_proof(data)
    _promise(format_tlog_proof(proof) == data, "an accepted tlog-proof does not format back to its bytes")
    # What the verifier's reports do next with it (verify/reports/data.py).
    try:
        note, _verified = open_note(proof.checkpoint, [s.log_verifier])
        cp = Checkpoint.parse(note.text)
        leaf = s.entries[proof.index] if proof.index < len(s.entries) else b""
        root_from_inclusion(leaf_hash(leaf), proof.index, cp.size, list(proof.hashes))
    except (NoteFormatError, CheckpointFormatError, SignatureError, ProofError):
        pass
    return proof


# --- bundle manifest (ledger/bundle.py) ---


def _manifest_strategy(s: Seeds) -> st.SearchStrategy[bytes]:
    doc = json.loads(s.manifest)
    return _mix((4, mutants([s.manifest])), (5, json_mutants([doc], [s.manifest])), (1, random_bytes()))


_SCRATCH: dict[str, Path] = {}


def scratch() -> Path:
    """One scratch directory per process, for the parsers that read files."""
    if "dir" not in _SCRATCH:
        # In memory where the system has it: a file written per case on a busy disk costs more than the case.
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        _SCRATCH["dir"] = Path(tempfile.mkdtemp(prefix="custody-fuzz-", dir=shm))
        atexit.register(shutil.rmtree, _SCRATCH["dir"], ignore_errors=True)
    return _SCRATCH["dir"]


def _manifest_run(s: Seeds, data: bytes) -> object:
    folder = scratch() / "bundle"
    folder.mkdir(exist_ok=True)
    (folder / MANIFEST).write_bytes(data)
    with Bundle(folder) as bundle:
        # What a verifier does next with the manifest: look up and open every listed file (only
        # manifest.json exists here, so the others are missing: a BundleFormatError, or nothing).
        for name in list(bundle.manifest["files"])[:64]:
            bundle.listed(name)
            if not bundle.has(name):
                with contextlib.suppress(BundleFormatError):
                    bundle.read(name)
        return (bundle.origin, bundle.declared_size, bundle.entries_size_bytes())


# --- contract file (ledger/contract.py) ---

_LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))


def _contract_run(s: Seeds, data: bytes) -> object:
    origin, body = parse_contract(data, responsible_vkey=s.responsible_vkey)
    # What custody init does next, before it writes anything (ledger.Ledger.create): name the log key
    # after the origin, check the genesis body against its schema; the entry signs its canonical JSON.
    body["log_vkey"] = Signer(origin, _LOG_KEY).verifier().vkey
    validate_body(GENESIS, body)
    canonical.dumps(body)
    return origin


# --- canonical JSON (ledger/canonical.py) ---


def _canonical_strategy(s: Seeds) -> st.SearchStrategy[bytes]:
    texts = s.json_seeds()
    docs = [json.loads(t) for t in texts]
    return _mix((4, mutants(texts)), (5, json_mutants(docs, texts)), (1, random_bytes()))


def _canonical_run(s: Seeds, data: bytes) -> object:
    try:
        value = canonical.loads_canonical(data)
    except CanonicalJSONError:
        value = None
    else:
        _promise(canonical.loads(data) == value, "loads_canonical and loads disagree")
        _promise(canonical.dumps(value) == data, "loads_canonical accepted bytes that are not canonical")
    strict = canonical.loads(data)
    out = canonical.dumps(strict)
    _promise(canonical.loads_canonical(out) == strict, "dumps wrote bytes that loads_canonical refuses")
    return value


# --- witness add-checkpoint requests (ledger/witness_protocol.py, verify/witness.py) ---


def _witness_strategy(s: Seeds) -> st.SearchStrategy[bytes]:
    seeds = s.witness_requests
    return _mix((9, mutants(seeds)), (1, random_bytes()))


def _witness_run(s: Seeds, data: bytes) -> object:
    # The witness's whole answer (parse, then decide): never an exception.  Its state is the one
    # whose size the request names as old, where there is one, so that the proof is checked.
    first = data.split(b"\n", 1)[0]
    states = [st for st in s.witness_states if first == f"old {st.size}".encode()]
    state = states[0] if states else s.witness_states[len(data) % len(s.witness_states)]
    decision = add_checkpoint(data, {s.origin: state}, s.witness, 1_700_000_000)
    _promise(isinstance(decision, Decision), "the witness did not decide")
    with contextlib.suppress(ProofFormatError, NoteFormatError, CheckpointFormatError):
        parse_add_checkpoint(data)
    size = data.split(b"\n", 1)[0] + b"\n"
    return parse_size_response(size[4:] if size.startswith(b"old ") else size)


# --- --from-file bodies (cli/workflow.py) ---


def _from_file_run(suffix: str) -> Callable[[Seeds, bytes], object]:
    def run(s: Seeds, data: bytes) -> object:
        # _load_doc is the reader of every --from-file option: a regular file within a size
        # limit, strict JSON (duplicate keys refused, nesting bounded) or TOML, one object.
        from custody.cli.acting import load_doc as _load_doc

        path = scratch() / f"body{suffix}"
        path.write_bytes(data)
        return _load_doc(str(path), "the body file")

    return run


def _from_json_strategy(s: Seeds) -> st.SearchStrategy[bytes]:
    docs = [json.loads(d) for d in s.json_documents]
    return _mix((4, mutants(s.json_documents)), (5, json_mutants(docs, s.json_documents)), (1, random_bytes()))


def _toml_strategy(seeds: Callable[[Seeds], tuple[bytes, ...]]) -> Callable[[Seeds], st.SearchStrategy[bytes]]:
    def strategy(s: Seeds) -> st.SearchStrategy[bytes]:
        return _mix((4, mutants(seeds(s))), (5, toml_mutants(seeds(s))), (1, random_bytes()))

    return strategy


def _b64_seeds(s: Seeds) -> tuple[bytes, ...]:
    return (*s.vkeys, *(base64.b64encode(v) for v in s.vkeys[:1]))


# --- sealed key files (ledger/keyenvelope.py) ---


def _key_strategy(s: Seeds) -> st.SearchStrategy[bytes]:
    texts = [envelope for envelope, _passphrase in s.key_files]
    docs = [json.loads(t) for t in texts]
    return _mix((4, mutants(texts)), (5, json_mutants(docs, texts)), (1, random_bytes()))


def _key_run(s: Seeds, data: bytes) -> object:
    name, public = envelope_info(data)
    # What `custody` does next with a key file that parses: open it with the passphrase its owner
    # types (the demo's); a damaged sealed part is a PassphraseError, an inconsistent one a KeyFileError.
    passphrase = next((pw for envelope, pw in s.key_files if json.loads(envelope).get("name") == name), b"x")
    opened, _key = open_private_key(data, passphrase)
    _promise(opened == name, "an opened key has another name than its envelope says")
    return public


# --- the municipality's trust store (verify/authority.py, verify/witness_record.py) ---


def _authority_copy(s: Seeds) -> tuple[Path, Path]:
    """A private copy of the demo's trust store and the folder of its one origin."""
    target = scratch() / "authority"
    if not target.is_dir():
        shutil.copytree(s.authority, target)
    return target, target / "logs" / origin_key(s.origin)


def _authority_strategy(name: str) -> Callable[[Seeds], st.SearchStrategy[bytes]]:
    def strategy(s: Seeds) -> st.SearchStrategy[bytes]:
        original = (s.authority / "logs" / origin_key(s.origin) / name).read_bytes()
        if name.endswith(".jsonl"):
            lines = original.splitlines()
            docs = [json.loads(line) for line in lines]
            return _mix((5, mutants([original, *lines])), (4, json_mutants(docs, lines)), (1, random_bytes()))
        return _mix((4, mutants([original])), (5, json_mutants([json.loads(original)], [original])),
                    (1, random_bytes()))

    return strategy


def _authority_run(name: str) -> Callable[[Seeds, bytes], object]:
    def run(s: Seeds, data: bytes) -> object:
        store, folder = _authority_copy(s)
        original = (s.authority / "logs" / origin_key(s.origin) / name).read_bytes()
        (folder / name).write_bytes(data)
        try:
            # What custody verify --authority and the witness read: the pin, the trust anchor with the
            # witness's own record cross-checked (damage there is a finding, never an exception), the state.
            authority = Authority.open(store)
            anchor = authority.trust_anchor(s.origin)
            state = authority.log_state(s.origin)
            authority.journal(s.origin)
            return (anchor.recorded_heads, anchor.record_problems, state)
        finally:
            (folder / name).write_bytes(original)

    return run


TARGETS: tuple[Target, ...] = (
    Target("entry", "ledger.entry.parse_entry", (CanonicalJSONError, SchemaError),
           _entry_strategy, _entry_run),
    Target("note", "ledger.note.parse_note, open_note", (NoteFormatError, SignatureError),
           lambda s: _mix((9, mutants(_note_seeds(s))), (1, random_bytes())), _note_run),
    Target("vkey", "ledger.note.Verifier.from_vkey", (NoteFormatError,),
           lambda s: _mix((9, mutants(_b64_seeds(s))), (1, random_bytes())), _vkey_run),
    Target("checkpoint", "ledger.checkpoint.Checkpoint.parse", (NoteFormatError, CheckpointFormatError),
           lambda s: _mix((9, mutants(s.checkpoint_notes)), (1, random_bytes())), _checkpoint_run),
    Target("cosignature", "ledger.cosignature.cosignatures_by, witness_protocol.parse_cosignature_response",
           (NoteFormatError, CheckpointFormatError, SignatureError),
           lambda s: _mix((9, mutants(_cosignature_seeds(s))), (1, random_bytes())), _cosignature_run),
    Target("approval", "ledger.approval.open_approval", (ApprovalError,),
           _approval_strategy, _approval_run),
    Target("attestation", "ledger.attestation.open_attestation", (AttestationError,),
           _attestation_strategy, _attestation_run),
    Target("tlog-proof", "ledger.tlogproof.parse_tlog_proof", (ProofFormatError,),
           lambda s: _mix((9, mutants(s.tlog_proofs)), (1, random_bytes())), _tlog_proof_run),
    Target("manifest", "ledger.bundle.Bundle (manifest.json)", (BundleFormatError,),
           _manifest_strategy, _manifest_run),
    Target("contract", "ledger.contract.parse_contract", (SchemaError,),
           _toml_strategy(lambda s: s.contracts), _contract_run),
    Target("canonical", "ledger.canonical.loads, loads_canonical, dumps", (CanonicalJSONError,),
           _canonical_strategy, _canonical_run),
    Target("witness", "verify.witness.add_checkpoint, witness_protocol.parse_add_checkpoint",
           (CheckpointFormatError,), _witness_strategy, _witness_run),
    Target("from-file-json", "cli.acting.load_doc (.json)", (UsageError,),
           _from_json_strategy, _from_file_run(".json")),
    Target("from-file-toml", "cli.acting.load_doc (.toml)", (UsageError,),
           _toml_strategy(lambda s: s.toml_documents), _from_file_run(".toml")),
    Target("keyfile", "ledger.keyenvelope.envelope_info, open_private_key", (KeyFileError, PassphraseError),
           _key_strategy, _key_run),
    *(Target(f"authority-{name.split('.')[0]}", f"verify.authority.Authority ({name})", (StoreCorruptError,),
             _authority_strategy(name), _authority_run(name))
      for name in ("pin.json", "latest.json", "cosigned.jsonl")),
)

BY_NAME = {t.name: t for t in TARGETS}
