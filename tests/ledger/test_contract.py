"""ledger.contract: the contract file refuses malformed input with SchemaError, never another exception.

The refusals below were found by ``make fuzz`` (target ``contract``): each input
used to escape ``parse_contract`` as RecursionError, ValueError or
NoteFormatError (so ``custody init`` ended in "a bug in custody", exit 1), or to
be accepted with a different meaning (the string "false" as a permit that
``bool()`` made true).  docs/spec-events.md (Contract and people) says what the
contract file turns into; docs/spec.md §13 that malformed input is a clear
error, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger.contract import parse_contract
from custody.ledger.errors import SchemaError
from custody.ledger.ledger import Ledger
from tests.helpers import LOG_PASSPHRASE, TEST_KDF_N, contract_toml, make_parties

PARTIES = make_parties()
VALID = contract_toml(PARTIES).decode()
RESPONSIBLE = PARTIES.responsible.verifier().vkey


def _parse(text: str) -> tuple[str, dict[str, object]]:
    return parse_contract(text.encode("utf-8"), responsible_vkey=RESPONSIBLE)


def _with(line_after: str, extra: str) -> str:
    """The valid contract with ``extra`` added after the line ``line_after``."""
    assert line_after in VALID
    return VALID.replace(line_after, f"{line_after}\n{extra}", 1)


def test_the_valid_contract_parses_into_a_genesis_body() -> None:
    origin, body = _parse(VALID)
    assert origin == "city.example.lg.jp/custody/2026-017/site-1"
    assert body["permits"] == {"takeout": True, "copy": True, "subcontracting": True}
    assert body["my_number"] is True


@pytest.mark.parametrize(
    ("text", "field"),
    [
        # RecursionError inside tomllib: it recurses once per nested array or inline table.
        ("a = " + "[" * 100_000 + "]" * 100_000, ""),
        (VALID + "\nextra = " + "[" * 600 + "]" * 600, ""),
        ("a = " + "{a=" * 2_000 + "1" + "}" * 2_000, ""),
        # ValueError from tomllib: an integer longer than Python converts (4300 digits).
        (VALID.replace("records = 1200", "records = " + "9" * 5_000), ""),
        ("a = " + "1" * 76_000, ""),
        # NoteFormatError from the responsible person's vkey.
        (_with("[responsible]", 'vkey = "resp-sato+00000000+AAAA"'), "responsible.vkey"),
        (_with("[responsible]", 'vkey = "no plus signs"'), "responsible.vkey"),
        (_with("[responsible]", "vkey = 5"), "responsible.vkey"),
        (_with("[responsible]", "vkey = []"), "responsible.vkey"),
        # Yes/no fields given as text: bool("false") is True, so the permit was granted.
        (VALID.replace("takeout = true", 'takeout = "false"'), "permits.takeout"),
        (VALID.replace("copy = true", 'copy = "no"'), "permits.copy"),
        (VALID.replace("subcontracting = true", "subcontracting = 0"), "permits.subcontracting"),
        (VALID.replace("my_number = true", 'my_number = "true"'), "contract.my_number"),
        (VALID.replace("records = 1200", 'records = 1200\nmy_number = "yes"'), "data_items[0].my_number"),
        # Optional text fields given as something else: str() wrote their repr into the genesis entry.
        (_with('name = "本社 第2開発室"', "address = [1, 2]"), "work_locations[0].address"),
        (VALID.replace('department = "市民課"', "department = 2026-04-01"), "municipality.department"),
        (_with('[vendor]\nname = "株式会社サンプル"', "address = { a = 1 }"), "vendor.address"),
        (_with("[responsible]", "title = true"), "responsible.title"),
        (VALID.replace("records = 1200", "records = 1200\nclassification = 3"), "data_items[0].classification"),
        # The origin names the log key: a control character made Signer() raise NoteFormatError in init.
        (VALID.replace('origin = "city.example', 'origin = "\\u0001city.example'), "origin"),
        # "$" in the patterns matched before a final newline.
        (VALID.replace('id = "2026-017"', 'id = "2026-017\\n"'), "id"),
        (VALID.replace("start = 2026-04-01", 'start = "2026-04-01\\n"'), "contract.start"),
    ],
    ids=[
        "deep-array", "deep-array-in-valid", "deep-inline-table", "records-5000-digits", "76000-digits",
        "vkey-bad-id", "vkey-no-plus", "vkey-integer", "vkey-array", "takeout-text", "copy-text",
        "subcontracting-integer", "my-number-text", "item-my-number-text", "address-array", "department-date",
        "vendor-address-table", "title-boolean", "classification-integer", "origin-control-character", "id-final-newline", "start-final-newline",
    ],
)
def test_malformed_contracts_are_refused_with_a_schema_error(text: str, field: str) -> None:
    with pytest.raises(SchemaError) as caught:
        _parse(text)
    assert caught.value.field == field


def test_a_declared_responsible_vkey_equal_to_the_signer_is_accepted() -> None:
    _origin, body = _parse(_with("[responsible]", f'vkey = "{RESPONSIBLE}"'))
    assert body["responsible"]["vkey"] == RESPONSIBLE  # type: ignore[index]


def test_a_declared_responsible_vkey_of_another_key_is_refused() -> None:
    other = make_parties().responsible.verifier().vkey
    with pytest.raises(SchemaError, match="differs") as caught:
        _parse(_with("[responsible]", f'vkey = "{other}"'))
    assert caught.value.field == "responsible.vkey"


def test_yes_no_fields_default_to_false_and_text_fields_to_empty() -> None:
    text = VALID.replace("takeout = true\n", "").replace('department = "市民課"\n', "")
    _origin, body = _parse(text)
    assert body["permits"]["takeout"] is False  # type: ignore[index]
    assert body["municipality"]["department"] == ""  # type: ignore[index]
    assert body["work_locations"][0]["address"] == ""  # type: ignore[index]


def test_the_documents_issuer_fields_are_optional_and_written_only_when_given() -> None:
    """vendor.representative(_title) and municipality.addressee head the official forms (docs/reports.md); a
    contract without them keeps the genesis body it had."""
    _origin, plain = _parse(VALID)
    vendor, municipality = plain["vendor"], plain["municipality"]
    assert isinstance(vendor, dict) and isinstance(municipality, dict)
    assert set(vendor) == {"name", "address"}
    assert "addressee" not in municipality
    text = _with("[vendor]", 'representative = "鈴木 太郎"\nrepresentative_title = "代表取締役"')
    text = text.replace("[municipality]", '[municipality]\naddressee = "例市長 山田 一郎"', 1)
    _origin, body = _parse(text)
    assert body["vendor"]["representative"] == "鈴木 太郎"  # type: ignore[index]
    assert body["vendor"]["representative_title"] == "代表取締役"  # type: ignore[index]
    assert body["municipality"]["addressee"] == "例市長 山田 一郎"  # type: ignore[index]
    with pytest.raises(SchemaError):
        _parse(_with("[vendor]", "representative = 5"))



@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("start = 2026-04-01", 'start = "2026-02-30"', "period.start"),
        ('name = "例市"', 'name = "例\\u0000市"', "municipality.name"),
        ("pledge_date = 2026-03-20", 'pledge_date = "2026-13-01"', "responsible.pledge_date"),
    ],
    ids=["no-such-day", "control-character", "no-such-month"],
)
def test_init_refuses_a_contract_whose_genesis_body_the_verifier_would_reject(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    """parse_contract checks types; the genesis body must also pass its schema (what the verifier checks,
    finding I7), before anything is written."""
    text = VALID.replace(old, new)
    assert text != VALID
    root = tmp_path / "ledger"
    with pytest.raises(SchemaError) as caught:
        Ledger.create(root, contract_toml=text.encode(), responsible=PARTIES.responsible,
                      log_key=Ed25519PrivateKey.generate(), log_passphrase=LOG_PASSPHRASE, kdf_n=TEST_KDF_N)
    assert caught.value.field.endswith(field)
    assert not root.exists()
