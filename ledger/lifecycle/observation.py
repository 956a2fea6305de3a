"""What the work-location agent observes (C10-C13): unregistered media attached or written to, disposed
or returned media seen again, and silences longer than the agent's allowed gap.  Pure.
"""

from __future__ import annotations

from typing import Any

from custody.ledger import rule_texts as txt
from custody.ledger.lifecycle.fields import _d, _ms, _ms_of_us, _s
from custody.ledger.lifecycle.kernel import EventLike, Handler, RuleCode, _Out
from custody.ledger.lifecycle.state import AgentView, LedgerState, _cover
from custody.ledger.media import CHECKED_OUT, GONE, IN_STORAGE, LOST, TAKEN_OUT, Medium
from custody.ledger.rule_texts import RuleText, Text, fill, state_text
from custody.ledger.violation import ERROR, WARNING

# --- texts (English keys, Japanese in ledger/locale/ja/rules.po): ledger/rule_texts.py for the conventions ---

UNCOVERED_WRITES = RuleText(
    "{n} write batch(es) to medium {m} with no covering copy or takeout approval (first at seq {seq})"
)
DO_APPROVE_WRITES = RuleText("Writing data to removable media is copying: it needs the municipality's prior approval.")
AGENT_QUIET = RuleText("The agent {actor} has recorded nothing since seq {seq} ({s} s)")
DO_CHECK_RUNNING = RuleText("Check that the agent is running.")
AGENT_SILENT = RuleText("The agent {actor} recorded nothing for {s} s (allowed {a} s) and reported no gap")
DO_CHECK_AGENT = RuleText("Check why the agent was not observing (power, process, clock).")
GAP_REPORTED = RuleText("Observation gap reported by {actor}: not observing since {last} ({s} s)")
DO_EXPLAIN_GAP = RuleText("Explain the gap (custody note) and check the media handled meanwhile.")
UNREGISTERED_ATTACHED = RuleText("Unregistered removable medium attached: {volume}")
DO_REMOVE_OR_REGISTER = RuleText(
    "Remove it, or register it (custody media register) before use; report an incident if data was written."
)
SEEN_AGAIN = RuleText("Medium {m}, {state} at seq {seq}, was seen again: {what}")
DO_SECURE = RuleText("Secure the medium and report an incident (custody incident).")
WHAT_ATTACHED = RuleText("attached at {mount}")
WHAT_WRITTEN = RuleText("files written to it")
LOST_ATTACHED = RuleText("Medium {m}, reported lost, was attached")
IN_STORAGE_ATTACHED = RuleText("Medium {m} was attached while recorded as in locked storage")
DO_CHECKOUT = RuleText("Record the checkout (custody media checkout) before use.")
WRITTEN_UNREGISTERED = RuleText("{n} file(s) written to an unregistered volume {volume}")
DO_REPORT_UNREGISTERED_WRITE = RuleText(
    "No approval can cover an unregistered medium: report an incident (custody incident)."
)


DEFAULT_ALLOWED_GAP_MS = 120_000  # agents/agent.py: twice the default 60 s heartbeat


GAP_SLACK_MS = 1_000


MAX_PENDING_WRITES = 10_000  # uncovered write batches kept per medium; beyond, only counted


def gap_severity(st: LedgerState) -> str:
    """C13 is an error while a medium is out of locked storage (checked out or taken out: nobody observed
    what was done with it), else a warning (docs/spec-rules.md)."""
    return ERROR if any(m.state in (CHECKED_OUT, TAKEN_OUT) for m in st.media.values()) else WARNING


def _alive(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    """Every agent entry shows its agent alive; a silence longer than its allowed gap is C13."""
    _alive_at(st, e, out, commit)


def _alive_at(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> int | None:
    """``_alive``, returning the time it read (its ``observed_at``, else its ``at``; None if no time), which a
    file batch reads too.

    The hot path of a long ledger (heartbeats, file batches): one time parse, nothing allocated.
    """
    observed = e.body.get("observed_at")
    when = _ms(observed if isinstance(observed, str) else e.at)
    if when is None:
        return None
    agent = st.agents.get(e.actor)
    if agent is None:
        if commit:
            st.agents[e.actor] = AgentView(e.actor, True, when, e.seq, DEFAULT_ALLOWED_GAP_MS)
        return when
    silence = when - agent.last_ms
    if agent.running and silence > longest_quiet_ms(agent) and e.type != "observation.gap":
        out.add("C13", gap_severity(st), AGENT_SILENT, todo=DO_CHECK_AGENT, blocking=False, actor=e.actor,
                s=silence // 1000, a=agent.allowed_ms // 1000)
    if commit:
        heard(agent, when, e.seq)
    return when


def longest_quiet_ms(agent: AgentView) -> int:
    """The longest silence of ``agent`` that is not C13 (docs/spec-rules.md §6): its allowed gap and the slack."""
    return agent.allowed_ms + GAP_SLACK_MS


def heard(agent: AgentView, when: int, seq: int) -> None:
    """``agent`` showed itself alive at ``when`` (ms) in entry ``seq``: running, its latest time never earlier."""
    agent.last_ms = max(agent.last_ms, when)
    agent.last_seq = seq
    agent.running = True


def quiet_alive(st: LedgerState, e: EventLike, at_us: int | None = None) -> bool:
    """``_alive`` with ``commit`` for an entry that shows its known agent alive within its allowed gap
    (docs/spec-rules.md §6 C13): the agent's view moved as ``_alive`` moves it, and True.  Anything else (no
    time, an agent not yet seen, a silence that is C13): nothing changed, and False, for ``_alive`` to judge.

    ``at_us``: the entry's ``at`` already parsed to microseconds since the epoch (the verifier's workers parse
    every ``at``), used when the observation time is that same text.
    """
    observed = e.body.get("observed_at")
    text = observed if isinstance(observed, str) else e.at
    when = _ms_of_us(at_us) if at_us is not None and text == e.at else _ms(text)
    agent = st.agents.get(e.actor)
    if when is None or agent is None:
        return False
    if agent.running and when - agent.last_ms > longest_quiet_ms(agent) and e.type != "observation.gap":
        return False
    heard(agent, when, e.seq)
    return True


def _h_agent_started(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive_at(st, e, out, commit)
    agent = st.agents.get(e.actor)
    if not commit or agent is None:
        return
    config = _d(e.body, "config")
    allowed, interval = config.get("allowed_gap_ms"), config.get("heartbeat_interval_ms")
    if isinstance(allowed, int) and not isinstance(allowed, bool) and allowed > 0:
        agent.allowed_ms = allowed
    elif isinstance(interval, int) and not isinstance(interval, bool) and interval > 0:
        agent.allowed_ms = 2 * interval


def _h_agent_stopped(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive_at(st, e, out, commit)
    if commit and e.actor in st.agents:
        st.agents[e.actor].running = False


def _h_gap(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    seconds = e.body.get("gap_seconds")
    out.add("C13", gap_severity(st), GAP_REPORTED, todo=DO_EXPLAIN_GAP, blocking=False, actor=e.actor,
            last=_s(e.body, "last_heartbeat") or "-", s=seconds if isinstance(seconds, int) else "-")
    _alive_at(st, e, out, commit)


def _volume_medium(st: LedgerState, body: dict[str, Any]) -> Medium | None:
    return st.match_volume(media_id=_s(body, "media_id") or None, serial=_s(body, "serial") or None,
                           uuid=_s(body, "uuid") or None)


def _observe(st: LedgerState, media_id: str, what: str, seq: int, count: int = 1) -> None:
    counters = st.observed.get(media_id)
    if counters is None:
        counters = st.observed[media_id] = {"attached": 0, "batches": 0, "files": 0, "last_seq": seq}
    counters[what] += count
    counters["last_seq"] = seq


def _seen_again(out: _Out, m: Medium, what: Text | RuleText) -> None:
    out.add("C12", ERROR, SEEN_AGAIN, media=m.id, todo=DO_SECURE, blocking=False, m=m.id,
            state=state_text(m.state), seq=m.final_seq, what=what)


def _h_attached(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive_at(st, e, out, commit)
    body = e.body
    m = _volume_medium(st, body)
    if m is None:
        volume = _s(body, "label") or _s(body, "uuid") or _s(body, "serial") or _s(body, "volume_id") or "-"
        out.add("C10", ERROR, UNREGISTERED_ATTACHED, todo=DO_REMOVE_OR_REGISTER, blocking=False, volume=volume)
        return
    if m.state in GONE:
        _seen_again(out, m, fill(WHAT_ATTACHED, {"mount": _s(body, "mount_point") or "-"}))
    elif m.state == LOST:
        out.add("C14", WARNING, LOST_ATTACHED, media=m.id, todo=txt.DO_RECORD_FOUND, blocking=False, m=m.id)
    elif m.state == IN_STORAGE:
        out.add("C10", WARNING, IN_STORAGE_ATTACHED, media=m.id, todo=DO_CHECKOUT, blocking=False, m=m.id)
    if commit:
        _observe(st, m.id, "attached", e.seq)


def _h_files(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    seen = _alive_at(st, e, out, commit)
    body = e.body
    m = _volume_medium(st, body)
    count = body.get("count")
    n = count if isinstance(count, int) and not isinstance(count, bool) else 0
    if m is None:
        out.add("C11", ERROR, WRITTEN_UNREGISTERED, todo=DO_REPORT_UNREGISTERED_WRITE, blocking=False, n=n,
                volume=_s(body, "label") or _s(body, "volume_id") or "-")
        return
    if m.state in GONE:
        _seen_again(out, m, WHAT_WRITTEN)
    if not commit:
        return
    _observe(st, m.id, "batches", e.seq)
    _observe(st, m.id, "files", e.seq, n)
    # The batch's time for write cover (docs/spec-rules.md §6 C11): its observed_at, else (absent, malformed or
    # the epoch) its at.  ``seen`` is already the former when observed_at is text, else the latter.
    when = seen or _ms(e.at)
    if m.state in GONE or when is None or _cover(st, m.id, when) is not None:
        return
    pending = st.pending_writes.setdefault(m.id, [])
    if len(pending) < MAX_PENDING_WRITES:
        pending.append([e.seq, when])
    else:
        st.pending_overflow[m.id] = st.pending_overflow.get(m.id, 0) + 1


def _h_alert(st: LedgerState, e: EventLike, out: _Out, commit: bool) -> None:
    _alive_at(st, e, out, commit)
    if commit:
        code = _s(e.body, "code") or "?"
        st.alerts[code] = st.alerts.get(code, 0) + 1


def end_observation(st: LedgerState, out: _Out, when: int) -> None:
    """C11 and C13 at the end: writes no approval covered, and agents silent at the moment."""
    for media_id, pending in st.pending_writes.items():
        first = pending[0][0] if pending else None
        out.add("C11", ERROR, UNCOVERED_WRITES, media=media_id, todo=DO_APPROVE_WRITES, at_seq=first,
                n=len(pending) + st.pending_overflow.get(media_id, 0), m=media_id, seq=first)
    if st.closed is None:
        for agent in st.agents.values():
            if agent.running and when - agent.last_ms > longest_quiet_ms(agent):
                out.add("C13", gap_severity(st), AGENT_QUIET, todo=DO_CHECK_RUNNING, blocking=False,
                        actor=agent.actor, s=(when - agent.last_ms) // 1000, seq=agent.last_seq)


#: The entry types this family handles.
HANDLERS: dict[str, Handler] = {
    "agent.started": _h_agent_started,
    "agent.heartbeat": _alive,
    "agent.stopped": _h_agent_stopped,
    "volume.attached": _h_attached,
    "volume.detached": _alive,
    "files.written": _h_files,
    "observation.gap": _h_gap,
    "alert.raised": _h_alert,
}


#: The rule codes this family raises (legend and the inspection form's category: ledger/lifecycle/kernel.py).
CODES: tuple[RuleCode, ...] = (
    RuleCode("C10", RuleText("unregistered removable medium attached"), "②"),
    RuleCode("C11", RuleText("files written to removable media without approval"), "②"),
    RuleCode("C12", RuleText("a disposed or returned medium seen again"), "③"),
    RuleCode("C13", RuleText("observation gap"), "observation"),
)
