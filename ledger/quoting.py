"""Text from outside (a bundle, a document) quoted in a message: shortened and made printable.

A bundle is written by the party under audit, so anything taken from it --
an origin, a file name, a key name, a parser's complaint that repeats what it
read -- may be megabytes long or hold control characters (a terminal escape,
a line break that forges a second line of output).  Every such value passes
through ``quote`` before it enters a message: at most ``limit`` characters are
kept, the rest is replaced by a note of the full length, and every character
that is not printable is written as a Python-style escape (``\\x1b``,
``\\u202e``).  The cost is linear in ``limit``, never in the value's length
beyond one slice (docs/spec.md §10.8).  Pure logic: no I/O.
"""

from __future__ import annotations

from custody.ledger.i18n import _

QUOTE_LIMIT = 120  # characters kept of a quoted value: an origin, a file or key name
REASON_LIMIT = 300  # characters kept of a parser's explanation, which may itself quote


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as text for a message: at most ``limit`` characters, every one printable."""
    if isinstance(value, bytes | bytearray):
        most = limit * 4 + 4  # UTF-8: up to 4 bytes a character; decode only what can be shown
        if len(value) > most:
            shown = bytes(value[:most]).decode("utf-8", "backslashreplace")[:limit]
            return _printable(shown) + _("… ({n} bytes in all)").format(n=f"{len(value):,}")
        text = bytes(value).decode("utf-8", "backslashreplace")
    else:
        text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return _printable(text)
    return _printable(text[:limit]) + _("… ({n} characters in all)").format(n=f"{len(text):,}")


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
