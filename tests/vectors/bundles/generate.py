"""Golden evidence bundles: conformance vectors for independent verifiers (docs/spec-rules.md, "Conformance
vectors for independent verifiers").

Each case is a directory ``<case>/`` beside this file:

* ``bundle/`` -- an evidence bundle exactly as ``custody export`` writes it (docs/spec.md §10), tampered with
  afterwards where the case is an attack on the bundle;
* ``trust.json`` -- what the municipality holds for that ledger (format ``custody-conformance-trust/v1``:
  origin, log vkey, genesis leaf hash, approver and witness vkeys, the cosigned checkpoints it kept);
* ``expected.json`` -- what a verifier must conclude: the verdict and every finding's code, severity, seq and
  medium (format ``custody-conformance-expected/v1``; no message text, so no interface language).

The ledgers are written by the verifier's adversarial builders (``tests/verify/builders.py``: the vendor
appends with the Ledger API, bypassing the CLI's rule checks).  The integrity cases and C1-C15 are the tamper
suite's own stories (``tests/verify/test_tamper_suite.py``, a contract that pins no attester); the clean case
and C16-C24 are made on a contract that pins the municipality's attesters (``signed.py`` beside this file).
Each is verified against a hand-built trust anchor.  Keys come from
fixed seeds (``tests/world.py``: ``key(name)``), the clock is fixed, and export is deterministic, so running
this again writes byte-identical files (``tests/verify/test_golden_bundles.py`` checks that).

Regenerate (tests/vectors/README.md says when)::

    .venv/bin/python -m tests.vectors.bundles.generate

Adding a case is one function decorated with :func:`case`, then regenerate and review its expected.json.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from custody.ledger.events import validate_body
from custody.ledger.note import Signer
from custody.verify.engine import Result
from custody.verify.findings import ERROR, INFO, WARNING, Finding
from custody.verify.trust import TrustAnchor
from tests.vectors.bundles import signed
from tests.verify import test_tamper_suite as suite
from tests.verify.builders import Site, verify
from tests.world import key

HERE = Path(__file__).resolve().parent
TRUST_FORMAT = "custody-conformance-trust/v1"
EXPECTED_FORMAT = "custody-conformance-expected/v1"
BUNDLE, TRUST, EXPECTED = "bundle", "trust.json", "expected.json"

#: Builds a case's ledger in a scratch directory: the vendor's site (its ``trust()`` is what the municipality
#: holds) and the exported bundle.
Build = Callable[[Path], tuple[Site, Path]]


@dataclass(frozen=True)
class Case:
    name: str  # the directory name: "<code>-<what>" in lower case
    code: str  # the finding code the case is aimed at (it must be among its findings); "" for the clean contract
    what: str  # one line, English
    build: Build


CASES: list[Case] = []


def case(name: str, code: str, what: str) -> Callable[[Build], Build]:
    """Register ``build`` as the case ``name`` (aimed at finding ``code``)."""

    def register(build: Build) -> Build:
        if any(c.name == name for c in CASES):
            raise ValueError(f"two golden bundle cases named {name}")
        CASES.append(Case(name, code, what, build))
        return build

    return register


def _direct(story: Callable[[Path, bool], tuple[Site, Path]]) -> Build:
    """A tamper-suite story, verified against the hand-built trust anchor (not a trust store directory)."""
    return lambda tmp: story(tmp, False)


# --- the cases: the tamper suite's stories (tests/verify/test_tamper_suite.py) ----------------------------

_FROM_THE_TAMPER_SUITE: list[tuple[str, str, str, Callable[[Path, bool], tuple[Site, Path]]]] = [
    # integrity: attacks on the bundle and on the history
    ("i2-edit-an-entry", "I2", "an entry's body edited after signing", suite.edit_an_entry),
    ("i1-delete-an-entry", "I1", "an entry removed from entries.jsonl", suite.delete_an_entry),
    ("i1-reorder-entries", "I1", "two entries swapped", suite.reorder),
    ("i1-duplicate-an-entry", "I1", "an entry written twice", suite.duplicate),
    ("i5-truncate-the-tail", "I5", "the last entries cut off", suite.truncate_the_tail),
    ("i5-truncate-and-hide-checkpoints", "I5",
     "the tail cut off and every checkpoint covering it removed: only the held checkpoints show it",
     suite.truncate_and_hide_checkpoints),
    ("i5-resign-an-edited-history", "I5",
     "an entry deleted and the history re-chained and re-signed with the vendor's own keys (rewritten history)",
     suite.resign_without_the_takeout),
    ("i3-rebuild-with-new-keys", "I3", "the whole history rebuilt from a new genesis under the vendor's own keys",
     suite.rebuild_with_new_keys),
    ("i5-fork-after-a-cosigned-checkpoint", "I5",
     "a fork from an older cosigned checkpoint instead of the later cosigned history (rollback)",
     suite.fork_after_a_cosigned_checkpoint),
    ("i3-forged-log-signature", "I3", "a checkpoint signed by another key than the log's",
     suite.forge_a_log_signature),
    ("i4-checkpoint-root-differs", "I4", "a checkpoint the log key signed over a root of other entries",
     suite.checkpoint_root_lies),
    ("i3-forged-cosignature", "I3", "a cosignature under the witness's key ID that the witness did not make",
     suite.forge_a_cosignature),
    ("i8-altered-attachment", "I8", "a destruction certificate's bytes changed", suite.alter_an_attachment),
    ("i8-missing-attachment", "I8", "a disposal photo removed from the bundle", suite.remove_an_attachment),
    ("i9-time-runs-backwards", "I9", "an entry dated before the entry before it", suite.backdate_an_entry),
    ("i6-unwitnessed-entries-at-close", "I6",
     "the contract closed with entries after the last cosigned checkpoint", suite.unwitnessed_tail_after_close),
    ("i7-malformed-entry", "I7", "an entry body that breaks its event schema", suite.malformed_body),
    # compliance: what the vendor recorded
    ("c1-medium-without-final-disposition", "C1", "a received medium neither returned nor disposed of at close",
     suite.medium_without_final_disposition),
    ("c2-forged-approval", "C2", "a takeout under an approval signed with a vendor key", suite.forge_an_approval),
    ("c2-altered-approval", "C2", "a takeout under a genuine approval edited to name another medium",
     suite.alter_a_genuine_approval),
    ("c2-approval-for-other-media", "C2", "a takeout under an approval for another medium",
     suite.approval_for_other_media),
    ("c2-approval-of-another-kind", "C2", "a takeout under a copy approval", suite.approval_of_another_kind),
    ("c2-approval-outside-its-window", "C2", "a takeout after its approval expired",
     suite.approval_outside_its_window),
    ("c2-approval-reused", "C2", "a single-use takeout approval used twice", suite.reuse_beyond_max_uses),
    ("c3-takeout-without-encryption", "C3", "a takeout with no encryption", suite.takeout_without_encryption),
    ("c4-takeout-never-returned", "C4", "a takeout still out at close", suite.takeout_never_returned),
    ("c5-copy-without-approval", "C5", "a copy under an approval for another source medium",
     suite.copy_without_approval),
    ("c6-copy-left-untracked", "C6", "a copy neither erased nor disposed of at close", suite.copy_left_untracked),
    ("c7-disposal-without-witness", "C7", "My Number media destroyed without a witness",
     suite.dispose_without_witness),
    ("c7-disposal-by-another-method", "C7", "media degaussed where shredding was approved",
     suite.dispose_by_another_method),
    ("c7-disposal-without-approval", "C7", "media destroyed with no disposal approval",
     suite.dispose_without_approval),
    ("c8-disposal-evidence-overdue", "C8", "a disposal recorded after its approval's evidence deadline",
     suite.disposal_evidence_overdue),
    ("c9-unapproved-subcontractor", "C9", "a subcontractor's employee acts with no subcontract approval",
     suite.unapproved_subcontractor),
    ("c9-third-tier-under-second-tier-approval", "C9",
     "a sub-subcontractor acts under the approval given for the second tier",
     suite.third_tier_under_second_tier_approval),
    ("c10-unregistered-medium-attached", "C10", "the agent sees an unregistered USB stick attached",
     suite.unregistered_medium_attached),
    ("c11-files-written-without-approval", "C11", "files written to a registered medium no approval covers",
     suite.files_written_without_approval),
    ("c12-disposed-serial-seen-again", "C12", "a destroyed disk's serial attached again",
     suite.disposed_serial_seen_again),
    ("c14-medium-lost", "C14", "a medium reported lost", suite.medium_lost),
    ("c15-counts-do-not-reconcile", "C15", "a receipt declares two media, one is recorded",
     suite.counts_do_not_reconcile),
    # attacks a first verifier missed (the tamper suite's GAPS)
    ("c9-subcontractor-under-another-companys-approval", "C9",
     "an unapproved company's employee registered under the approval given to another subcontractor",
     suite.subcontractor_under_another_companys_approval),
    ("c9-other-company-staff-at-the-vendor-tier", "C9",
     "another company's regular employee registered as the vendor's own staff acts on the data",
     suite.other_company_registered_as_vendor_staff),
    ("c2-takeout-to-another-destination", "C2", "a takeout to another destination than approved",
     suite.takeout_to_another_destination),
    ("c7-destruction-witnessed-by-the-vendor", "C7",
     "My Number media destroyed with the vendor's own responsible person as the witness",
     suite.destruction_witnessed_by_the_vendor_itself),
    ("c4-takeout-overdue-at-the-witness-time", "C4",
     "a takeout past its deadline when the witness cosigned, though the vendor's last entry is earlier",
     suite.takeout_overdue_when_the_municipality_cosigned),
]

for _name, _code, _what, _story in _FROM_THE_TAMPER_SUITE:
    case(_name, _code, _what)(_direct(_story))


# --- cases of their own -------------------------------------------------------------------------------------


@case("i6-unwitnessed-entries-while-open", "I6",
      "entries after the last cosigned checkpoint while the contract is open (a warning: the verdict passes)")
def unwitnessed_tail_while_open(tmp: Path) -> tuple[Site, Path]:
    site = suite.opened(tmp, False)
    site.cosign()
    site.checkout()
    site.checkin()
    site.checkpoint()  # signed by the log, not yet cosigned
    return site, site.export()


@case("i2-forged-entry-signature", "I2",
      "an entry in an operator's name signed with a key the vendor made, not the operator's registered key")
def forged_entry_signature(tmp: Path) -> tuple[Site, Path]:
    site = suite.opened(tmp, False)
    forged = Signer("op-tanaka", key("vendor: a key in op-tanaka's name"))
    body = {"media_id": "M-001", "person": "op-tanaka", "purpose": "データ移行作業"}
    validate_body("media.checked_out", body)
    site.ledger.append("media.checked_out", body, forged)  # appended as written: the ledger checks no actor
    site.checkin()
    site.give_back()
    return suite.closed(site)


@case("c13-observation-gap", "C13", "the agent reports two hours it was not observing (a warning: the verdict passes)")
def observation_gap(tmp: Path) -> tuple[Site, Path]:
    site = suite.opened(tmp, False)
    last = site.next_at()
    site.clock.jump(site.clock.now + timedelta(hours=2))
    site.do("observation.gap", {"code": "C13", "last_heartbeat": last, "detected_at": site.next_at(),
                                "gap_seconds": 7200, "allowed_seconds": 120}, actor="agent-ws01")
    site.give_back()
    return suite.closed(site)


# --- the duties of the special terms (C16-C24): a contract that pins the municipality's attesters -----------
#
# tests/vectors/bundles/signed.py: the clean case is its complete story with every act the contract asks the
# municipality to sign signed (no finding at all); each case below is that story with one duty broken.

_SIGNED: list[tuple[str, str, str, Build]] = [
    ("clean", "",
     ("a complete, compliant contract that pins the municipality's attesters: its witness, receiver, inspector "
      "and completion checker sign their acts, every worker signs a no-data statement; no finding at all"),
     signed.clean),
    ("c16-subcontractor-outside-its-approved-data", "C16",
     "a subcontractor approved for 印鑑登録原票 only checks out and back in a medium of 住民基本台帳",
     signed.subcontractor_outside_its_data),
    ("c17-disposal-started-before-its-approval", "C17",
     "a destruction whose own recorded start lies before its disposal approval took effect",
     signed.disposal_started_before_its_approval),
    ("c18-checkout-cites-another-seal", "C18",
     "a check-out citing a seal the medium was never known to carry", signed.checkout_cites_another_seal),
    ("c19-disposal-outside-the-work-locations", "C19", "a destruction at a place that is not a work location",
     signed.disposal_outside_the_work_locations),
    ("c20-closed-without-an-inspection", "C20", "the contract closes with no inspection by the municipality",
     signed.closed_without_inspection),
    ("c21-incident-notified-late", "C21",
     "a suspected incident notified 30 hours after its detection where the contract allows 24",
     signed.incident_reported_late),
    ("c22-no-periodic-report", "C22", "ten days without a periodic report where the contract asks for one every 7",
     signed.no_periodic_report),
    ("c22-cosigned-checkpoints-too-far-apart", "C22",
     "ten days without a cosigned checkpoint where the contract asks for one every 7 (the reports are on time)",
     signed.cosigned_checkpoints_too_far_apart),
    ("c23-worker-without-a-no-data-statement", "C23",
     "the contract closes while a worker has signed no statement that they keep no data",
     signed.worker_without_a_statement),
    ("c24-disposal-with-a-typed-witness", "C24",
     "My Number media destroyed with the witness's name typed into the record and no signed attestation",
     signed.disposal_with_a_typed_witness),
    ("c24-witness-of-another-municipality", "C24",
     "a destruction's witness attestation signed by another municipality's witness key",
     signed.witness_of_another_municipality),
]

for _name, _code, _what, _build in _SIGNED:
    case(_name, _code, _what)(_build)


# --- the files ----------------------------------------------------------------------------------------------


def trust_to_json(trust: TrustAnchor) -> dict[str, Any]:
    """trust.json: what the municipality pinned for the ledger and the cosigned checkpoints it kept."""
    if trust.genesis_leaf_hash is None or not trust.pinned:
        raise ValueError("a golden bundle is verified against pinned trust")
    return {
        "format": TRUST_FORMAT,
        "origin": trust.origin,
        "log_vkey": trust.log_vkey,
        "genesis_leaf_hash": trust.genesis_leaf_hash.hex(),
        "approver_vkeys": list(trust.approver_vkeys),
        "witness_vkeys": list(trust.witness_vkeys),
        "checkpoints": [note.decode("utf-8") for note in trust.held_checkpoints],
    }


def trust_from_json(doc: dict[str, Any]) -> TrustAnchor:
    if doc.get("format") != TRUST_FORMAT:
        raise ValueError(f"not a {TRUST_FORMAT} document")
    return TrustAnchor(
        origin=doc["origin"],
        log_vkey=doc["log_vkey"],
        genesis_leaf_hash=bytes.fromhex(doc["genesis_leaf_hash"]),
        approver_vkeys=tuple(doc["approver_vkeys"]),
        witness_vkeys=tuple(doc["witness_vkeys"]),
        held_checkpoints=tuple(note.encode("utf-8") for note in doc["checkpoints"]),
    )


def load_trust(case_dir: Path) -> TrustAnchor:
    return trust_from_json(json.loads((case_dir / TRUST).read_bytes()))


def _code_order(code: str) -> tuple[int, int, str]:
    kind = {"I": 0, "C": 1}.get(code[:1], 2)
    return (kind, int(code[1:]) if code[1:].isdigit() else 0, code)


def finding_rows(findings: Iterable[Finding | dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings as expected.json lists them: code, severity, seq, media; each once, sorted by code (I before C,
    by number), seq (none first), severity, medium.  ``findings`` are Finding objects or their JSON."""
    rows = {
        (f.code, f.severity, f.seq, f.media) if isinstance(f, Finding)
        else (f["code"], f["severity"], f["seq"], f["media"])
        for f in findings
    }
    severity = {ERROR: 0, WARNING: 1, INFO: 2}
    ordered = sorted(rows, key=lambda r: (_code_order(r[0]), -1 if r[2] is None else r[2], severity.get(r[1], 3),
                                          r[3] or ""))
    return [{"code": c, "severity": s, "seq": q, "media": m} for c, s, q, m in ordered]


def expected_of(c: Case, result: Result) -> dict[str, Any]:
    return {
        "format": EXPECTED_FORMAT,
        "case": c.name,
        "aimed_at": c.code or None,
        "what": c.what,
        "ok": result.ok,
        "size": result.size,
        "witnessed_size": result.witnessed_size,
        "findings": finding_rows(result.findings),
    }


def _json_bytes(doc: dict[str, Any]) -> bytes:
    """Indented JSON, with each member of a list of objects (findings) on one line, for diffs that read well."""

    def value(v: Any, indent: str) -> str:
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            inner = ",\n".join(indent + "  " + json.dumps(x, ensure_ascii=False) for x in v)
            return "[\n" + inner + "\n" + indent + "]"
        return json.dumps(v, ensure_ascii=False, indent=2).replace("\n", "\n" + indent)

    members = ",\n".join(f"  {json.dumps(k, ensure_ascii=False)}: {value(v, '  ')}" for k, v in doc.items())
    return ("{\n" + members + "\n}\n").encode("utf-8")


def _remove_empty_directories(root: Path) -> None:
    """git keeps no empty directory, so the generated tree has none either (a bundle without attachments)."""
    for path in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(path.iterdir()):
            path.rmdir()


def write_case(c: Case, out: Path, scratch: Path) -> Path:
    """Build ``c`` in ``scratch`` and write its directory under ``out`` (replacing what was there)."""
    site, exported = c.build(scratch)
    trust = site.trust()
    site.close_ledger()
    target = out / c.name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copytree(exported, target / BUNDLE)
    _remove_empty_directories(target / BUNDLE)
    (target / TRUST).write_bytes(_json_bytes(trust_to_json(trust)))
    # The verdict is that of the files as written: the bundle copy against trust.json.
    result = verify(target / BUNDLE, load_trust(target))
    (target / EXPECTED).write_bytes(_json_bytes(expected_of(c, result)))
    return target


def case_directories(out: Path) -> list[Path]:
    """The case directories under ``out`` (those holding an expected.json)."""
    return sorted(p.parent for p in out.glob(f"*/{EXPECTED}"))


def generate(out: Path, names: Sequence[str] = ()) -> list[Path]:
    """Write every case (or those named) under ``out``; without names, also remove cases no longer defined."""
    chosen = [c for c in CASES if not names or c.name in names]
    unknown = set(names) - {c.name for c in CASES}
    if unknown:
        raise ValueError(f"no such case: {', '.join(sorted(unknown))}")
    if not names:
        for stale in case_directories(out):
            if stale.name not in {c.name for c in CASES}:
                shutil.rmtree(stale)
    written = []
    with tempfile.TemporaryDirectory(prefix="custody-golden-") as tmp:
        for i, c in enumerate(chosen):
            written.append(write_case(c, out, Path(tmp) / str(i)))
    return written


def main(argv: Sequence[str] = ()) -> int:
    unknown = [name for name in argv if name not in {c.name for c in CASES}]
    if unknown:
        print(f"no such case: {', '.join(unknown)} (the cases: {', '.join(c.name for c in CASES)})", file=sys.stderr)
        return 2
    for path in generate(HERE, argv):
        doc = json.loads((path / EXPECTED).read_bytes())
        codes = sorted({f["code"] for f in doc["findings"]}, key=_code_order)
        print(f"{path.name:45} {'ok' if doc['ok'] else 'FAILED':6} {' '.join(codes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
