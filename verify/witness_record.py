"""The witness's own record of what it cosigned, cross-checked (docs/spec.md §11.3).

The trust store keeps what the municipality's witness cosigned for an origin
three ways (``verify.authority``): ``latest.json`` (its state: the latest
size and root), ``cosigned.jsonl`` (the journal: one line per cosignature)
and ``checkpoints/*.checkpoint`` (the cosigned notes).  A partial restore
can lose one of them -- the checkpoint files, say -- and a verifier that
trusted only what is left would accept a ledger rolled back below what the
witness cosigned.  So verification takes every size and root the record
vouches for (:attr:`RecordCheck.heads`) and reports every disagreement
between the copies (:attr:`RecordCheck.problems`, I5).

Each cosignature writes, in this order, the checkpoint file, ``latest.json``
and the journal line (``Authority.record_cosigned``).  A witness killed
between two of these writes leaves one of two states, which are warnings,
not errors, and which the witness completes when it starts
(``Authority.recover``):

* the journal lacks its last line (``latest.json`` and the checkpoint file
  agree on a size beyond it, and no other kept checkpoint lies between);
* the journal's last line is cut short (no final newline);
* a checkpoint file beyond ``latest.json`` that neither the state nor the
  journal records (the largest kept, the witness stopped before its state).

Everything else -- a damaged or missing ``latest.json``, a journal that goes
back or records two roots at one size, a checkpoint file that does not
verify, is missing, or records another root -- is an error.

Pure: given the files' bytes; no file, clock or network.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import cosignatures_by
from custody.ledger.errors import CustodyError
from custody.ledger.i18n import _
from custody.ledger.note import Verifier, open_note
from custody.verify.findings import ERROR, WARNING
from custody.verify.trust import RecordedHead

__all__ = ["JOURNAL", "LATEST", "RecordCheck", "cross_check", "journal_gap", "parse_journal", "parse_latest"]

LATEST: Final = "latest.json"
JOURNAL: Final = "cosigned.jsonl"
#: Sizes listed in one message at most.
_LIST = 8


@dataclass(frozen=True)
class RecordCheck:
    """The record of one origin: what it vouches for and where its copies disagree."""

    heads: tuple[RecordedHead, ...]  # every size and root recorded, by size
    latest: RecordedHead | None  # the largest size recorded anywhere (None: nothing cosigned)
    problems: tuple[tuple[str, str], ...]  # (severity, message)


@dataclass(frozen=True)
class LatestState:
    """``latest.json``."""

    head: RecordedHead
    checkpoint: str  # the file name it names


def _sizes(sizes: Sequence[int]) -> str:
    shown = ", ".join(str(s) for s in sizes[:_LIST])
    return shown + (", …" if len(sizes) > _LIST else "")


def _root(value: Any) -> bytes:
    root = base64.b64decode(str(value), validate=True)
    if len(root) != 32:
        raise ValueError("root_hash")
    return root


def _size(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("size")
    return value


def _not_json(constant: str) -> None:
    # NaN and Infinity are not JSON (RFC 8259 §6): a record holding them is damaged.
    raise ValueError(constant)


def parse_latest(data: bytes, origin: str) -> LatestState:
    """``latest.json``'s content; ValueError if it is not the state of ``origin``."""
    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("not JSON") from None
    if not isinstance(doc, dict) or doc.get("origin") != origin:
        raise ValueError("origin")
    try:
        timestamp = doc["timestamp"]
        head = RecordedHead(_size(doc["size"]), _root(doc["root_hash"]),
                            timestamp if isinstance(timestamp, int) else None)
        name = doc["checkpoint"]
    except (KeyError, binascii.Error):
        raise ValueError("member") from None
    return LatestState(head, str(name))


def parse_journal(data: bytes) -> tuple[list[RecordedHead], list[int], bool]:
    """The journal's cosignatures in order, the 1-based numbers of damaged lines, and whether the last is cut short."""
    heads: list[RecordedHead] = []
    damaged: list[int] = []
    lines = data.split(b"\n")
    torn = bool(lines[-1])  # the text after the last newline: a line the witness did not finish
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line.decode("utf-8"), parse_constant=_not_json)
            timestamp = doc["timestamp"]
            heads.append(RecordedHead(_size(doc["size"]), _root(doc["root_hash"]),
                                      timestamp if isinstance(timestamp, int) else None))
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error, RecursionError):
            damaged.append(number)
    return heads, damaged, torn


def journal_gap(latest: RecordedHead, journal: Sequence[RecordedHead], kept: dict[int, bytes]) -> bool:
    """Whether the journal lacks exactly ``latest``'s line: the witness stopped between the state and the journal.

    True when ``latest`` is beyond the journal's last size, its checkpoint
    file holds its root, and no kept checkpoint lies between the two (each
    cosignature writes its checkpoint file first, so a journal restored from
    an older copy would show the checkpoints it lost).
    """
    last = journal[-1].size if journal else 0
    if latest.size <= last or kept.get(latest.size) != latest.root_hash:
        return False
    return not any(last < size < latest.size for size in kept)


def _check_kept(
    kept: Sequence[tuple[str, bytes]], origin: str, log: Verifier, witness: Sequence[Verifier],
    problems: list[tuple[str, str]],
) -> dict[int, bytes]:
    """The kept checkpoints that verify: size -> root; the others are problems."""
    roots: dict[int, bytes] = {}
    for name, note in kept:
        stem = name.removesuffix(".checkpoint")
        try:
            parsed, _ok = open_note(note, [log])
            checkpoint = Checkpoint.parse(parsed.text)
            cosigned = cosignatures_by(parsed, witness)
        except CustodyError as exc:
            problems.append((ERROR, _("the kept checkpoint {name} does not verify: {why}").format(
                name=name, why=exc.message)))
            continue
        if checkpoint.origin != origin or not stem.isdigit() or int(stem) != checkpoint.size or not cosigned:
            problems.append((ERROR, _(
                "the kept checkpoint {name} is not this witness's cosigned checkpoint of that size").format(name=name)))
            continue
        roots[checkpoint.size] = checkpoint.root_hash
    return roots


def cross_check(
    latest_data: bytes | None,
    journal_data: bytes | None,
    kept: Sequence[tuple[str, bytes]],
    *,
    origin: str,
    log: Verifier,
    witness: Sequence[Verifier],
) -> RecordCheck:
    """Cross-check ``latest.json``, the journal and the kept checkpoint files (None: the file is absent)."""
    problems: list[tuple[str, str]] = []
    latest: LatestState | None = None
    if latest_data is not None:
        try:
            latest = parse_latest(latest_data, origin)
        except ValueError:
            problems.append((ERROR, _("the witness's state {file} is damaged").format(file=LATEST)))
    journal: list[RecordedHead] = []
    if journal_data is not None:
        journal, damaged, torn = parse_journal(journal_data)
        if damaged:
            problems.append((ERROR, _("{file} is damaged at line(s) {lines}").format(
                file=JOURNAL, lines=_sizes(damaged))))
        if torn:
            problems.append((WARNING, _(
                "the last line of {file} is incomplete: the witness stopped while writing it "
                "(starting the witness completes its record)").format(file=JOURNAL)))
    roots = _check_kept(kept, origin, log, witness, problems)

    # The journal in itself: sizes never go back, one root per size.
    recorded: dict[int, RecordedHead] = {}
    previous = 0
    for head in journal:
        if head.size < previous:
            problems.append((ERROR, _("{file} goes back from size {a} to {b}").format(
                file=JOURNAL, a=previous, b=head.size)))
        previous = max(previous, head.size)
        known = recorded.get(head.size)
        if known is not None and known.root_hash != head.root_hash:
            problems.append((ERROR, _("{file} records two different roots at size {size}").format(
                file=JOURNAL, size=head.size)))
        if known is None or (head.timestamp or 0) > (known.timestamp or 0):
            recorded[head.size] = head if known is None or known.root_hash == head.root_hash else known

    # latest.json against the journal and its own checkpoint file.
    if latest is not None:
        state = latest.head
        last = journal[-1] if journal else None
        if last is not None and (last.size, last.root_hash) == (state.size, state.root_hash):
            pass
        elif journal_gap(state, journal, roots):
            problems.append((WARNING, _(
                "{file} lacks the last cosignature (size {size}) that {state} records: the witness stopped "
                "between the two writes (starting the witness completes its record)").format(
                    file=JOURNAL, size=state.size, state=LATEST)))
        elif last is None:
            problems.append((ERROR, _("{state} records size {size} but {file} records no cosignature").format(
                state=LATEST, size=state.size, file=JOURNAL)))
        else:
            problems.append((ERROR, _(
                "{state} records size {size}, but the last cosignature in {file} is of size {last}").format(
                    state=LATEST, size=state.size, file=JOURNAL, last=last.size)))
        if state.size not in roots:
            problems.append((ERROR, _("the checkpoint of size {size} that {state} names ({name}) is missing").format(
                size=state.size, state=LATEST, name=latest.checkpoint)))
        elif roots[state.size] != state.root_hash:
            problems.append((ERROR, _("{state} and the kept checkpoint of size {size} record different roots").format(
                state=LATEST, size=state.size)))
        known = recorded.get(state.size)
        if known is None or known.root_hash == state.root_hash:
            recorded[state.size] = state
        else:
            problems.append((ERROR, _("{state} and {file} record different roots at size {size}").format(
                state=LATEST, file=JOURNAL, size=state.size)))
    elif latest_data is None and journal:
        problems.append((ERROR, _("{state} is missing although {file} records cosignatures up to size {size}").format(
            state=LATEST, file=JOURNAL, size=max(h.size for h in journal))))
    elif latest_data is None and len(roots) > 1:  # one alone: the first cosignature, cut before its state
        problems.append((ERROR, _("{state} is missing although checkpoints cosigned up to size {size} are kept").format(
            state=LATEST, size=max(roots))))

    # The kept checkpoint files against the record.
    state_size = latest.head.size if latest is not None else None
    lost = sorted(size for size in recorded if size not in roots and size != state_size)
    if lost:
        problems.append((ERROR, _(
            "the checkpoints of {n} cosigned size(s) recorded in {file} are missing from the trust store ({sizes}): "
            "it was restored in part or altered").format(n=len(lost), file=JOURNAL, sizes=_sizes(lost))))
    unrecorded = sorted(size for size in roots if size not in recorded)
    largest_kept = max(roots, default=None)
    for size in unrecorded:
        if size == largest_kept and (state_size is None or size > state_size):
            problems.append((WARNING, _(
                "the kept checkpoint of size {size} is not in the witness's record: the witness stopped while "
                "recording it (starting the witness completes its record)").format(size=size)))
        else:
            problems.append((ERROR, _("the kept checkpoint of size {size} is not in {file}").format(
                size=size, file=JOURNAL)))
    for size, root in sorted(roots.items()):
        entry = recorded.get(size)
        if entry is not None and entry.root_hash != root and size != state_size:
            problems.append((ERROR, _("{file} and the kept checkpoint of size {size} record different roots").format(
                file=JOURNAL, size=size)))

    heads = tuple(recorded[size] for size in sorted(recorded))
    largest = max([*heads, *(RecordedHead(s, r) for s, r in roots.items())], key=lambda h: h.size, default=None)
    return RecordCheck(heads, largest, tuple(problems))
