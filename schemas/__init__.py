"""JSON Schemas (draft 2020-12) for custody's documents, shipped as package data.

DESIGN.md, Layout: ``schemas/`` holds JSON Schema (2020-12) for the entry
envelope, every event body, approvals and the bundle manifest.  Each file is
``schemas/<name>.schema.json`` (``<name>`` may contain ``/`` for a
subfolder) and its ``$id`` is ``BASE_URI + "<name>.schema.json"``, with::

    BASE_URI = "https://custody.example/schemas/"

The ``.example`` domain (RFC 2606) never resolves: the URIs are names, not
locations.  Nothing is fetched from a network; ``$ref`` between our files
resolves through a ``referencing.Registry`` of every file in this package, so
a schema may say ``"$ref": "entry.schema.json#/$defs/dateTime"``.

``validator(name)`` builds one ``Draft202012Validator`` per schema, once, with
format checking on (NOTES.md, JSON: ``date-time`` is only checked with the
format extras installed, and a new validator per call is ~50x slower).
``validate(name, document)`` raises ``SchemaError`` for the best error
(``jsonschema.exceptions.best_match``); ``.field`` is the offending field as
a dotted path (``body.media_id``, ``body.items[2].count``; ``""`` for the
document itself).  For a missing or unexpected property, ``.field`` names that
property, not the object that should or should not hold it.

Patterns end with ``(?!\\n)$`` rather than ``$``: the ``jsonschema`` package
matches with Python's ``re.search``, where ``$`` also matches before a final
newline; ``(?!\\n)`` makes them mean the same in Python and ECMA-262.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ledger.errors import SchemaError
from ledger.i18n import _

BASE_URI = "https://custody.example/schemas/"
SUFFIX = ".schema.json"
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*")
_MAX_DETAIL = 200


def schema_id(name: str) -> str:
    """The ``$id`` of schema ``name`` (e.g. ``entry``)."""
    return f"{BASE_URI}{name}{SUFFIX}"


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.is_dir():
            yield from _walk(item, f"{prefix}{item.name}/")
        elif item.name.endswith(SUFFIX):
            yield f"{prefix}{item.name[: -len(SUFFIX)]}", item


@cache
def _documents() -> dict[str, dict[str, Any]]:
    """Every schema file in the package, by name; each ``$id`` is checked."""
    found: dict[str, dict[str, Any]] = {}
    for name, item in _walk(resources.files(__name__), ""):
        document = json.loads(item.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("$id") != schema_id(name):
            raise RuntimeError(f"schemas/{name}{SUFFIX}: $id must be {schema_id(name)!r}")
        found[name] = document
    return found


def names() -> list[str]:
    """The names of every shipped schema."""
    return sorted(_documents())


def load_schema(name: str) -> dict[str, Any]:
    """The schema ``name`` as parsed JSON (a fresh copy: callers may not alter the cached one)."""
    if not _NAME.fullmatch(name) or name not in _documents():
        raise SchemaError(_("There is no schema named {name!r}.").format(name=name))
    document: dict[str, Any] = json.loads(json.dumps(_documents()[name]))
    return document


@cache
def registry() -> Registry[Any]:
    """A registry of every shipped schema under its ``$id``, for ``$ref`` between files."""
    return Registry().with_resources(
        (schema_id(name), Resource.from_contents(doc, default_specification=DRAFT202012))
        for name, doc in _documents().items()
    )


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for schema ``name``, built (and the schema checked) once per process.

    The schema is validated with its ``$ref``s inlined (``_inline``): the
    ``jsonschema`` package resolves a reference through the registry on every
    use, which made a small event body cost ~125 us to check -- more than the
    entry's signature -- on the verifier's hot path.  Inlined, the same checks
    cost a fraction of that.  References that would recurse stay references.
    """
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    resolver = registry().resolver(base_uri=schema_id(name))
    flat = _inline(schema, resolver, ())
    return Draft202012Validator(flat, registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _inline(node: Any, resolver: Any, stack: tuple[str, ...]) -> Any:
    """Replace each ``$ref`` by the subschema it names (recursively), keeping semantics."""
    if isinstance(node, list):
        return [_inline(item, resolver, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and isinstance(node["$ref"], str):
        resolved = resolver.lookup(node["$ref"])
        target = str(id(resolved.contents))  # the same subschema object: a cycle
        if target in stack:
            return {k: _inline(v, resolver, stack) for k, v in node.items()}  # recursive: leave the reference
        inner = _inline(resolved.contents, resolved.resolver, (*stack, target))
        if isinstance(inner, dict):
            inner = {k: v for k, v in inner.items() if k not in ("$id", "$schema")}
        siblings = {k: _inline(v, resolver, stack) for k, v in node.items() if k != "$ref"}
        if not siblings:
            return inner
        return {"allOf": [inner], **siblings}
    return {k: (v if k in ("const", "enum", "default", "examples") else _inline(v, resolver, stack))
            for k, v in node.items()}


def _dotted(parts: Iterator[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def _field_and_detail(error: ValidationError) -> tuple[str, str]:
    """Where the error is, as a dotted path, and what is wrong there."""
    base = _dotted(iter(error.absolute_path))
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        # One error per missing property; its message quotes the property.
        missing = [p for p in error.validator_value if p not in instance]
        named = next((p for p in missing if repr(p) in error.message), missing[0] if missing else "")
        return _join(base, named), _("a required field is missing")
    if error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        # The message lists the unexpected properties: "('x', 'y' were unexpected)".
        extra = next((k for k in instance if repr(k) in error.message), None)
        if extra is not None:
            return _join(base, extra), _("this field is not allowed here")
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("pattern", "format") and isinstance(description, str):
        detail = _("{value} is not valid; expected: {description}").format(
            value=_short(repr(instance)), description=description
        )
        return base, detail
    return base, _short(error.message)


# Keywords whose meaning differs from, or is absent in, draft-07 (which the
# fast path below compiles for): a schema that uses any of them takes the
# jsonschema path only.
_NOT_DRAFT7 = ("prefixItems", "unevaluatedProperties", "unevaluatedItems", "dependentRequired",
               "dependentSchemas", "$dynamicRef", "$recursiveRef", "minContains", "maxContains")


@cache
def _fast(name: str) -> Callable[[object], object] | None:
    """A compiled acceptor for schema ``name`` (fastjsonschema), or None.

    The verifier checks every body of a million-entry ledger, and the
    ``jsonschema`` interpreter costs more per body than the entry's signature.
    ``fastjsonschema`` compiles the inlined schema to Python; formats are
    delegated to jsonschema's own format checker, so both judge dates the
    same way.  It is used only to *accept*: anything it rejects is judged
    again by ``jsonschema``, whose verdict and best error are final.  A
    parity test runs every schema's examples through both.
    """
    flat = validator(name).schema
    text = json.dumps(flat)
    if any(f'"{keyword}"' in text for keyword in _NOT_DRAFT7) or '"$ref"' in text:
        return None
    checker = Draft202012Validator.FORMAT_CHECKER
    formats = {fmt: functools.partial(_conforms, checker, fmt) for fmt in checker.checkers}
    draft7 = {k: v for k, v in flat.items() if k not in ("$schema", "$id")}
    draft7["$schema"] = "http://json-schema.org/draft-07/schema#"
    compiled: Callable[[object], object] = fastjsonschema.compile(draft7, formats=formats)
    return compiled


def _conforms(checker: Any, fmt: str, value: object) -> bool:
    return bool(checker.conforms(value, fmt))


def validate(name: str, document: object) -> None:
    """Raise SchemaError (the best error, naming its field) unless ``document`` matches schema ``name``."""
    fast = _fast(name) if _NAME.fullmatch(name) and name in _documents() else None
    if fast is not None:
        try:
            fast(document)
        except fastjsonschema.JsonSchemaException:
            pass  # judged again below, for the verdict and the best message
        else:
            return
    error = best_match(validator(name).iter_errors(document))
    if error is None:
        return
    field, detail = _field_and_detail(error)
    where = field or _("(the document itself)")
    raise SchemaError(
        _("Not a valid {schema} document: {field}: {detail}").format(schema=name, field=where, detail=detail),
        field=field,
    )
