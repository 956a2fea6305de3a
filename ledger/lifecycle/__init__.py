"""The custody workflow as a pure state machine: media lifecycle, people and approvals.

One model serves both sides (docs/spec-rules.md):

* the operator CLI builds the entry it is about to write (with the seq and
  ``at`` it will use), runs :func:`refuse` (schema, then :func:`precheck`)
  and writes nothing when a violation blocks (``RuleRefusal``, exit 6);
* the municipality's verifier calls :func:`apply` on every valid entry in seq
  order and :func:`finish` at the end, and reports every violation as a
  finding (code, severity, seq, media, message).

Entries are anything with ``seq``, ``type``, ``at``, ``actor`` and ``body``
(:class:`EventLike`: ``custody.ledger.entry.Entry``, ``verify.engine.EntryView`` and
:class:`Event` all fit).  Bodies are expected to match their schemas
(:mod:`custody.ledger.events`); a malformed body never raises here, its missing parts
count as absent.

``check(state, entry)`` reports without changing the state; ``advance``
changes it without reporting; ``apply`` does both in one pass.  The state
advances even past violations (the verifier keeps going), so a caller that
must refuse calls ``check`` (or ``precheck``) first and ``advance`` only when
nothing blocks.  Media transitions are the table :data:`custody.ledger.media.TRANSITIONS`.

Most of a long ledger is the agent's signs of life (heartbeats, detaches), which can break only C9 (who
signed) and C13 (a silence).  ``apply`` takes those on a fast path when neither rule finds anything, with
the state moved exactly as the general path moves it (``engine.LIVENESS_ONLY``); a caller that has already
parsed the entry's ``at`` (the verifier's workers do) passes it as ``at_us`` so that it is not parsed again.
A run of one agent's signs of life can be taken whole (:mod:`~custody.ledger.lifecycle.liveness`:
``apply_alive_run``, from the runs a ``RunBuilder`` collects), which the verifier does for most of a ledger;
the operator's commands never need it, so this package does not import it.

**Where things are.**  One module per event family, each owning its
handlers (``HANDLERS``: entry type -> handler), its rule texts (``RuleText``:
English keys, their Japanese in ``locale/ja/rules.po``), its end-of-ledger rules and the bodies of the entries
the CLI records (``body_for_<act>(state, ...) -> dict``: the operator's options
and the defaults, codes and the operator's own words only, so that the signed
evidence is the same under every ``--lang``):

* :mod:`~custody.ledger.lifecycle.people` -- people and subcontracts (C9);
* :mod:`~custody.ledger.lifecycle.approvals` -- approvals embedded in entries, their uses and write cover;
* :mod:`~custody.ledger.lifecycle.storage` -- receipt, registration, checkout, check-in, return;
* :mod:`~custody.ledger.lifecycle.takeout` -- takeouts (C2, C3, C4);
* :mod:`~custody.ledger.lifecycle.copies` -- copies (C5, C6);
* :mod:`~custody.ledger.lifecycle.disposal` -- erasure and disposal (C7, C8);
* :mod:`~custody.ledger.lifecycle.observation` -- what the agent observes (C10-C13);
* :mod:`~custody.ledger.lifecycle.closing` -- closing and incidents (C1, C14, C15);

beside :mod:`~custody.ledger.lifecycle.state` (the state and its snapshot),
:mod:`~custody.ledger.lifecycle.fields` (small body readers),
:mod:`~custody.ledger.lifecycle.defaults` (what a body takes from the contract),
:mod:`~custody.ledger.lifecycle.applications` (applications and the targets of
commands, refused before anything is written),
:mod:`~custody.ledger.lifecycle.kernel` (the entry protocol, the collector of
violations, media transitions) and :mod:`~custody.ledger.lifecycle.engine`
(the entry points below).  A new event type is one handler, one row of
``HANDLERS`` and one ``body_for_`` function in its family, plus its schema
(docs/spec-events.md) and its thin command (``custody.cli.workflow``); a new
rule is code and texts in the family that sees its trigger.

Which rules fire where (codes of docs/spec.md):

=====  ==================================================================  ==================================
code   ``apply`` (at the entry)                                             ``finish`` (end of the ledger)
=====  ==================================================================  ==================================
C1     media acts after contract.closed; media.returned from a wrong state  medium not settled at close
C2     takeout.departed: no valid approval (signer, origin, media, window,
       uses, destination, transport, carriers), not permitted, wrong state
C3     takeout.departed without the required encryption
C4     takeout.returned/erased: no open takeout, late, failed check;        takeout open past deadline/at close
       a medium reported lost after its takeout's deadline
C5     copy.made: no valid approval, not permitted, new id not new
C6                                                                          copy not settled at close or past
                                                                            its approval's disposal date
C7     erasure/disposal: no approval, other method or serial, no witness
       (from the municipality, where required or My Number), no photo with
       the serial, no certificate nor reason, My Number not destroyed
C8     media.disposed after its deadline (recorded, not refused)            approved disposal not carried out
                                                                            by its deadline or at close
C9     actor unregistered/removed/wrong role; subcontractor without a valid
       approval of its tier for its own company; another company's staff at
       the vendor tier (unless dispatched, 第7); personnel, key, subcontract
C10    volume.attached: unregistered medium (and, warning: a medium
       recorded as in storage)
C11    files.written to an unregistered volume                              writes to a registered medium that
                                                                            no approval covered (an approval
                                                                            recorded later may cover them)
C12    any act on, or sighting of, a disposed or returned medium or serial
C13    observation.gap; an agent silent longer than its allowed gap         an agent silent at the moment
C14    incident.reported (error: lost, stolen, leak; warning: suspicion,
       other; info: found); acts on a lost medium; broken seal (warning)
C15    medium not in the register, duplicate id or serial; checkout or      media balance ≠ 0; receipt
       check-in from a wrong state                                          quantities or records ≠ media
=====  ==================================================================  ==================================

``alert.raised`` is recorded (``LedgerState.alerts``) but not reported again:
the observation it was raised for is.

**C15** counts media: ``received + registered + copies − returned − disposed
− erased − lost`` (``erased``: vendor media and copies whose data was erased
and that were not later returned or disposed) must be 0 at close.  And for
every handover receipt (預り証), the number of media recorded with that
receipt number must equal the quantity its items declare, and for each data
item the records it declares must equal those in the recorded media's
contents.

**Blocking.**  Only errors block, and not all of them: a violation that a
*fact* reveals (a late return, a lost medium, an unregistered USB stick the
agent saw, a disposal recorded after its deadline) has ``blocking=False``:
the entry must be written (docs/spec.md: facts that broke a rule are recorded,
never silently accepted), and the verifier reports it.  End-of-ledger rules
block only through :func:`precheck` of ``contract.closed`` (what is still
open prevents closing; a receipt mismatch is reported, never blocking).

Snapshots: ``state.to_json()`` is JSON-compatible and canonical-safe (no
floats: times are integer milliseconds next to their RFC 3339 text);
``LedgerState.from_json`` restores it.  Pure: no file, clock or network access.
"""

from __future__ import annotations

from custody.ledger.lifecycle.engine import (
    FAMILIES,
    FAMILY_OF,
    RULE_CODES,
    advance,
    apply,
    check,
    finish,
    precheck,
    refuse,
    transitions_for,
)
from custody.ledger.lifecycle.kernel import Event, EventLike, RuleCode
from custody.ledger.lifecycle.state import (
    STATE_FORMAT,
    AgentView,
    ApprovalUse,
    Disposal,
    LedgerState,
    Person,
    Subcontract,
    Takeout,
    new_state,
)
from custody.ledger.media import TRANSITIONS
from custody.ledger.violation import Violation, blocking, refusal

__all__ = [
    "FAMILIES",
    "FAMILY_OF",
    "RULE_CODES",
    "STATE_FORMAT",
    "TRANSITIONS",
    "AgentView",
    "ApprovalUse",
    "Disposal",
    "Event",
    "EventLike",
    "LedgerState",
    "Person",
    "RuleCode",
    "Subcontract",
    "Takeout",
    "Violation",
    "advance",
    "apply",
    "blocking",
    "check",
    "finish",
    "new_state",
    "precheck",
    "refusal",
    "refuse",
    "transitions_for",
]
