"""Where the fonts that PDF reports embed come from, and why these ones.

PDF reports embed their fonts (NOTES.md, "PDF with Japanese text"): a report must
look the same on every viewer, years later, without fonts installed on the
reader's or the writer's machine.  Both fonts below come from the Python
environment, never from a system path, and are found without importing
anything.

Decision: reportlab + IPAexGothic (``ipaexg.ttf``) from the PyPI package
``matplotlib-fontja``; long hashes are set in DejaVu Sans Mono, which that package's
own dependency ``matplotlib`` ships.

Evidence (tried on this project's machine: Python 3.11, reportlab 5.1, fpdf2 2.8.9,
pypdf 7.1; every wheel downloaded and its font opened with fontTools):

=============================  =======  ==================================  ===========  ==================
package                        wheel    font file, outlines                 licence      depends on
=============================  =======  ==================================  ===========  ==================
matplotlib-fontja 1.1.0        4.2 MB   IPAexGothic 004.01, 6.1 MB, glyf    IPA 1.0+MIT  matplotlib
japanize-matplotlib 1.1.3      4.1 MB   IPAexGothic 003.01, 6.0 MB, glyf    IPA 1.0+MIT  matplotlib; sdist
                                                                                          only, 2020
noto-cjk-sans-jp-regular 0.0.1 13.6 MB  Noto Sans CJK JP, 16.5 MB, CFF      OFL 1.1      none
pylopdf-fonts-jp 0.1.1         9.1 MB   Noto Sans/Serif JP, 4.5/6.2 MB, CFF OFL 1.1      none
manimgx-fonts-cjk 2026.9       19.8 MB  Noto Sans CJK VF .ttc, 32.7 MB, CFF2 OFL 1.1     none
cvttf-notosanscjk-regular 1.0  27.4 MB  Noto Sans CJK **TC**, 16.4 MB, CFF  MIT (label)  none
justmytype-intl-cjk 0.1.0      30.1 MB  Noto Sans JP variable, 9.6 MB,      OFL 1.1      justmytype
                                        glyf, default instance wght=100
=============================  =======  ==================================  ===========  ==================

* reportlab reads only TrueType (glyf) outlines: ``TTFont`` on NotoSansJP-Regular.otf
  raises "postscript outlines are not supported".  All the Noto packages ship
  CFF/CFF2 outlines (cvttf's is moreover the Traditional Chinese cut).  So with reportlab the choice is
  IPAexGothic (matplotlib-fontja, the maintained one of the two packages) or the
  variable Noto Sans JP, whose glyf outlines are its default instance, Thin
  (wght 100): reportlab ignores ``gvar``, so every report would be set in Thin.
* fpdf2 + the CFF font (pylopdf-fonts-jp): fpdf2 does embed it (``FontFile3``,
  ``/CIDFontType0C``, subset to ~5 KB, byte-identical with a fixed creation date),
  but it encodes the text through an embedded CMap stream, and pypdf then
  extracts ``"\\x00媒\\x00体"``: a NUL before every character, so the tests
  cannot find 媒体管理台帳 and other extractors may stumble too.  It would also
  need two new dependency lines (fpdf2 is not declared; it is only present in
  this venv) and a one-author package published in 2026.  With IPAexGothic,
  fpdf2 extracts cleanly, which places the fault in the CFF path.
* reportlab + IPAexGothic: subset embedded as TrueType (``FontFile2``), pypdf
  extracts the Japanese text exactly, two renders are byte-identical
  (``invariant``), and reportlab is already a declared dependency.  Registering
  the font costs ~35 ms once per process.  See ``tests/verify/reports``.
* Cost: matplotlib-fontja requires matplotlib, which brought matplotlib, numpy,
  contourpy, kiwisolver, cycler and pyparsing into the venv (+123 MB installed;
  Pillow and fontTools were already there).  All are mainstream wheels.  We
  never import matplotlib or matplotlib_fontja: importing the latter runs its
  ``japanize()`` (imports matplotlib, ~0.3-0.7 s, and rewrites matplotlib's global
  font settings), so the file is located with ``importlib.util.find_spec``,
  which finds the package directory without executing it (0.2 ms).
  ``importlib.resources.files()`` would import the package, hence not used.
* Licences: IPA Font License v1.0 (OSI approved); its article 3.5 leaves no
  obligation on PDF files whose embedded font only renders their own content.
  DejaVu Sans Mono: Bitstream Vera licence (free, embedding allowed).
* The hash font: IPAexGothic's Latin letters are proportional and the PDF base
  fonts (Courier) are not embedded, so long hashes use DejaVu Sans Mono
  (``matplotlib/mpl-data/fonts/ttf``, stable there for over a decade).  If
  matplotlib-fontja is ever replaced by a package without matplotlib, give the
  mono font a package of its own.

A missing or unusable font raises ``FontMissingError`` with the pip command to
fix it; nothing falls back to a system font or to a non-embedded PDF base font.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from verify.reports.errors import FontMissingError

# The dependency line in pyproject.toml that brings the Japanese font.
FONT_DISTRIBUTION = "matplotlib-fontja"


@dataclass(frozen=True)
class FontSource:
    """One embedded font: the name the PDF uses and the package file it comes from."""

    family: str
    module: str
    parts: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.module}/{'/'.join(self.parts)}"


JAPANESE = FontSource("IPAexGothic", "matplotlib_fontja", ("fonts", "ipaexg.ttf"))
MONOSPACE = FontSource("DejaVuSansMono", "matplotlib", ("mpl-data", "fonts", "ttf", "DejaVuSansMono.ttf"))

# First bytes of a TrueType-outline font file (reportlab reads no other kind).
_TRUETYPE_MAGIC = (b"\x00\x01\x00\x00", b"true")


def package_dir(module: str) -> Path | None:
    """The directory of an installed top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        return Path(location)
    return None


def locate(source: FontSource) -> Path:
    """The font file of ``source``; FontMissingError if it is absent or not TrueType."""
    hint = f"Install custody's dependencies again (pip install {FONT_DISTRIBUTION})."
    base = package_dir(source.module)
    if base is None:
        raise FontMissingError(
            f"font {source.family} not found: Python package {source.module!r} is not installed",
            hint=hint,
        )
    path = base.joinpath(*source.parts)
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
