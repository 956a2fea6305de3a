"""Japanese era dates (和暦): 令和8年12月6日 for 2026-12-06 (docs/reports.md, Dates).

Municipal documents in Japan are dated in the era calendar.  An era starts on the day
its emperor's reign began (令和: 2019-05-01, so 2019-04-30 is 平成31年4月30日 and
2019-05-01 is 令和元年5月1日); the first year of an era is written 元年, not 1年.

Only dates from 1873-01-01 on are converted: Japan used the lunisolar calendar
before Meiji 6, so a Gregorian date before then has no era date of this form;
:func:`era_date` returns None for it and callers show the Western date.  Pure: no
clock, no I/O.
"""

from __future__ import annotations

from datetime import date, datetime

# (first day, name, romanised name), newest last.
ERAS: tuple[tuple[date, str, str], ...] = (
    (date(1868, 1, 25), "明治", "Meiji"),
    (date(1912, 7, 30), "大正", "Taisho"),
    (date(1926, 12, 25), "昭和", "Showa"),
    (date(1989, 1, 8), "平成", "Heisei"),
    (date(2019, 5, 1), "令和", "Reiwa"),
)
GREGORIAN_FROM = date(1873, 1, 1)  # 明治6年1月1日: the first day of the Gregorian calendar in Japan


def era_of(day: date) -> tuple[str, int] | None:
    """The era name and the year within it (1 for 元年); None before 1873-01-01."""
    if day < GREGORIAN_FROM:
        return None
    for start, name, _roman in reversed(ERAS):
        if day >= start:
            return name, day.year - start.year + 1
    return None  # unreachable: GREGORIAN_FROM is inside 明治


def era_year(name: str, year: int) -> str:
    """``令和8年``, ``令和元年``."""
    return f"{name}{'元' if year == 1 else year}年"


def era_date(day: date) -> str | None:
    """``令和8年12月6日`` (``令和元年5月1日`` in an era's first year); None before 1873."""
    era = era_of(day)
    if era is None:
        return None
    return f"{era_year(*era)}{day.month}月{day.day}日"


def western_date_ja(day: date) -> str:
    """``2026年12月6日``: the Western calendar written the Japanese way."""
    return f"{day.year}年{day.month}月{day.day}日"


def japanese_date(day: date, *, era: bool = True) -> str:
    """A date as a Japanese document writes it: in the era calendar unless ``era`` is False (or before 1873)."""
    return (era_date(day) if era else None) or western_date_ja(day)


def japanese_datetime(at: str, *, era: bool = True, seconds: bool = True) -> str:
    """An RFC 3339 date-time as Japanese text with its zone: ``令和8年12月6日 21:53:07 (JST)``.

    The time is shown as recorded, never converted: ``(JST)`` for +09:00, ``(UTC+00:00)`` for another
    offset.  Text that is not a date-time with an offset is returned unchanged.
    """
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return at
    if moment.tzinfo is None:
        return at
    offset = moment.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    zone = "JST" if offset == "+09:00" else f"UTC{offset}"
    clock = f"{moment:%H:%M:%S}" if seconds else f"{moment:%H:%M}"
    return f"{japanese_date(moment.date(), era=era)} {clock} ({zone})"


__all__ = [
    "ERAS",
    "GREGORIAN_FROM",
    "era_date",
    "era_of",
    "era_year",
    "japanese_date",
    "japanese_datetime",
    "western_date_ja",
]
