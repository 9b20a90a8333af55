"""Plain PNGs decoded by libspng: Pillow's pixels exactly, and Pillow for everything else."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from tests.conftest import DATA, bsds_images

from vigil.media import decode as media
from vigil.media import png


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(bsds_images()[5]).convert("RGB")


def _encoded(image: Image.Image, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _outcome(data: bytes, mode: media.Mode) -> tuple[str, Any, int]:
    """What decoding gives: the pixels and orientation, or the error's type and message."""
    try:
        decoded = media.decode_upright(data, mode)
    except media.CorruptImage as exc:
        return "error", f"{type(exc).__name__}: {exc}", 0
    return "pixels", decoded.pixels, decoded.orientation


def _pillow_only(monkeypatch: pytest.MonkeyPatch, data: bytes, mode: media.Mode) -> tuple[str, Any, int]:
    with monkeypatch.context() as patch:
        patch.setattr(png, "plain_mode", lambda _: None)
        return _outcome(data, mode)


def _same(left: tuple[str, Any, int], right: tuple[str, Any, int]) -> bool:
    if left[0] != right[0] or left[2] != right[2]:
        return False
    if left[0] == "error":
        return bool(left[1] == right[1])
    return bool(left[1].shape == right[1].shape and np.array_equal(left[1], right[1]))


def _spy_on_libspng(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """A list that gets True for each file libspng decoded, False for each it refused."""
    taken: list[bool] = []
    decode_plain = png.decode_plain

    def spy(*args: Any) -> np.ndarray | None:
        pixels = decode_plain(*args)
        taken.append(pixels is not None)
        return pixels

    monkeypatch.setattr(png, "decode_plain", spy)
    return taken


def _with_text(image: Image.Image) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "Matplotlib version3.8, https://matplotlib.org/")  # what plots carry
    return _encoded(image, pnginfo=info)


def _after_header(data: bytes, *chunks: bytes) -> bytes:
    """The PNG with `chunks` right after its IHDR (where colour chunks go)."""
    end = 8 + 8 + 13 + 4
    return data[:end] + b"".join(chunks) + data[end:]


def _xmp(image: Image.Image, xmp: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp)
    return _encoded(image, pnginfo=info)


SCREENSHOT_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/"><exif:PixelXDimension>481'
    "</exif:PixelXDimension><exif:UserComment>Screenshot</exif:UserComment></rdf:Description>"
    "</rdf:RDF></x:xmpmeta>"
)
COLOUR_CHUNKS = (
    _chunk(b"gAMA", struct.pack(">I", 100000)),  # gamma 1.0: applying it would change every level
    _chunk(b"sBIT", bytes([5, 6, 5])),
    _chunk(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)),
)

PLAIN: dict[str, Callable[[Image.Image], bytes]] = {
    "rgb with gamma, significant bits and chromaticity": lambda photo: _after_header(
        _encoded(photo), *COLOUR_CHUNKS
    ),
    "rgba with a screenshot's XMP": lambda photo: _xmp(_ramp(photo), SCREENSHOT_XMP),
    "grey": lambda photo: _encoded(photo.convert("L")),
    "rgb": _encoded,
    "rgba with a ramp of alpha": lambda photo: _encoded(_ramp(photo)),
    "rgba with a text chunk": lambda photo: _with_text(_ramp(photo)),
    "rgb at best compression": lambda photo: _encoded(photo, compress_level=9),
}


def _ramp(photo: Image.Image) -> Image.Image:
    rgba = photo.convert("RGBA")
    ramp = np.linspace(0, 255, rgba.width, dtype=np.uint8)
    rgba.putalpha(Image.fromarray(np.tile(ramp, (rgba.height, 1))))
    return rgba


@pytest.mark.parametrize("kind", sorted(PLAIN))
@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_a_plain_png_decodes_by_libspng_to_pillows_pixels(
    monkeypatch: pytest.MonkeyPatch, photo: Image.Image, kind: str, mode: media.Mode
) -> None:
    data = PLAIN[kind](photo)
    expected = _pillow_only(monkeypatch, data, mode)
    taken = _spy_on_libspng(monkeypatch)
    got = _outcome(data, mode)
    assert taken == [True]
    assert got[0] == "pixels" and _same(got, expected)


def test_the_shared_pngs_decode_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Meta's PDQ test pictures (every PNG colour type, EXIF in most) and the 15 macOS screenshots
    of the vPDQ samples (colour profile and XMP in each): each decodes as Pillow decodes it."""
    files = sorted(DATA.rglob("*.png"))
    assert len(files) == 22
    taken = _spy_on_libspng(monkeypatch)
    for path in files:
        data = path.read_bytes()
        for mode in ("exact", "fast"):
            assert _same(_outcome(data, mode), _pillow_only(monkeypatch, data, mode)), (path.name, mode)
    assert taken.count(True) >= 2 * 15  # the screenshots went through libspng, in both modes


def _exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def _xmp_orientation(value: int) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        f'tiff:Orientation="{value}"/></rdf:RDF></x:xmpmeta>'
    )


def _after_pixels(data: bytes, chunk: bytes) -> bytes:
    """The PNG with `chunk` between its last image data and IEND (where Pillow still reads it)."""
    end = data.rindex(b"IEND") - 4
    return data[:end] + chunk + data[end:]


def _turned_by_text(photo: Image.Image, keyword: str, value: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt(keyword, value) if keyword.startswith("XML") else info.add_text(keyword, value)
    return _encoded(photo, pnginfo=info)


def _raw_profile(exif: bytes) -> str:
    return f"\nexif\n{len(exif)}\n{exif.hex()}\n"


def _compressed_xmp(photo: Image.Image, xmp: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp, zip=True)
    return _encoded(photo, pnginfo=info)


def _palette(photo: Image.Image) -> bytes:
    return _encoded(photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=32))


def _transparent_colour(photo: Image.Image) -> bytes:
    return _encoded(photo, transparency=(0, 0, 0))


def _animated(photo: Image.Image) -> bytes:
    buffer = io.BytesIO()
    photo.save(buffer, "PNG", save_all=True, append_images=[photo.rotate(90)], duration=100)
    return buffer.getvalue()


def _interlaced_flag(photo: Image.Image) -> bytes:
    data = bytearray(_encoded(photo))
    data[28] = 1  # IHDR's interlace method: Adam7
    return bytes(data)


PILLOWS: dict[str, Callable[[Image.Image], bytes]] = {
    "EXIF chunk, turned": lambda photo: _encoded(photo, exif=_exif_orientation(6)),
    "EXIF chunk after the pixels": lambda photo: _after_pixels(
        _encoded(photo), _chunk(b"eXIf", _exif_orientation(8))
    ),
    "EXIF in a text chunk": lambda photo: _turned_by_text(
        photo, "Raw profile type exif", _raw_profile(_exif_orientation(6))
    ),
    "XMP in an international text chunk": lambda photo: _turned_by_text(
        photo, "XML:com.adobe.xmp", _xmp_orientation(3)
    ),
    "compressed XMP": lambda photo: _compressed_xmp(photo, SCREENSHOT_XMP),
    "palette": _palette,
    "transparent colour": _transparent_colour,
    "grey and alpha": lambda photo: _encoded(photo.convert("LA")),
    "16-bit grey": lambda photo: _encoded(photo.convert("I;16")),
    "animated": _animated,
    "interlaced": _interlaced_flag,
}


@pytest.mark.parametrize("kind", sorted(PILLOWS))
def test_a_png_libspng_could_decode_differently_stays_with_pillow(
    monkeypatch: pytest.MonkeyPatch, photo: Image.Image, kind: str
) -> None:
    data = PILLOWS[kind](photo)
    assert png.plain_mode(data) is None
    taken = _spy_on_libspng(monkeypatch)
    for mode in ("exact", "fast"):
        assert _same(_outcome(data, mode), _pillow_only(monkeypatch, data, mode)), mode
    assert taken == []


TURNED = ["EXIF chunk, turned", "EXIF in a text chunk", "EXIF chunk after the pixels"]


@pytest.mark.parametrize("turned", TURNED)
def test_a_png_turned_by_its_exif_is_decoded_upright(photo: Image.Image, turned: str) -> None:
    decoded = media.decode_upright(PILLOWS[turned](photo), "exact")
    assert decoded.orientation in (6, 8)
    assert decoded.pixels.shape[:2] == (photo.width, photo.height)  # a quarter turn


def _damaged(photo: Image.Image, how: str) -> bytes:
    data = bytearray(_encoded(photo))
    start = data.index(b"IDAT") + 4
    if how == "a flipped byte in the pixels":
        data[start + 200] ^= 0xFF
    elif how == "pixels cut short":
        return bytes(data[: start + 500])
    elif how == "a wrong checksum":
        end = data.index(b"IEND") - 8  # the last image data chunk's CRC
        data[end] ^= 0x01
    elif how == "a chunk past the end":
        data[start - 8 : start - 4] = struct.pack(">I", 10**9)
    return bytes(data)


DAMAGE = ["a flipped byte in the pixels", "pixels cut short", "a wrong checksum", "a chunk past the end"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_png_gets_what_pillow_gives(
    monkeypatch: pytest.MonkeyPatch, photo: Image.Image, how: str
) -> None:
    """libspng refuses what it cannot read whole; Pillow then decides, as it did before."""
    data = _damaged(photo, how)
    for mode in ("exact", "fast"):
        assert _same(_outcome(data, mode), _pillow_only(monkeypatch, data, mode)), mode


def test_without_libspng_pillow_decodes(monkeypatch: pytest.MonkeyPatch, photo: Image.Image) -> None:
    """An imagecodecs built without libspng (its codecs load on first use) costs speed, not files."""
    import imagecodecs

    def missing(*_: Any) -> None:
        raise imagecodecs.DelayedImportError("spng")

    data = _encoded(photo)
    expected = _pillow_only(monkeypatch, data, "fast")
    monkeypatch.setattr(imagecodecs, "spng_decode", missing)
    assert png.plain_mode(data) == "RGB" and png.decode_plain(data, "RGB", *photo.size) is None
    assert _same(_outcome(data, "fast"), expected)
