"""What the key agent agrees to sign (custody.ledger.signing_domain): custody's own signing inputs only.

Each accepted input is made by the same code that makes it for real (``signed_message`` of an entry,
``make_approval_text``, ``Checkpoint.to_text``); every refusal is a row of a table.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from custody.ledger import canonical
from custody.ledger.approval import make_approval_text
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosignature_message
from custody.ledger.entry import ENTRY_CONTEXT, signed_message
from custody.ledger.errors import KeyAgentError
from custody.ledger.keyagent import protocol
from custody.ledger.signing_domain import (
    APPROVAL,
    CHECKPOINT,
    ENTRY,
    LOG_KEY,
    MAX_MESSAGE,
    PERSON_KEY,
    classify,
)
from tests.world import ORIGIN, approval_body

PREV = bytes(range(32))
ROOT = bytes(range(32, 64))


def unsigned(**over: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "custody": 1, "origin": ORIGIN, "seq": 7, "prev": base64.b64encode(PREV).decode(),
        "type": "note.recorded", "at": "2026-04-01T10:00:00.000+09:00", "actor": "op-tanaka",
        "body": {"text": "鍵の保管庫を点検した"},
    }
    entry.update(over)
    return {k: v for k, v in entry.items() if v is not None}


def entry_message(**over: Any) -> bytes:
    return signed_message(unsigned(**over))


def approval_message(**over: Any) -> bytes:
    return make_approval_text(ORIGIN, approval_body("takeout", "A-1", ["M-001"], **over)).encode()


def checkpoint_message(origin: str = ORIGIN, extensions: tuple[str, ...] = ()) -> bytes:
    return Checkpoint(origin, 12, ROOT, extensions).to_text().encode()


def test_an_entry_is_recognised_with_where_it_goes() -> None:
    found = classify(entry_message(), key_name="op-tanaka", role=PERSON_KEY)
    assert (found.domain, found.origin, found.seq, found.type, found.hash) == (ENTRY, ORIGIN, 7, "note.recorded", PREV)


def test_an_approval_is_recognised() -> None:
    found = classify(approval_message(), key_name="city-approver", role=PERSON_KEY)
    assert (found.domain, found.origin, found.type) == (APPROVAL, ORIGIN, "takeout")


def test_a_checkpoint_is_recognised_for_the_log_key() -> None:
    found = classify(checkpoint_message(), key_name=ORIGIN, role=LOG_KEY)
    assert (found.domain, found.origin, found.seq, found.hash) == (CHECKPOINT, ORIGIN, 12, ROOT)


def test_the_roles_match_the_protocols_names() -> None:
    assert (protocol.PERSON_KEY, protocol.LOG_KEY) == (PERSON_KEY, LOG_KEY)


def _reordered() -> bytes:
    obj = unsigned()
    return ENTRY_CONTEXT + b'{"seq":7,' + canonical.dumps({k: v for k, v in obj.items() if k != "seq"})[1:]


REFUSED: list[tuple[str, Any, str, str, str]] = [
    # (case, message, key name, role, words the refusal must contain)
    ("empty", b"", "op-tanaka", PERSON_KEY, "not an entry"),
    ("arbitrary bytes", bytes(range(256)), "op-tanaka", PERSON_KEY, "not an entry"),
    ("a plain text", b"please sign this\n", "op-tanaka", PERSON_KEY, "not an entry"),
    ("a TLS-like digest", b"\x30\x31\x30\x0d\x06\x09" + bytes(32), "op-tanaka", PERSON_KEY, "not an entry"),
    ("not bytes", "custody-entry/v1\n{}", "op-tanaka", PERSON_KEY, "not bytes"),
    ("too long", ENTRY_CONTEXT + b" " * MAX_MESSAGE, "op-tanaka", PERSON_KEY, "longer than"),
    ("unknown role", entry_message(), "op-tanaka", "witness", "unknown kind of key"),
    ("the prefix alone", ENTRY_CONTEXT, "op-tanaka", PERSON_KEY, "not strict JSON"),
    ("prefix without its newline", b"custody-entry/v1" + canonical.dumps(unsigned()), "op-tanaka", PERSON_KEY,
     "not an entry"),
    ("another version", b"custody-entry/v2\n" + canonical.dumps(unsigned()), "op-tanaka", PERSON_KEY,
     "not an entry"),
    ("an entry with its sig", ENTRY_CONTEXT + canonical.dumps({**unsigned(), "sig": "A" * 92}), "op-tanaka",
     PERSON_KEY, "exactly the members"),
    ("a member missing", entry_message(body=None), "op-tanaka", PERSON_KEY, "exactly the members"),
    ("a member more", ENTRY_CONTEXT + canonical.dumps({**unsigned(), "extra": 1}), "op-tanaka", PERSON_KEY,
     "exactly the members"),
    ("a JSON array", ENTRY_CONTEXT + b"[1,2]", "op-tanaka", PERSON_KEY, "exactly the members"),
    ("not canonical: spaces", ENTRY_CONTEXT + canonical.dumps(unsigned()).replace(b",", b", "), "op-tanaka",
     PERSON_KEY, "canonical"),
    ("not canonical: order", _reordered(), "op-tanaka", PERSON_KEY, "canonical"),
    ("a trailing newline", entry_message() + b"\n", "op-tanaka", PERSON_KEY, "canonical"),
    ("a float", ENTRY_CONTEXT + canonical.dumps(unsigned()).replace(b'"seq":7', b'"seq":7.5'), "op-tanaka",
     PERSON_KEY, "not strict JSON"),
    ("a bad time", entry_message(at="yesterday"), "op-tanaka", PERSON_KEY, "not valid"),
    ("a bad prev", entry_message(prev="AAAA"), "op-tanaka", PERSON_KEY, "not valid"),
    ("a format version 2", entry_message(custody=2), "op-tanaka", PERSON_KEY, "not valid"),
    ("another actor", entry_message(actor="op-kato"), "op-tanaka", PERSON_KEY, "not the key's name"),
    ("an entry for the log key", entry_message(actor=ORIGIN), ORIGIN, LOG_KEY, "log key does not sign an entry"),
    ("an approval for the log key", approval_message(), ORIGIN, LOG_KEY, "log key does not sign an approval"),
    ("a checkpoint for a person key", checkpoint_message(origin="op-tanaka"), "op-tanaka", PERSON_KEY,
     "not an entry"),
    ("a checkpoint of another origin", checkpoint_message(origin="other.example/log"), ORIGIN, LOG_KEY,
     "not the log key's name"),
    ("a checkpoint with an extension line", checkpoint_message(extensions=("more",)), ORIGIN, LOG_KEY,
     "no extension lines"),
    ("a checkpoint that is not UTF-8", b"\xff\xfe\n1\n" + base64.b64encode(ROOT) + b"\n", ORIGIN, LOG_KEY,
     "not UTF-8"),
    ("a signed note's whole text", checkpoint_message() + b"\n\xe2\x80\x94 x AAAA\n", ORIGIN, LOG_KEY,
     "not a checkpoint"),
    ("a witness cosignature", cosignature_message(Checkpoint(ORIGIN, 12, ROOT).to_text(), 1775000000), ORIGIN,
     LOG_KEY, "not a checkpoint"),
    ("arbitrary bytes to the log key", b"\x00" * 64, ORIGIN, LOG_KEY, "not a checkpoint"),
    ("an approval of four lines", approval_message() + b"more\n", "city-approver", PERSON_KEY, "three lines"),
    ("an approval without its newline", approval_message()[:-1], "city-approver", PERSON_KEY, "three lines"),
    ("an approval with a spaced origin", approval_message().replace(ORIGIN.encode(), b"a b"), "city-approver",
     PERSON_KEY, "origin line"),
    ("an approval body not canonical", approval_message().replace(b'{"approved_at"', b'{ "approved_at"'),
     "city-approver", PERSON_KEY, "canonical"),
    ("an approval body that is not an approval", b"custody/approval/v1\n" + ORIGIN.encode() + b'\n{"kind":"x"}\n',
     "city-approver", PERSON_KEY, "not valid"),
    ("an approval body that is not JSON", b"custody/approval/v1\n" + ORIGIN.encode() + b"\nhello\n",
     "city-approver", PERSON_KEY, "not valid"),
    ("an approval in Latin-1", b"custody/approval/v1\n\xe9\n{}\n", "city-approver", PERSON_KEY, "not UTF-8"),
]


@pytest.mark.parametrize(("message", "key_name", "role", "words"), [row[1:] for row in REFUSED],
                         ids=[row[0] for row in REFUSED])
def test_refused(message: Any, key_name: str, role: str, words: str) -> None:
    with pytest.raises(KeyAgentError) as caught:
        classify(message, key_name=key_name, role=role)
    assert words in caught.value.message
    assert caught.value.exit_code == 5
