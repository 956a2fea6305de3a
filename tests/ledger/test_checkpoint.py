"""ledger.checkpoint: C2SP tlog-checkpoint note text."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger.checkpoint import MAX_TREE_SIZE, Checkpoint
from custody.ledger.errors import CheckpointFormatError
from custody.ledger.note import parse_note
from tests.conftest import load_vector

VEC = load_vector("signed-note.json")
ROOT = bytes(range(32))
ROOT64 = base64.b64encode(ROOT).decode()


def test_sum_golang_org_body() -> None:
    note = parse_note(VEC["sum_golang_org_checkpoint"]["note"].encode())
    cp = Checkpoint.parse(note.text)
    assert (cp.origin, cp.size, cp.extensions) == ("go.sum database tree", 30055305, ())
    assert cp.to_text() == note.text


def test_cosignature_vector_body() -> None:
    body = VEC["cosignature_v1"]["checkpoint_body"]
    cp = Checkpoint.parse(body)
    assert cp.origin == "example.org/log"
    assert cp.size == 10
    assert cp.root_hash[:3] == b"\x1c\x0eG"
    assert cp.to_text() == body


@pytest.mark.parametrize(
    "text",
    [
        f"example.com/log\n0\n{ROOT64}\n",
        f"example.com/log\n1\n{ROOT64}\n",
        f"example.com/log\n{MAX_TREE_SIZE}\n{ROOT64}\n",
        f"city.example.lg.jp/custody/2026-017/site-1\n20852163\n{ROOT64}\n",
        f"o\n5\n{ROOT64}\next one\n— ext two\n",
        f"go.sum database tree\n7\n{ROOT64}\n",  # spaces allowed in the origin
        f"a+b\n7\n{ROOT64}\n",  # '+' is only a SHOULD NOT
        f"市役所\n7\n{ROOT64}\n",
    ],
)
def test_valid_checkpoints_round_trip(text: str) -> None:
    cp = Checkpoint.parse(text)
    assert cp.to_text() == text
    assert Checkpoint.parse(cp.to_text()) == cp


def test_extensions_kept_in_order() -> None:
    cp = Checkpoint.parse(f"o\n5\n{ROOT64}\nfirst\nsecond\n")
    assert cp.extensions == ("first", "second")
    assert Checkpoint("o", 5, ROOT, ("first", "second")).to_text().endswith("first\nsecond\n")


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Same bytes, non-zero pad bits: set the lowest (padding) bit of the last symbol.
BAD_ROOT_PAD = ROOT64[:-2] + _ALPHABET[_ALPHABET.index(ROOT64[-2]) | 1] + "="


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        f"o\n5\n{ROOT64}",  # no final newline
        f"o\n5\n{ROOT64}\n\n",  # empty extension line
        f"o\n5\n{ROOT64}\next\n\n",
        f"o\n5\n{ROOT64}\n\next\n",
        "o\n5\n",  # two lines
        f"o\n{ROOT64}\n",
        f"\n5\n{ROOT64}\n",  # empty origin
        f"o\n\n{ROOT64}\n",  # empty size
        "o\n5\n\n",  # empty root
        f"o\n05\n{ROOT64}\n",  # leading zero
        f"o\n00\n{ROOT64}\n",
        f"o\n-1\n{ROOT64}\n",
        f"o\n+5\n{ROOT64}\n",
        f"o\n 5\n{ROOT64}\n",
        f"o\n5 \n{ROOT64}\n",
        f"o\n5_0\n{ROOT64}\n",
        f"o\n0x5\n{ROOT64}\n",
        f"o\n\u0665\n{ROOT64}\n",  # Arabic-Indic digit five
        f"o\n{MAX_TREE_SIZE + 1}\n{ROOT64}\n",
        f"o\n{'9' * 5000}\n{ROOT64}\n",
        f"o\n5\n{ROOT64[:-1]}\n",  # unpadded
        f"o\n5\n{BAD_ROOT_PAD}\n",
        f"o\n5\n{base64.b64encode(bytes(31)).decode()}\n",
        f"o\n5\n{base64.b64encode(bytes(33)).decode()}\n",
        "o\n5\n" + base64.urlsafe_b64encode(bytes([255]) * 32).decode() + "\n",
        f"o\n5\n {ROOT64}\n",
        f"o\r\n5\n{ROOT64}\n",
        f"o\t1\n5\n{ROOT64}\n",
        f"o\n5\n{ROOT64}\nbad\x00ext\n",
        f"o\ud800\n5\n{ROOT64}\n",
    ],
)
def test_invalid_checkpoints_rejected(text: str) -> None:
    with pytest.raises(CheckpointFormatError):
        Checkpoint.parse(text)


def test_bad_root_pad_really_same_bytes() -> None:
    assert base64.b64decode(BAD_ROOT_PAD) == ROOT
    assert BAD_ROOT_PAD != ROOT64


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        ("o", -1, ROOT, ()),
        ("o", MAX_TREE_SIZE + 1, ROOT, ()),
        ("o", True, ROOT, ()),
        ("o", 1, ROOT[:31], ()),
        ("o", 1, ROOT, ("",)),
        ("o", 1, ROOT, ("a\nb",)),
    ],
)
def test_constructor_validates(origin: str, size: int, root: bytes, extensions: tuple[str, ...]) -> None:
    with pytest.raises(CheckpointFormatError):
        Checkpoint(origin, size, root, extensions)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_text_only_checkpoint_format_error(text: str) -> None:
    try:
        cp = Checkpoint.parse(text)
    except CheckpointFormatError:
        return
    assert cp.to_text() == text


LINE = st.text(
    st.characters(codec="utf-8", exclude_characters=[chr(c) for c in range(32)]),
    min_size=1,
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(
    origin=LINE,
    size=st.integers(0, MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(LINE, max_size=3),
)
def test_round_trip(origin: str, size: int, root: bytes, extensions: list[str]) -> None:
    cp = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(cp.to_text()) == cp


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_structured_mutations(data: st.DataObject) -> None:
    text = bytearray(f"example.com/log\n123\n{ROOT64}\next\n".encode())
    for _ in range(data.draw(st.integers(1, 3))):
        text[data.draw(st.integers(0, len(text) - 1))] = data.draw(st.integers(0, 127))
    with contextlib.suppress(CheckpointFormatError):
        Checkpoint.parse(text.decode("ascii"))
