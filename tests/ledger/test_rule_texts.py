"""ledger.rule_texts: every rule text exists in both languages with the same fields, and fills correctly."""

from __future__ import annotations

import re
import string

import pytest

from custody.ledger import attestation, rule_texts
from custody.ledger.lifecycle import (
    applications,
    approvals,
    attestations,
    closing,
    copies,
    disposal,
    kernel,
    observation,
    people,
    places,
    reporting,
    scope,
    seals,
    staff,
    storage,
    takeout,
    times,
)
from custody.ledger.rule_texts import fill

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
# The texts shared by several families and the approvals, and each family's own (ledger/lifecycle/).
_HOMES = (rule_texts, kernel, approvals, applications, people, storage, takeout, copies, disposal, observation, closing,
          attestations, attestation, scope, times, seals, places, reporting, staff)
PAIRS = {
    f"{home.__name__.rsplit('.', 1)[-1]}.{name}": value
    for home in _HOMES
    for name, value in vars(home).items()
    if name in vars(home).get("__annotations__", {}) and name.isupper() and isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value)
}


def fields(template: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name}


def test_there_are_texts() -> None:
    assert len(PAIRS) > 100


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_both_languages(name: str) -> None:
    en, ja = PAIRS[name]
    assert en.strip() and ja.strip(), name
    assert fields(en) == fields(ja), name
    assert _CJK.search(ja), f"{name}: the Japanese text is not Japanese"
    assert en != ja, name


def test_fill_gives_each_language_its_part_of_a_pair() -> None:
    en, ja = fill(closing.MEDIUM_OPEN, {"m": "M-1", "state": ("in_storage", "保管庫で保管中")})
    assert en == "Medium M-1 has no final disposition (in_storage)"
    assert ja == "媒体 M-1 の最終処分が記録されていません(保管庫で保管中)"


def test_state_and_event_names_have_japanese() -> None:
    from custody.ledger.events import MEDIA_TYPES
    from custody.ledger.media import ABSENT, STATES

    assert set(rule_texts.STATE_JA) == {ABSENT, *STATES}
    assert set(MEDIA_TYPES) <= set(rule_texts.EVENT_JA)


def test_every_rule_code_is_registered_once_by_its_family() -> None:
    """Each compliance code has one home: the family that raises it registers its legend (both languages) and
    the inspection form's row that counts it (ledger/lifecycle/kernel.py RuleCode)."""
    from custody.ledger.lifecycle import RULE_CODES

    families = (people, takeout, copies, disposal, observation, closing, attestations, scope, times, seals, places,
                reporting, staff)
    registered = [rule.code for family in families for rule in family.CODES]
    assert len(registered) == len(set(registered))
    expected = [f"C{i}" for i in range(1, 25)]
    assert sorted(registered, key=lambda c: int(c[1:])) == expected
    assert list(RULE_CODES) == expected
    for rule in RULE_CODES.values():
        en, ja = rule.legend
        assert en and _CJK.search(ja), rule
        assert rule.form in ("①", "②", "③", "copies", "incidents", "observation", "inspections", "reporting",
                             "people"), rule
