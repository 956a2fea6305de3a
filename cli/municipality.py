"""The municipality's commands and the vendor's witness commands.

Municipality: ``custody authority init|trust|show`` (the trust store,
verify.authority), ``custody witness cosign|serve`` (the witness,
verify.witness: offline on files, online over HTTP).  Vendor: ``custody
witness-request`` and ``custody witness import`` (ledger.witness_client);
``custody checkpoint --submit URL`` is the online path.

Exit codes (docs/spec.md §13 (Command line)): 0 ok; 2 usage (also ``authority trust``
without ``--yes`` when no one can be asked); 3 the witness refused to cosign
(``witness cosign``, ``witness import`` and ``--submit``: the tlog-witness
status and its meaning are printed), or an origin is not pinned; 4 the trust
store or ledger cannot be read or written; 5 key or passphrase; 6 refused:
re-pinning an origin with other keys (rule I5), or the person declined to pin.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from custody.cli.clitext import AtLeast
from custody.cli.common import (
    EXIT_REFUSED,
    EXIT_VERIFY,
    err,
    interactive,
    json_option,
    kdf_n,
    ledger_option,
    new_app,
    out,
    passphrase,
    passphrase_file_option,
    print_json,
)
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.errors import NoteFormatError, StoreError, UsageError
from custody.ledger.i18n import _, pgettext
from custody.ledger.keyfile import read_key_file
from custody.ledger.ledger import Ledger
from custody.ledger.note import check_key_name, parse_note
from custody.ledger.quoting import quote
from custody.ledger.witness_protocol import (
    DEFAULT_MAX_BODY,
    STATUS_CONFLICT,
    format_add_checkpoint,
    parse_add_checkpoint,
)

# The trust store, the witness client (urllib, ssl) and rich's markup are imported by the commands that use
# them: every other command builds this help too, and should not pay for them (start-up time).
if TYPE_CHECKING:
    from custody.verify.authority import Authority, Pin
    from custody.verify.witness import Decision

# The HTTP server's defaults (verify/witness_http.py), repeated here so that the help is built without importing
# uvicorn and Starlette; tests/verify/test_witness_online.py checks that they agree.
DEFAULT_DEADLINE = 10.0
DEFAULT_MAX_CONNECTIONS = 1024
DEFAULT_MAX_REQUESTS = 16

#: Largest request or response file read by the offline commands.
MAX_FILE = 1 << 20


def register(app: typer.Typer, only: str | None = None) -> None:
    del only  # custody.cli.main keeps the one it builds
    authority_app = new_app(_("The municipality's trust store: its witness key and the contracts it pinned."))
    authority_app.command("init", help=_("Create a trust store with a new witness key (cosignature/v1)."))(
        authority_init
    )
    authority_app.command(
        "trust", help=_("Pin a contract: its origin, log key, genesis entry, approver and witness keys.")
    )(authority_trust)
    authority_app.command("show", help=_("Show the witness key and the pinned contracts."))(authority_show)
    app.add_typer(authority_app, name="authority")

    witness_app = new_app(_("The witness (C2SP tlog-witness): cosign the vendor's checkpoints."))
    witness_app.command(
        "cosign", help=_("Municipality: answer a witness request file (offline). Exit 3 if refused.")
    )(witness_cosign)
    witness_app.command(
        "serve", help=_("Municipality: serve POST /add-checkpoint over HTTP until SIGTERM or Ctrl-C.")
    )(witness_serve)
    witness_app.command(
        "import", help=_("Vendor: merge the witness's response (cosignatures) into the ledger.")
    )(witness_import)
    app.add_typer(witness_app, name="witness")
    app.command(
        "witness-request", help=_("Vendor: write the witness request for the latest checkpoint (offline).")
    )(witness_request)


def authority_option() -> Any:
    return typer.Option(
        ..., "--authority", "-a", envvar="CUSTODY_AUTHORITY",
        help=_("The municipality's trust store (custody authority init)."),
    )


def _read_file(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE + 1)
    except OSError as exc:
        raise UsageError(_("Cannot read {what} {path}: {why}").format(what=what, path=path,
                                                                      why=exc.strerror or exc)) from None
    if len(data) > MAX_FILE:
        raise UsageError(_("{path} is too large to be a {what}.").format(path=path, what=what))
    return data


def _write_file(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(_("Cannot write {path}: {why}").format(path=path, why=exc.strerror or exc)) from None


def _witness_passphrase(passphrase_file: Path | None) -> bytes:
    return passphrase(passphrase_file, prompt=_("Passphrase for the witness key: "))


# --- authority init -------------------------------------------------------------------------------


def authority_init(
    directory: Path = typer.Argument(..., help=_("New trust store directory.")),
    name: str | None = typer.Option(
        None, "--name", help=_("Witness key name (no spaces or '+'), e.g. city.example.lg.jp/witness.")
    ),
    witness_key: Path | None = typer.Option(
        None, "--witness-key",
        help=_("Use this existing key file (custody key new --witness) as the witness key instead of a new one."),
    ),
    passphrase_file: Path | None = passphrase_file_option(),
    json_out: bool = json_option(),
) -> None:
    from custody.verify.authority import Authority

    if witness_key is None:
        if name is None:
            raise UsageError(_("Give the witness key's name with --name, or an existing key with --witness-key."))
        try:
            check_key_name(name)
        except NoteFormatError as exc:
            raise UsageError(exc.message) from None
        secret = passphrase(passphrase_file, prompt=_("New passphrase for the witness key: "), confirm=True)
        authority = Authority.create(directory, name, secret, kdf_n=kdf_n())
    else:
        secret = passphrase(passphrase_file, prompt=_("Passphrase for {key}: ").format(key=witness_key))
        key_name, private = read_key_file(witness_key, secret)
        if name is not None and name != key_name:
            raise UsageError(_("The key file {path} holds the key {got}, not {want}.").format(
                path=witness_key, got=key_name, want=name))
        authority = Authority.create(directory, key_name, secret, private_key=private, kdf_n=kdf_n())
    if json_out:
        print_json({"authority": str(directory), "witness_vkey": authority.witness_vkey})
        return
    out.print(_("Trust store created in {dir}").format(dir=directory), markup=False)
    out.print(_("witness vkey: {vkey}").format(vkey=authority.witness_vkey), markup=False)
    out.print(_("Put this vkey in the contract (municipality.witness_vkeys), then pin the ledger with "
                "'custody authority trust'."), markup=False)


# --- authority trust ------------------------------------------------------------------------------


def _pin_from_sources(bundle: Path | None, ledger_dir: Path | None, genesis: Path | None) -> Pin:
    from custody.verify.authority import Pin

    given = [p for p in (bundle, ledger_dir, genesis) if p is not None]
    if len(given) != 1:
        raise UsageError(_("Give exactly one of --bundle, --ledger or --genesis."))
    if bundle is not None:
        from custody.ledger.bundle import Bundle

        with Bundle(bundle) as b:
            first = next(iter(b.iter_lines()), None)
            if first is None:
                raise UsageError(_("The bundle {path} holds no entries.").format(path=bundle))
            pin = Pin.from_genesis(first, log_vkey=b.log_vkey())
            if pin.origin != b.origin:
                raise UsageError(_("The bundle's manifest names {m}, its genesis entry {g}.").format(
                    m=quote(b.origin), g=quote(pin.origin)))
            return pin
    if ledger_dir is not None:
        with Ledger.open(ledger_dir, readonly=True) as ledger:
            if ledger.store.size == 0:
                raise UsageError(_("The ledger {path} holds no entries.").format(path=ledger_dir))
            return Pin.from_genesis(ledger.store.leaf(0), log_vkey=ledger.log_verifier().vkey)
    assert genesis is not None
    data = _read_file(genesis, _("genesis entry"))
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r")
    return Pin.from_genesis(first_line)


def _describe(pin: Pin, authority: Authority) -> list[tuple[str, str]]:
    """The contract as shown before pinning: (label, value) rows, labels in the user's language."""
    c = pin.contract
    mun = c.get("municipality") or {}
    vendor = c.get("vendor") or {}
    period = c.get("period") or {}
    resp = c.get("responsible") or {}
    rows = [
        (pgettext("a contract about to be pinned", "Origin"), pin.origin),
        (pgettext("a contract about to be pinned", "Contract"), str(c.get("contract_id", ""))),
        (_("Title"), str(c.get("title", ""))),
        (pgettext("a contract about to be pinned", "Municipality"),
         " ".join(str(mun.get(k, "")) for k in ("name", "department")).strip()),
        (_("Vendor"), str(vendor.get("name", ""))),
        (_("Period"), f"{period.get('start', '')} – {period.get('end', '')}"),
        (_("Responsible person"),
         " / ".join(str(resp.get(k)) for k in ("name", "organisation", "title") if resp.get(k))),
        (_("Responsible person's key"), str(resp.get("vkey", ""))),
        (pgettext("a contract about to be pinned", "My Number data"),
         _("involved") if c.get("my_number") else _("not involved")),
    ]
    rows += [(_("Approver key"), v) for v in pin.approver_vkeys]
    roles = {
        "witness": pgettext("an attester's role", "witness"),
        "receiver": pgettext("an attester's role", "receiver"),
        "inspector": pgettext("an attester's role", "inspector"),
        "completion": pgettext("an attester's role", "completion checker"),
        "instructor": pgettext("an attester's role", "instructor"),
    }
    pinned = c.get("attester_vkeys")
    attesters: dict[str, Any] = pinned if isinstance(pinned, dict) else {}
    for role, keys in sorted(attesters.items()):
        # A role the table does not know is shown as the contract names it, in both languages.
        name = roles.get(role, role)
        rows += [(_("Attester key ({role})").format(role=name), str(v)) for v in keys or () if isinstance(v, str)]
    for v in pin.witness_vkeys:
        mark = _(" (this trust store)") if v == authority.witness_vkey else ""
        rows.append((_("Witness key"), v + mark))
    rows += [
        (_("Log key"), pin.log_vkey),
        (_("Genesis entry hash"), pin.genesis_leaf_hash.hex()),
    ]
    return rows


def authority_trust(
    authority_dir: Path = authority_option(),
    bundle: Path | None = typer.Option(None, "--bundle", "-b", help=_("Take the genesis entry from a bundle.")),
    ledger_dir: Path | None = typer.Option(
        None, "--ledger", "-l", help=_("Take the genesis entry from a ledger directory.")
    ),
    genesis: Path | None = typer.Option(
        None, "--genesis", help=_("Take the genesis entry from a file (the first line of entries.jsonl).")
    ),
    origin: str | None = typer.Option(
        None, "--origin", help=_("Refuse unless the contract's origin is this one.")
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help=_("Pin without asking for confirmation.")),
    json_out: bool = json_option(),
) -> None:
    from rich.markup import escape

    from custody.verify.authority import Authority

    authority = Authority.open(authority_dir)
    pin = _pin_from_sources(bundle, ledger_dir, genesis)
    if origin is not None and pin.origin != origin:
        raise UsageError(
            _("The genesis entry is for the origin {got}, not {want}; nothing was pinned.").format(
                got=pin.origin, want=origin),
            hint=_("Check that you were given the right bundle or ledger."),
        )
    own_key = authority.witness_vkey in pin.witness_vkeys
    already = authority.is_pinned(pin.origin) and authority.get_pin(pin.origin).same_trust(pin)
    if not json_out:
        out.print(_("Contract to pin:"), markup=False)
        for label, value in _describe(pin, authority):
            out.print(f"  [bold]{escape(label)}[/]: {escape(value)}")
    if not own_key:
        err.print(
            _("warning: the contract names the witness key(s) {keys}, not this trust store's key {own}. "
              "Cosignatures made here will not be recognised by the vendor's ledger.").format(
                keys=", ".join(pin.witness_vkeys), own=authority.witness_vkey),
            markup=False,
        )
    if not yes and not already:
        if not interactive():
            raise UsageError(
                _("Pinning needs a confirmation and no one can be asked here; nothing was pinned."),
                hint=_("Check the details above, then run the command again with --yes."),
            )
        if not typer.confirm(_("Pin this contract in the trust store?"), default=False, err=True):
            err.print(_("Nothing was pinned."), markup=False)
            raise typer.Exit(EXIT_REFUSED)
    created = authority.pin(pin)
    if json_out:
        print_json({
            "origin": pin.origin,
            "pinned": True,
            "created": created,
            "witness_key_matches": own_key,
            "log_vkey": pin.log_vkey,
            "genesis_leaf_hash": pin.genesis_leaf_hash.hex(),
            "approver_vkeys": list(pin.approver_vkeys),
            "witness_vkeys": list(pin.witness_vkeys),
            "contract": pin.contract,
        })
        return
    if created:
        out.print(_("Pinned {origin}.").format(origin=pin.origin), markup=False)
    else:
        out.print(_("{origin} was already pinned with the same keys; nothing changed.").format(
            origin=pin.origin), markup=False)


# --- authority show -------------------------------------------------------------------------------


def authority_show(
    authority_dir: Path = authority_option(),
    origin: str | None = typer.Option(None, "--origin", help=_("Show only this origin.")),
    json_out: bool = json_option(),
) -> None:
    from custody.verify.authority import Authority

    authority = Authority.open(authority_dir)
    origins = [origin] if origin is not None else authority.origins()
    logs: list[dict[str, Any]] = []
    for o in origins:
        pin = authority.get_pin(o)
        head = authority.latest(o)
        logs.append({
            "origin": o,
            "title": pin.contract.get("title"),
            "pinned_at": pin.pinned_at,
            "log_vkey": pin.log_vkey,
            "genesis_leaf_hash": pin.genesis_leaf_hash.hex(),
            "witness_key_in_contract": authority.witness_vkey in pin.witness_vkeys,
            "cosigned_size": 0 if head is None else head.size,
            "cosigned_at": None if head is None else head.timestamp,
            "checkpoints": len(authority.cosigned_checkpoints(o)),
            "evidence": [p.name for p in authority.evidence(o)],
        })
    if json_out:
        print_json({"authority": str(authority_dir), "witness_vkey": authority.witness_vkey, "logs": logs})
        return
    out.print(_("witness vkey: {vkey}").format(vkey=authority.witness_vkey), markup=False)
    if not logs:
        out.print(_("No contract is pinned yet."), markup=False)
    for log in logs:
        out.print(f"{log['origin']}  {log['title'] or ''}", markup=False)
        out.print(_("  cosigned up to size {size} ({n} checkpoints kept)").format(
            size=log["cosigned_size"], n=log["checkpoints"]), markup=False)
        if log["evidence"]:
            out.print(_("  {n} refused request(s) kept as evidence of a fork").format(n=len(log["evidence"])),
                      markup=False)


# --- witness cosign (offline) ---------------------------------------------------------------------


def witness_cosign(
    request_file: Path = typer.Argument(..., help=_("The request file (custody witness-request).")),
    authority_dir: Path = authority_option(),
    output: Path = typer.Option(..., "--output", "-o", help=_("Response file to write (the cosignature).")),
    passphrase_file: Path | None = passphrase_file_option(),
    json_out: bool = json_option(),
) -> None:
    from custody.verify.authority import Authority
    from custody.verify.witness import status_meaning

    body = _read_file(request_file, _("witness request"))
    authority = Authority.open(authority_dir)
    signer = authority.witness_signer(_witness_passphrase(passphrase_file))
    _recover(authority, lambda message: err.print(message, markup=False))
    # Fail on an unwritable output before the witness changes its state.
    try:
        output.touch()
    except OSError as exc:
        raise UsageError(_("Cannot write {path}: {why}").format(path=output, why=exc.strerror or exc)) from None
    decision = authority.add_checkpoint(body, signer, int(time.time()))
    cp = decision.checkpoint
    result: dict[str, Any] = {
        "status": decision.status,
        "cosigned": decision.ok,
        "reason": decision.reason,
        "meaning": status_meaning(decision.status),
        "origin": None if cp is None else cp.origin,
        "size": None if cp is None else cp.size,
        "old_size": decision.old_size,
        "witness_size": decision.witness_size,
    }
    if decision.ok:
        _write_file(output, decision.body)
        result["response"] = str(output)
    else:
        with contextlib.suppress(OSError):
            if output.stat().st_size == 0:
                output.unlink()
    if json_out:
        print_json(result)
    elif decision.ok:
        assert cp is not None
        out.print(_("Cosigned {origin} at size {size}; response written to {path}.").format(
            origin=cp.origin, size=cp.size, path=output), markup=False)
        out.print(_("Give the response file to the vendor: custody witness import {path}").format(path=output),
                  markup=False)
    else:
        err.print(_("custody: refused: {meaning}").format(meaning=status_meaning(decision.status)), markup=False)
        err.print(decision.reason, markup=False)
        if decision.status == STATUS_CONFLICT and decision.witness_size is not None \
                and decision.witness_size != decision.old_size:
            err.print(_("The witness last cosigned size {size}. Ask the vendor for a new request: "
                        "custody witness-request --old-size {size}").format(size=decision.witness_size),
                      markup=False)
        elif decision.evidence:
            err.print(_("The log signed a checkpoint that contradicts what the municipality cosigned; "
                        "the request was kept as evidence. Treat it as an incident."), markup=False)
    if not decision.ok:
        raise typer.Exit(EXIT_VERIFY)


# --- witness serve (online) -----------------------------------------------------------------------


def _parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port_text = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(_("--listen must be HOST:PORT, e.g. 127.0.0.1:8400"))
    return host, int(port_text)


def _recover(authority: Authority, say: Callable[[str], None]) -> None:
    """Clean up after a witness killed mid-write: its temporary files, a record cut between writes."""
    done = authority.recover()
    if done.removed:
        say(_("removed {n} temporary file(s) left by an interrupted write").format(n=done.removed))
    for origin in done.completed:
        say(_("completed the record of {origin} that an interrupted write had cut short").format(origin=origin))


def witness_serve(
    authority_dir: Path = authority_option(),
    listen: str = typer.Option("127.0.0.1:8400", "--listen", help=_("Address and port (PORT 0: any free port).")),
    prefix: str = typer.Option("", "--prefix", help=_("Submission prefix before /add-checkpoint.")),
    max_body: int = typer.Option(DEFAULT_MAX_BODY, "--max-body", click_type=AtLeast(int, 1),
                                 help=_("Largest request body in bytes.")),
    timeout: float = typer.Option(
        DEFAULT_DEADLINE, "--timeout", click_type=AtLeast(float, 0.1),
        help=_("Seconds a client has to send its whole request (headers and body); then it is closed."),
    ),
    max_connections: int = typer.Option(
        DEFAULT_MAX_CONNECTIONS, "--max-connections", click_type=AtLeast(int, 1),
        help=_("Open connections served at once; more are answered 503 and closed."),
    ),
    max_requests: int = typer.Option(
        DEFAULT_MAX_REQUESTS, "--max-requests", click_type=AtLeast(int, 1),
        help=_("Requests decided at once; more are answered 503 (try again)."),
    ),
    passphrase_file: Path | None = passphrase_file_option(),
) -> None:
    from custody.verify.authority import Authority
    from custody.verify.witness_http import Limits, WitnessServer

    host, port = _parse_listen(listen)
    authority = Authority.open(authority_dir)
    signer = authority.witness_signer(_witness_passphrase(passphrase_file))

    def submit(body: bytes) -> Decision:
        return authority.add_checkpoint(body, signer, int(time.time()))

    limits = Limits(deadline=timeout, max_body=max_body, max_connections=max_connections, max_requests=max_requests)
    try:
        server = WitnessServer((host, port), submit, limits=limits, prefix=prefix)
    except OSError as exc:
        raise UsageError(_("Cannot listen on {listen}: {why}").format(listen=listen, why=exc.strerror or exc)) from None
    _recover(authority, server.log)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _signum, _frame: stop.set())
    server.start()
    shown_host = f"[{host}]" if ":" in host else host
    server.log(_("{name} listening on http://{host}:{port}{path} ({n} origins pinned, pid {pid})").format(
        name=signer.name, host=shown_host, port=server.port, path=server.submission_path,
        n=len(authority.origins()), pid=os.getpid()))
    try:
        while not stop.wait(0.5):
            if not server.running:
                break
    finally:
        server.stop()
        server.log(_("witness stopped"))


# --- vendor: witness-request and witness import ---------------------------------------------------


def witness_request(
    ledger_dir: Path = ledger_option(),
    output: Path = typer.Option(..., "--output", "-o", help=_("Request file to write.")),
    old_size: int | None = typer.Option(
        None, "--old-size",
        help=_("The size the witness last cosigned (default: the largest cosigned checkpoint in the ledger)."),
    ),
    json_out: bool = json_option(),
) -> None:
    from custody.ledger.witness_client import build_request

    with Ledger.open(ledger_dir, readonly=True) as ledger:
        request = build_request(ledger, old_size)
        latest = ledger.latest_checkpoint()
    size = Checkpoint.parse(parse_note(request.checkpoint).text).size
    latest_size = size if latest is None else latest[0]
    _write_file(output, format_add_checkpoint(request))
    if json_out:
        print_json({"request": str(output), "size": size, "old_size": request.old_size,
                    "proof_lines": len(request.proof), "latest_size": latest_size})
        return
    out.print(_("Witness request for the checkpoint of size {size} (old size {old}) written to {path}.").format(
        size=size, old=request.old_size, path=output), markup=False)
    out.print(_("The municipality answers it with: custody witness cosign {path} --authority DIR -o RESPONSE")
              .format(path=output), markup=False)
    if size < latest_size:
        out.print(_("This is the ledger's first witness request: the witness cosigns the checkpoint of size 1 "
                    "(the genesis entry) first. After importing its response, run custody witness-request again "
                    "for the latest checkpoint (size {latest}).").format(latest=latest_size), markup=False)


def witness_import(
    response: Path = typer.Argument(..., help=_("The response file (custody witness cosign).")),
    ledger_dir: Path = ledger_option(),
    request: Path | None = typer.Option(
        None, "--request", help=_("The request it answers (to name the checkpoint; else every one is tried)."),
    ),
    json_out: bool = json_option(),
) -> None:
    from custody.ledger.witness_client import cosigned_size, import_response

    body = _read_file(response, _("witness response"))
    size: int | None = None
    if request is not None:
        parsed = parse_add_checkpoint(_read_file(request, _("witness request")))
        size = Checkpoint.parse(parse_note(parsed.checkpoint).text).size
    with Ledger.open(ledger_dir) as ledger:
        if size is not None and ledger.store.checkpoint(size) is None:
            raise StoreError(_("The ledger holds no checkpoint of size {size}.").format(size=size))
        merged, names = import_response(ledger, body, checkpoint_size=size)
        witnessed = cosigned_size(ledger)
    if json_out:
        print_json({"size": merged, "cosigned_by": names, "cosigned_size": witnessed})
        return
    out.print(_("Cosignature(s) by {who} added to the checkpoint of size {size}.").format(
        who=", ".join(names), size=merged), markup=False)
