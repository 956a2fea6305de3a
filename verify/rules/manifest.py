"""The bundle's manifest against the files it holds (docs/spec.md §10.4; docs/spec-rules.md §4: I7).

Every listed file must be there with the listed SHA-256 and size (an error: the bundle is not what was
exported); a file that is not listed is a warning (nothing in the bundle depends on the manifest to be
authenticated, but the auditor should know of it); the checkpoint list must name exactly the sizes of
the checkpoint files, and the declared number of entries the entries there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from custody.ledger.bundle import ENTRIES, Bundle
from custody.ledger.i18n import _
from custody.ledger.quoting import quote
from custody.verify.context import Context
from custody.verify.findings import ERROR, WARNING
from custody.verify.rules.checkpoints import CHECKPOINT_NAME


@dataclass(frozen=True)
class ManifestResult:
    """``differs``: how many listed files are missing or differ (errors); ``unlisted``: files the manifest
    does not list (warnings)."""

    differs: int
    unlisted: int


class ManifestRule:
    """I7: the manifest, checked once entries.jsonl has been read (and hashed) to its end."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def finish(self, bundle: Bundle, entries_sha256: str, entries_bytes: int, size: int) -> ManifestResult:
        """The manifest against the files, ``entries_sha256`` and ``entries_bytes`` (entries.jsonl as it was
        read) and the ``size`` entries it holds."""
        ctx = self.ctx
        differs = unlisted = 0
        manifest_files = bundle.manifest["files"]
        for name in sorted(manifest_files):
            listed = bundle.listed(name)
            assert listed is not None
            if name == ENTRIES:
                actual = (entries_sha256, entries_bytes)
            elif not bundle.has(name):
                differs += 1
                ctx.add("I7", ERROR, _(
                    "{name} is listed in the bundle manifest but missing from the bundle").format(name=quote(name)))
                continue
            else:
                actual = bundle.digest(name)
            if actual != (listed.sha256, listed.size):
                differs += 1
                ctx.add("I7", ERROR, _("{name} differs from the bundle manifest").format(name=quote(name)))
        if ENTRIES not in manifest_files:
            differs += 1
            ctx.add("I7", ERROR, _("{name} differs from the bundle manifest").format(name=ENTRIES))
        for name in bundle.unlisted_files():
            if name != ENTRIES:
                unlisted += 1
                ctx.add("I7", WARNING, _("{name} is in the bundle but not in its manifest").format(
                    name=quote(name)))
        held = sorted(int(m[1]) for m in map(CHECKPOINT_NAME.fullmatch, bundle.files()) if m is not None)
        if held != bundle.manifest["checkpoints"]:
            ctx.add("I7", ERROR, _(
                "the bundle manifest lists the checkpoints {listed}; the bundle holds {held}").format(
                    listed=_sizes_text(bundle.manifest["checkpoints"]), held=_sizes_text(held)))
        if bundle.declared_size != size:
            ctx.add("I7", ERROR, _("the manifest declares {d} entries, the bundle holds {n}").format(
                d=bundle.declared_size, n=size))
        return ManifestResult(differs, unlisted)


def _sizes_text(sizes: Sequence[int]) -> str:
    return quote(", ".join(map(str, sizes)) or "-")
