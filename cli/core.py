"""Core commands: init, key, note, attach, checkpoint, export, prove, verify."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from custody.cli.common import (
    CommandTree,
    err,
    json_option,
    kdf_n,
    key_option,
    ledger_option,
    load_signer,
    log_passphrase_option,
    log_signer,
    optional_log_signer,
    optional_path,
    out,
    passphrase,
    passphrase_file_option,
    print_json,
    read_attachments,
    register_tree,
)
from custody.ledger.bundle import build_tlog_proof, export_bundle
from custody.ledger.errors import KeyFileError, NoteFormatError, StoreError, UsageError
from custody.ledger.examples import render, write_new
from custody.ledger.i18n import _
from custody.ledger.keyfile import generate_key, key_file_info, write_key_file
from custody.ledger.ledger import Ledger
from custody.ledger.note import ALG_COSIGNATURE_V1, ALG_ED25519, Verifier, check_key_name


def register(app: typer.Typer, only: str | None = None) -> None:
    """Add the core commands to ``app``; with ``only``, just that top-level command (custody.cli.main)."""
    tree: CommandTree = {
        "init": (None, [
            ("init", _("Create a ledger for a contract (genesis entry signed by the responsible person)."), init),
        ]),
        "note": (None, [("note", _("Record an operator's remark (note.recorded)."), note)]),
        "attach": (None, [
            ("attach", _("Store a file (photo, certificate) in the ledger and print its SHA-256."), attach),
        ]),
        "checkpoint": (None, [("checkpoint", _("Sign a checkpoint of the ledger with the log key."), checkpoint)]),
        "export": (None, [("export", _("Export the evidence bundle (directory, or .zip with --zip)."), export)]),
        "prove": (None, [
            ("prove", _("Write a C2SP tlog-proof for one entry against the latest checkpoint."), prove),
        ]),
        "example": (None, [
            ("example", _("Write out an example file: contract, systemd-unit, windows-service or receipt-csv."),
             example),
        ]),
        "key": (_("Create and inspect signing keys."), [
            ("new", _("Create a new key file and print its vkey."), key_new),
            ("show", _("Print a key file's name and vkey."), key_show),
        ]),
    }
    register_tree(app, tree, only)


def _write_example_contract(value: Path | None) -> None:
    """``--example-contract FILE``: write the example contract and stop before anything else is asked for."""
    if value is None:
        return
    write_new(value, render("contract"))
    err.print(_("Example contract written to {path}: edit it, then run custody init DIR --contract {path}.").format(
        path=value), markup=False)
    raise typer.Exit(0)


def init(
    directory: Path = typer.Argument(..., help=_("New ledger directory.")),
    contract: Path = typer.Option(..., "--contract", help=_("Contract file (TOML).")),
    key: Path | None = key_option(),
    passphrase_file: Path | None = passphrase_file_option(),
    log_passphrase_file: Path | None = log_passphrase_option(),
    checkpoint_every: int = typer.Option(100, "--checkpoint-every", help=_("Automatic checkpoint every N entries.")),
    checkpoint_minutes: int = typer.Option(60, "--checkpoint-minutes", help=_("... or every T minutes.")),
    json_out: bool = json_option(),
    _example_contract: Path | None = typer.Option(
        None, "--example-contract", is_eager=True, expose_value=False, callback=_write_example_contract,
        help=_("Write the example contract file (every field explained) to FILE and exit."),
    ),
) -> None:
    try:
        contract_bytes = contract.read_bytes()
    except OSError as exc:
        raise UsageError(
            _("Cannot read the contract file {path}: {why}").format(path=contract, why=exc.strerror)
        ) from None
    # Not the key agent's: it signs entries of the ledger it was unlocked for, and this one does not exist yet.
    responsible = load_signer(key, passphrase_file, agent=False)
    from custody.ledger.timefmt import format_at, system_clock
    from custody.ledger.workflow import refuse_ended_contract

    refuse_ended_contract(contract_bytes, responsible.verifier().vkey, responsible.name, format_at(system_clock()))
    secret = passphrase(
        log_passphrase_file, prompt=_("New passphrase for the log key: "), confirm=True,
        env_var="CUSTODY_LOG_PASSPHRASE",
    )
    with Ledger.create(
        directory,
        contract_toml=contract_bytes,
        responsible=responsible,
        log_key=generate_key(),
        log_passphrase=secret,
        kdf_n=kdf_n(),
        config_overrides={
            "checkpoint_every_entries": checkpoint_every,
            "checkpoint_every_minutes": checkpoint_minutes,
        },
    ) as ledger:
        genesis = ledger.genesis()
        info = {
            "ledger": str(directory),
            "origin": ledger.origin,
            "log_vkey": ledger.log_verifier().vkey,
            "genesis_leaf_hash": genesis.leaf_hash.hex(),
        }
    if json_out:
        print_json(info)
        return
    out.print(_("Ledger created in {dir}").format(dir=directory))
    out.print(_("origin:            {v}").format(v=info["origin"]))
    out.print(_("log vkey:          {v}").format(v=info["log_vkey"]))
    out.print(_("genesis leaf hash: {v}").format(v=info["genesis_leaf_hash"]))
    out.print(_("Give the municipality these three values to pin (custody authority trust)."))


def example(
    name: str = typer.Argument(..., help=_("contract, systemd-unit, windows-service or receipt-csv.")),
    output: Path | None = typer.Option(None, "--output", "-o", help=_("File to create (default: print it).")),
) -> None:
    text = render(name)
    if output is None:
        sys.stdout.write(text)  # byte for byte: no console markup, emoji codes or wrapping
        return
    write_new(output, text)
    err.print(_("Written to {path}.").format(path=output), markup=False)


def key_new(
    name: str = typer.Argument(..., help=_("Key name (no spaces or '+'), e.g. op-tanaka.")),
    output: Path = typer.Option(..., "--output", "-o", help=_("Key file to create (mode 0600).")),
    witness: bool = typer.Option(False, "--witness", help=_("Print the vkey as a witness (cosignature/v1) key.")),
    passphrase_file: Path | None = passphrase_file_option(),
    json_out: bool = json_option(),
) -> None:
    try:
        check_key_name(name)
    except NoteFormatError as exc:
        raise UsageError(exc.message) from None
    secret = passphrase(passphrase_file, prompt=_("New passphrase for {name}: ").format(name=name), confirm=True)
    private = generate_key()
    write_key_file(output, name, private, secret, n=kdf_n())
    public = private.public_key().public_bytes_raw()
    vkey = Verifier(name, ALG_COSIGNATURE_V1 if witness else ALG_ED25519, public).vkey
    if json_out:
        print_json({"name": name, "vkey": vkey, "file": str(output)})
    else:
        out.print(vkey, markup=False)


def key_show(
    key_file: Path = typer.Argument(..., help=_("Key file.")),
    witness: bool = typer.Option(False, "--witness", help=_("Show the vkey as a witness (cosignature/v1) key.")),
    json_out: bool = json_option(),
) -> None:
    name, public = key_file_info(key_file)
    vkey = Verifier(name, ALG_COSIGNATURE_V1 if witness else ALG_ED25519, public).vkey
    if json_out:
        print_json({"name": name, "vkey": vkey})
    else:
        out.print(_("name: {name}").format(name=name), markup=False)
        out.print(_("vkey: {vkey}").format(vkey=vkey), markup=False)


def note(
    text: str = typer.Argument(..., metavar="TEXT", help=_("The remark.")),
    attach_files: list[str] = typer.Option([], "--attach", metavar="FILE", help=_("Attach a file (repeatable).")),
    ledger_dir: str = ledger_option(),
    key: str | None = key_option(),
    passphrase_file: str | None = passphrase_file_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    json_out: bool = json_option(),
) -> None:
    from custody.ledger.workflow import act

    # The same write-time checks as every workflow command (custody.ledger.workflow.act): the signer's
    # key is the registered, unrevoked key of a registered person, the body matches its schema, and the
    # lifecycle rules allow it -- or nothing is written (exit 6 or 2), not even the attachments.
    refs, blobs = read_attachments(attach_files)
    signer = load_signer(optional_path(key), optional_path(passphrase_file))
    with Ledger.open(Path(ledger_dir)) as ledger:
        body: dict[str, Any] = {"text": text}
        if refs:
            body["attachments"] = refs
        entry = act(ledger, "note.recorded", body, signer, attachments=blobs,
                    log_signer=optional_log_signer(ledger, optional_path(log_passphrase_file)))
    if json_out:
        print_json({"seq": entry.seq, "leaf_hash": entry.leaf_hash.hex()})
    else:
        out.line(_("Recorded as entry {seq}.").format(seq=entry.seq))


def attach(
    file: str = typer.Argument(..., metavar="FILE", help=_("File to store.")),
    ledger_dir: str = ledger_option(),
    json_out: bool = json_option(),
) -> None:
    refs, blobs = read_attachments([file])
    with Ledger.open(Path(ledger_dir)) as ledger:
        ledger.store.put_attachment(blobs[0])
    if json_out:
        print_json(refs[0])
    else:
        out.line(refs[0]["attachment"])


def checkpoint(
    ledger_dir: str = ledger_option(),
    log_passphrase_file: str | None = log_passphrase_option(),
    submit: str | None = typer.Option(None, "--submit", help=_("Witness URL (C2SP tlog-witness) to submit to.")),
    json_out: bool = json_option(),
) -> None:
    with Ledger.open(Path(ledger_dir)) as ledger:
        info = ledger.checkpoint(log_signer(ledger, optional_path(log_passphrase_file)))
        result: dict[str, Any] = {"size": info.size, "created": info.created, "note": info.note.decode("utf-8")}
        if submit:
            from custody.ledger.witness_client import submit_checkpoint

            result["cosigned_by"] = submit_checkpoint(ledger, submit)
    if json_out:
        print_json(result)
        return
    if info.created:
        out.line(_("Checkpoint signed at size {size}.").format(size=info.size))
    else:
        out.line(_("The latest checkpoint already covers size {size}.").format(size=info.size))
    if submit:
        out.line(_("Cosigned by: {who}").format(who=", ".join(result["cosigned_by"]) or "-"))


def export(
    output: Path = typer.Argument(..., help=_("Bundle directory (or .zip file with --zip) to create.")),
    as_zip: bool = typer.Option(False, "--zip", help=_("Write a .zip instead of a directory.")),
    ledger_dir: Path = ledger_option(),
    json_out: bool = json_option(),
) -> None:

    with Ledger.open(ledger_dir, readonly=True) as ledger:
        manifest = export_bundle(ledger.store, ledger.log_verifier().vkey, output, as_zip=as_zip)
    if json_out:
        print_json({"bundle": str(output), "size": manifest["size"], "files": len(manifest["files"])})
    else:
        out.print(_("Bundle written to {path}: {n} entries, {f} files.").format(
            path=output, n=manifest["size"], f=len(manifest["files"]) + 1))


def prove(
    seq: int = typer.Argument(..., help=_("Entry number (seq).")),
    output: Path = typer.Option(..., "--output", "-o", help=_("The .tlog-proof file to write.")),
    ledger_dir: Path = ledger_option(),
) -> None:

    with Ledger.open(ledger_dir, readonly=True) as ledger:
        latest = ledger.latest_checkpoint()
        if latest is None or seq >= latest[0] or seq < 0:
            raise StoreError(
                _("No checkpoint covers entry {seq} yet.").format(seq=seq),
                hint=_("Run 'custody checkpoint' first (and have it cosigned)."),
            )
        data = build_tlog_proof(ledger.store, seq, latest[0], latest[1])
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise UsageError(_("Cannot write {path}: {why}").format(path=output, why=exc.strerror)) from None
    err.print(_("Proof of entry {seq} in the tree of size {size} written to {path}.").format(
        seq=seq, size=latest[0], path=output), markup=False)


__all__ = ["KeyFileError", "register"]
