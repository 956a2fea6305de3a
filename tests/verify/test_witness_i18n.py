"""Every message of the authority and witness code has a Japanese translation in witness.po,
with the same placeholders, and witness.po does not change other areas' translations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["verify/witness.py", "verify/authority.py", "ledger/witness_client.py", "cli/municipality.py"]
LOCALE = ROOT / "ledger" / "locale" / "ja"
_FIELD = re.compile(r"\{[^{}]*\}")


def _msgids() -> list[str]:
    out: list[str] = []
    for source in SOURCES:
        for _line, message, _comments, _ctx in extract_from_file("python", str(ROOT / source), keywords={"_": None}):
            msg = message[0] if isinstance(message, tuple) else message
            if msg not in out:
                out.append(msg)
    return out


def _catalog(path: Path) -> dict[tuple[str | None, str], str]:
    """(msgctxt, msgid) -> msgstr: the same English under another context is another message."""
    with path.open("rb") as fh:
        return {(m.context, str(m.id)): str(m.string) for m in read_po(fh, locale="ja") if m.id and m.string}


def test_every_message_is_translated() -> None:
    merged: dict[tuple[str | None, str], str] = {}
    for po in sorted(LOCALE.glob("*.po")):
        merged.update(_catalog(po))
    missing = [m for m in _msgids() if (None, m) not in merged]
    assert not missing, missing


@pytest.mark.parametrize("msgid", _msgids())
def test_placeholders_survive_translation(msgid: str) -> None:
    merged: dict[tuple[str | None, str], str] = {}
    for po in sorted(LOCALE.glob("*.po")):
        merged.update(_catalog(po))
    translated = merged.get((None, msgid), msgid)
    assert sorted(_FIELD.findall(translated)) == sorted(_FIELD.findall(msgid))
    kwargs = {name.strip("{}").split("!")[0].split(":")[0]: "x" for name in _FIELD.findall(msgid)}
    translated.format(**kwargs)


def test_witness_po_does_not_override_other_areas() -> None:
    ours = _catalog(LOCALE / "witness.po")
    for po in sorted(LOCALE.glob("*.po")):
        if po.name == "witness.po":
            continue
        theirs = _catalog(po)
        clashes = {m: (ours[m], theirs[m]) for m in ours.keys() & theirs.keys() if ours[m] != theirs[m]}
        assert not clashes, (po.name, clashes)
