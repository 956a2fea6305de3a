"""Japanese line breaking: per character, kinsoku, Latin words whole, hashes anywhere."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from custody.verify.reports.linebreak import break_lines, can_break


def width_of(ch: str) -> float:
    # A monospace-like measure: full width 2, everything else 1.
    return 2.0 if ord(ch) >= 0x2E80 else 1.0


def lines(text: str, width: float, anywhere: bool = False) -> list[str]:
    return break_lines(text, width, width_of, anywhere=anywhere)


def measure(s: str) -> float:
    return sum(width_of(c) for c in s)


def test_fits_on_one_line() -> None:
    assert lines("媒体管理台帳", 12) == ["媒体管理台帳"]
    assert lines("", 5) == [""]


def test_japanese_breaks_between_any_characters() -> None:
    assert lines("媒体管理台帳の登録", 6) == ["媒体管", "理台帳", "の登録"]


def test_line_start_and_end_rules() -> None:
    # 。 may not start a line: 帳 goes down with it.
    assert lines("台帳です。", 8) == ["台帳で", "す。"]
    # （ may not end a line: it goes down with 暗.
    assert lines("外付（暗号化）", 6) == ["外付", "（暗号", "化）"]
    assert not can_break("あ", "ー")
    assert not can_break("「", "あ")
    assert can_break("あ", "い")


def test_latin_words_numbers_and_dates_stay_whole() -> None:
    assert lines("Buffalo RUF3-K32GA", 12) == ["Buffalo", "RUF3-K32GA"]
    assert lines("件数 1,659,450", 10) == ["件数", "1,659,450"]
    assert lines("作成日2025-04-01", 12) == ["作成日", "2025-04-01"]
    assert lines("This note mixes English words", 12) == ["This note", "mixes", "English", "words"]


def test_word_longer_than_line_is_cut() -> None:
    assert lines("SN0000000012345", 6) == ["SN0000", "000012", "345"]


def test_hash_breaks_anywhere() -> None:
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    out = lines(digest, 20, anywhere=True)
    assert all(len(line) == 20 for line in out[:-1])
    assert "".join(out) == digest


def test_hard_line_breaks() -> None:
    assert lines("一行目\n二行目", 20) == ["一行目", "二行目"]
    assert lines("a\n\nb", 20) == ["a", "", "b"]


def test_trailing_spaces_dropped_at_breaks() -> None:
    assert lines("alpha beta gamma", 11) == ["alpha beta", "gamma"]


ALPHABET = st.sampled_from([*"媒体管理台帳をにはの、。「」（）ーっャabcXYZ019-,. ", "\u3000"])


@settings(max_examples=300, deadline=None)
@given(text=st.text(ALPHABET, max_size=60), width=st.integers(min_value=2, max_value=30))
def test_properties(text: str, width: int) -> None:
    out = lines(text, width)
    # Nothing but spaces at breaks is lost, and order is kept.
    assert "".join(out).replace(" ", "") == text.replace(" ", "")
    pos = 0
    for number, line in enumerate(out):
        # Each line fits, unless a single character is wider than the line.
        assert measure(line) <= width or len(line) == 1
        assert not line.endswith(" ") or len(out) == 1  # a text that fits is kept as it is
        assert text.startswith(line, pos)
        start = pos
        pos += len(line)
        while pos < len(text) and text[pos] == " ":
            pos += 1
        if number + 1 < len(out) and 0 < pos < len(text):
            # Every break is a permitted one, or a forced cut of a full line.
            before, after = text[pos - 1], text[pos]
            full = measure(text[start:pos]) + width_of(after) > width  # dropped spaces included
            assert can_break(before, after) or full, (line, after)
    assert pos == len(text)


def test_properties_anywhere() -> None:
    digest = "sha256:" + "ab" * 40
    for width in range(1, 30):
        out = lines(digest, width, anywhere=True)
        assert "".join(out) == digest
        assert all(measure(line) <= width for line in out)
