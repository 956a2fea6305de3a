"""The vendor's side of C2SP tlog-witness: requests, responses, and the HTTP client.

docs/spec.md §8 (Witnessing) -- the municipality cosigns the ledger's
checkpoints, online (``POST <prefix>/add-checkpoint``) or offline (the same
request and response bodies as files, for air-gapped work locations).

* :func:`build_request` -- the request body for the ledger's latest
  checkpoint.  The old size is the size the ledger believes the witness last
  cosigned: the largest checkpoint in the store that carries a valid
  cosignature from a witness key named in the genesis entry (0 if none),
  unless given; the proof is the consistency proof from there.
* :func:`import_response` -- merge a 200 body's cosignature lines into the
  stored checkpoint they sign, after checking them against the genesis
  entry's witness keys (lines from other keys are ignored, as the spec
  requires; a line from a known key that does not verify is an error).
* :func:`submit_checkpoint` -- both over HTTP (urllib): on 409 it retries
  once with the size the witness reports; on 200 it imports.

Only the ledger's own data is trusted here; the municipality's copy of what
it cosigned is in its trust store (verify.authority).
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Final

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosignatures_by, verify_cosignature
from custody.ledger.errors import (
    CustodyError,
    FormatError,
    SignatureError,
    StoreError,
    UsageError,
    VerificationError,
)
from custody.ledger.i18n import _
from custody.ledger.ledger import Ledger
from custody.ledger.note import ALG_COSIGNATURE_V1, NoteSignature, Verifier, add_signatures, index_verifiers, parse_note
from custody.ledger.witness_protocol import (
    ADD_CHECKPOINT_PATH,
    CONTENT_TYPE_TLOG_SIZE,
    STATUS_BAD_REQUEST,
    STATUS_CONFLICT,
    STATUS_FORBIDDEN,
    STATUS_NOT_FOUND,
    STATUS_OK,
    STATUS_UNPROCESSABLE_ENTITY,
    AddCheckpointRequest,
    format_add_checkpoint,
    parse_cosignature_response,
    parse_size_response,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "WitnessRefusedError",
    "WitnessUnreachableError",
    "build_request",
    "cosigned_size",
    "import_response",
    "submit_checkpoint",
    "witness_url",
    "witness_verifiers",
]

#: Seconds to wait for the witness (connect, and each read).
DEFAULT_TIMEOUT: Final = 30.0
#: Largest response body read (a 200 body is a few signature lines).
MAX_RESPONSE: Final = 64 * 1024
#: Times a submission follows the size a 409 reports (other clients may be submitting at once).
MAX_CONFLICT_RETRIES: Final = 3


class WitnessRefusedError(VerificationError):
    """The witness answered, but did not cosign (exit 3).  ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str, *, hint: str | None = None, witness_size: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.witness_size = witness_size


class WitnessUnreachableError(CustodyError):
    """No answer from the witness: refused connection, name not found, timeout (exit 1)."""

    exit_code = 1


def refusal_meaning(status: int) -> str:
    """The tlog-witness meaning of a refusal status, for the vendor."""
    meanings = {
        STATUS_BAD_REQUEST: _("the witness found the request malformed (400)"),
        STATUS_FORBIDDEN: _("the witness does not accept the log key's signature on the checkpoint (403)"),
        STATUS_NOT_FOUND: _("the witness has not pinned this ledger's origin (404)"),
        STATUS_CONFLICT: _("the witness last cosigned another size, or another root at this size (409)"),
        STATUS_UNPROCESSABLE_ENTITY: _(
            "the witness could not verify that the checkpoint extends what it cosigned (422)"
        ),
    }
    return meanings.get(status, _("the witness answered with HTTP status {status}").format(status=status))


# --- keys and state -------------------------------------------------------------------------------


def witness_verifiers(ledger: Ledger) -> list[Verifier]:
    """The witness keys named in the genesis entry (the contract's ``witness_vkeys``)."""
    out: list[Verifier] = []
    for value in ledger.genesis().body.get("witness_vkeys", []):
        try:
            verifier = Verifier.from_vkey(str(value))
        except FormatError:
            continue
        if verifier.alg == ALG_COSIGNATURE_V1:
            out.append(verifier)
    return out


def cosigned_size(ledger: Ledger, verifiers: list[Verifier] | None = None) -> int:
    """The largest stored checkpoint with a valid cosignature by a genesis witness key; 0 if none."""
    keys = witness_verifiers(ledger) if verifiers is None else verifiers
    for size, note in sorted(ledger.store.checkpoints(), reverse=True):
        try:
            if cosignatures_by(parse_note(note), keys):
                return size
        except (FormatError, SignatureError):
            continue  # a damaged or forged line does not make it cosigned
    return 0


def build_request(ledger: Ledger, old_size: int | None = None) -> AddCheckpointRequest:
    """The add-checkpoint request for the ledger's latest checkpoint, from ``old_size``.

    From old size 0 (the witness never cosigned) and a latest checkpoint
    above size 1, the request is for the stored checkpoint of size 1: the
    witness cosigns the genesis tree first, then the latest from there.
    """
    latest = ledger.latest_checkpoint()
    if latest is None:
        raise StoreError(
            _("The ledger has no checkpoint yet."),
            hint=_("Sign one with 'custody checkpoint' first."),
        )
    size, note = latest
    old = cosigned_size(ledger) if old_size is None else old_size
    if old < 0 or old > size:
        raise UsageError(
            _("The old size {old} is beyond the latest checkpoint (size {size}).").format(old=old, size=size),
            hint=_(
                "If the witness cosigned a larger tree than this ledger holds, the ledger was truncated "
                "or replaced: report it to the municipality."
            ),
        )
    if old == 0 and size > 1:
        # The witness's first cosignature is of the tree of size 1, the genesis entry alone: a request from
        # old size 0 proves nothing about the first entry (docs/spec.md §8.2).
        first = ledger.store.checkpoint(1)
        if first is None:
            raise StoreError(
                _("The ledger has no checkpoint of size 1, which the witness must cosign first."),
                hint=_("'custody init' signs it; restore the ledger from its backup."),
            )
        return AddCheckpointRequest(0, (), first)
    proof = tuple(ledger.store.consistency_proof(old, size)) if 0 < old < size else ()
    return AddCheckpointRequest(old, proof, note)


def _known_lines(sigs: tuple[NoteSignature, ...], verifiers: list[Verifier]) -> list[tuple[NoteSignature, Verifier]]:
    index = index_verifiers(verifiers, ALG_COSIGNATURE_V1)
    out = []
    for sig in sigs:
        verifier = index.get((sig.name, sig.key_id))
        if verifier is not None:
            out.append((sig, verifier))
    return out


def import_response(ledger: Ledger, response: bytes, *, checkpoint_size: int | None = None) -> tuple[int, list[str]]:
    """Merge a 200 body's cosignatures into the stored checkpoint they sign.

    The response does not name the checkpoint: with ``checkpoint_size`` it
    must be that one, else the stored checkpoints are tried newest first.
    Lines from keys not named in the genesis entry are ignored.  Returns
    (checkpoint size, names of the witnesses that cosigned).  Raises
    VerificationError if no line is from a genesis witness key, or if the
    known lines verify on no stored checkpoint.
    """
    try:
        sigs = parse_cosignature_response(response)
    except FormatError as exc:
        raise VerificationError(
            _("The witness response is malformed: {why}").format(why=exc.message)
        ) from None
    known = _known_lines(sigs, witness_verifiers(ledger))
    if not known:
        raise VerificationError(
            _("The response holds no cosignature by a witness key named in the contract."),
            hint=_("Check that the municipality cosigned with the witness key of this contract."),
        )
    if checkpoint_size is not None:
        stored = ledger.store.checkpoint(checkpoint_size)
        candidates = [] if stored is None else [(checkpoint_size, stored)]
    else:
        candidates = sorted(ledger.store.checkpoints(), reverse=True)
    for size, note in candidates:
        text = parse_note(note).text
        try:
            for sig, verifier in known:
                verify_cosignature(text, sig, verifier)
        except (SignatureError, FormatError):
            continue
        ledger.merge_cosignatures(add_signatures(note, [sig for sig, _v in known]))
        names: list[str] = []
        for _sig, verifier in known:
            if verifier.name not in names:
                names.append(verifier.name)
        return size, names
    raise VerificationError(
        _("The cosignatures in the response verify on no checkpoint of this ledger."),
        hint=_("The response belongs to another ledger or another checkpoint; make a new request."),
    )


# --- HTTP -----------------------------------------------------------------------------------------


def witness_url(url: str) -> str:
    """The add-checkpoint URL from a submission prefix (or the full URL); http and https only."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            _("The witness URL must be http:// or https:// with a host: {url}").format(url=url),
        )
    path = parts.path.rstrip("/")
    if not path.endswith(ADD_CHECKPOINT_PATH):
        path += ADD_CHECKPOINT_PATH
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str


def _post(url: str, body: bytes, timeout: float) -> _Reply:
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked in witness_url
        url, data=body, method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8", "User-Agent": "custody-ledger"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return _Reply(reply.status, reply.read(MAX_RESPONSE + 1), reply.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        with exc:
            data = exc.read(MAX_RESPONSE + 1) if exc.fp is not None else b""
        return _Reply(exc.code, data, exc.headers.get("Content-Type", "") if exc.headers else "")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError):
            why = _("connection refused (is 'custody witness serve' running there?)")
        elif isinstance(reason, TimeoutError | socket.timeout):
            why = _("no answer within {s} seconds").format(s=timeout)
        elif isinstance(reason, socket.gaierror):
            why = _("host name not found")
        else:
            why = str(reason)
        raise WitnessUnreachableError(
            _("Cannot reach the witness at {url}: {why}").format(url=url, why=why),
            hint=_("The checkpoint is signed and stored; submit it later, or use the offline exchange "
                   "(custody witness-request / witness import)."),
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, TimeoutError):
            why = _("no answer within {s} seconds").format(s=timeout)
        elif isinstance(exc, OSError):
            why = exc.strerror or str(exc)
        else:
            why = _("not a valid HTTP answer ({what})").format(what=type(exc).__name__)
        raise WitnessUnreachableError(
            _("Cannot reach the witness at {url}: {why}").format(url=url, why=why),
            hint=_("The checkpoint is signed and stored; submit it later, or use the offline exchange "
                   "(custody witness-request / witness import)."),
        ) from None


def _refused(reply: _Reply, url: str) -> WitnessRefusedError:
    detail = reply.body[:500].decode("utf-8", errors="replace").strip()
    message = _("The witness at {url} did not cosign: {meaning}").format(url=url, meaning=refusal_meaning(reply.status))
    if detail and not reply.content_type.startswith(CONTENT_TYPE_TLOG_SIZE):
        message += f"\n{detail}"
    return WitnessRefusedError(reply.status, message)


def _busy(url: str) -> WitnessUnreachableError:
    return WitnessUnreachableError(
        _("The witness at {url} is busy (503 Service Unavailable).").format(url=url),
        hint=_("The checkpoint is signed and stored; submit it again in a moment."),
    )


def submit_checkpoint(ledger: Ledger, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Submit the latest checkpoint to the witness at ``url``; return who cosigned it.

    POSTs the request (old size as :func:`build_request`); on 409 with a
    size the witness reports, retries from that size (the spec: "If a
    client doesn't have information on the latest cosigned checkpoint, it
    MAY initially make a request with an old size of zero to obtain it"),
    at most ``MAX_CONFLICT_RETRIES`` times.
    When the witness's size is 0 it first submits the checkpoint of size 1,
    then the latest from there (docs/spec.md §8.4).  On each 200 it checks
    and merges the cosignatures.  WitnessRefusedError (exit 3) on any other
    answer, WitnessUnreachableError (exit 1) without one or on 503.
    """
    target = witness_url(url)
    latest = ledger.latest_checkpoint()
    latest_size = 0 if latest is None else latest[0]
    request = build_request(ledger)
    retries = 0
    for _attempt in range(2 + MAX_CONFLICT_RETRIES):  # the checkpoint of size 1, the latest, the 409 retries
        checkpoint = Checkpoint.parse(parse_note(request.checkpoint).text)
        reply = _post(target, format_add_checkpoint(request), timeout)
        if reply.status == STATUS_CONFLICT:
            try:
                witness_size = parse_size_response(reply.body)
            except FormatError:
                raise _refused(reply, target) from None
            if witness_size == request.old_size:
                raise WitnessRefusedError(
                    STATUS_CONFLICT,
                    _("The witness holds another checkpoint of size {size} than this ledger: "
                      "the ledger's history differs from what the municipality cosigned.").format(size=witness_size),
                    hint=_("Do not sign over it; report it to the municipality as an incident."),
                    witness_size=witness_size,
                )
            if witness_size > latest_size:
                raise WitnessRefusedError(
                    STATUS_CONFLICT,
                    _("The witness already cosigned size {w}, beyond this checkpoint (size {size}).").format(
                        w=witness_size, size=latest_size),
                    hint=_("Sign a newer checkpoint and submit it; if the ledger holds fewer entries than "
                           "the witness cosigned, it was truncated or replaced."),
                    witness_size=witness_size,
                )
            if retries == MAX_CONFLICT_RETRIES:
                raise _refused(reply, target)
            retries += 1  # the witness is elsewhere (another client, an offline exchange): follow it
            request = build_request(ledger, old_size=witness_size)
            continue
        if reply.status == 503:
            raise _busy(target)
        if reply.status != STATUS_OK:
            raise _refused(reply, target)
        if len(reply.body) > MAX_RESPONSE:
            raise VerificationError(_("The witness response is too large."))
        _size, names = import_response(ledger, reply.body, checkpoint_size=checkpoint.size)
        if checkpoint.size >= latest_size:
            return names
        request = build_request(ledger, old_size=checkpoint.size)  # the genesis tree is cosigned: now the latest
    raise WitnessRefusedError(STATUS_CONFLICT, _("The witness did not settle on a size to cosign from."))
