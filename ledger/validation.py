"""Checking documents against the shipped JSON Schemas (:mod:`custody.schemas`).

Nothing is fetched from a network; ``$ref`` between the shipped files
resolves through a ``referencing.Registry`` of every file in the package, so
a schema may say ``"$ref": "entry.schema.json#/$defs/dateTime"``.

``validator(name)`` builds one ``Draft202012Validator`` per schema, once, with
format checking on (docs/dependency-notes.md, JSON: ``date-time`` is only checked with the
format extras installed, and a new validator per call is ~50x slower).
``validate(name, document)`` raises ``SchemaError`` for the best error
(``jsonschema.exceptions.best_match``); ``.field`` is the offending field as
a dotted path (``body.media_id``, ``body.items[2].count``; ``""`` for the
document itself).  For a missing or unexpected property, ``.field`` names that
property, not the object that should or should not hold it.

Speed: a document is first offered to ``jsonschema_rs`` (the Rust
``jsonschema`` crate), which only *accepts*: anything it rejects is judged
again by the ``jsonschema`` package, whose verdict and best error are final
(``checker``).  A verifier checks a million bodies, and the ``jsonschema``
interpreter costs more per body than the entry's signature; ``jsonschema_rs``
costs ~0.6 us.  It also keeps ``jsonschema`` (~60 ms of imports) off every
command that records a valid entry.  ``tests/schemas/test_fast_path.py``
checks that it never accepts what ``jsonschema`` rejects.

Patterns end with ``(?!\\n)$`` rather than ``$``: the ``jsonschema`` package
matches with Python's ``re.search``, where ``$`` also matches before a final
newline; ``(?!\\n)`` makes them mean the same in Python and ECMA-262.
``jsonschema_rs`` is given them without their look-arounds (``for_rust``),
which mean nothing more there and would send every pattern to its slow
backtracking engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from custody.ledger.errors import SchemaError
from custody.ledger.i18n import _
from custody.ledger.quoting import quote
from custody.schemas import BASE_URI, closure, document, names, schema_id

if TYPE_CHECKING:  # imported where used: jsonschema and referencing cost ~60 ms of every command's start-up
    import jsonschema_rs
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
    from referencing import Registry

__all__ = [
    "BASE_URI", "acceptor", "checker", "load_schema", "names", "registry", "schema_id", "validate", "validator",
]

_MAX_DETAIL = 200


def _documents() -> dict[str, dict[str, Any]]:
    return {name: found for name in names() if (found := document(name)) is not None}


def load_schema(name: str) -> dict[str, Any]:
    """The schema ``name`` as parsed JSON (a fresh copy: callers may not alter the cached one)."""
    found = document(name)
    if found is None:
        raise SchemaError(_("There is no schema named {name!r}.").format(name=name))
    copied: dict[str, Any] = json.loads(json.dumps(found))
    return copied




@cache
def registry() -> Registry[Any]:
    """A registry of every shipped schema under its ``$id``, for ``$ref`` between files."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

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
    from jsonschema import Draft202012Validator

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


def validate(name: str, document: object) -> None:
    """Raise SchemaError (the best error, naming its field) unless ``document`` matches schema ``name``."""
    checker(name)(document)


def _refuse_retrieval(uri: str) -> Any:
    raise LookupError(f"{uri} is not a shipped schema (nothing is fetched)")


# jsonschema_rs runs a pattern holding a look-around on fancy-regex's backtracking engine, any other on the
# regex crate's automata: ~0.7 against ~0.1 us for a date-time, more than the rest of a heartbeat's body.
# In Rust's regex ``$`` (not multi-line) matches only at the very end, so the ``(?!\n)`` that Python's ``re``
# needs before it adds nothing there; and a year of four digits not all zero needs no look-ahead.
# A pattern with a class escape whose members depend on the engine's tables (``\s``: U+0085 is a space to
# Python and Rust, not to ECMA-262) is left as it is, on the engine that has always judged it.
# tests/schemas/test_rust_patterns.py checks that each pattern so written judges as the shipped one.
_ENGINE_CLASS = re.compile(r"\\[sSdDwWbB]")
_NO_FINAL_NEWLINE = "(?!\\n)$"
_NOT_YEAR_ZERO = "^(?!0000)[0-9]{4}"
_YEAR = "^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"


def for_rust(pattern: str) -> str:
    """``pattern`` as ``jsonschema_rs`` is given it: the same strings match, without look-arounds."""
    if _ENGINE_CLASS.search(pattern):
        return pattern
    if pattern.endswith(_NO_FINAL_NEWLINE):
        pattern = pattern[: -len(_NO_FINAL_NEWLINE)] + "$"
    if pattern.startswith(_NOT_YEAR_ZERO):
        pattern = _YEAR + pattern[len(_NOT_YEAR_ZERO) :]
    return pattern


def _rust_schema(value: Any) -> Any:
    """A schema with every ``pattern`` keyword ``for_rust``."""
    if isinstance(value, dict):
        return {key: for_rust(item) if key == "pattern" and isinstance(item, str) else _rust_schema(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_rust_schema(item) for item in value]
    return value


@cache
def _fast_registry(name: str | None = None) -> jsonschema_rs.Registry:
    """``registry`` for ``jsonschema_rs``: the shipped schemas under their ``$id`` -- every one, or (``name``)
    only those schema ``name`` refers to (:func:`custody.schemas.closure`: a command that checks one body
    reads two or three files, not all of them), their patterns ``for_rust``; nothing is ever fetched."""
    import jsonschema_rs  # ~6 ms, on the commands that check a document only

    docs = _documents() if name is None else closure(name)
    return jsonschema_rs.Registry([(schema_id(n), _rust_schema(doc)) for n, doc in docs.items()],
                                  retriever=_refuse_retrieval)


@cache
def is_valid(name: str) -> Callable[[object], bool]:
    """``jsonschema_rs``'s test of schema ``name``, formats included: True means valid; False, judge again.

    It raises ValueError, TypeError or OverflowError on a value it cannot convert (not JSON): ``acceptor``
    wraps it for any value; the verifier, whose bodies are parsed JSON, calls it as it is.
    """
    import jsonschema_rs

    found = document(name)
    if found is None:
        raise SchemaError(_("There is no schema named {name!r}.").format(name=name))
    validity: Callable[[object], bool] = jsonschema_rs.validator_for(
        _rust_schema(found), validate_formats=True, registry=_fast_registry(name), retriever=_refuse_retrieval
    ).is_valid
    return validity


@cache
def acceptor(name: str) -> Callable[[object], bool]:
    """``jsonschema_rs``'s check of schema ``name``, formats included: True means valid; False, judge again."""
    check = is_valid(name)

    def accepts(document: object) -> bool:
        try:
            return check(document)
        except (ValueError, TypeError, OverflowError):  # a value it cannot convert (not JSON): jsonschema judges
            return False

    return accepts


@cache
def checker(name: str) -> Callable[[object], None]:
    """``validate`` for schema ``name``, looked up once: a verifier checks a million bodies of a few types."""
    if document(name) is None:
        raise SchemaError(_("There is no schema named {name!r}.").format(name=name))
    accepts = acceptor(name)

    def check(document: object) -> None:
        if not accepts(document):
            _judge(name, document)  # judged again, for the verdict and the best message

    return check


def _judge(name: str, document: object) -> None:
    """jsonschema's verdict, final: SchemaError with the best error, naming its field."""
    from jsonschema.exceptions import best_match

    error = best_match(validator(name).iter_errors(document))
    if error is None:
        return
    field, detail = _field_and_detail(error)
    where = quote(field) if field else _("(the document itself)")  # a field is a key of the input: any length
    raise SchemaError(
        _("Not a valid {schema} document: {field}: {detail}").format(schema=name, field=where, detail=detail),
        field=field,
    )
