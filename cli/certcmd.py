"""``custody verify-certificate``: one disposal certificate checked on its own, without the bundle.

    custody verify-certificate CERT.pdf|certificate.json --authority DIR [--json]

A municipality that holds a single 廃棄証明書 (the PDF, or the ``certificate.json`` it carries as an
embedded file) checks it against its trust store: the certificate's signed ledger entry, byte for byte, is
in the ledger whose checkpoint the municipality's witness cosigned (``custody.verify.certificate``).

Exit codes (docs/spec.md §13): 0 the certificate verifies; 3 it does not (altered data, a proof for another
entry or checkpoint, a checkpoint the municipality did not cosign, another ledger's trust store), or its proof
is malformed; 2 the file is not a certificate or cannot be read; 4 the trust store cannot be read.
"""

from __future__ import annotations

from pathlib import Path

import typer

from custody.cli.common import ATTACHMENT_LIMIT, EXIT_OK, json_option, out, print_json, read_input_file
from custody.ledger.i18n import _


def register(app: typer.Typer) -> None:
    app.command(
        "verify-certificate",
        help=_("Check one disposal certificate (its PDF or certificate.json) and its tlog-proof against the "
               "municipality's trust store, without the bundle. Exit 3 if it does not verify."),
    )(verify_certificate_command)


def verify_certificate_command(
    certificate: Path = typer.Argument(..., help=_("The certificate's PDF, or the certificate.json it carries.")),
    authority: Path = typer.Option(
        ..., "--authority", "-a", envvar="CUSTODY_AUTHORITY",
        help=_("The municipality's trust store (custody authority init)."),
    ),
    json_out: bool = json_option(),
) -> None:
    from custody.verify.authority import Authority
    from custody.verify.certificate import read_certificate, verify_certificate
    from custody.verify.reports.labels import Tr

    data = read_input_file(certificate, _("certificate"), ATTACHMENT_LIMIT)
    cert = read_certificate(data, name=str(certificate))
    trust = Authority.open(authority).trust_anchor(cert.origin)
    verified = verify_certificate(cert, trust)
    if json_out:
        print_json({
            "ok": True, "origin": cert.origin, "media_id": cert.media_id, "serial": cert.serial,
            "certificate_number": cert.number, "seq": cert.seq, "type": verified.type, "at": verified.at,
            "leaf_hash": cert.leaf_hash, "checkpoint_size": verified.checkpoint_size,
            "root_hash": verified.root_hash.hex(),
            "cosigners": [{"name": name, "timestamp": ts} for name, ts in verified.cosigners],
        })
        raise typer.Exit(EXIT_OK)
    from custody.ledger import i18n

    t = Tr("ja" if i18n.language() == "ja" else "en")
    cosigners = t.join([f"{name} {t.timestamp(ts)}" for name, ts in verified.cosigners])
    lines = [
        _("The certificate verifies: its ledger entry is in the ledger whose checkpoint the municipality "
          "cosigned."),
        _("  Medium: {media} (serial {serial})").format(media=cert.media_id, serial=cert.serial or "-"),
        _("  Certificate number: {number}").format(number=cert.number or "-"),
        _("  Ledger entry: #{seq} {type}, recorded {at}").format(seq=cert.seq, type=verified.type,
                                                               at=t.when_seconds(verified.at)),
        _("  Cosigned checkpoint: {size} entries, cosigned by {who}").format(size=f"{verified.checkpoint_size:,}",
                                                                           who=cosigners),
        _("  Ledger: {origin}").format(origin=cert.origin),
        _("Only the data embedded in the file is checked, not the printed page: compare the medium, serial and "
          "certificate number above with the page."),
    ]
    for line in lines:
        out.print(line, markup=False, highlight=False)
    raise typer.Exit(EXIT_OK)


__all__ = ["register"]
