"""The demo's serial-number photo: a real JPEG of a USB stick with its serial on the label.

A disposal certificate embeds the photo taken before destruction, which shows the serial number (the
lesson of the Kanagawa prefecture hard-disk incident, docs/fields.md).  The demo has no camera, so it
draws one with Pillow (already installed with reportlab): a stick, its cap, and a label carrying the
maker, model and serial in the fonts the reports ship.  Same serial, same bytes.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from custody.verify.reports.fonts import japanese_font_path, mono_font_path

SIZE = (480, 320)


def serial_photo(serial: str, maker: str, model: str) -> bytes:
    """A JPEG (480 x 320) of a USB stick whose label reads ``maker model`` and ``S/N serial``."""
    image = Image.new("RGB", SIZE, (214, 208, 196))  # a grey desk
    draw = ImageDraw.Draw(image)
    for y in range(0, SIZE[1], 8):  # a little texture, so it reads as a photo, not a diagram
        draw.line([(0, y), (SIZE[0], y + 4)], fill=(206, 200, 188), width=1)
    draw.rounded_rectangle([40, 90, 372, 230], radius=22, fill=(30, 34, 40), outline=(12, 12, 14), width=3)
    draw.rectangle([372, 128, 440, 192], fill=(176, 178, 182), outline=(110, 110, 116), width=2)  # connector
    draw.rectangle([392, 146, 404, 158], fill=(60, 60, 64))
    draw.rectangle([412, 146, 424, 158], fill=(60, 60, 64))
    draw.rounded_rectangle([62, 108, 350, 212], radius=8, fill=(246, 246, 240))  # the label
    mono = ImageFont.truetype(str(mono_font_path()), 19)
    text = ImageFont.truetype(str(japanese_font_path()), 17)
    draw.text((76, 118), f"{maker} {model}", font=text, fill=(20, 20, 20))
    draw.text((76, 150), "S/N", font=text, fill=(90, 90, 90))
    draw.text((76, 174), serial, font=mono, fill=(0, 0, 0))
    draw.text((20, 280), "廃棄前撮影(シリアル番号)", font=text, fill=(70, 60, 50))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82, optimize=True)
    return out.getvalue()


__all__ = ["serial_photo"]
