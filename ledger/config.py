"""A ledger directory and its settings file (``custody.toml``).

Layout of a ledger directory made by ``custody init``::

    custody.toml   origin, checkpoint policy, witness URL
    ledger.db      the apsw store (ledger.store)
    log.key        the log key envelope (mode 0600), key name = origin
    log.vkey       the log's C2SP vkey, to hand to the municipality
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from custody.ledger.errors import StoreError
from custody.ledger.i18n import _

CONFIG_NAME = "custody.toml"
STORE_NAME = "ledger.db"
LOG_KEY_NAME = "log.key"
LOG_VKEY_NAME = "log.vkey"


@dataclass(frozen=True)
class LedgerConfig:
    origin: str
    checkpoint_every_entries: int = 100
    checkpoint_every_minutes: int = 60
    witness_url: str = ""
    heartbeat_seconds: int = 60
    allowed_gap_seconds: int = 300

    def to_toml(self) -> str:
        q = json.dumps  # a JSON string is a valid TOML basic string
        return (
            "# custody ledger settings (custody init wrote this file)\n"
            f"origin = {q(self.origin, ensure_ascii=False)}\n\n"
            "[checkpoint]\n"
            "# sign a checkpoint automatically after this many entries or minutes\n"
            f"every_entries = {self.checkpoint_every_entries}\n"
            f"every_minutes = {self.checkpoint_every_minutes}\n\n"
            "[witness]\n"
            "# C2SP tlog-witness URL of the municipality (empty: offline witnessing)\n"
            f"url = {q(self.witness_url)}\n\n"
            "[agent]\n"
            f"heartbeat_seconds = {self.heartbeat_seconds}\n"
            f"allowed_gap_seconds = {self.allowed_gap_seconds}\n"
        )

    @classmethod
    def from_toml(cls, text: str) -> LedgerConfig:
        try:
            doc = tomllib.loads(text)
            cp = doc.get("checkpoint", {})
            agent = doc.get("agent", {})
            return cls(
                origin=str(doc["origin"]),
                checkpoint_every_entries=int(cp.get("every_entries", 100)),
                checkpoint_every_minutes=int(cp.get("every_minutes", 60)),
                witness_url=str(doc.get("witness", {}).get("url", "")),
                heartbeat_seconds=int(agent.get("heartbeat_seconds", 60)),
                allowed_gap_seconds=int(agent.get("allowed_gap_seconds", 300)),
            )
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise StoreError(
                _("{name} is not a valid custody settings file: {why}").format(name=CONFIG_NAME, why=exc)
            ) from None


@dataclass(frozen=True)
class LedgerPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def store(self) -> Path:
        return self.root / STORE_NAME

    @property
    def log_key(self) -> Path:
        return self.root / LOG_KEY_NAME

    @property
    def log_vkey(self) -> Path:
        return self.root / LOG_VKEY_NAME

    def load_config(self) -> LedgerConfig:
        if not self.config.is_file():
            raise StoreError(
                _("{path} is not a custody ledger directory (no {name})").format(path=self.root, name=CONFIG_NAME),
                hint=_("give the directory made by 'custody init' with --ledger, or set CUSTODY_LEDGER"),
            )
        return LedgerConfig.from_toml(self.config.read_text(encoding="utf-8"))
