"""Line breaking for Japanese and mixed text, for the PDF renderer.

reportlab's own CJK mode breaks between any two characters and backs up to a
space only within half a line, so product names and numbers get cut
("RUF3-K32G|A", "1,659,45|0") and an opening bracket can end a line.  Here,
simplified from UAX #14 and JIS X 4051:

* a break may fall between two characters when either is Japanese (kanji,
  kana, full-width forms, Japanese punctuation), or after a space;
* never before a character that may not start a line (。、」）ー and small
  kana ... -- 行頭禁則) nor after one that may not end it (「（ ... -- 行末禁則);
* a run of Latin letters, digits and ASCII punctuation (a word, a number, a
  date, a serial) is not broken, unless it is longer than the whole line;
  then it is cut where it overflows;
* a hash is cut anywhere (``anywhere=True``).

Lines are filled greedily.  Spaces at the end of a line are dropped; ``\\n``
always breaks.  Widths come from the caller's measure, so the lines fit the
font they will be set in.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

# 行頭禁則: characters that must not begin a line.
NO_START = frozenset(
    "、。，．,.:;?!！？：；・ー〜～…‥"
    "」』）］｝〕〉》】〙〗〟’”)]}›»"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
    "々〻ゝゞヽヾ゛゜%％‰℃°′″"
)
# 行末禁則: characters that must not end a line.
NO_END = frozenset("「『（［｛〔〈《【〘〖〝‘“([{‹«")
SPACES = frozenset(" \u3000")

_CJK_RANGES = (
    (0x2E80, 0x2FDF),  # radicals
    (0x2FF0, 0x303F),  # ideographic description, CJK symbols and punctuation
    (0x3040, 0x31FF),  # hiragana, katakana, bopomofo, kanbun, katakana extensions
    (0x3200, 0x33FF),  # enclosed CJK, CJK compatibility
    (0x3400, 0x4DBF),  # extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0xFE30, 0xFE4F),  # compatibility forms
    (0xFF00, 0xFFEF),  # full-width and half-width forms
    (0x20000, 0x3FFFF),  # extensions B and later
)


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _CJK_RANGES)


# A character's line-breaking class, as bits: looked up once per distinct character (a report's text draws
# on a few hundred), then read from this table, rather than ten range tests per character per line measured.
_CJK, _NO_START, _NO_END, _SPACE = 1, 2, 4, 8
_classes: dict[str, int] = {}


def _class_of(ch: str) -> int:
    flags = _classes.get(ch)
    if flags is None:
        flags = _classes[ch] = (
            (_CJK if is_cjk(ch) else 0) | (_NO_START if ch in NO_START else 0)
            | (_NO_END if ch in NO_END else 0) | (_SPACE if ch in SPACES else 0)
        )
    return flags


def can_break(before: str, after: str) -> bool:
    """Whether a line may break between two adjacent characters."""
    return _may_break(_class_of(before), _class_of(after))


def _may_break(before: int, after: int) -> bool:
    if after & (_NO_START | _SPACE) or before & _NO_END:
        return False
    return bool(before & _SPACE or (before | after) & _CJK)


def _break_points(line: str, anywhere: bool) -> list[int]:
    """Indexes where a segment starts (after a permitted break), beginning with 0."""
    if anywhere:
        return list(range(len(line)))
    if line.isascii() and " " not in line:
        return [0]  # no space and no Japanese: one unbreakable run (a serial, a number, a date, a hash)
    get = _classes.get
    classes = [get(ch, -1) for ch in line]
    if -1 in classes:  # a character not seen before
        classes = [_class_of(ch) for ch in line]
    # _may_break, inline: this runs for every character of every cell that does not fit its column.
    return [0, *(i for i, (before, after) in enumerate(itertools.pairwise(classes), start=1)
                 if not (after & (_NO_START | _SPACE) or before & _NO_END)
                 and (before & _SPACE or (before | after) & _CJK))]


def longest_run(text: str, char_width: Callable[[str], float], *, anywhere: bool = False) -> float:
    """The width of the widest piece of ``text`` that no break may divide (a serial, a word, a number).

    With ``anywhere`` (a hash) the whole line is one piece: a renderer sets such a token smaller until it
    fits its column rather than cut it (docs/reports.md: serials and hashes are never broken mid-token).
    """
    widest = 0.0
    for hard in text.split("\n"):
        if anywhere:
            widest = max(widest, sum(map(char_width, hard)))
            continue
        starts = _break_points(hard, False)
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else len(hard)
            piece = hard[start:end].rstrip(" ")
            widest = max(widest, sum(map(char_width, piece)))
    return widest


def break_lines(
    text: str,
    width: float,
    char_width: Callable[[str], float],
    *,
    anywhere: bool = False,
) -> list[str]:
    """``text`` as lines no wider than ``width`` (a single character may exceed it)."""
    lines: list[str] = []
    for hard in text.split("\n"):
        lines.extend(_fill(hard, width, char_width, anywhere))
    return lines


def _fill(line: str, width: float, char_width: Callable[[str], float], anywhere: bool) -> list[str]:
    widths = list(map(char_width, line))
    if sum(widths) <= width:
        return [line]
    starts = _break_points(line, anywhere)
    out: list[str] = []
    begin = 0  # start of the current line
    used = 0.0  # its width so far, trailing spaces included
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(line)
        seg_width = sum(widths[start:end])
        visible_end = end
        while visible_end > start and line[visible_end - 1] == " ":
            visible_end -= 1
        visible = sum(widths[start:visible_end])
        if start > begin and used + visible > width:
            out.append(line[begin:start].rstrip(" "))
            begin, used = start, 0.0
        if start == begin and visible > width:
            # Longer than a whole line (a long number or word): cut where it overflows.
            for i in range(start, end):
                if i > begin and used + widths[i] > width and line[i] != " ":
                    out.append(line[begin:i].rstrip(" "))
                    begin, used = i, 0.0
                used += widths[i]
            continue
        used += seg_width
    out.append(line[begin:].rstrip(" "))
    return out
