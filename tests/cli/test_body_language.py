"""Signed evidence does not depend on the interface language (docs/spec-events.md; ledger/vocabulary.py).

The same acts, recorded once under ``--lang ja`` and once under ``--lang en`` with every default the command
line fills in (a vendor medium's source, the receipt lines' media names, the disposal application's purpose,
the disposal record's media type, source and verification method, the return receipt), must sign the same
entry bodies: codes and the user's own words, never a translated word.  Only the moments differ.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from custody.ledger.ledger import Ledger
from tests.cli.conftest import Custody
from tests.cli.workflow_world import CliWorld

_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z))?")


def _scrub(value: Any) -> Any:
    """The body with its moments (and the approval notes, signed at their own moment) replaced."""
    if isinstance(value, dict):
        return {k: "<note>" if k == "approval" else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return _MOMENT.sub("<moment>", value)
    return value


def _acts(w: CliWorld) -> list[tuple[str, Any]]:
    w.receive("M-1")
    w.ok("media", "register", "--media-id", "V-1", "--kind", "usb", "--serial", "SN-V-1", "--purpose", "作業用")
    approval = w.dispose_approval(["V-1"], "D-1", witness=False)
    w.ok("dispose", "approved", "--approval", str(approval))
    photo = w.root / "V-1.jpg"
    photo.write_bytes(b"\xff\xd8 photo")
    w.ok("dispose", "record", "--media-id", "V-1", "--photo", str(photo), "--no-certificate-reason", "自社で破砕",
         "--no-witness-reason", "委託者の都合")
    w.ok(*w.return_args("M-1"))
    with Ledger.open(w.ledger, readonly=True) as ledger:
        return [(e.type, _scrub(e.body)) for e in ledger.store.entries(0, ledger.store.size)]


def test_the_same_acts_sign_the_same_bodies_in_both_languages(template: CliWorld, tmp_path: Path) -> None:
    english = CliWorld.copy_of(template, tmp_path / "en", Custody(tmp_path / "en-run", "en"))
    japanese = CliWorld.copy_of(template, tmp_path / "ja", Custody(tmp_path / "ja-run", "ja"))
    en, ja = _acts(english), _acts(japanese)
    assert [t for t, _b in en][-5:] == ["media.received", "media.registered", "disposal.approved", "media.disposed",
                                        "media.returned"]
    assert en == ja
    disposed = next(b for t, b in en if t == "media.disposed")
    # the defaults are codes of the vocabulary, not words of either language
    assert disposed["verification"]["method"] == "visual_inspection"
    assert disposed["media_type"] == "usb"
    assert disposed["source"] == "registered"
    registered = next(b for t, b in en if t == "media.registered")
    assert registered["source"] == "vendor_stock"
    received = next(b for t, b in en if t == "media.received")
    assert {line["media_name"] for line in received["receipt"]["items"]} == {"usb"}
    text = json.dumps(en, ensure_ascii=False)
    for word in ("USBメモリ", "USB stick", "目視", "visual inspection", "vendor stock", "受託者の在庫"):
        assert word not in text
