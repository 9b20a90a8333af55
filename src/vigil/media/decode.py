"""Image decoding for hashing: EXIF orientation applied, every common still format, HEIC included.

`exact` decodes full-size RGB, as the reference PDQ expects. `fast` asks the decoder for luma
only (a JPEG's Y channel is already PDQ's luma, so chroma upsampling and colour conversion are
skipped) and lets libjpeg scale very large JPEGs down in the DCT domain. Plain PNGs (most plots
and screenshots) are decoded by libspng to the same pixels as Pillow's (`vigil.media.png`).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from vigil.core import defaults
from vigil.core.errors import VigilError
from vigil.media import png

if TYPE_CHECKING:
    from PIL import Image

HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heif", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif"}
)
_heif_ready = False


def _heif_support(head: bytes) -> None:
    """Register pillow-heif's opener when the first HEIF file comes: loading it costs 7 MiB in every
    process that decodes (scan workers, crawl hashers), most of which never see one. Optional so
    a broken wheel cannot stop a scan."""
    global _heif_ready
    if _heif_ready or head[4:8] != b"ftyp" or head[8:12] not in HEIF_BRANDS:
        return
    try:
        from pillow_heif import register_heif_opener

        register_heif_opener()
    except ImportError:  # pragma: no cover - pillow-heif is a dependency
        pass
    _heif_ready = True


Mode = Literal["exact", "fast"]
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF", "MPO"})
FAST_MAX_SIDE = 1024  # fast mode: JPEGs larger than this are DCT-scaled to at least this size
DEFAULT_MAX_PIXELS = defaults.MAX_PIXELS


class NotAnImage(VigilError):
    """The bytes are not an image format we hash (the file still gets its exact hashes)."""


class CorruptImage(VigilError):
    """The file claims to be an image but cannot be decoded."""


class TooManyPixels(CorruptImage):
    """The header announces more pixels than the limit; nothing was decoded."""


def _pillow_unlimited() -> None:
    """Load Pillow, with its own pixel limit off: ours is checked on the header before anything is
    decoded. Loaded on the first picture rather than with this module, so a process that only
    names decoding modes and errors (a crawl's own, which hands pictures to hashing processes)
    does without it: 2.3 MiB of resident memory."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None


def _open(data: bytes) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    _pillow_unlimited()
    _heif_support(data[:16])
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        claimed = claimed_format(data)
        if claimed:
            raise CorruptImage(f"starts like {claimed} but cannot be decoded") from exc
        raise NotAnImage("not a recognised image format") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptImage(f"cannot read image header: {exc}") from exc
    if image.format not in IMAGE_FORMATS:
        raise NotAnImage(f"unsupported image format {image.format}")
    return image


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1..8) of an opened image; 1 when there is none or it is invalid.
    Read after the pixels are loaded: a PNG's eXIf chunk may follow its image data, so asking
    before would make Pillow decode the whole image a second time (2.4 ms of 11 per plot)."""
    try:
        value = image.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _draft_scale(image: Image.Image) -> None:
    if image.format == "JPEG":
        width, height = image.size
        scale = max(1, min(width, height) // FAST_MAX_SIDE)
        image.draft("L", (max(1, width // scale), max(1, height // scale)))


def _on_white_luma(image: Image.Image) -> Image.Image:
    """Luma of a transparent image laid on white, composited in one channel; `image` is closed.

    Luma is linear in R, G and B, so this equals the luma of the RGB composite to within rounding
    (at most one level, measured on 300 plots), with single-band images only: PIL keeps every
    multi-band image at 4 bytes a pixel. The four-band picture is released as soon as its luma and
    alpha are out, and the luma is pasted onto white through the alpha (what `Image.composite`
    does, without its copy of the white image): a 2122x1323 plot peaks near 17 MB instead of the
    22 MB of a composite beside the picture (47 MB as an RGBA composite). A crawl's hashing
    threads each decode one such plot at a time, and their peaks add up."""
    from PIL import Image

    rgba = image if image.mode in ("RGBA", "LA") else image.convert("RGBA")
    alpha = rgba.getchannel("A")
    luma = rgba.convert("L")
    rgba.close()
    image.close()
    on_white = Image.new("L", luma.size, 255)
    on_white.paste(luma, None, alpha)
    return on_white


def _loaded(image: Image.Image, data: bytes) -> tuple[Image.Image, int]:
    """The opened image's pixels loaded and upright, with the EXIF orientation they were turned
    from. A plain PNG is decoded by libspng (`vigil.media.png`: the same pixels, always upright)."""
    from PIL import Image, ImageOps

    if image.format == "PNG" and (plain := png.plain_mode(data)) is not None:
        pixels = png.decode_plain(data, plain, *image.size)
        if pixels is not None:
            image.close()
            return Image.fromarray(pixels), 1  # L, RGB or RGBA by its shape
    image.load()
    orientation = _orientation(image)
    # In place: a copy of every image that needs no turning (most) costs 4 bytes a pixel.
    ImageOps.exif_transpose(image, in_place=True)
    return image, orientation


@dataclass(frozen=True)
class Decoded:
    pixels: np.ndarray  # upright
    orientation: int  # the EXIF orientation they were turned upright from (1: as stored)


def decode(data: bytes, mode: Mode = "exact", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decoded pixels: RGB uint8 (exact) or luma uint8 (fast), upright per EXIF orientation.

    The pixel count is checked on the header first, so a small file announcing a huge image (a
    48 KB PNG of 20000x20000) is refused before a byte is decoded.
    """
    return decode_upright(data, mode, max_pixels).pixels


def decode_upright(data: bytes, mode: Mode = "exact", max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded:
    """`decode`, also saying which EXIF orientation the pixels were turned from: hashers that do
    not turn (Meta's C++ PDQ, python-threatexchange) hash the pixels as stored, so the signals
    keep both conventions."""
    from PIL import Image

    image = _open(data)
    width, height = image.size
    if width * height > max_pixels:
        raise TooManyPixels(
            f"image of {width}x{height} ({width * height:,} pixels) is above the limit of {max_pixels:,}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if mode == "fast":
                _draft_scale(image)
            upright, orientation = _loaded(image, data)
            if upright.mode in ("RGBA", "LA", "PA") or (
                upright.mode == "P" and "transparency" in upright.info
            ):
                if mode == "fast":
                    return Decoded(np.asarray(_on_white_luma(upright)), orientation)
                upright = upright.convert("RGBA")
                background = Image.new("RGBA", upright.size, (255, 255, 255, 255))
                upright = Image.alpha_composite(background, upright)
            pixels = upright.convert("L" if mode == "fast" else "RGB")
            return Decoded(np.asarray(pixels), orientation)
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise CorruptImage(f"cannot decode {image.format} image: {exc}") from exc


_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
)


def claimed_format(data: bytes) -> str | None:
    """The image format the leading bytes announce, whether or not the rest is intact."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"heif"):
        return "HEIF"
    return None


def dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height as the header states them, in any format Pillow opens and however large
    (nothing is decoded); None when Pillow cannot open the bytes."""
    from PIL import Image, UnidentifiedImageError

    _pillow_unlimited()
    _heif_support(data[:16])
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def sniff_format(data: bytes) -> str | None:
    """The image format name if the bytes open as a supported image, else None."""
    try:
        return _open(data).format
    except (NotAnImage, CorruptImage):
        return None
