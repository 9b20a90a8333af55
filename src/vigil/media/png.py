"""Plain PNGs decoded by libspng (through `imagecodecs`) instead of Pillow's own PNG decoder.

A crawl hashes mostly PNGs (plots, screenshots, diagrams), and decoding was the largest part of
hashing one: on scikit-learn's documentation Pillow took 3.9-4.2 ms per picture, libspng 2.9-3.1 ms
for the same pixels (`bench/hashing.py --png DIR`). libspng releases the GIL, so a hashing
process's two threads still decode side by side (pyspng, the other binding, holds it: two threads
decoded no faster than one).

Only PNGs whose pixels and orientation cannot differ from Pillow's take this path: 8 bits per
sample, grey, RGB or RGBA, not interlaced, no transparency chunk, no animation, and no EXIF or XMP
anywhere (Pillow turns a picture by either, even from a text chunk after the pixels). Everything
else, and any file libspng refuses, goes to Pillow as before, so a damaged file gets Pillow's
error and a decoder that disagrees never decides.
"""

from __future__ import annotations

import struct

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MODES = {0: "L", 2: "RGB", 6: "RGBA"}  # PNG colour type -> Pillow's mode for 8-bit samples
CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}
REFUSED = frozenset({b"tRNS", b"eXIf", b"acTL"})  # transparency by colour, EXIF, animation
TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt"})
EXIF_TEXT = b"Raw profile type exif\0"  # a text chunk Pillow reads EXIF from
XMP_TEXT = b"XML:com.adobe.xmp\0"  # ... and XMP, whose `tiff:Orientation` Pillow also obeys
_CHUNK = struct.Struct(">I4s")


def plain_mode(data: bytes) -> str | None:
    """Pillow's mode ("L", "RGB" or "RGBA") for a PNG libspng decodes to exactly Pillow's pixels,
    upright as stored; None for any other file. Reads only chunk headers and text keywords."""
    if len(data) < 33 or not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        return None
    depth, colour, interlace = data[24], data[25], data[28]
    if depth != 8 or colour not in MODES or interlace != 0:
        return None
    position = len(SIGNATURE)
    while position + _CHUNK.size <= len(data):
        length, kind = _CHUNK.unpack_from(data, position)
        if kind in REFUSED:
            return None
        if kind in TEXT and _may_turn(kind, data, position + _CHUNK.size, length):
            return None
        if kind == b"IEND":
            break
        position += _CHUNK.size + length + 4  # header, data, CRC
    return MODES[colour]


def _may_turn(kind: bytes, data: bytes, body: int, length: int) -> bool:
    """Whether Pillow could find an orientation in this text chunk: EXIF in text, or XMP that is
    compressed or names an orientation. Screenshots (macOS writes XMP into every one) and plots
    (a `Software` line) carry text that cannot turn them."""
    if data.startswith(EXIF_TEXT, body):
        return True
    if not data.startswith(XMP_TEXT, body):
        return False
    text = data[body + len(XMP_TEXT) : body + length]
    compressed = kind == b"zTXt" or (kind == b"iTXt" and text[:1] != b"\0")  # iTXt: flag, method, ...
    return compressed or b"Orientation" in text


def decode_plain(data: bytes, mode: str, width: int, height: int) -> np.ndarray | None:
    """The pixels of a `plain_mode` PNG as (height, width[, channels]) uint8; None where libspng
    refuses the file or gives another shape (the caller then decodes with Pillow)."""
    try:
        from imagecodecs import SpngError, spng_decode  # only hashing processes load libspng
    except ImportError:  # an imagecodecs built without libspng: Pillow decodes
        return None
    try:
        pixels = spng_decode(data)
    except (SpngError, ValueError, MemoryError, ImportError):  # ImportError: the same, found late
        return None
    channels = CHANNELS[mode]
    shape = (height, width) if channels == 1 else (height, width, channels)
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.shape != shape:
        return None
    return pixels
