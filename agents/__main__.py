"""Development runner: ``python -m agents`` prints the agent's events as JSON lines.

Not the product command (that is ``custody agent run``, which signs into the
ledger); this runner uses ``JsonLinesSink`` and a ``StaticMediaIndex`` built
from ``--known`` options, for trying the agent on a machine and for measuring
it.  Stops on SIGTERM or SIGINT with ``agent.stopped``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from custody.agents.agent import Agent, AgentConfig
from custody.agents.memory import JsonLinesSink, KnownMedium, StaticMediaIndex
from custody.agents.monitor import default_filter
from custody.agents.mountinfo import MountFilter
from custody.agents.watcher import WatcherConfig


def _known(text: str) -> KnownMedium:
    """``MEDIA_ID:STATE:KIND=VALUE[:covered]``, KIND one of serial, uuid, label, volume_id."""
    parts = text.split(":")
    if len(parts) < 3 or "=" not in parts[2]:
        raise argparse.ArgumentTypeError("expected MEDIA_ID:STATE:KIND=VALUE[:covered]")
    kind, _, value = parts[2].partition("=")
    if kind not in ("serial", "uuid", "label", "volume_id"):
        raise argparse.ArgumentTypeError(f"unknown identifier kind {kind!r}")
    return KnownMedium(
        media_id=parts[0], state=parts[1], write_covered="covered" in parts[3:], **{kind: value}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents", description=__doc__)
    parser.add_argument("--mount-table", help="a mountinfo-format file (default: /proc/self/mountinfo)")
    parser.add_argument("--root", action="append", default=[], help="media root (repeatable)")
    parser.add_argument("--heartbeat", type=float, default=60.0, help="seconds between heartbeats")
    parser.add_argument("--reconcile", type=float, default=10.0, help="seconds between snapshot walks")
    parser.add_argument("--known", action="append", type=_known, default=[], help="a registered medium")
    parser.add_argument("--on-alert", nargs="+", help="command (argv) run with the alert JSON on stdin")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    mount_filter = MountFilter(roots=tuple(args.root)) if args.root else default_filter()
    config = AgentConfig(
        mount_table=args.mount_table,
        mount_filter=mount_filter,
        heartbeat_interval=args.heartbeat,
        watcher=WatcherConfig(reconcile_interval=args.reconcile),
        on_alert=tuple(args.on_alert) if args.on_alert else None,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    Agent(JsonLinesSink(), StaticMediaIndex(args.known), config).run_forever(stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
