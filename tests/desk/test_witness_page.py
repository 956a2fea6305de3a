"""The witness page over HTTP: a request shows what it would cosign; a wrong passphrase changes nothing; the
response cosigns the vendor's checkpoint as ``custody witness cosign`` does."""

from __future__ import annotations

import re

from custody.ledger.ledger import Ledger
from custody.ledger.witness_client import cosigned_size
from tests.cli.workflow_world import CliWorld
from tests.desk.conftest import Client, DeskWorld, RunningDesk


def test_cosigning_in_the_witness_page(world: DeskWorld, desk: RunningDesk) -> None:
    w = world.w
    w.ok("checkpoint", as_=None)
    with Ledger.open(w.ledger, readonly=True) as ledger:
        size, before = ledger.store.size, cosigned_size(ledger)
    client = Client(desk.url)
    # A witness that has cosigned nothing cosigns the tree of size 1 first (docs/spec.md §8.1): the first
    # request is for it; the page then takes the request for the latest checkpoint.
    assert before == 0 and size > 1
    _cosign(w, world, client, 1)
    _cosign(w, world, client, size)


def _cosign(w: CliWorld, world: DeskWorld, client: Client, size: int) -> None:
    request = w.root / "request.txt"
    request.unlink(missing_ok=True)
    w.ok("witness-request", "-o", str(request), as_=None)
    page = client.post("/witness/upload", files={"file": ("request.txt", request.read_bytes())})
    assert page.status == 200
    assert "200 Success" in page.text or "副署" in page.text
    assert f"台帳の最初の {size:,} 件の記録" in page.text
    name = re.search(r'action="/witness/([^/"]+)/cosign"', page.text)
    assert name, page.text[-2000:]

    answered = world.workspace / "witness" / "answered"
    answered_before = sorted(answered.iterdir()) if answered.exists() else []
    wrong = client.post(f"/witness/{name.group(1)}/cosign", {"passphrase": "not it"})
    assert wrong.status == 400 and "何も変更されていません" in wrong.text
    assert list((world.workspace / "witness" / "requests").iterdir())
    assert sorted(answered.iterdir()) == answered_before

    done = client.post(f"/witness/{name.group(1)}/cosign", {"passphrase": "operator pass"})
    assert done.status == 200
    response = client.get(f"/witness/{name.group(1)}/response")
    assert response.status == 200 and response.body.startswith("— ".encode())
    path = w.root / "response.txt"
    path.write_bytes(response.body)
    w.ok("witness", "import", str(path), as_=None)
    with Ledger.open(w.ledger, readonly=True) as ledger:
        assert cosigned_size(ledger) == size
    assert not list((world.workspace / "witness" / "requests").iterdir())
