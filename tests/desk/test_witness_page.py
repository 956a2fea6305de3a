"""The witness page over HTTP: a request shows what it would cosign; a wrong passphrase changes nothing; the
response cosigns the vendor's checkpoint as ``custody witness cosign`` does."""

from __future__ import annotations

import re

from custody.ledger.ledger import Ledger
from custody.ledger.witness_client import cosigned_size
from tests.desk.conftest import Client, DeskWorld, RunningDesk


def test_cosigning_in_the_witness_page(world: DeskWorld, desk: RunningDesk) -> None:
    w = world.w
    w.ok("checkpoint", as_=None)
    request = w.root / "request.txt"
    w.ok("witness-request", "-o", str(request), as_=None)
    with Ledger.open(w.ledger, readonly=True) as ledger:
        size, before = ledger.store.size, cosigned_size(ledger)
    client = Client(desk.url)
    page = client.post("/witness/upload", files={"file": ("request.txt", request.read_bytes())})
    assert page.status == 200
    assert "200 Success" in page.text or "副署" in page.text
    assert f"台帳の最初の {size:,} 件の記録" in page.text
    name = re.search(r'action="/witness/([^/"]+)/cosign"', page.text)
    assert name, page.text[-2000:]

    wrong = client.post(f"/witness/{name.group(1)}/cosign", {"passphrase": "not it"})
    assert wrong.status == 400 and "何も変更されていません" in wrong.text
    assert list((world.workspace / "witness" / "requests").iterdir())
    assert not list((world.workspace / "witness" / "answered").iterdir())

    done = client.post(f"/witness/{name.group(1)}/cosign", {"passphrase": "operator pass"})
    assert done.status == 200
    response = client.get(f"/witness/{name.group(1)}/response")
    assert response.status == 200 and response.body.startswith("— ".encode())
    path = w.root / "response.txt"
    path.write_bytes(response.body)
    w.ok("witness", "import", str(path), as_=None)
    with Ledger.open(w.ledger, readonly=True) as ledger:
        assert cosigned_size(ledger) == size > before
    assert not list((world.workspace / "witness" / "requests").iterdir())
