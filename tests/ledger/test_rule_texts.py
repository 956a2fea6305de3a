"""ledger.rule_texts: every rule text exists in both languages (rules.po) with the same fields, and fills correctly."""

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
from custody.ledger.rule_texts import NOTHING, RuleText, fill

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
# The texts shared by several families and the approvals, and each family's own (ledger/lifecycle/).
_HOMES = (rule_texts, kernel, approvals, applications, people, storage, takeout, copies, disposal, observation, closing,
          attestations, attestation, scope, times, seals, places, reporting, staff)
TEXTS = {
    f"{home.__name__.rsplit('.', 1)[-1]}.{name}": value
    for home in _HOMES
    for name, value in vars(home).items()
    if name.isupper() and isinstance(value, RuleText) and value.en
}


def fields(template: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name}


def test_there_are_texts() -> None:
    assert len(TEXTS) > 300


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_both_languages(name: str) -> None:
    en, ja = TEXTS[name].en, TEXTS[name].ja()
    assert en.strip() and ja.strip(), name
    assert fields(en) == fields(ja), name
    assert _CJK.search(ja), f"{name}: the Japanese text is not Japanese"
    assert en != ja, name


def test_fill_gives_each_language_its_part_of_a_pair() -> None:
    en, ja = fill(closing.MEDIUM_OPEN, {"m": "M-1", "state": ("in_storage", "保管庫で保管中")})
    assert en == "Medium M-1 has no final disposition (in_storage)"
    assert ja == "媒体 M-1 の最終処分が記録されていません(保管庫で保管中)"


def test_fill_gives_each_language_its_part_of_a_rule_text_value() -> None:
    """A rule text given as a value (a word such as "erasure") is read in each language too."""
    en, ja = fill(attestations.NO_WITNESS_ATTESTATION, {"act": attestations.ACT_ERASURE, "m": "M-1", "typed": ""})
    assert en == ("The erasure of My Number medium M-1 carries no witness attestation signed by the municipality, "
                  "nor a signed waiver (第11-3/5)")
    assert ja == "特定個人情報を含む媒体 M-1 の消去に、委託者が署名した立会いの証明も立会い免除もありません(特記事項第11-3・5)"
    assert attestations.ACT_ERASURE.ja() == "消去"


def test_no_text_fills_to_nothing_in_both_languages() -> None:
    assert fill(NOTHING, {"m": "M-1"}) == ("", "")


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
        en, ja = rule.legend.en, rule.legend.ja()
        assert en and _CJK.search(ja), rule
        assert rule.form in ("①", "②", "③", "copies", "incidents", "observation", "inspections", "reporting",
                             "people"), rule
