"""The signed-note form the municipality's statements share: an approval (docs/spec.md §9.2) and an
attestation (§9.6) are each a C2SP signed note whose text is three lines::

    <context>            custody/approval/v1 | custody/attestation/v1
    <origin>             the ledger it is for (no spaces)
    <body>               one canonical (RFC 8785) JSON object

:mod:`custody.ledger.approval` and :mod:`custody.ledger.attestation` own their bodies, their rules and their
messages; this module holds the form once: the text from a body, the text's parts, the pinned keys that may
verify it, and the digest that names a statement whatever its signatures.  Pure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from typing import Any

from custody.ledger import canonical
from custody.ledger.errors import CanonicalJSONError, NoteFormatError, SchemaError
from custody.ledger.i18n import _
from custody.ledger.note import ALG_ED25519, Verifier

_BAD_ORIGIN = re.compile(r"[\s\x00-\x1f\x7f]")


def check_origin(origin: object) -> None:
    """SchemaError unless ``origin`` can be a statement's origin line: non-empty, no spaces or control characters."""
    if not isinstance(origin, str) or not origin or _BAD_ORIGIN.search(origin):
        raise SchemaError(_("the origin must be non-empty without spaces"), field="origin")


def statement_text(context: str, origin: str, body: dict[str, Any]) -> str:
    """The note text of a statement (each line ending in a newline); SchemaError for an unusable origin."""
    check_origin(origin)
    return f"{context}\n{origin}\n{canonical.dumps(body).decode('utf-8')}\n"


def statement_parts(text: str, context: str) -> tuple[str, str] | None:
    """(origin, body line) of a note text of ``context``; None for any other text."""
    parts = text.split("\n")
    if len(parts) != 4 or parts[0] != context or parts[3] != "":
        return None
    return parts[1], parts[2]


def canonical_body(line: str) -> Any:
    """The JSON value of a body line that is in canonical form (CanonicalJSONError otherwise)."""
    raw = canonical.loads(line)
    if canonical.dumps(raw) != line.encode("utf-8"):
        raise CanonicalJSONError("not in canonical (RFC 8785) form")
    return raw


def loose_kind(line: str, known: Collection[str]) -> str | None:
    """The ``kind`` a body line names, read before the body is checked (to word a refusal); None if unknown."""
    try:
        doc = canonical.loads(line)
    except CanonicalJSONError:
        return None
    kind = doc.get("kind") if isinstance(doc, dict) else None
    return kind if isinstance(kind, str) and kind in known else None


def pinned_verifiers(keys: Sequence[str | Verifier]) -> list[Verifier]:
    """The Ed25519 verifiers of the pinned keys; a malformed pinned key verifies nothing."""
    found = []
    for key in keys:
        if isinstance(key, Verifier):
            found.append(key)
            continue
        try:
            found.append(Verifier.from_vkey(key))
        except NoteFormatError:
            continue
    return [v for v in found if v.alg == ALG_ED25519]


def body_digest(line: str) -> str:
    """SHA-256 hex of the body line: the same statement signed twice has one digest."""
    return hashlib.sha256(line.encode("utf-8")).hexdigest()
