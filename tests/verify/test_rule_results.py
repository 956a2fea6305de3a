"""Each rule family's typed result (verify.rules): what it reports agrees with the findings it added.

On a few golden bundles (tests/vectors/bundles), one verification each: the compliance findings are
grouped by the family that registers their code (``custody.ledger.lifecycle.FAMILIES``), every listed
one exactly once, and the integrity families' results count what their findings say.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from custody.ledger.bundle import Bundle
from custody.ledger.lifecycle import FAMILIES, FAMILY_OF
from custody.verify.engine import Result, verify_bundle
from custody.verify.rules import default_rules
from tests.vectors.bundles import generate as golden

CASES = ("clean", "c14-medium-lost", "c9-unapproved-subcontractor", "i6-unwitnessed-entries-while-open",
         "i8-missing-attachment", "i8-altered-attachment", "i1-delete-an-entry")


def _verify(case: str) -> Result:
    case_dir = golden.HERE / case
    with Bundle(case_dir / golden.BUNDLE) as bundle:
        return verify_bundle(bundle, golden.load_trust(case_dir), default_rules(), workers=1)


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    return {case: _verify(case) for case in CASES}


@pytest.mark.parametrize("case", CASES)
def test_compliance_findings_are_grouped_by_family(results: dict[str, Result], case: str) -> None:
    result = results[case]
    assert result.compliance is not None and result.state is result.compliance.state
    families = result.compliance.families
    assert list(families) == list(FAMILIES)  # every family, in its order, even where it found nothing
    for family, found in families.items():
        assert all(FAMILY_OF[f.code] == family for f in found), family
    grouped = Counter(f for found in families.values() for f in found)
    assert grouped == Counter(f for f in result.findings if f.code.startswith("C"))


@pytest.mark.parametrize("case", CASES)
def test_integrity_results_agree_with_the_findings(results: dict[str, Result], case: str) -> None:
    result = results[case]
    integrity = result.integrity
    assert integrity.chain is not None and integrity.checkpoints is not None
    assert integrity.attachments is not None and integrity.proofs is not None and integrity.manifest is not None
    codes = Counter(f.code for f in result.findings)
    assert integrity.attachments.missing + integrity.attachments.mismatched == codes["I8"]
    assert integrity.proofs.failed <= codes["I4"]
    # Closed for the rules implies closed for I6; not the converse: a signed contract.closed that a tamper
    # kept from the rules (a wrong seq, I1) still closes the contract.
    if result.state is not None and result.state.closed is not None:
        assert integrity.chain.closed_seq is not None


def test_a_bundle_of_another_origin_stops_before_the_rules() -> None:
    """The trust store pins another ledger: one I5 finding, no family ran (their results are None)."""
    case_dir = golden.HERE / "clean"
    trust = golden.load_trust(case_dir)
    other = dataclasses.replace(trust, origin="other.example/ledger")
    with Bundle(case_dir / golden.BUNDLE) as bundle:
        result = verify_bundle(bundle, other, default_rules(), workers=1)
    assert [f.code for f in result.findings] == ["I5"] and not result.ok
    assert result.compliance is None and result.state is None and result.integrity.chain is None
