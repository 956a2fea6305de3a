"""A ledger directory and its settings file (``custody.toml``).

Layout of a ledger directory made by ``custody init``::

    custody.toml   origin, checkpoint policy, witness URL
    ledger.db      the apsw store (ledger.store)
    log.key        the log key envelope (mode 0600), key name = origin
    log.vkey       the log's C2SP vkey, to hand to the municipality
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

from custody.ledger import usercache
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
        """The settings in ``text`` (custody.toml); a file read before comes from the user cache, parsed.

        Every command reads custody.toml, and ``tomllib`` costs ~4 ms of imports (its regular expressions)
        to read six values: the parsed values are kept in the user cache (:mod:`custody.ledger.usercache`)
        under a digest of the file's text, so a changed file is parsed again, and a cache that is missing or
        damaged only costs that parse.
        """
        name = f"config-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}.json"
        cached = _from_cache(usercache.read(name))
        if cached is not None:
            return cached
        parsed = cls._parse(text)
        usercache.write(name, json.dumps(asdict(parsed), ensure_ascii=False).encode("utf-8"))
        usercache.prune("config-*.json", keep=name)
        return parsed

    @classmethod
    def _parse(cls, text: str) -> LedgerConfig:
        import tomllib

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


def _from_cache(data: bytes | None) -> LedgerConfig | None:
    """The settings a cache entry holds, or None when there is none or it is not what ``from_toml`` wrote."""
    if data is None:
        return None
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    kinds = {f.name: (str if f.type in ("str", str) else int) for f in fields(LedgerConfig)}
    if not isinstance(doc, dict) or set(doc) != set(kinds):
        return None
    if any(type(doc[key]) is not kind for key, kind in kinds.items()):
        return None
    return LedgerConfig(**doc)


class LedgerPaths(NamedTuple):
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
