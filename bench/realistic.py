"""A realistic ledger for the verification benchmark: the mix a work location writes, pinned and witnessed.

Per 100 entries (issue 19): 88 ``agent.heartbeat``, 6 ``files.written`` of 10 files each, a
``volume.attached`` and a ``volume.detached``, a ``media.checked_out`` and a ``media.checked_in``, and 2
``note.recorded`` -- in the order a working day has them: the operator checks a working copy out, the agent
sees it attached and the files written to it, it is detached and checked in, the operator notes what was
done, and the agent's heartbeats (every 10 s) fill the rest.  First, for every 1,000 entries, a medium is
received from the municipality and copied once under a copy approval (``copy.made``): the working copies
are what the cycles write to, each write covered by the approval that made the copy (C11).

The genesis entry, the people, the media and the agent's start go through ``tests.verify.builders.Site``
(each body checked against its schema); the cycles are appended in batches with ``Store.append_many``, each
entry signed by its actor's key.  The municipality's trust store pins the ledger, and its witness cosigns
the final checkpoint, so that ``custody verify BUNDLE --authority DIR`` checks what a municipality checks:
every rule, against the pinned keys, up to a witnessed size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from custody.ledger.entry import Entry, sign_entry
from custody.ledger.store import Head
from custody.ledger.workflow import CacheKeeper
from tests.verify.builders import Site
from tests.world import approve

CYCLE = 100
HEARTBEATS = 88
WRITES = 6
FILES_PER_WRITE = 10
MEDIA_EVERY = 1000  # one medium received (and copied) per this many entries
STEP = timedelta(seconds=10)  # between entries of a cycle
UNTIL = "2027-03-31T23:59:59+09:00"  # the contract's end (tests/helpers.py): the copy approvals' window


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _volume(media_id: str, serial: str, at: str) -> dict[str, Any]:
    return {"volume_id": f"uuid:{serial}", "uuid": f"uuid-{serial}", "label": "USB", "serial": serial,
            "filesystem": "vfat", "mount_point": "/media/usb", "read_only": False, "media_id": media_id,
            "media_state": "checked_out", "matched_by": "serial", "write_covered": False, "approval": None,
            "observed_at": at}


def cycle_bodies(n: int, media_id: str, serial: str, at: Callable[[int], str]) -> list[tuple[str, str, dict[str, Any]]]:
    """The 100 (type, actor, body) of cycle ``n``; ``at(i)`` is the time of its i-th entry."""
    out: list[tuple[str, str, dict[str, Any]]] = [
        ("media.checked_out", "op-tanaka", {"media_id": media_id, "person": "op-tanaka", "purpose": "データ移行作業"}),
        ("volume.attached", "agent-ws01", _volume(media_id, serial, at(1))),
    ]
    for batch in range(WRITES):
        files = [{"path": f"/media/usb/batch-{n}-{batch}/part-{i:02d}.csv", "size": 4096 * (i + 1),
                  "sha256": hashlib.sha256(f"{n}/{batch}/{i}".encode()).hexdigest()} for i in range(FILES_PER_WRITE)]
        out.append(("files.written", "agent-ws01",
                    {**_volume(media_id, serial, at(2 + batch)), "batch": batch + 1, "count": FILES_PER_WRITE,
                     "files": files}))
    out += [
        ("volume.detached", "agent-ws01",
         {**_volume(media_id, serial, at(8)), "attached_at": at(1), "files_recorded": WRITES * FILES_PER_WRITE,
          "batches": WRITES}),
        ("media.checked_in", "op-tanaka", {"media_id": media_id, "person": "op-tanaka", "seals_intact": True}),
        ("note.recorded", "op-tanaka", {"text": f"第{n}回の移行作業を終えた。媒体 {media_id} を保管庫へ戻した。"}),
        ("note.recorded", "op-tanaka", {"text": "作業端末のログを確認した。異常なし。", "media_id": media_id}),
    ]
    out += [("agent.heartbeat", "agent-ws01",
             {"observed_at": at(12 + i), "sequence": n * HEARTBEATS + i, "interval_ms": 10000,
              "uptime_seconds": (n * CYCLE + 12 + i) * 10, "volumes": []}) for i in range(HEARTBEATS)]
    assert len(out) == CYCLE
    return out


def build(root: Path, entries: int, *, batch: int = 2000) -> Site:
    """A realistic ledger of about ``entries`` entries in ``root`` (Site), pinned in its trust store."""
    site = Site(root, authority=True)
    site.staff()
    media = max(1, entries // MEDIA_EVERY)
    for m in range(media):
        source = f"M-{m:05d}"
        site.receive(source, f"SN-{m:05d}")
        note = approve("copy", f"K-{m:05d}", [source], target_media=[f"C-{m:05d}"], valid_until=UNTIL,
                       disposal={"method": "erase", "by": UNTIL})
        site.copy(source, f"C-{m:05d}", f"CSN-{m:05d}", note=note)
        site.checkin(f"C-{m:05d}")  # the new copy goes into the locked cabinet
    ledger = site.ledger
    origin = ledger.origin
    keep = CacheKeeper(ledger)  # as the agent keeps the commands' state cache
    start = site.clock.peek() + timedelta(minutes=1)  # after the setup, which the site's clock stamps a minute apart
    cycles = max(0, (entries - ledger.store.size) // CYCLE)
    pending: list[Callable[[Head], Entry]] = []

    def maker(type_: str, actor: str, body: dict[str, Any], at: str) -> Callable[[Head], Entry]:
        signer = site.signer(actor)

        def make(head: Head) -> Entry:
            return sign_entry(origin=origin, seq=head.size, prev=head.last_leaf_hash, type=type_, at=at, body=body,
                              signer=signer)
        return make

    for n in range(cycles):
        m = n % media
        base = start + n * CYCLE * STEP

        def at(i: int, base: datetime = base) -> str:
            return _iso(base + i * STEP)

        for i, (type_, actor, body) in enumerate(cycle_bodies(n, f"C-{m:05d}", f"CSN-{m:05d}", at)):
            pending.append(maker(type_, actor, body, at(i)))
        if len(pending) >= batch or n == cycles - 1:
            ledger.store.append_many(pending, after=keep)
            pending = []
    site.clock.jump(start + (cycles * CYCLE + 1) * STEP)
    site.cosign()
    return site
