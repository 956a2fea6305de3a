"""The verifier against a dishonest vendor: one row per kind of tampering, each must be caught.

The vendor runs the ledger and holds its keys (docs/spec.md §2 (Overview)), so
every ledger here is written with the Ledger API, bypassing the operator
CLI and its rule checks; attacks on the evidence bundle edit the exported
files and keep the manifest consistent, as a careful forger would.  What the
vendor cannot reach is the municipality's: the approver key, the witness key
and the checkpoints the municipality cosigned and keeps.  Each bundle is
verified against that trust store (a hand-built ``TrustAnchor``, and for the
history rewrites also the real one, ``verify.authority``), and each row
names the finding codes that must come out as errors.

A row's ledger is otherwise clean (``test_the_honest_story_is_clean`` is
the control), so a row fails when its detection is removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from custody.ledger.approval import sign_approval
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosign
from custody.ledger.note import NoteSignature, Signer, format_note, parse_note, sign_note
from custody.verify.engine import Result
from custody.verify.findings import ERROR
from custody.verify.trust import TrustAnchor
from tests import world
from tests.cli.conftest import Custody
from tests.helpers import Parties
from tests.verify import builders as bd
from tests.verify.builders import (
    AUTHORITY_PASSPHRASE,
    Site,
    checkpoint_files,
    describe,
    errors,
    findings,
    fix_manifest,
    forged_witness,
    resign_history,
    rewrite_entries,
    seq_of,
    verify,
)
from tests.verify.witness_fixtures import request_body
from tests.world import approval_body

JST = bd.JST
INTEGRITY = {f"I{i}" for i in range(1, 10)}


# --- the honest story (the control) -------------------------------------------------------------------


def honest(site: Site) -> None:
    """A complete, compliant contract: receipt, checkout, an approved copy erased after use, an approved
    encrypted takeout returned, witnessed per-serial destruction, close; cosigned half-way and at the end."""
    site.staff()
    site.receive()
    site.checkout()
    site.attached("M-001", "SN-001")
    site.copy()
    site.written("C-001", "CSN-001")
    site.erase("C-001")
    site.checkin()
    departed = site.depart(["M-001"])
    site.takeout_returned(departed, ["M-001"])
    site.cosign()
    site.destroy()
    site.agent_stop()
    site.close()
    site.cosign()


def honest_bundle(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = Site(tmp / "vendor", authority=authority)
    honest(site)
    return site, site.export()


def opened(tmp: Path, authority: bool) -> Site:
    """The start of every compliance row: the contract, the vendor's operator and agent, M-001 received."""
    site = Site(tmp / "vendor", authority=authority)
    site.staff()
    site.receive()
    return site


def closed(site: Site) -> tuple[Site, Path]:
    """The end of every compliance row: agent stopped, contract closed, the head cosigned."""
    site.agent_stop()
    site.close()
    site.cosign()
    return site, site.export()


# --- attacks on the evidence bundle and the history (integrity) ---------------------------------------


def edit_an_entry(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site, bundle = honest_bundle(tmp, authority)
    n = seq_of(bundle, "takeout.departed")

    def change(lines: list[bytes]) -> list[bytes]:
        obj = json.loads(lines[n])
        obj["body"]["destination"] = "受託者本社（承認どおり）"
        return [*lines[:n], json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(), *lines[n + 1:]]

    rewrite_entries(bundle, change)
    return site, bundle


def delete_an_entry(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site, bundle = honest_bundle(tmp, authority)
    n = seq_of(bundle, "takeout.departed")
    rewrite_entries(bundle, lambda ls: ls[:n] + ls[n + 1:])
    return site, bundle


def reorder(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site, bundle = honest_bundle(tmp, authority)
    n = seq_of(bundle, "copy.made")
    rewrite_entries(bundle, lambda ls: [*ls[:n], ls[n + 1], ls[n], *ls[n + 2:]])
    return site, bundle


def duplicate(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site, bundle = honest_bundle(tmp, authority)
    n = seq_of(bundle, "media.checked_out")
    rewrite_entries(bundle, lambda ls: [*ls[:n + 1], ls[n], *ls[n + 1:]])
    return site, bundle


def truncate_the_tail(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site, bundle = honest_bundle(tmp, authority)
    n = seq_of(bundle, "disposal.approved")
    rewrite_entries(bundle, lambda ls: ls[:n])
    return site, bundle


def truncate_and_hide_checkpoints(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """Cut the history before the takeout and remove every checkpoint that covered more: the bundle is then
    consistent in itself, only the municipality's own checkpoints show the cut."""
    site, bundle = honest_bundle(tmp, authority)
    n = seq_of(bundle, "takeout.departed")
    for size, path in list(checkpoint_files(bundle)):
        if size > n:
            path.unlink()
    rewrite_entries(bundle, lambda ls: ls[:n])
    return site, bundle


def resign_without_the_takeout(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """Delete the takeout and re-sign everything after it with the vendor's own keys (same log key)."""
    site, bundle = honest_bundle(tmp, authority)
    resign_history(bundle, site, lambda objs: [o for o in objs if not o["type"].startswith("takeout.")])
    return site, bundle


def forged_history(tmp: Path) -> Site:
    """The whole story again from a new genesis, under the vendor's own keys (see rebuild_with_new_keys)."""
    fakes = Parties(responsible=Signer("resp-sato", world.key("vendor: new responsible")),
                    approver=Signer("city-approver", world.key("vendor: fake approver")), witness=forged_witness())
    forged = Site(tmp / "forged", parties=fakes, log_key=world.key("vendor: new log key"))
    forged.staff()
    forged.receive()
    forged.destroy()
    forged.agent_stop()
    forged.close()
    forged.cosign()
    return forged


def rebuild_with_new_keys(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """Rebuild the whole history from a new genesis: new log key, new responsible key, the vendor's own
    'approver' and 'witness' keys in the contract, every checkpoint 'cosigned' by that witness."""
    genuine, _bundle = honest_bundle(tmp, authority)
    return genuine, forged_history(tmp).export()


def fork_after_a_cosigned_checkpoint(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """The municipality cosigned a history with an unencrypted takeout; the vendor forks from the checkpoint
    before it (same log key, same genesis), writes a clean history and hands that over."""
    genuine = Site(tmp / "vendor", authority=authority)
    genuine.staff()
    genuine.receive()
    genuine.checkout()
    common = genuine.cosign()
    fork = genuine.fork(tmp / "fork", start=datetime(2026, 4, 1, 12, 0, tzinfo=JST))
    departed = genuine.depart(["M-001"], encryption={"method": "none"})
    genuine.takeout_returned(departed, ["M-001"])
    genuine.cosign()
    fork.checkin()
    fork.destroy()
    fork.agent_stop()
    fork.close()
    size, _note = fork.checkpoint()
    if genuine.authority is not None:  # the witness refuses to cosign the fork, and keeps it as evidence
        witness = genuine.authority.witness_signer(AUTHORITY_PASSPHRASE)
        old = Checkpoint.parse(parse_note(common).text).size
        refused = genuine.authority.add_checkpoint(request_body(fork.ledger, size, old), witness, 1_790_000_000)
        assert refused.status == 409, refused.reason
    return genuine, fork.export()


def forge_a_log_signature(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site, bundle = honest_bundle(tmp, authority)
    _size, path = list(checkpoint_files(bundle))[-1]
    other = Signer(site.ledger.origin, world.key("vendor: another log key"))
    path.write_bytes(sign_note(parse_note(path.read_bytes()).text, [other]))
    fix_manifest(bundle)
    return site, bundle


def checkpoint_root_lies(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """A checkpoint the log key really signed, at a size nobody cosigned, over a root of other entries."""
    site, bundle = honest_bundle(tmp, authority)
    size = seq_of(bundle, "media.disposed")
    lie = sign_note(Checkpoint(site.ledger.origin, size, bytes(32)).to_text(), [site.log])
    (bundle / "checkpoints" / f"{size:012d}.checkpoint").write_bytes(lie)
    fix_manifest(bundle)
    return site, bundle


def forge_a_cosignature(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """A checkpoint 'cosigned' under the municipality's witness key ID with a signature the vendor made."""
    site = Site(tmp / "vendor", authority=authority)
    honest(site)
    site.do("note.recorded", {"text": "after the last cosignature"})
    _size, note = site.checkpoint()
    parsed = parse_note(note)
    fake = cosign(parsed.text, 1_790_000_000, forged_witness())
    bad = NoteSignature(bd.WITNESS_NAME, bd.WITNESS.key_id, fake.signature)
    bundle = site.export()
    path = list(checkpoint_files(bundle))[-1][1]
    path.write_bytes(format_note(type(parsed)(parsed.text, (*parsed.signatures, bad))))
    fix_manifest(bundle)
    return site, bundle


def alter_an_attachment(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site, bundle = honest_bundle(tmp, authority)
    for path in (bundle / "attachments").iterdir():
        if path.read_bytes().startswith(b"destruction certificate"):
            path.write_bytes(b"destruction certificate (doctored)")
    fix_manifest(bundle)
    return site, bundle


def remove_an_attachment(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site, bundle = honest_bundle(tmp, authority)
    for path in (bundle / "attachments").iterdir():
        if path.read_bytes().startswith(b"photo of"):
            path.unlink()
    fix_manifest(bundle)
    return site, bundle


def backdate_an_entry(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """A takeout return written with an earlier time than the entry before it (within its deadline)."""
    site = opened(tmp, authority)
    departed = site.depart(["M-001"])
    site.do("note.recorded", {"text": "作業中"})
    site.backdated("takeout.returned", {"takeout_seq": departed.seq, "media_ids": ["M-001"],
                                        "check": world.return_check()}, at=departed.at, actor="op-tanaka")
    site.destroy()
    return closed(site)


def unwitnessed_tail_after_close(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.destroy()
    site.cosign()
    site.agent_stop()
    site.close()
    site.checkpoint()  # signed by the log, never shown to the municipality
    return site, site.export()


def malformed_body(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    body = world.departed_body(world.approve("takeout", "T-1", ["M-001"]), ["M-001"])
    del body["encryption"]  # the schema requires it: the vendor hopes the verifier skips what it cannot read
    site.ledger.append("takeout.departed", body, site.signer("op-tanaka"))
    site.give_back()
    return closed(site)


# --- what the vendor records (or does not) (compliance) ------------------------------------------------


def _takeout_with(note: str, tmp: Path, authority: bool, **over: Any) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    departed = site.depart(["M-001"], note=note, **over)
    site.takeout_returned(departed, ["M-001"])
    site.give_back()
    return closed(site)


def forge_an_approval(tmp: Path, authority: bool) -> tuple[Site, Path]:
    vendor_key = Signer("city-approver", world.key("vendor: its own 'approver' key"))
    note = sign_approval(bd.ORIGIN, approval_body("takeout", "T-1", ["M-001"]), vendor_key).decode()
    return _takeout_with(note, tmp, authority)


def alter_a_genuine_approval(tmp: Path, authority: bool) -> tuple[Site, Path]:
    note = world.approve("takeout", "T-1", ["M-002"]).replace('"media":["M-002"]', '"media":["M-001"]')
    assert '"media":["M-001"]' in note
    return _takeout_with(note, tmp, authority)


def approval_for_other_media(tmp: Path, authority: bool) -> tuple[Site, Path]:
    return _takeout_with(world.approve("takeout", "T-1", ["M-002"]), tmp, authority)


def approval_of_another_kind(tmp: Path, authority: bool) -> tuple[Site, Path]:
    return _takeout_with(world.approve("copy", "K-1", ["M-001"]), tmp, authority)


def approval_outside_its_window(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.clock.jump(datetime(2026, 7, 15, 9, 0, tzinfo=JST))  # valid 04-01 .. 06-30
    departed = site.depart(["M-001"], planned_return="2026-07-16T17:00:00+09:00")
    site.takeout_returned(departed, ["M-001"])
    site.give_back()
    return closed(site)


def reuse_beyond_max_uses(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    note = world.approve("takeout", "T-1", ["M-001"])  # max_uses 1
    for _ in range(2):
        departed = site.depart(["M-001"], note=note)
        site.takeout_returned(departed, ["M-001"])
    site.give_back()
    return closed(site)


def takeout_without_encryption(tmp: Path, authority: bool) -> tuple[Site, Path]:
    return _takeout_with(world.approve("takeout", "T-1", ["M-001"]), tmp, authority, encryption={"method": "none"})


def takeout_never_returned(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.depart(["M-001"])
    return closed(site)


def copy_without_approval(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.checkout()
    site.copy(note=world.approve("copy", "K-1", ["M-002"]))  # approved for another source
    site.erase("C-001")
    site.checkin()
    site.give_back()
    return closed(site)


def unapproved_subcontractor(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.person("sub-kimura", tier="subcontractor", organisation="株式会社下請", subcontract_id="SC-404")
    site.checkout(person="sub-kimura")
    site.checkin(person="sub-kimura")
    site.give_back()
    return closed(site)


def third_tier_under_second_tier_approval(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.do("subcontract.approved", {"approval": world.approve("subcontract", "SC-1", [])})
    site.person("sub-ito", tier="subcontractor", organisation="株式会社下請", subcontract_id="SC-1")
    site.person("subsub-kato", tier="sub-subcontractor", organisation="株式会社孫請", subcontract_id="SC-1")
    site.checkout(person="subsub-kato")
    site.checkin(person="subsub-kato")
    site.give_back()
    return closed(site)


def dispose_without_witness(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    body = approval_body("dispose", "D-1", ["M-001"])
    body["application"]["witness_required"] = False  # the approval did not insist; the My Number rule does
    site.do("disposal.approved", {"approval": sign_approval(bd.ORIGIN, body, bd.APPROVER).decode()})
    record = site.disposed_body()
    del record["witness"]
    site.do("media.disposed", record)
    return closed(site)


def dispose_by_another_method(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.approve_disposal(["M-001"])  # destroy / shred
    site.dispose(method={"category": "purge", "technique": "degauss", "tool": {"name": "degausser MD-1"}})
    return closed(site)


def dispose_without_approval(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.dispose()
    return closed(site)


def disposal_evidence_overdue(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.approve_disposal(["M-001"], evidence_due="2026-04-10T17:00:00+09:00")
    site.clock.jump(datetime(2026, 5, 20, 9, 0, tzinfo=JST))
    site.dispose()
    return closed(site)


def copy_left_untracked(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.checkout()
    site.copy()  # approved, to be erased by 06-30: never erased
    site.checkin()
    site.give_back()
    return closed(site)


def medium_without_final_disposition(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.checkout()
    site.checkin()
    return closed(site)


def files_written_without_approval(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.register("V-001", "VSN-001")
    site.checkout("V-001")
    site.attached("V-001", "VSN-001")
    site.written("V-001", "VSN-001")
    site.checkin("V-001")
    site.erase("V-001")
    site.give_back()
    return closed(site)


def unregistered_medium_attached(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.attached(None, "UNKNOWN-77", label="KINGSTON", uuid="uuid-UNKNOWN-77")
    site.give_back()
    return closed(site)


def disposed_serial_seen_again(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.destroy()
    site.attached(None, "SN-001", uuid=None, label="HDD")  # the shredded disk, mounted again
    return closed(site)


def counts_do_not_reconcile(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.receive("M-002", "SN-002", receipt=world.receipt("R-2026-002", quantity=2))  # two handed over, one recorded
    site.destroy()
    site.destroy("M-002", "SN-002", "D-2")
    return closed(site)


def medium_lost(tmp: Path, authority: bool) -> tuple[Site, Path]:
    site = opened(tmp, authority)
    site.checkout()
    site.incident("lost", ["M-001"], "帰宅途中に鞄ごと紛失")
    return closed(site)


# --- the table -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    build: Callable[[Path, bool], tuple[Site, Path]]
    codes: tuple[str, ...]  # all must be errors; the first is the rule the attack is aimed at
    media: str | None = None  # a finding of the first code names this medium
    message: str = ""  # ... and (in English) says this
    at: str = ""  # ... and one is reported at the (first) entry of this type
    rewrite: bool = False  # a history rewrite: also checked against the real trust store (verify.authority)


def row(name: str, build: Callable[[Path, bool], tuple[Site, Path]], *codes: str, **kw: Any) -> Row:
    return Row(name, build, codes, **kw)


ROWS: list[Row] = [
    # integrity
    row("edit an entry", edit_an_entry, "I2", "I5", at="takeout.departed"),
    row("delete an entry", delete_an_entry, "I1", "I5"),
    row("reorder entries", reorder, "I1", "I5"),
    row("duplicate an entry", duplicate, "I1", "I5"),
    row("truncate the tail", truncate_the_tail, "I5", message="truncated"),
    row("truncate and hide the checkpoints", truncate_and_hide_checkpoints, "I5", message="truncated", rewrite=True),
    row("re-sign an edited history with the vendor's keys", resign_without_the_takeout, "I5", message="rewritten",
        rewrite=True),
    row("rebuild the whole history with new keys", rebuild_with_new_keys, "I3", "I5", rewrite=True),
    row("fork after a cosigned checkpoint", fork_after_a_cosigned_checkpoint, "I5", message="rewritten",
        rewrite=True),
    row("forge a log signature", forge_a_log_signature, "I3"),
    row("a checkpoint whose root differs from the entries", checkpoint_root_lies, "I4"),
    row("forge a cosignature", forge_a_cosignature, "I3", message="forged cosignature"),
    row("alter an attachment", alter_an_attachment, "I8"),
    row("remove an attachment", remove_an_attachment, "I8"),
    row("backdate an entry", backdate_an_entry, "I9", at="takeout.returned"),
    row("entries after the last cosigned checkpoint, closed", unwitnessed_tail_after_close, "I6"),
    row("a body that breaks its schema", malformed_body, "I7", at="takeout.departed"),
    # approvals (C2 C3 C4 C5)
    row("forge an approval with a vendor key", forge_an_approval, "C2", at="takeout.departed"),
    row("alter a genuine approval", alter_a_genuine_approval, "C2", at="takeout.departed"),
    row("approval for other media", approval_for_other_media, "C2", media="M-001", at="takeout.departed"),
    row("approval of another kind", approval_of_another_kind, "C2", at="takeout.departed"),
    row("approval outside its window", approval_outside_its_window, "C2", at="takeout.departed"),
    row("reuse an approval beyond max uses", reuse_beyond_max_uses, "C2"),
    row("takeout without encryption", takeout_without_encryption, "C3", at="takeout.departed"),
    row("takeout never returned", takeout_never_returned, "C4", media="M-001"),
    row("copy without a valid approval", copy_without_approval, "C5", media="M-001", at="copy.made"),
    # people (C9)
    row("act through an unapproved subcontractor", unapproved_subcontractor, "C9", at="media.checked_out"),
    row("third tier acting under the second tier's approval", third_tier_under_second_tier_approval, "C9",
        at="media.checked_out"),
    # disposal (C7 C8)
    row("dispose without witness (My Number)", dispose_without_witness, "C7", media="M-001", at="media.disposed"),
    row("dispose by another method than approved", dispose_by_another_method, "C7", media="M-001",
        at="media.disposed"),
    row("dispose without approval", dispose_without_approval, "C7", media="M-001", at="media.disposed"),
    row("disposal evidence overdue", disposal_evidence_overdue, "C8", media="M-001", at="media.disposed"),
    # at close (C1 C6 C15)
    row("copy left untracked at close", copy_left_untracked, "C6", "C15", media="C-001"),
    row("medium without final disposition at close", medium_without_final_disposition, "C1", "C15",
        media="M-001"),
    row("counts that do not reconcile", counts_do_not_reconcile, "C15", message="R-2026-002"),
    # the agent's observations (C10 C11 C12) and incidents (C14)
    row("files written to removable media with no approval", files_written_without_approval, "C11",
        media="V-001", at="files.written"),
    row("an unregistered medium attached", unregistered_medium_attached, "C10", message="KINGSTON",
        at="volume.attached"),
    row("a disposed serial seen again", disposed_serial_seen_again, "C12", media="M-001", at="volume.attached"),
    row("a medium lost", medium_lost, "C14", media="M-001", at="incident.reported"),
]

# --- attacks the first verifier missed (found by this suite, then fixed; kept as regressions) ---------


def subcontractor_under_another_companys_approval(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """An employee of a company nobody approved, registered under the approval the municipality gave to
    another company (株式会社下請, SC-1), works on the data."""
    site = opened(tmp, authority)
    site.do("subcontract.approved", {"approval": world.approve("subcontract", "SC-1", [])})
    site.person("x-mura", tier="subcontractor", organisation="株式会社無承認", subcontract_id="SC-1")
    site.checkout(person="x-mura")
    site.checkin(person="x-mura")
    site.give_back()
    return closed(site)


def other_company_registered_as_vendor_staff(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """A regular employee of another company registered at the vendor tier (truthful organisation, false tier)
    works on the data: only a warning, the verification passes."""
    site = opened(tmp, authority)
    body = world.person_body("x-sato", organisation="株式会社孫請")
    body["employment"] = "regular"
    site.do("personnel.registered", body)
    site.checkout(person="x-sato")
    site.checkin(person="x-sato")
    site.give_back()
    return closed(site)


def takeout_to_another_destination(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """Approved to the city hall's IT division; recorded as taken to the operator's home."""
    return _takeout_with(world.approve("takeout", "T-1", ["M-001"]), tmp, authority, destination="作業員の自宅")


def destruction_witnessed_by_the_vendor_itself(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """My Number media destroyed with the vendor's own responsible person as the 'witness'."""
    site = opened(tmp, authority)
    site.approve_disposal(["M-001"])
    site.dispose(witness={"name": "佐藤 一郎", "organisation": "株式会社サンプル", "title": "作業責任者"})
    return closed(site)


def takeout_overdue_when_the_municipality_cosigned(tmp: Path, authority: bool) -> tuple[Site, Path]:
    """Taken out on 04-01, due back 04-10; the vendor records nothing more, the municipality cosigns on 05-20."""
    site = opened(tmp, authority)
    site.depart(["M-001"])
    site.cosign(at=datetime(2026, 5, 20, 10, 0, tzinfo=JST))
    return site, site.export()


GAPS: list[tuple[Row, str]] = [
    (row("subcontractor under another company's approval", subcontractor_under_another_companys_approval, "C9"),
     ("GAP: lifecycle._valid_subcontract checks the approval id, tier and window but not that the person's "
     "organisation is the approved subcontractor (Subcontract.name); any company's staff can act under the "
     "approval given to another company.")),
    (row("another company's employee registered as vendor staff", other_company_registered_as_vendor_staff, "C9"),
     ("GAP: lifecycle._h_registered reports a vendor-tier person whose organisation is not the vendor only as a "
     "WARNING (OTHER_ORGANISATION), so ok stays True and every act passes C9: the simplest way around the "
     "subcontract approval. An error unless covered by a subcontract approval for that organisation (or, if "
     "wanted, employment 'dispatched').")),
    (row("takeout to another destination than approved", takeout_to_another_destination, "C2", media="M-001"),
     ("GAP: ledger.approval.coverage_problems compares transport and carriers with the approval but never the "
     "destination; takeout.departed.destination may name any place.")),
    (row("destruction 'witnessed' by the vendor itself", destruction_witnessed_by_the_vendor_itself, "C7",
         media="M-001"),
     ("GAP: lifecycle._check_evidence only checks that witness.name is present; for My Number data (docs/fields.md: "
     "witnessed by the municipality's staff or the reason there was none) the witness's organisation is never "
     "compared with the municipality (genesis municipality.name), so the vendor can witness itself.")),
    (row("takeout overdue when the municipality cosigned", takeout_overdue_when_the_municipality_cosigned, "C4",
         media="M-001"),
     ("GAP: end-of-ledger rules (C4, C8, C6 due dates; C1/C15 after the period) are judged as of the last "
     "entry's 'at', which the vendor controls: verify/rules/lifecycle.py calls lifecycle.finish(state) without "
     "now_or_close. A vendor that stops recording escapes C4 even though the municipality's witness cosigned "
     "the ledger weeks after the deadline (a trusted time). Judge at max(last entry, latest municipality "
     "cosignature timestamp[, the verification time]).")),
]

CASES = [pytest.param(r, False, id=r.name) for r in ROWS] + [
    pytest.param(r, True, id=f"{r.name} [authority]") for r in ROWS if r.rewrite
]


def check(result: Result, r: Row, bundle: Path) -> None:
    report = f"{r.name}:\n{describe(result)}"
    assert not result.ok, report
    assert set(r.codes) <= errors(result), report
    if r.media is not None:
        assert r.media in {f.media for f in findings(result, r.codes[0])}, report
    if r.message:
        assert any(r.message in f.message for f in result.findings if f.code in r.codes), report
    if r.at:
        assert seq_of(bundle, r.at) in {f.seq for f in findings(result, r.codes[0])}, report
    if not set(r.codes) & INTEGRITY:
        # Compliance rows: the ledger itself is intact, the finding comes from the rule.
        assert not errors(result) & INTEGRITY, report


def test_the_table_covers_every_kind_asked_for() -> None:
    assert len(ROWS) >= 18
    assert len({r.name for r in ROWS}) == len(ROWS)
    covered = {code for r in ROWS for code in r.codes}
    assert {f"I{i}" for i in range(1, 10)} <= covered
    assert {f"C{i}" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15)} <= covered


@pytest.mark.parametrize("r", [pytest.param(r, id=r.name) for r, _why in GAPS])
def test_formerly_undetected_attacks(tmp_path: Path, r: Row) -> None:
    """Attacks the first version of the verifier missed (each reason says how); all caught now."""
    site, bundle = r.build(tmp_path, False)
    check(verify(bundle, site.trust()), r, bundle)


@pytest.mark.parametrize("authority", [False, True], ids=["direct", "authority"])
def test_the_honest_story_is_clean(tmp_path: Path, authority: bool) -> None:
    site, bundle = honest_bundle(tmp_path, authority)
    result = verify(bundle, site.trust())
    # The story's contract pins no attester key (made before attestations): the municipality's missing signed
    # acts and inspections are warnings there (C24, C20), nothing else is found
    # (tests/verify/test_attestation_attacks.py: a contract that pins them).
    assert result.ok and {(f.code, f.severity) for f in result.findings} <= {("C24", "warning"), ("C20", "warning")}, \
        describe(result)
    assert result.witnessed_size == result.size == site.size


@pytest.mark.parametrize(("r", "authority"), CASES)
def test_tampering_is_caught(tmp_path: Path, r: Row, authority: bool) -> None:
    site, bundle = r.build(tmp_path, authority)
    trust = site.trust()
    assert trust.pinned and trust.held_checkpoints
    check(verify(bundle, trust), r, bundle)


def test_reuse_is_reported_at_the_second_use(tmp_path: Path) -> None:
    site, bundle = reuse_beyond_max_uses(tmp_path, False)
    second = seq_of(bundle, "takeout.departed", 1)
    assert [f.seq for f in findings(verify(bundle, site.trust()), "C2")] == [second]


def test_the_subcontractor_is_reported_at_each_act(tmp_path: Path) -> None:
    site, bundle = unapproved_subcontractor(tmp_path, False)
    acts = {seq_of(bundle, "media.checked_out"), seq_of(bundle, "media.checked_in")}
    assert acts <= {f.seq for f in findings(verify(bundle, site.trust()), "C9")}


def test_the_held_checkpoints_are_what_catch_a_hidden_truncation(tmp_path: Path) -> None:
    """Control for 'truncate and hide': without the municipality's own checkpoints the cut bundle is
    consistent in itself (only warned about: nothing cosigned is shown), which is why it keeps them."""
    site, bundle = truncate_and_hide_checkpoints(tmp_path, False)
    blind = TrustAnchor(**{**site.trust().__dict__, "held_checkpoints": ()})
    result = verify(bundle, blind)
    assert "I5" not in errors(result), describe(result)
    assert "I5" in errors(verify(bundle, site.trust()))


# --- through the commands the municipality runs --------------------------------------------------------


def _cli_round(custody: Custody, site: Site, tmp: Path) -> None:
    """Checkpoint, then the offline witness exchange with the real commands."""
    site.checkpoint()
    req, resp = tmp / "req", tmp / "resp"
    ledger = str(site.root / "ledger")
    run = custody("witness-request", "-l", ledger, "-o", str(req))
    assert run.code == 0, run.stderr
    run = custody("witness", "cosign", str(req), "--authority", str(site.root / "authority"), "-o", str(resp))
    assert run.code == 0, run.stderr
    run = custody("witness", "import", str(resp), "-l", ledger)
    assert run.code == 0, run.stderr


def _cli_verify(custody: Custody, bundle: Path, authority: Path) -> dict[str, Any]:
    run = custody("verify", str(bundle), "--authority", str(authority), "--json")
    doc: dict[str, Any] = json.loads(run.stdout)
    assert run.code == 3, (run.code, run.stdout, run.stderr)
    assert doc["ok"] is False
    return doc


def _cli_history(tmp: Path, custody: Custody) -> tuple[Site, Site]:
    """A story with one violation (an unencrypted takeout, C3), pinned with 'custody authority trust' and
    cosigned three times with 'custody witness cosign'; and a copy of the ledger (same keys) taken after the
    first cosignature, before the takeout."""
    site = Site(tmp / "vendor")
    site.use_authority(pin=False)
    run = custody("authority", "trust", "-a", str(site.root / "authority"), "-l", str(site.root / "ledger"),
                  "--yes", "--json")
    assert run.code == 0, run.stderr
    site.staff()
    site.receive()
    site.checkout()
    _cli_round(custody, site, tmp)
    fork = site.fork(tmp / "fork", start=datetime(2026, 4, 1, 12, 0, tzinfo=JST))
    departed = site.depart(["M-001"], encryption={"method": "none"})
    site.takeout_returned(departed, ["M-001"])
    _cli_round(custody, site, tmp)
    site.destroy()
    site.agent_stop()
    site.close()
    _cli_round(custody, site, tmp)
    return site, fork


def _cli_export(custody: Custody, ledger: Path, bundle: Path) -> Path:
    run = custody("export", str(bundle), "--ledger", str(ledger))
    assert run.code == 0, run.stderr
    return bundle


def _cli_truncate(site: Site, fork: Site, custody: Custody, tmp: Path) -> Path:
    bundle = _cli_export(custody, site.root / "ledger", tmp / "B")
    n = seq_of(bundle, "takeout.departed")
    for size, path in list(checkpoint_files(bundle)):
        if size > n:
            path.unlink()
    rewrite_entries(bundle, lambda ls: ls[:n])
    return bundle


def _cli_resign(site: Site, fork: Site, custody: Custody, tmp: Path) -> Path:
    bundle = _cli_export(custody, site.root / "ledger", tmp / "B")
    resign_history(bundle, site, lambda objs: [o for o in objs if not o["type"].startswith("takeout.")])
    return bundle


def _cli_rebuild(site: Site, fork: Site, custody: Custody, tmp: Path) -> Path:
    forged = forged_history(tmp)
    forged.close_ledger()
    return _cli_export(custody, forged.root / "ledger", tmp / "B")


def _cli_fork(site: Site, fork: Site, custody: Custody, tmp: Path) -> Path:
    """The copy taken before the takeout continues without it, under the same log key."""
    fork.checkin()
    fork.destroy()
    fork.agent_stop()
    fork.close()
    fork.checkpoint()
    fork.close_ledger()
    # The witness will not cosign it: it already cosigned another history at a larger size.
    run = custody("witness-request", "-l", str(fork.root / "ledger"), "-o", str(tmp / "fork.req"))
    assert run.code == 0, run.stderr
    run = custody("witness", "cosign", str(tmp / "fork.req"), "-a", str(site.root / "authority"),
                  "-o", str(tmp / "fork.resp"))
    assert run.code == 3, run.stdout
    return _cli_export(custody, fork.root / "ledger", tmp / "B")


CLI_REWRITES = {
    "truncate and hide the checkpoints": _cli_truncate,
    "re-sign an edited history with the vendor's keys": _cli_resign,
    "rebuild the whole history with new keys": _cli_rebuild,
    "fork after a cosigned checkpoint": _cli_fork,
}


@pytest.mark.parametrize("attack", sorted(CLI_REWRITES))
def test_history_rewrites_fail_custody_verify_with_the_authority(tmp_path: Path, attack: str) -> None:
    custody = Custody(tmp_path)
    site, fork = _cli_history(tmp_path, custody)
    authority = site.root / "authority"
    # What the municipality cosigned shows the unencrypted takeout; the vendor's rewrite hides it ...
    genuine = _cli_verify(custody, _cli_export(custody, site.root / "ledger", tmp_path / "genuine"), authority)
    assert {f["code"] for f in genuine["findings"] if f["severity"] == ERROR} == {"C3"}, genuine
    bundle = CLI_REWRITES[attack](site, fork, custody, tmp_path)
    doc = _cli_verify(custody, bundle, authority)
    assert not any(f["code"] == "C3" for f in doc["findings"]), doc
    # ... and is caught against the checkpoints the municipality holds.
    assert any(f["code"] == "I5" and f["severity"] == ERROR for f in doc["findings"]), doc
    site.close_ledger()
    fork.close_ledger()


CLI_ROWS = ["forge an approval with a vendor key", "dispose without witness (My Number)",
            "a disposed serial seen again", "files written to removable media with no approval",
            "act through an unapproved subcontractor"]


@pytest.mark.parametrize("name", CLI_ROWS)
def test_custody_verify_exits_3(tmp_path: Path, name: str) -> None:
    r = next(r for r in ROWS if r.name == name)
    site, bundle = r.build(tmp_path, True)
    assert site.authority is not None
    doc = _cli_verify(Custody(tmp_path), bundle, site.authority.path)
    found = [f for f in doc["findings"] if f["code"] in r.codes and f["severity"] == ERROR]
    assert found, doc
    if r.media is not None:
        assert r.media in {f["media"] for f in found}
    assert all(f["message"] for f in doc["findings"])
