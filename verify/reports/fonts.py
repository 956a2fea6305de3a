"""Where the fonts that PDF reports embed come from, and why these ones.

PDF reports embed their fonts: a report must look the same on every viewer,
years later, without fonts installed on the reader's or the writer's machine.
Both fonts ship inside this package (``fontfiles/``, unmodified, each with its
licence), so neither a system path nor another Python package is consulted.

Decision: reportlab + IPAexGothic 004.01 (``ipaexg.ttf``) for all text; long
hashes in DejaVu Sans Mono (``DejaVuSansMono.ttf``).

Evidence (Python 3.11, reportlab 5.1, fpdf2 2.8.9, pypdf 7.1; every candidate
font opened with fontTools):

=============================  =======  ==================================  ===========  ==================
package                        wheel    font file, outlines                 licence      depends on
=============================  =======  ==================================  ===========  ==================
matplotlib-fontja 1.1.0        4.2 MB   IPAexGothic 004.01, 6.1 MB, glyf    IPA 1.0+MIT  matplotlib, numpy
noto-cjk-sans-jp-regular 0.0.1 13.6 MB  Noto Sans CJK JP, 16.5 MB, CFF      OFL 1.1      none
pylopdf-fonts-jp 0.1.1         9.1 MB   Noto Sans/Serif JP, 4.5/6.2 MB, CFF OFL 1.1      none
manimgx-fonts-cjk 2026.9       19.8 MB  Noto Sans CJK VF .ttc, 32.7 MB, CFF2 OFL 1.1     none
justmytype-intl-cjk 0.1.0      30.1 MB  Noto Sans JP variable, 9.6 MB,      OFL 1.1      justmytype
                                        glyf, default instance wght=100
=============================  =======  ==================================  ===========  ==================

* reportlab reads only TrueType (glyf) outlines: ``TTFont`` on NotoSansJP-Regular.otf
  raises "postscript outlines are not supported".  Every package that ships a
  Noto Sans JP ships CFF/CFF2 outlines, or a variable font whose default
  instance is Thin (reportlab ignores ``gvar``).  fpdf2 embeds the CFF font but
  encodes text so that pypdf extracts a NUL before every character.
* The one package with IPAexGothic alone (matplotlib-fontja) requires matplotlib,
  which brings matplotlib and numpy (+123 MB) onto every agent PC for one file.
  So the font file is shipped here instead, as the IPA Font License v1.0
  (OSI approved) permits for unmodified copies with the licence attached; its
  article 3.5 leaves no obligation on PDF files whose embedded font only renders
  their own content.
* reportlab + IPAexGothic: subset embedded as TrueType (``FontFile2``), pypdf
  extracts the Japanese text exactly, two renders are byte-identical
  (``invariant``).  Registering the font costs ~35 ms once per process.
* The hash font: IPAexGothic's Latin letters are proportional and the PDF base
  fonts (Courier) are not embedded, so long hashes use DejaVu Sans Mono
  (Bitstream Vera licence: free, embedding allowed).

A missing or unusable font file raises ``FontMissingError`` saying to reinstall
custody; nothing falls back to a system font or to a non-embedded PDF base font.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from custody.verify.reports.errors import FontMissingError

# The package's own folder of font files (package data).
FONT_DIR = Path(__file__).parent / "fontfiles"


@dataclass(frozen=True)
class FontSource:
    """One embedded font: the name the PDF uses and its file in FONT_DIR."""

    family: str
    filename: str


JAPANESE = FontSource("IPAexGothic", "ipaexg.ttf")
MONOSPACE = FontSource("DejaVuSansMono", "DejaVuSansMono.ttf")

# First bytes of a TrueType-outline font file (reportlab reads no other kind).
_TRUETYPE_MAGIC = (b"\x00\x01\x00\x00", b"true")


def locate(source: FontSource) -> Path:
    """The font file of ``source``; FontMissingError if it is absent or not TrueType."""
    hint = "Reinstall custody (pip install --force-reinstall custody-ledger): its font files are part of the package."
    path = FONT_DIR / source.filename
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise FontMissingError(f"font {source.family} not found at {path} ({exc.strerror or exc})", hint=hint) from None
    if magic not in _TRUETYPE_MAGIC:
        raise FontMissingError(
            f"font file {path} is not a TrueType-outline font (starts with {magic!r})",
            hint="reportlab embeds only TrueType (glyf) outlines, not CFF/OpenType (.otf). " + hint,
        )
    return path


def japanese_font_path() -> Path:
    """IPAexGothic, used for all text in PDF reports."""
    return locate(JAPANESE)


def mono_font_path() -> Path:
    """DejaVu Sans Mono, used for hashes in PDF reports."""
    return locate(MONOSPACE)
