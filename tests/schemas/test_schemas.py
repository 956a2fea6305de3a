"""schemas: loading, $ref between files, format checking and SchemaError fields (entry envelope)."""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from custody.ledger import i18n
from custody.ledger import validation as schemas
from custody.ledger.errors import FormatError, SchemaError

ROOT = Path(__file__).resolve().parents[2]

VALID: dict[str, Any] = {
    "custody": 1,
    "origin": "city.example.lg.jp/custody/2026-017/site-1",
    "seq": 0,
    "prev": "A" * 43 + "=",
    "type": "contract.opened",
    "at": "2026-04-01T09:00:00+09:00",
    "actor": "tanaka.responsible",
    "body": {"contract_id": "2026-017"},
    "sig": "3q2+7w" + "A" * 85 + "=",
}
FIELDS = list(VALID)


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    before = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


def entry(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    doc.update(changes)
    return doc


def error_for(document: object, name: str = "entry") -> SchemaError:
    with pytest.raises(SchemaError) as info:
        schemas.validate(name, document)
    return info.value


# --- Infrastructure. ---


def test_valid_entry_passes() -> None:
    schemas.validate("entry", VALID)


def test_validator_is_cached() -> None:
    assert schemas.validator("entry") is schemas.validator("entry")
    assert schemas.registry() is schemas.registry()


def test_validator_checks_formats() -> None:
    assert schemas.validator("entry").format_checker is not None
    assert "date-time" in schemas.validator("entry").format_checker.checkers


def test_load_schema_from_package() -> None:
    schema = schemas.load_schema("entry")
    assert schema["$id"] == "https://custody.example/schemas/entry.schema.json"
    assert schema["$id"] == schemas.schema_id("entry")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "altered"
    assert schemas.load_schema("entry")["title"] != "altered"


def test_every_shipped_schema_is_valid_2020_12() -> None:
    assert "entry" in schemas.names()
    for name in schemas.names():
        Draft202012Validator.check_schema(schemas.load_schema(name))
        schemas.validator(name)


@pytest.mark.parametrize("name", ["nope", "../ledger/errors", "Entry", "", "entry.schema.json", "/etc/passwd"])
def test_unknown_schema(name: str) -> None:
    with pytest.raises(SchemaError, match="no schema named"):
        schemas.load_schema(name)
    with pytest.raises(SchemaError):
        schemas.validate(name, {})


def test_ref_between_files_through_registry() -> None:
    """Another schema can use entry.schema.json's $defs by relative or absolute URI."""
    other = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schemas.schema_id("test-only"),
        "type": "object",
        "properties": {
            "when": {"$ref": "entry.schema.json#/$defs/dateTime"},
            "hash": {"$ref": f"{schemas.BASE_URI}entry.schema.json#/$defs/base64Sha256"},
            "leaf": {"$ref": "entry.schema.json"},
        },
    }
    v = Draft202012Validator(
        other, registry=schemas.registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    assert v.is_valid({"when": "2026-04-01T00:00:00Z", "hash": "A" * 43 + "=", "leaf": VALID})
    assert not v.is_valid({"when": "2026-02-30T00:00:00Z"})
    assert not v.is_valid({"hash": "A" * 44})
    assert not v.is_valid({"leaf": entry(seq=-1)})


def test_no_network_retrieval_for_unknown_refs() -> None:
    other = {"$id": schemas.schema_id("test-only-2"), "$ref": "missing.schema.json"}
    v = Draft202012Validator(other, registry=schemas.registry())
    with pytest.raises(Exception, match=r"missing\.schema\.json"):
        v.is_valid({})


def test_schema_error_is_format_error() -> None:
    err = error_for(entry(seq=-1))
    assert isinstance(err, FormatError)
    assert err.exit_code == 3
    assert err.field == "seq"
    assert "seq" in err.message


# --- The entry envelope, table-driven. ---


@pytest.mark.parametrize("field", FIELDS)
def test_missing_field(field: str) -> None:
    doc = entry()
    del doc[field]
    err = error_for(doc)
    assert err.field == field
    assert "required" in err.message


def test_several_missing_fields_names_one_of_them() -> None:
    doc = entry()
    del doc["seq"], doc["sig"]
    assert error_for(doc).field in {"seq", "sig"}


WRONG_TYPE: list[tuple[str, Any]] = [
    ("custody", "1"),
    ("custody", True),
    ("custody", None),
    ("origin", 7),
    ("origin", ["a"]),
    ("seq", "0"),
    ("seq", True),
    ("seq", None),
    ("prev", 0),
    ("prev", None),
    ("type", {"name": "media.received"}),
    ("at", 1775000000),
    ("actor", False),
    ("body", []),
    ("body", "{}"),
    ("body", None),
    ("sig", ["A" * 91 + "="]),
]


@pytest.mark.parametrize(("field", "value"), WRONG_TYPE)
def test_wrong_type(field: str, value: Any) -> None:
    assert error_for(entry(**{field: value})).field == field


BAD_VALUE: list[tuple[str, Any]] = [
    ("custody", 0),
    ("custody", 2),
    ("origin", ""),
    ("origin", "city example"),
    ("origin", "site\t1"),
    ("origin", "site-1\n"),
    ("origin", "site\u00a01"),
    ("origin", "site\u30001"),
    ("origin", "site\x01"),
    ("seq", -1),
    ("seq", 2**53),
    ("prev", ""),
    ("prev", "A" * 44),
    ("prev", "A" * 42 + "=="),
    ("prev", "A" * 42 + "B="),  # non-zero pad bits: not canonical
    ("prev", "A" * 43 + "=\n"),
    ("prev", "_" * 43 + "="),  # base64url
    ("prev", "A" * 47 + "="),  # 35 bytes
    ("prev", "A" * 40 + "===="),
    ("type", ""),
    ("type", "media"),
    ("type", "Media.received"),
    ("type", "media.Received"),
    ("type", "media."),
    ("type", ".received"),
    ("type", "media.received\n"),
    ("type", "media-received.x"),
    ("type", "media.received2"),
    ("actor", ""),
    ("actor", "tanaka+1"),
    ("actor", "tanaka taro"),
    ("actor", "tanaka\n"),
    ("actor", "tanaka\x1f"),
    ("sig", ""),
    ("sig", "A" * 92),
    ("sig", "A" * 91 + "=\n"),
    ("sig", "A" * 87 + "="),  # 64 bytes: no key ID
    ("sig", "A" * 90 + "B="),
    ("sig", "A" * 90 + "=="),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUE)
def test_bad_value(field: str, value: Any) -> None:
    assert error_for(entry(**{field: value})).field == field


GOOD_VALUE: list[tuple[str, Any]] = [
    ("seq", 2**53 - 1),
    ("prev", "/" * 42 + "w="),
    ("prev", "+" * 42 + "8="),
    ("type", "takeout.erased_at_destination"),
    ("type", "a.b.c"),
    ("origin", "example.com/log"),
    ("origin", "東京都/custody"),
    ("actor", "田中.責任者"),
    ("at", "2026-04-01T00:00:00Z"),
    ("at", "2026-04-01T23:59:59.123456789-05:30"),
    ("at", "2024-02-29T12:00:00+09:00"),
    ("body", {}),
    ("body", {"nested": {"list": [1, "two", None, True]}}),
]


@pytest.mark.parametrize(("field", "value"), GOOD_VALUE)
def test_good_value(field: str, value: Any) -> None:
    schemas.validate("entry", entry(**{field: value}))


BAD_DATE_TIME = [
    "2026-02-30T00:00:00Z",  # no such day: only the format checker knows
    "2026-13-01T00:00:00Z",
    "2026-04-01T24:00:00Z",
    "2026-04-01T23:60:00Z",
    "2026-04-01T00:00:00+24:00",
    "2026-04-01T00:00:00",  # no offset
    "2026-04-01 00:00:00Z",
    "2026-04-01t00:00:00z",
    "2026-04-01T00:00:00.Z",
    "2026-04-01T00:00:00.1234567890Z",  # beyond nanoseconds
    "2026-04-01T00:00Z",
    "2026-04-01",
    "2026-04-01T00:00:00+0900",
    "2026-04-01T00:00:00Z\n",
    "２０２６-04-01T00:00:00Z",  # fullwidth digits
    "\u0662026-04-01T00:00:00Z",  # Arabic-Indic digit
    "yesterday",
    "",
]


@pytest.mark.parametrize("value", BAD_DATE_TIME)
def test_bad_date_time(value: str) -> None:
    assert error_for(entry(at=value)).field == "at"


def test_date_time_format_is_really_checked() -> None:
    """Matches the pattern, fails only the date-time format check (the format extras are installed)."""
    value = "2026-02-30T00:00:00Z"
    pattern = schemas.load_schema("entry")["$defs"]["dateTime"]["pattern"]
    assert re.search(pattern, value)
    err = error_for(entry(at=value))
    assert err.field == "at"
    assert "date-time" in err.message or "RFC 3339" in err.message


@pytest.mark.parametrize("extra", ["extra", "Sig", "signature", ""])
def test_extra_property(extra: str) -> None:
    err = error_for(entry(**{extra: 1}))
    assert err.field == extra
    assert "not allowed" in err.message


def test_not_an_object() -> None:
    doc: object
    for doc in ([], "entry", 1, None):
        err = error_for(doc)
        assert err.field == ""
        assert "document" in err.message


def test_nested_field_path() -> None:
    """Paths go through objects and arrays: the shape a body schema will produce."""
    v = Draft202012Validator(
        {
            "type": "object",
            "properties": {
                "body": {
                    "type": "object",
                    "required": ["media_id"],
                    "properties": {
                        "items": {"type": "array", "items": {"type": "object", "required": ["count"]}},
                        "media_id": {"type": "string"},
                    },
                    "additionalProperties": False,
                }
            },
        }
    )
    cases = {
        "body.media_id": {"body": {"media_id": 5}},
        "body.items[1].count": {"body": {"media_id": "m", "items": [{"count": 1}, {}]}},
        "body.colour": {"body": {"media_id": "m", "colour": "red"}},
    }
    for field, doc in cases.items():
        error = next(iter(v.iter_errors(doc)))
        assert schemas._field_and_detail(error)[0] == field


def test_message_is_short_for_huge_values() -> None:
    err = error_for(entry(origin="x " * 10_000))
    assert err.field == "origin"
    assert len(err.message) < 600


def test_japanese_message() -> None:
    i18n.set_language("ja")
    doc = entry()
    del doc["seq"]
    err = error_for(doc)
    assert err.field == "seq"
    assert "必須" in err.message


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(FIELDS),
    value=st.none() | st.booleans() | st.integers() | st.text(max_size=100) | st.lists(st.integers()),
)
def test_any_change_gives_schema_error_or_passes(field: str, value: Any) -> None:
    try:
        schemas.validate("entry", entry(**{field: value}))
    except SchemaError as err:
        seen = err.field
    else:
        return
    assert seen == field


# --- Agreement with ledger.entry.check_envelope (the hand-written copy of these rules). ---

def _cases() -> Iterator[Any]:
    bad = [*BAD_VALUE, *WRONG_TYPE, *(("at", value) for value in BAD_DATE_TIME)]
    for field, value in bad:
        case = f"{field}={value!r}"
        yield pytest.param(field, value, False, id=case)
    for field, value in GOOD_VALUE:
        yield pytest.param(field, value, True, id=f"good {field}={value!r}")


@pytest.mark.parametrize(("field", "value", "ok"), list(_cases()))
def test_agrees_with_check_envelope(field: str, value: Any, ok: bool) -> None:
    import custody.ledger.entry as entry_module
    doc = entry(**{field: value})
    schema_ok = schemas.validator("entry").is_valid(doc)
    try:
        entry_module.check_envelope(doc)
        for name in ("prev", "sig"):
            size = 32 if name == "prev" else 68
            entry_module.unb64(doc[name], size=size, what=name)
    except SchemaError:
        hand_ok = False
    else:
        hand_ok = True
    assert (schema_ok, hand_ok) == (ok, ok)


# --- Messages have Japanese translations. ---


def test_messages_translated() -> None:
    source = (ROOT / "ledger" / "validation.py").read_text(encoding="utf-8")
    msgids: set[str] = {
        str(node.args[0].value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and isinstance(node.args[0], ast.Constant)
    }
    with (ROOT / "ledger" / "locale" / "ja" / "keys.po").open("rb") as fh:
        catalog = {str(m.id): str(m.string) for m in read_po(fh, locale="ja") if m.id}
    assert msgids
    for msgid in msgids:
        assert catalog.get(msgid), msgid
        assert set(re.findall(r"\{[^}]*\}", msgid)) == set(re.findall(r"\{[^}]*\}", catalog[msgid]))


def test_schema_files_are_strict_json() -> None:
    from custody.ledger import canonical

    for path in (ROOT / "schemas").rglob("*.schema.json"):
        canonical.loads(path.read_bytes())
        json.loads(path.read_text(encoding="utf-8"))


def test_a_schemas_closure_is_what_its_references_reach() -> None:
    """A command checks one body against the schemas its ``$ref``s reach, not all of them (issue 19): the
    closure holds every shipped schema a reference names, at any depth, and nothing else."""
    import json
    import re

    from custody import schemas

    every = schemas.names()
    for name in every:
        reached = schemas.closure(name)
        assert name in reached and set(reached) <= set(every)
        # Every file a reference of the closure names is in it (the references are relative to the $id).
        for member, doc in reached.items():
            for ref in re.findall(r'"\$ref": "([^"#]*)', json.dumps(doc)):
                if ref:
                    target = schemas.schema_id(member).rsplit("/", 1)[0] + "/" + ref
                    while "/../" in target:
                        target = re.sub(r"[^/]+/\.\./", "", target, count=1)
                    assert target[len(schemas.BASE_URI): -len(".schema.json")] in reached, (name, member, ref)
    assert set(schemas.closure("events/media.checked_out")) == {"events/media.checked_out", "defs", "entry"}
    assert schemas.closure("entry") == {"entry": schemas.document("entry")}
    assert schemas.closure("no/such") == {} and schemas.closure("../entry") == {}


def test_one_schema_read_alone_is_the_one_read_with_all() -> None:
    from custody import schemas

    alone = {name: schemas._one(name) for name in schemas.names()}
    assert alone == schemas._documents()
    assert schemas._one("events/no.such") is None and schemas.document("events") is None
