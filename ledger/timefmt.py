"""RFC 3339 timestamps with an explicit offset (docs/spec.md §3-§10 (formats): ``at``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from custody.ledger.errors import FormatError

#: Japan Standard Time (+09:00, no daylight saving): the zone of the work locations and of the forms.
JST = timezone(timedelta(hours=9))

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in the machine's local offset (JST at a Japanese work location)."""
    return datetime.now(UTC).astimezone()


def format_at(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise FormatError("timestamps must carry a UTC offset")
    return moment.isoformat(timespec="milliseconds")


def parse_at(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FormatError(f"not an RFC 3339 date-time: {text!r}") from None
    if moment.tzinfo is None:
        raise FormatError(f"date-time without an offset: {text!r}")
    return moment


def at_ms(value: str) -> int:
    """An RFC 3339 date-time with offset as integer milliseconds since the epoch (ValueError if it is not one)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"date-time without an offset: {value!r}")
    return int(moment.timestamp() * 1000)
