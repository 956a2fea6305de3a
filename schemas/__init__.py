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

Start-up: every ``custody`` command is a process, and importing ``jsonschema``
(with the format libraries it pulls in) costs ~60 ms of it.  ``validate``
therefore accepts a valid document with ``fastjsonschema`` code generated
once per schema version and kept in the user cache (``_fast``), and imports
``jsonschema`` only to build that code or to judge a document the fast path
rejects.

Patterns end with ``(?!\\n)$`` rather than ``$``: the ``jsonschema`` package
matches with Python's ``re.search``, where ``$`` also matches before a final
newline; ``(?!\\n)`` makes them mean the same in Python and ECMA-262.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import re
from collections.abc import Callable, Iterator
from datetime import date
from functools import cache, partial
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any

import fastjsonschema

from ledger import usercache
from ledger.errors import SchemaError
from ledger.i18n import _

if TYPE_CHECKING:  # imported where used: jsonschema and referencing cost ~60 ms of every command's start-up
    from importlib.resources.abc import Traversable

    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
    from referencing import Registry

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


def _package() -> Traversable:
    """This package's folder; through ``importlib.resources`` (~8 ms of imports) only when it is not a directory."""
    here = Path(__file__).parent
    if here.is_dir():
        return here
    from importlib import resources

    return resources.files(__name__)


@cache
def _sources() -> dict[str, bytes]:
    """Every schema file in the package, by name, as bytes (parsed by ``_documents`` only when needed)."""
    return {name: item.read_bytes() for name, item in _walk(_package(), "")}


@cache
def _documents() -> dict[str, dict[str, Any]]:
    """Every schema file in the package, by name; each ``$id`` is checked."""
    found: dict[str, dict[str, Any]] = {}
    for name, data in _sources().items():
        document = json.loads(data.decode("utf-8"))
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
    checked as jsonschema's format checker checks them (``_FORMATS``), so both
    judge dates the same way.  It is used only to *accept*: anything it
    rejects is judged again by ``jsonschema``, whose verdict and best error
    are final.  A parity test runs every schema's examples through both.

    Generating and compiling that code costs 5-40 ms a schema and needs
    ``jsonschema`` to inline the references (~60 ms of imports), which every
    command that records an entry would pay: the compiled code is kept in the
    user cache (``ledger.usercache``) under a digest of everything it is made
    from (``_acceptor_digest``), so that a command normally only loads it.
    """
    folder = f"schemas-{_acceptor_digest()}"
    entry = f"{folder}/{name.replace('/', '+')}.marshal"
    cached = _cached_acceptor(entry, name)
    if cached is not None:
        code = cached[0]
    else:
        code = _generate_acceptor(name)
        usercache.write(entry, marshal.dumps((name, code)))
        usercache.prune("schemas-*", keep=folder)
    if code is None:
        return None
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - fastjsonschema's own generated code (compile() runs it the same way)
    accept: Callable[..., object] = namespace["validate"]
    return partial(accept, custom_formats=_FORMATS)


# What the generated code depends on besides the schema files and this module's source (the inlining
# and the generation options): bump on a change elsewhere that alters the generated code.
_ACCEPTOR_FORMAT = b"custody/schema-acceptor/v1"


@cache
def _acceptor_digest() -> str:
    """A digest of the schema files, this module, fastjsonschema's version and the bytecode format."""
    digest = hashlib.sha256(b"\0".join((_ACCEPTOR_FORMAT, fastjsonschema.VERSION.encode(), MAGIC_NUMBER)))
    digest.update(_package().joinpath("__init__.py").read_bytes())
    for name, data in sorted(_sources().items()):
        digest.update(b"\0%s\0%d\0" % (name.encode(), len(data)))
        digest.update(data)
    return digest.hexdigest()[:24]


def _cached_acceptor(entry: str, name: str) -> tuple[CodeType | None] | None:
    """The cached code of ``name``'s acceptor (None inside: the schema has no fast path); None when not cached."""
    data = usercache.read(entry)
    if data is None:
        return None
    try:
        stored = marshal.loads(data)  # noqa: S302 - our own entry, in the user's private cache (ledger.usercache)
    except (ValueError, EOFError, TypeError):
        return None  # damaged: generated again
    if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == name):
        return None
    code = stored[1]
    return (code,) if code is None or isinstance(code, CodeType) else None


def _generate_acceptor(name: str) -> CodeType | None:
    """fastjsonschema's code for the inlined schema ``name``, compiled; None if it must take the jsonschema path."""
    from jsonschema import Draft202012Validator

    flat = validator(name).schema
    text = json.dumps(flat)
    if any(f'"{keyword}"' in text for keyword in _NOT_DRAFT7) or '"$ref"' in text:
        return None
    # Every format jsonschema checks goes through _FORMATS (which overrides fastjsonschema's own format regexes).
    formats = {fmt: _FORMATS[fmt] for fmt in Draft202012Validator.FORMAT_CHECKER.checkers}
    draft7 = {k: v for k, v in flat.items() if k not in ("$schema", "$id")}
    draft7["$schema"] = "http://json-schema.org/draft-07/schema#"
    source = fastjsonschema.compile_to_code(draft7, formats=formats)
    return compile(source, f"<acceptor of schemas/{name}{SUFFIX}>", "exec")


# The formats the shipped schemas use, checked exactly as jsonschema's FORMAT_CHECKER checks them
# (jsonschema/_format.py: is_date, is_datetime) but without importing jsonschema, whose format module
# imports every optional format library it finds (~50 ms).  tests/schemas/test_acceptor_cache.py compares
# them with jsonschema's checker.  Any other format is handed to that checker itself.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return bool(_DATE.fullmatch(value) and date.fromisoformat(value))
    except ValueError:
        return False


_rfc3339: Callable[[str], bool] | None = None  # rfc3339_validator.validate_rfc3339, imported on first use
_rfc3339_shape: re.Pattern[str] | None = None  # its regular expression
# validate_rfc3339's verdict once its regular expression matched depends only
# on the date (year 0, day of the month), the first 10 characters: one
# calendar check per day instead of one per date-time (a verifier sees a
# million of them).  Bounded against a bundle of distinct dates.
_rfc3339_days: dict[str, bool] = {}


def _is_date_time(value: object) -> bool:
    global _rfc3339, _rfc3339_shape  # a lazy import, kept once: this runs for every date-time
    if not isinstance(value, str):
        return True
    if _rfc3339 is None or _rfc3339_shape is None:
        import rfc3339_validator  # type: ignore[import-untyped]

        _rfc3339, _rfc3339_shape = rfc3339_validator.validate_rfc3339, rfc3339_validator.RFC3339_REGEX
    upper = value.upper()
    if _rfc3339_shape.match(upper) is None:
        return False
    day = upper[:10]
    verdict = _rfc3339_days.get(day)
    if verdict is None:
        verdict = bool(_rfc3339(upper))
        if len(_rfc3339_days) >= 4096:
            _rfc3339_days.clear()
        _rfc3339_days[day] = verdict
    return verdict


def _jsonschema_conforms(fmt: str, value: object) -> bool:
    from jsonschema import Draft202012Validator

    return bool(Draft202012Validator.FORMAT_CHECKER.conforms(value, fmt))


class _Formats(dict[str, Callable[[object], bool]]):
    """The format table the generated code calls: ours, else jsonschema's checker (imported when first used)."""

    def __missing__(self, fmt: str) -> Callable[[object], bool]:
        check = partial(_jsonschema_conforms, fmt)
        self[fmt] = check
        return check


_OWN_FORMATS: dict[str, Callable[[object], bool]] = {"date": _is_date, "date-time": _is_date_time}
_FORMATS = _Formats(_OWN_FORMATS)


def validate(name: str, document: object) -> None:
    """Raise SchemaError (the best error, naming its field) unless ``document`` matches schema ``name``."""
    checker(name)(document)


@cache
def checker(name: str) -> Callable[[object], None]:
    """``validate`` for schema ``name``, looked up once: a verifier checks a million bodies of a few types."""
    fast = _fast(name) if name in _sources() else None
    if fast is None:
        return partial(_judge, name)

    def check(document: object) -> None:
        try:
            fast(document)
        except fastjsonschema.JsonSchemaException:
            _judge(name, document)  # judged again, for the verdict and the best message

    return check


def _judge(name: str, document: object) -> None:
    """jsonschema's verdict, final: SchemaError with the best error, naming its field."""
    from jsonschema.exceptions import best_match

    error = best_match(validator(name).iter_errors(document))
    if error is None:
        return
    field, detail = _field_and_detail(error)
    where = field or _("(the document itself)")
    raise SchemaError(
        _("Not a valid {schema} document: {field}: {detail}").format(schema=name, field=where, detail=detail),
        field=field,
    )
