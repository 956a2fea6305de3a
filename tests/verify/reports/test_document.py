"""The document model: what it accepts, what it refuses, and that it is a value."""

from __future__ import annotations

from typing import Any

import pytest

from custody.ledger.errors import CustodyError
from custody.verify.reports import (
    BulletList,
    Document,
    Hash,
    KeyValues,
    Note,
    Paragraph,
    ReportModelError,
    Section,
    SignatureBoxes,
    Table,
)


def loose(value: object) -> Any:
    """A value of the wrong type, past the type checker, as content code might pass it."""
    return value


def test_sequences_become_tuples_and_documents_are_values() -> None:
    a = Document("t", meta=[("k", "v")], blocks=[Table(["a", "b"], [["1", Hash("ff")]], col_widths=[1, 2])])
    b = Document("t", meta=(("k", "v"),), blocks=(Table(("a", "b"), (("1", Hash("ff")),), col_widths=(1, 2)),))
    assert a == b
    assert hash(a) == hash(b)
    table = a.blocks[0]
    assert isinstance(table, Table)
    assert table.rows == (("1", Hash("ff")),)
    assert table.col_widths == (1, 2)


def test_errors_are_custody_errors() -> None:
    assert issubclass(ReportModelError, CustodyError)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Table(["a", "b"], [["only one"]]),
        lambda: Table(["a"], [["x"]], col_widths=[1, 2]),
        lambda: Table(["a"], [["x"]], col_widths=[loose(1.5)]),
        lambda: Table(["a"], [["x"]], col_widths=[0]),
        lambda: Table(["a"], [["x"]], align=[loose("justify")]),
        lambda: Table(["a"], [[loose(3)]]),
        lambda: Table(["a"], [[loose(None)]]),
        lambda: Table([], []),
        lambda: Table(["a"], [loose("x")]),
        lambda: Table(["a"], [["x"]], footer_rows=[["x", "y"]]),
        lambda: Paragraph("bell\x07"),
        lambda: Paragraph("tab\there"),
        lambda: Paragraph("crlf\r\n"),
        lambda: Paragraph("\ud800"),
        lambda: Note(loose(1)),
        lambda: Hash("has space"),
        lambda: Hash("ハッシュ"),
        lambda: Hash(""),
        lambda: KeyValues([loose(("only label",))]),
        lambda: KeyValues([("k", "v")], widths=loose((1, 2, 3))),
        lambda: BulletList(loose("not a list")),
        lambda: SignatureBoxes([]),
        lambda: SignatureBoxes(["担当者", "責任者"], names=["山田"]),
        lambda: Section("s", [Paragraph("p")], orientation=loose("sideways")),
        lambda: Section("s", [loose("not a block")]),
        lambda: Document(""),
        lambda: Document("t", lang=loose("fr")),
        lambda: Document("t", orientation=loose("square")),
        lambda: Document("t", meta=[("k", loose(1))]),
        lambda: Document("t", blocks=[Section("1", [Section("2", [Section("3", [Section("4", [])])])])]),
    ],
)
def test_refused(build: object) -> None:
    assert callable(build)
    with pytest.raises(ReportModelError):
        build()


def test_accepted() -> None:
    Paragraph("改行\nあり")
    Hash("sha256:9f86d081884c7d659a2feaa0c55ad015")
    Hash("base64+/=")
    Document("t", blocks=[Section("1", [Section("2", [Section("3", [Paragraph("深さ3")])])])])
    SignatureBoxes(["担当者", "責任者", "立会者"], names=["", "鈴木", ""])


def test_error_names_the_place() -> None:
    with pytest.raises(ReportModelError, match="table row 1: expected 2 cells"):
        Table(["a", "b"], [["1", "2"], ["3"]])
    with pytest.raises(ReportModelError, match=r"U\+0007"):
        Table(["a"], [["ok"], ["bad\x07"]])
    # the first bad cell or label, by row and column (formatted only when something fails)
    with pytest.raises(ReportModelError, match=r"^table row 1 cell 1: character U\+0007"):
        Table(["a", "b"], [["ok", Hash("ab")], ["fine", "bad\x07"], ["x", "bad\x08"]])
    with pytest.raises(ReportModelError, match=r"^table row 0 cell 0: a cell is str or Hash, not int"):
        Table(["a"], [[loose(3)]])
    with pytest.raises(ReportModelError, match=r"^key/value row 1 label: character U\+0002"):
        KeyValues([("ok", "v"), ("bad\x02", loose(5))])
    with pytest.raises(ReportModelError, match=r"^key/value row 0: a cell is str or Hash, not int"):
        KeyValues([("label", loose(5))])
    with pytest.raises(ReportModelError, match=r"^meta row 0 label: expected text, got Hash"):
        Document("t", meta=[(loose(Hash("ab")), "v")])
