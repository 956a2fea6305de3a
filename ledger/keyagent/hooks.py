"""Where the commands get their signers from the key agent (``custody.cli.common``).

Each function answers None when no agent of this user runs (or it does not
hold the key), and the command then opens the key file as before.  Looking
for an agent costs one ``stat`` when there is none.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from custody.ledger.keyagent import paths
from custody.ledger.note import ALG_ED25519, Signer

if TYPE_CHECKING:
    from custody.ledger.ledger import Ledger


def _agent_may_run() -> bool:
    from custody.ledger.keyagent.client import disabled

    return paths.SUPPORTED and not disabled() and os.path.exists(paths.socket_path())


def agent_person_signer(key: Path | None) -> Signer | None:
    """The agent's signer for the key in the key file ``key`` (without one: the only person key it holds)."""
    if not _agent_may_run():
        return None
    from custody.ledger.keyagent import client

    if key is None:
        return client.person_signer()
    from custody.ledger.keyfile import key_file_info

    name, public = key_file_info(key)
    return client.person_signer(name, public)


def agent_log_signer(ledger: Ledger) -> Signer | None:
    """The agent's signer for ``ledger``'s log key, when it holds it."""
    if not _agent_may_run():
        return None
    from custody.ledger.keyagent import client

    return client.log_signer(ledger.origin, ledger.log_verifier().public_key)


def deferred_log_signer(ledger: Ledger, passphrase: bytes) -> Signer:
    """``ledger``'s log key, decrypted with ``passphrase`` when it first signs (``custody.ledger.deferredkey``)."""
    from custody.ledger.deferredkey import DeferredSigner

    def open_log_key() -> Signer:
        # Called after the command's entry was appended (a checkpoint follows its entry): a wrong passphrase
        # reaches Ledger.checkpoint_after, whose CheckpointPendingError says that the entry was recorded.
        return ledger.log_signer(passphrase)

    return DeferredSigner(ledger.origin, ALG_ED25519, ledger.log_verifier().public_key, open_log_key)
