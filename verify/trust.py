"""What the verifier trusts: the municipality's pins for one ledger (docs/spec.md §11 (The trust store)).

At contract start the municipality pins the origin, the log vkey, the genesis
entry hash, its approver and witness vkeys, and then keeps every checkpoint
it cosigns.  The verifier takes these from the municipality's trust store,
never from the bundle alone.  ``from_bundle_unpinned`` exists for a vendor's
self-check before handing over (``--integrity-only``, docs/spec.md §11.3): a
bundle rebuilt from scratch with other keys passes it, so its result is
"unchecked" (未確認), never a pass -- the commands say so and exit 2 unless
asked for it, and every report carries a banner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from custody.ledger.bundle import Bundle
from custody.ledger.entry import parse_entry
from custody.ledger.errors import BundleFormatError, FormatError
from custody.ledger.i18n import _
from custody.ledger.note import Verifier

# What a result was verified against (``Result.trust``, the "trust" member of --json output).
PINNED = "pinned"  # the municipality's trust store: a pass means something
UNCHECKED = "unchecked"  # the bundle's own keys: integrity only, 未確認


def trust_of(pinned: bool) -> str:
    return PINNED if pinned else UNCHECKED


@dataclass(frozen=True)
class RecordedHead:
    """A size and root that the municipality's witness recorded cosigning (latest.json, cosigned.jsonl).

    ``timestamp``: when it cosigned (Unix seconds), where the record says.
    """

    size: int
    root_hash: bytes
    timestamp: int | None = None


@dataclass(frozen=True)
class TrustAnchor:
    """What verification trusts (docs/spec.md §11.3).

    ``held_checkpoints``: the checkpoint notes the witness kept.
    ``recorded_heads``: every size and root its own record says it cosigned,
    which holds even where checkpoint files were lost.  ``record_problems``:
    (severity, message) for each disagreement between the record's copies
    (``verify.witness_record``); the engine reports them as I5.
    """

    origin: str
    log_vkey: str
    genesis_leaf_hash: bytes | None
    approver_vkeys: tuple[str, ...] = ()
    witness_vkeys: tuple[str, ...] = ()
    held_checkpoints: tuple[bytes, ...] = field(default=(), repr=False)
    pinned: bool = True
    recorded_heads: tuple[RecordedHead, ...] = field(default=(), repr=False)
    record_problems: tuple[tuple[str, str], ...] = ()

    def log_verifier(self) -> Verifier:
        return Verifier.from_vkey(self.log_vkey)

    def witness_verifiers(self) -> list[Verifier]:
        return [Verifier.from_vkey(v) for v in self.witness_vkeys]


def from_bundle_unpinned(bundle: Bundle) -> TrustAnchor:
    """Trust taken from the bundle itself: integrity only, no protection against a rebuilt history."""
    try:
        first = next(iter(bundle.iter_lines()), None)
        genesis = parse_entry(first) if first else None
    except FormatError:
        genesis = None
    if genesis is None:
        raise BundleFormatError(_("the bundle has no readable genesis entry"))
    body = genesis.body
    return TrustAnchor(
        origin=bundle.origin,
        log_vkey=bundle.log_vkey(),
        genesis_leaf_hash=None,
        approver_vkeys=tuple(str(v) for v in body.get("approver_vkeys", []) if isinstance(v, str)),
        witness_vkeys=tuple(str(v) for v in body.get("witness_vkeys", []) if isinstance(v, str)),
        pinned=False,
    )
