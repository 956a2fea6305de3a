"""The demo's phases beyond the core: trust, workflow, agent, witnessing, reports.

``custody.cli.demo`` runs BEFORE_EXPORT, exports and verifies, then AFTER_EXPORT.
Phases from other packages are taken when their module is present.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from custody.cli.demo import Demo

Phase = Callable[["Demo"], None]


def trust_phase(demo: Demo) -> None:
    """The municipality creates its trust store and pins the ledger from its genesis."""
    witness = "city.example.lg.jp/witness"
    demo.custody(
        "authority", "init", str(demo.authority), "--witness-key", str(demo.keyfile(witness)),
        "--passphrase-file", str(demo.passfile(witness)),
    )
    demo.custody("authority", "trust", "--authority", str(demo.authority), "--ledger", str(demo.ledger), "--yes")


def offline_witness_phase(demo: Demo) -> None:
    """Air-gapped witnessing: request file -> municipality cosigns -> vendor imports.

    Twice: the witness's first cosignature is of the checkpoint of size 1 (the genesis entry, docs/spec.md
    §8.2), the second of the latest checkpoint, with a consistency proof from size 1.
    """
    witness = "city.example.lg.jp/witness"
    demo.custody("checkpoint", *demo.on_ledger())
    for round_ in (1, 2):
        request = demo.work / f"witness-request-{round_}.txt"
        response = demo.work / f"witness-response-{round_}.txt"
        demo.custody("witness-request", "--ledger", str(demo.ledger), "-o", str(request))
        demo.custody("witness", "cosign", str(request), "--authority", str(demo.authority), "-o", str(response),
                     "--passphrase-file", str(demo.passfile(witness)))
        demo.custody("witness", "import", str(response), "--ledger", str(demo.ledger))


def online_witness_phase(demo: Demo) -> None:
    """Online witnessing: a real C2SP tlog-witness server on loopback, the vendor submits."""
    witness = "city.example.lg.jp/witness"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ)
    server = subprocess.Popen(
        [sys.executable, "-m", "custody.cli.main", "witness", "serve", "--authority", str(demo.authority),
         "--listen", f"127.0.0.1:{port}", "--passphrase-file", str(demo.passfile(witness))],
        env=env, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        demo.custody("note", "月次チェックポイントを市の副署サーバーへ送信", *demo.as_("resp-sato"), *demo.on_ledger())
        demo.custody("checkpoint", *demo.on_ledger(), "--submit", f"http://127.0.0.1:{port}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _optional(module: str, name: str) -> list[Phase]:
    try:
        mod = import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return []
    return [getattr(mod, name)]


BEFORE_EXPORT: list[Phase] = [
    trust_phase,
    offline_witness_phase,
    *_optional("custody.cli.demo_agent", "agent_phase"),  # before the workflow phase, which closes the contract
    *_optional("custody.cli.demo_workflow", "workflow_phase"),
    online_witness_phase,
]
AFTER_EXPORT: list[Phase] = [*_optional("custody.cli.demo_reports", "reports_phase")]
