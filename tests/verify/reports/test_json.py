"""JSON form: canonical bytes, stable shape, exact round trip, strict reading."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custody.ledger import canonical
from custody.verify.reports import (
    Document,
    Hash,
    PageBreak,
    Paragraph,
    ReportModelError,
    Section,
    SignatureBoxes,
    Table,
    load_json,
    render_json,
)
from tests.verify.reports import sample


def test_round_trip_register() -> None:
    doc = sample.media_register(300)
    data = render_json(doc)
    assert load_json(data) == doc
    assert render_json(load_json(data)) == data


def test_round_trip_every_block() -> None:
    doc = sample.small_english()
    assert load_json(render_json(doc)) == doc


def test_round_trip_banner() -> None:
    doc = Document("完了報告", banner="未確認: 自治体の信頼ストアで未確認です。\n二行目")
    data = render_json(doc)
    assert json.loads(data)["document"]["banner"] == doc.banner
    assert load_json(data) == doc


def test_canonical_bytes() -> None:
    data = render_json(sample.media_register(5))
    assert data.endswith(b"}\n")
    assert "媒体管理台帳".encode() in data  # UTF-8, not \\u escapes
    value = json.loads(data)
    assert data == json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    assert data[:-1] == canonical.dumps(value)
    assert render_json(sample.media_register(5)) == data


def test_stable_shape() -> None:
    doc = Document(
        "台帳",
        meta=[("作成日", "2025-04-01")],
        blocks=[
            Section("一覧", [Table(["ID", "ハッシュ"], [["M-1", Hash("ab12")]], col_widths=[1, 3])]),
            PageBreak(),
            SignatureBoxes(["立会者"]),
        ],
    )
    expected = (
        '{"document":{"attachments":[],"author":"","banner":"","blocks":[{"blocks":[{"align":null,"caption":"",'
        '"col_widths":[1,3],'
        '"columns":["ID","ハッシュ"],"footer_rows":[],"repeat_header":true,"rows":[["M-1",{"hash":"ab12"}]],'
        '"type":"table"}],"heading":"一覧","orientation":null,"type":"section"},{"type":"pagebreak"},'
        '{"keep_with":1,"labels":["立会者"],"names":[],"type":"signatures"}],"footer_note":"","header_note":"",'
        '"lang":"ja","letterhead":null,'
        '"meta":[["作成日","2025-04-01"]],"orientation":"portrait","subtitle":"","title":"台帳"},'
        '"model":"custody-report/3"}\n'
    )
    assert render_json(doc).decode() == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"model":"custody-report/1","document":{}}', "this version reads"),
        (b'{"model":"custody-report/2","document":{}}', "this version reads"),
        (b'{"model":"custody-report/4","document":{}}', "this version reads"),
        (b'{"model":"custody-report/3"}', "missing keys"),
        (b"[]", "expected an object"),
        (b'{"model":"custody-report/2","model":"x","document":{}}', "duplicate key"),
        (b"not json", "report JSON"),
    ],
)
def test_refuses_bad_json(data: bytes, message: str) -> None:
    with pytest.raises(ReportModelError, match=message):
        load_json(data)


def _mutate(doc: Document, edit: object) -> bytes:
    value = json.loads(render_json(doc))
    assert callable(edit)
    edit(value)
    return json.dumps(value, ensure_ascii=False).encode()


def test_refuses_bad_documents() -> None:
    doc = Document("t", blocks=[Paragraph("p"), Table(["a"], [["x"]])])

    def extra_key(v: dict[str, Any]) -> None:
        v["document"]["blocks"][0]["style"] = "bold"

    def unknown_type(v: dict[str, Any]) -> None:
        v["document"]["blocks"][0]["type"] = "image"

    def float_width(v: dict[str, Any]) -> None:
        v["document"]["blocks"][1]["col_widths"] = [1.5]

    def bad_cell(v: dict[str, Any]) -> None:
        v["document"]["blocks"][1]["rows"] = [[3]]

    def bad_lang(v: dict[str, Any]) -> None:
        v["document"]["lang"] = "fr"

    def no_banner(v: dict[str, Any]) -> None:  # a model-1 document
        del v["document"]["banner"]

    def control_banner(v: dict[str, Any]) -> None:
        v["document"]["banner"] = "未確認\x1b[2J"

    for edit, message in [
        (extra_key, "unknown keys"),
        (unknown_type, "unknown type"),
        (float_width, "floating-point"),
        (bad_cell, "a cell is a string"),
        (bad_lang, "lang"),
        (no_banner, r"missing keys \['banner'\]"),
        (control_banner, "document banner: character U\\+001B"),
    ]:
        with pytest.raises(ReportModelError, match=message):
            load_json(_mutate(doc, edit))
