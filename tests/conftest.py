"""Shared test fixtures: where the conformance vectors live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# CI runs in a fresh clone with shared/ beside it (README of .library/env).
VECTORS = ROOT.parent / "shared" / "vectors"


def load_vector(relative: str) -> Any:
    return json.loads((VECTORS / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    if not VECTORS.is_dir():
        pytest.fail(f"conformance vectors not found at {VECTORS}")
    return VECTORS


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    """Tests read messages in English unless they choose Japanese themselves."""
    from ledger import i18n

    previous = i18n._language
    i18n.set_language("en")
    yield
    i18n._language = previous
