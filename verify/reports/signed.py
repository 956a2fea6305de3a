"""The municipality's signed acts on a report (docs/spec.md §9.6): who signed, with which key, and whether the
signature verified against the key the contract pins for that role.

A report prints what the verifier checked, never a name typed by the vendor as if it were a signature: an
entry's embedded attestation is opened again here against the pinned keys of the ledger's state (the genesis
the trust store pinned, docs/spec.md §11); without the trust store the outputs say 未確認 (common.trust_banner).
"""

from __future__ import annotations

from typing import Any

from custody.ledger.attestation import Attestation, AttestationProblem, kind_text, role_text
from custody.ledger.lifecycle.attestations import open_embedded
from custody.ledger.note import Verifier
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Cell
from custody.verify.reports.labels import DASH, Tr


def opened(data: ReportData, body: dict[str, Any], kinds: tuple[str, ...],
           media_id: str | None = None) -> Attestation | AttestationProblem | None:
    """The entry body's attestation, opened against the pinned keys; None when there is none."""
    if "attestation" not in body:
        return None
    return open_embedded(data.state, body["attestation"], kinds=kinds, media_id=media_id)


def _key_label(vkey: str) -> str:
    try:
        v = Verifier.from_vkey(vkey)
    except Exception:  # noqa: BLE001 - a pinned key that does not parse is shown as given
        return vkey
    return f"{v.name}+{v.key_id.hex()}"


def signature_rows(data: ReportData, body: dict[str, Any], kinds: tuple[str, ...], t: Tr,
                   media_id: str | None = None) -> list[tuple[str, Cell]]:
    """Key-value rows: the signed act, the attester, the key and the verdict (or why it does not verify)."""
    att = opened(data, body, kinds, media_id)
    label = t("Signed by the municipality")
    if att is None:
        return [(label, t("none: no signed attestation is recorded"))]
    if isinstance(att, AttestationProblem):
        v = att.violations[0]
        return [(label, t("DOES NOT VERIFY: {why}").format(
            why=v.message_en if not t.ja else v.message_ja))]
    b = att.body
    a = b.attester
    verdict = t("verified against the key the contract pins for the {role}").format(role=t.pair(role_text(b.role)))
    if not data.result.pinned:
        verdict = t("verified against the bundle's own genesis only (UNCHECKED)")
    return [
        (label, f"{t.pair(kind_text(b.kind))} {b.id}"),
        (t("Attester"), " ".join(x for x in (a.organisation, a.title, a.name) if x) or DASH),
        (t("Key"), ", ".join(_key_label(k) for k in att.signed_by)),
        (t("Signature"), verdict),
        (t("Seen"), b.seen),
        (t("When (act / signed)"), f"{t.when(b.acted_at)} / {t.when(b.attested_at)}"),
        (t.pgettext("where an act took place", "Where"), b.place),
    ]


def signature_summary(data: ReportData, body: dict[str, Any], kinds: tuple[str, ...], t: Tr,
                      media_id: str | None = None) -> list[tuple[str, Cell]]:
    """:func:`signature_rows` in one row, for a certificate that must stay on its two pages: the signed act, who
    signed it with which key, and the verdict."""
    rows = signature_rows(data, body, kinds, t, media_id)
    att = opened(data, body, kinds, media_id)
    if not isinstance(att, Attestation):  # none, or it does not verify: the one row says so
        return rows
    values = dict(rows)
    label = t("Signed by the municipality")
    verdict = t("verified, pinned {role} key").format(
        role=t.pair(role_text(att.body.role)))
    if not data.result.pinned:
        verdict = str(values[t("Signature")])
    return [(label, t("{act}, {who} ({key}): {verdict}").format(
        act=values[label], who=att.body.attester.name, key=values[t("Key")], verdict=verdict))]
