"""Decoding: every supported still format, EXIF orientation, and clear errors for bad bytes."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.conftest import PDQ_REF, bsds_images

from vigil.media import decode as media
from vigil.signals import pdq
from vigil.signals.compute import compute


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(bsds_images()[3]).convert("RGB")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF"])
def test_each_format_decodes_to_a_close_hash(photo: Image.Image, fmt: str) -> None:
    buffer = io.BytesIO()
    if fmt == "HEIF":  # written by pillow-heif itself: decoding must load HEIF support on its own
        import pillow_heif

        pillow_heif.from_pillow(photo).save(buffer, quality=95)
    else:
        photo.save(buffer, fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    original = pdq.exact(np.asarray(photo)).hash_hex
    for mode in ("exact", "fast"):
        signals = compute(f"x.{fmt.lower()}", buffer.getvalue(), mode)
        assert signals.media_type == "image" and signals.error is None, (fmt, signals.error)
        limit = 40 if fmt == "GIF" else 16  # GIF's 256-colour palette changes the picture most
        assert pdq.hamming(signals.pdq or "", original) <= limit, (fmt, mode)


@pytest.mark.parametrize(("orientation", "turn"), [(1, 0), (3, 2), (6, 3), (8, 1)])
def test_exif_orientation_is_applied(orientation: int, turn: int) -> None:
    path = PDQ_REF / f"reg-test-input/exif-rotn/exif-rotn-{orientation}.jpg"
    raw = np.asarray(Image.open(path).convert("RGB"))
    upright = media.decode(path.read_bytes(), "exact")
    assert np.array_equal(upright, np.rot90(raw, k=turn))
    fast = media.decode(path.read_bytes(), "fast")
    assert (fast.shape[0] > fast.shape[1]) == (upright.shape[0] > upright.shape[1])


def test_alpha_is_composited_on_white() -> None:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    pixels = media.decode(buffer.getvalue(), "exact")
    assert pixels.shape == (64, 64, 3) and int(pixels.min()) == 255


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_fast_luma_of_a_transparent_image_is_the_luma_of_it_on_white(photo: Image.Image, mode: str) -> None:
    """The fast path composites in one channel; it must agree with compositing the colour picture."""
    rgba = photo.convert("RGBA")
    ramp = np.linspace(0, 255, rgba.width, dtype=np.uint8)
    rgba.putalpha(Image.fromarray(np.tile(ramp, (rgba.height, 1))))
    if mode == "P":  # a palette picture with one fully transparent index, as GIFs and small PNGs have
        source = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
        source.info["transparency"] = 0
    else:
        source = rgba.convert(mode)
    expected_rgba = source.convert("RGBA")
    buffer = io.BytesIO()
    source.save(buffer, "PNG")
    on_white = Image.alpha_composite(Image.new("RGBA", expected_rgba.size, "white"), expected_rgba)
    expected = np.asarray(on_white.convert("L"), dtype=np.int16)
    fast = media.decode(buffer.getvalue(), "fast")
    assert fast.shape == expected.shape
    assert int(np.abs(fast.astype(np.int16) - expected).max()) <= 1
    clear = np.asarray(expected_rgba.getchannel("A")) == 0
    assert clear.any() and int(fast[clear].min()) == 255 and int(fast.min()) < 128  # clear is white


def test_non_image_gets_exact_hashes_only() -> None:
    signals = compute("notes.txt", b"just text", "fast")
    assert signals.media_type == "other" and signals.pdq is None and signals.error is None
    assert signals.md5 == hashlib.md5(b"just text").hexdigest()


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_jpeg_is_an_item_error_with_exact_hashes(cut: float) -> None:
    data = bsds_images()[0].read_bytes()
    truncated = data[: int(len(data) * cut)]
    for mode in ("exact", "fast"):
        signals = compute("cut.jpg", truncated, mode)
        assert signals.error and "decode" in signals.error
        assert signals.pdq is None and len(signals.sha256) == 64


def pixel_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid PNG a few hundred bytes long whose header announces width x height pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)  # a few rows of grey; the rest is missing
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def test_a_pixel_bomb_is_refused_on_its_header_before_decoding() -> None:
    import resource

    data = pixel_bomb()
    assert len(data) < 1000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    signals = compute("bomb.png", data, "exact")
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert signals.error and "20000x20000" in signals.error and "above the limit" in signals.error
    assert signals.pdq is None and len(signals.sha256) == 64
    assert grown < 50_000  # KiB: nothing was decoded (400 MP would take 400 MB)
    small = io.BytesIO()
    Image.new("RGB", (200, 200)).save(small, "PNG")
    assert "above the limit of 1,000" in (
        compute("a.png", small.getvalue(), "exact", max_pixels=1000).error or ""
    )


def test_dimensions_come_from_the_header_however_large(tmp_path: Path) -> None:
    """The review panel shows a picture's size from its header alone, also past Pillow's own pixel
    limit; in a process of its own, as the review service reads it before decoding anything."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(pixel_bomb())
    probe = (
        "import sys; from vigil.media.decode import dimensions; "
        "print(dimensions(open(sys.argv[1], 'rb').read()))"
    )
    read = subprocess.run(
        [sys.executable, "-c", probe, str(bomb)], capture_output=True, text=True, check=True
    )
    assert read.stdout.strip() == "(20000, 20000)"
    assert media.dimensions(b"just text") is None
    small = io.BytesIO()
    Image.new("RGB", (30, 20)).save(small, "GIF")
    assert media.dimensions(small.getvalue()) == (30, 20)
