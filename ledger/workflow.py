"""The custody workflow as a service: check an act against the lifecycle model, then write it.

The operator CLI (``custody.cli.workflow``) and the agent wiring call this
module; it has no command-line code.  Two entry points:

* :func:`current_state` (and :func:`projection`): the lifecycle state
  (:class:`custody.ledger.lifecycle.LedgerState`) and the key registry
  (:class:`custody.ledger.registry.Registry`) as of the head of the ledger;
* :func:`act`: append one entry **only if** the model allows it.  Under the
  store's write lock (``BEGIN IMMEDIATE``), with the seq and the ``at`` the
  entry will carry, it checks the signing key (registered, not rotated away,
  not revoked), then runs :func:`custody.ledger.lifecycle.refuse` (the body's
  schema, then the rules) and raises the ``RuleRefusal`` (exit 6, in the
  user's language) of every blocking violation -- then nothing is
  written, not even the entry's attachments.  Non-blocking violations (facts
  that broke a rule, warnings) are handed back to the caller to print.

**The state cache.**  Replaying a long ledger for every command would be
slow, so the projection is cached in the store's ``state_cache`` table (not
evidence: it is rebuilt from the entries at will) under the name
:data:`CACHE_NAME`, as JSON holding the lifecycle snapshot, the key registry,
the size it covers and the leaf hash of its last entry.  Each command loads
it, replays only the entries appended since (by the agent, or by another
process), and -- inside the same transaction as its own entry -- saves the
advanced state.  The cache is ignored and rebuilt from entry 0 when:

* its format or the lifecycle model's snapshot format differs;
* its *fingerprint* differs: a hash of the source of the modules that define
  the rules (every module of the ``custody.ledger.lifecycle`` package, ``custody.ledger.media``,
  ``custody.ledger.approval``, ``custody.ledger.signed_statement``, ``custody.ledger.violation``,
  ``custody.ledger.registry``, ``custody.ledger.events``, the rule texts, the vocabulary and this one), so
  that a new version of the rules never reads a state built by an old one;
* it covers more entries than the ledger holds, belongs to another origin, or
  the leaf hash of its last entry is not the ledger's (a restored or
  replaced store);
* it does not parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from custody.ledger import usercache
from custody.ledger.entry import Entry, sign_entry
from custody.ledger.errors import (
    BatchRefusal,
    CustodyError,
    NoteFormatError,
    RuleRefusal,
    SchemaError,
    StoreError,
    UsageError,
)
from custody.ledger.i18n import _
from custody.ledger.ledger import Ledger
from custody.ledger.lifecycle import STATE_FORMAT, Event, LedgerState, apply, new_state, refuse
from custody.ledger.note import Signer, Verifier
from custody.ledger.registry import KeyState, KeyStatus, Registry
from custody.ledger.registry import Person as RegistryPerson
from custody.ledger.rfc6962 import leaf_hash
from custody.ledger.store import Head, Store
from custody.ledger.violation import Violation

CACHE_NAME = "workflow"
CACHE_FORMAT = "custody/workflow-cache/v2"
_RULE_MODULES = (
    "custody.ledger.lifecycle", "custody.ledger.media", "custody.ledger.approval", "custody.ledger.violation",
    "custody.ledger.registry", "custody.ledger.events", "custody.ledger.rule_texts", "custody.ledger.vocabulary",
    "custody.ledger.signed_statement", "custody.ledger.workflow",
)


@dataclass
class Projection:
    """The lifecycle state and the key registry as of ``size`` entries."""

    state: LedgerState
    registry: Registry
    size: int
    last_leaf_hash: bytes
    replayed: int = 0  # entries replayed to get here (0: straight from the cache)
    # What the rules found at each entry so far (the verifier's per-entry findings), at most MAX_FINDINGS_PER_CODE
    # of a code: ``custody status`` shows them beside the end-of-ledger rules.
    findings: list[Violation] = field(default_factory=list)


# --- the cache ---


@cache
def rules_fingerprint() -> str:
    """A digest of the rule modules' source files (their paths, sizes and modification times:
    ``usercache.stamp``): a cache built by other rules is never used.

    The files are found without importing them (``find_spec``): a command that needs no approval does not
    import :mod:`custody.ledger.approval` only to name it."""
    from importlib.util import find_spec

    files: list[Path] = []
    names: list[str] = []
    for name in _RULE_MODULES:
        spec = find_spec(name)
        source = spec.origin if spec is not None and spec.has_location else None
        names.append(name)
        if not source:
            continue
        # a package (the lifecycle families): every module of its folder
        files += sorted(Path(source).parent.glob("*.py")) if Path(source).name == "__init__.py" else [Path(source)]
    head = f"{CACHE_FORMAT}\n{STATE_FORMAT}\n{','.join(names)}\n"
    return hashlib.sha256(head.encode() + usercache.stamp(files).encode()).hexdigest()


def _registry_to_json(registry: Registry) -> dict[str, Any]:
    return {
        "genesis": registry.genesis,
        "people": [
            {
                "key_name": p.key_name,
                "details": p.details,
                "registered_seq": p.registered_seq,
                "removed_seq": p.removed_seq,
                "keys": [[k.verifier.vkey, k.since_seq, k.until_seq, k.why_ended] for k in p.keys],
            }
            for p in registry.people.values()
        ],
    }


def _registry_from_json(doc: dict[str, Any]) -> Registry:
    registry = Registry()
    registry.genesis = doc["genesis"]
    for p in doc["people"]:
        keys = [KeyState(Verifier.from_vkey(vkey), since, until, why) for vkey, since, until, why in p["keys"]]
        registry.people[p["key_name"]] = RegistryPerson(
            p["key_name"], p["details"], p["registered_seq"], p["removed_seq"], keys
        )
    return registry


def _encode(proj: Projection, origin: str) -> bytes:
    doc = {
        "format": CACHE_FORMAT,
        "fingerprint": rules_fingerprint(),
        "origin": origin,
        "size": proj.size,
        "last_leaf_hash": proj.last_leaf_hash.hex(),
        "lifecycle": proj.state.to_json(copy=False),  # dumped at once
        "registry": _registry_to_json(proj.registry),
        "findings": [v.to_json() for v in proj.findings],
    }
    # orjson: the same bytes as json.dumps(ensure_ascii=False, separators=(",", ":")) (keys that are not text
    # written as text, as json.dumps writes them), ten times sooner -- a contract's media are most of it.
    try:
        return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson does not write (an integer beyond 64 bits): as json.dumps writes it
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _decode(store: Store, origin: str, head: Head) -> Projection | None:
    """The cached projection, or None when there is none or it must not be used (module documentation)."""
    cached = store.load_state(CACHE_NAME)
    if cached is None:
        return None
    size, data = cached
    if size > head.size or size <= 0:
        return None
    try:
        doc = orjson.loads(data)
        if (
            not isinstance(doc, dict)
            or doc.get("format") != CACHE_FORMAT
            or doc.get("fingerprint") != rules_fingerprint()
            or doc.get("origin") != origin
            or doc.get("size") != size
        ):
            return None
        last = bytes.fromhex(doc["last_leaf_hash"])
        expected = head.last_leaf_hash if size == head.size else leaf_hash(store.leaf(size - 1))
        if last != expected:
            return None
        state = LedgerState.from_json(doc["lifecycle"], owned=True)
        registry = _registry_from_json(doc["registry"])
        findings = [Violation.from_json(v) for v in doc["findings"]]
    except (ValueError, KeyError, TypeError, NoteFormatError, UnicodeDecodeError):  # orjson.JSONDecodeError too
        return None
    return Projection(state, registry, size, last, findings=findings)


MAX_FINDINGS_PER_CODE = 200  # as the verifier lists them (verify/engine.py MAX_PER_CODE)


def _replay(proj: Projection, entries: Iterable[Entry]) -> None:
    counts: dict[str, int] = {}
    for f in proj.findings:
        counts[f.code] = counts.get(f.code, 0) + 1
    for entry in entries:
        for v in apply(proj.state, entry):
            if counts.get(v.code, 0) < MAX_FINDINGS_PER_CODE:
                counts[v.code] = counts.get(v.code, 0) + 1
                proj.findings.append(v if v.seq is not None else replace(v, seq=entry.seq))
        proj.registry.apply(entry)
        proj.size = entry.seq + 1
        proj.last_leaf_hash = entry.leaf_hash
        proj.replayed += 1


def _project(store: Store, origin: str, head: Head) -> Projection:
    """The projection at ``head``: the cache advanced over the entries it lacks, else a full replay."""
    proj = _decode(store, origin, head)
    if proj is None:
        proj = Projection(new_state(origin), Registry(), 0, bytes(32))
    if proj.size < head.size:
        _replay(proj, store.entries(proj.size, head.size))
    return proj


def projection(ledger: Ledger, *, save: bool = True) -> Projection:
    """The state and registry as of the ledger's head.

    With ``save`` (the default) a projection that had to replay entries is
    written back to the cache (a plain write outside any append: losing that
    race to another process only costs a later replay).  A ledger opened
    read-only is never written.
    """
    head = ledger.store.head()
    proj = _project(ledger.store, ledger.origin, head)
    if save and proj.replayed and proj.size:
        with contextlib.suppress(StoreError):  # read-only or busy: the cache is optional
            ledger.store.save_state(CACHE_NAME, proj.size, _encode(proj, ledger.origin))
    return proj


def current_state(ledger: Ledger) -> LedgerState:
    """The lifecycle state as of the ledger's head (from the cache when it is current)."""
    return projection(ledger).state


def rebuild_cache(ledger: Ledger) -> Projection:
    """Replay every entry (ignoring the cache) and save the result."""
    head = ledger.store.head()
    proj = Projection(new_state(ledger.origin), Registry(), 0, bytes(32))
    _replay(proj, ledger.store.entries(0, head.size))
    if proj.size:
        ledger.store.save_state(CACHE_NAME, proj.size, _encode(proj, ledger.origin))
    return proj


class CacheKeeper:
    """Keeps the state cache current for a writer that appends without :func:`act`.

    The work-location agent appends its observations (heartbeats, files
    written) with ``Ledger.append``; without this, the first command after a
    long run of them replayed them all (3.6 s after 100,000 heartbeats).  An
    instance is an ``after`` hook for ``Ledger.append`` / ``Store.append_many``:
    it advances a projection kept in memory over the appended entries (from
    the cache and the store when someone else wrote in between) and saves it
    in the same transaction once ``every`` entries have passed since it last
    did, so a command replays fewer than ``every`` entries.
    """

    def __init__(self, ledger: Ledger, *, every: int = 64) -> None:
        self.ledger = ledger
        self.every = every
        self._proj: Projection | None = None
        self._saved_size = -1

    def append(self, type_: str, body: dict[str, Any], signer: Signer) -> tuple[Entry, list[Violation]]:
        """Append one entry after the pre-write check every writer passes (docs/spec.md §13.4).

        The same :func:`check_event` as the commands', on the projection kept
        here: a revoked, rotated-out or unregistered key, a body its schema
        refuses or a blocking rule is refused (nothing written); returns the
        entry and the violations that do not block (an unregistered medium
        attached is recorded, and verify reports it).
        """
        found: list[Violation] = []

        def make(head: Head) -> Entry:
            proj = self._proj
            if proj is None or proj.size != head.size or proj.last_leaf_hash != head.last_leaf_hash:
                proj = self._proj = _project(self.ledger.store, self.ledger.origin, head)
                self._saved_size = -1
            entry, checked = _prewrite(self.ledger, proj, head, type_, body, signer)
            found[:] = checked or []
            return entry

        return self.ledger.store.append(make, after=self), found

    def __call__(self, entries: list[Entry]) -> None:
        if not entries:
            return
        first = entries[0]
        proj, self._proj = self._proj, None  # kept again only once advanced (a failed append re-reads)
        if proj is None or proj.size != first.seq or proj.last_leaf_hash != first.prev:
            # Inside the append's transaction: the store holds entries [0, first.seq) and these.
            proj = _project(self.ledger.store, self.ledger.origin, Head(first.seq, first.prev))
            self._saved_size = -1
        proj.replayed = 0
        _replay(proj, entries)
        if self._saved_size < 0 or proj.size - self._saved_size >= self.every:
            self.ledger.store.save_state(CACHE_NAME, proj.size, _encode(proj, self.ledger.origin))
            self._saved_size = proj.size
        self._proj = proj


# --- keys ---


def _key_refusal(registry: Registry, signer: Signer, seq: int) -> RuleRefusal | None:
    """C9 for a signing key that is not the actor's valid key at ``seq`` (the registry's view)."""
    person = registry.person(signer.name)
    if person is None or person.removed_seq is not None:
        return None  # the lifecycle model reports an unregistered or removed actor
    status, _verifier = registry.key_status(signer.name, signer.key_id, seq)
    if status == KeyStatus.VALID:
        return None
    if status == KeyStatus.REVOKED:
        message = _("The key {key_id} of {name} was revoked; it can no longer sign.")
        todo = _("Sign with {name}'s current key, or have the responsible person register a new one.")
    elif status == KeyStatus.ENDED:
        message = _("The key {key_id} of {name} was replaced by a newer key (custody key rotate).")
        todo = _("Sign with {name}'s current key.")
    else:
        message = _("The key {key_id} is not a registered key of {name}.")
        todo = _("Sign with the key registered for {name} (custody person list shows the people).")
    values = {"name": signer.name, "key_id": signer.key_id.hex()}
    return RuleRefusal(
        "C9", message.format(**values),
        missing=_("a registered, unrevoked key of {name}").format(**values), todo=todo.format(**values),
    )


def _key_entry_refusal(registry: Registry, type_: str, body: dict[str, Any], signer: Signer) -> RuleRefusal | None:
    """What the registry would silently ignore in key.rotated / key.revoked: refuse it instead."""
    key_name = body.get("key_name")
    person = registry.person(key_name) if isinstance(key_name, str) else None
    if person is None:
        return None  # the lifecycle model reports an unknown person
    if type_ == "key.rotated":
        try:
            new = Verifier.from_vkey(str(body.get("new_vkey", "")))
        except NoteFormatError:
            return None  # the schema check reports it
        if new.name != person.key_name:
            return RuleRefusal(
                "C9", _("The new key is named {new}, not {name}.").format(new=new.name, name=person.key_name),
                missing=_("a new key with the same name {name}").format(name=person.key_name),
                todo=_("Create the new key with 'custody key new {name} -o FILE'.").format(name=person.key_name),
            )
        if any(k.verifier.key_id == new.key_id for k in person.keys):
            return RuleRefusal(
                "C9", _("The new key of {name} is one of its old keys.").format(name=person.key_name),
                todo=_("Create a new key (custody key new)."),
            )
    if type_ == "key.revoked":
        try:
            target = Verifier.from_vkey(str(body.get("vkey", "")))
        except NoteFormatError:
            return None
        if not any(k.verifier.key_id == target.key_id for k in person.keys):
            return RuleRefusal(
                "C9", _("{vkey} is not a key of {name}.").format(vkey=target.vkey, name=person.key_name),
                todo=_("Give the vkey of one of {name}'s registered keys.").format(name=person.key_name),
            )
        if target.key_id == signer.key_id and signer.name == person.key_name:
            return RuleRefusal(
                "C9", _("A key cannot sign its own revocation."),
                todo=_("Ask the responsible person to revoke it, or sign with {name}'s other valid key.").format(
                    name=person.key_name
                ),
            )
    return None


# --- acting ---


def _judge_of(signer: Signer | None) -> Callable[[str, object], bool] | None:
    """The key agent's schema judge when the agent signs (``AgentSigner.fits``): the command then loads no
    validator of its own for a body that fits (issue 19)."""
    from custody.ledger.keyagent.client import AgentSigner

    return signer.fits if isinstance(signer, AgentSigner) else None


def check_event(proj: Projection, event: Event, signer: Signer | None = None) -> list[Violation]:
    """The pre-write check of every command that appends (docs/spec.md §13.4), in one order.

    The signing key (registered, not rotated away, not revoked: RuleRefusal C9, exit 6), then
    :func:`custody.ledger.lifecycle.refuse`: the body's schema (a body the options or ``--from-file`` built
    wrong: UsageError, exit 2, naming the field) and the rules (RuleRefusal, exit 6, every blocking
    violation).  Returns the non-blocking violations.
    """
    if signer is not None:
        problem = _key_refusal(proj.registry, signer, event.seq) or _key_entry_refusal(
            proj.registry, event.type, event.body, signer
        )
        if problem is not None:
            raise problem
    try:
        return refuse(proj.state, event, _judge_of(signer))
    except SchemaError as exc:
        raise UsageError(
            _("The entry is not valid: {why}").format(why=exc.message),
            hint=_("Check the option or the --from-file field '{field}'.").format(field=exc.field or "-"),
        ) from None


def _prewrite(ledger: Ledger, proj: Projection, head: Head, type_: str, body: dict[str, Any], signer: Signer,
              refused: Callable[[CustodyError], None] | None = None) -> tuple[Entry, list[Violation] | None]:
    """The step every writer takes before an entry is written (docs/spec.md §13.4): its time on the ledger's
    clock (never running backwards, I9), :func:`check_event` on ``proj``, then its signature.

    Returns the entry and the non-blocking violations.  A refusal is raised, before anything is signed; with
    ``refused`` it is handed to it instead, the entry signed all the same and the violations None:
    :func:`act_many` checks every event of a batch against the state the ones before it make, then refuses
    them all."""
    at = ledger.now_after(head)
    found: list[Violation] | None
    try:
        found = check_event(proj, Event(head.size, type_, at, signer.name, body), signer)
    except CustodyError as exc:
        if refused is None:
            raise
        refused(exc)
        found = None
    entry = sign_entry(origin=ledger.origin, seq=head.size, prev=head.last_leaf_hash, type=type_, at=at, body=body,
                       signer=signer)
    return entry, found


def act(
    ledger: Ledger,
    type_: str,
    body: dict[str, Any],
    signer: Signer,
    *,
    log_signer: Signer | None = None,
    attachments: Sequence[bytes] = (),
    warnings: list[Violation] | None = None,
) -> Entry:
    """Append one entry if the lifecycle model allows it (see the module documentation).

    Raises ``RuleRefusal`` (exit 6) for a blocking violation and
    ``UsageError`` (exit 2) for a body that does not match its schema; then
    nothing is written.  ``attachments`` (files the body references by
    SHA-256) are stored in the same transaction as the entry.  Non-blocking
    violations are appended to ``warnings`` when it is given.  With
    ``log_signer`` a checkpoint is signed when one is due.
    """
    ctx: dict[str, Any] = {}

    def make(head: Head) -> Entry:
        proj = _project(ledger.store, ledger.origin, head)
        entry, ctx["found"] = _prewrite(ledger, proj, head, type_, body, signer)
        ctx["proj"] = proj
        return entry

    def after(entries: list[Entry]) -> None:
        for data in attachments:
            ledger.store.put_attachment(data)
        proj: Projection = ctx["proj"]
        proj.replayed = 0
        _replay(proj, entries)
        ledger.store.save_state(CACHE_NAME, proj.size, _encode(proj, ledger.origin))

    entry = ledger.store.append(make, after=after)
    if warnings is not None:
        warnings.extend(v for v in ctx["found"] if not v.blocks)
    ledger.checkpoint_after(entry, log_signer)  # CheckpointPendingError: recorded, checkpoint not signed
    return entry


def act_many(
    ledger: Ledger,
    events: Sequence[tuple[str, dict[str, Any]]],
    signer: Signer,
    *,
    attachments: Sequence[bytes] = (),
    warnings: list[Violation] | None = None,
) -> list[Entry]:
    """Append several entries in one transaction, all or nothing (a handover receipt of many media).

    Each event gets the pre-write check of :func:`act` (``check_event``: the key, the schema, the rules),
    under the write lock, against the state the events before it in the batch make -- two rows with the
    same media id: the second is refused.  Every event is checked, even after one was refused, so that
    ``BatchRefusal.problems`` names each one (its position in ``events`` and its error); then nothing is
    written.  The caller signs no checkpoint in between: one after the last entry (``checkpoint_after``).
    """
    if not events:
        return []
    ctx: dict[str, Any] = {"problems": [], "found": []}

    def maker(index: int, type_: str, body: dict[str, Any]) -> Any:
        def make(head: Head) -> Entry:
            if index == 0:
                ctx["proj"] = _project(ledger.store, ledger.origin, head)
            proj: Projection = ctx["proj"]
            entry, found = _prewrite(ledger, proj, head, type_, body, signer,
                                     refused=lambda exc: ctx["problems"].append((index, exc)))
            if found is not None:  # the next events are checked against the state with this one
                ctx["found"].extend(found)
                _replay(proj, [entry])
            return entry

        return make

    def after(entries: list[Entry]) -> None:
        problems: list[tuple[int, CustodyError]] = ctx["problems"]
        if problems:  # raised inside the transaction: it rolls back, nothing is written
            raise BatchRefusal(
                _("{n} of {total} entries refused; nothing was recorded").format(n=len(problems), total=len(events)),
                problems=problems,
            )
        for data in attachments:
            ledger.store.put_attachment(data)
        ledger.store.save_state(CACHE_NAME, ctx["proj"].size, _encode(ctx["proj"], ledger.origin))

    entries = ledger.store.append_many([maker(i, t, b) for i, (t, b) in enumerate(events)], after=after)
    if warnings is not None:
        warnings.extend(v for v in ctx["found"] if not v.blocks)
    return entries


def attachment_ref(data: bytes, name: str, **extra: Any) -> dict[str, Any]:
    """The body's reference to a file stored by :func:`act` (``{"attachment": sha256 hex, "name": ...}``)."""
    ref: dict[str, Any] = {"attachment": hashlib.sha256(data).hexdigest(), "name": name, "size": len(data)}
    ref.update(extra)
    return ref


def refuse_ended_contract(contract_toml: bytes, responsible_vkey: str, actor: str, at: str) -> None:
    """A contract whose period has ended cannot start a ledger (C23, docs/spec-rules.md): RuleRefusal (exit 6)
    before anything is written (``custody init``).  A contract file that does not parse is left to
    ``Ledger.create``, which says why."""
    from custody.ledger.contract import parse_contract
    from custody.ledger.violation import refusal

    try:
        origin, body = parse_contract(contract_toml, responsible_vkey=responsible_vkey)
    except SchemaError:
        return
    found = apply(new_state(origin), Event(0, "contract.opened", at, actor, body))
    problem = refusal(v for v in found if v.code == "C23")
    if problem is not None:
        raise problem
