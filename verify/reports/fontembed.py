"""Embedding the PDF fonts: reportlab's TrueType subsets, with their PDF objects reused.

reportlab embeds a TrueType font as subsets of up to 256 characters and
builds each subset anew for every document: it copies the glyphs out of the
font file (``makeSubset``, ~1 ms for a subset of IPAexGothic, whose hinting
tables alone are ~60 KB), deflates the result at save (~1.5 ms), and writes the
subset's widths and ToUnicode map.  A disposal certificate carries three
subsets (~130 KB before compression); for 500 certificates that was a third of
all the rendering time.

Documents made from one template mostly produce the same subsets (the same
characters, first used in the same order), so ``EmbeddedFont`` keeps what a
subset becomes in the PDF -- the font file and the ToUnicode map, deflated, and
the widths array, formatted -- in a small LRU cache per process, keyed by the
subset's characters, and hands the objects to each document ready-made.  A
subset that misses the cache costs what it did before.

The bytes are exactly those reportlab writes itself: same objects, same names,
same zlib level, same dictionaries (``tests/verify/reports/test_pdf_reuse.py``
compares whole PDFs against a stock ``TTFont``).  ``EmbeddedFont.addObjects``
mirrors reportlab 5.1's ``TTFont.addObjects`` and ``TTFontFace.addSubsetObjects``;
upgrading reportlab means re-checking it against them (that test fails if
they drift apart).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    TTFontFace,
    makeToUnicodeCMap,
)

# Distinct subsets kept per process.  A certificate has three; 64 cover the
# variants of a few templates while bounding memory (~60 KB each).
SUBSET_CACHE_SIZE = 64

_FLATE = pdfdoc.PDFName(pdfdoc.PDFZCompress.pdfname)


class _Formatted(pdfdoc.PDFObject):  # type: ignore[misc]  # reportlab has no type hints
    """A PDF value formatted once (a subset's /Widths array), written as it is."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


@dataclass(frozen=True)
class _Subset:
    """What one subset of a font becomes in a PDF, apart from object numbers."""

    font_file: bytes  # the subset as a TrueType file, deflated
    font_file_length: int  # its length before deflating (/Length1)
    to_unicode: bytes  # the ToUnicode CMap, deflated
    widths: _Formatted  # the /Widths array


def _deflate(data: bytes | str) -> bytes:
    # zlib at its default level, as reportlab's PDFStreamFilterZCompress does.
    return zlib.compress(data.encode("utf8") if isinstance(data, str) else data)


@lru_cache(maxsize=SUBSET_CACHE_SIZE)
def _subset(face: TTFontFace, base_font_name: str, chars: tuple[int, ...]) -> _Subset:
    subset = list(chars)
    font_file = face.makeSubset(subset)
    widths = pdfdoc.PDFArray([face.getCharWidth(c) for c in subset]).format(None)
    return _Subset(
        font_file=_deflate(font_file),
        font_file_length=len(font_file),
        to_unicode=_deflate(makeToUnicodeCMap(base_font_name, subset)),
        widths=_Formatted(widths),
    )


def _deflated_stream(data: bytes, **entries: Any) -> Any:
    """A stream whose content is already deflated.

    A "Filter" already in the dictionary tells ``PDFStream.format`` that the
    content is encoded: it writes it as it is, with its Length.
    """
    stream = pdfdoc.PDFStream(content=data)
    stream.dictionary["Filter"] = pdfdoc.PDFArray([_FLATE])
    for key, value in entries.items():
        stream.dictionary[key] = value
    return stream


class EmbeddedFont(TTFont):  # type: ignore[misc]  # reportlab has no type hints
    """A reportlab ``TTFont`` whose subsets' PDF objects are reused across documents (see the module)."""

    def addObjects(self, doc: Any) -> None:  # noqa: N802 - reportlab's name
        if not doc.compression:  # never so in custody; reportlab's own path then
            super().addObjects(doc)
            return
        state = self.state.get(doc)
        if state is None:  # a font registered but never used in the document, as reportlab has it
            state = self.state[doc] = TTFont.State(self._asciiReadable)
        state.frozen = 1
        face = self.face
        for n, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            base_font_name = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode("pdfdoc")
            made = _subset(face, base_font_name, tuple(subset))

            font = pdfdoc.PDFTrueTypeFont()
            font.__Comment__ = f"Font {self.fontName} subset {n}"
            font.Name = internal_name
            font.BaseFont = base_font_name
            font.FirstChar = 0
            font.LastChar = len(subset) - 1
            font.Widths = made.widths
            font.ToUnicode = doc.Reference(_deflated_stream(made.to_unicode), "toUnicodeCMap:" + base_font_name)

            font_file = _deflated_stream(made.font_file, Length1=made.font_file_length)
            font_file_ref = doc.Reference(font_file, f"fontFile:{face.filename}({base_font_name})")
            descriptor = pdfdoc.PDFDictionary(
                {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                    "FontBBox": pdfdoc.PDFArray(face.bbox),
                    "FontName": pdfdoc.PDFName(base_font_name),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "FontFile2": font_file_ref,
                    "MissingWidth": face.defaultWidth,
                }
            )
            font.FontDescriptor = doc.Reference(descriptor, "fontDescriptor:" + base_font_name)

            doc.Reference(font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = font
        del self.state[doc]


def clear_cache() -> None:
    """Forget the cached subsets (tests)."""
    _subset.cache_clear()


def cache_info() -> Any:
    """Hits and misses of the subset cache (functools' CacheInfo), for tests and measurements."""
    return _subset.cache_info()


__all__ = ["SUBSET_CACHE_SIZE", "EmbeddedFont", "cache_info", "clear_cache"]
