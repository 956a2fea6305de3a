"""``custody.ledger.workflow.act_many``: several entries in one transaction, each checked as ``act`` checks
one, every refused one named, and nothing written unless all pass (real ledgers, tests/helpers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custody.ledger.errors import BatchRefusal, RuleRefusal, UsageError
from custody.ledger.violation import Violation
from custody.ledger.workflow import act, act_many, current_state
from tests.helpers import check_chain, new_ledger
from tests.world import receipt, received_body


def receipt_of(n: int) -> dict[str, Any]:
    return receipt("R-9", quantity=n, records=1200 * n)


def test_every_entry_is_appended_in_order_and_the_state_follows(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    with ledger:
        before = ledger.store.size
        warnings: list[Violation] = []
        entries = act_many(ledger, [("media.received", received_body(f"M-{i}", f"SN-{i}", receipt=receipt_of(3)))
                                    for i in range(3)], parties.responsible, warnings=warnings)
        assert [e.seq for e in entries] == [before, before + 1, before + 2]
        assert ledger.store.size == before + 3
        state = current_state(ledger)
        assert set(state.media) == {"M-0", "M-1", "M-2"}
        assert state.receipts["R-9"]["media"] == ["M-0", "M-1", "M-2"]
        assert not [v for v in warnings if v.severity == "error"]
        check_chain(ledger.store)
        # The state cache was saved with the entries: the next act starts from it.
        act(ledger, "media.received", received_body("M-3", "SN-3"), parties.responsible)
        assert "M-3" in current_state(ledger).media


@pytest.mark.parametrize(("bodies", "expected", "exit_code"), [
    # a body that does not match its schema, and a media id the batch already used
    ([received_body("M-0", "SN-0"), {"media_id": "M-1"}, received_body("M-0", "SN-9")],
     [(1, UsageError), (2, RuleRefusal)], 2),
    # rules only: the same serial twice, the same id twice
    ([received_body("M-0", "SN-0"), received_body("M-1", "SN-0"), received_body("M-0", "SN-7")],
     [(1, RuleRefusal), (2, RuleRefusal)], 6),
])
def test_any_refusal_writes_nothing_and_names_each_one(tmp_path: Path, bodies: list[dict[str, Any]],
                                                      expected: list[tuple[int, type]], exit_code: int) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    with ledger:
        size, root = ledger.store.size, ledger.store.root()
        with pytest.raises(BatchRefusal) as caught:
            act_many(ledger, [("media.received", b) for b in bodies], parties.responsible)
        assert [(i, type(e)) for i, e in caught.value.problems] == expected
        assert caught.value.exit_code == exit_code
        assert (ledger.store.size, ledger.store.root()) == (size, root)
        assert current_state(ledger).media == {}
        # and the ledger takes the good ones afterwards
        act_many(ledger, [("media.received", bodies[0])], parties.responsible)
        assert list(current_state(ledger).media) == ["M-0"]


def test_an_empty_batch_writes_nothing(tmp_path: Path) -> None:
    ledger, parties, _log = new_ledger(tmp_path)
    with ledger:
        size = ledger.store.size
        assert act_many(ledger, [], parties.responsible) == []
        assert ledger.store.size == size
