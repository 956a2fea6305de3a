"""The verifier's first pass: find the entries that may change who signs, without parsing the others.

A regular-expression search over large blocks of ``entries.jsonl``: the
99.9 % of lines that are heartbeats and file batches are never split or
looked at one by one.  In an entry's canonical bytes "type" is the last
member, so a line that may change who signs ends with one of the types
below; a line that is not canonical fails in the second pass (I7) and never
signs for anyone.

On a directory bundle the file is cut at line starts into one range per
worker and the ranges are searched at once (``search_file``): searched by
one process, a 1,000,000-entry file kept one processor busy and the other
idle for 0.6-0.9 s, ~1 % of its verification.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from array import array
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from io import BufferedIOBase
from pathlib import Path

from custody.ledger.entry import MAX_LEAF_BYTES
from custody.verify.workers import watch_parent

BLOCK = 1 << 20  # bytes read at a time
# Below this many bytes one process searches the file: starting workers would cost more than they save.
PARALLEL_MIN_BYTES = 32 << 20

REGISTRY_LINE_END = re.compile(rb',"type":"(?:contract\.opened|personnel\.[a-z_]+|key\.[a-z_]+)"\}\n')

Hit = tuple[int, int, bytes]  # (line number, offset of the line, the line without its newline)


class LineSearch:
    """The lines of ``length`` bytes of ``stream`` (to its end if None) that may change who signs.

    Iterating yields the hits, numbered and placed from the first byte read;
    with ``first`` the first line is a hit whatever its type (the genesis
    entry).  A final line without a newline is a line too: a range that
    stops short of the end must stop just after a newline.  A line longer
    than an entry may be (``MAX_LEAF_BYTES``, docs/spec.md §10.3) is never a
    hit, not even as the first line: its bytes are counted and dropped, so
    time and memory stay linear in the bytes read.  Afterwards ``newlines``
    is the number of newlines read.
    """

    def __init__(self, stream: BufferedIOBase, length: int | None = None, *, first: bool = True) -> None:
        self._stream, self._length, self._first = stream, length, first
        self.newlines = 0

    def __iter__(self) -> Iterator[Hit]:
        first, remaining = self._first, self._length
        last = -1  # the number of the last hit
        lines = 0  # newlines before the line being read
        at = 0  # offset of the line being read
        pieces: list[bytes] = []  # what has been read of that line, joined once its newline comes
        held = 0  # bytes in ``pieces``
        skipped: int | None = None  # that line's bytes so far, once it is longer than an entry may be
        while remaining is None or remaining > 0:
            block = self._stream.read(BLOCK if remaining is None else min(BLOCK, remaining))
            if not block:
                break
            if remaining is not None:
                remaining -= len(block)
            if skipped is not None:  # a line too long to sign for anyone (I7 in pass 2): never held
                newline = block.find(b"\n")
                if newline < 0:
                    skipped += len(block)
                    continue
                at += skipped + newline + 1
                lines += 1
                self.newlines = lines
                if first:
                    first, last = False, 0
                skipped = None
                block = block[newline + 1 :]
            end = block.rfind(b"\n") + 1  # whole lines only; the rest waits for the next block
            if not end:
                if block:
                    pieces.append(block)
                    held += len(block)
                if held > MAX_LEAF_BYTES:
                    skipped, pieces, held = held, [], 0
                continue
            buf = b"".join((*pieces, block)) if pieces else block
            end += held
            pieces, held = [], 0
            if first:
                first, last = False, 0
                yield 0, 0, buf[: buf.index(b"\n")]
            counted = count = 0
            for match in REGISTRY_LINE_END.finditer(buf, 0, end):
                line_start = buf.rfind(b"\n", 0, match.start()) + 1
                count += buf.count(b"\n", counted, line_start)
                counted = line_start
                if lines + count > last:
                    last = lines + count
                    yield last, at + line_start, buf[line_start : match.end() - 1]
            lines += count + buf.count(b"\n", counted, end)
            self.newlines = lines
            at += end
            if end < len(buf):
                pieces, held = [buf[end:]], len(buf) - end
        if skipped is None and pieces:
            buf = b"".join(pieces)
            if first or (lines > last and REGISTRY_LINE_END.search(buf + b"\n")):
                yield lines, at, buf


def search(stream: BufferedIOBase) -> Iterator[tuple[int, bytes]]:
    """(seq, line) of the first line and of every line of ``stream`` whose type may change who signs."""
    for number, _at, line in LineSearch(stream):
        yield number, line


def _search_range(path: str, begin: int, end: int) -> tuple[int, array[int]]:
    """A worker's range: its newlines, and (number, offset, length) of each hit, flat and compact."""
    found = array("q")
    with open(path, "rb") as stream:
        stream.seek(begin)
        lines = LineSearch(stream, end - begin, first=begin == 0)
        for number, at, line in lines:
            found.extend((number, begin + at, len(line)))
    return lines.newlines, found


def cut_at_lines(path: Path, parts: int) -> list[int]:
    """Offsets that cut the file into up to ``parts`` ranges of whole lines: 0, ..., its size."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as stream:
        for k in range(1, parts):
            stream.seek(max(size * k // parts - 1, cuts[-1]))
            at = min(_after_newline(stream), size)  # the start of the next line
            if at > cuts[-1]:
                cuts.append(at)
    if size > cuts[-1]:
        cuts.append(size)
    return cuts


def _after_newline(stream: BufferedIOBase) -> int:
    """The offset just after the next newline of ``stream`` (its end if none), read a block at a time:
    a line of gigabytes is never held (``readline`` would hold it)."""
    at = stream.tell()
    while block := stream.read(BLOCK):
        newline = block.find(b"\n")
        if newline >= 0:
            return at + newline + 1
        at += len(block)
    return at


def search_file(path: Path, workers: int) -> Iterator[tuple[int, bytes]]:
    """``search`` of the file at ``path``, its ranges searched by up to ``workers`` processes at once.

    Workers return where the hits are, not their bytes, so that a file full
    of registry entries costs 24 bytes per hit in memory; the lines are read
    again one at a time.
    """
    cuts = cut_at_lines(path, workers)
    if len(cuts) <= 2:
        with path.open("rb") as stream:
            yield from search(stream)
        return
    with ProcessPoolExecutor(
        len(cuts) - 1, mp_context=multiprocessing.get_context(), initializer=watch_parent, initargs=(os.getpid(),)
    ) as pool:
        ranges = list(pool.map(_search_range, [os.fspath(path)] * (len(cuts) - 1), cuts[:-1], cuts[1:]))
    base = 0
    with path.open("rb") as stream:
        for newlines, found in ranges:
            for k in range(0, len(found), 3):
                number, at, length = found[k : k + 3]
                stream.seek(at)
                yield base + number, stream.read(length)
            base += newlines
