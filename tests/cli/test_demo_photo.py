"""The demo's serial photo is a real JPEG that shows a label, and the same serial gives the same bytes."""

from __future__ import annotations

import io

from PIL import Image, ImageStat

from custody.cli.demo_photo import SIZE, serial_photo


def test_a_real_jpeg_with_something_on_it() -> None:
    blob = serial_photo("BUF-32G-0012345", "Buffalo", "RUF3-KV32G")
    with Image.open(io.BytesIO(blob)) as image:
        assert image.format == "JPEG" and image.size == SIZE
        image.load()
        assert ImageStat.Stat(image.convert("L")).stddev[0] > 30  # the stick, its label and the text
    assert serial_photo("BUF-32G-0012345", "Buffalo", "RUF3-KV32G") == blob
    assert serial_photo("BUF-32G-0012346", "Buffalo", "RUF3-KV32G") != blob  # the serial is drawn
