"""廃棄証明書 / Certificate of Sanitization: one certificate per medium, never per batch
(docs/fields.md, Disposal record and certificate; special terms 第11-5; NIST SP 800-88 Rev. 1 Appendix G).

A certificate is made for every medium whose data ended by sanitization: disposed
(``media.disposed``: 廃棄証明書), and erased as its final disposition or before its return
(``media.erased`` / ``takeout.erased_at_destination``: 消去証明書).  Each holds:

* the certificate number, the disposal application and its approval (number, approver, approved
  method, planned date, place, whether a witness was required);
* the person who carried it out (name, title, organisation, contact), start, end and place;
* the medium: id, make, model, serial, property number, media type, source, data items, My Number
  data, classification before and after, whether a backup was made and where;
* the method (NIST category, technique, tool and version), verification (method, result,
  verifier) and validation (accepted by, when), where the remains went;
* the witness (立会者: name, organisation, title) or the reason there was none, the responsible person;
* the photos (SHA-256, whether the serial is visible, whether the bundle holds them) and the
  destruction company's certificate;
* the My Number guideline's disposal record (日時, 担当者, 情報項目, 媒体名, 数量, 方法, 責任者, 立会者);
* the ledger evidence: the entry's seq, time, signer and leaf hash, and its C2SP tlog-proof against
  the latest checkpoint the municipality cosigned, verified, shown as a short fingerprint;
* the verifier's findings about this medium.

As an official form (docs/reports.md): the letterhead (宛名, the certificate number as 文書番号, 発行日,
the vendor and its representative with a seal box), then on the first page the disposal record and the
seal boxes of the operator, the responsible person and the witness, kept on that page with it; on the
second the serial-number photo (a thumbnail, its SHA-256 beside it), the approval and the ledger
evidence.  The PDF carries the certificate's data (``certificate.json``: the signed entry as signed) and
its tlog-proof as embedded files, so that the file alone can be checked (``custody verify-certificate``).
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from PIL import Image as PILImage

from custody.ledger import canonical
from custody.ledger.media import Medium
from custody.ledger.vocabulary import CATEGORIES, KINDS, ORIGINS, RESULTS, SEVERITIES, VERIFICATION_METHODS
from custody.verify.certificate import DATA_NAME, SANITIZING
from custody.verify.certificate import FORMAT as CERTIFICATE_FORMAT
from custody.verify.engine import EntryView
from custody.verify.reports.common import (
    actor_text,
    approval_doc,
    approver_text,
    classification,
    contents_text,
    disposition,
    footer,
    kind_text,
    letterhead,
    origin_text,
    person_fields,
    person_text,
    responsible,
    tr,
    trust_banner,
    vendor_name,
    verdict,
)
from custody.verify.reports.data import EntryProof, ReportData
from custody.verify.reports.document import (
    Attachment,
    Block,
    Cell,
    Document,
    Figure,
    Hash,
    KeyValues,
    Lang,
    PageBreak,
    Paragraph,
    Section,
    SignatureBoxes,
    Table,
)
from custody.verify.reports.labels import DASH, Tr, dict_of, list_of, text_of
from custody.verify.reports.signed import signature_summary


def sanitization_entry(data: ReportData, m: Medium) -> EntryView | None:
    """The entry whose sanitization ended the medium's data (None when there is none)."""
    kind = disposition(data, m)
    seq = m.final_seq if kind == "disposed" else m.erased_seq if kind in ("erased", "erased_returned") else None
    entry = data.entries.get(seq) if seq is not None else None
    return entry if entry is not None and entry.type in SANITIZING else None


def certified_media(data: ReportData) -> list[tuple[Medium, EntryView]]:
    """Every medium that gets a certificate, with its sanitization entry, in register order."""
    out = []
    for m in data.state.media.values():
        entry = sanitization_entry(data, m)
        if entry is not None:
            out.append((m, entry))
    return out


def _application_rows(data: ReportData, approval_id: str, t: Tr) -> list[tuple[str, Cell]]:
    doc = approval_doc(data, approval_id) if approval_id else {}
    app = dict_of(doc.get("application"))
    method = dict_of(app.get("method"))
    disposal = data.state.disposals.get(approval_id) if approval_id else None
    approval = " ".join(x for x in (approval_id, approver_text(doc), t.when(doc.get("approved_at")) if doc else "")
                        if x)
    return [
        (t.pgettext("a disposal application", "Application number"), text_of(app.get("number")) or DASH),
        (t("Approval (number, approver, time)"), approval or t("none")),
        (t("Approved method"),
         f"{t.word(CATEGORIES, text_of(method.get('category')))} {text_of(method.get('technique'))}".strip()
         if method else DASH),
        (t("Planned date and place; witness required"),
         f"{t.date(app.get('planned_date'))} {text_of(app.get('place'))} / {t.yes_no(app.get('witness_required'))}"
         if app else DASH),
        (t("Evidence due; approval recorded at"),
         f"{t.when(disposal.deadline)} / {t.seq(disposal.seq)}" if disposal is not None else DASH),
    ]


def _medium_text(m: Medium, body: dict[str, Any], t: Tr) -> str:
    record = m.record
    kind = t.word(KINDS, text_of(body.get("media_type"))) if body.get("media_type") else kind_text(t, m.kind)
    product = " ".join(x for x in (text_of(body.get("make")) or text_of(record.get("make")),
                                   text_of(body.get("model")) or text_of(record.get("model")),
                                   text_of(record.get("capacity"))) if x)
    prop = text_of(body.get("property_number")) or text_of(record.get("property_number"))
    extra = t(", property number {p}").format(p=prop) if prop else ""
    return t("{kind} {product} (media ID {id}{extra})").format(
        kind=kind, product=product, id=m.id, extra=extra).replace("  ", " ")


def _serial_cell(m: Medium, body: dict[str, Any], t: Tr) -> str:
    serial = text_of(body.get("serial")) or m.serial
    if m.serial and text_of(body.get("serial")) and text_of(body.get("serial")) != m.serial:
        return t("{s} (register: {r})").format(s=serial, r=m.serial)
    return serial or DASH


def _backup_text(body: dict[str, Any], t: Tr) -> str:
    backup = dict_of(body.get("backup"))
    if not backup:
        return DASH
    if backup.get("made") is True:
        return t("made") + (f"({text_of(backup.get('where'))})" if backup.get("where") else "")
    return t.pgettext("absent (a form's yes/no)", "none")


#: The attestations a sanitization record may carry (ledger/lifecycle/attestations.py).
WITNESS_KINDS = {"media.disposed": ("disposal_witness", "waiver"), "media.erased": ("erasure_witness", "waiver")}


def _witness_text(body: dict[str, Any], t: Tr) -> str:
    witness = person_fields(body.get("witness"))
    if witness["name"]:
        return " ".join(x for x in (witness["name"], witness["organisation"], witness["title"]) if x)
    reason = text_of(body.get("no_witness_reason"))
    return t("none (reason: {r})").format(r=reason or t("not given"))


def _record_rows(data: ReportData, m: Medium, body: dict[str, Any], entry: EntryView,
                 t: Tr) -> list[tuple[str, Cell]]:
    """The disposal record (My Number guideline: 日時, 担当者, 情報項目, 媒体名, 数量, 方法, 責任者, 立会者) and
    the rest of NIST SP 800-88's certificate of sanitization, one row each."""
    method = dict_of(body.get("method"))
    tool = dict_of(method.get("tool"))
    tool_text = " ".join(x for x in (text_of(tool.get("name")), text_of(tool.get("version"))) if x)
    operator = body.get("operator") if entry.type != "takeout.erased_at_destination" else body.get("erased_by")
    ver = dict_of(body.get("verification"))
    val = dict_of(body.get("validation"))
    start, end = body.get("start") or entry.at, body.get("end") or entry.at
    method_text = " ".join(x for x in (t.word(CATEGORIES, text_of(method.get("category"))),
                                       text_of(method.get("technique"))) if x and x != DASH)
    if tool_text:
        method_text += t(" (tool: {t})").format(t=tool_text)
    verification = DASH
    if ver:
        at = t.when(ver.get("at")) if ver.get("at") else ""
        who = " ".join(x for x in (person_text(data, ver.get("verifier"), t), at) if x)
        verification = t("{m}: {r}, by {who}").format(
            m=t.word(VERIFICATION_METHODS, text_of(ver.get("method"))), r=t.word(RESULTS, text_of(ver.get("result"))),
            who=who)
    validation = DASH
    if val:
        validation = " ".join(x for x in (person_text(data, val.get("accepted_by"), t),
                                          t.when(val.get("at")) if val.get("at") else "") if x)
    rows: list[tuple[str, Cell]] = [
        (t("Date and time"), f"{t.when(start)} – {t.when(end)}"),
        (t("Place"), text_of(body.get("place")) or DASH),
        (t.pgettext("the medium's name", "Medium"), _medium_text(m, body, t)),
        (t("Serial number"), _serial_cell(m, body, t)),
        (t("Quantity"), t("1 medium")),
        (t("Data items and records"), contents_text(m.record, t)),
        (t("My Number data; source"),
         f"{t.yes_no(m.my_number)} / " + (origin_text(m, t) if text_of(body.get("source")) in ("", *ORIGINS)
                                          else text_of(body.get("source")))),
        (t("Classification before / after"),
         (f"{text_of(body.get('classification_before')) or classification(m.record) or DASH} / "
          f"{text_of(body.get('classification_after')) or DASH}")),
        (t("Method (NIST SP 800-88)"), method_text or DASH),
        (t.pgettext("the act of verifying", "Verification"), verification),
        (t("Validated (accepted) by"), validation),
        (t("Person in charge"), person_text(data, operator, t)),
        (t.pgettext("on a certificate", "Responsible person"), person_text(data, body.get("responsible"), t)
         if body.get("responsible") else DASH),
        (t("Witness"), _witness_text(body, t)),
        (t("Backup made (where)"), _backup_text(body, t)),
        (t("Destination of the remains"), text_of(body.get("remains_destination")) or DASH),
    ]
    return rows


def _photo_rows(data: ReportData, p: dict[str, Any], t: Tr) -> list[tuple[str, Cell]]:
    digest = text_of(p.get("attachment"))
    return [
        (t("Photo"), text_of(p.get("name")) or DASH),
        ("SHA-256", Hash(digest) if digest else DASH),
        (t("Serial number"),
         t("visible") if p.get("serial_visible") is True else t("not visible")),
        (t("In the bundle"), t("yes, hash verified") if data.attachments.get(digest)
         else t("MISSING")),
    ]


def _evidence(data: ReportData, body: dict[str, Any], t: Tr) -> list[Block]:
    """The photos (the first that is an image embedded as a thumbnail, its SHA-256 beside it) and the
    destruction company's certificate."""
    blocks: list[Block] = []
    others: list[tuple[str, Cell]] = []
    shown = False
    for photo in list_of(body.get("photos")):
        p = dict_of(photo)
        digest = text_of(p.get("attachment"))
        image = _image(data.photos.get(digest)) if not shown else None
        if image is not None:
            blob, media_type, pixels = image
            blocks.append(Figure(blob, media_type, pixels, caption=_photo_rows(data, p, t), width_mm=60))
            shown = True
        else:
            rows = _photo_rows(data, p, t)
            others += [rows[0], rows[1], (rows[3][0], rows[3][1])]
    if not list_of(body.get("photos")):
        others.append((t("Photos"), t("none recorded")))
    cert = dict_of(body.get("certificate"))
    digest = text_of(cert.get("attachment"))
    if digest:
        held = t("in the bundle") if data.attachments.get(digest) else t("MISSING")
        others += [
            (t("Certificate of the destruction company"),
             f"{text_of(cert.get('name')) or DASH}({held})"),
            (t("Its SHA-256"), Hash(digest)),
        ]
    else:
        reason = text_of(body.get("no_certificate_reason"))
        others.append((t("Certificate of the destruction company"),
                       t("none: {r}").format(r=reason) if reason else t("none")))
    blocks.append(KeyValues(others, widths=(2, 5)))
    return blocks


def _image(blob: bytes | None) -> tuple[bytes, str, tuple[int, int]] | None:
    """``blob`` as (bytes, media type, pixel size) when Pillow reads it as a JPEG or PNG; else None."""
    if blob is None:
        return None
    try:
        with PILImage.open(io.BytesIO(blob)) as image:
            kind = image.format
            size = image.size
            image.verify()
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError):
        return None
    media_type = {"JPEG": "image/jpeg", "PNG": "image/png"}.get(kind or "")
    if media_type is None or size[0] <= 0 or size[1] <= 0:
        return None
    return blob, media_type, (int(size[0]), int(size[1]))


def proof_fingerprint(text: bytes) -> str:
    """A tlog-proof's short fingerprint as printed: the first 16 hex digits of its SHA-256, in groups of 4."""
    digest = hashlib.sha256(text).hexdigest()[:16]
    return " ".join(digest[i : i + 4] for i in range(0, 16, 4))


def _proof_status(proof: EntryProof | None, t: Tr) -> str:
    if proof is None:
        return t("no proof: the entry is not a sanitization entry")
    if proof.verified and proof.checkpoint is not None:
        if proof.checkpoint.cosigned:
            return t("verified: entry #{s} is in the ledger of {n} entries whose checkpoint the municipality "
                     "cosigned").format(
                s=proof.seq, n=f"{proof.checkpoint.size:,}")
        return t("verified against the log's checkpoint of {n} entries, which the municipality has NOT "
                 "cosigned").format(n=f"{proof.checkpoint.size:,}")
    reasons = {
        "no_checkpoint": t("no checkpoint covers this entry"),
        "short_bundle": t("the bundle holds fewer entries than the checkpoint"),
        "root_differs": t("the entries do not give the checkpoint's root hash"),
        "inclusion_fails": t("the inclusion proof does not verify"),
    }
    return t("NOT verified: {why}").format(why=reasons.get(proof.problem, proof.problem))


def proof_name(entry: EntryView) -> str:
    return f"{entry.seq}.tlog-proof"


def _ledger_rows(data: ReportData, entry: EntryView, t: Tr) -> list[tuple[str, Cell]]:
    proof = data.proofs.get(entry.seq)
    rows: list[tuple[str, Cell]] = [
        (t("Entry; recorded at"), f"{t.seq(entry.seq)} {t.when_seconds(entry.at)}"),
        (t("Signed by"), actor_text(data, entry.actor)),
        (t("Leaf hash (SHA-256)"), Hash(entry.leaf_hash.hex())),
        (t("Inclusion proof"), _proof_status(proof, t)),
    ]
    if proof is not None and proof.checkpoint is not None:
        cp = proof.checkpoint
        cosigners = t.join([f"{name} {t.timestamp(ts)}" for name, ts in cp.cosigners]) if cp.cosigners \
            else t("none")
        rows += [
            (t("Checkpoint (entries)"), t.count(cp.size)),
            (t("Checkpoint root hash"), Hash(cp.root_hash.hex())),
            (t("Cosigned by (time)"), cosigners),
        ]
    if proof is not None and proof.text:
        rows.append((t("C2SP tlog-proof"),
                     t("attached to this file as {name} (SHA-256 {fp} …); with the certificate data {data}, "
                       "custody verify-certificate checks it").format(
            name=proof_name(entry), fp=proof_fingerprint(proof.text), data=DATA_NAME)))
    return rows


def _findings_for(data: ReportData, m: Medium, entry: EntryView, t: Tr) -> Block:
    rows = [[f.code, t.word(SEVERITIES, f.severity), t.seq(f.seq), f.message_in(t.lang)]
            for f in data.result.findings if f.media == m.id or (f.seq == entry.seq and f.media is None)]
    if not rows:
        return Paragraph(t("The verifier found nothing about this medium."))
    return Table([t("Code"), t("Severity"), t("Entry"), t.pgettext("what a finding says", "Finding")], rows,
                 col_widths=[1, 1, 1, 8])


def certificate_data(data: ReportData, m: Medium, entry: EntryView, number: str) -> bytes:
    """The certificate's data as the PDF carries it (``certificate.json``; docs/reports.md, One certificate on
    its own): the signed ledger entry it is made from, exactly as signed, what it certifies, and the entry's
    tlog-proof against the latest checkpoint the municipality cosigned (``custody.verify.certificate``)."""
    line = data.lines.get(entry.seq, b"")
    proof = data.proofs.get(entry.seq)
    doc = {
        "format": CERTIFICATE_FORMAT,
        "origin": data.result.origin or data.state.origin,
        "contract_id": text_of(data.genesis.get("contract_id")),
        "media_id": m.id,
        "serial": text_of(entry.body.get("serial")) or m.serial,
        "certificate_number": number,
        "seq": entry.seq,
        "entry": line.decode("utf-8"),
        "leaf_hash": entry.leaf_hash.hex(),
        # The C2SP tlog-proof (also attached on its own): the JSON alone is then enough to check.
        "tlog_proof": proof.text.decode("utf-8") if proof is not None and proof.text else "",
    }
    return canonical.dumps(doc) + b"\n"


def build_certificate(data: ReportData, m: Medium, entry: EntryView, lang: Lang) -> Document:
    """The certificate for one medium (module documentation): the record and the seals on the first page,
    the photo and the evidence on the second."""
    t = tr(data, lang)
    body = entry.body
    disposed = entry.type == "media.disposed"
    number = text_of(body.get("certificate_number"))
    operator = body.get("operator") if entry.type != "takeout.erased_at_destination" else body.get("erased_by")
    resp = responsible(data)
    witness = person_fields(body.get("witness"))
    blocks: list[Block] = [
        Paragraph(t.pgettext(
            "a disposal",
            "We certify that the data on the medium below was sanitized as recorded here. This certificate is "
            "made for this one medium (serial number) from the signed ledger entry named in section 4.") if disposed
            else t.pgettext(
            "an erasure",
            "We certify that the data on the medium below was sanitized as recorded here. This certificate is "
            "made for this one medium (serial number) from the signed ledger entry named in section 4.")),
        Section(t("1. Disposal record"), [
            KeyValues(_record_rows(data, m, body, entry, t), widths=(2, 5)),
            SignatureBoxes(
                [t("Operator"), t.pgettext("on a certificate", "Responsible person"), t("Witness")],
                names=[person_fields(operator)["name"] or person_text(data, operator, t, with_org=False),
                       person_fields(body.get("responsible"))["name"] or text_of(resp.get("name")),
                       witness["name"]],
                keep_with=1,
            ),
        ]),
        PageBreak(),
        Section(t("2. Photos and certificate"), _evidence(data, body, t)),
        Section(t("3. Application and approval"), [
            # The last row: the municipality's own signature on the witnessed act (docs/spec.md §9.6); a typed
            # name in section 1 is not a witness, this row says whether the pinned key signed it.
            KeyValues([*_application_rows(data, text_of(body.get("approval_id")), t),
                       *signature_summary(data, body, WITNESS_KINDS.get(entry.type, ()), t, m.id)], widths=(3, 5))]),
        Section(t("4. Ledger evidence"), [KeyValues(_ledger_rows(data, entry, t), widths=(2, 5))]),
        Section(t("5. Verifier's findings about this medium"),
                [_findings_for(data, m, entry, t)]),
    ]
    title = t("Certificate of Sanitization (disposal)") if disposed else t("Certificate of Sanitization (erasure)")
    cert_label = t("Certificate number")
    proof = data.proofs.get(entry.seq)
    attachments = [Attachment(DATA_NAME, "application/json", certificate_data(data, m, entry, number),
                              description=t("the certificate's data and its signed ledger entry"))]
    if proof is not None and proof.text:
        attachments.append(Attachment(proof_name(entry), "text/plain", proof.text,
                                      description=t("C2SP tlog-proof of the entry")))
    return Document(
        title,
        subtitle=t("NIST SP 800-88 certificate of sanitization; special terms 11-5 disposal record"),
        lang=lang,
        meta=[
            (t.pgettext("the contract itself", "Contract"),
             " ".join(x for x in (text_of(data.genesis.get("contract_id")), text_of(data.genesis.get("title")))
                      if x) or DASH),
            (t("Evidence verification"), verdict(data, t)),
        ],
        blocks=blocks,
        header_note=f"{cert_label} {number}" if number else f"{m.id}",
        banner=trust_banner(data, t),
        footer_note=footer(data, t),
        author=vendor_name(data),
        letterhead=letterhead(data, t, f"CERT-{entry.seq}", number=number),
        attachments=attachments,
    )


def build_disposal_certificates(data: ReportData, lang: Lang) -> list[tuple[str, Document]]:
    """One (media id, certificate) per sanitized medium."""
    return [(m.id, build_certificate(data, m, entry, lang)) for m, entry in certified_media(data)]
