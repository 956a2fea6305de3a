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


def location() -> str:
    """Where this installation's schema files are (the key agent judges a command's document only when it
    reads the same files: custody.ledger.keyagent)."""
    return str(_package())


def files(name: str) -> dict[str, Path]:
    """The files of schema ``name`` and of every schema it reaches (``closure``), by schema name, where they are
    plain files (an installation in a directory); empty otherwise."""
    here = _package()
    if not isinstance(here, Path):
        return {}
    return {found: here.joinpath(*f"{found}{SUFFIX}".split("/")) for found in closure(name)}


@cache
def _documents() -> dict[str, dict[str, Any]]:
    """Every schema file in the package, by name; each ``$id`` is checked."""
    found: dict[str, dict[str, Any]] = {}
    for name, item in _walk(_package(), ""):
        found[name] = _parsed(name, item.read_bytes())
    return found


def _parsed(name: str, data: bytes) -> dict[str, Any]:
    document = json.loads(data.decode("utf-8"))
    if not isinstance(document, dict) or document.get("$id") != schema_id(name):
        raise RuntimeError(f"schemas/{name}{SUFFIX}: $id must be {schema_id(name)!r}")
    return document


@cache
def _one(name: str) -> dict[str, Any] | None:
    """The file of schema ``name`` alone (``name`` already matched ``_NAME``: no ``..``, no absolute path).

    A command checks one or two documents: reading and parsing every shipped schema for them cost more than
    the check (issue 19, the import floor of a signing command)."""
    item = _package()
    for part in f"{name}{SUFFIX}".split("/"):
        item = item.joinpath(part)
    try:
        data = item.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return _parsed(name, data)


def names() -> list[str]:
    """The names of every shipped schema."""
    return sorted(_documents())


def document(name: str) -> dict[str, Any] | None:
    """The shipped schema ``name`` as parsed JSON (the cached object: callers copy before altering it), or None
    when there is no schema of that name."""
    if not _NAME.fullmatch(name):
        return None
    if _documents.cache_info().currsize:  # every file is parsed already: the same objects
        return _documents().get(name)
    return _one(name)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key not in ("const", "enum", "default", "examples"):
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def closure(name: str) -> dict[str, dict[str, Any]]:
    """Schema ``name`` and every shipped schema its ``$ref``s reach, directly or through others, by name.

    A reference resolves against the referring schema's ``$id`` (RFC 3986); one outside :data:`BASE_URI`,
    or naming no shipped schema, is left out: the checker refuses to fetch it, as it would with every
    schema registered.  Empty when ``name`` names no schema.
    """
    from urllib.parse import urldefrag, urljoin

    found: dict[str, dict[str, Any]] = {}
    todo = [name]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        doc = document(current)
        if doc is None:
            continue
        found[current] = doc
        for ref in _refs(doc):
            target = urldefrag(urljoin(schema_id(current), ref)).url
            if target.startswith(BASE_URI) and target.endswith(SUFFIX):
                todo.append(target[len(BASE_URI): -len(SUFFIX)])
    return found
