"""Render a report ``Document`` as one self-contained HTML file.

Everything is in the file: inline CSS, no script, no external font, stylesheet
or image (a figure, the serial-number photo, is inline as a ``data:`` URI, and
so are the document's attachments, as download links), so the file opens the
same offline and can be archived beside the PDF.  An official document's
letterhead (宛名, 文書番号, 発行日, the issuer and its seal box) heads it; seal
boxes are printed on one page with the blocks they attest (``keep_with``).
The text uses the reader's Japanese fonts (a font stack from Hiragino and
Yu Gothic to Noto and IPAex); the PDF is the form with embedded fonts.

On screen: a readable column, wide tables scroll sideways, table headers stick.
In print: A4 (landscape for a landscape document or section, through named
pages), table headers repeated on every page, rows kept whole, page breaks where
the model has them, and -- in engines that support CSS page-margin boxes
(Chromium 131+) -- the title, header note, footer note and "n / N" on every page.
A document's banner (未確認) is a red box under the title.

The output is a pure function of the document: same document, same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from string import Template

from custody.verify.reports.document import (
    Block,
    BulletList,
    Cell,
    Document,
    Figure,
    Hash,
    KeyValues,
    Letterhead,
    Note,
    Orientation,
    PageBreak,
    Paragraph,
    Section,
    SignatureBoxes,
    Table,
)

_FONT_STACK = (
    '"Hiragino Kaku Gothic ProN", "Hiragino Sans", "Yu Gothic UI", "Yu Gothic", YuGothic, Meiryo, '
    '"Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", sans-serif'
)
_MONO_STACK = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace'

_CSS = Template("""\
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; padding: 24px 20px; color: #111; background: #fff;
  font-family: $fonts; font-size: 15px; line-height: 1.65; }
main { max-width: $maxwidth; margin: 0 auto; }
.running { display: flex; justify-content: space-between; gap: 1em; font-size: .85em; color: #444; }
.title-block { margin-bottom: 1.5em; }
h1 { font-size: 1.7em; line-height: 1.3; margin: .2em 0 .1em; }
.subtitle { font-size: 1.15em; margin: 0 0 .8em; }
.banner { margin: .8em 0 1em; padding: .6em .9em; border: 2px solid #b00000; background: #fdecec;
  color: #b00000; font-weight: bold; font-size: 1.1em; }
h2 { font-size: 1.3em; margin: 1.6em 0 .6em; padding-bottom: .15em; border-bottom: 2px solid #333; }
h3 { font-size: 1.15em; margin: 1.3em 0 .5em; padding-bottom: .1em; border-bottom: 1px solid #777; }
h4 { font-size: 1.05em; margin: 1.1em 0 .4em; }
p { margin: .5em 0; }
p, li, td, th, caption { line-break: strict; overflow-wrap: anywhere; }
.note { font-size: .9em; color: #333; border-left: 3px solid #999; padding: .15em .7em; margin: .7em 0; }
ul, ol { margin: .5em 0; padding-left: 1.8em; }
table { border-collapse: collapse; }
.table-wrap { overflow-x: auto; margin: .6em 0 1.1em; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 0 0 .3em; }
table.grid { width: 100%; table-layout: fixed; font-size: .88em; line-height: 1.45; }
table.grid th, table.grid td { border: 1px solid #777; padding: 3px 5px; vertical-align: top; }
table.grid thead th { background: #e4e4e4; font-weight: bold; text-align: center; vertical-align: bottom; }
table.grid tbody tr:nth-child(even) td { background: #f5f5f5; }
table.grid tfoot td { border-top: 2px solid #333; font-weight: bold; }
table.kv { width: 100%; table-layout: fixed; margin: .6em 0 1.1em; }
table.kv th, table.kv td { border: 1px solid #777; padding: 3px 7px; vertical-align: top; text-align: left; }
table.kv th { background: #eee; font-weight: normal; }
.al-right { text-align: right; }
.al-center { text-align: center; }
.hash { font-family: $mono; font-size: .92em; word-break: break-all; overflow-wrap: anywhere; }
table.sign { margin: 1.2em 0 1.2em auto; break-inside: avoid; }
table.sign th, table.sign td { border: 1px solid #333; text-align: center; width: 7.5em; padding: 2px 4px; }
table.sign th { font-weight: normal; background: #eee; }
table.sign td.stamp { height: 6.5em; }
table.sign td.name { font-size: .9em; }
.letterhead { display: grid; grid-template-columns: 1fr auto; gap: .4em 2em; margin-bottom: 1.2em; }
.letterhead .dated { grid-column: 2; text-align: right; }
.letterhead .addressee { grid-column: 1; font-size: 1.2em; margin-top: .6em; }
.letterhead .issuer { grid-column: 2; display: flex; gap: .8em; align-items: center; }
.letterhead .seal { width: 4.2em; height: 4.2em; border: 1px solid #333; display: flex; align-items: center;
  justify-content: center; color: #444; }
.form h1, .form .subtitle { text-align: center; }
figure.photo { display: flex; gap: 1em; align-items: flex-start; margin: .6em 0 1.1em; break-inside: avoid; }
figure.photo img { max-height: 60mm; height: auto; border: 1px solid #777; }
figure.photo table.kv { margin: 0; }
.keep { break-inside: avoid; }
.attachments { font-size: .9em; }
.doc-footer { margin-top: 2.5em; padding-top: .3em; border-top: 1px solid #999;
  font-size: .85em; color: #444; }
@media screen {
  table.grid thead th { position: sticky; top: 0; }
  table.grid { min-width: calc(var(--columns) * 5.5em); }
}
@page { size: A4 $page; margin: 16mm 12mm 16mm 12mm;
  @top-left { content: $title; font-size: 8pt; color: #444; }
  @top-right { content: $header; font-size: 8pt; color: #444; }
  @bottom-left { content: $footer; font-size: 8pt; color: #444; }
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #444; }
}
@page landscape { size: A4 landscape; }
@page portrait { size: A4 portrait; }
@media print {
  body { padding: 0; font-size: 9.5pt; line-height: 1.5; }
  main { max-width: none; }
  .table-wrap { overflow: visible; }
  thead { display: table-header-group; }
  thead.no-repeat { display: table-row-group; }
  tfoot { display: table-row-group; }
  tr { break-inside: avoid; }
  h2, h3, h4, caption { break-after: avoid; }
  table.grid tbody tr:nth-child(even) td { background: none; }
  .orient-landscape { page: landscape; }
  .orient-portrait { page: portrait; }
  .page-break { break-after: page; }
}
""")


def _text(value: str) -> str:
    """Escaped text; a newline becomes a line break."""
    return escape(value, quote=True).replace("\n", "<br>\n")


def _css_string(value: str) -> str:
    """A CSS string literal that cannot close the string, the rule or the <style> element."""
    out = ['"']
    for ch in value:
        if ch in '"\\<>&' or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _cell(value: Cell) -> str:
    if isinstance(value, Hash):
        return f'<span class="hash">{escape(value.value, quote=True)}</span>'
    return _text(value)


def _percentages(weights: tuple[int, ...]) -> list[str]:
    total = sum(weights)
    return [f"{100 * w / total:.3f}".rstrip("0").rstrip(".") + "%" for w in weights]


def _colgroup(weights: tuple[int, ...]) -> str:
    cols = "".join(f'<col style="width:{p}">' for p in _percentages(weights))
    return f"<colgroup>{cols}</colgroup>"


def _align_class(align: str) -> str:
    return "" if align == "left" else f' class="al-{align}"'


class _Writer:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.out: list[str] = []

    def w(self, text: str) -> None:
        self.out.append(text)

    def keyvalues(self, rows: Sequence[tuple[str, Cell]], widths: tuple[int, ...], extra: str = "") -> None:
        self.w(f'<table class="kv{extra}">{_colgroup(widths)}<tbody>\n')
        for label, value in rows:
            self.w(f'<tr><th scope="row">{_text(label)}</th><td>{_cell(value)}</td></tr>\n')
        self.w("</tbody></table>\n")

    def table(self, t: Table) -> None:
        width = len(t.columns)
        weights = tuple(t.col_widths) if t.col_widths is not None else (1,) * width
        aligns = [_align_class(t.column_align(i)) for i in range(width)]
        # On a narrow screen a wide table scrolls sideways instead of crushing its columns.
        self.w(f'<div class="table-wrap"><table class="grid" style="--columns:{width}">')
        if t.caption:
            self.w(f"<caption>{_text(t.caption)}</caption>")
        self.w(_colgroup(weights))
        thead = "<thead>" if t.repeat_header else '<thead class="no-repeat">'
        heads = "".join(f'<th scope="col">{_text(c)}</th>' for c in t.columns)
        self.w(f"{thead}<tr>{heads}</tr></thead>\n<tbody>\n")
        for row in t.rows:
            cells = "".join(f"<td{aligns[i]}>{_cell(c)}</td>" for i, c in enumerate(row))
            self.w(f"<tr>{cells}</tr>\n")
        self.w("</tbody>")
        if t.footer_rows:
            self.w("\n<tfoot>\n")
            for row in t.footer_rows:
                cells = "".join(f"<td{aligns[i]}>{_cell(c)}</td>" for i, c in enumerate(row))
                self.w(f"<tr>{cells}</tr>\n")
            self.w("</tfoot>")
        self.w("</table></div>\n")

    def signatures(self, s: SignatureBoxes) -> None:
        self.w('<table class="sign"><tbody>\n<tr>')
        self.w("".join(f'<th scope="col">{_text(label)}</th>' for label in s.labels))
        self.w("</tr>\n<tr>")
        self.w('<td class="stamp"></td>' * len(s.labels))
        self.w("</tr>\n")
        if s.names:
            self.w("<tr>" + "".join(f'<td class="name">{_text(n)}</td>' for n in s.names) + "</tr>\n")
        self.w("</tbody></table>\n")

    def letterhead(self, head: Letterhead) -> None:
        self.w('<div class="letterhead">\n')
        self.w(f'<div class="dated">{_text(head.number[0])} {_text(head.number[1])}<br>\n'
               f'{_text(head.issued[0])} {_text(head.issued[1])}</div>\n')
        self.w(f'<div class="addressee">{_text(head.addressee)}</div>\n')
        lines = "<br>\n".join(_text(line) for line in head.issuer)
        seal = f'<span class="seal">{_text(head.seal)}</span>' if head.seal else ""
        self.w(f'<div class="issuer"><span>{lines}</span>{seal}</div>\n</div>\n')

    def figure(self, f: Figure) -> None:
        data = base64.b64encode(f.data).decode("ascii")
        alt = next((value for _label, value in f.caption if isinstance(value, str)), "")
        width_mm = f.width_mm
        self.w(f'<figure class="photo"><img src="data:{f.media_type};base64,{data}" alt="{escape(alt, quote=True)}" '
               f'width="{f.pixels[0]}" height="{f.pixels[1]}" style="width:{width_mm}mm">\n')
        if f.caption:
            self.w("<figcaption>")
            self.keyvalues(f.caption, (2, 5))
            self.w("</figcaption>")
        self.w("</figure>\n")

    def blocks(self, blocks: Sequence[Block], depth: int, orientation: Orientation, head: int | None) -> None:
        """A container's blocks; seal boxes wrapped with what they attest (see ``SignatureBoxes``)."""
        starts: list[int] = []
        for block in blocks:
            starts.append(len(self.out))
            if isinstance(block, SignatureBoxes) and block.keep_with:
                before = len(starts) - 1
                if before or head is not None:
                    keep = head if block.keep_with >= before and head is not None else starts[
                        max(0, before - block.keep_with)]
                    self.out.insert(keep, '<div class="keep">\n')
                    self.signatures(block)
                    self.w("</div>\n")
                    continue
            self.block(block, depth, orientation)

    def block(self, block: Block, depth: int, orientation: Orientation) -> None:
        if isinstance(block, Paragraph):
            self.w(f"<p>{_text(block.text)}</p>\n")
        elif isinstance(block, Note):
            self.w(f'<p class="note">{_text(block.text)}</p>\n')
        elif isinstance(block, BulletList):
            tag = "ol" if block.ordered else "ul"
            items = "".join(f"<li>{_text(item)}</li>\n" for item in block.items)
            self.w(f"<{tag}>\n{items}</{tag}>\n")
        elif isinstance(block, KeyValues):
            self.keyvalues(block.rows, block.widths)
        elif isinstance(block, Table):
            self.table(block)
        elif isinstance(block, SignatureBoxes):
            self.signatures(block)
        elif isinstance(block, Figure):
            self.figure(block)
        elif isinstance(block, PageBreak):
            self.w('<div class="page-break"></div>\n')
        else:
            self.section(block, depth, orientation)

    def section(self, s: Section, depth: int, orientation: Orientation) -> None:
        inner = s.orientation or orientation
        cls = f' class="orient-{inner}"' if inner != orientation else ""
        level = min(depth + 2, 6)
        head = len(self.out)
        self.w(f"<h{level}>{_text(s.heading)}</h{level}>\n")
        self.out.insert(head, f"<section{cls}>\n")
        self.blocks(s.blocks, depth + 1, inner, head + 1)
        self.w("</section>\n")

    def render(self) -> str:
        d = self.doc
        css = _CSS.substitute(
            fonts=_FONT_STACK,
            mono=_MONO_STACK,
            maxwidth="1500px" if d.orientation == "landscape" else "1100px",
            page=d.orientation,
            title=_css_string(d.title),
            header=_css_string(d.header_note),
            footer=_css_string(d.footer_note),
        )
        self.w("<!DOCTYPE html>\n")
        self.w(f'<html lang="{d.lang}">\n<head>\n<meta charset="utf-8">\n')
        self.w('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
        self.w('<meta name="generator" content="custody">\n')
        if d.author:
            self.w(f'<meta name="author" content="{escape(d.author, quote=True)}">\n')
        title = f"{d.title} — {d.subtitle}" if d.subtitle else d.title
        self.w(f"<title>{_text(title)}</title>\n<style>\n{css}</style>\n</head>\n")
        form = " form" if d.letterhead is not None else ""
        self.w(f'<body class="{d.orientation}{form}">\n<main>\n<header class="title-block">\n')
        if d.header_note:
            self.w(f'<div class="running"><span></span><span>{_text(d.header_note)}</span></div>\n')
        if d.letterhead is not None:
            self.letterhead(d.letterhead)
        self.w(f"<h1>{_text(d.title)}</h1>\n")
        if d.subtitle:
            self.w(f'<p class="subtitle">{_text(d.subtitle)}</p>\n')
        if d.banner:
            self.w(f'<p class="banner" role="alert">{_text(d.banner)}</p>\n')
        if d.meta:
            self.keyvalues(d.meta, (1, 3), " meta")
        self.w("</header>\n")
        self.blocks(d.blocks, 0, d.orientation, None)
        if d.attachments:
            self.w('<ul class="attachments">\n')
            for a in d.attachments:
                data = base64.b64encode(a.data).decode("ascii")
                label = f"{a.name} — {a.description}" if a.description else a.name
                self.w(f'<li><a download="{escape(a.name, quote=True)}" href="data:{a.media_type};base64,{data}">'
                       f"{_text(label)}</a></li>\n")
            self.w("</ul>\n")
        self.w("</main>\n")
        if d.footer_note:
            self.w(f'<footer class="doc-footer">{_text(d.footer_note)}</footer>\n')
        self.w("</body>\n</html>\n")
        return "".join(self.out)


def render_html(doc: Document) -> bytes:
    """One self-contained UTF-8 HTML file for ``doc``; same document, same bytes."""
    return _Writer(doc).render().encode("utf-8")
