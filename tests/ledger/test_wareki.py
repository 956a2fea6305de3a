"""和暦: era dates across the era boundaries, 元年 for an era's first year, and date-times with their zone."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.ledger.wareki import (
    ERAS,
    GREGORIAN_FROM,
    era_date,
    era_of,
    japanese_date,
    japanese_datetime,
    western_date_ja,
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 4, 30), "平成31年4月30日"),  # the last day of Heisei
        (date(2019, 5, 1), "令和元年5月1日"),  # the first day of Reiwa: 元年, not 1年
        (date(2019, 12, 31), "令和元年12月31日"),
        (date(2020, 1, 1), "令和2年1月1日"),
        (date(2026, 12, 6), "令和8年12月6日"),
        (date(1989, 1, 7), "昭和64年1月7日"),  # the last day of Showa
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1912, 7, 29), "明治45年7月29日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1873, 1, 1), "明治6年1月1日"),  # the first Gregorian day in Japan
        (date(2100, 1, 1), "令和82年1月1日"),
    ],
)
def test_era_dates_at_the_boundaries(day: date, expected: str) -> None:
    assert era_date(day) == expected


def test_before_the_gregorian_calendar_there_is_no_era_date() -> None:
    assert era_of(date(1872, 12, 31)) is None and era_date(date(1872, 12, 31)) is None
    assert japanese_date(date(1872, 12, 31)) == "1872年12月31日"  # the Western date instead


def test_western_on_request() -> None:
    assert japanese_date(date(2026, 12, 6), era=False) == "2026年12月6日" == western_date_ja(date(2026, 12, 6))
    assert japanese_date(date(2026, 12, 6)) == "令和8年12月6日"


@pytest.mark.parametrize(
    ("at", "kwargs", "expected"),
    [
        ("2026-12-06T21:53:07+09:00", {}, "令和8年12月6日 21:53:07 (JST)"),
        ("2026-12-06T21:53:07+09:00", {"seconds": False}, "令和8年12月6日 21:53 (JST)"),
        ("2026-12-06T12:53:07Z", {}, "令和8年12月6日 12:53:07 (UTC+00:00)"),
        ("2019-04-30T23:59:59-05:00", {}, "平成31年4月30日 23:59:59 (UTC-05:00)"),  # the date as recorded
        ("2019-05-01T00:00:00+09:00", {"era": False}, "2019年5月1日 00:00:00 (JST)"),
        ("2026-12-06T21:53:07", {}, "2026-12-06T21:53:07"),  # no offset: shown as it is
        ("not a time", {}, "not a time"),
    ],
)
def test_date_times(at: str, kwargs: dict[str, bool], expected: str) -> None:
    assert japanese_datetime(at, **kwargs) == expected


@given(st.dates(min_value=GREGORIAN_FROM, max_value=date(2200, 12, 31)))
def test_every_day_has_one_era_and_the_year_counts_from_its_start(day: date) -> None:
    era = era_of(day)
    assert era is not None
    name, year = era
    start = next(s for s, n, _r in ERAS if n == name)
    assert start <= day and day.year - start.year + 1 == year >= 1
    later = [s for s, _n, _r in ERAS if s > start]
    assert not later or day < later[0]
    text = era_date(day)
    assert text is not None and text.startswith(name) and text.endswith(f"{day.month}月{day.day}日")
    assert ("元年" in text) == (year == 1)
