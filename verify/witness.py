"""The municipality's witness: C2SP tlog-witness ``add-checkpoint``.

Implements c2sp.org/tlog-witness, "HTTP Interface", "add-checkpoint", for the
municipality (docs/spec.md §8 (Witnessing)).  The wire forms are
``ledger.witness_protocol``'s; this module decides, and at the end serves
HTTP.

The decision (:func:`parse_request`, :func:`decide`, :func:`add_checkpoint`)
is pure: no file, clock or network.  It is given the witness's state for the
checkpoint's origin (the pinned log key and the latest checkpoint it
cosigned), the witness key and the timestamp, and returns a
:class:`Decision`: the HTTP status, body and content type and, on 200, the
note to persist.  The caller (``verify.authority.Authority.add_checkpoint``)
holds the origin's lock from reading the state until the new state is
durable, and only then hands the cosignature out -- the spec's atomicity
rule ("checking the old size against the latest checkpoint and persisting
the new checkpoint must be performed atomically").

The checks, in the spec's order:

==========  ==============================================================
400         the body is malformed (our choice: the spec names no status
            for it), or the old size is greater than the checkpoint size
404         the checkpoint's origin is not pinned
403         no checkpoint signature verifies against the pinned log key
            (signatures from other keys are ignored; a signature from the
            pinned key that fails is also 403)
409         the old size differs from the size of the latest checkpoint the
            witness cosigned (0 if none); body: that size and a newline,
            ``Content-Type: text/x.tlog.size``
409         the old size equals the checkpoint size but the root hash
            differs from the one the witness cosigned (a fork at the same
            size).  The spec says 409 here, not 422; the body is again the
            witness's size, so a client can tell that retrying is useless
422         the consistency proof from the old size does not verify (for old
            size 0 it must be empty: the empty tree is a prefix of every
            tree), or a proof is given for old size == checkpoint size
422         (our policy, beyond the spec) while the witness's size is 0, a
            checkpoint of size 1 whose root is not the pinned genesis entry's
            leaf hash: it cannot be the pinned ledger
422         (our policy, beyond the spec) while the witness's size is 0, a
            checkpoint of a size above 1: a request from old size 0 carries no
            proof, so nothing would tie its first entry to the pinned
            genesis.  The first cosignature is of the tree of size 1 (its
            root *is* the genesis leaf hash); every later one is proved
            consistent with it, so every tree the witness cosigns starts with
            the pinned genesis entry
200         every check passed: one ``cosignature/v1`` line by the witness
==========  ==============================================================

A rollback is never cosigned: its checkpoint size is below the witness's
size, so either the old size is above the checkpoint size (400) or it is not
the witness's size (409).  A fork is never cosigned: at the same size the
roots differ (409); at a larger size no consistency proof from the witnessed
root exists (422).

The spec lets a witness log a request whose signature is valid but whose
proof fails, "as it might be proof of log misbehavior": :attr:`Decision.evidence`
marks those (the same-size fork and the failed proof), and the authority keeps
them.

The HTTP front end is ``verify.witness_http``; it takes a
``submit(body) -> Decision`` callable and knows nothing about storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosign
from custody.ledger.errors import FormatError, ProofError, ProofFormatError, SignatureError
from custody.ledger.i18n import _
from custody.ledger.note import (
    ALG_COSIGNATURE_V1,
    Note,
    NoteSignature,
    Signer,
    Verifier,
    format_note,
    open_note,
    parse_note,
)
from custody.ledger.proof import verify_consistency
from custody.ledger.rfc6962 import EMPTY_ROOT
from custody.ledger.witness_protocol import (
    CONTENT_TYPE_TLOG_SIZE,
    DEFAULT_MAX_BODY,
    STATUS_BAD_REQUEST,
    STATUS_CONFLICT,
    STATUS_FORBIDDEN,
    STATUS_NOT_FOUND,
    STATUS_OK,
    STATUS_UNPROCESSABLE_ENTITY,
    AddCheckpointRequest,
    format_cosignature_response,
    format_size_response,
    parse_add_checkpoint,
)

__all__ = [
    "CONTENT_TYPE_TEXT",
    "DEFAULT_MAX_BODY",
    "Decision",
    "LogState",
    "ParsedRequest",
    "WitnessHead",
    "add_checkpoint",
    "decide",
    "parse_request",
    "status_meaning",
]

#: Content type of the 200 body and of error messages.
CONTENT_TYPE_TEXT: Final = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class WitnessHead:
    """The latest checkpoint the witness cosigned for one origin."""

    size: int
    root_hash: bytes


@dataclass(frozen=True)
class LogState:
    """What the witness knows of one pinned log.

    ``log_verifiers``: the log key(s) trusted for the origin (Ed25519, 0x01).
    ``latest``: the latest checkpoint it cosigned, None if it never did.
    ``genesis_leaf_hash``: the pinned genesis entry's leaf hash (the root of
    the tree of size 1), or None.
    """

    origin: str
    log_verifiers: tuple[Verifier, ...]
    latest: WitnessHead | None = None
    genesis_leaf_hash: bytes | None = None

    @property
    def size(self) -> int:
        return 0 if self.latest is None else self.latest.size


@dataclass(frozen=True)
class ParsedRequest:
    """A syntactically valid add-checkpoint request."""

    request: AddCheckpointRequest
    checkpoint: Checkpoint


@dataclass(frozen=True)
class Decision:
    """The witness's answer to one request.

    ``status``, ``body`` and ``content_type`` are the HTTP response.
    ``reason`` says why, for people and logs.  On 200, ``note`` is what the
    witness must persist before answering: the checkpoint text, the log
    signature(s) that verified and the witness's cosignature;
    ``cosignatures`` are the lines of the body.  ``evidence`` marks a refused
    request that the log signed and that shows misbehaviour (a fork).
    ``witness_size`` is the witness's size for the origin when it decided.
    """

    status: int
    body: bytes
    content_type: str
    reason: str
    checkpoint: Checkpoint | None = None
    old_size: int | None = None
    witness_size: int | None = None
    note: bytes | None = None
    cosignatures: tuple[NoteSignature, ...] = field(default=())
    evidence: bool = False

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


def status_meaning(status: int) -> str:
    """What a status means in tlog-witness (translated)."""
    meanings = {
        STATUS_OK: _("200 Success: the witness cosigned the checkpoint."),
        STATUS_BAD_REQUEST: _(
            "400 Bad Request: the request is malformed, or its old size exceeds the checkpoint size."
        ),
        STATUS_FORBIDDEN: _("403 Forbidden: no signature on the checkpoint verifies with the pinned log key."),
        STATUS_NOT_FOUND: _("404 Not Found: the witness has not pinned this origin."),
        STATUS_CONFLICT: _(
            "409 Conflict: the old size is not the size the witness last cosigned, "
            "or the witness cosigned another root at this size."
        ),
        STATUS_UNPROCESSABLE_ENTITY: _(
            "422 Unprocessable Entity: the consistency proof does not verify: "
            "the checkpoint does not extend what the witness cosigned."
        ),
    }
    return meanings.get(status, _("HTTP status {status}").format(status=status))


def _refuse(
    status: int, reason: str, parsed: ParsedRequest | None = None, witness_size: int | None = None,
    *, evidence: bool = False,
) -> Decision:
    return Decision(
        status, (reason + "\n").encode("utf-8"), CONTENT_TYPE_TEXT, reason,
        checkpoint=None if parsed is None else parsed.checkpoint,
        old_size=None if parsed is None else parsed.request.old_size,
        witness_size=witness_size, evidence=evidence,
    )


def _conflict(reason: str, parsed: ParsedRequest, size: int, *, evidence: bool = False) -> Decision:
    return Decision(
        STATUS_CONFLICT, format_size_response(size), CONTENT_TYPE_TLOG_SIZE, reason,
        checkpoint=parsed.checkpoint, old_size=parsed.request.old_size, witness_size=size, evidence=evidence,
    )


def parse_request(body: bytes) -> ParsedRequest | Decision:
    """Parse a request body; a malformed one yields a 400 Decision."""
    try:
        request = parse_add_checkpoint(body)
        checkpoint = Checkpoint.parse(parse_note(request.checkpoint).text)
    except FormatError as exc:
        return _refuse(STATUS_BAD_REQUEST, _("malformed request: {why}").format(why=exc.message))
    return ParsedRequest(request, checkpoint)


def decide(parsed: ParsedRequest, state: LogState | None, signer: Signer, timestamp: int) -> Decision:
    """Apply the spec's checks to one request against the witness's state for its origin.

    ``state`` is None when the origin is not pinned.  Pure: the caller
    persists ``Decision.note`` (on 200) before returning the body.
    """
    if signer.alg != ALG_COSIGNATURE_V1:
        raise ValueError(f"witness key {signer.name!r} is not a cosignature/v1 key")
    req, cp = parsed.request, parsed.checkpoint
    if state is None or state.origin != cp.origin:
        return _refuse(
            STATUS_NOT_FOUND, _("unknown origin {origin}: not pinned by this witness").format(origin=cp.origin),
            parsed,
        )
    witness_size = state.size
    try:
        note, verified = open_note(req.checkpoint, list(state.log_verifiers))
    except SignatureError as exc:
        return _refuse(
            STATUS_FORBIDDEN,
            _("no valid signature by the pinned log key on the checkpoint ({why})").format(why=exc.message),
            parsed, witness_size,
        )
    except FormatError as exc:  # already parsed once; kept for safety
        return _refuse(STATUS_BAD_REQUEST, _("malformed request: {why}").format(why=exc.message), parsed, witness_size)
    if req.old_size > cp.size:
        return _refuse(
            STATUS_BAD_REQUEST,
            _("old size {old} is greater than the checkpoint size {size}").format(old=req.old_size, size=cp.size),
            parsed, witness_size,
        )
    if req.old_size != witness_size:
        return _conflict(
            _("old size {old} is not the size the witness last cosigned ({size})").format(
                old=req.old_size, size=witness_size),
            parsed, witness_size,
        )
    old_root = EMPTY_ROOT if state.latest is None else state.latest.root_hash
    if req.old_size == cp.size:
        if cp.root_hash != old_root:
            return _conflict(
                _("the witness cosigned another root hash at size {size}: the log forked").format(size=cp.size),
                parsed, witness_size, evidence=True,
            )
        if req.proof:
            return _refuse(
                STATUS_UNPROCESSABLE_ENTITY,
                _("a consistency proof between equal sizes must be empty"),
                parsed, witness_size,
            )
    else:
        try:
            verify_consistency(req.old_size, cp.size, list(req.proof), old_root, cp.root_hash)
        except (ProofError, ProofFormatError) as exc:
            return _refuse(
                STATUS_UNPROCESSABLE_ENTITY,
                _("the consistency proof from size {old} to {size} does not verify ({why})").format(
                    old=req.old_size, size=cp.size, why=exc.message),
                parsed, witness_size, evidence=req.old_size > 0,
            )
    # Size 0, not "never cosigned": a cosigned empty tree proves nothing about the first entry either.
    if witness_size == 0 and state.genesis_leaf_hash is not None:
        if cp.size == 1 and cp.root_hash != state.genesis_leaf_hash:
            return _refuse(
                STATUS_UNPROCESSABLE_ENTITY,
                _("the tree of size 1 is not the pinned genesis entry"),
                parsed, witness_size, evidence=True,
            )
        if cp.size > 1:
            return _refuse(
                STATUS_UNPROCESSABLE_ENTITY,
                _("the first checkpoint this witness cosigns for an origin must be of size 1 (the pinned "
                  "genesis entry), not {size}: nothing in a request from old size 0 proves the first entry; "
                  "submit the checkpoint of size 1 first").format(size=cp.size),
                parsed, witness_size,
            )
    cosignature = cosign(note.text, timestamp, signer)
    keep = tuple(
        sig for sig in note.signatures
        if any(sig.name == v.name and sig.key_id == v.key_id for v in verified)
    )
    stored = format_note(Note(note.text, (*keep, cosignature)))
    return Decision(
        STATUS_OK, format_cosignature_response([cosignature]), CONTENT_TYPE_TEXT,
        _("cosigned size {size}").format(size=cp.size),
        checkpoint=cp, old_size=req.old_size, witness_size=witness_size, note=stored, cosignatures=(cosignature,),
    )


def add_checkpoint(body: bytes, states: Mapping[str, LogState], signer: Signer, timestamp: int) -> Decision:
    """Parse and decide in one step (no persistence: for tests and dry runs)."""
    parsed = parse_request(body)
    if isinstance(parsed, Decision):
        return parsed
    return decide(parsed, states.get(parsed.checkpoint.origin), signer, timestamp)
