"""One disposal certificate checked on its own, without the bundle (docs/reports.md, One certificate on its own).

A certificate PDF carries ``certificate.json`` (reports.disposal.certificate_data) as an embedded file: the
signed ledger entry the certificate is made from, exactly as signed, what it certifies (medium, serial,
certificate number) and the entry's C2SP tlog-proof.  :func:`verify_certificate` checks, against the
municipality's trust store (its pin for the ledger's origin):

1. the certificate's fields are those of its entry (medium, serial, certificate number, seq), the entry is
   a sanitization entry (media.disposed, media.erased, takeout.erased_at_destination) of that ledger, and
   ``leaf_hash`` is the entry's RFC 6962 leaf hash;
2. the proof is for that entry (its index is the entry's seq) and its checkpoint is signed by the ledger's
   pinned log key, for the pinned origin;
3. the municipality's witness cosigned that checkpoint (a cosignature by a pinned witness key);
4. the audit path leads from the leaf hash to the checkpoint's root hash (RFC 6962 inclusion).

So the entry, byte for byte, is in the ledger the municipality cosigned: no one, the vendor included, can
change it or the certificate's fields without this failing.  What it does not repeat is the whole ledger's
verification (signatures of every entry, the rules): that is the bundle's, shown on the certificate as
証跡の検証.

Errors: the file is not a certificate (no data, not JSON, a field missing) -- UsageError, exit 2; the
certificate does not verify -- VerificationError (or FormatError for a malformed proof), exit 3 (docs/spec.md
§13).  Pure: the caller reads the file and opens the trust store.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from custody.ledger import canonical
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosignatures_by
from custody.ledger.entry import parse_entry
from custody.ledger.errors import CustodyError, UsageError, VerificationError
from custody.ledger.i18n import _
from custody.ledger.note import open_note
from custody.ledger.proof import verify_inclusion
from custody.ledger.rfc6962 import leaf_hash
from custody.ledger.tlogproof import parse_tlog_proof
from custody.verify.trust import TrustAnchor

FORMAT = "custody-certificate/1"
DATA_NAME = "certificate.json"
SANITIZING = ("media.disposed", "media.erased", "takeout.erased_at_destination")
_FIELDS = {"format", "origin", "contract_id", "media_id", "serial", "certificate_number", "seq", "entry",
           "leaf_hash", "tlog_proof"}
MAX_FILE = 64 * 1024 * 1024  # a certificate PDF with its photo is well under this


class CertificateError(VerificationError):
    """The certificate does not verify (exit 3)."""


@dataclass(frozen=True)
class Certificate:
    """What a certificate file holds (``certificate.json``)."""

    origin: str
    contract_id: str
    media_id: str
    serial: str
    number: str
    seq: int
    entry: bytes
    leaf_hash: str
    proof: bytes


@dataclass(frozen=True)
class Verified:
    """A certificate that verified: what it certifies and the checkpoint that proves it."""

    certificate: Certificate
    type: str
    at: str
    checkpoint_size: int
    root_hash: bytes
    cosigners: tuple[tuple[str, int], ...]  # (witness key name, cosignature time)


def read_certificate(data: bytes, *, name: str = "") -> Certificate:
    """The certificate in a PDF's embedded ``certificate.json``, or in that JSON itself; UsageError if none."""
    if data.startswith(b"%PDF-"):
        data = _from_pdf(data, name)
    try:
        doc = canonical.loads(data.rstrip(b"\n"))
    except CustodyError:
        raise UsageError(
            _("{name} is not a custody certificate: neither a certificate PDF nor its certificate.json").format(
                name=name or _("the file")),
            hint=_("Give the certificate's PDF (廃棄証明書) or the certificate.json it carries."),
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or set(doc) != _FIELDS:
        raise UsageError(
            _("{name} is not a custody certificate of format {format}").format(name=name or _("the file"),
                                                                                format=FORMAT),
            hint=_("Give the certificate's PDF (廃棄証明書) or the certificate.json it carries."),
        )
    text = {k: doc[k] for k in _FIELDS - {"seq"}}
    if not all(isinstance(v, str) for v in text.values()) or isinstance(doc["seq"], bool) \
            or not isinstance(doc["seq"], int) or doc["seq"] < 0:
        raise UsageError(_("{name}: a field of the certificate has the wrong type").format(name=name or _("the file")))
    if not doc["tlog_proof"]:
        raise UsageError(
            _("{name} carries no tlog-proof: the ledger had no checkpoint covering its entry when it was made")
            .format(name=name or _("the file")),
            hint=_("Make the certificate again after the municipality has cosigned a checkpoint (custody report "
                   "disposal)."),
        )
    return Certificate(
        origin=doc["origin"], contract_id=doc["contract_id"], media_id=doc["media_id"], serial=doc["serial"],
        number=doc["certificate_number"], seq=doc["seq"], entry=doc["entry"].encode("utf-8"),
        leaf_hash=doc["leaf_hash"], proof=doc["tlog_proof"].encode("utf-8"),
    )


def _from_pdf(data: bytes, name: str) -> bytes:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        attachments = PdfReader(io.BytesIO(data)).attachments
        found = attachments.get(DATA_NAME)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise UsageError(_("{name}: the PDF cannot be read").format(name=name or _("the file"))) from None
    if not found:
        raise UsageError(
            _("{name} carries no certificate data ({data}): it is not a certificate made by custody, or an "
              "older one").format(name=name or _("the file"), data=DATA_NAME),
            hint=_("Make the certificate again with custody report disposal."),
        )
    return bytes(found[0])


def _fail(message: str) -> CertificateError:
    return CertificateError(message, hint=_("Do not accept this certificate; ask the vendor for the bundle and "
                                            "verify it (custody verify)."))


def verify_certificate(cert: Certificate, trust: TrustAnchor) -> Verified:
    """Check ``cert`` against the trust store's pin for its origin (module documentation); raise if it fails."""
    if cert.origin != trust.origin:
        raise _fail(_("the certificate is for the ledger {a}, the trust store's pin is for {b}").format(
            a=cert.origin, b=trust.origin))
    entry = _entry(cert)
    leaf = leaf_hash(cert.entry)
    if leaf.hex() != cert.leaf_hash:
        raise _fail(_("the certificate's leaf hash is not the hash of its entry: the data was altered"))
    proof = parse_tlog_proof(cert.proof)  # ProofFormatError (exit 3) when malformed
    if proof.index != cert.seq:
        raise _fail(_("the tlog-proof is for entry #{a}, the certificate for entry #{b}").format(
            a=proof.index, b=cert.seq))
    try:
        note, _signers = open_note(proof.checkpoint, [trust.log_verifier()])
        checkpoint = Checkpoint.parse(note.text)
    except CustodyError:
        raise _fail(_("the proof's checkpoint is not signed by the ledger's pinned log key")) from None
    if checkpoint.origin != trust.origin:
        raise _fail(_("the proof's checkpoint is for {a}, not {b}").format(a=checkpoint.origin, b=trust.origin))
    try:
        stamps = cosignatures_by(note, trust.witness_verifiers())
    except CustodyError:
        raise _fail(_("a cosignature on the proof's checkpoint does not verify")) from None
    if not stamps:
        raise _fail(_("the municipality has not cosigned the proof's checkpoint (no cosignature by its witness "
                      "keys)"))
    try:
        verify_inclusion(leaf, cert.seq, checkpoint.size, list(proof.hashes), checkpoint.root_hash)
    except CustodyError:
        raise _fail(_("the entry is not in the ledger of the cosigned checkpoint: the inclusion proof fails")) \
            from None
    cosigners = tuple(sorted((vkey.split("+", 1)[0], ts) for vkey, ts in stamps.items()))
    return Verified(cert, entry.type, entry.at, checkpoint.size, checkpoint.root_hash, cosigners)


def _entry(cert: Certificate) -> Any:
    try:
        entry = parse_entry(cert.entry)
    except CustodyError:
        raise _fail(_("the certificate's ledger entry is malformed: the data was altered")) from None
    body = entry.body
    checks = [
        (entry.origin == cert.origin, "origin"),
        (entry.seq == cert.seq, "seq"),
        (entry.type in SANITIZING, "type"),
        (body.get("media_id") == cert.media_id or (entry.type == "takeout.erased_at_destination"
                                                    and cert.media_id in (body.get("media_ids") or ())), "media_id"),
        (body.get("certificate_number", "") == cert.number, "certificate_number"),
        (not cert.serial or body.get("serial") in (None, cert.serial), "serial"),
    ]
    for ok, field in checks:
        if not ok:
            raise _fail(_("the certificate's {field} differs from its signed ledger entry: the data was altered")
                        .format(field=field))
    return entry


__all__ = ["DATA_NAME", "FORMAT", "Certificate", "CertificateError", "Verified", "read_certificate",
           "verify_certificate"]
