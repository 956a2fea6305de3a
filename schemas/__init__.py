"""JSON Schemas (draft 2020-12) for custody's documents, shipped as package data.

The layout (README, "Where things are"): ``schemas/`` holds JSON Schema (2020-12) for the entry
envelope, every event body, approvals and the bundle manifest.  Each file is
``schemas/<name>.schema.json`` (``<name>`` may contain ``/`` for a
subfolder) and its ``$id`` is ``BASE_URI + "<name>.schema.json"``, with::

    BASE_URI = "https://custody.example/schemas/"

The ``.example`` domain (RFC 2606) never resolves: the URIs are names, not
locations.  This package holds the documents and finds them by name; it
imports nothing of custody.  Checking a document against them, with custody's
errors and messages, is :mod:`custody.ledger.validation`.
"""


from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

BASE_URI = "https://custody.example/schemas/"
SUFFIX = ".schema.json"
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*")


def schema_id(name: str) -> str:
    """The ``$id`` of schema ``name`` (e.g. ``entry``)."""
    return f"{BASE_URI}{name}{SUFFIX}"


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.is_dir():
            yield from _walk(item, f"{prefix}{item.name}/")
        elif item.name.endswith(SUFFIX):
            yield f"{prefix}{item.name[: -len(SUFFIX)]}", item


def _package() -> Traversable:
    """This package's folder; through ``importlib.resources`` (~8 ms of imports) only when it is not a directory."""
    here = Path(__file__).parent
    if here.is_dir():
        return here
    from importlib import resources

    return resources.files(__name__)


@cache
def _documents() -> dict[str, dict[str, Any]]:
    """Every schema file in the package, by name; each ``$id`` is checked."""
    found: dict[str, dict[str, Any]] = {}
    for name, item in _walk(_package(), ""):
        document = json.loads(item.read_bytes().decode("utf-8"))
        if not isinstance(document, dict) or document.get("$id") != schema_id(name):
            raise RuntimeError(f"schemas/{name}{SUFFIX}: $id must be {schema_id(name)!r}")
        found[name] = document
    return found


def names() -> list[str]:
    """The names of every shipped schema."""
    return sorted(_documents())


def document(name: str) -> dict[str, Any] | None:
    """The shipped schema ``name`` as parsed JSON (the cached object: callers copy before altering it), or None
    when there is no schema of that name."""
    if not _NAME.fullmatch(name):
        return None
    return _documents().get(name)
