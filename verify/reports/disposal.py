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
  the latest checkpoint the municipality cosigned, verified, printed line by line;
* the verifier's findings about this medium.
"""

from __future__ import annotations

from typing import Any

from custody.ledger.media import Medium
from custody.ledger.vocabulary import CATEGORIES, KINDS, ORIGINS, RESULTS, SEVERITIES, VERIFICATION_METHODS
from custody.verify.engine import EntryView
from custody.verify.reports.common import (
    actor_text,
    approval_doc,
    approver_text,
    classification,
    contents_text,
    contract_meta,
    disposition,
    footer,
    item_names,
    kind_text,
    origin_text,
    person_fields,
    person_text,
    responsible,
    trust_banner,
    verdict,
)
from custody.verify.reports.data import EntryProof, ReportData, checkpoint_text
from custody.verify.reports.document import (
    Block,
    Cell,
    Document,
    Hash,
    KeyValues,
    Lang,
    Note,
    Paragraph,
    Section,
    SignatureBoxes,
    Table,
)
from custody.verify.reports.labels import DASH, Tr, dict_of, list_of, text_of
from custody.verify.reports.signed import signature_rows

SANITIZING = ("media.disposed", "media.erased", "takeout.erased_at_destination")


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


def _person_rows(data: ReportData, ref: object, t: Tr, role: str) -> list[tuple[str, Cell]]:
    if isinstance(ref, str):
        person = data.state.people.get(ref)
        fields = {"name": person.name if person else ref, "title": "", "organisation": person.organisation if person
                  else "", "contact": ""}
    else:
        fields = person_fields(ref)
    return [
        (f"{role} {t('name', '氏名')}", fields["name"] or DASH),
        (f"{role} {t('title', '役職')}", fields["title"] or DASH),
        (f"{role} {t('organisation', '所属')}", fields["organisation"] or DASH),
        (f"{role} {t('contact', '連絡先')}", fields["contact"] or DASH),
    ]


def _application(data: ReportData, approval_id: str, t: Tr) -> tuple[list[tuple[str, Cell]], dict[str, Any]]:
    doc = approval_doc(data, approval_id) if approval_id else {}
    app = dict_of(doc.get("application"))
    method = dict_of(app.get("method"))
    disposal = data.state.disposals.get(approval_id) if approval_id else None
    rows: list[tuple[str, Cell]] = [
        (t("Application number", "廃棄申請番号"), text_of(app.get("number")) or DASH),
        (t("Approval number", "承認番号"), approval_id or t("none", "なし")),
        (t("Approved by", "承認者"), approver_text(doc) or DASH),
        (t("Approved at", "承認日時"), t.when(doc.get("approved_at"))),
        (t("Approved method", "承認された方法"),
         f"{t.word(CATEGORIES, text_of(method.get('category')))} {text_of(method.get('technique'))}".strip()
         if method else DASH),
        (t("Planned date and place", "予定日・場所"),
         f"{t.date(app.get('planned_date'))} {text_of(app.get('place'))}".strip() if app else DASH),
        (t("Witness required", "立会いの要否"), t.yes_no(app.get("witness_required")) if app else DASH),
        (t("Evidence due", "証跡の提出期限"), t.when(disposal.deadline) if disposal is not None else DASH),
        (t("Approval recorded at entry", "承認の記録"), t.seq(disposal.seq) if disposal is not None else DASH),
    ]
    return rows, app


def _media_rows(data: ReportData, m: Medium, body: dict[str, Any], t: Tr) -> list[tuple[str, Cell]]:
    record = m.record
    backup = dict_of(body.get("backup"))
    if backup:
        made = backup.get("made") is True
        backup_text = (t("made", "有") + (f"({text_of(backup.get('where'))})" if backup.get("where") else "")) if made \
            else t("none", "無")
    else:
        backup_text = DASH
    serial = text_of(body.get("serial")) or m.serial
    serial_cell = serial or DASH
    if m.serial and text_of(body.get("serial")) and text_of(body.get("serial")) != m.serial:
        serial_cell = t("{s} (register: {r})", "{s}(台帳登録: {r})").format(s=serial, r=m.serial)
    return [
        (t("Media ID", "媒体ID"), m.id),
        (t("Make", "メーカー"), text_of(body.get("make")) or text_of(record.get("make")) or DASH),
        (t("Model", "型番"), text_of(body.get("model")) or text_of(record.get("model")) or DASH),
        (t("Serial number", "シリアル番号"), serial_cell),
        (t("Property number", "資産番号"),
         text_of(body.get("property_number")) or text_of(record.get("property_number")) or DASH),
        # Codes since the vocabulary (ledger/vocabulary.py); older records hold the words themselves.
        (t("Media type", "媒体種別"), t.word(KINDS, text_of(body.get("media_type"))) if body.get("media_type")
         else kind_text(t, m.kind)),
        (t("Capacity", "容量"), text_of(record.get("capacity")) or DASH),
        (t("Source", "由来"), origin_text(m, t) if text_of(body.get("source")) in ("", *ORIGINS)
         else text_of(body.get("source"))),
        (t("Data items and records", "情報項目・件数"), contents_text(record, t)),
        (t("My Number data", "特定個人情報"), t.yes_no(m.my_number)),
        (t("Classification before", "廃棄前の分類"),
         text_of(body.get("classification_before")) or classification(record) or DASH),
        (t("Backup made (where)", "バックアップ(保管先)"), backup_text),
    ]


def _method_rows(body: dict[str, Any], entry: EntryView, t: Tr) -> list[tuple[str, Cell]]:
    method = dict_of(body.get("method"))
    tool = dict_of(method.get("tool"))
    tool_text = " ".join(x for x in (text_of(tool.get("name")), text_of(tool.get("version"))) if x)
    start = body.get("start") or entry.at
    end = body.get("end") or entry.at
    return [
        (t("Category (NIST SP 800-88)", "区分(NIST SP 800-88)"), t.word(CATEGORIES, text_of(method.get("category")))),
        (t("Technique", "手法"), text_of(method.get("technique")) or DASH),
        (t("Tool and version", "使用機器・バージョン"), tool_text or DASH),
        (t("Start", "開始"), t.when(start)),
        (t("End", "終了"), t.when(end)),
        (t("Place", "場所"), text_of(body.get("place")) or DASH),
        (t("Classification after", "廃棄後の分類"), text_of(body.get("classification_after")) or DASH),
        (t("Destination of the remains", "残渣の処理先"), text_of(body.get("remains_destination")) or DASH),
    ]


def _verification_rows(data: ReportData, body: dict[str, Any], t: Tr) -> list[tuple[str, Cell]]:
    ver = dict_of(body.get("verification"))
    val = dict_of(body.get("validation"))
    return [
        (t("Verification method", "検証方法"), t.word(VERIFICATION_METHODS, text_of(ver.get("method")))),
        (t("Verification result", "検証結果"), t.word(RESULTS, text_of(ver.get("result"))) if ver else DASH),
        (t("Verified by", "検証者"), person_text(data, ver.get("verifier"), t) if ver else DASH),
        (t("Verified at", "検証日時"), t.when(ver.get("at"))),
        (t("Validated (accepted) by", "妥当性確認者"), person_text(data, val.get("accepted_by"), t) if val else DASH),
        (t("Validated at", "妥当性確認日時"), t.when(val.get("at"))),
    ]


#: The attestations a sanitization record may carry (ledger/lifecycle/attestations.py).
WITNESS_KINDS = {"media.disposed": ("disposal_witness", "waiver"), "media.erased": ("erasure_witness", "waiver")}


def _witness_rows(data: ReportData, body: dict[str, Any], t: Tr) -> list[tuple[str, Cell]]:
    witness = person_fields(body.get("witness"))
    rows: list[tuple[str, Cell]] = [
        (t("Witness name", "立会者 氏名"), witness["name"] or t("none", "なし")),
        (t("Witness organisation", "立会者 所属"), witness["organisation"] or DASH),
        (t("Witness title", "立会者 役職"), witness["title"] or DASH),
    ]
    reason = text_of(body.get("no_witness_reason"))
    if not witness["name"]:
        rows.append((t("Reason for no witness", "立会いがない理由"), reason or t("not given", "記載なし")))
    resp = body.get("responsible")
    rows.append((t("Responsible person", "責任者"), person_text(data, resp, t) if resp else DASH))
    return rows


def _evidence(data: ReportData, body: dict[str, Any], t: Tr) -> list[Block]:
    blocks: list[Block] = []
    rows: list[list[Cell]] = []
    for photo in list_of(body.get("photos")):
        p = dict_of(photo)
        digest = text_of(p.get("attachment"))
        rows.append([
            text_of(p.get("name")) or DASH,
            Hash(digest) if digest else DASH,
            t("visible", "写っている") if p.get("serial_visible") is True else t("not visible", "写っていない"),
            t("yes", "有") if data.attachments.get(digest) else t("MISSING", "欠落"),
        ])
    if rows:
        blocks.append(Table([t("Photo", "写真"), "SHA-256", t("Serial", "シリアル番号の写り"),
                             t("In the bundle", "証跡一式")], rows, col_widths=[3, 8, 2, 2]))
    else:
        blocks.append(Paragraph(t("Photos: none recorded.", "写真: 記録なし。")))
    cert = dict_of(body.get("certificate"))
    digest = text_of(cert.get("attachment"))
    if digest:
        blocks.append(KeyValues([
            (t("Certificate of the destruction company", "処理業者の証明書"), text_of(cert.get("name")) or DASH),
            (t("Its SHA-256", "証明書の SHA-256"), Hash(digest)),
            (t("In the bundle", "証跡一式への収録"), t("yes", "有") if data.attachments.get(digest)
             else t("MISSING", "欠落")),
        ]))
    else:
        reason = text_of(body.get("no_certificate_reason"))
        blocks.append(KeyValues([(t("Certificate of the destruction company", "処理業者の証明書"),
                                  t("none: {r}", "なし: {r}").format(r=reason) if reason else t("none", "なし"))]))
    return blocks


def _my_number_rows(data: ReportData, m: Medium, body: dict[str, Any], entry: EntryView,
                    t: Tr) -> list[tuple[str, Cell]]:
    method = dict_of(body.get("method"))
    operator = body.get("operator") or body.get("erased_by")
    witness = person_fields(body.get("witness"))
    start, end = body.get("start") or entry.at, body.get("end") or entry.at
    media_name = " ".join(x for x in (kind_text(t, m.kind), text_of(m.record.get("make")),
                                      text_of(m.record.get("model"))) if x)
    return [
        (t("Date and time", "日時"), f"{t.when(start)} – {t.when(end)}"),
        (t("Person in charge", "担当者"), person_text(data, operator, t)),
        (t("Data items", "情報項目"), t.join(item_names(m.record))),
        (t("Media name", "媒体名"), f"{media_name}({m.id})"),
        (t("Quantity", "数量"), t("1 medium (serial {s})", "1 個(シリアル番号 {s})").format(s=m.serial or DASH)),
        (t("Method", "方法"),
         f"{t.word(CATEGORIES, text_of(method.get('category')))} {text_of(method.get('technique'))}".strip()),
        (t("Responsible person", "責任者"), person_text(data, body.get("responsible"), t)
         if body.get("responsible") else DASH),
        (t("Witness", "立会者"), " ".join(x for x in (witness["name"], witness["organisation"], witness["title"])
                                        if x) or t("none", "なし")),
    ]


def proof_lines(text: bytes) -> list[list[Cell]]:
    """A tlog-proof file, one table row per line: lines without spaces as hashes, others as text."""
    lines = text.decode("utf-8", errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows: list[list[Cell]] = []
    for line in lines:
        if line and " " not in line and line.isascii() and line.isprintable():
            rows.append([Hash(line)])
        else:
            rows.append([line])
    return rows


def _proof_status(proof: EntryProof | None, t: Tr) -> str:
    if proof is None:
        return t("no proof: the entry is not a sanitization entry", "証明なし")
    if proof.verified and proof.checkpoint is not None:
        if proof.checkpoint.cosigned:
            return t("verified: entry #{s} is in the ledger of {n} entries whose checkpoint the municipality "
                     "cosigned",
                     "検証済み: 記録 #{s} は、委託者が副署した記録 {n} 件時点のチェックポイントに含まれます").format(
                s=proof.seq, n=f"{proof.checkpoint.size:,}")
        return t("verified against the log's checkpoint of {n} entries, which the municipality has NOT cosigned",
                 "記録 {n} 件時点のチェックポイントで検証済み。ただし委託者の副署はありません").format(
            n=f"{proof.checkpoint.size:,}")
    reasons = {
        "no_checkpoint": t("no checkpoint covers this entry", "この記録を含むチェックポイントがありません"),
        "short_bundle": t("the bundle holds fewer entries than the checkpoint",
                          "証跡一式の記録がチェックポイントより少なくなっています"),
        "root_differs": t("the entries do not give the checkpoint's root hash",
                          "記録から計算したルートハッシュがチェックポイントと一致しません"),
        "inclusion_fails": t("the inclusion proof does not verify", "包含証明を検証できません"),
    }
    return t("NOT verified: {why}", "検証できません: {why}").format(why=reasons.get(proof.problem, proof.problem))


def _ledger_section(data: ReportData, entry: EntryView, t: Tr) -> list[Block]:
    proof = data.proofs.get(entry.seq)
    rows: list[tuple[str, Cell]] = [
        (t("Entry", "記録番号"), t.seq(entry.seq)),
        (t("Recorded at", "記録日時"), t.when_seconds(entry.at)),
        (t("Signed by", "署名者"), actor_text(data, entry.actor)),
        (t("Leaf hash (SHA-256)", "リーフハッシュ(SHA-256)"), Hash(entry.leaf_hash.hex())),
        (t("Inclusion proof", "包含証明"), _proof_status(proof, t)),
    ]
    blocks: list[Block] = []
    if proof is not None and proof.checkpoint is not None:
        cp = proof.checkpoint
        cosigners = t.join([f"{name} {t.timestamp(ts)}" for name, ts in cp.cosigners]) if cp.cosigners \
            else t("none", "なし")
        rows += [
            (t("Checkpoint size", "チェックポイントの記録件数"), t.count(cp.size)),
            (t("Checkpoint root hash", "チェックポイントのルートハッシュ"), Hash(cp.root_hash.hex())),
            (t("Cosigned by (time)", "副署者(副署日時)"), cosigners),
        ]
    bundle_status = {
        "absent": t("not included", "同梱なし"),
        "verified": t("included, verified", "同梱、検証済み"),
        "invalid": t("included, does NOT verify", "同梱、検証できません"),
    }
    if proof is not None:
        status = bundle_status.get(proof.bundle_proof, proof.bundle_proof)
        if proof.bundle_proof_size is not None:
            status += t(" (checkpoint of {n} entries)", "(記録 {n} 件時点)").format(n=f"{proof.bundle_proof_size:,}")
        rows.append((t("Proof in the bundle", "証跡一式の証明ファイル"), status))
    blocks.append(KeyValues(rows, widths=(2, 5)))
    if proof is not None and proof.text:
        blocks.append(Table([t("C2SP tlog-proof (file {name})", "C2SP tlog-proof(ファイル {name})").format(
            name=f"{entry.seq}.tlog-proof")], proof_lines(proof.text), repeat_header=False))
        if proof.checkpoint is not None:
            text = checkpoint_text(proof.checkpoint)
            if text:
                blocks.append(Note(t(
                    "Anyone can check this proof offline: the leaf hash above, hashed up the listed path, gives "
                    "the root hash of the checkpoint, which carries the log's signature and the municipality's "
                    "cosignature.",
                    "この証明は誰でもオフラインで検証できます。上記リーフハッシュを記載の経路でハッシュすると、"
                    "ログの署名と委託者の副署があるチェックポイントのルートハッシュになります。")))
    return blocks


def _findings_for(data: ReportData, m: Medium, entry: EntryView, t: Tr) -> Block:
    rows = [[f.code, t.word(SEVERITIES, f.severity), t.seq(f.seq), f.message_in(t.lang)]
            for f in data.result.findings if f.media == m.id or (f.seq == entry.seq and f.media is None)]
    if not rows:
        return Paragraph(t("The verifier found nothing about this medium.",
                           "この媒体について検証上の指摘はありません。"))
    return Table([t("Code", "規則"), t("Severity", "重大度"), t("Entry", "記録番号"), t("Finding", "内容")], rows,
                 col_widths=[1, 1, 1, 8])


def build_certificate(data: ReportData, m: Medium, entry: EntryView, lang: Lang) -> Document:
    """The certificate for one medium (module documentation)."""
    t = Tr(lang)
    body = entry.body
    disposed = entry.type == "media.disposed"
    number = text_of(body.get("certificate_number"))
    application_rows, _app = _application(data, text_of(body.get("approval_id")), t)
    operator = body.get("operator") if entry.type != "takeout.erased_at_destination" else body.get("erased_by")
    resp = responsible(data)
    witness = person_fields(body.get("witness"))
    blocks: list[Block] = [
        Paragraph(t(
            "We certify that the data on the medium below was sanitized as recorded here. This certificate is "
            "made for this one medium (serial number) from the signed ledger entry named in section 9.",
            "下記の媒体について、記載のとおりデータの{what}を行ったことを証明します。本証明書は媒体(シリアル番号)"
            "ごとに、第9項の署名付き台帳記録から作成したものです。").format(what="廃棄" if disposed else "消去")),
        Section(t("1. Application and approval", "1. 廃棄申請と承認(特記事項第11-2)"), [
            KeyValues(application_rows, widths=(2, 5))]),
        Section(t("2. Person who carried it out", "2. 実施者"), [
            KeyValues(_person_rows(data, operator, t, t("Operator", "実施者")), widths=(2, 5))]),
        Section(t("3. Medium", "3. 媒体情報"), [KeyValues(_media_rows(data, m, body, t), widths=(2, 5))]),
        Section(t("4. Sanitization", "4. 廃棄・消去の方法"), [KeyValues(_method_rows(body, entry, t), widths=(2, 5))]),
        Section(t("5. Verification and validation", "5. 検証と妥当性確認"), [
            KeyValues(_verification_rows(data, body, t), widths=(2, 5))]),
        Section(t("6. Witness and responsible person", "6. 立会者と責任者"), [
            KeyValues(_witness_rows(data, body, t), widths=(2, 5)),
            KeyValues(signature_rows(data, body, WITNESS_KINDS.get(entry.type, ()), t, m.id), widths=(2, 5))]),
        Section(t("7. Photos and certificate", "7. 写真と証明書"), _evidence(data, body, t)),
        Section(t("8. Disposal record (My Number guideline)", "8. 削除・廃棄記録(特定個人情報ガイドライン)"), [
            KeyValues(_my_number_rows(data, m, body, entry, t), widths=(2, 5))]),
        Section(t("9. Ledger evidence", "9. 台帳上の証跡"), _ledger_section(data, entry, t)),
        Section(t("10. Verifier's findings about this medium", "10. この媒体に関する検証所見"),
                [_findings_for(data, m, entry, t)]),
        SignatureBoxes(
            [t("Operator", "実施者"), t("Responsible person", "責任者"), t("Witness", "立会者")],
            names=[person_fields(operator)["name"] or person_text(data, operator, t, with_org=False),
                   person_fields(body.get("responsible"))["name"] or text_of(resp.get("name")),
                   witness["name"]],
        ),
    ]
    if disposed:
        title = t("Certificate of Sanitization (disposal)", "廃棄証明書")
    else:
        title = t("Certificate of Sanitization (erasure)", "消去証明書")
    cert_label = t("Certificate number", "証明書番号")
    return Document(
        title,
        subtitle=t("NIST SP 800-88 certificate of sanitization; special terms 11-5 disposal record",
                   "Certificate of Sanitization(NIST SP 800-88)/ 特記事項第11-5 廃棄記録"),
        lang=lang,
        meta=[
            (cert_label, number or t("not numbered (entry #{s})", "番号なし(記録 #{s})").format(s=entry.seq)),
            (t("Media ID / serial", "媒体ID・シリアル番号"), f"{m.id} / {m.serial or DASH}"),
            *contract_meta(data, t)[:4],
            (t("Evidence verification", "証跡の検証"), verdict(data, t)),
        ],
        blocks=blocks,
        header_note=f"{cert_label} {number}" if number else f"{m.id}",
        banner=trust_banner(data, t),
        footer_note=footer(data, t),
        author=text_of(dict_of(data.genesis.get("vendor")).get("name")),
    )


def build_disposal_certificates(data: ReportData, lang: Lang) -> list[tuple[str, Document]]:
    """One (media id, certificate) per sanitized medium."""
    return [(m.id, build_certificate(data, m, entry, lang)) for m, entry in certified_media(data)]
