"""Reporting to the municipality (C21, C22; special terms 第14 and 3(6)(11)): incidents reported within the
contract's deadline and followed by a detailed report, anomalies the ledger shows answered by an incident
report, and periodic reports at the contract's cadence.  Pure.

The contract sets the numbers (genesis ``reporting``; defaults below): ``incident_hours`` -- 直ちに, as
hours from detection to the municipality's notification; ``incident_detail_days`` -- days from detection to
the detailed report; ``periodic_days`` -- the longest time between periodic reports, and between cosigned checkpoints.

* **C21** an incident (``incident.reported`` without ``detail_of``; every kind but ``found``) notified later
  than ``incident_hours`` after it was detected; no detailed report (an ``incident.reported`` whose
  ``detail_of`` is the first report's seq) within ``incident_detail_days`` or by the close; an anomaly the
  ledger itself shows (an error of C10-C13, C15 or C18, or a seal found broken at check-in) with no incident
  recorded within ``incident_hours`` after it;
* **C22** more than ``periodic_days`` without a periodic report (``report.periodic``), counted from the later
  of the contract's start and the genesis entry, up to the close (or the moment of ``finish``); the same for
  checkpoints cosigned by the municipality's witness, when the verifier gives their times (3(6): the contract
  sets the cadence of both).

Everything here is a fact: reported, never refused, except a detailed report citing no recorded incident and
a periodic report whose period ends before it starts.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from custody.ledger.lifecycle.defaults import merged, municipality_name
from custody.ledger.lifecycle.fields import _d, _ids, _ms, _s
from custody.ledger.lifecycle.kernel import EventLike, Handler, RuleCode, _Out
from custody.ledger.lifecycle.state import LedgerState
from custody.ledger.rule_texts import RuleText
from custody.ledger.timefmt import JST
from custody.ledger.violation import ERROR

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

NOTIFIED_LATE = RuleText(
    "Incident (seq {seq}) detected at {detected} was notified to the municipality at {notified}, later than the {h} "
    "hours the contract allows"
)
NEED_PROMPT_REPORT = RuleText("the municipality notified within {h} hours of detection (special terms 第14)")
DO_REPORT_AT_ONCE = RuleText(
    "Report incidents to the municipality at once and record when (custody incident --notified-at)."
)
NO_DETAIL = RuleText("Incident (seq {seq}) detected at {detected} has no detailed report (due {due})")
NEED_DETAIL = RuleText("a detailed report of the incident: cause, records concerned, measures (special terms 第14)")
DO_DETAIL = RuleText("Record the detailed report (custody incident --detail-of SEQ ...).")
DETAIL_OF_UNKNOWN = RuleText("detail_of {ref} is not an incident reported in this ledger")
DO_CITE_INCIDENT = RuleText("Give the seq of the first report of the incident (custody status).")
ANOMALY_UNREPORTED = RuleText(
    "The ledger shows an anomaly ({rule}, seq {seq}) with no incident reported within {h} hours"
)
NEED_INCIDENT = RuleText("an incident report of the anomaly (special terms 3(11), 第14)")
DO_REPORT_ANOMALY = RuleText(
    "Report it as an incident, or as suspicion when unsure (custody incident --kind suspicion)."
)
NO_PERIODIC = RuleText(
    "No periodic report from {start} to {end} ({days} days; the contract requires one at least every {n} days)"
)
NEED_PERIODIC = RuleText("a periodic report to the municipality (special terms 3(6))")
DO_PERIODIC = RuleText(
    "Report the state of the work and the media to the municipality and record it (custody periodic record)."
)
NO_COSIGNED = RuleText(
    "No checkpoint cosigned by the municipality's witness from {start} to {end} ({days} days; the contract requires "
    "one at least every {n} days)"
)
NEED_COSIGNED = RuleText("a checkpoint of the ledger cosigned by the municipality's witness (special terms 3(6))")
DO_COSIGNED = RuleText(
    "Send a checkpoint to the municipality's witness and import its cosignature (custody checkpoint --submit URL)."
)
PERIOD_BACKWARDS = RuleText("The reported period ends ({to}) before it starts ({from_})")
DO_FIX_PERIOD = RuleText("Check --from and --to.")

#: Defaults when the contract sets nothing (docs/spec-rules.md §C21, §C22).
DEFAULT_INCIDENT_HOURS = 24
DEFAULT_DETAIL_DAYS = 14
DEFAULT_PERIODIC_DAYS = 31
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
MAX_ANOMALIES = 1_000  # awaiting an incident; beyond, the oldest are kept (each is reported anyway)

#: Codes whose errors are anomalies the vendor must report as an incident (or suspicion).
ANOMALY_CODES = frozenset({"C10", "C11", "C12", "C13", "C15", "C18"})


def settings(st: LedgerState) -> tuple[int, int, int]:
    """(incident hours, detail days, periodic days) of the contract."""
    r = _d(st.genesis or {}, "reporting")

    def num(key: str, default: int) -> int:
        v = r.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else default

    return (num("incident_hours", DEFAULT_INCIDENT_HOURS), num("incident_detail_days", DEFAULT_DETAIL_DAYS),
            num("periodic_days", DEFAULT_PERIODIC_DAYS))


def _duty(st: LedgerState, key: str, empty: Any) -> Any:
    return st.duties.setdefault(key, empty)


def _h_incident(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    hours, _detail, _periodic = settings(st)
    incidents: dict[str, Any] = st.duties.get("incidents", {})
    ref = e.body.get("detail_of")
    if isinstance(ref, int) and not isinstance(ref, bool):
        if str(ref) not in incidents:
            out.add("C21", ERROR, DETAIL_OF_UNKNOWN, todo=DO_CITE_INCIDENT, ref=ref)
        elif commit:
            incidents[str(ref)]["detail_seq"] = e.seq
        return
    detected = _ms(_s(e.body, "detected_at")) or _ms(e.at)
    notified_s = _s(e.body, "notified_at") or e.at
    notified = _ms(notified_s)
    media = next(iter(_ids(e.body, "media_ids")), None)  # the first medium named, as C14 names it
    if detected is not None and notified is not None and notified - detected > hours * HOUR_MS:
        out.add("C21", ERROR, NOTIFIED_LATE, media=media, missing=NEED_PROMPT_REPORT, todo=DO_REPORT_AT_ONCE,
                blocking=False, seq=e.seq, detected=_s(e.body, "detected_at") or e.at, notified=notified_s, h=hours)
    _answer_anomalies(st, e, out, commit, hours)
    if commit and _s(e.body, "kind") != "found" and detected is not None:
        _duty(st, "incidents", {})[str(e.seq)] = {"ms": detected, "detected": _s(e.body, "detected_at") or e.at,
                                                  "detail_seq": None, "media": media}


def _answer_anomalies(st: LedgerState, e: EventLike, out: _Out, commit: bool, hours: int) -> None:
    """An incident answers the anomalies before it: those of its media and those of no medium (all, when it
    names no medium); one answered later than ``hours`` is C21."""
    pending: list[dict[str, Any]] = st.duties.get("anomalies", [])
    named = set(_ids(e.body, "media_ids"))
    at = _ms(e.at)
    kept = []
    for a in pending:
        if named and a["media"] and a["media"] not in named:
            kept.append(a)
            continue
        if at is not None and at - a["ms"] > hours * HOUR_MS:
            out.add("C21", ERROR, ANOMALY_UNREPORTED, media=a["media"] or None, missing=NEED_INCIDENT,
                    todo=DO_REPORT_ANOMALY, blocking=False, rule=a["code"], seq=a["seq"], h=hours)
    if commit and pending:
        st.duties["anomalies"] = kept


def note_anomalies(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """After every entry's rules: keep the anomalies it shows until an incident answers them."""
    if not commit or (not out.items and e.type != "media.checked_in"):  # nothing to keep: most entries
        return
    found = {(v.code, v.media_id) for v in out.items if v.code in ANOMALY_CODES and v.severity == ERROR}
    if e.type == "media.checked_in" and e.body.get("seals_intact") is False:
        found.add(("C14", _s(e.body, "media_id") or None))
    if not found:
        return
    at = _ms(_s(e.body, "observed_at") or e.at)
    if at is None:
        return
    pending: list[dict[str, Any]] = _duty(st, "anomalies", [])
    for code, media in sorted(found, key=lambda x: (x[0], x[1] or "")):
        pending.append({"seq": e.seq, "ms": at, "code": code, "media": media or ""})
    del pending[:-MAX_ANOMALIES]


def _h_periodic(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    period = _d(e.body, "period")
    start, end = _s(period, "from"), _s(period, "to")
    if start and end and end < start:
        out.add("C17", ERROR, PERIOD_BACKWARDS, todo=DO_FIX_PERIOD, to=end, from_=start)
        return
    at = _ms(e.at)
    if commit and at is not None:
        _duty(st, "periodic", []).append([e.seq, at])


def end_reporting(st: LedgerState, out: _Out, when: int, *, closing: bool,
                  cosigned: Sequence[int] | None = None) -> None:
    """C21 and C22 as of ``when`` (module documentation); ``cosigned``: the times (ms) the municipality's
    witness cosigned a checkpoint, when known (the verifier), for their cadence."""
    hours, detail_days, periodic_days = settings(st)
    for a in st.duties.get("anomalies", []):
        if when - a["ms"] > hours * HOUR_MS:
            out.add("C21", ERROR, ANOMALY_UNREPORTED, media=a["media"] or None, missing=NEED_INCIDENT,
                    todo=DO_REPORT_ANOMALY, blocking=False, at_seq=a["seq"], rule=a["code"], seq=a["seq"],
                    h=hours)
    for seq, incident in st.duties.get("incidents", {}).items():
        due = incident["ms"] + detail_days * DAY_MS
        if incident["detail_seq"] is None and (closing or when > due):
            out.add("C21", ERROR, NO_DETAIL, media=incident.get("media"), missing=NEED_DETAIL, todo=DO_DETAIL,
                    blocking=False, at_seq=int(seq), seq=seq, detected=incident["detected"], due=_iso(due))
    _end_periodic(st, out, when, periodic_days, [ms for _seq, ms in st.duties.get("periodic", [])],
                  (NO_PERIODIC, NEED_PERIODIC, DO_PERIODIC))
    if cosigned is not None:
        _end_periodic(st, out, when, periodic_days, cosigned, (NO_COSIGNED, NEED_COSIGNED, DO_COSIGNED))


def _end_periodic(st: LedgerState, out: _Out, when: int, days: int, done: Sequence[int],
                  texts: tuple[RuleText, RuleText, RuleText]) -> None:
    """C22: a gap longer than ``days`` between the moments ``done`` (periodic reports, or cosignatures) within
    the contract period, counted from its start (:func:`_periodic_start`) up to ``when`` (at most the
    period's end)."""
    start = _periodic_start(st)
    if start is None:
        return
    if st.period_end_ms is not None:
        when = min(when, st.period_end_ms)
    message, missing, todo = texts
    marks = [start, *sorted(ms for ms in done if start < ms < when), when]
    for a, b in itertools.pairwise(marks):
        if b - a > days * DAY_MS:
            out.add("C22", ERROR, message, missing=missing, todo=todo, blocking=False,
                    start=_iso(a), end=_iso(b), days=(b - a) // DAY_MS, n=days)


def _periodic_start(st: LedgerState) -> int | None:
    """The later of the contract's start and the genesis entry: the ledger cannot show reports before it."""
    genesis = st.duties.get("genesis_ms")
    start = _s(_d(st.genesis or {}, "period"), "start")
    begin = _ms(f"{start}T00:00:00+09:00") if start else None
    moments = [m for m in (genesis, begin) if isinstance(m, int)]
    return max(moments) if moments else None


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(JST).isoformat(timespec="minutes")


def watches(event_type: str) -> bool:
    """Whether ``watch`` has anything to judge in an entry of this type."""
    return event_type == "incident.reported"


def watch(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """C21 at an incident (its own handler, C14, is the closing family's)."""
    if e.type == "incident.reported":
        _h_incident(st, e, out, commit)


#: The entry types this family handles.
HANDLERS: dict[str, Handler] = {
    "report.periodic": _h_periodic,
}

#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C21", RuleText("incident not reported in time, or without its detailed report"), "incidents"),
    RuleCode("C22", RuleText("periodic report or cosigned checkpoint missing"), "reporting"),
)


# --- bodies: what the CLI records (ledger/lifecycle/defaults.py) ---


def body_for_report_periodic(state: LedgerState, *, at: str, period_from: str, period_to: str, summary: str,
                             to_person: str, to_org: str | None, submitted_at: str | None,
                             **options: Any) -> dict[str, Any]:
    """report.periodic: submitted now (``at``) to the municipality unless told, with the register as reported
    (the state's counts), the ledger's size at the report and the incidents so far (``remarks``, ...)."""
    incidents = sum(1 for i in state.incidents if i.get("kind") != "found")
    return merged({
        "period": {"from": period_from, "to": period_to},
        "submitted_to": {"organisation": to_org or municipality_name(state) or "-", "person": to_person},
        "summary": summary, "submitted_at": submitted_at or at,
        "media": state.counts(), "checkpoint": {"size": state.last_seq + 1}, "incidents": incidents,
    }, options)
