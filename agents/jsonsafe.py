"""Keep event bodies JSON-compatible: no floats, no lone surrogates, RFC 3339 times.

Linux paths and labels are bytes.  Python decodes them with
``surrogateescape``, so a name that is not valid UTF-8 becomes a ``str`` with
lone surrogates, which RFC 8785 refuses.  Such a value goes into a body as its
readable form (invalid bytes replaced by U+FFFD) plus ``<name>_b64``: the
exact bytes, base64.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime

from custody.agents.errors import BodyError

MAX_SAFE_INTEGER = 2**53 - 1

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in the machine's local offset (JST at a Japanese work location)."""
    return datetime.now(UTC).astimezone()


def rfc3339(moment: datetime) -> str:
    """RFC 3339 with an explicit offset and milliseconds (the ledger's ``at`` form)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BodyError("timestamps must carry a UTC offset")
    return moment.isoformat(timespec="milliseconds")


def is_clean_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_fields(name: str, value: str | None) -> dict[str, object]:
    """``{name: value}``, or with ``name_b64`` when the value is not valid UTF-8."""
    if value is None or is_clean_text(value):
        return {name: value}
    raw = value.encode("utf-8", "surrogateescape")
    return {
        name: raw.decode("utf-8", "replace"),
        f"{name}_b64": base64.b64encode(raw).decode("ascii"),
    }


def check_body(value: object, where: str = "body") -> None:
    """Raise ``BodyError`` unless ``value`` is a JSON value custody can sign."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        if not is_clean_text(value):
            raise BodyError(f"{where}: string with a lone surrogate")
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise BodyError(f"{where}: integer beyond +/-(2^53-1)")
        return
    if isinstance(value, float):
        raise BodyError(f"{where}: floats are not allowed")
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_body(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not is_clean_text(key):
                raise BodyError(f"{where}: object key {key!r} is not a clean string")
            check_body(item, f"{where}.{key}")
        return
    raise BodyError(f"{where}: {type(value).__name__} is not a JSON type")
